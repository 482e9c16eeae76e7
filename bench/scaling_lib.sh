# scaling_lib.sh: what scaling.sh and scaling_parts.sh share. Sourced with
# $cadang, $gendata and $work set: exports the passwords, prints the
# machine, generates the dataset if needed (SCALE, default 1) and warms the
# page cache with it, and defines run_timed.

export CADANG_PASSWORD=scaling RESTIC_PASSWORD=scaling RESTIC_CACHE_DIR=$work/restic-cache
export CADANG_LOG=$work/runlog.jsonl
mkdir -p "$work"
echo "# $(date -u +%FT%TZ) $(uname -r), $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "# $(grep MemTotal /proc/meminfo), work dir $work on $(df -T "$work" | awk 'NR==2{print $2}')"
if [ ! -d "$work/src" ]; then
	start=$(date +%s.%N)
	"$gendata" -scale "${SCALE:-1}" "$work/src" >/dev/null
	echo "# dataset generated in $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s"
fi
bytes=$(du -sb "$work/src" | cut -f1)
find "$work/src" -type f -exec cat {} + >/dev/null # warm the page cache
echo "# dataset: $bytes bytes"

# run_timed LABEL N CMD...: runs CMD with GOMAXPROCS=N and prints
# "LABEL wall user sys" and, with MBS=1, the dataset's MB/s; on failure
# "LABEL FAILED: " and the end of its standard error.
run_timed() {
	local label=$1 n=$2 t wall user sys
	shift 2
	t=$({ TIMEFORMAT='%R %U %S'; time GOMAXPROCS=$n "$@" >/dev/null 2>"$work/err.log"; } 2>&1) || {
		echo "$label FAILED: $(tail -3 "$work/err.log")"
		return
	}
	read -r wall user sys <<<"$t"
	if [ "${MBS:-0}" = 1 ]; then
		echo "$label $wall $user $sys $(awk -v b="$bytes" -v w="$wall" 'BEGIN{printf "%.0f", b/1e6/w}')"
	else
		echo "$label $wall $user $sys"
	fi
}
