#!/bin/bash
set -e
kubectl apply -f - <<'Y'
apiVersion: v1
kind: Pod
metadata: {name: pinned}
spec:
  nodeName: node01
  containers: [{name: pinned, image: busybox:1.37.0, command: [sleep, "3600"]}]
Y
kubectl wait --for=condition=Ready pod/pinned --timeout=120s
