// npm run labs:check [path] — validates labs and prints every problem as file:line:col message.
// path may be the labs folder (default), a track folder or one lab folder. Exit 1 on any error.
import { checkLabs } from '../server/src/labs/check-report.ts';

const target = process.argv[2] ?? 'labs';
const { lines, errors } = await checkLabs(target, process.cwd());
console.log(lines.join('\n'));
process.exit(errors > 0 ? 1 : 0);
