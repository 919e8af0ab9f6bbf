import type { z } from 'zod';
import type * as C from '../../../server/src/api-contract.ts';

// The browser's API layer: typed calls to the server. Components never build URLs themselves.
// Every type here is derived from the server's API contract: answers with z.infer, request bodies
// with z.input (what the client may send before the server's defaults apply).

type Out<T extends z.ZodType> = z.infer<T>;
type In<T extends z.ZodType> = z.input<T>;

export type LabSummary = Out<typeof C.LabSummaryDto>;
export type LabDetail = Out<typeof C.LabDetailDto>;
export type Problem = Out<typeof C.ProblemDto>;
export type Catalog = Out<typeof C.CatalogDto>;
export type Attempt = Out<typeof C.AttemptDto>;
export type AttemptEvent = Out<typeof C.AttemptEventDto>;
export type AdminHealth = Out<typeof C.AdminHealthDto>;
export type AdminUsage = Out<typeof C.AdminUsageDto>;
export type TerminalInfo = Out<typeof C.TerminalDto>;
export type TerminalList = Out<typeof C.TerminalListDto>;
export type TerminalTicket = Out<typeof C.TicketDto>;
export type Grade = Out<typeof C.GradeDto>;
export type GradeList = Out<typeof C.GradeListDto>;
export type Walkthrough = Out<typeof C.WalkthroughDto>;
export type PreparedStep = Out<typeof C.PreparedStepDto>;
export type GradeReport = Grade['report'];
export type NodeName = Out<typeof C.NodeNameDto>;
export type Progress = Out<typeof C.ProgressDto>;
export type LabResult = NonNullable<Out<typeof C.LabResultDto>['result']>;
export type GradedCheck = GradeReport['tasks'][number]['checks'][number];
export type ExamSummary = Out<typeof C.ExamSummaryDto>;
export type ExamAttempt = Out<typeof C.ExamAttemptDto>;
export type ExamHistory = Out<typeof C.ExamHistoryDto>;
export type ExamResult = NonNullable<ExamAttempt['result']>;
export type ExamAction = (typeof C.EXAM_ACTIONS)[number];
export type LabRecords = Out<typeof C.LabRecordsDto>;
export type SolutionFile = Out<typeof C.SolutionDto>['files'][number];
export type Group = Out<typeof C.GroupDto>;
export type GroupDetail = Out<typeof C.GroupDetailDto>;
export type GroupActivity = Out<typeof C.ActivityDto>;
export type MyAssignment = Out<typeof C.MyAssignmentDto>;
export type Learner = Out<typeof C.LearnerDto>;
export type Session = Out<typeof C.SessionDto>;
type ErrorBody = Out<typeof C.ErrorDto>;

/** An error answer from the API, with its HTTP status and stable code. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** The error's details, when the server sent some (e.g. retryAfterSeconds of a 429). */
  readonly details: Record<string, unknown> | undefined;
  constructor(status: number, code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

async function request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
      signal: signal ?? null,
    });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'cannot reach the kubedrill server — is it running?');
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    throw new ApiError(res.status, 'bad_response', `unexpected answer from the server (HTTP ${res.status})`);
  }
  if (!res.ok) {
    // Not every error passes through the API (a proxy's 502 page): the fields are checked, not assumed.
    const err = (data as Partial<ErrorBody> | undefined)?.error;
    throw new ApiError(res.status, err?.code ?? 'http_error', err?.message ?? `HTTP ${res.status}`, err?.details);
  }
  return data as T;
}

