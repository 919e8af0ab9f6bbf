import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../config/config.ts';
import type { CommandRunner } from '../exec/command-runner.ts';
import { CommandError } from '../exec/command-runner.ts';
import { ClusterError } from '../../../graders/src/cluster/port.ts';
import { execOnKindNode, workstationImage } from './launchers.ts';
import { examNodeName, examNodeNames, resolveNode } from './node-names.ts';
import { createLauncher } from './create-terminal-service.ts';
import { prepareWorkstations } from './terminal-service.ts';
import type { ShellLauncher } from './launchers.ts';
import type { TerminalAttempt, TerminalAttempts } from './attempts.ts';
import { RateLimiter, TicketStore } from './tickets.ts';

const boot = (argv: string[]) => loadConfig({ argv, env: {}, cwd: '/tmp' });

test('host mode is refused at start-up when more than one user can log in', () => {
  assert.throws(
    () => boot(['--auth.mode', 'multi', '--auth.registration', 'open', '--host', '0.0.0.0', '--terminal.mode', 'host']),
    (e: Error) => e instanceof ConfigError && /terminal\.mode = "host" with auth\.mode = "multi"/.test(e.message),
  );
  assert.equal(boot(['--terminal.mode', 'host']).config.terminal.mode, 'host');
});

test('auto mode uses containers when Docker answers and never falls back to host shells', async () => {
  const noDocker: CommandRunner = { run: async (spec) => Promise.reject(new CommandError('not-found', spec.argv, null, '', '')) };
  const withDocker: CommandRunner = { run: async (spec) => ({ argv: spec.argv, exitCode: 0, stdout: '28.0\n', stderr: '', durationMs: 1 }) };
  const none = await createLauncher(boot([]), noDocker);
  assert.equal(none.launcher, undefined);
  assert.match(none.reason!, /Docker is not available/);
  assert.equal((await createLauncher(boot([]), withDocker)).launcher?.mode, 'container');
});

test('workstation image follows the cluster minor version; node names resolve like ssh node01', () => {
  assert.equal(workstationImage('kubedrill/workstation:{minor}', 'v1.35.4'), 'kubedrill/workstation:1.35');
  assert.equal(workstationImage('kubedrill/workstation:{minor}', undefined), 'kubedrill/workstation:1.35');
  const nodes = ['lab-control-plane', 'lab-worker', 'lab-worker2'];
  assert.equal(resolveNode(nodes, 'lab', 'worker2'), 'lab-worker2');
  assert.equal(resolveNode(nodes, 'lab', 'lab-control-plane'), 'lab-control-plane');
  assert.equal(resolveNode(nodes, 'lab', 'other-worker'), undefined);
});

test('exam-style node names: controlplane, node01, node02 — for any cluster name, and back', () => {
  const cluster = 'kdlabui-58ca7893';
  const containers = [`${cluster}-worker2`, `${cluster}-control-plane`, `${cluster}-worker`];
  assert.deepEqual(examNodeNames(cluster, containers), [
    { name: 'controlplane', container: `${cluster}-control-plane` },
    { name: 'node01', container: `${cluster}-worker` },
    { name: 'node02', container: `${cluster}-worker2` },
  ]);
  assert.equal(resolveNode(containers, cluster, 'node02'), `${cluster}-worker2`);
  assert.equal(resolveNode(containers, cluster, 'controlplane'), `${cluster}-control-plane`);
  assert.equal(resolveNode(containers, cluster, 'node03'), undefined);
  // The real names keep working; a container kind did not name keeps its own name.
  assert.equal(resolveNode(containers, cluster, `${cluster}-worker`), `${cluster}-worker`);
  assert.equal(examNodeName(cluster, 'other-worker'), undefined);
  assert.equal(examNodeName('a', 'a-worker10'), 'node10');
  assert.equal(examNodeName('a', 'a-control-plane2'), 'controlplane2');
  // An exam names the clusters of its contexts apart by prefixing the same names.
  assert.equal(`ctx1-${examNodeName('ctx1cluster', 'ctx1cluster-worker')}`, 'ctx1-node01');
});

test('tickets are single-use, expire, and are bound to learner, attempt and terminal', () => {
  let now = 1000;
  const store = new TicketStore(30_000, () => now);
  const grant = { learnerId: 'l', attemptId: 'a', terminalId: 't' };
  const { ticket } = store.issue(grant);
  assert.deepEqual(store.consume(ticket, { ...grant, terminalId: 'u' }), { ok: false, why: 'mismatch' });
  assert.deepEqual(store.consume(ticket, grant), { ok: false, why: 'unknown' }); // used up by the mismatch
  const t2 = store.issue(grant).ticket;
  assert.deepEqual(store.consume(t2, grant), { ok: true });
  const t3 = store.issue(grant).ticket;
  const t4 = store.issue(grant).ticket;
  now += 29_999;
  assert.deepEqual(store.consume(t3, grant), { ok: true }, 'good to the last millisecond');
  now += 1;
  assert.deepEqual(store.consume(t4, grant), { ok: false, why: 'expired' });
  const rl = new RateLimiter(2, () => now);
  assert.deepEqual([rl.take('k'), rl.take('k'), rl.take('k'), rl.take('other')], [true, true, false, true]);
  now += 30_000;
  assert.equal(rl.take('k'), true);
});

