#!/bin/bash
[ "$(kubectl get pod pinned -o jsonpath={.spec.nodeName})" = node01 ] || { echo "pod pinned is not on node01"; exit 1; }
kubectl wait --for=condition=Ready pod/pinned --timeout=60s >/dev/null
# The node really is the worker: ssh reaches it under the same name, and the pod's container runs there.
ssh node01 crictl ps --name pinned -q | grep -q .
