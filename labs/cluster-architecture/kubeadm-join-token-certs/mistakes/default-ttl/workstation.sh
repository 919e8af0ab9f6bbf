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
# kubeadm certs check-expiration prints e.g. "Dec 06, 2027 04:20 UTC" for apiserver; the same date
# is the notAfter of the certificate the API server serves.
server=$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')
end=$(openssl s_client -connect "${server#https://}" </dev/null 2>/dev/null | openssl x509 -noout -enddate | cut -d= -f2)
date -u -d "$end" +%F > /opt/course/kubeadm/apiserver-expiry.txt
