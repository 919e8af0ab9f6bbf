// Exams on a fake kind host: the real AttemptService and ExamService, the shipped labs and exams,
// and one in-memory model cluster per kind cluster (setup is applied to it and grading reads it).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ClusterPort } from '../../../graders/src/cluster/port.ts';
import { ModelCluster } from '../../../graders/src/model/model-cluster.ts';
import { AttemptRepository } from '../attempts/attempt-repository.ts';
import { AttemptService } from '../attempts/attempt-service.ts';
import { DEFAULTS } from '../attempts/test-harness.ts';
import type { Config } from '../config/config.ts';
import type { CommandRunner } from '../exec/command-runner.ts';
import { labStates } from '../grading/lab-states.ts';
import { LabCatalog } from '../labs/catalog-service.ts';
import { DEFAULT_NODE_IMAGE } from '../provisioner/kind-config.ts';
import { KindDriver } from '../provisioner/kind-driver.ts';
import { FakeKindHost, type FakeKindOptions } from '../provisioner/testing/fake-kind.ts';
import { openMemoryDatabase, type Db } from '../storage/db.ts';
import { examClusterRecipes } from './cluster-recipes.ts';
import { ExamCatalogService } from './exam-catalog.ts';
import { ExamRepository } from './exam-repository.ts';
import { ExamService } from './exam-service.ts';

export const REPO = path.resolve(import.meta.dirname, '..', '..', '..');
const quiet = { info() {}, warn() {}, error() {} };

/**
 * The fake host as the attempt service's runner, answering the kube-proxy rules dump of a node with
 * the ClusterIPs its model cluster has (the model's Services are served at once, as kube-proxy would).
 */
export function kubeProxyOnModels(host: FakeKindHost, models: ReadonlyMap<string, ModelCluster>): CommandRunner {
  return {
    run: async (spec) => {
      const [docker, exec, node, sh] = spec.argv;
      if (docker === 'docker' && exec === 'exec' && sh === 'sh' && /iptables/.test(spec.argv.at(-1) ?? '')) {
        const cluster = [...host.clusters.values()].find((c) => c.nodes.includes(node!));
        const model = cluster ? models.get(cluster.name) : undefined;
        const services = model ? await model.list({ apiVersion: 'v1', kind: 'Service' }, { timeoutMs: 1000 }) : [];
        const ips = services.map((x) => (x.spec as { clusterIP?: string } | undefined)?.clusterIP).filter((ip) => ip && ip !== 'None');
        return {
          argv: [...spec.argv],
          exitCode: 0,
          stdout: ips.map((ip) => `-A KUBE-SERVICES -d ${ip}/32 -p tcp -j KUBE-SVC\n`).join(''),
          stderr: '',
          durationMs: 0,
        };
      }
      return host.run(spec);
    },
  };
}

/** The shipped labs, loaded once per test file (MDX compiles take a second). */
export async function shippedLabs(): Promise<LabCatalog> {
  const labs = new LabCatalog(path.join(REPO, 'labs'));
  await labs.reload();
  return labs;
}

export interface ExamHarnessOptions {
  labs: LabCatalog;
  db?: Db;
  host?: FakeKindHost;
  fake?: FakeKindOptions;
  clustersDir?: string;
  clusters?: Partial<Config['clusters']>;
  reviewMinutes?: number;
  /** Model clusters by kind cluster name; pass the previous harness's to survive a simulated restart. */
  models?: Map<string, ModelCluster>;
  clock?: { now: number };
  /** Wraps the port grading uses (not the provisioner's), e.g. to make the cluster fail to answer. */
  gradingPort?: (port: ClusterPort) => ClusterPort;
}

/** Builds attempt and exam services on a fake host; `clock.now` drives their time (real time runs on top). */
export function examHarness(o: ExamHarnessOptions) {
  const db = o.db ?? openMemoryDatabase();
  const host = o.host ?? new FakeKindHost(o.fake);
  const clustersDir = o.clustersDir ?? mkdtempSync(path.join(tmpdir(), 'kd-exams-'));
  const driver = new KindDriver({ runner: host, clustersDir, namePrefix: 'kubedrill', nodeImage: DEFAULT_NODE_IMAGE, createTimeoutMs: 60_000 });
  const clock = o.clock ?? { now: Date.parse('2026-12-05T20:00:00Z') };
  const realStart = Date.now();
  const now = () => clock.now + (Date.now() - realStart);
  const models = o.models ?? new Map<string, ModelCluster>();
  const modelFor = (kubeconfigPath: string) => {
    const name = path.basename(path.dirname(kubeconfigPath));
    let m = models.get(name);
    if (!m) {
      const workers = (host.clusters.get(name)?.nodes.length ?? 1) - 1;
      m = new ModelCluster({ workers, name });
      models.set(name, m);
    }
    return m;
  };
  const attempts = new AttemptService({
    repo: new AttemptRepository(db),
    driver,
    labs: o.labs,
    portFor: modelFor,
    runner: kubeProxyOnModels(host, models),
    clusters: { ...DEFAULTS, ...o.clusters },
    log: quiet,
    now,
    verifyNetworkPolicy: async () => {},
    reapIntervalMs: 0,
    setupPollMs: 2,
    // clusters.presetLabs exam:<id> (read when the pool fills, after the catalog below is made)
    examClusters: (id) => {
      const exam = catalog.get(id);
      return exam && examClusterRecipes(exam);
    },
  });
  const catalog = new ExamCatalogService(path.join(REPO, 'exams'));
  catalog.reload(o.labs.current);
  const exams = new ExamService({
    repo: new ExamRepository(db),
    exams: catalog,
    labs: o.labs,
    attempts,
    portFor: (k) => (o.gradingPort ? o.gradingPort(modelFor(k)) : modelFor(k)),
    maxClusters: o.clusters?.maxConcurrent ?? DEFAULTS.maxConcurrent,
    reviewMinutes: o.reviewMinutes ?? 30,
    log: quiet,
    now,
    sweepMs: 0,
    engine: { probeWindowMs: 0, retryDelayMs: 0 },
  });
  /** Applies the reference solutions of the given labs on the cluster of the given context. */
  const solve = async (examAttemptId: string, learnerId: string) => {
    const v = exams.view(exams.owned(examAttemptId, learnerId));
    for (const c of v.clusters) {
      const cluster = attempts.get(c.attemptId)!;
      const model = modelFor(driver.paths(cluster.clusterName!).kubeconfig);
      for (const labId of new Set(v.tasks.filter((t) => t.cluster === c.context).map((t) => t.labId))) {
        await model.apply((await labStates(o.labs.forAttempt(labId, cluster.params)!)).solution, { fieldManager: 'kubedrill-setup', timeoutMs: 10_000 });
      }
    }
  };
  const examRepo = new ExamRepository(db);
  /** Waits until the exam attempt leaves "starting". */
  const started = async (id: string) => {
    for (let i = 0; i < 2000; i++) {
      await attempts.idle();
      exams.sweep();
      const s = examRepo.get(id)!.status;
      if (s !== 'starting') return s;
      await new Promise((r) => setTimeout(r, 2));
    }
    throw new Error('the exam did not start');
  };
  return { db, host, attempts, exams, catalog, clock, clustersDir, models, driver, solve, started };
}
