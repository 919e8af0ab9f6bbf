#!/bin/bash
kubectl create namespace tour
