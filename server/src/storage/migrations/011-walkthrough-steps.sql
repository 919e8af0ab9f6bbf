-- Killercoda walkthroughs (scenarios without verify scripts, not graded): the step the learner is
-- on, moved on by Next step. step runs from 1; steps + 1 means the learner pressed Done on the last.
-- The backgrounds such a move reaches are recorded in scenario_steps like a Check's, with grade_id ''
-- (no grade exists: a walkthrough is never scored and leaves nothing in grades or progress).
CREATE TABLE walkthrough_steps (
  attempt_id  TEXT PRIMARY KEY,
  learner_id  TEXT NOT NULL,
  step        INTEGER NOT NULL,
  updated_at  TEXT NOT NULL
);
