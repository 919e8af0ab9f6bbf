#!/bin/bash
# Runs only once step 1 passed: it fails if the ConfigMap is not there yet.
set -e
kubectl -n shop patch configmap settings --type merge -p '{"data":{"mode":"maintenance"}}'
echo "settings.mode was changed to maintenance by the night shift" > /root/drift.txt
