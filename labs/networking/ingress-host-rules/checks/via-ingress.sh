#!/usr/bin/env bash
# Usage: via-ingress.sh HOST TEXT    passes when http://HOST/ through the ingress controller
#                                    answers 2xx with a page containing TEXT
#        via-ingress.sh HOST 404     passes when HOST gets 404 Not Found, provided some host of
#                                    Ingress gates is already served (else nothing is routed yet)
# Sends the request from pod visitor to the controller's Service with a Host header, as a browser
# that resolved HOST to the controller would.
set -uo pipefail
ns={{zone}}
host=$1 want=$2

# fetch HOST: the response body, or the wget error (which names the HTTP status) with exit 1.
fetch() { kubectl exec -n "$ns" visitor -- wget -q -O- -T 2 --header "Host: $1" http://traefik.traefik/ 2>&1; }

# why OUTPUT: wget's own complaint (it names the HTTP status), not kubectl's "command terminated".
why() { grep -m1 'wget:' <<<"$1" || tail -n1 <<<"$1"; }

if [[ $want == 404 ]]; then
  served=0
  for h in tickets press; do
    fetch "$h.$ns.test" | grep "$ns $h" >/dev/null && served=1
  done
  [[ $served == 1 ]] || { echo "neither tickets.$ns.test nor press.$ns.test is served by its app yet"; exit 1; }
  out=$(fetch "$host") && { echo "a request for $host was answered with a page (\"$(head -c 80 <<<"$out")\"): some rule catches every host name"; exit 1; }
  grep -q 404 <<<"$out" || { echo "a request for $host failed, but not with 404: $(why "$out")"; exit 1; }
  echo "a request for $host gets 404: only the named hosts are routed"
  exit 0
fi
out=$(fetch "$host") || { echo "http://$host/ through the ingress controller failed: $(why "$out")"; exit 1; }
grep -qF "$want" <<<"$out" || { echo "http://$host/ through the ingress controller answered with another app's page: \"$(head -c 80 <<<"$out")\""; exit 1; }
echo "http://$host/ through the ingress controller answered with \"$want\""
