#!/usr/bin/env bash
# Breaks cluster DNS twice, and is safe to run again (labs:verify does, after scripted mistakes):
# the Corefile's kubernetes plugin is misspelt (CoreDNS then refuses to start), and both DNS ports
# of Service kube-dns send traffic to 5353, where nothing listens. The CoreDNS pods are replaced so
# that they read the broken Corefile now rather than keep the one they started with.
set -euo pipefail
ns=(-n kube-system)
corefile=$(kubectl "${ns[@]}" get configmap coredns -o jsonpath='{.data.Corefile}')
grep -Eq '^[[:space:]]*kubernet(e|i)s[[:space:]]' <<<"$corefile" || { echo "no kubernetes plugin in the Corefile" >&2; exit 1; }
broken=$(sed -E 's/^([[:space:]]*)kubernetes([[:space:]])/\1kubernetis\2/' <<<"$corefile")
kubectl "${ns[@]}" create configmap coredns --from-literal=Corefile="$broken" --dry-run=client -o yaml | kubectl "${ns[@]}" apply --server-side --force-conflicts --field-manager=kubedrill-setup -f -
names=$(kubectl "${ns[@]}" get service kube-dns -o jsonpath='{range .spec.ports[*]}{.name}{" "}{end}')
ops=() i=0
for name in $names; do
  case $name in dns | dns-tcp) ops+=("{\"op\":\"replace\",\"path\":\"/spec/ports/$i/targetPort\",\"value\":5353}") ;; esac
  i=$((i + 1))
done
[ ${#ops[@]} -eq 2 ] || { echo "Service kube-dns has no ports dns and dns-tcp: $names" >&2; exit 1; }
kubectl "${ns[@]}" patch service kube-dns --type json -p "[$(IFS=,; echo "${ops[*]}")]"
kubectl "${ns[@]}" delete pod -l k8s-app=kube-dns --grace-period=1 --wait=true --timeout=60s
