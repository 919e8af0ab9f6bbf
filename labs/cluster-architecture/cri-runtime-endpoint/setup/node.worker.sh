#!/usr/bin/env bash
# Breaks the worker the way a half-finished move from Docker Engine (cri-dockerd) to containerd
# would: the kubelet and crictl still point at cri-dockerd's socket, which does not exist. The
# kubelet then exits at start ("validate CRI v1 runtime API for endpoint") and systemd keeps
# restarting it; containerd and the pods' containers keep running.
set -euo pipefail
config=/var/lib/kubelet/config.yaml
grep -q '^containerRuntimeEndpoint: ' "$config"
sed -i 's#^containerRuntimeEndpoint: .*#containerRuntimeEndpoint: unix:///var/run/cri-dockerd.sock#' "$config"
printf 'runtime-endpoint: unix:///var/run/cri-dockerd.sock\nimage-endpoint: unix:///var/run/cri-dockerd.sock\ntimeout: 10\n' >/etc/crictl.yaml
systemctl restart kubelet
