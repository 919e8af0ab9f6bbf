import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { backup, DatabaseSync } from 'node:sqlite';

const MIGRATIONS_DIR = path.join(import.meta.dirname, 'migrations');

export type Db = DatabaseSync;

/** A numbered migration file, e.g. 002-attempts.sql → { version: 2, name: 'attempts' }. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Reads the numbered .sql migrations shipped with the server, in order; refuses gaps and duplicates. */
export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort();
  const migrations = files.map((file) => {
    const m = /^(\d{3})-([a-z0-9-]+)\.sql$/.exec(file);
    if (!m) throw new Error(`migration file name ${file} must look like 001-name.sql`);
    return { version: Number(m[1]), name: m[2]!, sql: readFileSync(path.join(dir, file), 'utf8') };
  });
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migrations must be numbered 001, 002, … without gaps or duplicates; found ${files[i]} at position ${i + 1}`);
  });
  return migrations;
}

/** Start-up cannot go on: the data folder or its database is unusable. The message is one line naming the path. */
export class DataDirError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DataDirError';
  }
}

// What an operator should do about the usual ways a database cannot be opened.
function openFailure(file: string, e: unknown): DataDirError {
  const raw = ((e as Error).message ?? String(e)).split('\n')[0]!;
  const code = (e as NodeJS.ErrnoException).code;
  let why = raw;
  if (/file is not a database|malformed|corrupt/i.test(raw))
    why = `${raw}: the file is damaged or not kubedrill's; restore a backup or move it aside to start afresh`;
  else if (/readonly|read-only/i.test(raw) || code === 'EACCES' || code === 'EPERM' || code === 'EROFS')
    why = `${raw}: the server cannot write there; check the owner and permissions of ${path.dirname(file)}`;
  else if (/unable to open/i.test(raw)) why = `${raw}: check that ${path.dirname(file)} is a writable folder and ${path.basename(file)} a file`;
  return new DataDirError(`cannot open the database ${file}: ${why}`, { cause: e });
}

/** Opens (creating if needed) the SQLite database in dataDir, in WAL mode, with all migrations applied; throws DataDirError. */
export function openDatabase(dataDir: string, migrations: Migration[] = readMigrations()): Db {
  const file = path.join(dataDir, 'kubedrill.db');
  let db: DatabaseSync | undefined;
  try {
    mkdirSync(dataDir, { recursive: true });
    db = new DatabaseSync(file);
    db.exec('PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;');
    migrate(db, migrations);
    return db;
  } catch (e) {
    db?.close();
    throw openFailure(file, e);
  }
}

/**
 * Takes the data folder for this process: a second server on the same folder would reconcile (and
 * fail) the first one's attempts and delete its clusters. The lock is SQLite's exclusive lock on a
 * file of its own, held by the OS for as long as this process lives (a crash releases it), whether
 * or not the caller keeps the release function. Returns the release function; throws DataDirError
 * naming the other server's pid when the folder is taken.
 */
export function lockDataDir(dataDir: string): () => void {
  const lockFile = path.join(dataDir, 'kubedrill.lock');
  const pidFile = `${lockFile}.pid`;
  let lock: DatabaseSync;
  try {
    mkdirSync(dataDir, { recursive: true });
    lock = new DatabaseSync(lockFile, { timeout: 0 });
  } catch (e) {
    throw openFailure(lockFile, e);
  }
  try {
    lock.exec('PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE;');
  } catch (e) {
    lock.close();
    if (!/locked|busy/i.test((e as Error).message)) throw openFailure(lockFile, e);
    let pid = '';
    try {
      pid = readFileSync(pidFile, 'utf8').trim();
    } catch {
      // The other server may not have written its pid yet.
    }
    throw new DataDirError(
      `the data folder ${dataDir} is in use by another kubedrill server${/^\d+$/.test(pid) ? ` (pid ${pid})` : ''}; stop it, or give this one its own --data-dir`,
      { cause: e },
    );
  }
  // Held here until released: node:sqlite closes a DatabaseSync that is garbage-collected, which
  // would drop the lock of a caller that kept no reference to the release function.
  heldLocks.add(lock);
  try {
    writeFileSync(pidFile, `${process.pid}\n`);
  } catch {
    // Only the message for a second server loses its pid.
  }
  return () => {
    try {
      lock.exec('COMMIT');
    } catch {
      // Nothing was written; closing releases the lock either way.
    }
    lock.close();
    heldLocks.delete(lock);
  };
}

/** The data-folder locks this process holds (see lockDataDir). */
const heldLocks = new Set<DatabaseSync>();

/** Opens a throwaway in-memory database with all migrations; for tests. */
export function openMemoryDatabase(migrations: Migration[] = readMigrations()): Db {
  const db = new DatabaseSync(':memory:');
  db.exec('PRAGMA foreign_keys = ON;');
  migrate(db, migrations);
  return db;
}

/** Applies the migrations the database has not seen yet, each in its own transaction. */
export function migrate(db: Db, migrations: Migration[]): number[] {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
  const current = row.v ?? 0;
  const known = migrations.length;
  if (current > known) {
    throw new Error(
      `the database is at schema version ${current} but this kubedrill only knows ${known}: it was written by a newer version; upgrade kubedrill or use another data folder`,
    );
  }
  const applied: number[] = [];
  for (const m of migrations) {
    if (m.version <= current) continue;
    db.exec('BEGIN');
    try {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, new Date().toISOString());
      db.exec('COMMIT');
      applied.push(m.version);
    } catch (e) {
      db.exec('ROLLBACK');
      throw new Error(`migration ${String(m.version).padStart(3, '0')}-${m.name} failed: ${(e as Error).message}`, { cause: e });
    }
  }
  return applied;
}

/** Runs fn inside a transaction, rolling back if it throws. */
export function transaction<T>(db: Db, fn: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const out = fn();
    db.exec('COMMIT');
    return out;
  } catch (e) {
    db.exec('ROLLBACK');
    throw e;
  }
}

/**
 * Copies the data folder's database to `dest` with SQLite's online backup: consistent even while a
 * server is running on it (and writing). Returns the pages copied; throws DataDirError naming the file.
 */
export async function backupDatabase(dataDir: string, dest: string): Promise<number> {
  const file = path.join(dataDir, 'kubedrill.db');
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(file, { readOnly: true, timeout: 5000 });
  } catch (e) {
    throw openFailure(file, e);
  }
  try {
    return await backup(db, dest);
  } catch (e) {
    throw new DataDirError(`cannot back up ${file} to ${dest}: ${((e as Error).message ?? String(e)).split('\n')[0]}`, { cause: e });
  } finally {
    db.close();
  }
}
