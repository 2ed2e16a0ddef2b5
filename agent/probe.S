/*
** probe.S: memory access stubs with fault fixups. Code running in the
** target on behalf of a script (the agent's VM) reads and writes target
** memory only through these stubs. A fault inside a stub's access
** instruction (agent_probe_copy_insn) reaches hdbg as a signal-delivery
** stop; hdbg (agent_fault_fixup) moves the thread to the stub's failure
** path (agent_probe_copy_fail) and drops the signal, the way a kernel's
** exception table works. So a bad pointer costs one stop, never a crash.
**
** int agent_probe_copy(void *dst, const void *src, size_t n)   (SysV ABI)
**   copies n bytes; returns 0, or -1 if a byte of either side faulted
**   (the bytes before the fault are copied).
*/
	.intel_syntax noprefix
	.text

	.globl agent_probe_copy
	.hidden agent_probe_copy
	.type agent_probe_copy, @function
	.p2align 4
agent_probe_copy:
	mov rcx, rdx
	cld
	.globl agent_probe_copy_insn
	.hidden agent_probe_copy_insn
agent_probe_copy_insn:
	rep movsb
	xor eax, eax
	ret
	.globl agent_probe_copy_fail
	.hidden agent_probe_copy_fail
agent_probe_copy_fail:
	mov rax, -1
	ret
	.size agent_probe_copy, . - agent_probe_copy

	.section .note.GNU-stack, "", @progbits
