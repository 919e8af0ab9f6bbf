#!/usr/bin/env bash
# Sends one DbBackup to the API server as a server-side dry run (validated, defaulted, never
# stored) and judges the answer. Usage: try-backup.sh CASE, where CASE is
#   good             a valid backup must be accepted
#   namespaced       ...and stay in namespace {{ns}} (a cluster-scoped kind drops the namespace)
#   no-schedule      a backup without spec.schedule must be refused for that field
#   retention-90     spec.retentionDays 90 must be refused (at most 35)
#   retention-0      spec.retentionDays 0 must be refused (at least 1)
#   storage-ftp      spec.storage ftp must be refused (s3, gcs or nfs)
#   default          spec.retentionDays left out must come back as 7
set -uo pipefail
case_=$1
database='database: orders'
schedule='schedule: "30 1 * * *"'
storage='storage: s3'
retention='retentionDays: 14'
field=
case $case_ in
  good | namespaced) ;;
  no-schedule) schedule=''; field=spec.schedule ;;
  retention-90) retention='retentionDays: 90'; field=spec.retentionDays ;;
  retention-0) retention='retentionDays: 0'; field=spec.retentionDays ;;
  storage-ftp) storage='storage: ftp'; field=spec.storage ;;
  default) retention='' ;;
  *) echo "unknown case $case_"; exit 2 ;;
esac
err=$(mktemp)
trap 'rm -f "$err"' EXIT
out=$(kubectl create --dry-run=server -o jsonpath='{.metadata.namespace}|{.spec.retentionDays}' -f - 2>"$err" <<YAML
apiVersion: backup.acme.io/v1
kind: DbBackup
metadata:
  name: probe-$case_
  namespace: {{ns}}
spec:
  $database
  $schedule
  $storage
  $retention
YAML
)
rc=$?
last=$(grep -v '^[[:space:]]*$' "$err" | tail -n 1)
if [ -z "$field" ]; then
  [ $rc -eq 0 ] || { echo "a valid DbBackup ($case_) is refused: $last"; exit 1; }
  IFS='|' read -r ns days <<<"$out"
  case $case_ in
    good) echo "a valid DbBackup is accepted" ;;
    namespaced) [ "$ns" = "{{ns}}" ] || { echo "a DbBackup sent to namespace {{ns}} came back with namespace '${ns}': the kind is cluster-scoped"; exit 1; }
      echo "DbBackups live in namespaces" ;;
    default) [ "$days" = 7 ] || { echo "a DbBackup without retentionDays came back with retentionDays '${days}', not 7"; exit 1; }
      echo "retentionDays defaults to 7" ;;
  esac
  exit 0
fi
[ $rc -ne 0 ] || { echo "a DbBackup with a bad $field ($case_) is accepted"; exit 1; }
# Refused for the right reason: a schema violation names the field; "no matches for kind" means
# the kind is not served at all, which proves nothing about validation.
grep -q 'is invalid' "$err" && grep -q -F "$field" "$err" || { echo "the DbBackup ($case_) is refused, but not by validation of $field: $last"; exit 1; }
echo "refused: $last"
