#!/usr/bin/env bash
# Mistake: Printer columns and subresources added to v1alpha1 instead of v1.
set -euo pipefail
kubectl apply -f - <<'YAML'
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
    - name: v1
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
    - name: v1alpha1
      served: true
      storage: false
      deprecated: true
      deprecationWarning: "fleet.kdlabs.io/v1alpha1 CacheCluster is deprecated; use fleet.kdlabs.io/v1"
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
      additionalPrinterColumns:
        - { name: Engine, type: string, jsonPath: .spec.engine }
        - { name: Replicas, type: integer, jsonPath: .spec.replicas }
        - { name: Phase, type: string, jsonPath: .status.phase }
        - { name: Age, type: date, jsonPath: .metadata.creationTimestamp }
      subresources:
        status: {}
        scale:
          specReplicasPath: .spec.replicas
          statusReplicasPath: .status.replicas
YAML
