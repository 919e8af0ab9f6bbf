-- Assignments name a lab or a mock exam: `kind` says which, `lab_id` holds the lab's or the exam's id.
-- SQLite cannot change a UNIQUE constraint in place, so the table is rebuilt; every existing row is a lab.
CREATE TABLE assignments_new (
  id         TEXT PRIMARY KEY,
  group_id   TEXT NOT NULL REFERENCES study_groups(id) ON DELETE CASCADE,
  kind       TEXT NOT NULL DEFAULT 'lab' CHECK (kind IN ('lab', 'exam')),
  lab_id     TEXT NOT NULL,
  due_at     TEXT,
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE (group_id, kind, lab_id)
);
INSERT INTO assignments_new (id, group_id, kind, lab_id, due_at, created_by, created_at)
  SELECT id, group_id, 'lab', lab_id, due_at, created_by, created_at FROM assignments;
DROP TABLE assignments;
ALTER TABLE assignments_new RENAME TO assignments;
