-- An attempt's event stream begins with its plan: every provisioning step, listed before any runs
-- (type 'plan', the steps as JSON in `plan`). Steps also end 'skipped' (not needed on this cluster)
-- or 'not-run' (an earlier step failed). SQLite cannot change a CHECK constraint in place, so the
-- table is rebuilt.
CREATE TABLE attempt_events_new (
  attempt_id TEXT NOT NULL REFERENCES attempts(id) ON DELETE CASCADE,
  seq        INTEGER NOT NULL,
  at         TEXT NOT NULL,
  type       TEXT NOT NULL CHECK (type IN ('plan', 'status', 'step', 'queue')),
  name       TEXT NOT NULL,         -- the status, the step's name, "queued" or "plan"
  state      TEXT,                  -- step: running | done | failed | skipped | not-run
  elapsed_ms INTEGER NOT NULL,      -- step: time the step took (so far); others: since the attempt began
  position   INTEGER,               -- queue: 1-based place in the queue
  output     TEXT,                  -- failed step: the command's output
  plan       TEXT,                  -- plan: JSON array of {name, phase, timeoutMs, state, note?}
  PRIMARY KEY (attempt_id, seq)
);
INSERT INTO attempt_events_new (attempt_id, seq, at, type, name, state, elapsed_ms, position, output)
  SELECT attempt_id, seq, at, type, name, state, elapsed_ms, position, output FROM attempt_events;
DROP TABLE attempt_events;
ALTER TABLE attempt_events_new RENAME TO attempt_events;
