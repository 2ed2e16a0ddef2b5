#!/usr/bin/env bash
# !epthook with the break action (an event with neither code nor script):
# `event 0x<id> triggered (pre)` and the instruction at the hooked address,
# the registers of the call, the pseudo-registers of the event at the
# prompt, `g` continues; two events on one address break newest first in
# the same occurrence; symbol+offset addresses; `t` from the break runs the
# hooked instruction; pause() in a script; three threads hitting one hook
# (no break lost); the int3 form (more than 4 hooks) behaves the same.
source "$(dirname "$0")/lib.sh" "$@"
S=$T/poolsim
LINE=$(grep -n 'ExAllocatePoolWithTag(int PoolType' "$E2EV_SRC/../targets/poolsim.c" | cut -d: -f1)
# the line of the function's opening brace (where its first instruction is)
LINE=$((LINE + 1))
BREAK="event 0x0 triggered (pre)
poolsim!ExAllocatePoolWithTag:
; poolsim.c:$LINE
ADDR 55               push rbp"
HLINE=$(grep -n "^HOOK(0)" "$E2EV_SRC/evprog.c" | cut -d: -f1)
CALL="ExAllocatePoolWithTag(PoolType=0, NumberOfBytes=0x40, Tag='HDBG')"

out=$(hd -c '!epthook ExAllocatePoolWithTag' -c g -c 'r rcx rdx r8' -c '? @rip - ExAllocatePoolWithTag' \
	-c '? $context - ExAllocatePoolWithTag' -c '? $event_id' -c '? $event_stage' -c g -c g -c events -- "$S" 2)
expect "break twice, g continues" "$(skip_start <<<"$out" | normi)" <<X
$BREAK
rcx=0000000000000000
rdx=0000000000000040
r8=0000000047424448
Evaluate expression: 0 = 0000000000000000
Evaluate expression: 0 = 0000000000000000
Evaluate expression: 0 = 0000000000000000
Evaluate expression: 0 = 0000000000000000
$CALL
$BREAK
$CALL
process PID exited with status 0
0	(enabled)	    !epthook ExAllocatePoolWithTag 
X

# two events on one address: both break in the same occurrence, newest
# first; `g` goes from one to the other, then the function runs
out=$(hd -c '!epthook ExAllocatePoolWithTag' -c '!epthook ExAllocatePoolWithTag' -c g -c '? $event_id' \
	-c g -c '? $event_id' -c g -- "$S" 1)
expect "two breaks, newest first" "$(skip_start <<<"$out" | normi)" <<X
${BREAK/0x0/0x1}
Evaluate expression: 1 = 0000000000000001
$BREAK
Evaluate expression: 0 = 0000000000000000
$CALL
process PID exited with status 0
X

# the address may be any expression: symbol+offset (the second instruction)
OFF=$(objdump -d --no-show-raw-insn "$S" | awk '/<ExAllocatePoolWithTag>:/{f=1;next} f&&/:/{n++} f&&n==2{print $1; exit}' | tr -d ':')
D=$((0x$OFF - 0x$(sym_off "$S" ExAllocatePoolWithTag)))
out=$(hd -c "!epthook ExAllocatePoolWithTag+$(printf '%x' $D)" -c g -c "? @rip - ExAllocatePoolWithTag" \
	-c '? $context - @rip' -c g -- "$S" 1)
expect "symbol+offset" "$(skip_start <<<"$out" | normi | grep -v '^;')" <<X
event 0x0 triggered (pre)
poolsim!ExAllocatePoolWithTag+0x$(printf '%x' $D):
ADDR 4889e5           mov rbp, rsp
Evaluate expression: $D = $(printf '%016x' $D)
Evaluate expression: 0 = 0000000000000000
$CALL
process PID exited with status 0
X

