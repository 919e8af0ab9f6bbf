#!/usr/bin/env bash
# Grades the CacheCluster API by what the API server and kubectl do, never by the CRD's spelling.
# Usage: cachecluster.sh CASE
#   v1-lists       both existing CacheClusters are readable as fleet.kdlabs.io/v1
#   v1alpha1-lists both are still readable as fleet.kdlabs.io/v1alpha1
#   v1-stored      v1 is the version new writes are stored in
#   deprecated     a v1alpha1 request gets the deprecation warning pointing to v1
#   spec-columns   kubectl get shows ENGINE and REPLICAS with each object's spec values
#   phase-column   kubectl get shows PHASE with each object's status.phase
#   age-last       the columns are exactly NAME ENGINE REPLICAS PHASE AGE
#   scale          kubectl scale works, and the scale subresource reports spec.replicas and status.replicas
#   status         /status changes status; a write to the object itself cannot change status
set -uo pipefail
ns={{ns}}
crd=cacheclusters.fleet.kdlabs.io
names='catalog sessions'
err=$(mktemp)
trap 'rm -f "$err"' EXIT
last() { grep -v '^[[:space:]]*$' "$err" | tail -n 1; }

listed() { # VERSION: the sorted names kubectl lists at that version
  kubectl get "cacheclusters.$1.fleet.kdlabs.io" -n "$ns" -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}' 2>"$err" | sort | xargs
}

case ${1:-} in
  v1-lists | v1alpha1-lists)
    v=${1%-lists}
    got=$(listed "$v")
    [ "$got" = "$names" ] || { echo "kubectl get cacheclusters.$v.fleet.kdlabs.io -n $ns lists '${got}', not '${names}': $(last)"; exit 1; }
    echo "both CacheClusters are served as fleet.kdlabs.io/$v" ;;
  v1-stored)
    stored=$(kubectl get crd "$crd" -o jsonpath='{.spec.versions[?(@.storage==true)].name}' 2>"$err") || { echo "no CRD $crd: $(last)"; exit 1; }
    [ "$stored" = v1 ] || { echo "new CacheClusters are stored in etcd as ${stored:-?}, not v1"; exit 1; }
    echo "CacheClusters are stored as v1 (storedVersions: $(kubectl get crd "$crd" -o jsonpath='{.status.storedVersions}'))" ;;
  deprecated)
    kubectl get cacheclusters.v1alpha1.fleet.kdlabs.io -n "$ns" >/dev/null 2>"$err" || { echo "v1alpha1 is not served: $(last)"; exit 1; }
    warning=$(grep -i '^warning:' "$err" | sed -n 1p)
    [ -n "$warning" ] || { echo "a v1alpha1 request gets no warning: v1alpha1 is not marked deprecated"; exit 1; }
    grep -q -F 'use fleet.kdlabs.io/v1' <<<"$warning" || { echo "the warning does not point to fleet.kdlabs.io/v1: ${warning}"; exit 1; }
    echo "v1alpha1 clients are told: ${warning}" ;;
  spec-columns | phase-column | age-last)
    table=$(kubectl get "cacheclusters.fleet.kdlabs.io" -n "$ns" 2>"$err") || { echo "kubectl get cacheclusters fails: $(last)"; exit 1; }
    header=$(head -n 1 <<<"$table" | xargs)
    col() { # COLUMN NAME: that object's value in the named column ('' when the column is missing)
      awk -v c="$1" -v n="$2" 'NR==1{for(i=1;i<=NF;i++) if($i==c) k=i; next} $1==n && k{print $k}' <<<"$table"
    }
    case $1 in
      spec-columns)
        for n in $names; do
          for pair in ENGINE:engine REPLICAS:replicas; do
            c=${pair%%:*}; f=${pair#*:}
            want=$(kubectl get "cacheclusters.fleet.kdlabs.io" -n "$ns" "$n" -o jsonpath="{.spec.$f}")
            got=$(col "$c" "$n")
            [ -n "$got" ] && [ "$got" = "$want" ] || { echo "kubectl get cacheclusters shows '${header}': $c of $n is '${got}', its spec.$f is '${want}'"; exit 1; }
          done
        done
        echo "kubectl get cacheclusters shows each CacheCluster's engine and replicas ($header)" ;;
      phase-column)
        for n in $names; do
          want=$(kubectl get "cacheclusters.fleet.kdlabs.io" -n "$ns" "$n" -o jsonpath='{.status.phase}')
          got=$(col PHASE "$n")
          [ -n "$got" ] && [ "$got" = "$want" ] || { echo "kubectl get cacheclusters shows '${header}': PHASE of $n is '${got}', its status.phase is '${want}'"; exit 1; }
        done
        echo "kubectl get cacheclusters shows each CacheCluster's phase" ;;
      age-last)
        [ "$header" = "NAME ENGINE REPLICAS PHASE AGE" ] || { echo "kubectl get cacheclusters shows the columns '${header}', not 'NAME ENGINE REPLICAS PHASE AGE'"; exit 1; }
        echo "the columns are $header" ;;
    esac ;;
  scale)
    # kubectl scale talks to the scale subresource; a server-side dry run goes through it without
    # changing anything. Read back what the subresource reports for spec and status.
    kubectl scale cacheclusters.fleet.kdlabs.io/sessions -n "$ns" --replicas=5 --dry-run=server >/dev/null 2>"$err" ||
      { echo "kubectl scale cachecluster sessions fails: $(last)"; exit 1; }
    got=$(kubectl get cacheclusters.fleet.kdlabs.io/sessions -n "$ns" --subresource=scale -o jsonpath='{.spec.replicas} {.status.replicas}' 2>"$err") ||
      { echo "CacheCluster sessions has no scale subresource: $(last)"; exit 1; }
    spec=$(kubectl get cacheclusters.fleet.kdlabs.io/sessions -n "$ns" -o jsonpath='{.spec.replicas} {.status.replicas}')
    [ "$got" = "$spec" ] || { echo "the scale subresource reports replicas '${got}' (spec, status), the object has '${spec}': its paths point elsewhere"; exit 1; }
    echo "kubectl scale works on CacheClusters (scale reads spec.replicas and status.replicas: $got)" ;;
  status)
    got=$(kubectl patch cacheclusters.fleet.kdlabs.io/catalog -n "$ns" --subresource=status --type=merge \
      -p '{"status":{"phase":"Rebalancing"}}' --dry-run=server -o jsonpath='{.status.phase}' 2>"$err") ||
      { echo "CacheCluster catalog has no status subresource: $(last)"; exit 1; }
    [ "$got" = Rebalancing ] || { echo "a patch of /status came back with phase '${got}'"; exit 1; }
    before=$(kubectl get cacheclusters.fleet.kdlabs.io/catalog -n "$ns" -o jsonpath='{.status.phase}')
    got=$(kubectl patch cacheclusters.fleet.kdlabs.io/catalog -n "$ns" --type=merge \
      -p '{"spec":{"memory":"2Gi"},"status":{"phase":"Rebalancing"}}' --dry-run=server -o jsonpath='{.status.phase}' 2>"$err") ||
      { echo "a patch of CacheCluster catalog is refused: $(last)"; exit 1; }
    [ "$got" = "$before" ] || { echo "a patch of the object itself changed status.phase to '${got}': status is not a subresource"; exit 1; }
    echo "status changes only through /status" ;;
  *) echo "unknown case '${1:-}'"; exit 2 ;;
esac
