kubectl -n fixture run web --image=docker.io/library/busybox:1.37.0 -- sleep 3600
