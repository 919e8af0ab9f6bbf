#!/usr/bin/env bash
# The base's image from a registry this cluster does not have: pulling it fails at once (loopback).
set -euo pipefail
kubectl -n storefront-{{stage}} set image deployment/{{stage}}-shop-webapp nginx=localhost:5000/web/nginx:1.27
