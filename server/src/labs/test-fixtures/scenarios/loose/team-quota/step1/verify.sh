#!/bin/bash
[ "$(kubectl get namespace team-a -o jsonpath='{.metadata.labels.team}' 2>/dev/null)" = "a" ] || { echo "namespace team-a with label team=a not found"; exit 1; }
