#!/usr/bin/env bash
set -euo pipefail
kubectl -n kube-system get configmap kube-proxy -o yaml | sed -E 's#^([[:space:]]*server: https://[^:/]+):6434#\1:6443#' | kubectl -n kube-system replace -f -
kubectl -n kube-system rollout restart daemonset kube-proxy
sleep 10
