#!/usr/bin/env bash
set -euo pipefail
ep=$(kubectl --kubeconfig /etc/kubernetes/admin.conf -n kube-system get cm kubeadm-config \
  -o jsonpath='{.data.ClusterConfiguration}' | sed -n 's/^controlPlaneEndpoint:[[:space:]]*//p' | tr -d "\"' \r")
mkdir -p /opt/course/ha
echo "$ep" >/opt/course/ha/{{epfile}}
f=/root/{{file}}
kubectl config --kubeconfig "$f" set-cluster kubernetes --server https://127.0.0.1:6443 >/dev/null
