#!/usr/bin/env bash
# Stepping over a pushf (t) must not leave the step's trap flag in the pushed
# flags: the program's later popf would otherwise make it trap (SIGTRAP).
source "$(dirname "$0")/lib.sh" "$@"
P=${HD_E2E_PUSHF:?the pushf test program}
out=$(hd -c 'bp pushf!flags_roundtrip' -c g -c t -c t -c t -c g "$P")
expect "t over pushfq" "$(grep -E '^(tf=|signal|process .* (exited|killed))' <<<"$out" | normpid)" <<'X'
tf=0
process PID exited with status 0
X
finish
