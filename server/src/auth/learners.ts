import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { AppError } from '../errors.ts';
import { transaction, type Db } from '../storage/db.ts';

export const ROLES = ['learner', 'instructor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** A person who uses kubedrill. */
export interface Learner {
  id: string;
  username: string;
  displayName: string;
  role: Role;
}

interface LearnerRow {
  id: string;
  username: string;
  display_name: string;
  role: Role;
  password_hash: string | null;
}

const toLearner = (r: LearnerRow): Learner => ({ id: r.id, username: r.username, displayName: r.display_name, role: r.role });

/** The id of the one learner in single-user mode. */
export const LOCAL_LEARNER_ID = 'local';

const usernameTaken = (username: string) => new AppError(409, 'username_taken', `the username ${username} is taken`);

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/** Learners and sessions in the database; SQL stays in here. */
export class LearnerRepository {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /** Creates a learner; throws if the username is taken. */
  create(input: { username: string; displayName: string; role: Role; passwordHash: string | null; id?: string }): Learner {
    const id = input.id ?? randomUUID();
    this.#db
      .prepare('INSERT INTO learners (id, username, display_name, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(id, input.username, input.displayName, input.role, input.passwordHash, new Date().toISOString());
    return { id, username: input.username, displayName: input.displayName, role: input.role };
  }

  /**
   * Creates an account in one transaction: `gate(first)` may refuse (it is told whether this is the
   * first account, which becomes the admin); a taken username is a 409. Concurrent registrations
   * cannot both be first, nor both get one name.
   */
  createAccount(input: { username: string; displayName: string; passwordHash: string }, gate: (first: boolean) => void): Learner {
    try {
      return transaction(this.#db, () => {
        const first = this.count() === 0;
        gate(first);
        if (this.byUsername(input.username)) throw usernameTaken(input.username);
        return this.create({ ...input, role: first ? 'admin' : 'learner' });
      });
    } catch (e) {
      // Another process on the same database won the race between our check and insert.
      if (/UNIQUE constraint failed: learners\.username/.test((e as Error).message)) throw usernameTaken(input.username);
      throw e;
    }
  }

  /** Changes an account's role; the updated learner, or undefined when there is no such account. */
  setRole(id: string, role: Role): Learner | undefined {
    if (id === LOCAL_LEARNER_ID) return undefined;
    this.#db.prepare('UPDATE learners SET role = ? WHERE id = ?').run(role, id);
    return this.byId(id);
  }

  /** Ends every session of the password-less local learner (single-user mode's auto-login); returns how many. */
  dropPasswordlessSessions(): number {
    return Number(this.#db.prepare('DELETE FROM sessions WHERE learner_id IN (SELECT id FROM learners WHERE password_hash IS NULL)').run().changes);
  }

  /** The single-user mode learner, created on first use. */
  local(): Learner {
    const existing = this.byId(LOCAL_LEARNER_ID);
    if (existing) return existing;
    return this.create({ id: LOCAL_LEARNER_ID, username: 'local', displayName: 'You', role: 'admin', passwordHash: null });
  }

  byId(id: string): Learner | undefined {
    const row = this.#db.prepare('SELECT * FROM learners WHERE id = ?').get(id) as LearnerRow | undefined;
    return row ? toLearner(row) : undefined;
  }

  /** The learner and stored password hash for a username (case-insensitive). */
  byUsername(username: string): { learner: Learner; passwordHash: string | null } | undefined {
    const row = this.#db.prepare('SELECT * FROM learners WHERE username = ?').get(username) as LearnerRow | undefined;
    return row ? { learner: toLearner(row), passwordHash: row.password_hash } : undefined;
  }

  count(): number {
    return (this.#db.prepare('SELECT COUNT(*) AS n FROM learners WHERE password_hash IS NOT NULL').get() as { n: number }).n;
  }

  /** Starts a session; returns the secret token for the cookie (only its hash is stored). */
  createSession(learnerId: string, days: number, now = new Date()): { token: string; expiresAt: Date } {
    const token = randomBytes(32).toString('base64url');
    const expiresAt = new Date(now.getTime() + days * 86_400_000);
    this.#db
      .prepare('INSERT INTO sessions (token_hash, learner_id, created_at, expires_at, last_seen_at) VALUES (?, ?, ?, ?, ?)')
      .run(hashToken(token), learnerId, now.toISOString(), expiresAt.toISOString(), now.toISOString());
    return { token, expiresAt };
  }

  /** The learner a session token belongs to, if the session exists and has not expired. */
  learnerForToken(token: string, now = new Date()): Learner | undefined {
    const row = this.#db
      .prepare('SELECT l.* FROM sessions s JOIN learners l ON l.id = s.learner_id WHERE s.token_hash = ? AND s.expires_at > ?')
      .get(hashToken(token), now.toISOString()) as LearnerRow | undefined;
    return row ? toLearner(row) : undefined;
  }

  deleteSession(token: string): void {
    this.#db.prepare('DELETE FROM sessions WHERE token_hash = ?').run(hashToken(token));
  }

  /** Removes expired sessions; returns how many. */
  pruneSessions(now = new Date()): number {
    return Number(this.#db.prepare('DELETE FROM sessions WHERE expires_at <= ?').run(now.toISOString()).changes);
  }
}
