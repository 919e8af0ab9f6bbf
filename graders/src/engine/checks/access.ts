// The access check: what the API server's authorizer answers for a subject (SubjectAccessReview).
import type { CallOptions, KubeObject } from '../../cluster/port.ts';
import type { CheckOutcome } from '../types.ts';
import type { Check, GradeContext } from './context.ts';

/** The user and groups the API server gives a subject when kubectl impersonates it (--as, --as-group). */
export function accessIdentity(as: Check<'access'>['as']): { user: string; groups: string[]; display: string; flag: string } {
  if ('serviceAccount' in as) {
    const [ns = '', name = ''] = as.serviceAccount.split('/');
    const user = `system:serviceaccount:${ns}:${name}`;
    return {
      user,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'],
      display: `ServiceAccount ${as.serviceAccount}`,
      flag: `--as=${user}`,
    };
  }
  if ('user' in as) {
    const groups = [...(as.groups ?? []), 'system:authenticated'];
    return { user: as.user, groups, display: `user ${as.user}`, flag: `--as=${as.user}${(as.groups ?? []).map((g) => ` --as-group=${g}`).join('')}` };
  }
  return { user: '', groups: [as.group, 'system:authenticated'], display: `group ${as.group}`, flag: `--as=someone --as-group=${as.group}` };
}

/** kubectl's resource argument split into what a SubjectAccessReview names: pods/log, deployments.apps/scale. */
export function accessResource(resource: string): { resource: string; group: string; subresource: string } {
  const [main = '', subresource = ''] = resource.split('/');
  const dot = main.indexOf('.');
  return dot === -1 ? { resource: main, group: '', subresource } : { resource: main.slice(0, dot), group: main.slice(dot + 1), subresource };
}

/** Passes when the API server allows (or denies) the verb as the check expects, asked as the subject would be. */
export async function accessCheck(ctx: GradeContext, c: Check<'access'>, opts: CallOptions): Promise<CheckOutcome> {
  const id = accessIdentity(c.as);
  const res = accessResource(c.resource);
  const command = `kubectl auth can-i ${c.verb} ${c.resource}${c.name ? `/${c.name}` : ''}${c.namespace ? ` -n ${c.namespace}` : ' -A'} ${id.flag}`;
  const expected = c.expect === 'allowed' ? 'yes' : 'no';
  if (!ctx.port.create)
    return {
      status: 'error',
      expected,
      actual: 'not asked',
      explanation: 'access checks ask the API server (SubjectAccessReview); this cluster port cannot send one',
    };
  const review = await ctx.port.create(
    {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      metadata: {} as KubeObject['metadata'],
      spec: {
        ...(id.user ? { user: id.user } : {}),
        groups: id.groups,
        resourceAttributes: {
          verb: c.verb,
          group: res.group,
          resource: res.resource,
          ...(res.subresource ? { subresource: res.subresource } : {}),
          ...(c.namespace ? { namespace: c.namespace } : {}),
          ...(c.name ? { name: c.name } : {}),
        },
      },
    },
    opts,
  );
  const status = (review.status ?? {}) as { allowed?: boolean; denied?: boolean; reason?: string; evaluationError?: string };
  const allowed = status.allowed === true;
  const actual = allowed ? 'yes' : 'no';
  const target = `${c.verb} ${c.resource}${c.name ? ` named ${c.name}` : ''}${c.namespace ? ` in namespace ${c.namespace}` : ' in every namespace'}`;
  if (allowed === (c.expect === 'allowed'))
    return { status: 'pass', expected, actual, explanation: `\`${command}\` → ${actual}${status.reason ? ` (${status.reason})` : ''}` };
  const why = allowed
    ? `${id.display} may still ${target}${status.reason ? `: ${status.reason}` : ''}; remove or narrow the rule that grants it`
    : `${id.display} may not ${target}: no Role or ClusterRole bound to it grants "${c.verb}" on ${res.group ? `${res.resource}.${res.group}` : res.resource}${res.subresource ? `/${res.subresource}` : ''}${status.evaluationError ? ` (${status.evaluationError})` : ''}`;
  return { status: 'fail', expected, actual, explanation: `\`${command}\` → ${actual}: ${why}` };
}
