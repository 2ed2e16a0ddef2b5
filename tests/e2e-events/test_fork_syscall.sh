#!/usr/bin/env bash
# A started target with a !syscall event (a seccomp filter) forks: the
# children inherit the filter and stay traced as passive processes, so their
# traced syscalls (write) run normally and never reach the event; only the
# target's own writes fire it (.n counts them).
source "$(dirname "$0")/lib.sh" "$@"
need_kind '!syscall 1'
run() {
	hd -c '? .n = 0;' -c '!syscall 1 script { .n = .n + 1; }' -c g -c '? printf("n=%d\n", .n);' \
		-- /bin/sh -c "$1" | skip_start | normi
	echo "hdbg status ${PIPESTATUS[0]}"
}

expect "a forked child writes" "$(run 'echo one; /bin/echo two')" <<'X'
one
two
process PID exited with status 0
n=1
hdbg status 0
X
expect "a pipeline, a command substitution and a child's status" \
	"$(run 'x=$(/bin/echo three); echo "$x" | /bin/cat; /bin/sh -c "exit 3"; echo "st=$?"')" <<'X'
three
st=3
process PID exited with status 0
n=1
hdbg status 0
X
finish
