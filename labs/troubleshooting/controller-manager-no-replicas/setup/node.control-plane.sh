#!/usr/bin/env bash
# Points the controller manager's kubeconfig volume at a file that does not exist. The volume's
# type is FileOrCreate, so the kubelet mounts a new empty file where the flag expects the
# kubeconfig: the flag still looks right, but the process finds no configuration and exits.
# Once the old controller manager is gone, creates a Deployment that gets no ReplicaSet.
set -euo pipefail
manifest=/etc/kubernetes/manifests/kube-controller-manager.yaml
grep -q 'path: /etc/kubernetes/controller-manager.conf$' "$manifest"
old=$(crictl ps --name kube-controller-manager --state running -q)
sed -i 's#path: /etc/kubernetes/controller-manager.conf$#path: /etc/kubernetes/controller-manager.kubeconfig#' "$manifest"
# The kubelet stops the old container and starts new ones that exit at once; wait for the old one.
# (crictl's whole output is read before it is searched: a grep -q reading the pipe would stop at the
# first match, crictl would die of SIGPIPE, and under pipefail that read as "not running" and ended
# the wait early.)
still_running() {
  [ -n "$old" ] || return 1
  local running id
  running=$(crictl ps --state running -q)
  for id in $old; do grep -qFx -- "$id" <<<"$running" && return 0; done
  return 1
}
for _ in $(seq 1 60); do
  still_running || break
  sleep 2
done
! still_running || { echo "the old controller manager is still running" >&2; exit 1; }
kubectl --kubeconfig /etc/kubernetes/admin.conf apply -f - <<'YAML'
apiVersion: v1
kind: Namespace
metadata:
  name: warehouse
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: picker
  namespace: warehouse
spec:
  replicas: 2
  selector:
    matchLabels:
      app: picker
  template:
    metadata:
      labels:
        app: picker
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: picker
          image: docker.io/library/nginx:1.27.4
          ports:
            - containerPort: 80
YAML
