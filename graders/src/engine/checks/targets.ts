// What a probe or DNS lookup connects to (a Service's Ready endpoints, a pod, a node port, a name)
// and what NetworkPolicy says about each connection, to explain the live result.
import type { ProbeTarget } from '../../checks/schema.ts';
import type { CallOptions, KubeObject } from '../../cluster/port.ts';
import { evaluateConnection, podInfo, type Endpoint, type NetpolState, type PodInfo, type Protocol, type Verdict } from '../../netpol/evaluator.ts';
import type { GradeContext } from './context.ts';
import { isPodReady, podPhase, resolvePods } from './pods.ts';
import { matchesLabels } from '../../netpol/selectors.ts';

/** Where a probe connects, in words and as the evaluator's endpoints. */
export interface Target {
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

/** The backends of a Service for a port: its Ready selected pods with the target port resolved. */
export async function serviceBackends(
  ctx: GradeContext,
  svc: KubeObject,
  port: number,
  opts: CallOptions,
): Promise<{ backends: Target['backends']; emptyReason?: string; endpoints?: string }> {
  const { state, pods } = await ctx.netpolState(opts);
  const sp = servicePortTarget(svc, port);
  const name = `${svc.metadata.namespace ?? 'default'}/${svc.metadata.name}`;
  if (!sp) return { backends: [], emptyReason: `Service ${name} has no port ${port}` };
  const selector = ((svc.spec ?? {}) as { selector?: Record<string, string> }).selector;
  if (!selector || Object.keys(selector).length === 0) return { backends: undefined }; // manual Endpoints: cannot tell
  const selected = pods.filter(
    (p) => (p.metadata.namespace ?? 'default') === (svc.metadata.namespace ?? 'default') && matchesLabels(selector, p.metadata.labels),
  );
  const ready = selected.filter(isPodReady);
  if (ready.length === 0) {
    return {
      backends: [],
      emptyReason:
        selected.length === 0
          ? `Service ${name} selects no pods (its selector ${Object.entries(selector)
              .map(([k, v]) => `${k}=${v}`)
              .join(',')} matches nothing)`
          : `none of the ${selected.length} pods Service ${name} selects is Ready`,
    };
  }
  const backends: NonNullable<Target['backends']> = [];
  for (const p of ready) {
    const ep = endpointOf(state, p);
    const resolved = 'pod' in ep ? resolveTargetPort(ep.pod, sp.targetPort, sp.protocol) : undefined;
    if (resolved !== undefined) backends.push({ endpoint: ep, port: resolved });
  }
  if (backends.length === 0) return { backends: [], emptyReason: `the target port "${sp.targetPort}" of Service ${name} names no container port of its pods` };
  const shown = backends
    .slice(0, 3)
    .map((b) => ('pod' in b.endpoint ? `${b.endpoint.pod.name} ${b.endpoint.pod.ip ?? ''}:${b.port}` : `${b.endpoint.ip}:${b.port}`));
  return {
    backends,
    endpoints: `${backends.length === 1 ? 'endpoint' : `${backends.length} endpoints`} ${shown.join(', ')}${backends.length > 3 ? ', …' : ''}`,
  };
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

/** The host a probe connects to and the backends behind it, or why there is none. */
export async function resolveTarget(
  ctx: GradeContext,
  to: ProbeTarget,
  port: number,
  fromNs: string,
  opts: CallOptions,
): Promise<Target | { missing: string }> {
  const { state } = await ctx.netpolState(opts);
  if ('service' in to) {
    const [namespace, name] = to.service.includes('/') ? to.service.split('/') : [fromNs, to.service];
    const svc = await ctx.get({ apiVersion: 'v1', kind: 'Service', namespace: namespace ?? fromNs, name: name ?? '' }, opts);
    if (!svc) return { missing: `Service ${namespace}/${name} does not exist` };
    const clusterIP = ((svc.spec ?? {}) as { clusterIP?: string }).clusterIP;
    const hasIp = clusterIP && clusterIP !== 'None';
    const host = hasIp ? clusterIP : `${name}.${namespace}.svc.cluster.local`;
    const b = await serviceBackends(ctx, svc, port, opts);
    return {
      host,
      display: `Service ${namespace}/${name}`,
      backends: b.backends,
      ...(b.emptyReason ? { emptyReason: b.emptyReason } : {}),
      ...(b.endpoints ? { endpoints: b.endpoints } : {}),
      ...(hasIp ? { clusterIP } : {}),
    };
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
      return {
        host,
        display: host,
        backends: b.backends,
        ...(b.emptyReason ? { emptyReason: b.emptyReason } : {}),
        ...(!headless && clusterIP ? { clusterIP } : {}),
      };
    }
  }
  return { host, display: host, backends: undefined };
}

async function headlessBackends(
  ctx: GradeContext,
  svc: KubeObject,
  port: number,
  opts: CallOptions,
): Promise<{ backends: Target['backends']; emptyReason?: string }> {
  const { state, pods } = await ctx.netpolState(opts);
  const selector = ((svc.spec ?? {}) as { selector?: Record<string, string> }).selector ?? {};
  const ready = pods.filter(
    (p) =>
      (p.metadata.namespace ?? 'default') === (svc.metadata.namespace ?? 'default') &&
      Object.keys(selector).length > 0 &&
      matchesLabels(selector, p.metadata.labels) &&
      isPodReady(p),
  );
  if (ready.length === 0) return { backends: [], emptyReason: `headless Service ${svc.metadata.namespace}/${svc.metadata.name} has no Ready pods` };
  return { backends: ready.map((p) => ({ endpoint: endpointOf(state, p), port })) };
}

/** NetworkPolicy's verdict on each connection from src to the target's backends; undefined when the backends are unknown. */
export async function evaluatorVerdicts(
  ctx: GradeContext,
  src: KubeObject,
  target: Target,
  protocol: Protocol,
  opts: CallOptions,
): Promise<Verdict[] | undefined> {
  if (!target.backends) return undefined;
  const { state } = await ctx.netpolState(opts);
  const from = endpointOf(state, src);
  const fromEp: Endpoint = 'pod' in from && from.pod.hostNetwork && from.pod.ip ? { ip: from.pod.ip } : from;
  return target.backends.map((b) => evaluateConnection(state, { from: fromEp, to: b.endpoint, port: b.port, protocol }));
}
