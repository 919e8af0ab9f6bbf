#!/usr/bin/env bash
# The second worker becomes the SSD node, reserved for analytics: labelled and tainted. The
# Deployment crunch was placed before the taint, so both its pods run on the first worker.
set -euo pipefail
mapfile -t workers < <(kubectl get nodes -l '!node-role.kubernetes.io/control-plane' -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}' | sort)
ssd=${workers[1]:?the lab needs two workers}
kubectl cordon "$ssd"
# Pods the scheduler put on the SSD node before the cordon move to the first worker.
kubectl -n analytics delete pod -l app=crunch --field-selector "spec.nodeName=$ssd" --wait=false
kubectl -n analytics rollout status deployment/crunch --timeout=180s
kubectl -n analytics wait pod -l app=crunch --for=condition=Ready --timeout=180s
kubectl uncordon "$ssd"
# Taint before label: nightly waits for a disk=ssd node, and the scheduler would place it in between.
kubectl taint node "$ssd" dedicated=analytics:NoSchedule --overwrite
kubectl label node "$ssd" disk=ssd --overwrite
