import type { ClusterPort, NodeAccess, ScriptRunner } from '../../../graders/src/cluster/port.ts';
import type { AttemptService } from '../attempts/attempt-service.ts';
import type { Config } from '../config/config.ts';
import type { ServiceLog } from '../log.ts';
import type { LabCatalog } from '../labs/catalog-service.ts';
import type { Lab } from '../labs/loader.ts';
import { examClusterRecipes, type ExamClusterRecipe } from './cluster-recipes.ts';
import { shapeKey } from '../provisioner/kind-config.ts';
import type { Db } from '../storage/db.ts';
import type { TerminalAttempts } from '../terminal/attempts.ts';
import { ExamCatalogService } from './exam-catalog.ts';
import { ExamRepository } from './exam-repository.ts';
import { ExamService } from './exam-service.ts';

/** The exam parts the app wires: catalog, service, the terminal's view of exam attempts, and their shapes for the warm pool. */
export interface Exams {
  catalog: ExamCatalogService;
  service: ExamService;
  terminalAttempts: TerminalAttempts;
  shapes(): string[];
  /** The images of the labs exams place on clusters of a shape (a warm cluster of it gets them in advance). */
  images(shape: string): string[];
  /** The clusters of an exam as Start makes them (for the pre-set-up pool), or undefined for an unknown exam. */
  clusterRecipes(examId: string): ExamClusterRecipe[] | undefined;
}

/** Builds the exams from config: exams/ read against the loaded labs, the service on the attempt service. */
export function createExams(
  config: Config,
  deps: {
    db: Db;
    labs: LabCatalog;
    attempts: AttemptService;
    portFor: (kubeconfigPath: string) => ClusterPort;
    scriptsFor?: (kubeconfigPath: string) => ScriptRunner;
    nodesFor?: (attemptId: string) => NodeAccess | undefined;
    log: ServiceLog;
  },
): Exams {
  const catalog = new ExamCatalogService(config.examsDir, deps.labs);
  catalog.reload(deps.labs.current);
  for (const b of catalog.current.broken)
    for (const p of b.problems) if (p.severity === 'error') deps.log.warn({ at: `${p.file}:${p.line}:${p.col}` }, p.message);
  const service = new ExamService({
    repo: new ExamRepository(deps.db),
    exams: catalog,
    labs: deps.labs,
    attempts: deps.attempts,
    portFor: deps.portFor,
    ...(deps.scriptsFor ? { scriptsFor: deps.scriptsFor } : {}),
    ...(deps.nodesFor ? { nodesFor: deps.nodesFor } : {}),
    maxClusters: config.clusters.maxConcurrent,
    reviewMinutes: config.exams.reviewMinutes,
    log: deps.log,
  });
  return wireExams(catalog, service, deps.labs);
}

/** The parts the app needs from an exam catalog and service (tests build both themselves). */
export function wireExams(catalog: ExamCatalogService, service: ExamService, labs: { get(id: string): Lab | undefined }): Exams {
  return {
    catalog,
    service,
    terminalAttempts: { get: (id) => service.terminalView(id), onEnded: (cb) => service.onEnded(cb), onClusterCreated: (cb) => service.onClustersCreated(cb) },
    shapes: () => [...new Set(catalog.current.exams.flatMap((e) => e.clusters.map((c) => shapeKey(c))))],
    images: (shape) => examImages(catalog, labs, shape),
    clusterRecipes: (examId) => {
      const exam = catalog.get(examId);
      return exam && examClusterRecipes(exam);
    },
  };
}

/** The images of the labs any exam places on a cluster of the shape. */
export function examImages(catalog: ExamCatalogService, labs: { get(id: string): Lab | undefined }, shape: string): string[] {
  const ids = catalog.current.exams.flatMap((e) =>
    e.tasks.filter((t) => shapeKey(e.clusters.find((c) => c.name === t.cluster)!) === shape).map((t) => t.labId),
  );
  return [...new Set(ids.flatMap((id) => labs.get(id)?.meta.images ?? []))];
}
