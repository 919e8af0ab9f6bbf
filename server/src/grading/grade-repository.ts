import { randomUUID } from 'node:crypto';
import type { GradeReport } from '../../../graders/src/engine/types.ts';
import type { Db } from '../storage/db.ts';

/** One stored grade: the report of one press of Check. */
export interface StoredGrade {
  id: string;
  attemptId: string;
  learnerId: string;
  labId: string;
  score: number;
  maxScore: number;
  report: GradeReport;
  createdAt: string;
  /** Killercoda scenarios: later steps this Check reached, whose own setup then ran. */
  stepsPrepared?: PreparedStep[];
}

/** A scenario step whose setup (background script) ran when a Check reached it. */
export interface PreparedStep {
  step: number;
  title: string;
  /** The background exited 0. */
  ok: boolean;
  /** Its output (clipped to the end), shown to the learner when it failed. */
  output: string;
}

interface GradeRow {
  id: string;
  attempt_id: string;
  learner_id: string;
  lab_id: string;
  score: number;
  max_score: number;
  report: string;
  created_at: string;
}

function fromRow(r: GradeRow): StoredGrade {
  return {
    id: r.id,
    attemptId: r.attempt_id,
    learnerId: r.learner_id,
    labId: r.lab_id,
    score: r.score,
    maxScore: r.max_score,
    report: JSON.parse(r.report) as GradeReport,
    createdAt: r.created_at,
  };
}

/** Grades of attempts, newest last; hides the SQL of the grades table (003-grades.sql). */
export class GradeRepository {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /** Stores a report for an attempt and returns the stored grade. */
  add(input: { attemptId: string; learnerId: string; report: GradeReport; now?: Date }): StoredGrade {
    const grade: StoredGrade = {
      id: randomUUID(),
      attemptId: input.attemptId,
      learnerId: input.learnerId,
      labId: input.report.labId,
      score: input.report.score,
      maxScore: input.report.maxScore,
      report: input.report,
      createdAt: (input.now ?? new Date()).toISOString(),
    };
    this.#db
      .prepare('INSERT INTO grades (id, attempt_id, learner_id, lab_id, score, max_score, report, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(grade.id, grade.attemptId, grade.learnerId, grade.labId, grade.score, grade.maxScore, JSON.stringify(grade.report), grade.createdAt);
    return grade;
  }

  /** The learner's grades of one attempt, oldest first, each with the scenario steps it prepared. */
  forAttempt(attemptId: string, learnerId: string): StoredGrade[] {
    const rows = this.#db
      .prepare('SELECT * FROM grades WHERE attempt_id = ? AND learner_id = ? ORDER BY created_at, rowid')
      .all(attemptId, learnerId) as unknown as GradeRow[];
    const steps = this.preparedSteps(attemptId);
    return rows.map((r) => {
      const g = fromRow(r);
      const mine = steps.filter((s) => s.gradeId === g.id).map(({ gradeId: _, ...s }) => s);
      return mine.length ? { ...g, stepsPrepared: mine } : g;
    });
  }

  /** The scenario steps of an attempt whose setup has run (ok or not), in step order. */
  preparedSteps(attemptId: string): (PreparedStep & { gradeId: string })[] {
    const rows = this.#db
      .prepare('SELECT step, grade_id, ok, output, title FROM scenario_steps WHERE attempt_id = ? ORDER BY step')
      .all(attemptId) as unknown as { step: number; grade_id: string; ok: number; output: string; title: string }[];
    return rows.map((r) => ({ step: r.step, title: r.title, gradeId: r.grade_id, ok: r.ok === 1, output: r.output }));
  }

  /**
   * Records that a step's setup ran for an attempt, in the Check of gradeId. False when it was
   * recorded already (a step's setup runs at most once per attempt).
   */
  recordPreparedStep(attemptId: string, gradeId: string, s: PreparedStep, now: Date = new Date()): boolean {
    const r = this.#db
      .prepare('INSERT OR IGNORE INTO scenario_steps (attempt_id, step, title, grade_id, ok, output, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(attemptId, s.step, s.title, gradeId, s.ok ? 1 : 0, s.output, now.toISOString());
    return Number(r.changes) === 1;
  }

  /** The step a learner is on in a walkthrough attempt (1 when they have not moved on yet), or undefined for another learner's attempt. */
  walkthroughStep(attemptId: string, learnerId: string): number | undefined {
    const row = this.#db.prepare('SELECT learner_id, step FROM walkthrough_steps WHERE attempt_id = ?').get(attemptId) as unknown as
      { learner_id: string; step: number } | undefined;
    if (!row) return 1;
    return row.learner_id === learnerId ? row.step : undefined;
  }

  /** Moves a walkthrough attempt to a step (Next step / Done). */
  setWalkthroughStep(attemptId: string, learnerId: string, step: number, now: Date = new Date()): void {
    this.#db
      .prepare(
        'INSERT INTO walkthrough_steps (attempt_id, learner_id, step, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(attempt_id) DO UPDATE SET step = excluded.step, updated_at = excluded.updated_at',
      )
      .run(attemptId, learnerId, step, now.toISOString());
  }

  /** The learner's newest grade of a lab (of any attempt), if any. */
  latestForLab(learnerId: string, labId: string): StoredGrade | undefined {
    const row = this.#db
      .prepare('SELECT * FROM grades WHERE learner_id = ? AND lab_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1')
      .get(learnerId, labId) as unknown as GradeRow | undefined;
    return row ? fromRow(row) : undefined;
  }

  /** The learner's best score per lab (for catalog badges and results pages). */
  bestPerLab(learnerId: string): { labId: string; score: number; maxScore: number }[] {
    const rows = this.#db
      .prepare('SELECT lab_id, MAX(score) AS score, max_score FROM grades WHERE learner_id = ? GROUP BY lab_id ORDER BY lab_id')
      .all(learnerId) as unknown as { lab_id: string; score: number; max_score: number }[];
    return rows.map((r) => ({ labId: r.lab_id, score: r.score, maxScore: r.max_score }));
  }
}
