#!/usr/bin/env bash
set -euo pipefail
# Waits for the client pod by name.
kubectl get pods -n fixture -o name | grep -q "^pod/client$"
