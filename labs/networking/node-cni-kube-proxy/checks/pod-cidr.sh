#!/usr/bin/env bash
# Passes when ConfigMap default/node-findings records the pod CIDR of the worker node.
set -uo pipefail
lib=checks/lib.sh
[[ -f $lib ]] || lib="$(dirname "${BASH_SOURCE[0]:-$0}")/lib.sh"
# shellcheck source=lib.sh
. "$lib"

node=$(worker_node)
actual=$(kubectl get node "$node" -o "jsonpath={.spec.podCIDR}")
[[ -n $actual ]] || { echo "could not determine the pod CIDR of the worker node"; exit 2; }
expect_finding podCIDR "$actual" "the pod CIDR of the worker node"
