#!/usr/bin/env bash
# Runs every test of cadang: go vet, then go test -race over all packages,
# including the integration tests against a real PostgreSQL and a real S3
# server (versitygw) and a real SFTP server (OpenSSH). It installs what is
# missing (Debian's postgresql and openssh-server packages, versitygw via go
# install) when it can; the PostgreSQL tests start throwaway servers
# themselves, and this script starts versitygw and sshd on free loopback
# ports and stops them on exit.
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
# SFTP (below): a throwaway sshd, stopped by its PID file.
SSHD_DIR=
stop_sshd() {
  if [ -n "$SSHD_DIR" ]; then
    if [ -s "$SSHD_DIR/sshd.pid" ]; then kill "$(cat "$SSHD_DIR/sshd.pid")" 2>/dev/null || true; fi
    rm -rf "$SSHD_DIR"
  fi
}
cleanup() { stop_versitygw; stop_sshd; }
trap cleanup EXIT

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

# SFTP: a throwaway OpenSSH server (recipe in ../shared/test-servers.md) on a
# free loopback port, with its own host and client keys, for
# repo/backend/sftp and the CLI's SFTP tests; they skip without it.
if [ ! -x /usr/sbin/sshd ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing openssh-server (Debian package) for the SFTP tests"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || echo "apt-get update failed; trying the install anyway"
    apt-get install -y -qq openssh-server >/dev/null || echo "could not install openssh-server: the SFTP tests will skip"
  else
    echo "sshd is not installed and this is not a root Debian shell: the SFTP tests will skip"
  fi
fi
start_sshd() {
  command -v ssh-keygen >/dev/null && command -v ssh-keyscan >/dev/null && command -v python3 >/dev/null || return 1
  SSHD_DIR="$(mktemp -d "${TMPDIR:-/tmp}/cadang-sshd.XXXXXX")" || return 1
  local D="$SSHD_DIR" port user
  chmod 700 "$D"; mkdir -p "$D/data"
  ssh-keygen -q -t ed25519 -N '' -f "$D/host_ed25519" || return 1
  ssh-keygen -q -t ed25519 -N '' -f "$D/client_ed25519" || return 1
  cp "$D/client_ed25519.pub" "$D/authorized_keys"; chmod 600 "$D/authorized_keys"
  if [ "$(id -u)" = 0 ]; then mkdir -p /run/sshd; fi
  user="$(id -un)"
  for _ in 1 2 3; do
    port="$(free_port)"
    # StrictModes no: the temporary directory sits below a world-writable
    # /tmp, and sshd's ownership checks then refuse authorized_keys.
    cat >"$D/sshd_config" <<SSHD_CONFIG
Port $port
ListenAddress 127.0.0.1
HostKey $D/host_ed25519
PidFile $D/sshd.pid
AuthorizedKeysFile $D/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
SSHD_CONFIG
    rm -f "$D/sshd.pid"
    /usr/sbin/sshd -f "$D/sshd_config" -E "$D/sshd.log" || continue
    for _ in $(seq 50); do
      if [ -s "$D/sshd.pid" ] && (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
      sleep 0.1
    done
    if [ -s "$D/sshd.pid" ] && ssh-keyscan -p "$port" -t ed25519 127.0.0.1 2>/dev/null |
        sed "s/^127.0.0.1/[127.0.0.1]:$port/" >"$D/known_hosts" && [ -s "$D/known_hosts" ]; then
      export CADANG_TEST_SFTP="sftp://$user@127.0.0.1:$port$D/data"
      export CADANG_TEST_SFTP_IDENTITY="$D/client_ed25519" CADANG_TEST_SFTP_KNOWN_HOSTS="$D/known_hosts"
      echo "== sshd on 127.0.0.1:$port (pid $(cat "$D/sshd.pid")), CADANG_TEST_SFTP=$CADANG_TEST_SFTP"
      return 0
    fi
    if [ -s "$D/sshd.pid" ]; then kill "$(cat "$D/sshd.pid")" 2>/dev/null || true; fi
  done
  return 1
}
if [ -x /usr/sbin/sshd ]; then
  if ! start_sshd; then
    echo "sshd did not start (log: $(tail -3 "$SSHD_DIR/sshd.log" 2>/dev/null)): the SFTP tests will skip"
    unset CADANG_TEST_SFTP CADANG_TEST_SFTP_IDENTITY CADANG_TEST_SFTP_KNOWN_HOSTS
  fi
fi

echo "== go vet"
go vet ./...

echo "== fuzz targets, ${CADANG_FUZZTIME:-10s} each"
# Every fuzz target of the module (any `func FuzzXxx` in a *_test.go file;
# a new one is picked up without editing this), one at a time, since
# go test fuzzes one target per run. Their seed corpora also run in the
# plain go test below; this adds a short random search each.
# CADANG_FUZZTIME=0 skips it.
#
# Go 1.26's fuzzing coordinator can fail a target with a bare "context
# deadline exceeded" when -fuzztime runs out while a worker is busy
# (golang/go#75804, fixed in Go 1.27), and a loaded 2-core machine makes
# that likely. A count budget (-fuzztime Nx) avoids the race but not the
# spread between targets (the restore planner runs ~10 inputs a second, the
# decoders ~40,000). So a target fails the run when go test fails and
# either wrote a failing input to testdata/fuzz/NAME or said something else.
fuzz_fail=0
if [ "${CADANG_FUZZTIME:-10s}" != 0 ]; then
  while IFS=: read -r file name; do
    dir="$(dirname "$file")"
    corpus="$dir/testdata/fuzz/$name"
    before="$(ls "$corpus" 2>/dev/null | sort || true)"  # a target may have no corpus yet
    out="$(mktemp)"
    if go test -run '^$' -fuzz "^${name}\$" -fuzztime "${CADANG_FUZZTIME:-10s}" "$dir" >"$out" 2>&1; then
      tail -2 "$out"
    else
      cat "$out"
      after="$(ls "$corpus" 2>/dev/null | sort || true)"
      if [ "$before" = "$after" ] && grep -q 'context deadline exceeded' "$out" &&
          ! grep -q -e 'panic:' -e 'Failing input written' "$out"; then
        echo "fuzz $name: Go's coordinator stopped on its own deadline (golang/go#75804), no failing input: not a failure"
      else
        echo "fuzz $name: FAILED (a failing input is in $corpus when one was found)"
        fuzz_fail=1
      fi
    fi
    rm -f "$out"
  done < <(grep -rHo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' . | sed 's/:func /:/' | sort)
fi
if [ "$fuzz_fail" != 0 ]; then
  echo "a fuzz target failed: see above"
  exit 1
fi

echo "== go test -race"
# -p 2 matches the 2-core CI machine; timeouts are generous for -race.
go test -race -p 2 -timeout 40m "$@" ./...
