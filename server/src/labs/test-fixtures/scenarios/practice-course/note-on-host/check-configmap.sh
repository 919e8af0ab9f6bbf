#!/bin/bash
set -e
value=$(kubectl -n memo get configmap note -o jsonpath='{.data.text}')
[ "$value" = "kubedrill" ]
