#!/bin/bash
kubectl apply -f https://example.org/manifests/shop.yaml
