#!/usr/bin/env bash
# Mistake: the old socket path made to lead to containerd with a symbolic link instead of fixing the
# kubelet's configuration (the node turns Ready, until /run is emptied at the next boot). crictl
# and the answers are right.
set -euo pipefail
ln -sf /run/containerd/containerd.sock /run/cri-dockerd.sock
systemctl restart kubelet
sock=unix:///run/containerd/containerd.sock
printf 'runtime-endpoint: %s\nimage-endpoint: %s\ntimeout: 10\n' "$sock" "$sock" >/etc/crictl.yaml
id=$(crictl ps --name '^shipper$' --label io.kubernetes.pod.namespace={{ns}} --label io.kubernetes.pod.name={{pod}} -q)
mkdir -p /opt/course/cri
crictl inspect -o go-template --template '{{.info.runtimeType}}' "$id" >/opt/course/cri/runtime-type
echo "$id" >/opt/course/cri/container-id
