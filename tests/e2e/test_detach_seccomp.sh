#!/usr/bin/env bash
# A started target that got the seccomp filter of a !syscall event cannot be
# detached: the filter cannot be removed and, without a tracer, would fail the
# traced syscalls with ENOSYS. .detach refuses with one line and changes
# nothing; the session goes on and the target still runs correctly.
source "$(dirname "$0")/lib.sh" "$@"
S=$T/simple

# Without a !syscall event, .detach of a started target works.
out=$(hd -c ".detach" "$S" 3)
expect_match "plain detach" "$(normpid <<<"$out")" '^detached from process PID$'

# With one, it is refused; events stay, the target can still be run to the end.
out=$(hd -c '!syscall 1' -c 'events d 0' -c ".detach" -c "events" -c "g" "$S" 3)
expect_match "refused" "$(normpid <<<"$out")" \
	'^.*cannot detach process PID: it has the seccomp filter of a !syscall/!sysret event.*use \.kill or q$' \
	'^0	\(disabled\)	    !syscall 1 ?$' \
	'^Hello world ! sum=' '^process PID exited with status 0$'
if grep -q '^detached from' <<<"$out"; then bad "detached although refused"; else ok; fi
finish
