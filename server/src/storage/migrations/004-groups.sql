-- Study groups (cohorts): an instructor's group of learners with its own invite code, a share of
-- the host's clusters and an end date; and the labs assigned to a group.
CREATE TABLE study_groups (
  id           TEXT PRIMARY KEY,
  name         TEXT NOT NULL,
  invite_code  TEXT NOT NULL UNIQUE,  -- shown to the group's instructors as a link; rotating it ends the old link
  max_clusters INTEGER,               -- clusters the members may run at once; NULL: no share of its own
  expires_at   TEXT,                  -- after this the invite is dead and members (learners) cannot start labs
  created_by   TEXT NOT NULL,
  created_at   TEXT NOT NULL
);

CREATE TABLE group_members (
  group_id   TEXT NOT NULL REFERENCES study_groups(id) ON DELETE CASCADE,
  learner_id TEXT NOT NULL REFERENCES learners(id) ON DELETE CASCADE,
  role       TEXT NOT NULL CHECK (role IN ('learner', 'instructor')),
  joined_at  TEXT NOT NULL,
  PRIMARY KEY (group_id, learner_id)
);
CREATE INDEX group_members_learner ON group_members(learner_id);

CREATE TABLE assignments (
  id         TEXT PRIMARY KEY,
  group_id   TEXT NOT NULL REFERENCES study_groups(id) ON DELETE CASCADE,
  lab_id     TEXT NOT NULL,
  due_at     TEXT,
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE (group_id, lab_id)
);
