#!/usr/bin/env bash
# Process control and the script-engine commands through the real hdbg:
# .start/.restart/.kill without a program on the command line, .script
# with textual $argN, `?` and `print` in the stopped thread's context,
# -x files, bad input (one line, exit status 1, target unchanged), and
# the poolsim target's Microsoft-ABI arguments.
source "$(dirname "$0")/lib.sh" "$@"
S=$T/simple
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# .start with arguments, .restart keeps breakpoints, .kill
out=$(hd -c ".start $S 3" -c "bp simple!add" -c g -c "r rsi" -c ".restart" -c g -c "r rsi" -c "bc 0" -c g -c ".kill")
expect_count "two starts" "$out" 2 '^process [0-9]+ (started|restarted): '
expect_count "bp kept over .restart" "$out" 2 '^breakpoint 0 hit$'
expect_count "first argument" "$out" 2 '^rsi=0000000000000001$'
expect_match "runs with its arguments" "$out" '^Hello world ! sum=26 counter=3$' \
	'^process [0-9]+ exited with status 0$' '^error: no target process'
out=$(hd -c ".start $S" -c ".kill" -c "r")
expect "kill" "$(grep -v '^[0-9a-f]\{16\} ' <<<"$out" | grep -v ':$' | norm)" <<X
process PID started: $S
process PID killed
error: no target process (use .start PATH or .attach PID)
X

# ? and print in the stopped thread's context
out=$(hd -c "bp simple!add" -c g -c "? @rsi + 1" -c "? poi(table + 8)" -c "? { printf(\"b=%llx pid=%d\\n\", @rsi, \$pid - \$tid); }" \
	-c "print @rsi * 0n10" -c "? { @rsi = 0n100; }" -c "bc 0" -c g "$S")
expect_match "? with registers and memory" "$out" '^Evaluate expression: 2 = 0000000000000002$' \
	'^Evaluate expression: 2 = 0000000000000002$' '^b=1 pid=0$' '^a$' \
	'^Hello world ! sum=554 counter=10$'

# .script FILE ARGS: $arg0 is the file, $argN the arguments (textually)
cat >"$tmp/cmds.hds" <<'X'
bp $arg1
g
? { printf("b=%llx\n", @rsi);
}
r rsi = $arg2
bc all
g
X
out=$(hd -c ".script $tmp/cmds.hds simple!add 0n100" "$S")
expect "script" "$(skip_start <<<"$out" | norm | grep -v '^ADDR ')" <<X
breakpoint 0 hit
simple!add:
; simple.c:$(src_line "$TARGET_SRC/simple.c" "counter++;")
b=1
Hello world ! sum=554 counter=10
process PID exited with status 0
X

# -x FILE runs commands in order with -c
printf 'bp leaf\ng\n' >"$tmp/x.hds"
out=$(hd -x "$tmp/x.hds" -c "r rdi" "$S")
expect_match "-x then -c" "$out" '^simple!leaf:$' '^rdi=0000000000000027$'

# bad input: one line each, naming the token; exit status 1; nothing changed
out=$(hd -c "bp nosuchsym" -c "db 12zz" -c "db 0 l 10" -c "eb greeting 100" -c "frob" -c "bl" \
	-c "r rflags2" -c "u nosuch" -c "bc 5" -c "s -b greeting l 4" -c g "$S")
status=$?
expect "bad input" "$(skip_start <<<"$out" | norm)" <<'X'
error: unknown symbol 'nosuchsym'
error: bad number '12zz'
error: cannot read 16 bytes at '0' (ADDR): address not mapped
error: value '100' does not fit in 1 byte
error: unknown command 'frob'
error: unknown register 'rflags2'
error: unknown symbol 'nosuch'
error: no breakpoint '5'
error: missing arguments (usage: s -b ADDR l LEN PATTERN)
Hello world ! sum=158 counter=10
process PID exited with status 0
X
expect_status "batch exit status after errors" "$status" 1
hd -c "? 1" >/dev/null
expect_status "batch exit status" "$?" 0

# q ends the commands (the started target is killed with the session)
out=$(hd -c "? 1" -c q -c "? 2" "$S")
expect "q" "$(skip_start <<<"$out")" <<'X'
Evaluate expression: 1 = 0000000000000001
X

# --json: one object per line, errors included
out=$("$HDBG" --batch -q --json -c "? 0n10" -c "frob" 2>&1)
expect "json" "$out" <<'X'
{"type":"output","text":"Evaluate expression: 10 = 000000000000000a"}
{"type":"error","message":"unknown command 'frob'"}
X

# poolsim: the Microsoft x64 ABI arguments of ExAllocatePoolWithTag
out=$(hd -c "bp ExAllocatePoolWithTag" -c g -c "r rcx" -c "r rdx" -c "r r8" -c "r r8d" -c g "$T/poolsim")
expect_match "poolsim" "$out" '^breakpoint 0 hit$' '^poolsim!ExAllocatePoolWithTag:$' \
	'^rcx=0000000000000000$' '^rdx=0000000000000040$' '^r8=0000000047424448$' '^r8d=47424448$' \
	"^ExAllocatePoolWithTag\\(PoolType=0, NumberOfBytes=0x40, Tag='HDBG'\\)$"
# `? EXPR` reads the session's globals, which `?` scripts and event scripts share.
out=$(hd -c '? .c0 = 5;' -c '? .c0 + 1' -c '? .nosuch')
expect "? reads globals" "$out" <<'X'
Evaluate expression: 6 = 0000000000000006
error: bad expression '.nosuch' at column 1: Syntax Error: Unresolved Variable
X

finish
