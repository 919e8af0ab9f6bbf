#!/usr/bin/env bash
set -euo pipefail
mkdir -p /opt/course/4
kubectl -n billing logs invoice-worker -c app | grep ERROR > /opt/course/4/errors.txt
kubectl -n billing logs importer --previous > /opt/course/4/importer-crash.txt
