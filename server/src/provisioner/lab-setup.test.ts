import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ClusterError, type ExecResult, type KubeObject } from '../../../graders/src/cluster/port.ts';
import { enforceNetworkPolicy, NETPOL_STEPS, verifyNetworkPolicy } from './netpol-selftest.ts';
import { forgetNetpolVerdicts, NetpolVerdicts, verdictKey } from './netpol-verdicts.ts';
import { apiUnavailable, applyLabSetup, readinessProblems, readManifestFile, waitUntilReady, waitUntilSettled } from './lab-setup.ts';
import { ProvisionError, type StepEvent } from './steps.ts';
import { FakeClusterPort, FakeKindHost } from './testing/fake-kind.ts';
import { lab9server } from './testing/lab-fixtures.ts';

const pod = (name: string, ready: boolean, extra: Partial<KubeObject['metadata']> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', ...extra },
  status: ready
    ? { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] }
    : { phase: 'Pending', containerStatuses: [{ name: 'c', state: { waiting: { reason: 'ErrImagePull', message: 'no registry' } } }] },
});

test('readiness names what is not ready and why, and skips objects annotated kubedrill.io/wait: "false"', () => {
  const deploy: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', generation: 2 },
    spec: { replicas: 2 },
    status: { observedGeneration: 2, updatedReplicas: 2, availableReplicas: 1 },
  };
  const skippedDeploy: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'broken', namespace: 'default', annotations: { 'kubedrill.io/wait': 'false' } },
    spec: { replicas: 1 },
    status: {},
  };
  const problems = readinessProblems([
    pod('a', true),
    pod('b', false),
    pod('c', false, { annotations: { 'kubedrill.io/wait': 'false' } }),
    pod('broken-5d9f7c-x2x', false, { ownerReferences: [{ kind: 'ReplicaSet', name: 'broken-5d9f7c' }] }),
    deploy,
    skippedDeploy,
  ]);
  assert.deepEqual(problems, ['pod default/b is Pending — c: ErrImagePull (no registry)', 'deployment default/web has 1/2 replicas available']);
});

test('a Deployment is ready only once no pod of its previous rollout is left, as `kubectl rollout status` judges it', () => {
  // An autoscaler raised replicas to 2 mid-rollout: both new replicas are available, one old one still runs.
  const midRollout: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'checkout', namespace: 'shop', generation: 3 },
    spec: { replicas: 2 },
    status: { observedGeneration: 3, replicas: 3, updatedReplicas: 2, availableReplicas: 3 },
  };
  assert.deepEqual(readinessProblems([midRollout]), ['deployment shop/checkout still runs 1 old replica(s) of its previous rollout']);
  const done = { ...midRollout, status: { observedGeneration: 3, replicas: 2, updatedReplicas: 2, availableReplicas: 2 } };
  assert.deepEqual(readinessProblems([done]), []);
});

test("a lab's setup manifests are applied server-side in file order and waited for", async () => {
  const port = new FakeClusterPort({ readyAfterPolls: 2 });
  const steps: StepEvent[] = [];
  const lab = lab9server();
  await applyLabSetup(
    { dir: lab.dir, setupManifests: lab.files.setupManifests, setupScript: undefined },
    { kubeconfigPath: '/x' },
    { port, runner: new FakeKindHost() },
    (e) => steps.push(e),
    { timeoutMs: 10_000, pollMs: 5 },
  );
  const expected = (await Promise.all(lab.files.setupManifests.map((f) => readManifestFile(path.join(lab.dir, f))))).flat();
  assert.deepEqual(
    port.applied.map((o) => `${o.kind}/${o.metadata.name}`),
    expected.map((o) => `${o.kind}/${o.metadata.name}`),
  );
  assert.equal(port.applied[0]?.kind, 'Namespace', 'namespaces first (10-namespace.yaml)');
  assert.deepEqual(
    steps.filter((s) => s.status === 'done').map((s) => s.step),
    ['Applying setup manifests', 'Waiting for setup to be ready'],
  );
  assert.ok(port.lists > 4, 'polled until the workloads were ready');
});

test('setup that never becomes ready fails the "Waiting for setup to be ready" step with the reasons', async () => {
  const port = new FakeClusterPort({ readyAfterPolls: 1e9 });
  const lab = lab9server();
  const err = await applyLabSetup(
    { dir: lab.dir, setupManifests: lab.files.setupManifests, setupScript: undefined },
    { kubeconfigPath: '/x' },
    { port, runner: new FakeKindHost() },
    () => {},
    { timeoutMs: 300, pollMs: 20 },
  ).catch((e: unknown) => e);
  assert.ok(err instanceof ProvisionError);
  assert.equal(err.step, 'Waiting for setup to be ready');
  assert.match(err.message, /setup was not ready after 0 s: .*(pod|deployment) /);
});

