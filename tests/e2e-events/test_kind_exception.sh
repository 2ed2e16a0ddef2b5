#!/usr/bin/env bash
# !exception [SIGNO] through hdbg on evprog raising SIGUSR1 (0xa): context
# = the signal number, short-circuiting suppresses the signal (`sc on`,
# event_sc), stages pre/post/all, the break action and `g`, another
# signal's event does not fire, all signals, a fault skipped by a script,
# the errors.
source "$(dirname "$0")/lib.sh" "$@"
need_kind '!exception a'
run() {
	local n=$1
	shift
	local a=() c
	for c in "$@"; do a+=(-c "$c"); done
	hd "${a[@]}" -c g -- "$P" signal "$n" | skip_start | normi
}
END="process PID exited with status 0"

expect "context, stage" "$(run 2 '!exception a script { printf("sig %llx stage %x\n", $context, $event_stage); }' \
	'!exception c script { printf("usr2\n"); }')" <<X
sig a stage 0
sig a stage 0
handled=2
$END
X
expect "sc on suppresses" "$(run 2 '!exception a sc on script { printf("suppressed\n"); }')" <<X
suppressed
suppressed
handled=0
$END
X
expect "event_sc(1) once" "$(run 3 '? .n = 0;' '!exception a script { .n = .n + 1; if (.n == 2) { event_sc(1); } }')" <<X
handled=2
$END
X
expect "stage all" "$(run 1 '!exception a stage all script { printf("sig %llx stage %x\n", $context, $event_stage); }')" <<X
sig a stage 0
sig a stage 1
handled=1
$END
X
expect "all signals" "$(run 1 '!exception script { if ($context == a) { printf("usr1\n"); } }')" <<X
usr1
handled=1
$END
X
out=$(hd -c '!exception a' -c g -c '? $context' -c '? $event_id' -c g -- "$P" signal 1)
expect_line "break" "$out" 'event 0x0 triggered (pre)' 'Evaluate expression: 10 = 000000000000000a' \
	'Evaluate expression: 0 = 0000000000000000' 'handled=1' "$(grep -E '^process [0-9]+ exited' <<<"$out")"
expect_count "break once" "$out" 1 '^event 0x0 triggered'

# a fault (SIGSEGV, 0xb): the break shows the faulting store; `g` delivers
# the signal; a script that moves @rip past the 11-byte store and
# suppresses the signal lets the program survive
out=$(hd -c '!exception b' -c g -c '? $context' -c g -- "$P" segv)
expect "SIGSEGV: break, then delivered" "$(skip_start <<<"$out" | grep -v '^;' | normi)" <<'X'
event 0x0 triggered (pre)
evprog!fault:
ADDR c704250000000001000000 mov dword ptr [0x0], 0x1
Evaluate expression: 11 = 000000000000000b
process PID killed by signal 11 (SIGSEGV)
X
out=$(hd -c '!exception b script { printf("segv %llx at %llx\n", $context, @rip - evprog!fault_store); if (@rip == evprog!fault_store) { @rip = @rip + 0n11; event_sc(1); } }' \
	-c g -- "$P" segv)
expect "SIGSEGV: skipped by a script" "$(skip_start <<<"$out" | normi)" <<'X'
segv b at 0
survived
process PID exited with status 0
X

out=$(hd -c '!exception a' -c g -c 'events sc on' -c g -c 'events sc off' -c g -- "$P" signal 2)
expect "events sc on/off" "$(grep -E '^(handled|event)' <<<"$out")" <<X
event 0x0 triggered (pre)
event 0x0 triggered (pre)
handled=1
X

out=$(hd -c '!exception 41' -c '!exception a b' -c '!exception a sc on stage post' -c '!exception a code {9g}' \
	-c events -- "$P" signal 1)
expect "errors" "$(skip_start <<<"$out")" <<'X'
err, the signal number '41' is invalid (1 to 0x40)
error: unknown parameter 'b'
err, using the short-circuiting mechanism with 'post' or 'all' stage events doesn't make sense; it's not supported!
error: please enter condition code in a hex notation
no active/disabled events 
X
finish
