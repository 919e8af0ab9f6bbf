#!/usr/bin/env bash
set -euo pipefail
mkdir -p /srv/backup
cp /var/lib/etcd/member/snap/db /srv/backup/{{snap}}.db
