import type { KubeObject } from '../cluster/port.ts';
import { compileCidr } from './cidr.ts';
import { compileApiSelector, describeApiSelector, isEmptySelector, type ApiLabelSelector, type LabelPredicate, type Labels } from './selectors.ts';

// Decides from objects alone whether a connection is allowed by NetworkPolicy (networking.k8s.io/v1)
// and says why, following the Kubernetes documentation and the upstream e2e netpol suite:
// - a pod is isolated for ingress (egress) when any policy in its namespace selects it and lists
//   Ingress (Egress) in policyTypes; absent policyTypes means Ingress, plus Egress when the policy
//   has egress rules;
// - policies are additive: a connection is allowed when any rule of any isolating policy admits it,
//   and it needs both the source's egress and the target's ingress;
// - absent or empty `from`/`to` admits every peer, absent or empty `ports` every port;
// - podSelector and namespaceSelector in one peer are ANDed; separate peers are ORed; a podSelector
//   alone means the policy's own namespace;
// - ports match by protocol (default TCP), number, endPort range, or name (resolved against the
//   destination pod's container ports); ipBlock matches the peer's IP unless it is in `except`.
// Host-network pods are plain IP addresses here: policies neither select nor match them.

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

/** A pod as far as NetworkPolicy cares. */
export interface PodInfo {
  namespace: string;
  name: string;
  labels: Readonly<Record<string, string>>;
  ip: string | undefined;
  hostNetwork: boolean;
  ports: readonly { name?: string; port: number; protocol: Protocol }[];
}

/** One end of a connection: a pod, or a bare IP address (a node, something outside the cluster). */
export type Endpoint = { pod: PodInfo } | { ip: string };

export interface ConnectionQuery {
  from: Endpoint;
  to: Endpoint;
  /** The port on the destination (after any Service translation). */
  port: number;
  protocol: Protocol;
}

/** What one direction (the source's egress or the target's ingress) decided. */
export interface DirectionVerdict {
  allowed: boolean;
  /** Policies (namespace/name) that isolate the pod in this direction; empty when it is not isolated. */
  isolatedBy: string[];
  /** The first policy and rule (1-based) that admits the connection. */
  allowedBy?: { policy: string; rule: number };
  /** One clause in plain words, e.g. "no NetworkPolicy in namespace restricted selects lab9server for ingress". */
  reason: string;
}

export interface Verdict {
  allowed: boolean;
  egress: DirectionVerdict;
  ingress: DirectionVerdict;
  /** Why, without who and what: the deciding policies and rules of the direction(s) that decided. */
  reason: string;
  /** A sentence for learners: who, what, and why (the reason). */
  explanation: string;
}

interface CompiledPeer {
  describe: string;
  matches: (ep: Endpoint, policyNs: string) => boolean;
}

interface CompiledPort {
  protocol: Protocol;
  port: number | string | undefined;
  endPort: number | undefined;
  describe: string;
}

interface CompiledRule {
  /** undefined = every peer (absent or empty list). */
  peers: CompiledPeer[] | undefined;
  /** undefined = every port. */
  ports: CompiledPort[] | undefined;
}

interface CompiledPolicy {
  id: string;
  namespace: string;
  selects: LabelPredicate;
  selectorText: string;
  ingress: CompiledRule[] | undefined; // undefined: not an Ingress policy
  egress: CompiledRule[] | undefined;
}

/** Everything the evaluator needs, indexed for fast repeated queries. */
export interface NetpolState {
  namespaces: Map<string, Labels>;
  pods: PodInfo[];
  podsByKey: Map<string, PodInfo>;
  podsByIp: Map<string, PodInfo>;
  policiesByNamespace: Map<string, CompiledPolicy[]>;
}

interface NetworkPolicyPeer {
  podSelector?: ApiLabelSelector | null;
  namespaceSelector?: ApiLabelSelector | null;
  ipBlock?: { cidr: string; except?: string[] | null } | null;
}
interface NetworkPolicyPort {
  protocol?: string;
  port?: number | string;
  endPort?: number;
}
interface NetworkPolicyRule {
  from?: NetworkPolicyPeer[] | null;
  to?: NetworkPolicyPeer[] | null;
  ports?: NetworkPolicyPort[] | null;
}
interface NetworkPolicySpec {
  podSelector?: ApiLabelSelector | null;
  policyTypes?: string[] | null;
  ingress?: NetworkPolicyRule[] | null;
  egress?: NetworkPolicyRule[] | null;
}

