#!/usr/bin/env bash
set -euo pipefail
mkdir -p /opt/course/3
for _ in $(seq 1 45); do
  [ "$(kubectl top pod -n telemetry --no-headers 2>/dev/null | wc -l)" -ge 4 ] && break
  sleep 2
done
kubectl top pod -n telemetry --sort-by=memory --no-headers | awk 'NR == 1 {print $1}' > /opt/course/3/cpu-top.txt
kubectl top pod gateway -n telemetry --containers --no-headers | sort -k4 -h -r | awk 'NR == 1 {print $2}' > /opt/course/3/memory-container.txt
