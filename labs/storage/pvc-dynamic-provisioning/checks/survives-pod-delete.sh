#!/usr/bin/env bash
# Passes when a file written to /data in the journal pod is still there in the pod that replaces it
# after the pod is deleted — what a PersistentVolume gives and an emptyDir does not.
set -uo pipefail
ns=journal
pod() { kubectl get pods -n "$ns" -l app=journal --field-selector=status.phase=Running -o jsonpath='{.items[0].metadata.name}' 2>/dev/null; }
# Fails at once when the Deployment is not available now (its claim unbound, its pods Pending):
# waiting here would only make every Check of a wrong answer slow.
kubectl rollout status -n "$ns" deployment/journal --timeout=10s >/dev/null 2>&1 || { echo "Deployment journal has not finished rolling out (are its pods Pending on an unbound claim?)"; exit 1; }
old=$(pod)
[[ -n $old ]] || { echo "no running pod of Deployment journal"; exit 1; }
token="kubedrill-$(date +%s)-$RANDOM"
kubectl exec -n "$ns" "$old" -- sh -c "echo $token > /data/.kubedrill-check" >/dev/null 2>&1 || { echo "could not write to /data in pod $old"; exit 1; }
kubectl delete pod -n "$ns" "$old" --wait=true --timeout=60s >/dev/null 2>&1
kubectl rollout status -n "$ns" deployment/journal --timeout=90s >/dev/null 2>&1
for _ in $(seq 1 45); do
  new=$(pod)
  if [[ -n $new && $new != "$old" ]] && kubectl wait -n "$ns" "pod/$new" --for=condition=Ready --timeout=30s >/dev/null 2>&1; then break; fi
  sleep 2
done
[[ -n ${new:-} && $new != "$old" ]] || { echo "no new journal pod became Ready after deleting $old"; exit 1; }
got=$(kubectl exec -n "$ns" "$new" -- cat /data/.kubedrill-check 2>/dev/null)
if [[ $got == "$token" ]]; then
  echo "a file written in $old was still in /data of its replacement $new"
else
  echo "a file written to /data in $old was gone in its replacement $new: /data does not outlive the pod"
  exit 1
fi