test('a setup script runs with the cluster kubeconfig in KUBECONFIG', async () => {
  const host = new FakeKindHost();
  const dir = mkdtempSync(path.join(tmpdir(), 'kd-lab-'));
  writeFileSync(path.join(dir, 'setup.sh'), 'true\n');
  await applyLabSetup(
    { dir, setupManifests: [], setupScript: 'setup.sh' },
    { kubeconfigPath: '/data/clusters/kubedrill-1/kubeconfig' },
    { port: new FakeClusterPort(), runner: host },
    () => {},
    { timeoutMs: 1000, pollMs: 5 },
  );
  assert.deepEqual(host.calls.at(-1), ['bash', path.join(dir, 'setup.sh')]);
});

// Probe results: the client reaches the server until a deny policy exists and `enforcing` says so.
function netpolPort(enforcing: () => boolean): FakeClusterPort {
  const port: FakeClusterPort = new FakeClusterPort({
    exec: async (): Promise<ExecResult> => {
      const denied = port.applied.some((o) => o.kind === 'NetworkPolicy') && enforcing();
      return denied ? { stdout: '', stderr: 'wget: download timed out', exitCode: 1 } : { stdout: 'ok', stderr: '', exitCode: 0 };
    },
  });
  return port;
}

test('NetworkPolicy self-test passes when a default-deny blocks the probe, and removes its namespace', async () => {
  const host = new FakeKindHost();
  const port = netpolPort(() => true);
  const steps: StepEvent[] = [];
  const via = await verifyNetworkPolicy({ name: 'kubedrill-t1' }, { port, runner: host, settleMs: 50, pollMs: 5 }, (e) => steps.push(e));
  assert.equal(via, 'kindnet');
  assert.ok(steps.some((s) => s.step === 'Checking NetworkPolicy enforcement' && s.status === 'done'));
  assert.ok(host.calls.some((c) => c.includes('delete') && c.includes('kubedrill-netpol-selftest')));
});

test('fail-open kindnet: kube-router is installed and the test repeated; missing manifest or still open fails clearly', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kd-kr-'));
  const manifest = path.join(dir, 'kube-router.yaml');
  writeFileSync(
    manifest,
    'apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: kube-router\n  namespace: kube-system\nspec:\n  template:\n    spec:\n      containers:\n        - name: kube-router\n          image: docker.io/cloudnativelabs/kube-router:v2.10.0\n',
  );
  const host = new FakeKindHost();

  const fixed = netpolPort(() => fixed.applied.some((o) => o.kind === 'DaemonSet'));
  const preloaded: string[][] = [];
  const preload = async (images: string[]) => preloaded.push(images);
  assert.equal(
    await verifyNetworkPolicy({ name: 'k' }, { port: fixed, runner: host, preload, fallbackManifest: manifest, settleMs: 30, pollMs: 5 }, () => {}),
    'kube-router',
  );
  assert.deepEqual(preloaded, [['docker.io/cloudnativelabs/kube-router:v2.10.0']], "the controller's image is loaded from the host first");

  const missing = await verifyNetworkPolicy(
    { name: 'k' },
    { port: netpolPort(() => false), runner: host, fallbackManifest: path.join(dir, 'nope.yaml'), settleMs: 30, pollMs: 5 },
    () => {},
  ).catch((e: unknown) => e);
  assert.ok(missing instanceof ProvisionError);
  assert.match(missing.message, /not enforced by this cluster's CNI .* fallback controller manifest .*nope.yaml is missing/);

  const open = await verifyNetworkPolicy(
    { name: 'k' },
    { port: netpolPort(() => false), runner: host, fallbackManifest: manifest, settleMs: 30, pollMs: 5 },
    () => {},
  ).catch((e: unknown) => e);
  assert.ok(open instanceof ProvisionError);
  assert.match(open.message, /NetworkPolicy is not enforced on this cluster.*even with kube-router installed/);
});

