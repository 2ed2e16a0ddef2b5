#!/usr/bin/env bash
# The `events` command through hdbg: the listing in HyperDbg's format
# (oldest first, enabled/disabled, the command with single spaces),
# `events e|d|c ID|all` and what they do to the firing, `events c all`
# restarting the numbering, the messages of bad `events` lines; and the
# generic options pid and core deciding whether an event fires.
source "$(dirname "$0")/lib.sh" "$@"
S=$T/poolsim
call() { echo "ExAllocatePoolWithTag(PoolType=0, NumberOfBytes=0x40, Tag='$1')"; }
HELP="
events : shows active and disabled events

syntax : 	events
syntax : 	events [e|d|c all|EventNumber (hex)]
syntax : 	events [sc State (on|off)]"

out=$(hd -c events -c '!epthook ExAllocatePoolWithTag script { printf("zero\n"); }' -c '!epthook main' \
	-c '!epthook   ExAllocatePoolWithTag   buffer 10 code {90}' -c events \
	-c 'events d 0' -c 'events d 2' -c events -c 'events e all' -c 'events c 1' -c events \
	-c 'events c 7' -c 'events x 1' -c 'events e zz' -c 'events sc on' -c 'events d 0 1' -- "$S" 1)
expect "listing, e/d/c, errors" "$(skip_start <<<"$out")" <<X
no active/disabled events 
0	(enabled)	    !epthook ExAllocatePoolWithTag script { printf("zero\n"); } 
1	(enabled)	    !epthook main 
2	(enabled)	    !epthook ExAllocatePoolWithTag buffer 10 code {90} 
0	(disabled)	    !epthook ExAllocatePoolWithTag script { printf("zero\n"); } 
1	(enabled)	    !epthook main 
2	(disabled)	    !epthook ExAllocatePoolWithTag buffer 10 code {90} 
0	(enabled)	    !epthook ExAllocatePoolWithTag script { printf("zero\n"); } 
2	(enabled)	    !epthook ExAllocatePoolWithTag buffer 10 code {90} 
err, tag id is invalid (event 0x7 not found)
error: incorrect use of the 'events'
$HELP
error: please specify a correct hex value for tag id (event number)
$HELP
err, short-circuiting is only possible while the target is paused by an event
error: incorrect use of the 'events'
$HELP
X

# long commands are cut at 70 characters with "..."
out=$(hd -c '!epthook ExAllocatePoolWithTag script { printf("a rather long script text that goes on\n"); }' -c events -- "$S" 1)
expect "cut at 70" "$(skip_start <<<"$out")" <<'X'
0	(enabled)	    !epthook ExAllocatePoolWithTag script { printf("a rather long script t...
X

# what e/d/c do: a disabled event does not fire, an enabled one does again,
# a cleared one is gone; `events c all` restarts the ids at 0. evprog calls
# f0 then f1 each round: a break on f0 separates the rounds.
out=$(hd -c '!epthook evprog!f1 script { printf("E0 %d\n", @rdi); }' \
	-c '!epthook evprog!f1 script { printf("E1 %d\n", @rdi); }' -c '!epthook evprog!f0' \
	-c g -c 'events d 1' -c g -c 'events e 1' -c 'events d 0' -c g -c 'events c 1' -c 'events e 0' -c g \
	-c 'events d 0' -c g -c 'events c all' -c events \
	-c '!epthook evprog!f1 script { printf("new %x %d\n", $event_id, @rdi); }' -c events -c g -- "$P" hooks 6)
expect "e/d/c effects" "$(skip_start <<<"$out" | grep -Ev '^(event 0x2 triggered|evprog!f0:|; |[0-9a-f]{16} )' | normi)" <<X
ready PID
E0 0
E1 1
E0 2
no active/disabled events 
0	(enabled)	    !epthook evprog!f1 script { printf("new %x %d\n", \$event_id, @rdi); } 
new 0 4
new 0 5
done sum=$((21 * 6 * 5 / 2 + 15 * 6))
process PID exited with status 0
X

# --- pid: the target's pid (hex) fires, another pid does not, all fires ---
start_bg "$TMPD/h.out" "$P" hooks 300
pid=$BG_PID
out=$(hd -p "$pid" -c "!epthook evprog!f0 pid $(printf %x "$pid") script { printf(\"mine %d\n\", \$pid); event_disable(\$event_id); }" \
	-c '!epthook evprog!f1 pid 1 script { printf("other\n"); }' \
	-c '!epthook evprog!f2 pid all script { printf("all\n"); event_disable($event_id); }' -c g)
expect "pid" "$(skip_start <<<"$out" | normi)" <<X
mine $pid
all
process PID exited with status 0
X
wait "$pid"
expect "pid: program output" "$(cat "$TMPD/h.out")" <<X
ready $pid
done sum=$((21 * 300 * 299 / 2 + 15 * 300))
X

# --- core: the target pinned to one core (taskset on hdbg, inherited) ---
for c in 0 1; do
	if ! taskset -c $c true 2>/dev/null; then
		echo "note: core $c is not available here, its check is left out"
		continue
	fi
	out=$(taskset -c $c "$HDBG" --batch -q -c '!epthook ExAllocatePoolWithTag core 0 script { printf("core0 %x\n", $core); }' \
		-c '!epthook ExAllocatePoolWithTag core 1 script { printf("core1 %x\n", $core); }' -c g -- "$S" 1 2>&1)
	expect "core $c" "$(skip_start <<<"$out" | normi)" <<X
core$c $c
$(call HDBG)
process PID exited with status 0
X
done
finish
