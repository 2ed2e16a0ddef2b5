#!/usr/bin/env bash
# hdbg against the non-PIE single-threaded target `simple`: run to the end,
# breakpoints hit in a loop with exact counts, registers (sub-registers,
# setting), memory display/edit/search, u, k, gu, p, t, lm, x, .process.
source "$(dirname "$0")/lib.sh" "$@"
S=$T/simple
ADD=$(sym_addr "$S" add)
LEAF=$(sym_addr "$S" leaf)
GREET=$(sym_addr "$S" greeting)
TABLE=$(sym_addr "$S" table)
hexadd() { printf '%016x' $((0x$1 + $2)); }

# --- run to the end ---
out=$(hd -c g "$S")
expect "run to exit" "$(skip_start <<<"$out" | norm)" <<'X'
Hello world ! sum=158 counter=10
process PID exited with status 0
X
expect_match "start banner" "$out" "^process [0-9]+ started: $S\$" '^ld-linux-x86-64!_start:$'

# --- a breakpoint in a loop: exactly 10 hits, then the program finishes ---
repeat_c 11 g
out=$(hd -c "bp simple!add" "${REPLY_ARGS[@]}" -c bl "$S")
expect "bl after the exit" "$(tail -1 <<<"$out")" <<X
 0 e $ADD 000a  $ADD
X
out=$(head -n -1 <<<"$out")
expect_count "bp add hit 10 times" "$out" 10 '^breakpoint 0 hit$'
expect_count "label at each hit" "$out" 10 '^simple!add:$'
expect_count "insn at each hit" "$out" 10 "^$ADD [0-9a-f]+ +[a-z]"
expect "bp loop tail" "$(tail -2 <<<"$out" | norm)" <<'X'
Hello world ! sum=158 counter=10
process PID exited with status 0
X

out=$(hd -c "bp simple!add" -c g -c g -c g -c bl -c "bd 0" -c bl -c g "$S")
expect "bl counts hits; bd lets it run" "$(grep -E '^ ?[0-9]+ [ed] ' <<<"$out")" <<X
 0 e $ADD 0003  simple!add
 0 d $ADD 0003  simple!add
X
expect_match "bd: runs to the end" "$out" '^Hello world ! sum=158 counter=10$'

# --- registers: arguments at the hits, sub-registers, setting ---
out=$(hd -c "bp simple!add" -c g -c "r rdi rsi" -c g -c "r rdi" -c "r @rsi" \
	-c "r rax = 1122334455667788" -c "r eax" -c "r ax" -c "r ah" -c "r al" \
	-c "r @ax = beef" -c "r rax" -c "r r8 = 0" -c "r r8d=ffffffff" -c "r r8" -c "r r8w" \
	-c "r @r8l = 1" -c "r r8" -c "r eax= @eax + 0n10" -c "r eax" "$S")
expect "registers" "$(grep -E '^[a-z0-9]+=' <<<"$out")" <<'X'
rdi=0000000000000000
rsi=0000000000000001
rdi=0000000000000001
rsi=0000000000000002
eax=55667788
ax=7788
ah=77
al=88
rax=112233445566beef
r8=00000000ffffffff
r8w=ffff
r8=00000000ffffff01
eax=5566bef9
X
out=$(hd -c "bp simple!add" -c g -c "r" "$S")
expect_match "r shows all" "$out" '^rax=[0-9a-f]{16} rbx=[0-9a-f]{16} rcx=[0-9a-f]{16}$' \
	"^rip=$ADD rsp=[0-9a-f]{16} rbp=[0-9a-f]{16}\$" '^ r8=[0-9a-f]{16}  r9=' \
	'^iopl=0 +(nv|ov) (up|dn) (ei|di) (pl|ng) (zr|nz) (na|ac) (pe|po) (nc|cy)$' \
	'^cs=0033  ss=002b  ds=0000  es=0000  fs=0000  gs=0000 +efl=[0-9a-f]{8}$'
