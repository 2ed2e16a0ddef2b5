#!/usr/bin/env bash
# !monitor ATTR FROM TO / FROM l LEN through hdbg on evprog's global
# `watched` (written 1..N, then read once by printf): debug registers
# (8 bytes) and page protection (0x40 bytes, more than 4 slots); context =
# the accessed address; pre sees the old value, post the new one; `sc on`
# skips the write; r fires only on reads, w only on writes, x on execution;
# the break action; the errors; a target detached while paused by a
# monitor event goes on with every write done and no watchpoint left.
source "$(dirname "$0")/lib.sh" "$@"
need_kind '!monitor w watched l 8'
run() {
	local mode=$1 n=$2
	shift 2
	local a=() c
	for c in "$@"; do a+=(-c "$c"); done
	hd "${a[@]}" -c g -- "$P" "$mode" "$n" | skip_start | normi
}
END="process PID exited with status 0"
SHOW='printf("%llx val=%d stage=%x\n", $context - watched, dq(watched), $event_stage);'

for range in 'l 8' 'l 40'; do
	expect "w $range pre" "$(run write 3 "!monitor w watched $range script { $SHOW }")" <<X
0 val=0 stage=0
0 val=1 stage=0
0 val=2 stage=0
watched=3
$END
X
	expect "w $range post" "$(run write 3 "!monitor w watched $range stage post script { $SHOW }")" <<X
0 val=1 stage=1
0 val=2 stage=1
0 val=3 stage=1
watched=3
$END
X
	expect "w $range sc on skips the writes" "$(run write 3 "!monitor w watched $range sc on script { $SHOW }")" <<X
0 val=0 stage=0
0 val=0 stage=0
0 val=0 stage=0
watched=0
$END
X
	expect "r $range: the read only" "$(run write 3 "!monitor r watched $range script { $SHOW }")" <<X
0 val=3 stage=0
watched=3
$END
X
	expect "r and w $range together: each its own accesses" "$(run write 2 \
		"!monitor r watched $range script { printf(\"r \"); $SHOW }" \
		"!monitor w watched $range script { printf(\"w \"); $SHOW }")" <<X
w 0 val=0 stage=0
w 0 val=1 stage=0
r 0 val=2 stage=0
watched=2
$END
X
	expect "rw $range: writes and the read" "$(run write 2 "!monitor rw watched $range script { $SHOW }")" <<X
0 val=0 stage=0
0 val=1 stage=0
0 val=2 stage=0
watched=2
$END
X
done
expect "from to" "$(run write 2 "!monitor w watched watched+7 script { $SHOW }")" <<X
0 val=0 stage=0
0 val=1 stage=0
watched=2
$END
X
expect "x" "$(run trace 3 '!monitor x evprog!tiny l 1 script { printf("x %llx\n", $context - evprog!tiny); }')" <<X
x 0
tiny=10
$END
X
out=$(hd -c '!monitor w watched l 8' -c g -c '? $context - watched' -c 'events c all' -c g -- "$P" write 3)
expect_line "break" "$out" 'event 0x0 triggered (pre)' 'Evaluate expression: 0 = 0000000000000000' 'watched=3'

# four threads each add to `total` once (under a mutex): four writes seen,
# whichever thread does them and while the others run
for range in 'l 8' 'l 40'; do
	out=$(hd -c "!monitor w threads!total $range script { printf(\"w %d\n\", dq(threads!total)); }" -c g -- "$T/threads" 4 100)
	expect "$range: writes of four threads" "$(skip_start <<<"$out" | normi)" <<X
w 0
w 100
w 200
w 300
threads=4 total=400
$END
X
done

# stepping from a monitor break (`t`) does the write and goes on
for range in 'l 8' 'l 40'; do
	out=$(hd -c "!monitor w watched $range" -c g -c 'dq watched l 1' -c t -c 'dq watched l 1' -c 'events c all' \
		-c g -- "$P" write 3)
	expect "$range: t from a break" "$(grep -E '^([0-9a-f]{16}  [0-9a-f]{16}|watched=|process .* (exited|killed))' <<<"$out" | normi)" <<X
ADDR  0000000000000000
ADDR  0000000000000001
watched=3
$END
X
done

out=$(hd -c '!monitor w' -c '!monitor w watched+8 watched' -c '!monitor w watched l' -c '!monitor w watched' \
	-c '!monitor w watched l 8 sc on stage post' -c events -- "$P" write 1)
expect "errors" "$(skip_start <<<"$out")" <<'X'
error: incorrect use of the '!monitor'
error: please choose the 'from' value first, then choose the 'to' value
error: please choose the 'from' or 'to' values or specify the length
error: incorrect use of the '!monitor'
err, using the short-circuiting mechanism with 'post' or 'all' stage events doesn't make sense; it's not supported!
no active/disabled events 
X

# detach while paused by a monitor event on `watched` of an attached
# evprog: the paused write is done, no watchpoint or protection is left (it
# would kill the program), the count is exact
for range in 'l 8' 'l 40'; do
	start_bg "$TMPD/m.out" "$P" writeloop 600
	pid=$BG_PID
	out=$(hd -p "$pid" -c '? .n = 0;' -c "!monitor w watched $range script { .n = .n + 1; if (.n == 3) { pause(); } }" \
		-c g -c '? printf("n=%d\n", .n);' -c .detach)
	expect_line "$range: paused after 3" "$out" 'n=3' "detached from process $pid"
	wait "$pid"
	expect_status "$range: writeloop status" $? 0
	expect "$range: writeloop output" "$(cat "$TMPD/m.out")" <<X
ready $pid
done watched=600
X
done
finish
