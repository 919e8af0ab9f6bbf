import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { AppError } from '../errors.ts';
import { ProvisionError } from '../provisioner/steps.ts';
import { FakeKindHost } from '../provisioner/testing/fake-kind.ts';
import { openMemoryDatabase } from '../storage/db.ts';
import { terminalAttempts } from './adapters.ts';
import { SAFE_ID } from '../terminal/launchers.ts';
import { DEFAULTS, harness } from './test-harness.ts';

test('Start → provisioning → setting-up → ready, with kind stages and setup as timed steps; Finish deletes the cluster once', async () => {
  const { service, host } = harness();
  const ended: string[] = [];
  service.onEnded((id) => ended.push(id));
  const { attempt, created } = service.start('learner-1', 'netpol-lab9server');
  assert.equal(created, true);
  await service.idle();
  const a = service.get(attempt.id)!;
  assert.equal(a.status, 'ready');
  assert.match(a.clusterName ?? '', /^kubedrill-[0-9a-f]{8}$/);
  assert.ok(a.expiresAt && Date.parse(a.expiresAt) - Date.parse(a.readyAt!) === DEFAULTS.attemptMinutes * 60_000);
  const { replay } = service.subscribe(a.id, 0, () => {});
  assert.deepEqual(
    replay.filter((e) => e.type === 'status').map((e) => e.name),
    ['queued', 'provisioning', 'setting-up', 'ready'],
  );
  const done = replay.filter((e) => e.type === 'step' && e.state === 'done').map((e) => e.name);
  assert.ok(done.includes('Creating the node containers') && done.includes('Joining the other nodes') && done.includes('Waiting for every node to be Ready'));
  assert.deepEqual(done.slice(-3), ['Loading lab images', 'Applying setup manifests', 'Waiting for setup to be ready']);
  assert.ok(
    replay.every((e, i) => e.seq === i + 1),
    'event ids are 1, 2, 3, …',
  );
  assert.equal(service.subscribe(a.id, replay.length - 2, () => {}).replay.length, 2, 'resume after an event id');

  assert.equal((await terminalAttempts(service).get(a.id))?.status, 'running');
  service.finish(a.id);
  service.finish(a.id);
  await service.idle();
  assert.equal(service.get(a.id)?.status, 'finished');
  assert.deepEqual(ended, [a.id], 'ended listeners hear it once');
  assert.equal(host.clusters.size, 0);
  assert.equal(host.deletes, 1, 'finishing twice deletes once');
  assert.equal((await terminalAttempts(service).get(a.id))?.status, 'ended');
});

test('starting a lab the learner already runs returns the running attempt; an unknown lab is a 404 naming it', async () => {
  const { service } = harness();
  const first = service.start('l1', 'alpha');
  const again = service.start('l1', 'alpha');
  assert.equal(again.created, false);
  assert.equal(again.attempt.id, first.attempt.id);
  assert.throws(
    () => service.start('l1', 'no-such-lab'),
    (e: unknown) => e instanceof AppError && e.status === 404 && e.code === 'lab_not_found' && /no-such-lab/.test(e.message),
  );
  await service.idle();
});

test('a new cluster gets the lab images while kind is still starting it, one step runs at a time, and later starts get an estimate', async () => {
  const { service, host } = harness({ fake: { stageDelayMs: 5, hostImages: ['docker.io/library/nginx:1.27.4', 'docker.io/library/busybox:1.37.0'] } });
  const { attempt } = service.start('l1', 'netpol-lab9server');
  assert.equal(service.get(attempt.id)!.estimateMs, null, 'no start of this shape finished yet');
  await service.idle();
  assert.equal(service.get(attempt.id)!.status, 'ready');
  const load = host.calls.findIndex((c) => c.slice(0, 3).join(' ') === 'kind load docker-image');
  const nodeWait = host.calls.findIndex((c) => c.includes('wait') && c.includes('--all'));
  assert.ok(load >= 0 && load < nodeWait, 'images are loaded before kind (and our node wait) finished');
  assert.equal(host.calls.filter((c) => c[1] === 'load').length, 1, 'loaded once: the check after the create finds them there');
  // The page shows one running step at a time: each step ends before the next one starts.
  let running: string | undefined;
  for (const e of service.subscribe(attempt.id, 0, () => {}).replay.filter((x) => x.type === 'step')) {
    if (e.state === 'running') {
      assert.equal(running, undefined, `"${e.name}" started while "${running}" was still running`);
      running = e.name;
    } else if (e.name === running) running = undefined;
  }
  service.finish(attempt.id);
  await service.idle();
  const next = service.start('l1', 'netpol-lab9server').attempt;
  const est = service.get(next.id)!.estimateMs;
  const first = service.get(attempt.id)!;
  assert.equal(est, Date.parse(first.readyAt!) - Date.parse(first.createdAt), 'the estimate is the last start of this shape');
  service.finish(next.id);
  await service.idle();
});

