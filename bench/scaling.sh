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
export CADANG_PASSWORD=scaling RESTIC_PASSWORD=scaling RESTIC_CACHE_DIR=$work/restic-cache
export CADANG_LOG=$work/runlog.jsonl
cores=$(nproc)
reps=${REPS:-2}
mkdir -p "$work"
echo "# $(date -u +%FT%TZ) $(uname -r), $cores cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "# $(grep MemTotal /proc/meminfo), work dir $work on $(df -T "$work" | awk 'NR==2{print $2}')"
if [ ! -d "$work/src" ]; then
	start=$(date +%s.%N)
	"$gendata" -scale "${SCALE:-1}" "$work/src" >/dev/null
	echo "# dataset generated in $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s"
fi
bytes=$(du -sb "$work/src" | cut -f1)
find "$work/src" -type f -exec cat {} + >/dev/null # warm the page cache
echo "# dataset: $bytes bytes"

# timed TOOL N REP CMD...: runs CMD with GOMAXPROCS=N, prints one line.
timed() {
	local tool=$1 n=$2 rep=$3
	shift 3
	local t
	t=$({ TIMEFORMAT='%R %U %S'; time GOMAXPROCS=$n "$@" >/dev/null 2>"$work/err.log"; } 2>&1) || {
		echo "$tool $n $rep FAILED: $(tail -3 "$work/err.log")"
		return
	}
	read -r wall user sys <<<"$t"
	echo "$tool $n $rep $wall $user $sys $(awk -v b="$bytes" -v w="$wall" 'BEGIN{printf "%.0f", b/1e6/w}')"
}

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
