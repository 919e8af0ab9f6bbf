#!/bin/bash
# the kubelet must be active
ssh node01 systemctl is-active kubelet
