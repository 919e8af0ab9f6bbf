import { createHash } from 'node:crypto';
import {
  ClusterError,
  type CallOptions,
  type ClusterPort,
  type ExecResult,
  type KubeObject,
  type ListQuery,
  type ObjectRef,
  type PodTarget,
} from '../cluster/port.ts';
import { buildNetpolState, evaluateConnection, type Endpoint, type NetpolState, type PodInfo, type Protocol } from '../netpol/evaluator.ts';
import { compileApiSelector, matchesLabels, parseLabelSelector, type ApiLabelSelector } from '../netpol/selectors.ts';

// An in-memory model of a kind cluster, implementing ClusterPort so graders can be tested end to
// end without Docker. It is a TEST DOUBLE ONLY — never offered to learners as a cluster.
//
// What it models: object storage with server-side-apply-like merging; Deployments creating pods;
// scheduling (nodeSelector, required node affinity, control-plane taint); pod IPs per node and
// host-network pods on node IPs; readiness from what containers listen on (nginx 80, agnhost netexec
// --http-port, busybox httpd/nc -p, declared ports otherwise; two containers binding one port clash);
// Services with cluster IPs, NodePorts and Endpoints; CoreDNS names; and exec of the busybox tools
// probes use (wget --spider, nc, nslookup, cat /etc/resolv.conf), with every connection judged by
// the NetworkPolicy evaluator. Storage: PersistentVolumeClaims bind to matching PersistentVolumes
// (class, access modes, size, a pre-bound volumeName or claimRef), the default StorageClass
// `standard` provisions like kind's local-path one (WaitForFirstConsumer, ReadWriteOnce only),
// a volume whose claim is gone is Released, and pods wait Pending on missing or unbound claims.
// Containers have no filesystems: checks that read a file in a pod say so (containerFilesUnavailable).

const CLUSTER_SCOPED = new Set([
  'Namespace',
  'Node',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PersistentVolume',
  'StorageClass',
  'IngressClass',
  'PriorityClass',
]);
const CLUSTER_DOMAIN = 'cluster.local';
const DNS_IP = '10.96.0.10';

interface Listener {
  port: number;
  protocol: Protocol;
}

interface ContainerSpec {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  ports?: { name?: string; containerPort: number; protocol?: string }[];
  env?: { name: string; value?: string }[];
  readinessProbe?: { httpGet?: { port: number | string }; tcpSocket?: { port: number | string }; exec?: { command?: string[] } };
}

interface PodSpec {
  nodeName?: string;
  hostNetwork?: boolean;
  nodeSelector?: Record<string, string>;
  tolerations?: { key?: string; operator?: string; value?: string; effect?: string }[];
  dnsConfig?: { searches?: string[] };
  affinity?: { nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: ApiLabelSelector[] } } };
  containers?: ContainerSpec[];
  volumes?: { name: string; persistentVolumeClaim?: { claimName?: string } }[];
}

interface ClaimSpec {
  storageClassName?: string;
  volumeName?: string;
  accessModes?: string[];
  resources?: { requests?: { storage?: string | number } };
}

interface VolumeSpec {
  storageClassName?: string;
  accessModes?: string[];
  capacity?: { storage?: string | number };
  claimRef?: { namespace?: string; name?: string; uid?: string };
  persistentVolumeReclaimPolicy?: string;
}

const DEFAULT_CLASS = 'standard';
const LOCAL_PATH_MODES = new Set(['ReadWriteOnce', 'ReadWriteOncePod']);

/** A storage quantity in bytes ("1Gi", "500M", 1024); NaN when it cannot be read. */
export function storageBytes(q: string | number | undefined): number {
  if (q === undefined) return 0;
  if (typeof q === 'number') return q;
  const m = /^(\d+(?:\.\d+)?)([KMGTPE]i?|[kmgtpe])?$/.exec(q.trim());
  if (!m) return Number.NaN;
  const unit = m[2] ?? '';
  const pow = { k: 1, K: 1, M: 2, G: 3, T: 4, P: 5, E: 6, m: -1 }[unit[0] as 'k'] ?? 0;
  const base = unit.endsWith('i') ? 1024 : 1000;
  return Number(m[1]) * base ** pow;
}

interface ServiceSpec {
  type?: string;
  clusterIP?: string;
  selector?: Record<string, string>;
  ports?: { name?: string; port: number; targetPort?: number | string; nodePort?: number; protocol?: string }[];
}

interface NodeModel {
  name: string;
  ip: string;
  index: number;
  labels: Record<string, string>;
  tainted: boolean;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge for a different field manager: maps merge, everything else is replaced. */
function deepMerge(base: unknown, patch: unknown): unknown {
  if (!isObject(base) || !isObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) out[k] = k in base ? deepMerge(base[k], v) : structuredClone(v);
  return out;
}

function hash(value: unknown, len = 10): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, len);
}

