#!/usr/bin/env bash
# !trace step-in through hdbg: from a breakpoint at evprog's tiny() (two
# instructions: lea, ret), every instruction of the thread is an event;
# context = rip; the script sees each one and disables the event after
# three (the third is main's instruction after the call); the break
# action at each instruction; the errors.
source "$(dirname "$0")/lib.sh" "$@"
need_kind '!trace step-in'
# main's instruction after `call tiny`
RET=$(objdump -d --no-show-raw-insn "$P" | awk '/<main>:/{f=1} f && prev ~ /call.*<tiny>/ {print $1; exit} {prev=$0}' | tr -d ':')
RET=$((0x$RET - 0x$(sym_off "$P" main)))
END="process PID exited with status 0"

out=$(hd -c 'bp evprog!tiny' -c g -c 'bc 0' -c '? .k = 0;' \
	-c '!trace step-in script { .k = .k + 1; if (.k < 3) { printf("tiny+%llx ip-ctx=%llx\n", $context - evprog!tiny, @rip - $context); } else { printf("main+%llx\n", $context - evprog!main); event_disable($event_id); } }' \
	-c g -c events -- "$P" trace 5)
expect "script per instruction" "$(sed -n '/^tiny+/,$p' <<<"$out" | normi)" <<X
tiny+0 ip-ctx=0
tiny+4 ip-ctx=0
main+$(printf '%x' $RET)
tiny=12
$END
0	(disabled)	    !trace step-in script { .k = .k + 1; if (.k < 3) { printf("tiny+%llx i...
X

out=$(hd -c 'bp evprog!tiny' -c g -c 'bc 0' -c '!trace step-in' -c g -c '? $context - evprog!tiny' -c g \
	-c '? $context - evprog!tiny' -c 'events c all' -c g -- "$P" trace 5)
expect "break per instruction" "$(sed -n '/^event/,$p' <<<"$out" | grep -v '^;' | normi)" <<X
event 0x0 triggered (pre)
evprog!tiny:
ADDR 488d4707         lea rax, [rdi+0x7]
Evaluate expression: 0 = 0000000000000000
event 0x0 triggered (pre)
evprog!tiny+0x4:
ADDR c3               ret
Evaluate expression: 4 = 0000000000000004
tiny=12
$END
X

out=$(hd -c '!trace' -c '!trace step-out' -c '!trace sideways' -c '!trace step-in stage post' -c events -- "$P" trace 1)
expect "errors" "$(skip_start <<<"$out")" <<'X'
error: incorrect use of the '!trace'
err, '!trace step-out' is not supported for a user-mode target; use '!trace step-in'
err, unknown trace type 'sideways' (step-in)
error: the utilization of 'post' or 'all' event calling stages is not meaningful for '!trace'; therefore, this command does not support them
no active/disabled events 
X
finish
