#!/usr/bin/env bash
set -euo pipefail
mapfile -t workers < <(kubectl get nodes -l '!node-role.kubernetes.io/control-plane' -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}' | sort)
tol='{"spec":{"template":{"spec":{"tolerations":[{"key":"maintenance","operator":"Exists","effect":"NoSchedule"}]}}}}'
kubectl -n storefront patch deployment catalog --type=strategic -p "$tol"
kubectl -n storefront patch daemonset node-agent --type=strategic -p "$tol"
kubectl uncordon "${workers[1]}"
kubectl -n storefront rollout status deployment/catalog --timeout=120s
kubectl -n storefront rollout status daemonset/node-agent --timeout=120s
kubectl drain "${workers[0]}" --ignore-daemonsets --delete-emptydir-data --timeout=120s
kubectl -n storefront rollout status deployment/catalog --timeout=120s
