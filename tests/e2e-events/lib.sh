# Helpers of the event end-to-end tests (sourced). The comparison helpers
# are those of tests/e2e/lib.sh (copied: that folder has its own owner);
# added here: the debuggee evprog, skipping kinds not implemented yet, a
# live hdbg session driven through a pipe, and code-versus-file checks.
# Usage of a test: bash test_x.sh HDBG TARGET_DIR
set -u
HDBG=${1:?usage: test_x.sh HDBG TARGET_DIR}
T=${2:?usage: test_x.sh HDBG TARGET_DIR}
E2EV_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
P=${HD_E2EV_PROG:-$T/../tests/e2e-events/evprog}
passed=0
failed=0
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
TMPD=$(mktemp -d)
cleanup_pids=()
# at exit: end the debuggees and hdbg sessions this test started and that
# still run (a pid is checked against its program: pids are reused)
cleanup() {
	local p exe
	for p in "${cleanup_pids[@]}"; do
		exe=$(readlink "/proc/$p/exe" 2>/dev/null) || continue
		case $exe in "$(readlink -f "$P")" | "$(readlink -f "$HDBG")" | */timeout) kill "$p" ;; esac
	done
	rm -rf "$TMPD"
}
trap cleanup EXIT

# hd ARGS...: hdbg in batch mode without banner, stderr merged, bounded time.
hd() {
	timeout 30 "$HDBG" --batch -q "$@" 2>&1
}

# normi: pids and the address that starts an instruction line replaced.
normi() {
	sed -E -e 's/process [0-9]+/process PID/g' -e 's/thread [0-9]+/thread TID/g' \
	       -e 's/^ready [0-9]+$/ready PID/' -e 's/^[0-9a-f]{16} /ADDR /'
}

# skip_start: drop the lines printed when the program starts (up to and
# including the first instruction line).
skip_start() {
	sed -e '1,/^[0-9a-f]\{16\} /d'
}

ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $1"; }

# expect NAME "$actual" <<'X' ... X: whole-output comparison.
expect() {
	local name=$1 actual=$2 expected
	expected=$(cat)
	if [ "$actual" == "$expected" ]; then
		ok
	else
		bad "$name"
		diff -u <(printf '%s\n' "$expected") <(printf '%s\n' "$actual") | sed 's/^/    /'
	fi
}

# expect_match NAME "$actual" REGEX...: each extended regex matches a line.
expect_match() {
	local name=$1 actual=$2 re
	shift 2
	for re in "$@"; do
		if ! grep -Eq -- "$re" <<<"$actual"; then
			bad "$name: no line matches /$re/"
			printf '%s\n' "$actual" | sed 's/^/    /'
			return
		fi
	done
	ok
}

# expect_line NAME "$actual" LINE...: each line occurs, verbatim.
expect_line() {
	local name=$1 actual=$2 l
	shift 2
	for l in "$@"; do
		if ! grep -Fxq -- "$l" <<<"$actual"; then
			bad "$name: no line '$l'"
			printf '%s\n' "$actual" | sed 's/^/    /'
			return
		fi
	done
	ok
}

# expect_count NAME "$actual" N REGEX: exactly N lines match.
expect_count() {
	local name=$1 actual=$2 n=$3 re=$4 got
	got=$(grep -Ec -- "$re" <<<"$actual")
	if [ "$got" = "$n" ]; then ok; else bad "$name: $got lines match /$re/, want $n"; printf '%s\n' "$actual" | sed 's/^/    /'; fi
}

# expect_status NAME GOT WANT
expect_status() {
	if [ "$2" = "$3" ]; then ok; else bad "$1: exit status $2, want $3"; fi
}

# sym_off PROG NAME: a symbol's value in the file (hex, no prefix).
sym_off() {
	nm "$1" | awk -v n="$2" '$3 == n {print $1; exit}'
}

finish() {
	echo "$(basename "$0" .sh): $passed passed, $failed failed"
	[ "$failed" = 0 ]
	exit
}

# need_kind COMMAND: exit 77 with the reason when hdbg answers that the
# event command is not implemented yet (the test is enabled as soon as
# the kind is).
need_kind() {
	local out
	out=$(hd -c "$1" -- "$T/simple")
	if grep -q 'is not implemented yet' <<<"$out"; then
		echo "SKIP: hdbg answers: $(grep 'is not implemented yet' <<<"$out")"
		exit 77
	fi
}

