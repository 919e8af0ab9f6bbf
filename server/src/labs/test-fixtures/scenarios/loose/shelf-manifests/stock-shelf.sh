#!/bin/bash
set -e
kubectl create namespace library
ls /root/shelf/*.yaml > /root/shelf-list.txt
