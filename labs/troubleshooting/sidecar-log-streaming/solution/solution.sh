#!/usr/bin/env bash
set -euo pipefail
kubectl -n media rollout status deployment/transcoder --timeout=120s
