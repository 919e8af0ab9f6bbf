#!/usr/bin/env bash
# On the control-plane node (a cluster of its own): while the Metrics API is unavailable, namespace
# deletion stalls on API discovery, so this wrong answer could not be taken off on a shared cluster.
set -euo pipefail
kubectl() { command kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }
kubectl -n kube-system patch deployment metrics-server --type json -p '[{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--kubelet-insecure-tls"}]'
kubectl -n kube-system patch service metrics-server --type json -p '[{"op":"replace","path":"/spec/ports/0/port","value":10250},{"op":"replace","path":"/spec/ports/0/targetPort","value":10250}]'
kubectl -n kube-system rollout status deployment metrics-server --timeout=180s
sleep 10
