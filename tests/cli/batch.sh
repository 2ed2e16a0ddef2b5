#!/bin/bash
# Whole-program tests of hdbg's options and exit statuses (spec section 1).
. "$(dirname "$0")/lib.sh"

# run ARGS...: hdbg with stdin closed; sets OUT, ERR, RC.
run() {
	"$HDBG" "$@" </dev/null >"$WORK/out" 2>"$WORK/err"
	RC=$?
	OUT=$(cat "$WORK/out")
	ERR=$(cat "$WORK/err")
}

expect_rc() {
	[ "$RC" = "$1" ] || fail "hdbg ${*:2}: exit status $RC, expected $1; stdout [$OUT] stderr [$ERR]"
}

# Usage errors: exit 2, one line naming the offending argument, then the
# hint; nothing on stdout.
for args in "--bogus" "-x" "-p abc" "-p 0" "-p 12 ./prog" "--script" "-c"; do
	# shellcheck disable=SC2086
	run $args
	expect_rc 2 "$args"
	[ -z "$OUT" ] || fail "usage error '$args' printed on stdout: $OUT"
	[ "$(printf '%s\n' "$ERR" | wc -l)" = 2 ] || fail "usage error '$args': [$ERR]"
	printf '%s\n' "$ERR" | tail -n 1 | grep -qx "Try 'hdbg --help' for more information." ||
		fail "no hint after '$args': [$ERR]"
done
run --bogus
[ "$(printf '%s\n' "$ERR" | head -n 1)" = "hdbg: unknown option '--bogus'" ] || fail "[$ERR]"
run -p abc
[ "$(printf '%s\n' "$ERR" | head -n 1)" = "hdbg: -p: 'abc' is not a process id" ] || fail "[$ERR]"
pass "usage errors exit 2 with one line and a hint"

# The banner: printed by an interactive session (stdin a pipe here), not
# with -q, never in --batch.
printf '? 1\n' | "$HDBG" >"$WORK/out" 2>&1
head -n 1 "$WORK/out" | grep -q '^hdbg [0-9.]*: ' || fail "no banner: [$(cat "$WORK/out")]"
printf '? 1\n' | "$HDBG" -q >"$WORK/out" 2>&1
[ "$(cat "$WORK/out")" = "Evaluate expression: 1 = 0000000000000001" ] || fail "-q: [$(cat "$WORK/out")]"
run --batch -c '? 1'
[ "$OUT" = "Evaluate expression: 1 = 0000000000000001" ] || fail "--batch printed a banner: [$OUT]"
pass "banner, -q"

run --version
expect_rc 0 --version
[ "$OUT" = "hdbg $(sed -n 's/^project(hdbg VERSION \([0-9.]*\).*/\1/p' "$(dirname "$0")/../../CMakeLists.txt")" ] ||
	fail "--version printed [$OUT]"
run --help
expect_rc 0 --help
printf '%s\n' "$OUT" | grep -q -- '--return-child-result' || fail "--help: [$OUT]"
pass "--version and --help"

# A failing command in --batch: exit 1; the next commands still run.
run --batch -q -c "? 0n42"
expect_rc 0 "? 0n42"
answer=$OUT
[ -n "$answer" ] || fail "? 0n42 printed nothing"
run --batch -q -c "no_such_command_zz" -c "? 0n42"
expect_rc 1 "failing -c"
printf '%s\n' "$ERR" | grep -q "no_such_command_zz" || fail "the error does not name the command: [$ERR]"
[ "$OUT" = "$answer" ] || fail "the command after the failure: [$OUT], expected [$answer]"
pass "--batch: a failed command gives exit status 1"

# A target that cannot be started or attached: exit 1 in --batch, with one
# line naming it.
run --batch -q -c "? 0n42" "$WORK/no-such-program"
expect_rc 1 "missing program"
[ "$ERR" = "hdbg: cannot start '$WORK/no-such-program': No such file or directory" ] ||
	fail "missing program: [$ERR]"
pass "--batch: a target that cannot be started gives exit status 1"

# -x and -c run in command-line order; a failing line stops its file.
printf '? 0n2\n\n? 0n3\n' >"$WORK/ok.hd"
printf '? 0n5\nno_such_command_zz\n? 0n6\n' >"$WORK/bad.hd"
expect=""
for n in 1 2 3 4; do
	run --batch -q -c "? 0n$n"
	expect+="$OUT"$'\n'
