#!/usr/bin/env bash
# Lift the leftover taint and the cordon, then drain the first worker the safe way.
set -euo pipefail
mapfile -t workers < <(kubectl get nodes -l '!node-role.kubernetes.io/control-plane' -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}' | sort)
kubectl taint node "${workers[0]}" maintenance-
kubectl uncordon "${workers[1]}"
kubectl -n storefront rollout status deployment/catalog --timeout=120s
kubectl -n storefront rollout status daemonset/node-agent --timeout=120s
kubectl drain "${workers[0]}" --ignore-daemonsets --delete-emptydir-data --timeout=120s
kubectl -n storefront rollout status deployment/catalog --timeout=120s
