// Is an HTTPRoute really served? The API accepts a route at once; its Gateway's controller then
// reports it in the route's status (Accepted, ResolvedRefs) and, separately and a little later,
// builds the configuration its proxy serves. Traefik, the gateway-api add-on's controller, writes the
// status when it has computed a configuration, applies that configuration through a throttle (up to
// 2 s later), and learns a backend pod's address only from the EndpointSlice update that follows
// the pod becoming Ready. So a grade that runs when the route's pods are Ready can still meet the
// controller's "404 page not found" or "503 no available server". Setup is ready only when every
// route it made is Accepted with resolved references at its current generation AND a request
// through the gateway, matching each of its rules, is answered by a backend.
import type { ClusterPort, KubeObject } from '../../../graders/src/cluster/port.ts';
import type { CommandRunner } from '../exec/command-runner.ts';
import { ADDON_SERVICES } from '../labs/format.ts';

const GATEWAY_GROUP = 'gateway.networking.k8s.io';

/** Objects of this annotation set to "false" are not waited for (lab-setup's WAIT_ANNOTATION). */
const WAIT_ANNOTATION = 'kubedrill.io/wait';

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
}
interface ParentRef {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
  sectionName?: string;
  port?: number;
}
interface RouteMatch {
  path?: { type?: string; value?: string };
  headers?: { type?: string; name: string; value: string }[];
  queryParams?: { type?: string; name: string; value: string }[];
  method?: string;
}
interface RouteRule {
  matches?: RouteMatch[];
  backendRefs?: { weight?: number }[];
  filters?: { type: string }[];
}
interface Listener {
  name: string;
  protocol: string;
  port: number;
  hostname?: string;
}

/** Whether an applied object is a Gateway API HTTPRoute that readiness waits for. */
export function isWaitedRoute(o: KubeObject): boolean {
  return o.kind === 'HTTPRoute' && o.apiVersion.startsWith(`${GATEWAY_GROUP}/`) && o.metadata.annotations?.[WAIT_ANNOTATION] !== 'false';
}

const routeId = (route: KubeObject) => `httproute ${route.metadata.namespace ?? 'default'}/${route.metadata.name}`;

/** The Gateways a route names as parents (ListenerSets and other kinds are the controller's business). */
function gatewayParents(route: KubeObject): ParentRef[] {
  const refs = ((route.spec ?? {}) as { parentRefs?: ParentRef[] }).parentRefs ?? [];
  return refs.filter((r) => (r.group ?? GATEWAY_GROUP) === GATEWAY_GROUP && (r.kind ?? 'Gateway') === 'Gateway');
}

const parentNs = (route: KubeObject, ref: ParentRef) => ref.namespace ?? route.metadata.namespace ?? 'default';

/**
 * Why the route's status does not yet show it attached and resolved (empty when it does): for each
 * Gateway parent, the controller's status entry must say Accepted and ResolvedRefs True, observed at
 * the route's current generation (a changed route keeps the old generation's conditions until the
 * controller has seen the change). A route with no Gateway parent has nothing to wait for.
 */
export function routeStatusProblems(route: KubeObject): string[] {
  const id = routeId(route);
  const parents = gatewayParents(route);
  // No Gateway parent: no controller will ever report or serve it, so there is nothing to wait for
  // (a wrong answer that forgot parentRefs is graded at once instead of after settling).
  if (!parents.length) return [];
  const generation = typeof route.metadata.generation === 'number' ? route.metadata.generation : 0;
  const statuses = ((route.status ?? {}) as { parents?: { parentRef: ParentRef; conditions?: Condition[] }[] }).parents ?? [];
  const out: string[] = [];
  for (const ref of parents) {
    const ns = parentNs(route, ref);
    const gw = `gateway ${ns}/${ref.name}${ref.sectionName ? ` (listener ${ref.sectionName})` : ''}`;
    const entry = statuses.find(
      (s) => s.parentRef.name === ref.name && parentNs(route, s.parentRef) === ns && (s.parentRef.sectionName ?? '') === (ref.sectionName ?? ''),
    );
    if (!entry) {
      out.push(`${id} has no status from the controller of ${gw} yet`);
      continue;
    }
    for (const type of ['Accepted', 'ResolvedRefs']) {
      const c = (entry.conditions ?? []).find((x) => x.type === type);
      if (!c) out.push(`${id} has no ${type} condition from ${gw} yet`);
      else if (c.observedGeneration !== undefined && c.observedGeneration < generation)
        out.push(`${id} generation ${generation} is not observed by the controller of ${gw} yet`);
      else if (c.status !== 'True') out.push(`${id} is not ${type} by ${gw}: ${c.reason ?? c.status}${c.message ? ` (${c.message})` : ''}`);
    }
  }
  return [...new Set(out)];
}

