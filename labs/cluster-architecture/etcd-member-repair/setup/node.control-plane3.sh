#!/usr/bin/env bash
# Points one TLS flag of this node's etcd member at a file that does not exist (pki/etcd-… for
# pki/etcd/…), then waits until the running member is gone and the new one keeps failing, so the
# learner and the first grade see the broken state. The member stays in the cluster with its data.
set -euo pipefail
manifest=/etc/kubernetes/manifests/etcd.yaml
grep -q -- '--{{flag}}=/etc/kubernetes/pki/etcd/' "$manifest"
sed -i 's#--{{flag}}=/etc/kubernetes/pki/etcd/#--{{flag}}=/etc/kubernetes/pki/etcd-#' "$manifest"
down=0
for _ in $(seq 1 90); do
  if curl -s --max-time 2 http://127.0.0.1:2381/health >/dev/null 2>&1; then down=0; else down=$((down + 1)); fi
  [ "$down" -ge 5 ] && exit 0
  sleep 1
done
echo "etcd on this node still answers /health 90 s after its manifest was broken" >&2
exit 1
