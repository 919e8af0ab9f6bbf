#!/usr/bin/env bash
# Mistake: /etc/crictl.yaml fixed in the belief that the kubelet reads it too; the kubelet still
# points at cri-dockerd's socket. The answers are right.
set -euo pipefail
sock=unix:///run/containerd/containerd.sock
printf 'runtime-endpoint: %s\nimage-endpoint: %s\ntimeout: 10\n' "$sock" "$sock" >/etc/crictl.yaml
id=$(crictl ps --name '^shipper$' --label io.kubernetes.pod.namespace={{ns}} --label io.kubernetes.pod.name={{pod}} -q)
mkdir -p /opt/course/cri
crictl inspect -o go-template --template '{{.info.runtimeType}}' "$id" >/opt/course/cri/runtime-type
echo "$id" >/opt/course/cri/container-id