test('a remembered verdict installs the enforcement directly: no probe pods for kube-router, nothing at all for kindnet', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kd-verdict-'));
  const manifest = path.join(dir, 'kube-router.yaml');
  writeFileSync(
    manifest,
    'apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: kube-router\n  namespace: kube-system\nspec:\n  template:\n    spec:\n      containers:\n        - name: kube-router\n          image: docker.io/cloudnativelabs/kube-router:v2.10.0\n',
  );
  const host = new FakeKindHost();
  const store = new NetpolVerdicts(dir);
  const facts = { nodeImageId: 'sha256:aaa', kernel: '6.1.0', cgroup: '1', os: 'Debian', fallback: 'x' };
  const verdicts = { get: () => store.get(facts), remember: (v: 'kindnet' | 'kube-router') => store.remember(facts, v) };

  // First cluster: no verdict yet, so it is tested (kindnet fails open here) and the verdict stored.
  const first = netpolPort(() => first.applied.some((o) => o.kind === 'DaemonSet'));
  const steps: StepEvent[] = [];
  assert.deepEqual(
    await enforceNetworkPolicy({ name: 'k' }, { port: first, runner: host, fallbackManifest: manifest, verdicts, settleMs: 30, pollMs: 5 }, (e) =>
      steps.push(e),
    ),
    { verdict: 'kube-router', remembered: false },
  );
  assert.deepEqual(
    steps.filter((s) => s.status === 'done').map((s) => s.step),
    [NETPOL_STEPS.pods, NETPOL_STEPS.check, NETPOL_STEPS.install, NETPOL_STEPS.recheck],
  );
  assert.equal(await store.get(facts), 'kube-router');

  // Next cluster on the same host and node image: kube-router goes in at once, nothing is probed.
  let probes = 0;
  const next = new FakeClusterPort({ exec: async () => (probes++, { stdout: '', stderr: '', exitCode: 0 }) });
  const nextSteps: StepEvent[] = [];
  assert.deepEqual(
    await enforceNetworkPolicy({ name: 'k2' }, { port: next, runner: host, fallbackManifest: manifest, verdicts, pollMs: 5 }, (e) => nextSteps.push(e)),
    { verdict: 'kube-router', remembered: true },
  );
  assert.equal(probes, 0);
  assert.deepEqual(
    next.applied.map((o) => o.kind),
    ['DaemonSet'],
    'only the controller is applied: no probe namespace or pods',
  );
  assert.deepEqual(
    nextSteps.map((s) => `${s.step} ${s.status}`),
    [`${NETPOL_STEPS.install} running`, `${NETPOL_STEPS.install} done`],
  );

  // Another node image (or kernel) is a different host as far as the verdict goes: tested again.
  const other = { ...facts, nodeImageId: 'sha256:bbb' };
  assert.equal(await store.get(other), undefined);
  await store.remember(other, 'kindnet');
  const quiet = new FakeClusterPort();
  assert.deepEqual(
    await enforceNetworkPolicy(
      { name: 'k3' },
      { port: quiet, runner: host, verdicts: { get: () => store.get(other), remember: (v) => store.remember(other, v) } },
      () => {},
    ),
    { verdict: 'kindnet', remembered: true },
  );
  assert.deepEqual(quiet.applied, []);
  assert.equal(verdictKey(facts) === verdictKey(other), false);

  // The verdicts live in the data dir; forgetting them means testing again.
  assert.match(readFileSync(path.join(dir, 'netpol-verdicts.json'), 'utf8'), /"verdict": "kube-router"/);
  await forgetNetpolVerdicts(dir);
  assert.equal(await store.get(facts), undefined);
});

test('node scripts run as root on the node their role names, after readiness, and readiness then waits for the breakage to show', async () => {
  const { ModelCluster } = await import('../../../graders/src/model/model-cluster.ts');
  const dir = mkdtempSync(path.join(tmpdir(), 'kubedrill-nodesetup-'));
  writeFileSync(path.join(dir, 'node.worker.sh'), 'systemctl stop kubelet\n');
  const model = new ModelCluster({ workers: 2, name: 'kd' });
  const ran: { node: string; argv: readonly string[] }[] = [];
  const nodeExec = async (node: string, argv: readonly string[]): Promise<ExecResult> => {
    ran.push({ node, argv });
    // What the node controller does ~50 s after a kubelet stops, done at once here.
    const n = model.peek({ apiVersion: 'v1', kind: 'Node', name: node });
    if (n) n.status = { conditions: [{ type: 'Ready', status: 'Unknown' }] };
    return { stdout: '', stderr: '', exitCode: 0 };
  };
  const steps: StepEvent[] = [];
  await applyLabSetup(
    {
      dir,
      setupManifests: [],
      setupScript: undefined,
      nodeScripts: [{ role: 'worker', file: 'node.worker.sh' }],
      broken: { nodes: ['worker'], components: [] },
    },
    { kubeconfigPath: '/x' },
    { port: model, runner: new FakeKindHost(), nodeExec },
    (e) => steps.push(e),
    { timeoutMs: 5_000, pollMs: 5 },
  );
  assert.deepEqual(ran, [{ node: 'kd-worker', argv: ['bash', '-c', 'systemctl stop kubelet\n', 'node.worker.sh'] }]);
  assert.deepEqual(
    steps.filter((s) => s.status === 'done').map((s) => s.step),
    ['Running node setup', 'Waiting for the breakage to show'],
  );

  // A breakage that never shows fails the attempt at that step, naming what still works.
  const healthy = new ModelCluster({ workers: 1, name: 'kd' });
  await assert.rejects(
    applyLabSetup(
      { dir, setupManifests: [], setupScript: undefined, broken: { nodes: ['worker'], components: ['kube-scheduler'] } },
      { kubeconfigPath: '/x' },
      { port: healthy, runner: new FakeKindHost() },
      () => {},
      { timeoutMs: 50, pollMs: 5 },
    ),
    (e: unknown) => e instanceof ProvisionError && e.step === 'Waiting for the breakage to show' && /node kd-worker \(worker\) is still Ready/.test(e.message),
  );
});

