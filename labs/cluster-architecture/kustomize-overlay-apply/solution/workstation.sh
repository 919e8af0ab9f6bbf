#!/usr/bin/env bash
# Reference solution, as the learner in the workstation: render the chart into a base, write the
# overlay, apply it with kubectl apply -k.
set -euo pipefail
mkdir -p ~/kustomize/base ~/kustomize/overlays/{{stage}}
cd ~/kustomize
helm template shop /opt/charts/webapp-0.3.1.tgz \
  --set image.repository=localhost:5000/web/nginx --set image.tag=1.27 \
  --set greeting='Open all night' > base/webapp.yaml
cat > base/kustomization.yaml <<'YAML'
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - webapp.yaml
YAML
cat > overlays/{{stage}}/kustomization.yaml <<'YAML'
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: storefront-{{stage}}
namePrefix: {{stage}}-
resources:
  - ../../base
images:
  - name: localhost:5000/web/nginx
    newName: docker.io/library/nginx
    newTag: 1.27.4
patches:
  - path: scale.yaml
YAML
cat > overlays/{{stage}}/scale.yaml <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop-webapp
spec:
  replicas: 3
  template:
    spec:
      containers:
        - name: nginx
          resources:
            requests:
              cpu: 50m
              memory: 32Mi
            limits:
              memory: 64Mi
YAML
kubectl apply -k overlays/{{stage}}
kubectl -n storefront-{{stage}} rollout status deployment/{{stage}}-shop-webapp --timeout=120s
