#!/usr/bin/env bash
set -euo pipefail
mapfile -t workers < <(kubectl get nodes -l '!node-role.kubernetes.io/control-plane' -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}' | sort)
kubectl taint node "${workers[0]}" maintenance-
# All three catalog pods land on the first worker before the second opens (as in most repairs).
kubectl -n storefront rollout status deployment/catalog --timeout=120s
kubectl uncordon "${workers[1]}"
kubectl -n storefront rollout status daemonset/node-agent --timeout=120s
kubectl cordon "${workers[0]}"
