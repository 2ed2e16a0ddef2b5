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
finish
