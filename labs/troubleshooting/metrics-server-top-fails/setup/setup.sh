#!/usr/bin/env bash
# Breaks metrics-server twice, and is safe to run again (labs:verify does, after scripted mistakes):
# its Service sends traffic to port 4443 (the port older metrics-server releases listened on) instead
# of the container's port https (10250), and its Deployment loses --kubelet-insecure-tls, so it can
# no longer verify the kubelets' self-signed serving certificates, never scrapes and never turns Ready.
# The Deployment's rolling update would keep the old, working pod until the new one is Ready (never):
# every ReplicaSet but the current one is deleted, so no working pod is left.
set -euo pipefail
ns=(-n kube-system)
ports=$(kubectl "${ns[@]}" get service metrics-server -o jsonpath='{.spec.ports[0].name}')
[ "$ports" = https ] || { echo "Service metrics-server has no port https first" >&2; exit 1; }
kubectl "${ns[@]}" patch service metrics-server --type json -p '[{"op":"replace","path":"/spec/ports/0/port","value":443},{"op":"replace","path":"/spec/ports/0/targetPort","value":4443}]' >/dev/null
args=$(kubectl "${ns[@]}" get deployment metrics-server -o jsonpath='{range .spec.template.spec.containers[0].args[*]}{@}{"\n"}{end}')
i=0
while IFS= read -r arg; do
  if [ "$arg" = --kubelet-insecure-tls ]; then
    kubectl "${ns[@]}" patch deployment metrics-server --type json -p "[{\"op\":\"remove\",\"path\":\"/spec/template/spec/containers/0/args/$i\"}]" >/dev/null
    break
  fi
  i=$((i + 1))
done <<<"$args"
# Wait for the Deployment controller to record the current ReplicaSet, then delete the older ones.
for _ in $(seq 1 30); do
  gen=$(kubectl "${ns[@]}" get deployment metrics-server -o jsonpath='{.metadata.generation} {.status.observedGeneration}')
  [ "${gen% *}" = "${gen#* }" ] && break
  sleep 1
done
rev=$(kubectl "${ns[@]}" get deployment metrics-server -o jsonpath='{.metadata.annotations.deployment\.kubernetes\.io/revision}')
kubectl "${ns[@]}" get replicasets -l k8s-app=metrics-server -o jsonpath='{range .items[*]}{.metadata.name} {.metadata.annotations.deployment\.kubernetes\.io/revision}{"\n"}{end}' \
  | while read -r name r; do [ "$r" = "$rev" ] || kubectl "${ns[@]}" delete replicaset "$name" --wait=false >/dev/null; done
# kubectl top fails from the moment the aggregator finds the API unavailable.
for _ in $(seq 1 90); do
  available=$(kubectl get apiservice v1beta1.metrics.k8s.io -o jsonpath='{.status.conditions[?(@.type=="Available")].status}')
  [ "$available" != True ] && break
  sleep 2
done
[ "$available" != True ] || { echo "APIService v1beta1.metrics.k8s.io is still Available" >&2; exit 1; }
# The autoscaler is made only now, so that it has never had a metric (a manifest would be applied
# before the breakage, and the autoscaler could report an old success for a while).
kubectl apply -f - >/dev/null <<'YAML'
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: api
  namespace: {{ns}}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: api
  minReplicas: 2
  maxReplicas: 4
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: 70
YAML
