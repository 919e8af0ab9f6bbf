#!/usr/bin/env bash
# On the control-plane node: add the name to the cluster's kubeadm configuration, make kubeadm issue
# a new serving certificate from it, and store the configuration back in the cluster.
set -euo pipefail
k() { kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }
cfg=/root/kubeadm-cluster.yaml
k -n kube-system get cm kubeadm-config -o jsonpath='{.data.ClusterConfiguration}' > "$cfg"
if grep -q '^  certSANs:' "$cfg"; then
  sed -i '/^  certSANs:/a\  - {{san}}' "$cfg"
else
  sed -i '/^apiServer:/a\  certSANs:\n  - {{san}}' "$cfg"
fi
# kubeadm keeps a certificate that exists: move the old pair away so it issues a new one.
mv /etc/kubernetes/pki/apiserver.crt /etc/kubernetes/pki/apiserver.key /root/
kubeadm init phase certs apiserver --config "$cfg"
kubeadm init phase upload-config kubeadm --config "$cfg"
# The kube-apiserver watches its serving certificate files and loads the new pair by itself.
for _ in $(seq 1 60); do
  if curl -sf --max-time 3 --resolve {{san}}:6443:127.0.0.1 --cacert /etc/kubernetes/pki/ca.crt https://{{san}}:6443/livez >/dev/null 2>&1; then exit 0; fi
  sleep 2
done
echo "the API server does not serve a certificate for {{san}}" >&2
exit 1
