#!/usr/bin/env bash
# !tsc through hdbg: evprog's read_tsc() (rdtsc) and read_tscp() (rdtscp)
# trap; context 0 = rdtsc, 1 = rdtscp; stages pre (at the instruction) and
# post (after it); short-circuiting with the script's @rax/@rdx as the
# result; a post-stage script changing the result; the break action; and
# a target detached after traced reads runs rdtsc normally again.
# Scripts only look at evprog's two functions (the loader reads the TSC too).
source "$(dirname "$0")/lib.sh" "$@"
need_kind '!tsc'
IN='@rip >= evprog!read_tsc && @rip < evprog!read_cpuid0'
run() {
	local n=$1
	shift
	local a=() c
	for c in "$@"; do a+=(-c "$c"); done
	hd "${a[@]}" -c g -- "$P" tsc "$n" | skip_start | normi
}
END="process PID exited with status 0"

WHERE='if (@rip < evprog!read_tscp) { printf("rdtsc+%llx ", @rip - evprog!read_tsc); } else { printf("rdtscp+%llx ", @rip - evprog!read_tscp); }'
expect "context, stages" "$(run 2 "!tsc stage all script { if ($IN) { $WHERE printf(\"ctx=%llx stage=%x\n\", \$context, \$event_stage); } }")" <<X
rdtsc+0 ctx=0 stage=0
rdtsc+2 ctx=0 stage=1
rdtsc+0 ctx=0 stage=0
rdtsc+2 ctx=0 stage=1
rdtscp+0 ctx=1 stage=0
rdtscp+3 ctx=1 stage=1
tsc zero=0 tscp zero=0
$END
X
expect "short-circuit: the script's result" "$(run 3 "!tsc script { if ($IN) { @rax = 0; @rdx = 0; event_sc(1); } }")" <<X
tsc zero=3 tscp zero=1
$END
X
expect "sc on, event_sc(0) elsewhere" "$(run 3 "!tsc sc on script { if ($IN) { @rax = 0; @rdx = 0; } else { event_sc(0); } }")" <<X
tsc zero=3 tscp zero=1
$END
X
# custom code sets the result through GUEST_REGS (rax 0x00, rdx 0x10)
expect "custom code, sc on" "$(run 3 '!tsc sc on asm code { mov qword ptr [rdx], 0; mov qword ptr [rdx+0x10], 0 }')" <<X
tsc zero=3 tscp zero=1
$END
X
expect "post stage changes the result" "$(run 2 "!tsc stage post script { if ($IN) { @rax = 0; @rdx = 0; } }")" <<X
tsc zero=2 tscp zero=1
$END
X
out=$(hd -c 'bp evprog!read_tsc' -c g -c 'bc 0' -c '!tsc' -c g -c '? $context' -c '? @rip - evprog!read_tsc' \
	-c 'events c all' -c g -- "$P" tsc 1)
expect "break" "$(sed -n '/^event/,$p' <<<"$out" | grep -v '^;' | normi)" <<X
event 0x0 triggered (pre)
evprog!read_tsc:
ADDR 0f31             rdtsc
Evaluate expression: 0 = 0000000000000000
Evaluate expression: 0 = 0000000000000000
tsc zero=0 tscp zero=0
$END
X
# stepping from the break (`t`) runs the instruction and goes on
out=$(hd -c 'bp evprog!read_tsc' -c g -c 'bc 0' -c '!tsc' -c g -c t -c '? @rip - evprog!read_tsc' \
	-c 'events c all' -c g -- "$P" tsc 1)
expect "t from the break" "$(grep -E '^(Evaluate|tsc|process .* (exited|killed))' <<<"$out" | normi)" <<X
Evaluate expression: 2 = 0000000000000002
tsc zero=0 tscp zero=0
$END
X

out=$(hd -c '!tsc 1' -c '!tsc sc on stage all' -c events -- "$P" tsc 1)
expect "errors" "$(skip_start <<<"$out")" <<'X'
error: unknown parameter '1'
err, using the short-circuiting mechanism with 'post' or 'all' stage events doesn't make sense; it's not supported!
no active/disabled events 
X

# detached after traced reads: rdtsc works again (a faulting rdtsc would
# kill the program with SIGSEGV)
start_bg "$TMPD/t.out" "$P" tscloop 800
pid=$BG_PID
out=$(hd -p "$pid" -c '? .n = 0;' -c "!tsc script { if ($IN) { .n = .n + 1; if (.n == 3) { pause(); } } }" \
	-c g -c '? printf("n=%d\n", .n);' -c .detach)
expect_line "paused after 3" "$out" 'n=3' "detached from process $pid"
wait "$pid"
expect_status "tscloop status" $? 0
expect "tscloop output" "$(cat "$TMPD/t.out")" <<X
ready $pid
done zero=0
X
finish
