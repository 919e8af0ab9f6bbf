import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_NODE_IMAGE, kindConfig, shapeFromKey, shapeKey } from './kind-config.ts';
import { fullImageRef, KindDriver, kindNodeNames } from './kind-driver.ts';
import { nodeForRole } from '../../../graders/src/engine/checks.ts';
import { cleanStage, KindProgressParser, plainStage, type KindStageEvent } from './kind-progress.ts';
import { ProvisionError, type StepEvent } from './steps.ts';
import { FakeKindHost } from './testing/fake-kind.ts';

const fixture = (name: string) => readFileSync(path.join(import.meta.dirname, 'test-fixtures', name), 'utf8');

function driver(host: FakeKindHost, o: { nodeImage?: string } = {}) {
  const clustersDir = mkdtempSync(path.join(tmpdir(), 'kd-clusters-'));
  return {
    clustersDir,
    driver: new KindDriver({ runner: host, clustersDir, namePrefix: 'kubedrill', nodeImage: o.nodeImage ?? DEFAULT_NODE_IMAGE, createTimeoutMs: 60_000 }),
  };
}

test("kind's real stderr of a failed pull becomes start/failed events and the ERROR text", () => {
  const events: KindStageEvent[] = [];
  const p = new KindProgressParser((e) => events.push(e));
  const text = fixture('kind-create-missing-image.stderr').replaceAll('{{image}}', 'kubedrill-missing/node:v0.0.1');
  // Split mid-line to prove lines are reassembled across chunks.
  p.push(text.slice(0, 97));
  p.push(text.slice(97));
  const error = p.end();
  assert.deepEqual(events, [
    { kind: 'start', stage: 'Ensuring node image (kubedrill-missing/node:v0.0.1)' },
    { kind: 'failed', stage: 'Ensuring node image (kubedrill-missing/node:v0.0.1)' },
  ]);
  assert.match(error ?? '', /^ERROR: failed to create cluster: failed to pull image "kubedrill-missing\/node:v0.0.1"/);
  assert.match(error ?? '', /Command Output: Error response from daemon/);
});

test('stage names lose emoji and dots but keep what names the stage', () => {
  assert.equal(cleanStage('Preparing nodes 📦 📦   ...'), 'Preparing nodes');
  assert.equal(cleanStage('Waiting ≤ 5m0s for control-plane = Ready ⏳  ...'), 'Waiting ≤ 5m0s for control-plane = Ready');
  assert.equal(cleanStage('Starting control-plane 🕹️'), 'Starting control-plane');
  // The learner sees plain names; a stage kind adds in a later version keeps its own (cleaned) text.
  assert.equal(plainStage(cleanStage('Waiting ≤ 5m0s for control-plane = Ready ⏳  ...')), 'Waiting for the control plane');
  assert.equal(plainStage('Ensuring node image (kindest/node:v1.35.8)'), 'Checking the node image');
  assert.equal(plainStage('Joining more control-plane nodes'), 'Joining the other nodes');
  assert.equal(plainStage('Configuring the frobnicator'), 'Configuring the frobnicator');
});

test('shape keys carry add-ons after "+", sorted, so one pool serves every lab that needs the same ones', () => {
  const shape = shapeFromKey('w1-netpol+metrics-server+gateway-api');
  assert.deepEqual(shape, { workers: 1, cni: 'kindnet', networkPolicy: true, addons: ['gateway-api', 'metrics-server'], dedicated: false });
  assert.equal(shapeKey(shape), 'w1-netpol+gateway-api+metrics-server');
  assert.equal(shapeKey({ workers: 0, cni: 'kindnet', networkPolicy: false, addons: ['metallb', 'metallb'], dedicated: false }), 'w0+metallb');
  assert.throws(() => shapeFromKey('w0+kafka'), /unknown add-on "kafka"/);
  assert.throws(() => shapeFromKey('w0+'), /is not a cluster shape key/);
});

test('the kind config follows the shape, and adds the cgroup v1 patches only on cgroup v1 hosts', () => {
  const shape = shapeFromKey('w2-netpol');
  assert.equal(shapeKey(shape), 'w2-netpol');
  const v1 = parseYaml(kindConfig(shape, { cgroupV1: true, registryMirror: 'http://mirror.lan:5000' })) as Record<string, unknown>;
  assert.deepEqual(v1.nodes, [{ role: 'control-plane' }, { role: 'worker' }, { role: 'worker' }]);
  assert.match(String((v1.kubeadmConfigPatches as string[])[0]), /kind: KubeletConfiguration\nfailCgroupV1: false/);
  const patches = (v1.containerdConfigPatches as string[]).join('\n');
  assert.match(patches, /restrict_oom_score_adj = true/);
  assert.match(patches, /mirrors."docker.io"\]\n {2}endpoint = \["http:\/\/mirror.lan:5000"/);
  const v2 = parseYaml(kindConfig(shapeFromKey('w0-nocni'), { cgroupV1: false })) as Record<string, unknown>;
  assert.equal(v2.kubeadmConfigPatches, undefined);
  assert.equal(v2.containerdConfigPatches, undefined);
  assert.deepEqual(v2.networking, { disableDefaultCNI: true });
});

