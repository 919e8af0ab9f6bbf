import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { MdxCompiler } from './bundle.ts';
import { checkLabs } from './check-report.ts';
import { loadCatalog, type BrokenLab, type Catalog } from './loader.ts';
import { describeYamlError, didYouMean, formatProblem, PositionedYaml } from './problems.ts';
import { imageProblem } from './format.ts';
import { fullImageRef } from '../provisioner/kind-driver.ts';

const FIXTURES = path.join(import.meta.dirname, 'test-fixtures', 'labs');
const REPO = path.resolve(import.meta.dirname, '..', '..', '..');

// Every broken fixture and exactly what the linter must say about it (message, then hint if any).
const EXPECTED: Record<string, string[]> = {
  'bad-yaml': [
    'labs/broken/bad-yaml/lab.mdx:8:7 YAML: "[" is never closed with "]"\n    hint: a flow sequence written with [ ] must be closed before the next key',
  ],
  'unknown-key': [
    'labs/broken/unknown-key/lab.mdx:8:1 unknown key "timeout" in front matter\n    hint: allowed keys: id, title, summary, domain, difficulty, minutes, kubernetes, cluster, competencies, broken, realClusterOnly, images, tags, points, params, tasks',
    'labs/broken/unknown-key/lab.mdx:18:9 unknown key "mesage" in tasks[0].checks[0]\n    hint: did you mean "message"?',
  ],
  'misspelt-enum': [
    'labs/broken/misspelt-enum/lab.mdx:6:13 difficulty: must be one of "easy", "medium", "hard" (got "meduim")\n    hint: did you mean "medium"?',
  ],
  'latest-image': [
    'labs/broken/latest-image/lab.mdx:9:5 images[0]: image "docker.io/library/busybox:latest" uses :latest: pin a version (kind always pulls :latest, which defeats preloading)',
  ],
  'unlisted-image': [
    "labs/broken/unlisted-image/solution/client.yaml:9:14 Pod client runs image docker.io/library/nginx:1.27.4, which is not listed in the front matter's images\n    hint: list every image the lab runs under images in lab.mdx, so it can be preloaded into the cluster",
  ],
  'unpinned-image': [
    'labs/broken/unpinned-image/solution/client.yaml:9:14 image "docker.io/library/busybox" has no tag: pin a version such as docker.io/library/busybox:1.2.3 (untagged means :latest, which kind always pulls)\n    hint: pin the tag, e.g. docker.io/library/busybox:1.37.0, and list it under images in lab.mdx',
  ],
  'points-mismatch': ['labs/broken/points-mismatch/lab.mdx:8:9 points is 10 but the tasks add up to 5\n    hint: tasks: make-client=5'],
  'duplicate-task': ['labs/broken/duplicate-task/lab.mdx:18:9 task id "make-client" is used twice'],
  'unknown-pod': [
    'labs/broken/unknown-pod/lab.mdx:16:14 check refers to pod fixture/clinet, but neither setup nor solution creates it\n    hint: did you mean fixture/client?',
    'labs/broken/unknown-pod/lab.mdx:20:24 probe targets service fixture/web, but neither setup nor solution creates it\n    hint: setup and solution create no Service',
  ],
  'task-id-mismatch': [
    'labs/broken/task-id-mismatch/lab.mdx:22:1 <Task id="make-clients"> does not match any task in the front matter\n    hint: did you mean "make-client"?',
  ],
  'task-without-section': [
    'labs/broken/task-without-section/lab.mdx:18:9 task second-task has no <Task id="second-task"> section in the instructions\n    hint: learners need to read what each task asks',
  ],
  'unknown-component': ['labs/broken/unknown-component/lab.mdx:26:1 unknown component <Hnit>\n    hint: did you mean <Hint>?'],
  'mdx-syntax': [
    'labs/broken/mdx-syntax/lab.mdx:20:14 MDX: a { in lab text starts a JavaScript expression, which labs may not use\n    hint: write \\{ for a literal brace, or put the text in `inline code` (e.g. `{.spec.podCIDR}`)',
  ],
  // Lab content is data: no imports, no expressions, no raw HTML or handlers (see untrustedContent).
  'mdx-import': [
    'labs/broken/mdx-import/lab.mdx:20:1 MDX: import/export is not allowed in lab content\n    hint: a lab may use only Markdown and the lab components <Task>, <Hint>, <Solution>, <Run>; write the text into lab.mdx itself',
  ],
  'mdx-expression': [
    'labs/broken/mdx-expression/lab.mdx:20:14 MDX: a { in lab text starts a JavaScript expression, which labs may not use\n    hint: write \\{ for a literal brace, or put the text in `inline code` (e.g. `{.spec.podCIDR}`)',
  ],
  'mdx-brace-prose': [
    'labs/broken/mdx-brace-prose/lab.mdx:20:37 MDX: a { in lab text starts a JavaScript expression, which labs may not use\n    hint: write \\{ for a literal brace, or put the text in `inline code` (e.g. `{.spec.podCIDR}`)',
  ],
  'mdx-raw-html': [
    'labs/broken/mdx-raw-html/lab.mdx:22:1 MDX: raw HTML/JSX <img> is not allowed in lab content\n    hint: use Markdown (**bold**, `code`, [link](https://…), lists, tables) or a lab component; to show a literal < write &lt; or use `inline code`',
    'labs/broken/mdx-raw-html/lab.mdx:22:14 MDX: <img> has the event-handler attribute onerror; labs may not run JavaScript\n    hint: remove the attribute',
    'labs/broken/mdx-raw-html/lab.mdx:24:5 MDX: a link to a javascript: URL is not allowed in lab content\n    hint: link to an http(s) page or a path on this server',
    'labs/broken/mdx-raw-html/lab.mdx:30:7 MDX: <Hint> title={…} is a JavaScript expression; lab components take literal props only\n    hint: write title="text"',
    'labs/broken/mdx-raw-html/lab.mdx:30:19 MDX: <Hint> has the event-handler attribute onClick; labs may not run JavaScript\n    hint: remove the attribute',
  ],
  'missing-solution': [
    'labs/broken/missing-solution/lab.mdx:1:1 the lab has no reference solution\n    hint: add solution/*.yaml manifests and/or solution/solution.sh that make every check pass',
  ],
  'missing-script': ['labs/broken/missing-script/lab.mdx:19:15 script file checks/verify.sh does not exist in the lab folder'],
  'broken-setup-yaml': [
    'labs/broken/broken-setup-yaml/setup/10-namespace.yaml:4:1 YAML: Tabs are not allowed as indentation\n    hint: indent YAML with spaces',
  ],
  'id-mismatch': [
    'labs/broken/id-mismatch/lab.mdx:2:5 id "id-mismatched" must match the folder name "id-mismatch"\n    hint: rename the folder or set id: id-mismatch',
  ],
  'early-exit-pipe': [
    'labs/broken/early-exit-pipe/checks/verify.sh:4:39 `| grep -q` stops reading before its input ends; under set -o pipefail the command writing into it then dies of SIGPIPE (exit 141) now and then, and the pipeline fails\n    hint: read all of the input instead: `grep … >/dev/null` for `grep -q`, or capture the output first (out=$(cmd)) and search it with `grep -q … <<<"$out"`',
  ],
  'guard-not-required': [
    'labs/broken/guard-not-required/lab.mdx:23:9 check kube-dns-resolves is a guard but not required: a guard protects what must keep working, and if breaking it costs only its own share, a broken answer still scores most of the task\n    hint: add required: true, so the task scores 0 when this check does not pass',
  ],
  'negative-only': [
    'labs/broken/negative-only/lab.mdx:15:7 task make-client checks only that things do not work (probe expect: blocked), which a deny-all policy, a deleted server or a crashed pod also achieves\n    hint: add a required check of something that must keep working (e.g. the allowed client still reaches the server, or the server pod is Ready), with required: true',
  ],
  'bad-mistake': [
    "labs/broken/bad-mistake/mistakes/bad-script/solution.sh:1:1 a mistake's scripts are mistake.sh (on the grading host, like solution.sh), node.<role>.sh (as root on that node) and workstation.sh (in the workstation); solution.sh is none of them, so it would be silently skipped\n    hint: rename it, e.g. to mistakes/bad-script/mistake.sh, or node.<role>.sh with a role of control-plane, control-plane2, control-plane3, worker, worker2, worker3",
    'labs/broken/bad-mistake/mistakes/empty:1:1 mistake empty applies nothing\n    hint: add the manifests (and/or mistake.sh) that make the wrong answer, as solution/ does for the right one',
    "labs/broken/bad-mistake/mistakes/typo/client.yaml:9:14 Pod client runs image docker.io/library/busybox:1.36.1, which is not listed in the front matter's images\n    hint: the front matter lists docker.io/library/busybox:1.37.0: use the same tag in both places",
    'labs/broken/bad-mistake/mistakes/typo/mistake.yaml:1:1 unknown key "titel" in mistake.yaml\n    hint: did you mean "title"?',
    'labs/broken/bad-mistake/mistakes/typo/mistake.yaml:2:13 maxPercent: Too big: expected number to be <=100 (got 150)',
  ],
  // The grader's own JSONPath parser runs at lint time, pointing at the exact character it cannot evaluate.
  'bad-jsonpath': [
    'labs/broken/bad-jsonpath/lab.mdx:17:48 JSONPath {.spec.tolerations[?(@.key=="x" && @.effect=="NoSchedule")].value}: kubectl filters take one comparison: && and || are not supported\n    hint: kubedrill evaluates kubectl\'s JSONPath: fields, [n], [a:b], [*], [\'key\'], ..name, filters [?(@.key=="value")] and {range …}{end}',
  ],
  'node-setup-not-dedicated': [
    'labs/broken/node-setup-not-dedicated/lab.mdx:8:1 setup/node.worker.sh changes a node, so the lab needs a cluster of its own\n    hint: add dedicated: true under cluster, so its cluster is never handed to another lab',
    "labs/broken/node-setup-not-dedicated/lab.mdx:18:15 the check names node worker2, but the lab's cluster has 1 worker(s)\n    hint: set cluster.workers to at least 2",
    'labs/broken/node-setup-not-dedicated/setup/node.worker4.sh:1:1 node script for unknown node "worker4"\n    hint: did you mean node.worker.sh?',
  ],
  'unknown-competency': [
    'labs/broken/unknown-competency/lab.mdx:6:20 competencies[1]: must be one of "S1", "S2", "S3", "T1", "T2", "T3", "T4", "T5", "W1", "W2", "W3", "W4", "W5", "A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8", "N1", "N2", "N3", "N4", "N5", "N6" (got "T9")\n    hint: did you mean "T1"?',
  ],
  // A volume check's claim and volume are names too: a typo would fail every grade.
  'unknown-claim': [
    'labs/broken/unknown-claim/lab.mdx:17:16 volume check names claim fixture/archive-cliam, but neither setup nor solution creates it\n    hint: did you mean fixture/archive-claim?',
    'labs/broken/unknown-claim/lab.mdx:18:27 volume check names PersistentVolume archive-vp, but neither setup nor solution creates it\n    hint: did you mean archive-pv?',
  ],
  // A lab with scripts still gets its pod names checked: a name no manifest or script mentions is a typo.
  'typo-with-scripts': [
    'labs/broken/typo-with-scripts/lab.mdx:16:14 check refers to pod fixture/clinet, but neither setup nor solution creates it\n    hint: did you mean fixture/client?',
  ],
};

