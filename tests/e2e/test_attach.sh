#!/usr/bin/env bash
# Attach/detach: a running `sleeper` is attached (hdbg -p PID), breakpoints
# are set on tick and hit, then hdbg detaches. Afterwards the target's code
# bytes (from /proc/PID/mem) equal the file's bytes and the program runs on
# to its correct final output.
source "$(dirname "$0")/lib.sh" "$@"
S=$T/sleeper
scope=$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo 0)
if [ "$scope" -ge 1 ] && [ "$(id -u)" != 0 ]; then
	echo "SKIP: yama ptrace_scope=$scope forbids attaching to a non-child process"
	exit 77
fi
tmp=$(mktemp -d)
trap 'kill $spid 2>/dev/null; rm -rf "$tmp"' EXIT
ROUNDS=2500
"$S" $ROUNDS >"$tmp/out" &
spid=$!
for _ in $(seq 100); do grep -qs '^ready' "$tmp/out" && break; sleep 0.05; done
expect "ready line" "$(cat "$tmp/out")" <<X
ready $spid
X

out=$(hd -p "$spid" -c "bp tick" -c g -c "r rdi" -c g -c g -c bl -c ".process" -c "k 2" -c ".detach")
expect_count "3 hits" "$out" 3 '^breakpoint 0 hit$'
expect_match "attached" "$(normpid <<<"$out")" '^process PID attached \(1 thread\)$' \
	'^ 0 e [0-9a-f]{16} 0003  sleeper!tick$' "^process PID $S \\(attached\\), 1 thread" \
	'^00 [0-9a-f]{16} [0-9a-f]{16} sleeper!tick ' '^01 [0-9a-f]{16} [0-9a-f]{16} sleeper!main\+0x' \
	'^detached from process PID$'

# the code in memory equals the file, byte for byte (no int3 left)
kill -0 "$spid" 2>/dev/null && ok || bad "sleeper died after detach"
n=0
while read -r range perms off _ _ path; do
	[ "$path" = "$S" ] || continue
	case $perms in r-x*) ;; *) continue ;; esac
	start=$((0x${range%-*})); end=$((0x${range#*-})); off=$((0x$off))
	dd if=/proc/$spid/mem of="$tmp/mem" bs=4096 iflag=skip_bytes,count_bytes \
		skip=$start count=$((end - start)) status=none
	dd if="$S" of="$tmp/file" bs=4096 iflag=skip_bytes,count_bytes \
		skip=$off count=$((end - start)) status=none
	size=$(stat -c %s "$tmp/file")
	head -c "$size" "$tmp/mem" >"$tmp/mem2"
	if cmp -s "$tmp/mem2" "$tmp/file"; then ok; else bad "code at $range differs from the file"; cmp "$tmp/mem2" "$tmp/file" | head -3; fi
	n=$((n + 1))
done </proc/$spid/maps
[ "$n" -ge 1 ] && ok || bad "no executable mapping of $S found"

# and the program goes on to its correct result
wait "$spid"
expect_status "sleeper exit" $? 0
expect "final output" "$(cat "$tmp/out")" <<X
ready $spid
done ticks=$ROUNDS
X

# .attach from the command line, .detach, and attaching twice is refused
"$S" 400 >"$tmp/out2" &
spid=$!
for _ in $(seq 100); do grep -qs '^ready' "$tmp/out2" && break; sleep 0.05; done
out=$(hd -c ".attach $spid" -c ".attach $spid" -c "bp tick" -c g -c ".detach" -c ".detach")
expect_match ".attach" "$(norm <<<"$out")" '^process PID attached' '^breakpoint 0 hit$' \
	'^error: process PID is already being debugged \(.detach or .kill first\)$' \
	'^detached from process PID$' '^error: no target process \(use .start PATH or .attach PID\)$'
wait "$spid"
expect "final output 2" "$(tail -1 "$tmp/out2")" <<X
done ticks=400
X
finish
