import type { Db } from '../storage/db.ts';
import type { ExamResult } from './exam-grading.ts';
import type { ExamClusterDecl } from './format.ts';
import type { ExamTask } from './loader.ts';

/** Where an exam attempt is in its life. */
export const EXAM_STATUSES = ['starting', 'running', 'grading', 'review', 'finished', 'failed'] as const;
export type ExamStatus = (typeof EXAM_STATUSES)[number];
export const EXAM_ENDED: ReadonlySet<ExamStatus> = new Set(['finished', 'failed']);

/** The exam as it was when the attempt started (history stays readable when exam.yaml changes). */
export interface ExamSnapshot {
  id: string;
  title: string;
  minutes: number;
  passPercent: number;
  kubernetes: string;
  clusters: ExamClusterDecl[];
  tasks: ExamTask[];
}

/** One exam attempt as stored; times are ISO strings. */
export interface ExamAttempt {
  id: string;
  learnerId: string;
  examId: string;
  status: ExamStatus;
  exam: ExamSnapshot;
  createdAt: string;
  startedAt: string | null;
  deadlineAt: string | null;
  submittedAt: string | null;
  submitReason: 'learner' | 'time' | null;
  reviewUntil: string | null;
  endedAt: string | null;
  failure: string | null;
  focusTask: number | null;
  focusSince: string | null;
  inputUnlocked: boolean;
  result: ExamResult | null;
  regrade: ExamResult | null;
}

/** The learner's marks on one task: opened, flagged, notes, time spent (navigator focus). */
export interface ExamTaskState {
  number: number;
  opened: boolean;
  flagged: boolean;
  notes: string;
  timeMs: number;
}

type Row = Record<string, string | number | null>;

const toAttempt = (r: Row): ExamAttempt => ({
  id: r.id as string,
  learnerId: r.learner_id as string,
  examId: r.exam_id as string,
  status: r.status as ExamStatus,
  exam: JSON.parse(r.exam as string) as ExamSnapshot,
  createdAt: r.created_at as string,
  startedAt: r.started_at as string | null,
  deadlineAt: r.deadline_at as string | null,
  submittedAt: r.submitted_at as string | null,
  submitReason: r.submit_reason as ExamAttempt['submitReason'],
  reviewUntil: r.review_until as string | null,
  endedAt: r.ended_at as string | null,
  failure: r.failure as string | null,
  focusTask: r.focus_task as number | null,
  focusSince: r.focus_since as string | null,
  inputUnlocked: r.input_unlocked === 1,
  result: r.result ? (JSON.parse(r.result as string) as ExamResult) : null,
  regrade: r.regrade ? (JSON.parse(r.regrade as string) as ExamResult) : null,
});

const COLUMNS: Record<Exclude<keyof ExamAttempt, 'id'>, string> = {
  learnerId: 'learner_id',
  examId: 'exam_id',
  status: 'status',
  exam: 'exam',
  createdAt: 'created_at',
  startedAt: 'started_at',
  deadlineAt: 'deadline_at',
  submittedAt: 'submitted_at',
  submitReason: 'submit_reason',
  reviewUntil: 'review_until',
  endedAt: 'ended_at',
  failure: 'failure',
  focusTask: 'focus_task',
  focusSince: 'focus_since',
  inputUnlocked: 'input_unlocked',
  result: 'result',
  regrade: 'regrade',
};

function value(k: keyof ExamAttempt, v: unknown): string | number | null {
  if (v === null || v === undefined) return null;
  if (k === 'exam' || k === 'result' || k === 'regrade') return JSON.stringify(v);
  if (k === 'inputUnlocked') return v ? 1 : 0;
  return v as string | number;
}

