import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CommandRunner, CommandSpec } from '../exec/command-runner.ts';
import { ContainerLauncher } from './launchers.ts';
import { spareWorkstations } from './spare-workstations.ts';

/** A docker host that keeps container names, answers everything else with success, records each call, and tells when a container is removed. */
function dockerHost(existing: string[] = []) {
  const calls: string[][] = [];
  const containers = new Set(existing);
  const removals: { name: string; done: () => void }[] = [];
  const runner: CommandRunner = {
    async run(spec: CommandSpec) {
      calls.push([...spec.argv]);
      const [, verb, ...rest] = spec.argv;
      let stdout = '';
      if (verb === 'run') containers.add(rest[rest.indexOf('--name') + 1]!);
      if (verb === 'rename') {
        containers.delete(rest[0]!);
        containers.add(rest[1]!);
      }
      if (verb === 'rm')
        for (const n of rest) {
          // Only the removal of a container that exists counts: making one starts with an rm -f of any stale one.
          if (containers.delete(n)) for (const r of removals.filter((r) => r.name === n)) r.done();
        }
      if (verb === 'ps') stdout = [...containers].join('\n');
      return { argv: spec.argv, exitCode: 0, stdout, stderr: '', durationMs: 0 };
    },
  };
  /** Resolves once `docker rm` has removed the existing container `name`. */
  const removal = (name: string) => new Promise<void>((done) => removals.push({ name, done }));
  return { runner, calls, containers, removal };
}

const launcherOn = (runner: CommandRunner) =>
  new ContainerLauncher({ runner, hostEnv: {}, image: 'kubedrill/workstation:{minor}', network: 'kind', namePrefix: 'kdt' });

test("a spare workstation made for a cluster becomes the claiming attempt's: renamed, not made again, its first login shell already run", async () => {
  const host = dockerHost();
  const launcher = launcherOn(host.runner);
  const spares = spareWorkstations(launcher, { warn() {} })!;
  spares.prepare('kdt-1234abcd', '1.35');
  assert.equal(await spares.claim('kdt-1234abcd', 'a1'), true);
  assert.ok(host.calls.some((c) => c.join(' ') === 'docker rename kdt-ws-spare-kdt-1234abcd kdt-ws-a1'));
  assert.ok(
    host.calls.some((c) => c.includes('bash') && c.includes('-lc')),
    'a login shell ran in the spare before the learner',
  );
  const runs = host.calls.filter((c) => c[1] === 'run').length;
  const name = await launcher.ensureWorkstation({ id: 'a1', learnerId: 'l1', clusterName: 'kdt-1234abcd', status: 'running', kubernetesVersion: '1.35' });
  assert.equal(name, 'kdt-ws-a1');
  assert.equal(host.calls.filter((c) => c[1] === 'run').length, runs, 'no second workstation is made for the attempt');
  assert.equal(await spares.claim('kdt-1234abcd', 'a2'), false, 'a spare is handed out once');
  assert.equal(await spares.claim('kdt-other', 'a3'), false, 'no spare for a cluster that has none');
});

test(
  'a discarded spare is removed; a restart reaps leftovers by container name, keeping a handed-over workstation whose label is the spare id',
  { timeout: 10_000 },
  async () => {
    const host = dockerHost();
    const launcher = launcherOn(host.runner);
    const spares = spareWorkstations(launcher, { warn() {} })!;
    spares.prepare('kdt-aaaa0000', '1.35');
    const spareRemoved = host.removal('kdt-ws-spare-kdt-aaaa0000');
    spares.discard('kdt-aaaa0000');
    // Discarding is fire-and-forget (the pool deleting a cluster does not wait for docker): wait for the rm itself.
    await spareRemoved;
    assert.equal(host.containers.size, 0, 'the spare of a deleted cluster is gone');

    // After a restart (a new launcher): attempt a1 owns a workstation that was a spare; spare-… ones belong to nobody.
    const after = dockerHost(['kdt-ws-a1', 'kdt-ws-spare-kdt-bbbb1111', 'kdt-ws-gone']);
    const removed = await launcherOn(after.runner).reap(async (id) => id === 'a1');
    assert.deepEqual(removed.sort(), ['gone', 'spare-kdt-bbbb1111']);
    assert.deepEqual([...after.containers], ['kdt-ws-a1']);
  },
);

test('launchers that cannot hand a workstation over have no spares', () => {
  assert.equal(spareWorkstations(undefined, { warn() {} }), undefined);
});
