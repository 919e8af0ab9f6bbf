#!/usr/bin/env bash
# Usage: history.sh release | one-revision | change-cause | history-limit | rollback-kept
# Grades Deployment ledger-api by its rollout history as the cluster holds it: the ReplicaSets the
# Deployment owns, ordered by their revision annotation (what kubectl rollout history lists). The
# newest is the current revision. Revision numbers themselves are not compared, so the checks hold
# whatever happened to the history before (an undo renumbers a revision).
set -uo pipefail
ns=settlement deploy=ledger-api mode=$1
release_image=registry.k8s.io/e2e-test-images/agnhost:2.53

fail() { echo "$*"; exit 1; }

uid=$(kubectl get deployment -n "$ns" "$deploy" -o jsonpath='{.metadata.uid}' 2>/dev/null)
[[ -n $uid ]] || fail "Deployment $deploy does not exist in namespace $ns"
c='.spec.template.spec.containers[?(@.name=="api")]'
# One line per ReplicaSet the Deployment owns and is not deleting, newest revision first:
# revision|name|image|args|LEDGER_RELEASE|change-cause|ready
history() {
  kubectl get rs -n "$ns" -o jsonpath="{range .items[?(@.metadata.ownerReferences[0].uid==\"$uid\")]}{.metadata.annotations.deployment\.kubernetes\.io/revision}|{.metadata.name}|{$c.image}|{$c.args}|{$c.env[?(@.name==\"LEDGER_RELEASE\")].value}|{.metadata.annotations.kubernetes\.io/change-cause}|{.status.readyReplicas}|{.metadata.deletionTimestamp}{\"\\n\"}{end}" 2>/dev/null \
    | awk -F'|' '$1 ~ /^[0-9]+$/ && $8 == ""' | sort -t'|' -k1,1nr
}
# What a revision runs, in words.
describe() { IFS='|' read -r rev name image args rel _ <<<"$1"; echo "revision $rev ($name: image ${image:-none}, args ${args:-none}, LEDGER_RELEASE=${rel:-unset})"; }
is_release() { IFS='|' read -r _ _ image args rel _ <<<"$1"; [[ $image == "$release_image" && $args == *'"netexec"'* && $args == *'"--http-port=80"'* && $rel == 2.4 ]]; }
is_before() { IFS='|' read -r _ _ image args rel _ <<<"$1"; [[ $image =~ ^(docker\.io/library/)?nginx:1\.27\.4$ && -z $args && $rel == 2.3 ]]; }

mapfile -t revs < <(history)
((${#revs[@]})) || fail "Deployment $deploy owns no ReplicaSet with a revision"
current=${revs[0]}

case $mode in
release)
  is_release "$current" || fail "the current $(describe "$current") is not release 2.4 (image $release_image, args netexec --http-port=80 --udp-port=-1, LEDGER_RELEASE=2.4)"
  IFS='|' read -r rev _ _ _ _ _ ready _ <<<"$current"
  [[ ${ready:-0} -ge 3 ]] || fail "revision $rev is release 2.4 but has ${ready:-0} ready pods of 3"
  echo "the current revision $rev runs release 2.4 with ${ready} ready pods"
  ;;
one-revision)
  is_release "$current" || fail "the current $(describe "$current") is not release 2.4"
  ((${#revs[@]} > 1)) || fail "the history has no revision before the current one"
  previous=${revs[1]}
  is_before "$previous" || fail "the $(describe "$previous") right before the current one is not release 2.3 as it ran: release 2.4 took more than one revision"
  echo "release 2.4 came as one revision: the revision before it is release 2.3 as it ran"
  ;;
change-cause)
  IFS='|' read -r rev _ _ _ _ cause _ <<<"$current"
  [[ $cause == "release 2.4" ]] || fail "kubectl rollout history shows the current revision $rev with CHANGE-CAUSE \"${cause:-<none>}\", not \"release 2.4\""
  echo "the current revision $rev has CHANGE-CAUSE \"release 2.4\""
  ;;
history-limit)
  # Both the setting and its effect: the count alone could also come from old ReplicaSets deleted
  # by hand, which the next rollout would not keep to.
  limit=$(kubectl get deployment -n "$ns" "$deploy" -o jsonpath='{.spec.revisionHistoryLimit}')
  [[ $limit == 3 ]] || fail "ledger-api keeps up to ${limit:-10} old revisions (revisionHistoryLimit), not 3"
  # The controller removes old ReplicaSets right after a change; give it a moment.
  for _ in 1 2 3 4 5; do
    ((${#revs[@]} == 4)) && { echo "the history holds the current revision and 3 older ones"; exit 0; }
    sleep 1
    mapfile -t revs < <(history)
  done
  fail "the history holds ${#revs[@]} revisions (the current one and $((${#revs[@]} - 1)) older), not the current one and 3 older"
  ;;
rollback-kept)
  for r in "${revs[@]:1}"; do
    if is_before "$r"; then echo "release 2.3 is kept as $(describe "$r"), ready for a rollback"; exit 0; fi
  done
  fail "no older revision runs release 2.3 (nginx:1.27.4, LEDGER_RELEASE=2.3): there is nothing to roll back to"
  ;;
*) fail "unknown check $mode" ;;
esac
