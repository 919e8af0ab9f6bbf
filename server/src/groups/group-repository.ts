import { randomBytes, randomUUID } from 'node:crypto';
import type { Learner, Role } from '../auth/learners.ts';
import type { Db } from '../storage/db.ts';

/** A study group: an instructor's cohort with its own invite code, cluster share and end date. */
export interface StudyGroup {
  id: string;
  name: string;
  inviteCode: string;
  maxClusters: number | null;
  expiresAt: string | null;
  createdBy: string;
  createdAt: string;
}

export type GroupRole = 'learner' | 'instructor';

/** A member of a group with their role in it. */
export interface GroupMember extends Learner {
  groupRole: GroupRole;
  joinedAt: string;
}

/** A lab or mock exam assigned to a group, with an optional due date. */
export interface Assignment {
  id: string;
  groupId: string;
  kind: AssignmentKind;
  /** The lab's id, or the exam's when kind is exam. */
  itemId: string;
  dueAt: string | null;
  createdAt: string;
}

interface GroupRow {
  id: string;
  name: string;
  invite_code: string;
  max_clusters: number | null;
  expires_at: string | null;
  created_by: string;
  created_at: string;
}

const toGroup = (r: GroupRow): StudyGroup => ({
  id: r.id,
  name: r.name,
  inviteCode: r.invite_code,
  maxClusters: r.max_clusters,
  expiresAt: r.expires_at,
  createdBy: r.created_by,
  createdAt: r.created_at,
});
export type AssignmentKind = 'lab' | 'exam';
type AssignmentRow = { id: string; group_id: string; kind: AssignmentKind; lab_id: string; due_at: string | null; created_at: string };
const toAssignment = (r: AssignmentRow): Assignment => ({
  id: r.id,
  groupId: r.group_id,
  kind: r.kind,
  itemId: r.lab_id,
  dueAt: r.due_at,
  createdAt: r.created_at,
});

/** Attempt states that hold (or wait for) a cluster. */
const ACTIVE = "('queued', 'provisioning', 'setting-up', 'ready', 'grading')";

/** True when the group's end date has passed. */
export const isExpired = (g: Pick<StudyGroup, 'expiresAt'>, now = new Date()): boolean => g.expiresAt !== null && g.expiresAt <= now.toISOString();

/** Study groups, their members and assignments in the database; SQL stays in here. */
export class GroupRepository {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /** Creates a group with `instructor` as its first instructor. */
  create(input: { name: string; maxClusters: number | null; expiresAt: string | null }, instructor: Learner, now = new Date()): StudyGroup {
    const g: StudyGroup = {
      id: randomUUID(),
      name: input.name,
      inviteCode: newInviteCode(),
      maxClusters: input.maxClusters,
      expiresAt: input.expiresAt,
      createdBy: instructor.id,
      createdAt: now.toISOString(),
    };
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      this.#db
        .prepare('INSERT INTO study_groups (id, name, invite_code, max_clusters, expires_at, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(g.id, g.name, g.inviteCode, g.maxClusters, g.expiresAt, g.createdBy, g.createdAt);
      this.addMember(g.id, instructor.id, 'instructor', now);
      this.#db.exec('COMMIT');
    } catch (e) {
      this.#db.exec('ROLLBACK');
      throw e;
    }
    return g;
  }

  get(id: string): StudyGroup | undefined {
    const r = this.#db.prepare('SELECT * FROM study_groups WHERE id = ?').get(id) as GroupRow | undefined;
    return r ? toGroup(r) : undefined;
  }

  byInviteCode(code: string): StudyGroup | undefined {
    const r = this.#db.prepare('SELECT * FROM study_groups WHERE invite_code = ?').get(code) as GroupRow | undefined;
    return r ? toGroup(r) : undefined;
  }

