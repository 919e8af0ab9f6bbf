#!/bin/bash
kubectl -n memo label namespace memo step=two --overwrite
