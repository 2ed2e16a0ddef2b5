#!/usr/bin/env bash
# !syscall [NUM] and !sysret [NUM] through hdbg on evprog's getppid calls
# (0x6e): context = the number, @rax, short-circuiting (`sc on`, event_sc)
# with the script's or the custom code's @rax as the result, stages pre,
# post and all, the break action in both stages, a syscall by name, all
# syscalls, the errors; and a target detached after its syscalls were
# traced still gets real results (no filter left failing them).
source "$(dirname "$0")/lib.sh" "$@"
need_kind '!syscall 6e'
# the parent's pid (hdbg's) varies: getppid results of 2 digits or more
# are the real one
np() { skip_start | normi | sed -E 's/^getppid=[0-9]{2,}$/getppid=PPID/'; }
run() {
	local n=$1
	shift
	local a=() c
	for c in "$@"; do a+=(-c "$c"); done
	hd "${a[@]}" -c g -- "$P" sys "$n" | np
}
TAIL="getpid_ok=1
process PID exited with status 0"

expect "context and rax" "$(run 2 '!syscall getppid script { printf("sc %llx rax=%llx stage=%x\n", $context, @rax, $event_stage); }')" <<X
sc 6e rax=6e stage=0
getppid=PPID
sc 6e rax=6e stage=0
getppid=PPID
$TAIL
X
expect "sc on: the script's rax is the result" "$(run 2 '!syscall 6e sc on script { @rax = 5; }')" <<X
getppid=5
getppid=5
$TAIL
X
expect "event_sc(1) once" "$(run 2 '? .n = 0;' '!syscall 6e script { .n = .n + 1; if (.n == 1) { @rax = 5; event_sc(1); } }')" <<X
getppid=5
getppid=PPID
$TAIL
X
expect "sc on, event_sc(0) lets it run" "$(run 1 '!syscall 6e sc on script { event_sc(0); }')" <<X
getppid=PPID
$TAIL
X
expect "custom code sets rax, sc on" "$(run 1 '!syscall 6e sc on code {48C70207000000}')" <<X
getppid=7
$TAIL
X
expect "stage post changes the result" "$(run 1 '!syscall 6e stage post script { printf("post %llx %x\n", $context, $event_stage); @rax = 0n8; }')" <<X
post 6e 1
getppid=8
$TAIL
X
expect "stage all" "$(run 1 '!syscall 6e stage all script { printf("all %x\n", $event_stage); }')" <<X
all 0
all 1
getppid=PPID
$TAIL
X
# generic options on a trap kind: conditions (in the target: rcx =
# GUEST_REGS, rdx = context), buffer, pid
expect "condition false" "$(run 1 '!syscall 6e condition {31C0} sc on script { @rax = 5; }')" <<X
getppid=PPID
$TAIL
X
expect "asm condition on the context" "$(run 1 '!syscall 6e asm condition { xor eax, eax; cmp rdx, 0x6e; sete al } sc on script { @rax = 5; }')" <<X
getppid=5
$TAIL
X
expect "buffer" "$(run 3 '!syscall 6e buffer 8 script { eq($buffer, dq($buffer) + 1); printf("n=%d\n", dq($buffer)); }')" <<X
n=1
getppid=PPID
n=2
getppid=PPID
n=3
getppid=PPID
$TAIL
X
expect "pid of another process" "$(run 1 '!syscall 6e pid 1 sc on script { @rax = 5; }')" <<X
getppid=PPID
$TAIL
X
# a short-circuited syscall has no post pass
expect "sc: no post pass" "$(run 1 '!syscall 6e stage post script { printf("post\n"); }' '!syscall 6e sc on script { @rax = 5; }')" <<X
getppid=5
$TAIL
X
# (getpid twice: syscall(SYS_getpid) and libc's getpid())
expect "all syscalls, filtered in the script" "$(run 1 '!syscall script { if ($context == 27) { printf("getpid\n"); } }')" <<X
getppid=PPID
getpid
getpid
$TAIL
X
out=$(hd -c '!syscall 6e' -c g -c 'r rax' -c '? $context' -c '? $event_stage' -c g -- "$P" sys 1)
expect "break pre" "$(np <<<"$out" | grep -v '^;')" <<X
event 0x0 triggered (pre)
libc!syscall+0x19:
ADDR 483d01f0ffff     cmp rax, 0xfffffffffffff001
rax=000000000000006e
Evaluate expression: 110 = 000000000000006e
Evaluate expression: 0 = 0000000000000000
getppid=PPID
$TAIL
X
out=$(hd -c '!syscall 6e stage post' -c g -c '? $context' -c '? $event_stage' -c 'r rax = 4' -c g -- "$P" sys 1)
expect "break post" "$(np <<<"$out" | grep -v '^;')" <<X
event 0x0 triggered (post)
libc!syscall+0x19:
ADDR 483d01f0ffff     cmp rax, 0xfffffffffffff001
Evaluate expression: 110 = 000000000000006e
Evaluate expression: 1 = 0000000000000001
getppid=4
$TAIL
X

