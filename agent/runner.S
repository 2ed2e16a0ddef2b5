/*
** runner.S: the custom-code runners of the agent blob. agent_runner: hdbg
** redirects a stopped thread here to run a custom-code or condition block
** with the seed's ABI (spec/hdbg.md section 4) on that thread, then gets it
** back through a trap (two stops per event). agent_onestop (below): the
** thread runs a hook's conditions and codes and continues at the displaced
** instruction by itself (one stop per event).
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


/*
** agent_onestop: the one-stop runner (docs/agent.md, "One stop per event").
** hdbg, at a breakpoint stop with registers G, sets rip to the entry of a
** per-hook block (agent_onestop_load) and resumes; no memory is written
** and no other register changes. The per-hook entry does
**     lea rsp, [rsp - 0x80]      red zone
**     push rax                   G.rax at G.rsp - 0x88
**     lea rax, [rip + desc]      the hook's descriptor
**     jmp agent_onestop
** desc: +0x00 epilogue, +0x08 n, +0x10 n ops of 32 bytes
**       {condition or 0, code or 0, buffer, context}, newest event first.
** Here: the frame F (0xb0 bytes, 16-aligned, below everything above) holds
** GUEST_REGS at F+0x00..0x7f (rsp = G.rsp), F+0x80 rflags, +0x88 desc,
** +0x90 current op, +0x98 ops left, +0xa0 epilogue. For each op: the
** condition (rcx = &GUEST_REGS, rdx = context; 0 skips the op's code),
** then the code (rcx = buffer, rdx = &GUEST_REGS, r8 = context; code 1:
** the event breaks: int3 at agent_onestop_break with rsp = F), each with
** DF clear, 32 bytes of shadow space and rsp+8 16-aligned at its first
** instruction. Then rflags as they were, the 14 registers other than rax and
** rsp from GUEST_REGS, and `jmp [F+0xa0]` to the hook's epilogue:
**     mov rax, [rsp]; mov rsp, [rsp + 0x20]; jmp [rip + 0]; dq continuation
** (the displaced instruction run out of line, then addr+len). Nothing is
** ever read below rsp, so a signal may arrive at any instruction. Several
** threads may run it at once: all state is on their own stacks.
*/
	.globl agent_onestop
	.hidden agent_onestop
	.type agent_onestop, @function
	.p2align 4
agent_onestop:
	pushfq                          /* [G.rsp-0x90] rflags, [G.rsp-0x88] G.rax */
	push rcx                        /* [G.rsp-0x98] G.rcx */
	mov rcx, rsp                    /* rcx = G.rsp - 0x98 */
	and rsp, -16
	sub rsp, 0xb0                   /* frame F */
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
	mov [rsp + 0x88], rax           /* desc */
	mov rdx, [rcx]
	mov [rsp + 0x08], rdx           /* G.rcx */
	mov rdx, [rcx + 0x08]
	mov [rsp + 0x80], rdx           /* rflags */
	mov rdx, [rcx + 0x10]
	mov [rsp + 0x00], rdx           /* G.rax */
	lea rdx, [rcx + 0x98]
	mov [rsp + 0x20], rdx           /* G.rsp */
	mov rdx, [rax]
	mov [rsp + 0xa0], rdx           /* epilogue */
	mov rdx, [rax + 0x08]
	mov [rsp + 0x98], rdx           /* ops left */
	lea rdx, [rax + 0x10]
	mov [rsp + 0x90], rdx           /* first op */
3:	cmp qword ptr [rsp + 0x98], 0
	je 6f
	mov rax, [rsp + 0x90]
	mov r11, [rax]                  /* condition (regs, context) */
	test r11, r11
	jz 4f
	mov rcx, rsp
	mov rdx, [rax + 0x18]
	cld
	sub rsp, 0x20
	call r11
	add rsp, 0x20
	test rax, rax
	jz 5f
	mov rax, [rsp + 0x90]
4:	mov r11, [rax + 0x08]           /* custom code (buffer, regs, context) */
	test r11, r11
	jz 5f
	cmp r11, 1                      /* AGENT_ONESTOP_BREAK: the event breaks */
	je 7f
	mov rcx, [rax + 0x10]
	mov rdx, rsp
	mov r8, [rax + 0x18]
	cld
	sub rsp, 0x20
	call r11
	add rsp, 0x20
5:	add qword ptr [rsp + 0x90], 0x20
	sub qword ptr [rsp + 0x98], 1
	jmp 3b
6:	push qword ptr [rsp + 0x80]
	popfq
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
	jmp qword ptr [rsp + 0xa0]
	/* A condition-only event whose condition held: it breaks. hdbg finds
	 * the frame at rsp (GUEST_REGS, +0x88 desc, +0x90 the op) and takes
	 * the thread over; it never resumes here. */
7:
	.globl agent_onestop_break
	.hidden agent_onestop_break
agent_onestop_break:
	int3
	ud2
	.size agent_onestop, . - agent_onestop

	.section .note.GNU-stack, "", @progbits
