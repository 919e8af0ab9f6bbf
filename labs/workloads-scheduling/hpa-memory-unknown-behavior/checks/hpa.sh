#!/usr/bin/env bash
# Usage: hpa.sh memory | metrics | bounds
# Grades the autoscaler invoicer by what it reports live, not by how it was written:
#   memory:  it reads a current memory utilization for the pods of Deployment invoicer (target 70 %)
#   metrics: it reads current CPU and memory utilization (targets 50 % and 70 %)
#   bounds:  it keeps 2 to 5 replicas, wants a count within them, and at least 2 pods are Ready
# Utilization is usage divided by the request, summed over every container of a pod: one container
# without a request and the metric stays <unknown>. metrics-server scrapes every 15 s and the
# autoscaler acts every 15 s, so a fresh rollout needs up to about a minute to show numbers. What
# can never work (no request, no such metric) fails at once instead of after that wait.
set -uo pipefail
ns=invoicing
hpa() { kubectl get hpa -n "$ns" invoicer -o jsonpath="$1" 2>/dev/null; }
kubectl get hpa -n "$ns" invoicer >/dev/null 2>&1 || { echo "there is no HorizontalPodAutoscaler invoicer in namespace $ns"; exit 1; }
target=$(hpa '{.spec.scaleTargetRef.kind}/{.spec.scaleTargetRef.name}')
[[ $target == Deployment/invoicer ]] || { echo "the autoscaler scales $target, not Deployment/invoicer"; exit 1; }

# needs RESOURCE PERCENT: fails now unless the autoscaler targets RESOURCE at PERCENT average
# utilization and every container of Deployment invoicer requests RESOURCE.
needs() {
  local want
  want=$(hpa "{.spec.metrics[?(@.resource.name==\"$1\")].resource.target.averageUtilization}")
  [[ -n $want ]] || { echo "the autoscaler has no $1 utilization target"; exit 1; }
  [[ $want == "$2" ]] || { echo "the autoscaler aims at $want % $1 utilization, not $2 %"; exit 1; }
  local c
  for c in $(kubectl get deployment -n "$ns" invoicer -o jsonpath="{range .spec.template.spec.containers[*]}{.name}={.resources.requests.$1}{\" \"}{end}" 2>/dev/null); do
    [[ $c == *=?* ]] || { echo "container ${c%=} of Deployment invoicer requests no $1, so the autoscaler cannot compute its $1 utilization (<unknown>)"; exit 1; }
  done
}
current() { hpa "{.status.currentMetrics[?(@.resource.name==\"$1\")].resource.current.averageUtilization}"; }
why() { hpa '{range .status.conditions[*]}{.type}={.status} {.reason}: {.message}{"\n"}{end}' | grep -E '^(ScalingActive|AbleToScale)=False' | sed -n 1p; }

case ${1:-} in
  memory)
    needs memory 70
    for _ in $(seq 1 60); do
      mem=$(current memory)
      [[ -n $mem ]] && { echo "the autoscaler measures ${mem} % memory utilization (target 70 %)"; exit 0; }
      sleep 2
    done
    w=$(why); echo "the autoscaler shows no current memory utilization yet${w:+ ($w)}"; exit 1
    ;;
  metrics)
    needs memory 70
    needs cpu 50
    for _ in $(seq 1 60); do
      mem=$(current memory) cpu=$(current cpu)
      [[ -n $mem && -n $cpu ]] && { echo "the autoscaler measures ${cpu} % CPU (target 50 %) and ${mem} % memory (target 70 %)"; exit 0; }
      sleep 2
    done
    w=$(why); echo "the autoscaler shows CPU ${cpu:-<unknown>} and memory ${mem:-<unknown>}${w:+ ($w)}"; exit 1
    ;;
  bounds)
    bounds=$(hpa '{.spec.minReplicas}-{.spec.maxReplicas}')
    [[ $bounds == 2-5 ]] || { echo "the autoscaler keeps ${bounds/-/ to } replicas, not 2 to 5"; exit 1; }
    for _ in $(seq 1 45); do
      desired=$(hpa '{.status.desiredReplicas}')
      ready=$(kubectl get deployment -n "$ns" invoicer -o jsonpath='{.status.readyReplicas}' 2>/dev/null)
      if [[ -n $desired ]] && ((desired >= 2 && desired <= 5 && ${ready:-0} >= 2)); then
        echo "the autoscaler wants $desired replicas (2 to 5) and Deployment invoicer has $ready Ready"
        exit 0
      fi
      sleep 2
    done
    echo "the autoscaler wants ${desired:-no count yet} and Deployment invoicer has ${ready:-0} Ready pods; expected 2 to 5, at least 2 Ready"
    exit 1
    ;;
  *) echo "usage: hpa.sh memory|metrics|bounds"; exit 2 ;;
esac
