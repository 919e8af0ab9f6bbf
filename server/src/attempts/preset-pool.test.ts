import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { KubeObject, ListQuery } from '../../../graders/src/cluster/port.ts';
import type { Lab } from '../labs/loader.ts';
import { FakeClusterPort, FakeKindHost } from '../provisioner/testing/fake-kind.ts';
import { lab9server, testLab } from '../provisioner/testing/lab-fixtures.ts';
import { openMemoryDatabase } from '../storage/db.ts';
import { PRESET_STEP } from './attempt-service.ts';
import { harness } from './test-harness.ts';

/** Labs as the catalog loads them: each with the hash of its files. */
const LABS = () => [testLab('alpha'), testLab('gamma'), lab9server()].map((l) => Object.assign(l, { hash: `${l.id}-files` }));
const steps = (s: ReturnType<typeof harness>['service'], id: string) =>
  s
    .subscribe(id, 0, () => {})
    .replay.filter((e) => e.type === 'step' && e.state === 'done')
    .map((e) => e.name);

/** A parametrised lab (clusterip-endpoints' real setup, whose namespace is drawn). */
function paramLab(): Lab {
  const lab = testLab('clusterip-endpoints', { setupManifests: ['setup/10-namespace.yaml'] });
  lab.hash = 'clusterip-endpoints-files';
  lab.params = { ns: { values: ['store', 'retail', 'market', 'outlet', 'depot', 'bazaar'] } } as Lab['params'];
  return lab;
}

