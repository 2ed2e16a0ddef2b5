/*
** runner.S: the custom-code runner of the agent blob. hdbg redirects a
** stopped thread here to run a custom-code or condition block with the
** seed's ABI (spec/hdbg.md section 4) on that thread, then gets it back
** through a trap.
**
** Protocol (docs/agent.md, "The runner"):
**
**  hdbg, with the thread stopped at an event (registers G):
**    1. writes the call block (one per agent, in the arena):
**         +0x00 G.rax   +0x08 G.rsp   +0x10 code   +0x18 buffer
**         +0x20 context +0x28 kind (0 = custom code, 1 = condition)
**    2. sets rax = &call block, rip = agent_runner (every other register
**       keeps its value from G; orig_rax = -1), resumes the thread.
**
**  agent_runner, on the thread:
**    3. moves rsp below the 128-byte red zone, aligns it to 16 and reserves
**       the frame F (0xa0 bytes): F+0x00..0x7f GUEST_REGS (G, packed in the
**       seed's order; rsp = G.rsp), F+0x80 code, +0x88 buffer,
**       +0x90 context, +0x98 kind. Only the thread's own stores touch its
**       stack, so a growing stack grows as usual.
**    4. calls the block, Microsoft x64 convention, 32 bytes of shadow space,
**       DF clear, rsp+8 aligned to 16 at the block's first instruction:
**         custom code: rcx = buffer, rdx = &GUEST_REGS, r8 = context
**         condition:   rcx = &GUEST_REGS, rdx = context
**       The block may clobber every general-purpose register and the flags;
**       it must return with `ret` and rsp as it found it.
**    5. sets ZF from the block's rax (ZF = 1: rax was 0), loads all 16
**       registers from GUEST_REGS (rsp last, with the values the block may
**       have written there; `mov` leaves the flags alone) and executes the
**       int3 at agent_runner_trap.
**
**  hdbg, at the trap stop of that thread (a SIGTRAP signal-delivery stop;
**  registers T):
**    6. result = T.eflags.ZF ? 0 : 1; the thread's registers become T's
**       general-purpose registers with G's rip, eflags, orig_rax, segments
**       and fs/gs bases; the caller resumes it at the original rip.
**
** No memory is read back: GUEST_REGS comes back in the registers of the
** trap stop, which hdbg reads once per stop anyway.
*/
	.intel_syntax noprefix
	.text

	.globl agent_runner
	.hidden agent_runner
	.type agent_runner, @function
	.p2align 4
agent_runner:
	lea rsp, [rsp - 0x80]           /* red zone */
	and rsp, -16
	sub rsp, 0xa0                   /* frame F */
	mov [rsp + 0x08], rcx
	mov [rsp + 0x10], rdx
	mov [rsp + 0x18], rbx
	mov [rsp + 0x28], rbp
	mov [rsp + 0x30], rsi
	mov [rsp + 0x38], rdi
	mov [rsp + 0x40], r8
	mov [rsp + 0x48], r9
	mov [rsp + 0x50], r10
	mov [rsp + 0x58], r11
	mov [rsp + 0x60], r12
	mov [rsp + 0x68], r13
	mov [rsp + 0x70], r14
	mov [rsp + 0x78], r15
	mov rcx, [rax + 0x00]
	mov [rsp + 0x00], rcx           /* G.rax */
	mov rcx, [rax + 0x08]
	mov [rsp + 0x20], rcx           /* G.rsp */
	mov rcx, [rax + 0x10]
	mov [rsp + 0x80], rcx           /* code */
	mov rcx, [rax + 0x18]
	mov [rsp + 0x88], rcx           /* buffer */
	mov rcx, [rax + 0x20]
	mov [rsp + 0x90], rcx           /* context */
	mov rcx, [rax + 0x28]
	mov [rsp + 0x98], rcx           /* kind */
	cld
	test rcx, rcx
	jnz 1f
	mov rcx, [rsp + 0x88]           /* custom code (buffer, regs, context) */
	mov rdx, rsp
	mov r8, [rsp + 0x90]
	jmp 2f
1:	mov rcx, rsp                    /* condition (regs, context) */
	mov rdx, [rsp + 0x90]
2:	mov rax, [rsp + 0x80]
	sub rsp, 0x20                   /* shadow space */
	call rax
	add rsp, 0x20
	test rax, rax                   /* ZF = (result == 0) */
	mov rcx, [rsp + 0x08]
	mov rdx, [rsp + 0x10]
	mov rbx, [rsp + 0x18]
	mov rbp, [rsp + 0x28]
	mov rsi, [rsp + 0x30]
	mov rdi, [rsp + 0x38]
	mov r8, [rsp + 0x40]
	mov r9, [rsp + 0x48]
	mov r10, [rsp + 0x50]
	mov r11, [rsp + 0x58]
	mov r12, [rsp + 0x60]
	mov r13, [rsp + 0x68]
	mov r14, [rsp + 0x70]
	mov r15, [rsp + 0x78]
	mov rax, [rsp + 0x00]
	mov rsp, [rsp + 0x20]
	.globl agent_runner_trap
	.hidden agent_runner_trap
agent_runner_trap:
	int3
	ud2
	.size agent_runner, . - agent_runner

	.section .note.GNU-stack, "", @progbits
