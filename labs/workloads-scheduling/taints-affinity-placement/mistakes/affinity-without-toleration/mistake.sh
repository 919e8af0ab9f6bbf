#!/usr/bin/env bash
set -euo pipefail
kubectl -n analytics patch deployment crunch --type=strategic -p '{"spec":{"template":{"spec":{"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"disk","operator":"In","values":["ssd"]}]}]}}}}}}}'
# Its new pod stays Pending for good: readiness must not wait for it.
kubectl -n analytics annotate deployment crunch kubedrill.io/wait=false --overwrite
sleep 5