test("a create that fails at kind's node-image step fails the attempt with the step and kind's output, leaving no cluster", async () => {
  const { service, host, clustersDir } = harness({ nodeImage: 'kubedrill-missing/node:v0.0.1', fake: { missingImages: ['kubedrill-missing/node:v0.0.1'] } });
  const { attempt } = service.start('l1', 'alpha');
  await service.idle();
  const a = service.get(attempt.id)!;
  assert.equal(a.status, 'failed');
  assert.equal(a.failureStep, 'Checking the node image');
  assert.match(a.failureMessage ?? '', /failed to pull image/);
  assert.match(a.failureOutput ?? '', /Command Output: Error response from daemon/);
  assert.equal(host.clusters.size, 0);
  assert.deepEqual(existsSync(path.join(clustersDir, a.clusterName!)), false);
  assert.equal(service.stats().clusters.deleting + service.stats().clusters.claimed, 0);
});

test('the plan goes out before anything else; a cold start reports exactly the planned steps, in order', async () => {
  const { service } = harness({ clusters: { poolSize: 1, poolShapes: ['w0'] } });
  const { attempt } = service.start('l1', 'beta');
  await service.idle();
  const replay = service.subscribe(attempt.id, 0, () => {}).replay;
  assert.deepEqual(
    replay.slice(0, 2).map((e) => `${e.type} ${e.name}`),
    ['plan plan', 'status queued'],
  );
  const planned = replay[0]!.plan!.map((p) => p.name);
  const done = replay.filter((e) => e.type === 'step' && e.state === 'done').map((e) => e.name);
  assert.deepEqual(done, planned, 'every planned step ran, nothing else');
  service.finish(attempt.id);
  await service.idle();
});

test('a failing NetworkPolicy self-test fails a NetworkPolicy lab with its message', async () => {
  const { service, host } = harness({
    netpol: async () => Promise.reject(new ProvisionError('Checking NetworkPolicy enforcement', 'NetworkPolicy is not enforced on this cluster')),
  });
  const { attempt } = service.start('l1', 'netpol-lab9server');
  const other = service.start('l1', 'alpha');
  await service.idle();
  assert.equal(service.get(attempt.id)?.failureStep, 'Checking NetworkPolicy enforcement');
  const notRun = service
    .subscribe(attempt.id, 0, () => {})
    .replay.filter((e) => e.type === 'step' && e.state === 'not-run')
    .map((e) => e.name);
  assert.deepEqual(notRun, [
    'Installing NetworkPolicy controller (kube-router)',
    'Checking NetworkPolicy enforcement (kube-router)',
    'Applying setup manifests',
    'Waiting for setup to be ready',
  ]);
  assert.equal(service.get(other.attempt.id)?.status, 'ready', 'labs without NetworkPolicy are not self-tested');
  assert.equal(host.clusters.size, 1);
});