/** SQL for exam attempts, their task marks and their clusters (004-exams.sql); nothing else touches these tables. */
export class ExamRepository {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  insert(a: ExamAttempt, clusters: { context: string; attemptId: string }[]): void {
    const keys = Object.keys(COLUMNS) as Exclude<keyof ExamAttempt, 'id'>[];
    this.#db.exec('BEGIN');
    try {
      this.#db
        .prepare(`INSERT INTO exam_attempts (id, ${keys.map((k) => COLUMNS[k]).join(', ')}) VALUES (?, ${keys.map(() => '?').join(', ')})`)
        .run(a.id, ...keys.map((k) => value(k, a[k])));
      const task = this.#db.prepare('INSERT INTO exam_attempt_tasks (exam_attempt_id, number) VALUES (?, ?)');
      for (const t of a.exam.tasks) task.run(a.id, t.number);
      const cluster = this.#db.prepare('INSERT INTO exam_attempt_clusters (exam_attempt_id, context, attempt_id) VALUES (?, ?, ?)');
      for (const c of clusters) cluster.run(a.id, c.context, c.attemptId);
      this.#db.exec('COMMIT');
    } catch (e) {
      this.#db.exec('ROLLBACK');
      throw e;
    }
  }

  /** Writes the given fields of one exam attempt. */
  update(id: string, fields: Partial<Omit<ExamAttempt, 'id'>>): void {
    const entries = Object.entries(fields) as [Exclude<keyof ExamAttempt, 'id'>, unknown][];
    if (!entries.length) return;
    this.#db
      .prepare(`UPDATE exam_attempts SET ${entries.map(([k]) => `${COLUMNS[k]} = ?`).join(', ')} WHERE id = ?`)
      .run(...entries.map(([k, v]) => value(k, v)), id);
  }

  get(id: string): ExamAttempt | undefined {
    const r = this.#db.prepare('SELECT * FROM exam_attempts WHERE id = ?').get(id) as Row | undefined;
    return r ? toAttempt(r) : undefined;
  }

  /** A learner's exam attempts, newest first. */
  forLearner(learnerId: string, limit = 200): ExamAttempt[] {
    return (
      this.#db.prepare('SELECT * FROM exam_attempts WHERE learner_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?').all(learnerId, limit) as Row[]
    ).map(toAttempt);
  }

  /** Exam attempts that have not ended, oldest first. */
  active(): ExamAttempt[] {
    return (this.#db.prepare("SELECT * FROM exam_attempts WHERE status NOT IN ('finished', 'failed') ORDER BY created_at, rowid").all() as Row[]).map(
      toAttempt,
    );
  }

  tasks(id: string): ExamTaskState[] {
    return (this.#db.prepare('SELECT * FROM exam_attempt_tasks WHERE exam_attempt_id = ? ORDER BY number').all(id) as Row[]).map((r) => ({
      number: r.number as number,
      opened: r.opened === 1,
      flagged: r.flagged === 1,
      notes: r.notes as string,
      timeMs: r.time_ms as number,
    }));
  }

  /** Changes one task's marks; addMs adds to its time spent. */
  updateTask(id: string, number: number, fields: { opened?: boolean; flagged?: boolean; notes?: string; addMs?: number }): void {
    const sets: string[] = [];
    const args: (string | number)[] = [];
    if (fields.opened !== undefined) {
      sets.push('opened = ?');
      args.push(fields.opened ? 1 : 0);
    }
    if (fields.flagged !== undefined) {
      sets.push('flagged = ?');
      args.push(fields.flagged ? 1 : 0);
    }
    if (fields.notes !== undefined) {
      sets.push('notes = ?');
      args.push(fields.notes);
    }
    if (fields.addMs) {
      sets.push('time_ms = time_ms + ?');
      args.push(Math.max(0, Math.round(fields.addMs)));
    }
    if (!sets.length) return;
    this.#db.prepare(`UPDATE exam_attempt_tasks SET ${sets.join(', ')} WHERE exam_attempt_id = ? AND number = ?`).run(...args, id, number);
  }

  clusters(id: string): { context: string; attemptId: string }[] {
    return (this.#db.prepare('SELECT context, attempt_id FROM exam_attempt_clusters WHERE exam_attempt_id = ? ORDER BY rowid').all(id) as Row[]).map((r) => ({
      context: r.context as string,
      attemptId: r.attempt_id as string,
    }));
  }
}
