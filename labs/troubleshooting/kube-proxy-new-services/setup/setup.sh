#!/usr/bin/env bash
# Breaks kube-proxy twice, and is safe to run again (labs:verify does, after scripted mistakes):
# the DaemonSet's nodeSelector asks for an OS label no node has (kubernetes.io/os=linx), so it runs
# no pod at all; and the API server address in ConfigMap kube-proxy's kubeconfig.conf names port
# 6434 instead of 6443, so a kube-proxy that starts again cannot reach the API server.
# The rules the old kube-proxy pods wrote stay on the nodes (kube-proxy leaves them when it stops),
# so Services that existed before (kubernetes, kube-dns) keep working; a Service made now is
# programmed nowhere. Only then is Service catalog created: here rather than in a manifest, so that
# setup's readiness does not wait for kube-proxy to program it.
set -euo pipefail
ns=(-n kube-system)
kubeconfig=$(kubectl "${ns[@]}" get configmap kube-proxy -o jsonpath='{.data.kubeconfig\.conf}')
grep -Eq '^[[:space:]]*server: https://[^:/]+:[0-9]+[[:space:]]*$' <<<"$kubeconfig" || { echo "no server line in kube-proxy's kubeconfig.conf" >&2; exit 1; }
broken=$(sed -E 's#^([[:space:]]*server: https://[^:/]+):[0-9]+#\1:6434#' <<<"$kubeconfig")
kubectl "${ns[@]}" create configmap kube-proxy --from-literal=kubeconfig.conf="$broken" --dry-run=client -o yaml \
  | kubectl "${ns[@]}" apply --server-side --force-conflicts --field-manager=kubedrill-setup -f - >/dev/null
kubectl "${ns[@]}" patch daemonset kube-proxy --type merge -p '{"spec":{"template":{"spec":{"nodeSelector":{"kubernetes.io/os":"linx"}}}}}' >/dev/null
# The DaemonSet controller deletes every kube-proxy pod once no node matches: wait until they are gone.
for _ in $(seq 1 90); do
  [ -z "$(kubectl "${ns[@]}" get pods -l k8s-app=kube-proxy -o name)" ] && break
  sleep 2
done
[ -z "$(kubectl "${ns[@]}" get pods -l k8s-app=kube-proxy -o name)" ] || { echo "kube-proxy pods are still there" >&2; exit 1; }
kubectl apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Service
metadata:
  name: catalog
  namespace: {{ns}}
spec:
  selector:
    app: catalog
  ports:
    - name: http
      port: 80
      targetPort: http
YAML