# setting an argument register changes what the program computes: b = 100
out=$(hd -c "bp simple!add" -c g -c "r rsi = 0n100" -c "bc 0" -c g "$S")
expect_match "r set changes the result" "$out" '^Hello world ! sum=554 counter=10$'

# --- memory ---
out=$(hd -c "db greeting l d" -c "dq table l 4" -c "dd table l 4" -c "dw table l 2" \
	-c "dc greeting l 3" -c "db $GREET+0n12 l 1" "$S")
T16=$(hexadd "$TABLE" 16)
G12=$(hexadd "$GREET" 12)
expect "d*" "$(skip_start <<<"$out")" <<X
$(printf '%s  48 65 6c 6c 6f 20 77 6f-72 6c 64 20 21%11sHello world !' "$GREET" '')
$TABLE  0000000000000001 0000000000000002
$T16  0000000000000003 0000000000000004
$TABLE  00000001 00000000 00000002 00000000
$TABLE  0001 0000
$(printf '%s  6c6c6548 6f77206f 20646c72%11sHello world ' "$GREET" '')
$(printf '%s  21%47s!' "$G12" '')
X
out=$(hd -c "eq table 10 20" -c "dq table l 2" -c "eb greeting 4a" -c "ew greeting+1 6f6f" \
	-c "db greeting l 5" -c "ed table+10 3 0 4" -c "dd table+10 l 3" -c g "$S")
expect "e* then the program sees it" "$(skip_start <<<"$out" | normpid)" <<X
$TABLE  0000000000000010 0000000000000020
$(printf '%s  4a 6f 6f 6c 6f%35sJoolo' "$GREET" '')
$T16  00000003 00000000 00000004
Joolo world ! sum=518 counter=10
process PID exited with status 0
X
out=$(hd -c "s -b greeting l d 6f 20" -c "s -d table l 40 5" -c "s -q table l 40 9" "$S")
G4=$(hexadd "$GREET" 4)
T32=$(hexadd "$TABLE" 32)
expect "s" "$(skip_start <<<"$out")" <<X
$(printf '%s  6f 20 77 6f 72 6c 64 20-21%23so world !' "$G4" '')
$T32  05 00 00 00 00 00 00 00-06 00 00 00 00 00 00 00  ................
X

# --- disassembly, stack, stepping ---
LEAF_LINE=$(src_line "$TARGET_SRC/simple.c" "return x * 3 + 1;")
out=$(hd -c "u leaf l 2" "$S")
expect_match "u: label, source line, bytes" "$(skip_start <<<"$out")" '^simple!leaf:$' \
	"^; simple.c:$LEAF_LINE\$" "^$LEAF [0-9a-f]+ +[a-z]"
out2=$(hd -c "u middle l 6" "$S")
expect_match "u: branch targets named" "$out2" '^[0-9a-f]{16} e8[0-9a-f]{8} +call simple!leaf$'
expect_count "u: 2 instructions" "$(skip_start <<<"$out")" 2 '^[0-9a-f]{16} [0-9a-f]+ +[a-z]'

MID_LINE=$(src_line "$TARGET_SRC/simple.c" "return leaf(x) + 1;")
MAIN_LINE=$(src_line "$TARGET_SRC/simple.c" "sum += middle(sum);")
out=$(hd -c "bp leaf" -c g -c k "$S")
expect_match "k" "$out" \
	"^00 [0-9a-f]{16} [0-9a-f]{16} simple!leaf \\[simple.c @ $LEAF_LINE\\]\$" \
	"^01 [0-9a-f]{16} [0-9a-f]{16} simple!middle\\+0x[0-9a-f]+ \\[simple.c @ $MID_LINE\\]\$" \
	"^02 [0-9a-f]{16} [0-9a-f]{16} simple!main\\+0x[0-9a-f]+ \\[simple.c @ $MAIN_LINE\\]\$"

