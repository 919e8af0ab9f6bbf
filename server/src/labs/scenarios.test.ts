import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { WorkstationExecOptions } from '../../../graders/src/cluster/port.ts';
import { gradeLab } from '../../../graders/src/engine/engine.ts';
import { ModelCluster } from '../../../graders/src/model/model-cluster.ts';
import { MdxCompiler } from './bundle.ts';
import { LabCatalog } from './catalog-service.ts';
import type { Lab } from './loader.ts';
import { formatProblem } from './problems.ts';
import {
  assetMatches,
  backendBase,
  checkScenarios,
  downloads,
  dueStepSetups,
  loadScenarios,
  OPEN_SETUP_FILES,
  scenarioId,
  toLabMarkdown,
  unsupportedInScript,
} from './scenarios.ts';

const FIXTURES = path.join(import.meta.dirname, 'test-fixtures', 'scenarios');
const compiler = new MdxCompiler();
after(() => compiler.close());

const catalog = loadScenarios(FIXTURES, compiler);
const lab = async (name: string): Promise<Lab> => {
  const found = (await catalog).labs.find((l) => l.id.endsWith(name));
  assert.ok(found, `scenario ${name} loaded: ${JSON.stringify((await catalog).broken.map((b) => b.problems.map(formatProblem)))}`);
  return found;
};

