import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterPort, KubeObject, ObjectRef } from '../../../graders/src/cluster/port.ts';
import { CommandError, type CommandRunner } from '../exec/command-runner.ts';
import { addonImages, installAddons, loadBalancerRangeFor } from './addons.ts';
import { ProvisionError, type StepEvent } from './steps.ts';

test("each cluster gets its own LoadBalancer block in the upper half of kind's network, by its control-plane address", () => {
  assert.equal(loadBalancerRangeFor('172.18.0.0/16', '172.18.0.2'), '172.18.128.16-172.18.128.23');
  assert.equal(loadBalancerRangeFor('172.18.0.0/16', '172.18.0.3'), '172.18.128.24-172.18.128.31');
  assert.equal(loadBalancerRangeFor('10.89.0.0/24', '10.89.0.5'), '10.89.0.168-10.89.0.175');
  assert.throws(() => loadBalancerRangeFor('10.89.0.0/24', '10.89.0.40'), /too small/);
  assert.throws(() => loadBalancerRangeFor('10.89.0.0/24', '10.89.1.5'), /not in the lower half/);
  assert.throws(() => loadBalancerRangeFor('fc00:f853:ccd:e793::/64', '172.18.0.2'), /no IPv4 subnet/);
});

test('add-on manifests pin the image tags their upstream releases publish', async () => {
  assert.deepEqual(await addonImages('metrics-server'), ['registry.k8s.io/metrics-server/metrics-server:v0.8.0']);
  assert.deepEqual((await addonImages('metallb')).sort(), ['quay.io/metallb/controller:v0.15.2', 'quay.io/metallb/speaker:v0.15.2']);
  assert.deepEqual(await addonImages('gateway-api'), ['docker.io/library/traefik:v3.6.12']);
  assert.deepEqual(await addonImages('etcd-client'), []);
});

/** A cluster whose workloads are ready at once; `live` answers reads of other objects. */
function fakePort(o: { live?: (ref: ObjectRef, reads: number) => KubeObject | undefined; refuseFirstApplies?: number; nodeMetrics?: () => number } = {}) {
  const applied: KubeObject[] = [];
  let refusals = o.refuseFirstApplies ?? 0;
  let reads = 0;
  const port: ClusterPort = {
    async get(ref) {
      reads++;
      if (['Deployment', 'DaemonSet'].includes(ref.kind)) {
        const obj = applied.find((a) => a.kind === ref.kind && a.metadata.name === ref.name);
        if (!obj) return undefined;
        return {
          ...obj,
          metadata: { ...obj.metadata, generation: 1 },
          status: {
            observedGeneration: 1,
            replicas: 1,
            updatedReplicas: 1,
            availableReplicas: 1,
            desiredNumberScheduled: 1,
            numberReady: 1,
            updatedNumberScheduled: 1,
          },
        };
      }
      return o.live?.(ref, reads);
    },
    async list(q) {
      if (q.kind === 'NodeMetrics')
        return Array.from({ length: o.nodeMetrics?.() ?? 1 }, (_, i) => ({ apiVersion: q.apiVersion, kind: q.kind, metadata: { name: `n${i}` } }));
      return [];
    },
    async exec() {
      return { stdout: '', stderr: '', exitCode: 0 };
    },
    async apply(objects) {
      if (objects.some((x) => x.kind === 'IPAddressPool') && refusals-- > 0)
        throw new Error('failed calling webhook "ipaddresspoolvalidationwebhook.metallb.io": connection refused');
      applied.push(...objects);
    },
  };
  return { port, applied };
}

const dockerHost: CommandRunner = {
  async run({ argv }) {
    const cmd = argv.join(' ');
    if (cmd.startsWith('docker network inspect kind'))
      return { argv, stdout: '172.18.0.0/16 fc00:f853:ccd:e793::/64 \n', stderr: '', exitCode: 0, durationMs: 1 };
    if (cmd.startsWith('docker inspect')) return { argv, stdout: '172.18.0.4\n', stderr: '', exitCode: 0, durationMs: 1 };
    throw new CommandError('exit-code', argv, 1, '', `unexpected ${cmd}`);
  },
};

