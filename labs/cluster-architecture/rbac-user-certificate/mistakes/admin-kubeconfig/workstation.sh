#!/usr/bin/env bash
# As the solution, but jane.kubeconfig is the learner's own (admin) kubeconfig, copied.
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
cp "$HOME/.kube/config" jane.kubeconfig