let shared: Promise<Catalog> | undefined;
const fixtureCatalog = () => (shared ??= loadCatalog(FIXTURES, new MdxCompiler()));
const brokenLab = async (id: string): Promise<BrokenLab> => {
  const lab = (await fixtureCatalog()).broken.find((b) => b.id === id);
  assert.ok(lab, `fixture ${id} should be listed as broken`);
  return lab;
};

for (const [id, expected] of Object.entries(EXPECTED)) {
  test(`broken fixture ${id}: the linter points at the mistake with the exact message`, async () => {
    const lab = await brokenLab(id);
    assert.deepEqual(lab.problems.map(formatProblem), expected);
  });
}

test('every broken fixture is covered by an expectation', async () => {
  const ids = (await fixtureCatalog()).broken.map((b) => b.id).sort();
  assert.deepEqual(ids, Object.keys(EXPECTED).sort());
});

test('broken labs do not take the catalog down: the good labs still load', async () => {
  const catalog = await fixtureCatalog();
  assert.deepEqual(catalog.labs.map((l) => l.id).sort(), ['run-markdown', 'valid-lab']);
  assert.deepEqual(catalog.problems, []);
  assert.deepEqual(
    catalog.tracks.map((t) => t.id),
    ['good', 'broken', 'warned'],
    'tracks are ordered by track.yaml order',
  );
  const valid = catalog.labs.find((l) => l.id === 'valid-lab')!;
  assert.equal(valid.gate, 'model');
  assert.deepEqual(valid.warnings, []);
  assert.deepEqual(valid.mistakes, [
    {
      name: 'wrong-namespace',
      title: 'pod client created in namespace default instead of fixture',
      maxPercent: 0,
      why: 'the check looks for the pod in fixture',
      manifests: ['mistakes/wrong-namespace/client.yaml'],
      script: undefined,
      nodeScripts: [],
      workstationScript: undefined,
    },
  ]);
  assert.deepEqual(
    valid.body.components.map((c) => c.name),
    ['Task', 'Hint', 'Solution'],
  );
});

