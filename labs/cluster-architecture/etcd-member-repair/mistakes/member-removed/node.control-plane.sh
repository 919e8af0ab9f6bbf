#!/usr/bin/env bash
set -euo pipefail
E="etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt --key=/etc/kubernetes/pki/etcd/healthcheck-client.key --command-timeout=5s"
id=$($E member list | grep -- '-control-plane3,' | cut -d, -f1)
$E member remove "$id"
mkdir -p /opt/course/ha
$E member list | cut -d, -f1 > /opt/course/ha/{{file}}
