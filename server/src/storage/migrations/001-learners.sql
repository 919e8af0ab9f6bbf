-- Learners (people who log in) and their sessions.
CREATE TABLE learners (
  id            TEXT PRIMARY KEY,
  username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
  display_name  TEXT NOT NULL,
  role          TEXT NOT NULL CHECK (role IN ('learner', 'instructor', 'admin')),
  password_hash TEXT,               -- NULL for the single-user local learner
  created_at    TEXT NOT NULL
);

CREATE TABLE sessions (
  token_hash  TEXT PRIMARY KEY,     -- sha256 of the cookie value; the cookie itself is never stored
  learner_id  TEXT NOT NULL REFERENCES learners(id) ON DELETE CASCADE,
  created_at  TEXT NOT NULL,
  expires_at  TEXT NOT NULL,
  last_seen_at TEXT NOT NULL
);
CREATE INDEX sessions_learner ON sessions(learner_id);
CREATE INDEX sessions_expiry ON sessions(expires_at);