describe('Killercoda scenario folders as labs', () => {
  it('a course (structure.json) is one track marked with its origin, its scenarios in the listed order', async () => {
    const c = await catalog;
    const course = c.tracks.find((t) => t.id === 'killercoda-scenarios-practice-course');
    assert.ok(course);
    assert.equal(course.title, 'Killercoda: Practice course for the scenario reader');
    assert.deepEqual(course.origin, { kind: 'killercoda', source: 'scenarios/practice-course' });
    assert.deepEqual(course.labs, ['kc-scenarios-practice-course-note-on-host', 'kc-scenarios-practice-course-label-worker']);
    assert.equal(c.problems.length, 0);
  });

  it('backends map to cluster shapes: kubeadm 1 node has no worker, 2 nodes has one', async () => {
    assert.equal((await lab('note-on-host')).meta.cluster.workers, 0);
    assert.equal((await lab('label-worker')).meta.cluster.workers, 1);
    assert.equal((await lab('label-worker')).meta.cluster.dedicated, true);
    assert.equal((await lab('label-worker')).meta.cluster.nodeNames, 'exam', 'Kubernetes nodes named controlplane and node01, as on Killercoda');
  });

  it('each step with a verify script is a task graded by that script, as root in the workstation', async () => {
    const l = await lab('note-on-host');
    assert.deepEqual(
      l.meta.tasks.map((t) => [t.id, t.title]),
      [
        ['step-1', 'Step 1: Write the note'],
        ['step-2', 'Step 2: Store it in a ConfigMap'],
      ],
    );
    const check = l.meta.tasks[0]!.checks[0]!;
    assert.equal(check.kind, 'workstation');
    assert.equal(check.kind === 'workstation' && check.user, 'root');
    assert.equal(check.kind === 'workstation' && check.run, readFileSync(path.join(FIXTURES, 'practice-course/note-on-host/check-note.sh'), 'utf8'));
    assert.deepEqual(l.origin, { kind: 'killercoda', source: 'scenarios/practice-course/note-on-host' });
    assert.equal(l.meta.difficulty, 'easy');
    assert.equal(l.meta.minutes, 10);
  });

  it('grading runs the verify script as root and passes exactly when it exits 0', async () => {
    const l = await lab('note-on-host');
    const calls: { argv: readonly string[]; opts: WorkstationExecOptions | undefined }[] = [];
    let noteWritten = false;
    const workstation = {
      exec: async (argv: readonly string[], opts?: WorkstationExecOptions) => {
        calls.push({ argv, opts });
        const isNote = argv[2]?.includes('/root/note.txt');
        return { stdout: '', stderr: '', exitCode: isNote && noteWritten ? 0 : 1 };
      },
    };
    const gradable = { id: l.id, dir: l.dir, tasks: l.meta.tasks };
    const before = await gradeLab(gradable, { port: new ModelCluster(), workstation });
    assert.equal(before.score, 0);
    assert.ok(
      calls.every((c) => c.opts?.user === 'root'),
      'every verify ran as root',
    );
    noteWritten = true;
    const afterStep = await gradeLab(gradable, { port: new ModelCluster(), workstation });
    assert.deepEqual(
      afterStep.tasks.map((t) => t.score),
      [10, 0],
    );
    // The learner sees why a step failed (the script's last output line), not the verify script itself.
    const failed = afterStep.tasks[1]!.checks[0]!;
    assert.equal(failed.explanation, 'the check script exited with 1, expected 0');
  });

  it("setup copies assets and foreground scripts and runs the intro background; a later step's background waits for its step", async () => {
    const l = await lab('note-on-host');
    const setup = l.scenarioSetup;
    assert.ok(setup);
    assert.deepEqual(setup.from, ['setup-namespace.sh', 'assets/starter.yaml']);
    const asset = Buffer.from(readFileSync(path.join(FIXTURES, 'practice-course/note-on-host/assets/starter.yaml')))
      .toString('base64')
      .slice(0, 60);
    assert.ok(setup.script.includes(asset), 'the asset travels inside the script');
    assert.match(setup.script, /== setup-namespace\.sh/);
    assert.doesNotMatch(setup.script, /prepare-step2/, 'step 2 is not reached at Start');
    assert.deepEqual(
      setup.steps.map((s) => [s.step, s.after, s.from, s.title]),
      [[2, ['step-1'], 'prepare-step2.sh', 'Store it in a ConfigMap']],
    );
    assert.ok(
      setup.steps[0]!.script.includes(
        Buffer.from(readFileSync(path.join(FIXTURES, 'practice-course/note-on-host/prepare-step2.sh')))
          .toString('base64')
          .slice(0, 40),
      ),
    );
    // The step's text says when its setup runs.
    assert.match(l.body.code, /runs once step 1 passes/);
    assert.match(setup.script, /\/opt\/kd-scenario\/wait\.sh/);
    // Every scenario opens /root to the learner (candidate), who plays Killercoda's root user.
    assert.match((await lab('label-worker')).scenarioSetup?.script ?? '', /chmod 1777 \/root/);
  });

  it('the setup script really writes assets where index.json says (run with bash in a scratch root)', async () => {
    const l = await lab('note-on-host');
    const dir = mkdtempSync(path.join(tmpdir(), 'kd-scenario-'));
    try {
      mkdirSync(path.join(dir, 'root'));
      // Point the script's absolute paths into the scratch folder and leave out the backgrounds (they need kubectl).
      const script = l.scenarioSetup!.script.split("echo '== ")[0]!.replaceAll('/root', `${dir}/root`).replaceAll('/opt/kd-scenario', `${dir}/opt`);
      execFileSync('bash', ['-s'], { input: script });
      assert.equal(
        readFileSync(path.join(dir, 'root/work/starter.yaml'), 'utf8'),
        readFileSync(path.join(FIXTURES, 'practice-course/note-on-host/assets/starter.yaml'), 'utf8'),
      );
      assert.match(readFileSync(path.join(dir, 'opt/wait.sh'), 'utf8'), /environment is ready/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('{{exec}} becomes a Run button, {{copy}} a copyable code block, finish a closed hint', async () => {
    const l = await lab('note-on-host');
    const runs = l.body.components.filter((c) => c.name === 'Run');
    assert.deepEqual(
      runs.map((r) => r.text?.source),
      ['kubectl get ns memo', 'bash /opt/kd-scenario/wait.sh', '``` echo kubedrill > /root/note.txt ```'],
    );
    assert.deepEqual(
      l.body.components.filter((c) => c.name === 'Task').map((c) => c.attributes.id),
      ['step-1', 'step-2'],
    );
    assert.ok(
      l.body.components.some((c) => c.name === 'Finish'),
      'the finish text waits for every step to pass',
    );
    const md = toLabMarkdown('Copy `kubectl get pods`{{copy}} please');
    assert.equal(md, 'Copy `kubectl get pods` please\n\n```\nkubectl get pods\n```\n');
  });

  it('<details><summary> becomes a collapsed hint titled by the summary; layout-only <p> lines are dropped', async () => {
    const md = toLabMarkdown(
      [
        'Try it first.',
        '',
        '<details><summary>✅ Solution (expand to view)</summary>',
        '<p>',
        '',
        '```bash',
        'kubectl get sc',
        '```',
        '',
        '</p>',
        '</details>',
        '',
        '<details>',
        '<summary>More <b>help</b> "here"</summary>',
        'Use `-o wide`.',
        '</details>',
        '<details>',
        'never closed',
      ].join('\n'),
    );
    const body = await compiler.compile(md);
    const hints = body.components.filter((c) => c.name === 'Hint');
    assert.deepEqual(
      hints.map((h) => h.attributes.title ?? null),
      ['✅ Solution (expand to view)', 'More help here', null],
    );
    assert.doesNotMatch(md, /<\/?(details|summary|p)>|\\<p\\>/);
    assert.match(md, /```bash\nkubectl get sc\n```\n+<\/Hint>/);
  });

  it('scenario Markdown is data: HTML, script tags and braces are shown as text, never compiled as JSX', async () => {
    const md = toLabMarkdown('Hello <script>alert(1)</script> and <img src=x onerror=alert(2)> {process.env} `{kept}`');
    assert.equal(md, 'Hello \\<script\\>alert(1)\\</script\\> and \\<img src=x onerror=alert(2)\\> \\{process.env\\} `{kept}`');
    const body = await compiler.compile(md);
    assert.deepEqual(body.components, []);
    assert.doesNotMatch(body.code, /"script"|"img"|onerror:/);
    // A writer's own escapes, a doubled backslash before a tag and an unclosed backtick stay text too.
    const tricky = toLabMarkdown('a \\<b>bold\\</b> \\\\<i>x</i> `open <u>y</u> {z}\n<div>\n{1+1}\n</div>');
    const compiled = await compiler.compile(tricky);
    assert.deepEqual(compiled.components, []);
    assert.doesNotMatch(compiled.code, /"(b|i|u|div)"/);
  });

  it('scenarios that cannot run are refused with the reason, at file:line:col', async () => {
    const broken = Object.fromEntries((await catalog).broken.map((b) => [b.id, b.problems.filter((p) => p.severity === 'error').map(formatProblem)]));
    assert.deepEqual(Object.keys(broken).sort(), [
      'kc-scenarios-refused-missing-step-file',
      'kc-scenarios-refused-node-internals',
      'kc-scenarios-refused-plain-ubuntu',
      'kc-scenarios-refused-remote-manifest',
      'kc-scenarios-refused-trailing-comma',
    ]);
    assert.match(broken['kc-scenarios-refused-remote-manifest']![0]!, /fetch\.sh:2:1 downloads from the internet/);
    assert.match(broken['kc-scenarios-refused-trailing-comma']![0]!, /^scenarios\/refused\/trailing-comma\/index\.json:5:3 invalid JSON/);
    assert.match(broken['kc-scenarios-refused-missing-step-file']![0]!, /index\.json:3:1 details\.steps\[0\]\.text names step1\.md, which does not exist/);
    assert.match(broken['kc-scenarios-refused-plain-ubuntu']![0]!, /index\.json:4:1 the ubuntu backend is a plain Linux machine without Kubernetes/);
    assert.match(broken['kc-scenarios-refused-node-internals']![0]!, /verify1\.sh:3:1 uses the control-plane node itself/);
  });

  it('scripts are refused for what the workstation cannot do: node internals, the internet; a command sent to a node with ssh is fine', () => {
    const found = unsupportedInScript(
      [
        '# ssh node01 would not work',
        'kubectl get pods',
        'ssh node01 "systemctl stop kubelet"',
        'cat /etc/kubernetes/manifests/kube-apiserver.yaml',
        'apt-get install -y jq',
        'curl -s http://node01:30080',
        'ssh controlplane',
        'ssh -o StrictHostKeyChecking=no node01 cat /var/lib/kubelet/config.yaml',
      ].join('\n'),
    );
    assert.deepEqual(
      found.map((f) => f.line),
      [4, 5],
    );
    const byName = unsupportedInScript(
      [
        'kubectl label node node01 disk=ssd',
        'kubectl taint no controlplane a=b:NoSchedule-',
        '    nodeName: node01',
        'kubectl get pods -l kubernetes.io/hostname=controlplane',
        'kubectl get nodes',
        'kubectl get node -l node-role.kubernetes.io/control-plane',
        'ssh node01 hostname',
        'kubectl drain node01 --ignore-daemonsets',
      ].join('\n'),
    );
    // Scenario clusters register their nodes as controlplane and node01, so naming them through kubectl works.
    assert.deepEqual(
      byName.map((f) => f.line),
      [],
    );
  });

  it('fetching from the internet is told apart from addresses inside the attempt', () => {
    for (const line of [
      'kubectl apply -f https://example.org/app.yaml',
      'kubectl create --filename=https://example.org/app.yaml',
      'helm repo add stable https://charts.example.org',
      'helm install db oci://registry.example.org/charts/db',
      'git clone https://example.org/repo.git',
      'wget -q https://example.org/x.tgz',
      'pip install pyyaml',
    ]) {
      assert.equal(downloads(line), true, line);
    }
    for (const line of [
      'kubectl apply -f /root/app.yaml',
      'curl -s http://node01:30080',
      'curl -k https://172.30.1.2:6443/api',
      'curl http://10.96.0.10:53',
      'helm install web ./chart',
      'echo see https://kubernetes.io/docs',
    ]) {
      assert.equal(downloads(line), false, line);
    }
  });

  it('backend variants (-rapid, another OS) run as the kubeadm backend they extend, with a warning', async () => {
    assert.equal(backendBase('kubernetes-kubeadm-2nodes-rapid'), 'kubernetes-kubeadm-2nodes');
    assert.equal(backendBase('kubernetes-kubeadm-1node-ubuntu20.04'), 'kubernetes-kubeadm-1node');
    assert.equal(backendBase('kubernetes-kubeadm-1node'), 'kubernetes-kubeadm-1node');
    assert.equal(backendBase('kubernetes-kubeadm-1nodes'), undefined);
    assert.equal(backendBase('ubuntu'), undefined);
    const l = await lab('shelf-manifests');
    assert.equal(l.meta.cluster.workers, 1);
    assert.match(
      l.warnings.map(formatProblem).join('\n'),
      /index\.json:14:1 warning: backend kubernetes-kubeadm-2nodes-rapid runs as kubernetes-kubeadm-2nodes/,
    );
  });

  it("asset names may be wildcards and targets may be in root's home (~), as on Killercoda", async () => {
    const assets = path.join(FIXTURES, 'loose/shelf-manifests/assets');
    assert.deepEqual(assetMatches(assets, 'shelf/*.yaml'), ['shelf/archive.yaml', 'shelf/reading-room.yaml']);
    assert.deepEqual(assetMatches(assets, 'shelf/reading-room.yaml'), ['shelf/reading-room.yaml']);
    assert.deepEqual(assetMatches(assets, '*.yaml'), [], 'a pattern matches in its own folder only');
    assert.deepEqual(assetMatches(assets, '../index.json'), [], 'nothing outside assets/');
    const l = await lab('shelf-manifests');
    assert.deepEqual(l.scenarioSetup?.from, ['stock-shelf.sh', 'assets/shelf/archive.yaml', 'assets/shelf/reading-room.yaml', 'assets/shelf/readme.txt']);
    const dir = mkdtempSync(path.join(tmpdir(), 'kd-scenario-'));
    try {
      mkdirSync(path.join(dir, 'root'));
      const script = l.scenarioSetup!.script.split("echo '== ")[0]!.replaceAll('/root', `${dir}/root`).replaceAll('/opt/kd-scenario', `${dir}/opt`);
      execFileSync('bash', ['-s'], { input: script });
      assert.equal(readFileSync(path.join(dir, 'root/shelf/reading-room.yaml'), 'utf8'), readFileSync(path.join(assets, 'shelf/reading-room.yaml'), 'utf8'));
      assert.equal(readFileSync(path.join(dir, 'root/shelf/archive.yaml'), 'utf8'), readFileSync(path.join(assets, 'shelf/archive.yaml'), 'utf8'));
      assert.equal(readFileSync(path.join(dir, 'root/readme.txt'), 'utf8'), 'Only the reading room is open today.\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("what the backgrounds made outside /root is opened to the learner, the system's folders and / itself are not", () => {
    const r = mkdtempSync(path.join(tmpdir(), 'kd-fs-'));
    try {
      for (const d of ['etc', 'opt', 'usr/bin']) mkdirSync(path.join(r, d), { recursive: true });
      writeFileSync(path.join(r, 'etc/hosts'), 'old\n');
      writeFileSync(path.join(r, 'opt/vendor.txt'), 'from the image\n');
      const mark = path.join(r, 'mark');
      writeFileSync(mark, '');
      // Everything before the mark is the image's; what follows is what a background made.
      const past = new Date(Date.now() - 60_000);
      for (const f of ['etc', 'etc/hosts', 'opt', 'opt/vendor.txt', 'usr', 'usr/bin']) utimesSync(path.join(r, f), past, past);
      utimesSync(mark, past, past);
      mkdirSync(path.join(r, 'opt/course/1'), { recursive: true });
      writeFileSync(path.join(r, 'opt/course/1/kubeconfig'), 'secret');
      chmodSync(path.join(r, 'opt/course/1/kubeconfig'), 0o600);
      mkdirSync(path.join(r, 'shop'));
      writeFileSync(path.join(r, 'etc/motd'), 'new system file');
      chmodSync(path.join(r, 'etc/motd'), 0o600);
      chmodSync(r, 0o755);
      execFileSync('bash', ['-c', `${OPEN_SETUP_FILES}\nkd_open_setup_files "$0" "$1"`, r, mark]);
      const mode = (p: string) => statSync(path.join(r, p)).mode & 0o777;
      assert.equal(mode('opt/course/1/kubeconfig'), 0o666, "the file the setup made is the learner's to read and change");
      assert.equal(mode('opt/course/1'), 0o777);
      assert.equal(mode('shop'), 0o777);
      assert.equal(mode('opt/vendor.txt') & 0o002, 0, 'files from before the setup stay as they were');
      assert.equal(mode('etc/motd'), 0o600, 'system folders are never opened');
      assert.equal(mode(''), 0o755, '/ itself stays closed');
    } finally {
      rmSync(r, { recursive: true, force: true });
    }
  });

  it('a step text that downloads from the internet or names a Killercoda host address loads with a warning at its line', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kd-scenarios-'));
    try {
      const s = path.join(dir, 'kc', 'chart-step');
      mkdirSync(s, { recursive: true });
      writeFileSync(
        path.join(s, 'index.json'),
        JSON.stringify({
          title: 'Install a chart',
          details: { steps: [{ title: 'Install', text: 'step1.md', verify: 'verify1.sh' }] },
          backend: { imageid: 'kubernetes-kubeadm-1node' },
        }),
      );
      writeFileSync(
        path.join(s, 'step1.md'),
        'Add the repository:\n\n`helm repo add shop https://charts.example.org`{{exec}}\n\nThe API server is `https://172.30.1.2:6443`.\n',
      );
      writeFileSync(path.join(s, 'verify1.sh'), 'helm status shop -n shop\n');
      const c = await loadScenarios(path.join(dir, 'kc'), compiler, { relativeTo: dir });
      assert.equal(c.labs.length, 1);
      assert.deepEqual(
        c.labs[0]!.warnings.map((w) => formatProblem(w).split('\n')[0]),
        [
          "kc/chart-step/step1.md:5:1 warning: 172.30.1.2 is the fixed address of a Killercoda host (172.30.1.2 controlplane, 172.30.2.2 node01); kubedrill's nodes have other addresses, so this line does not reach them",
          'kc/chart-step/step1.md:3:1 warning: the text has the learner download from the internet, which the workstation cannot reach: that step cannot be done as written',
        ],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('loose scenarios are one track per folder; solution.sh beside each verify script is the reference solution', async () => {
    const c = await catalog;
    const l = await lab('team-quota');
    assert.equal(l.track, 'killercoda-scenarios-loose');
    assert.equal(c.tracks.find((t) => t.id === 'killercoda-scenarios-loose')?.title, 'Killercoda scenarios: loose');
    assert.equal(l.meta.difficulty, 'medium');
    assert.deepEqual(l.scenarioSolution?.from, ['step1/solution.sh', 'step2/solution.sh']);
    assert.deepEqual(
      l.scenarioSolution!.steps.map((x) => [x.step, x.from]),
      [
        [1, 'step1/solution.sh'],
        [2, 'step2/solution.sh'],
      ],
    );
    assert.match(l.scenarioSolution!.steps[1]!.script, /== step2\/solution\.sh/);
    assert.equal((await lab('note-on-host')).scenarioSolution, undefined, 'no solution where verify scripts share the scenario folder');
  });

  it('a step is reached once every earlier step with a verify script passed; each step setup is due once', async () => {
    const setup = {
      script: '',
      from: [],
      steps: [
        { step: 2, title: 'b', after: ['step-1'], script: 'two', from: 'b.sh' },
        { step: 4, title: 'd', after: ['step-1', 'step-3'], script: 'four', from: 'd.sh' },
      ],
    };
    const due = (passed: string[], done: number[]) => dueStepSetups(setup, new Set(passed), new Set(done)).map((s) => s.step);
    assert.deepEqual(due([], []), []);
    assert.deepEqual(due(['step-1'], []), [2]);
    assert.deepEqual(due(['step-1'], [2]), [], 'a setup that ran is not run again');
    assert.deepEqual(due(['step-3'], []), [], 'a later step passing does not skip an earlier one');
    assert.deepEqual(due(['step-1', 'step-3'], [2]), [4]);
    assert.deepEqual(due(['step-1', 'step-3'], []), [2, 4], 'in step order when one Check reaches several');
    assert.deepEqual(dueStepSetups(undefined, new Set(['step-1']), new Set()), []);
    // A background of a step that no verify comes before runs at Start (Killercoda moves on without a verify).
    assert.deepEqual((await lab('label-worker')).scenarioSetup?.steps, []);
  });

  it('a step setup runs its background from a folder only root can write, and opens what it made to the learner', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kd-step-'));
    try {
      mkdirSync(path.join(dir, 'root'));
      const bg = { text: `echo made > ${dir}/root/made.txt\nchmod 0600 ${dir}/root/made.txt\necho "cwd=$(pwd)"` };
      // Loaded through a scenario written on the spot, so the script is the one the loader makes.
      const sc = path.join(dir, 'sc');
      mkdirSync(path.join(sc, 'one'), { recursive: true });
      writeFileSync(
        path.join(sc, 'index.json'),
        JSON.stringify({
          title: 'Two steps',
          details: {
            steps: [
              { title: 'First', text: 'one.md', verify: 'one/verify.sh' },
              { title: 'Second', text: 'two.md', verify: 'two.sh', background: 'bg2.sh' },
            ],
          },
          backend: { imageid: 'kubernetes-kubeadm-1node' },
        }),
      );
      writeFileSync(path.join(sc, 'one.md'), 'Do one.');
      writeFileSync(path.join(sc, 'two.md'), 'Do two.');
      writeFileSync(path.join(sc, 'one', 'verify.sh'), 'true\n');
      writeFileSync(path.join(sc, 'two.sh'), 'true\n');
      writeFileSync(path.join(sc, 'bg2.sh'), bg.text);
      {
        const c = await loadScenarios(sc, compiler);
        const step = c.labs[0]?.scenarioSetup?.steps[0];
        assert.ok(step, JSON.stringify(c.broken.map((b) => b.problems.map(formatProblem))));
        // Run with /root pointed into the scratch folder; the background's own folder is made by mktemp.
        const out = execFileSync('bash', ['-s'], {
          input: step.script
            .replaceAll('cd /root', `cd ${dir}/root`)
            .replaceAll('find /root', `find ${dir}/root`)
            .replace('kd_open_setup_files ""', `kd_open_setup_files "${dir}/none"`),
          encoding: 'utf8',
        });
        assert.match(out, /== bg2\.sh \(step 2\)/);
        assert.match(out, new RegExp(`cwd=${dir}/root`));
        assert.equal(statSync(path.join(dir, 'root/made.txt')).mode & 0o777, 0o666, 'what the background made in /root is opened to the learner');
        assert.match(step.script, /mktemp -d \/tmp\/\.kd-step-/);
        assert.doesNotMatch(step.script, /\/root\/\.kd-background/, 'nothing root runs lives where the learner can write');
        const failing = step.script.replace(
          /base64 -d > "\$kd_dir\/background\.sh" <<'KD_ASSET_EOF'\n[^]*?\nKD_ASSET_EOF/,
          `base64 -d > "$kd_dir/background.sh" <<'KD_ASSET_EOF'\n${Buffer.from('exit 7').toString('base64')}\nKD_ASSET_EOF`,
        );
        assert.throws(
          () => execFileSync('bash', ['-s'], { input: failing, stdio: 'pipe' }),
          (e: { status?: number; stderr?: Buffer }) => e.status === 7 && /bg2\.sh exited 7/.test(String(e.stderr)),
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a scenario without any verify script is an ungraded walkthrough: its steps in order, no task, no points', async () => {
    const l = await lab('label-tour');
    assert.deepEqual(l.walkthrough?.steps, [
      { step: 1, title: 'Look at the pods' },
      { step: 2, title: 'Select by label' },
      { step: 3, title: 'Put a Service in front' },
    ]);
    assert.deepEqual(l.meta.tasks, [], 'nothing to score: no stand-in task, no points');
    assert.deepEqual(l.meta.tags, ['killercoda', 'walkthrough']);
    assert.equal(l.scenarioSolution, undefined);
    assert.deepEqual(
      l.body.components.filter((c) => c.name === 'Task'),
      [],
    );
    assert.match(l.body.code, /a walkthrough (—|\\u2014) not graded/);
    assert.ok(l.body.components.some((c) => c.name === 'Finish'));
    assert.equal((await catalog).tracks.find((t) => t.id === 'killercoda-scenarios-walkthroughs')?.title, 'Killercoda scenarios: walkthroughs');
  });

  it("a walkthrough runs step 1's background at Start and each later step's when Next step reaches it", async () => {
    const setup = (await lab('label-tour')).scenarioSetup!;
    assert.deepEqual(setup.from, ['make-namespace.sh', 'start-pods.sh'], 'intro and step 1 backgrounds at Start');
    assert.match(setup.script, /== start-pods\.sh/);
    assert.doesNotMatch(setup.script, /== relabel\.sh/);
    assert.deepEqual(
      setup.steps.map((s) => [s.step, s.after, s.from]),
      [[2, ['step-1'], 'relabel.sh']],
    );
    // Moving past step 1 reaches step 2; step 3 has no background of its own.
    assert.deepEqual(
      dueStepSetups(setup, new Set(), new Set()).map((s) => s.step),
      [],
    );
    assert.deepEqual(
      dueStepSetups(setup, new Set(['step-1']), new Set()).map((s) => s.step),
      [2],
    );
    assert.match((await lab('label-tour')).body.code, /runs when you press Next step on the step before it/);
  });

  it('labs:check lists a walkthrough as such, not as refused', async () => {
    const { lines, errors } = await checkScenarios(path.join(FIXTURES, 'walkthroughs'), path.dirname(FIXTURES));
    assert.equal(errors, 0);
    assert.ok(lines.includes('Killercoda scenarios in scenarios/walkthroughs: 1 run (1 as ungraded walkthroughs), 0 refused'), lines.join('\n'));
    assert.ok(
      lines.some((l) => /^ {2}walkthrough kc-walkthroughs-label-tour +1 node, 3 steps, not graded \(no verify script\)/.test(l)),
      lines.join('\n'),
    );
  });

  it('a scenario where only some steps verify stays graded: unverified steps are text, their backgrounds wait for the verified steps before them', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kd-mixed-'));
    try {
      const sc = path.join(dir, 'kc', 'mixed');
      mkdirSync(sc, { recursive: true });
      const steps = [
        { title: 'Read first', text: 'a.md', background: 'bg-a.sh' },
        { title: 'Do it', text: 'b.md', verify: 'verify-b.sh' },
        { title: 'Read again', text: 'c.md', background: 'bg-c.sh' },
        { title: 'Do more', text: 'd.md', verify: 'verify-d.sh', background: 'bg-d.sh' },
      ];
      writeFileSync(
        path.join(sc, 'index.json'),
        JSON.stringify({ title: 'Mixed steps', details: { steps }, backend: { imageid: 'kubernetes-kubeadm-1node' } }),
      );
      for (const f of ['a.md', 'b.md', 'c.md', 'd.md']) writeFileSync(path.join(sc, f), `Text of ${f}.`);
      for (const f of ['bg-a.sh', 'bg-c.sh', 'bg-d.sh', 'verify-b.sh', 'verify-d.sh']) writeFileSync(path.join(sc, f), 'true\n');
      const c = await loadScenarios(path.join(dir, 'kc'), compiler, { relativeTo: dir });
      const l = c.labs[0];
      assert.ok(l, JSON.stringify(c.broken.map((b) => b.problems.map(formatProblem))));
      assert.equal(l.walkthrough, undefined);
      assert.deepEqual(
        l.meta.tasks.map((t) => t.id),
        ['step-2', 'step-4'],
      );
      assert.deepEqual(l.scenarioSetup?.from, ['bg-a.sh']);
      assert.deepEqual(
        l.scenarioSetup?.steps.map((s) => [s.step, s.after]),
        [
          [3, ['step-2']],
          [4, ['step-2']],
        ],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lab ids come from the folder path and stay within 60 characters and unique', () => {
    assert.equal(scenarioId('scenarios/My Course/Step One'), 'kc-scenarios-my-course-step-one');
    const long = scenarioId(`x/${'a'.repeat(80)}/b`);
    const other = scenarioId(`y/${'a'.repeat(80)}/b`);
    assert.ok(long.length <= 60 && /^[a-z0-9][a-z0-9-]*[a-z0-9]$/.test(long));
    assert.notEqual(long, other);
  });

  it('the catalogue serves scenario folders beside the labs folder, as their own tracks', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kd-scenarios-'));
    try {
      cpSync(path.join(FIXTURES, 'practice-course'), path.join(dir, 'kc', 'practice-course'), { recursive: true });
      writeFileSync(path.join(dir, 'kc', 'notes.txt'), 'not a scenario');
      const labs = new LabCatalog(path.join(import.meta.dirname, 'test-fixtures', 'labs'), undefined, [path.join(dir, 'kc')]);
      const c = await labs.reload();
      labs.compiler.close();
      assert.ok(c.labs.some((l) => l.id === 'kc-kc-practice-course-note-on-host'));
      assert.ok(
        c.labs.some((l) => !l.origin),
        'the ordinary labs are still there',
      );
      assert.ok(c.tracks.some((t) => t.origin?.kind === 'killercoda'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
