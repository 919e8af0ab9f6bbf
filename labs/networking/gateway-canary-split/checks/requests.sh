#!/usr/bin/env bash
# Usage: requests.sh canary | majority | split
# Sends requests from pod buyer through the Gateway's Service and counts which release answered.
#   canary:   10 requests with "X-Canary: always" — every one must be answered by v2
#   majority: 20 requests without the header — every one answered, at least half by v1
#   split:    50 requests without the header — every one answered, 10 ± 5 of them by v2 (80/20;
#             Traefik's weighted round robin is smooth, so the count lands on 10 or next to it)
set -uo pipefail
ns={{ns}}
url=http://traefik-gateway.traefik-gateway/

# send N [HEADER]: one line per request — v1, v2, or the error wget gave.
send() {
  kubectl exec -n "$ns" buyer -- sh -c '
    n=$1; shift
    i=0
    while [ $i -lt "$n" ]; do
      i=$((i+1))
      if out=$(wget -q -O- -T 2 "$@" 2>&1); then
        case $out in *"release v1"*) echo v1 ;; *"release v2"*) echo v2 ;; *) echo "other page" ;; esac
      else
        echo "${out##*: }" | head -n1
      fi
    done' sh "$1" "${@:2}" "$url" 2>/dev/null
}
# kubectl's own stderr is dropped above: it may log websocket notices that are no answer of ours.

# tally LINES N: counts v1, v2 and errors (with the first), and fails when fewer than N requests ran.
tally() {
  local ran
  ran=$(grep -c . <<<"$1")
  (( ran == $2 )) || { echo "only $ran of $2 requests could be sent: kubectl exec into pod buyer in $ns failed"; exit 1; }
  v1=$(grep -cx v1 <<<"$1") v2=$(grep -cx v2 <<<"$1")
  errors=$(grep -vcxE 'v1|v2' <<<"$1")
  first=$(grep -vxE 'v1|v2' <<<"$1" | sed -n 1p)
}

case ${1:-} in
  canary)
    lines=$(send 10 --header 'X-Canary: always'); tally "$lines" 10
    [[ $v2 -eq 10 ]] || { echo "of 10 requests with X-Canary: always, $v2 reached v2, $v1 reached v1, $errors failed${first:+ ($first)}"; exit 1; }
    echo "all 10 requests with X-Canary: always reached v2"
    ;;
  majority)
    lines=$(send 20); tally "$lines" 20
    [[ $errors -eq 0 ]] || { echo "of 20 ordinary requests, $errors failed${first:+ ($first)}"; exit 1; }
    [[ $v1 -ge 10 ]] || { echo "of 20 ordinary requests only $v1 reached v1 ($v2 reached v2)"; exit 1; }
    echo "of 20 ordinary requests, $v1 reached v1 and $v2 reached v2"
    ;;
  split)
    lines=$(send 50); tally "$lines" 50
    [[ $errors -eq 0 ]] || { echo "of 50 ordinary requests, $errors failed${first:+ ($first)}"; exit 1; }
    if (( v2 < 5 || v2 > 15 )); then
      echo "of 50 ordinary requests $v1 reached v1 and $v2 reached v2, not about 80 % / 20 % (40 / 10)"; exit 1
    fi
    echo "of 50 ordinary requests $v1 reached v1 and $v2 reached v2 (about 80 % / 20 %)"
    ;;
  *) echo "usage: requests.sh canary|majority|split"; exit 2 ;;
esac
