#!/bin/bash
kubectl -n library get configmap reading-room >/dev/null 2>&1 && ! kubectl -n library get configmap archive >/dev/null 2>&1
