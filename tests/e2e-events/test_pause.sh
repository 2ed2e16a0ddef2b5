#!/usr/bin/env bash
# pause() in an event script breaks at the call itself: the break lines
# come before the rest of the script, the prompt has the event's context
# ($context, $event_id, `events sc`, the registers the script wrote), and
# `g` runs the rest of the script from the next statement with the
# registers the user set, then the event's custom code, then the older
# events; a loop pausing several times; a local whose address was taken
# before the pause; `events c` of the paused event, `.kill` and `q`
# while paused (the suspended run is dropped); `t`/`p` from a pause run
# the rest, then complete the instruction as the step; pause() in `?`.
source "$(dirname "$0")/lib.sh" "$@"
S=$T/poolsim
LINE=$(grep -n 'ExAllocatePoolWithTag(int PoolType' "$E2EV_SRC/../targets/poolsim.c" | cut -d: -f1)
LINE=$((LINE + 1))
BREAK="event 0x0 triggered (pre)
poolsim!ExAllocatePoolWithTag:
; poolsim.c:$LINE
ADDR 55               push rbp"
call() { echo "ExAllocatePoolWithTag(PoolType=${2:-0}, NumberOfBytes=0x40, Tag='$1')"; }
run() {
	local n=$1
	shift
	local a=() c
	for c in "$@"; do a+=(-c "$c"); done
	hd "${a[@]}" -- "$S" "$n" | skip_start | normi
}

# the break comes at pause(); the rest sees the rax set at the prompt; the
# prompt and the function (PoolType = rcx) see what the script wrote
# before the pause
expect "pause, r rax, g" "$(run 1 '!epthook ExAllocatePoolWithTag script { printf("before\n"); @rcx = 0x55; pause(); printf("after %x rcx=%x\n", @rax, @rcx); }' \
	g 'r rcx' '? $context - ExAllocatePoolWithTag' '? $event_id' 'r rax = 1234' g)" <<X
before
$BREAK
rcx=0000000000000055
Evaluate expression: 0 = 0000000000000000
Evaluate expression: 0 = 0000000000000000
after 1234 rcx=55
$(call HDBG 85)
process PID exited with status 0
X

# a loop with pause() inside: each `g` goes on to the next iteration; the
# next hit starts afresh
expect "loop" "$(run 2 '!epthook ExAllocatePoolWithTag script { for (i = 0; i < 3; i++) { printf("i=%d\n", i); pause(); } printf("end %d\n", i); }' \
	g g g g g g g | grep -v -e '^;' -e '^poolsim!' -e '^ADDR')" <<X
i=0
event 0x0 triggered (pre)
i=1
event 0x0 triggered (pre)
i=2
event 0x0 triggered (pre)
end 3
$(call HDBG)
i=0
event 0x0 triggered (pre)
i=1
event 0x0 triggered (pre)
i=2
event 0x0 triggered (pre)
end 3
$(call HDBG)
process PID exited with status 0
X

# `&local` taken before the pause (in the body and in a function's frame)
# still points to the variable after it
expect "local address" "$(run 1 '!epthook ExAllocatePoolWithTag script { int twice(int n) { int y = n * 2; int *q = &y; pause(); *q = *q + 1; return y; } x = 5; p = &x; pause(); eq(p, 9); r = twice(0n20); printf("x=%d *p=%d r=%d\n", x, dq(p), r); }' \
	g g g | grep -v -e '^;' -e '^poolsim!' -e '^ADDR')" <<X
event 0x0 triggered (pre)
event 0x0 triggered (pre)
x=9 *p=9 r=41
$(call HDBG)
process PID exited with status 0
X

# the event's custom code runs after the rest of its script (the tag is
# still HDBG at the prompt and in the script; the code makes it HDB2)
expect "custom code after the resume" "$(run 1 '!epthook ExAllocatePoolWithTag script { printf("s1 %x\n", @r8); pause(); printf("s2 %x\n", @r8); } code {48C7424048444232C3}' \
	g 'r r8' g)" <<X
s1 47424448
$BREAK
r8=0000000047424448
s2 47424448
$(call HDB2)
process PID exited with status 0
X

# two events on one address, the newer pausing: the older one runs after
# `g`, once the newer's script is over
expect "older event after g" "$(run 1 '!epthook ExAllocatePoolWithTag script { printf("old\n"); }' \
	'!epthook ExAllocatePoolWithTag script { printf("new1\n"); pause(); printf("new2\n"); }' g '? $event_id' g)" <<X
new1
${BREAK/0x0/0x1}
Evaluate expression: 1 = 0000000000000001
new2
old
$(call HDBG)
process PID exited with status 0
X

# `events c` of the paused event: the rest of its script is dropped, the
# older event still runs; `events c all`: nothing more runs
expect "events c while paused" "$(run 2 '!epthook ExAllocatePoolWithTag script { printf("old\n"); }' \
	'!epthook ExAllocatePoolWithTag script { printf("new1\n"); pause(); printf("new2\n"); }' g 'events c 1' events g)" <<X
