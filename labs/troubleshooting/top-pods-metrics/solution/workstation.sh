#!/usr/bin/env bash
set -euo pipefail
mkdir -p /opt/course/3
# A pod's metrics appear one scrape (15 s) after it starts: wait until every pod has its row.
for _ in $(seq 1 45); do
  [ "$(kubectl top pod -n telemetry --no-headers 2>/dev/null | wc -l)" -ge 4 ] && break
  sleep 2
done
# awk reads every line and prints the first: `head -n 1` would close the pipe early, and with pipefail
# the writer's SIGPIPE (exit 141) failed the script now and then.
kubectl top pod -n telemetry --sort-by=cpu --no-headers | awk 'NR == 1 {print $1}' > /opt/course/3/cpu-top.txt
kubectl top pod gateway -n telemetry --containers --no-headers | sort -k4 -h -r | awk 'NR == 1 {print $2}' > /opt/course/3/memory-container.txt
cat /opt/course/3/cpu-top.txt /opt/course/3/memory-container.txt
