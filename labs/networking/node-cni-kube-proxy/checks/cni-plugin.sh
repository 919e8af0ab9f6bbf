#!/usr/bin/env bash
# Passes when ConfigMap default/node-findings records the type of the first plugin in that configuration.
set -uo pipefail
lib=checks/lib.sh
[[ -f $lib ]] || lib="$(dirname "${BASH_SOURCE[0]:-$0}")/lib.sh"
# shellcheck source=lib.sh
. "$lib"

node=$(worker_node)
dump=$(cni_dump "$node") || { echo "could not read /etc/cni/net.d on $node"; exit 2; }
file=$(cni_active_file <<<"$dump")
actual=$(cni_section "$file" <<<"$dump" | json_first type)
[[ -n $actual ]] || { echo "could not determine the type of the first plugin in that configuration"; exit 2; }
expect_finding cniPluginType "$actual" "the type of the first plugin in that configuration"
