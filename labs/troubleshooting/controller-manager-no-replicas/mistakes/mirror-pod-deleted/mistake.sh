#!/usr/bin/env bash
set -euo pipefail
kubectl -n kube-system delete pod -l component=kube-controller-manager --wait=false
sleep 5
