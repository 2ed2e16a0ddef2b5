#!/usr/bin/env bash
# Leaving no trace. A running evprog is attached (hdbg -p PID); !epthook
# events on f0..f5 take the four debug registers and two int3 hooks; they
# fire; then hdbg leaves by `.detach`, by `q` in --batch, or the target is
# started and detached or killed. Afterwards the target's code (read from
# /proc/PID/mem over its executable mappings) equals the file's bytes, its
# mappings (/proc/PID/maps) are those from before the attach (no agent
# arena, ring or scratch memory left), and it runs on to its correct final
# output (a debug register or int3 left behind would kill it with SIGTRAP).
# Then the same after the break of each event kind.
source "$(dirname "$0")/lib.sh" "$@"
R=1500
SUM=$((21 * R * (R - 1) / 2 + 15 * R))
HOOKS=()
for i in 0 1 2 3 4; do HOOKS+=("? .c$i = 0;"); done
for i in 0 1 2 3 4; do HOOKS+=("!epthook evprog!f$i script { .c$i = .c$i + 1; }"); done
HOOKS+=('!epthook evprog!f5')

# --- .detach while stopped by the break on an int3 hook ---
start_bg "$TMPD/a.out" "$P" hooks $R
pid=$BG_PID
cp "/proc/$pid/maps" "$TMPD/maps"
base=$(load_base "$pid" "$P")
addr() { printf '%x' $((0x$base + 0x$(sym_off "$P" "$1"))); }
live_start -p "$pid"
live "${HOOKS[@]}" g g g '? printf("sum %d\n", .c0 + .c1 + .c2 + .c3 + .c4);' '? @rip - evprog!f5'
expect "fired" "$(grep -E '^(event|Evaluate|sum)' <<<"$LIVE_OUT")" <<'X'
event 0x5 triggered (pre)
event 0x5 triggered (pre)
event 0x5 triggered (pre)
sum 15
Evaluate expression: 0 = 0000000000000000
X
# while attached: f0..f3 unchanged (debug registers), f4 and f5 int3
got=""
for f in f0 f1 f2 f3 f4 f5; do got+="$f=$(mem_byte "$pid" "$(addr $f)") "; done
expect "hooks in memory" "$got" <<<"f0=48 f1=48 f2=48 f3=48 f4=cc f5=cc "
# disabling the only event on an int3 hook restores the byte, enabling it
# writes the int3 again, clearing restores it for good
f4=$(addr f4)
live 'events d 4'
d=$(mem_byte "$pid" "$f4")
live 'events e 4'
e=$(mem_byte "$pid" "$f4")
live 'events c 4'
c=$(mem_byte "$pid" "$f4")
expect "events d/e/c on an int3 hook" "$d $e $c" <<<"48 cc 48"
live_end .detach
expect "detached" "$(normi <<<"$LIVE_OUT")" <<<"detached from process PID"
code_equals_file ".detach: code equals the file" "$pid" "$P"
maps_equal ".detach: mappings" "$pid" "$TMPD/maps"
wait "$pid"
expect_status ".detach: program status" $? 0
expect ".detach: program output" "$(cat "$TMPD/a.out")" <<X
ready $pid
done sum=$SUM
X

# --- .detach while stopped by the break on a hardware hook; `imm no`
# output is delivered at each break ---
start_bg "$TMPD/c.out" "$P" hooks $R
pid=$BG_PID
cp "/proc/$pid/maps" "$TMPD/maps"
out=$(hd -p "$pid" -c '!epthook evprog!f1 imm no script { printf("m "); }' -c '!epthook evprog!f3' -c g -c g \
	-c '? @rip - evprog!f3' -c .detach)
expect "hardware break, detach" "$(sed -n '/^m/,$p' <<<"$out" | grep -v '^;' | normi)" <<X
m 
event 0x1 triggered (pre)
evprog!f3:
ADDR 488d04bd03000000 lea rax, [rdi*4+0x3]
m 
event 0x1 triggered (pre)
evprog!f3:
ADDR 488d04bd03000000 lea rax, [rdi*4+0x3]
Evaluate expression: 0 = 0000000000000000
detached from process PID
X
code_equals_file "hardware: code equals the file" "$pid" "$P"
maps_equal "hardware: mappings" "$pid" "$TMPD/maps"
wait "$pid"
expect_status "hardware: program status" $? 0
expect "hardware: program output" "$(cat "$TMPD/c.out")" <<X
ready $pid
done sum=$SUM
X

# --- q in --batch, after the events fired (scripts and a break) ---
start_bg "$TMPD/b.out" "$P" hooks $R
pid=$BG_PID
cp "/proc/$pid/maps" "$TMPD/maps"
args=()
for h in "${HOOKS[@]}"; do args+=(-c "$h"); done
out=$(hd -p "$pid" "${args[@]}" -c g -c g -c '? printf("c4 %d\n", .c4);' -c q)
expect "q: fired" "$(grep -E '^(event|c4)' <<<"$out")" <<'X'
event 0x5 triggered (pre)
event 0x5 triggered (pre)
c4 2
X
code_equals_file "q: code equals the file" "$pid" "$P"
maps_equal "q: mappings" "$pid" "$TMPD/maps"
wait "$pid"
expect_status "q: program status" $? 0
expect "q: program output" "$(cat "$TMPD/b.out")" <<X
ready $pid
done sum=$SUM
X

# --- the break of each event kind, then .detach (or q): `evprog loop`
# runs every kind's trigger each round; the mappings and the code are as
# before the attach (a thread at a syscall-entry stop is the only one that
# can unmap the scratch memory: its syscall is made again after the
# detach), and the program runs on to its exact result: every getppid
# answered, every SIGUSR1 handled (the one of a break at !exception too)
N=1500
LOOP_END="done sum=$((N * (N - 1) / 2)) bad=0 zero=0 watched=$N handled=$N"
SPARE=(-c '!epthook evprog!f1 script { }' -c '!epthook evprog!f2 script { }'
	-c '!epthook evprog!f3 script { }' -c '!epthook evprog!f4 script { }')
