#!/usr/bin/env bash
# Usage: admission.sh NS defaults requests|limits | over-max cpu|memory | at-max
#                     | quota-pods | quota-room requests.memory|limits.memory | notes-defaults
# Grades the namespace's LimitRange and ResourceQuota by what the API server admits, not by how
# they are written: every test pod is created with --dry-run=server, so it goes through all the
# admission plugins (the LimitRange fills in its defaults and refuses what is over its max, the
# quota refuses what would exceed it) and is never stored. 0.5Gi, 512Mi and 536870912 all pass.
set -uo pipefail
ns=$1 mode=$2 what=${3:-}
quota=team-budget
# The values the task asks for.
declare -A want=([requests.cpu]=100m [requests.memory]=64Mi [limits.cpu]=200m [limits.memory]=128Mi [max.cpu]=500m [max.memory]=256Mi)

fail() { echo "$*"; exit 1; }

# A Kubernetes quantity (100m, 0.5, 64Mi, 1G, 1e3) in thousandths, so CPU and bytes compare as whole numbers.
milli() {
  awk -v q="$1" 'BEGIN {
    if (q == "") { print "none"; exit }
    if (!match(q, /^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?/)) { print "bad"; exit }
    n = substr(q, 1, RLENGTH) + 0; s = substr(q, RLENGTH + 1)
    f["n"] = 1e-9; f["u"] = 1e-6; f["m"] = 1e-3; f[""] = 1; f["k"] = 1e3; f["M"] = 1e6; f["G"] = 1e9; f["T"] = 1e12
    f["Ki"] = 2^10; f["Mi"] = 2^20; f["Gi"] = 2^30; f["Ti"] = 2^40
    if (!(s in f)) { print "bad"; exit }
    printf "%.0f\n", n * f[s] * 1000
  }'
}
same() { [[ $(milli "$1") == "$(milli "$2")" ]]; }
bytes() { local m; m=$(milli "$1"); [[ $m =~ ^[0-9]+$ ]] && echo $((m / 1000)); }

# One container of a test pod; $2 is its resources object.
container() { printf '{"name":"%s","image":"docker.io/library/busybox:1.37.0","command":["sleep","1"],"resources":%s}' "$1" "$2"; }
# Creates a test pod from a JSON list of containers with --dry-run=server. Admitted: prints the pod as
# the API server would have stored it (through the JSONPath $2) and returns 0. Refused: prints why.
try_pod() {
  local out err path=${2:-} pod
  [[ -n $path ]] || path='{.metadata.namespace}'
  pod='{"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"admission-test-","namespace":"'$ns'","labels":{"kubedrill.io/admission-test":"true"}},"spec":{"restartPolicy":"Never","containers":['$1']}}'
  # stderr apart: an admitted pod's JSONPath answer must not carry kubectl's warnings (a PodSecurity
  # "Warning: would violate …" is printed even for a pod that is admitted).
  err=$(mktemp)
  if out=$(kubectl create --dry-run=server -o jsonpath="$path" -f - <<<"$pod" 2>"$err"); then
    rm -f "$err"
    printf '%s' "$out"
    return 0
  fi
  out=$(<"$err")
  rm -f "$err"
  # "Error from server (Forbidden): error when creating "STDIN": pods "admission-test-" is forbidden: <why>"
  printf '%s' "${out##*is forbidden: }"
  return 1
}

[[ -n $(kubectl get namespace "$ns" -o name 2>/dev/null) ]] || fail "namespace $ns does not exist"

case $mode in
defaults)
  # A container that sets nothing: the LimitRange's defaultRequest and default fill it in.
  got=$(try_pod "$(container app '{}')" "{.spec.containers[0].resources.$what.cpu}|{.spec.containers[0].resources.$what.memory}") \
    || fail "a pod whose container sets no resources is refused: $got"
  IFS='|' read -r cpu mem <<<"$got"
  shown="cpu=${cpu:-(none)} memory=${mem:-(none)}"
  if same "$cpu" "${want[$what.cpu]}" && same "$mem" "${want[$what.memory]}"; then
    echo "a container that sets nothing gets $what $shown"
  else
    fail "a container that sets nothing gets $what $shown, expected cpu=${want[$what.cpu]} memory=${want[$what.memory]}"
  fi
  ;;
over-max)
  # 1m or 1Mi over the maximum, with requests well inside it.
  if [[ $what == cpu ]]; then limits='{"cpu":"501m","memory":"128Mi"}' over=501m; else limits='{"cpu":"200m","memory":"257Mi"}' over=257Mi; fi
  if got=$(try_pod "$(container app "{\"requests\":{\"cpu\":\"100m\",\"memory\":\"64Mi\"},\"limits\":$limits}")"); then
    fail "a container with a $what limit of $over is admitted: nothing caps a container's $what limit at ${want[max.$what]}"
  fi
  [[ $got == *"maximum $what usage per Container"* ]] \
    || fail "a container with a $what limit of $over is refused, but not by a per-container maximum: $got"
  echo "a container with a $what limit of $over is refused: $got"
  ;;
at-max)
  got=$(try_pod "$(container app '{"requests":{"cpu":"100m","memory":"64Mi"},"limits":{"cpu":"500m","memory":"256Mi"}}')") \
    || fail "a container with limits of exactly cpu=500m memory=256Mi is refused: $got"
  echo "a container with limits of exactly cpu=500m memory=256Mi is admitted"
  ;;
