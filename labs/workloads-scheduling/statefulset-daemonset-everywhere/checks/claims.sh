#!/usr/bin/env bash
# Usage: claims.sh
# Passes when each of kv-0, kv-1 and kv-2 runs with a claim of its own: pod kv-N mounts the
# PersistentVolumeClaim data-kv-N (the name a claim template "data" gives it) at
# /usr/share/nginx/html, the claim is Bound, and no two pods share a volume.
set -uo pipefail
ns=inventory mount=/usr/share/nginx/html
fail() { echo "$*"; exit 1; }
seen=
for i in 0 1 2; do
  pod=kv-$i claim=data-kv-$i
  phase=$(kubectl get pod -n "$ns" "$pod" -o jsonpath='{.status.phase}' 2>/dev/null)
  [[ $phase == Running ]] || fail "pod $pod is ${phase:-missing}, not Running"
  # The pod's volume that uses the claim, and where container kv mounts that volume.
  vol=$(kubectl get pod -n "$ns" "$pod" -o jsonpath="{.spec.volumes[?(@.persistentVolumeClaim.claimName==\"$claim\")].name}" 2>/dev/null)
  [[ -n $vol ]] || fail "pod $pod uses no claim $claim (volumes: $(kubectl get pod -n "$ns" "$pod" -o jsonpath='{range .spec.volumes[*]}{.name}{" "}{end}'))"
  at=$(kubectl get pod -n "$ns" "$pod" -o jsonpath="{.spec.containers[0].volumeMounts[?(@.name==\"$vol\")].mountPath}" 2>/dev/null)
  [[ $at == "$mount" ]] || fail "pod $pod mounts claim $claim at ${at:-nowhere}, not at $mount"
  IFS='|' read -r cphase pv < <(kubectl get pvc -n "$ns" "$claim" -o jsonpath='{.status.phase}|{.spec.volumeName}' 2>/dev/null; echo)
  [[ $cphase == Bound ]] || fail "claim $claim is ${cphase:-missing}, not Bound"
  [[ " $seen " != *" $pv "* ]] || fail "claim $claim is bound to volume $pv, which another kv pod uses too"
  seen="$seen $pv"
done
echo "kv-0, kv-1 and kv-2 each mount their own Bound claim (data-kv-0…2) at $mount"
