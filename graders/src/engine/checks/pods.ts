// The pods a check names (by name or selector) and the one a probe or lookup runs in.
import type { PodRef } from '../../checks/schema.ts';
import type { CallOptions, KubeObject } from '../../cluster/port.ts';
import type { CheckOutcome } from '../types.ts';
import type { GradeContext } from './context.ts';

/** Running with its Ready condition true. */
export function isPodReady(pod: KubeObject): boolean {
  const status = pod.status as { phase?: string; conditions?: { type: string; status: string }[] } | undefined;
  return status?.phase === 'Running' && (status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** The pod's phase, Unknown when it has none yet. */
export function podPhase(pod: KubeObject): string {
  return (pod.status as { phase?: string } | undefined)?.phase ?? 'Unknown';
}

/** The pods a reference names, sorted by name when it is a selector, and how to name them in words. */
export interface ResolvedPods {
  pods: KubeObject[];
  container: string | undefined;
  describe: string;
}

export async function resolvePods(ctx: GradeContext, ref: PodRef, opts: CallOptions): Promise<ResolvedPods> {
  if (typeof ref === 'string') {
    const [namespace = 'default', name = ''] = ref.split('/');
    const pod = await ctx.get({ apiVersion: 'v1', kind: 'Pod', namespace, name }, opts);
    return { pods: pod ? [pod] : [], container: undefined, describe: `pod ${ref}` };
  }
  if (ref.name) {
    const pod = await ctx.get({ apiVersion: 'v1', kind: 'Pod', namespace: ref.namespace, name: ref.name }, opts);
    return { pods: pod ? [pod] : [], container: ref.container, describe: `pod ${ref.namespace}/${ref.name}` };
  }
  const pods = await ctx.list({ apiVersion: 'v1', kind: 'Pod', namespace: ref.namespace, ...(ref.selector ? { labelSelector: ref.selector } : {}) }, opts);
  const sorted = [...pods].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  return { pods: sorted, container: ref.container, describe: `pods matching ${ref.selector ?? ''} in ${ref.namespace}` };
}

/** The pod a probe or lookup runs in: the first Running one. */
export async function sourcePod(
  ctx: GradeContext,
  ref: PodRef,
  opts: CallOptions,
): Promise<{ pod: KubeObject; container: string | undefined } | { missing: string }> {
  const r = await resolvePods(ctx, ref, opts);
  if (r.pods.length === 0) return { missing: `${r.describe} does not exist` };
  const running = r.pods.find((p) => podPhase(p) === 'Running');
  if (!running) return { missing: `${r.describe} is not running (phase ${podPhase(r.pods[0] as KubeObject)})` };
  // Exec into a crashed container fails; say so as a result instead of an exec error.
  const statuses =
    ((running.status ?? {}) as { containerStatuses?: { name: string; state?: { running?: unknown; waiting?: { reason?: string } } }[] }).containerStatuses ??
    [];
  const containers = ((running.spec ?? {}) as { containers?: { name: string }[] }).containers ?? [];
  // A named container the pod does not have (e.g. the sidecar was made a pod of its own) is the pod's state, not an exec error.
  if (r.container && !containers.some((c) => c.name === r.container)) {
    return {
      missing: `pod ${running.metadata.namespace}/${running.metadata.name} has no container ${r.container} (its containers: ${containers.map((c) => c.name).join(', ') || 'none'})`,
    };
  }
  const containerName = r.container ?? containers[0]?.name;
  const st = statuses.find((s) => s.name === containerName);
  if (st?.state && !st.state.running)
    return {
      missing: `container ${containerName ?? ''} of pod ${running.metadata.namespace}/${running.metadata.name} is not running (${st.state.waiting?.reason ?? 'terminated'})`,
    };
  return { pod: running, container: r.container };
}

/** The pods that still count: not being deleted and not finished (Succeeded or Failed). */
export function livePods(pods: readonly KubeObject[]): KubeObject[] {
  return pods.filter((p) => !p.metadata.deletionTimestamp && !['Succeeded', 'Failed'].includes(podPhase(p)));
}

/** The scheduler's or kubelet's word on why a pod is not running (unbound claims show up here). */
export function pendingReason(pod: KubeObject): string | undefined {
  const conditions = ((pod.status ?? {}) as { conditions?: { type: string; status: string; message?: string }[] }).conditions ?? [];
  return conditions.find((x) => x.type === 'PodScheduled' && x.status === 'False')?.message;
}

/**
 * The failing verdict of a check that needs `min` running pods and has fewer: how many run, and the
 * scheduler's word on the first that waits, if any.
 */
export function tooFewRunning(running: number, min: number, describe: string, waiting: readonly KubeObject[], expected: string, actual: string): CheckOutcome {
  const reason = waiting.map(pendingReason).find(Boolean);
  return {
    status: 'fail',
    expected,
    actual,
    explanation: `${running} of the ${min} pod(s) needed from ${describe} are Running${reason ? `; the scheduler says: ${reason}` : ''}`,
  };
}
