import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AttemptService } from './attempts/attempt-service.ts';
import type { GradingService } from './grading/grading-service.ts';
import type { Learner, LearnerRepository } from './auth/learners.ts';
import type { Config } from './config/config.ts';
import type { CommandRunner } from './exec/command-runner.ts';
import type { LabCatalog } from './labs/catalog-service.ts';
import type { Db } from './storage/db.ts';
import type { GroupRepository } from './groups/group-repository.ts';
import type { TerminalService } from './terminal/terminal-service.ts';
import type { ExamService } from './exams/exam-service.ts';
import type { ExamCatalogService } from './exams/exam-catalog.ts';

/** The Fastify instance with our type provider, as route modules receive it. */
export type App = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, ZodTypeProvider>;

declare module 'fastify' {
  interface FastifyInstance {
    config: Config;
    /** The clock of rate limits and back-offs (Date.now; tests may freeze it). */
    now: () => number;
    db: Db;
    labs: LabCatalog;
    learners: LearnerRepository;
    /** Study groups, their members and assignments (server/src/groups). */
    groups: GroupRepository;
    runner: CommandRunner;
    /** Browser origins allowed to make state-changing requests and open WebSockets. */
    origins: ReadonlySet<string>;
    /** Attempts and their clusters (server/src/attempts). */
    attempts: AttemptService;
    /** Grades attempts on their clusters and keeps the reports (server/src/grading). */
    grading: GradingService;
    /** Mock exams: attempts over several clusters, countdown, review (server/src/exams). */
    exams: ExamService;
    /** The mock exams the server offers (exams/), for assignments. */
    examCatalog: ExamCatalogService;
    /** Open terminals of every attempt (server/src/terminal). */
    terminals: TerminalService;
  }
  interface FastifyRequest {
    /** The logged-in learner, resolved from the session cookie (undefined when anonymous). */
    learner: Learner | undefined;
    /** The raw session token from the cookie, when there is a valid session. */
    sessionToken: string | undefined;
  }
}
