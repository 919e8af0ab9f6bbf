# shellcheck shell=bash
# Helpers for this lab's check scripts and its reference solution. Every expected value is read from
# the live cluster with kubectl (the grader sets KUBECONFIG); nothing is hard-coded, because the CNI
# plugin and its files differ between kind releases and node images.

FINDINGS_NS=default
FINDINGS_CM=node-findings
INSPECT_IMAGE=docker.io/library/busybox:1.37.0

# The node the learner inspects: kind names the first worker "<cluster>-worker".
worker_node() {
  kubectl get nodes -o name | sed 's|^node/||' | grep -E -- '-worker$' | sed -n 1p
}

# finding KEY: the value the learner recorded in ConfigMap default/node-findings (empty if missing).
finding() {
  kubectl get configmap "$FINDINGS_CM" -n "$FINDINGS_NS" -o "jsonpath={.data.$1}" 2>/dev/null || true
}

# cni_dump NODE: prints every file of /etc/cni/net.d on NODE as "== <name>" followed by its content.
# The grader has no shell on the node, so a short-lived pod mounts the folder read-only and prints it.
cni_dump() {
  local node=$1 pod
  pod="kubedrill-cni-inspect-$(date +%s)-$RANDOM"
  sed -e "s|@POD@|$pod|" -e "s|@NODE@|$node|" -e "s|@IMAGE@|$INSPECT_IMAGE|" <<'YAML' | kubectl apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata:
  name: @POD@
  namespace: kube-system
  labels:
    app.kubernetes.io/managed-by: kubedrill-grader
spec:
  nodeName: @NODE@
  restartPolicy: Never
  terminationGracePeriodSeconds: 0
  tolerations:
    - operator: Exists
  containers:
    - name: inspect
      image: @IMAGE@
      command: ["sh", "-c", "cd /cni && for f in *; do [ -f \"$f\" ] || continue; echo \"== $f\"; cat \"$f\"; echo; done"]
      volumeMounts:
        - name: cni
          mountPath: /cni
          readOnly: true
  volumes:
    - name: cni
      hostPath:
        path: /etc/cni/net.d
        type: Directory
YAML
  local ok=0
  kubectl wait -n kube-system "pod/$pod" --for=jsonpath='{.status.phase}'=Succeeded --timeout=60s >/dev/null 2>&1 && ok=1
  [[ $ok == 1 ]] && kubectl logs -n kube-system "$pod"
  kubectl delete pod -n kube-system "$pod" --wait=false --ignore-not-found >/dev/null 2>&1 || true
  [[ $ok == 1 ]]
}

# The CNI configuration the runtime uses: the first .conf/.conflist/.json file in name order.
cni_active_file() { grep '^== ' | sed 's/^== //' | grep -E '\.(conflist|conf|json)$' | LC_ALL=C sort | sed -n 1p; }

# cni_section FILE: the content of FILE from a cni_dump on stdin.
cni_section() { awk -v f="== $1" '$0 == f { on = 1; next } /^== / { on = 0 } on'; }

# json_first KEY: the first string value of "KEY" in the JSON on stdin (the first plugin's "type",
# the first range's "subnet").
json_first() { grep -o "\"$1\"[[:space:]]*:[[:space:]]*\"[^\"]*\"" | sed -n 1p | sed 's/.*"\([^"]*\)"$/\1/'; }

# kube-proxy's configuration file, from the ConfigMap kubeadm created.
proxy_config() { kubectl get configmap kube-proxy -n kube-system -o 'jsonpath={.data.config\.conf}'; }

# The proxy mode kube-proxy runs in; an empty mode means the platform default, iptables on Linux.
proxy_mode() {
  local mode
  mode=$(proxy_config | sed -n 's/^mode:[[:space:]]*//p' | tr -d "\"'" | sed -n 1p)
  echo "${mode:-iptables}"
}

proxy_cluster_cidr() { proxy_config | sed -n 's/^clusterCIDR:[[:space:]]*//p' | tr -d "\"'" | sed -n 1p; }

# expect_finding KEY ACTUAL WHAT: compares the learner's value with the live one without revealing it.
expect_finding() {
  local key=$1 actual=$2 what=$3 got
  got=$(finding "$key")
  if [[ -z $got ]]; then
    echo "ConfigMap $FINDINGS_NS/$FINDINGS_CM has no value for $key"
    return 1
  fi
  if [[ $got != "$actual" ]]; then
    echo "$key is \"$got\", which is not $what"
    return 1
  fi
  echo "$key is $what: $got"
}
