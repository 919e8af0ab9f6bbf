#!/usr/bin/env bash
set -euo pipefail
mv /etc/kubernetes/manifests/kube-scheduler.yaml /root/kube-scheduler.yaml.bak
sleep 20
