import type { CheckDecl, PodRef, ProbeTarget } from '../checks/schema.ts';
import { ClusterError, type CallOptions, type ClusterPort, type ExecResult, type KubeObject, type ListQuery, type NodeAccess, type ObjectRef, type ScriptRunner, type WorkstationAccess } from '../cluster/port.ts';
import { buildNetpolState, evaluateConnection, podInfo, type Endpoint, type NetpolState, type PodInfo, type Protocol, type Verdict } from '../netpol/evaluator.ts';
import { jsonPathValues, renderValues } from './jsonpath.ts';
import { DUMP_KUBE_PROXY_RULES, rulesMention } from './kube-proxy.ts';
import { explainIngressMatch, matchIngress } from './ingress-routes.ts';
import { classifyProbe, dnsCandidates, parseNslookup, parseResolvConf, probeArgv, statusMatches, type ProbeOutcome } from './probe-commands.ts';
import type { CheckOutcome } from './types.ts';

// One function per check kind. Each returns pass/fail with expected vs actual and an explanation;
// cluster errors are thrown and turned into `error` outcomes by the engine.

type Check<K extends CheckDecl['kind']> = Extract<CheckDecl, { kind: K }>;

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

  constructor(opts: { port: ClusterPort; scripts?: ScriptRunner; nodes?: NodeAccess; workstation?: WorkstationAccess; labDir: string; probeWindowMs: number; retryDelayMs: number; kubeProxyWaitMs?: number }) {
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

function refText(r: { kind: string; namespace?: string | undefined; name?: string | undefined; selector?: string | undefined; nodeRole?: string | undefined }): string {
  if (r.nodeRole) return `the ${r.nodeRole} node`;
  const where = r.namespace ? `${r.namespace}/` : '';
  return r.name ? `${r.kind} ${where}${r.name}` : `${r.kind}s ${r.selector ? `matching ${r.selector} ` : ''}${r.namespace ? `in ${r.namespace}` : 'in all namespaces'}`;
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
  return ctx.list({ apiVersion: r.apiVersion, kind: r.kind, ...(r.namespace ? { namespace: r.namespace } : {}), ...(r.selector ? { labelSelector: r.selector } : {}) }, opts);
}

function isPodReady(pod: KubeObject): boolean {
  const status = pod.status as { phase?: string; conditions?: { type: string; status: string }[] } | undefined;
  return status?.phase === 'Running' && (status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

function podPhase(pod: KubeObject): string {
  return (pod.status as { phase?: string } | undefined)?.phase ?? 'Unknown';
}

interface ResolvedPods {
  pods: KubeObject[];
  container: string | undefined;
  describe: string;
}

async function resolvePods(ctx: GradeContext, ref: PodRef, opts: CallOptions): Promise<ResolvedPods> {
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
async function sourcePod(ctx: GradeContext, ref: PodRef, opts: CallOptions): Promise<{ pod: KubeObject; container: string | undefined } | { missing: string }> {
  const r = await resolvePods(ctx, ref, opts);
  if (r.pods.length === 0) return { missing: `${r.describe} does not exist` };
  const running = r.pods.find((p) => podPhase(p) === 'Running');
  if (!running) return { missing: `${r.describe} is not running (phase ${podPhase(r.pods[0] as KubeObject)})` };
  // Exec into a crashed container fails; say so as a result instead of an exec error.
  const statuses = ((running.status ?? {}) as { containerStatuses?: { name: string; state?: { running?: unknown; waiting?: { reason?: string } } }[] }).containerStatuses ?? [];
  const containers = ((running.spec ?? {}) as { containers?: { name: string }[] }).containers ?? [];
  // A named container the pod does not have (e.g. the sidecar was made a pod of its own) is the pod's state, not an exec error.
  if (r.container && !containers.some((c) => c.name === r.container)) {
    return { missing: `pod ${running.metadata.namespace}/${running.metadata.name} has no container ${r.container} (its containers: ${containers.map((c) => c.name).join(', ') || 'none'})` };
  }
  const containerName = r.container ?? containers[0]?.name;
  const st = statuses.find((s) => s.name === containerName);
  if (st?.state && !st.state.running) return { missing: `container ${containerName ?? ''} of pod ${running.metadata.namespace}/${running.metadata.name} is not running (${st.state.waiting?.reason ?? 'terminated'})` };
  return { pod: running, container: r.container };
}

// ---- exists / absent / field / count / podReady / rollout ----------------------------------------

async function existsCheck(ctx: GradeContext, c: Check<'exists'>, opts: CallOptions): Promise<CheckOutcome> {
  const found = await findResources(ctx, c.resource, opts);
  const what = refText(c.resource);
  return found.length > 0
    ? { status: 'pass', expected: 'exists', actual: c.resource.name ? 'exists' : `${found.length} found` }
    : { status: 'fail', expected: 'exists', actual: 'not found', explanation: `${what} does not exist` };
}

async function absentCheck(ctx: GradeContext, c: Check<'absent'>, opts: CallOptions): Promise<CheckOutcome> {
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

async function fieldCheck(ctx: GradeContext, c: Check<'field'>, opts: CallOptions): Promise<CheckOutcome> {
  const [obj] = await findResources(ctx, c.resource, opts);
  const expected = c.equals !== undefined ? (c.equals === null ? '(not set)' : String(c.equals)) : `matches /${c.matches ?? ''}/`;
  if (!obj) return { status: 'fail', expected, actual: `${refText(c.resource)} does not exist`, explanation: `${refText(c.resource)} does not exist, so ${c.path} cannot be read` };
  const values = jsonPathValues(obj, c.path);
  const text = renderValues(values);
  const actual = values.length === 0 ? '(not set)' : text;
  let ok: boolean;
  if (c.equals !== undefined) ok = values.length <= 1 ? sameValue(values[0], c.equals) : text === String(c.equals);
  else ok = values.length > 0 && new RegExp(c.matches ?? '').test(text);
  return ok
    ? { status: 'pass', expected, actual }
    : { status: 'fail', expected, actual, explanation: `${c.path} of ${refText(c.resource)} is ${actual}, expected ${c.equals !== undefined ? expected : `a value that ${expected}`}` };
}

async function countCheck(ctx: GradeContext, c: Check<'count'>, opts: CallOptions): Promise<CheckOutcome> {
  const n = (await findResources(ctx, c.resource, opts)).length;
  const parts = [c.equals !== undefined ? `exactly ${c.equals}` : undefined, c.min !== undefined ? `at least ${c.min}` : undefined, c.max !== undefined ? `at most ${c.max}` : undefined].filter(Boolean);
  const ok = (c.equals === undefined || n === c.equals) && (c.min === undefined || n >= c.min) && (c.max === undefined || n <= c.max);
  const expected = parts.join(' and ');
  return ok ? { status: 'pass', expected, actual: String(n) } : { status: 'fail', expected, actual: String(n), explanation: `found ${n} ${refText(c.resource)}, expected ${expected}` };
}

async function podReadyCheck(ctx: GradeContext, c: Check<'podReady'>, opts: CallOptions): Promise<CheckOutcome> {
  const r = await resolvePods(ctx, c.pod, opts);
  const ready = r.pods.filter(isPodReady);
  const expected = c.min === 1 ? 'Running and Ready' : `at least ${c.min} Ready`;
  if (ready.length >= c.min) return { status: 'pass', expected, actual: ready.length === 1 ? 'Ready' : `${ready.length} Ready` };
  if (r.pods.length === 0) return { status: 'fail', expected, actual: 'not found', explanation: `${r.describe} does not exist` };
  const states = r.pods.map((p) => `${p.metadata.name}: ${podPhase(p)}${isPodReady(p) ? ', Ready' : ', not Ready'}`).join('; ');
  return { status: 'fail', expected, actual: states, explanation: `${r.describe}: ${states}` };
}

async function rolloutCheck(ctx: GradeContext, c: Check<'rollout'>, opts: CallOptions): Promise<CheckOutcome> {
  const [namespace = 'default', name = ''] = c.deployment.split('/');
  const d = await ctx.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace, name }, opts);
  const expected = 'all replicas updated and ready';
  if (!d) return { status: 'fail', expected, actual: 'not found', explanation: `Deployment ${c.deployment} does not exist` };
  const spec = (d.spec ?? {}) as { replicas?: number };
  const st = (d.status ?? {}) as { observedGeneration?: number; updatedReplicas?: number; readyReplicas?: number; availableReplicas?: number; replicas?: number };
  const want = spec.replicas ?? 1;
  const generation = (d.metadata.generation as number | undefined) ?? 0;
  const observed = st.observedGeneration ?? 0;
  const ready = st.readyReplicas ?? 0;
  const updated = st.updatedReplicas ?? 0;
  const total = st.replicas ?? 0;
  const actual = `${ready}/${want} ready, ${updated} updated${total > want ? `, ${total - updated} old still running` : ''}`;
  const ok = observed >= generation && updated === want && ready === want && (st.availableReplicas ?? 0) === want && total === want;
  if (ok) return { status: 'pass', expected, actual };
  const why = observed < generation ? 'the controller has not seen the latest change yet' : ready < want ? `${want - ready} of ${want} pods are not Ready (look at kubectl -n ${namespace} describe pods)` : 'the rollout is still in progress';
  return { status: 'fail', expected, actual, explanation: `Deployment ${c.deployment}: ${actual}; ${why}` };
}

// ---- probes --------------------------------------------------------------------------------------

interface Target {
  host: string;
  display: string;
  /** Destination endpoints and ports for the evaluator; undefined when it cannot tell (external names). */
  backends: { endpoint: Endpoint; port: number }[] | undefined;
  /** Why there is nothing to connect to, when that is known before trying. */
  emptyReason?: string;
  /** For Services: the Ready endpoints the port leads to, in words ("lab9server 10.244.1.5:80"). */
  endpoints?: string;
  /** For Services with a ClusterIP: the address kube-proxy must have programmed before a probe may be sent. */
  clusterIP?: string;
}

function servicePortTarget(svc: KubeObject, port: number): { targetPort: number | string; protocol: Protocol } | undefined {
  const ports = ((svc.spec ?? {}) as { ports?: { port: number; targetPort?: number | string; protocol?: string }[] }).ports ?? [];
  const p = ports.find((x) => x.port === port);
  if (!p) return undefined;
  return { targetPort: p.targetPort ?? p.port, protocol: p.protocol === 'UDP' || p.protocol === 'SCTP' ? p.protocol : 'TCP' };
}

function resolveTargetPort(pod: PodInfo, targetPort: number | string, protocol: Protocol): number | undefined {
  if (typeof targetPort === 'number') return targetPort;
  if (/^\d+$/.test(targetPort)) return Number(targetPort);
  return pod.ports.find((p) => p.name === targetPort && p.protocol === protocol)?.port;
}

function endpointOf(state: NetpolState, pod: KubeObject): Endpoint {
  const info = state.podsByKey.get(`${pod.metadata.namespace ?? 'default'}/${pod.metadata.name}`) ?? podInfo(pod);
  return { pod: info };
}

function matchesSelector(labels: Record<string, string> | undefined, selector: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** The backends of a Service for a port: its Ready selected pods with the target port resolved. */
async function serviceBackends(ctx: GradeContext, svc: KubeObject, port: number, opts: CallOptions): Promise<{ backends: Target['backends']; emptyReason?: string; endpoints?: string }> {
  const { state, pods } = await ctx.netpolState(opts);
  const sp = servicePortTarget(svc, port);
  const name = `${svc.metadata.namespace ?? 'default'}/${svc.metadata.name}`;
  if (!sp) return { backends: [], emptyReason: `Service ${name} has no port ${port}` };
  const selector = ((svc.spec ?? {}) as { selector?: Record<string, string> }).selector;
  if (!selector || Object.keys(selector).length === 0) return { backends: undefined }; // manual Endpoints: cannot tell
  const selected = pods.filter((p) => (p.metadata.namespace ?? 'default') === (svc.metadata.namespace ?? 'default') && matchesSelector(p.metadata.labels, selector));
  const ready = selected.filter(isPodReady);
  if (ready.length === 0) {
    return {
      backends: [],
      emptyReason: selected.length === 0 ? `Service ${name} selects no pods (its selector ${Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',')} matches nothing)` : `none of the ${selected.length} pods Service ${name} selects is Ready`,
    };
  }
  const backends: NonNullable<Target['backends']> = [];
  for (const p of ready) {
    const ep = endpointOf(state, p);
    const resolved = 'pod' in ep ? resolveTargetPort(ep.pod, sp.targetPort, sp.protocol) : undefined;
    if (resolved !== undefined) backends.push({ endpoint: ep, port: resolved });
  }
  if (backends.length === 0) return { backends: [], emptyReason: `the target port "${sp.targetPort}" of Service ${name} names no container port of its pods` };
  const shown = backends.slice(0, 3).map((b) => ('pod' in b.endpoint ? `${b.endpoint.pod.name} ${b.endpoint.pod.ip ?? ''}:${b.port}` : `${b.endpoint.ip}:${b.port}`));
  return { backends, endpoints: `${backends.length === 1 ? 'endpoint' : `${backends.length} endpoints`} ${shown.join(', ')}${backends.length > 3 ? ', …' : ''}` };
}

/** The Service whose node port this is, in words: its endpoints, or why it has none; undefined when no Service has the port. */
async function nodePortTarget(ctx: GradeContext, nodePort: number, opts: CallOptions): Promise<Pick<Target, 'emptyReason' | 'endpoints'> | undefined> {
  const services = await ctx.list({ apiVersion: 'v1', kind: 'Service' }, opts);
  for (const svc of services) {
    const sp = ((svc.spec ?? {}) as { ports?: { port: number; nodePort?: number }[] }).ports?.find((p) => p.nodePort === nodePort);
    if (!sp) continue;
    const b = await serviceBackends(ctx, svc, sp.port, opts);
    const via = `node port ${nodePort} of Service ${svc.metadata.namespace}/${svc.metadata.name}`;
    return b.emptyReason ? { emptyReason: `${via}: ${b.emptyReason}` } : { endpoints: b.endpoints ? `${via}, ${b.endpoints}` : via };
  }
  return undefined;
}

async function resolveTarget(ctx: GradeContext, to: ProbeTarget, port: number, fromNs: string, opts: CallOptions): Promise<Target | { missing: string }> {
  const { state } = await ctx.netpolState(opts);
  if ('service' in to) {
    const [namespace, name] = to.service.includes('/') ? to.service.split('/') : [fromNs, to.service];
    const svc = await ctx.get({ apiVersion: 'v1', kind: 'Service', namespace: namespace ?? fromNs, name: name ?? '' }, opts);
    if (!svc) return { missing: `Service ${namespace}/${name} does not exist` };
    const clusterIP = ((svc.spec ?? {}) as { clusterIP?: string }).clusterIP;
    const hasIp = clusterIP && clusterIP !== 'None';
    const host = hasIp ? clusterIP : `${name}.${namespace}.svc.cluster.local`;
    const b = await serviceBackends(ctx, svc, port, opts);
    return { host, display: `Service ${namespace}/${name}`, backends: b.backends, ...(b.emptyReason ? { emptyReason: b.emptyReason } : {}), ...(b.endpoints ? { endpoints: b.endpoints } : {}), ...(hasIp ? { clusterIP } : {}) };
  }
  if ('pod' in to) {
    const r = await resolvePods(ctx, to.pod, opts);
    const pod = r.pods.find((p) => podPhase(p) === 'Running') ?? r.pods[0];
    if (!pod) return { missing: `${r.describe} does not exist` };
    const ip = (pod.status as { podIP?: string } | undefined)?.podIP;
    if (!ip) return { missing: `pod ${pod.metadata.namespace}/${pod.metadata.name} has no IP yet` };
    const ep = endpointOf(state, pod);
    if ('pod' in ep && ep.pod.hostNetwork) {
      // A node's address: a port there may be a Service's node port, which kube-proxy forwards to
      // the Service's endpoints (or drops when it has none).
      // NetworkPolicy is judged as before (a node address; kube-proxy may masquerade the source), so
      // only the words change: which Service answered, or why nothing could.
      const np = await nodePortTarget(ctx, port, opts);
      return { host: ip, display: `${pod.metadata.name} (${ip})`, backends: [{ endpoint: { ip }, port }], ...np };
    }
    return { host: ip, display: `${pod.metadata.name} (${ip})`, backends: [{ endpoint: ep, port }] };
  }
  const host = to.host;
  if (host === 'localhost' || host === '127.0.0.1' || host === '::1') return { host, display: host, backends: undefined };
  const byIp = state.podsByIp.get(host);
  if (byIp) return { host, display: `${byIp.name} (${host})`, backends: [{ endpoint: { pod: byIp }, port }] };
  const m = host.match(/^([a-z0-9-]+)\.([a-z0-9-]+)\.svc(\.cluster\.local)?\.?$/);
  if (m) {
    const svc = await ctx.get({ apiVersion: 'v1', kind: 'Service', namespace: m[2] ?? '', name: m[1] ?? '' }, opts);
    if (svc) {
      const clusterIP = ((svc.spec ?? {}) as { clusterIP?: string }).clusterIP;
      const headless = clusterIP === 'None';
      // A headless name resolves to pod IPs, so the probe's port is the pods' port.
      const b = headless ? await headlessBackends(ctx, svc, port, opts) : await serviceBackends(ctx, svc, port, opts);
      return { host, display: host, backends: b.backends, ...(b.emptyReason ? { emptyReason: b.emptyReason } : {}), ...(!headless && clusterIP ? { clusterIP } : {}) };
    }
  }
  return { host, display: host, backends: undefined };
}

async function headlessBackends(ctx: GradeContext, svc: KubeObject, port: number, opts: CallOptions): Promise<{ backends: Target['backends']; emptyReason?: string }> {
  const { state, pods } = await ctx.netpolState(opts);
  const selector = ((svc.spec ?? {}) as { selector?: Record<string, string> }).selector ?? {};
  const ready = pods.filter((p) => (p.metadata.namespace ?? 'default') === (svc.metadata.namespace ?? 'default') && Object.keys(selector).length > 0 && matchesSelector(p.metadata.labels, selector) && isPodReady(p));
  if (ready.length === 0) return { backends: [], emptyReason: `headless Service ${svc.metadata.namespace}/${svc.metadata.name} has no Ready pods` };
  return { backends: ready.map((p) => ({ endpoint: endpointOf(state, p), port })) };
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) {
      resolve();
      return;
    }
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

function shortName(pod: KubeObject): string {
  return pod.metadata.name;
}

/**
 * Waits (up to kubeProxyWaitMs) until kube-proxy on the node has a rule for the ClusterIP. Resolves
 * undefined once it has, or when this grader cannot look at nodes (the model cluster, which has no
 * kube-proxy to lag behind); otherwise why it never did.
 */
async function waitForKubeProxy(ctx: GradeContext, node: string, clusterIP: string, opts: CallOptions): Promise<string | undefined> {
  if (!ctx.nodes) return undefined;
  const end = Date.now() + ctx.kubeProxyWaitMs;
  for (;;) {
    const r = await ctx.nodes.exec(node, ['sh', '-c', DUMP_KUBE_PROXY_RULES], opts).catch(() => undefined);
    // A node the grader cannot reach gives no answer either way: probe as before rather than refuse.
    if (!r) return undefined;
    if (rulesMention(r.stdout, clusterIP)) return undefined;
    if (Date.now() + ctx.retryDelayMs > end || opts.signal?.aborted) return `kube-proxy on ${node} had not programmed ClusterIP ${clusterIP} after ${Math.round(ctx.kubeProxyWaitMs / 1000)} s`;
    await sleep(ctx.retryDelayMs, opts.signal);
  }
}

async function probeCheck(ctx: GradeContext, c: Check<'probe'>, opts: CallOptions): Promise<CheckOutcome> {
  const expected = c.httpStatus !== undefined ? `${c.expect} (HTTP ${c.httpStatus})` : c.expect;
  const src = await sourcePod(ctx, c.from, opts);
  if ('missing' in src) return { status: 'fail', expected, actual: 'not run', explanation: `the probe could not run: ${src.missing}` };
  const fromNs = src.pod.metadata.namespace ?? 'default';
  const target = await resolveTarget(ctx, c.to, c.port, fromNs, opts);
  if ('missing' in target) {
    // Nothing to connect to: a "blocked" expectation is not met honestly by a missing target.
    return { status: c.expect === 'blocked' ? 'error' : 'fail', expected, actual: 'no target', explanation: `${target.missing}, so the probe has nothing to connect to` };
  }
  if (target.clusterIP) {
    const node = ((src.pod.spec ?? {}) as { nodeName?: string }).nodeName;
    const unserved = node ? await waitForKubeProxy(ctx, node, target.clusterIP, opts) : undefined;
    if (unserved) return { status: 'error', expected, actual: 'not run', explanation: `${unserved}, so no probe was sent (it would have left the node). This check is not scored; Check again in a moment.` };
  }
  const argv = probeArgv(c.protocol, target.host, c.port, c.path);
  const want = c.expect === 'reachable';
  const started = Date.now();
  let outcome: ProbeOutcome | undefined;
  // Retry with fresh connections until the expected outcome shows up or the window closes: kindnet
  // applies policy changes within about a second, and only to new connections.
  for (;;) {
    let r;
    try {
      r = await ctx.port.exec({ namespace: fromNs, name: src.pod.metadata.name, ...(src.container ? { container: src.container } : {}) }, argv, opts);
    } catch (e) {
      // The container crashed between reading the pod and exec-ing into it: that is the pod's state
      // (as when the status already said so), not a grading error.
      if (e instanceof ClusterError && /container not found|is not running/i.test(e.message)) {
        return { status: 'fail', expected, actual: 'not run', explanation: `the probe could not run: container ${src.container ?? ''} of pod ${fromNs}/${src.pod.metadata.name} is not running (it is restarting)` };
      }
      throw e;
    }
    outcome = classifyProbe(c.protocol, r.exitCode, r.stdout, r.stderr);
    if (outcome.kind === 'unknown' && /probe tool is missing/.test(outcome.detail)) break;
    // With httpStatus, a connection that answers with another status is not the expected outcome
    // yet (an ingress controller may still be picking up the rule): keep trying within the window.
    if ((outcome.kind === 'connected' && (c.httpStatus === undefined || statusMatches(c.httpStatus, outcome.httpStatus))) === want) break;
    if (Date.now() - started + ctx.retryDelayMs >= ctx.probeWindowMs || opts.signal?.aborted) break;
    await sleep(ctx.retryDelayMs, opts.signal);
  }
  const connected = outcome.kind === 'connected';
  const actual = connected ? `reachable (${outcome.detail})` : `${outcome.kind === 'unknown' ? 'failed' : 'blocked'} (${outcome.detail})`;
  const srcName = shortName(src.pod);
  const verdicts = await evaluatorVerdicts(ctx, src.pod, target, c.protocol === 'udp' ? 'UDP' : 'TCP', opts);
  const allDenied = verdicts !== undefined && verdicts.length > 0 && verdicts.every((v) => !v.allowed);
  const allAllowed = verdicts !== undefined && verdicts.length > 0 && verdicts.every((v) => v.allowed);
  const pick = verdicts?.find((v) => v.allowed === connected) ?? verdicts?.[0];
  const reason = pick ? pick.explanation.slice(pick.explanation.indexOf(': ') + 2) : undefined;
  const head = `${srcName} ${connected ? 'reached' : 'could not reach'} ${target.display} on port ${c.port}`;
  // Through an ingress controller, what matters is which Ingress rule answered, not NetworkPolicy.
  const ingress = connected && c.protocol === 'http' && 'service' in c.to ? await ingressExplanation(ctx, c.to.service, fromNs, target.host, c.path, opts) : undefined;
  const via = connected && target.endpoints && !ingress ? ` through ${target.endpoints}` : '';

  if (outcome.kind === 'unknown') return { status: 'error', expected, actual, explanation: `the probe gave no clear answer: ${outcome.detail}` };
  // The live result contradicts what the objects say: blame the cluster (kindnet fails open), not the learner.
  if (connected && allDenied) {
    return {
      status: 'error',
      expected,
      actual,
      explanation: `enforcement suspicious: ${head}, but NetworkPolicy should block it (${reason ?? 'denied'}). The cluster's network plugin is not enforcing policy; this check is not scored against you.`,
    };
  }
  if (outcome.kind === 'timeout' && allAllowed && !target.emptyReason) {
    return {
      status: 'error',
      expected,
      actual,
      explanation: `enforcement suspicious: ${head} (timed out), although no NetworkPolicy blocks it (${reason ?? 'allowed'}). The cluster's network may be unhealthy; this check is not scored.`,
    };
  }
  if (connected && c.httpStatus !== undefined && !statusMatches(c.httpStatus, outcome.kind === 'connected' ? outcome.httpStatus : undefined)) {
    return { status: 'fail', expected, actual, explanation: `${head}, but the answer was ${outcome.detail}, not HTTP ${c.httpStatus}: ${ingress ?? `the request reached a server that did not serve ${c.path} as expected`}` };
  }
  let why: string;
  if (outcome.kind === 'refused') why = target.emptyReason ?? `the connection was refused: nothing listens on port ${c.port} there`;
  else if (outcome.kind === 'dns') why = `the name ${target.host} did not resolve`;
  else if (target.emptyReason && !connected) why = target.emptyReason;
  else why = ingress ?? reason ?? outcome.detail;
  const explanation = `${head}${via}: ${why}`;
  return { status: connected === want ? 'pass' : 'fail', expected, actual, explanation };
}

/**
 * When the probe's Service is an ingress controller's entry point (Ingresses exist and none routes
 * to this Service), which Ingress rule a request for path matches — or why none does. Undefined
 * for an ordinary Service.
 */
async function ingressExplanation(ctx: GradeContext, service: string, fromNs: string, host: string, path: string, opts: CallOptions): Promise<string | undefined> {
  const [namespace, name] = service.includes('/') ? service.split('/') : [fromNs, service];
  const ingresses = await ctx.list({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress' }, opts);
  if (ingresses.length === 0) return undefined;
  const backends = ingresses.flatMap((i) => {
    const spec = (i.spec ?? {}) as { defaultBackend?: { service?: { name: string } }; rules?: { http?: { paths?: { backend: { service?: { name: string } } }[] } }[] };
    const names = [spec.defaultBackend?.service?.name, ...(spec.rules ?? []).flatMap((r) => (r.http?.paths ?? []).map((p) => p.backend.service?.name))];
    return names.filter((n): n is string => n !== undefined).map((n) => `${i.metadata.namespace ?? 'default'}/${n}`);
  });
  if (backends.includes(`${namespace}/${name}`)) return undefined;
  const classes = await ctx.list({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass' }, opts);
  const match = matchIngress(ingresses, classes, host, path.split('?')[0] ?? path);
  const route = match.route;
  let problem: string | undefined;
  if (route?.service) {
    // A backend that names a Service or port that does not exist answers 404/503 from the controller.
    const [svcNs, svcName] = route.service.split('/');
    const svc = await ctx.get({ apiVersion: 'v1', kind: 'Service', namespace: svcNs ?? '', name: svcName ?? '' }, opts);
    const ports = ((svc?.spec ?? {}) as { ports?: { port: number; name?: string }[] }).ports ?? [];
    if (!svc) problem = `Service ${route.service} does not exist`;
    else if (route.port !== undefined && !ports.some((p) => p.port === route.port || p.name === route.port)) problem = `Service ${route.service} has no port ${route.port} (its ports: ${ports.map((p) => p.port).join(', ')})`;
  }
  return explainIngressMatch(match, path, problem);
}

async function evaluatorVerdicts(ctx: GradeContext, src: KubeObject, target: Target, protocol: Protocol, opts: CallOptions): Promise<Verdict[] | undefined> {
  if (!target.backends) return undefined;
  const { state } = await ctx.netpolState(opts);
  const from = endpointOf(state, src);
  const fromEp: Endpoint = 'pod' in from && from.pod.hostNetwork && from.pod.ip ? { ip: from.pod.ip } : from;
  return target.backends.map((b) => evaluateConnection(state, { from: fromEp, to: b.endpoint, port: b.port, protocol }));
}

// ---- dns -----------------------------------------------------------------------------------------

async function dnsCheck(ctx: GradeContext, c: Check<'dns'>, opts: CallOptions): Promise<CheckOutcome> {
  const expected = c.expect === 'resolves' ? `resolves${c.address ? ` to ${c.address}` : ''}` : 'does not resolve';
  const src = await sourcePod(ctx, c.from, opts);
  if ('missing' in src) return { status: 'fail', expected, actual: 'not run', explanation: `the lookup could not run: ${src.missing}` };
  const target = { namespace: src.pod.metadata.namespace ?? 'default', name: src.pod.metadata.name, ...(src.container ? { container: src.container } : {}) };
  let wantIp: string | undefined;
  if (c.address) {
    if (c.address.includes('/')) {
      const [ns, name] = c.address.split('/');
      const svc = await ctx.get({ apiVersion: 'v1', kind: 'Service', namespace: ns ?? '', name: name ?? '' }, opts);
      if (!svc) return { status: 'error', expected, actual: 'not run', explanation: `the expected address comes from Service ${c.address}, which does not exist` };
      wantIp = ((svc.spec ?? {}) as { clusterIP?: string }).clusterIP;
    } else wantIp = c.address;
  }
  const conf = parseResolvConf((await ctx.port.exec(target, ['cat', '/etc/resolv.conf'], opts)).stdout);
  let addresses: string[] = [];
  let answeredName: string | undefined;
  let serverSilent = false;
  for (const candidate of dnsCandidates(c.name, conf)) {
    const r = await ctx.port.exec(target, ['nslookup', candidate], opts);
    addresses = parseNslookup(r.stdout);
    if (addresses.length > 0) {
      answeredName = candidate;
      break;
    }
    if (/no servers could be reached|timed out/i.test(`${r.stdout}\n${r.stderr}`)) {
      serverSilent = true;
      break;
    }
  }
  const resolved = addresses.length > 0;
  const actual = resolved ? `${answeredName} → ${addresses.join(', ')}` : serverSilent ? 'no DNS server answered' : 'no such name';
  // Which name answered and why: the search list of the pod's resolv.conf turns short names into FQDNs.
  const how = resolved
    ? `${c.name} resolved from ${src.pod.metadata.name} as ${answeredName} → ${addresses.join(', ')}${answeredName !== c.name.replace(/\.$/, '') ? ` (the search list of its /etc/resolv.conf, ${conf.search.join(' ') || 'empty'}, completed the name)` : ''}, asking ${conf.nameservers.join(', ') || 'no nameserver'}`
    : undefined;
  if (c.expect === 'fails') {
    return resolved
      ? { status: 'fail', expected, actual, explanation: how ?? actual }
      : { status: 'pass', expected, actual, explanation: `${c.name} does not resolve from ${src.pod.metadata.name} (tried ${dnsCandidates(c.name, conf).join(', ')})` };
  }
  if (!resolved) {
    let why = serverSilent ? `no DNS server answered ${src.pod.metadata.name}` : `${c.name} does not exist for ${src.pod.metadata.name} (tried ${dnsCandidates(c.name, conf).join(', ')})`;
    if (serverSilent) {
      const dns = await ctx.get({ apiVersion: 'v1', kind: 'Service', namespace: 'kube-system', name: 'kube-dns' }, opts);
      if (dns) {
        const b = await serviceBackends(ctx, dns, 53, opts);
        const verdicts = await evaluatorVerdicts(ctx, src.pod, { host: '', display: 'kube-dns', backends: b.backends }, 'UDP', opts);
        const denied = verdicts?.find((v) => !v.allowed);
        if (denied) why += `: ${denied.explanation.slice(denied.explanation.indexOf(': ') + 2)}`;
      }
    }
    return { status: 'fail', expected, actual, explanation: why };
  }
  if (wantIp && wantIp !== 'None' && !addresses.includes(wantIp)) {
    return { status: 'fail', expected: `resolves to ${wantIp}`, actual, explanation: `${how ?? c.name}, not to ${wantIp}${c.address?.includes('/') ? ` (the cluster IP of Service ${c.address})` : ''}` };
  }
  return { status: 'pass', expected: wantIp ? `resolves to ${wantIp}` : expected, actual, ...(how ? { explanation: how } : {}) };
}

// ---- script --------------------------------------------------------------------------------------

async function scriptCheck(ctx: GradeContext, c: Check<'script'>, opts: CallOptions): Promise<CheckOutcome> {
  if (!ctx.scripts) return { status: 'error', expected: 'exit 0', actual: 'not run', explanation: 'script checks need a real cluster; this grader has no script runner' };
  const script = c.run ?? `exec bash ./${c.file ?? ''}`;
  const r = await ctx.scripts.run(script, { ...opts, cwd: ctx.labDir });
  const last =
    r.output
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .at(-1) ?? '';
  return r.exitCode === 0
    ? { status: 'pass', expected: 'exit 0', actual: 'exit 0', ...(last ? { explanation: last } : {}) }
    : { status: 'fail', expected: 'exit 0', actual: `exit ${r.exitCode}`, explanation: last || `the check script exited with ${r.exitCode}` };
}

// ---- output matching (node and workstation checks) -----------------------------------------------

/** Text as compared: trailing spaces and a final newline do not count (kubectl and echo add them). */
function normalized(text: string): string {
  return text
    .replace(/\r\n/g, '\n')
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n')
    .trim();
}

function shorten(text: string, max = 300): string {
  const t = normalized(text);
  if (t === '') return '(empty)';
  return t.length > max ? `${t.slice(0, max)}…` : t;
}

/** Whether text meets the check's equals / matches / contains (undefined when the check asks none of them). */
function outputVerdict(text: string, c: { equals?: string | undefined; matches?: string | undefined; contains?: string[] | undefined }): { ok: boolean; expected: string; missing?: string } | undefined {
  if (c.equals !== undefined) return { ok: normalized(text) === normalized(c.equals), expected: `"${shorten(c.equals, 120)}"` };
  if (c.matches !== undefined) return { ok: new RegExp(c.matches, 'm').test(text), expected: `matches /${c.matches}/` };
  if (c.contains !== undefined) {
    const missing = c.contains.filter((s) => !text.includes(s));
    return { ok: missing.length === 0, expected: `contains ${c.contains.map((s) => `"${s}"`).join(', ')}`, ...(missing.length ? { missing: missing.map((s) => `"${s}"`).join(', ') } : {}) };
  }
  return undefined;
}

function lastLine(r: ExecResult): string {
  return (
    `${r.stdout}\n${r.stderr}`
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .at(-1) ?? ''
  );
}

// ---- node ----------------------------------------------------------------------------------------

function isControlPlane(n: KubeObject): boolean {
  return n.metadata.labels?.['node-role.kubernetes.io/control-plane'] !== undefined;
}

/**
 * The node a role names. kind names nodes <cluster>-control-plane, <cluster>-worker, <cluster>-worker2
 * and <cluster>-worker3, so the workers in name order are worker1..3 on every cluster.
 */
export function nodeForRole(nodes: readonly KubeObject[], role: string): KubeObject | undefined {
  const byName = (a: KubeObject, b: KubeObject) => a.metadata.name.localeCompare(b.metadata.name);
  if (role === 'control-plane') return nodes.filter(isControlPlane).sort(byName)[0];
  const index = role === 'worker' ? 1 : Number(role.slice('worker'.length));
  return nodes.filter((n) => !isControlPlane(n)).sort(byName)[index - 1];
}

async function nodeByRole(ctx: GradeContext, role: string, opts: CallOptions): Promise<{ node: KubeObject } | { missing: string }> {
  const nodes = await ctx.list({ apiVersion: 'v1', kind: 'Node' }, opts);
  const node = nodeForRole(nodes, role);
  return node ? { node } : { missing: `this cluster has no ${role} node (its nodes: ${nodes.map((n) => n.metadata.name).join(', ') || 'none'}); the lab's cluster.workers may be too small` };
}

async function nodeCheck(ctx: GradeContext, c: Check<'node'>, opts: CallOptions): Promise<CheckOutcome> {
  const verdictWanted = c.equals !== undefined || c.matches !== undefined || c.contains !== undefined;
  const expectedExit = `exit ${c.exitCode}`;
  if (!ctx.nodes) return { status: 'error', expected: expectedExit, actual: 'not run', explanation: 'node checks run a command on a node machine, which only a real cluster has (the model cluster simulates the API, not the nodes)' };
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
  if (out && !out.ok) return { status: 'fail', expected, actual, explanation: `${where} printed "${shorten(r.stdout, 200)}"${out.missing ? `, which lacks ${out.missing}` : `, expected output that ${out.expected}`}` };
  return { status: 'pass', expected, actual };
}

// ---- workstation ---------------------------------------------------------------------------------

// Prints the file or says why not: exit 3 = missing, 4 = a directory, 5 = unreadable.
const READ_FILE = 'f="$1"; [ -e "$f" ] || exit 3; [ -d "$f" ] && exit 4; cat -- "$f" || exit 5';

async function workstationCheck(ctx: GradeContext, c: Check<'workstation'>, opts: CallOptions): Promise<CheckOutcome> {
  // A whole script (a Killercoda scenario's verify) is named, not quoted: its last line of output says why.
  const what = c.file ? `file ${c.file}` : (c.run ?? '').trim().includes('\n') ? 'the check script' : `\`${c.run ?? ''}\``;
  if (!ctx.workstation) return { status: 'error', expected: 'checked in the workstation', actual: 'not run', explanation: "workstation checks read the learner's workstation container, which only attempts with container terminals have (not the model cluster, not host-mode terminals)" };
  let text: string;
  let exitInfo = '';
  if (c.file) {
    const r = await ctx.workstation.exec(['sh', '-c', READ_FILE, 'sh', c.file], opts);
    if (r.exitCode !== 0) {
      const why = r.exitCode === 3 ? 'does not exist' : r.exitCode === 4 ? 'is a directory, not a file' : `cannot be read: ${lastLine(r)}`;
      return { status: 'fail', expected: `${c.file} exists`, actual: why === 'does not exist' ? 'missing' : why, explanation: `${c.file} ${why} on the workstation` };
    }
    text = r.stdout;
  } else {
    const r = await ctx.workstation.exec(['bash', '-lc', c.run ?? ''], { ...opts, ...(c.user ? { user: c.user } : {}) });
    const want = c.exitCode ?? 0;
    exitInfo = `exit ${r.exitCode}`;
    if (r.exitCode !== want) return { status: 'fail', expected: `exit ${want}`, actual: exitInfo, explanation: `${what} exited with ${r.exitCode}, expected ${want}${lastLine(r) ? `: ${lastLine(r)}` : ''}` };
    text = r.stdout;
  }
  if (c.sameAs !== undefined) {
    const ref = await ctx.workstation.exec(['bash', '-lc', c.sameAs], { ...opts, ...(c.user ? { user: c.user } : {}) });
    const refName = c.sameAs.trim().includes('\n') ? 'the reference script' : `\`${c.sameAs}\``;
    if (ref.exitCode !== 0) return { status: 'error', expected: `same as ${refName}`, actual: 'not compared', explanation: `${refName} failed (exit ${ref.exitCode}: ${lastLine(ref)}), so there is nothing to compare with` };
    const ok = normalized(text) === normalized(ref.stdout);
    const expected = `same as ${refName} prints now`;
    if (ok) return { status: 'pass', expected, actual: shorten(text, 200) };
    const want = normalized(ref.stdout).split('\n');
    const have = normalized(text).split('\n');
    const firstDiff = want.findIndex((l, i) => have[i] !== l);
    const at = firstDiff === -1 ? want.length : firstDiff;
    return {
      status: 'fail',
      expected: `${expected}: "${shorten(ref.stdout, 200)}"`,
      actual: shorten(text, 200),
      explanation: `${what} differs from what ${refName} prints now, first at line ${at + 1}: expected "${want[at] ?? '(end)'}", found "${have[at] ?? '(end)'}"`,
    };
  }
  const out = outputVerdict(text, c);
  if (!out) return { status: 'pass', expected: c.file ? `${c.file} exists` : 'exit 0', actual: c.file ? 'exists' : exitInfo };
  if (out.ok) return { status: 'pass', expected: out.expected, actual: shorten(text, 200) };
  return { status: 'fail', expected: out.expected, actual: shorten(text, 200), explanation: `${what} ${c.file ? 'holds' : 'printed'} "${shorten(text, 200)}"${out.missing ? `, which lacks ${out.missing}` : `, expected text that ${out.expected}`}` };
}

// ---- access --------------------------------------------------------------------------------------

/** The user and groups the API server gives a subject when kubectl impersonates it (--as, --as-group). */
export function accessIdentity(as: Check<'access'>['as']): { user: string; groups: string[]; display: string; flag: string } {
  if ('serviceAccount' in as) {
    const [ns = '', name = ''] = as.serviceAccount.split('/');
    const user = `system:serviceaccount:${ns}:${name}`;
    return { user, groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'], display: `ServiceAccount ${as.serviceAccount}`, flag: `--as=${user}` };
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

async function accessCheck(ctx: GradeContext, c: Check<'access'>, opts: CallOptions): Promise<CheckOutcome> {
  const id = accessIdentity(c.as);
  const res = accessResource(c.resource);
  const command = `kubectl auth can-i ${c.verb} ${c.resource}${c.name ? `/${c.name}` : ''}${c.namespace ? ` -n ${c.namespace}` : ' -A'} ${id.flag}`;
  const expected = c.expect === 'allowed' ? 'yes' : 'no';
  if (!ctx.port.create) return { status: 'error', expected, actual: 'not asked', explanation: 'access checks ask the API server (SubjectAccessReview); this cluster port cannot send one' };
  const review = await ctx.port.create(
    {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      metadata: {} as KubeObject['metadata'],
      spec: {
        ...(id.user ? { user: id.user } : {}),
        groups: id.groups,
        resourceAttributes: { verb: c.verb, group: res.group, resource: res.resource, ...(res.subresource ? { subresource: res.subresource } : {}), ...(c.namespace ? { namespace: c.namespace } : {}), ...(c.name ? { name: c.name } : {}) },
      },
    },
    opts,
  );
  const status = (review.status ?? {}) as { allowed?: boolean; denied?: boolean; reason?: string; evaluationError?: string };
  const allowed = status.allowed === true;
  const actual = allowed ? 'yes' : 'no';
  const target = `${c.verb} ${c.resource}${c.name ? ` named ${c.name}` : ''}${c.namespace ? ` in namespace ${c.namespace}` : ' in every namespace'}`;
  if (allowed === (c.expect === 'allowed')) return { status: 'pass', expected, actual, explanation: `\`${command}\` → ${actual}${status.reason ? ` (${status.reason})` : ''}` };
  const why = allowed
    ? `${id.display} may still ${target}${status.reason ? `: ${status.reason}` : ''}; remove or narrow the rule that grants it`
    : `${id.display} may not ${target}: no Role or ClusterRole bound to it grants "${c.verb}" on ${res.group ? `${res.resource}.${res.group}` : res.resource}${res.subresource ? `/${res.subresource}` : ''}${status.evaluationError ? ` (${status.evaluationError})` : ''}`;
  return { status: 'fail', expected, actual, explanation: `\`${command}\` → ${actual}: ${why}` };
}

// ---- placement -----------------------------------------------------------------------------------

async function placementCheck(ctx: GradeContext, c: Check<'placement'>, opts: CallOptions): Promise<CheckOutcome> {
  const r = await resolvePods(ctx, c.pods, opts);
  const allNodes = await ctx.list({ apiVersion: 'v1', kind: 'Node' }, opts);
  let chosen: KubeObject[];
  let nodesText: string;
  if ('role' in c.nodes) {
    const roles = Array.isArray(c.nodes.role) ? c.nodes.role : [c.nodes.role];
    chosen = roles.map((role) => nodeForRole(allNodes, role)).filter((n): n is KubeObject => n !== undefined);
    nodesText = `${roles.join(', ')} (${chosen.map((n) => n.metadata.name).join(', ') || 'not in this cluster'})`;
  } else {
    chosen = await ctx.list({ apiVersion: 'v1', kind: 'Node', labelSelector: c.nodes.selector }, opts);
    nodesText = `nodes matching ${c.nodes.selector} (${chosen.map((n) => n.metadata.name).join(', ') || 'none'})`;
  }
  const names = new Set(chosen.map((n) => n.metadata.name));
  const live = r.pods.filter((p) => !p.metadata.deletionTimestamp && !['Succeeded', 'Failed'].includes(podPhase(p)));
  const running = live.filter((p) => podPhase(p) === 'Running');
  const nodeOf = (p: KubeObject) => ((p.spec ?? {}) as { nodeName?: string }).nodeName;
  const where = live.map((p) => `${p.metadata.name} → ${nodeOf(p) ?? `unscheduled (${podPhase(p)})`}`).join('; ');
  const expected = c.expect === 'all' ? `every pod on ${nodesText}` : c.expect === 'any' ? `at least one pod on ${nodesText}` : `no pod on ${nodesText}`;
  const actual = where || 'no pods';
  if (running.length < c.min) {
    const pending = live.filter((p) => podPhase(p) !== 'Running');
    const reason = pending
      .map((p) => ((p.status ?? {}) as { conditions?: { type: string; status: string; message?: string }[] }).conditions?.find((x) => x.type === 'PodScheduled' && x.status === 'False')?.message)
      .find(Boolean);
    return { status: 'fail', expected, actual, explanation: `${running.length} of the ${c.min} pod(s) needed from ${r.describe} are Running${reason ? `; the scheduler says: ${reason}` : ''}` };
  }
  const on = live.filter((p) => names.has(nodeOf(p) ?? ''));
  const off = live.filter((p) => !names.has(nodeOf(p) ?? ''));
  if (c.expect === 'all') {
    const bad = off.concat(on.filter((p) => podPhase(p) !== 'Running'));
    return bad.length === 0 ? { status: 'pass', expected, actual } : { status: 'fail', expected, actual, explanation: `${bad.map((p) => `${p.metadata.name} is ${nodeOf(p) ? `on ${nodeOf(p)}` : `not scheduled (${podPhase(p)})`}`).join('; ')}: every pod of ${r.describe} must run on ${nodesText}` };
  }
  if (c.expect === 'any') {
    const ok = on.some((p) => podPhase(p) === 'Running');
    return ok ? { status: 'pass', expected, actual } : { status: 'fail', expected, actual, explanation: `no pod of ${r.describe} runs on ${nodesText} (${actual})` };
  }
  return on.length === 0 ? { status: 'pass', expected, actual } : { status: 'fail', expected, actual, explanation: `${on.map((p) => p.metadata.name).join(', ')} ${on.length === 1 ? 'is' : 'are'} placed on ${nodesText}, where no pod of ${r.describe} may run` };
}

// ---- volume --------------------------------------------------------------------------------------

interface PodVolume {
  name: string;
  persistentVolumeClaim?: { claimName?: string };
  [source: string]: unknown;
}

interface PodContainer {
  name: string;
  volumeMounts?: { name: string; mountPath: string; subPath?: string }[];
}

/** How a pod's volumes are made, in words: "data → emptyDir, config → configMap". */
function volumeSources(volumes: readonly PodVolume[]): string {
  return volumes.map((v) => `${v.name} → ${v.persistentVolumeClaim ? `claim ${v.persistentVolumeClaim.claimName ?? '?'}` : (Object.keys(v).find((k) => k !== 'name') ?? 'nothing')}`).join(', ') || 'no volumes';
}

/** Why a claim is not Bound, from what the PV controller and the provisioner look at. */
async function claimPendingReason(ctx: GradeContext, pvc: KubeObject, opts: CallOptions): Promise<string> {
  const spec = (pvc.spec ?? {}) as { storageClassName?: string; volumeName?: string; accessModes?: string[] };
  const modes = (spec.accessModes ?? []).join(', ') || 'no access modes';
  if (spec.volumeName) {
    const pv = await ctx.get({ apiVersion: 'v1', kind: 'PersistentVolume', name: spec.volumeName }, opts);
    if (!pv) return `it asks for PersistentVolume ${spec.volumeName}, which does not exist`;
    const phase = ((pv.status ?? {}) as { phase?: string }).phase ?? 'Unknown';
    return `it asks for PersistentVolume ${spec.volumeName}, which is ${phase}${phase === 'Released' ? ' (its claimRef still names the deleted claim; clear it to make the volume Available)' : ''}`;
  }
  const cls = spec.storageClassName;
  if (cls === undefined || cls === '') {
    return cls === '' ? `it asks for no StorageClass (${modes}), so only a matching Available PersistentVolume with no class can bind it` : `it names no StorageClass and the cluster has no default one (${modes})`;
  }
  const sc = await ctx.get({ apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', name: cls }, opts);
  if (!sc) {
    const pvs = await ctx.list({ apiVersion: 'v1', kind: 'PersistentVolume' }, opts);
    const same = pvs.filter((v) => ((v.spec ?? {}) as { storageClassName?: string }).storageClassName === cls);
    if (same.length === 0) return `StorageClass ${cls} does not exist and no PersistentVolume has that class, so nothing can provision or bind it`;
    const states = same
      .map((v) => {
        const vs = (v.spec ?? {}) as { accessModes?: string[]; claimRef?: { namespace?: string; name?: string } };
        const phase = ((v.status ?? {}) as { phase?: string }).phase ?? 'Unknown';
        // A Released volume is the classic trap: it matches in every way but still names its old claim.
        const why = phase === 'Released' ? `, its claimRef still names the deleted claim ${vs.claimRef?.namespace ?? ''}/${vs.claimRef?.name ?? ''}: remove spec.claimRef to make it Available` : '';
        return `${v.metadata.name} ${phase} (${(vs.accessModes ?? []).join(', ')}${why})`;
      })
      .join('; ');
    return `no PersistentVolume of class ${cls} is Available and matches its ${modes} and size: ${states}`;
  }
  const s = sc as KubeObject & { provisioner?: string; volumeBindingMode?: string };
  if (s.provisioner === 'kubernetes.io/no-provisioner') return `StorageClass ${cls} has no provisioner (kubernetes.io/no-provisioner): only a PersistentVolume of class ${cls} made by hand can bind it, and none is Available that matches ${modes} and its size`;
  if (s.volumeBindingMode === 'WaitForFirstConsumer') return `StorageClass ${cls} binds WaitForFirstConsumer: the volume is provisioned once a pod that uses the claim is scheduled (${modes}; see kubectl describe pvc for the provisioner's events)`;
  if (s.provisioner === 'rancher.io/local-path') return `StorageClass ${cls} binds ${s.volumeBindingMode ?? 'Immediate'}, but its provisioner local-path makes volumes on the node a pod was scheduled to and cannot provision before that ("no node was specified"): it needs volumeBindingMode WaitForFirstConsumer`;
  return `StorageClass ${cls} (provisioner ${s.provisioner ?? '?'}) has not provisioned it (${modes}); kubectl describe pvc shows the provisioner's events`;
}

/** The scheduler's or kubelet's word on why a pod is not running (unbound claims show up here). */
function pendingReason(pod: KubeObject): string | undefined {
  const conditions = ((pod.status ?? {}) as { conditions?: { type: string; status: string; message?: string }[] }).conditions ?? [];
  return conditions.find((x) => x.type === 'PodScheduled' && x.status === 'False')?.message;
}

async function volumeCheck(ctx: GradeContext, c: Check<'volume'>, opts: CallOptions): Promise<CheckOutcome> {
  const r = await resolvePods(ctx, c.pods, opts);
  const ns = typeof c.pods === 'string' ? (c.pods.split('/')[0] ?? 'default') : c.pods.namespace;
  const claimText = `claim ${ns}/${c.claim}`;
  const at = c.mountPath ? ` at ${c.mountPath}` : '';
  const expected = `${r.describe} mount ${claimText}${at}, Bound${c.persistentVolume ? ` to ${c.persistentVolume}` : ''}${c.file ? `, with ${c.file} on it` : ''}`;
  const live = r.pods.filter((p) => !p.metadata.deletionTimestamp && !['Succeeded', 'Failed'].includes(podPhase(p)));
  if (live.length === 0) return { status: 'fail', expected, actual: 'no pods', explanation: r.pods.length ? `every one of ${r.describe} has finished` : `${r.describe}: none exists` };

  // 1. What the pods' specs say: every live pod uses the claim, and mounts it where asked.
  const mountsOf = (p: KubeObject): { container: string; mountPath: string }[] => {
    const spec = (p.spec ?? {}) as { volumes?: PodVolume[]; containers?: PodContainer[] };
    const names = new Set((spec.volumes ?? []).filter((v) => v.persistentVolumeClaim?.claimName === c.claim).map((v) => v.name));
    return (spec.containers ?? [])
      .filter((k) => r.container === undefined || k.name === r.container)
      .flatMap((k) => (k.volumeMounts ?? []).filter((m) => names.has(m.name)).map((m) => ({ container: k.name, mountPath: m.mountPath.replace(/\/+$/, '') || '/' })));
  };
  for (const p of live) {
    const volumes = ((p.spec ?? {}) as { volumes?: PodVolume[] }).volumes ?? [];
    if (!volumes.some((v) => v.persistentVolumeClaim?.claimName === c.claim)) {
      // Mid-rollout, the old pod keeps running while the new one (with the claim) cannot start: say why.
      const stuck = live.filter((q) => podPhase(q) !== 'Running' && (((q.spec ?? {}) as { volumes?: PodVolume[] }).volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === c.claim));
      const why = stuck.map(pendingReason).find(Boolean);
      const newer = stuck.length ? `; ${stuck.map((q) => q.metadata.name).join(', ')}, which use${stuck.length === 1 ? 's' : ''} it, ${stuck.length === 1 ? 'is' : 'are'} ${podPhase(stuck[0] as KubeObject)}${why ? `: ${why}` : ''}` : '';
      return { status: 'fail', expected, actual: `${p.metadata.name}: ${volumeSources(volumes)}`, explanation: `pod ${p.metadata.name} does not use ${claimText}: its volumes are ${volumeSources(volumes)}${newer}` };
    }
    const mounts = mountsOf(p);
    const wanted = c.mountPath?.replace(/\/+$/, '') || '/';
    if (mounts.length === 0 || (c.mountPath !== undefined && !mounts.some((m) => m.mountPath === wanted))) {
      const where = mounts.map((m) => `${m.mountPath} in ${m.container}`).join(', ');
      const whose = r.container ? `container ${r.container} of pod ${p.metadata.name}` : `pod ${p.metadata.name}`;
      return { status: 'fail', expected, actual: `${p.metadata.name}: ${where || 'not mounted'}`, explanation: `${whose} has a volume from ${claimText} but ${where ? `mounts it at ${where}` : 'no container mounts it'}${c.mountPath ? `, not at ${c.mountPath}` : ''}` };
    }
  }

  // 2. The claim: Bound, to the named PersistentVolume.
  const pvc = await ctx.get({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: ns, name: c.claim }, opts);
  if (!pvc) return { status: 'fail', expected, actual: `${claimText} not found`, explanation: `the pods use ${claimText}, which does not exist, so they cannot start` };
  const phase = ((pvc.status ?? {}) as { phase?: string }).phase ?? 'Pending';
  const boundTo = ((pvc.spec ?? {}) as { volumeName?: string }).volumeName;
  if (phase !== 'Bound') return { status: 'fail', expected, actual: `${claimText} ${phase}`, explanation: `${claimText} is ${phase}: ${await claimPendingReason(ctx, pvc, opts)}` };
  if (c.persistentVolume && boundTo !== c.persistentVolume) {
    return { status: 'fail', expected, actual: `${claimText} Bound to ${boundTo ?? '?'}`, explanation: `${claimText} is Bound to PersistentVolume ${boundTo ?? '?'}, not to ${c.persistentVolume}: it got a different volume (a new one from a StorageClass?), so the data on ${c.persistentVolume} is not what the pods see` };
  }

  // 3. Enough of the pods run with it mounted.
  const running = live.filter((p) => podPhase(p) === 'Running');
  const actual = `${running.length} of ${live.length} pod(s) Running, ${claimText} Bound to ${boundTo ?? '?'}`;
  if (running.length < c.min) {
    const reason = live.map(pendingReason).find(Boolean);
    return { status: 'fail', expected, actual, explanation: `${running.length} of the ${c.min} pod(s) needed from ${r.describe} are Running${reason ? `; the scheduler says: ${reason}` : ''}` };
  }
  if (!c.file) return { status: 'pass', expected, actual };

  // 4. A file on the mount, read in the first running pod's container that mounts the claim.
  const reader = running[0] as KubeObject;
  const mount = mountsOf(reader).find((m) => c.mountPath === undefined || m.mountPath === (c.mountPath.replace(/\/+$/, '') || '/')) as { container: string; mountPath: string };
  const filePath = `${mount.mountPath === '/' ? '' : mount.mountPath}/${c.file}`;
  if (ctx.port.containerFilesUnavailable) return { status: 'error', expected, actual: 'not read', explanation: `reading ${filePath} in pod ${reader.metadata.name} needs a real cluster: ${ctx.port.containerFilesUnavailable}` };
  const res = await ctx.port.exec({ namespace: ns, name: reader.metadata.name, container: mount.container }, ['sh', '-c', READ_FILE, 'sh', filePath], opts);
  const where = `${filePath} in pod ${reader.metadata.name} (container ${mount.container})`;
  if (res.exitCode !== 0) {
    const why = res.exitCode === 3 ? 'does not exist' : res.exitCode === 4 ? 'is a directory, not a file' : `cannot be read: ${lastLine(res)}`;
    return { status: 'fail', expected, actual: `${c.file} ${why === 'does not exist' ? 'missing' : why}`, explanation: `${where} ${why}: the volume the pods mount does not hold the data${res.exitCode === 3 ? ' (an empty new volume, or a different path on the node?)' : ''}` };
  }
  const out = outputVerdict(res.stdout, c);
  if (!out || out.ok) return { status: 'pass', expected: out ? `${expected} that ${out.expected}` : expected, actual: `${actual}; ${c.file}: ${shorten(res.stdout, 200)}` };
  return {
    status: 'fail',
    expected: `${c.file} ${out.expected}`,
    actual: shorten(res.stdout, 200),
    explanation: `${where} holds "${shorten(res.stdout, 200)}"${out.missing ? `, which lacks ${out.missing}` : `, expected text that ${out.expected}`}`,
  };
}

/** Runs one check declaration. Throws only for cluster errors (the engine turns them into `error`). */
export function runCheck(ctx: GradeContext, c: CheckDecl, opts: CallOptions): Promise<CheckOutcome> {
  switch (c.kind) {
    case 'exists':
      return existsCheck(ctx, c, opts);
    case 'absent':
      return absentCheck(ctx, c, opts);
    case 'field':
      return fieldCheck(ctx, c, opts);
    case 'count':
      return countCheck(ctx, c, opts);
    case 'podReady':
      return podReadyCheck(ctx, c, opts);
    case 'rollout':
      return rolloutCheck(ctx, c, opts);
    case 'probe':
      return probeCheck(ctx, c, opts);
    case 'dns':
      return dnsCheck(ctx, c, opts);
    case 'script':
      return scriptCheck(ctx, c, opts);
    case 'node':
      return nodeCheck(ctx, c, opts);
    case 'workstation':
      return workstationCheck(ctx, c, opts);
    case 'access':
      return accessCheck(ctx, c, opts);
    case 'placement':
      return placementCheck(ctx, c, opts);
    case 'volume':
      return volumeCheck(ctx, c, opts);
  }
}
