#!/usr/bin/env bash
# On the control-plane node, as root. The token is given (a learner lets kubeadm pick one) so that
# the workstation part of this reference solution can write the same join command.
set -euo pipefail
kubeadm token create {{tokid}}.{{toksecret}} --ttl {{ttl}} --description "{{desc}}" --print-join-command
kubeadm certs check-expiration
