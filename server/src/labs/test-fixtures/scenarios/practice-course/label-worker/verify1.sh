#!/bin/bash
kubectl get nodes -l tier=batch -o name | grep -q node/