test('a <Run> command that Markdown would change is a warning, not an error', async () => {
  const lab = (await fixtureCatalog()).labs.find((l) => l.id === 'run-markdown');
  assert.ok(lab, 'run-markdown still loads');
  assert.deepEqual(lab.warnings.map(formatProblem), [
    `labs/warned/run-markdown/lab.mdx:28:1 warning: <Run> shows the command as "kubectl get pods -A | grep -E 'client|web'", not as written: Markdown changed it\n    hint: wrap the command in backticks, <Run>\`…\`</Run>, so characters like * _ \\ [ ] reach the terminal unchanged`,
  ]);
});

test('labs are listed as broken under their folder name even when their id says otherwise', async () => {
  const lab = await brokenLab('id-mismatch');
  assert.equal(lab.title, 'Fixture lab id-mismatch');
});

test('two labs with the same id: the second is broken and names the first', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kd-labs-dup-'));
  cpSync(path.join(FIXTURES, 'good', 'valid-lab'), path.join(dir, 'labs', 'a', 'valid-lab'), { recursive: true });
  cpSync(path.join(FIXTURES, 'good', 'valid-lab'), path.join(dir, 'labs', 'b', 'valid-lab'), { recursive: true });
  const catalog = await loadCatalog(path.join(dir, 'labs'), new MdxCompiler());
  assert.equal(catalog.labs.length, 1);
  assert.deepEqual(
    catalog.broken.flatMap((b) => b.problems.map(formatProblem)),
    ['labs/b/valid-lab/lab.mdx:1:1 lab id "valid-lab" is also used by labs/a/valid-lab/lab.mdx\n    hint: lab ids are unique across all tracks'],
  );
});

