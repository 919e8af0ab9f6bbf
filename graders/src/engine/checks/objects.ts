// Checks on API objects as they are: exists, absent, field, count, podReady, rollout.
import type { CallOptions, KubeObject } from '../../cluster/port.ts';
import { jsonPathValues, renderValues } from '../jsonpath.ts';
import type { CheckOutcome } from '../types.ts';
import type { Check, GradeContext } from './context.ts';
import { nodeForRole } from './nodes.ts';
import { isPodReady, podPhase, resolvePods } from './pods.ts';

function refText(r: {
  kind: string;
  namespace?: string | undefined;
  name?: string | undefined;
  selector?: string | undefined;
  nodeRole?: string | undefined;
}): string {
  if (r.nodeRole) return `the ${r.nodeRole} node`;
  const where = r.namespace ? `${r.namespace}/` : '';
  return r.name
    ? `${r.kind} ${where}${r.name}`
    : `${r.kind}s ${r.selector ? `matching ${r.selector} ` : ''}${r.namespace ? `in ${r.namespace}` : 'in all namespaces'}`;
}

async function findResources(ctx: GradeContext, r: Check<'exists'>['resource'], opts: CallOptions): Promise<KubeObject[]> {
  if (r.nodeRole) {
    const node = nodeForRole(await ctx.list({ apiVersion: 'v1', kind: 'Node' }, opts), r.nodeRole);
    return node ? [node] : [];
  }
  if (r.name) {
    const obj = await ctx.get({ apiVersion: r.apiVersion, kind: r.kind, ...(r.namespace ? { namespace: r.namespace } : {}), name: r.name }, opts);
    return obj ? [obj] : [];
  }
  return ctx.list(
    { apiVersion: r.apiVersion, kind: r.kind, ...(r.namespace ? { namespace: r.namespace } : {}), ...(r.selector ? { labelSelector: r.selector } : {}) },
    opts,
  );
}

/** Passes when the object (or at least one matching the selector) exists. */
export async function existsCheck(ctx: GradeContext, c: Check<'exists'>, opts: CallOptions): Promise<CheckOutcome> {
  const found = await findResources(ctx, c.resource, opts);
  const what = refText(c.resource);
  return found.length > 0
    ? { status: 'pass', expected: 'exists', actual: c.resource.name ? 'exists' : `${found.length} found` }
    : { status: 'fail', expected: 'exists', actual: 'not found', explanation: `${what} does not exist` };
}

/** Passes when no such object exists. */
export async function absentCheck(ctx: GradeContext, c: Check<'absent'>, opts: CallOptions): Promise<CheckOutcome> {
  const found = await findResources(ctx, c.resource, opts);
  const what = refText(c.resource);
  return found.length === 0
    ? { status: 'pass', expected: 'absent', actual: 'absent' }
    : { status: 'fail', expected: 'absent', actual: found.map((o) => o.metadata.name).join(', '), explanation: `${what} still exists` };
}

function sameValue(actual: unknown, expected: string | number | boolean | null): boolean {
  if (expected === null) return actual === undefined || actual === null;
  if (actual === undefined || actual === null) return false;
  return String(actual) === String(expected);
}

/** Passes when a JSONPath of the object equals or matches the expected value. */
export async function fieldCheck(ctx: GradeContext, c: Check<'field'>, opts: CallOptions): Promise<CheckOutcome> {
  const [obj] = await findResources(ctx, c.resource, opts);
  const expected = c.equals !== undefined ? (c.equals === null ? '(not set)' : String(c.equals)) : `matches /${c.matches ?? ''}/`;
  if (!obj)
    return {
      status: 'fail',
      expected,
      actual: `${refText(c.resource)} does not exist`,
      explanation: `${refText(c.resource)} does not exist, so ${c.path} cannot be read`,
    };
  const values = jsonPathValues(obj, c.path);
  const text = renderValues(values);
  const actual = values.length === 0 ? '(not set)' : text;
  let ok: boolean;
  if (c.equals !== undefined) ok = values.length <= 1 ? sameValue(values[0], c.equals) : text === String(c.equals);
  else ok = values.length > 0 && new RegExp(c.matches ?? '').test(text);
  return ok
    ? { status: 'pass', expected, actual }
    : {
        status: 'fail',
        expected,
        actual,
        explanation: `${c.path} of ${refText(c.resource)} is ${actual}, expected ${c.equals !== undefined ? expected : `a value that ${expected}`}`,
      };
}