function asProtocol(p: string | undefined): Protocol {
  return p === 'UDP' || p === 'SCTP' ? p : 'TCP';
}

/** Extracts what NetworkPolicy needs from a Pod object. */
export function podInfo(obj: KubeObject): PodInfo {
  const spec = (obj.spec ?? {}) as { hostNetwork?: boolean; containers?: { ports?: { name?: string; containerPort: number; protocol?: string }[] }[] };
  const status = (obj.status ?? {}) as { podIP?: string };
  const ports: PodInfo['ports'][number][] = [];
  for (const c of spec.containers ?? []) {
    for (const p of c.ports ?? []) ports.push({ ...(p.name ? { name: p.name } : {}), port: p.containerPort, protocol: asProtocol(p.protocol) });
  }
  return {
    namespace: obj.metadata.namespace ?? 'default',
    name: obj.metadata.name,
    labels: obj.metadata.labels ?? {},
    ip: status.podIP,
    hostNetwork: spec.hostNetwork === true,
    ports,
  };
}

function endpointIp(ep: Endpoint): string | undefined {
  return 'pod' in ep ? ep.pod.ip : ep.ip;
}

/** A pod that NetworkPolicy can see as a pod (host-network pods are only their node's IP). */
function policyPod(ep: Endpoint): PodInfo | undefined {
  return 'pod' in ep && !ep.pod.hostNetwork ? ep.pod : undefined;
}

function describeEndpoint(ep: Endpoint): string {
  if ('pod' in ep) return ep.pod.hostNetwork ? `${ep.pod.name} (host network, ${ep.pod.ip ?? 'no IP'})` : ep.pod.name;
  return ep.ip;
}

function compilePeer(peer: NetworkPolicyPeer, namespaces: Map<string, Labels>): CompiledPeer {
  if (peer.ipBlock) {
    const inBlock = compileCidr(peer.ipBlock.cidr);
    const excepts = (peer.ipBlock.except ?? []).map(compileCidr);
    const exceptText = peer.ipBlock.except?.length ? ` except ${peer.ipBlock.except.join(', ')}` : '';
    return {
      describe: `IPs in ${peer.ipBlock.cidr}${exceptText}`,
      matches: (ep) => {
        const ip = endpointIp(ep);
        return ip !== undefined && inBlock(ip) && !excepts.some((e) => e(ip));
      },
    };
  }
  const hasPod = peer.podSelector !== undefined && peer.podSelector !== null;
  const hasNs = peer.namespaceSelector !== undefined && peer.namespaceSelector !== null;
  if (!hasPod && !hasNs) return { describe: 'nothing (an empty peer)', matches: () => false };
  const podSel = compileApiSelector(peer.podSelector);
  const nsSel = compileApiSelector(peer.namespaceSelector);
  const podText = hasPod && !isEmptySelector(peer.podSelector) ? `pods labelled ${describeApiSelector(peer.podSelector)}` : 'all pods';
  const nsText = hasNs
    ? isEmptySelector(peer.namespaceSelector)
      ? 'in every namespace'
      : `in namespaces labelled ${describeApiSelector(peer.namespaceSelector)}`
    : undefined;
  return {
    describe: nsText ? `${podText} ${nsText}` : `${podText} in the policy's namespace`,
    matches: (ep, policyNs) => {
      const pod = policyPod(ep);
      if (!pod) return false;
      if (hasNs ? !nsSel(namespaces.get(pod.namespace)) : pod.namespace !== policyNs) return false;
      return podSel(pod.labels);
    },
  };
}

function compilePorts(ports: NetworkPolicyPort[] | null | undefined): CompiledPort[] | undefined {
  if (!ports || ports.length === 0) return undefined;
  return ports.map((p) => {
    const protocol = asProtocol(p.protocol);
    const range = typeof p.port === 'number' && p.endPort !== undefined ? `${p.port}-${p.endPort}` : p.port === undefined ? 'any port' : String(p.port);
    return { protocol, port: p.port, endPort: p.endPort, describe: `${protocol} ${range}` };
  });
}

