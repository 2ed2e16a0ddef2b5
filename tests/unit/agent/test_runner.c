/*
** test_runner.c: the agent blob's runner, in this process. The blob is
** mapped RWX here, a thread state is loaded into the registers and the
** runner entered exactly as hdbg does in the target (rax = call block,
** rip = runner); its final int3 lands in a SIGTRAP handler (on an alternate
** stack) that captures the registers: what hdbg reads at the trap stop.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "agent/agent.h"
#include "agent/internal.h"

/* runner_enter(regs[16] in GUEST_REGS order, rip): load all 16 registers
 * and jump; never returns (the trap handler siglongjmps back). */
void runner_enter(const uint64_t *regs, uint64_t rip);
uint64_t runner_enter_rip;
__asm__(".pushsection .text\n"
	".globl runner_enter\n"
	"runner_enter:\n"
	"	mov %rsi, runner_enter_rip(%rip)\n"
	"	mov 0x00(%rdi), %rax\n"
	"	mov 0x08(%rdi), %rcx\n"
	"	mov 0x10(%rdi), %rdx\n"
	"	mov 0x18(%rdi), %rbx\n"
	"	mov 0x20(%rdi), %rsp\n"
	"	mov 0x28(%rdi), %rbp\n"
	"	mov 0x30(%rdi), %rsi\n"
	"	mov 0x40(%rdi), %r8\n"
	"	mov 0x48(%rdi), %r9\n"
	"	mov 0x50(%rdi), %r10\n"
	"	mov 0x58(%rdi), %r11\n"
	"	mov 0x60(%rdi), %r12\n"
	"	mov 0x68(%rdi), %r13\n"
	"	mov 0x70(%rdi), %r14\n"
	"	mov 0x78(%rdi), %r15\n"
	"	mov 0x38(%rdi), %rdi\n"
	"	jmp *runner_enter_rip(%rip)\n"
	".popsection\n");

static sigjmp_buf trap_env;
static struct agent_guest_regs trapped;
static uint64_t trapped_rip, trapped_eflags;
static uint8_t *blob;       /* RWX: blob at 0, blocks at 0x1000 */
static uint8_t *stack;      /* the "thread's" stack */
static uint64_t callblk[AGENT_CALL_SIZE / 8];
static uint64_t buffer[8];

static void on_trap(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	greg_t *g = uc->uc_mcontext.gregs;
	(void)sig;
	(void)si;
	trapped = (struct agent_guest_regs){
		(uint64_t)g[REG_RAX], (uint64_t)g[REG_RCX], (uint64_t)g[REG_RDX],
		(uint64_t)g[REG_RBX], (uint64_t)g[REG_RSP], (uint64_t)g[REG_RBP],
		(uint64_t)g[REG_RSI], (uint64_t)g[REG_RDI], (uint64_t)g[REG_R8],
		(uint64_t)g[REG_R9],  (uint64_t)g[REG_R10], (uint64_t)g[REG_R11],
		(uint64_t)g[REG_R12], (uint64_t)g[REG_R13], (uint64_t)g[REG_R14],
		(uint64_t)g[REG_R15]};
	trapped_rip = (uint64_t)g[REG_RIP];
	trapped_eflags = (uint64_t)g[REG_EFL];
	siglongjmp(trap_env, 1);
}

