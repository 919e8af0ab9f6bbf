// Nodes by role, and the node check: a command as root on a node.
import type { CallOptions, KubeObject } from '../../cluster/port.ts';
import type { CheckOutcome } from '../types.ts';
import type { Check, GradeContext } from './context.ts';
import { lastLine, outputVerdict, shorten } from './output.ts';

function isControlPlane(n: KubeObject): boolean {
  return n.metadata.labels?.['node-role.kubernetes.io/control-plane'] !== undefined;
}

/**
 * The node a role names. kind names nodes <cluster>-control-plane, <cluster>-worker, <cluster>-worker2
 * and <cluster>-worker3, so the workers in name order are worker1..3 on every cluster.
 */
export function nodeForRole(nodes: readonly KubeObject[], role: string): KubeObject | undefined {
  const byName = (a: KubeObject, b: KubeObject) => a.metadata.name.localeCompare(b.metadata.name);
  const cp = /^control-plane(\d*)$/.exec(role);
  // kind names them <cluster>-control-plane, -control-plane2…; exam names controlplane, controlplane2…: both sort in order.
  if (cp) return nodes.filter(isControlPlane).sort(byName)[cp[1] ? Number(cp[1]) - 1 : 0];
  const index = role === 'worker' ? 1 : Number(role.slice('worker'.length));
  return nodes.filter((n) => !isControlPlane(n)).sort(byName)[index - 1];
}

async function nodeByRole(ctx: GradeContext, role: string, opts: CallOptions): Promise<{ node: KubeObject } | { missing: string }> {
  const nodes = await ctx.list({ apiVersion: 'v1', kind: 'Node' }, opts);
  const node = nodeForRole(nodes, role);
  return node
    ? { node }
    : {
        missing: `this cluster has no ${role} node (its nodes: ${nodes.map((n) => n.metadata.name).join(', ') || 'none'}); the lab's cluster.workers may be too small`,
      };
}

/** Passes when a command run as root on the node exits and prints as the check expects. */
export async function nodeCheck(ctx: GradeContext, c: Check<'node'>, opts: CallOptions): Promise<CheckOutcome> {
  const verdictWanted = c.equals !== undefined || c.matches !== undefined || c.contains !== undefined;
  const expectedExit = `exit ${c.exitCode}`;
  if (!ctx.nodes)
    return {
      status: 'error',
      expected: expectedExit,
      actual: 'not run',
      explanation: 'node checks run a command on a node machine, which only a real cluster has (the model cluster simulates the API, not the nodes)',
    };
  const found = await nodeByRole(ctx, c.node, opts);
  if ('missing' in found) return { status: 'error', expected: expectedExit, actual: 'not run', explanation: found.missing };
  const name = found.node.metadata.name;
  const r = await ctx.nodes.exec(name, ['bash', '-c', c.run], opts);
  const out = outputVerdict(r.stdout, c);
  const expected = out ? `${expectedExit}, output ${out.expected}` : expectedExit;
  const actual = `exit ${r.exitCode}${verdictWanted ? `, output "${shorten(r.stdout, 200)}"` : ''}`;
  // A multi-line script is named, not quoted: its last line of output says why.
  const where = `on ${name} (${c.node}), ${c.run.trim().includes('\n') ? 'the check script' : `\`${c.run}\``}`;
  if (r.exitCode !== c.exitCode) {
    const said = lastLine(r);
    return { status: 'fail', expected, actual, explanation: `${where} exited with ${r.exitCode}, expected ${c.exitCode}${said ? `: ${said}` : ''}` };
  }
  if (out && !out.ok)
    return {
      status: 'fail',
      expected,
      actual,
      explanation: `${where} printed "${shorten(r.stdout, 200)}"${out.missing ? `, which lacks ${out.missing}` : `, expected output that ${out.expected}`}`,
    };
  return { status: 'pass', expected, actual };
}
