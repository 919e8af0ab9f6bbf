// Validation report of exams for labs:check (exams are checked against the labs they compose).
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Catalog } from '../labs/loader.ts';
import { formatProblem, type Problem } from '../labs/problems.ts';
import { loadExam, loadExams, type ExamCatalog } from './loader.ts';

/** Validates the exams at target (the exams folder or one exam folder) against the loaded labs. */
export function checkExams(
  target: string,
  cwd: string,
  labs: Pick<Catalog, 'labs' | 'broken'>,
): { lines: string[]; errors: number; warnings: number; exams: ExamCatalog } {
  const abs = path.resolve(cwd, target);
  if (!existsSync(abs) || !statSync(abs).isDirectory()) return { lines: [], errors: 0, warnings: 0, exams: { exams: [], broken: [], problems: [] } };
  let exams: ExamCatalog;
  if (existsSync(path.join(abs, 'exam.yaml'))) {
    const r = loadExam(abs, labs, path.dirname(path.dirname(abs)));
    exams = { exams: 'problems' in r ? [] : [r], broken: 'problems' in r ? [r] : [], problems: [] };
  } else exams = loadExams(abs, labs);
  const problems: Problem[] = [...exams.problems, ...exams.broken.flatMap((b) => b.problems), ...exams.exams.flatMap((e) => e.warnings)];
  problems.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col);
  const lines = problems.map(formatProblem);
  const errors = problems.filter((p) => p.severity === 'error').length;
  if (exams.exams.length) {
    lines.push('', 'Exam honesty gates (0 after every setup, 100% after every reference solution) run:');
    for (const e of exams.exams)
      lines.push(
        `  ${e.id.padEnd(34)} ${e.gate === 'model' ? 'in CI on model clusters and on real clusters (exams:verify)' : `on real clusters only (exams:verify): ${e.gateReason}`}`,
      );
  }
  lines.push(
    '',
    `${exams.exams.length + exams.broken.length} exam(s) checked: ${exams.exams.length} ok, ${exams.broken.length} broken; ${errors} error(s), ${problems.length - errors} warning(s)`,
  );
  return { lines, errors, warnings: problems.length - errors, exams };
}

/** Where the exams live for a labs folder: its sibling exams/. */
export function examsDirFor(labsDir: string): string {
  return path.join(path.dirname(labsDir), 'exams');
}
