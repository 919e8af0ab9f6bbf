import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { MdxCompiler } from '../labs/bundle.ts';
import { loadCatalog, type Catalog, type Lab } from '../labs/loader.ts';
import { formatProblem } from '../labs/problems.ts';
import { checkExams } from './check-report.ts';
import { collide, labFootprint } from './collisions.ts';
import { loadExam, type BrokenExam, type Exam } from './loader.ts';

const REPO = path.resolve(import.meta.dirname, '..', '..', '..');
const compiler = new MdxCompiler();
let catalog: Catalog;
let tmp: string;

before(async () => {
  catalog = await loadCatalog(path.join(REPO, 'labs'), compiler);
  tmp = mkdtempSync(path.join(os.tmpdir(), 'kd-exams-'));
});
after(() => {
  compiler.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** Writes exams/<id>/exam.yaml under the temp folder and loads it against the shipped labs. */
function exam(id: string, yaml: string): Exam | BrokenExam {
  const dir = path.join(tmp, 'exams', id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'exam.yaml'), yaml);
  return loadExam(dir, catalog, tmp, REPO);
}
const lines = (r: Exam | BrokenExam) => ('problems' in r ? r.problems : r.warnings).map(formatProblem);

const HEAD = `title: Test exam
summary: An exam written by a test to see what the linter says.
minutes: 30
`;

test('labs:check passes over the shipped exams with no errors and no warnings', () => {
  const r = checkExams('exams', REPO, catalog);
  assert.equal(r.errors, 0, r.lines.join('\n'));
  assert.equal(r.warnings, 0, r.lines.join('\n'));
  assert.ok(r.exams.exams.length >= 1);
  const mock = r.exams.exams.find((e) => e.id === 'networking-mock')!;
  assert.equal(mock.tasks.length, 8);
  assert.equal(mock.clusters.length, 2);
  assert.equal(
    mock.tasks.reduce((s, t) => s + t.weight, 0),
    100,
  );
});

test('two labs that create the same namespace on one cluster are refused, naming both files', () => {
  const r = exam(
    'shop-twice',
    `${HEAD}clusters:
  - name: c1
    workers: 1
tasks:
  - lab: ingress-path-routing
    cluster: c1
    weight: 50
  - lab: multi-container-localhost
    cluster: c1
    weight: 50
`,
  );
  assert.ok('problems' in r);
  assert.deepEqual(lines(r), [
    'exams/shop-twice/exam.yaml:11:10 labs ingress-path-routing (task 1) and multi-container-localhost (task 2) collide on cluster c1: both create Namespace shop — labs/networking/ingress-path-routing/setup/20-shop.yaml:1 and labs/networking/multi-container-localhost/setup/10-namespace.yaml:1\n    hint: place one of them on another cluster of the exam',
  ]);
  // On two clusters the same labs are fine.
  const ok = exam(
    'shop-apart',
    `${HEAD}clusters:\n  - name: c1\n    workers: 1\n  - name: c2\ntasks:\n  - lab: ingress-path-routing\n    cluster: c1\n    weight: 50\n  - lab: multi-container-localhost\n    cluster: c2\n    weight: 50\n`,
  );
  assert.deepEqual(lines(ok), []);
});

test('a lab with a script does not share its cluster: kubedrill cannot see what a script changes', () => {
  const r = exam(
    'script',
    `${HEAD}clusters:\n  - name: c1\n    workers: 1\ntasks:\n  - lab: node-cni-kube-proxy\n    cluster: c1\n    weight: 50\n  - lab: clusterip-endpoints\n    cluster: c1\n    weight: 50\n`,
  );
  assert.ok('problems' in r);
  assert.equal(r.problems.length, 1);
  assert.match(
    r.problems[0]!.message,
    /collide on cluster c1: solution\/solution\.sh \(a script: kubedrill cannot see what it changes\) shares the cluster with Namespace store — labs\/networking\/node-cni-kube-proxy\/solution\/solution\.sh:1 and labs\/networking\/clusterip-endpoints\/setup\/10-namespace\.yaml:1/,
  );
});

test('a lab that breaks a node or a control-plane component gets its cluster to itself', () => {
  // kubelet-worker-notready stops the worker's kubelet (node scripts, dedicated, broken): service-no-answer's pods could not run there.
  const r = exam(
    'node-breaker',
    `${HEAD}clusters:\n  - name: c1\n    workers: 1\ntasks:\n  - lab: service-no-answer\n    cluster: c1\n    weight: 50\n  - lab: kubelet-worker-notready\n    cluster: c1\n    weight: 50\n`,
  );
  assert.ok('problems' in r);
  assert.equal(r.problems.length, 1);
  assert.match(
    r.problems[0]!.message,
    /labs service-no-answer \(task 1\) and kubelet-worker-notready \(task 2\) collide on cluster c1: setup\/node\.worker\.sh \(runs as root on the worker node\) shares the cluster with Namespace dispatch — labs\/troubleshooting\/service-no-answer\/setup\/10-namespace\.yaml:1 and labs\/troubleshooting\/kubelet-worker-notready\/setup\/node\.worker\.sh:1/,
  );
  // Two node-breaking labs cannot share either, even though neither has a manifest the other could meet.
  const two = exam(
    'two-breakers',
    `${HEAD}clusters:\n  - name: c1\n    workers: 1\ntasks:\n  - lab: scheduler-static-pod\n    cluster: c1\n    weight: 50\n  - lab: kubelet-worker-notready\n    cluster: c1\n    weight: 50\n`,
  );
  assert.ok('problems' in two);
  assert.match(
    two.problems[0]!.message,
    /collide on cluster c1: setup\/node\.control-plane\.sh \(runs as root on the control-plane node\) shares the cluster with setup\/node\.worker\.sh/,
  );
  // Each on a cluster of its own is fine.
  const apart = exam(
    'breakers-apart',
    `${HEAD}clusters:\n  - name: c1\n    workers: 1\n  - name: c2\n  - name: c3\n    workers: 1\ntasks:\n  - lab: kubelet-worker-notready\n    cluster: c1\n    weight: 30\n  - lab: scheduler-static-pod\n    cluster: c2\n    weight: 30\n  - lab: service-no-answer\n    cluster: c3\n    weight: 40\n`,
  );
  assert.deepEqual(lines(apart), []);
  // A lab that only declares dedicated (no node script) is held to it too.
  const dedicated = catalog.labs.find((l) => l.id === 'kubelet-worker-notready')!;
  const declared = labFootprint({ ...dedicated, files: { ...dedicated.files, setupNodeScripts: [], solutionNodeScripts: [] } }, (a) => path.relative(REPO, a));
  assert.deepEqual(
    declared.claims.map((c) => `${c.key} ${c.what} ${c.file}:${c.line}`),
    ['nodes cluster.dedicated (the lab changes nodes or kube-system) labs/troubleshooting/kubelet-worker-notready/lab.mdx:11'],
  );
});

test("a cluster lacking a lab's add-on, and answer-file tasks exams cannot grade, are refused", () => {
  const r = exam(
    'addon',
    `${HEAD}clusters:\n  - name: c1\n    workers: 1\ntasks:\n  - lab: hpa-cpu-target\n    cluster: c1\n    weight: 50\n  - lab: container-logs-to-files\n    task: crashed-run\n    cluster: c1\n    weight: 50\n`,
  );
  assert.deepEqual(lines(r), [
    'exams/addon/exam.yaml:9:14 lab hpa-cpu-target needs add-on(s) metrics-server (set addons: [metrics-server] on the cluster), so it cannot run on cluster c1\n    hint: change cluster c1 (exam.yaml line 5) or place the task on another cluster',
    'exams/addon/exam.yaml:12:11 lab container-logs-to-files task(s) crashed-run check answer files in the workstation, which exam grading does not read\n    hint: pick another task of the lab, or another lab',
  ]);
  const ok = exam(
    'addon-ok',
    `${HEAD}clusters:\n  - name: c1\n    workers: 1\n    addons: [metrics-server]\ntasks:\n  - lab: hpa-cpu-target\n    cluster: c1\n    weight: 100\n`,
  );
  assert.deepEqual(lines(ok), []);
});

test('unknown labs, tasks and clusters, misfit shapes and misspelt keys are pointed at', () => {
  const r = exam(
    'many',
    `${HEAD}clusters:
  - name: c1
  - name: c1
tasks:
  - lab: netpol-lab9servr
    cluster: c1
    weight: 10
  - lab: clusterip-endpoints
    task: inventory-endpoint
    cluster: c1
    weight: 10
  - lab: pod-ips-across-nodes
    cluster: c1
    weight: 10
  - lab: dns-service-discovery
    cluster: c2
    weight: 10
  - lab: nodeport-fixed-port
    cluster: c1
    wieght: 10
`,
  );
  assert.deepEqual(lines(r), ['exams/many/exam.yaml:23:5 unknown key "wieght" in tasks[4]\n    hint: did you mean "weight"?']);
  const r2 = exam(
    'many2',
    `${HEAD}clusters:\n  - name: c1\n  - name: c1\ntasks:\n  - lab: netpol-lab9servr\n    cluster: c1\n    weight: 10\n  - lab: clusterip-endpoints\n    task: inventory-endpoint\n    cluster: c1\n    weight: 10\n  - lab: pod-ips-across-nodes\n    cluster: c1\n    weight: 10\n  - lab: dns-service-discovery\n    cluster: c2\n    weight: 10\n  - lab: dns-service-discovery\n    task: search-domain\n    cluster: c1\n    weight: 10\n`,
  );
  assert.deepEqual(lines(r2), [
    'exams/many2/exam.yaml:6:11 cluster name "c1" is used twice\n    hint: each cluster is one kubeconfig context; names must differ',
    'exams/many2/exam.yaml:8:3 warning: the task weights add up to 50, not 100\n    hint: scores are shown in percent of the total either way; weights that add up to 100 read like the real exam',
    'exams/many2/exam.yaml:8:10 no lab "netpol-lab9servr"\n    hint: did you mean "netpol-lab9server"?',
    'exams/many2/exam.yaml:12:11 lab clusterip-endpoints has no task "inventory-endpoint"\n    hint: did you mean "inventory-endpoints"?',
    'exams/many2/exam.yaml:16:14 lab pod-ips-across-nodes needs 2 worker(s) (the cluster has 0), so it cannot run on cluster c1\n    hint: change cluster c1 (exam.yaml line 5) or place the task on another cluster',
    'exams/many2/exam.yaml:19:14 task 4 runs on cluster "c2", which the exam does not declare\n    hint: did you mean "c1"?',
    'exams/many2/exam.yaml:22:11 task search-domain of lab dns-service-discovery is already graded by exam task 4\n    hint: each lab task may appear in an exam once',
    'exams/many2/exam.yaml:23:14 lab dns-service-discovery is already placed on cluster c2 (task 4); all tasks of one lab share its setup, so they must run on one cluster',
  ]);
});

/** A lab folder with the given setup manifests, as far as collisions look at it. */
function fakeLab(id: string, setup: Record<string, string>): Lab {
  const dir = path.join(tmp, 'labs', id);
  mkdirSync(path.join(dir, 'setup'), { recursive: true });
  for (const [f, text] of Object.entries(setup)) writeFileSync(path.join(dir, 'setup', f), text);
  return {
    id,
    dir,
    files: {
      setupManifests: Object.keys(setup).map((f) => `setup/${f}`),
      setupScript: undefined,
      setupNodeScripts: [],
      solutionManifests: [],
      solutionScript: undefined,
      solutionNodeScripts: [],
    },
    meta: { cluster: { dedicated: false } },
  } as unknown as Lab;
}
const rel = (p: string) => path.relative(tmp, p);

test('collisions: a namespace-wide policy, the same NodePort, the same host port, a Node change', () => {
  const deny = fakeLab('deny', {
    'np.yaml': 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: deny-all\n  namespace: default\nspec:\n  podSelector: {}\n',
  });
  const client = fakeLab('client', {
    'pod.yaml': 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: c\nspec:\n  containers:\n    - name: c\n      image: busybox:1.37.0\n',
  });
  assert.deepEqual(
    collide(labFootprint(deny, rel), labFootprint(client, rel)).map((c) => `${c.why} | ${c.a.file}:${c.a.line} ${c.b.file}:${c.b.line}`),
    [
      'Pod default/c is subject to NetworkPolicy default/deny-all (it applies to every pod of namespace default) | labs/deny/setup/np.yaml:1 labs/client/setup/pod.yaml:1',
    ],
  );
  const svc = (name: string, ns: string) =>
    `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\n  namespace: ${ns}\nspec:\n  type: NodePort\n  ports:\n    - port: 80\n      nodePort: 30080\n`;
  const a = fakeLab('np-a', { 's.yaml': svc('a', 'one') });
  const b = fakeLab('np-b', { 's.yaml': `# comment\n---\n${svc('b', 'two')}` });
  assert.deepEqual(
    collide(labFootprint(a, rel), labFootprint(b, rel)).map((c) => `${c.why} | ${c.b.line}`),
    ['both create NodePort 30080/TCP | 3'],
  );
  const host = (name: string) =>
    `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n  namespace: ${name}\nspec:\n  hostNetwork: true\n  containers:\n    - name: c\n      image: nginx:1.27.4\n      ports:\n        - containerPort: 8080\n`;
  assert.equal(
    collide(labFootprint(fakeLab('h1', { 'p.yaml': host('h1') }), rel), labFootprint(fakeLab('h2', { 'p.yaml': host('h2') }), rel))[0]?.why,
    'both create host port 8080/TCP (Pod h2/h2)',
  );
  const node = fakeLab('node', { 'n.yaml': 'apiVersion: v1\nkind: Node\nmetadata:\n  name: worker\n  labels: { disk: ssd }\n' });
  assert.match(
    collide(labFootprint(client, rel), labFootprint(node, rel))[0]!.why,
    /^Node worker \(a node change affects every task on the cluster\) shares the cluster with Pod default\/c$/,
  );
  // Different objects in default, no policy: no collision.
  const other = fakeLab('other', {
    'pod.yaml': 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: d\nspec:\n  containers:\n    - name: c\n      image: busybox:1.37.0\n',
  });
  assert.deepEqual(collide(labFootprint(client, rel), labFootprint(other, rel)), []);
});

test('a Killercoda scenario cannot be placed in an exam, and the exam says why', async () => {
  const { loadScenarios } = await import('../labs/scenarios.ts');
  const scenarios = await loadScenarios(path.join(REPO, 'server/src/labs/test-fixtures/scenarios'), compiler);
  const dir = path.join(tmp, 'exams', 'with-scenario');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'exam.yaml'),
    `${HEAD}clusters:\n  - name: c1\ntasks:\n  - lab: kc-scenarios-loose-team-quota\n    cluster: c1\n    weight: 100\n`,
  );
  const r = loadExam(dir, { labs: [...catalog.labs, ...scenarios.labs], broken: catalog.broken }, tmp, REPO);
  assert.ok('problems' in r);
  assert.match(lines(r).join('\n'), /exam\.yaml:7:10 lab "kc-scenarios-loose-team-quota" is a Killercoda scenario, which exams cannot place/);
});
