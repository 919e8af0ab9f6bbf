import path from 'node:path';
import type { ClusterPort, WorkstationAccess } from '../../../graders/src/cluster/port.ts';
import type { Config } from '../config/config.ts';
import type { ServiceLog } from '../log.ts';
import type { CommandRunner } from '../exec/command-runner.ts';
import type { LabCatalog } from '../labs/catalog-service.ts';
import { DEFAULT_NODE_IMAGE } from '../provisioner/kind-config.ts';
import { KindDriver } from '../provisioner/kind-driver.ts';
import { NetpolVerdicts } from '../provisioner/netpol-verdicts.ts';
import type { Db } from '../storage/db.ts';
import { AttemptRepository } from './attempt-repository.ts';
import { AttemptService } from './attempt-service.ts';
import type { PresetRecipe } from './preset-pool.ts';
import type { SpareWorkstations } from '../terminal/spare-workstations.ts';

/** Builds the attempt service from config: kind driver (clusters in dataDir/clusters), repository, caps and pool. */
export function createAttemptService(
  config: Config,
  deps: {
    db: Db;
    runner: CommandRunner;
    labs: LabCatalog;
    portFor: (kubeconfigPath: string) => ClusterPort;
    log: ServiceLog;
    extraPoolShapes?: () => readonly string[];
    extraPoolImages?: (shape: string) => readonly string[];
    examClusters?: (examId: string) => readonly PresetRecipe[] | undefined;
    spareWorkstations?: () => SpareWorkstations | undefined;
    workstationFor?: (attemptId: string) => WorkstationAccess | undefined;
  },
): AttemptService {
  const c = config.clusters;
  const driver = new KindDriver({
    runner: deps.runner,
    clustersDir: path.join(config.dataDir, 'clusters'),
    namePrefix: c.namePrefix,
    nodeImage: c.nodeImage ?? DEFAULT_NODE_IMAGE,
    registryMirror: c.registryMirror,
    createTimeoutMs: c.createTimeoutMinutes * 60_000,
  });
  return new AttemptService({
    repo: new AttemptRepository(deps.db),
    driver,
    labs: deps.labs,
    portFor: deps.portFor,
    runner: deps.runner,
    clusters: c,
    log: deps.log,
    netpolVerdicts: new NetpolVerdicts(config.dataDir),
    ...(deps.extraPoolShapes ? { extraPoolShapes: deps.extraPoolShapes } : {}),
    ...(deps.extraPoolImages ? { extraPoolImages: deps.extraPoolImages } : {}),
    ...(deps.workstationFor ? { workstationFor: deps.workstationFor } : {}),
    ...(deps.examClusters ? { examClusters: deps.examClusters } : {}),
    ...(deps.spareWorkstations ? { spareWorkstations: deps.spareWorkstations } : {}),
  });
}
