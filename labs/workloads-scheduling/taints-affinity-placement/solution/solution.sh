#!/usr/bin/env bash
# crunch: tolerate the taint AND require the label, so both new pods land on the SSD node only.
# nightly: a Pod's tolerations may be added to in place.
set -euo pipefail
kubectl -n analytics patch deployment crunch --type=strategic -p '
spec:
  template:
    spec:
      tolerations:
        - key: dedicated
          operator: Equal
          value: analytics
          effect: NoSchedule
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
              - matchExpressions:
                  - { key: disk, operator: In, values: [ssd] }
'
kubectl -n analytics patch pod nightly --type=json -p '[{"op":"add","path":"/spec/tolerations/-","value":{"key":"dedicated","operator":"Equal","value":"analytics","effect":"NoSchedule"}}]'
kubectl -n analytics rollout status deployment/crunch --timeout=180s
kubectl -n analytics wait pod/nightly --for=condition=Ready --timeout=120s
