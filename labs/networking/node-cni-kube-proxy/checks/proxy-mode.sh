#!/usr/bin/env bash
# Passes when ConfigMap default/node-findings records the mode kube-proxy runs in.
set -uo pipefail
lib=checks/lib.sh
[[ -f $lib ]] || lib="$(dirname "${BASH_SOURCE[0]:-$0}")/lib.sh"
# shellcheck source=lib.sh
. "$lib"

actual=$(proxy_mode)
[[ -n $actual ]] || { echo "could not determine the mode kube-proxy runs in"; exit 2; }
expect_finding proxyMode "$actual" "the mode kube-proxy runs in"
