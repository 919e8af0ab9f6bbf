#!/usr/bin/env bash
# Usage: stamp.sh edition | key | identity | labels | one-volume
# Compares what container app of the running stamper pod reads under /etc/stamp with the live
# objects it must come from — byte for byte, so a stray newline counts.
set -uo pipefail
source checks/lib.sh
pod=$(running_pod stamper) || { echo "$pod"; exit 1; }

# read_file PATH: the file's bytes followed by '|' (so trailing newlines survive), or fails.
read_file() { kubectl exec -n "$ns" "$pod" -c app -- sh -c "cat '$1' && printf '|'" 2>/dev/null; }

# expect PATH WANT LABEL: passes when the file holds exactly WANT.
expect() {
  local got
  got=$(read_file "$1") || { echo "pod $pod has no file $1"; exit 1; }
  if [[ $got != "$2|" ]]; then
    local shown=${got%|}
    [[ $shown == *$'\n' ]] && shown="${shown%$'\n'}\\n (with a trailing newline)"
    echo "pod $pod reads \"$shown\" from $1, expected $3 \"$2\""
    exit 1
  fi
}

case $1 in
  edition)
    want=$(kubectl get configmap -n "$ns" press-settings -o jsonpath='{.data.edition}' 2>/dev/null)
    expect /etc/stamp/edition.conf "$want" "key edition of ConfigMap press-settings,"
    echo "pod $pod reads the edition \"$want\" from /etc/stamp/edition.conf"
    ;;
  key)
    want=$(kubectl get secret -n "$ns" press-keys -o jsonpath='{.data.signing\.key}' 2>/dev/null | base64 -d)
    expect /etc/stamp/secrets/signing-key "$want" "key signing.key of Secret press-keys,"
    echo "pod $pod reads the signing key from /etc/stamp/secrets/signing-key"
    ;;
  identity)
    expect /etc/stamp/pod/name "$pod" "its own name,"
    expect /etc/stamp/pod/namespace "$ns" "its namespace,"
    echo "pod $pod reads its own name and namespace from /etc/stamp/pod/"
    ;;
  labels)
    got=$(read_file /etc/stamp/pod/labels) || { echo "pod $pod has no file /etc/stamp/pod/labels"; exit 1; }
    for line in 'app="stamper"' 'desk="city"'; do
      grep -qxF "$line" <<<"${got%|}" || { echo "/etc/stamp/pod/labels in pod $pod does not list $line: it holds \"${got%|}\""; exit 1; }
    done
    echo "pod $pod reads its labels from /etc/stamp/pod/labels"
    ;;
  one-volume)
    mounts=$(mounts_under "$pod" app /etc/stamp | awk '{ print $1 }')
    if [[ -z $mounts ]]; then
      echo "nothing is mounted at /etc/stamp in pod $pod"; exit 1
    elif [[ $mounts == /etc/stamp ]]; then
      echo "/etc/stamp in pod $pod is one volume holding all five files"
    else
      echo "pod $pod has $(wc -l <<<"$mounts") mounts under /etc/stamp ($(tr '\n' ' ' <<<"$mounts")): the files must come from one projected volume"; exit 1
    fi
    ;;
  *) echo "usage: stamp.sh edition|key|identity|labels|one-volume"; exit 2 ;;
esac
