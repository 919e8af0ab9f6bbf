#!/usr/bin/env bash
# A half-finished node preparation: the kubelet and crictl were pointed at CRI-O's socket (the
# colleague's notes were for CRI-O), and containerd, the runtime this node really has, is stopped
# and not enabled at boot. containerd's unit uses KillMode=process, so stopping it leaves running
# containers alone; the kubelet cannot start, and the node turns NotReady.
set -euo pipefail
wrong=unix:///var/run/crio/crio.sock
changed=
if grep -q '^containerRuntimeEndpoint:' /var/lib/kubelet/config.yaml; then
  sed -i "s#^containerRuntimeEndpoint:.*#containerRuntimeEndpoint: $wrong#" /var/lib/kubelet/config.yaml
  changed=yes
fi
if [ -f /var/lib/kubelet/kubeadm-flags.env ] && grep -q -- '--container-runtime-endpoint=' /var/lib/kubelet/kubeadm-flags.env; then
  sed -i "s#--container-runtime-endpoint=[^ \"]*#--container-runtime-endpoint=$wrong#" /var/lib/kubelet/kubeadm-flags.env
  changed=yes
fi
[ -n "$changed" ] || { echo "found no container runtime endpoint in the kubelet's config.yaml or kubeadm-flags.env" >&2; exit 1; }
printf 'runtime-endpoint: %s\nimage-endpoint: %s\ntimeout: 5\n' "$wrong" "$wrong" > /etc/crictl.yaml
systemctl disable containerd >/dev/null 2>&1
systemctl stop containerd
systemctl restart kubelet || true
