import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../../../graders/src/cluster/port.ts';
import type { CommandResult, CommandRunner, CommandSpec } from '../exec/command-runner.ts';
import { rulesMention, rulesOpenPort } from '../../../graders/src/engine/kube-proxy.ts';
import { unprogrammedServices } from './service-rules.ts';
import { applyLabSetup } from './lab-setup.ts';
import type { StepEvent } from './steps.ts';
import { FakeClusterPort } from './testing/fake-kind.ts';
import { lab9server } from './testing/lab-fixtures.ts';

const IPTABLES_WITH = (ip: string) =>
  `*nat\n-A KUBE-SERVICES -d ${ip}/32 -p tcp -m comment --comment "restricted/lab9server cluster IP" -m tcp --dport 80 -j KUBE-SVC-ABC\nCOMMIT\n`;

/** A docker host whose nodes report kube-proxy rules; each node learns the ClusterIP after `afterDumps` dumps of its own. */
function rulesHost(afterDumps: Record<string, number>, ip: string) {
  const dumps = new Map<string, number>();
  const runner: CommandRunner = {
    async run(spec: CommandSpec): Promise<CommandResult> {
      const [docker, exec, node] = spec.argv;
      assert.equal(`${docker} ${exec}`, 'docker exec', `only docker exec is expected, got ${spec.argv.join(' ')}`);
      const n = (dumps.get(node!) ?? 0) + 1;
      dumps.set(node!, n);
      const programmed = n > (afterDumps[node!] ?? 0);
      return { argv: spec.argv, exitCode: 0, stdout: programmed ? IPTABLES_WITH(ip) : IPTABLES_WITH('10.96.0.1'), stderr: '', durationMs: 0 };
    },
  };
  return { runner, dumps };
}

test('a ClusterIP counts as programmed only when a rule names that exact address', () => {
  assert.ok(rulesMention(IPTABLES_WITH('10.96.0.10'), '10.96.0.10'));
  assert.ok(!rulesMention(IPTABLES_WITH('10.96.0.10'), '10.96.0.1'), '10.96.0.1 is not 10.96.0.10');
  assert.ok(!rulesMention(IPTABLES_WITH('110.96.0.1'), '10.96.0.1'));
  assert.ok(rulesMention('\t\tmeta l4proto tcp ip daddr 10.96.7.7 tcp dport 80 jump service-X\n', '10.96.7.7'), 'nftables mode');
  assert.ok(rulesMention('ip daddr . meta l4proto . th dport vmap { 10.96.7.7 . tcp . 80 : goto service-X }', '10.96.7.7'), 'nftables verdict map');
});

test('a node port counts as opened only when a rule names that exact port (iptables and nftables)', () => {
  const iptables = '-A KUBE-NODEPORTS -p tcp -m comment --comment "web/admin" -m tcp --dport 31080 -j KUBE-EXT-XYZ\n';
  assert.ok(rulesOpenPort(iptables, 31080));
  assert.ok(!rulesOpenPort(iptables, 3108), '3108 is not 31080');
  assert.ok(!rulesOpenPort(iptables, 30080));
  assert.ok(rulesOpenPort('map service-nodeports { elements = { tcp . 30080 : goto external-ABC } }', 30080), 'nftables node-port map');
});

test('a Service that became a NodePort is programmed only once the node port is open, though its ClusterIP rule is old', async () => {
  const runner: CommandRunner = {
    async run(spec: CommandSpec): Promise<CommandResult> {
      return { argv: spec.argv, exitCode: 0, stdout: IPTABLES_WITH('10.96.44.1'), stderr: '', durationMs: 0 };
    },
  };
  const problems = await unprogrammedServices(runner, ['c-worker'], [{ id: 'service web/admin', clusterIPs: ['10.96.44.1'], nodePorts: [31080] }], {
    timeoutMs: 1000,
  });
  assert.deepEqual(problems, ['service web/admin (10.96.44.1, node port 31080) is not programmed by kube-proxy yet on c-worker']);
});

test('unprogrammedServices names each Service and the nodes that lack its rule', async () => {
  const { runner } = rulesHost({ 'c-control-plane': 0, 'c-worker': 5 }, '10.96.44.1');
  const problems = await unprogrammedServices(
    runner,
    ['c-control-plane', 'c-worker'],
    [{ id: 'service restricted/lab9server', clusterIPs: ['10.96.44.1'], nodePorts: [] }],
    { timeoutMs: 1000 },
  );
  assert.deepEqual(problems, ['service restricted/lab9server (10.96.44.1) is not programmed by kube-proxy yet on c-worker']);
});

test("setup is ready only once kube-proxy on every node has the setup's Services", async () => {
  // The API gives every Service a ClusterIP; the fake port stores what setup applies as is.
  const port = new FakeClusterPort();
  const apply = port.apply.bind(port);
  port.apply = (objects: readonly KubeObject[]) =>
    apply(objects.map((o) => (o.kind === 'Service' ? { ...o, spec: { ...(o.spec as object), clusterIP: '10.96.44.1' } } : o)));
  const { runner, dumps } = rulesHost({ 'c-control-plane': 1, 'c-worker': 3 }, '10.96.44.1');
  const lab = lab9server();
  const steps: StepEvent[] = [];
  await applyLabSetup(
    { dir: lab.dir, setupManifests: lab.files.setupManifests, setupScript: undefined },
    { kubeconfigPath: '/x', nodes: ['c-control-plane', 'c-worker'] },
    { port, runner },
    (e) => steps.push(e),
    { timeoutMs: 10_000, pollMs: 1 },
  );
  assert.equal(dumps.get('c-worker'), 4, 'polled the worker until its fourth dump had the rule');
  assert.equal(steps.at(-1)?.status, 'done');
});

test('setup whose Service is never programmed fails the readiness step and says which node', async () => {
  const port = new FakeClusterPort();
  const apply = port.apply.bind(port);
  port.apply = (objects: readonly KubeObject[]) =>
    apply(objects.map((o) => (o.kind === 'Service' ? { ...o, spec: { ...(o.spec as object), clusterIP: '10.96.44.1' } } : o)));
  const { runner } = rulesHost({ 'c-control-plane': 0, 'c-worker': 1e9 }, '10.96.44.1');
  const lab = lab9server();
  const err = await applyLabSetup(
    { dir: lab.dir, setupManifests: lab.files.setupManifests, setupScript: undefined },
    { kubeconfigPath: '/x', nodes: ['c-control-plane', 'c-worker'] },
    { port, runner },
    () => {},
    { timeoutMs: 200, pollMs: 5 },
  ).catch((e: unknown) => e);
  assert.match(String((err as Error).message), /service restricted\/lab9server \(10\.96\.44\.1\) is not programmed by kube-proxy yet on c-worker/);
});