/** One request through a gateway that a rule of a route matches, sent count times (weighted backends each get a turn). */
export interface RouteRequest {
  rule: number;
  method: string;
  host: string;
  /** Path and query string. */
  target: string;
  headers: [string, string][];
  count: number;
}

function gcd(a: number, b: number): number {
  return b ? gcd(b, a % b) : a;
}

/** A host name that fits a route or listener host name (a wildcard gets a label of ours). */
const concreteHost = (h: string) => (h.startsWith('*.') ? `kubedrill-probe${h.slice(1)}` : h);

/**
 * A request for each rule of the route that can be written down: its first match's exact or prefix
 * path, exact headers, exact query parameters and method, on the route's (or the listener's) host
 * name. Rules matched only by regular expressions are left out: no request is known to fit them.
 * Each rule's request is sent once per share of its weighted backends (80/20 → 5 times), since a
 * weighted round robin only reaches every backend over a full turn.
 */
export function routeRequests(route: KubeObject, listenerHost: string | undefined): RouteRequest[] {
  const spec = (route.spec ?? {}) as { hostnames?: string[]; rules?: RouteRule[] };
  const host = concreteHost(spec.hostnames?.[0] ?? listenerHost ?? 'kubedrill-probe.invalid');
  const out: RouteRequest[] = [];
  (spec.rules ?? []).forEach((rule, i) => {
    const m: RouteMatch = rule.matches?.[0] ?? {};
    const exact = (t: string | undefined) => (t ?? 'Exact') === 'Exact';
    if (m.path && (m.path.type ?? 'PathPrefix') === 'RegularExpression') return;
    if ((m.headers ?? []).some((h) => !exact(h.type)) || (m.queryParams ?? []).some((q) => !exact(q.type))) return;
    const path = m.path?.value ?? '/';
    const query = (m.queryParams ?? []).map((q) => `${encodeURIComponent(q.name)}=${encodeURIComponent(q.value)}`).join('&');
    const weights = (rule.backendRefs ?? []).map((b) => b.weight ?? 1).filter((w) => w > 0);
    const turn = weights.length > 1 ? weights.reduce((s, w) => s + w, 0) / weights.reduce(gcd) : 1;
    out.push({
      rule: i + 1,
      method: m.method ?? 'GET',
      host,
      target: `${path}${query ? `?${query}` : ''}`,
      headers: (m.headers ?? []).map((h) => [h.name, h.value]),
      count: Math.min(10, Math.max(1, turn)),
    });
  });
  return out;
}

/** What a gateway's answer says about a route: a backend (or the rule's redirect) answered, or the gateway itself did. */
export function judgeAnswer(status: number, firstLine: string): { served: boolean; why: string } {
  if (status === 0) return { served: false, why: 'no answer from the gateway' };
  // Traefik (and Go's http.NotFound generally) answers a request no router matches with this body.
  if (status === 404 && firstLine.trim() === '404 page not found') return { served: false, why: 'the gateway has no route for it yet' };
  // 500: the backend Service is not in the proxy's configuration; 502/504: it could not reach a pod;
  // 503: the Service has no endpoint the proxy knows of yet.
  if (status >= 500) return { served: false, why: `the gateway answered HTTP ${status} instead of a backend` };
  return { served: true, why: `HTTP ${status}` };
}

/** Sends `count` requests with curl and prints, per request, the status code and the body's first line (curl exits 0 either way). */
const SEND = [
  'n=$1; shift; i=0',
  'while [ "$i" -lt "$n" ]; do i=$((i+1))',
  '  out=$(curl -s -m 2 -w "\\n%{http_code}" "$@" 2>/dev/null)',
  '  printf "%s\\t%s\\n" "$(printf "%s" "$out" | tail -n 1)" "$(printf "%s" "$out" | head -n 1 | cut -c1-80)"',
  'done',
].join('\n');