test('with a cap of 2, Starts beyond it queue with positions and go on as clusters free up', async () => {
  // Time stands still unless the test moves it: the waits below are exact, not "about now".
  const { service, host, config, clock } = harness({ clusters: { maxConcurrent: 2 }, fake: { stageDelayMs: 1 }, realTime: false });
  const ids = ['a', 'b', 'c', 'd', 'e'].map((l) => service.start(l, 'alpha').attempt.id);
  assert.deepEqual(
    ids.map((id) => service.get(id)!.queuePosition),
    [null, null, 1, 2, 3],
  );
  await service.idle();
  assert.deepEqual(
    ids.map((id) => service.get(id)!.status),
    ['ready', 'ready', 'queued', 'queued', 'queued'],
  );
  // Two running attempts: the first two places learn when a cluster frees up at the latest (time limit
  // or idle timeout, whichever comes first); the third waits on one that is not running yet: unknown.
  // Ten minutes on, with the learner of the second attempt active just now, the first place waits for
  // the first attempt's idle timeout (20 min left) and the second for the second's (30 min again).
  const { attemptMinutes, idleMinutes } = config.clusters;
  const limit = Math.min(attemptMinutes, idleMinutes) * 60_000;
  const waits = () => ids.slice(2).map((id) => service.get(id)!.queueWaitMs);
  assert.deepEqual(waits(), [limit, limit, null], 'both attempts just started');
  clock.now += 10 * 60_000;
  service.touch(ids[1]!);
  assert.deepEqual(waits(), [limit - 10 * 60_000, limit, null]);
  service.finish(ids[0]!);
  await service.idle();
  assert.equal(service.get(ids[2]!)!.status, 'ready');
  assert.deepEqual([service.get(ids[3]!)!.queuePosition, service.get(ids[4]!)!.queuePosition], [1, 2]);
  const { replay } = service.subscribe(ids[4]!, 0, () => {});
  assert.deepEqual(
    replay.filter((e) => e.type === 'queue').map((e) => e.position),
    [3, 2],
    'queue position changes are events',
  );
  assert.ok(host.maxCreating <= 2);
  service.finish(ids[4]!);
  assert.equal(service.get(ids[4]!)!.status, 'finished', 'a queued attempt can be finished');
  await service.idle();
});

test('the per-learner cap queues a second lab until the first ends', async () => {
  const { service } = harness({ clusters: { perLearner: 1 } });
  const one = service.start('l1', 'alpha').attempt.id;
  const two = service.start('l1', 'beta').attempt.id;
  await service.idle();
  assert.equal(service.get(two)!.status, 'queued');
  service.finish(one);
  await service.idle();
  assert.equal(service.get(two)!.status, 'ready');
});

test('a warm cluster is claimed without a create, and the pool is topped up again', async () => {
  const { service, host } = harness({ clusters: { poolSize: 1, poolShapes: ['w0'] } });
  service.start('warm-up', 'beta'); // triggers pool fill after the queue is empty
  await service.idle();
  assert.equal(service.stats().clusters.warm, 1);
  const creates = host.creates;
  const { attempt } = service.start('l1', 'alpha');
  assert.equal(service.get(attempt.id)!.status, 'setting-up', 'claimed synchronously');
  await service.idle();
  assert.equal(service.get(attempt.id)!.status, 'ready');
  const steps = service
    .subscribe(attempt.id, 0, () => {})
    .replay.filter((e) => e.type === 'step')
    .map((e) => e.name);
  assert.ok(steps.includes('Claiming a warm cluster') && !steps.includes('Creating the node containers'));
  assert.equal(host.creates, creates + 1, 'one create: the replacement warm cluster');
  assert.equal(host.calls.filter((c) => c[1] === 'load').length, 0, 'alpha has no images to load');
  assert.equal(service.stats().clusters.warm, 1);
});

test('a warm cluster made with the images of its labs starts them without looking for images again', async () => {
  const { service, host } = harness({
    clusters: { poolSize: 1, poolShapes: ['w1-netpol'] },
    fake: { hostImages: ['docker.io/library/nginx:1.27.4', 'docker.io/library/busybox:1.37.0'] },
  });
  service.start('warm-up', 'alpha');
  await service.idle();
  assert.equal(service.stats().clusters.warm, 1);
  const calls = host.calls.length;
  const { attempt } = service.start('l1', 'netpol-lab9server');
  await service.idle();
  assert.equal(service.get(attempt.id)!.status, 'ready');
  const replay = service.subscribe(attempt.id, 0, () => {}).replay;
  const steps = replay.filter((e) => e.type === 'step' && e.state === 'done').map((e) => e.name);
  assert.deepEqual(steps, ['Claiming a warm cluster', 'Applying setup manifests', 'Waiting for setup to be ready']);
  // The plan, first, shows what the warm cluster did when it was made as skipped, and only what is left as pending.
  assert.equal(replay[0]?.type, 'plan');
  assert.deepEqual(
    replay[0]!.plan!.map((p) => `${p.state} ${p.name}`),
    [
      'pending Claiming a warm cluster',
      'skipped Creating the cluster',
      'skipped Loading lab images',
      'skipped Making NetworkPolicy enforced',
      'pending Applying setup manifests',
      'pending Waiting for setup to be ready',
    ],
  );
  assert.equal(replay.filter((e) => e.type === 'plan').length, 1, 'the plan made at Start held');
  const claimed = service.get(attempt.id)!.clusterName!;
  assert.ok(!host.calls.slice(calls).some((c) => c.includes('ctr') && c.some((a) => a.startsWith(claimed))), 'no image listing on the claimed cluster');
});

