#!/usr/bin/env bash
# Passes once the autoscaler checkout reads a current CPU utilization for its pods and keeps at least
# its minimum of replicas Ready. Utilization is usage divided by the containers' CPU requests, so it
# stays unknown while the pods request no CPU (or no metrics API answers). The autoscaler acts every
# 15 s and metrics-server scrapes every 15 s, so a fresh change needs up to about a minute.
set -uo pipefail
ns=checkout
kubectl get hpa -n "$ns" checkout >/dev/null 2>&1 || { echo "there is no HorizontalPodAutoscaler checkout in namespace $ns"; exit 1; }
# What can never measure CPU utilization fails at once instead of after the wait below.
target=$(kubectl get hpa -n "$ns" checkout -o jsonpath='{.spec.scaleTargetRef.kind}/{.spec.scaleTargetRef.name}' 2>/dev/null)
[[ $target == Deployment/checkout ]] || { echo "the autoscaler scales $target, not Deployment/checkout"; exit 1; }
metric=$(kubectl get hpa -n "$ns" checkout -o jsonpath='{.spec.metrics[0].resource.name}' 2>/dev/null)
[[ $metric == cpu ]] || { echo "the autoscaler's first metric is ${metric:-not a resource metric}, not cpu"; exit 1; }
requests=$(kubectl get deployment -n "$ns" checkout -o jsonpath='{range .spec.template.spec.containers[*]}{.name}={.resources.requests.cpu}{" "}{end}' 2>/dev/null)
for c in $requests; do
  [[ $c == *=?* ]] || { echo "container ${c%=} of Deployment checkout requests no CPU, so its utilization cannot be computed"; exit 1; }
done
for _ in $(seq 1 60); do
  util=$(kubectl get hpa -n "$ns" checkout -o jsonpath='{.status.currentMetrics[0].resource.current.averageUtilization}' 2>/dev/null)
  ready=$(kubectl get deployment -n "$ns" checkout -o jsonpath='{.status.readyReplicas}' 2>/dev/null)
  min=$(kubectl get hpa -n "$ns" checkout -o jsonpath='{.spec.minReplicas}' 2>/dev/null)
  if [[ -n $util && ${ready:-0} -ge ${min:-1} ]]; then
    echo "the autoscaler measures ${util}% CPU utilization across ${ready} Ready pods"
    exit 0
  fi
  sleep 2
done
why=$(kubectl get hpa -n "$ns" checkout -o jsonpath='{range .status.conditions[*]}{.type}={.status} {.reason}: {.message}{"\n"}{end}' 2>/dev/null | grep -E '^(ScalingActive|AbleToScale)=False' | sed -n 1p)
if [[ -z $util ]]; then
  echo "the autoscaler has no current CPU utilization for Deployment checkout${why:+ ($why)}"
else
  echo "Deployment checkout has ${ready:-0} Ready pods, fewer than the autoscaler's minimum ${min}"
fi
exit 1