test('a wrong answer that never becomes ready is settled once what is not ready stays the same; one that changes is waited for', async () => {
  let t = 0;
  const now = () => t;
  const stuck = pod('web-1', false);
  const portWith = (pods: () => KubeObject[]) => {
    const port = new FakeClusterPort();
    port.list = async (ref) => (ref.kind === 'Pod' ? pods() : []);
    return port;
  };
  // Pending for good: settled after quietMs of the same answer, with what is not ready reported.
  const still = await waitUntilSettled(
    portWith(() => [stuck]),
    [],
    1_000_000,
    { quietMs: 15_000, pollMs: 0, now: () => ((t += 1000), now()) },
  );
  assert.deepEqual(still.problems, []);
  assert.deepEqual(still.notReady, ['pod default/web-1 is Pending — c: ErrImagePull (no registry)']);
  // A rollout that keeps changing is not settled until it is ready.
  let polls = 0;
  t = 0;
  const rolling = await waitUntilSettled(
    portWith(() => (++polls < 30 ? [pod(`web-${polls}`, false)] : [pod('web-x', true)])),
    [],
    1_000_000,
    { quietMs: 15_000, pollMs: 0, now: () => ((t += 1000), now()) },
  );
  assert.deepEqual(rolling, { problems: [], notReady: [] });
  assert.equal(polls, 30, 'waited through every change until ready');
  // Nothing settles past the deadline: what is still wrong is returned.
  t = 0;
  let n = 0;
  const late = await waitUntilSettled(
    portWith(() => [pod(`w-${++n}`, false)]),
    [],
    10_000,
    { quietMs: 15_000, pollMs: 0, now: () => ((t += 1000), now()) },
  );
  assert.ok(late.problems.length === 1 && /is Pending/.test(late.problems[0]!), late.problems.join('; '));
});

test('an API server that does not answer for a while is waited out, not taken as a failure; other errors still fail at once', async () => {
  const failing = (errors: Error[], pods: KubeObject[]) => {
    const port = new FakeClusterPort();
    let calls = 0;
    port.list = async (ref) => {
      calls++;
      const e = errors.shift();
      if (e) throw e;
      return ref.kind === 'Pod' ? pods : [];
    };
    return { port, calls: () => calls };
  };
  // A control plane catching up: a timeout, a refused connection and a 503, then the answer.
  const flaky = failing(
    [
      new ClusterError('timeout', 'listing Pod timed out after 15000 ms'),
      new ClusterError('unreachable', 'listing Pod: cannot reach the API server (ECONNREFUSED)'),
      new ClusterError('api', 'listing Pod: HTTP 503: etcdserver: leader changed', 503),
    ],
    [pod('web', true)],
  );
  assert.deepEqual(await waitUntilReady(flaky.port, [], Date.now() + 60_000, { pollMs: 0 }), []);
  const settleFlaky = failing([new ClusterError('timeout', 'listing Pod timed out after 15000 ms')], [pod('web', true)]);
  assert.deepEqual(await waitUntilSettled(settleFlaky.port, [], Date.now() + 60_000, { quietMs: 0, pollMs: 0 }), { problems: [], notReady: [] });
  // Down until the deadline: the last failure is what is reported.
  const down = new FakeClusterPort();
  down.list = async () => {
    throw new ClusterError('timeout', 'listing Pod timed out after 15000 ms');
  };
  const left = await waitUntilReady(down, [], Date.now() + 30, { pollMs: 5 });
  assert.deepEqual(left, ['the API server did not answer: listing Pod timed out after 15000 ms']);
  // Not transient: a refusal is the answer, and waiting would not change it.
  const forbidden = failing([new ClusterError('forbidden', 'listing Pod: HTTP 403: forbidden', 403)], []);
  await assert.rejects(waitUntilReady(forbidden.port, [], Date.now() + 60_000, { pollMs: 0 }), /HTTP 403/);
  assert.equal(forbidden.calls(), 4, 'one poll (its four lists), no second');
  assert.equal(apiUnavailable(new Error('boom')), undefined);
});
