#!/usr/bin/env bash
# Sourced by the lab's checks: finds the one pod of a Deployment that is rolled out now.
ns={{ns}}

# running_pod DEPLOYMENT: prints the name of a Running, not terminating pod of the Deployment, or
# prints why there is none and returns 1. Fails at once while a rollout is unfinished, because
# waiting here would only make every Check of a wrong answer slow.
running_pod() {
  local deploy=$1 gen obs want updated ready total pods
  IFS='|' read -r gen obs want updated ready total < <(kubectl get deployment -n "$ns" "$deploy" -o jsonpath='{.metadata.generation}|{.status.observedGeneration}|{.spec.replicas}|{.status.updatedReplicas}|{.status.readyReplicas}|{.status.replicas}' 2>/dev/null; echo)
  [[ -n ${gen:-} ]] || { echo "Deployment $deploy does not exist in namespace $ns"; return 1; }
  if [[ ${obs:-0} -lt $gen || ${updated:-0} -ne $want || ${ready:-0} -ne $want || ${total:-0} -ne $want ]]; then
    echo "Deployment $deploy has not finished rolling out (${ready:-0}/$want ready, ${updated:-0} updated, ${total:-0} pods in all): see kubectl -n $ns describe pods -l app=$deploy"
    return 1
  fi
  pods=$(kubectl get pods -n "$ns" -l "app=$deploy" -o jsonpath='{range .items[?(@.status.phase=="Running")]}{.metadata.name} {.metadata.deletionTimestamp}{"\n"}{end}' 2>/dev/null | awk 'NF == 1 { print $1; exit }')
  [[ -n $pods ]] || { echo "no running pod of Deployment $deploy"; return 1; }
  echo "$pods"
}

# mounts_under POD CONTAINER DIR: the mount points at DIR or below it, as the container sees them.
mounts_under() {
  kubectl exec -n "$ns" "$1" -c "$2" -- awk -v d="$3" '$2 == d || index($2, d "/") == 1 { print $2, $3 }' /proc/mounts 2>/dev/null
}
