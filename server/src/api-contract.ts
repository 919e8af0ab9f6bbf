// The HTTP API's contract: every request and response schema, in one module without Fastify.
// The routes validate and serialize with these schemas, the OpenAPI document is generated from the
// routes that use them, and the web client derives its types from them (z.infer / z.input).
// Lint keeps this module free of Fastify and of server internals other than plain data definitions.
import { z } from 'zod';
import { ATTEMPT_STATUSES } from './attempts/attempt-repository.ts';
import { EXAM_STATUSES } from './exams/exam-repository.ts';
import { COMPETENCY_CODES, DIFFICULTIES, DOMAIN_IDS } from './labs/format.ts';

// ---------------------------------------------------------------------------------------------
// Errors: one shape for every failure, and one code per generic HTTP status meaning.

/** Every error answer: a stable machine-readable code, a message for people, and optional details (e.g. retryAfterSeconds). */
export const ErrorDto = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});

/** The code of an error that has no more specific one (Fastify's own 4xx, a 5xx), per HTTP status. */
export const STATUS_CODES = {
  400: 'bad_request',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  500: 'internal',
} as const satisfies Record<number, string>;

/**
 * Error statuses any API route may answer without declaring them itself (the app adds them to each
 * route's schema): 400 bad input, 403 a host or origin refused before the route runs, 500 a bug.
 * Routes with a body may also answer 413 (too large) and 415 (not JSON).
 */
export const COMMON_ERROR_STATUSES = [400, 403, 500] as const;
export const BODY_ERROR_STATUSES = [413, 415] as const;

/** `{ 404: ErrorDto, 409: ErrorDto }` for a route's response map. */
export function errors<const S extends readonly number[]>(...statuses: S): { [K in S[number]]: typeof ErrorDto } {
  return Object.fromEntries(statuses.map((s) => [s, ErrorDto])) as { [K in S[number]]: typeof ErrorDto };
}

/** The answer of a 204: no body. */
export const NoContent = z.null();

// ---------------------------------------------------------------------------------------------
// Path parameters: one name per thing, everywhere.

const attemptId = z.string().min(1).max(128);
const terminalId = z.string().regex(/^[a-z0-9]{1,40}$/);
const groupId = z.string().min(1).max(64);
const learnerId = z.string().min(1).max(64);

export const LabParams = z.object({ labId: z.string().min(1).max(100) });
export const AttemptParams = z.object({ attemptId });
export const TerminalParams = AttemptParams.extend({ terminalId });
export const ExamParams = z.object({ examId: z.string().min(1).max(60) });
export const ExamAttemptParams = z.object({ examAttemptId: attemptId });
export const ExamTaskParams = ExamAttemptParams.extend({ number: z.coerce.number().int().min(1).max(100) });
export const GroupParams = z.object({ groupId });
export const MemberParams = GroupParams.extend({ learnerId });
export const AssignmentParams = GroupParams.extend({ assignmentId: z.string().min(1).max(64) });
export const WatchParams = MemberParams.extend({ attemptId, terminalId });
export const LearnerParams = z.object({ learnerId });

const isoDate = z.iso.datetime({ offset: true }).describe('ISO 8601 date-time, e.g. 2026-12-31T23:59:00Z');
const Domain = z.enum(DOMAIN_IDS);
const Role = z.enum(['learner', 'instructor', 'admin']);

// ---------------------------------------------------------------------------------------------
// System

export const HealthDto = z.object({
  status: z.literal('ok'),
  version: z.string(),
  labs: z.object({ loaded: z.number(), broken: z.number() }),
});

export const DoctorCheckDto = z.object({
  id: z.string(),
  title: z.string(),
  status: z.enum(['ok', 'warn', 'fail']),
  detail: z.string(),
  remedy: z.string().optional(),
});
export const AdminHealthDto = z.object({
  checks: z.array(DoctorCheckDto),
  clusters: z.object({
    creating: z.number(),
    warm: z.number(),
    claimed: z.number(),
    deleting: z.number(),
    max: z.number(),
    queued: z.number(),
  }),
  /** The pre-set-up pool (clusters.presetLabs, clusters.presetRecent): per lab or exam cluster. */
  presets: z.array(
    z.object({
      key: z.string(),
      shape: z.string(),
      source: z.enum(['config', 'demand', 'config+demand']),
      wanted: z.number(),
      ready: z.number(),
      settingUp: z.number(),
      excluded: z.string().optional(),
    }),
  ),
});

