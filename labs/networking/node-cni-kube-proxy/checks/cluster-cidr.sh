#!/usr/bin/env bash
# Passes when ConfigMap default/node-findings records the cluster CIDR kube-proxy is configured with.
set -uo pipefail
lib=checks/lib.sh
[[ -f $lib ]] || lib="$(dirname "${BASH_SOURCE[0]:-$0}")/lib.sh"
# shellcheck source=lib.sh
. "$lib"

actual=$(proxy_cluster_cidr)
[[ -n $actual ]] || { echo "could not determine the cluster CIDR kube-proxy is configured with"; exit 2; }
expect_finding clusterCIDR "$actual" "the cluster CIDR kube-proxy is configured with"
