#!/usr/bin/env bash
# Put the kubeconfig path back; the kubelet notices the changed manifest and restarts the pod.
set -euo pipefail
sed -i 's#--kubeconfig=/etc/kubernetes/scheduler-config.conf#--kubeconfig=/etc/kubernetes/scheduler.conf#' /etc/kubernetes/manifests/kube-scheduler.yaml
for _ in $(seq 1 90); do
  if kubectl --kubeconfig /etc/kubernetes/admin.conf -n shop rollout status deployment/orders --timeout=2s >/dev/null 2>&1; then exit 0; fi
  sleep 2
done
echo "orders did not roll out after the scheduler was repaired" >&2
exit 1
