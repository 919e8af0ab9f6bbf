// Is a Service really served? An EndpointSlice says where traffic should go; only the rule that
// kube-proxy writes on each node makes a ClusterIP go anywhere. Until that rule exists, a packet to
// the ClusterIP is routed like any other address — out of the node, through the host's default
// route, off the machine. So nothing may be probed through a Service before every node has it.
import type { ClusterPort, KubeObject } from '../../../graders/src/cluster/port.ts';
import { DUMP_KUBE_PROXY_RULES, rulesMention, rulesOpenPort } from '../../../graders/src/engine/kube-proxy.ts';
import type { CommandRunner } from '../exec/command-runner.ts';

/** A Service that setup (or a solution) made, with the ClusterIPs kube-proxy must program. */
export interface ServedService {
  id: string;
  clusterIPs: string[];
  /** Node ports (NodePort and LoadBalancer Services), which kube-proxy opens on every node. */
  nodePorts: number[];
}

/** The ClusterIPs of the Services among objects, read back live (the API assigns them). Headless and ExternalName Services have none. */
export async function liveServices(port: ClusterPort, objects: readonly KubeObject[], call: { timeoutMs: number }): Promise<ServedService[]> {
  const services = objects.filter((o) => o.kind === 'Service' && o.apiVersion === 'v1');
  const live = await Promise.all(
    services.map((s) => port.get({ apiVersion: 'v1', kind: 'Service', namespace: s.metadata.namespace ?? 'default', name: s.metadata.name }, call)),
  );
  const out: ServedService[] = [];
  for (const s of live) {
    if (!s) continue;
    const spec = (s.spec ?? {}) as { type?: string; clusterIP?: string; clusterIPs?: string[]; ports?: { nodePort?: number }[] };
    if (spec.type === 'ExternalName') continue;
    const ips = (spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : [])).filter((ip) => ip && ip !== 'None');
    const nodePorts = (spec.ports ?? []).map((p) => p.nodePort).filter((p): p is number => typeof p === 'number' && p > 0);
    if (ips.length || nodePorts.length) out.push({ id: `service ${s.metadata.namespace}/${s.metadata.name}`, clusterIPs: ips, nodePorts });
  }
  return out;
}

/**
 * Which Services some node has no kube-proxy rule for yet (empty when every node has every one).
 * kube-proxy writes a rule per ClusterIP whether the Service has endpoints (a DNAT) or not (a REJECT),
 * so "the ClusterIP appears in the node's rules" is the sign that it is programmed.
 */
export async function unprogrammedServices(
  runner: CommandRunner,
  nodes: readonly string[],
  services: readonly ServedService[],
  opts: { timeoutMs: number; signal?: AbortSignal },
): Promise<string[]> {
  if (!services.length) return [];
  const dumps = await Promise.all(
    nodes.map(async (node) => {
      const r = await runner.run({
        argv: ['docker', 'exec', node, 'sh', '-c', DUMP_KUBE_PROXY_RULES],
        timeoutMs: opts.timeoutMs,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      return { node, dump: r.stdout };
    }),
  );
  const problems: string[] = [];
  for (const s of services) {
    const missing = dumps
      .filter((d) => s.clusterIPs.some((ip) => !rulesMention(d.dump, ip)) || s.nodePorts.some((p) => !rulesOpenPort(d.dump, p)))
      .map((d) => d.node);
    const what = [...s.clusterIPs, ...s.nodePorts.map((p) => `node port ${p}`)].join(', ');
    if (missing.length) problems.push(`${s.id} (${what}) is not programmed by kube-proxy yet on ${missing.join(', ')}`);
  }
  return problems;
}
