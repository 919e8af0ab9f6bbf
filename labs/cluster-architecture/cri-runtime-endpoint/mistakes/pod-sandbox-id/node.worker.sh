#!/usr/bin/env bash
# Mistake: everything right, except that the pod's sandbox ID (crictl pods) is written where the
# container's ID belongs.
set -euo pipefail
sed -i "s#^containerRuntimeEndpoint: .*#containerRuntimeEndpoint: unix:///run/containerd/containerd.sock#" /var/lib/kubelet/config.yaml
systemctl restart kubelet
sock=unix:///run/containerd/containerd.sock
printf 'runtime-endpoint: %s\nimage-endpoint: %s\ntimeout: 10\n' "$sock" "$sock" >/etc/crictl.yaml
id=$(crictl ps --name '^shipper$' --label io.kubernetes.pod.namespace={{ns}} --label io.kubernetes.pod.name={{pod}} -q)
mkdir -p /opt/course/cri
crictl inspect -o go-template --template '{{.info.runtimeType}}' "$id" >/opt/course/cri/runtime-type
crictl pods --name '^{{pod}}$' --namespace '^{{ns}}$' -q | sed -n 1p >/opt/course/cri/container-id
