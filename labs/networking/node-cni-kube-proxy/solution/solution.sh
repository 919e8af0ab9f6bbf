#!/usr/bin/env bash
# Reference solution: read the same facts a learner reads in a node shell, and record them.
# (A learner runs `docker exec -it <cluster>-worker bash`, then `ls /etc/cni/net.d`, `cat` the first
# file and asks kube-proxy; without a node shell, this script reads the folder through a pod.)
set -euo pipefail
lib=checks/lib.sh
[[ -f $lib ]] || lib="$(dirname "${BASH_SOURCE[0]:-$0}")/../checks/lib.sh"
# shellcheck source=../checks/lib.sh
. "$lib"

node=$(worker_node)
dump=$(cni_dump "$node")
file=$(cni_active_file <<<"$dump")
type=$(cni_section "$file" <<<"$dump" | json_first type)
pod_cidr=$(cni_section "$file" <<<"$dump" | json_first subnet)

kubectl create configmap "$FINDINGS_CM" -n "$FINDINGS_NS" \
  --from-literal=cniConfigFile="$file" \
  --from-literal=cniPluginType="$type" \
  --from-literal=podCIDR="$pod_cidr" \
  --from-literal=proxyMode="$(proxy_mode)" \
  --from-literal=clusterCIDR="$(proxy_cluster_cidr)" \
  --dry-run=client -o yaml | kubectl apply -f -
