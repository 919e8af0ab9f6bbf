#!/usr/bin/env bash
# Clears the claimRef as the solution does, so only the manifests carry the mistake.
set -euo pipefail
kubectl patch pv vault-pv --type json -p '[{"op":"remove","path":"/spec/claimRef"}]'