test('exam node names: kubeadm registers the nodes as controlplane, node01, node02, and the shape keys them apart', () => {
  const shape = shapeFromKey('w2-examnames+metallb');
  assert.equal(shape.nodeNames, 'exam');
  assert.equal(shapeKey(shape), 'w2-examnames+metallb');
  assert.equal(shapeKey({ ...shape, nodeNames: 'kind' }), 'w2+metallb', 'kind names are the default shape');
  const c = parseYaml(kindConfig(shape, { cgroupV1: true })) as { nodes: { role: string; kubeadmConfigPatches: string[] }[]; kubeadmConfigPatches: string[] };
  assert.deepEqual(
    c.nodes.map((n) => [n.role, parseYaml(n.kubeadmConfigPatches[0]!)]),
    [
      ['control-plane', { kind: 'InitConfiguration', nodeRegistration: { name: 'controlplane' } }],
      ['worker', { kind: 'JoinConfiguration', nodeRegistration: { name: 'node01' } }],
      ['worker', { kind: 'JoinConfiguration', nodeRegistration: { name: 'node02' } }],
    ],
  );
  assert.match(c.kubeadmConfigPatches[0]!, /failCgroupV1/, 'cluster-wide patches stay');
});

test('three control-plane nodes: kind config, shape key, and exam names controlplane, controlplane2, controlplane3', () => {
  const shape = shapeFromKey('w1-cp3');
  assert.equal(shape.controlPlanes, 3);
  assert.equal(shapeKey(shape), 'w1-cp3');
  assert.equal(shapeKey({ ...shape, controlPlanes: 1 }), 'w1', 'one control plane is the default shape');
  assert.throws(() => shapeFromKey('w0-cp4'), /is not a cluster shape key/);
  const c = parseYaml(kindConfig(shape, { cgroupV1: false })) as { nodes: { role: string }[] };
  assert.deepEqual(
    c.nodes.map((n) => n.role),
    ['control-plane', 'control-plane', 'control-plane', 'worker'],
  );
  const exam = shapeFromKey('w0-cp3-examnames');
  assert.equal(shapeKey(exam), 'w0-cp3-examnames');
  const e = parseYaml(kindConfig(exam, { cgroupV1: false })) as { nodes: { role: string; kubeadmConfigPatches: string[] }[] };
  assert.deepEqual(
    e.nodes.map((n) => [n.role, parseYaml(n.kubeadmConfigPatches[0]!)]),
    [
      ['control-plane', { kind: 'InitConfiguration', nodeRegistration: { name: 'controlplane' } }],
      ['control-plane', { kind: 'JoinConfiguration', nodeRegistration: { name: 'controlplane2' } }],
      ['control-plane', { kind: 'JoinConfiguration', nodeRegistration: { name: 'controlplane3' } }],
    ],
  );
});

test('the load balancer kind lists with its nodes is no node; control-plane roles pick the control planes in name order', async () => {
  const listed = ['ha-control-plane', 'ha-control-plane2', 'ha-control-plane3', 'ha-external-load-balancer', 'ha-worker'];
  const runner = { run: async ({ argv }: { argv: string[] }) => ({ argv, stdout: `${listed.join('\n')}\n`, stderr: '', exitCode: 0, durationMs: 1 }) };
  assert.deepEqual(await kindNodeNames(runner, 'ha'), ['ha-control-plane', 'ha-control-plane2', 'ha-control-plane3', 'ha-worker']);
  const node = (name: string, cp: boolean) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: cp ? { 'node-role.kubernetes.io/control-plane': '' } : ({} as Record<string, string>) },
  });
  const nodes = [node('ha-worker', false), node('ha-control-plane3', true), node('ha-control-plane', true), node('ha-control-plane2', true)];
  assert.equal(nodeForRole(nodes, 'control-plane')?.metadata.name, 'ha-control-plane');
  assert.equal(nodeForRole(nodes, 'control-plane2')?.metadata.name, 'ha-control-plane2');
  assert.equal(nodeForRole(nodes, 'control-plane3')?.metadata.name, 'ha-control-plane3');
  assert.equal(nodeForRole(nodes, 'worker')?.metadata.name, 'ha-worker');
  assert.equal(nodeForRole(nodes.slice(0, 3), 'control-plane3')?.metadata.name, undefined);
});