done
run --batch -q -c "? 0n1" -x "$WORK/ok.hd" -ex "? 0n4"
expect_rc 0 "-c -x -ex"
[ "$OUT"$'\n' = "$expect" ] || fail "-c/-x/-ex order: [$OUT], expected [$expect]"
run --batch -q -x "$WORK/bad.hd" -c "? 0n4"
expect_rc 1 "-x with a failing line"
run --batch -q -c "? 0n5"
five=$OUT
run --batch -q -c "? 0n6"
six=$OUT
run --batch -q -x "$WORK/bad.hd" -c "? 0n4"
printf '%s\n' "$OUT" | grep -qxF -- "$five" || fail "-x: the line before the failure did not run: [$OUT]"
printf '%s\n' "$OUT" | grep -qxF -- "$six" && fail "-x: the line after the failure ran: [$OUT]"
printf '%s\n' "$ERR" | grep -q "bad.hd:2" || fail "-x: the failing line is not named: [$ERR]"
run --batch -q -x "$WORK/missing.hd"
expect_rc 1 "-x missing file"
printf '%s\n' "$ERR" | grep -q "missing.hd" || fail "missing -x file not named: [$ERR]"
pass "-x/-c order and -x failures"

# Commands on a pipe (no terminal): blocks joined, empty lines ignored (no
# repeat), q ends the input.
run --batch -q -c "? 0n1"
one=$OUT
block=$(printf '? {\nprintf("%%d\\n", 0n40 + 2);\n}')
run --batch -q -c "$block"
blockout=$OUT
[ -n "$blockout" ] || fail "the block printed nothing: [$ERR]"
OUT=$(printf '? 0n42\n\n%s\n? 0n1\nq\n? 0n42\n' "$block" | "$HDBG" -q 2>"$WORK/err")
RC=$?
ERR=$(cat "$WORK/err")
expect_rc 0 "commands on stdin"
[ "$OUT" = "$answer"$'\n'"$blockout"$'\n'"$one" ] ||
	fail "stdin commands printed [$OUT], expected [$answer / $blockout / $one]"
n=$(printf 'r rip\n\n\nq\n' | "$HDBG" -q "$TARGETS/simple" 2>&1 | grep -c '^rip=')
[ "$n" = 1 ] || fail "empty lines on a pipe repeated 'r rip': $n times"
pass "commands from a pipe"

# --script FILE ARGS: $arg1... are substituted by .script.
printf '? $arg1\n' >"$WORK/s.ds"
run --batch -q --script "$WORK/s.ds" 0n42
expect_rc 0 "--script"
[ "$OUT" = "$answer" ] || fail "--script printed [$OUT], expected [$answer]"
pass "--script"

# --return-child-result: the target's exit status.
for code in 0 7 200; do
	run --batch -q --return-child-result -c g "$CLI_TEST_BIN/exitcode" "$code"
	expect_rc "$code" "--return-child-result exitcode $code"
done
run --batch -q -c g "$CLI_TEST_BIN/exitcode" 7
expect_rc 0 "without --return-child-result"
pass "--return-child-result"

# -p PID --batch: attach, run the commands, detach; the process runs on.
"$TARGETS/sleeper" >"$WORK/sleeper.out" &
spid=$!
CHILDREN+=("$spid")
for _ in $(seq 50); do grep -q ready "$WORK/sleeper.out" && break; sleep 0.1; done
run --batch -q -p "$spid" -c "? 0n42"
expect_rc 0 "-p $spid"
[ "$(printf '%s\n' "$OUT" | tail -n 1)" = "$answer" ] || fail "-p: [$OUT]"
wait_state "$spid" '^[SR]$'   # runs on after the detach
kill -USR1 "$spid"
for _ in $(seq 50); do grep -q '^ticks' "$WORK/sleeper.out" && break; sleep 0.1; done
grep -q '^ticks [0-9]*$' "$WORK/sleeper.out" || fail "the detached process does not answer SIGUSR1"
kill "$spid"
pass "-p with --batch detaches"