/** What a container listens on, judged from its image and command line. */
export function containerListeners(c: ContainerSpec): Listener[] {
  const image = c.image ?? '';
  const line = [...(c.command ?? []), ...(c.args ?? [])].join(' ');
  if (/\/nginx:|^nginx:/.test(image)) return [{ port: 80, protocol: 'TCP' }];
  if (/agnhost/.test(image)) {
    if (!/netexec/.test(line)) return (c.ports ?? []).map((p) => ({ port: p.containerPort, protocol: (p.protocol as Protocol | undefined) ?? 'TCP' }));
    const http = Number(line.match(/--http-port[= ](\d+)/)?.[1] ?? 8080);
    const udp = Number(line.match(/--udp-port[= ](-?\d+)/)?.[1] ?? 8081);
    return [{ port: http, protocol: 'TCP' }, ...(udp > 0 ? [{ port: udp, protocol: 'UDP' as const }] : [])];
  }
  if (/busybox/.test(image)) {
    const out: Listener[] = [];
    for (const m of line.matchAll(/\bhttpd\b[^;&|]*?-p\s*(\d+)/g)) out.push({ port: Number(m[1]), protocol: 'TCP' });
    for (const m of line.matchAll(/\bnc\b[^;&|]*?-l[k]*\b[^;&|]*?-p\s*(\d+)/g)) out.push({ port: Number(m[1]), protocol: 'TCP' });
    return out;
  }
  if (/coredns/.test(image))
    return [
      { port: 53, protocol: 'UDP' },
      { port: 53, protocol: 'TCP' },
    ];
  return (c.ports ?? []).map((p) => ({ port: p.containerPort, protocol: (p.protocol as Protocol | undefined) ?? 'TCP' }));
}

function hasBusyboxTools(c: ContainerSpec | undefined): boolean {
  return /busybox/.test(c?.image ?? '');
}

/** An in-memory kind-like cluster implementing ClusterPort (a test double, never a real cluster). */
export class ModelCluster implements ClusterPort {
  private readonly objects = new Map<string, KubeObject>();
  private readonly managers = new Map<string, string>();
  private readonly nodes: NodeModel[];
  private nextServiceIp = 20;
  private nextNodePort = 30000;
  private readonly podIpCounters = new Map<string, number>();
  private uid = 0;
  private netpolCache: NetpolState | undefined;
  private scheduleTurn = 0;
  /** Number of exec calls, for tests that want to know probes really ran. */
  execCount = 0;
  readonly containerFilesUnavailable =
    'the model cluster simulates the network tools probes run in a pod, not its files, so file contents are graded on real clusters only';

