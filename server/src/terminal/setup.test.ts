import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../config/config.ts';
import type { CommandRunner } from '../exec/command-runner.ts';
import { CommandError } from '../exec/command-runner.ts';
import { workstationImage } from './launchers.ts';
import { examNodeName, examNodeNames, resolveNode } from './node-names.ts';
import { createLauncher } from './setup.ts';
import { prepareWorkstations } from './terminal-service.ts';
import type { ShellLauncher } from './launchers.ts';
import type { TerminalAttempt, TerminalAttempts } from './attempts.ts';
import { RateLimiter, TicketStore } from './tickets.ts';

const boot = (argv: string[]) => loadConfig({ argv, env: {}, cwd: '/tmp' });

test('host mode is refused at start-up when more than one user can log in', () => {
  assert.throws(() => boot(['--auth.mode', 'multi', '--auth.registration', 'open', '--host', '0.0.0.0', '--terminal.mode', 'host']), (e: Error) => e instanceof ConfigError && /terminal\.mode = "host" with auth\.mode = "multi"/.test(e.message));
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
  now += 30_001;
  assert.deepEqual(store.consume(t3, grant), { ok: false, why: 'expired' });
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
  const attempts: TerminalAttempts = { get: (id) => known[id], onEnded: () => () => {}, onClusterCreated: (cb) => (listeners.push(cb), () => listeners.splice(listeners.indexOf(cb), 1)) };
  const prepared: string[] = [];
  const launcher = { prepare: async (a: TerminalAttempt) => prepared.push(a.id) } as unknown as ShellLauncher;
  const stop = prepareWorkstations(attempts, launcher, () => {});
  for (const l of [...listeners]) ['a1', 'gone', 'unknown'].forEach((id) => l(id));
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(prepared, ['a1']);
  stop();
  assert.equal(listeners.length, 0);
});
