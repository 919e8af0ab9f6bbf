-- Killercoda scenarios: the later steps whose own setup (background script) ran when a Check found
-- the learner had reached them. One row per attempt and step; a step's setup runs at most once.
-- grade_id is the grade whose Check reached the step, so the result shows with that grade.
CREATE TABLE scenario_steps (
  attempt_id  TEXT NOT NULL,
  step        INTEGER NOT NULL,
  title       TEXT NOT NULL,
  grade_id    TEXT NOT NULL,
  ok          INTEGER NOT NULL,   -- 1: the background exited 0
  output      TEXT NOT NULL,      -- its last output, for the learner (clipped)
  created_at  TEXT NOT NULL,
  PRIMARY KEY (attempt_id, step)
);
CREATE INDEX scenario_steps_grade ON scenario_steps(grade_id);
