import type { z } from 'zod';
import type { AdminHealthDto } from '../../../server/src/routes/api/admin-health.ts';
import type { AdminUsageDto } from '../../../server/src/routes/api/admin-usage.ts';
import type { AttemptDto, AttemptEventDto } from '../../../server/src/routes/api/attempts.ts';
import type { LabDetailDto, LabSummaryDto } from '../../../server/src/routes/api/labs.ts';
import type { GradeDto, GradeListDto } from '../../../server/src/routes/api/attempt-grades.ts';
import type { NodeListDto, TerminalDto, TerminalListDto, TicketDto } from '../../../server/src/routes/api/terminals.ts';
import type { LabResultDto, ProgressDto } from '../../../server/src/routes/api/progress.ts';
import type { ExamAttemptDto, ExamHistoryDto, ExamSummaryDto } from '../../../server/src/routes/api/exams.ts';
import type { ActivityDto, GroupDetailDto, GroupDto, MyAssignmentDto } from '../../../server/src/routes/api/groups.ts';

// The browser's API layer: typed calls to the server. Components never build URLs themselves.

export type LabSummary = z.infer<typeof LabSummaryDto>;
export type LabDetail = z.infer<typeof LabDetailDto>;
export type Problem = { file: string; line: number; col: number; message: string; hint?: string; severity: 'error' | 'warning' };
export type Catalog = {
  domains: { id: LabSummary['domain']; name: string }[];
  /** The CKA curriculum's competencies (code, domain, title). */
  competencies: { code: LabSummary['competencies'][number]; domain: LabSummary['domain']; title: string }[];
  tracks: { id: string; title: string; summary: string; order: number; origin?: { kind: 'killercoda'; source: string } }[];
  labs: LabSummary[];
  broken: { id: string; track: string; title?: string; problems: Problem[] }[];
};
export type Attempt = z.infer<typeof AttemptDto>;
export type AttemptEvent = z.infer<typeof AttemptEventDto>;
export type AdminHealth = z.infer<typeof AdminHealthDto>;
export type AdminUsage = z.infer<typeof AdminUsageDto>;
export type TerminalInfo = z.infer<typeof TerminalDto>;
export type TerminalList = z.infer<typeof TerminalListDto>;
export type TerminalTicket = z.infer<typeof TicketDto>;
export type Grade = z.infer<typeof GradeDto>;
export type GradeList = z.infer<typeof GradeListDto>;
export type GradeReport = Grade['report'];
export type NodeName = z.infer<typeof NodeListDto>['nodes'][number];
export type Progress = z.infer<typeof ProgressDto>;
export type LabResult = NonNullable<z.infer<typeof LabResultDto>['result']>;
export type GradedCheck = GradeReport['tasks'][number]['checks'][number];
export type ExamSummary = z.infer<typeof ExamSummaryDto>;
export type ExamAttempt = z.infer<typeof ExamAttemptDto>;
export type ExamHistory = z.infer<typeof ExamHistoryDto>;
export type ExamResult = NonNullable<ExamAttempt['result']>;
export type Group = z.infer<typeof GroupDto>;
export type GroupDetail = z.infer<typeof GroupDetailDto>;
export type GroupActivity = z.infer<typeof ActivityDto>;
export type MyAssignment = z.infer<typeof MyAssignmentDto>;
export type Learner = { id: string; username: string; displayName: string; role: 'learner' | 'instructor' | 'admin' };
export type Session = { mode: 'single' | 'multi'; registration: 'open' | 'invite' | 'closed'; learner: Learner | null };

