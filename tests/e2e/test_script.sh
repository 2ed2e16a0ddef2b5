#!/usr/bin/env bash
# The script commands as a user sees them (`?`, print), with and without a
# target: printf output exactly as formatted, run-time errors of printf,
# the pseudo-registers hdbg computes, compile errors with their caret.
source "$(dirname "$0")/lib.sh" "$@"

# hdo ARGS...: stdout only (stderr dropped), exactly as printed.
hdo() {
	timeout 60 "$HDBG" --batch -q "$@" 2>/dev/null
}

# --- printf adds no newline ---
# (cat -A: every end of line shows as '$')
out=$(hdo -c '? { for (i = 0; i < 4; i++) { printf("%d", i); } }' | cat -A)
expect "printf in a loop: one line, ended once" "$out" <<'X'
0123$
X
out=$(hdo -c '? { printf("a\n"); printf("b"); printf("c\n"); }' -c '? { printf("x"); }' -c '? 0n1' | cat -A)
expect "a terminated line gets no extra newline" "$out" <<'X'
a$
bc$
x$
Evaluate expression: 1 = 0000000000000001$
X
# an error after an open line starts on a line of its own
out=$(hd -c '? { printf("partial"); x = 1 / 0; }')
expect "error after an open line" "$out" <<'X'
partial
err, ScriptEngineExecute, function = FUNC_DIV_TYPED
X

# --- one printf makes at most 4095 characters (HyperDbg's 4096-byte packet) ---
a4095=$(head -c 4095 /dev/zero | tr '\0' a)
out=$(hdo -c "? { printf(\"$a4095\"); }" | wc -c)
expect "printf of 4095 characters" "$out" <<'X'
4096
X
out=$(hd -c "? { printf(\"<\"); printf(\"${a4095}b\"); printf(\">\"); }"; echo "status $?")
expect "printf of 4096 characters is a run-time error" "$out" <<'X'
<
err, ScriptEngineExecute, function = FUNC_PRINTF
status 1
X
out=$(hd -c "? { printf(\"${a4095:5}%llx\", ffffffffffffffff); }" -c "? { printf(\"${a4095:16}%llx\", ffffffffffffffff); }" | cut -c1-10)
expect "a number past the limit" "$out" <<'X'
err, Scrip
aaaaaaaaaa
X

# --- %s and %ws: the script's own storage is readable, other bad addresses fail ---
out=$(hd -c '? { char s[] = "abc"; printf("%s|\n", s); }' -c '? { wchar_t w[] = L"wide"; printf("%ws|\n", w); }' \
	-c '? { .g = 41424344; printf("%s|\n", &.g); }' -c '? { printf("%s\n", 1); }' -c '? { printf("<"); printf("%ws\n", 0); }')
expect "%s without a target" "$out" <<'X'
abc|
wide|
DCBA|
err, ScriptEngineExecute, function = FUNC_PRINTF
<
err, ScriptEngineExecute, function = FUNC_PRINTF
X
out=$(hd -c 'bp simple!add' -c g -c '? { char s[] = "abc"; printf("%s|\n", s); }' \
	-c '? { printf("%s|\n", simple!greeting); }' -c '? { printf("%s\n", 1); }' -c 'g' -- "$T/simple" 1 | skip_start | skip_start | normpid)
expect "%s with a target" "$out" <<'X'
abc|
Hello world !|
err, ScriptEngineExecute, function = FUNC_PRINTF
Hello world ! sum=6 counter=1
process PID exited with status 0
X

# --- $pname $core $date $time have real values ---
# on the highest CPU this test may use, so that $core is known
cpu=$(taskset -pc $$ | sed 's/.*: //; s/.*[,-]//')
hdp() { timeout 60 taskset -c "$cpu" "$HDBG" --batch -q "$@" 2>&1; }
re_date='[0-9]{4}-[0-9]{2}-[0-9]{2}'
re_time='[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}'
name=$(basename "$HDBG")
out=$(hdp -c '? { printf("%s|%d|%llx|%llx|%d\n", $pname, $core, $date, $time, strlen($pname)); }')
expect "test mode: \$pname is hdbg's name, \$core its CPU, \$date/\$time 0" "$out" <<X
$name|$cpu|0|0|${#name}
X
today=$(date +%F)
out=$(hdp -c 'bp simple!add' -c g -c '? { printf("%s|%d|%s|%s|%d %d\n", $pname, $core, $date, $time, strlen($date), strlen($time)); }' \
	-c '? { if (strcmp($pname, "simple") == 0 && db($date + 4) == 2d && db($time + 8) == 2e) { printf("strings ok\n"); } }' \
	-c '? { p = $pname; eb(p, 41); printf("%s\n", p); }' -- "$T/simple" 1 | skip_start | skip_start)
expect_match "with a target" "$out" "^simple\|$cpu\|$re_date\|$re_time\|10 12\$" "^strings ok\$" "^simple\$"
[[ "$out" == *"|$today|"* ]] && ok || bad "\$date is not today ($today): $out"

# --- compile errors: the source line and a caret under the column ---
out=$(hd -c "$(printf '? { x = 1;\ny = 2 +;\nz = 3; }')"; echo "status $?")
expect "syntax error with a caret" "$out" <<'X'
error: script line 2 column 8: Syntax Error: Invalid Syntax: 'y = 2 +;'
  y = 2 +;
         ^
status 1
X
tmp=$(mktemp -d)
printf 'one = 1;\n\ttwo = 2 +;\n' >"$tmp/inc.ds"
printf 'float fl = 1.0;\nnum = fl %% 2;\n' >"$tmp/types.ds"
out=$(hd -c "? { #include \"$tmp/inc.ds\"; }" -c "? { #include \"$tmp/types.ds\"; }" | sed "s|$tmp|TMP|")
expect "errors in an #include'd file name it" "$out" <<X
error: script file 'TMP/inc.ds' line 2 column 11: Syntax Error: Invalid Syntax: '	two = 2 +;'
  	two = 2 +;
  	         ^
error: script file 'TMP/types.ds' line 2 column 10: Unsupported floating-point operation: 'num = fl % 2;'
  num = fl % 2;
           ^
X
rm -rf "$tmp"

# --- physical-address functions: one user-mode message each, the script goes on ---
out=$(hd -c '? { memcpy_pa(0, 0, 1); x = poi_pa(0); eb_pa(0, 1); printf("x=%d\n", x); }'; echo "status $?")
expect "memcpy_pa as the other *_pa" "$out" <<'X'
err, using physical address keywords (memcpy_pa) is not possible in user-mode
err, using physical address keywords (poi_pa) is not possible in user-mode
err, using physical address keywords (eb_pa) is not possible in user-mode
x=0
status 0
X

echo "test_script: $passed passed, $failed failed"
[ "$failed" = 0 ]
