#!/usr/bin/env bash
# On the control-plane node, as root: etcd serves clients only over TLS with client certificates,
# so etcdctl needs the CA and a certificate etcd trusts; kubeadm's are in /etc/kubernetes/pki/etcd.
set -euo pipefail
mkdir -p /srv/backup
etcdctl --endpoints=https://127.0.0.1:2379 \
  --cacert=/etc/kubernetes/pki/etcd/ca.crt \
  --cert=/etc/kubernetes/pki/etcd/server.crt \
  --key=/etc/kubernetes/pki/etcd/server.key \
  snapshot save /srv/backup/{{snap}}.db
etcdutl snapshot status /srv/backup/{{snap}}.db -w table
