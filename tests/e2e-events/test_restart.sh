#!/usr/bin/env bash
# .restart of a PIE program: the program loads at another address, so every
# !epthook evaluates its address text again (as after execve). A hook in the
# program keeps firing. A hook in a shared library cannot be placed at the
# restart (the process stands at its first instruction, the library is not
# loaded yet): it stays enabled but pending (one line; `events` lists it as
# pending) and is armed when the loader has loaded the library.
source "$(dirname "$0")/lib.sh" "$@"
count() { grep -E '^(compute|mul|pie result|[01]	|event 0x|err)' | uniq -c | sed 's/^ *//'; }

out=$(hd -c 'bp main' -c g -c 'bc 0' -c '!epthook pie!pie_compute script { printf("compute\n"); }' \
	-c g -c '.restart' -c events -c g -- "$T/pie")
expect "a program hook after .restart" "$(count <<<"$out")" <<'X'
5 compute
1 pie result=23335
1 0	(enabled)	    !epthook pie!pie_compute script { printf("compute\n"); } 
5 compute
1 pie result=23335
X

out=$(hd -c 'bp main' -c g -c 'bc 0' -c '!epthook hdlib_mul script { printf("mul\n"); }' -c g \
	-c '.restart' -c events -c g -c events -- "$T/pie")
expect "a library hook after .restart" "$(count <<<"$out" | sed -E 's/at [0-9a-f]{16}$/at ADDR/')" <<'X'
5 mul
1 pie result=23335
1 event 0x0 pending: its address does not resolve yet
1 0	(pending)	    !epthook hdlib_mul script { printf("mul\n"); } 
1 event 0x0 armed at ADDR
5 mul
1 pie result=23335
1 0	(enabled)	    !epthook hdlib_mul script { printf("mul\n"); } 
X
# armed at the library's function
out=$(hd -c 'bp main' -c g -c 'bc 0' -c '!epthook hdlib_mul script { printf("mul\n"); }' -c g \
	-c '.restart' -c 'bp main' -c g -c '? hdlib!hdlib_mul' -- "$T/pie")
armed=$(grep -Eo 'armed at [0-9a-f]{16}$' <<<"$out" | cut -c10-)
expect_match "armed at hdlib_mul" "$out" "^Evaluate expression: [0-9]+ = ${armed:-none}\$"

# disabled while pending: `events e` before the library is there keeps it
# pending; disabled, it is not armed at the load
out=$(hd -c 'bp main' -c g -c 'bc 0' -c '!epthook hdlib_mul script { printf("mul\n"); }' -c g \
	-c '.restart' -c 'events d 0' -c 'events e 0' -c g -c '.restart' -c 'events d 0' -c g \
	-- "$T/pie")
expect "a pending hook disabled and enabled" "$(count <<<"$out" | sed -E 's/at [0-9a-f]{16}$/at ADDR/')" <<'X'
5 mul
1 pie result=23335
2 event 0x0 pending: its address does not resolve yet
1 event 0x0 armed at ADDR
5 mul
1 pie result=23335
1 event 0x0 pending: its address does not resolve yet
1 pie result=23335
X
finish