# numbers are hex by default (0x, 0n decimal as in HyperDbg): a decimal
# address without 0n is another (unmapped) address
A=$(sym_off "$T/simple" add)
out=$(hd -c "!epthook $((16#$A)) script { printf(\"no\n\"); }" \
	-c "!epthook 0n$((16#$A)) script { printf(\"dec %x\n\", \$event_id); }" \
	-c "!epthook 0x$A script { printf(\"0x %x\n\", \$event_id); }" \
	-c "!epthook $(printf %x $((16#$A))) script { printf(\"hex %x\n\", \$event_id); }" \
	-c "!epthook simple!add script { printf(\"sym %x\n\", \$event_id); }" -c g -- "$T/simple" 1)
expect "number forms" "$(skip_start <<<"$out" | normi)" <<X
err, cannot arm event 0x0 (!epthook): address not mapped
sym 3
hex 2
0x 1
dec 0
Hello world ! sum=6 counter=1
process PID exited with status 0
X

# `t` from the break runs the hooked instruction (hardware and int3 hook)
FILL=(-c '!epthook main script { }' -c '!epthook main+1 script { }' -c '!epthook main+4 script { }'
	-c '!epthook main+6 script { }')
for n in 0 4; do
	fill=()
	[ $n = 4 ] && fill=("${FILL[@]}")
	out=$(hd "${fill[@]}" -c '!epthook ExAllocatePoolWithTag' -c g -c t -c '? @rip - ExAllocatePoolWithTag' \
		-c 'events c all' -c g -- "$S" 2)
	expect "t from the break (event $n)" "$(sed -n '/^event/,$p' <<<"$out" | grep -v '^;' | normi)" <<X
event 0x$n triggered (pre)
poolsim!ExAllocatePoolWithTag:
ADDR 55               push rbp
poolsim!ExAllocatePoolWithTag+0x1:
ADDR 4889e5           mov rbp, rsp
Evaluate expression: 1 = 0000000000000001
$CALL
$CALL
process PID exited with status 0
X
done

# pause() in a script breaks at the call; `g` runs the rest of the script
# (test_pause.sh has the details)
out=$(hd -c '!epthook ExAllocatePoolWithTag script { printf("before\n"); pause(); printf("after\n"); }' \
	-c g -c '? $event_id' -c g -- "$S" 1)
expect "pause()" "$(skip_start <<<"$out" | normi)" <<X
before
$BREAK
Evaluate expression: 0 = 0000000000000000
after
$CALL
process PID exited with status 0
X

# three threads hit the hook three times each: nine breaks, none lost, and
# the program computes its total
args=()
for _ in $(seq 10); do args+=(-c g); done
out=$(hd -c '!epthook step' "${args[@]}" -- "$T/threads" 3 3)
expect_count "nine breaks" "$out" 9 '^event 0x0 triggered \(pre\)$'
expect_count "nine at step" "$out" 9 '^threads!step:$'
expect "threads: end" "$(tail -2 <<<"$out" | normi)" <<X
threads=3 total=9
process PID exited with status 0
X

# more hooks than debug registers: the fifth and later are int3 hooks with
# the same behaviour (the displaced instruction runs out of line); the
# other hooks' scripts run too and the program computes the right sum
out=$(hd -c '!epthook evprog!f0 script { printf("f0 %llx\n", @rdi); }' -c '!epthook evprog!f1 script { printf("f1\n"); }' \
	-c '!epthook evprog!f2 script { printf("f2\n"); }' -c '!epthook evprog!f3 script { printf("f3\n"); }' \
	-c '!epthook evprog!f4 script { printf("f4\n"); }' -c '!epthook evprog!f5' -c g -c '? $event_id' -c 'r rdi' -c g -c g -- "$P" hooks 2)
expect "int3 hooks" "$(skip_start <<<"$out" | normi)" <<X
ready PID
f0 0
f1
f2
f3
f4
event 0x5 triggered (pre)
evprog!f5:
; evprog.c:$HLINE
ADDR 488d047f         lea rax, [rdi+rdi*2]
Evaluate expression: 5 = 0000000000000005
rdi=0000000000000000
f0 1
f1
f2
f3
f4
event 0x5 triggered (pre)
evprog!f5:
; evprog.c:$HLINE
ADDR 488d047f         lea rax, [rdi+rdi*2]
done sum=51
process PID exited with status 0
X
finish