# k N: the first N frames of k, the last one's return address included
out=$(hd -c "bp leaf" -c g -c k -c "k 2" "$S")
full=$(grep -E '^0[0-9] ' <<<"$out" | head -n 2)
expect "k 2 = the first 2 frames of k" "$(grep -E '^0[0-9] ' <<<"$out" | tail -n 2)" <<<"$full"
expect_count "k 2: no zero return address" "$full" 0 '^0[01] [0-9a-f]{16} 0{16} '

# gu: back in middle with leaf's result (39 * 3 + 1 = 0x76) in rax
out=$(hd -c "bp leaf" -c g -c gu -c "r rax" "$S")
expect_match "gu" "$(sed -n '/^breakpoint 0 hit/,$p' <<<"$out" | tail -n +4)" \
	'^simple!middle\+0x[0-9a-f]+:$' '^rax=0000000000000076$'

# p over the call in middle: stops after it with the result, leaf's
# own code never stops; t at the same call enters leaf
CALL=$(objdump -d --no-show-raw-insn "$S" | awk '/<middle>:/,/ret/' | grep -m1 'call' | awk '{print $1}' | tr -d ':')
CALL=$(printf '%016x' "0x$CALL")
out=$(hd -c "bp $CALL" -c g -c p -c "r rax" -c "? @rip - $CALL" "$S")
expect_match "p steps over a call" "$out" '^rax=0000000000000076$' \
	'^Evaluate expression: 5 = 0000000000000005$'
# p over a call that hits a breakpoint stops there; the temporary
# breakpoint at the return address is gone afterwards (no extra stop)
out=$(hd -c "bp $CALL" -c "bp leaf" -c g -c "p 5" -c "? @rip - leaf" -c "bc all" -c g "$S")
expect "p stops at a breakpoint inside the call" "$(sed -n '/^breakpoint 1 hit/,$p' <<<"$out" | grep -v '^[0-9a-f]\{16\} ' | normpid)" <<X
breakpoint 1 hit
simple!leaf:
; simple.c:$LEAF_LINE
Evaluate expression: 0 = 0000000000000000
Hello world ! sum=158 counter=10
process PID exited with status 0
X
out=$(hd -c "bp $CALL" -c g -c t -c "? @rip - leaf" -c "t 2" "$S")
expect_match "t steps into the call" "$out" '^simple!leaf:$' '^Evaluate expression: 0 = 0000000000000000$'
expect_count "t 2 prints two instructions" "$(sed -n '/^Evaluate/,$p' <<<"$out")" 2 '^[0-9a-f]{16} [0-9a-f]+ +[a-z]'

# --- a: assemble into memory (a block, the line mode, errors write nothing) ---
out=$(hd -c "a simple!leaf { lea rax, [rdi+rdi*2+2]; ret }" -c "u leaf l 1" -c g "$S")
expect "a ADDR { CODE }" "$(skip_start <<<"$out" | normpid | grep -v '^;')" <<X
$LEAF 488d447f02c3
simple!leaf:
$LEAF 488d447f02       lea rax, [rdi+rdi*2+0x2]
Hello world ! sum=159 counter=10
process PID exited with status 0
X
out=$(hd -c "a leaf" -c "lea rax, [rdi+rdi*2+3]" -c "bogus rax" -c "ret" -c "" \
	-c "a leaf {mov rax, nosuch}" -c g "$S")
expect "a ADDR: line mode" "$(skip_start <<<"$out" | normpid)" <<X
$LEAF 488d447f03
error: assembly line 1 column 1: unknown mnemonic 'bogus'
  bogus rax
  ^
$(printf '%016x' $((0x$LEAF + 5))) c3
error: assembly line 1 column 10: undefined label or symbol 'nosuch'
  mov rax, nosuch
           ^
Hello world ! sum=160 counter=10
process PID exited with status 0
X

