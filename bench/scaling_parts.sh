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
# shellcheck source=bench/scaling_lib.sh
. "$(dirname "$0")/scaling_lib.sh"
timed() { local what=$1 tool=$2 n=$3; shift 3; run_timed "$what $tool $n" "$n" "$@"; }

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
