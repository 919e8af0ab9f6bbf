#!/usr/bin/env bash
kubectl run client -n default --image=docker.io/library/busybox:1.37.0 -- sleep 3600
