#!/usr/bin/env bash
# Script actions of !epthook: printf with the event's pseudo-registers
# ($context, $event_id, $event_tag, $event_stage, $buffer, $pid, $tid, $ip)
# and the thread's registers; `buffer N` gives the script its own zeroed,
# persistent buffer; writes to registers reach the thread (the tag, and
# HyperDbg's way to skip a function through @rip/@rsp); event_disable /
# event_clear from scripts; script {file:PATH}; a run-time error ends only
# that script; a hook in a shared library; `imm no` output comes in one
# piece at the end.
source "$(dirname "$0")/lib.sh" "$@"
S=$T/poolsim
call() { echo "ExAllocatePoolWithTag(PoolType=0, NumberOfBytes=0x40, Tag='$1')"; }
run() {
	local n=$1
	shift
	local a=() c
	for c in "$@"; do a+=(-c "$c"); done
	hd "${a[@]}" -c g -- "$S" "$n" | skip_start | normi
}

# --- pseudo-registers and registers ---
expect "pseudo-registers" "$(run 2 '!epthook ExAllocatePoolWithTag script { printf("ctx-fn=%llx id=%x tag=%llx stage=%x buf=%llx pid-tid=%llx ip-ctx=%llx r8=%llx rdx=%llx\n", $context - ExAllocatePoolWithTag, $event_id, $event_tag, $event_stage, $buffer, $pid - $tid, $ip - $context, @r8, @rdx); }')" <<X
ctx-fn=0 id=0 tag=1000000 stage=0 buf=0 pid-tid=0 ip-ctx=0 r8=47424448 rdx=40
$(call HDBG)
ctx-fn=0 id=0 tag=1000000 stage=0 buf=0 pid-tid=0 ip-ctx=0 r8=47424448 rdx=40
$(call HDBG)
process PID exited with status 0
X
# ids of later events; $pid is the target's (printed by hdbg at start)
out=$(hd -c '!epthook main script { }' -c '!epthook ExAllocatePoolWithTag script { printf("id=%x tag=%llx pid=%d\n", $event_id, $event_tag, $pid); }' -c g -- "$S" 1)
pid=$(sed -nE 's/^process ([0-9]+) started: .*/\1/p' <<<"$out")
expect "event id 1, \$pid" "$(skip_start <<<"$out" | normi)" <<X
id=1 tag=1000001 pid=$pid
$(call HDBG)
process PID exited with status 0
X

# --- buffer N: the script's own buffer, zeroed, kept across hits ---
expect "script buffer" "$(run 3 '!epthook ExAllocatePoolWithTag buffer 8 script { if ($buffer) { eq($buffer, dq($buffer) + 1); } printf("n=%d\n", dq($buffer)); }')" <<X
n=1
$(call HDBG)
n=2
$(call HDBG)
n=3
$(call HDBG)
process PID exited with status 0
X

# --- register writes reach the thread ---
expect "script sets r8" "$(run 2 '!epthook ExAllocatePoolWithTag script { if (@r8 == 47424448) { @r8 = 32424448; } }')" <<X
$(call HDB2)
$(call HDB2)
process PID exited with status 0
X
expect "script skips the function" "$(run 2 '!epthook ExAllocatePoolWithTag script { @rip = poi(@rsp); @rsp = @rsp + 8; @rax = 0; printf("skipped\n"); }')" <<X
skipped
skipped
process PID exited with status 0
X

# the same through an int3 hook: the displaced instruction is not run
expect "script skips the function (int3)" "$(run 2 '!epthook main script { }' '!epthook main+1 script { }' \
	'!epthook main+4 script { }' '!epthook main+6 script { }' \
	'!epthook ExAllocatePoolWithTag script { @rip = poi(@rsp); @rsp = @rsp + 8; @rax = 0; printf("skipped\n"); }')" <<X
skipped
skipped
process PID exited with status 0
X

# --- event_disable / event_clear from scripts, newest first ---
out=$(hd -c '!epthook ExAllocatePoolWithTag script { printf("A\n"); event_disable($event_id); }' \
	-c '!epthook ExAllocatePoolWithTag script { printf("B\n"); event_clear($event_id); }' \
	-c '!epthook ExAllocatePoolWithTag script { printf("C %x\n", $event_id); }' -c g -c events -- "$S" 3)
expect "event_disable/event_clear" "$(skip_start <<<"$out" | normi)" <<X
C 2
B
A
$(call HDBG)
C 2
$(call HDBG)
C 2
$(call HDBG)
process PID exited with status 0
0	(disabled)	    !epthook ExAllocatePoolWithTag script { printf("A\n"); event_disable(\$...
2	(enabled)	    !epthook ExAllocatePoolWithTag script { printf("C %x\n", \$event_id); }...
X

# --- script {file:PATH} ---
printf 'printf("from file %%x r8=%%llx\\n", $event_id, @r8);\n' >"$TMPD/s.ds"
expect "script file" "$(run 1 "!epthook ExAllocatePoolWithTag script {file:$TMPD/s.ds}")" <<X
from file 0 r8=47424448
$(call HDBG)
process PID exited with status 0
X

# --- a run-time error ends only that script; other events still run ---
expect "run-time error" "$(run 2 '!epthook ExAllocatePoolWithTag script { printf("older\n"); }' \
	'!epthook ExAllocatePoolWithTag script { printf("a\n"); x = dq(0); printf("not reached\n"); }')" <<X
a
err, ScriptEngineExecute, function = FUNC_DQ
older
$(call HDBG)
a
err, ScriptEngineExecute, function = FUNC_DQ
older
$(call HDBG)
process PID exited with status 0
X

# --- a hook in a shared library (pie + libhdlib.so), set once it is loaded ---
out=$(hd -c 'bp pie_compute' -c g -c 'bc 0' \
	-c '!epthook libhdlib!hdlib_mul script { printf("mul %d %d\n", @rdi, @rsi); @rsi = 4; }' -c g -- "$T/pie")
expect "shared library" "$(sed -n '/^mul/,$p' <<<"$out" | normi)" <<X
mul 0 3
mul 1 3
mul 2 3
mul 3 3
mul 4 3
pie result=$((4 * 10 + 5 * (0x1234 + 1)))
process PID exited with status 0
X

# --- imm no: the messages are gathered and delivered in one piece ---
expect "imm no" "$(run 2 '!epthook ExAllocatePoolWithTag imm no script { printf("m%d ", $event_id); }')" <<X
$(call HDBG)
$(call HDBG)
process PID exited with status 0
m0 m0 
X
finish
