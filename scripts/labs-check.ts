// npm run labs:check [path] — validates labs and exams and prints every problem as file:line:col message.
// path may be the labs folder (default: labs and exams), a track folder, one lab folder, the exams
// folder or one exam folder (exams are checked against the labs in ./labs). Exit 1 on any error.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { checkExams, examsDirFor } from '../server/src/exams/check-report.ts';
import { checkLabs } from '../server/src/labs/check-report.ts';

const target = process.argv[2] ?? 'labs';
const abs = path.resolve(process.cwd(), target);
const examTarget = existsSync(path.join(abs, 'exam.yaml')) || path.basename(abs) === 'exams';
const labsTarget = examTarget ? 'labs' : target;
const labs = await checkLabs(labsTarget, process.cwd());
let errors = examTarget ? 0 : labs.errors;
if (!examTarget) console.log(labs.lines.join('\n'));
// The whole labs folder comes with its exams; an exam target is checked against every lab.
const labsRoot = !existsSync(path.join(abs, 'lab.mdx')) && !existsSync(path.join(abs, 'track.yaml')) && path.basename(path.dirname(abs)) !== 'labs';
if (examTarget || labsRoot) {
  const exams = checkExams(examTarget ? target : examsDirFor(abs), process.cwd(), labs.catalog);
  if (exams.lines.length > 1) console.log(`${examTarget ? '' : '\n'}${exams.lines.join('\n')}`);
  errors += exams.errors;
}
process.exit(errors > 0 ? 1 : 0);
