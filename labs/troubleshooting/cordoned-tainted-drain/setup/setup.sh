#!/usr/bin/env bash
# Leaves both workers closed to new pods, as a half-finished maintenance would: the first worker
# keeps a NoSchedule taint, the second stays cordoned. Safe to run twice (the mistake gates do).
set -euo pipefail
mapfile -t workers < <(kubectl get nodes -l '!node-role.kubernetes.io/control-plane' -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}' | sort)
first=${workers[0]:?the lab needs two workers}
second=${workers[1]:?the lab needs two workers}
kubectl taint node "$first" maintenance=kernel-patch:NoSchedule --overwrite
kubectl cordon "$second"
# Pods placed before the taint and the cordon go; the Deployment's come back Pending, and the
# DaemonSet's come back on the cordoned worker only (its pods tolerate unschedulable, not the taint).
kubectl -n storefront delete pod --all --wait=true --timeout=120s
for _ in $(seq 1 60); do
  ready=$(kubectl -n storefront get daemonset node-agent -o jsonpath='{.status.numberReady}')
  [ "$ready" = 1 ] && exit 0
  sleep 2
done
echo "DaemonSet node-agent did not get its pod on the cordoned worker" >&2
exit 1