static int setup(void **state)
{
	static uint8_t altstack[1 << 16];
	stack_t ss = {.ss_sp = altstack, .ss_size = sizeof(altstack)};
	struct sigaction sa = {.sa_sigaction = on_trap, .sa_flags = SA_SIGINFO | SA_ONSTACK};
	(void)state;

	blob = mmap(NULL, 0x2000, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	stack = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (blob == MAP_FAILED || stack == MAP_FAILED || agent_blob_size > 0x1000)
		return -1;
	memcpy(blob, agent_blob_bytes, agent_blob_size);
	sigaltstack(&ss, NULL);
	sigaction(SIGTRAP, &sa, NULL);
	return 0;
}

/* A thread state with a distinct value in every register; rsp odd-aligned
 * (as right after a call) with live data in its red zone. */
static struct agent_guest_regs guest(void)
{
	struct agent_guest_regs g;
	uint64_t *v = (uint64_t *)&g;
	for (int i = 0; i < 16; i++)
		v[i] = 0x1010101010101010ull * (uint64_t)(i + 1) + 0x0f;
	g.rsp = (uint64_t)(uintptr_t)(stack + 0x8000 + 8);
	return g;
}

/* Run `code` (copied to blob+0x1000) with the runner, as hdbg does. */
static void run(const struct agent_guest_regs *g, const void *code, size_t len, uint64_t buf,
		uint64_t context, int kind)
{
	struct agent_guest_regs in = *g;
	memcpy(blob + 0x1000, code, len);
	callblk[AGENT_CALL_RAX / 8] = g->rax;
	callblk[AGENT_CALL_RSP / 8] = g->rsp;
	callblk[AGENT_CALL_CODE / 8] = (uint64_t)(uintptr_t)(blob + 0x1000);
	callblk[AGENT_CALL_BUFFER / 8] = buf;
	callblk[AGENT_CALL_CONTEXT / 8] = context;
	callblk[AGENT_CALL_KIND / 8] = (uint64_t)kind;
	in.rax = (uint64_t)(uintptr_t)callblk;
	/* red zone contents of the interrupted code must survive */
	memset((void *)(uintptr_t)(g->rsp - 128), 0x5a, 128);
	if (sigsetjmp(trap_env, 1) == 0)
		runner_enter((const uint64_t *)&in, (uint64_t)(uintptr_t)(blob + agent_runner_off));
	assert_int_equal(trapped_rip, (uint64_t)(uintptr_t)(blob + agent_runner_trap_off + 1));
	for (int i = 0; i < 128; i++)
		assert_int_equal(((uint8_t *)(uintptr_t)(g->rsp - 128))[i], 0x5a);
}

static void test_seed_example(void **state)
{
	static const uint8_t seed[] = {0x48, 0x8B, 0x5A, 0x40, 0x48, 0x81, 0xFB, 0x48, 0x44, 0x42,
				       0x47, 0x74, 0x02, 0xEB, 0x08, 0x48, 0xC7, 0x42, 0x40, 0x48,
				       0x44, 0x42, 0x32, 0xC3};
	struct agent_guest_regs g = guest(), want;
	(void)state;

	g.r8 = 0x47424448; /* 'HDBG' */
	run(&g, seed, sizeof(seed), 0, 0, AGENT_CODE);
	want = g;
	want.r8 = 0x32424448; /* 'HDB2'; rbx, clobbered by the code, is restored */
	assert_memory_equal(&trapped, &want, sizeof(want));

	g.r8 = 0x41414141; /* another tag: untouched */
	run(&g, seed, sizeof(seed), 0, 0, AGENT_CODE);
	assert_memory_equal(&trapped, &g, sizeof(g));
}

static void test_abi_args_alignment_and_writes(void **state)
{
	static const uint8_t code[] = {
		0x48, 0x89, 0x11,                         /* mov [rcx], rdx */
		0x4c, 0x89, 0x41, 0x08,                   /* mov [rcx+8], r8 */
		0x48, 0x89, 0x61, 0x10,                   /* mov [rcx+0x10], rsp */
		0x48, 0xc7, 0x02, 0x78, 0x56, 0x34, 0x12, /* mov qword [rdx], 0x12345678 */
		0x48, 0x83, 0x6a, 0x20, 0x40,             /* sub qword [rdx+0x20], 0x40 */
		0x31, 0xdb, 0x31, 0xed, 0x31, 0xf6, 0x31, 0xff, /* xor ebx/ebp/esi/edi */
		0x45, 0x31, 0xc9, 0x45, 0x31, 0xd2, 0x45, 0x31, 0xdb, 0x45, 0x31, 0xe4,
		0x45, 0x31, 0xed, 0x45, 0x31, 0xf6, 0x45, 0x31, 0xff, /* xor r9d..r15d */
		0xfd,                                     /* std */
		0xc3};
	struct agent_guest_regs g = guest(), want, *gr;
	uint64_t frame;
	(void)state;

	memset(buffer, 0, sizeof(buffer));
	run(&g, code, sizeof(code), (uint64_t)(uintptr_t)buffer, 0xc0ffee, AGENT_CODE);
	/* GUEST_REGS below the red zone, 16-aligned */
	frame = ((g.rsp - 128) & ~15ull) - 0xa0;
	assert_int_equal(buffer[0], frame);
	assert_int_equal(buffer[1], 0xc0ffee);
	/* at the block's first instruction: shadow space + return address */
	assert_int_equal(buffer[2], frame - 0x20 - 8);
	assert_int_equal((buffer[2] + 8) % 16, 0);
	/* GUEST_REGS held the thread's registers (rsp = the original) */
	gr = (struct agent_guest_regs *)(uintptr_t)frame;
	want = g;
	want.rax = 0x12345678;
	want.rsp = g.rsp - 0x40;
	assert_memory_equal(gr, &want, sizeof(want));
	/* and the trap has them all back, modified rax/rsp included */
	assert_memory_equal(&trapped, &want, sizeof(want));
}

static void test_null_buffer(void **state)
{
	static const uint8_t code[] = {0x48, 0x89, 0x0a, 0xc3}; /* mov [rdx], rcx */
	struct agent_guest_regs g = guest();
	(void)state;

	run(&g, code, sizeof(code), 0, 0, AGENT_CODE);
	assert_int_equal(trapped.rax, 0);
	run(&g, code, sizeof(code), 0x1234000, 0, AGENT_CODE);
	assert_int_equal(trapped.rax, 0x1234000);
}

static void test_condition(void **state)
{
	static const uint8_t r15[] = {0x48, 0x8b, 0x41, 0x78, 0xc3}; /* mov rax,[rcx+0x78] */
	static const uint8_t ctx[] = {0x48, 0x89, 0xd0, 0xc3};       /* mov rax, rdx */
	struct agent_guest_regs g = guest();
	(void)state;

	/* ZF at the trap = (the condition returned 0) */
	g.r15 = 0;
	run(&g, r15, sizeof(r15), 0, 0, AGENT_CONDITION);
	assert_true(trapped_eflags & 0x40);
	assert_memory_equal(&trapped, &g, sizeof(g));
	g.r15 = 0x100000000ull; /* non-zero in the upper half only */
	run(&g, r15, sizeof(r15), 0, 0, AGENT_CONDITION);
	assert_false(trapped_eflags & 0x40);
	run(&g, ctx, sizeof(ctx), 0, 0, AGENT_CONDITION);
	assert_true(trapped_eflags & 0x40);
	run(&g, ctx, sizeof(ctx), 0, 7, AGENT_CONDITION);
	assert_false(trapped_eflags & 0x40);
	assert_memory_equal(&trapped, &g, sizeof(g));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_example),
		cmocka_unit_test(test_abi_args_alignment_and_writes),
		cmocka_unit_test(test_null_buffer),
		cmocka_unit_test(test_condition),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
