#!/bin/bash
kubectl -n team-a create quota pods-max --hard=pods=5
