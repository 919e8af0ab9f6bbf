#!/bin/bash
for colour in red blue; do
  kubectl -n tour run "pod-$colour" --image=busybox:1.36 --labels="colour=$colour,tour=yes" -- sleep 3600
done
