import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';

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
  const files = readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
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

/** Opens (creating if needed) the SQLite database in dataDir, in WAL mode, with all migrations applied. */
export function openDatabase(dataDir: string, migrations: Migration[] = readMigrations()): Db {
  mkdirSync(dataDir, { recursive: true });
  const db = new DatabaseSync(path.join(dataDir, 'kubedrill.db'));
  db.exec('PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;');
  migrate(db, migrations);
  return db;
}

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
    throw new Error(`the database is at schema version ${current} but this kubedrill only knows ${known}: it was written by a newer version; upgrade kubedrill or use another data folder`);
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
