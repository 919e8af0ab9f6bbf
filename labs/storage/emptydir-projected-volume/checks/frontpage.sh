#!/usr/bin/env bash
# Usage: frontpage.sh shared | memory
# shared: a file the writer container puts into /out appears in the web container's
#         /usr/share/nginx/html — the two containers mount one volume.
# memory: the web container's /usr/share/nginx/html is a tmpfs, i.e. an emptyDir with medium Memory.
set -uo pipefail
source checks/lib.sh
pod=$(running_pod frontpage) || { echo "$pod"; exit 1; }
html=/usr/share/nginx/html
case $1 in
  shared)
    name=".kubedrill-check-$RANDOM$RANDOM"
    token="written by writer at $(date +%s)"
    kubectl exec -n "$ns" "$pod" -c writer -- sh -c "printf '%s' '$token' > /out/$name" >/dev/null 2>&1 || { echo "could not write to /out in container writer of pod $pod"; exit 1; }
    got=$(kubectl exec -n "$ns" "$pod" -c web -- cat "$html/$name" 2>/dev/null)
    kubectl exec -n "$ns" "$pod" -c writer -- rm -f "/out/$name" >/dev/null 2>&1
    if [[ $got == "$token" ]]; then
      echo "a file the writer put into /out was served from $html by the web container of pod $pod"
    else
      echo "a file the writer put into /out did not appear in $html of the web container (pod $pod): they do not share a volume there"
      exit 1
    fi
    ;;
  memory)
    mount=$(mounts_under "$pod" web "$html" | awk -v d="$html" '$1 == d { print $2 }')
    if [[ -z $mount ]]; then
      echo "nothing is mounted at $html in the web container of pod $pod"; exit 1
    elif [[ $mount == tmpfs ]]; then
      echo "$html in pod $pod is a tmpfs: the emptyDir lives in memory"
    else
      echo "$html in pod $pod is on the node's disk ($mount), not in memory"; exit 1
    fi
    ;;
  *) echo "usage: frontpage.sh shared|memory"; exit 2 ;;
esac
