// Handing one verified lab's cluster to the next lab of the same shape (labs:verify --share, the
// CI default): creating a kind cluster costs ~60–75 s on two cores, resetting one ~5–15 s. A reset
// removes what a lab can leave behind without changing cluster-wide state: namespaces that did not
// exist when the cluster was ready, the lab's objects in namespaces that did (default, …), and the
// cluster-scoped objects its manifests name. Labs that change nodes, kube-system or other
// cluster-wide state declare a cluster of their own and are never shared.
import type { KubeObject } from '../../graders/src/cluster/port.ts';
import { ADDON_SERVICES } from '../../server/src/labs/format.ts';

/** kubectl against the cluster (admin rights); resolves with stdout, throws on a non-zero exit. */
export type Kubectl = (args: string[], opts?: { timeoutMs?: number }) => Promise<string>;

/** What the cluster looked like before any lab touched it. */
export interface ClusterBaseline {
  namespaces: ReadonlySet<string>;
  /**
   * When the first lab's setup began, in whole seconds (ms since the epoch): objects made at or after
   * it are a lab's, and a client's change at or after it to an object made before is a lab's change.
   */
  cutoff?: number;
}

// Namespaced kinds a lab (or its solution script, or a learner) may create in a namespace that
// outlives it. Names every cluster has are kept.
const SWEPT_KINDS = [
  'deployments.apps',
  'replicasets.apps',
  'daemonsets.apps',
  'statefulsets.apps',
  'jobs.batch',
  'cronjobs.batch',
  'pods',
  'services',
  'networkpolicies.networking.k8s.io',
  'ingresses.networking.k8s.io',
  'configmaps',
  'secrets',
  'serviceaccounts',
  'roles.rbac.authorization.k8s.io',
  'rolebindings.rbac.authorization.k8s.io',
  'persistentvolumeclaims',
  'horizontalpodautoscalers.autoscaling',
  'poddisruptionbudgets.policy',
  'limitranges',
  'resourcequotas',
] as const;
const KEPT: Record<string, string[]> = {
  services: ['kubernetes'],
  configmaps: ['kube-root-ca.crt'],
  serviceaccounts: ['default'],
};
/**
 * Namespaces whose contents belong to the cluster, never to a lab: Kubernetes' own, the storage
 * provisioner's, and every add-on's (traefik-gateway, metallb-system…). Sweeping an add-on's namespace
 * took the Gateway API controller's Service from the next lab on a shared cluster.
 */
const SYSTEM = new Set([
  'kube-system',
  'kube-public',
  'kube-node-lease',
  'local-path-storage',
  ...Object.values(ADDON_SERVICES).flatMap((services) => services.map((s) => s.split('/')[0]!)),
]);

