#!/bin/bash
set -e
kubectl create namespace team-a --dry-run=client -o yaml | kubectl apply -f -
kubectl label namespace team-a team=a --overwrite