test('the MDX cache: unchanged labs are not re-bundled, in memory or from disk', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kd-labs-cache-'));
  const labsDir = path.join(dir, 'labs');
  cpSync(path.join(FIXTURES, 'good'), path.join(labsDir, 'good'), { recursive: true });
  cpSync(path.join(FIXTURES, 'good', 'valid-lab'), path.join(labsDir, 'good', 'second-lab'), { recursive: true });
  const second = path.join(labsDir, 'good', 'second-lab', 'lab.mdx');
  writeFileSync(second, readFileSync(second, 'utf8').replace('id: valid-lab', 'id: second-lab'));
  const cacheDir = path.join(dir, 'cache');

  const compiler = new MdxCompiler(cacheDir);
  await loadCatalog(labsDir, compiler);
  assert.equal(compiler.compiles, 2, 'a cold load compiles every lab');
  await loadCatalog(labsDir, compiler);
  assert.equal(compiler.compiles, 2, 'a reload of unchanged labs compiles nothing');

  writeFileSync(second, readFileSync(second, 'utf8').replace('Create a pod.', 'Create one pod.'));
  const after = await loadCatalog(labsDir, compiler);
  assert.equal(compiler.compiles, 3, 'only the changed lab is compiled again');
  assert.equal(after.labs.length, 2);

  const fresh = new MdxCompiler(cacheDir);
  const fromDisk = await loadCatalog(labsDir, fresh);
  assert.equal(fresh.compiles, 0, 'a new compiler (a restarted server) reuses the disk cache');
  assert.deepEqual(
    fromDisk.labs.map((l) => l.body.code),
    after.labs.map((l) => l.body.code),
  );
});

