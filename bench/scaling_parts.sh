#!/bin/bash
# scaling_parts.sh: what bounds the first backup on many cores. Times, at
# the given GOMAXPROCS values, the backup of the whole 1 GB dataset, of the
# 300 MB dump alone, and of everything but the dump; the fixed cost of
# opening a repository (`snapshots`: key derivation and index load); and
# the restore of the whole dataset by cadang and, if given, restic.
#
#   bench/scaling_parts.sh CADANG GENDATA WORKDIR [RESTIC] [N...]
#
# Output: "what tool GOMAXPROCS wall user sys" per line.
set -euo pipefail
cadang=$1 gendata=$2 work=$3 restic=${4:-}
shift 4 || shift $#
ns=("$@")
[ ${#ns[@]} -gt 0 ] || ns=(2 8 16)
export CADANG_PASSWORD=scaling RESTIC_PASSWORD=scaling RESTIC_CACHE_DIR=$work/restic-cache
export CADANG_LOG=$work/runlog.jsonl
mkdir -p "$work"
echo "# $(date -u +%FT%TZ) $(nproc) cores, work dir $work on $(df -T "$work" | awk 'NR==2{print $2}')"
[ -d "$work/src" ] || "$gendata" -scale "${SCALE:-1}" "$work/src" >/dev/null
find "$work/src" -type f -exec cat {} + >/dev/null

timed() {
	local what=$1 tool=$2 n=$3
	shift 3
	local t
	t=$({ TIMEFORMAT='%R %U %S'; time GOMAXPROCS=$n "$@" >/dev/null 2>"$work/err.log"; } 2>&1) || {
		echo "$what $tool $n FAILED: $(tail -3 "$work/err.log")"
		return
	}
	echo "$what $tool $n $t"
}

fresh() { rm -rf "$work/repo" && "$cadang" -r "$work/repo" init >/dev/null; }

for n in "${ns[@]}"; do
	fresh
	timed all cadang "$n" "$cadang" -r "$work/repo" backup --quiet "$work/src"
	timed open cadang "$n" "$cadang" -r "$work/repo" snapshots
	rm -rf "$work/restore"
	timed restore cadang "$n" "$cadang" -r "$work/repo" restore latest --target "$work/restore" --quiet
	fresh
	timed dump cadang "$n" "$cadang" -r "$work/repo" backup --quiet "$work/src/db"
	fresh
	timed nodump cadang "$n" "$cadang" -r "$work/repo" backup --quiet "$work/src/app" "$work/src/dokumen"
	if [ -n "$restic" ]; then
		rm -rf "$work/restic-repo" "$work/restic-cache" "$work/restore"
		"$restic" -r "$work/restic-repo" init >/dev/null 2>&1
		GOMAXPROCS=$n "$restic" -r "$work/restic-repo" backup --quiet "$work/src" >/dev/null 2>&1
		timed restore restic "$n" "$restic" -r "$work/restic-repo" restore latest --target "$work/restore"
	fi
done
rm -rf "$work/repo" "$work/restic-repo" "$work/restic-cache" "$work/restore"