/** Passes when the number of matching objects is within the bounds. */
export async function countCheck(ctx: GradeContext, c: Check<'count'>, opts: CallOptions): Promise<CheckOutcome> {
  const n = (await findResources(ctx, c.resource, opts)).length;
  const parts = [
    c.equals !== undefined ? `exactly ${c.equals}` : undefined,
    c.min !== undefined ? `at least ${c.min}` : undefined,
    c.max !== undefined ? `at most ${c.max}` : undefined,
  ].filter(Boolean);
  const ok = (c.equals === undefined || n === c.equals) && (c.min === undefined || n >= c.min) && (c.max === undefined || n <= c.max);
  const expected = parts.join(' and ');
  return ok
    ? { status: 'pass', expected, actual: String(n) }
    : { status: 'fail', expected, actual: String(n), explanation: `found ${n} ${refText(c.resource)}, expected ${expected}` };
}

/** Passes when enough of the pods are Running and Ready. */
export async function podReadyCheck(ctx: GradeContext, c: Check<'podReady'>, opts: CallOptions): Promise<CheckOutcome> {
  const r = await resolvePods(ctx, c.pod, opts);
  const ready = r.pods.filter(isPodReady);
  const expected = c.min === 1 ? 'Running and Ready' : `at least ${c.min} Ready`;
  if (ready.length >= c.min) return { status: 'pass', expected, actual: ready.length === 1 ? 'Ready' : `${ready.length} Ready` };
  if (r.pods.length === 0) return { status: 'fail', expected, actual: 'not found', explanation: `${r.describe} does not exist` };
  const states = r.pods.map((p) => `${p.metadata.name}: ${podPhase(p)}${isPodReady(p) ? ', Ready' : ', not Ready'}`).join('; ');
  return { status: 'fail', expected, actual: states, explanation: `${r.describe}: ${states}` };
}

/** Passes when the Deployment's latest change is rolled out: every replica updated, ready and available. */
export async function rolloutCheck(ctx: GradeContext, c: Check<'rollout'>, opts: CallOptions): Promise<CheckOutcome> {
  const [namespace = 'default', name = ''] = c.deployment.split('/');
  const d = await ctx.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace, name }, opts);
  const expected = 'all replicas updated and ready';
  if (!d) return { status: 'fail', expected, actual: 'not found', explanation: `Deployment ${c.deployment} does not exist` };
  const spec = (d.spec ?? {}) as { replicas?: number };
  const st = (d.status ?? {}) as {
    observedGeneration?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    replicas?: number;
  };
  const want = spec.replicas ?? 1;
  const generation = (d.metadata.generation as number | undefined) ?? 0;
  const observed = st.observedGeneration ?? 0;
  const ready = st.readyReplicas ?? 0;
  const updated = st.updatedReplicas ?? 0;
  const total = st.replicas ?? 0;
  const actual = `${ready}/${want} ready, ${updated} updated${total > want ? `, ${total - updated} old still running` : ''}`;
  const ok = observed >= generation && updated === want && ready === want && (st.availableReplicas ?? 0) === want && total === want;
  if (ok) return { status: 'pass', expected, actual };
  const why =
    observed < generation
      ? 'the controller has not seen the latest change yet'
      : ready < want
        ? `${want - ready} of ${want} pods are not Ready (look at kubectl -n ${namespace} describe pods)`
        : 'the rollout is still in progress';
  return { status: 'fail', expected, actual, explanation: `Deployment ${c.deployment}: ${actual}; ${why}` };
}
