// What every check works with: the cluster port and the places a check may reach, and reads
// memoized for one grade.
import type { CheckDecl } from '../../checks/schema.ts';
import type { CallOptions, ClusterPort, KubeObject, ListQuery, NodeAccess, ObjectRef, ScriptRunner, WorkstationAccess } from '../../cluster/port.ts';
import { buildNetpolState, type NetpolState } from '../../netpol/evaluator.ts';

/** The declaration of one check kind. */
export type Check<K extends CheckDecl['kind']> = Extract<CheckDecl, { kind: K }>;

/** Per-grade state shared by all checks: memoized reads (objects do not change during one grade). */
export class GradeContext {
  readonly port: ClusterPort;
  readonly scripts: ScriptRunner | undefined;
  readonly nodes: NodeAccess | undefined;
  readonly workstation: WorkstationAccess | undefined;
  readonly labDir: string;
  readonly probeWindowMs: number;
  readonly retryDelayMs: number;
  /** How long a probe through a Service waits for kube-proxy on the source pod's node to program its ClusterIP. */
  readonly kubeProxyWaitMs: number;
  private readonly memo = new Map<string, Promise<unknown>>();

  constructor(opts: {
    port: ClusterPort;
    scripts?: ScriptRunner;
    nodes?: NodeAccess;
    workstation?: WorkstationAccess;
    labDir: string;
    probeWindowMs: number;
    retryDelayMs: number;
    kubeProxyWaitMs?: number;
  }) {
    this.port = opts.port;
    this.scripts = opts.scripts;
    this.nodes = opts.nodes;
    this.workstation = opts.workstation;
    this.labDir = opts.labDir;
    this.probeWindowMs = opts.probeWindowMs;
    this.retryDelayMs = opts.retryDelayMs;
    this.kubeProxyWaitMs = opts.kubeProxyWaitMs ?? 10_000;
  }

  private once<T>(key: string, load: () => Promise<T>): Promise<T> {
    let p = this.memo.get(key) as Promise<T> | undefined;
    if (!p) {
      p = load();
      // A failed read must not poison the checks that come later.
      p.catch(() => this.memo.delete(key));
      this.memo.set(key, p);
    }
    return p;
  }

  get(ref: ObjectRef, opts: CallOptions): Promise<KubeObject | undefined> {
    return this.once(`get:${ref.apiVersion}:${ref.kind}:${ref.namespace ?? ''}:${ref.name}`, () => this.port.get(ref, opts));
  }

  list(q: ListQuery, opts: CallOptions): Promise<KubeObject[]> {
    return this.once(`list:${q.apiVersion}:${q.kind}:${q.namespace ?? ''}:${q.labelSelector ?? ''}`, () => this.port.list(q, opts));
  }

  /** Namespaces, pods and NetworkPolicies of the whole cluster, as the evaluator sees them (read once per grade). */
  netpolState(opts: CallOptions): Promise<{ state: NetpolState; pods: KubeObject[] }> {
    return this.once('netpol', async () => {
      const [namespaces, pods, policies] = await Promise.all([
        this.list({ apiVersion: 'v1', kind: 'Namespace' }, opts),
        this.list({ apiVersion: 'v1', kind: 'Pod' }, opts),
        this.list({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy' }, opts),
      ]);
      return { state: buildNetpolState([...namespaces, ...pods, ...policies]), pods };
    });
  }
}
