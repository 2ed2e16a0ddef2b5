#!/bin/bash
# REPL tests of hdbg under tmux: repl.sh history|complete|repeat|multiline|ctrlc
. "$(dirname "$0")/lib.sh"
need_tmux

# History: saved to ~/.hdbg_history on each line, recalled with Up in a new
# hdbg, and the recalled line runs.
t_history() {
	start -q
	wait_prompt
	run_line ".help bp"
	[ -f "$HOME/.hdbg_history" ] || fail "no ~/.hdbg_history after one line"
	grep -q '^\.help\\040bp$' "$HOME/.hdbg_history" ||
		fail "'.help bp' not in the history file: $(cat "$HOME/.hdbg_history")"
	local help
	help=$(screen)
	keys "q"
	key Enter
	wait_screen '^\[exit 0\]$'

	start -q
	wait_prompt
	key Up
	wait_line "hdbg> q"
	key Up
	wait_line "hdbg> .help bp"
	run_line ""
	# the recalled command printed what it printed the first time
	local first second
	first=$(printf '%s\n' "$help" | sed -n '/^hdbg> \.help bp$/,/^hdbg>$/p')
	second=$(screen | sed -n '/^hdbg> \.help bp$/,/^hdbg>$/p')
	[ -n "$first" ] && [ "$first" = "$second" ] ||
		fail "recalled .help bp printed [$second], first time [$first]"
	pass "history saved and recalled with Up"
}

# Tab completes a unique command name and lists the candidates otherwise.
t_complete() {
	start -q
	wait_prompt
	keys ".he"
	key Tab
	wait_line "hdbg> .help"
	key C-u
	wait_prompt
	keys "b"
	key Tab
	# several commands start with b: listed in a row below the prompt
	wait_screen '^bc +bd +be +bl +bp'
	wait_line "hdbg> b"
	pass "tab completion"
}

# An empty line repeats t (and r); g is never repeated.
t_repeat() {
	local one two got norand="setarch x86_64 -R"
	# addresses are compared with a batch run: no address randomisation
	one=$($norand "$HDBG" --batch -q -c t -c "r rip" "$TARGETS/simple" 2>&1 | tail -n 1)
	two=$($norand "$HDBG" --batch -q -c t -c t -c "r rip" "$TARGETS/simple" 2>&1 | tail -n 1)
	[ -n "$two" ] && [ "$one" != "$two" ] ||
		fail "batch reference: rip after one t [$one], after two [$two]"
	HDBG_WRAP=$norand start -q "$TARGETS/simple"
	wait_prompt
	run_line "t"
	run_line ""        # empty line: t again
	run_line "r rip"
	got=$(screen | grep -A1 -x 'hdbg> r rip' | tail -n 1)
	[ "$got" = "$two" ] || fail "after t and an empty line: [$got], expected [$two]"
	run_line ""        # empty line: r rip again
	[ "$(screen | grep -c -x -F -- "$two")" -ge 2 ] || fail "the empty line did not repeat 'r rip'"
	pass "empty line repeats t and r"
}

# Unbalanced braces continue on the next line with the "> " prompt; the
# block runs once, as one command.
t_multiline() {
	local expect
	expect=$("$HDBG" --batch -q -c "$(printf '? {\nprintf("%%d\\n", 0n40 + 2);\n}')" 2>&1) ||
		fail "batch reference failed: $expect"
	[ -n "$expect" ] || fail "batch reference printed nothing"
	start -q
	wait_prompt
	keys "? {"
	key Enter
	wait_line ">"
	keys 'printf("%d\n", 0n40 + 2);'
	key Enter
	wait_line ">"
	run_line "}"
	local got
	got=$(screen | sed -n '/^> }$/,/^hdbg>$/p' | sed '1d;$d')
	[ "$got" = "$expect" ] || fail "block printed [$got], expected [$expect]"
	grep -q '^?\\040{\\012' "$HOME/.hdbg_history" ||
		fail "the block is not one history entry: $(cat "$HOME/.hdbg_history")"
	pass "multi-line block"
}

# Ctrl-C during g stops the target and returns to the prompt; the target is
# alive and continues with g; Ctrl-C at the prompt drops the typed text.
t_ctrlc() {
	local pid st
	start -q "$TARGETS/sleeper" 100000
	wait_prompt
	keys "g"
	key Enter
	wait_screen '^ready [0-9]+$'
	pid=$(screen | sed -n 's/^ready \([0-9]*\)$/\1/p' | head -n 1)
	CHILDREN+=("$pid")
	wait_state "$pid" '^[SR]$'   # running after g
	key C-c
	wait_prompt 50
	st=$(thread_states "$pid")
	[ "$st" = "t" ] || fail "target $pid should be stopped after Ctrl-C, state '$st'"
	# the target continues and still works
	keys "g"
	key Enter
	wait_state "$pid" '^[SR]$'   # runs again
	kill -USR1 "$pid"
	wait_screen '^ticks [0-9]+$'
	key C-c
	wait_prompt 50
	st=$(thread_states "$pid")
	[ "$st" = "t" ] || fail "target $pid should be stopped after the 2nd Ctrl-C, state '$st'"
	# Ctrl-C at the prompt: the line is dropped, hdbg stays
	keys "bogus_command_xyz"
	key C-c
	wait_prompt
	run_line ""
	screen | grep 'bogus_command_xyz' | grep -qv '^hdbg> ' &&
		fail "the dropped line was executed"
	# that Ctrl-C was for the prompt only: the next g runs
	keys "g"
	key Enter
	wait_state "$pid" '^[SR]$'
	key C-c
	wait_prompt 50
	[ "$(thread_states "$pid")" = "t" ] || fail "target $pid not stopped by the 3rd Ctrl-C"
	screen | grep -q '^\[exit' && fail "hdbg ended"
	# q ends hdbg and its started target
	keys "q"
	key Enter
	wait_screen '^\[exit 0\]$'
	for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$pid" 2>/dev/null && fail "the started target $pid survived q"
	pass "Ctrl-C during g, at the prompt, and q"
}

case "${1:-}" in
history | complete | repeat | multiline | ctrlc) "t_$1" ;;
*) echo "usage: $0 history|complete|repeat|multiline|ctrlc"; exit 2 ;;
esac
