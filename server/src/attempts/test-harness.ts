// A real AttemptService on a fake kind host and fake cluster ports: for tests and benchmarks.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../config/config.ts';
import type { WorkstationAccess } from '../../../graders/src/cluster/port.ts';
import type { Lab } from '../labs/loader.ts';
import { DEFAULT_NODE_IMAGE } from '../provisioner/kind-config.ts';
import { KindDriver } from '../provisioner/kind-driver.ts';
import { FakeClusterPort, FakeKindHost, type FakeKindOptions } from '../provisioner/testing/fake-kind.ts';
import { lab9server, testCatalog, testLab } from '../provisioner/testing/lab-fixtures.ts';
import { openMemoryDatabase } from '../storage/db.ts';
import { AttemptRepository } from './attempt-repository.ts';
import { AttemptService, type AttemptServiceOptions, type NetpolCheck } from './attempt-service.ts';

/** The clusters.* defaults. */
export const DEFAULTS = loadConfig({ argv: [], env: {}, cwd: '/' }).config.clusters;
const quiet = { info() {}, warn() {}, error() {} };

export interface HarnessOptions {
  clusters?: Partial<Config['clusters']>;
  fake?: FakeKindOptions;
  labs?: Lab[];
  netpol?: NetpolCheck;
  nodeImage?: string;
  db?: ReturnType<typeof openMemoryDatabase>;
  host?: FakeKindHost;
  clustersDir?: string;
  setupPollMs?: number;
  portReadyAfterPolls?: number;
  /** The attempts' workstations (Killercoda scenario setup runs there). */
  workstationFor?: (attemptId: string) => WorkstationAccess | undefined;
  /** The clusters' ports (default: a new fake per call); a test that reads what setups applied passes its own. */
  portFor?: (kubeconfigPath: string) => FakeClusterPort;
  /** clusters.presetLabs of exam:<id> resolves through this. */
  examClusters?: AttemptServiceOptions['examClusters'];
  freeMemBytes?: () => number;
  spareWorkstations?: AttemptServiceOptions['spareWorkstations'];
  /**
   * false: the service's time stands still until the test moves clock.now, so durations it derives
   * (queue waits, expiries) are exact, however slowly a loaded machine runs the test.
   */
  realTime?: boolean;
}

/** Builds the service around a fake kind host; `clock.now` drives its time. */
export function harness(o: HarnessOptions = {}) {
  const db = o.db ?? openMemoryDatabase();
  const repo = new AttemptRepository(db);
  const host = o.host ?? new FakeKindHost(o.fake);
  const clustersDir = o.clustersDir ?? mkdtempSync(path.join(tmpdir(), 'kd-attempts-'));
  const driver = new KindDriver({ runner: host, clustersDir, namePrefix: 'kubedrill', nodeImage: o.nodeImage ?? DEFAULT_NODE_IMAGE, createTimeoutMs: 60_000 });
  // Starts at a fixed instant and runs with real time (unless realTime is false); tests move it
  // forward by adding to clock.now.
  const clock = { now: Date.parse('2026-11-29T20:00:00Z') };
  const realStart = Date.now();
  const now = o.realTime === false ? () => clock.now : () => clock.now + (Date.now() - realStart);
  const service = new AttemptService({
    repo,
    driver,
    labs: testCatalog(o.labs ?? [testLab('alpha'), testLab('beta', { cluster: { workers: 1 } }), lab9server()]),
    portFor: o.portFor ?? (() => new FakeClusterPort({ readyAfterPolls: o.portReadyAfterPolls ?? 0 })),
    runner: host,
    clusters: { ...DEFAULTS, ...o.clusters },
    log: quiet,
    now,
    verifyNetworkPolicy: o.netpol ?? (async () => {}),
    reapIntervalMs: 0,
    setupPollMs: o.setupPollMs ?? 2,
    ...(o.workstationFor ? { workstationFor: o.workstationFor } : {}),
    ...(o.examClusters ? { examClusters: o.examClusters } : {}),
    ...(o.freeMemBytes ? { freeMemBytes: o.freeMemBytes } : {}),
    ...(o.spareWorkstations ? { spareWorkstations: o.spareWorkstations } : {}),
  });
  return { db, repo, host, service, clock, clustersDir, config: { clusters: { ...DEFAULTS, ...o.clusters } } };
}