# kind_break NAME LEAVE ARGS...: attach, ARGS (the last event breaks), g, LEAVE
kind_break() {
	local name=$1 leave=$2 out
	shift 2
	start_bg "$TMPD/k.out" "$P" loop $N || return
	pid=$BG_PID
	cp "/proc/$pid/maps" "$TMPD/maps"
	out=$(hd -p "$pid" "$@" -c g -c "$leave")
	if [ "$leave" = .detach ]; then
		expect_match "$name: broke, detached" "$out" '^event 0x[0-9a-f]+ triggered \(pre\)$' \
			"^detached from process $pid\$"
	else
		expect_match "$name: broke" "$out" '^event 0x[0-9a-f]+ triggered \(pre\)$'
	fi
	expect_count "$name: no warning" "$out" 0 'warning|left mapped'
	maps_equal "$name: mappings" "$pid" "$TMPD/maps"
	code_equals_file "$name: code equals the file" "$pid" "$P"
	wait "$pid"
	expect_status "$name: program status" $? 0
	expect "$name: program output" "$(cat "$TMPD/k.out")" <<X
ready $pid
$LOOP_END
X
}
kind_break "!epthook, debug register" .detach -c '!epthook evprog!f0'
kind_break "!epthook, int3" .detach "${SPARE[@]}" -c '!epthook evprog!f0'
kind_break "!epthook, custom code then a break" .detach -c '!epthook evprog!f0 code { 90 }' -c '!epthook evprog!f0'
kind_break "!syscall" .detach -c '!syscall getppid'
kind_break "!syscall, q" q -c '!syscall getppid'
kind_break "!syscall with the agent injected" .detach -c '!epthook evprog!f0 code { 90 }' -c '!syscall getppid'
kind_break "!sysret" .detach -c '!sysret getppid'
kind_break "!exception" .detach -c '!exception a'
kind_break "!tsc" .detach -c '!tsc'
if grep -q 'cpuid faulting\|not supported' <<<"$(hd -c '!cpuid 0' -- "$T/simple")"; then
	echo "SKIP: !cpuid: no CPUID faulting here"
else
	kind_break "!cpuid" .detach -c '!cpuid 0'
fi
kind_break "!monitor, debug register" .detach -c '!monitor w evprog!watched l 8'
kind_break "!monitor, page protection" .detach -c '!monitor w evprog!watched l 40'
kind_break "!trace" .detach -c '!trace step-in'

# --- a started target with int3 hooks, detached: it finishes correctly ---
out=$(hd "${args[@]}" -c g -c g -c '.detach' -- "$P" hooks 50)
pid=$(sed -nE 's/^process ([0-9]+) started: .*/\1/p' <<<"$out")
for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.02; done
expect "started, detached" "$(skip_start <<<"$out" | grep -Ev '^(evprog!f5:|; |Evaluate )' | normi | grep -v '^ADDR ')" <<X
ready PID
event 0x5 triggered (pre)
event 0x5 triggered (pre)
detached from process PID
done sum=$((21 * 50 * 49 / 2 + 15 * 50))
X

# --- .kill of a started target: it is gone, hdbg says so ---
out=$(hd "${args[@]}" -c g -c .kill -c events -c '.process' -- "$P" hooks 50)
pid=$(sed -nE 's/^process ([0-9]+) started: .*/\1/p' <<<"$out")
expect ".kill" "$(sed -n '/^event 0x5/,$p' <<<"$out" | grep -Ev '^(evprog!f5:|; )' | normi)" <<X
event 0x5 triggered (pre)
ADDR 488d047f         lea rax, [rdi+rdi*2]
process PID killed
$(for i in 0 1 2 3 4; do printf '%x\t(enabled)\t    !epthook evprog!f%d script { .c%d = .c%d + 1; } \n' $i $i $i $i; done)
5	(enabled)	    !epthook evprog!f5 
error: no target process (use .start PATH or .attach PID)
X
if kill -0 "$pid" 2>/dev/null; then bad ".kill: process $pid still exists"; else ok; fi

# --- events survive the target: .restart arms them again (a non-PIE
# program: the address is the same; in a PIE program the address text is
# evaluated again where the program now is)
out=$(hd -c '!epthook simple!add script { printf("add %d\n", @rdi); }' -c g -c .restart -c g -- "$T/simple" 2)
expect "events armed again after .restart" "$(grep -E '^(add|Hello|process .* (exited|restarted))' <<<"$out" | normi)" <<X
add 0
add 1
Hello world ! sum=14 counter=2
process PID exited with status 0
process PID restarted: $T/simple
add 0
add 1
Hello world ! sum=14 counter=2
process PID exited with status 0
X
out=$(hd -c '!epthook ExAllocatePoolWithTag script { printf("hook\n"); }' -c g -c .restart -c events -c g -- "$T/poolsim" 1)
expect "PIE: .restart moves the event with the program" "$(grep -Ev '^(ld-linux|[0-9a-f]{16} )' <<<"$out" | normi)" <<X
process PID started: $T/poolsim
hook
ExAllocatePoolWithTag(PoolType=0, NumberOfBytes=0x40, Tag='HDBG')
process PID exited with status 0
process PID restarted: $T/poolsim
0	(enabled)	    !epthook ExAllocatePoolWithTag script { printf("hook\n"); } 
hook
ExAllocatePoolWithTag(PoolType=0, NumberOfBytes=0x40, Tag='HDBG')
process PID exited with status 0
X
finish
