import type { ParamValues } from '../labs/params.ts';
import type { PlanEntry } from '../provisioner/pipeline.ts';
import type { Db } from '../storage/db.ts';

/** Where an attempt is in its life. */
export const ATTEMPT_STATUSES = ['queued', 'provisioning', 'setting-up', 'ready', 'grading', 'finished', 'failed', 'expired'] as const;
export type AttemptStatus = (typeof ATTEMPT_STATUSES)[number];
/** Statuses after which nothing happens any more. */
export const ENDED: ReadonlySet<AttemptStatus> = new Set(['finished', 'failed', 'expired']);

/** One attempt as stored. Times are ISO strings. */
export interface Attempt {
  id: string;
  learnerId: string;
  labId: string;
  status: AttemptStatus;
  shape: string;
  kubernetes: string;
  clusterName: string | null;
  createdAt: string;
  updatedAt: string;
  readyAt: string | null;
  endedAt: string | null;
  expiresAt: string | null;
  lastActivityAt: string;
  endReason: string | null;
  failureStep: string | null;
  failureMessage: string | null;
  failureOutput: string | null;
  /** The exam attempt this cluster attempt belongs to (several clusters, one exam), or null. */
  examAttemptId: string | null;
  /** Labs whose setups go on this cluster, in order (exam clusters); null: the attempt's own lab. */
  setupLabs: string[] | null;
  /** The values drawn for the attempt's parametrised labs (lab id → values); null: none has params. */
  params: Record<string, ParamValues> | null;
}

/** One progress event of an attempt; seq is the SSE event id. */
export interface AttemptEvent {
  seq: number;
  at: string;
  type: 'plan' | 'status' | 'step' | 'queue';
  name: string;
  state: 'running' | 'done' | 'failed' | 'skipped' | 'not-run' | null;
  elapsedMs: number;
  position: number | null;
  output: string | null;
  /** plan: every step the attempt's preparation will report, in order, before any runs. */
  plan?: PlanEntry[];
}

/** A kind cluster this server owns, as stored for reconcile. */
export interface ClusterRow {
  name: string;
  shape: string;
  state: 'creating' | 'warm' | 'claimed';
  attemptId: string | null;
  createdAt: string;
}

type Row = Record<string, string | number | null>;

const toAttempt = (r: Row): Attempt => ({
  id: r.id as string,
  learnerId: r.learner_id as string,
  labId: r.lab_id as string,
  status: r.status as AttemptStatus,
  shape: r.shape as string,
  kubernetes: r.kubernetes as string,
  clusterName: r.cluster_name as string | null,
  createdAt: r.created_at as string,
  updatedAt: r.updated_at as string,
  readyAt: r.ready_at as string | null,
  endedAt: r.ended_at as string | null,
  expiresAt: r.expires_at as string | null,
  lastActivityAt: r.last_activity_at as string,
  endReason: r.end_reason as string | null,
  failureStep: r.failure_step as string | null,
  failureMessage: r.failure_message as string | null,
  failureOutput: r.failure_output as string | null,
  examAttemptId: (r.exam_attempt_id as string | null) ?? null,
  setupLabs: typeof r.setup_labs === 'string' ? (JSON.parse(r.setup_labs) as string[]) : null,
  params: typeof r.params === 'string' ? (JSON.parse(r.params) as Record<string, ParamValues>) : null,
});

const COLUMNS: Record<keyof Attempt, string> = {
  id: 'id',
  learnerId: 'learner_id',
  labId: 'lab_id',
  status: 'status',
  shape: 'shape',
  kubernetes: 'kubernetes',
  clusterName: 'cluster_name',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
  readyAt: 'ready_at',
  endedAt: 'ended_at',
  expiresAt: 'expires_at',
  lastActivityAt: 'last_activity_at',
  endReason: 'end_reason',
  failureStep: 'failure_step',
  failureMessage: 'failure_message',
  failureOutput: 'failure_output',
  examAttemptId: 'exam_attempt_id',
  setupLabs: 'setup_labs',
  params: 'params',
};

const columnValue = (k: keyof Attempt, v: Attempt[keyof Attempt] | undefined): string | null =>
  k === 'setupLabs' || k === 'params' ? (v ? JSON.stringify(v) : null) : ((v as string | null | undefined) ?? null);

/** SQL for attempts, their events and our clusters; nothing else touches these tables. */
export class AttemptRepository {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  insert(a: Attempt): void {
    const keys = Object.keys(COLUMNS) as (keyof Attempt)[];
    this.#db
      .prepare(`INSERT INTO attempts (${keys.map((k) => COLUMNS[k]).join(', ')}) VALUES (${keys.map(() => '?').join(', ')})`)
      .run(...keys.map((k) => columnValue(k, a[k])));
  }

  /** Writes the given fields of one attempt. */
  update(id: string, fields: Partial<Omit<Attempt, 'id'>>): void {
    const entries = Object.entries(fields) as [Exclude<keyof Attempt, 'id'>, Attempt[keyof Attempt]][];
    if (!entries.length) return;
    this.#db
      .prepare(`UPDATE attempts SET ${entries.map(([k]) => `${COLUMNS[k]} = ?`).join(', ')} WHERE id = ?`)
      .run(...entries.map(([k, v]) => columnValue(k, v)), id);
  }

