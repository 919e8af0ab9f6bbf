#!/bin/bash
# Starts the attempt's Docker daemon and a DNS forwarder for the kind nodes it will run.
#
# DNS: a kind node's resolver (Docker's, at 127.0.0.11) forwards from inside the node's network
# namespace. Were that upstream the host cluster's DNS Service (10.96.0.10 on a kind host cluster),
# the node's own kube-proxy would send it to the inner CoreDNS, which forwards it back: a loop
# ("concurrent queries exceeded maximum"), since the inner cluster uses kind's default ranges, which
# labs name. So the nodes ask the bridge address of this Pod (no Service range claims it), and
# dnsmasq here forwards from the Pod's own namespace to the Pod's resolver.
set -euo pipefail
bridge=${ATTEMPT_BRIDGE:-172.17.0.1/16}
upstream=$(awk '$1 == "nameserver" { print $2; exit }' /etc/resolv.conf)
[ -n "$upstream" ] || { echo "attempt-host: no nameserver in /etc/resolv.conf" >&2; exit 1; }

# Privileged containers on a host without CAP_SYS_RESOURCE: the shim drops that one capability.
runtime=()
if (( (16#$(awk '/^CapBnd/ {print $2}' /proc/self/status) >> 24 & 1) == 0 )); then
  runtime=(--add-runtime "kd-runc=/usr/local/bin/runc-drop-sys-resource" --default-runtime kd-runc)
fi

dockerd --host=unix:///var/run/docker.sock --bip "$bridge" --dns "${bridge%/*}" "${runtime[@]}" &
dockerd_pid=$!
for _ in $(seq 1 120); do
  docker info >/dev/null 2>&1 && break
  kill -0 "$dockerd_pid" 2>/dev/null || { echo "attempt-host: dockerd exited" >&2; wait "$dockerd_pid"; exit 1; }
  sleep 0.5
done
docker info >/dev/null || { echo "attempt-host: dockerd did not answer in 60 s" >&2; exit 1; }

dnsmasq --keep-in-foreground --no-resolv --no-hosts --server="$upstream" --listen-address="${bridge%/*}" --bind-interfaces --cache-size=1000 &
echo "attempt-host: ready (docker bridge ${bridge}, DNS via ${bridge%/*} -> ${upstream})"
# Whichever stops first ends the Pod's container, so a broken attempt host never looks alive.
wait -n
exit 1