test('workstations are made while the lab is set up, only for attempts that still go on', async () => {
  const listeners: ((id: string) => void)[] = [];
  const known: Record<string, TerminalAttempt> = {
    a1: { id: 'a1', learnerId: 'l', clusterName: 'kd-1', status: 'starting' },
    gone: { id: 'gone', learnerId: 'l', clusterName: 'kd-2', status: 'ended' },
  };
  const attempts: TerminalAttempts = {
    get: (id) => known[id],
    onEnded: () => () => {},
    onClusterCreated: (cb) => (listeners.push(cb), () => listeners.splice(listeners.indexOf(cb), 1)),
  };
  const prepared: string[] = [];
  const launcher = { prepare: async (a: TerminalAttempt) => prepared.push(a.id) } as unknown as ShellLauncher;
  const stop = prepareWorkstations(attempts, launcher, { warn() {} });
  for (const l of [...listeners]) ['a1', 'gone', 'unknown'].forEach((id) => l(id));
  // Each listener's work is a chain of promises with nothing to wait for outside: it is done once the
  // microtask queue has drained, which setImmediate's callback runs after.
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(prepared, ['a1']);
  stop();
  assert.equal(listeners.length, 0);
});

test('graders reach nodes through the ssh path: only nodes labelled with the cluster, as root, any exit code a result', async () => {
  const calls: string[][] = [];
  const runner = {
    async run(spec: { argv: readonly string[]; okCodes?: readonly number[] }) {
      const argv = [...spec.argv];
      calls.push(argv);
      const res = (stdout: string, exitCode = 0, stderr = '') => ({ argv, exitCode, stdout, stderr, durationMs: 0 });
      if (argv[1] === 'ps') return res(argv.includes('label=io.x-k8s.kind.cluster=lab') ? 'lab-control-plane\nlab-worker\n' : '');
      if (argv.includes('lab-worker')) return res('inactive\n', 3);
      return res('', 125, 'Error response from daemon: container is not running');
    },
  } as unknown as CommandRunner;
  const r = await execOnKindNode(runner, 'lab', 'lab-worker', ['bash', '-c', 'systemctl is-active kubelet']);
  assert.deepEqual(r, { stdout: 'inactive\n', stderr: '', exitCode: 3 });
  assert.deepEqual(calls[1], ['docker', 'exec', '-u', '0', '-e', 'LANG=C.UTF-8', 'lab-worker', 'bash', '-c', 'systemctl is-active kubelet']);
  await assert.rejects(
    execOnKindNode(runner, 'lab', 'other-worker', ['true']),
    (e: unknown) => e instanceof ClusterError && /no node "other-worker" in cluster lab/.test(e.message),
  );
  await assert.rejects(
    execOnKindNode(runner, 'lab', 'lab-control-plane', ['true']),
    (e: unknown) => e instanceof ClusterError && /is not running/.test(e.message),
  );
});

test("the grader's node and workstation access go through the terminal launcher, for the attempt's own cluster", async () => {
  const { StaticAttempts } = await import('./attempts.ts');
  const { TerminalService } = await import('./terminal-service.ts');
  const attempts = new StaticAttempts();
  attempts.add({ id: 'a1', learnerId: 'l1', clusterName: 'kd-a1', status: 'running', kubernetesVersion: '1.35' });
  const seen: string[] = [];
  const launcher = {
    mode: 'container' as const,
    spawnShell: async () => assert.fail('no shell is spawned'),
    spawnNodeShell: async () => assert.fail('no shell is spawned'),
    listNodes: async () => [],
    release: async () => {},
    execOnNode: async (a: { clusterName: string }, node: string, argv: readonly string[]) => {
      seen.push(`node ${a.clusterName} ${node} ${argv.join(' ')}`);
      return { stdout: 'active\n', stderr: '', exitCode: 0 };
    },
    execInWorkstation: async (a: { id: string }, argv: readonly string[]) => {
      seen.push(`workstation ${a.id} ${argv.join(' ')}`);
      return { stdout: '', stderr: '', exitCode: 3 };
    },
  };
  const log = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} } as never;
  const service = new TerminalService({ attempts, launcher, log, idleMs: 600_000, maxPerAttempt: 6, ticketMs: 30_000, upgradesPerMinute: 60 });
  try {
    const access = service.hostAccess('a1');
    assert.equal((await access.nodes?.exec('kd-a1-worker', ['systemctl', 'is-active', 'kubelet']))?.stdout, 'active\n');
    assert.equal((await access.workstation?.exec(['cat', '/opt/course/1/x']))?.exitCode, 3);
    assert.deepEqual(seen, ['node kd-a1 kd-a1-worker systemctl is-active kubelet', 'workstation a1 cat /opt/course/1/x']);
    await assert.rejects(
      service.hostAccess('unknown').nodes!.exec('x', ['true']),
      (e: unknown) => e instanceof ClusterError && /has no cluster/.test(e.message),
    );
  } finally {
    await service.close();
  }
});
