// The placement check: on which nodes a workload's pods run.
import type { CallOptions, KubeObject } from '../../cluster/port.ts';
import type { CheckOutcome } from '../types.ts';
import type { Check, GradeContext } from './context.ts';
import { nodeForRole } from './nodes.ts';
import { livePods, podPhase, resolvePods, tooFewRunning } from './pods.ts';

/** Passes when the pods run on all, any or none of the chosen nodes, as the check expects. */
export async function placementCheck(ctx: GradeContext, c: Check<'placement'>, opts: CallOptions): Promise<CheckOutcome> {
  const r = await resolvePods(ctx, c.pods, opts);
  const allNodes = await ctx.list({ apiVersion: 'v1', kind: 'Node' }, opts);
  let chosen: KubeObject[];
  let nodesText: string;
  if ('role' in c.nodes) {
    const roles = Array.isArray(c.nodes.role) ? c.nodes.role : [c.nodes.role];
    chosen = roles.map((role) => nodeForRole(allNodes, role)).filter((n): n is KubeObject => n !== undefined);
    nodesText = `${roles.join(', ')} (${chosen.map((n) => n.metadata.name).join(', ') || 'not in this cluster'})`;
  } else {
    chosen = await ctx.list({ apiVersion: 'v1', kind: 'Node', labelSelector: c.nodes.selector }, opts);
    nodesText = `nodes matching ${c.nodes.selector} (${chosen.map((n) => n.metadata.name).join(', ') || 'none'})`;
  }
  const names = new Set(chosen.map((n) => n.metadata.name));
  const live = livePods(r.pods);
  const running = live.filter((p) => podPhase(p) === 'Running');
  const nodeOf = (p: KubeObject) => ((p.spec ?? {}) as { nodeName?: string }).nodeName;
  const where = live.map((p) => `${p.metadata.name} → ${nodeOf(p) ?? `unscheduled (${podPhase(p)})`}`).join('; ');
  const expected = c.expect === 'all' ? `every pod on ${nodesText}` : c.expect === 'any' ? `at least one pod on ${nodesText}` : `no pod on ${nodesText}`;
  const actual = where || 'no pods';
  if (running.length < c.min) {
    return tooFewRunning(
      running.length,
      c.min,
      r.describe,
      live.filter((p) => podPhase(p) !== 'Running'),
      expected,
      actual,
    );
  }
  const on = live.filter((p) => names.has(nodeOf(p) ?? ''));
  const off = live.filter((p) => !names.has(nodeOf(p) ?? ''));
  if (c.expect === 'all') {
    const bad = off.concat(on.filter((p) => podPhase(p) !== 'Running'));
    return bad.length === 0
      ? { status: 'pass', expected, actual }
      : {
          status: 'fail',
          expected,
          actual,
          explanation: `${bad.map((p) => `${p.metadata.name} is ${nodeOf(p) ? `on ${nodeOf(p)}` : `not scheduled (${podPhase(p)})`}`).join('; ')}: every pod of ${r.describe} must run on ${nodesText}`,
        };
  }
  if (c.expect === 'any') {
    const ok = on.some((p) => podPhase(p) === 'Running');
    return ok
      ? { status: 'pass', expected, actual }
      : { status: 'fail', expected, actual, explanation: `no pod of ${r.describe} runs on ${nodesText} (${actual})` };
  }
  return on.length === 0
    ? { status: 'pass', expected, actual }
    : {
        status: 'fail',
        expected,
        actual,
        explanation: `${on.map((p) => p.metadata.name).join(', ')} ${on.length === 1 ? 'is' : 'are'} placed on ${nodesText}, where no pod of ${r.describe} may run`,
      };
}
