#!/usr/bin/env bash
# Runs every test of cadang: go vet, then go test -race over all packages,
# including the integration tests against a real PostgreSQL. It installs what
# is missing (Debian's postgresql package) when it can; the tests themselves
# start throwaway servers on loopback ports and stop them again.
#
# Usage: bash scripts/test.sh [extra go test flags]
set -euo pipefail
cd "$(dirname "$0")/.."

have_pg() { ls -d /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }

if ! have_pg; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing postgresql (Debian package) for the integration tests"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || echo "apt-get update failed; trying the install anyway"
    apt-get install -y -qq postgresql >/dev/null || echo "could not install postgresql: its integration tests will skip"
  else
    echo "postgresql is not installed and this is not a root Debian shell: its integration tests will skip"
  fi
fi
# The Debian package may start a cluster of its own; the tests use their own
# server on another port, so leave it alone.

echo "== go vet"
go vet ./...

echo "== go test -race"
# -p 2 matches the 2-core CI machine; timeouts are generous for -race.
go test -race -p 2 -timeout 40m "$@" ./...
