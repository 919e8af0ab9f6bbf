// The workstation check: a file or a command's output in the learner's workstation container.
import type { CallOptions } from '../../cluster/port.ts';
import type { CheckOutcome } from '../types.ts';
import type { Check, GradeContext } from './context.ts';
import { lastLine, normalized, outputVerdict, READ_FILE, shorten } from './output.ts';

/** Passes when a file or a command's output in the learner's workstation is as the check expects. */
export async function workstationCheck(ctx: GradeContext, c: Check<'workstation'>, opts: CallOptions): Promise<CheckOutcome> {
  // A whole script (a Killercoda scenario's verify) is named, not quoted: its last line of output says why.
  const what = c.file ? `file ${c.file}` : (c.run ?? '').trim().includes('\n') ? 'the check script' : `\`${c.run ?? ''}\``;
  if (!ctx.workstation)
    return {
      status: 'error',
      expected: 'checked in the workstation',
      actual: 'not run',
      explanation:
        "workstation checks read the learner's workstation container, which only attempts with container terminals have (not the model cluster, not host-mode terminals)",
    };
  let text: string;
  let exitInfo = '';
  if (c.file) {
    const r = await ctx.workstation.exec(['sh', '-c', READ_FILE, 'sh', c.file], opts);
    if (r.exitCode !== 0) {
      const why = r.exitCode === 3 ? 'does not exist' : r.exitCode === 4 ? 'is a directory, not a file' : `cannot be read: ${lastLine(r)}`;
      return {
        status: 'fail',
        expected: `${c.file} exists`,
        actual: why === 'does not exist' ? 'missing' : why,
        explanation: `${c.file} ${why} on the workstation`,
      };
    }
    text = r.stdout;
  } else {
    const r = await ctx.workstation.exec(['bash', '-lc', c.run ?? ''], { ...opts, ...(c.user ? { user: c.user } : {}) });
    const want = c.exitCode ?? 0;
    exitInfo = `exit ${r.exitCode}`;
    if (r.exitCode !== want)
      return {
        status: 'fail',
        expected: `exit ${want}`,
        actual: exitInfo,
        explanation: `${what} exited with ${r.exitCode}, expected ${want}${lastLine(r) ? `: ${lastLine(r)}` : ''}`,
      };
    text = r.stdout;
  }
  if (c.sameAs !== undefined) {
    const ref = await ctx.workstation.exec(['bash', '-lc', c.sameAs], { ...opts, ...(c.user ? { user: c.user } : {}) });
    const refName = c.sameAs.trim().includes('\n') ? 'the reference script' : `\`${c.sameAs}\``;
    if (ref.exitCode !== 0)
      return {
        status: 'error',
        expected: `same as ${refName}`,
        actual: 'not compared',
        explanation: `${refName} failed (exit ${ref.exitCode}: ${lastLine(ref)}), so there is nothing to compare with`,
      };
    const ok = normalized(text) === normalized(ref.stdout);
    const expected = `same as ${refName} prints now`;
    if (ok) return { status: 'pass', expected, actual: shorten(text, 200) };
    const want = normalized(ref.stdout).split('\n');
    const have = normalized(text).split('\n');
    const firstDiff = want.findIndex((l, i) => have[i] !== l);
    const at = firstDiff === -1 ? want.length : firstDiff;
    return {
      status: 'fail',
      expected: `${expected}: "${shorten(ref.stdout, 200)}"`,
      actual: shorten(text, 200),
      explanation: `${what} differs from what ${refName} prints now, first at line ${at + 1}: expected "${want[at] ?? '(end)'}", found "${have[at] ?? '(end)'}"`,
    };
  }
  const out = outputVerdict(text, c);
  if (!out) return { status: 'pass', expected: c.file ? `${c.file} exists` : 'exit 0', actual: c.file ? 'exists' : exitInfo };
  if (out.ok) return { status: 'pass', expected: out.expected, actual: shorten(text, 200) };
  return {
    status: 'fail',
    expected: out.expected,
    actual: shorten(text, 200),
    explanation: `${what} ${c.file ? 'holds' : 'printed'} "${shorten(text, 200)}"${out.missing ? `, which lacks ${out.missing}` : `, expected text that ${out.expected}`}`,
  };
}
