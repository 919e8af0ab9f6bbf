-- Grades: one row per press of Check, with the full report the learner saw.
-- attempt_id names attempts(id) but carries no foreign key: attempts belong to another migration
-- and grades must survive however attempts are cleaned up.
CREATE TABLE grades (
  id          TEXT PRIMARY KEY,
  attempt_id  TEXT NOT NULL,
  learner_id  TEXT NOT NULL,
  lab_id      TEXT NOT NULL,
  score       REAL NOT NULL,
  max_score   REAL NOT NULL,
  report      TEXT NOT NULL,      -- GradeReport as JSON (graders/src/engine/types.ts)
  created_at  TEXT NOT NULL
);
CREATE INDEX grades_attempt ON grades(attempt_id, created_at);
