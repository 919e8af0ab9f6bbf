#!/usr/bin/env bash
# The learner copies what `kubeadm token create --print-join-command` printed on the node. The
# workstation's ssh runs no remote commands, so this writes the same line from the facts kubeadm
# prints it from: the control-plane endpoint in the kubeadm-config ConfigMap, the token created on
# the node, and the SHA-256 of the cluster CA's public key (SubjectPublicKeyInfo, DER).
set -euo pipefail
mkdir -p /opt/course/kubeadm
endpoint=$(kubectl -n kube-system get cm kubeadm-config -o jsonpath='{.data.ClusterConfiguration}' | sed -n 's/^controlPlaneEndpoint: *//p')
hash=$(kubectl -n default get cm kube-root-ca.crt -o jsonpath='{.data.ca\.crt}' | openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1)
echo "kubeadm join $endpoint --token {{tokid}}.{{toksecret}} --discovery-token-ca-cert-hash sha256:$hash" > /opt/course/kubeadm/join.txt
# The "ca" row of kubeadm certs check-expiration (ten years) instead of "apiserver".
kubectl -n default get cm kube-root-ca.crt -o jsonpath='{.data.ca\.crt}' | openssl x509 -noout -enddate | cut -d= -f2 | { read -r end; date -u -d "$end" +%F; } > /opt/course/kubeadm/apiserver-expiry.txt