quota-pods)
  [[ -n $(kubectl get resourcequota -n "$ns" "$quota" -o name 2>/dev/null) ]] || fail "there is no ResourceQuota $quota in namespace $ns"
  IFS='|' read -r hard hardCount < <(kubectl get resourcequota -n "$ns" "$quota" -o jsonpath="{.status.hard.pods}|{.status.hard['count/pods']}"; echo)
  hard=${hard:-$hardCount}
  [[ -n $hard ]] || fail "ResourceQuota $quota does not limit the number of pods (or the quota controller has not taken it in yet)"
  [[ $hard == 5 ]] || fail "ResourceQuota $quota allows $hard pods, not 5"
  # The quota controller's count against the pods that are there (pods leaving may take a moment).
  for _ in 1 2 3 4 5; do
    IFS='|' read -r used usedCount < <(kubectl get resourcequota -n "$ns" "$quota" -o jsonpath="{.status.used.pods}|{.status.used['count/pods']}"; echo)
    used=${used:-$usedCount}
    live=$(kubectl get pods -n "$ns" --field-selector=status.phase!=Succeeded,status.phase!=Failed -o name 2>/dev/null | wc -l)
    [[ $used == "$live" ]] && { echo "ResourceQuota $quota allows 5 pods and counts the $live in $ns"; exit 0; }
    sleep 1
  done
  fail "ResourceQuota $quota counts ${used:-no} pods, but $live pods run in $ns"
  ;;
quota-room)
  # What is left of the budget is used and then 1Mi more: the first pod must be admitted, the second
  # refused by this quota. Split into containers of at most 128Mi, well under the per-container max.
  case $what in requests.memory) limit=512Mi alias=memory ;; limits.memory) limit=1Gi alias= ;; *) fail "unknown resource $what" ;; esac
  [[ -n $(kubectl get resourcequota -n "$ns" "$quota" -o name 2>/dev/null) ]] || fail "there is no ResourceQuota $quota in namespace $ns"
  # kubectl's JSONPath reads a key with a dot only when the dot is escaped: requests\.memory.
  key=${what//./\\.}
  IFS='|' read -r hard used hardAlias usedAlias < <(kubectl get resourcequota -n "$ns" "$quota" -o jsonpath="{.status.hard.$key}|{.status.used.$key}|{.status.hard['${alias:-none}']}|{.status.used['${alias:-none}']}"; echo)
  # A quota on "memory" limits the same thing as one on "requests.memory".
  [[ -z $hard && -n $hardAlias ]] && hard=$hardAlias used=$usedAlias
  [[ -n $hard ]] || fail "ResourceQuota $quota sets no limit on $what"
  [[ -n $used ]] || fail "the quota controller has not counted $what in $quota yet"
  hardB=$(bytes "$limit") usedB=$(bytes "$used")
  [[ -n $usedB ]] || fail "cannot read $quota's used $what ($used)"
  room=$((hardB - usedB)) chunk=$((128 * 1048576)) mi=1048576
  ((room > 0)) || fail "$quota reports $used of $what used, nothing left of a $limit budget: the budget is not $limit"
  pod() { # bytes in all; prints the containers
    local left=$1 i=0 c r sep=
    while ((left > 0)); do
      c=$((left < chunk ? left : chunk)) left=$((left - c))
      if [[ $what == requests.memory ]]; then r=$c; else r=$((c < mi ? c : mi)); fi
      printf '%s%s' "$sep" "$(container "c$i" "{\"requests\":{\"cpu\":\"10m\",\"memory\":\"$r\"},\"limits\":{\"cpu\":\"10m\",\"memory\":\"$c\"}}")"
      sep=, i=$((i + 1))
    done
  }
  restMi=$(awk -v b="$room" 'BEGIN { printf "%g", b / 1048576 }')
  got=$(try_pod "$(pod "$room")") \
    || fail "a pod asking for the ${restMi}Mi of $what that should be left ($used used of $limit) is refused: $got"
  if got=$(try_pod "$(pod $((room + mi)))"); then
    fail "a pod asking for ${restMi}Mi + 1Mi of $what ($used used) is admitted: the namespace may have more than $limit of $what"
  fi
  [[ $got == *"exceeded quota: $quota"* && ( $got == *"$what="* || ( -n $alias && $got =~ [\ ,]$alias= ) ) ]] \
    || fail "a pod asking for 1Mi more than the rest of the $what budget is refused, but not by $quota's $what: $got"
  echo "with $used of $what used, ${restMi}Mi more is admitted and 1Mi beyond that refused by $quota: $limit in all"
  ;;
notes-defaults)
  pods=$(kubectl get pods -n "$ns" -l app=notes -o jsonpath='{range .items[?(@.status.phase=="Running")]}{.metadata.name} {.metadata.deletionTimestamp}{"\n"}{end}' 2>/dev/null | awk 'NF == 1 { print $1 }')
  [[ -n $pods ]] || fail "no running pod of Deployment notes in $ns"
  for pod in $pods; do
    IFS='|' read -r rc rm lc lm < <(kubectl get pod -n "$ns" "$pod" -o jsonpath='{.spec.containers[0].resources.requests.cpu}|{.spec.containers[0].resources.requests.memory}|{.spec.containers[0].resources.limits.cpu}|{.spec.containers[0].resources.limits.memory}'; echo)
    if ! same "$rc" "${want[requests.cpu]}" || ! same "$rm" "${want[requests.memory]}" || ! same "$lc" "${want[limits.cpu]}" || ! same "$lm" "${want[limits.memory]}"; then
      fail "running pod $pod has requests cpu=${rc:-(none)} memory=${rm:-(none)}, limits cpu=${lc:-(none)} memory=${lm:-(none)} — not the namespace defaults"
    fi
  done
  echo "$(wc -w <<<"$pods" | tr -d ' ') running notes pod(s) carry the namespace defaults"
  ;;
*) fail "unknown check $mode" ;;
esac
