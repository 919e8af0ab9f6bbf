#!/usr/bin/env bash
set -euo pipefail
manifest=/etc/kubernetes/manifests/etcd.yaml
sed -i 's#=/etc/kubernetes/pki/etcd-#=/etc/kubernetes/pki/etcd/#' "$manifest"
for _ in $(seq 1 120); do
  curl -s --max-time 2 http://127.0.0.1:2381/health | grep -q '"health":"true"' && exit 0
  sleep 1
done
echo "etcd did not become healthy within 120 s" >&2
exit 1
