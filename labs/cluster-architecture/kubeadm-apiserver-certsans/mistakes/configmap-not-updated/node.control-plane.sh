#!/usr/bin/env bash
# The certificate is issued from an edited copy of the configuration, which never goes back to
# kube-system/kubeadm-config.
set -euo pipefail
k() { kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }
cfg=/root/kubeadm-cluster.yaml
k -n kube-system get cm kubeadm-config -o jsonpath='{.data.ClusterConfiguration}' > "$cfg"
sed -i '/^  certSANs:/a\  - {{san}}' "$cfg"
mv /etc/kubernetes/pki/apiserver.crt /etc/kubernetes/pki/apiserver.key /root/
kubeadm init phase certs apiserver --config "$cfg"
for _ in $(seq 1 60); do
  if curl -sf --max-time 3 --resolve {{san}}:6443:127.0.0.1 --cacert /etc/kubernetes/pki/ca.crt https://{{san}}:6443/livez >/dev/null 2>&1; then exit 0; fi
  sleep 2
done
echo "the API server does not serve a certificate for {{san}}" >&2
exit 1
