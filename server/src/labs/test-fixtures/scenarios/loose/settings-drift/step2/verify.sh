#!/bin/bash
[ -f /root/drift.txt ] || { echo "the drift never happened: step 2 was not set up"; exit 1; }
[ "$(kubectl -n shop get configmap settings -o jsonpath='{.data.mode}')" = "live" ] || { echo "mode is not live"; exit 1; }
[ "$(kubectl -n shop get configmap settings -o jsonpath='{.data.owner}')" = "platform" ] || { echo "owner is not platform"; exit 1; }
