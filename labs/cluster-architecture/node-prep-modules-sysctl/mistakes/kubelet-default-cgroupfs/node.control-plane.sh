#!/usr/bin/env bash
# Files only: the node shares the host's kernel, so no modprobe and no sysctl -w.
set -euo pipefail
printf 'overlay\nbr_netfilter\n' > /etc/modules-load.d/k8s.conf
cat > /etc/sysctl.d/k8s.conf <<'CONF'
net.bridge.bridge-nf-call-iptables  = 1
net.bridge.bridge-nf-call-ip6tables = 1
net.ipv4.ip_forward                 = 1
CONF
containerd=$(grep -q 'SystemdCgroup *= *true' /etc/containerd/config.toml && echo systemd || echo cgroupfs)
kubelet=$(sed -n 's/^cgroupDriver: *//p' /var/lib/kubelet/config.yaml)
printf 'containerd=%s\nkubelet=%s\n' "$containerd" cgroupfs > /root/cgroup-drivers.txt
