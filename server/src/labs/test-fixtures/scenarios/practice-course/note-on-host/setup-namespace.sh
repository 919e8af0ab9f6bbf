#!/bin/bash
kubectl create namespace memo
echo ready > /root/.memo-prepared