# start_bg OUTFILE PROG ARGS...: start a debuggee in the background that
# prints "ready PID" first; waits for that line. Sets BG_PID.
start_bg() {
	local out=$1 i
	shift
	"$@" >"$out" &
	BG_PID=$!
	cleanup_pids+=("$BG_PID")
	for i in $(seq 200); do grep -qs '^ready' "$out" && return 0; sleep 0.02; done
	bad "$1 did not print its ready line"
	return 1
}

# ---- a live hdbg session reading its commands from a pipe ----
# live_start ARGS...: hdbg -q ARGS (not batch), output in $TMPD/live.out.
live_start() {
	rm -f "$TMPD/live.in" "$TMPD/live.out"
	mkfifo "$TMPD/live.in"
	timeout 60 "$HDBG" -q "$@" <"$TMPD/live.in" >"$TMPD/live.out" 2>&1 &
	LIVE_PID=$!
	cleanup_pids+=("$LIVE_PID")
	exec 9>"$TMPD/live.in"
	LIVE_SEQ=0
	LIVE_SEEN=0
}

# live CMD...: send the commands, then wait until hdbg has run them all (a
# `?` marker comes back). LIVE_OUT: what they printed (marker excluded).
live() {
	local c i n
	for c in "$@"; do printf '%s\n' "$c" >&9; done
	LIVE_SEQ=$((LIVE_SEQ + 1))
	n=$((900000 + LIVE_SEQ))
	printf '? 0n%d\n' "$n" >&9
	for i in $(seq 1000); do
		grep -qs "^Evaluate expression: $n = " "$TMPD/live.out" && break
		kill -0 "$LIVE_PID" 2>/dev/null || break
		sleep 0.02
	done
	LIVE_OUT=$(tail -n +$((LIVE_SEEN + 1)) "$TMPD/live.out" | grep -v "^Evaluate expression: $n = ")
	LIVE_SEEN=$(wc -l <"$TMPD/live.out")
}

# live_end CMD...: send the last commands, close the pipe, wait for hdbg.
# LIVE_OUT: the rest of its output; LIVE_RC: its exit status.
live_end() {
	local c
	for c in "$@"; do printf '%s\n' "$c" >&9; done
	exec 9>&-
	wait "$LIVE_PID"
	LIVE_RC=$?
	LIVE_OUT=$(tail -n +$((LIVE_SEEN + 1)) "$TMPD/live.out")
}

# ---- the code of a process against its file ----
# code_equals_file NAME PID FILE: every executable mapping of FILE in the
# process has the file's bytes at the same offsets (nothing patched).
code_equals_file() {
	local name=$1 pid=$2 file=$3 n=0 range perms off rest path start end size
	while read -r range perms off _ _ path; do
		[ "$path" = "$(readlink -f "$file")" ] || continue
		case $perms in r-x*) ;; *) continue ;; esac
		start=$((0x${range%-*})); end=$((0x${range#*-})); off=$((0x$off))
		dd if=/proc/$pid/mem of="$TMPD/mem" bs=4096 iflag=skip_bytes,count_bytes \
			skip=$start count=$((end - start)) status=none
		dd if="$file" of="$TMPD/file" bs=4096 iflag=skip_bytes,count_bytes \
			skip=$off count=$((end - start)) status=none
		size=$(stat -c %s "$TMPD/file")
		head -c "$size" "$TMPD/mem" >"$TMPD/mem2"
		if ! cmp -s "$TMPD/mem2" "$TMPD/file"; then
			bad "$name: code at $range differs from $file"
			cmp -l "$TMPD/mem2" "$TMPD/file" | head -5 | sed 's/^/    /'
			return
		fi
		n=$((n + 1))
	done </proc/$pid/maps
	if [ "$n" -ge 1 ]; then ok; else bad "$name: no executable mapping of $file in process $pid"; fi
}

# maps_equal NAME PID FILE: /proc/PID/maps is FILE (taken before the
# attach): nothing mapped or unmapped by hdbg is left.
maps_equal() {
	if diff -u "$3" "/proc/$2/maps" >"$TMPD/maps.diff"; then
		ok
	else
		bad "$1: the mappings changed"
		sed 's/^/    /' "$TMPD/maps.diff"
	fi
}

# load_base PID FILE: the address where FILE's offset 0 is mapped (hex).
load_base() {
	awk -v f="$(readlink -f "$2")" '$6 == f && $3 == "00000000" {split($1, a, "-"); print a[1]; exit}' \
		/proc/$1/maps
}

# mem_byte PID ADDR(hex): one byte of the process's memory, 2 hex digits.
mem_byte() {
	dd if=/proc/$1/mem bs=1 iflag=skip_bytes skip=$((0x$2)) count=1 status=none | od -An -tx1 | tr -d ' \n'
}
