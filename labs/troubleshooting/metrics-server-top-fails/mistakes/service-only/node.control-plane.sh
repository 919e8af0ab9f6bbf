#!/usr/bin/env bash
# On the control-plane node (a cluster of its own): while the Metrics API is unavailable, namespace
# deletion stalls on API discovery, so this wrong answer could not be taken off on a shared cluster.
set -euo pipefail
kubectl() { command kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }
kubectl -n kube-system patch service metrics-server --type json -p '[{"op":"replace","path":"/spec/ports/0/targetPort","value":"https"}]'
sleep 20
