#!/usr/bin/env bash
set -euo pipefail
mkdir -p /opt/course/ha
etcdctl --endpoints=https://127.0.0.1:2379 \
  --cacert=/etc/kubernetes/pki/etcd/ca.crt \
  --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt \
  --key=/etc/kubernetes/pki/etcd/healthcheck-client.key \
  member list | cut -d, -f1 > /opt/course/ha/{{file}}