const UsageDto = z.object({ clusters: z.number(), cpuPercent: z.number(), memoryBytes: z.number() });
export const AdminUsageDto = z.object({
  sampledAt: z.string(),
  /** Every kind cluster of this server's name prefix. */
  total: UsageDto.extend({ maxClusters: z.number() }),
  groups: z.array(UsageDto.extend({ id: z.string(), name: z.string(), maxClusters: z.number().nullable() })),
  /** Clusters of learners in no group (and of instructors and admins). */
  ungrouped: UsageDto,
});

// ---------------------------------------------------------------------------------------------
// Session

export const LearnerDto = z.object({ id: z.string(), username: z.string(), displayName: z.string(), role: Role });
export const SessionDto = z.object({
  mode: z.enum(['single', 'multi']),
  registration: z.enum(['open', 'invite', 'closed']),
  learner: LearnerDto.nullable(),
});
export const Credentials = z.object({
  username: z
    .string()
    .trim()
    .regex(/^[a-zA-Z0-9._-]{2,32}$/, 'use 2–32 letters, digits, ".", "_" or "-"'),
  password: z.string().min(10, 'use at least 10 characters').max(200),
});
export const Registration = Credentials.extend({
  displayName: z.string().trim().min(1).max(60).optional(),
  inviteCode: z.string().optional(),
});

// ---------------------------------------------------------------------------------------------
// Labs

export const ProblemDto = z.object({
  file: z.string(),
  line: z.number(),
  col: z.number(),
  message: z.string(),
  hint: z.string().optional(),
  severity: z.enum(['error', 'warning']),
});

const OriginDto = z.object({ kind: z.literal('killercoda'), source: z.string() });

export const LabSummaryDto = z.object({
  id: z.string(),
  track: z.string(),
  title: z.string(),
  summary: z.string(),
  domain: Domain,
  difficulty: z.enum(DIFFICULTIES),
  minutes: z.number(),
  kubernetes: z.string(),
  cluster: z.object({
    workers: z.number(),
    controlPlanes: z.number().optional(),
    cni: z.string(),
    networkPolicy: z.boolean(),
    dedicated: z.boolean(),
    addons: z.array(z.string()),
  }),
  points: z.number(),
  taskCount: z.number(),
  tags: z.array(z.string()),
  /** CKA competency codes the lab trains (see the catalog's competencies). */
  competencies: z.array(z.enum(COMPETENCY_CODES)),
  /** Set when the lab is not a kubedrill lab: a Killercoda scenario, with its folder. */
  origin: OriginDto.optional(),
  /** A Killercoda scenario without verify scripts: not graded (no tasks, 0 points); its steps, moved through with Next step. */
  walkthrough: z.object({ steps: z.array(z.object({ step: z.number(), title: z.string() })) }).optional(),
});

export const LabDetailDto = LabSummaryDto.extend({
  /** The title of the lab's track, for breadcrumbs. */
  trackTitle: z.string(),
  tasks: z.array(
    z.object({
      id: z.string(),
      title: z.string(),
      points: z.number(),
      checks: z.array(z.object({ id: z.string(), kind: z.string(), message: z.string(), weight: z.number(), guard: z.boolean(), required: z.boolean() })),
    }),
  ),
  images: z.array(z.string()),
  /** mdx-bundler output for getMDXComponent(). */
  code: z.string(),
  hash: z.string(),
  /** Killercoda scenarios: steps with a setup of their own, run by the Check that finds the steps before them (`after`, task ids) passed. */
  stepSetups: z.array(z.object({ step: z.number(), after: z.array(z.string()) })).optional(),
});

