#!/usr/bin/env bash
# The reference solution, as a learner would type it: give metrics-server back --kubelet-insecure-tls
# (kind's kubelets serve self-signed certificates), point its Service at the container's port again,
# and wait for the Deployment and the aggregated API.
set -euo pipefail
ns=(-n kube-system)
kubectl "${ns[@]}" patch deployment metrics-server --type json -p '[{"op":"add","path":"/spec/template/spec/containers/0/args/-","value":"--kubelet-insecure-tls"}]'
kubectl "${ns[@]}" patch service metrics-server --type json -p '[{"op":"replace","path":"/spec/ports/0/targetPort","value":"https"}]'
kubectl "${ns[@]}" rollout status deployment metrics-server --timeout=180s
kubectl wait apiservice v1beta1.metrics.k8s.io --for=condition=Available --timeout=120s
# Pod metrics arrive with the next scrape (every 15 s) and the autoscaler reads them on its next
# sync: wait for both, as a learner would run kubectl top and kubectl get hpa again.
for _ in $(seq 1 45); do
  active=$(kubectl -n {{ns}} get hpa api -o jsonpath='{.status.conditions[?(@.type=="ScalingActive")].status}')
  if [ "$active" = True ] && [ "$(kubectl top pods -n {{ns}} -l app=api --no-headers 2>/dev/null | grep -c '^api-')" -ge 2 ]; then exit 0; fi
  sleep 2
done
echo "kubectl top or HorizontalPodAutoscaler api still has no metrics" >&2
exit 1
