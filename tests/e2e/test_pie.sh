#!/usr/bin/env bash
# hdbg against the PIE target and its shared library: module!symbol
# resolution with load biases, x over a library, breakpoints in the
# library, k across modules.
source "$(dirname "$0")/lib.sh" "$@"
P=$T/pie
MUL_LINE=$(src_line "$TARGET_SRC/hdlib.c" "return a * b + hdlib_value;")

out=$(hd -c "bp pie_compute" -c g -c lm -c "x hdlib!*" -c "bp hdlib!hdlib_mul" -c g \
	-c "r edi" -c "r esi" -c k -c "dd hdlib!hdlib_value l 1" -c "? poi(hdlib!hdlib_value) & ffffffff" \
	-c "bc all" -c g "$P")
expect_match "lm" "$out" '^[0-9a-f]{16} [0-9a-f]{16} pie +/.*/pie$' \
	'^[0-9a-f]{16} [0-9a-f]{16} libhdlib +/.*/libhdlib.so$' '^[0-9a-f]{16} [0-9a-f]{16} libc +/'
# the module is libhdlib (basename up to the first dot); `hdlib!` names it too
expect_match "x hdlib!*" "$out" '^[0-9a-f]{16} libhdlib!hdlib_mul$' '^[0-9a-f]{16} libhdlib!hdlib_value$'
expect_match "bp in the library" "$out" '^breakpoint 1 hit$' '^libhdlib!hdlib_mul:$' \
	'^edi=00000000$' '^esi=00000003$'
expect_match "k across modules" "$out" \
	"^00 [0-9a-f]{16} [0-9a-f]{16} libhdlib!hdlib_mul \\[hdlib.c @ $MUL_LINE\\]\$" \
	'^01 [0-9a-f]{16} [0-9a-f]{16} pie!pie_compute\+0x[0-9a-f]+ \[pie.c @ [0-9]+\]$' \
	'^02 [0-9a-f]{16} [0-9a-f]{16} pie!main\+0x[0-9a-f]+ \[pie.c @ [0-9]+\]$'
expect_match "library data" "$out" '^[0-9a-f]{16}  00001234$' '^Evaluate expression: 4660 = 0000000000001234$'
expect "result" "$(tail -2 <<<"$out" | norm)" <<'X'
pie result=23335
process PID exited with status 0
X

# the main program's address: the symbol and the module base agree with the bias
out=$(hd -c "bp pie_compute" -c g -c "? @rip - pie!pie_compute" -c "? pie_compute - pie!pie_compute" "$P")
expect_count "unqualified = qualified" "$out" 2 '^Evaluate expression: 0 = 0000000000000000$'

# .restart: a PIE loads elsewhere; the breakpoint's expression is resolved again
out=$(hd -c "bp pie_compute" -c g -c "? @rip - pie_compute" -c ".restart" -c g -c "? @rip - pie_compute" -c "bc 0" -c g "$P")
expect_count "bp hit after .restart" "$out" 2 '^breakpoint 0 hit$'
expect_count "at pie_compute each time" "$out" 2 '^Evaluate expression: 0 = 0000000000000000$'
expect_match "result after .restart" "$out" '^pie result=23335$'

# 5 calls of hdlib_mul: exactly 5 hits
repeat_c 6 g
out=$(hd -c "bp main" -c g -c "bp hdlib!hdlib_mul" "${REPLY_ARGS[@]}" "$P")
expect_count "5 hits in the library" "$out" 5 '^breakpoint 1 hit$'
expect_match "then the result" "$out" '^pie result=23335$'

# unknown module/symbol: one error, nothing set
out=$(hd -c "bp main" -c g -c "bp hdlib!nosuch" -c "bp nomod!x" -c bl -c g "$P")
expect_match "unknown symbols" "$out" "^error: unknown symbol 'hdlib!nosuch'\$" "^error: unknown symbol 'nomod!x'\$" \
	'^pie result=23335$'
expect_count "only bp 0 listed" "$out" 1 '^ ?[0-9]+ [ed] '
finish
