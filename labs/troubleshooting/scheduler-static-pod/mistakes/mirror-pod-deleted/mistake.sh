#!/usr/bin/env bash
set -euo pipefail
kubectl -n kube-system delete pod -l component=kube-scheduler --wait=false
sleep 20
