#!/usr/bin/env bash
# The reference solution's facts, read live, with one wrong: clusterCIDR is the Service range
set -euo pipefail
. checks/lib.sh
node=$(worker_node)
dump=$(cni_dump "$node")
file=$(cni_active_file <<<"$dump")
type=$(cni_section "$file" <<<"$dump" | json_first type)
pod_cidr=$(cni_section "$file" <<<"$dump" | json_first subnet)
proxy_mode=$(proxy_mode)
cluster_cidr=$(proxy_cluster_cidr)
cluster_cidr=10.96.0.0/12
kubectl create configmap "$FINDINGS_CM" -n "$FINDINGS_NS" \
  --from-literal=cniConfigFile="$file" \
  --from-literal=cniPluginType="$type" \
  --from-literal=podCIDR="$pod_cidr" \
  --from-literal=proxyMode="$proxy_mode" \
  --from-literal=clusterCIDR="$cluster_cidr" \
  --dry-run=client -o yaml | kubectl apply -f -
