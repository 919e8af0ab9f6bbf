import { parse, stringify } from 'yaml';
import type { TerminalAttempt } from './attempts.ts';

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

/** Node names as the learner sees them: <context>-control-plane for exam clusters, the container name otherwise. */
export function nodeAliases(attempt: TerminalAttempt, containers: readonly string[]): string[] {
  const out: string[] = [];
  for (const c of clustersOf(attempt)) {
    for (const n of containers) {
      if (!n.startsWith(`${c.name}-`)) continue;
      out.push(c.context ? `${c.context}-${n.slice(c.name.length + 1)}` : n);
    }
  }
  return out.sort();
}

/** The node container an exam alias (<context>-worker) names, or undefined. */
export function containerForAlias(attempt: TerminalAttempt, wanted: string): string | undefined {
  for (const c of clustersOf(attempt)) if (c.context && wanted.startsWith(`${c.context}-`)) return `${c.name}-${wanted.slice(c.context.length + 1)}`;
  return undefined;
}
