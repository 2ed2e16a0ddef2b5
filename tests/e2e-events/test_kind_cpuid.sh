#!/usr/bin/env bash
# !cpuid [EAX] through hdbg (CPUID faulting): evprog's read_cpuid0() runs
# cpuid leaf 0; context = eax; stages pre (at the instruction) and post
# (after it, the results in the registers); short-circuiting with the
# script's results; another leaf's event does not fire; the break action;
# the errors. Scripts only look at read_cpuid0 (the loader runs cpuid too).
source "$(dirname "$0")/lib.sh" "$@"
need_kind '!cpuid'
IN='@rip >= evprog!read_cpuid0 && @rip < evprog!read_cpuid0 + 20'
# where the cpuid instruction is in read_cpuid0
AT=$(objdump -d --no-show-raw-insn "$P" | awk '/<read_cpuid0>:/{f=1; next} f && /cpuid/ {print $1; exit}' | tr -d ':')
AT=$((0x$AT - 0x$(sym_off "$P" read_cpuid0)))
REAL=$("$P" cpuid)
run() {
	local a=() c
	for c in "$@"; do a+=(-c "$c"); done
	hd "${a[@]}" -c g -- "$P" cpuid | skip_start | normi
}
END="process PID exited with status 0"

expect "context, stages" "$(run "!cpuid 0 stage all script { if ($IN) { printf(\"ctx=%llx stage=%x at=%llx\n\", \$context, \$event_stage, @rip - evprog!read_cpuid0); } }")" <<X
ctx=0 stage=0 at=$(printf '%x' $AT)
ctx=0 stage=1 at=$(printf '%x' $((AT + 2)))
$REAL
$END
X
expect "post: eax holds the result" "$(run "!cpuid 0 stage post script { if ($IN) { printf(\"eax=%x\n\", @eax); } }")" <<X
${REAL#cpuid0 }
$REAL
$END
X
expect "short-circuit: the script's result" "$(run "!cpuid 0 script { if ($IN) { @rax = 4d; event_sc(1); } }")" <<X
cpuid0 eax=4d
$END
X
expect "post stage changes the result" "$(run "!cpuid 0 stage post script { if ($IN) { @rax = 37; } }")" <<X
cpuid0 eax=37
$END
X
expect "leaf 1 does not fire for leaf 0" "$(run "!cpuid 1 script { if ($IN) { printf(\"one\n\"); } }")" <<X
$REAL
$END
X
out=$(hd -c 'bp evprog!read_cpuid0' -c g -c 'bc 0' -c '!cpuid 0' -c g -c '? $context' \
	-c "? @rip - evprog!read_cpuid0" -c 'events c all' -c g -- "$P" cpuid)
expect "break" "$(sed -n '/^event/,$p' <<<"$out" | grep -v '^;' | normi)" <<X
event 0x0 triggered (pre)
evprog!read_cpuid0+0x$(printf '%x' $AT):
ADDR 0fa2             cpuid
Evaluate expression: 0 = 0000000000000000
Evaluate expression: $AT = $(printf '%016x' $AT)
$REAL
$END
X
# stepping from the break (`t`) runs the instruction and goes on
out=$(hd -c 'bp evprog!read_cpuid0' -c g -c 'bc 0' -c '!cpuid 0' -c g -c t -c "? @rip - evprog!read_cpuid0" \
	-c "r eax" -c 'events c all' -c g -- "$P" cpuid)
expect "t from the break" "$(grep -E '^(Evaluate|eax|cpuid0|process .* (exited|killed))' <<<"$out" | normi)" <<X
Evaluate expression: $((AT + 2)) = $(printf '%016x' $((AT + 2)))
eax=$(printf '%08x' 0x${REAL#cpuid0 eax=})
$REAL
$END
X

out=$(hd -c '!cpuid 100000000' -c '!cpuid 0 1' -c '!cpuid sc on stage post' -c events -- "$P" cpuid)
expect "errors" "$(skip_start <<<"$out")" <<'X'
err, the eax value '100000000' is invalid
error: unknown parameter '1'
err, using the short-circuiting mechanism with 'post' or 'all' stage events doesn't make sense; it's not supported!
no active/disabled events 
X
# a CPU without CPUID faulting (ENODEV from arch_prctl, as such a kernel
# answers): one line saying so, nothing registered, the program runs on
if [ -n "${HD_E2EV_NOCPUID:-}" ]; then
	out=$(timeout 60 "$HD_E2EV_NOCPUID" "$HDBG" --batch -q -c '!cpuid 0 script { printf("never\n"); }' \
		-c events -c g -- "$P" cpuid 2>&1)
	expect "no CPUID faulting" "$(skip_start <<<"$out" | normi)" <<X
err, !cpuid needs CPUID faulting, which this CPU or kernel does not offer (arch_prctl ARCH_SET_CPUID: No such device)
no active/disabled events 
$REAL
$END
X
else
	echo "test_kind_cpuid: no CPUID faulting: SKIP: HD_E2EV_NOCPUID not set"
fi
finish
