#!/usr/bin/env bash
set -euo pipefail
ssd=$(kubectl get nodes -l disk=ssd -o jsonpath='{.items[0].metadata.name}')
kubectl taint node "$ssd" dedicated=analytics:NoSchedule-
kubectl -n analytics patch deployment crunch --type=strategic -p '{"spec":{"template":{"spec":{"nodeSelector":{"disk":"ssd"}}}}}'
kubectl -n analytics rollout status deployment/crunch --timeout=180s
kubectl -n analytics wait pod/nightly --for=condition=Ready --timeout=120s
