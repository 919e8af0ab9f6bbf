#!/usr/bin/env bash
# As the learner, in the workstation: a key and a CSR for CN=jane, O=developers; the cluster signs
# it once approved; a kubeconfig that authenticates with the issued certificate.
set -euo pipefail
d=/opt/course/9
mkdir -p "$d"
cd "$d"
openssl genrsa -out jane.key 2048 2>/dev/null
openssl req -new -key jane.key -subj "/CN=jane/O=developers" -out jane.csr
kubectl apply -f - <<YAML
apiVersion: certificates.k8s.io/v1
kind: CertificateSigningRequest
metadata:
  name: jane
spec:
  request: $(base64 -w0 jane.csr)
  signerName: kubernetes.io/kube-apiserver-client
  usages: [client auth]
YAML
kubectl certificate approve jane
cert=""
for _ in $(seq 1 60); do
  cert=$(kubectl get csr jane -o jsonpath='{.status.certificate}')
  [ -n "$cert" ] && break
  sleep 1
done
[ -n "$cert" ] || { echo "the CSR was not signed" >&2; exit 1; }
base64 -d <<<"$cert" > jane.crt
server=$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')
kubectl config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' | base64 -d > ca.crt
k=(kubectl --kubeconfig jane.kubeconfig config)
"${k[@]}" set-cluster lab --server "$server" --certificate-authority ca.crt --embed-certs
"${k[@]}" set-credentials jane --client-certificate jane.crt --client-key jane.key --embed-certs
"${k[@]}" set-context jane --cluster lab --user jane --namespace dev
"${k[@]}" use-context jane
