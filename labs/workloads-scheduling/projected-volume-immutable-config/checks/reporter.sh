#!/usr/bin/env bash
# Usage: reporter.sh release-data | immutable | file NAME VALUE | labels | one-volume
# Grades namespace reports by what the cluster does: whether the API server refuses a change to
# ConfigMap reporter-release (tried with --dry-run=server, so nothing changes), what the running
# reporter pods read in /etc/reporter (byte for byte but for one final newline), and which volume
# serves that folder.
set -uo pipefail
ns=reports dir=/etc/reporter mode=$1
fail() { echo "$*"; exit 1; }

# The running, rolled-out pods of Deployment reporter (a file check on a half-done rollout would
# grade pods that are about to go).
reporter_pods() {
  IFS='|' read -r gen obs replicas updated ready total < <(kubectl get deployment -n "$ns" reporter -o jsonpath='{.metadata.generation}|{.status.observedGeneration}|{.spec.replicas}|{.status.updatedReplicas}|{.status.readyReplicas}|{.status.replicas}' 2>/dev/null; echo)
  [[ -n ${gen:-} ]] || fail "Deployment reporter does not exist in namespace $ns"
  if [[ ${obs:-0} -lt $gen || ${updated:-0} -ne $replicas || ${ready:-0} -ne $replicas || ${total:-0} -ne $replicas ]]; then
    fail "Deployment reporter has not finished rolling out (${ready:-0}/$replicas ready, ${updated:-0} updated): its pods may be waiting for a volume — see kubectl -n $ns describe pods"
  fi
  pods=$(kubectl get pods -n "$ns" -l app=reporter -o jsonpath='{range .items[?(@.status.phase=="Running")]}{.metadata.name} {.metadata.deletionTimestamp}{"\n"}{end}' 2>/dev/null | awk 'NF == 1 { print $1 }')
  [[ -n $pods ]] || fail "no running pod of Deployment reporter"
}

case $mode in
release-data)
  IFS='|' read -r found release channel < <(kubectl get configmap -n "$ns" reporter-release -o jsonpath='{.metadata.name}|{.data.RELEASE}|{.data.CHANNEL}' 2>/dev/null; echo)
  [[ -n $found ]] || fail "ConfigMap reporter-release does not exist in namespace $ns"
  [[ $release == 7.2.0 && $channel == stable ]] || fail "ConfigMap reporter-release holds RELEASE=${release:-(none)} CHANNEL=${channel:-(none)}, not RELEASE=7.2.0 CHANNEL=stable"
  echo "ConfigMap reporter-release holds RELEASE=7.2.0 and CHANNEL=stable"
  ;;
immutable)
  [[ -n $(kubectl get configmap -n "$ns" reporter-release -o name 2>/dev/null) ]] || fail "ConfigMap reporter-release does not exist in namespace $ns"
  if out=$(kubectl patch configmap -n "$ns" reporter-release --dry-run=server -p '{"data":{"RELEASE":"7.2.1"}}' 2>&1); then
    fail "changing RELEASE in ConfigMap reporter-release is accepted: it is not immutable"
  fi
  [[ $out == *immutable* ]] || fail "changing ConfigMap reporter-release is refused, but not because it is immutable: ${out##*: }"
  echo "the API server refuses to change ConfigMap reporter-release: it is immutable"
  ;;
file|labels)
  if [[ $mode == file ]]; then name=$2 want=$3; else name=labels; fi
  reporter_pods
  for pod in $pods; do
    # The content followed by a marker, so command substitution cannot strip trailing newlines.
    got=$(kubectl exec -n "$ns" "$pod" -c reporter -- sh -c "cat '$dir/$name' && printf '|'" 2>/dev/null) \
      || fail "pod $pod has no file $dir/$name (it has: $(kubectl exec -n "$ns" "$pod" -c reporter -- ls "$dir" 2>&1 | tr '\n' ' '))"
    got=${got%|}
    if [[ $mode == labels ]]; then
      [[ $'\n'$got$'\n' == *$'\napp="reporter"\n'* && $'\n'$got$'\n' == *$'\ntier="batch"\n'* ]] \
        || fail "pod $pod's $dir/labels does not list its labels app=\"reporter\" and tier=\"batch\": \"$got\""
    # One final newline does not count: the ConfigMap's YAML block adds it, $(…) strips it.
    elif [[ ${got%$'\n'} != "${want%$'\n'}" ]]; then
      fail "pod $pod reads \"$got\" from $dir/$name, expected \"$want\""
    fi
  done
  echo "$(wc -w <<<"$pods" | tr -d ' ') reporter pod(s) read the expected $dir/$name"
  ;;
one-volume)
  reporter_pods
  c='.spec.template.spec.containers[?(@.name=="reporter")]'
  vol=$(kubectl get deployment -n "$ns" reporter -o jsonpath="{$c.volumeMounts[?(@.mountPath==\"$dir\")].name}")
  [[ -n $vol ]] || fail "container reporter mounts no volume at $dir itself (mounts: $(kubectl get deployment -n "$ns" reporter -o jsonpath="{range $c.volumeMounts[*]}{.mountPath}{' '}{end}"))"
  extra=$(kubectl get deployment -n "$ns" reporter -o jsonpath="{range $c.volumeMounts[*]}{.mountPath}{'\n'}{end}" | grep -c "^$dir/")
  ((extra == 0)) || fail "besides volume $vol at $dir, $extra more volume(s) are mounted inside $dir"
  IFS='|' read -r cms secrets downward < <(kubectl get deployment -n "$ns" reporter -o jsonpath="{.spec.template.spec.volumes[?(@.name==\"$vol\")].projected.sources[*].configMap.name}|{.spec.template.spec.volumes[?(@.name==\"$vol\")].projected.sources[*].secret.name}|{.spec.template.spec.volumes[?(@.name==\"$vol\")].projected.sources[*].downwardAPI.items[*].path}"; echo)
  [[ -n "$cms$secrets$downward" ]] || fail "volume $vol at $dir is not a projected volume"
  for want in reporter-settings reporter-release; do [[ " $cms " == *" $want "* ]] || fail "projected volume $vol has no source ConfigMap $want"; done
  [[ " $secrets " == *" reporter-token "* ]] || fail "projected volume $vol has no source Secret reporter-token"
  [[ -n $downward ]] || fail "projected volume $vol has no downwardAPI source"
  echo "one projected volume ($vol) at $dir combines reporter-settings, reporter-token, reporter-release and the pod's labels"
  ;;
*) fail "unknown check $mode" ;;
esac
