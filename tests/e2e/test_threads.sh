#!/usr/bin/env bash
# hdbg against the multi-threaded target: all-stop breakpoints hit an exact
# number of times across threads, .thread lists and switches threads, and
# the program's result is intact after breakpoints are cleared.
source "$(dirname "$0")/lib.sh" "$@"
P=$T/threads

# 2 threads x 5 calls of step(): exactly 10 hits, then the right total
repeat_c 11 g
out=$(hd -c "bp step" "${REPLY_ARGS[@]}" "$P" 2 5)
expect_count "10 hits over 2 threads" "$out" 10 '^breakpoint 0 hit$'
expect_count "label at each hit" "$out" 10 '^threads!step:$'
expect "result" "$(tail -2 <<<"$out" | norm)" <<'X'
threads=2 total=10
process PID exited with status 0
X

# at a hit: the stopping thread is current and at step; switching works
out=$(hd -c "bp step" -c g -c ".thread" -c "? @rip - step" -c "? \$tid" "$P" 4 3)
threads_lines=$(grep -E '^[* ] [0-9]+ ' <<<"$out")
expect_count "one current thread" "$threads_lines" 1 '^\* '
expect_match "current thread at step" "$threads_lines" '^\* [0-9]+ +threads!step$'
expect_match "rip at step" "$out" '^Evaluate expression: 0 = 0000000000000000$'
n=$(grep -c . <<<"$threads_lines")
if [ "$n" -ge 2 ]; then ok; else bad ".thread lists $n threads, want >= 2"; fi
cur=$(awk '$1 == "*" {print $2}' <<<"$threads_lines")
tidhex=$(grep -E '^Evaluate' <<<"$out" | tail -1 | sed -E 's/.*= ([0-9a-f]+)$/\1/')
expect_status "\$tid is the current thread" "$((0x$tidhex))" "$cur"

# the full run after clearing the breakpoint
out=$(hd -c "bp step" -c g -c g -c "bc all" -c g "$P")
expect_count "2 hits" "$out" 2 '^breakpoint 0 hit$'
expect_match "4000" "$out" '^threads=4 total=4000$'

# bad thread ids change nothing
out=$(hd -c "bp step" -c g -c ".thread 1" -c ".thread zz" -c "bc 0" -c g "$P" 2 5)
expect_match "bad thread id" "$out" "^error: no thread '1' in process [0-9]+$" "^error: bad thread id 'zz'$" \
	'^threads=2 total=10$'
finish