test('the reaper expires attempts past their limit and finishes idle ones; terminal input resets the idle timer', async () => {
  const { service, clock } = harness({ clusters: { attemptMinutes: 60, idleMinutes: 10 } });
  const a = service.start('l1', 'alpha').attempt.id;
  const b = service.start('l2', 'alpha').attempt.id;
  await service.idle();
  clock.now += 9 * 60_000;
  service.touch(a);
  clock.now += 2 * 60_000;
  assert.deepEqual(service.reap(), [b]);
  assert.equal(service.get(b)!.status, 'finished');
  assert.match(service.get(b)!.endReason ?? '', /idle for 10 min/);
  for (let i = 0; i < 6; i++) {
    clock.now += 9 * 60_000;
    service.touch(a);
  }
  assert.deepEqual(service.reap(), [a]);
  assert.equal(service.get(a)!.status, 'expired');
  await service.idle();
});

test('grading: ready ⇄ grading, busy and not-ready are 409s, other learners get 404', async () => {
  const { service, clustersDir } = harness({ clusters: { maxConcurrent: 1 } });
  const a = service.start('l1', 'alpha').attempt.id;
  const queued = service.start('l2', 'alpha').attempt.id;
  await assert.rejects(service.beginGrading(queued, 'l2'), (e: unknown) => e instanceof AppError && e.status === 409 && e.code === 'attempt_not_ready');
  await service.idle();
  await assert.rejects(service.beginGrading(a, 'l2'), (e: unknown) => e instanceof AppError && e.status === 404 && e.code === 'attempt_not_found');
  const g = await service.beginGrading(a, 'l1');
  assert.deepEqual(g, { id: a, labId: 'alpha', kubeconfigPath: path.join(clustersDir, service.get(a)!.clusterName!, 'kubeconfig'), params: null });
  assert.equal(service.get(a)!.status, 'grading');
  await assert.rejects(service.beginGrading(a, 'l1'), (e: unknown) => e instanceof AppError && e.code === 'attempt_busy');
  service.endGrading(a);
  assert.equal(service.get(a)!.status, 'ready');
  service.finish(a);
  await service.idle();
});

test('reconcile adopts known clusters (attempts and warm pool), deletes unknown ones of ours, fails attempts whose cluster vanished', async () => {
  const db = openMemoryDatabase();
  const host = new FakeKindHost();
  const clustersDir = mkdtempSync(path.join(tmpdir(), 'kd-attempts-'));
  const first = harness({ db, host, clustersDir, clusters: { poolSize: 1, poolShapes: ['w0'] } });
  const kept = first.service.start('l1', 'alpha').attempt.id;
  const vanished = first.service.start('l2', 'alpha').attempt.id;
  await first.service.idle();
  await first.service.close();
  const warm = first.repo.clusters().find((c) => c.state === 'warm')!.name;
  host.clusters.delete(first.service.get(vanished)!.clusterName!);
  host.clusters.set('kubedrill-0dd0dd00', { name: 'kubedrill-0dd0dd00', nodes: ['kubedrill-0dd0dd00-control-plane'], images: new Set() });
  host.clusters.set('other-team', { name: 'other-team', nodes: ['other-team-control-plane'], images: new Set() });

  const second = harness({ db, host, clustersDir, clusters: { poolSize: 1, poolShapes: ['w0'] } });
  const result = await second.service.reconcile();
  assert.deepEqual(result.adopted.sort(), [second.service.get(kept)!.clusterName!, warm].sort());
  assert.deepEqual(result.deleted, ['kubedrill-0dd0dd00']);
  assert.deepEqual(result.failed, [vanished]);
  assert.match(second.service.get(vanished)!.failureMessage ?? '', /no longer exists/);
  assert.ok(host.clusters.has('other-team'), 'clusters without our prefix are left alone');
  assert.equal(second.service.get(kept)!.status, 'ready');
  await second.service.idle();
});

