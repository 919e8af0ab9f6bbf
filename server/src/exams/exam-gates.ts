import { gradeUntil } from '../../../graders/src/engine/gates.ts';
import type { ExamResult } from './exam-grading.ts';

// Honesty gates of an exam, as for labs but over the composition: after every task's setup on the
// shared clusters nothing scores, after every reference solution everything does, and grading twice
// agrees. Labs that pass alone but not together interfere with each other on a shared cluster.

export interface ExamGateResult {
  name: 'nothing-earns-nothing' | 'solution-earns-all' | 'grading-is-stable';
  passed: boolean;
  problems: string[];
  result: ExamResult;
  ms: number;
}

function checkLines(r: ExamResult, want: (status: string) => boolean): string[] {
  return r.tasks.flatMap((t) => [
    ...(t.error ? [`task ${t.number} (${t.labId}): ${t.error}`] : []),
    ...t.reports.flatMap((rep) =>
      rep.checks
        .filter((c) => want(c.status))
        .map(
          (c) =>
            `task ${t.number} (${t.labId}/${rep.id}/${c.id}) is ${c.status}${c.actual ? ` (actual: ${c.actual})` : ''}${c.explanation ? `: ${c.explanation}` : ''}`,
        ),
    ),
  ]);
}

/** Runs the three gates: grade after setup, apply every solution, grade twice. Never throws for exam problems. */
export async function runExamGates(
  grade: () => Promise<ExamResult>,
  applySolutions: () => Promise<void>,
  opts: { solutionSettleMs?: number } = {},
): Promise<{ passed: boolean; gates: ExamGateResult[]; solutionMs: number }> {
  const gates: ExamGateResult[] = [];
  const timed = async () => {
    const t = performance.now();
    const result = await grade();
    return { result, ms: performance.now() - t };
  };
  const before = await timed();
  const earned = before.result.tasks
    .filter((t) => t.score > 0)
    .map((t) => `task ${t.number} (${t.labId}) scores ${t.score}/${t.weight} before the learner did anything`);
  gates.push({
    name: 'nothing-earns-nothing',
    passed: earned.length === 0 && !checkLines(before.result, (s) => s === 'error').length,
    problems: [...earned, ...checkLines(before.result, (s) => s === 'error')],
    ...before,
  });
  const t = performance.now();
  await applySolutions();
  const solutionMs = performance.now() - t;
  // Controllers keep acting after the solutions are in (an autoscaler scaling mid-rollout): graded
  // until everything is earned or solutionSettleMs has passed; gate 3 then asks that it stays so.
  const { last: afterSolution } = await gradeUntil(timed, (r) => r.result.score === r.result.maxScore, opts.solutionSettleMs ?? 0);
  const missing = checkLines(afterSolution.result, (s) => s !== 'pass');
  gates.push({
    name: 'solution-earns-all',
    passed: afterSolution.result.score === afterSolution.result.maxScore && missing.length === 0,
    problems: missing,
    ...afterSolution,
  });
  const again = await timed();
  const changed = again.result.tasks
    .filter((x, i) => x.score !== afterSolution.result.tasks[i]?.score)
    .map((x) => `task ${x.number} (${x.labId}) scored ${afterSolution.result.tasks[x.number - 1]?.score} then ${x.score}`);
  gates.push({ name: 'grading-is-stable', passed: changed.length === 0, problems: changed, ...again });
  return { passed: gates.every((g) => g.passed), gates, solutionMs };
}
