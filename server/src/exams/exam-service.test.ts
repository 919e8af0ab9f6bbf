import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ClusterError, type ClusterPort } from '../../../graders/src/cluster/port.ts';
import { AppError } from '../errors.ts';
import type { LabCatalog } from '../labs/catalog-service.ts';
import { openMemoryDatabase } from '../storage/db.ts';
import { PRESET_STEP } from '../attempts/attempt-service.ts';
import { examHarness, shippedLabs } from './test-harness.ts';

let labs: LabCatalog;
before(async () => {
  labs = await shippedLabs();
});
after(() => labs.compiler.close());

const MIN = 60_000;

test('starting an exam provisions its clusters at once, applies each lab setup to its cluster, and starts the countdown when all are ready', async () => {
  // The fake host holds each create until both have begun: only creates that really run at once meet.
  const h = examHarness({ labs, fake: { createBarrier: 2 } });
  const { attempt, created } = h.exams.start('ann', 'networking-mock');
  assert.equal(created, true);
  assert.equal(attempt.status, 'starting');
  assert.equal(h.exams.start('ann', 'networking-mock').created, false, 'starting again returns the running attempt');
  assert.equal(await h.started(attempt.id), 'running');
  assert.equal(h.host.maxCreating, 2, 'both clusters were created at the same time');
  const v = h.exams.view(h.exams.owned(attempt.id, 'ann'));
  assert.equal(v.remainingMs !== null && v.remainingMs > 44 * MIN && v.remainingMs <= 45 * MIN, true, `remaining ${v.remainingMs}`);
  assert.deepEqual(
    v.clusters.map((c) => [c.context, c.status, c.nodes.map((n) => n.name)]),
    [
      ['k8s-netpol', 'ready', ['k8s-netpol-controlplane', 'k8s-netpol-node01']],
      ['k8s-svc', 'ready', ['k8s-svc-controlplane', 'k8s-svc-node01', 'k8s-svc-node02']],
    ],
  );
  const svcCluster = h.attempts.get(v.clusters[1]!.attemptId)!.clusterName!;
  assert.deepEqual(
    v.clusters[1]!.nodes.map((n) => n.container),
    [`${svcCluster}-control-plane`, `${svcCluster}-worker`, `${svcCluster}-worker2`],
  );
  assert.deepEqual([...h.host.clusters.get(svcCluster)!.nodes].sort(), v.clusters[1]!.nodes.map((n) => n.container).sort(), 'the containers are the real ones');
  // Each cluster got the setups of its own labs only.
  const svc = h.attempts.get(v.clusters[1]!.attemptId)!;
  const model = h.models.get(svc.clusterName!)!;
  // clusterip-endpoints has params: the exam drew its namespace once, for every cluster and for grading.
  const ns = svc.params?.['clusterip-endpoints']?.ns;
  assert.ok(ns, 'the exam drew values for clusterip-endpoints');
  assert.deepEqual(h.exams.paramsOf(attempt.id), svc.params);
  assert.ok(await model.get({ apiVersion: 'v1', kind: 'Namespace', name: ns }), `clusterip-endpoints setup (namespace ${ns}) is on k8s-svc`);
  assert.equal(await model.get({ apiVersion: 'v1', kind: 'Namespace', name: 'restricted' }), undefined, 'netpol-lab9server setup is not on k8s-svc');
  // The terminal sees one attempt with a context per cluster.
  const t = h.exams.terminalView(attempt.id)!;
  assert.equal(t.status, 'running');
  assert.deepEqual(
    t.clusters?.map((c) => c.context),
    ['k8s-netpol', 'k8s-svc'],
  );
  assert.equal(t.inputLocked, undefined);
  // A lab attempt of the same learner does not count the exam's two clusters twice.
  assert.equal(h.attempts.listForLearner('ann').filter((a) => a.examAttemptId === attempt.id).length, 2);
});

