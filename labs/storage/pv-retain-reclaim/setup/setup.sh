#!/usr/bin/env bash
# The state the learner starts from: PersistentVolume vault-pv (hostPath, Retain) held the records
# of claim vault-old, which has since been deleted. Retain kept the data on the node, and the
# volume is Released: its claimRef still names the deleted claim, so no new claim can bind it.
# Safe to run twice: it starts from a fresh volume over the same directory.
set -euo pipefail
ns={{ns}}
kubectl -n "$ns" delete pod vault-writer --ignore-not-found --wait=true >/dev/null
kubectl -n "$ns" delete pvc vault-old --ignore-not-found --wait=true >/dev/null
kubectl delete pv vault-pv --ignore-not-found --wait=true >/dev/null
kubectl apply -f - <<YAML
apiVersion: v1
kind: PersistentVolume
metadata:
  name: vault-pv
spec:
  capacity:
    storage: 1Gi
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: manual
  hostPath:
    path: /srv/vault
    type: DirectoryOrCreate
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: vault-old
  namespace: $ns
spec:
  storageClassName: manual
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Gi
---
apiVersion: v1
kind: Pod
metadata:
  name: vault-writer
  namespace: $ns
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
    - name: writer
      image: docker.io/library/busybox:1.37.0
      command: ["sh", "-c", "printf '%s opening balance 1200\n%s transfer -300\n' {{token}} {{token}} > /vault/records.txt"]
      volumeMounts:
        - name: vault
          mountPath: /vault
  volumes:
    - name: vault
      persistentVolumeClaim:
        claimName: vault-old
YAML
kubectl -n "$ns" wait pod/vault-writer --for=jsonpath='{.status.phase}'=Succeeded --timeout=120s >/dev/null
kubectl -n "$ns" delete pod vault-writer --wait=true >/dev/null
kubectl -n "$ns" delete pvc vault-old --wait=true >/dev/null
kubectl wait pv/vault-pv --for=jsonpath='{.status.phase}'=Released --timeout=60s >/dev/null
