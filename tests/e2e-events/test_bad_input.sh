#!/usr/bin/env bash
# Bad input of event commands: each gives one error message (HyperDbg's
# message where it has one), registers nothing (`events` lists nothing)
# and changes no byte of the target: with the debug registers taken by four
# good hooks, a bad !epthook would have to write an int3; the code in
# /proc/PID/mem still equals the file afterwards (a good one does write it,
# which shows the check would see it).
source "$(dirname "$0")/lib.sh" "$@"
S=$T/poolsim
A='!epthook ExAllocatePoolWithTag'
call() { echo "ExAllocatePoolWithTag(PoolType=0, NumberOfBytes=0x40, Tag='$1')"; }

# command<TAB>expected error line (after "error: ", which HyperDbg's own
# "err, ..." messages do not get); `\n` separates the lines of an assembly
# or script error (the source line and a caret under the column follow it)
cat >"$TMPD/cases" <<EOF
$A code {90 9g}	please enter condition code in a hex notation
$A condition {zz}	please enter condition code in a hex notation
$A code {0x\\x90q}	please enter condition code in a hex notation
$A asm code { mov rax, }	err, assemble error in the code at line 1 column 11: expected an operand at end of statement\n   mov rax,\n            ^
$A asm condition { bogus }	err, assemble error in the condition at line 1 column 2: unknown mnemonic 'bogus'\n   bogus\n   ^
$A script { printf("x" }	err, script line 1 column 13: Syntax Error: Invalid Syntax: ' printf("x" '\n   printf("x" \n              ^
$A script {file:$TMPD/none.ds}	err, either script file is not found or it's empty
$A foo	unknown parameter 'foo'
$A 401000	unknown parameter '401000'
$A pid	err, please specify a value for 'pid'
$A pid zz	err, pid is invalid
$A core	err, please specify a value for 'core'
$A core -1	err, core id is invalid
$A imm	err, please specify a value for 'imm'
$A imm maybe	err, immediate messaging token is invalid
$A sc	err, please specify a value for 'sc'
$A sc on	err, short-circuiting is not supported by '!epthook' (change @rip in a script instead)
$A sc maybe	err, the specified short-circuiting state is invalid; you can either choose 'on' or 'off'
$A sc on stage post	err, using the short-circuiting mechanism with 'post' or 'all' stage events doesn't make sense; it's not supported!
$A stage all sc on	err, using the short-circuiting mechanism with 'post' or 'all' stage events doesn't make sense; it's not supported!
$A stage	err, please specify a value for 'stage'
$A stage post	the utilization of 'post' or 'all' event calling stages is not meaningful for the hidden hook; therefore, this command does not support them
$A stage sideways	err, the specified execution mode is invalid; you can either choose 'pre' or 'post'
$A buffer	err, please specify a value for 'buffer'
$A buffer 1g	err, buffer size is invalid
$A code	err, please specify a value for 'code' ({ ... })
$A code 90	err, please specify a value for 'code' ({ ... })
$A script	err, please specify a value for 'script' ({ ... })
$A condition	err, please specify a value for 'condition' ({ ... })
$A output {x}	err, the name you entered, not found. Did you use 'output' command to create it?
!epthook	incorrect use of the '!epthook'
!epthook 0	please choose an address to put the hidden breakpoint on it
!epthook no_such_symbol_anywhere	err, couldn't resolve error at 'no_such_symbol_anywhere'
!epthook nosuchmod!x	err, couldn't resolve error at 'nosuchmod!x'
!epthook 10	err, cannot arm event 0x0 (!epthook): address not mapped
!msrread	!msrread does not apply to a user-mode target: rdmsr is a privileged instruction: a user-mode thread never executes it (it faults with SIGSEGV; use !exception)
!msrwrite c0000082 script { }	!msrwrite does not apply to a user-mode target: wrmsr is a privileged instruction: a user-mode thread never executes it (it faults with SIGSEGV; use !exception)
!ioin 3f8	!ioin does not apply to a user-mode target: port I/O needs ioperm/iopl, which a debugged process does not have: in/ins fault with SIGSEGV (use !exception)
!ioout	!ioout does not apply to a user-mode target: port I/O needs ioperm/iopl, which a debugged process does not have: out/outs fault with SIGSEGV (use !exception)
!interrupt 20	!interrupt does not apply to a user-mode target: external interrupts are handled by the kernel and never reach a user-mode process (signals do: use !exception)
!dr	!dr does not apply to a user-mode target: debug registers are accessed only by the kernel; a user-mode thread cannot read or write them (mov drN faults)
!crwrite 0	!crwrite does not apply to a user-mode target: control registers are written only by the kernel; a user-mode thread cannot modify them
!mode u	!mode does not apply to a user-mode target: user/kernel mode transitions of a process are system calls, faults and interrupts: use !syscall, !sysret or !exception
!vmcall	!vmcall does not apply to a user-mode target: vmcall exits to a hypervisor; hdbg debugs a Linux process, not a guest (in a process it faults with SIGILL)
!xsetbv	!xsetbv does not apply to a user-mode target: xsetbv is a privileged instruction executed only by the kernel; a user-mode thread cannot execute it
EOF
errline() { case $1 in "err, "*) printf '%b' "$1" ;; *) printf 'error: %b' "$1" ;; esac; }
cases=$(cat "$TMPD/cases")

