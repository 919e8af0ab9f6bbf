#!/usr/bin/env bash
set -euo pipefail
names=$(kubectl -n kube-system get service kube-dns -o jsonpath='{range .spec.ports[*]}{.name}{" "}{end}')
ops=() i=0
for name in $names; do
  case $name in dns | dns-tcp) ops+=("{\"op\":\"replace\",\"path\":\"/spec/ports/$i/targetPort\",\"value\":53}") ;; esac
  i=$((i + 1))
done
kubectl -n kube-system patch service kube-dns --type json -p "[$(IFS=,; echo "${ops[*]}")]"
kubectl -n kube-system rollout restart deployment coredns
