-- Attempts (one learner working one lab on its own cluster), their progress events, and the kind
-- clusters this server owns (warm pool included), so a restart can adopt or clean up.
CREATE TABLE attempts (
  id               TEXT PRIMARY KEY,
  learner_id       TEXT NOT NULL,
  lab_id           TEXT NOT NULL,
  status           TEXT NOT NULL CHECK (status IN ('queued', 'provisioning', 'setting-up', 'ready', 'grading', 'finished', 'failed', 'expired')),
  shape            TEXT NOT NULL,     -- cluster shape key, e.g. w1-netpol
  kubernetes       TEXT NOT NULL,     -- minor version, e.g. 1.35
  cluster_name     TEXT,
  created_at       TEXT NOT NULL,
  updated_at       TEXT NOT NULL,
  ready_at         TEXT,
  ended_at         TEXT,
  expires_at       TEXT,
  last_activity_at TEXT NOT NULL,
  end_reason       TEXT,              -- finished by learner, idle, expired, vanished cluster, …
  failure_step     TEXT,
  failure_message  TEXT,
  failure_output   TEXT
);
CREATE INDEX attempts_learner ON attempts(learner_id, created_at);
CREATE INDEX attempts_status ON attempts(status);

CREATE TABLE attempt_events (
  attempt_id TEXT NOT NULL REFERENCES attempts(id) ON DELETE CASCADE,
  seq        INTEGER NOT NULL,
  at         TEXT NOT NULL,
  type       TEXT NOT NULL CHECK (type IN ('status', 'step', 'queue')),
  name       TEXT NOT NULL,         -- the status, the step's name, or "queued"
  state      TEXT,                  -- step: running | done | failed
  elapsed_ms INTEGER NOT NULL,      -- step: time the step took (so far); others: since the attempt began
  position   INTEGER,               -- queue: 1-based place in the queue
  output     TEXT,                  -- failed step: the command's output
  PRIMARY KEY (attempt_id, seq)
);

CREATE TABLE clusters (
  name        TEXT PRIMARY KEY,
  shape       TEXT NOT NULL,
  state       TEXT NOT NULL CHECK (state IN ('creating', 'warm', 'claimed')),
  attempt_id  TEXT,
  created_at  TEXT NOT NULL
);
