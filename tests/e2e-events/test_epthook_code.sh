#!/usr/bin/env bash
# Custom code and conditions of !epthook, run inside the target with the
# seed's ABI: the seed example in hex and in `asm code {}` (poolsim prints
# the tag HDB2 instead of HDBG), through an int3 hook too; conditions true
# and false in hex and assembly; `buffer N` reaching rcx (NULL without it),
# the context in r8; script before code in one event, newest event first;
# code clobbering every register; GUEST_REGS writes reaching the thread;
# crashing code and conditions reported and the target unharmed.
source "$(dirname "$0")/lib.sh" "$@"
S=$T/poolsim
SEED=488B5A404881FB484442477402EB0848C7424048444232C3
SEED_ASM='mov rbx, QWORD PTR [rdx+0x40]; cmp rbx, 0x47424448; je L; jmp E; L: mov QWORD PTR [rdx+0x40], 0x32424448; E:'
call() { echo "ExAllocatePoolWithTag(PoolType=0, NumberOfBytes=0x40, Tag='$1')"; }
# run N COMMAND...: poolsim N under the commands then g; the output after start
run() {
	local n=$1
	shift
	local a=() c
	for c in "$@"; do a+=(-c "$c"); done
	hd "${a[@]}" -c g -- "$S" "$n" | skip_start | normi
}

