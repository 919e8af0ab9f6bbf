#!/bin/bash
# the kubelet must be active (on the host Killercoda runs this on, which in kubedrill is not a node)
systemctl is-active kubelet
