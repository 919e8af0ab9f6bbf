#!/usr/bin/env bash
# Reference solution: the same helm and chart file the learner has, run from the workstation image
# (the grading host has no helm of its own). KUBECONFIG is the cluster's external kubeconfig.
set -euo pipefail
# The chart names its Deployment and Service <release>-webapp: promo-webapp in namespace promo.
image=${KUBEDRILL_WORKSTATION_IMAGE:-kubedrill/workstation:1.35}
docker run --rm --network host --user 0 -v "$KUBECONFIG:/tmp/kubeconfig:ro" -e KUBECONFIG=/tmp/kubeconfig "$image" \
  helm install promo /opt/charts/webapp-0.3.1.tgz --namespace promo \
    --set replicaCount=3 --set service.port=8080 --set greeting='Spring sale' --wait --timeout 3m
