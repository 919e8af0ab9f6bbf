#!/usr/bin/env bash
# A Released volume keeps the deleted claim in spec.claimRef; removing it makes the volume
# Available, and the pending claim vault-data then binds it — with the old data still on it.
set -euo pipefail
kubectl patch pv vault-pv --type json -p '[{"op":"remove","path":"/spec/claimRef"}]'