const names = (out: string) =>
  out
    .split(/\s+/)
    .map((s) => s.replace(/^[^/]+\//, ''))
    .filter(Boolean);

/** Records the namespaces a fresh cluster has. */
export async function clusterBaseline(kubectl: Kubectl): Promise<ClusterBaseline> {
  return { namespaces: new Set(names(await kubectl(['get', 'namespaces', '-o', 'name']))) };
}

/**
 * kubectl's name (resource.group) of each cluster-scoped kind the API serves with the given verbs,
 * keyed by "group/Kind", from `kubectl api-resources` (NAME [SHORTNAMES] APIVERSION NAMESPACED KIND).
 */
async function clusterResources(kubectl: Kubectl, verbs?: string): Promise<Map<string, string>> {
  const resources = new Map<string, string>();
  const args = ['api-resources', '--namespaced=false', '--no-headers', ...(verbs ? [`--verbs=${verbs}`] : [])];
  for (const line of (await kubectl(args)).split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 4) continue;
    const [resource, apiVersion, kind] = [cols[0]!, cols[cols.length - 3]!, cols[cols.length - 1]!];
    const group = groupOf(apiVersion);
    resources.set(`${group}/${kind}`, group ? `${resource}.${group}` : resource);
  }
  return resources;
}

const groupOf = (apiVersion: string) => (apiVersion.includes('/') ? apiVersion.split('/')[0]! : '');

/** kubectl names (resource.group/name) of the cluster-scoped objects among objects, by the API's own list of cluster-scoped kinds. */
export async function clusterScopedRefs(kubectl: Kubectl, objects: readonly KubeObject[]): Promise<string[]> {
  const candidates = objects.filter((o) => o.kind !== 'Namespace');
  if (!candidates.length) return [];
  const resources = await clusterResources(kubectl);
  const refs = candidates.flatMap((o) => {
    const resource = resources.get(`${groupOf(o.apiVersion)}/${o.kind}`);
    return resource ? [`${resource}/${o.metadata.name}`] : [];
  });
  return [...new Set(refs)];
}

/**
 * Returns the cluster to its baseline: deletes new namespaces (and waits until they are gone, so the
 * next lab can create the same names), sweeps lab objects out of the baseline namespaces, and deletes
 * the cluster-scoped objects among the lab's manifests. Returns a one-line summary.
 */
export async function resetCluster(
  kubectl: Kubectl,
  base: ClusterBaseline,
  labObjects: readonly KubeObject[],
  opts: { betweenLabs?: boolean } = {},
): Promise<string> {
  // Between two labs the next one must find the cluster as the first found it: refuse (the caller
  // then makes a fresh cluster) when a lab changed what was there before, and take off every
  // cluster-scoped object a lab's scripts made, not only those its manifests name.
  const now = names(await kubectl(['get', 'namespaces', '-o', 'name']));
  const made = opts.betweenLabs ? await labMadeClusterObjects(kubectl, base, now) : { refs: [], changed: [] };
  if (made.changed.length) throw new Error(`a lab changed what the cluster had before it: ${made.changed.slice(0, 5).join(', ')}`);
  const clusterScoped = [...new Set([...(await clusterScopedRefs(kubectl, labObjects)), ...made.refs])];
  const added = now.filter((n) => !base.namespaces.has(n) && !SYSTEM.has(n));
  const swept = now.filter((n) => base.namespaces.has(n) && !SYSTEM.has(n));
  if (added.length) {
    // A lab's pods are throw-away: without this, each `sleep` that ignores SIGTERM holds its
    // namespace for the default 30 s grace period.
    for (const ns of added)
      await kubectl(['-n', ns, 'delete', 'pods', '--all', '--grace-period=1', '--wait=false', '--ignore-not-found'], { timeoutMs: 60_000 });
    await kubectl(['delete', 'namespace', ...added, '--wait=true', '--timeout=180s'], { timeoutMs: 200_000 });
  }
  const plain = SWEPT_KINDS.filter((k) => !KEPT[k.split('.')[0]!]);
  const kept = SWEPT_KINDS.filter((k) => KEPT[k.split('.')[0]!]);
  const del = ['delete', '--ignore-not-found', '--wait=true', '--timeout=120s'];
  for (const ns of swept) {
    // One call for the kinds with nothing to keep, one per kind whose cluster-made objects stay
    // (kubectl refuses --all together with a selector: the selector alone picks them).
    await kubectl(['-n', ns, ...del, '--grace-period=1', '--all', plain.join(',')], { timeoutMs: 140_000 });
    for (const kind of kept) {
      const selector = (KEPT[kind.split('.')[0]!] ?? []).map((k) => `metadata.name!=${k}`).join(',');
      await kubectl(['-n', ns, ...del, kind, '--field-selector', selector], { timeoutMs: 140_000 });
    }
  }
  if (clusterScoped.length) await kubectl(['delete', ...clusterScoped, '--ignore-not-found', '--wait=true', '--timeout=120s'], { timeoutMs: 140_000 });
  return `deleted namespaces ${added.join(', ') || '(none)'}; swept ${swept.join(', ') || '(none)'}; cluster-scoped ${clusterScoped.join(', ') || '(none)'}`;
}

/**
 * Cluster-scoped kinds the reset between labs leaves alone: what Kubernetes makes and removes by
 * itself for nodes and Services (the IP allocator's IPAddress objects, CSINode, VolumeAttachment),
 * APIServices (an add-on's), and what namespaces and nodes are (handled on their own).
 */
const CLUSTER_KINDS_KEPT = new Set([
  'nodes',
  'namespaces',
  'ipaddresses.networking.k8s.io',
  'servicecidrs.networking.k8s.io',
  'csinodes.storage.k8s.io',
  'volumeattachments.storage.k8s.io',
  'apiservices.apiregistration.k8s.io',
  'componentstatuses',
]);

/** Kinds in the cluster's own namespaces whose changes by a lab would carry over to the next one. */
const SYSTEM_KINDS_WATCHED = ['configmaps', 'services', 'deployments.apps', 'daemonsets.apps'];

/**
 * Field managers of Kubernetes itself and of the add-ons: their writes after the cutoff follow from
 * the cluster running (a node's heartbeat annotations, aggregated ClusterRoles re-aggregated, a
 * controller's bookkeeping), not from a lab. Any other manager (kubectl, helm, kubedrill's own apply, a
 * learner's client) is a change the next lab would inherit.
 */
const SYSTEM_MANAGER =
  /^(kube-apiserver|kube-controller-manager|kube-scheduler|kubelet|kube-proxy|kube-router|kindnetd|local-path-provisioner|metallb-.*|metrics-server|traefik|coredns|.*-controller)$/;

interface ManagedObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    creationTimestamp?: string;
    managedFields?: { manager?: string; time?: string; subresource?: string }[];
  };
}