  constructor(opts: { workers?: number; name?: string } = {}) {
    const name = opts.name ?? 'kind';
    const workers = opts.workers ?? 1;
    // kind taints the control plane only when there are workers to run pods.
    this.nodes = [{ name: `${name}-control-plane`, ip: '172.18.0.2', index: 0, labels: { 'node-role.kubernetes.io/control-plane': '' }, tainted: workers > 0 }];
    for (let i = 1; i <= workers; i++)
      this.nodes.push({ name: `${name}-worker${i === 1 ? '' : i}`, ip: `172.18.0.${i + 2}`, index: i, labels: {}, tainted: false });
    for (const n of this.nodes) {
      n.labels = { ...n.labels, 'kubernetes.io/hostname': n.name, 'kubernetes.io/os': 'linux' };
      this.store({
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: n.name, labels: n.labels },
        spec: { podCIDR: `10.244.${n.index}.0/24`, ...(n.tainted ? { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] } : {}) },
        status: {
          addresses: [
            { type: 'InternalIP', address: n.ip },
            { type: 'Hostname', address: n.name },
          ],
          conditions: [{ type: 'Ready', status: 'True' }],
        },
      });
    }
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) this.store({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    this.store({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kubernetes', namespace: 'default' },
      spec: { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443, targetPort: 6443 }] },
    });
    this.store({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
      spec: {
        clusterIP: DNS_IP,
        selector: { 'k8s-app': 'kube-dns' },
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
          { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
        ],
      },
    });
    for (const suffix of ['a', 'b']) {
      this.store({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `coredns-7db6d8ff4d-${suffix}`, namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
        spec: {
          nodeName: this.nodes[0]?.name,
          tolerations: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }],
          containers: [
            {
              name: 'coredns',
              image: 'registry.k8s.io/coredns/coredns:v1.12.1',
              ports: [
                { name: 'dns', containerPort: 53, protocol: 'UDP' },
                { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
              ],
            },
          ],
        },
      });
    }
    // kind's default StorageClass (local-path: node-local volumes, bound once a pod is scheduled).
    this.store({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: DEFAULT_CLASS, annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
      provisioner: 'rancher.io/local-path',
      reclaimPolicy: 'Delete',
      volumeBindingMode: 'WaitForFirstConsumer',
    });
    this.reconcile();
  }

  // ---- storage ----------------------------------------------------------------------------------

  private key(apiVersion: string, kind: string, namespace: string | undefined, name: string): string {
    return `${apiVersion}|${kind}|${CLUSTER_SCOPED.has(kind) ? '' : (namespace ?? 'default')}|${name}`;
  }

  private keyOf(o: KubeObject): string {
    return this.key(o.apiVersion, o.kind, o.metadata.namespace, o.metadata.name);
  }

  private store(o: KubeObject): void {
    const obj = structuredClone(o);
    if (!CLUSTER_SCOPED.has(obj.kind)) obj.metadata.namespace ??= 'default';
    obj.metadata.uid ??= `uid-${++this.uid}`;
    obj.metadata.creationTimestamp ??= new Date(0).toISOString();
    obj.metadata.generation ??= 1;
    this.objects.set(this.keyOf(obj), obj);
    this.netpolCache = undefined;
  }

  private all(kind: string): KubeObject[] {
    return [...this.objects.values()].filter((o) => o.kind === kind);
  }

  /** Direct access for tests: the stored object (not a copy). */
  peek(ref: ObjectRef): KubeObject | undefined {
    return this.objects.get(this.key(ref.apiVersion, ref.kind, ref.namespace, ref.name));
  }

  // ---- ClusterPort --------------------------------------------------------------------------------

  async get(ref: ObjectRef, opts?: CallOptions): Promise<KubeObject | undefined> {
    checkSignal(opts);
    const o = this.objects.get(this.key(ref.apiVersion, ref.kind, ref.namespace, ref.name));
    return o ? structuredClone(o) : undefined;
  }

  async list(query: ListQuery, opts?: CallOptions): Promise<KubeObject[]> {
    checkSignal(opts);
    const matches = query.labelSelector ? parseLabelSelector(query.labelSelector) : () => true;
    return [...this.objects.values()]
      .filter(
        (o) =>
          o.apiVersion === query.apiVersion &&
          o.kind === query.kind &&
          (query.namespace === undefined || CLUSTER_SCOPED.has(o.kind) || o.metadata.namespace === query.namespace) &&
          matches(o.metadata.labels),
      )
      .sort((a, b) => `${a.metadata.namespace ?? ''}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace ?? ''}/${b.metadata.name}`))
      .map((o) => structuredClone(o));
  }

  async apply(objects: readonly KubeObject[], opts?: CallOptions & { fieldManager?: string }): Promise<void> {
    const manager = opts?.fieldManager ?? 'kubedrill';
    for (const incoming of objects) {
      checkSignal(opts);
      if (!incoming.metadata?.name) throw new ClusterError('api', `${incoming.kind}: metadata.name is required`, 422);
      const ns = CLUSTER_SCOPED.has(incoming.kind) ? undefined : (incoming.metadata.namespace ?? 'default');
      if (ns && !this.objects.has(this.key('v1', 'Namespace', undefined, ns))) throw new ClusterError('api', `namespaces "${ns}" not found`, 404);
      const k = this.key(incoming.apiVersion, incoming.kind, ns, incoming.metadata.name);
      const existing = this.objects.get(k);
      let next: KubeObject;
      if (!existing) next = structuredClone(incoming);
      else if (this.managers.get(k) === manager) {
        // Same manager: fields it no longer applies are removed (what SSA does for sole owners).
        next = {
          ...structuredClone(incoming),
          metadata: { ...structuredClone(incoming.metadata), uid: existing.metadata.uid, creationTimestamp: existing.metadata.creationTimestamp },
        };
        if (existing.status !== undefined) next.status = existing.status;
      } else next = deepMerge(existing, incoming) as KubeObject;
      if (ns) next.metadata.namespace = ns;
      if (existing) {
        const changed = JSON.stringify(existing.spec) !== JSON.stringify(next.spec);
        next.metadata.generation = ((existing.metadata.generation as number | undefined) ?? 1) + (changed ? 1 : 0);
        if (existing.kind === 'Service') this.keepServiceAllocations(existing, next);
        if (existing.kind === 'Pod') next.spec = { ...(next.spec as object), nodeName: (existing.spec as PodSpec).nodeName };
      }
      this.managers.set(k, manager);
      this.store(next);
      this.reconcile();
    }
  }

  async exec(target: PodTarget, argv: readonly string[], opts?: CallOptions): Promise<ExecResult> {
    checkSignal(opts);
    this.execCount++;
    const pod = this.objects.get(this.key('v1', 'Pod', target.namespace, target.name));
    if (!pod) throw new ClusterError('exec', `exec in ${target.namespace}/${target.name}: HTTP 404: pods "${target.name}" not found`, 404);
    const spec = pod.spec as PodSpec;
    const container = target.container ? spec.containers?.find((c) => c.name === target.container) : spec.containers?.[0];
    if (!container)
      throw new ClusterError(
        'exec',
        `exec in ${target.namespace}/${target.name}: HTTP 400: container ${target.container ?? ''} is not valid for pod ${target.name}`,
        400,
      );
    if ((pod.status as { phase?: string } | undefined)?.phase !== 'Running')
      throw new ClusterError('exec', `exec in ${target.namespace}/${target.name}: HTTP 400: pod is not running`, 400);
    return this.simulate(pod, container, argv);
  }

  // ---- reconciliation ---------------------------------------------------------------------------

  private reconcile(): void {
    for (const ns of this.all('Namespace')) {
      const labels = ns.metadata.labels ?? {};
      if (labels['kubernetes.io/metadata.name'] !== ns.metadata.name) ns.metadata.labels = { ...labels, 'kubernetes.io/metadata.name': ns.metadata.name };
      ns.status = { phase: 'Active' };
    }
    for (const d of this.all('Deployment')) this.reconcileDeployment(d);
    this.reconcileClaims();
    for (const p of this.all('Pod')) this.reconcilePod(p);
    this.reconcileClaims();
    // Readiness can depend on other pods (exec probes fetch URLs), so settle it once more.
    this.netpolCache = undefined;
    for (const s of this.all('Service')) this.reconcileService(s);
    for (const p of this.all('Pod')) this.reconcilePod(p);
    this.netpolCache = undefined;
    for (const d of this.all('Deployment')) this.deploymentStatus(d);
    for (const s of this.all('Service')) this.reconcileService(s);
    this.netpolCache = undefined;
  }

  private reconcileDeployment(d: KubeObject): void {
    const spec = (d.spec ?? {}) as { replicas?: number; template?: { metadata?: { labels?: Record<string, string> }; spec?: PodSpec } };
    const replicas = spec.replicas ?? 1;
    const templateHash = hash(spec.template, 10);
    const ns = d.metadata.namespace ?? 'default';
    const owned = this.all('Pod').filter(
      (p) => p.metadata.namespace === ns && (p.metadata.ownerReferences as { uid?: string }[] | undefined)?.some((o) => o.uid === d.metadata.uid),
    );
    // A new template replaces every pod at once (a rollout with no surge limits).
    for (const p of owned) {
      if (p.metadata.labels?.['pod-template-hash'] !== templateHash || owned.indexOf(p) >= replicas) this.objects.delete(this.keyOf(p));
    }
    const current = owned.filter((p) => p.metadata.labels?.['pod-template-hash'] === templateHash).slice(0, replicas);
    for (let i = current.length; i < replicas; i++) {
      const name = `${d.metadata.name}-${templateHash}-${hash([d.metadata.uid, i], 5)}`;
      this.store({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name,
          namespace: ns,
          labels: { ...spec.template?.metadata?.labels, 'pod-template-hash': templateHash },
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: d.metadata.name, uid: d.metadata.uid }],
        },
        spec: structuredClone(spec.template?.spec ?? {}),
      });
    }
  }

  private deploymentStatus(d: KubeObject): void {
    const replicas = ((d.spec ?? {}) as { replicas?: number }).replicas ?? 1;
    const owned = this.all('Pod').filter((p) => (p.metadata.ownerReferences as { uid?: string }[] | undefined)?.some((o) => o.uid === d.metadata.uid));
    const ready = owned.filter((p) => podReady(p)).length;
    d.status = {
      observedGeneration: d.metadata.generation,
      replicas: owned.length,
      updatedReplicas: owned.length,
      readyReplicas: ready,
      availableReplicas: ready,
      unavailableReplicas: Math.max(0, replicas - ready),
    };
  }

  private schedule(spec: PodSpec): NodeModel | undefined {
    if (spec.nodeName) return this.nodes.find((n) => n.name === spec.nodeName);
    const terms = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
    const feasible = this.nodes.filter((n) => {
      if (spec.nodeSelector && !matchesLabels(spec.nodeSelector, n.labels)) return false;
      if (terms.length > 0 && !terms.some((t) => compileApiSelector({ matchExpressions: t.matchExpressions ?? null })(n.labels))) return false;
      if (n.tainted) {
        const tolerated = (spec.tolerations ?? []).some(
          (t) =>
            (t.operator === 'Exists' && !t.key) ||
            (t.key === 'node-role.kubernetes.io/control-plane' && (t.operator === 'Exists' || t.value === '') && (!t.effect || t.effect === 'NoSchedule')),
        );
        if (!tolerated) return false;
      }
      return true;
    });
    if (feasible.length === 0) return undefined;
    return feasible[this.scheduleTurn++ % feasible.length];
  }

  private reconcilePod(p: KubeObject): void {
    const spec = (p.spec ?? {}) as PodSpec;
    if (p.status && (p.status as { phase?: string }).phase === 'Running' && spec.nodeName) {
      p.status = { ...(p.status as object), ...this.readiness(p) };
      return;
    }
    const node = this.schedule(spec);
    if (!node) {
      p.status = {
        phase: 'Pending',
        conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/N nodes are available: no node matches the pod' }],
      };
      return;
    }
    // Claims are looked at once a node fits: WaitForFirstConsumer volumes are provisioned for it.
    const waiting = this.unboundClaim(p);
    if (waiting) {
      p.status = { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: waiting }] };
      return;
    }
    spec.nodeName = node.name;
    p.spec = spec;
    let podIP = node.ip;
    if (!spec.hostNetwork) {
      const n = (this.podIpCounters.get(node.name) ?? 1) + 1;
      this.podIpCounters.set(node.name, n);
      podIP = `10.244.${node.index}.${n}`;
    }
    p.status = { phase: 'Running', hostIP: node.ip, podIP, podIPs: [{ ip: podIP }], ...this.readiness(p) };
  }

  // ---- storage: claims and volumes ------------------------------------------------------------

  private claimOf(ns: string, name: string): KubeObject | undefined {
    return this.objects.get(this.key('v1', 'PersistentVolumeClaim', ns, name));
  }

  /** The volume a claim is bound to: the PersistentVolume whose claimRef carries the claim's uid. */
  private volumeOf(claim: KubeObject): KubeObject | undefined {
    return this.all('PersistentVolume').find((v) => ((v.spec ?? {}) as VolumeSpec).claimRef?.uid === claim.metadata.uid);
  }

  /** Binds claims to volumes (static ones first, then Immediate provisioning) and sets every phase. */
  private reconcileClaims(): void {
    for (const claim of this.all('PersistentVolumeClaim')) {
      const spec = (claim.spec ?? {}) as ClaimSpec;
      // The DefaultStorageClass admission plugin fills in the class of a claim that names none.
      if (spec.storageClassName === undefined && !spec.volumeName) spec.storageClassName = DEFAULT_CLASS;
      claim.spec = spec;
      if (this.volumeOf(claim)) continue;
      const pv = this.matchingVolume(claim);
      if (pv) this.bind(claim, pv);
      else {
        const sc = this.all('StorageClass').find((c) => c.metadata.name === spec.storageClassName) as (KubeObject & { volumeBindingMode?: string }) | undefined;
        if (sc && sc.volumeBindingMode !== 'WaitForFirstConsumer') this.provision(claim, false);
      }
    }
    for (const pv of this.all('PersistentVolume')) {
      const ref = ((pv.spec ?? {}) as VolumeSpec).claimRef;
      const claim = ref?.name ? this.claimOf(ref.namespace ?? 'default', ref.name) : undefined;
      // A claimRef without a uid only reserves the volume for that claim (pre-binding); with a uid
      // whose claim is gone, the claim was deleted and a Retain volume waits, Released, for an admin.
      const phase = !ref || !ref.uid ? 'Available' : claim && claim.metadata.uid === ref.uid ? 'Bound' : 'Released';
      pv.status = { phase };
    }
    for (const claim of this.all('PersistentVolumeClaim')) {
      const pv = this.volumeOf(claim);
      const vs = (pv?.spec ?? {}) as VolumeSpec;
      if (pv) (claim.spec as ClaimSpec).volumeName = pv.metadata.name;
      claim.status = pv ? { phase: 'Bound', accessModes: vs.accessModes ?? [], capacity: vs.capacity ?? {} } : { phase: 'Pending' };
    }
  }

  /** The smallest Available volume the claim fits (class, access modes, size, pre-binding on either side). */
  private matchingVolume(claim: KubeObject): KubeObject | undefined {
    const spec = (claim.spec ?? {}) as ClaimSpec;
    const want = storageBytes(spec.resources?.requests?.storage);
    const fits = this.all('PersistentVolume').filter((pv) => {
      const vs = (pv.spec ?? {}) as VolumeSpec;
      const ref = vs.claimRef;
      if (ref && (ref.uid || ref.name !== claim.metadata.name || (ref.namespace ?? 'default') !== claim.metadata.namespace)) return false;
      if (spec.volumeName && spec.volumeName !== pv.metadata.name) return false;
      if ((vs.storageClassName ?? '') !== (spec.storageClassName ?? '')) return false;
      if (!(spec.accessModes ?? []).every((m) => (vs.accessModes ?? []).includes(m))) return false;
      return storageBytes(vs.capacity?.storage) >= want;
    });
    return fits.sort(
      (a, b) => storageBytes(((a.spec ?? {}) as VolumeSpec).capacity?.storage) - storageBytes(((b.spec ?? {}) as VolumeSpec).capacity?.storage),
    )[0];
  }

  private bind(claim: KubeObject, pv: KubeObject): void {
    const vs = (pv.spec ?? {}) as VolumeSpec;
    vs.claimRef = { ...vs.claimRef, namespace: claim.metadata.namespace, name: claim.metadata.name, uid: claim.metadata.uid };
    pv.spec = vs;
  }

  /** Makes a volume for the claim as its StorageClass's provisioner would; false when it cannot. */
  private provision(claim: KubeObject, forNode: boolean): boolean {
    const spec = (claim.spec ?? {}) as ClaimSpec;
    const sc = this.all('StorageClass').find((c) => c.metadata.name === spec.storageClassName) as
      (KubeObject & { provisioner?: string; reclaimPolicy?: string }) | undefined;
    if (!sc || sc.provisioner === 'kubernetes.io/no-provisioner' || spec.volumeName) return false;
    // local-path makes node-local directories: one node, one writer, and it must know the node —
    // with Immediate binding it fails ("configuration error, no node was specified").
    if (sc.provisioner === 'rancher.io/local-path' && (!(spec.accessModes ?? []).every((m) => LOCAL_PATH_MODES.has(m)) || !forNode)) return false;
    const name = `pvc-${hash(claim.metadata.uid, 12)}`;
    this.store({
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name, annotations: { 'pv.kubernetes.io/provisioned-by': sc.provisioner ?? '' } },
      spec: {
        capacity: { storage: spec.resources?.requests?.storage ?? '0' },
        accessModes: spec.accessModes ?? [],
        persistentVolumeReclaimPolicy: sc.reclaimPolicy ?? 'Delete',
        storageClassName: spec.storageClassName,
        claimRef: { kind: 'PersistentVolumeClaim', namespace: claim.metadata.namespace, name: claim.metadata.name, uid: claim.metadata.uid },
      },
    });
    return true;
  }

  /** Why a pod cannot start for its claims (the scheduler's and volume binder's words), provisioning WaitForFirstConsumer claims on the way. */
  private unboundClaim(p: KubeObject): string | undefined {
    const ns = p.metadata.namespace ?? 'default';
    for (const v of (p.spec as PodSpec).volumes ?? []) {
      const name = v.persistentVolumeClaim?.claimName;
      if (!name) continue;
      const claim = this.claimOf(ns, name);
      if (!claim) return `persistentvolumeclaim "${name}" not found`;
      if (this.volumeOf(claim)) continue;
      const sc = this.all('StorageClass').find((c) => c.metadata.name === ((claim.spec ?? {}) as ClaimSpec).storageClassName) as
        (KubeObject & { volumeBindingMode?: string }) | undefined;
      if (sc?.volumeBindingMode !== 'WaitForFirstConsumer') return '0/N nodes are available: pod has unbound immediate PersistentVolumeClaims';
      if (!this.provision(claim, true)) return `running PreBind plugin "VolumeBinding": binding volumes: provisioning failed for PVC "${name}"`;
    }
    return undefined;
  }

  /** Which containers bind which ports; a port already taken by an earlier container makes a later one crash. */
  private bindings(p: KubeObject): { container: ContainerSpec; listeners: Listener[]; crashed: boolean }[] {
    const taken = new Set<string>();
    return ((p.spec as PodSpec).containers ?? []).map((c) => {
      const listeners = containerListeners(c);
      const clash = listeners.some((l) => taken.has(`${l.protocol}/${l.port}`));
      if (!clash) for (const l of listeners) taken.add(`${l.protocol}/${l.port}`);
      return { container: c, listeners: clash ? [] : listeners, crashed: clash };
    });
  }

  private listeners(p: KubeObject): Listener[] {
    return this.bindings(p).flatMap((b) => b.listeners);
  }

  private readiness(p: KubeObject): { conditions: { type: string; status: string }[]; containerStatuses: unknown[] } {
    const bindings = this.bindings(p);
    const open = bindings.flatMap((b) => b.listeners);
    const statuses = bindings.map((b) => {
      const probe = b.container.readinessProbe?.httpGet ?? b.container.readinessProbe?.tcpSocket;
      let ready = !b.crashed;
      const execProbe = b.container.readinessProbe?.exec?.command;
      if (ready && execProbe) ready = this.execProbeSucceeds(p, b.container, execProbe);
      if (ready && probe) {
        const port = typeof probe.port === 'number' ? probe.port : b.container.ports?.find((cp) => cp.name === probe.port)?.containerPort;
        ready = port !== undefined && open.some((l) => l.port === port && l.protocol === 'TCP');
      }
      return {
        name: b.container.name,
        ready,
        restartCount: b.crashed ? 5 : 0,
        state: b.crashed ? { waiting: { reason: 'CrashLoopBackOff' } } : { running: {} },
      };
    });
    const allReady = statuses.every((s) => s.ready);
    return {
      conditions: [
        { type: 'PodScheduled', status: 'True' },
        { type: 'Ready', status: allReady ? 'True' : 'False' },
        { type: 'ContainersReady', status: allReady ? 'True' : 'False' },
      ],
      containerStatuses: statuses,
    };
  }

  /** Exec readiness probes: a wget of a URL (after $VAR expansion from env) must get an HTTP answer. */
  private execProbeSucceeds(p: KubeObject, c: ContainerSpec, command: string[]): boolean {
    if ((p.status as { phase?: string } | undefined)?.phase !== 'Running') return false;
    const env = new Map((c.env ?? []).map((e) => [e.name, e.value ?? '']));
    const line = command.join(' ').replace(/\$\{?(\w+)\}?/g, (_, name: string) => env.get(name) ?? '');
    const url = line.match(/\bwget\b.*?(http:\/\/[^\s"']+)/)?.[1];
    if (!url) return true;
    return this.simulate(p, { ...c, image: 'busybox' }, ['wget', '-q', '-T', '2', url]).exitCode === 0;
  }

  private keepServiceAllocations(existing: KubeObject, next: KubeObject): void {
    const old = (existing.spec ?? {}) as ServiceSpec;
    const spec = (next.spec ?? {}) as ServiceSpec;
    if (!spec.clusterIP && old.clusterIP) spec.clusterIP = old.clusterIP;
    for (const p of spec.ports ?? []) {
      const before = old.ports?.find((o) => o.port === p.port);
      if (p.nodePort === undefined && before?.nodePort !== undefined && spec.type === 'NodePort') p.nodePort = before.nodePort;
    }
    next.spec = spec;
  }

  private reconcileService(s: KubeObject): void {
    const spec = (s.spec ?? {}) as ServiceSpec;
    spec.type ??= 'ClusterIP';
    if (!spec.clusterIP) spec.clusterIP = `10.96.${Math.floor(this.nextServiceIp / 250)}.${(this.nextServiceIp++ % 250) + 2}`;
    for (const p of spec.ports ?? []) {
      p.protocol ??= 'TCP';
      p.targetPort ??= p.port;
      if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') p.nodePort ??= this.nextNodePort++;
    }
    s.spec = spec;
    if (!spec.selector || Object.keys(spec.selector).length === 0) return;
    const pods = this.selectedPods(s).filter(podReady);
    const first = pods[0];
    const ports = (spec.ports ?? []).map((p) => ({
      ...(p.name ? { name: p.name } : {}),
      port: first ? (this.targetPortOn(first, p.targetPort ?? p.port, (p.protocol ?? 'TCP') as Protocol) ?? 0) : 0,
      protocol: p.protocol ?? 'TCP',
    }));
    const addresses = pods.map((p) => ({
      ip: (p.status as { podIP?: string }).podIP,
      nodeName: (p.spec as PodSpec).nodeName,
      targetRef: { kind: 'Pod', namespace: p.metadata.namespace, name: p.metadata.name },
    }));
    this.store({
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: s.metadata.name, namespace: s.metadata.namespace, labels: s.metadata.labels ?? {} },
      ...(addresses.length > 0 ? { subsets: [{ addresses, ports }] } : {}),
    });
  }

  private selectedPods(s: KubeObject): KubeObject[] {
    const sel = ((s.spec ?? {}) as ServiceSpec).selector ?? {};
    return this.all('Pod').filter(
      (p) =>
        p.metadata.namespace === s.metadata.namespace &&
        (p.status as { phase?: string } | undefined)?.phase === 'Running' &&
        matchesLabels(sel, p.metadata.labels),
    );
  }

  private targetPortOn(pod: KubeObject, targetPort: number | string, protocol: Protocol): number | undefined {
    if (typeof targetPort === 'number') return targetPort;
    if (/^\d+$/.test(targetPort)) return Number(targetPort);
    for (const c of (pod.spec as PodSpec).containers ?? []) {
      const p = c.ports?.find((cp) => cp.name === targetPort && ((cp.protocol as Protocol | undefined) ?? 'TCP') === protocol);
      if (p) return p.containerPort;
    }
    return undefined;
  }

  // ---- networking -------------------------------------------------------------------------------

  private netpol(): NetpolState {
    this.netpolCache ??= buildNetpolState([...this.all('Namespace'), ...this.all('Pod'), ...this.all('NetworkPolicy')]);
    return this.netpolCache;
  }

  private endpointFor(p: KubeObject): Endpoint {
    const info = this.netpol().podsByKey.get(`${p.metadata.namespace}/${p.metadata.name}`) as PodInfo;
    return info.hostNetwork ? { ip: info.ip ?? '' } : { pod: info };
  }

  /** Whether a packet from `from` to pod `to` on port/protocol gets through policy and finds a listener. */
  private reach(from: KubeObject, to: KubeObject, port: number, protocol: Protocol): 'connected' | 'refused' | 'timeout' {
    if ((to.status as { phase?: string } | undefined)?.phase !== 'Running') return 'timeout';
    const verdict = evaluateConnection(this.netpol(), { from: this.endpointFor(from), to: this.endpointFor(to), port, protocol });
    if (!verdict.allowed) return 'timeout';
    return this.listeners(to).some((l) => l.port === port && l.protocol === protocol) ? 'connected' : 'refused';
  }

  private podByIp(ip: string): KubeObject | undefined {
    return this.all('Pod').find((p) => !(p.spec as PodSpec).hostNetwork && (p.status as { podIP?: string } | undefined)?.podIP === ip);
  }

  /** Connects from a pod to ip:port as the data path would (kube-proxy for Service IPs and NodePorts). */
  private connect(from: KubeObject, ip: string, port: number, protocol: Protocol): 'connected' | 'refused' | 'timeout' {
    if (ip === '127.0.0.1' || ip === '::1') return this.listeners(from).some((l) => l.port === port && l.protocol === protocol) ? 'connected' : 'refused';
    const svc = this.all('Service').find((s) => ((s.spec ?? {}) as ServiceSpec).clusterIP === ip);
    if (svc) {
      const sp = ((svc.spec ?? {}) as ServiceSpec).ports?.find((p) => p.port === port && (p.protocol ?? 'TCP') === protocol);
      if (!sp) return 'refused';
      return this.viaBackends(from, svc, sp.targetPort ?? sp.port, protocol);
    }
    const node = this.nodes.find((n) => n.ip === ip);
    if (node) {
      // Leaving the pod network towards a node: egress policy sees the node IP.
      const egress = evaluateConnection(this.netpol(), { from: this.endpointFor(from), to: { ip }, port, protocol });
      if (!egress.allowed) return 'timeout';
      const np = this.all('Service').find((s) => ((s.spec ?? {}) as ServiceSpec).ports?.some((p) => p.nodePort === port && (p.protocol ?? 'TCP') === protocol));
      if (np) {
        const sp = ((np.spec ?? {}) as ServiceSpec).ports?.find((p) => p.nodePort === port);
        return this.viaBackends(from, np, sp?.targetPort ?? port, protocol);
      }
      const host = this.all('Pod').find(
        (p) =>
          (p.spec as PodSpec).hostNetwork &&
          (p.spec as PodSpec).nodeName === node.name &&
          this.listeners(p).some((l) => l.port === port && l.protocol === protocol),
      );
      return host ? 'connected' : 'refused';
    }
    const pod = this.podByIp(ip);
    if (pod) return this.reach(from, pod, port, protocol);
    return 'timeout';
  }

  private viaBackends(from: KubeObject, svc: KubeObject, targetPort: number | string, protocol: Protocol): 'connected' | 'refused' | 'timeout' {
    const backends = this.selectedPods(svc).filter(podReady);
    if (backends.length === 0) return 'refused'; // kube-proxy rejects Services without endpoints
    const results = backends.map((b) => {
      const port = this.targetPortOn(b, targetPort, protocol);
      return port === undefined ? 'refused' : this.reach(from, b, port, protocol);
    });
    // Any backend that answers makes retries succeed; otherwise the worst case shows.
    if (results.includes('connected')) return 'connected';
    return results.includes('timeout') ? 'timeout' : 'refused';
  }

  private searchList(pod: KubeObject): string[] {
    const ns = pod.metadata.namespace ?? 'default';
    return [`${ns}.svc.${CLUSTER_DOMAIN}`, `svc.${CLUSTER_DOMAIN}`, CLUSTER_DOMAIN, ...((pod.spec as PodSpec).dnsConfig?.searches ?? [])];
  }

  private resolvConf(pod: KubeObject): string {
    return `search ${this.searchList(pod).join(' ')}\nnameserver ${DNS_IP}\noptions ndots:5\n`;
  }

  /** Whether the pod can talk to CoreDNS over UDP 53 (egress and CoreDNS's ingress). */
  private dnsReachable(pod: KubeObject): boolean {
    const dns = this.all('Service').find((s) => s.metadata.namespace === 'kube-system' && s.metadata.name === 'kube-dns');
    return dns !== undefined && this.viaBackends(pod, dns, 53, 'UDP') === 'connected';
  }

  /** Answers a fully qualified name the way CoreDNS's kubernetes plugin would. */
  private lookup(fqdn: string): string[] | undefined {
    const name = fqdn.replace(/\.$/, '');
    const m = name.match(new RegExp(`^([a-z0-9-]+)\\.([a-z0-9-]+)\\.svc\\.${CLUSTER_DOMAIN.replace('.', '\\.')}$`));
    if (!m) return undefined;
    const svc = this.objects.get(this.key('v1', 'Service', m[2], m[1] ?? ''));
    if (!svc) return undefined;
    const spec = (svc.spec ?? {}) as ServiceSpec;
    if (spec.clusterIP === 'None')
      return this.selectedPods(svc)
        .filter(podReady)
        .map((p) => (p.status as { podIP: string }).podIP);
    return spec.clusterIP ? [spec.clusterIP] : undefined;
  }

  /** Resolves a name from a pod with the resolver's search list (what wget and nc do via libc). */
  private resolveFromPod(pod: KubeObject, host: string): { ips: string[] } | { error: 'nxdomain' | 'timeout' } {
    if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) return { ips: [host] };
    if (host === 'localhost') return { ips: ['127.0.0.1'] };
    if (!this.dnsReachable(pod)) return { error: 'timeout' };
    const search = this.searchList(pod);
    const dots = host.split('.').length - 1;
    const candidates = host.endsWith('.') ? [host] : dots >= 5 ? [host, ...search.map((s) => `${host}.${s}`)] : [...search.map((s) => `${host}.${s}`), host];
    for (const c of candidates) {
      const ips = this.lookup(c);
      if (ips && ips.length > 0) return { ips };
    }
    return { error: 'nxdomain' };
  }

  // ---- exec -------------------------------------------------------------------------------------

  private simulate(pod: KubeObject, container: ContainerSpec, argv: readonly string[]): ExecResult {
    const ok = (stdout: string): ExecResult => ({ stdout, stderr: '', exitCode: 0 });
    const fail = (stderr: string, exitCode = 1, stdout = ''): ExecResult => ({ stdout, stderr, exitCode });
    const [cmd, ...args] = argv;
    if (cmd === 'cat' && args[0] === '/etc/resolv.conf') return ok(this.resolvConf(pod));
    const tools = hasBusyboxTools(container);
    if (!tools) throw new ClusterError('exec', `exec: "${cmd ?? ''}": executable file not found in $PATH (container ${container.name} has no busybox tools)`);
    if (cmd === 'wget') {
      const url = args.find((a) => a.startsWith('http://'));
      if (!url) return fail('wget: bad usage', 1);
      const u = new URL(url);
      const host = u.hostname.replace(/^\[|\]$/g, '');
      const port = Number(u.port || 80);
      const r = this.resolveFromPod(pod, host);
      if ('error' in r) return fail(`wget: bad address '${host}'`);
      const result = this.connect(pod, r.ips[0] ?? '', port, 'TCP');
      // Like busybox wget -S: the status line on stderr, then the verdict.
      if (result === 'connected')
        return u.pathname === '/' || u.pathname.endsWith('.html')
          ? fail('  HTTP/1.1 200 OK\nremote file exists\n', 0)
          : fail('  HTTP/1.1 404 Not Found\nwget: server returned error: HTTP/1.1 404 Not Found');
      if (result === 'refused') return fail(`wget: can't connect to remote host (${r.ips[0] ?? ''}): Connection refused`);
      return fail('wget: download timed out');
    }
    if (cmd === 'sh' && args[0] === '-c' && /\bnc -w 1\b/.test(args[1] ?? '')) {
      const host = args[3] ?? '';
      const port = Number(args[4]);
      const r = this.resolveFromPod(pod, host);
      if ('error' in r) return fail(`nc: bad address '${host}'`);
      const result = this.connect(pod, r.ips[0] ?? '', port, 'TCP');
      if (result === 'connected') return ok('');
      if (result === 'refused') return fail(`nc: can't connect to remote host (${r.ips[0] ?? ''}): Connection refused`);
      return fail('nc: timed out');
    }
    if (cmd === 'nslookup') {
      const name = args.find((a) => !a.startsWith('-')) ?? '';
      const server = args.filter((a) => !a.startsWith('-'))[1];
      if (server && server !== DNS_IP) return fail('', 1, `;; connection timed out; no servers could be reached\n`);
      if (!this.dnsReachable(pod)) return fail('', 1, ';; connection timed out; no servers could be reached\n\n');
      const head = `Server:\t\t${DNS_IP}\nAddress:\t${DNS_IP}:53\n\n`;
      // busybox nslookup sends the name as given: no search list.
      const ips = this.lookup(name);
      if (!ips || ips.length === 0) return fail('', 1, `${head}** server can't find ${name}: NXDOMAIN\n\n`);
      return ok(`${head}Name:\t${name}\n${ips.map((ip) => `Address: ${ip}`).join('\n')}\n\n`);
    }
    return fail(`sh: ${cmd ?? ''}: not found`, 127);
  }
}

function podReady(p: KubeObject): boolean {
  const st = p.status as { phase?: string; conditions?: { type: string; status: string }[] } | undefined;
  return st?.phase === 'Running' && (st.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

function checkSignal(opts: CallOptions | undefined): void {
  if (opts?.signal?.aborted) throw new ClusterError('aborted', 'the call was cancelled');
}
