#!/usr/bin/env bash
# On the worker: point the kubelet and crictl at containerd's CRI socket, start containerd and make
# it start at boot, restart the kubelet, and wait until the node reports Ready.
set -euo pipefail
sock=unix:///run/containerd/containerd.sock
sed -i "s#^containerRuntimeEndpoint:.*#containerRuntimeEndpoint: $sock#" /var/lib/kubelet/config.yaml
if [ -f /var/lib/kubelet/kubeadm-flags.env ]; then
  sed -i "s#--container-runtime-endpoint=[^ \"]*#--container-runtime-endpoint=$sock#" /var/lib/kubelet/kubeadm-flags.env
fi
printf 'runtime-endpoint: %s\nimage-endpoint: %s\ntimeout: 5\n' "$sock" "$sock" > /etc/crictl.yaml
systemctl enable --now containerd
systemctl restart kubelet
for _ in $(seq 1 90); do
  if kubectl --kubeconfig /etc/kubernetes/kubelet.conf get node "$(hostname)" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null | grep -qx True; then exit 0; fi
  sleep 2
done
echo "the worker did not become Ready" >&2
exit 1
