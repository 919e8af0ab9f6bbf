#!/usr/bin/env bash
set -euo pipefail
# Only changes the pod template's annotation: no controller is there to act on it.
kubectl -n warehouse rollout restart deployment/picker
kubectl -n warehouse scale deployment/picker --replicas=2
sleep 5