test('flags, notes and time per task are kept on the server; submitting early grades every task and opens the review', async () => {
  const h = examHarness({ labs });
  const { attempt } = h.exams.start('bo', 'networking-mock');
  await h.started(attempt.id);
  h.exams.focus(attempt.id, 'bo', 1);
  h.clock.now += 3 * MIN;
  h.exams.focus(attempt.id, 'bo', 4);
  h.clock.now += 2 * MIN;
  h.exams.mark(attempt.id, 'bo', 4, { flagged: true, notes: 'check the search list' });
  assert.throws(
    () => h.exams.mark(attempt.id, 'bo', 99, { flagged: true }),
    (e: unknown) => e instanceof AppError && e.status === 404,
  );
  assert.throws(
    () => h.exams.owned(attempt.id, 'someone-else'),
    (e: unknown) => e instanceof AppError && e.status === 404,
  );
  let v = h.exams.view(h.exams.owned(attempt.id, 'bo'));
  const t1 = v.tasks[0]!;
  const t4 = v.tasks[3]!;
  assert.ok(t1.opened && !t1.flagged && t1.timeMs >= 3 * MIN && t1.timeMs < 3 * MIN + 5000, `task 1 ${t1.timeMs}`);
  assert.ok(t4.opened && t4.flagged && t4.notes === 'check the search list' && t4.timeMs >= 2 * MIN, `task 4 ${t4.timeMs}`);
  assert.equal(v.tasks[1]!.opened, false);

  const locks: [string, string | null][] = [];
  h.exams.onInputLock((id, reason) => locks.push([id, reason]));
  const submitted = await h.exams.submit(attempt.id, 'bo');
  assert.equal(submitted.status, 'review');
  assert.equal(submitted.submitReason, 'learner');
  assert.equal(locks.length, 1);
  assert.match(locks[0]![1]!, /read-only/);
  assert.match(h.exams.terminalView(attempt.id)!.inputLocked!, /read-only/);
  const r = submitted.result!;
  assert.equal(r.score, 0, 'nothing done earns nothing');
  assert.equal(r.maxScore, 100);
  assert.equal(r.passed, false);
  assert.equal(r.tasks.length, 8);
  assert.ok(
    r.tasks.every((t) => !t.error && t.reports.length > 0 && t.reports.every((rep) => rep.checks.every((c) => c.status !== 'error'))),
    JSON.stringify(r.tasks.filter((t) => t.error)),
  );
  // Task 4 grades one task of its lab only.
  assert.deepEqual(
    r.tasks[3]!.reports.map((x) => x.id),
    ['cross-namespace-url'],
  );
  // Time stops at submit.
  v = h.exams.view(h.exams.owned(attempt.id, 'bo'));
  h.clock.now += 5 * MIN;
  assert.equal(h.exams.view(h.exams.owned(attempt.id, 'bo')).tasks[3]!.timeMs, v.tasks[3]!.timeMs);

  // Review: the reference solutions, then Re-grade gives 100 %; the exam's score stays.
  await h.solve(attempt.id, 'bo');
  const regraded = await h.exams.regrade(attempt.id, 'bo');
  assert.equal(regraded.regrade!.percent, 100, JSON.stringify(regraded.regrade!.tasks.filter((t) => t.score < t.weight).map((t) => t.reports)));
  assert.equal(regraded.result!.percent, 0);
  assert.equal(h.exams.unlock(attempt.id, 'bo').inputUnlocked, true);
  assert.deepEqual(locks.at(-1), [attempt.id, null]);
  assert.equal(h.exams.terminalView(attempt.id)!.inputLocked, undefined);

  // The review ends by itself: clusters are deleted.
  const ended: string[] = [];
  h.exams.onEnded((id) => ended.push(id));
  h.clock.now += 31 * MIN;
  h.exams.sweep();
  await h.attempts.idle();
  assert.equal(h.exams.owned(attempt.id, 'bo').status, 'finished');
  assert.deepEqual(ended, [attempt.id]);
  assert.equal(h.host.clusters.size, 0, 'no cluster left behind');
  assert.equal(h.exams.terminalView(attempt.id)!.status, 'ended');
});

test('at time-up the exam is submitted at its deadline and graded', async () => {
  const h = examHarness({ labs, reviewMinutes: 0 });
  const { attempt } = h.exams.start('cy', 'networking-mock');
  await h.started(attempt.id);
  const deadline = h.exams.owned(attempt.id, 'cy').deadlineAt!;
  h.exams.sweep();
  assert.equal(h.exams.owned(attempt.id, 'cy').status, 'running');
  h.clock.now += 46 * MIN;
  h.exams.sweep();
  await h.exams.idle();
  const a = h.exams.owned(attempt.id, 'cy');
  assert.equal(a.submitReason, 'time');
  assert.equal(a.submittedAt, deadline);
  assert.equal(a.status, 'finished', 'no review period: the clusters go at once');
  assert.ok(a.result);
  await h.attempts.idle();
  assert.equal(h.host.clusters.size, 0);
});

test('a server that crashed mid-exam resumes it: remaining time, flags and notes; no cluster lost or leaked', async () => {
  const db = openMemoryDatabase();
  const first = examHarness({ labs, db });
  const { attempt } = first.exams.start('dee', 'networking-mock');
  await first.started(attempt.id);
  first.exams.focus(attempt.id, 'dee', 2);
  first.exams.mark(attempt.id, 'dee', 2, { flagged: true, notes: 'endpoints: 2 of 3' });
  first.clock.now += 10 * MIN;
  const before = first.exams.view(first.exams.owned(attempt.id, 'dee'));
  const clusters = [...first.host.clusters.keys()].sort();
  // The crash: nothing is closed; a new server opens the same database and finds the same host.
  const second = examHarness({ labs, db, host: first.host, clustersDir: first.clustersDir, models: first.models, clock: first.clock });
  const r = await second.attempts.reconcile();
  assert.deepEqual(r.adopted.sort(), clusters);
  assert.deepEqual(r.deleted, []);
  assert.deepEqual(second.exams.reconcile().resumed, [attempt.id]);
  const after = second.exams.view(second.exams.owned(attempt.id, 'dee'));
  assert.equal(after.status, 'running');
  assert.equal(after.deadlineAt, before.deadlineAt);
  assert.ok(Math.abs(after.remainingMs! - before.remainingMs!) < 2000, `${after.remainingMs} vs ${before.remainingMs}`);
  assert.deepEqual(
    after.tasks.map((t) => [t.flagged, t.notes]),
    before.tasks.map((t) => [t.flagged, t.notes]),
  );
  assert.deepEqual([...second.host.clusters.keys()].sort(), clusters, 'no cluster lost');
  // The resumed exam still grades and ends normally.
  const done = await second.exams.finish(attempt.id, 'dee');
  assert.equal(done.status, 'review');
  await second.exams.finish(attempt.id, 'dee');
  await second.attempts.idle();
  assert.equal(second.host.clusters.size, 0, 'no cluster leaked');
});

