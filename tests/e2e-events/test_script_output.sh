#!/usr/bin/env bash
# Output of event scripts as HyperDbg prints it: printf adds no newline,
# so the text of several hits continues one line until a script prints
# "\n"; hdbg ends a line left open before its own next line.
source "$(dirname "$0")/lib.sh" "$@"

out=$(hd -c '? { .n = 0; }' \
	-c '!epthook evprog!f0 script { .n = .n + 1; printf("hit%d ", .n); if (.n == 3) { printf("\n"); } }' \
	-c g -- "$P" hooks 3 | skip_start | normi)
expect "printf of three hits joins on one line" "$out" <<'X'
ready PID
hit1 hit2 hit3 
done sum=108
process PID exited with status 0
X

# two events in turn continue the same line
out=$(hd -c '? { .m = 0; }' -c '!epthook evprog!f0 script { printf("<"); }' \
	-c '!epthook evprog!f5 script { .m = .m + 1; printf(">"); if (.m == 2) { printf("|\n"); } }' \
	-c g -- "$P" hooks 2 | skip_start | normi)
expect "two events share a line" "$out" <<'X'
ready PID
<><>|
done sum=51
process PID exited with status 0
X

# %s of the script's own storage and of the target's memory; an
# unreadable one fails that run
out=$(hd -c '!epthook evprog!f0 script { char s[] = "own"; printf("%s ", s); printf("%s|", @rdi); }' \
	-c g -- "$P" hooks 1 | skip_start | normi)
expect "event printf %s" "$out" <<'X'
ready PID
own 
err, ScriptEngineExecute, function = FUNC_PRINTF
done sum=15
process PID exited with status 0
X

# $pname $core $date $time in an event script (pinned: $core is known)
cpu=$(taskset -pc $$ | sed 's/.*: //; s/.*[,-]//')
out=$(timeout 30 taskset -c "$cpu" "$HDBG" --batch -q \
	-c '!epthook evprog!f0 script { printf("%s %d %s %s %d\n", $pname, $core, $date, $time, strlen($time)); }' \
	-c g -- "$P" hooks 1 2>&1 | skip_start)
expect_match "event pseudo-registers" "$out" \
	"^evprog $cpu [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} 12\$"

# a printf longer than 4095 characters fails that run only, on every hit
a4095=$(head -c 4095 /dev/zero | tr '\0' a)
out=$(hd -c "!epthook evprog!f0 script { printf(\"<\"); printf(\"${a4095}b\"); printf(\">\"); }" \
	-c g -- "$P" hooks 2 | skip_start | normi)
expect "event printf past 4095 characters" "$out" <<'X'
ready PID
<
err, ScriptEngineExecute, function = FUNC_PRINTF
<
err, ScriptEngineExecute, function = FUNC_PRINTF
done sum=51
process PID exited with status 0
X

finish
