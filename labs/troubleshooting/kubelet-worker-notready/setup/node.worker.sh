#!/usr/bin/env bash
# Breaks the worker's kubelet the way a careless edit would: its config points at a client CA file
# that does not exist (the kubelet refuses to start), and the unit is disabled and stopped.
set -euo pipefail
config=/var/lib/kubelet/config.yaml
grep -q 'clientCAFile: /etc/kubernetes/pki/ca.crt' "$config"
sed -i 's#clientCAFile: /etc/kubernetes/pki/ca.crt#clientCAFile: /etc/kubernetes/pki/kubelet-ca.crt#' "$config"
systemctl disable kubelet >/dev/null 2>&1
systemctl stop kubelet
