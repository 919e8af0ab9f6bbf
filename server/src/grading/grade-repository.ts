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
  return { id: r.id, attemptId: r.attempt_id, learnerId: r.learner_id, labId: r.lab_id, score: r.score, maxScore: r.max_score, report: JSON.parse(r.report) as GradeReport, createdAt: r.created_at };
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

  /** The learner's grades of one attempt, oldest first. */
  forAttempt(attemptId: string, learnerId: string): StoredGrade[] {
    const rows = this.#db.prepare('SELECT * FROM grades WHERE attempt_id = ? AND learner_id = ? ORDER BY created_at, rowid').all(attemptId, learnerId) as unknown as GradeRow[];
    return rows.map(fromRow);
  }

  /** The learner's newest grade of a lab (of any attempt), if any. */
  latestForLab(learnerId: string, labId: string): StoredGrade | undefined {
    const row = this.#db.prepare('SELECT * FROM grades WHERE learner_id = ? AND lab_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1').get(learnerId, labId) as unknown as GradeRow | undefined;
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
