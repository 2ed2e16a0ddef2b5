#!/usr/bin/env bash
# Pending breakpoints and library loads: `bp module!symbol` of a library not
# loaded yet waits for the loader (its internal breakpoint on
# _dl_debug_state) and is inserted when the library is there, at the start
# (DT_NEEDED) and at dlopen(); an !epthook in a library keeps firing after
# .restart. The loader's breakpoint is invisible.
source "$(dirname "$0")/lib.sh" "$@"
P=$T/pie
command -v cc >/dev/null || { echo "test_pending: SKIP: no cc to build the dlopen program"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# from the very first instruction: pending, resolved by the loader, 5 hits
repeat_c 5 g
out=$(hd -c 'bp hdlib!hdlib_mul' -c bl -c g -c k -c bl "${REPLY_ARGS[@]}" "$P")
expect "pending from the start" "$(skip_start <<<"$out" | norm | grep -v '^0[1-9] ')" <<'X'
breakpoint 0 pending on 'hdlib!hdlib_mul' (no such symbol yet)
 0 e pending          0000  hdlib!hdlib_mul
breakpoint 0 resolved at ADDR libhdlib!hdlib_mul
breakpoint 0 hit
libhdlib!hdlib_mul:
; hdlib.c:6
ADDR 0faffe           imul edi, esi
 # Child-SP         RetAddr          Call Site
00 ADDR ADDR libhdlib!hdlib_mul [hdlib.c @ 6]
 0 e ADDR 0001  libhdlib!hdlib_mul
breakpoint 0 hit
libhdlib!hdlib_mul:
; hdlib.c:6
ADDR 0faffe           imul edi, esi
breakpoint 0 hit
libhdlib!hdlib_mul:
; hdlib.c:6
ADDR 0faffe           imul edi, esi
breakpoint 0 hit
libhdlib!hdlib_mul:
; hdlib.c:6
ADDR 0faffe           imul edi, esi
breakpoint 0 hit
libhdlib!hdlib_mul:
; hdlib.c:6
ADDR 0faffe           imul edi, esi
pie result=23335
process PID exited with status 0
X
# the address it resolved to is the library's function
out=$(hd -c 'bp hdlib!hdlib_mul' -c g -c '? @rip' "$P")
at=$(grep -Eo '^breakpoint 0 resolved at [0-9a-f]{16}' <<<"$out" | cut -c26-)
expect_match "resolved at the hit's address" "$out" "^Evaluate expression: [0-9]+ = ${at:-none}\$"

# the loader's breakpoint is invisible: no stop, no line, not in bl, and
# memory shows the original byte of _dl_debug_state
plain=$(hd -c g "$P" | skip_start | norm)
expect "no pending: nothing else printed" "$plain" <<'X'
pie result=23335
process PID exited with status 0
X
out=$(hd -c 'bp hdlib!hdlib_mul' -c 'bp main' -c g -c bl -c 'db ld-linux-x86-64!_dl_debug_state l 1' -c lm "$P")
expect_count "bl: only the user's breakpoints" "$out" 2 '^ ?[0-9]+ [ed] '
ld=$(grep -E ' ld-linux-x86-64 +/' <<<"$out" | awk '{print $4}')
off=$(nm -D "$ld" | awk '$3 ~ /^_dl_debug_state@/ {print $1; exit}')
byte=$(objdump -d --start-address=0x$off --stop-address=$((0x$off + 1)) "$ld" |
	grep -E '^ +[0-9a-f]+:' | awk '{print $2}')
expect_match "original byte at _dl_debug_state ($byte)" "$out" "^[0-9a-f]{16}  ${byte:-none} "
expect_count "no cc shown there" "$out" 0 '^[0-9a-f]{16}  cc +\.$'

# unknown symbol in a loaded library, unknown module, bad syntax: errors
out=$(hd -c 'bp main' -c g -c 'bp hdlib!nosuch' -c 'bp nomod!x' -c 'bp hdlib!(' -c bl -c g "$P")
expect_match "still errors" "$out" "^error: unknown symbol 'hdlib!nosuch'\$" \
	"^error: unknown symbol 'nomod!x'\$" "^error: bad expression 'hdlib!\\('"
expect_count "nothing pending" "$out" 0 ' pending on '

# .restart: a resolved library breakpoint is pending again, then hit 5 times
repeat_c 6 g
out=$(hd -c 'bp hdlib!hdlib_mul' -c g -c .restart "${REPLY_ARGS[@]}" "$P")
expect_count "pending again after .restart" "$out" 2 "^breakpoint 0 pending on 'hdlib!hdlib_mul'"
expect_count "resolved in each run" "$out" 2 '^breakpoint 0 resolved at '
expect_count "1 + 5 hits" "$out" 6 '^breakpoint 0 hit$'
expect_count "the restarted run ends" "$out" 1 '^pie result=23335$'

# an !epthook in the library keeps firing in the restarted process
out=$(hd -c 'bp main' -c g -c 'bc 0' -c '!epthook hdlib_mul script { printf("mul %d\n", @edi); }' \
	-c g -c .restart -c g "$P")
expect "!epthook after .restart" "$(grep -E '^(mul |pie result|event)' <<<"$out" | sed -E 's/[0-9a-f]{16}$/ADDR/')" <<'X'
mul 0
mul 1
mul 2
mul 3
mul 4
pie result=23335
event 0x0 pending: its address does not resolve yet
event 0x0 armed at ADDR
mul 0
mul 1
mul 2
mul 3
mul 4
pie result=23335
X

# dlopen at run time: the pending breakpoint is inserted at dlopen()
cat >"$tmp/dl.c" <<'C'
#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv)
{
	void *h = dlopen(argc > 1 ? argv[1] : "libhdlib.so", RTLD_NOW);
	if (!h) {
		printf("dlopen failed\n");
		return 1;
	}
	printf("opened\n");
	fflush(stdout);
	int (*mul)(int, int) = (int (*)(int, int))dlsym(h, "hdlib_mul");
	int s = 0;
	for (int i = 0; i < 3; i++)
		s += mul(i, 3);
	printf("dl result=%d\n", s);
	dlclose(h);
	return 0;
}
C
cc -g -O1 -o "$tmp/dl" "$tmp/dl.c" -ldl || { bad "cannot build the dlopen program"; finish; }
export LD_LIBRARY_PATH=$T  # where hdbg finds the library a pending `hdlib!` names
out=$(hd -c 'bp hdlib!hdlib_mul' -c g -c 'r edi' -c g -c 'r edi' -c g -c 'r edi' -c g -- "$tmp/dl" "$T/libhdlib.so")
expect "dlopen" "$(skip_start <<<"$out" | norm | grep -v '^;')" <<'X'
breakpoint 0 pending on 'hdlib!hdlib_mul' (no such symbol yet)
breakpoint 0 resolved at ADDR libhdlib!hdlib_mul
opened
breakpoint 0 hit
libhdlib!hdlib_mul:
ADDR 0faffe           imul edi, esi
edi=00000000
breakpoint 0 hit
libhdlib!hdlib_mul:
ADDR 0faffe           imul edi, esi
edi=00000001
breakpoint 0 hit
libhdlib!hdlib_mul:
ADDR 0faffe           imul edi, esi
edi=00000002
dl result=13989
process PID exited with status 0
X
# set at main, before the dlopen: the same
repeat_c 4 g
out=$(hd -c 'bp main' -c g -c 'bp hdlib!hdlib_mul' "${REPLY_ARGS[@]}" -- "$tmp/dl" "$T/libhdlib.so")
expect_count "pending at main, 3 hits" "$out" 3 '^breakpoint 1 hit$'
expect_match "pending at main" "$out" "^breakpoint 1 pending on 'hdlib!hdlib_mul' \\(no such symbol yet\\)\$" \
	'^dl result=13989$'

# execve: the new program's loader gets the breakpoint; the pending
# breakpoint set in the shell resolves in the program it execs
out=$(hd -c 'bp hdlib!hdlib_mul' -c g -c 'r esi' -c 'bc 0' -c g -- /bin/sh -c "exec $P")
expect "pending across execve" "$(skip_start <<<"$out" | norm | grep -v '^;')" <<'X'
breakpoint 0 pending on 'hdlib!hdlib_mul' (no such symbol yet)
breakpoint 0 resolved at ADDR libhdlib!hdlib_mul
breakpoint 0 hit
libhdlib!hdlib_mul:
ADDR 0faffe           imul edi, esi
esi=00000003
pie result=23335
process PID exited with status 0
X
finish
