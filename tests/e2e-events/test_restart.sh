#!/usr/bin/env bash
# .restart of a PIE program: the program loads at another address, so every
# !epthook evaluates its address text again (as after execve). A hook in the
# program keeps firing. A hook in a shared library cannot be placed at the
# restart (the process stands at its first instruction, the library is not
# loaded yet): it is disabled with one line, and `events e` evaluates it
# again once the library is there.
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
	-c '.restart' -c 'events e 0' -c 'bp main' -c g -c 'bc 0' -c 'events e 0' -c events -c g \
	-- "$T/pie")
expect "a library hook after .restart" "$(count <<<"$out")" <<'X'
5 mul
1 pie result=23335
1 err, couldn't resolve error at 'hdlib_mul' in the new program
1 event 0x0 disabled
1 err, couldn't resolve error at 'hdlib_mul' in the new program
1 event 0x0 disabled
1 0	(enabled)	    !epthook hdlib_mul script { printf("mul\n"); } 
5 mul
1 pie result=23335
X
finish