# SIGINT during g in --batch: the target stops, hdbg goes on with the next
# command and ends normally, killing the target it started.
"$HDBG" --batch -q -c g -c "? 0n42" "$TARGETS/sleeper" 100000 >"$WORK/int.out" 2>&1 &
hpid=$!
CHILDREN+=("$hpid")
for _ in $(seq 50); do grep -q '^ready' "$WORK/int.out" && break; sleep 0.1; done
tpid=$(sed -n 's/^ready \([0-9]*\)$/\1/p' "$WORK/int.out")
[ -n "$tpid" ] || fail "sleeper did not start under hdbg: $(cat "$WORK/int.out")"
CHILDREN+=("$tpid")
sleep 0.2
kill -INT "$hpid"
for _ in $(seq 50); do kill -0 "$hpid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$hpid" 2>/dev/null && fail "hdbg still in g after SIGINT: $(cat "$WORK/int.out")"
wait "$hpid"
RC=$?
OUT=$(cat "$WORK/int.out")
ERR=""
expect_rc 0 "--batch -c g interrupted"
[ "$(tail -n 1 "$WORK/int.out")" = "$answer" ] ||
	fail "the command after the interrupted g did not run: [$OUT]"
for _ in $(seq 20); do kill -0 "$tpid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$tpid" 2>/dev/null && fail "the started target $tpid survived --batch"
pass "SIGINT during g in --batch"

# SIGTERM ends hdbg as q does: an attached process with a breakpoint is
# detached with its code restored and runs on (an int3 left behind would
# kill it with SIGTRAP on the next tick).
"$TARGETS/sleeper" >"$WORK/s2.out" &
spid=$!
CHILDREN+=("$spid")
for _ in $(seq 50); do grep -q ready "$WORK/s2.out" && break; sleep 0.1; done
mkfifo "$WORK/in"
"$HDBG" -q -p "$spid" -c "bp tick" -c "? 0n42" <"$WORK/in" >"$WORK/term.out" 2>&1 &
hpid=$!
CHILDREN+=("$hpid")
exec 3>"$WORK/in"   # hdbg waits for more commands on its stdin
for _ in $(seq 100); do grep -qxF -- "$answer" "$WORK/term.out" && break; sleep 0.1; done
grep -qxF -- "$answer" "$WORK/term.out" || fail "hdbg -p did not run its commands: $(cat "$WORK/term.out")"
kill -TERM "$hpid"
for _ in $(seq 50); do kill -0 "$hpid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$hpid" 2>/dev/null && fail "hdbg did not end on SIGTERM"
wait "$hpid"
RC=$?
OUT=$(cat "$WORK/term.out")
ERR=""
exec 3>&-
expect_rc 143 "SIGTERM"
sleep 0.1
kill -USR1 "$spid"
for _ in $(seq 50); do grep -q '^ticks' "$WORK/s2.out" && break; sleep 0.1; done
grep -q '^ticks [0-9]*$' "$WORK/s2.out" ||
	fail "the process detached on SIGTERM does not run on: $(cat "$WORK/s2.out")"
wait_state "$spid" '^[SR]$'
kill "$spid"
pass "SIGTERM detaches like q"

# --json: every stdout line is a JSON object, errors included.
run --batch -q --json -c "no_such_command_zz"
expect_rc 1 "--json"
[ -n "$OUT" ] || fail "--json printed nothing for an error (stderr [$ERR])"
printf '%s\n' "$OUT" | grep -qv '^{.*}$' && fail "--json: not JSON lines: [$OUT]"
pass "--json"

# An empty line ends `a ADDR`'s assembly mode in a -x file and on a pipe too
# (there it repeats nothing else): leaf is rewritten to return 0x77, so the
# program's sum changes from 26 to 123 (n = 2), and `u` after the empty line
# runs as a command.
asm_cmds='bp simple!leaf\ng\na simple!leaf\nmov rax, 0x77\nret\n\nu simple!leaf l 2\ng\n'
printf "$asm_cmds" >"$WORK/asm.hd"
for how in file pipe; do
	if [ $how = file ]; then
		OUT=$("$HDBG" --batch -q -x "$WORK/asm.hd" "$TARGETS/simple" 2 2>&1)
	else
		OUT=$(printf "$asm_cmds" | "$HDBG" -q "$TARGETS/simple" 2 2>&1)
	fi
	grep -q '^Hello world ! sum=123 counter=2$' <<<"$OUT" || fail "a ADDR via $how: [$OUT]"
	grep -Eq '^[0-9a-f]{16} c3 +ret$' <<<"$OUT" || fail "a ADDR via $how: no u after the empty line: [$OUT]"
	grep -q 'unknown mnemonic' <<<"$OUT" && fail "a ADDR via $how: a command was assembled: [$OUT]"
	pass "a ADDR ended by an empty line ($how)"
done
