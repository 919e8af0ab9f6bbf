#!/usr/bin/env bash
# Usage: probe-test.sh readiness|liveness
# Tests the probes of Deployment beacon's pod template by behaviour, on a copy: a pod made from the
# same template but with labels of its own (no Service, ReplicaSet or PodDisruptionBudget counts
# it), so the learner's pods are never touched. Then:
#   readiness: deletes /www/ready in the copy; it must turn unready within 10 s without being
#              restarted, and turn Ready again once /www/ready is back.
#   liveness:  deletes /www/healthz in the copy; the kubelet must restart its container within 15 s.
# What can never pass (no probe, a probe too slow to meet the deadline, a probe that cannot see the
# failure, a probe that fails on a healthy container) fails at once, without making a pod.
set -uo pipefail
ns=lighthouse mode=$1
probe=${mode}Probe
tpl='{.spec.template.spec.containers[0]'
get() { kubectl get deployment -n "$ns" beacon -o jsonpath="$tpl$1}" 2>/dev/null; }
[[ -n $(kubectl get deployment -n "$ns" beacon -o name 2>/dev/null) ]] || { echo "Deployment beacon does not exist in namespace $ns"; exit 1; }
[[ -n $(get ".$probe") ]] || { echo "the beacon container has no $mode probe"; exit 1; }
period=$(get ".$probe.periodSeconds") threshold=$(get ".$probe.failureThreshold")
period=${period:-10} threshold=${threshold:-3}
if [[ $mode == readiness ]]; then budget=10 file=/www/ready; else budget=15 file=/www/healthz; fi
if (( period * threshold > budget )); then
  echo "the $mode probe fails only after $threshold failures ${period} s apart ($((period * threshold)) s), longer than the ${budget} s allowed"
  exit 1
fi
path=$(get ".$probe.httpGet.path") port=$(get ".$probe.httpGet.port") cmd=$(get ".$probe.exec.command")
if [[ -z $port && -z $cmd ]]; then
  echo "the $mode probe neither fetches a URL nor runs a command, so it cannot notice $file going away while the port stays open"
  exit 1
fi
if [[ -n $port && ! $port =~ ^[0-9]+$ ]]; then
  port=$(kubectl get deployment -n "$ns" beacon -o jsonpath="$tpl.ports[?(@.name==\"$port\")].containerPort}" 2>/dev/null)
fi
# '|'-separated: a count the status leaves out (no updated pods yet) must not shift the others.
IFS='|' read -r gen obs want updated ready < <(kubectl get deployment -n "$ns" beacon -o jsonpath='{.metadata.generation}|{.status.observedGeneration}|{.spec.replicas}|{.status.updatedReplicas}|{.status.readyReplicas}' 2>/dev/null; echo)
if [[ ${obs:-0} -lt $gen || ${updated:-0} -ne $want || ${ready:-0} -ne $want ]]; then
  echo "Deployment beacon has not finished rolling out (${ready:-0}/$want ready): its pods do not pass their probes yet"
  exit 1
fi

name="beacon-${mode}-test-$RANDOM"
cleanup() { kubectl delete pod -n "$ns" "$name" --grace-period=0 --force --wait=false >/dev/null 2>&1; }
trap cleanup EXIT
spec=$(kubectl get deployment -n "$ns" beacon -o jsonpath='{.spec.template.spec}')
kubectl create -f - >/dev/null <<JSON || { echo "could not create a test pod from beacon's template"; exit 1; }
{"apiVersion":"v1","kind":"Pod","metadata":{"name":"$name","namespace":"$ns","labels":{"kubedrill.io/probe-test":"$mode"}},"spec":$spec}
JSON
field() { kubectl get pod -n "$ns" "$name" -o jsonpath="$1" 2>/dev/null; }
isReady() { [[ $(field '{.status.conditions[?(@.type=="Ready")].status}') == True ]]; }
restarts() { local n; n=$(field '{.status.containerStatuses[0].restartCount}'); echo "${n:-0}"; }
waitFor() { # seconds, condition command…
  local until=$((SECONDS + $1)); shift
  while (( SECONDS < until )); do "$@" && return 0; sleep 1; done
  "$@"
}
waitFor 25 isReady || { echo "a pod made from beacon's template did not become Ready within 25 s"; exit 1; }
if [[ -n $port ]]; then
  kubectl exec -n "$ns" "$name" -c beacon -- wget -q -O /dev/null -T 2 "http://127.0.0.1:${port}${path:-/}" >/dev/null 2>&1 \
    || { echo "the $mode probe's request http://<pod>:${port}${path:-/} fails on a healthy beacon container"; exit 1; }
fi
kubectl exec -n "$ns" "$name" -c beacon -- rm -f "$file" >/dev/null 2>&1 || { echo "could not delete $file in the test pod"; exit 1; }
start=$SECONDS
if [[ $mode == readiness ]]; then
  notReady() { ! isReady; }
  waitFor $((budget + 5)) notReady || { echo "with /www/ready gone, the test pod was still Ready after $((budget + 5)) s: the readiness probe does not check it"; exit 1; }
  took=$((SECONDS - start))
  (( $(restarts) == 0 )) || { echo "the test pod's container was restarted when only /www/ready failed: a readiness failure must take a pod out of service, not restart it"; exit 1; }
  kubectl exec -n "$ns" "$name" -c beacon -- sh -c 'echo ok > /www/ready' >/dev/null 2>&1
  waitFor 15 isReady || { echo "the test pod did not become Ready again within 15 s after /www/ready was back"; exit 1; }
  echo "with /www/ready gone a pod left service after ~${took} s without a restart, and came back once it returned"
else
  restarted() { (( $(restarts) >= 1 )); }
  waitFor $((budget + 5)) restarted || { echo "with /www/healthz gone, the test pod's container was not restarted within $((budget + 5)) s"; exit 1; }
  echo "with /www/healthz gone the kubelet restarted the container after ~$((SECONDS - start)) s"
fi
