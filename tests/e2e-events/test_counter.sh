#!/usr/bin/env bash
# Four threads hit one !epthook whose custom code counts in its buffer
# (`lock inc qword ptr [rcx]`) 4 x 25,000 times: the count is exact.
# hdbg has no command that shows a custom-code action's buffer (`$buffer`
# at the prompt and in scripts is the script action's own buffer), so the
# code also hands its buffer's address over in GUEST_REGS.rax (dead at the
# entry of step()); an older event on the same address, which runs after
# the newer one, keeps it in a global once; a script on libc's exit prints
# the count.
source "$(dirname "$0")/lib.sh" "$@"
out=$(hd -c 'bp main' -c g -c 'bc 0' \
	-c '!epthook step script { .b = @rax; event_disable($event_id); }' \
	-c '!epthook step buffer 8 asm code { lock inc qword ptr [rcx]; mov [rdx], rcx }' \
	-c '!epthook exit script { printf("count=%d\n", dq(.b)); }' -c g -c events -- "$T/threads" 4 25000)
expect "exact count" "$(sed -n '/^count=/,$p' <<<"$out" | normi)" <<'X'
count=100000
threads=4 total=100000
process PID exited with status 0
0	(disabled)	    !epthook step script { .b = @rax; event_disable($event_id); } 
1	(enabled)	    !epthook step buffer 8 asm code { lock inc qword ptr [rcx]; mov [rdx],...
2	(enabled)	    !epthook exit script { printf("count=%d\n", dq(.b)); } 
X

# the same through an int3 hook (four hooks on functions called a few
# times take the debug registers first): the displaced instruction runs
# out of line for every thread
out=$(hd -c 'bp main' -c g -c 'bc 0' -c '!epthook worker script { }' -c '!epthook pthread_create script { }' \
	-c '!epthook pthread_join script { }' -c '!epthook printf script { }' \
	-c '!epthook step script { .b = @rax; event_disable($event_id); }' \
	-c '!epthook step buffer 8 asm code { lock inc qword ptr [rcx]; mov [rdx], rcx }' \
	-c '!epthook exit script { printf("count=%d\n", dq(.b)); }' -c g -- "$T/threads" 4 10000)
expect "exact count through int3" "$(sed -n '/^count=/,$p' <<<"$out" | normi)" <<'X'
count=40000
threads=4 total=40000
process PID exited with status 0
X
# The same counts on the one-stop path: events with custom code only run
# in the target (the runner continues through an out-of-line stub), so no
# script may share the address. The code counts in evprog's `hooked`,
# which evprog prints; f0..f3 (named with the module: `f0` is a number)
# never run in `count` mode.
CODE='asm code { mov rax, evprog!hooked; lock inc qword ptr [rax] }'
# the agent's arena lies within 2 GiB of the hooked program (PIE), so a
# block reaches its variables rip-relative too
out=$(hd -c "!epthook counted asm code { lock inc qword ptr [rip+evprog!hooked] }" -c g -- "$P" count 1000 1)
expect "rip-relative to the PIE program's variable" "$(skip_start <<<"$out" | normi)" <<'X'
count threads=1 calls=1000 hooked=1000
process PID exited with status 0
X
out=$(hd -c "!epthook counted $CODE" -c g -- "$P" count 25000 4)
expect "one stop, debug register, 4 threads" "$(skip_start <<<"$out" | normi)" <<'X'
count threads=4 calls=100000 hooked=100000
process PID exited with status 0
X
out=$(hd -c "!epthook counted $CODE" -c g -- "$P" count 20000 1)
expect "one stop, debug register, 1 thread" "$(skip_start <<<"$out" | normi)" <<'X'
count threads=1 calls=20000 hooked=20000
process PID exited with status 0
X
SPARE=(-c '!epthook evprog!f0 script { }' -c '!epthook evprog!f1 script { }' -c '!epthook evprog!f2 script { }'
	-c '!epthook evprog!f3 script { }')
out=$(hd "${SPARE[@]}" -c "!epthook counted $CODE" -c g -- "$P" count 25000 4)
expect "one stop, int3, 4 threads" "$(skip_start <<<"$out" | normi)" <<'X'
count threads=4 calls=100000 hooked=100000
process PID exited with status 0
X
out=$(hd "${SPARE[@]}" -c "!epthook counted $CODE" -c g -- "$P" count 20000 1)
expect "one stop, int3, 1 thread" "$(skip_start <<<"$out" | normi)" <<'X'
count threads=1 calls=20000 hooked=20000
process PID exited with status 0
X

# A debug-register hit whose DR6 status the CPU lost (now and then in KVM
# guests) reaches hdbg as a SIGTRAP that the kernel takes for an int1;
# `dbtrap lost` makes exactly that stop at dbtrap_at every time. It is the
# hook's hit, counted once, on both paths, and no signal for the program.
CODE='asm code { mov rax, dbtrap!hooked; lock inc qword ptr [rax] }'
out=$(hd -c "!epthook dbtrap_at $CODE" -c g -- "$T/dbtrap" lost 1000)
expect "lost DR6 status, one stop" "$(skip_start <<<"$out" | normi)" <<'X'
traps=0 calls=1000 hooked=1000
process PID exited with status 0
X
out=$(hd -c '!epthook dbtrap_at script { }' -c "!epthook dbtrap_at $CODE" -c g -- "$T/dbtrap" lost 1000)
expect "lost DR6 status, two stops" "$(skip_start <<<"$out" | normi)" <<'X'
traps=0 calls=1000 hooked=1000
process PID exited with status 0
X
finish
