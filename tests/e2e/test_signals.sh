#!/usr/bin/env bash
# Signals: a fault stops the target for the user (and is delivered when it
# resumes: the process dies of it, with its status reported); a signal the
# program handles itself is passed through without a stop.
source "$(dirname "$0")/lib.sh" "$@"
SIG=${HD_E2E_SIGNALS:-$T/../tests/e2e/signals}
if [ ! -x "$SIG" ]; then
	echo "SKIP: the signals test program ($SIG) is not built"
	exit 77
fi

CRASH_LINE=$(src_line "$E2E_SRC/signals.c" "*p = 42;")
out=$(hd -c g -c "r rdi" -c k -c g "$SIG" segv)
expect "segv" "$(skip_start <<<"$out" | normpid | grep -v '^[0-9a-f]\{16\} ' | sed '/^ # Child-SP/q')" <<X
signal 11 (SIGSEGV) in thread TID
signals!crash:
; signals.c:$CRASH_LINE
rdi=0000000000000000
 # Child-SP         RetAddr          Call Site
X
expect_match "segv stack" "$out" "^00 [0-9a-f]{16} [0-9a-f]{16} signals!crash \\[signals.c @ $CRASH_LINE\\]\$" \
	'^01 [0-9a-f]{16} [0-9a-f]{16} signals!main\+0x[0-9a-f]+ ' \
	'^process [0-9]+ killed by signal 11 \(SIGSEGV\)$'
"$HDBG" --batch -q --return-child-result -c g -c g "$SIG" segv >/dev/null 2>&1
expect_status "child result of a crash" "$?" 139

out=$(hd -c g "$SIG" usr1)
expect "a handled signal passes" "$(skip_start <<<"$out" | normpid)" <<'X'
usr1 handled: 10
process PID exited with status 0
X

# stepping through raise(): the signal is delivered and the step goes on
# into the program's handler
out=$(hd -c "bp main" -c g -c "bp libc!raise" -c g -c "t 100" -c "bc all" -c g "$SIG" usr1)
expect_match "step into a handler" "$out" '^signals!on_usr1:$' '^usr1 handled: 10$' \
	'^process [0-9]+ exited with status 0$'

out=$(hd -c g -c g "$SIG" abort)
expect_match "abort" "$out" '^signal 6 \(SIGABRT\) in thread [0-9]+$' '^process [0-9]+ killed by signal 6 \(SIGABRT\)$'
finish
