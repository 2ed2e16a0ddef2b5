#!/usr/bin/env bash
# Runs demo/run on BUILD_DIR and checks that each part of the demo is there.
set -u
out=$("$(dirname "$0")/run" "${1:?usage: check.sh BUILD_DIR}" 2>&1)
fail=0
for re in "^0	\(enabled\)	    !epthook ExAllocatePoolWithTag code \{488B5A404881FB484442477402EB0848C\.\.\.$" \
	"^ExAllocatePoolWithTag\\(PoolType=0, NumberOfBytes=0x40, Tag='HDB2'\\)$" \
	'^breakpoint 0 hit$' '^poolsim!ExAllocatePoolWithTag:$' \
	'^rax=[0-9a-f]{16} rbx=[0-9a-f]{16} rcx=0000000000000000$' '^rdx=0000000000000040 ' \
	'^ r8=0000000047424448 ' '^r8=0000000047424448$' "^Tag = 'HDBG'$" \
	'^[0-9a-f]{16} 55 +push rbp$' '^ # Child-SP +RetAddr +Call Site$' \
	'^00 [0-9a-f]{16} [0-9a-f]{16} poolsim!ExAllocatePoolWithTag \[poolsim.c @ [0-9]+\]$' \
	'^01 [0-9a-f]{16} [0-9a-f]{16} poolsim!main\+0x[0-9a-f]+ ' \
	"^ExAllocatePoolWithTag\\(PoolType=0, NumberOfBytes=0x40, Tag='HDBG'\\)$" \
	'^process [0-9]+ exited with status 0$'; do
	if ! grep -Eq -- "$re" <<<"$out"; then
		echo "FAIL: demo output has no line matching /$re/"
		fail=1
	fi
done
[ $fail = 0 ] || printf '%s\n' "$out"
echo "demo: $([ $fail = 0 ] && echo 1 passed, 0 failed || echo 0 passed, 1 failed)"
exit $fail