# --- the seed, verbatim, in hex and in assembly ---
expect "seed hex" "$(run 2 "!epthook ExAllocatePoolWithTag code {$SEED}")" <<X
$(call HDB2)
$(call HDB2)
process PID exited with status 0
X
expect "seed asm" "$(run 2 "!epthook ExAllocatePoolWithTag asm code { $SEED_ASM }")" <<X
$(call HDB2)
$(call HDB2)
process PID exited with status 0
X
# a block whose last line is a comment still gets its ret (a line of its own)
expect "seed asm, a comment at the end" "$(run 1 "!epthook ExAllocatePoolWithTag asm code { $SEED_ASM # rewrites the tag }")" <<X
$(call HDB2)
process PID exited with status 0
X
# an error only the load address shows (a call out of reach of the agent's
# arena): reported with the source line and a caret; nothing registered
expect "load-time assembly error" "$(run 1 "!epthook ExAllocatePoolWithTag asm code { nop; call 0x7ff000000000 }" events)" <<X
err, assemble error in the code of event 0x0 at line 1 column 12: branch target 0x7ff000000000 is more than 2 GiB away
   nop; call 0x7ff000000000
             ^
no active/disabled events 
$(call HDBG)
process PID exited with status 0
X
# hex block forms of HyperDbg: 0x prefix, \x separators, spaces
expect "seed hex 0x/\\x/spaces" "$(run 1 "!epthook ExAllocatePoolWithTag code {0x488B5A40\\x4881FB48444247 7402EB08 48C7424048444232 C3}")" <<X
$(call HDB2)
process PID exited with status 0
X
# through an int3 hook (four other hooks, with empty scripts, hold the
# debug registers: main's first four instructions)
expect "seed through int3" "$(run 1 '!epthook main script { }' '!epthook main+1 script { }' \
	'!epthook main+4 script { }' '!epthook main+6 script { }' \
	"!epthook ExAllocatePoolWithTag code {$SEED}")" <<X
$(call HDB2)
process PID exited with status 0
X

# --- conditions: code runs only when the condition returns non-zero ---
expect "condition false (hex)" "$(run 1 "!epthook ExAllocatePoolWithTag condition {31C0} code {$SEED}")" <<X
$(call HDBG)
process PID exited with status 0
X
expect "condition true (hex)" "$(run 1 "!epthook ExAllocatePoolWithTag condition {B801000000} code {$SEED}")" <<X
$(call HDB2)
process PID exited with status 0
X
# asm condition: rcx = GUEST_REGS (r8 at 0x40), rdx = context; `asm`
# makes the code block assembly too
CT='asm condition { xor eax, eax; cmp qword ptr [rcx+0x40], 0x47424448; sete al; test rdx, rdx; jnz K; xor eax, eax; K: }'
CF='asm condition { xor eax, eax; cmp qword ptr [rcx+0x40], 0x41414141; sete al }'
expect "condition true (asm)" "$(run 1 "!epthook ExAllocatePoolWithTag $CT code { $SEED_ASM }")" <<X
$(call HDB2)
process PID exited with status 0
X
expect "condition false (asm)" "$(run 1 "!epthook ExAllocatePoolWithTag $CF code { $SEED_ASM }")" <<X
$(call HDBG)
process PID exited with status 0
X
# a false condition skips a script action too, and a break
expect "condition false: no script, no break" "$(run 1 \
	'!epthook ExAllocatePoolWithTag condition {31C0} script { printf("never\n"); }' \
	'!epthook ExAllocatePoolWithTag condition {31C0}')" <<X
$(call HDBG)
process PID exited with status 0
X

# --- buffer N reaches rcx; it is zeroed and persists across hits ---
BUFC='inc qword ptr [rcx]; mov rax, [rcx]; shl rax, 24; add rax, 0x30424448; mov [rdx+0x40], rax'
expect "buffer in rcx" "$(run 3 "!epthook ExAllocatePoolWithTag buffer 10 asm code { $BUFC }")" <<X
$(call HDB1)
$(call HDB2)
$(call HDB3)
process PID exited with status 0
X
expect "no buffer: rcx = NULL" "$(run 1 '!epthook ExAllocatePoolWithTag asm code { test rcx, rcx; jnz L; mov qword ptr [rdx+0x40], 0x4c4c554e; L: }')" <<X
$(call NULL)
process PID exited with status 0
X
# r8 = context = the hooked address
expect "context in r8" "$(run 1 '!epthook ExAllocatePoolWithTag asm code { mov rax, ExAllocatePoolWithTag; cmp r8, rax; jne L; mov qword ptr [rdx+0x40], 0x31585443; L: }')" <<X
$(call CTX1)
process PID exited with status 0
X

# --- order: script before code in one event; newest event first ---
# the script turns HDBG into HDBX, the code HDBX into HDB2: HDB2 only if
# the script ran first (the code block is written first on purpose)
XTO2='asm code { cmp qword ptr [rdx+0x40], 0x58424448; jne E; mov qword ptr [rdx+0x40], 0x32424448; E: }'
GTOX='script { if (@r8 == 47424448) { @r8 = 58424448; } }'
expect "script before code" "$(run 1 "!epthook ExAllocatePoolWithTag $XTO2 $GTOX")" <<X
$(call HDB2)
process PID exited with status 0
X
expect "newest event first" "$(run 1 "!epthook ExAllocatePoolWithTag $XTO2" \
	"!epthook ExAllocatePoolWithTag asm code { cmp qword ptr [rdx+0x40], 0x47424448; jne E; mov qword ptr [rdx+0x40], 0x58424448; E: }")" <<X
$(call HDB2)
process PID exited with status 0
X

# --- the code may clobber every general-purpose register and the flags:
# hdbg restores them from GUEST_REGS (main keeps its loop state in
# callee-saved registers; the function reads its arguments after the hook)
CLOB='mov rax, -1; mov rbx, -1; mov rcx, -1; mov rdx, -1; mov rsi, -1; mov rdi, -1; mov rbp, -1; mov r8, -1; mov r9, -1; mov r10, -1; mov r11, -1; mov r12, -1; mov r13, -1; mov r14, -1; mov r15, -1; xor eax, eax; cmp rax, 1'
expect "clobbering code" "$(run 3 "!epthook ExAllocatePoolWithTag asm code { $CLOB }")" <<X
$(call HDBG)
$(call HDBG)
$(call HDBG)
process PID exited with status 0
X
# a write to GUEST_REGS.rsi (the script's view of it too) reaches the thread
expect "GUEST_REGS write reaches the script of an older event" "$(run 1 \
	'!epthook ExAllocatePoolWithTag script { printf("rsi=%llx\n", @rsi); }' \
	'!epthook ExAllocatePoolWithTag asm code { mov qword ptr [rdx+0x30], 0x1234 }')" <<X
rsi=1234
$(call HDBG)
process PID exited with status 0
X

# --- crashing custom code or condition: reported, registers restored, the
# program goes on; a crashing condition counts as false ---
CRASH="the thread's registers were restored"
crashnorm() { sed -E 's/signal ([0-9]+) at [0-9a-f]{16}, address [0-9a-f]{16}/signal \1 at ADDR, address ADDR/'; }
# (each report is printed before the thread runs on, so it comes before the
# program's next line)
out=$(run 2 '!epthook ExAllocatePoolWithTag asm code { mov qword ptr [rdx+0x40], 0; mov qword ptr [0], 1 }')
expect "crashing code" "$(crashnorm <<<"$out")" <<X
err, the custom code of event 0x0 crashed (signal 11 at ADDR, address ADDR); $CRASH
$(call HDBG)
err, the custom code of event 0x0 crashed (signal 11 at ADDR, address ADDR); $CRASH
$(call HDBG)
process PID exited with status 0
X
out=$(run 1 '!epthook ExAllocatePoolWithTag asm condition { ud2 } code { mov qword ptr [rdx+0x40], 0 }')
expect "crashing condition" "$(crashnorm <<<"$out")" <<X
err, the condition of event 0x0 crashed (signal 4 at ADDR, address ADDR); $CRASH
$(call HDBG)
process PID exited with status 0
X
# the same reports when the occurrence goes on after a break (`g`)
out=$(hd -c '!epthook ExAllocatePoolWithTag asm condition { ud2 } code { mov qword ptr [rdx+0x40], 0 }' \
	-c '!epthook ExAllocatePoolWithTag' -c g -c g -- "$S" 1)
expect "crashing condition after a break" "$(tail -3 <<<"$out" | crashnorm | normi)" <<X
err, the condition of event 0x0 crashed (signal 4 at ADDR, address ADDR); $CRASH
$(call HDBG)
process PID exited with status 0
X
finish