test('labs:check passes over every shipped lab with no errors and no warnings', async () => {
  const report = await checkLabs('labs', REPO);
  assert.equal(report.errors, 0, report.lines.join('\n'));
  assert.equal(report.warnings, 0, report.lines.join('\n'));
  assert.ok(report.catalog.labs.length >= 11, `expected the networking track, got ${report.catalog.labs.length} labs`);
  for (const lab of report.catalog.labs) {
    const points = lab.meta.tasks.reduce((s, t) => s + t.points, 0);
    assert.ok(points > 0, `${lab.id} has points`);
    for (const task of lab.meta.tasks)
      assert.ok(
        task.checks.some((c) => !c.guard),
        `${lab.id}/${task.id} has a non-guard check`,
      );
    // Every networking lab ships its common wrong answers, gated (issue 10).
    if (lab.track === 'networking') assert.ok(lab.mistakes.length >= 3, `${lab.id} ships ${lab.mistakes.length} mistakes, fewer than 3`);
  }
  assert.match(
    report.lines.join('\n'),
    /\n {2}netpol-lab9server {2,}≤ {2}0% {2}deny-all: a deny-all policy on namespace restricted/,
    'labs:check lists the mistakes per lab',
  );
});

test('labs:check on one lab folder and on a track folder', async () => {
  const one = await checkLabs('server/src/labs/test-fixtures/labs/broken/points-mismatch', REPO);
  assert.equal(one.errors, 1);
  assert.equal(one.lines[0], 'labs/broken/points-mismatch/lab.mdx:8:9 points is 10 but the tasks add up to 5\n    hint: tasks: make-client=5');
  const track = await checkLabs('server/src/labs/test-fixtures/labs/good', REPO);
  assert.equal(track.errors, 0);
  assert.deepEqual(
    track.catalog.labs.map((l) => l.id),
    ['valid-lab'],
  );
  const missing = await checkLabs('no/such/folder', REPO);
  assert.equal(missing.errors, 1);
  assert.match(missing.lines[0]!, /^no\/such\/folder: not a folder/);
});

test('a YAML error points at the bracket that was never closed', () => {
  const text = 'a: 1\ntags: [x, y\nb: 2\n';
  assert.deepEqual(describeYamlError(text, { message: 'Flow sequence in block collection must be sufficiently indented and end with a ]', pos: [17, 18] }), {
    offset: 11,
    message: 'YAML: "[" is never closed with "]"',
    hint: 'a flow sequence written with [ ] must be closed before the next key',
  });
});

test('YAML indentation slips point at the line that is off, with a hint on how YAML nests', () => {
  const where = (text: string) => {
    const y = new PositionedYaml(text);
    const d = describeYamlError(text, y.doc.errors[0]!);
    return { ...y.pos(d.offset), message: d.message, hint: d.hint ?? '' };
  };
  const deeper = where('tasks:\n  - id: x\n     title: y\n');
  assert.deepEqual([deeper.line, deeper.col, deeper.message], [3, 6, 'YAML: this line is indented further than the key before it']);
  const shallower = where('cluster:\n  workers: 1\n networkPolicy: true\n');
  assert.deepEqual([shallower.line, shallower.message], [3, 'YAML: this key is not in the same column as the keys above it']);
  assert.match(shallower.hint, /same column/);
  const item = where('tasks:\n  - id: x\n    title: y\n   points: 3\n');
  assert.deepEqual([item.line, item.message], [4, 'YAML: this line does not line up with the list item above it']);
});

test('canonical image names: a Docker Hub short name is the same image as its full name', () => {
  assert.equal(fullImageRef('busybox:1.37.0'), 'docker.io/library/busybox:1.37.0');
  assert.equal(fullImageRef('bitnami/kubectl:1.35'), 'docker.io/bitnami/kubectl:1.35');
  assert.equal(fullImageRef('registry.k8s.io/e2e-test-images/agnhost:2.53'), 'registry.k8s.io/e2e-test-images/agnhost:2.53');
  assert.equal(fullImageRef('localhost:5000/busybox:1.37.0'), 'localhost:5000/busybox:1.37.0');
});

