-- Mock exams. An exam attempt owns several cluster attempts (rows of attempts with exam_attempt_id set to
-- the exam attempt's id and setup_labs listing the labs whose setups go on that cluster). The
-- countdown is stored as a deadline, so reloads and restarts keep it.
ALTER TABLE attempts ADD COLUMN exam_attempt_id TEXT;
ALTER TABLE attempts ADD COLUMN setup_labs TEXT;   -- JSON array of lab ids; NULL: the attempt's own lab
CREATE INDEX attempts_exam_attempt ON attempts(exam_attempt_id);

CREATE TABLE exam_attempts (
  id              TEXT PRIMARY KEY,
  learner_id      TEXT NOT NULL,
  exam_id         TEXT NOT NULL,
  status          TEXT NOT NULL CHECK (status IN ('starting', 'running', 'grading', 'review', 'finished', 'failed')),
  exam            TEXT NOT NULL,      -- the exam as it was at start (JSON): title, minutes, pass mark, clusters, tasks
  created_at      TEXT NOT NULL,
  started_at      TEXT,               -- every cluster ready: the countdown starts
  deadline_at     TEXT,
  submitted_at    TEXT,
  submit_reason   TEXT,               -- learner | time
  review_until    TEXT,
  ended_at        TEXT,
  failure         TEXT,
  focus_task      INTEGER,            -- the task the navigator shows, and since when (time per task)
  focus_since     TEXT,
  input_unlocked  INTEGER NOT NULL DEFAULT 0,  -- review: the learner chose to explore in the terminal
  result          TEXT,               -- ExamResult JSON at submit
  regrade         TEXT,               -- latest re-grade during review (JSON)
  score_percent   REAL,
  passed          INTEGER
);
CREATE INDEX exam_attempts_learner ON exam_attempts(learner_id, created_at);
CREATE INDEX exam_attempts_status ON exam_attempts(status);

CREATE TABLE exam_attempt_tasks (
  exam_attempt_id TEXT NOT NULL REFERENCES exam_attempts(id) ON DELETE CASCADE,
  number          INTEGER NOT NULL,
  opened          INTEGER NOT NULL DEFAULT 0,
  flagged         INTEGER NOT NULL DEFAULT 0,
  notes           TEXT NOT NULL DEFAULT '',
  time_ms         INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (exam_attempt_id, number)
);

CREATE TABLE exam_attempt_clusters (
  exam_attempt_id TEXT NOT NULL REFERENCES exam_attempts(id) ON DELETE CASCADE,
  context         TEXT NOT NULL,
  attempt_id      TEXT NOT NULL,      -- the cluster attempt (attempts.id)
  PRIMARY KEY (exam_attempt_id, context)
);
