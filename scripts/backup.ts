// npm run backup -- <file> [--data-dir=data] — copies the database to <file> with SQLite's online
// backup, safe while the server runs. Restore: stop the server, put the copy at <dataDir>/kubedrill.db
// (removing kubedrill.db-wal and kubedrill.db-shm beside it), start the server.
import { existsSync } from 'node:fs';
import { ConfigError, loadConfig } from '../server/src/config/config.ts';
import { backupDatabase, DataDirError } from '../server/src/storage/db.ts';

const args = process.argv.slice(2);
const dest = args.find((a) => !a.startsWith('--'));
if (!dest) {
  console.error('usage: npm run backup -- <file> [--data-dir=data]');
  process.exit(2);
}
if (existsSync(dest)) {
  console.error(`backup: ${dest} exists; choose a new file name (backups never overwrite)`);
  process.exit(2);
}
let boot;
try {
  boot = loadConfig({ argv: args.filter((a) => a !== dest), env: process.env, cwd: process.cwd() });
} catch (e) {
  if (e instanceof ConfigError) {
    console.error(`backup: ${e.message}`);
    process.exit(2);
  }
  throw e;
}
try {
  const pages = await backupDatabase(boot.config.dataDir, dest);
  console.log(`backed up ${boot.config.dataDir}/kubedrill.db to ${dest} (${pages} pages)`);
} catch (e) {
  if (e instanceof DataDirError) {
    console.error(`backup: ${e.message}`);
    process.exit(1);
  }
  throw e;
}
