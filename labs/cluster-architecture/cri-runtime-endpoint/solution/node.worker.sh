#!/usr/bin/env bash
# The reference solution, as root on the worker: point the kubelet and crictl at containerd's CRI
# socket, then record what crictl reports about container shipper of pod {{pod}}.
set -euo pipefail
sock=unix:///run/containerd/containerd.sock
sed -i "s#^containerRuntimeEndpoint: .*#containerRuntimeEndpoint: $sock#" /var/lib/kubelet/config.yaml
printf 'runtime-endpoint: %s\nimage-endpoint: %s\ntimeout: 10\n' "$sock" "$sock" >/etc/crictl.yaml
systemctl restart kubelet

id=$(crictl ps --name '^shipper$' --label io.kubernetes.pod.namespace={{ns}} --label io.kubernetes.pod.name={{pod}} -q)
mkdir -p /opt/course/cri
echo "$id" >/opt/course/cri/container-id
crictl inspect -o go-template --template '{{.info.runtimeType}}' "$id" >/opt/course/cri/runtime-type

# Wait until the node and the pod report Ready again, as a learner would watch for.
kc="kubectl --kubeconfig /etc/kubernetes/kubelet.conf"
for _ in $(seq 1 60); do
  [ "$($kc get node "$(hostname)" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ] &&
    [ "$($kc get pod -n {{ns}} {{pod}} -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ] && exit 0
  sleep 2
done
echo "the worker or pod {{pod}} did not turn Ready within 120 s" >&2
exit 1
