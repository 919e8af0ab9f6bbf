#!/usr/bin/env bash
set -euo pipefail
mkdir -p /opt/course/7
# Right after the rollout the old pod (without the sidecar) may still be terminating.
for _ in $(seq 1 30); do
  [ "$(kubectl -n media get pods -l app=transcoder --no-headers | wc -l)" -eq 1 ] && break
  sleep 1
done
kubectl -n media logs deployment/transcoder -c log-streamer | grep ERROR > /opt/course/7/transcoder-errors.txt
cat /opt/course/7/transcoder-errors.txt
