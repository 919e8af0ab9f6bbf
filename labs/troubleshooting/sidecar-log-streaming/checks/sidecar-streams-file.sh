#!/usr/bin/env bash
# Every live transcoder pod: the log of its container log-streamer holds each line the app has
# written to its log file (read from the app's own container), so the whole file is streamed.
set -uo pipefail
ns=media
pods=$(kubectl -n "$ns" get pods -l app=transcoder -o jsonpath='{range .items[?(@.status.phase=="Running")]}{.metadata.name}{" "}{.metadata.deletionTimestamp}{"\n"}{end}' | awk 'NF==1 {print $1}')
[ -n "$pods" ] || { echo "no running transcoder pod"; exit 1; }
# kubectl's own messages go to stderr: kept apart, so a warning never counts as a line of the file
# or of the log, and shown only when the command failed.
err=$(mktemp)
trap 'rm -f "$err"' EXIT
for pod in $pods; do
  # The first lines only: the file grows every 5 s, the sidecar may be a moment behind.
  if ! file=$(kubectl -n "$ns" exec "$pod" -c transcoder -- head -n 5 /var/log/transcoder/transcode.log 2>"$err"); then
    echo "pod $pod: cannot read /var/log/transcoder/transcode.log in container transcoder: $(tail -n 1 "$err")"; exit 1
  fi
  if ! logs=$(kubectl -n "$ns" logs "$pod" -c log-streamer 2>"$err"); then
    echo "pod $pod has no readable log for a container log-streamer: $(tail -n 1 "$err")"; exit 1
  fi
  while IFS= read -r line; do
    grep -qxF -- "$line" <<<"$logs" || { echo "pod $pod: the log of log-streamer lacks the file's line \"$line\""; exit 1; }
  done <<<"$file"
done
echo "log-streamer shows the transcoder's log file, from its first line"
