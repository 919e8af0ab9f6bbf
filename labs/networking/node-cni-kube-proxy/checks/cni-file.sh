#!/usr/bin/env bash
# Passes when ConfigMap default/node-findings records the CNI configuration file the container runtime loads on the worker.
set -uo pipefail
lib=checks/lib.sh
[[ -f $lib ]] || lib="$(dirname "${BASH_SOURCE[0]:-$0}")/lib.sh"
# shellcheck source=lib.sh
. "$lib"

node=$(worker_node)
dump=$(cni_dump "$node") || { echo "could not read /etc/cni/net.d on $node"; exit 2; }
actual=$(cni_active_file <<<"$dump")
[[ -n $actual ]] || { echo "could not determine the CNI configuration file the container runtime loads on the worker"; exit 2; }
expect_finding cniConfigFile "$actual" "the CNI configuration file the container runtime loads on the worker"