export const CatalogDto = z.object({
  domains: z.array(z.object({ id: Domain, name: z.string() })),
  /** The 27 competencies of the CKA curriculum, in curriculum order. */
  competencies: z.array(z.object({ code: z.enum(COMPETENCY_CODES), domain: Domain, title: z.string() })),
  tracks: z.array(z.object({ id: z.string(), title: z.string(), summary: z.string(), order: z.number(), origin: OriginDto.optional() })),
  labs: z.array(LabSummaryDto),
  /** Only for instructors and admins: labs that failed to load, with their problems. */
  broken: z.array(z.object({ id: z.string(), track: z.string(), title: z.string().optional(), problems: z.array(ProblemDto) })),
});

export const LabReloadDto = z.object({ loaded: z.number(), broken: z.number(), durationMs: z.number(), problems: z.array(ProblemDto) });

export const LabBodyQuery = z.object({ v: z.string().max(64).optional() });
/** A lab's compiled instructions: JavaScript text (text/javascript), not JSON. */
export const LabBodyText = z.string().describe('an ES module (text/javascript)');

// ---------------------------------------------------------------------------------------------
// Attempts

export const AttemptDto = z.object({
  id: z.string(),
  labId: z.string(),
  labTitle: z.string().nullable(),
  status: z.enum(ATTEMPT_STATUSES),
  shape: z.string(),
  kubernetes: z.string(),
  clusterName: z.string().nullable(),
  /** 1-based place in the queue while queued. */
  queuePosition: z.number().nullable(),
  /** While being prepared: the median Start → ready of recent starts of this cluster shape. */
  estimateMs: z.number().nullable(),
  /** While queued: at the latest this long until a cluster frees up for this place (running attempts' time limits and idle timeouts); null when unknown. */
  queueWaitMs: z.number().nullable(),
  createdAt: z.string(),
  readyAt: z.string().nullable(),
  endedAt: z.string().nullable(),
  expiresAt: z.string().nullable(),
  lastActivityAt: z.string(),
  endReason: z.string().nullable(),
  failure: z.object({ step: z.string().nullable(), message: z.string(), output: z.string().nullable() }).nullable(),
  /** The values this attempt drew for its lab's params (the text's <Param name>); empty for a lab without params. */
  params: z.record(z.string(), z.string()),
});
export const AttemptListDto = z.object({ attempts: z.array(AttemptDto) });
/** What a provisioning step reports: running, then done or failed; skipped (not needed here) or not-run (an earlier step failed). */
export const STEP_STATES = ['running', 'done', 'failed', 'skipped', 'not-run'] as const;
/** One line of an attempt's plan: a step (or a part of one) listed before any runs. */
export const PlanEntryDto = z.object({
  name: z.string(),
  /** The declared step the line belongs to. */
  phase: z.string(),
  /** The declared step's own timeout. */
  timeoutMs: z.number(),
  /** skipped: a warm cluster did it when it was made (note says so). */
  state: z.enum(['pending', 'skipped']),
  note: z.string().optional(),
});
/** One Server-Sent Event of an attempt's progress (the data of each `event:` line). The first is the plan. */
export const AttemptEventDto = z.object({
  seq: z.number(),
  at: z.string(),
  type: z.enum(['plan', 'status', 'step', 'queue']),
  name: z.string(),
  state: z.enum(STEP_STATES).nullable(),
  elapsedMs: z.number(),
  position: z.number().nullable(),
  output: z.string().nullable(),
  /** type plan: every step the preparation will report, in order (a later plan replaces an earlier one). */
  plan: z.array(PlanEntryDto).optional(),
});
export const StartAttemptBody = z.object({ labId: z.string().min(1).max(100) });
export const AttemptEventsQuery = z.object({ after: z.coerce.number().int().min(0).optional() });

// ---------------------------------------------------------------------------------------------
// Grading and progress

