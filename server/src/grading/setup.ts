import type { FastifyBaseLogger } from 'fastify';
import { createKubePort } from '../../../graders/src/cluster/kube-port.ts';
import type { ClusterPort } from '../../../graders/src/cluster/port.ts';
import { createKubeconfigScriptRunner } from '../../../graders/src/cluster/script-runner.ts';
import type { CommandRunner } from '../exec/command-runner.ts';
import type { Db } from '../storage/db.ts';
import { GradeRepository } from './grade-repository.ts';
import { GradingService, type GradableAttempts, type GradingDeps, type LabLookup } from './grading-service.ts';

/** Builds the grading service with the real cluster port and script runner unless tests pass others. */
export function createGradingService(deps: {
  db: Db;
  labs: LabLookup;
  runner: CommandRunner;
  attempts: GradableAttempts;
  log?: FastifyBaseLogger;
  portFor?: (kubeconfigPath: string) => ClusterPort;
  engine?: GradingDeps['engine'];
}): GradingService {
  return new GradingService({
    attempts: deps.attempts,
    labs: deps.labs,
    grades: new GradeRepository(deps.db),
    portFor: deps.portFor ?? ((kubeconfigPath) => createKubePort(kubeconfigPath)),
    scriptsFor: (kubeconfigPath) => createKubeconfigScriptRunner(deps.runner, kubeconfigPath),
    ...(deps.engine ? { engine: deps.engine } : {}),
    ...(deps.log ? { log: deps.log } : {}),
  });
}