# --- batch: every case, one error each; nothing registered; the program
# runs unchanged; the batch fails (status 1) ---
args=()
want=""
while IFS=$'\t' read -r c e; do
	args+=(-c "$c")
	want+="$(errline "$e")"$'\n'
done <<<"$cases"
out=$(hd "${args[@]}" -c events -c g -- "$S" 1)
rc=$?
expect "one error per bad command, nothing registered" "$(skip_start <<<"$out" | normi)" <<X
${want}no active/disabled events 
$(call HDBG)
process PID exited with status 0
X
expect_status "batch status after errors" "$rc" 1

# --- live, attached: no byte of the target changes ---
start_bg "$TMPD/h.out" "$P" hooks 1500
pid=$BG_PID
live_start -p "$pid"
live '!epthook evprog!f0 script { }' '!epthook evprog!f1 script { }' '!epthook evprog!f2 script { }' \
	'!epthook evprog!f3 script { }'
expect_match "attached" "$LIVE_OUT" '^process [0-9]+ attached \(1 thread\)$'
code_equals_file "four hardware hooks change no byte" "$pid" "$P"
B=evprog!f5
while IFS=$'\t' read -r c e; do
	c=${c/$A/!epthook $B}
	live "$c"
	if [ "$LIVE_OUT" != "$(errline "$e")" ]; then
		bad "live: $c: $LIVE_OUT"
	fi
done < <(grep -F "$A" <<<"$cases")
live events
expect "live: only the good events" "$LIVE_OUT" <<'X'
0	(enabled)	    !epthook evprog!f0 script { } 
1	(enabled)	    !epthook evprog!f1 script { } 
2	(enabled)	    !epthook evprog!f2 script { } 
3	(enabled)	    !epthook evprog!f3 script { } 
X
code_equals_file "no byte changed by bad commands" "$pid" "$P"
# a good fifth hook writes its int3 (hdbg's own view still shows the original)
F5=$(printf '%x' $((0x$(load_base "$pid" "$P") + 0x$(sym_off "$P" f5))))
orig=$(mem_byte "$pid" "$F5")
live "!epthook $B script { }" "db $B l 1"
expect "live: db shows the original byte" "$(cut -c1-20 <<<"$LIVE_OUT")" <<X
$(printf '%016x' 0x$F5)  $orig
X
expect "live: int3 in memory" "$(mem_byte "$pid" "$F5")" <<<"cc"
live_end .detach
expect "live: detached" "$(normi <<<"$LIVE_OUT")" <<<"detached from process PID"
code_equals_file "no byte left after detach" "$pid" "$P"
wait "$pid"
expect_status "program status" $? 0
expect "program output" "$(cat "$TMPD/h.out")" <<X
ready $pid
done sum=$((21 * 1500 * 1499 / 2 + 15 * 1500))
X
finish
