# Helpers of the end-to-end tests (sourced): run hdbg in batch mode and
# compare outputs with heredocs, elfutils testrun_compare style.
# Usage of a test: bash test_x.sh HDBG TARGET_DIR
set -u
HDBG=${1:?usage: test_x.sh HDBG TARGET_DIR}
T=${2:?usage: test_x.sh HDBG TARGET_DIR}
E2E_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TARGET_SRC=$E2E_SRC/../targets
passed=0
failed=0
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

# hd ARGS...: hdbg in batch mode without banner, stderr merged, bounded time.
hd() {
	timeout 60 "$HDBG" --batch -q "$@" 2>&1
}

# norm: stable text: pids and 16-digit addresses replaced.
norm() {
	sed -E -e 's/process [0-9]+/process PID/g' -e 's/thread [0-9]+/thread TID/g' \
	       -e 's/\b[0-9a-f]{16}\b/ADDR/g'
}

# normpid: only pids and tids replaced.
normpid() {
	sed -E -e 's/process [0-9]+/process PID/g' -e 's/thread [0-9]+/thread TID/g'
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

# sym_addr PROG NAME: a symbol's address (16 hex digits) from nm.
sym_addr() {
	printf '%016x' "0x$(nm "$1" | awk -v n="$2" '$3 == n {print $1; exit}')"
}

# src_line FILE TEXT: the first line number of FILE containing TEXT.
src_line() {
	grep -nF -- "$2" "$1" | head -1 | cut -d: -f1
}

# repeat N WORDS...: N times "-c WORDS" (a bash array in REPLY_ARGS).
repeat_c() {
	local n=$1 i
	shift
	REPLY_ARGS=()
	for ((i = 0; i < n; i++)); do REPLY_ARGS+=(-c "$*"); done
}

finish() {
	echo "$(basename "$0" .sh): $passed passed, $failed failed"
	[ "$failed" = 0 ]
	exit
}
