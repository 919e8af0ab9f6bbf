import { parse, stringify } from 'yaml';
import type { TerminalAttempt } from './attempts.ts';
import { examNodeNames, resolveNode, type NodeName } from './node-names.ts';

// An exam attempt has several clusters: one workstation, one kubeconfig with a context per cluster
// (named as the exam says), and `ssh` to the nodes of every cluster. A lab attempt is the case of one
// cluster whose context keeps kind's name.

/** The clusters of an attempt: its exam clusters, or its one cluster. */
export function clustersOf(attempt: TerminalAttempt): { context: string | undefined; name: string }[] {
  return attempt.clusters?.length ? attempt.clusters.filter((c) => c.name) : [{ context: undefined, name: attempt.clusterName }];
}

interface Named<T> {
  name: string;
  [k: string]: unknown;
  value?: T;
}

/** Merges kind kubeconfigs into one with a context (and cluster and user) per exam cluster; the first is current. */
export function mergeKubeconfigs(parts: readonly { context: string; kubeconfig: string }[]): string {
  const clusters: Named<unknown>[] = [];
  const users: Named<unknown>[] = [];
  const contexts: Named<unknown>[] = [];
  for (const { context, kubeconfig } of parts) {
    const doc = parse(kubeconfig) as { clusters?: { cluster: unknown }[]; users?: { user: unknown }[]; contexts?: { context: { namespace?: string } }[] };
    const cluster = doc.clusters?.[0]?.cluster;
    const user = doc.users?.[0]?.user;
    if (!cluster || !user) throw new Error(`the kubeconfig of cluster ${context} has no cluster or user`);
    clusters.push({ name: context, cluster });
    users.push({ name: context, user });
    const ns = doc.contexts?.[0]?.context.namespace;
    contexts.push({ name: context, context: { cluster: context, user: context, ...(ns ? { namespace: ns } : {}) } });
  }
  return stringify({ apiVersion: 'v1', kind: 'Config', preferences: {}, clusters, users, contexts, 'current-context': parts[0]?.context ?? '' });
}

/**
 * Every node of the attempt's clusters with the name the learner types: exam-style for a lab
 * (controlplane, node01…), prefixed with the context for an exam's clusters (k8s-c1-node01).
 */
export function attemptNodeNames(attempt: TerminalAttempt, containers: readonly string[]): NodeName[] {
  return clustersOf(attempt).flatMap((c) =>
    examNodeNames(
      c.name,
      containers.filter((x) => x.startsWith(`${c.name}-`)),
    ).map((n) => ({ name: c.context ? `${c.context}-${n.name}` : n.name, container: n.container })),
  );
}

/** The node container the learner means: <context>-<node> for an exam (node as for a lab: node01, worker2, the full name), else as for a lab. */
export function resolveAttemptNode(attempt: TerminalAttempt, containers: readonly string[], wanted: string): string | undefined {
  for (const c of clustersOf(attempt)) {
    if (!c.context || !wanted.startsWith(`${c.context}-`)) continue;
    const hit = resolveNode(
      containers.filter((x) => x.startsWith(`${c.name}-`)),
      c.name,
      wanted.slice(c.context.length + 1),
    );
    if (hit) return hit;
  }
  return resolveNode(containers, attempt.clusterName, wanted);
}
