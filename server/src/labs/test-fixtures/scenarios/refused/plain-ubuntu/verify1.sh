#!/bin/bash
command -v containerd
