#!/bin/bash
# Reached with Next step: a third pod joins, and the tour writes down that this step began.
kubectl -n tour run pod-green --image=busybox:1.36 --labels="colour=green,tour=yes" -- sleep 3600
date -u +%FT%TZ > /root/select-step-reached
