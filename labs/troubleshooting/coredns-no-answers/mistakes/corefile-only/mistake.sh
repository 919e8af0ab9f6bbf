#!/usr/bin/env bash
set -euo pipefail
kubectl -n kube-system get configmap coredns -o yaml | sed -E 's/^([[:space:]]*)kubernetis([[:space:]])/\1kubernetes\2/' | kubectl -n kube-system replace -f -
kubectl -n kube-system rollout restart deployment coredns
kubectl -n kube-system rollout status deployment coredns --timeout=180s
