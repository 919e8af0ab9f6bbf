#!/usr/bin/env bash
set -euo pipefail
systemctl restart kubelet
sleep 20
