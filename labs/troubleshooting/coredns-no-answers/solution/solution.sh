#!/usr/bin/env bash
# The reference solution, as a learner would type it: fix the Corefile's plugin name, point both
# DNS ports of kube-dns back at 53, then restart CoreDNS and wait for it.
set -euo pipefail
ns=(-n kube-system)
kubectl "${ns[@]}" get configmap coredns -o yaml | sed -E 's/^([[:space:]]*)kubernetis([[:space:]])/\1kubernetes\2/' | kubectl "${ns[@]}" replace -f -
names=$(kubectl "${ns[@]}" get service kube-dns -o jsonpath='{range .spec.ports[*]}{.name}{" "}{end}')
ops=() i=0
for name in $names; do
  case $name in dns | dns-tcp) ops+=("{\"op\":\"replace\",\"path\":\"/spec/ports/$i/targetPort\",\"value\":53}") ;; esac
  i=$((i + 1))
done
kubectl "${ns[@]}" patch service kube-dns --type json -p "[$(IFS=,; echo "${ops[*]}")]"
kubectl "${ns[@]}" rollout restart deployment coredns
kubectl "${ns[@]}" rollout status deployment coredns --timeout=180s
