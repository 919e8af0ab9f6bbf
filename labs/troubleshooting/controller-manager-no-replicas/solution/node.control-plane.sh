#!/usr/bin/env bash
# Mount the real kubeconfig again; the kubelet notices the changed manifest and restarts the pod.
set -euo pipefail
manifest=/etc/kubernetes/manifests/kube-controller-manager.yaml
sed -i 's#path: /etc/kubernetes/controller-manager.kubeconfig$#path: /etc/kubernetes/controller-manager.conf#' "$manifest"
rm -f /etc/kubernetes/controller-manager.kubeconfig
k() { kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }
# The new controller manager waits for the old leader lease to expire (about 15 s) before it
# creates the ReplicaSet; its mirror pod turns Ready once its health check passes.
for _ in $(seq 1 90); do
  ready=$(k -n kube-system get pods -l component=kube-controller-manager -o jsonpath='{.items[*].status.conditions[?(@.type=="Ready")].status}' 2>/dev/null || true)
  if [ "$ready" = True ] && k -n warehouse rollout status deployment/picker --timeout=2s >/dev/null 2>&1; then exit 0; fi
  sleep 2
done
echo "the controller manager or Deployment picker did not become ready after the repair" >&2
exit 1
