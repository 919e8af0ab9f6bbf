#!/usr/bin/env bash
set -euo pipefail
kubectl -n kube-system get configmap coredns -o yaml | sed -E 's/^([[:space:]]*)kubernetis([[:space:]])/\1kubernetes\2/' | kubectl -n kube-system replace -f -
names=$(kubectl -n kube-system get service kube-dns -o jsonpath='{range .spec.ports[*]}{.name}{" "}{end}')
i=0
for name in $names; do
  if [ "$name" = dns ]; then kubectl -n kube-system patch service kube-dns --type json -p "[{\"op\":\"replace\",\"path\":\"/spec/ports/$i/targetPort\",\"value\":53}]"; fi
  i=$((i + 1))
done
kubectl -n kube-system rollout restart deployment coredns
kubectl -n kube-system rollout status deployment coredns --timeout=180s
