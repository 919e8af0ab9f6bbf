// npm run labs:check [path] [--labs-dir DIR] — validates labs and prints every problem as
// file:line:col message, then where each lab is gated and the competency coverage table.
// path may be the labs folder (default: --labs-dir, else KUBEDRILL_LABS_DIR, else labs), a track
// folder or one lab folder. Exit 1 on any error, and when no lab is found at all.
import { parseArgs } from 'node:util';
import { checkLabs } from '../server/src/labs/check-report.ts';

let parsed;
try {
  parsed = parseArgs({ allowPositionals: true, options: { 'labs-dir': { type: 'string' } } });
} catch (e) {
  console.error(`labs:check: ${(e as Error).message}\nusage: npm run labs:check -- [path] [--labs-dir DIR]`);
  process.exit(2);
}
const target = parsed.positionals[0] ?? parsed.values['labs-dir'] ?? process.env.KUBEDRILL_LABS_DIR ?? 'labs';
const { lines, errors } = await checkLabs(target, process.cwd());
console.log(lines.join('\n'));
process.exit(errors > 0 ? 1 : 0);