test('an exam that loses a cluster fails and frees the other cluster', async () => {
  const h = examHarness({ labs, clusters: { maxConcurrent: 4 } });
  const { attempt } = h.exams.start('eve', 'networking-mock');
  await h.started(attempt.id).catch(() => {});
  // Lose one cluster outside kubedrill, then let the exam notice.
  const v = h.exams.view(h.exams.owned(attempt.id, 'eve'));
  h.attempts.finish(v.clusters[0]!.attemptId, 'deleted outside kubedrill');
  h.exams.sweep();
  await h.attempts.idle();
  const a = h.exams.owned(attempt.id, 'eve');
  assert.equal(a.status, 'failed');
  assert.match(a.failure!, /cluster k8s-netpol is gone/);
  assert.equal(h.host.clusters.size, 0);
});

test('an exam needing more clusters than the host allows is refused; an unknown exam is not found', async () => {
  const small = examHarness({ labs, clusters: { maxConcurrent: 1 } });
  assert.throws(
    () => small.exams.start('fay', 'networking-mock'),
    (e: unknown) => e instanceof AppError && e.code === 'exam_too_big' && /needs 2 clusters/.test(e.message),
  );
  assert.throws(
    () => small.exams.start('fay', 'no-such-exam'),
    (e: unknown) => e instanceof AppError && e.status === 404,
  );
});

test('checks the cluster could not answer at submit are graded again, so a hiccup costs no points', async () => {
  let hiccups = 0;
  const flaky = (port: ClusterPort): ClusterPort => ({
    ...port,
    get: (ref, opts) => (hiccups-- > 0 ? Promise.reject(new ClusterError('unreachable', 'connection refused')) : port.get(ref, opts)),
    list: port.list.bind(port),
    exec: port.exec.bind(port),
    apply: port.apply.bind(port),
  });
  const h = examHarness({ labs, gradingPort: flaky });
  const { attempt } = h.exams.start('gus', 'networking-mock');
  await h.started(attempt.id);
  await h.solve(attempt.id, 'gus');
  hiccups = 6;
  const a = await h.exams.submit(attempt.id, 'gus');
  const errored = a.result!.tasks.flatMap((t) => t.reports.flatMap((r) => r.checks.filter((c) => c.status === 'error')));
  assert.deepEqual(errored, []);
  assert.equal(a.result!.percent, 100);
  assert.ok(hiccups < 0, 'the first grade did meet the failures');
});

test('an exam whose clusters were set up in advance (clusters.presetLabs exam:<id>) starts by assigning them, adopts their draw, and is told once that its clusters exist', async () => {
  const h = examHarness({ labs, clusters: { presetLabs: ['exam:networking-mock'], maxConcurrent: 4 } });
  await h.attempts.reconcile();
  await h.attempts.idle();
  assert.deepEqual(
    h.attempts.presetStatus().map((s) => [s.key, s.ready]),
    [
      ['exam:networking-mock/k8s-netpol', 1],
      ['exam:networking-mock/k8s-svc', 1],
    ],
  );
  const told: string[] = [];
  h.exams.onClustersCreated((id) => told.push(id));
  const presetNs = h.attempts.presetParams('exam:networking-mock/k8s-svc', [
    'clusterip-endpoints',
    'dns-service-discovery',
    'nodeport-fixed-port',
    'pod-ips-across-nodes',
    'multi-container-localhost',
  ])?.['clusterip-endpoints']?.ns;
  const { attempt } = h.exams.start('ann', 'networking-mock');
  assert.equal(await h.started(attempt.id), 'running');
  const v = h.exams.view(h.exams.owned(attempt.id, 'ann'));
  for (const c of v.clusters) {
    const steps = h.attempts
      .subscribe(c.attemptId, 0, () => {})
      .replay.filter((e) => e.type === 'step' && e.state === 'done')
      .map((e) => e.name);
    assert.deepEqual(steps, [PRESET_STEP], `${c.context} was only assigned`);
  }
  assert.ok(presetNs, 'the k8s-svc cluster was set up with its own draw of clusterip-endpoints');
  assert.equal(h.exams.paramsOf(attempt.id)?.['clusterip-endpoints']?.ns, presetNs, 'the exam is graded against the draw its cluster was set up with');
  assert.deepEqual(told, [attempt.id], "the exam's workstation can be made as soon as its clusters exist");
  h.exams.end(attempt.id, 'test');
  await h.attempts.idle();
});