/** Typed endpoints of the kubedrill API. */
export const api = {
  session: {
    get: (signal?: AbortSignal) => request<Session>('GET', '/api/session', undefined, signal),
    login: (username: string, password: string) => request<Session>('POST', '/api/session/login', { username, password }),
    register: (input: In<typeof C.Registration>) => request<Session>('POST', '/api/session/register', input),
    logout: () => request<void>('POST', '/api/session/logout', {}),
  },
  terminals: {
    list: (attemptId: string, signal?: AbortSignal) =>
      request<TerminalList>('GET', `/api/attempts/${encodeURIComponent(attemptId)}/terminals`, undefined, signal),
    open: (attemptId: string, input: In<typeof C.OpenTerminalBody>) =>
      request<TerminalInfo>('POST', `/api/attempts/${encodeURIComponent(attemptId)}/terminals`, input),
    close: (attemptId: string, terminalId: string) =>
      request<void>('DELETE', `/api/attempts/${encodeURIComponent(attemptId)}/terminals/${encodeURIComponent(terminalId)}`),
    /** The cluster's nodes as the exam names them (controlplane, node01…) with their Kubernetes names. */
    nodes: (attemptId: string, signal?: AbortSignal) =>
      request<Out<typeof C.NodeListDto>>('GET', `/api/attempts/${encodeURIComponent(attemptId)}/nodes`, undefined, signal),
    ticket: (attemptId: string, terminalId: string) =>
      request<TerminalTicket>('POST', `/api/attempts/${encodeURIComponent(attemptId)}/terminals/${encodeURIComponent(terminalId)}/tickets`, {}),
    /** The ws:// or wss:// URL of a socket path the server handed out with a ticket. */
    socketUrl: (path: string) => `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`,
  },
  grades: {
    /** Grades the attempt's cluster now (takes seconds: every probe opens real connections). */
    grade: (attemptId: string, signal?: AbortSignal) => request<Grade>('POST', `/api/attempts/${encodeURIComponent(attemptId)}/grade`, {}, signal),
    list: (attemptId: string, signal?: AbortSignal) => request<GradeList>('GET', `/api/attempts/${encodeURIComponent(attemptId)}/grades`, undefined, signal),
  },
  walkthrough: {
    /** Where the learner is in a walkthrough attempt (an ungraded Killercoda scenario). */
    get: (attemptId: string, signal?: AbortSignal) =>
      request<Walkthrough>('GET', `/api/attempts/${encodeURIComponent(attemptId)}/walkthrough`, undefined, signal),
    /** Next step (Done on the last) from step `from`; runs the reached step's background, which may take a while. */
    next: (attemptId: string, from: number, signal?: AbortSignal) =>
      request<Walkthrough>('POST', `/api/attempts/${encodeURIComponent(attemptId)}/walkthrough/next`, { from }, signal),
  },
  progress: {
    /** Best score per lab the learner graded (done / partial / tried), for the catalog. */
    all: (signal?: AbortSignal) => request<Progress>('GET', '/api/progress', undefined, signal),
    /** The newest grade of one lab and the attempt it graded. */
    lab: (labId: string, signal?: AbortSignal) => request<Out<typeof C.LabResultDto>>('GET', `/api/progress/${encodeURIComponent(labId)}`, undefined, signal),
  },
  attempts: {
    start: (labId: string) => request<Attempt>('POST', '/api/attempts', { labId }),
    list: (signal?: AbortSignal) => request<Out<typeof C.AttemptListDto>>('GET', '/api/attempts', undefined, signal),
    get: (id: string, signal?: AbortSignal) => request<Attempt>('GET', `/api/attempts/${encodeURIComponent(id)}`, undefined, signal),
    finish: (id: string) => request<Attempt>('POST', `/api/attempts/${encodeURIComponent(id)}/finish`, {}),
    /** An EventSource of the attempt's progress (it resumes with Last-Event-ID by itself). */
    events: (id: string) => new EventSource(`/api/attempts/${encodeURIComponent(id)}/events`),
  },
  exams: {
    list: (signal?: AbortSignal) => request<Out<typeof C.ExamListDto>>('GET', '/api/exams', undefined, signal),
    start: (examId: string) => request<ExamAttempt>('POST', `/api/exams/${encodeURIComponent(examId)}/attempts`, {}),
    history: (signal?: AbortSignal) => request<ExamHistory>('GET', '/api/exam-attempts', undefined, signal),
    get: (id: string, signal?: AbortSignal) => request<ExamAttempt>('GET', `/api/exam-attempts/${encodeURIComponent(id)}`, undefined, signal),
    focus: (id: string, number: number) => request<void>('POST', `/api/exam-attempts/${encodeURIComponent(id)}/focus`, { number }),
    mark: (id: string, number: number, fields: In<typeof C.ExamMarkBody>) =>
      request<Out<typeof C.ExamTaskMarksDto>>('PUT', `/api/exam-attempts/${encodeURIComponent(id)}/tasks/${number}`, fields),
    /** submit | regrade | unlock | finish */
    act: (id: string, action: ExamAction) => request<ExamAttempt>('POST', `/api/exam-attempts/${encodeURIComponent(id)}/${action}`, {}),
    labRecords: (signal?: AbortSignal) => request<LabRecords>('GET', '/api/history/labs', undefined, signal),
    solution: (id: string, number: number, signal?: AbortSignal) =>
      request<Out<typeof C.SolutionDto>>('GET', `/api/exam-attempts/${encodeURIComponent(id)}/tasks/${number}/solution`, undefined, signal),
  },
  groups: {
    list: (signal?: AbortSignal) => request<Out<typeof C.GroupListDto>>('GET', '/api/groups', undefined, signal),
    get: (id: string, signal?: AbortSignal) => request<GroupDetail>('GET', `/api/groups/${encodeURIComponent(id)}`, undefined, signal),
    create: (input: In<typeof C.CreateGroupBody>) => request<GroupDetail>('POST', '/api/groups', input),
    update: (id: string, input: In<typeof C.UpdateGroupBody>) => request<GroupDetail>('PATCH', `/api/groups/${encodeURIComponent(id)}`, input),
    rotateInvite: (id: string) => request<GroupDetail>('POST', `/api/groups/${encodeURIComponent(id)}/invite`, {}),
    join: (inviteCode: string) => request<Group>('POST', '/api/groups/join', { inviteCode }),
    removeMember: (id: string, learnerId: string) => request<void>('DELETE', `/api/groups/${encodeURIComponent(id)}/members/${encodeURIComponent(learnerId)}`),
    /** Assigns a lab ({ labId }) or a mock exam ({ examId }). */
    assign: (id: string, item: { labId: string } | { examId: string }, dueAt: string | null) =>
      request<Out<typeof C.AssignmentDto>>('POST', `/api/groups/${encodeURIComponent(id)}/assignments`, { ...item, dueAt }),
    unassign: (id: string, assignmentId: string) =>
      request<void>('DELETE', `/api/groups/${encodeURIComponent(id)}/assignments/${encodeURIComponent(assignmentId)}`),
    activity: (id: string, signal?: AbortSignal) => request<GroupActivity>('GET', `/api/groups/${encodeURIComponent(id)}/activity`, undefined, signal),
    memberTerminals: (id: string, learnerId: string, signal?: AbortSignal) =>
      request<Out<typeof C.MemberTerminalsDto>>(
        'GET',
        `/api/groups/${encodeURIComponent(id)}/members/${encodeURIComponent(learnerId)}/terminals`,
        undefined,
        signal,
      ),
    /** A ticket to watch a learner's terminal read-only (they are told). */
    watchTicket: (id: string, learnerId: string, attemptId: string, terminalId: string) =>
      request<TerminalTicket>(
        'POST',
        `/api/groups/${encodeURIComponent(id)}/members/${encodeURIComponent(learnerId)}/attempts/${encodeURIComponent(attemptId)}/terminals/${encodeURIComponent(terminalId)}/watch`,
        {},
      ),
    /** Where the browser downloads the group's results as CSV. */
    resultsCsvUrl: (id: string) => `/api/groups/${encodeURIComponent(id)}/results.csv`,
  },
  assignments: {
    mine: (signal?: AbortSignal) => request<Out<typeof C.MyAssignmentListDto>>('GET', '/api/assignments', undefined, signal),
  },
  admin: {
    health: (signal?: AbortSignal) => request<AdminHealth>('GET', '/api/admin/health', undefined, signal),
    usage: (signal?: AbortSignal) => request<AdminUsage>('GET', '/api/admin/usage', undefined, signal),
  },
  labs: {
    list: (signal?: AbortSignal) => request<Catalog>('GET', '/api/labs', undefined, signal),
    get: (id: string, signal?: AbortSignal) => request<LabDetail>('GET', `/api/labs/${encodeURIComponent(id)}`, undefined, signal),
    /** The URL of a lab's compiled instructions as an ES module (the hash makes it cacheable). */
    bodyUrl: (id: string, hash: string) => `/api/labs/${encodeURIComponent(id)}/body.js?v=${encodeURIComponent(hash)}`,
    reload: () => request<Out<typeof C.LabReloadDto>>('POST', '/api/labs/reload', {}),
  },
};
