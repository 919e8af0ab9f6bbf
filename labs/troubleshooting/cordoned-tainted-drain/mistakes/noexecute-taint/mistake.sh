#!/usr/bin/env bash
set -euo pipefail
mapfile -t workers < <(kubectl get nodes -l '!node-role.kubernetes.io/control-plane' -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}' | sort)
kubectl taint node "${workers[0]}" maintenance-
kubectl uncordon "${workers[1]}"
kubectl -n storefront rollout status deployment/catalog --timeout=120s
kubectl -n storefront rollout status daemonset/node-agent --timeout=120s
# "Empty the node" with a NoExecute taint instead of a drain: it evicts the DaemonSet's pod too.
kubectl cordon "${workers[0]}"
kubectl taint node "${workers[0]}" maintenance=kernel-patch:NoExecute --overwrite
sleep 5
kubectl -n storefront rollout status deployment/catalog --timeout=120s