# `events sc on` while paused by the break: the syscall is skipped, rax
# (set at the prompt) is the result; `events sc off` lets it run
out=$(hd -c '!syscall 6e' -c g -c 'events sc on' -c 'r rax = 6' -c g -c 'events sc off' -c g -- "$P" sys 2)
expect "events sc on/off" "$(np <<<"$out" | grep -E '^(getppid|event)')" <<X
event 0x0 triggered (pre)
getppid=6
event 0x0 triggered (pre)
getppid=PPID
X

# every thread's syscalls: four threads exit (0x3c), then exit_group (0xe7)
out=$(hd -c '!syscall 3c script { printf("exit %d\n", @rdi); }' -c '!syscall e7 script { printf("exit_group %d\n", @rdi); }' \
	-c g -- "$T/threads" 4 100)
expect "threads" "$(skip_start <<<"$out" | normi)" <<'X'
exit 0
exit 0
exit 0
exit 0
threads=4 total=400
exit_group 0
process PID exited with status 0
X

# !sysret: after the kernel returned; context = the number; @rax = result
expect "sysret" "$(run 1 '!sysret 6e script { printf("ret %llx\n", $context); @rax = 0n9; }')" <<X
ret 6e
getppid=9
$TAIL
X

# errors: one line, nothing registered
out=$(hd -c '!syscall nosuchcall' -c '!sysret 100000000' -c '!syscall 6e sc on stage post' -c '!syscall 6e 6f' \
	-c '!sysret 6e sc on' -c '!sysret 6e stage post' -c '!syscall 6e code {zz}' -c events -- "$P" sys 1)
expect "errors" "$(skip_start <<<"$out")" <<'X'
err, unknown system call 'nosuchcall' for '!syscall'
err, the system call number '100000000' is invalid
err, using the short-circuiting mechanism with 'post' or 'all' stage events doesn't make sense; it's not supported!
error: unknown parameter '6f'
err, short-circuiting is not supported by '!sysret'
error: the utilization of 'post' or 'all' event calling stages is not meaningful for '!sysret'; therefore, this command does not support them
error: please enter condition code in a hex notation
no active/disabled events 
X

# detach after traced syscalls: the program's later getppid calls work
start_bg "$TMPD/s.out" "$P" sysloop 1000
pid=$BG_PID
out=$(hd -p "$pid" -c '? .n = 0;' -c '!syscall getppid script { .n = .n + 1; if (.n == 3) { pause(); } }' \
	-c g -c '? printf("n=%d\n", .n);' -c .detach)
expect_line "paused after 3" "$out" 'n=3' "detached from process $pid"
wait "$pid"
expect_status "sysloop status" $? 0
expect "sysloop output" "$(cat "$TMPD/s.out")" <<X
ready $pid
done bad=0
X

# the same for a target started by hdbg (its filter was installed at the
# start): either hdbg detaches and every later getppid works, or it refuses
# to detach with an explanation (hdbg.md: never leave a target whose traced
# syscalls fail with ENOSYS)
out=$(hd -c '? .n = 0;' -c '!syscall 6e script { .n = .n + 1; if (.n == 3) { pause(); } }' -c g -c .detach \
	-- "$P" sysloop 300)
if grep -q '^detached from process' <<<"$out"; then
	expect "started, detached: later syscalls work" "$(tail -1 <<<"$out")" <<<"done bad=0"
else
	expect_match "started: detach refused with a reason" "$out" '^error: .*detach'
fi
# cleared events: no syscall stops any more, all results real
out=$(hd -c '!syscall 6e' -c g -c 'events c all' -c g -- "$P" sysloop 30)
expect "cleared" "$(tail -2 <<<"$out" | normi)" <<'X'
done bad=0
process PID exited with status 0
X
finish
