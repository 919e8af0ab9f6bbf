#!/usr/bin/env bash
# Finds the bootstrap token whose description is {{desc}} and judges its lifetime. kubeadm stores
# each token as a Secret bootstrap-token-<id> of type bootstrap.kubernetes.io/token in kube-system;
# its expiration is an absolute time, so the TTL is expiration minus the Secret's creation time.
# Usage: token.sh exists | ttl
set -uo pipefail
mode=$1
t={{ttl}}
case $t in *h) want=$(( ${t%h} * 3600 )) ;; *m) want=$(( ${t%m} * 60 )) ;; *) echo "bad ttl $t"; exit 2 ;; esac
rows=$(kubectl -n kube-system get secrets --field-selector type=bootstrap.kubernetes.io/token \
  -o jsonpath='{range .items[*]}{.metadata.name} {.metadata.creationTimestamp} {.data.description} {.data.expiration}{"\n"}{end}') || { echo "cannot list bootstrap tokens"; exit 2; }
found=
while read -r name created desc exp; do
  [ -n "$name" ] || continue
  [ "$(printf '%s' "$desc" | base64 -d 2>/dev/null)" = "{{desc}}" ] || continue
  found=$name
  [ "$mode" = exists ] && { echo "bootstrap token ${name#bootstrap-token-} has description {{desc}}"; exit 0; }
  [ -n "$exp" ] || { echo "token ${name#bootstrap-token-} never expires (--ttl 0)"; continue; }
  ttl=$(( $(date -u -d "$(printf '%s' "$exp" | base64 -d)" +%s) - $(date -u -d "$created" +%s) ))
  if [ $((ttl - want)) -le 120 ] && [ $((want - ttl)) -le 120 ]; then echo "token ${name#bootstrap-token-} lives {{ttl}}"; exit 0; fi
  echo "token ${name#bootstrap-token-} lives $((ttl / 60)) minutes, not {{ttl}}"
done <<<"$rows"
[ -n "$found" ] && exit 1
echo "no bootstrap token has the description {{desc}}"
exit 1