export const CheckReportDto = z.object({
  id: z.string(),
  kind: z.string(),
  message: z.string(),
  status: z.enum(['pass', 'fail', 'error']),
  guard: z.boolean(),
  /** Absent in grades stored before required checks existed. */
  required: z.boolean().optional(),
  weight: z.number(),
  points: z.number(),
  maxPoints: z.number(),
  expected: z.string().optional(),
  actual: z.string().optional(),
  explanation: z.string().optional(),
  /** Why a passing check earned nothing (vetoed task, or a guard waiting for the task's work). */
  scoreNote: z.string().optional(),
  durationMs: z.number(),
});
export const TaskReportDto = z.object({
  id: z.string(),
  title: z.string(),
  points: z.number(),
  score: z.number(),
  /** Ids of the required checks that did not pass: why the task scores 0. */
  vetoedBy: z.array(z.string()).optional(),
  checks: z.array(CheckReportDto),
});
export const GradeReportDto = z.object({
  labId: z.string(),
  score: z.number(),
  maxScore: z.number(),
  percent: z.number(),
  tasks: z.array(TaskReportDto),
  gradedAt: z.string(),
  durationMs: z.number(),
});
/** A Killercoda scenario step whose own setup (background) ran when the learner reached it; its output when it failed. */
export const PreparedStepDto = z.object({ step: z.number(), title: z.string(), ok: z.boolean(), output: z.string() });
/** Where the learner is in a walkthrough attempt; step is steps + 1 once they pressed Done. */
export const WalkthroughDto = z.object({
  step: z.number(),
  steps: z.number(),
  done: z.boolean(),
  /** Step backgrounds run when their step was reached (by this move, or all so far when read). */
  stepsPrepared: z.array(PreparedStepDto),
});
/** Next step / Done: `from` is the step the learner is leaving (a press for a step already left moves nothing). */
export const WalkthroughNextBody = z.object({ from: z.number().int().min(1).max(1000) });

export const GradeDto = z.object({
  id: z.string(),
  attemptId: z.string(),
  labId: z.string(),
  score: z.number(),
  maxScore: z.number(),
  createdAt: z.string(),
  report: GradeReportDto,
  /** Killercoda scenarios: later steps this Check reached, whose own setup then ran (its output when it failed). */
  stepsPrepared: z.array(PreparedStepDto).optional(),
});
export const GradeListDto = z.object({ grades: z.array(GradeDto) });

export const ProgressDto = z.object({
  labs: z.array(z.object({ labId: z.string(), score: z.number(), maxScore: z.number(), status: z.enum(['done', 'partial', 'tried']) })),
});
export const LabResultDto = z.object({
  /** The newest grade of the lab, and the attempt it graded (with how long the learner worked). */
  result: z
    .object({
      grade: GradeDto,
      attempt: z
        .object({ id: z.string(), status: z.string(), createdAt: z.string(), readyAt: z.string().nullable(), endedAt: z.string().nullable() })
        .nullable(),
    })
    .nullable(),
});

// ---------------------------------------------------------------------------------------------
// Terminals

export const TerminalDto = z.object({
  id: z.string(),
  kind: z.enum(['shell', 'node']),
  title: z.string(),
  node: z.string().nullable(),
  createdAt: z.string(),
  clients: z.number(),
});
export const TerminalListDto = z.object({ mode: z.enum(['host', 'container', 'unavailable']), terminals: z.array(TerminalDto) });
export const NodeNameDto = z.object({ name: z.string(), container: z.string() });
export const NodeListDto = z.object({ nodes: z.array(NodeNameDto) });
export const TicketDto = z.object({ ticket: z.string(), expiresAt: z.string(), protocols: z.array(z.string()), path: z.string() });
export const OpenTerminalBody = z.object({
  kind: z.enum(['shell', 'node']).default('shell'),
  node: z
    .string()
    .regex(/^[a-zA-Z0-9.-]{1,100}$/)
    .optional(),
});

// ---------------------------------------------------------------------------------------------
// Exams

