#!/usr/bin/env bash
# Usage: pod-sees.sh env NAME VALUE | file PATH VALUE
# Passes when every running pod of Deployment mailer (container mailer) sees exactly VALUE in its
# environment variable NAME, or in file PATH — byte for byte, so a trailing newline (echo | base64)
# counts as a difference. Fails at once, without waiting, while the Deployment is not rolled out.
set -uo pipefail
ns=postoffice
kind=$1 what=$2 want=$3
# '|'-separated: a count the status leaves out (no updated pods yet) must not shift the others.
IFS='|' read -r gen obs want_n updated ready total < <(kubectl get deployment -n "$ns" mailer -o jsonpath='{.metadata.generation}|{.status.observedGeneration}|{.spec.replicas}|{.status.updatedReplicas}|{.status.readyReplicas}|{.status.replicas}' 2>/dev/null; echo)
[[ -n ${gen:-} ]] || { echo "Deployment mailer does not exist in namespace $ns"; exit 1; }
if [[ ${obs:-0} -lt $gen || ${updated:-0} -ne $want_n || ${ready:-0} -ne $want_n || ${total:-0} -ne $want_n ]]; then
  echo "Deployment mailer has not finished rolling out (${ready:-0}/$want_n ready, ${updated:-0} updated): its pods may still be failing to start — see kubectl -n $ns describe pods"
  exit 1
fi
pods=$(kubectl get pods -n "$ns" -l app=mailer -o jsonpath='{range .items[?(@.status.phase=="Running")]}{.metadata.name} {.metadata.deletionTimestamp}{"\n"}{end}' 2>/dev/null | awk 'NF == 1 { print $1 }')
[[ -n $pods ]] || { echo "no running pod of Deployment mailer"; exit 1; }
# kubectl's own messages (a warning, a retried stream) go to stderr: kept apart, so they can never be
# read as part of the value, and shown only when the command could not run.
err=$(mktemp)
trap 'rm -f "$err"' EXIT
for pod in $pods; do
  if [[ $kind == env ]]; then
    # The value followed by a marker, so command substitution cannot strip its trailing newlines.
    if ! got=$(kubectl exec -n "$ns" "$pod" -c mailer -- sh -c "if [ -z \"\${$what+set}\" ]; then echo UNSET; else printf '%s|' \"\$$what\"; fi" 2>"$err"); then
      echo "pod $pod: cannot run a command in container mailer: $(tail -n 1 "$err")"
      exit 1
    fi
    [[ $got == UNSET ]] && { echo "pod $pod has no environment variable $what"; exit 1; }
    label="environment variable $what"
  else
    got=$(kubectl exec -n "$ns" "$pod" -c mailer -- sh -c "cat '$what' && printf '|'" 2>/dev/null) || { echo "pod $pod has no file $what"; exit 1; }
    label="file $what"
  fi
  if [[ $got != "$want|" ]]; then
    shown=${got%|}
    [[ $shown == *$'\n' ]] && shown="${shown%$'\n'}\\n (with a trailing newline)"
    echo "pod $pod sees $label as \"$shown\", expected \"$want\""
    exit 1
  fi
done
echo "$(wc -w <<<"$pods" | tr -d ' ') mailer pod(s) see $label as \"$want\""