  get(id: string): Attempt | undefined {
    const r = this.#db.prepare('SELECT * FROM attempts WHERE id = ?').get(id) as Row | undefined;
    return r ? toAttempt(r) : undefined;
  }

  /** A learner's attempts, newest first. */
  forLearner(learnerId: string, limit = 50): Attempt[] {
    return (this.#db.prepare('SELECT * FROM attempts WHERE learner_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?').all(learnerId, limit) as Row[]).map(
      toAttempt,
    );
  }

  /** Attempts that have not ended, oldest first. */
  active(): Attempt[] {
    return (this.#db.prepare("SELECT * FROM attempts WHERE status NOT IN ('finished', 'failed', 'expired') ORDER BY created_at, rowid").all() as Row[]).map(
      toAttempt,
    );
  }

  addEvent(attemptId: string, e: AttemptEvent): void {
    this.#db
      .prepare('INSERT INTO attempt_events (attempt_id, seq, at, type, name, state, elapsed_ms, position, output, plan) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(attemptId, e.seq, e.at, e.type, e.name, e.state, Math.round(e.elapsedMs), e.position, e.output, e.plan ? JSON.stringify(e.plan) : null);
  }

  /** Events after seq `after`, in order. */
  events(attemptId: string, after = 0): AttemptEvent[] {
    return (this.#db.prepare('SELECT * FROM attempt_events WHERE attempt_id = ? AND seq > ? ORDER BY seq').all(attemptId, after) as Row[]).map((r) => ({
      seq: r.seq as number,
      at: r.at as string,
      type: r.type as AttemptEvent['type'],
      name: r.name as string,
      state: r.state as AttemptEvent['state'],
      elapsedMs: r.elapsed_ms as number,
      position: r.position as number | null,
      output: r.output as string | null,
      ...(r.plan ? { plan: JSON.parse(r.plan as string) as PlanEntry[] } : {}),
    }));
  }

  /** Start → ready (ms) of the newest attempts of a shape that reached ready, with or without the given step (and never with `exceptStep`). */
  recentStartMs(shape: string, withStep: string, had: boolean, limit: number, exceptStep = ''): number[] {
    const rows = this.#db
      .prepare(
        `SELECT (julianday(a.ready_at) - julianday(a.created_at)) * 86400000.0 AS ms FROM attempts a
         WHERE a.shape = ? AND a.ready_at IS NOT NULL
           AND EXISTS (SELECT 1 FROM attempt_events e WHERE e.attempt_id = a.id AND e.type = 'step' AND e.name = ?) = ?
           AND NOT EXISTS (SELECT 1 FROM attempt_events e WHERE e.attempt_id = a.id AND e.type = 'step' AND e.name = ?)
         ORDER BY a.created_at DESC, a.rowid DESC LIMIT ?`,
      )
      .all(shape, withStep, had ? 1 : 0, exceptStep, limit) as { ms: number }[];
    return rows.map((r) => Math.round(r.ms));
  }

  lastSeq(attemptId: string): number {
    const r = this.#db.prepare('SELECT MAX(seq) AS s FROM attempt_events WHERE attempt_id = ?').get(attemptId) as { s: number | null };
    return r.s ?? 0;
  }

  saveCluster(c: ClusterRow): void {
    this.#db
      .prepare(
        'INSERT INTO clusters (name, shape, state, attempt_id, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET state = excluded.state, attempt_id = excluded.attempt_id',
      )
      .run(c.name, c.shape, c.state, c.attemptId, c.createdAt);
  }

  deleteCluster(name: string): void {
    this.#db.prepare('DELETE FROM clusters WHERE name = ?').run(name);
  }

  /** Records what setup a warm cluster already has (null: none); kept beside its row. */
  savePreset(name: string, preset: unknown): void {
    this.#db.prepare('UPDATE clusters SET preset = ? WHERE name = ?').run(preset === null ? null : JSON.stringify(preset), name);
  }

  /** The recorded setups of pre-set-up clusters, by cluster name. */
  presets(): Map<string, unknown> {
    const rows = this.#db.prepare('SELECT name, preset FROM clusters WHERE preset IS NOT NULL').all() as { name: string; preset: string }[];
    return new Map(rows.map((r) => [r.name, JSON.parse(r.preset) as unknown]));
  }

  /** What the newest attempts started (lab id, or an exam cluster's label), newest first, with their cluster's recipe. */
  recentStarts(limit: number): Pick<Attempt, 'labId' | 'shape' | 'kubernetes' | 'setupLabs' | 'examAttemptId' | 'createdAt'>[] {
    return (this.#db.prepare('SELECT * FROM attempts ORDER BY created_at DESC, rowid DESC LIMIT ?').all(limit) as Row[]).map(toAttempt);
  }

  clusters(): ClusterRow[] {
    return (this.#db.prepare('SELECT * FROM clusters ORDER BY created_at').all() as Row[]).map((r) => ({
      name: r.name as string,
      shape: r.shape as string,
      state: r.state as ClusterRow['state'],
      attemptId: r.attempt_id as string | null,
      createdAt: r.created_at as string,
    }));
  }
}
