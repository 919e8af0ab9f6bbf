#!/bin/bash
kubectl label node node01 disk=fast
