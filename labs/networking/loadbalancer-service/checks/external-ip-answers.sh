#!/usr/bin/env bash
# Passes when Service storefront/web-public has an external (load-balancer) IP and an HTTP request
# to that IP on port 80, sent from pod visitor, is answered. The request leaves from inside the
# cluster's network, as the address pool lives on kind's network and nowhere else.
set -uo pipefail
ns=storefront
ip=""
# Only a LoadBalancer Service gets an external IP: anything else fails at once instead of after the wait.
type=$(kubectl get service -n "$ns" web-public -o jsonpath='{.spec.type}' 2>/dev/null)
[[ $type == LoadBalancer ]] || { echo "Service web-public is ${type:-missing}, not of type LoadBalancer"; exit 1; }
for _ in $(seq 1 30); do
  ip=$(kubectl get service -n "$ns" web-public -o jsonpath='{.status.loadBalancer.ingress[0].ip}' 2>/dev/null)
  [[ -n $ip ]] && break
  sleep 2
done
[[ -n $ip ]] || { echo "Service web-public has no external IP (is it of type LoadBalancer?)"; exit 1; }
for _ in $(seq 1 10); do
  if kubectl exec -n "$ns" visitor -- wget -q -T 2 -O /dev/null "http://$ip/" >/dev/null 2>&1; then
    echo "http://$ip/ (the external IP of web-public) answered"
    exit 0
  fi
  sleep 1
done
echo "Service web-public has external IP $ip, but http://$ip/ does not answer"
exit 1