function compileRules(rules: NetworkPolicyRule[] | null | undefined, key: 'from' | 'to', namespaces: Map<string, Labels>): CompiledRule[] {
  return (rules ?? []).map((r) => {
    const peers = r[key];
    return { peers: peers && peers.length > 0 ? peers.map((p) => compilePeer(p, namespaces)) : undefined, ports: compilePorts(r.ports) };
  });
}

function compilePolicy(obj: KubeObject, namespaces: Map<string, Labels>): CompiledPolicy {
  const spec = (obj.spec ?? {}) as NetworkPolicySpec;
  const namespace = obj.metadata.namespace ?? 'default';
  // policyTypes defaulting as the API server does it: Ingress always, Egress when egress rules exist.
  const types = spec.policyTypes && spec.policyTypes.length > 0 ? spec.policyTypes : ['Ingress', ...(spec.egress && spec.egress.length > 0 ? ['Egress'] : [])];
  return {
    id: `${namespace}/${obj.metadata.name}`,
    namespace,
    selects: compileApiSelector(spec.podSelector),
    selectorText: isEmptySelector(spec.podSelector) ? 'every pod' : `pods labelled ${describeApiSelector(spec.podSelector)}`,
    ingress: types.includes('Ingress') ? compileRules(spec.ingress, 'from', namespaces) : undefined,
    egress: types.includes('Egress') ? compileRules(spec.egress, 'to', namespaces) : undefined,
  };
}

/** Builds an evaluator state from Namespaces, Pods and NetworkPolicies (other kinds are ignored). */
export function buildNetpolState(objects: readonly KubeObject[]): NetpolState {
  const namespaces = new Map<string, Labels>();
  for (const o of objects) {
    if (o.kind === 'Namespace') {
      // The API server always sets this label; a hand-written state file may not.
      namespaces.set(o.metadata.name, { 'kubernetes.io/metadata.name': o.metadata.name, ...o.metadata.labels });
    }
  }
  const pods = objects.filter((o) => o.kind === 'Pod').map(podInfo);
  for (const p of pods) if (!namespaces.has(p.namespace)) namespaces.set(p.namespace, { 'kubernetes.io/metadata.name': p.namespace });
  const policiesByNamespace = new Map<string, CompiledPolicy[]>();
  for (const o of objects) {
    if (o.kind !== 'NetworkPolicy') continue;
    const p = compilePolicy(o, namespaces);
    const list = policiesByNamespace.get(p.namespace) ?? [];
    list.push(p);
    policiesByNamespace.set(p.namespace, list);
  }
  const podsByKey = new Map(pods.map((p) => [`${p.namespace}/${p.name}`, p]));
  const podsByIp = new Map<string, PodInfo>();
  for (const p of pods) if (p.ip && !p.hostNetwork) podsByIp.set(p.ip, p);
  return { namespaces, pods, podsByKey, podsByIp, policiesByNamespace };
}

function portMatches(ports: CompiledPort[] | undefined, q: ConnectionQuery, dest: Endpoint): boolean {
  if (!ports) return true;
  for (const p of ports) {
    if (p.protocol !== q.protocol) continue;
    if (p.port === undefined) return true;
    if (typeof p.port === 'number') {
      if (p.endPort !== undefined ? q.port >= p.port && q.port <= p.endPort : q.port === p.port) return true;
      continue;
    }
    // A named port means the destination pod's container port of that name and protocol.
    const pod = policyPod(dest);
    if (pod?.ports.some((cp) => cp.name === p.port && cp.protocol === p.protocol && cp.port === q.port)) return true;
  }
  return false;
}

function describeRule(rule: CompiledRule, dir: 'ingress' | 'egress'): string {
  const who = rule.peers ? rule.peers.map((p) => p.describe).join(' or ') : dir === 'ingress' ? 'every source' : 'every destination';
  const ports = rule.ports ? rule.ports.map((p) => p.describe).join(', ') : 'any port';
  return `${dir === 'ingress' ? 'from' : 'to'} ${who} on ${ports}`;
}

