#!/bin/sh
# Like the official traefik image: arguments that start with "-" are flags for traefik.
set -e
case "${1:-}" in -*) set -- traefik "$@" ;; esac
exec "$@"