/** The HTTP listener a parent reference attaches to, from the live Gateway. */
function listenerOf(gateway: KubeObject, ref: ParentRef): Listener | undefined {
  const listeners = ((gateway.spec ?? {}) as { listeners?: Listener[] }).listeners ?? [];
  return listeners.find((l) => l.protocol === 'HTTP' && (!ref.sectionName || l.name === ref.sectionName) && (ref.port === undefined || l.port === ref.port));
}

/** The address a Gateway is served on: its status address, else the add-on's Service that serves every Gateway of its class. */
async function gatewayAddress(port: ClusterPort, gateway: KubeObject, call: { timeoutMs: number }): Promise<string | undefined> {
  const addresses = ((gateway.status ?? {}) as { addresses?: { type?: string; value: string }[] }).addresses ?? [];
  const ip = addresses.find((a) => (a.type ?? 'IPAddress') === 'IPAddress' && /^[0-9.:a-fA-F]+$/.test(a.value))?.value;
  if (ip) return ip;
  const [ns, name] = ADDON_SERVICES['gateway-api'][0]!.split('/');
  const svc = await port.get({ apiVersion: 'v1', kind: 'Service', namespace: ns!, name: name! }, call);
  const clusterIP = ((svc?.spec ?? {}) as { clusterIP?: string }).clusterIP;
  return clusterIP && clusterIP !== 'None' ? clusterIP : undefined;
}

/** Where route probes run: a node container (it has curl, and kube-proxy serves ClusterIPs there). */
export interface RouteProbeHost {
  runner: CommandRunner;
  node: string;
}

/**
 * Why the HTTPRoutes among applied are not served yet (empty when all are): first their status, then
 * for routes whose status is good, requests through their Gateway's HTTP listeners from a node.
 * Without a probe host only the status is judged.
 */
export async function unservedRoutes(
  port: ClusterPort,
  applied: readonly KubeObject[],
  probe: RouteProbeHost | undefined,
  call: { timeoutMs: number; signal?: AbortSignal },
): Promise<string[]> {
  const routes = applied.filter(isWaitedRoute);
  if (!routes.length) return [];
  const out: string[] = [];
  for (const r of routes) {
    const route = await port.get({ apiVersion: r.apiVersion, kind: 'HTTPRoute', namespace: r.metadata.namespace ?? 'default', name: r.metadata.name }, call);
    if (!route) {
      out.push(`${routeId(r)} does not exist`);
      continue;
    }
    const status = routeStatusProblems(route);
    if (status.length || !probe) {
      out.push(...status);
      continue;
    }
    for (const ref of gatewayParents(route)) {
      const gateway = await port.get({ apiVersion: `${GATEWAY_GROUP}/v1`, kind: 'Gateway', namespace: parentNs(route, ref), name: ref.name }, call);
      const listener = gateway && listenerOf(gateway, ref);
      if (!gateway || !listener) continue;
      const address = await gatewayAddress(port, gateway, call);
      if (!address) {
        out.push(`${routeId(route)}: gateway ${parentNs(route, ref)}/${ref.name} has no address to send requests to yet`);
        continue;
      }
      const base = `http://${address.includes(':') ? `[${address}]` : address}:${listener.port}`;
      for (const req of routeRequests(route, listener.hostname)) {
        const args = ['-X', req.method, '-H', `Host: ${req.host}`, ...req.headers.flatMap(([k, v]) => ['-H', `${k}: ${v}`]), `${base}${req.target}`];
        const r = await probe.runner
          .run({
            argv: ['docker', 'exec', probe.node, 'sh', '-c', SEND, 'sh', String(req.count), ...args],
            timeoutMs: call.timeoutMs,
            ...(call.signal ? { signal: call.signal } : {}),
          })
          .catch(() => ({ stdout: '' }));
        const answers = r.stdout.split('\n').filter(Boolean);
        const bad = answers
          .map((line) => {
            const [code, first = ''] = line.split('\t');
            return judgeAnswer(Number(code) || 0, first);
          })
          .find((j) => !j.served);
        if (answers.length < req.count || bad) {
          // The text stays the same while the cause does, so a wrong answer that is never served settles.
          out.push(
            `${routeId(route)} rule ${req.rule} (${req.method} ${req.host}${req.target}) is not answered by a backend through gateway ${parentNs(route, ref)}/${ref.name}: ${bad?.why ?? 'the request could not be sent'}`,
          );
        }
      }
    }
  }
  return out;
}
