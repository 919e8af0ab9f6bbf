#!/usr/bin/env bash
# Writes the ops kubeconfig the learner must repair: the cluster CA, a token of ServiceAccount
# kube-system/{{user}}, and as server the API server of ONE control-plane node (number {{pinned}}
# in name order, controlplane{{pinned}}) instead of the load balancer in front of all three. It works
# today; it stops working the moment that one API server does.
set -euo pipefail
K="kubectl --kubeconfig /etc/kubernetes/admin.conf"
node=$($K get nodes -l node-role.kubernetes.io/control-plane -o name | sort | sed -n '{{pinned}}p')
[ -n "$node" ] || { echo "there is no control-plane node number {{pinned}}" >&2; exit 1; }
ip=$($K get "$node" -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}')
[ -n "$ip" ] || { echo "$node has no InternalIP" >&2; exit 1; }
token=$($K -n kube-system create token {{user}} --duration 48h)
f=/root/{{file}}
rm -f "$f"
kubectl config --kubeconfig "$f" set-cluster kubernetes --server "https://$ip:6443" \
  --certificate-authority /etc/kubernetes/pki/ca.crt --embed-certs=true >/dev/null
kubectl config --kubeconfig "$f" set-credentials {{user}} --token "$token" >/dev/null
kubectl config --kubeconfig "$f" set-context {{user}}@kubernetes --cluster kubernetes --user {{user}} >/dev/null
kubectl config --kubeconfig "$f" use-context {{user}}@kubernetes >/dev/null
chmod 600 "$f"
# The file must work as handed over, or the lab would start from a different problem.
kubectl --kubeconfig "$f" --request-timeout 10s auth whoami >/dev/null