test('image references: pinned tags and digests pass; :latest and untagged do not', () => {
  assert.equal(imageProblem('docker.io/library/busybox:1.37.0'), undefined);
  assert.equal(imageProblem('registry.k8s.io/e2e-test-images/agnhost@sha256:' + 'a'.repeat(64)), undefined);
  assert.equal(imageProblem('localhost:5000/busybox:1.37.0'), undefined, 'a registry port is not a tag');
  assert.match(imageProblem('localhost:5000/busybox') ?? '', /has no tag/);
  assert.match(imageProblem('nginx:latest') ?? '', /uses :latest/);
});

test('did-you-mean suggests close words only', () => {
  assert.equal(didYouMean('mesage', ['message', 'weight']), 'message');
  assert.equal(didYouMean('timeout', ['id', 'title', 'summary']), undefined);
});

test('track.yaml orders its labs; an unknown id in the list is reported with a did-you-mean', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kd-labs-order-'));
  const labsDir = path.join(dir, 'labs');
  for (const id of ['alpha-lab', 'beta-lab', 'gamma-lab']) {
    cpSync(path.join(FIXTURES, 'good', 'valid-lab'), path.join(labsDir, 'good', id), { recursive: true });
    const mdx = path.join(labsDir, 'good', id, 'lab.mdx');
    writeFileSync(mdx, readFileSync(mdx, 'utf8').replace('id: valid-lab', `id: ${id}`));
  }
  writeFileSync(
    path.join(labsDir, 'good', 'track.yaml'),
    'title: Good labs\nsummary: Labs in a chosen order.\nlabs:\n  - gamma-lab\n  - alpha-labb\n  - alpha-lab\n',
  );
  const catalog = await loadCatalog(labsDir, new MdxCompiler());
  assert.deepEqual(
    catalog.labs.map((l) => l.id),
    ['gamma-lab', 'alpha-lab', 'beta-lab'],
    'listed labs first, in list order; the rest by id',
  );
  assert.deepEqual(catalog.problems.map(formatProblem), [
    'labs/good/track.yaml:5:5 labs lists "alpha-labb", but track good has no lab with that id\n    hint: did you mean "alpha-lab"?',
  ]);
});

test('cache misses compile in a helper process that exits once idle', async () => {
  // The idle stop is armed through an injected timer that the test fires: idle is decided without waiting on real time.
  const idleStops: { stop: () => void; ms: number; cancelled: boolean }[] = [];
  const compiler = new MdxCompiler(undefined, {
    idleTimer: (stop, ms) => {
      const armed = { stop, ms, cancelled: false };
      idleStops.push(armed);
      return () => (armed.cancelled = true);
    },
  });
  const source = readFileSync(path.join(FIXTURES, 'good', 'valid-lab', 'lab.mdx'), 'utf8');
  const [a, b] = await Promise.all([compiler.compile(source), compiler.compile(source.replace('Create a pod.', 'Create two pods.'))]);
  assert.match(a.code, /Create a pod/);
  assert.match(b.code, /Create two pods/);
  const pid = compiler.helperPid;
  assert.ok(pid, 'a helper process compiled them');
  assert.notEqual(pid, process.pid);
  const live = idleStops.filter((t) => !t.cancelled);
  assert.equal(live.length, 1, 'one idle stop is armed, once both answers are in');
  assert.ok(live[0]!.ms > 0, 'the helper is kept a moment for the next miss');
  live[0]!.stop();
  assert.equal(compiler.helperPid, undefined, 'the helper stops when there is nothing left to compile');
  // A later miss starts a new helper.
  assert.match((await compiler.compile(source.replace('Create a pod.', 'Create three pods.'))).code, /Create three pods/);
  compiler.close();
});

