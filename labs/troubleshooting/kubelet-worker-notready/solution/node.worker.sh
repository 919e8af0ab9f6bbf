#!/usr/bin/env bash
# On the worker: put the CA path back, enable the unit so it survives a reboot, start it.
set -euo pipefail
sed -i 's#clientCAFile: /etc/kubernetes/pki/kubelet-ca.crt#clientCAFile: /etc/kubernetes/pki/ca.crt#' /var/lib/kubelet/config.yaml
systemctl enable --now kubelet
# The node reports Ready once the kubelet has registered again and the CNI is up.
for _ in $(seq 1 90); do
  if kubectl --kubeconfig /etc/kubernetes/kubelet.conf get node "$(hostname)" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null | grep -x True >/dev/null; then exit 0; fi
  sleep 2
done
echo "the worker did not become Ready" >&2
exit 1