new1
${BREAK/0x0/0x1}
0	(enabled)	    !epthook ExAllocatePoolWithTag script { printf("old\n"); } 
old
$(call HDBG)
old
$(call HDBG)
process PID exited with status 0
X
expect "events c all while paused" "$(run 2 '!epthook ExAllocatePoolWithTag script { printf("old\n"); }' \
	'!epthook ExAllocatePoolWithTag script { printf("new1\n"); pause(); printf("new2\n"); }' g 'events c all' events g)" <<X
new1
${BREAK/0x0/0x1}
no active/disabled events 
$(call HDBG)
$(call HDBG)
process PID exited with status 0
X

# a script that cleared its own event before pausing still finishes
expect "cleared itself, then paused" "$(run 2 '!epthook ExAllocatePoolWithTag script { event_clear($event_id); pause(); printf("rest\n"); }' \
	g events g)" <<X
$BREAK
no active/disabled events 
rest
$(call HDBG)
$(call HDBG)
process PID exited with status 0
X

# the target goes away while paused: the suspended run is dropped (the
# sanitizer build checks that nothing leaks); the event stays registered
out=$(run 2 '!epthook ExAllocatePoolWithTag script { printf("new1\n"); pause(); printf("new2\n"); }' g .kill events)

expect ".kill while paused" "$out" <<X
new1
$BREAK
process PID killed
0	(enabled)	    !epthook ExAllocatePoolWithTag script { printf("new1\n"); pause(); pri...
X
out=$(hd -c '!epthook ExAllocatePoolWithTag script { printf("new1\n"); pause(); printf("new2\n"); }' -c g -c q -- "$S" 2)
expect_status "q while paused" $? 0
expect "q while paused: output" "$(skip_start <<<"$out" | normi)" <<X
new1
$BREAK
X
out=$(hd -c '!epthook ExAllocatePoolWithTag script { pause(); printf("never\n"); }' -c g -- "$S" 2)
expect_status "batch ends while paused" $? 0
expect_count "batch ends while paused: the rest never runs" "$out" 0 'never'

# `t` (and `p`) from a pause: the rest of the script and the older events
# run, then the hooked instruction; the hook at the next instruction
# fires only when that instruction runs
for c in t p; do
	expect "$c from a pause" "$(run 1 '!epthook ExAllocatePoolWithTag+1 script { printf("next\n"); }' \
		'!epthook ExAllocatePoolWithTag script { printf("old\n"); }' \
		'!epthook ExAllocatePoolWithTag script { printf("new1\n"); pause(); printf("new2 %x\n", @rip - ExAllocatePoolWithTag); }' \
		g $c '? @rip - ExAllocatePoolWithTag' g | grep -v '^;')" <<X
new1
event 0x2 triggered (pre)
poolsim!ExAllocatePoolWithTag:
ADDR 55               push rbp
new2 0
old
poolsim!ExAllocatePoolWithTag+0x1:
ADDR 4889e5           mov rbp, rsp
Evaluate expression: 1 = 0000000000000001
next
$(call HDBG)
process PID exited with status 0
X
done
# `t` from a pause that pauses again: the step ends at the second break,
# before the instruction
expect "t to the next pause" "$(run 1 '!epthook ExAllocatePoolWithTag script { pause(); printf("a\n"); pause(); printf("b\n"); }' \
	g t '? @rip - ExAllocatePoolWithTag' t '? @rip - ExAllocatePoolWithTag' g | grep -v '^;')" <<X
event 0x0 triggered (pre)
poolsim!ExAllocatePoolWithTag:
ADDR 55               push rbp
a
event 0x0 triggered (pre)
poolsim!ExAllocatePoolWithTag:
ADDR 55               push rbp
Evaluate expression: 0 = 0000000000000000
b
poolsim!ExAllocatePoolWithTag+0x1:
ADDR 4889e5           mov rbp, rsp
Evaluate expression: 1 = 0000000000000001
$(call HDBG)
process PID exited with status 0
X

# a short-circuiting kind: `events sc on` at the pause skips the syscall
# and the rest of the script gives its result
out=$(hd -c '!syscall 6e script { printf("in %x\n", $context); pause(); printf("rest\n"); @rax = 0n77; }' \
	-c g -c 'events sc on' -c '? $context' -c g -- "$P" sys 1)
expect "events sc on at a pause" "$(skip_start <<<"$out" | grep -E '^(in|rest|getppid|event|Evaluate)')" <<X
in 6e
event 0x0 triggered (pre)
Evaluate expression: 110 = 000000000000006e
rest
getppid=77
X

# pause() outside an event keeps its message; the script goes on
expect "pause in ?" "$(run 1 '? { pause(); printf("x\n"); }' g)" <<X
err, pause() works only inside events
x
$(call HDBG)
process PID exited with status 0
X

finish