export const ExamTaskDto = z.object({
  number: z.number(),
  labId: z.string(),
  taskIds: z.array(z.string()),
  cluster: z.string(),
  weight: z.number(),
  title: z.string(),
  domain: Domain,
});
export const ExamClusterDto = z.object({ name: z.string(), workers: z.number(), cni: z.string(), networkPolicy: z.boolean() });
export const ExamSummaryDto = z.object({
  id: z.string(),
  title: z.string(),
  summary: z.string(),
  minutes: z.number(),
  passPercent: z.number(),
  kubernetes: z.string(),
  clusters: z.array(ExamClusterDto),
  tasks: z.array(ExamTaskDto),
});
export const ExamListDto = z.object({ exams: z.array(ExamSummaryDto) });
export const ExamResultDto = z.object({
  score: z.number(),
  maxScore: z.number(),
  percent: z.number(),
  passPercent: z.number(),
  passed: z.boolean(),
  gradedAt: z.string(),
  durationMs: z.number(),
  tasks: z.array(
    z.object({
      number: z.number(),
      labId: z.string(),
      title: z.string(),
      domain: Domain,
      cluster: z.string(),
      weight: z.number(),
      score: z.number(),
      reports: z.array(TaskReportDto),
      error: z.string().optional(),
    }),
  ),
});
export const ExamTaskMarksDto = z.object({ number: z.number(), opened: z.boolean(), flagged: z.boolean(), notes: z.string(), timeMs: z.number() });
export const ExamAttemptDto = z.object({
  id: z.string(),
  examId: z.string(),
  status: z.enum(EXAM_STATUSES),
  exam: ExamSummaryDto.omit({ summary: true }),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  deadlineAt: z.string().nullable(),
  submittedAt: z.string().nullable(),
  submitReason: z.enum(['learner', 'time']).nullable(),
  reviewUntil: z.string().nullable(),
  endedAt: z.string().nullable(),
  failure: z.string().nullable(),
  inputUnlocked: z.boolean(),
  serverNow: z.string(),
  remainingMs: z.number().nullable(),
  focusTask: z.number().nullable(),
  tasks: z.array(ExamTaskDto.extend(ExamTaskMarksDto.omit({ number: true }).shape)),
  clusters: z.array(
    z.object({
      context: z.string(),
      attemptId: z.string(),
      status: z.string(),
      queuePosition: z.number().nullable(),
      nodes: z.array(NodeNameDto),
      /** The cluster's plan with each step's state so far (pending until it runs). */
      steps: z.array(z.object({ name: z.string(), state: z.enum(['pending', ...STEP_STATES]), elapsedMs: z.number(), note: z.string().optional() })),
      failure: z.string().nullable(),
    }),
  ),
  result: ExamResultDto.nullable(),
  regrade: ExamResultDto.nullable(),
  /** The values this exam attempt drew for its parametrised labs: lab id → param → value (the text's <Param>). */
  params: z.record(z.string(), z.record(z.string(), z.string())),
});
export const ExamHistoryDto = z.object({
  attempts: z.array(
    z.object({
      id: z.string(),
      examId: z.string(),
      title: z.string(),
      status: z.enum(EXAM_STATUSES),
      createdAt: z.string(),
      submittedAt: z.string().nullable(),
      percent: z.number().nullable(),
      passed: z.boolean().nullable(),
      passPercent: z.number(),
      /** Seconds from the start of the countdown to the submission. */
      seconds: z.number().nullable(),
      domains: z.array(z.object({ id: Domain, score: z.number(), maxScore: z.number() })),
    }),
  ),
  domains: z.array(z.object({ id: Domain, name: z.string() })),
});
export const ExamFocusBody = z.object({ number: z.number().int().min(1) });
export const ExamMarkBody = z.object({ flagged: z.boolean().optional(), notes: z.string().max(20_000).optional() });
/** The actions on an exam attempt that answer the attempt (POST /api/exam-attempts/:examAttemptId/<action>). */
export const EXAM_ACTIONS = ['submit', 'regrade', 'unlock', 'finish'] as const;
export const LabRecordsDto = z.object({
  labs: z.array(
    z.object({
      labId: z.string(),
      title: z.string().nullable(),
      domain: Domain.nullable(),
      minutes: z.number().nullable(),
      attempts: z.number(),
      bestScore: z.number().nullable(),
      maxScore: z.number().nullable(),
      bestSeconds: z.number().nullable(),
      lastAt: z.string(),
    }),
  ),
});
export const SolutionDto = z.object({ files: z.array(z.object({ path: z.string(), text: z.string() })) });

