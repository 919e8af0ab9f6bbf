#!/usr/bin/env bash
# On the worker: point the kubelet (not crictl) at containerd's CRI socket, start containerd and make
# it start at boot, restart the kubelet, and wait until the node and its pod are Ready.
set -euo pipefail
sock=unix:///run/containerd/containerd.sock
sed -i "s#^containerRuntimeEndpoint:.*#containerRuntimeEndpoint: $sock#" /var/lib/kubelet/config.yaml
if [ -f /var/lib/kubelet/kubeadm-flags.env ]; then
  sed -i "s#--container-runtime-endpoint=[^ \"]*#--container-runtime-endpoint=$sock#" /var/lib/kubelet/kubeadm-flags.env
fi
systemctl enable --now containerd
systemctl restart kubelet
# The canary pod was never started on the broken node: wait until it runs and is Ready too, as a
# learner would watch kubectl get pods. The node's own credentials may list the pods bound to it.
k() { kubectl --kubeconfig /etc/kubernetes/kubelet.conf "$@"; }
for _ in $(seq 1 90); do
  node=$(k get node "$(hostname)" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null || true)
  pod=$(k get pods -A --field-selector "spec.nodeName=$(hostname)" -l app=runtime-canary -o jsonpath='{.items[*].status.conditions[?(@.type=="Ready")].status}' 2>/dev/null || true)
  if [ "$node" = True ] && [ "$pod" = True ]; then exit 0; fi
  sleep 2
done
echo "the worker or its runtime-canary pod did not become Ready" >&2
exit 1