function decide(state: NetpolState, q: ConnectionQuery, dir: 'ingress' | 'egress'): DirectionVerdict {
  const self = dir === 'ingress' ? q.to : q.from;
  const peer = dir === 'ingress' ? q.from : q.to;
  const pod = policyPod(self);
  const what = `${q.protocol} ${q.port}`;
  if (!pod) {
    const why =
      'pod' in self
        ? `${describeEndpoint(self)} uses the host network, which NetworkPolicy does not govern`
        : `${describeEndpoint(self)} is not a pod, so no NetworkPolicy governs its ${dir}`;
    return { allowed: true, isolatedBy: [], reason: why };
  }
  const isolating = (state.policiesByNamespace.get(pod.namespace) ?? []).filter((p) => p[dir] !== undefined && p.selects(pod.labels));
  if (isolating.length === 0) {
    return { allowed: true, isolatedBy: [], reason: `no NetworkPolicy in namespace ${pod.namespace} selects ${pod.name} for ${dir}` };
  }
  const dest = q.to;
  for (const policy of isolating) {
    const rules = policy[dir] ?? [];
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i];
      if (!rule) continue;
      const matched = rule.peers?.findIndex((pr) => pr.matches(peer, policy.namespace));
      const peerOk = rule.peers === undefined || (matched ?? -1) >= 0;
      if (peerOk && portMatches(rule.ports, q, dest)) {
        // With several peers (ORed list entries), say which one let the connection in: that is
        // usually the surprise ("namespaces labelled … " admitted every pod of default).
        const which =
          rule.peers && rule.peers.length > 1 && matched !== undefined
            ? `; ${describeEndpoint(peer)} matched peer ${matched + 1} of ${rule.peers.length}, ${rule.peers[matched]?.describe ?? ''} — separate peers are ORed`
            : '';
        return {
          allowed: true,
          isolatedBy: isolating.map((p) => p.id),
          allowedBy: { policy: policy.id, rule: i + 1 },
          reason: `${dir} ${dir === 'ingress' ? 'to' : 'from'} ${pod.name} is allowed by NetworkPolicy ${policy.id} (${dir} rule ${i + 1}: ${describeRule(rule, dir)}${which})`,
        };
      }
    }
  }
  const names = isolating.map((p) => p.id).join(', ');
  const ruleTexts = isolating.flatMap((p) => (p[dir] ?? []).map((r, i) => `${p.id} rule ${i + 1} allows ${describeRule(r, dir)}`));
  const rulesClause =
    ruleTexts.length === 0
      ? `${isolating.length === 1 ? 'it has' : 'they have'} no ${dir} rules, so all ${dir} is denied`
      : `none of ${ruleTexts.length === 1 ? 'its rules' : 'their rules'} admits ${describeEndpoint(peer)} on ${what} (${ruleTexts.slice(0, 4).join('; ')}${ruleTexts.length > 4 ? '; …' : ''})`;
  return {
    allowed: false,
    isolatedBy: isolating.map((p) => p.id),
    reason: `${pod.name} is isolated for ${dir} by NetworkPolicy ${names}, and ${rulesClause}`,
  };
}

/** Whether the connection is allowed, with the deciding policy and rule per direction and an explanation. */
export function evaluateConnection(state: NetpolState, q: ConnectionQuery): Verdict {
  const egress = decide(state, q, 'egress');
  const ingress = decide(state, q, 'ingress');
  const allowed = egress.allowed && ingress.allowed;
  const head = `${describeEndpoint(q.from)} ${allowed ? 'can reach' : 'cannot reach'} ${describeEndpoint(q.to)} on ${q.protocol} ${q.port}`;
  // When allowed, an egress side that no policy governs adds nothing worth reading.
  const reasons = allowed
    ? [...(egress.isolatedBy.length > 0 ? [egress.reason] : []), ingress.reason]
    : [egress, ingress].filter((d) => !d.allowed).map((d) => d.reason);
  const reason = reasons.join('; ');
  return { allowed, egress, ingress, reason, explanation: `${head}: ${reason}` };
}

/** Finds a pod by "namespace/name" or by its IP. */
export function findPod(state: NetpolState, ref: string): PodInfo | undefined {
  return state.podsByKey.get(ref) ?? state.podsByIp.get(ref);
}
