#!/usr/bin/env bash
set -euo pipefail
kubectl -n {{ns}} delete service catalog
kubectl -n {{ns}} expose deployment catalog --name catalog --port 80 --target-port http
sleep 5
