#!/bin/bash
test "$(kubectl get node node01 -o jsonpath={.metadata.labels.disk})" = fast