test('an attempt interrupted mid-create by a restart is failed and its cluster deleted at the next start-up', async () => {
  const db = openMemoryDatabase();
  // The first server stops for good once kind has made the node containers: as if it were killed there.
  const host = new FakeKindHost({ holdCreates: true });
  const first = harness({ db, host });
  const held = host.heldCreate();
  const id = first.service.start('l1', 'alpha').attempt.id;
  const name = await held;
  assert.equal(first.service.get(id)!.status, 'provisioning');
  assert.equal(first.service.get(id)!.clusterName, name);
  assert.ok(host.clusters.has(name), 'the killed server left its node containers');
  const second = harness({ db, host });
  const result = await second.service.reconcile();
  assert.deepEqual(result.failed, [id]);
  assert.ok(result.deleted.includes(name));
  assert.match(second.service.get(id)!.failureMessage ?? '', /server stopped while this attempt was being prepared/);
  await first.service.close();
  await second.service.idle();
});

test('pool sizes per shape (w0:2) are kept, and a learner waiting only on their own other attempt does not hold the pool back', async () => {
  const { service } = harness({ clusters: { poolSize: 0, poolShapes: ['w0:2', 'w1-netpol:1'], perLearner: 1 } });
  const first = service.start('l1', 'netpol-lab9server').attempt.id;
  const second = service.start('l1', 'alpha').attempt.id;
  await service.idle();
  assert.equal(service.get(first)!.status, 'ready');
  assert.equal(service.get(second)!.status, 'queued');
  assert.equal(service.stats().clusters.warm, 3);
  service.finish(first);
  await service.idle();
  assert.equal(service.get(second)!.status, 'ready');
  const steps = service.subscribe(second, 0, () => {}).replay.map((e) => e.name);
  assert.ok(steps.includes('Claiming a warm cluster'));
});

test("warm clusters already hold the images of their shape's labs, so a claim loads nothing", async () => {
  const images = ['docker.io/library/nginx:1.27.4', 'docker.io/library/busybox:1.37.0'];
  const { service, host } = harness({ clusters: { poolShapes: ['w1-netpol:1'] }, fake: { hostImages: images } });
  const warmUp = service.start('l0', 'alpha').attempt.id;
  await service.idle();
  service.finish(warmUp);
  await service.idle();
  assert.equal(service.stats().clusters.warm, 1);
  const warm = [...host.clusters.keys()][0]!;
  assert.ok(
    host.calls.some((c) => c[1] === 'load' && c.includes(warm) && c.includes(images[0]!)),
    'the warm cluster got the lab images',
  );
  const before = host.calls.length;
  const { attempt } = service.start('l1', 'netpol-lab9server');
  await service.idle();
  assert.equal(service.get(attempt.id)!.clusterName, warm);
  assert.equal(service.get(attempt.id)!.status, 'ready');
  const claimLoads = host.calls.slice(before).filter((c) => c[1] === 'load' && c.includes(warm));
  assert.deepEqual(claimLoads, [], 'nothing left to load at claim time');
});

test('attempt ids are safe in container names and paths, so every attempt can open a terminal', async () => {
  const { service } = harness();
  // One learner per start, so no start returns an earlier attempt; 200 ids would include ~6 bad
  // base64url ones (a leading "_" or "-") with the old generator.
  const ids = Array.from({ length: 200 }, (_, i) => service.start(`learner-${i}`, 'netpol-lab9server').attempt.id);
  for (const id of ids) assert.match(id, SAFE_ID);
  for (const id of ids) service.finish(id);
  await service.idle();
});
