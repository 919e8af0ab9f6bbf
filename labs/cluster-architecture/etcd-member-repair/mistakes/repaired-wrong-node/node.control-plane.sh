#!/usr/bin/env bash
# Restarting the kubelet on a healthy node changes nothing about the member on another node.
set -euo pipefail
systemctl restart kubelet
mkdir -p /opt/course/ha
etcdctl --endpoints=https://127.0.0.1:2379 \
  --cacert=/etc/kubernetes/pki/etcd/ca.crt \
  --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt \
  --key=/etc/kubernetes/pki/etcd/healthcheck-client.key \
  member list | cut -d, -f1 > /opt/course/ha/{{file}}
