// The script check: a lab's own script, run on the grading host with the cluster's KUBECONFIG.
import type { CallOptions } from '../../cluster/port.ts';
import type { CheckOutcome } from '../types.ts';
import type { Check, GradeContext } from './context.ts';

/** Passes when the lab's check script exits 0; its last line of output is the explanation. */
export async function scriptCheck(ctx: GradeContext, c: Check<'script'>, opts: CallOptions): Promise<CheckOutcome> {
  if (!ctx.scripts)
    return { status: 'error', expected: 'exit 0', actual: 'not run', explanation: 'script checks need a real cluster; this grader has no script runner' };
  const script = c.run ?? `exec bash ./${c.file ?? ''}`;
  const r = await ctx.scripts.run(script, { ...opts, cwd: ctx.labDir });
  const last =
    r.output
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .at(-1) ?? '';
  return r.exitCode === 0
    ? { status: 'pass', expected: 'exit 0', actual: 'exit 0', ...(last ? { explanation: last } : {}) }
    : { status: 'fail', expected: 'exit 0', actual: `exit ${r.exitCode}`, explanation: last || `the check script exited with ${r.exitCode}` };
}
