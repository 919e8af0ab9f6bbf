#!/usr/bin/env bash
# The reference solution, as a learner would type it: put the DaemonSet's nodeSelector back to the
# real OS label, point kube-proxy's kubeconfig at the API server's port 6443 again, then restart
# kube-proxy so that it reads the repaired ConfigMap, and wait for it.
set -euo pipefail
ns=(-n kube-system)
kubectl "${ns[@]}" patch daemonset kube-proxy --type merge -p '{"spec":{"template":{"spec":{"nodeSelector":{"kubernetes.io/os":"linux"}}}}}'
kubectl "${ns[@]}" get configmap kube-proxy -o yaml | sed -E 's#^([[:space:]]*server: https://[^:/]+):6434#\1:6443#' | kubectl "${ns[@]}" replace -f -
kubectl "${ns[@]}" rollout restart daemonset kube-proxy
kubectl "${ns[@]}" rollout status daemonset kube-proxy --timeout=180s
