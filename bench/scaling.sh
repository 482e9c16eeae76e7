#!/bin/bash
# scaling.sh: first-backup throughput of the 1 GB LPSE dataset against
# GOMAXPROCS, for the "beyond two cores" curve in bench/README.md.
#
#   bench/scaling.sh CADANG GENDATA WORKDIR [RESTIC]
#
# CADANG and GENDATA are built binaries (go build ./cmd/cadang,
# go build ./bench/cmd/gendata), so the script runs on a machine without Go.
# WORKDIR holds the dataset and the repositories; on tmpfs (/dev/shm) the
# curve shows the pipeline's CPU scaling without the disk. If RESTIC is
# given, restic's first backup is timed at 2 cores and at all cores too, in
# the same invocation, as a reference. Every backup starts from a fresh
# repository with the page cache warm (the dataset was just written or read).
# Output: one line per backup, "tool GOMAXPROCS rep wall user sys MB/s".
set -euo pipefail
cadang=$1 gendata=$2 work=$3 restic=${4:-}
cores=$(nproc)
reps=${REPS:-2}
# shellcheck source=bench/scaling_lib.sh
. "$(dirname "$0")/scaling_lib.sh"
MBS=1
timed() { local tool=$1 n=$2 rep=$3; shift 3; run_timed "$tool $n $rep" "$n" "$@"; }

ns=(1 2 4 8 16 32)
for n in "${ns[@]}"; do
	[ "$n" -le "$cores" ] || break
	for rep in $(seq "$reps"); do
		rm -rf "$work/repo"
		"$cadang" -r "$work/repo" init >/dev/null
		timed cadang "$n" "$rep" "$cadang" -r "$work/repo" backup --quiet "$work/src"
	done
done
if [ -n "$restic" ]; then
	for n in 2 "$cores"; do
		rm -rf "$work/restic-repo" "$work/restic-cache"
		"$restic" -r "$work/restic-repo" init >/dev/null 2>&1
		timed restic "$n" 1 "$restic" -r "$work/restic-repo" backup --quiet "$work/src"
	done
fi
rm -rf "$work/repo" "$work/restic-repo" "$work/restic-cache"
