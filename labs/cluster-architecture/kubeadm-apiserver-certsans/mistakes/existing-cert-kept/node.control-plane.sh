#!/usr/bin/env bash
# The configuration is right and stored back, but the old certificate is left in place: kubeadm
# reports "Using existing apiserver certificate and key on disk" and issues nothing.
set -euo pipefail
k() { kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }
cfg=/root/kubeadm-cluster.yaml
k -n kube-system get cm kubeadm-config -o jsonpath='{.data.ClusterConfiguration}' > "$cfg"
sed -i '/^  certSANs:/a\  - {{san}}' "$cfg"
kubeadm init phase certs apiserver --config "$cfg"
kubeadm init phase upload-config kubeadm --config "$cfg"
sleep 20
