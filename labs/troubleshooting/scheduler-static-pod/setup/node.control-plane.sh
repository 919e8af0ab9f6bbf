#!/usr/bin/env bash
# Points the scheduler's static pod at a kubeconfig that does not exist, waits until the running
# scheduler is gone (so it cannot place what comes next), then creates a Deployment that stays
# Pending until the scheduler is repaired.
set -euo pipefail
manifest=/etc/kubernetes/manifests/kube-scheduler.yaml
grep -q -- '--kubeconfig=/etc/kubernetes/scheduler.conf' "$manifest"
sed -i 's#--kubeconfig=/etc/kubernetes/scheduler.conf#--kubeconfig=/etc/kubernetes/scheduler-config.conf#' "$manifest"
for _ in $(seq 1 60); do
  [ -z "$(crictl ps --name kube-scheduler --state running -q 2>/dev/null)" ] && break
  sleep 2
done
[ -z "$(crictl ps --name kube-scheduler --state running -q)" ] || { echo "the old scheduler is still running" >&2; exit 1; }
kubectl --kubeconfig /etc/kubernetes/admin.conf apply -f - <<'YAML'
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: orders
  namespace: shop
spec:
  replicas: 3
  selector:
    matchLabels:
      app: orders
  template:
    metadata:
      labels:
        app: orders
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: orders
          image: docker.io/library/nginx:1.27.4
          ports:
            - containerPort: 80
YAML