  /** Every group, newest first (admins). */
  all(): StudyGroup[] {
    return (this.#db.prepare('SELECT * FROM study_groups ORDER BY created_at DESC, rowid DESC').all() as unknown as GroupRow[]).map(toGroup);
  }

  /** The groups a learner belongs to, with their role in each, newest first. */
  forLearner(learnerId: string): (StudyGroup & { groupRole: GroupRole })[] {
    const rows = this.#db
      .prepare(
        'SELECT g.*, m.role AS group_role FROM study_groups g JOIN group_members m ON m.group_id = g.id WHERE m.learner_id = ? ORDER BY g.created_at DESC, g.rowid DESC',
      )
      .all(learnerId) as unknown as (GroupRow & { group_role: GroupRole })[];
    return rows.map((r) => ({ ...toGroup(r), groupRole: r.group_role }));
  }

  /** The learner's role in the group, if a member. */
  roleIn(groupId: string, learnerId: string): GroupRole | undefined {
    return (this.#db.prepare('SELECT role FROM group_members WHERE group_id = ? AND learner_id = ?').get(groupId, learnerId) as { role: GroupRole } | undefined)
      ?.role;
  }

  update(id: string, fields: { name?: string; maxClusters?: number | null; expiresAt?: string | null }): void {
    const cols: [string, unknown][] = [];
    if (fields.name !== undefined) cols.push(['name', fields.name]);
    if (fields.maxClusters !== undefined) cols.push(['max_clusters', fields.maxClusters]);
    if (fields.expiresAt !== undefined) cols.push(['expires_at', fields.expiresAt]);
    if (!cols.length) return;
    this.#db
      .prepare(`UPDATE study_groups SET ${cols.map(([c]) => `${c} = ?`).join(', ')} WHERE id = ?`)
      .run(...(cols.map(([, v]) => v) as (string | number | null)[]), id);
  }

  /** Replaces the invite code (the old link stops working); returns the new one. */
  rotateInvite(id: string): string {
    const code = newInviteCode();
    this.#db.prepare('UPDATE study_groups SET invite_code = ? WHERE id = ?').run(code, id);
    return code;
  }

  delete(id: string): void {
    this.#db.prepare('DELETE FROM study_groups WHERE id = ?').run(id);
  }

  /** Adds a member (a learner already in the group keeps their role); true when newly added. */
  addMember(groupId: string, learnerId: string, role: GroupRole, now = new Date()): boolean {
    const r = this.#db
      .prepare('INSERT OR IGNORE INTO group_members (group_id, learner_id, role, joined_at) VALUES (?, ?, ?, ?)')
      .run(groupId, learnerId, role, now.toISOString());
    return Number(r.changes) > 0;
  }

  removeMember(groupId: string, learnerId: string): boolean {
    return Number(this.#db.prepare('DELETE FROM group_members WHERE group_id = ? AND learner_id = ?').run(groupId, learnerId).changes) > 0;
  }

  members(groupId: string): GroupMember[] {
    const rows = this.#db
      .prepare(
        "SELECT l.id, l.username, l.display_name, l.role, m.role AS group_role, m.joined_at FROM group_members m JOIN learners l ON l.id = m.learner_id WHERE m.group_id = ? ORDER BY m.role = 'instructor' DESC, l.username",
      )
      .all(groupId) as unknown as { id: string; username: string; display_name: string; role: Role; group_role: GroupRole; joined_at: string }[];
    return rows.map((r) => ({ id: r.id, username: r.username, displayName: r.display_name, role: r.role, groupRole: r.group_role, joinedAt: r.joined_at }));
  }

  /** How many attempts of the group's learners hold or wait for a cluster now. */
  activeAttempts(groupId: string): number {
    return (
      this.#db
        .prepare(
          `SELECT COUNT(*) AS n FROM attempts WHERE status IN ${ACTIVE} AND learner_id IN (SELECT learner_id FROM group_members WHERE group_id = ? AND role = 'learner')`,
        )
        .get(groupId) as { n: number }
    ).n;
  }

  /** Assigns a lab or a mock exam to a group (assigning it again changes the due date). */
  assign(groupId: string, kind: AssignmentKind, itemId: string, dueAt: string | null, by: string, now = new Date()): Assignment {
    this.#db
      .prepare(
        'INSERT INTO assignments (id, group_id, kind, lab_id, due_at, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (group_id, kind, lab_id) DO UPDATE SET due_at = excluded.due_at',
      )
      .run(randomUUID(), groupId, kind, itemId, dueAt, by, now.toISOString());
    return toAssignment(this.#db.prepare('SELECT * FROM assignments WHERE group_id = ? AND kind = ? AND lab_id = ?').get(groupId, kind, itemId) as never);
  }

  unassign(groupId: string, assignmentId: string): boolean {
    return Number(this.#db.prepare('DELETE FROM assignments WHERE group_id = ? AND id = ?').run(groupId, assignmentId).changes) > 0;
  }

  assignments(groupId: string): Assignment[] {
    return (this.#db.prepare('SELECT * FROM assignments WHERE group_id = ? ORDER BY due_at IS NULL, due_at, created_at').all(groupId) as never[]).map(
      toAssignment,
    );
  }

  /** The assignments of every group the learner is a learner in, soonest due first. */
  assignmentsFor(learnerId: string): (Assignment & { groupName: string; groupExpiresAt: string | null })[] {
    const rows = this.#db
      .prepare(
        "SELECT a.*, g.name AS group_name, g.expires_at AS group_expires_at FROM assignments a JOIN study_groups g ON g.id = a.group_id JOIN group_members m ON m.group_id = a.group_id WHERE m.learner_id = ? AND m.role = 'learner' ORDER BY a.due_at IS NULL, a.due_at, a.created_at",
      )
      .all(learnerId) as unknown as (AssignmentRow & { group_name: string; group_expires_at: string | null })[];
    return rows.map((r) => ({ ...toAssignment(r), groupName: r.group_name, groupExpiresAt: r.group_expires_at }));
  }
}

// 16 random bytes: unguessable, and short enough for a link.
function newInviteCode(): string {
  return randomBytes(16).toString('base64url');
}

/** What one member is doing: their newest attempt and its last check. */
export interface MemberActivity {
  learnerId: string;
  attemptId: string | null;
  labId: string | null;
  status: string | null;
  createdAt: string | null;
  readyAt: string | null;
  endedAt: string | null;
  lastActivityAt: string | null;
  lastScore: number | null;
  maxScore: number | null;
  lastCheckAt: string | null;
}

/** One learner's results on one lab. */
export interface LabResult {
  learnerId: string;
  labId: string;
  attempts: number;
  bestScore: number | null;
  maxScore: number | null;
  lastAttemptAt: string | null;
}

export interface ExamResultRow {
  learnerId: string;
  examId: string;
  attempts: number;
  /** The best submitted attempt's score, its maximum and percent (null while none was graded). */
  bestScore: number | null;
  maxScore: number | null;
  bestPercent: number | null;
  passed: boolean | null;
  lastAttemptAt: string | null;
}

/** Activity and results queries over a group's learners (attempts and grades tables). */
export class GroupReports {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /** Each learner member's newest attempt with its newest grade. */
  activity(groupId: string): MemberActivity[] {
    return this.#db
      .prepare(
        `SELECT m.learner_id AS learnerId, a.id AS attemptId, a.lab_id AS labId, a.status, a.created_at AS createdAt, a.ready_at AS readyAt, a.ended_at AS endedAt,
                a.last_activity_at AS lastActivityAt, g.score AS lastScore, g.max_score AS maxScore, g.created_at AS lastCheckAt
           FROM group_members m
           LEFT JOIN attempts a ON a.id = (SELECT id FROM attempts WHERE learner_id = m.learner_id ORDER BY created_at DESC, rowid DESC LIMIT 1)
           LEFT JOIN grades g ON g.id = (SELECT id FROM grades WHERE attempt_id = a.id ORDER BY created_at DESC, rowid DESC LIMIT 1)
          WHERE m.group_id = ? AND m.role = 'learner'`,
      )
      .all(groupId) as unknown as MemberActivity[];
  }

  /** Per learner member and lab they attempted: attempts, best score and last attempt. */
  results(groupId: string): LabResult[] {
    return this.#db
      .prepare(
        `SELECT a.learner_id AS learnerId, a.lab_id AS labId, COUNT(DISTINCT a.id) AS attempts, MAX(g.score) AS bestScore, MAX(g.max_score) AS maxScore, MAX(a.created_at) AS lastAttemptAt
           FROM attempts a LEFT JOIN grades g ON g.attempt_id = a.id
          WHERE a.learner_id IN (SELECT learner_id FROM group_members WHERE group_id = ? AND role = 'learner')
            AND a.exam_attempt_id IS NULL
          GROUP BY a.learner_id, a.lab_id`,
      )
      .all(groupId) as unknown as LabResult[];
  }

  /**
   * Per learner and mock exam: attempts, the best graded result (by percent; the stored result
   * JSON, as submit wrote it) and whether any attempt passed.
   */
  examResults(groupId: string): ExamResultRow[] {
    const best = (field: string) =>
      `(SELECT json_extract(b.result, '$.${field}') FROM exam_attempts b WHERE b.learner_id = e.learner_id AND b.exam_id = e.exam_id AND b.result IS NOT NULL ORDER BY json_extract(b.result, '$.percent') DESC, b.created_at LIMIT 1)`;
    const rows = this.#db
      .prepare(
        `SELECT e.learner_id AS learnerId, e.exam_id AS examId, COUNT(*) AS attempts, MAX(e.created_at) AS lastAttemptAt,
                ${best('score')} AS bestScore, ${best('maxScore')} AS maxScore, ${best('percent')} AS bestPercent,
                MAX(json_extract(e.result, '$.passed')) AS passed
           FROM exam_attempts e
          WHERE e.learner_id IN (SELECT learner_id FROM group_members WHERE group_id = ? AND role = 'learner')
          GROUP BY e.learner_id, e.exam_id`,
      )
      .all(groupId) as unknown as (Omit<ExamResultRow, 'passed'> & { passed: number | null })[];
    return rows.map((r) => ({ ...r, passed: r.passed === null ? null : r.passed === 1 }));
  }
}
