#!/usr/bin/env bash
set -euo pipefail
manifest=/etc/kubernetes/manifests/etcd.yaml
sed -i 's#=/etc/kubernetes/pki/etcd-#=/etc/kubernetes/pki/etcd/#' "$manifest"
healthy() { curl -s --max-time 2 http://127.0.0.1:2381/health | grep '"health":"true"' >/dev/null; }
ready() { [ "$(curl -sk --max-time 3 https://127.0.0.1:6443/readyz 2>/dev/null)" = ok ]; }
for _ in $(seq 1 120); do healthy && break; sleep 1; done
healthy || { echo "etcd did not become healthy within 120 s" >&2; exit 1; }
# The API server beside it crash-looped while etcd was down; the kubelet's back-off can keep it
# down for minutes. Give it a minute, then restart the kubelet, which starts it again at once.
for _ in $(seq 1 60); do ready && exit 0; sleep 1; done
systemctl restart kubelet
for _ in $(seq 1 120); do ready && exit 0; sleep 1; done
echo "the API server on this node is not ready 120 s after the kubelet restart" >&2
exit 1
