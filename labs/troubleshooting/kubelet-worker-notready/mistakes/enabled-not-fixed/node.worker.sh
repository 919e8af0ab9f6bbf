#!/usr/bin/env bash
set -euo pipefail
systemctl enable kubelet
systemctl start kubelet || true
