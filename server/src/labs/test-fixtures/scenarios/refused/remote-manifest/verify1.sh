#!/bin/bash
test "$(kubectl get deploy shop -o jsonpath={.spec.replicas})" = 3
