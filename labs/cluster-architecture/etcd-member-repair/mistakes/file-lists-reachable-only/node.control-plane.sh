#!/usr/bin/env bash
# What `endpoint status --cluster` printed before the repair: the IDs of the two members that
# answered. (Written from member list minus the broken node's member, so the result does not depend
# on whether this script runs before or after the repair on control-plane3.)
set -euo pipefail
mkdir -p /opt/course/ha
etcdctl --endpoints=https://127.0.0.1:2379 \
  --cacert=/etc/kubernetes/pki/etcd/ca.crt \
  --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt \
  --key=/etc/kubernetes/pki/etcd/healthcheck-client.key \
  member list | grep -v -- '-control-plane3,' | cut -d, -f1 > /opt/course/ha/{{file}}
