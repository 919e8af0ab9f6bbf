#!/usr/bin/env bash
set -euo pipefail
sed -i 's#clientCAFile: /etc/kubernetes/pki/kubelet-ca.crt#clientCAFile: /etc/kubernetes/pki/ca.crt#' /var/lib/kubelet/config.yaml
systemctl enable --now kubelet
