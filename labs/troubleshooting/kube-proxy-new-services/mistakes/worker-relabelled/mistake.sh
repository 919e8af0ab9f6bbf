#!/usr/bin/env bash
set -euo pipefail
worker=$(kubectl get nodes -l '!node-role.kubernetes.io/control-plane' -o name | sort | sed -n 1p)
kubectl label "$worker" kubernetes.io/os=linx --overwrite
kubectl -n kube-system get configmap kube-proxy -o yaml | sed -E 's#^([[:space:]]*server: https://[^:/]+):6434#\1:6443#' | kubectl -n kube-system replace -f -
kubectl -n kube-system rollout restart daemonset kube-proxy
kubectl -n kube-system rollout status daemonset kube-proxy --timeout=120s
sleep 5