// ---------------------------------------------------------------------------------------------
// Study groups

export const GroupDto = z.object({
  id: z.string(),
  name: z.string(),
  maxClusters: z.number().nullable(),
  expiresAt: z.string().nullable(),
  expired: z.boolean(),
  createdAt: z.string(),
  /** How the caller relates to the group. */
  yourRole: Role,
  /** The invite (instructors and admins only): the code, and the link built from publicUrl. */
  inviteCode: z.string().nullable(),
  inviteUrl: z.string().nullable(),
  memberCount: z.number(),
  activeAttempts: z.number(),
});
export const GroupListDto = z.object({ groups: z.array(GroupDto) });
export const MemberDto = z.object({
  id: z.string(),
  username: z.string(),
  displayName: z.string(),
  groupRole: z.enum(['learner', 'instructor']),
  joinedAt: z.string(),
});
export const AssignmentDto = z.object({
  id: z.string(),
  groupId: z.string(),
  /** A lab, or a mock exam (itemId is then the exam's id). */
  kind: z.enum(['lab', 'exam']),
  itemId: z.string(),
  /** The lab's or exam's title; null when it is no longer offered. */
  title: z.string().nullable(),
  dueAt: z.string().nullable(),
  createdAt: z.string(),
});
export const GroupDetailDto = GroupDto.extend({ members: z.array(MemberDto), assignments: z.array(AssignmentDto) });
export const CreateGroupBody = z.object({
  name: z.string().trim().min(1).max(80),
  maxClusters: z.number().int().min(1).max(1000).nullable().default(null).describe("clusters the group's learners may run at once"),
  expiresAt: isoDate.nullable().default(null),
});
export const UpdateGroupBody = z.object({
  name: z.string().trim().min(1).max(80).optional(),
  maxClusters: z.number().int().min(1).max(1000).nullable().optional(),
  expiresAt: isoDate.nullable().optional(),
});
export const JoinGroupBody = z.object({ inviteCode: z.string().min(1).max(100) });
export const AssignBody = z
  .object({ labId: z.string().min(1).max(100).optional(), examId: z.string().min(1).max(100).optional(), dueAt: isoDate.nullable().default(null) })
  .refine((b) => (b.labId === undefined) !== (b.examId === undefined), { message: 'name either labId (a lab) or examId (a mock exam), not both' });
export const ActivityDto = z.object({
  generatedAt: z.string(),
  members: z.array(
    z.object({
      learner: MemberDto.pick({ id: true, username: true, displayName: true }),
      attempt: z
        .object({
          id: z.string(),
          labId: z.string(),
          labTitle: z.string().nullable(),
          status: z.string(),
          active: z.boolean(),
          startedAt: z.string(),
          /** Minutes since the cluster was ready (until the attempt ended). */
          minutesInLab: z.number().nullable(),
          lastActivityAt: z.string().nullable(),
          lastScore: z.number().nullable(),
          maxScore: z.number().nullable(),
          lastCheckAt: z.string().nullable(),
        })
        .nullable(),
    }),
  ),
});
/** For an exam, bestScore/maxScore are the best submitted result in percent (of 100), and done means passed. */
export const MyAssignmentDto = AssignmentDto.extend({
  groupName: z.string(),
  bestScore: z.number().nullable(),
  maxScore: z.number().nullable(),
  state: z.enum(['todo', 'started', 'done']),
  overdue: z.boolean(),
});
export const MyAssignmentListDto = z.object({ assignments: z.array(MyAssignmentDto) });
/** The results of a group as CSV text (text/csv), not JSON. */
export const GroupResultsCsv = z.string().describe('CSV (text/csv): one row per learner and lab');
export const MemberTerminalsDto = z.object({ attemptId: z.string().nullable(), terminals: z.array(TerminalDto) });
export const SetRoleBody = z.object({ role: Role });
export const LearnerRoleDto = LearnerDto;
