#!/usr/bin/env bash
# kubectl set image, then the arguments, then kubectl set env, with no pause in between: each step
# changes the pod template on its own, and the Deployment controller starts a rollout — and makes a
# revision — for each. Applied as setup's field manager, so taking the mistake off (setup applied
# again) removes the arguments too.
set -euo pipefail
step() { # image args-line release cause
  kubectl apply --server-side --force-conflicts --field-manager=kubedrill-setup -f - <<YAML
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ledger-api
  namespace: settlement
  labels:
    app: ledger-api
  annotations:
    kubernetes.io/change-cause: "$4"
spec:
  replicas: 3
  revisionHistoryLimit: 3
  selector:
    matchLabels:
      app: ledger-api
  template:
    metadata:
      labels:
        app: ledger-api
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: api
          image: $1
$2
          env:
            - name: LEDGER_RELEASE
              value: "$3"
          ports:
            - name: http
              containerPort: 80
          readinessProbe:
            tcpSocket: { port: 80 }
            periodSeconds: 2
YAML
  # Long enough for the controller to make this step's ReplicaSet before the next change.
  sleep 3
}
agnhost=registry.k8s.io/e2e-test-images/agnhost:2.53
args='          args: ["netexec", "--http-port=80", "--udp-port=-1"]'
step "$agnhost" "" 2.3 "release 2.3"
step "$agnhost" "$args" 2.3 "release 2.3"
step "$agnhost" "$args" 2.4 "release 2.4"
kubectl -n settlement rollout status deployment ledger-api --timeout=180s
