// Whether kube-proxy has programmed a ClusterIP on a node. A packet to a ClusterIP that no rule
// claims yet is routed like any other address: out of the node, through the host, off the machine.
// So a probe through a Service waits until the source pod's node has the rule (the provisioner's
// readiness asks the same of every node).

/** Prints every place kube-proxy may have written its rules: both iptables backends (the node picks one, kube-proxy's wrapper may pick the other) and the nftables mode's table. */
export const DUMP_KUBE_PROXY_RULES =
  'for c in iptables-legacy-save iptables-nft-save iptables-save; do command -v $c >/dev/null 2>&1 && $c 2>/dev/null; done; command -v nft >/dev/null 2>&1 && nft list ruleset 2>/dev/null; true';

/** Whether a rules dump names ip as an address of its own (10.96.0.1 is not 10.96.0.10). */
export function rulesMention(dump: string, ip: string): boolean {
  const escaped = ip.replaceAll('.', '\\.').replaceAll(':', '\\:');
  return new RegExp(`(^|[^0-9a-fA-F.:])${escaped}(/(32|128))?([^0-9a-fA-F.:]|$)`, 'm').test(dump);
}

/**
 * Whether a rules dump opens a node port: iptables writes `--dport 30080` in KUBE-NODEPORTS, the
 * nftables mode a `tcp . 30080 : goto …` element of its node-port map. A Service that turns into a
 * NodePort keeps its ClusterIP rule, so only this says the node port is programmed.
 */
export function rulesOpenPort(dump: string, port: number): boolean {
  return new RegExp(`(--dport |dport |\\. )${port}(?![0-9])`, 'm').test(dump);
}
