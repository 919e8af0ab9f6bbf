// npm run labs:check [path] [--labs-dir DIR] — validates labs and exams and prints every problem as
// file:line:col message, then where each lab is gated and the competency coverage table.
// path may be the labs folder (default: --labs-dir, else KUBEDRILL_LABS_DIR, else labs; with it the
// exams folder beside it), a track folder, one lab folder, the exams folder or one exam folder (exams
// are checked against the labs in ./labs). Exit 1 on any error, and when no lab is found at all.
// --scenarios-dir DIR (or KUBEDRILL_SCENARIOS_DIR) checks a folder of Killercoda scenarios too: which
// run, and why each of the others is refused.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { checkExams, examsDirFor } from '../server/src/exams/check-report.ts';
import { checkLabs } from '../server/src/labs/check-report.ts';
import { checkScenarios } from '../server/src/labs/scenarios.ts';

let parsed;
try {
  parsed = parseArgs({ allowPositionals: true, options: { 'labs-dir': { type: 'string' }, 'scenarios-dir': { type: 'string' } } });
} catch (e) {
  console.error(`labs:check: ${(e as Error).message}\nusage: npm run labs:check -- [path] [--labs-dir DIR] [--scenarios-dir DIR]`);
  process.exit(2);
}
const target = parsed.positionals[0] ?? parsed.values['labs-dir'] ?? process.env.KUBEDRILL_LABS_DIR ?? 'labs';
const abs = path.resolve(process.cwd(), target);
const examTarget = existsSync(path.join(abs, 'exam.yaml')) || path.basename(abs) === 'exams';
const report = await checkLabs(examTarget ? 'labs' : target, process.cwd());
let errors = examTarget ? 0 : report.errors;
const lines = examTarget ? [] : report.lines;
if (!examTarget) console.log(lines.join('\n'));
// The whole labs folder comes with its exams; an exam target is checked against every lab.
const labsRoot = !existsSync(path.join(abs, 'lab.mdx')) && !existsSync(path.join(abs, 'track.yaml')) && path.basename(path.dirname(abs)) !== 'labs';
if (examTarget || labsRoot) {
  const exams = checkExams(examTarget ? target : examsDirFor(abs), process.cwd(), report.catalog);
  if (exams.lines.length > 1) console.log(`${examTarget ? '' : '\n'}${exams.lines.join('\n')}`);
  errors += exams.errors;
}
const scenariosDir = parsed.values['scenarios-dir'] ?? process.env.KUBEDRILL_SCENARIOS_DIR;
if (scenariosDir) {
  const scenarios = await checkScenarios(scenariosDir, process.cwd());
  console.log(`\n${scenarios.lines.join('\n')}`);
  errors += scenarios.errors;
}
process.exit(errors > 0 ? 1 : 0);
