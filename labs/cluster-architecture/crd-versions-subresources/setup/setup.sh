#!/usr/bin/env bash
# The state the learner starts from: the CacheCluster CRD at v1alpha1 only, and two CacheClusters
# with a status as the (absent) operator last wrote it. The custom resources can only be created
# once the CRD is Established, which is why this is a script and not a manifest.
# Safe to run twice: it deletes the CRD first (which deletes every CacheCluster), because a CRD
# whose storage moved to v1 cannot be put back to v1alpha1 by an apply (status.storedVersions).
set -euo pipefail
kubectl delete crd cacheclusters.fleet.kdlabs.io --ignore-not-found --wait=true >/dev/null
kubectl apply -f - >/dev/null <<'YAML'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: cacheclusters.fleet.kdlabs.io
spec:
  group: fleet.kdlabs.io
  scope: Namespaced
  names:
    kind: CacheCluster
    plural: cacheclusters
    singular: cachecluster
    shortNames: [cc]
  versions:
    - name: v1alpha1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              required: [engine, replicas]
              properties:
                engine: { type: string, enum: [redis, memcached] }
                replicas: { type: integer, minimum: 1, maximum: 9 }
                memory: { type: string }
            status:
              type: object
              properties:
                phase: { type: string }
                replicas: { type: integer }
YAML
kubectl wait --for=condition=Established crd/cacheclusters.fleet.kdlabs.io --timeout=60s >/dev/null
for i in $(seq 1 30); do
  kubectl get cacheclusters.v1alpha1.fleet.kdlabs.io -n {{ns}} >/dev/null 2>&1 && break
  sleep 1
done
kubectl apply -f - >/dev/null <<YAML
apiVersion: fleet.kdlabs.io/v1alpha1
kind: CacheCluster
metadata:
  name: sessions
  namespace: {{ns}}
spec:
  engine: redis
  replicas: 3
  memory: 512Mi
status:
  phase: Running
  replicas: 3
---
apiVersion: fleet.kdlabs.io/v1alpha1
kind: CacheCluster
metadata:
  name: catalog
  namespace: {{ns}}
spec:
  engine: memcached
  replicas: 2
  memory: 1Gi
status:
  phase: Degraded
  replicas: 1
YAML