test('create reports kind stages then our own node wait, with one kubeconfig file per cluster', async () => {
  const host = new FakeKindHost({ cgroupVersion: 1 });
  const { driver: d, clustersDir } = driver(host);
  const name = d.newName();
  assert.match(name, /^kubedrill-[0-9a-f]{8}$/);
  const steps: StepEvent[] = [];
  const info = await d.create(name, shapeFromKey('w1'), (e) => steps.push(e));
  const names = steps.filter((s) => s.status === 'done').map((s) => s.step);
  assert.deepEqual(names, [
    'Checking the node image',
    'Creating the node containers',
    'Writing the cluster configuration',
    'Starting the control plane',
    'Installing the pod network',
    'Installing storage',
    'Joining the other nodes',
    'Waiting for the control plane',
    'Waiting for every node to be Ready',
  ]);
  assert.equal(info.kubeconfigPath, path.join(clustersDir, name, 'kubeconfig'));
  assert.ok(existsSync(info.kubeconfigPath));
  assert.match(readFileSync(info.internalKubeconfigPath, 'utf8'), new RegExp(`https://${name}-control-plane:6443`));
  assert.deepEqual(info.nodes, [`${name}-control-plane`, `${name}-worker`]);
  const create = host.calls.find((c) => c[1] === 'create')!;
  assert.deepEqual(create.slice(0, 11), [
    'kind',
    'create',
    'cluster',
    '--name',
    name,
    '--image',
    DEFAULT_NODE_IMAGE,
    '--kubeconfig',
    info.kubeconfigPath,
    '--config',
    '-',
  ]);
  assert.ok(
    host.calls.some((c) => c.includes('wait') && c.includes('--all')),
    'waits for every node, not only the control plane',
  );
});

test("a create that fails at kind's node-image step names the step, carries kind's output and leaves nothing", async () => {
  const host = new FakeKindHost({ missingImages: ['kubedrill-missing/node:v0.0.1'] });
  const { driver: d, clustersDir } = driver(host, { nodeImage: 'kubedrill-missing/node:v0.0.1' });
  const steps: StepEvent[] = [];
  const name = d.newName();
  const err = await d.create(name, shapeFromKey('w0'), (e) => steps.push(e)).catch((e: unknown) => e);
  assert.ok(err instanceof ProvisionError);
  assert.equal(err.step, 'Checking the node image');
  assert.match(err.message, /failed to pull image/);
  assert.match(err.output, /registry-1.docker.io/);
  assert.deepEqual(steps.at(-1), { step: err.step, status: 'failed', output: err.output });
  assert.equal(existsSync(path.join(clustersDir, name)), false, 'the cluster folder is removed');
  assert.ok(host.calls.some((c) => c[1] === 'delete' && c.includes(name)));
});

test('nodes that never become Ready fail the create at our wait step and delete the cluster', async () => {
  const host = new FakeKindHost({ nodesNeverReady: true });
  const { driver: d } = driver(host);
  const err = await d.create(d.newName(), shapeFromKey('w2'), () => {}).catch((e: unknown) => e);
  assert.ok(err instanceof ProvisionError);
  assert.equal(err.step, 'Waiting for every node to be Ready');
  assert.match(err.output, /timed out waiting for the condition/);
  assert.equal(host.clusters.size, 0);
});

test('preloading loads only images the host has and the nodes lack', async () => {
  const host = new FakeKindHost({ hostImages: ['docker.io/library/nginx:1.27.4', 'busybox:1.37.0'] });
  const { driver: d } = driver(host);
  const info = await d.create(d.newName(), shapeFromKey('w1'), () => {});
  const first = await d.preloadImages(info.name, ['docker.io/library/nginx:1.27.4', 'busybox:1.37.0', 'registry.example/x:1.0']);
  assert.deepEqual(first, { loaded: ['docker.io/library/nginx:1.27.4', 'busybox:1.37.0'], present: [], missing: ['registry.example/x:1.0'] });
  const second = await d.preloadImages(info.name, ['docker.io/library/nginx:1.27.4', 'busybox:1.37.0']);
  assert.deepEqual(second.loaded, [], 'already in every node: no kind load');
  assert.equal(host.calls.filter((c) => c[1] === 'load').length, 1);
  assert.equal(fullImageRef('busybox:1.37.0'), 'docker.io/library/busybox:1.37.0');
  assert.equal(fullImageRef('traefik/whoami:v1.10'), 'docker.io/traefik/whoami:v1.10');
  assert.equal(fullImageRef('registry.k8s.io/pause:3.10'), 'registry.k8s.io/pause:3.10');
});

test('list keeps only clusters with our prefix; delete of a missing cluster succeeds', async () => {
  const host = new FakeKindHost();
  const { driver: d } = driver(host);
  await d.create('kubedrill-aaaa0001', shapeFromKey('w0'), () => {});
  await d.create('someone-else', shapeFromKey('w0'), () => {});
  assert.deepEqual(await d.list(), ['kubedrill-aaaa0001']);
  await d.delete('kubedrill-aaaa0001');
  await d.delete('kubedrill-aaaa0001');
  assert.deepEqual(await d.list(), []);
});
