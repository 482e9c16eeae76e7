#!/usr/bin/env bash
# Runs every test of cadang: go vet, then go test -race over all packages,
# including the integration tests against a real PostgreSQL and a real S3
# server (versitygw). It installs what is missing (Debian's postgresql
# package, versitygw via go install) when it can; the PostgreSQL tests start
# throwaway servers themselves, and this script starts versitygw on a free
# loopback port and stops it on exit.
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

# S3: a throwaway versitygw (S3 gateway over a directory) on a free loopback
# port, for repo/backend/s3 and the CLI's S3 tests; they skip without it.
VERSITYGW_VERSION=v1.8.0
VGW_PID=
VGW_DIR=
stop_versitygw() {
  if [ -n "$VGW_PID" ]; then kill "$VGW_PID" 2>/dev/null || true; wait "$VGW_PID" 2>/dev/null || true; fi
  if [ -n "$VGW_DIR" ]; then rm -rf "$VGW_DIR"; fi
}
trap stop_versitygw EXIT

find_versitygw() {
  local gobin
  gobin="$(go env GOBIN)"; [ -n "$gobin" ] || gobin="$(go env GOPATH)/bin"
  if [ -x "$gobin/versitygw" ]; then echo "$gobin/versitygw"; return 0; fi
  command -v versitygw 2>/dev/null
}
# xattrs_ok DIR: versitygw's posix backend keeps metadata in user xattrs.
xattrs_ok() {
  python3 - "$1" <<'PY' 2>/dev/null
import os, sys
p = os.path.join(sys.argv[1], ".xattr-probe")
open(p, "w").close()
try:
    os.setxattr(p, "user.cadang", b"1")
finally:
    os.remove(p)
PY
}
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

VGW="$(find_versitygw || true)"
if [ -z "$VGW" ]; then
  echo "== installing versitygw $VERSITYGW_VERSION (go install, ~2 min cold) for the S3 tests"
  if go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"; then
    VGW="$(find_versitygw || true)"
  else
    echo "could not install versitygw: the S3 tests will skip"
  fi
fi
if [ -n "$VGW" ] && command -v python3 >/dev/null 2>&1; then
  for base in "${TMPDIR:-/tmp}" /var/tmp "$HOME" "$PWD"; do
    d="$(mktemp -d "$base/cadang-versitygw.XXXXXX" 2>/dev/null)" || continue
    if xattrs_ok "$d"; then VGW_DIR="$d"; break; fi
    rm -rf "$d"
  done
  if [ -z "$VGW_DIR" ]; then
    echo "no directory with user xattrs for versitygw: the S3 tests will skip"
  else
    mkdir -p "$VGW_DIR/data"
    for attempt in 1 2 3; do
      port="$(free_port)"
      "$VGW" --access cadangtest --secret cadangtestsecret --port "127.0.0.1:$port" posix "$VGW_DIR/data" >"$VGW_DIR/versitygw.log" 2>&1 &
      VGW_PID=$!
      for _ in $(seq 50); do
        if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
        sleep 0.1
      done
      if kill -0 "$VGW_PID" 2>/dev/null && (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        export CADANG_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
        export CADANG_TEST_S3_ACCESS=cadangtest CADANG_TEST_S3_SECRET=cadangtestsecret
        echo "== versitygw on $CADANG_TEST_S3_ENDPOINT (pid $VGW_PID)"
        break
      fi
      kill "$VGW_PID" 2>/dev/null || true; wait "$VGW_PID" 2>/dev/null || true; VGW_PID=
    done
    if [ -z "$VGW_PID" ]; then
      echo "versitygw did not start (log: $(tail -3 "$VGW_DIR/versitygw.log" 2>/dev/null)): the S3 tests will skip"
    fi
  fi
fi

echo "== go vet"
go vet ./...

echo "== go test -race"
# -p 2 matches the 2-core CI machine; timeouts are generous for -race.
go test -race -p 2 -timeout 40m "$@" ./...
