#!/bin/bash
[ "$(kubectl -n shop get configmap settings -o jsonpath='{.data.mode}' 2>/dev/null)" = "live" ] || { echo "configmap shop/settings has no mode=live"; exit 1; }