test('a helper that exits late does not fail requests already sent to its successor', async () => {
  const compiler = new MdxCompiler();
  const source = readFileSync(path.join(FIXTURES, 'good', 'valid-lab', 'lab.mdx'), 'utf8');
  await compiler.compile(source);
  const first = compiler.helperPid;
  // close() kills the helper; its 'exit' event arrives only after the next request went to a new one.
  compiler.close();
  const body = await compiler.compile(source.replace('Create a pod.', 'Create four pods.'));
  assert.match(body.code, /Create four pods/);
  assert.notEqual(compiler.helperPid, first);
  compiler.close();
});

test('<Node name> takes the exam-style node names only', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kd-labs-node-'));
  cpSync(path.join(FIXTURES, 'good', 'valid-lab'), path.join(dir, 'labs', 'good', 'valid-lab'), { recursive: true });
  const mdx = path.join(dir, 'labs', 'good', 'valid-lab', 'lab.mdx');
  writeFileSync(mdx, `${readFileSync(mdx, 'utf8')}\nLog in with <Run>ssh <Node name="node01" /></Run> or look at <Node name="controlplane" />.\n`);
  assert.equal((await loadCatalog(path.join(dir, 'labs'), new MdxCompiler())).labs.length, 1);
  writeFileSync(mdx, `${readFileSync(mdx, 'utf8')}\nThen <Node name="worker2" />.\n`);
  const broken = (await loadCatalog(path.join(dir, 'labs'), new MdxCompiler())).broken.flatMap((b) => b.problems.map(formatProblem));
  assert.equal(broken.length, 1);
  assert.match(
    broken[0]!,
    /<Node name="worker2"> is not a node name\n {4}hint: nodes are named as in the exam: controlplane \(controlplane2, controlplane3 with cluster.controlPlanes\), node01, node02/,
  );
});

test('a node script or check for a control-plane node the shape lacks is an error that names cluster.controlPlanes', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kd-labs-cp-'));
  const lab = path.join(dir, 'labs', 'good', 'valid-lab');
  cpSync(path.join(FIXTURES, 'good', 'valid-lab'), lab, { recursive: true });
  mkdirSync(path.join(lab, 'setup'), { recursive: true });
  writeFileSync(path.join(lab, 'setup', 'node.control-plane3.sh'), '#!/usr/bin/env bash\ntrue\n');
  const problems = (await loadCatalog(path.join(dir, 'labs'), new MdxCompiler())).broken.flatMap((b) => b.problems.map(formatProblem));
  assert.ok(
    problems.some((p) =>
      /node\.control-plane3\.sh runs on control-plane3, but the lab's cluster has 1 control-plane node\(s\)\n {4}hint: set cluster\.controlPlanes to 3/.test(p),
    ),
    problems.join('\n'),
  );
});

test('a symlinked track is followed, a dangling link is an error, and a folder without labs never passes silently', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kubedrill-links-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const elsewhere = path.join(dir, 'elsewhere');
  cpSync(path.join(FIXTURES, 'good'), elsewhere, { recursive: true });
  const labs = path.join(dir, 'labs');
  mkdirSync(labs);
  symlinkSync(elsewhere, path.join(labs, 'linked'));
  const linked = await checkLabs(labs, dir);
  assert.ok(linked.catalog.labs.length > 0, 'the labs of the linked track load');
  assert.ok(linked.catalog.labs.every((l) => l.track === 'linked'));
  symlinkSync(path.join(dir, 'missing'), path.join(labs, 'dangling'));
  const dangling = await checkLabs(labs, dir);
  assert.ok(
    dangling.lines.some((l) => /labs\/dangling:1:1 symbolic link points to nothing/.test(l)),
    dangling.lines.join('\n'),
  );
  const empty = path.join(dir, 'empty');
  mkdirSync(empty);
  const none = await checkLabs(empty, dir);
  assert.equal(none.errors, 1);
  assert.match(none.lines.join('\n'), /no labs found/);
});

test('labs:check prints the competency coverage table over the shipped labs', async () => {
  const { lines } = await checkLabs('labs', REPO);
  const text = lines.join('\n');
  assert.match(text, /Coverage of the CKA competencies/);
  assert.match(text, /T1 +\d+ +Troubleshoot clusters and nodes +.*kubelet-worker-notready/);
  assert.match(text, /A1 +\d+ +Manage role based access control.*rbac-deployer-serviceaccount/);
});
