#!/usr/bin/env bash
# Stepping with trap events active: `t` over an rdtsc that !tsc emulates
# runs the event once and ends after the instruction; `t` from the event's
# break completes the instruction; `p` over a call runs freely (the
# callee's events run as in `g`) and stops after the call. The debuggee is
# compiled here (labels on the instructions).
source "$(dirname "$0")/lib.sh" "$@"
if ! command -v cc >/dev/null; then
	echo "SKIP: no C compiler to build the debuggee"
	exit 77
fi
TMPD=$(mktemp -d)
trap 'rm -rf "$TMPD"' EXIT
P=$TMPD/stepev
cat >"$TMPD/stepev.c" <<'C'
#include <stdio.h>
#include <x86intrin.h>
unsigned long long one_tsc(void);
unsigned long long caller(void);
__attribute__((noinline, used)) unsigned long long two_tsc(void)
{
	unsigned long long a = __rdtsc();
	return a + __rdtsc();
}
__asm__(".text\n"
	".globl one_tsc, one_tsc_i\none_tsc: nop\none_tsc_i: rdtsc\n"
	"shl $32, %rdx\nor %rdx, %rax\nret\n"
	".globl caller, call_site\ncaller: sub $8, %rsp\ncall_site: call two_tsc\n"
	"add $8, %rsp\nret\n");
int main(void)
{
	unsigned long long a = one_tsc();
	unsigned long long b = caller();
	printf("tsc %d %d\n", a != 0, b != 0);
	return 0;
}
C
if ! cc -g -O1 -no-pie -o "$P" "$TMPD/stepev.c" 2>"$TMPD/cc.err"; then
	echo "SKIP: the debuggee does not build: $(head -1 "$TMPD/cc.err")"
	exit 77
fi
END='process PID exited with status 0'

# `t` over the rdtsc: the event's script runs once, the step ends after it
out=$(hd -c 'bp stepev!one_tsc_i' -c g -c 'bc 0' -c '!tsc script { printf("tsc event\n"); }' -c t \
	-c '? @rip - stepev!one_tsc_i' -c 'events c all' -c g -- "$P")
expect "t over rdtsc" "$(grep -E '^(Evaluate|tsc|process .* (exited|killed))' <<<"$out" | normpid)" <<X
tsc event
Evaluate expression: 2 = 0000000000000002
tsc 1 1
$END
X

# a break during the step ends it at the instruction; `t` then completes it
out=$(hd -c 'bp stepev!one_tsc_i' -c g -c 'bc 0' -c '!tsc' -c t -c '? @rip - stepev!one_tsc_i' -c t \
	-c '? @rip - stepev!one_tsc_i' -c 'events c all' -c g -- "$P")
expect "t: break, then t" "$(grep -E '^(event|Evaluate|tsc|process .* (exited|killed))' <<<"$out" | normpid)" <<X
event 0x0 triggered (pre)
Evaluate expression: 0 = 0000000000000000
Evaluate expression: 2 = 0000000000000002
tsc 1 1
$END
X

# `p` over a call: the two rdtsc of the callee are events as in `g`, the
# step ends after the call
out=$(hd -c 'bp stepev!call_site' -c g -c 'bc 0' -c '? .n = 0;' -c '!tsc script { .n = .n + 1; }' -c p \
	-c '? @rip - stepev!call_site' -c '? printf("n=%d\n", .n);' -c 'events c all' -c g -- "$P")
expect "p over a call" "$(grep -E '^(n=|Evaluate|tsc|process .* (exited|killed))' <<<"$out" | normpid)" <<X
Evaluate expression: 5 = 0000000000000005
n=2
tsc 1 1
$END
X

# `p` over a call whose callee breaks: the step ends at that break; `g` goes on
out=$(hd -c 'bp stepev!call_site' -c g -c 'bc 0' -c '!tsc' -c p -c 'events c all' -c g -- "$P")
expect "p: break in the callee" "$(grep -E '^(event|stepev!|tsc|process .* (exited|killed))' <<<"$out" | normpid)" <<X
stepev!call_site:
event 0x0 triggered (pre)
stepev!two_tsc:
tsc 1 1
$END
X
finish
