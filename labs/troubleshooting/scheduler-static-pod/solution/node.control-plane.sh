#!/usr/bin/env bash
# Put the kubeconfig path back; the kubelet notices the changed manifest and restarts the pod.
set -euo pipefail
sed -i 's#--kubeconfig=/etc/kubernetes/scheduler-config.conf#--kubeconfig=/etc/kubernetes/scheduler.conf#' /etc/kubernetes/manifests/kube-scheduler.yaml
k() { kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }
# The new scheduler binds the Pending pods at once, but its mirror pod turns Ready only after its
# readiness probe passes: wait for both, as a learner would check with kubectl get pods.
for _ in $(seq 1 90); do
  ready=$(k -n kube-system get pods -l component=kube-scheduler -o jsonpath='{.items[*].status.conditions[?(@.type=="Ready")].status}' 2>/dev/null || true)
  if [ "$ready" = True ] && k -n shop rollout status deployment/orders --timeout=2s >/dev/null 2>&1; then exit 0; fi
  sleep 2
done
echo "the scheduler or Deployment orders did not become ready after the repair" >&2
exit 1