/** A cluster port whose setup never gets ready until open() is called: holds a pre-set-up cluster mid-setup. */
class GatedPort extends FakeClusterPort {
  #open!: () => void;
  readonly gate = new Promise<void>((r) => (this.#open = r));
  open(): void {
    this.#open();
  }
  override async list(q: ListQuery): Promise<KubeObject[]> {
    await this.gate;
    return super.list(q);
  }
}

test('a lab in clusters.presetLabs is set up in advance: Start only assigns the cluster, the pool refills, and another lab of the same shape never gets it', async () => {
  const { service, host, repo } = harness({ labs: LABS(), clusters: { presetLabs: ['alpha'], maxConcurrent: 3 } });
  await service.reconcile();
  await service.idle();
  assert.deepEqual(
    service.presetStatus().map(({ key, shape, wanted, ready, source }) => ({ key, shape, wanted, ready, source })),
    [{ key: 'alpha', shape: 'w0', wanted: 1, ready: 1, source: 'config' }],
  );
  const presetName = [...host.clusters.keys()][0]!;
  assert.equal(service.stats().clusters.warm, 1);

  // Another lab of the same shape (w0) must not get alpha's set-up cluster: it gets a new one and its own setup.
  const other = service.start('l2', 'gamma').attempt.id;
  await service.idle();
  assert.notEqual(service.get(other)!.clusterName, presetName);
  assert.ok(!steps(service, other).includes(PRESET_STEP));

  const { attempt } = service.start('l1', 'alpha');
  // The claim happens at Start: the pre-set-up cluster is the attempt's before any background work runs.
  assert.equal(service.get(attempt.id)!.clusterName, presetName);
  await service.idle();
  assert.equal(service.get(attempt.id)!.status, 'ready');
  assert.deepEqual(steps(service, attempt.id), [PRESET_STEP], 'nothing but the claim: no create, no images, no setup');
  // Refilled after the claim: a new alpha cluster is set up (3 clusters: gamma's, the claimed one, the new preset).
  assert.equal(host.clusters.size, 3);
  assert.equal(service.presetStatus()[0]!.ready, 1);
  assert.equal(repo.presets().size >= 1, true);
  service.finish(attempt.id);
  service.finish(other);
  await service.idle();
  await service.close();
});

test('a pre-set-up cluster whose setup is not ready yet is never handed out; it is once ready', async () => {
  const ports: GatedPort[] = [];
  let gatesOpen = false;
  let firstPort!: () => void;
  const setupReachedPort = new Promise<void>((r) => (firstPort = r));
  const { service, host } = harness({
    labs: LABS(),
    clusters: { presetLabs: ['netpol-lab9server'], maxConcurrent: 3 },
    portFor: () => {
      const port = new GatedPort();
      if (gatesOpen) port.open();
      ports.push(port);
      firstPort();
      return port;
    },
  });
  await service.reconcile();
  await setupReachedPort;
  assert.equal(service.presetStatus()[0]!.settingUp, 1, 'its setup is waiting for readiness');
  const presetName = [...host.clusters.keys()][0]!;
  const early = service.start('l1', 'netpol-lab9server').attempt.id;
  assert.notEqual(service.get(early)!.clusterName, presetName, 'the learner does not get a cluster whose setup is unfinished');
  // From here on every setup gets ready, the early attempt's and the refill's too.
  gatesOpen = true;
  for (const p of ports) p.open();
  await service.idle();
  assert.equal(service.get(early)!.status, 'ready');
  assert.ok(!steps(service, early).includes(PRESET_STEP));
  const late = service.start('l2', 'netpol-lab9server').attempt.id;
  assert.equal(service.get(late)!.clusterName, presetName, 'ready now: the next Start gets it');
  await service.idle();
  assert.deepEqual(steps(service, late), [PRESET_STEP]);
  await service.close();
});

test("a parametrised lab is set up with a fresh draw, and the learner who claims it gets that draw (the setup's namespace)", async () => {
  const ports: FakeClusterPort[] = [];
  const { service } = harness({
    labs: [paramLab()],
    clusters: { presetLabs: ['clusterip-endpoints'] },
    portFor: () => (ports.push(new FakeClusterPort()), ports.at(-1)!),
  });
  await service.reconcile();
  await service.idle();
  const applied = ports.flatMap((p) => p.applied).filter((o) => o.kind === 'Namespace');
  assert.equal(applied.length, 1);
  const ns = applied[0]!.metadata.name;
  const a = service.start('l1', 'clusterip-endpoints').attempt;
  assert.deepEqual(a.params, { 'clusterip-endpoints': { ns } }, 'the attempt is graded against the draw its cluster was set up with');
  await service.idle();
  assert.deepEqual(steps(service, a.id), [PRESET_STEP]);
  await service.close();
});

test('the pool keeps within clusters.maxConcurrent and the free memory the nodes need, and says so in its status', async () => {
  const capped = harness({ labs: LABS(), clusters: { presetLabs: ['alpha:3'], maxConcurrent: 2 } });
  await capped.service.reconcile();
  await capped.service.idle();
  assert.equal(capped.host.clusters.size, 2);
  assert.deepEqual(
    capped.service.presetStatus().map((s) => [s.wanted, s.ready]),
    [[3, 2]],
  );
  // A learner of another lab waiting for a slot evicts a pre-set-up cluster rather than waiting behind it.
  const g = capped.service.start('l1', 'gamma').attempt.id;
  await capped.service.idle();
  assert.equal(capped.service.get(g)!.status, 'ready');
  capped.service.finish(g);
  await capped.service.idle();
  await capped.service.close();

  let free = 0;
  const lowMem = harness({ labs: LABS(), clusters: { presetLabs: ['netpol-lab9server'] }, freeMemBytes: () => free });
  await lowMem.service.reconcile();
  await lowMem.service.idle();
  assert.equal(lowMem.host.clusters.size, 0, 'no memory for two nodes: nothing is set up in advance');
  assert.deepEqual(
    lowMem.service.presetStatus().map((s) => [s.wanted, s.ready, s.settingUp]),
    [[1, 0, 0]],
  );
  free = 8 * 1024 ** 3;
  const a = lowMem.service.start('l1', 'alpha').attempt.id; // any pump tries again
  await lowMem.service.idle();
  assert.equal(lowMem.service.presetStatus()[0]!.ready, 1);
  lowMem.service.finish(a);
  await lowMem.service.idle();
  await lowMem.service.close();
});

test('labs started recently are kept pre-set-up (clusters.presetRecent); excluded labs say why', async () => {
  const scenario = testLab('scenario-lab');
  scenario.scenarioSetup = { script: 'true', from: ['background.sh'] } as Lab['scenarioSetup'];
  const { service, host } = harness({ labs: [...LABS(), scenario], clusters: { presetRecent: 1, presetLabs: ['scenario-lab', 'no-such-lab'] } });
  const a = service.start('l1', 'gamma').attempt.id;
  await service.idle();
  service.finish(a);
  await service.idle();
  const status = service.presetStatus();
  assert.deepEqual(status.find((s) => s.key === 'gamma')?.ready, 1, 'the lab started last is kept set up');
  assert.match(status.find((s) => s.key === 'scenario-lab')?.excluded ?? '', /workstation/);
  assert.match(status.find((s) => s.key === 'no-such-lab')?.excluded ?? '', /not in the catalog|no lab/);
  assert.equal(host.clusters.size, 1);
  // Demand moves on: the next lab started replaces gamma's pre-set-up cluster.
  const b = service.start('l1', 'alpha').attempt.id;
  await service.idle();
  service.finish(b);
  await service.idle();
  assert.deepEqual(
    service
      .presetStatus()
      .filter((s) => s.source === 'demand')
      .map((s) => [s.key, s.ready]),
    [['alpha', 1]],
  );
  assert.equal(host.clusters.size, 1, "gamma's pre-set-up cluster was deleted");
  await service.close();
});

test('after a restart a pre-set-up cluster is adopted for its lab only; one whose lab changed meanwhile is deleted', async () => {
  const db = openMemoryDatabase();
  const host = new FakeKindHost();
  const clustersDir = mkdtempSync(path.join(tmpdir(), 'kd-presets-'));
  const first = harness({ db, host, clustersDir, labs: LABS(), clusters: { presetLabs: ['alpha', 'gamma'] } });
  await first.service.reconcile();
  await first.service.idle();
  await first.service.close();
  assert.equal(host.clusters.size, 2);
  const byKey = new Map([...first.repo.presets()].map(([name, p]) => [(p as { key: string }).key, name]));

  const labs = LABS();
  labs[1]!.hash = 'changed'; // gamma's files changed while the server was down
  const second = harness({ db, host, clustersDir, labs, clusters: { presetLabs: ['alpha', 'gamma'] } });
  const result = await second.service.reconcile();
  assert.ok(result.adopted.includes(byKey.get('alpha')!));
  assert.ok(result.deleted.includes(byKey.get('gamma')!));
  // Plain lab starts of the same shape do not get alpha's adopted cluster; alpha's Start does.
  const a = second.service.start('l1', 'alpha').attempt.id;
  assert.equal(second.service.get(a)!.clusterName, byKey.get('alpha'));
  await second.service.idle();
  assert.deepEqual(steps(second.service, a), [PRESET_STEP]);
  assert.ok(!host.clusters.has(byKey.get('gamma')!), 'the stale one is gone');
  assert.equal(second.service.presetStatus().find((s) => s.key === 'gamma')!.ready, 1, 'and gamma was set up again with its new files');
  await second.service.close();
});

test('exam clusters (exam:<id>) are set up in advance with every task lab, parametrised ones with a draw the exam adopts', async () => {
  const examClusters = (id: string) =>
    id === 'mock'
      ? [
          { key: 'exam:mock/one', shape: 'w0', kubernetes: '1.35', labIds: ['alpha', 'gamma'] },
          { key: 'exam:mock/two', shape: 'w0', kubernetes: '1.35', labIds: ['clusterip-endpoints'] },
        ]
      : undefined;
  const ports: FakeClusterPort[] = [];
  const { service } = harness({
    labs: [...LABS(), paramLab()],
    clusters: { presetLabs: ['exam:mock', 'exam:none'] },
    examClusters,
    portFor: () => (ports.push(new FakeClusterPort()), ports.at(-1)!),
  });
  await service.reconcile();
  await service.idle();
  assert.deepEqual(
    service.presetStatus().map((s) => [s.key, s.ready]),
    [
      ['exam:mock/one', 1],
      ['exam:mock/two', 1],
      ['exam:none', 0],
    ],
  );
  assert.match(service.presetStatus()[2]!.excluded ?? '', /no exam "none"/);
  // A cluster for a different composition (one lab fewer) does not match.
  const partial = service.startCluster('l9', { examAttemptId: 'e0', label: 'exam:mock/one', shape: 'w0', kubernetes: '1.35', labIds: ['alpha'] });
  assert.equal(service.presetStatus()[0]!.ready, 1, 'still there');
  const c = service.startCluster('l1', { examAttemptId: 'e1', label: 'exam:mock/one', shape: 'w0', kubernetes: '1.35', labIds: ['alpha', 'gamma'] });
  // The exam adopts the parametrised cluster's draw (what its setup made), as ExamService.start does.
  const draw = service.presetParams('exam:mock/two', ['clusterip-endpoints']);
  const ns = ports.flatMap((p) => p.applied).find((o) => o.kind === 'Namespace')!.metadata.name;
  assert.deepEqual(draw, { 'clusterip-endpoints': { ns } });
  const d = service.startCluster('l1', {
    examAttemptId: 'e1',
    label: 'exam:mock/two',
    shape: 'w0',
    kubernetes: '1.35',
    labIds: ['clusterip-endpoints'],
    params: draw!,
  });
  // With another draw it would not match: a cluster is never handed to an attempt graded against other values.
  const other = service.startCluster('l2', {
    examAttemptId: 'e2',
    label: 'exam:mock/two',
    shape: 'w0',
    kubernetes: '1.35',
    labIds: ['clusterip-endpoints'],
    params: { 'clusterip-endpoints': { ns: ns === 'store' ? 'retail' : 'store' } },
  });
  await service.idle();
  assert.deepEqual(steps(service, c.id), [PRESET_STEP]);
  assert.deepEqual(steps(service, d.id), [PRESET_STEP]);
  assert.ok(!steps(service, partial.id).includes(PRESET_STEP));
  assert.ok(!steps(service, other.id).includes(PRESET_STEP));
  await service.close();
});

test("a lab's pre-set-up cluster gets its workstation made ahead, handed to the attempt that claims it, and removed with an unclaimed cluster", async () => {
  const seen: string[] = [];
  const spares = {
    prepare: (cluster: string) => void seen.push(`prepare ${cluster}`),
    claim: async (cluster: string, attemptId: string) => (seen.push(`claim ${cluster} ${attemptId}`), true),
    discard: (cluster: string) => void seen.push(`discard ${cluster}`),
    settled: async () => {},
  };
  const { service, host } = harness({ labs: LABS(), clusters: { presetLabs: ['alpha'], maxConcurrent: 2 }, spareWorkstations: () => spares });
  await service.reconcile();
  await service.idle();
  const first = [...host.clusters.keys()][0]!;
  assert.deepEqual(seen, [`prepare ${first}`]);
  const a = service.start('l1', 'alpha').attempt.id;
  await service.idle();
  assert.ok(seen.includes(`claim ${first} ${a}`), 'the attempt gets the workstation made for its cluster');
  const refill = [...host.clusters.keys()].find((n) => n !== first)!;
  assert.ok(seen.includes(`prepare ${refill}`));
  // A learner of another lab needs the slot: the unclaimed pre-set-up cluster is evicted, and its workstation goes with it.
  const g = service.start('l2', 'gamma').attempt.id;
  await service.idle();
  assert.equal(service.get(g)!.status, 'ready');
  assert.ok(seen.includes(`discard ${refill}`));
  assert.ok(!seen.includes(`discard ${first}`), "the claimed cluster's workstation is its attempt's, not discarded with the pool");
  await service.close();
});

test('starts from clusters set up in advance do not make the estimate of a start that needs its setup', async () => {
  const { service } = harness({ labs: LABS(), clusters: { presetLabs: ['alpha'], maxConcurrent: 3 } });
  const cold = service.start('l0', 'gamma').attempt.id;
  await service.idle();
  service.finish(cold);
  await service.idle();
  // Two instant starts and one with its setup: without leaving the instant ones out, the median would be instant.
  for (const learner of ['l1', 'l3']) {
    const a = service.start(learner, 'alpha').attempt.id;
    await service.idle();
    assert.deepEqual(steps(service, a), [PRESET_STEP]);
    service.finish(a);
    await service.idle();
  }
  const first = service.get(cold)!;
  const next = service.start('l2', 'gamma').attempt;
  assert.equal(next.estimateMs, Date.parse(first.readyAt!) - Date.parse(first.createdAt), "the estimate is gamma's own start, not alpha's instant one");
  await service.close();
});