/**
 * What labs did outside their namespaces since base.cutoff (namespaces: the cluster's namespaces now): cluster-scoped objects made since (as
 * kubectl names, to delete), and objects that existed before but were changed since by a client that
 * is not part of Kubernetes — cluster-scoped ones (a ClusterRole, the default StorageClass, a node's
 * taints) and those in the cluster's own namespaces (CoreDNS's ConfigMap, kube-proxy's DaemonSet).
 */
export async function labMadeClusterObjects(
  kubectl: Kubectl,
  base: ClusterBaseline,
  namespaces: readonly string[],
): Promise<{ refs: string[]; changed: string[] }> {
  if (base.cutoff === undefined) return { refs: [], changed: [] };
  const cutoff = base.cutoff;
  const resourceOf = new Map([...(await clusterResources(kubectl, 'list,delete'))].filter(([, name]) => !CLUSTER_KINDS_KEPT.has(name) || name === 'nodes'));
  const at = (t: string | undefined) => (t ? Date.parse(t) : NaN);
  const changedByClient = (o: ManagedObject) =>
    (o.metadata.managedFields ?? []).some((f) => !f.subresource && at(f.time) >= cutoff && !SYSTEM_MANAGER.test(f.manager ?? ''));
  const list = async (args: string[]) => (JSON.parse(await kubectl(['get', ...args, '-o', 'json'], { timeoutMs: 60_000 })) as { items: ManagedObject[] }).items;
  const refs: string[] = [];
  const changed: string[] = [];
  const describe = (o: ManagedObject) => `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
  for (const o of resourceOf.size ? await list([[...new Set(resourceOf.values())].join(',')]) : []) {
    const resource = resourceOf.get(`${groupOf(o.apiVersion)}/${o.kind}`);
    if (!resource) continue;
    if (resource !== 'nodes' && at(o.metadata.creationTimestamp) >= cutoff) refs.push(`${resource}/${o.metadata.name}`);
    else if (changedByClient(o)) changed.push(describe(o));
  }
  for (const ns of namespaces.filter((n) => SYSTEM.has(n)))
    for (const o of await list(['-n', ns, SYSTEM_KINDS_WATCHED.join(',')]))
      if (at(o.metadata.creationTimestamp) >= cutoff ? !SYSTEM_MANAGER.test(o.metadata.managedFields?.[0]?.manager ?? '') : changedByClient(o))
        changed.push(describe(o));
  return { refs, changed };
}