test('metallb: images are loaded, the manifest applied, and the address pool retried until its webhook answers', async () => {
  const { port, applied } = fakePort({ refuseFirstApplies: 2 });
  const loaded: string[] = [];
  const steps: StepEvent[] = [];
  await installAddons({ name: 'kd-1' }, ['metallb'], { port, runner: dockerHost, preload: async (i) => loaded.push(...i), pollMs: 1 }, (e) => steps.push(e));
  assert.deepEqual(loaded.sort(), ['quay.io/metallb/controller:v0.15.2', 'quay.io/metallb/speaker:v0.15.2']);
  const pool = applied.find((o) => o.kind === 'IPAddressPool');
  assert.deepEqual((pool?.spec as { addresses: string[] }).addresses, ['172.18.128.32-172.18.128.39']);
  assert.ok(applied.some((o) => o.kind === 'L2Advertisement'));
  assert.deepEqual(
    steps.map((s) => `${s.status} ${s.step}`),
    ['running Installing add-on metallb', 'done Installing add-on metallb'],
  );
});

test('metrics-server is installed only once its API is Available and the first node metrics are in', async () => {
  let metrics = 0;
  const { port, applied } = fakePort({
    live: (ref, reads) =>
      ref.kind === 'APIService'
        ? {
            apiVersion: 'apiregistration.k8s.io/v1',
            kind: 'APIService',
            metadata: { name: ref.name },
            status: { conditions: [{ type: 'Available', status: reads > 3 ? 'True' : 'False' }] },
          }
        : undefined,
    nodeMetrics: () => (metrics++ > 2 ? 1 : 0),
  });
  await installAddons({ name: 'kd-1' }, ['metrics-server'], { port, runner: dockerHost, pollMs: 1 }, () => {});
  assert.ok(metrics > 3, 'waited for node metrics');
  // registered only after metrics-server is Ready, so the aggregator never dials a ClusterIP kube-proxy does not serve yet
  assert.equal(applied.at(-1)?.kind, 'APIService');
  assert.ok(applied.findIndex((o) => o.kind === 'Deployment') < applied.findIndex((o) => o.kind === 'APIService'));
});

test('an add-on that never becomes usable fails its step, naming the add-on and what is missing', async () => {
  const { port } = fakePort({ live: () => undefined });
  const steps: StepEvent[] = [];
  const err = await installAddons({ name: 'kd-1' }, ['gateway-api'], { port, runner: dockerHost, pollMs: 5, timeoutMs: 50 }, (e) => steps.push(e)).catch(
    (e: unknown) => e,
  );
  assert.ok(err instanceof ProvisionError);
  assert.equal(err.step, 'Installing add-on gateway-api');
  assert.match(err.message, /add-on gateway-api: not usable after 0 s: GatewayClass traefik is not Accepted/);
  assert.equal(steps.at(-1)?.status, 'failed');
});

test('etcd-client copies etcdctl and etcdutl out of the etcd image on every control-plane node', async () => {
  for (const nodes of [
    ['kd-9-control-plane', 'kd-9-worker'],
    ['kd-9-control-plane', 'kd-9-control-plane2', 'kd-9-control-plane3', 'kd-9-external-load-balancer', 'kd-9-worker'],
  ]) {
    const calls: string[][] = [];
    const runner: CommandRunner = {
      async run({ argv }) {
        calls.push([...argv]);
        const stdout = argv[0] === 'kind' ? `${nodes.join('\n')}\n` : 'etcdctl version: 3.6.6\n';
        return { argv, stdout, stderr: '', exitCode: 0, durationMs: 1 };
      },
    };
    await installAddons({ name: 'kd-9' }, ['etcd-client'], { port: fakePort().port, runner }, () => {});
    const execs = calls.filter((c) => c[0] === 'docker');
    const controlPlanes = nodes.filter((n) => /-control-plane\d*$/.test(n));
    assert.deepEqual(
      execs.map((c) => c.slice(0, 4)),
      controlPlanes.map((n) => ['docker', 'exec', n, 'bash']),
    );
    assert.match(execs[0]!.at(-1)!, /ctr -n k8s\.io images mount "\$image"/);
    assert.match(execs[0]!.at(-1)!, /for b in etcdctl etcdutl/);
  }
});
