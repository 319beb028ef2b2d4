#!/bin/sh
# e2e: the compromised host's /usr/bin/python3 (see forge.py). Ansible's module runs (a
# pipelined payload on stdin, or an AnsiballZ file) go through forge.py; anything else
# (the apps) runs the real interpreter unchanged.
real=/usr/local/lib/otlp-forge/python3.real
if [ $# -eq 0 ]; then exec "$real" /usr/local/lib/otlp-forge/forge.py; fi
case "$1" in */AnsiballZ_*.py) exec "$real" /usr/local/lib/otlp-forge/forge.py "$@" ;; esac
exec "$real" "$@"