# --- resuming from a breakpoint the thread stands on without having hit it
# (a step ended there, or it was set at rip): g goes past it, as in GDB ---
out=$(hd -c "bp simple!add" -c "bp simple!add+7" -c g -c t -c g -c bl -c g -c bl "$S")
expect "t onto a breakpoint, then g" "$(grep -E '^(breakpoint|simple!| ?[0-9]+ [ed] )' <<<"$out")" <<X
breakpoint 0 hit
simple!add:
simple!add+0x7:
breakpoint 0 hit
simple!add:
 0 e $ADD 0002  simple!add
 1 e $(hexadd $ADD 7) 0000  simple!add+0x7
breakpoint 1 hit
simple!add+0x7:
 0 e $ADD 0002  simple!add
 1 e $(hexadd $ADD 7) 0001  simple!add+0x7
X
out=$(hd -c "bp @rip" -c g "$S")
expect "bp at the first instruction, then g" "$(skip_start <<<"$out" | norm)" <<'X'
Hello world ! sum=158 counter=10
process PID exited with status 0
X
out=$(hd -c "bp simple!add" -c g -c "bp simple!leaf" -c "r rip = simple!leaf" -c g -c "r rip" "$S")
expect "moved onto a breakpoint by the user: it hits" "$(grep -E '^(breakpoint|rip=)' <<<"$out")" <<X
breakpoint 0 hit
breakpoint 1 hit
rip=$LEAF
X

# --- modules, symbols, process ---
out=$(hd -c lm -c "x simple!add" -c "x simple!le*" -c ".process" -c ".thread" "$S")
expect_match "lm" "$out" "^0000000000400000 [0-9a-f]{16} simple +$S\$" \
	'^[0-9a-f]{16} [0-9a-f]{16} ld-linux-x86-64 +/'
expect_match "x" "$out" "^$ADD simple!add\$" "^$LEAF simple!leaf\$"
expect_match ".process/.thread" "$(norm <<<"$out")" "^process PID $S \\(started\\), 1 thread, current thread TID\$" \
	'^\* [0-9]+ +ld-linux-x86-64!_start$'
# registers are read once per stop: each further hit of a breakpoint costs
# exactly one PTRACE_GETREGS (counted with strace on hdbg itself)
getregs() {
	local args=() i
	for i in $(seq "$1"); do args+=(-c g); done
	strace -e trace=ptrace -o "$tmp_st" "$HDBG" --batch -q -c "bp simple!add" "${args[@]}" "$S" >/dev/null 2>&1
	grep -c PTRACE_GETREGS "$tmp_st"
}
if command -v strace >/dev/null; then
	tmp_st=$(mktemp)
	a=$(getregs 3)
	b=$(getregs 8)
	rm -f "$tmp_st"
	expect "one GETREGS per breakpoint stop" "$((b - a))" <<<"5"
else
	echo "test_simple: one GETREGS per stop: SKIP: no strace"
fi

# an unqualified name: the program's first (ld.so has a _start too)
out=$(hd -c "? _start" -c "? ld-linux-x86-64!_start" "$S")
expect_match "the program's _start first" "$out" \
	"^Evaluate expression: [0-9]+ = $(sym_addr "$S" _start)\$"
expect_count "ld.so's _start differs" "$out" 1 "^Evaluate expression: [0-9]+ = $(sym_addr "$S" _start)\$"
# x in libc: each (address, name) once (.symtab and .dynsym list most
# symbols twice), none of the unmapped ones at address 0
out=$(hd -c "bp main" -c g -c "x libc!mem*" -c "x libc!*warning*" "$S" | grep -E '^[0-9a-f]{16} libc!')
expect_count "x libc!mem*: no line twice" "$(sort <<<"$out" | uniq -d)" 0 .
expect_match "x libc!mem*" "$out" '^[0-9a-f]{16} libc!memcpy$' '^[0-9a-f]{16} libc!memset$'
expect_count "x: nothing at address 0" "$out" 0 '^0{16} '

finish