/** An error answer from the API, with its HTTP status and stable code. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
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
    const err = (data as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(res.status, err?.code ?? 'http_error', err?.message ?? `HTTP ${res.status}`);
  }
  return data as T;
}

/** Typed endpoints of the kubedrill API. */
export const api = {
  session: {
    get: (signal?: AbortSignal) => request<Session>('GET', '/api/session', undefined, signal),
    login: (username: string, password: string) => request<Session>('POST', '/api/session/login', { username, password }),
    register: (input: { username: string; password: string; displayName?: string; inviteCode?: string }) => request<Session>('POST', '/api/session/register', input),
    logout: () => request<void>('POST', '/api/session/logout', {}),
  },
  terminals: {
    list: (attemptId: string, signal?: AbortSignal) => request<TerminalList>('GET', `/api/attempts/${encodeURIComponent(attemptId)}/terminals`, undefined, signal),
    open: (attemptId: string, input: { kind: 'shell' | 'node'; node?: string }) => request<TerminalInfo>('POST', `/api/attempts/${encodeURIComponent(attemptId)}/terminals`, input),
    close: (attemptId: string, terminalId: string) => request<void>('DELETE', `/api/attempts/${encodeURIComponent(attemptId)}/terminals/${encodeURIComponent(terminalId)}`),
    /** The cluster's nodes as the exam names them (controlplane, node01…) with their Kubernetes names. */
    nodes: (attemptId: string, signal?: AbortSignal) => request<{ nodes: NodeName[] }>('GET', `/api/attempts/${encodeURIComponent(attemptId)}/nodes`, undefined, signal),
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
  progress: {
    /** Best score per lab the learner graded (done / partial / tried), for the catalog. */
    all: (signal?: AbortSignal) => request<Progress>('GET', '/api/progress', undefined, signal),
    /** The newest grade of one lab and the attempt it graded. */
    lab: (labId: string, signal?: AbortSignal) => request<{ result: LabResult | null }>('GET', `/api/progress/${encodeURIComponent(labId)}`, undefined, signal),
  },
  attempts: {
    start: (labId: string) => request<Attempt>('POST', '/api/attempts', { labId }),
    list: (signal?: AbortSignal) => request<{ attempts: Attempt[] }>('GET', '/api/attempts', undefined, signal),
    get: (id: string, signal?: AbortSignal) => request<Attempt>('GET', `/api/attempts/${encodeURIComponent(id)}`, undefined, signal),
    finish: (id: string) => request<Attempt>('POST', `/api/attempts/${encodeURIComponent(id)}/finish`, {}),
    /** An EventSource of the attempt's progress (it resumes with Last-Event-ID by itself). */
    events: (id: string) => new EventSource(`/api/attempts/${encodeURIComponent(id)}/events`),
  },
  exams: {
    list: (signal?: AbortSignal) => request<{ exams: ExamSummary[] }>('GET', '/api/exams', undefined, signal),
    start: (examId: string) => request<ExamAttempt>('POST', `/api/exams/${encodeURIComponent(examId)}/attempts`, {}),
    history: (signal?: AbortSignal) => request<ExamHistory>('GET', '/api/exam-attempts', undefined, signal),
    get: (id: string, signal?: AbortSignal) => request<ExamAttempt>('GET', `/api/exam-attempts/${encodeURIComponent(id)}`, undefined, signal),
    focus: (id: string, number: number) => request<void>('POST', `/api/exam-attempts/${encodeURIComponent(id)}/focus`, { number }),
    mark: (id: string, number: number, fields: { flagged?: boolean; notes?: string }) =>
      request<ExamAttempt['tasks'][number]>('PUT', `/api/exam-attempts/${encodeURIComponent(id)}/tasks/${number}`, fields),
    /** submit | regrade | unlock | finish */
    act: (id: string, action: 'submit' | 'regrade' | 'unlock' | 'finish') => request<ExamAttempt>('POST', `/api/exam-attempts/${encodeURIComponent(id)}/${action}`, {}),
    labRecords: (signal?: AbortSignal) =>
      request<{ labs: { labId: string; title: string | null; domain: string | null; minutes: number | null; attempts: number; bestScore: number | null; maxScore: number | null; bestSeconds: number | null; lastAt: string }[] }>('GET', '/api/history/labs', undefined, signal),
    solution: (id: string, number: number, signal?: AbortSignal) =>
      request<{ files: { path: string; text: string }[] }>('GET', `/api/exam-attempts/${encodeURIComponent(id)}/tasks/${number}/solution`, undefined, signal),
  },
  groups: {
    list: (signal?: AbortSignal) => request<{ groups: Group[] }>('GET', '/api/groups', undefined, signal),
    get: (id: string, signal?: AbortSignal) => request<GroupDetail>('GET', `/api/groups/${encodeURIComponent(id)}`, undefined, signal),
    create: (input: { name: string; maxClusters?: number | null; expiresAt?: string | null }) => request<GroupDetail>('POST', '/api/groups', input),
    update: (id: string, input: { name?: string; maxClusters?: number | null; expiresAt?: string | null }) => request<GroupDetail>('PATCH', `/api/groups/${encodeURIComponent(id)}`, input),
    rotateInvite: (id: string) => request<GroupDetail>('POST', `/api/groups/${encodeURIComponent(id)}/invite`, {}),
    join: (inviteCode: string) => request<Group>('POST', '/api/groups/join', { inviteCode }),
    removeMember: (id: string, learnerId: string) => request<void>('DELETE', `/api/groups/${encodeURIComponent(id)}/members/${encodeURIComponent(learnerId)}`),
    assign: (id: string, labId: string, dueAt: string | null) => request<GroupDetail['assignments'][number]>('POST', `/api/groups/${encodeURIComponent(id)}/assignments`, { labId, dueAt }),
    unassign: (id: string, assignmentId: string) => request<void>('DELETE', `/api/groups/${encodeURIComponent(id)}/assignments/${encodeURIComponent(assignmentId)}`),
    activity: (id: string, signal?: AbortSignal) => request<GroupActivity>('GET', `/api/groups/${encodeURIComponent(id)}/activity`, undefined, signal),
    memberTerminals: (id: string, learnerId: string, signal?: AbortSignal) =>
      request<{ attemptId: string | null; terminals: TerminalInfo[] }>('GET', `/api/groups/${encodeURIComponent(id)}/members/${encodeURIComponent(learnerId)}/terminals`, undefined, signal),
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
    mine: (signal?: AbortSignal) => request<{ assignments: MyAssignment[] }>('GET', '/api/assignments', undefined, signal),
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
    reload: () => request<{ loaded: number; broken: number; durationMs: number; problems: Problem[] }>('POST', '/api/labs/reload', {}),
  },
};
