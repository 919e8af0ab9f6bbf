// The exam names nodes `controlplane`, `node01`, `node02`…; kind names their containers
// `<cluster>-control-plane`, `<cluster>-worker`, `<cluster>-worker2`. These functions map one onto
// the other for one cluster. An exam with several clusters prefixes the short names per context
// (e.g. `${context}-node01`) and keeps using the same function per cluster.

/** One node of a cluster: the exam-style name the learner types and the kind node container it is. */
export interface NodeName {
  /** controlplane, node01, node02…; controlplane2… for extra control-plane nodes. */
  name: string;
  /** The kind node container, which is also the Kubernetes node name. */
  container: string;
}

/** The exam-style name of a kind node container of the cluster, or undefined for a container kind did not name. */
export function examNodeName(clusterName: string, container: string): string | undefined {
  if (!container.startsWith(`${clusterName}-`)) return undefined;
  const role = container.slice(clusterName.length + 1);
  const cp = /^control-plane(\d*)$/.exec(role);
  if (cp) return `controlplane${cp[1] ?? ''}`;
  const worker = /^worker(\d*)$/.exec(role);
  if (!worker) return undefined;
  // kind numbers its second worker "worker2": worker → node01, worker2 → node02.
  const n = worker[1] ? Number(worker[1]) : 1;
  return `node${String(n).padStart(2, '0')}`;
}

/** The cluster's nodes with their exam-style names, control plane first, then workers in order. */
export function examNodeNames(clusterName: string, containers: readonly string[]): NodeName[] {
  const named = containers.map((container) => ({ name: examNodeName(clusterName, container) ?? container, container }));
  const rank = (n: NodeName) => (n.name.startsWith('controlplane') ? 0 : 1);
  return named.sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name, 'en', { numeric: true }));
}

/**
 * Resolves what the learner typed to a node container of the cluster: the exam-style name
 * (`node01`), the container's full name, or the part after `<cluster>-` (`worker2`).
 */
export function resolveNode(containers: readonly string[], clusterName: string, wanted: string): string | undefined {
  return (
    containers.find((c) => c === wanted) ??
    containers.find((c) => examNodeName(clusterName, c) === wanted) ??
    containers.find((c) => c === `${clusterName}-${wanted}`)
  );
}
