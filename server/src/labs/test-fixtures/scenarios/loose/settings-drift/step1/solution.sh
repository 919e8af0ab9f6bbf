#!/bin/bash
set -e
kubectl create namespace shop
kubectl -n shop create configmap settings --from-literal=mode=live
