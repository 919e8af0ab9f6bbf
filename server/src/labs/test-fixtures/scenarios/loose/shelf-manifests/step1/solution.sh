#!/bin/bash
kubectl apply -f /root/shelf/reading-room.yaml
