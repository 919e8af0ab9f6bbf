import type { Db } from '../storage/db.ts';

/** A learner's record on one lab: attempts, best score, and the fastest time from ready to a full score. */
export interface LabRecord {
  labId: string;
  attempts: number;
  bestScore: number | null;
  maxScore: number | null;
  /** Seconds from the cluster being ready to the first Check with a full score, best over attempts. */
  bestSeconds: number | null;
  lastAt: string;
}

/** Best score and best time per lab of a learner's single-lab attempts (exam clusters are not labs). */
export function labRecords(db: Db, learnerId: string): LabRecord[] {
  const rows = db
    .prepare(
      `SELECT a.lab_id AS lab_id, COUNT(DISTINCT a.id) AS attempts, MAX(g.score) AS best, MAX(g.max_score) AS max_score,
              MIN(CASE WHEN g.score >= g.max_score THEN (julianday(g.created_at) - julianday(a.ready_at)) * 86400 END) AS best_seconds,
              MAX(a.created_at) AS last_at
         FROM attempts a LEFT JOIN grades g ON g.attempt_id = a.id
        WHERE a.learner_id = ? AND a.exam_attempt_id IS NULL AND a.ready_at IS NOT NULL
        GROUP BY a.lab_id ORDER BY last_at DESC`,
    )
    .all(learnerId) as { lab_id: string; attempts: number; best: number | null; max_score: number | null; best_seconds: number | null; last_at: string }[];
  return rows.map((r) => ({
    labId: r.lab_id,
    attempts: r.attempts,
    bestScore: r.best,
    maxScore: r.max_score,
    bestSeconds: r.best_seconds === null ? null : Math.round(r.best_seconds),
    lastAt: r.last_at,
  }));
}
