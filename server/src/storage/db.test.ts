import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { backupDatabase, DataDirError, lockDataDir, migrate, openDatabase, openMemoryDatabase, readMigrations, type Migration } from './db.ts';

const tempDir = (name: string) => mkdtempSync(path.join(tmpdir(), `kd-db-${name}-`));

function migrationsDir(files: Record<string, string>): string {
  const dir = tempDir('migrations');
  for (const [name, sql] of Object.entries(files)) writeFileSync(path.join(dir, name), sql);
  return dir;
}

const versions = (db: DatabaseSync) =>
  (db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all() as { version: number; name: string }[]).map(
    (r) => `${r.version}:${r.name}`,
  );

test('a file database runs in WAL mode with every shipped migration applied, once', () => {
  const dir = tempDir('wal');
  const db = openDatabase(dir);
  assert.equal((db.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode, 'wal');
  assert.equal((db.prepare('PRAGMA foreign_keys').get() as { foreign_keys: number }).foreign_keys, 1);
  const shipped = readMigrations();
  assert.ok(shipped.length >= 1);
  assert.deepEqual(
    versions(db),
    shipped.map((m) => `${m.version}:${m.name}`),
  );
  db.close();

  const again = openDatabase(dir);
  assert.deepEqual(migrate(again, shipped), [], 'reopening applies nothing');
  again.close();
});

test('shipped migrations are numbered 001, 002, … without gaps', () => {
  readMigrations().forEach((m, i) => assert.equal(m.version, i + 1));
});

test('migrations are numbered files; a gap, a duplicate or a bad name is refused', () => {
  assert.deepEqual(
    readMigrations(migrationsDir({ '001-first.sql': 'CREATE TABLE a (x);', '002-second.sql': 'CREATE TABLE b (x);' })).map((m) => [m.version, m.name]),
    [
      [1, 'first'],
      [2, 'second'],
    ],
  );
  assert.throws(() => readMigrations(migrationsDir({ '001-a.sql': '', '003-c.sql': '' })), /without gaps or duplicates; found 003-c\.sql at position 2/);
  assert.throws(() => readMigrations(migrationsDir({ '001-a.sql': '', '001-b.sql': '' })), /without gaps or duplicates; found 001-b\.sql at position 2/);
  assert.throws(() => readMigrations(migrationsDir({ '1-a.sql': '' })), /migration file name 1-a\.sql must look like 001-name\.sql/);
});

test('new migrations are applied in order on the next start', () => {
  const one: Migration[] = [{ version: 1, name: 'a', sql: 'CREATE TABLE a (x INTEGER);' }];
  const two: Migration[] = [...one, { version: 2, name: 'b', sql: 'ALTER TABLE a ADD COLUMN y TEXT;' }];
  const db = new DatabaseSync(':memory:');
  assert.deepEqual(migrate(db, one), [1]);
  assert.deepEqual(migrate(db, two), [2]);
  assert.deepEqual(versions(db), ['1:a', '2:b']);
  db.prepare('INSERT INTO a (x, y) VALUES (1, ?)').run('ok');
});

test('a failing migration is rolled back and names itself', () => {
  const db = new DatabaseSync(':memory:');
  const migrations: Migration[] = [
    { version: 1, name: 'good', sql: 'CREATE TABLE a (x INTEGER);' },
    { version: 2, name: 'bad', sql: 'CREATE TABLE b (x INTEGER); INSERT INTO nowhere VALUES (1);' },
  ];
  assert.throws(() => migrate(db, migrations), /^Error: migration 002-bad failed: no such table: nowhere/);
  assert.deepEqual(versions(db), ['1:good']);
  assert.equal(db.prepare("SELECT name FROM sqlite_master WHERE name = 'b'").get(), undefined, 'the half-done migration left nothing behind');
});

test('a database written by a newer kubedrill is refused, not damaged', () => {
  const dir = tempDir('newer');
  const db = openDatabase(dir);
  const known = readMigrations().length;
  db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(known + 1, 'from-the-future', new Date().toISOString());
  db.close();
  assert.throws(
    () => openDatabase(dir),
    new RegExp(`the database is at schema version ${known + 1} but this kubedrill only knows ${known}: it was written by a newer version`),
  );
});

test('the in-memory database for tests has the same schema', () => {
  const db = openMemoryDatabase();
  assert.deepEqual(
    versions(db),
    readMigrations().map((m) => `${m.version}:${m.name}`),
  );
});

test('a corrupt database stops start-up with one line naming the file and what to do', () => {
  const dir = tempDir('corrupt');
  writeFileSync(path.join(dir, 'kubedrill.db'), 'this is not a SQLite database, just some text that is long enough to have a header\n'.repeat(20));
  assert.throws(
    () => openDatabase(dir),
    (e: Error) =>
      e instanceof DataDirError &&
      !e.message.includes('\n') &&
      e.message.startsWith(`cannot open the database ${path.join(dir, 'kubedrill.db')}: file is not a database`) &&
      /restore a backup/.test(e.message),
  );
});

test('a database path that cannot be opened (read-only folder, or not a file) names the path', (t) => {
  const dir = tempDir('unopenable');
  mkdirSync(path.join(dir, 'kubedrill.db'));
  assert.throws(
    () => openDatabase(dir),
    (e: Error) => e instanceof DataDirError && !e.message.includes('\n') && e.message.includes(path.join(dir, 'kubedrill.db')),
  );
  if (process.getuid?.() === 0) return t.diagnostic('running as root: permissions do not stop writes, the read-only case is not exercised');
  const ro = tempDir('readonly');
  chmodSync(ro, 0o555);
  t.after(() => chmodSync(ro, 0o755));
  assert.throws(
    () => openDatabase(ro),
    (e: Error) => e instanceof DataDirError && e.message.includes(ro) && /permissions/.test(e.message),
  );
});

test('a data folder is locked: a second server refuses with a clear message, and may start once the first is gone', () => {
  const dir = tempDir('lock');
  const release = lockDataDir(dir);
  assert.throws(
    () => lockDataDir(dir),
    (e: Error) =>
      e instanceof DataDirError &&
      e.message === `the data folder ${dir} is in use by another kubedrill server (pid ${process.pid}); stop it, or give this one its own --data-dir`,
  );
  release();
  lockDataDir(dir)();
});

test('the lock holds across processes and is released when its holder dies', async () => {
  const dir = tempDir('lock-proc');
  const child = spawn(
    process.execPath,
    [
      '--expose-gc',
      '--input-type=module',
      '-e',
      // The release function is dropped and a full GC runs before "locked": the lock must not hang on
      // the caller keeping it (under load a GC came at any time, and the lock went with it).
      `import { lockDataDir } from ${JSON.stringify(path.join(import.meta.dirname, 'db.ts'))}; lockDataDir(${JSON.stringify(dir)}); await new Promise((r) => setImmediate(r)); globalThis.gc(); console.log('locked'); setInterval(() => {}, 1000);`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
      child.on('exit', (code, signal) => reject(new Error(`the child exited (${code ?? signal}) before taking the lock`)));
    });
    // The error itself is the assertion's message when it differs, so a failure says what happened.
    let refused: unknown;
    try {
      lockDataDir(dir)();
    } catch (e) {
      refused = e;
    }
    assert.ok(refused instanceof DataDirError, `a second process took the lock held by pid ${child.pid}: ${String(refused)}`);
    assert.match(refused.message, new RegExp(`in use by another kubedrill server \\(pid ${child.pid}\\)`));
  } finally {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
  // The dead holder's lock is gone: this process takes it (an error here names what still holds it).
  lockDataDir(dir)();
});

test('an online backup of a database in use holds everything committed, and opens as a kubedrill database', async () => {
  const dir = tempDir('backup');
  const release = lockDataDir(dir); // a server runs on this folder
  const db = openDatabase(dir);
  db.prepare(
    "INSERT INTO learners (id, username, display_name, role, password_hash, created_at) VALUES ('l1', 'ada', 'Ada', 'admin', 'x', '2026-01-01')",
  ).run();
  const dest = path.join(tempDir('backup-dest'), 'copy.db');
  assert.ok((await backupDatabase(dir, dest)) > 0);
  db.prepare(
    "INSERT INTO learners (id, username, display_name, role, password_hash, created_at) VALUES ('l2', 'bob', 'Bob', 'learner', 'x', '2026-01-01')",
  ).run();
  db.close();
  release();
  const restored = tempDir('restored');
  copyFileSync(dest, path.join(restored, 'kubedrill.db'));
  const copy = openDatabase(restored);
  assert.deepEqual(
    copy
      .prepare('SELECT username FROM learners')
      .all()
      .map((r) => (r as { username: string }).username),
    ['ada'],
    'the copy is the state at backup time',
  );
  assert.deepEqual(
    versions(copy),
    readMigrations().map((m) => `${m.version}:${m.name}`),
  );
  copy.close();
  await assert.rejects(
    backupDatabase(tempDir('no-db'), path.join(tempDir('x'), 'y.db')),
    (e: Error) => e instanceof DataDirError && e.message.includes('kubedrill.db'),
  );
});

test('upgrading keeps data: a database of the release before study groups migrates with every row intact', () => {
  const dir = tempDir('upgrade');
  const before = readMigrations().filter((m) => m.version <= 3);
  const old = openDatabase(dir, before);
  old
    .prepare("INSERT INTO learners (id, username, display_name, role, password_hash, created_at) VALUES ('l1', 'ada', 'Ada', 'learner', 'x', '2026-01-01')")
    .run();
  old
    .prepare(
      "INSERT INTO attempts (id, learner_id, lab_id, status, shape, kubernetes, created_at, updated_at, last_activity_at) VALUES ('a1', 'l1', 'lab', 'finished', 'w0', '1.35', 't', 't', 't')",
    )
    .run();
  old
    .prepare("INSERT INTO grades (id, attempt_id, learner_id, lab_id, score, max_score, report, created_at) VALUES ('g1', 'a1', 'l1', 'lab', 3, 5, '{}', 't')")
    .run();
  old.close();
  const now = openDatabase(dir);
  assert.deepEqual(
    versions(now),
    readMigrations().map((m) => `${m.version}:${m.name}`),
  );
  assert.equal((now.prepare('SELECT COUNT(*) AS n FROM learners').get() as { n: number }).n, 1);
  assert.equal((now.prepare('SELECT score FROM grades').get() as { score: number }).score, 3);
  now.prepare("INSERT INTO study_groups (id, name, invite_code, created_by, created_at) VALUES ('g', 'G', 'code', 'l1', 't')").run();
  now.prepare("INSERT INTO group_members (group_id, learner_id, role, joined_at) VALUES ('g', 'l1', 'learner', 't')").run();
  now.close();
});

test('upgrading to exam assignments keeps every assignment, as a lab, and its uniqueness per group', () => {
  const dir = tempDir('upgrade-assignments');
  const old = openDatabase(
    dir,
    readMigrations().filter((m) => m.version <= 6),
  );
  old
    .prepare("INSERT INTO learners (id, username, display_name, role, password_hash, created_at) VALUES ('l1', 'ada', 'Ada', 'instructor', 'x', '2026-01-01')")
    .run();
  old.prepare("INSERT INTO study_groups (id, name, invite_code, created_by, created_at) VALUES ('g', 'G', 'code', 'l1', 't')").run();
  old
    .prepare("INSERT INTO assignments (id, group_id, lab_id, due_at, created_by, created_at) VALUES ('a1', 'g', 'netpol-lab9server', '2099-01-01', 'l1', 't')")
    .run();
  old.close();
  const now = openDatabase(dir);
  assert.deepEqual(
    { ...(now.prepare('SELECT id, kind, lab_id, due_at FROM assignments').get() as object) },
    { id: 'a1', kind: 'lab', lab_id: 'netpol-lab9server', due_at: '2099-01-01' },
  );
  now.prepare("INSERT INTO assignments (id, group_id, kind, lab_id, created_by, created_at) VALUES ('a2', 'g', 'exam', 'netpol-lab9server', 'l1', 't')").run();
  assert.throws(
    () =>
      now
        .prepare("INSERT INTO assignments (id, group_id, kind, lab_id, created_by, created_at) VALUES ('a3', 'g', 'lab', 'netpol-lab9server', 'l1', 't')")
        .run(),
    /UNIQUE/,
  );
  assert.throws(
    () => now.prepare("INSERT INTO assignments (id, group_id, kind, lab_id, created_by, created_at) VALUES ('a4', 'g', 'quiz', 'x', 'l1', 't')").run(),
    /CHECK/,
  );
  now.close();
});
