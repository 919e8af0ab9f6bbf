#!/usr/bin/env bash
# On the worker: the endpoints are repaired and containerd is started, but only for now: the unit
# stays disabled at boot. Then the kubelet is restarted and the node waited for.
set -euo pipefail
sock=unix:///run/containerd/containerd.sock
sed -i "s#^containerRuntimeEndpoint:.*#containerRuntimeEndpoint: $sock#" /var/lib/kubelet/config.yaml
if [ -f /var/lib/kubelet/kubeadm-flags.env ]; then
  sed -i "s#--container-runtime-endpoint=[^ \"]*#--container-runtime-endpoint=$sock#" /var/lib/kubelet/kubeadm-flags.env
fi
printf 'runtime-endpoint: %s\nimage-endpoint: %s\ntimeout: 5\n' "$sock" "$sock" > /etc/crictl.yaml
systemctl start containerd
systemctl restart kubelet
for _ in $(seq 1 90); do
  if kubectl --kubeconfig /etc/kubernetes/kubelet.conf get node "$(hostname)" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null | grep -qx True; then exit 0; fi
  sleep 2
done
echo "the worker did not become Ready" >&2
exit 1
