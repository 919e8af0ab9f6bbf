#!/bin/bash
until [ -f /root/.memo-prepared ]; do sleep 1; done
echo "The environment is ready."
