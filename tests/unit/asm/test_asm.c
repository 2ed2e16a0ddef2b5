/*
** test_asm.c: the assembler's and disassembler's behaviour, statement by
** statement: the seed's custom-code example, labels and branch sizing,
** runtime addresses, symbols, data directives, syntax variants, every error
** class (with line, column, and nothing emitted), and the disassembler's
** symbolizer, branch fields and instruction lengths.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "asm/asm.h"

static int resolver(void *ud, const char *name, uint64_t *v)
{
	int *calls = ud;
	if (calls)
		(*calls)++;
	if (!strcmp(name, "libc!puts")) {
		*v = 0x7f0000001000ull;
		return 0;
	}
	if (!strcmp(name, "module!var")) {
		*v = 0x7f0000002000ull;
		return 0;
	}
	if (!strcmp(name, "ld-linux-x86-64!_dl_debug_state")) {
		*v = 0x7f0000003000ull;
		return 0;
	}
	if (!strcmp(name, "low")) {
		*v = 0x2000;
		return 0;
	}
	return -HD_E_NOSYM;
}

/* Assemble at addr and compare with the expected bytes. */
static void check_bytes(const char *text, uint64_t addr, const uint8_t *want, size_t wlen)
{
	uint8_t out[512];
	size_t n = sizeof(out);
	struct asm_error err;
	int rc = asm_assemble(text, addr, resolver, NULL, out, &n, &err);
	if (rc != 0)
		fail_msg("'%s': rc %d at %d:%d: %s", text, rc, err.line, err.col, err.msg);
	if (n != wlen || memcmp(out, want, n)) {
		char got[1600] = "";
		for (size_t i = 0; i < n && i < 500; i++)
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%02x ", out[i]);
		fail_msg("'%s': got %zu bytes: %s(want %zu)", text, n, got, wlen);
	}
}

#define CHECK_BYTES(text, addr, ...)                                             \
	do {                                                                     \
		static const uint8_t want_[] = { __VA_ARGS__ };                  \
		check_bytes(text, addr, want_, sizeof(want_));                   \
	} while (0)

/* Assembly must fail with rc, at line:col, with msg containing `frag`, and
 * leave the output buffer and length untouched. */
static void check_error(const char *text, int rc_want, int line, int col, const char *frag)
{
	uint8_t out[64];
	size_t n = sizeof(out);
	struct asm_error err;

	memset(out, 0xAA, sizeof(out));
	int rc = asm_assemble(text, 0x1000, resolver, NULL, out, &n, &err);
	if (rc != rc_want)
		fail_msg("'%s': rc %d, want %d (%d:%d %s)", text, rc, rc_want, err.line, err.col,
			 err.msg);
	if (err.line != line || err.col != col || !strstr(err.msg, frag))
		fail_msg("'%s': error %d:%d '%s', want %d:%d containing '%s'", text, err.line,
			 err.col, err.msg, line, col, frag);
	assert_int_equal(n, sizeof(out));
	for (size_t i = 0; i < sizeof(out); i++)
		assert_int_equal(out[i], 0xAA);
}

static void test_seed_example(void **state)
{
	(void)state;
	/* shared/spec/hyperdbg-events.md 7.3, exactly as issue 4 gives it */
	CHECK_BYTES("mov rbx, QWORD PTR [rdx+0x40]; cmp rbx, 0x47424448; je ChangeIt; "
		    "jmp Return; ChangeIt: mov QWORD PTR [rdx+0x40], 0x32424448; Return: ret;",
		    0,
		    0x48, 0x8B, 0x5A, 0x40, 0x48, 0x81, 0xFB, 0x48, 0x44, 0x42, 0x47, 0x74, 0x02,
		    0xEB, 0x08, 0x48, 0xC7, 0x42, 0x40, 0x48, 0x44, 0x42, 0x32, 0xC3);
	/* same block on lines, with comments, lower case, at another address */
	CHECK_BYTES("mov rbx, qword ptr [rdx+40h]   # load\n"
		    "cmp rbx, 0x47424448\n"
		    "je ChangeIt // equal?\n"
		    "jmp Return\n"
		    "ChangeIt:\n"
		    "  mov qword ptr [rdx + 0x40], 0x32424448\n"
		    "Return:\n"
		    "  ret\n",
		    0x7ffff7a00000ull,
		    0x48, 0x8B, 0x5A, 0x40, 0x48, 0x81, 0xFB, 0x48, 0x44, 0x42, 0x47, 0x74, 0x02,
		    0xEB, 0x08, 0x48, 0xC7, 0x42, 0x40, 0x48, 0x44, 0x42, 0x32, 0xC3);
}

static void test_numbers(void **state)
{
	(void)state;
	CHECK_BYTES("mov eax, 10", 0, 0xb8, 0x0a, 0, 0, 0);         /* decimal default */
	CHECK_BYTES("mov eax, 0x10", 0, 0xb8, 0x10, 0, 0, 0);
	CHECK_BYTES("mov eax, 10h", 0, 0xb8, 0x10, 0, 0, 0);
	CHECK_BYTES("mov eax, 0FFh", 0, 0xb8, 0xff, 0, 0, 0);
	CHECK_BYTES("mov eax, 0b101", 0, 0xb8, 0x05, 0, 0, 0);
	CHECK_BYTES("mov eax, -1", 0, 0xb8, 0xff, 0xff, 0xff, 0xff);
	CHECK_BYTES("add rax, -8", 0, 0x48, 0x83, 0xc0, 0xf8);
	CHECK_BYTES("add al, 0xff", 0, 0x04, 0xff);
	CHECK_BYTES("add eax, 0xffffffff", 0, 0x83, 0xc0, 0xff);
	CHECK_BYTES("and rax, 0xfffffffffffffff0", 0, 0x48, 0x83, 0xe0, 0xf0);
	CHECK_BYTES("mov rax, 0x1122334455667788", 0, 0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44,
		    0x33, 0x22, 0x11);
	CHECK_BYTES("mov al, 'A'", 0, 0xb0, 0x41);
	CHECK_BYTES("mov eax, 2*8+1", 0, 0xb8, 0x11, 0, 0, 0);
	CHECK_BYTES("mov eax, (1+2)*4 - 10/3 + (1<<4) + (0xf0|0xf) - (7&2) + 9%4 + ~0 + (3^1)", 0,
		    0xb8, 0x18, 0x01, 0x00, 0x00); /* 12-3+16+255-2+1-1+2 = 280 */
	CHECK_BYTES("mov eax, [rax+(2*8)]", 0, 0x8b, 0x40, 0x10);
	CHECK_BYTES("mov eax, [rax+rsp]", 0, 0x8b, 0x04, 0x04);
	CHECK_BYTES("mov QWORD PTR [rdx-0x40], 5", 0, 0x48, 0xc7, 0x42, 0xc0, 5, 0, 0, 0);
}

static void test_memory_forms(void **state)
{
	(void)state;
	CHECK_BYTES("mov eax, [rax+rbx*4+0x10]", 0, 0x8b, 0x44, 0x98, 0x10);
	CHECK_BYTES("mov eax, [4*rbx+rax+0x10]", 0, 0x8b, 0x44, 0x98, 0x10);
	CHECK_BYTES("mov eax, [rbx*8]", 0, 0x8b, 0x04, 0xdd, 0, 0, 0, 0);
	CHECK_BYTES("mov rax, [rsp]", 0, 0x48, 0x8b, 0x04, 0x24);
	CHECK_BYTES("mov rax, [rbp]", 0, 0x48, 0x8b, 0x45, 0x00);
	CHECK_BYTES("mov rax, [r13+r12*2-0x1000]", 0, 0x4b, 0x8b, 0x84, 0x65, 0x00, 0xf0, 0xff, 0xff);
	CHECK_BYTES("mov rax, fs:[0x28]", 0, 0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0, 0, 0);
	CHECK_BYTES("mov rax, qword ptr fs:0x28", 0, 0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0, 0, 0);
	CHECK_BYTES("mov rax, [fs:0x28]", 0, 0x64, 0x48, 0x8b, 0x04, 0x25, 0x28, 0, 0, 0);
	CHECK_BYTES("mov eax, gs:[rax]", 0, 0x65, 0x8b, 0x00);
	CHECK_BYTES("mov eax, [0x1000]", 0, 0x8b, 0x04, 0x25, 0x00, 0x10, 0, 0);
	CHECK_BYTES("mov [0x1000], al", 0, 0x88, 0x04, 0x25, 0x00, 0x10, 0, 0);
	CHECK_BYTES("mov eax, [rip+0x10]", 0, 0x8b, 0x05, 0x10, 0, 0, 0);
	CHECK_BYTES("mov eax, [rip-0x10]", 0, 0x8b, 0x05, 0xf0, 0xff, 0xff, 0xff);
	CHECK_BYTES("movzx eax, byte ptr [rdi]", 0, 0x0f, 0xb6, 0x07);
	CHECK_BYTES("movzx eax, word ptr [rdi]", 0, 0x0f, 0xb7, 0x07);
	CHECK_BYTES("inc dword ptr [rax]", 0, 0xff, 0x00);
	CHECK_BYTES("inc byte ptr [rax]", 0, 0xfe, 0x00);
	CHECK_BYTES("push qword ptr [rax]", 0, 0xff, 0x30);
	CHECK_BYTES("push [rax]", 0, 0xff, 0x30);
	CHECK_BYTES("call [rax+8]", 0, 0xff, 0x50, 0x08);
	CHECK_BYTES("fld tbyte ptr [rax]", 0, 0xdb, 0x28);
	CHECK_BYTES("fnstenv [rax]", 0, 0xd9, 0x30);
	CHECK_BYTES("movaps xmm0, xmmword ptr [rax]", 0, 0x0f, 0x28, 0x00);
	CHECK_BYTES("vmovups ymm1, [rsi]", 0, 0xc5, 0xfc, 0x10, 0x0e);
	/* as GNU as: a segment override equal to the default adds nothing */
	CHECK_BYTES("mov eax, ds:[rax]", 0, 0x8b, 0x00);
	CHECK_BYTES("mov eax, ss:[rbp]", 0, 0x8b, 0x45, 0x00);
	CHECK_BYTES("mov eax, ds:[rbp]", 0, 0x3e, 0x8b, 0x45, 0x00);
	CHECK_BYTES("mov eax, es:[rax]", 0, 0x26, 0x8b, 0x00);
	CHECK_BYTES("nop word ptr cs:[rax+rax*1+0x0]", 0, 0x2e, 0x66, 0x0f, 0x1f, 0x04, 0x00);
	CHECK_BYTES("lea eax, [ebx+4]", 0, 0x67, 0x8d, 0x43, 0x04);
}

static void test_registers_and_prefixes(void **state)
{
	(void)state;
	CHECK_BYTES("mov r8b, sil", 0, 0x41, 0x88, 0xf0);
	CHECK_BYTES("fadd st(0), st(3)", 0, 0xd8, 0xc3);
	CHECK_BYTES("fxch st1", 0, 0xd9, 0xc9);
	CHECK_BYTES("lock inc dword ptr [rax]", 0, 0xf0, 0xff, 0x00);
	CHECK_BYTES("lock cmpxchg [rdi], rsi", 0, 0xf0, 0x48, 0x0f, 0xb1, 0x37);
	CHECK_BYTES("rep movsb", 0, 0xf3, 0xa4);
	CHECK_BYTES("rep stosq", 0, 0xf3, 0x48, 0xab);
	CHECK_BYTES("repe cmpsb", 0, 0xf3, 0xa6);
	CHECK_BYTES("repz cmpsb", 0, 0xf3, 0xa6);
	CHECK_BYTES("rep cmpsb", 0, 0xf3, 0xa6);
	CHECK_BYTES("repne scasb", 0, 0xf2, 0xae);
	CHECK_BYTES("repnz scasb", 0, 0xf2, 0xae);
	CHECK_BYTES("notrack jmp rax", 0, 0x3e, 0xff, 0xe0);
	CHECK_BYTES("sete al; setnae bl; cmovge eax, ecx", 0, 0x0f, 0x94, 0xc0, 0x0f, 0x92, 0xc3,
		    0x0f, 0x4d, 0xc1);
	CHECK_BYTES("MOV EAX, EBX", 0, 0x89, 0xd8);
	CHECK_BYTES("vaddps zmm0 {k1}{z}, zmm1, dword ptr [rax]{1to16}", 0, 0x62, 0xf1, 0x74,
		    0xd9, 0x58, 0x00);
	CHECK_BYTES("vaddps zmm0 {k1} {z}, zmm1, [rax] {1to16}", 0, 0x62, 0xf1, 0x74, 0xd9, 0x58,
		    0x00);
	CHECK_BYTES("vaddpd zmm0, zmm0, zmm2, {rn-sae}", 0, 0x62, 0xf1, 0xfd, 0x18, 0x58, 0xc2);
	CHECK_BYTES("vaddpd zmm0, zmm0, zmm2 {rn-sae}", 0, 0x62, 0xf1, 0xfd, 0x18, 0x58, 0xc2);
	CHECK_BYTES("vmovdqu8 zmmword ptr [rdi] {k1}, zmm16", 0, 0x62, 0xe1, 0x7f, 0x49, 0x7f,
		    0x07);
	CHECK_BYTES("shl eax, 1; shl eax, cl; shl eax, 3", 0, 0xd1, 0xe0, 0xd3, 0xe0, 0xc1, 0xe0,
		    0x03);
	CHECK_BYTES("int 0x80; int3; syscall", 0, 0xcd, 0x80, 0xcc, 0x0f, 0x05);
}

/* The operand size a spelling implies in 64-bit mode, as GNU as and
 * Keystone read it (Zydis's own names of pushf/popf/iret are the 16-bit
 * forms). */
static void test_default_operand_sizes(void **state)
{
	(void)state;
	CHECK_BYTES("pushf; popf", 0, 0x9c, 0x9d);
	CHECK_BYTES("pushfq; popfq", 0, 0x9c, 0x9d);
	CHECK_BYTES("pushfw; popfw", 0, 0x66, 0x9c, 0x66, 0x9d);
	CHECK_BYTES("iret; iretd; iretq; iretw", 0, 0xcf, 0xcf, 0x48, 0xcf, 0x66, 0xcf);
	CHECK_BYTES("retf; lret; retf 8; lret 0x10", 0, 0xcb, 0xcb, 0xca, 0x08, 0x00, 0xca, 0x10,
		    0x00);
	CHECK_BYTES("retfq; lretq; retfw; lretw", 0, 0x48, 0xcb, 0x48, 0xcb, 0x66, 0xcb, 0x66,
		    0xcb);
	CHECK_BYTES("ret far; ret far 8", 0, 0xcb, 0xca, 0x08, 0x00);
	CHECK_BYTES("push 1; pushq 1; pushw 1", 0, 0x6a, 0x01, 0x6a, 0x01, 0x66, 0x6a, 0x01);
	CHECK_BYTES("pushq 0x12345678", 0, 0x68, 0x78, 0x56, 0x34, 0x12);
	CHECK_BYTES("pushw [rax]; popw [rax]; pushq [rax]; popq [rax]", 0, 0x66, 0xff, 0x30,
		    0x66, 0x8f, 0x00, 0xff, 0x30, 0x8f, 0x00);
	CHECK_BYTES("pushw ax; pushw fs; popq rax", 0, 0x66, 0x50, 0x66, 0x0f, 0xa0, 0x58);
	CHECK_BYTES("leaveq; leavew; enterw 8, 0", 0, 0xc9, 0x66, 0xc9, 0x66, 0xc8, 0x08, 0x00,
		    0x00);
	CHECK_BYTES("sysretq; sysexitq", 0, 0x48, 0x0f, 0x07, 0x48, 0x0f, 0x35);
	CHECK_BYTES("cltd; cwtd; cbtw", 0, 0x99, 0x66, 0x99, 0x66, 0x98);
	CHECK_BYTES("callq rax; jmpq rax", 0, 0xff, 0xd0, 0xff, 0xe0);
	/* as GNU as and Keystone: `int 3` is the one-byte int3 */
	CHECK_BYTES("int 3; int 0x3; int 4", 0, 0xcc, 0xcc, 0xcd, 0x04);
	/* the disassembler spells the non-default sizes so they assemble back */
	static const struct {
		uint8_t b[4];
		size_t n;
		const char *text;
	} back[] = {
		{ { 0x66, 0x9c }, 2, "pushfw" },   { { 0x9c }, 1, "pushfq" },
		{ { 0x66, 0x9d }, 2, "popfw" },    { { 0x66, 0xcf }, 2, "iretw" },
		{ { 0xcf }, 1, "iretd" },          { { 0x48, 0xcb }, 2, "retfq" },
		{ { 0x66, 0xcb }, 2, "retfw" },    { { 0xcb }, 1, "ret far" },
		{ { 0x48, 0x0f, 0x35 }, 3, "sysexitq" }, { { 0x48, 0x0f, 0x07 }, 3, "sysretq" },
	};
	for (size_t i = 0; i < HD_ARRAY_SIZE(back); i++) {
		struct asm_insn in;
		assert_int_equal(asm_disasm_one(back[i].b, back[i].n, 0, NULL, NULL, &in), 0);
		assert_string_equal(in.text, back[i].text);
		check_bytes(in.text, 0, back[i].b, back[i].n);
	}
}

static void test_xchg(void **state)
{
	(void)state;
	/* 90 is nop in 64-bit mode: xchg eax, eax clears rax's upper half */
	CHECK_BYTES("xchg eax, eax", 0, 0x87, 0xc0);
	CHECK_BYTES("xchg eax, ecx; xchg ecx, eax; xchg rax, r8", 0, 0x91, 0x91, 0x49, 0x90);
	CHECK_BYTES("xchg ax, ax; xchg rax, rax", 0, 0x66, 0x90, 0x48, 0x90);
	CHECK_BYTES("xchg eax, [rax]; xchg [rax], eax", 0, 0x87, 0x00, 0x87, 0x00);
	CHECK_BYTES("xchg rbx, qword ptr [rsp+8]", 0, 0x48, 0x87, 0x5c, 0x24, 0x08);
}

/* Forms GNU as and Keystone accept beyond Zydis's operand lists. */
static void test_gnu_forms(void **state)
{
	(void)state;
	CHECK_BYTES("rep ret; repz ret; repne ret; rep ret 8", 0, 0xf3, 0xc3, 0xf3, 0xc3, 0xf2,
		    0xc3, 0xf3, 0xc2, 0x08, 0x00);
	CHECK_BYTES("rep nop; repne nop", 0, 0xf3, 0x90, 0xf2, 0x90);
	CHECK_BYTES("rep bsf eax, ebx; rep bsf ax, bx; rep bsr rax, [rcx]", 0, 0xf3, 0x0f, 0xbc,
		    0xc3, 0x66, 0xf3, 0x0f, 0xbc, 0xc3, 0xf3, 0x48, 0x0f, 0xbd, 0x01);
	/* the raw prefix counts in a rip-relative displacement */
	CHECK_BYTES("rep bsf eax, [rip+X]; X:", 0, 0xf3, 0x0f, 0xbc, 0x05, 0, 0, 0, 0);
	CHECK_BYTES("shr eax; shl rax; rol eax; ror r8d; rcl cx; rcr bl; sal eax", 0, 0xd1, 0xe8,
		    0x48, 0xd1, 0xe0, 0xd1, 0xc0, 0x41, 0xd1, 0xc8, 0x66, 0xd1, 0xd1, 0xd0, 0xdb,
		    0xd1, 0xe0);
	CHECK_BYTES("sar byte ptr [rax]; shl word ptr [rax]; shr qword ptr [rax+8]", 0, 0xd0,
		    0x38, 0x66, 0xd1, 0x20, 0x48, 0xd1, 0x68, 0x08);
	CHECK_BYTES("imul eax, 10; imul rax, 1000; imul ax, -1", 0, 0x6b, 0xc0, 0x0a, 0x48, 0x69,
		    0xc0, 0xe8, 0x03, 0x00, 0x00, 0x66, 0x6b, 0xc0, 0xff);
	CHECK_BYTES("lar eax, ax; lar rax, ax; lsl eax, ax; lsl rax, rax; lar eax, r9w", 0, 0x0f,
		    0x02, 0xc0, 0x48, 0x0f, 0x02, 0xc0, 0x0f, 0x03, 0xc0, 0x48, 0x0f, 0x03, 0xc0,
		    0x41, 0x0f, 0x02, 0xc1);
	CHECK_BYTES("retf; retf 8", 0, 0xcb, 0xca, 0x08, 0x00);
}

static void test_data_strings(void **state)
{
	(void)state;
	CHECK_BYTES("db \"a\\\"b\\\\c\\n\\t\\0\\x41\"", 0, 'a', '"', 'b', '\\', 'c', '\n', '\t',
		    0, 0x41);
	CHECK_BYTES("db \"\\r\\b\\f\\v\\'\"", 0, '\r', '\b', '\f', '\v', '\'');
	CHECK_BYTES("db \"\\0123\\777\\x141\"", 0, 0x0a, '3', 0xff, 0x41); /* as GNU as */
	CHECK_BYTES("db 'a\\'b', '\\n'", 0, 'a', '\'', 'b', '\n');
	CHECK_BYTES(".ascii \"hi\\n\"; .asciz \"a\", \"b\"; .string \"c\"", 0, 'h', 'i', '\n',
		    'a', 0, 'b', 0, 'c', 0);
	check_error("db \"\\q\"", -HD_E_PARSE, 1, 5, "unknown escape '\\q'");
	check_error("db \"\\x\"", -HD_E_PARSE, 1, 5, "expected hex digits after '\\x'");
	check_error("db \"abc\\\"", -HD_E_PARSE, 1, 4, "unterminated string");
	check_error(".ascii 5", -HD_E_PARSE, 1, 8, "expected a string");
	check_error("dw \"ab\"", -HD_E_PARSE, 1, 4, "strings are allowed only with db");
}

static void test_labels_and_branches(void **state)
{
	(void)state;
	/* backward short, forward short */
	CHECK_BYTES("top: nop; jmp top; jz done; nop; done: ret", 0, 0x90, 0xeb, 0xfd, 0x74,
		    0x01, 0x90, 0xc3);
	/* a forward jump over 200 bytes must be near */
	char big[2048];
	int n = snprintf(big, sizeof(big), "jmp far_away\n");
	for (int i = 0; i < 200; i++)
		n += snprintf(big + n, sizeof(big) - (size_t)n, "nop\n");
	snprintf(big + n, sizeof(big) - (size_t)n, "far_away: ret");
	uint8_t out[512];
	size_t len = sizeof(out);
	struct asm_error err;
	assert_int_equal(asm_assemble(big, 0, NULL, NULL, out, &len, &err), 0);
	assert_int_equal(len, 5 + 200 + 1);
	assert_int_equal(out[0], 0xe9);
	assert_int_equal(out[1], 200);
	/* fixed point: the second jump's growth pushes the first one out of
	 * short range (120 + 2 + 6 > 127), so both end near */
	n = snprintf(big, sizeof(big), "jz L1\njnz L2\n");
	for (int i = 0; i < 124; i++)
		n += snprintf(big + n, sizeof(big) - (size_t)n, "nop\n");
	n += snprintf(big + n, sizeof(big) - (size_t)n, "L1: ");
	for (int i = 0; i < 10; i++)
		n += snprintf(big + n, sizeof(big) - (size_t)n, "nop\n");
	snprintf(big + n, sizeof(big) - (size_t)n, "L2: ret");
	len = sizeof(out);
	assert_int_equal(asm_assemble(big, 0, NULL, NULL, out, &len, &err), 0);
	assert_int_equal(out[0], 0x0f);
	assert_int_equal(out[1], 0x84);
	assert_int_equal(out[6], 0x0f);
	assert_int_equal(out[7], 0x85);
	assert_int_equal(len, 6 + 6 + 124 + 10 + 1);
	/* explicit widths */
	CHECK_BYTES("jmp near L; L: ret", 0, 0xe9, 0, 0, 0, 0, 0xc3);
	CHECK_BYTES("jmp short L; L: ret", 0, 0xeb, 0x00, 0xc3);
	/* loop and jrcxz have only rel8 */
	CHECK_BYTES("L: loop L; jrcxz L", 0, 0xe2, 0xfe, 0xe3, 0xfc);
	/* lea with a label, rip-relative */
	CHECK_BYTES("lea rax, [rip+Data]; ret; Data: dq 7", 0x1000, 0x48, 0x8d, 0x05, 0x01, 0, 0, 0,
		    0xc3, 7, 0, 0, 0, 0, 0, 0, 0);
	CHECK_BYTES("lea rsi, [rip+Data+4]; Data:", 0, 0x48, 0x8d, 0x35, 0x04, 0, 0, 0);
	CHECK_BYTES("mov eax, fs:[rip+X]; X:", 0, 0x64, 0x8b, 0x05, 0, 0, 0, 0);
	CHECK_BYTES("mov eax, cs:[rip+X]; X:", 0, 0x2e, 0x8b, 0x05, 0, 0, 0, 0);
	/* label value as an immediate, and `$` */
	CHECK_BYTES("mov eax, End; End:", 0x400000, 0xb8, 0x05, 0x00, 0x40, 0x00);
	CHECK_BYTES("nop; jmp $", 0x400000, 0x90, 0xeb, 0xfe);
	/* several labels on one statement; label on the last line */
	CHECK_BYTES("A: B: jmp B; C:", 0, 0xeb, 0xfe);
}

static void test_runtime_address_and_symbols(void **state)
{
	(void)state;
	int calls = 0;
	/* absolute targets become relative to the runtime address */
	CHECK_BYTES("jmp 0x401000", 0x400000, 0xe9, 0xfb, 0x0f, 0x00, 0x00);
	CHECK_BYTES("call 0x400000", 0x400000, 0xe8, 0xfb, 0xff, 0xff, 0xff);
	CHECK_BYTES("jz 0x400010", 0x400000, 0x74, 0x0e);
	/* symbols through the resolver */
	CHECK_BYTES("call libc!puts", 0x7f0000000000ull, 0xe8, 0xfb, 0x0f, 0x00, 0x00);
	CHECK_BYTES("mov rax, module!var", 0, 0x48, 0xb8, 0x00, 0x20, 0, 0, 0, 0x7f, 0, 0);
	/* a module name may contain '-'; elsewhere '-' subtracts */
	CHECK_BYTES("call ld-linux-x86-64!_dl_debug_state", 0x7f0000003000ull, 0xe8, 0xfb, 0xff,
		    0xff, 0xff);
	CHECK_BYTES("mov eax, End-1; End:", 0x400000, 0xb8, 0x04, 0x00, 0x40, 0x00);
	CHECK_BYTES("mov rax, offset module!var", 0, 0x48, 0xb8, 0x00, 0x20, 0, 0, 0, 0x7f, 0, 0);
	CHECK_BYTES("mov rax, [rip+module!var]", 0x7f0000001000ull, 0x48, 0x8b, 0x05, 0xf9, 0x0f, 0,
		    0);
	/* an out-of-disp32 absolute address within 2 GB is reached rip-relatively */
	CHECK_BYTES("mov rax, [module!var]", 0x7f0000001000ull, 0x48, 0x8b, 0x05, 0xf9, 0x0f, 0, 0);
	CHECK_BYTES("mov eax, [low+8]", 0, 0x8b, 0x04, 0x25, 0x08, 0x20, 0, 0);
	/* the resolver is asked once per distinct name */
	uint8_t out[64];
	size_t n = sizeof(out);
	struct asm_error err;
	assert_int_equal(asm_assemble("call libc!puts; call libc!puts; jmp libc!puts", 0x7f0000000000ull,
				      resolver, &calls, out, &n, &err), 0);
	assert_int_equal(calls, 1);
	assert_int_equal(n, 15);
}

static void test_data(void **state)
{
	(void)state;
	CHECK_BYTES("db 1, 2, 0xff, -1", 0, 1, 2, 0xff, 0xff);
	CHECK_BYTES("db \"Hi;#\", 0", 0, 'H', 'i', ';', '#', 0);
	CHECK_BYTES("dw 0x1234, -2", 0, 0x34, 0x12, 0xfe, 0xff);
	CHECK_BYTES("dd 0x12345678", 0, 0x78, 0x56, 0x34, 0x12);
	CHECK_BYTES("dq 0x1122334455667788", 0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11);
	CHECK_BYTES("dq L; L: db 1", 0x1000, 0x08, 0x10, 0, 0, 0, 0, 0, 0, 1);
	CHECK_BYTES(".byte 1; .word 2; .long 3; .quad 4", 0, 1, 2, 0, 3, 0, 0, 0, 4, 0, 0, 0, 0, 0,
		    0, 0);
	CHECK_BYTES("", 0, );
	CHECK_BYTES("  ; \n # only comments\n", 0, );
}

static void test_errors(void **state)
{
	(void)state;
	check_error("nop\n  foo eax", -HD_E_PARSE, 2, 3, "unknown mnemonic 'foo'");
	check_error("mov rzx, 5", -HD_E_PARSE, 1, 5, "unknown register or undefined symbol 'rzx'");
	check_error("mov rax, ebx", -HD_E_ENCODE, 1, 1, "operand size mismatch");
	check_error("mov eax, qword ptr [rax]", -HD_E_ENCODE, 1, 1, "operand size mismatch");
	check_error("jmp Nowhere", -HD_E_NOSYM, 1, 5, "undefined label or symbol 'Nowhere'");
	check_error("L: nop\nL: nop", -HD_E_PARSE, 2, 1, "duplicate label 'L'");
	check_error("mov al, 300", -HD_E_RANGE, 1, 9, "out of range");
	check_error("add rax, 0x100000000", -HD_E_RANGE, 1, 10, "out of range");
	check_error("inc [rax]", -HD_E_ENCODE, 1, 5, "ambiguous");
	check_error("movzx eax, [rax]", -HD_E_ENCODE, 1, 12, "ambiguous");
	check_error("mov eax, [rax*3]", -HD_E_PARSE, 1, 15, "invalid scale 3");
	check_error("mov eax, [rax+rbx+rcx]", -HD_E_PARSE, 1, 19, "too many registers");
	check_error("mov eax, [rax", -HD_E_PARSE, 1, 10, "expected '+', '-' or ']'");
	check_error("mov eax, 5 6", -HD_E_PARSE, 1, 12, "unexpected '6'");
	check_error("mov eax,", -HD_E_PARSE, 1, 9, "expected an operand");
	check_error("db 300", -HD_E_RANGE, 1, 4, "does not fit");
	check_error("db \"abc", -HD_E_PARSE, 1, 4, "unterminated string");
	check_error("mov eax, 0x1g", -HD_E_PARSE, 1, 10, "invalid number");
	check_error("mov rax, 99999999999999999999", -HD_E_RANGE, 1, 10, "does not fit in 64");
	check_error("jmp short L\n db 200 dup 0", -HD_E_PARSE, 2, 9, "expected ',' or end");
	check_error("lock", -HD_E_PARSE, 1, 5, "expected an instruction after prefix");
	check_error("vaddps zmm0, zmm1, zmm2 {k9}", -HD_E_PARSE, 1, 25, "unknown decorator");
	check_error("movaps xmm0, [rip+rax]", -HD_E_PARSE, 1, 14, "cannot have an index");
	check_error("mov eax, 1\nmov eax, [rax]\njmp 0x100000000000", -HD_E_RANGE, 3, 5,
		    "branch target 0x100000000000 is more than 2 GiB away");
	check_error("mov eax ebx", -HD_E_PARSE, 1, 9, "unexpected 'ebx' after operand (missing ','?)");
	check_error("mov rbx, [0x7f0000001000]", -HD_E_RANGE, 1, 10, "beyond a 32-bit displacement");
	check_error("rax: nop", -HD_E_PARSE, 1, 1, "is a register");
	check_error("mov eax, \x01", -HD_E_PARSE, 1, 10, "unexpected character \\x01");
	check_error("mov eax, (1+2", -HD_E_PARSE, 1, 14, "expected ')'");
	check_error("mov eax, 1/0", -HD_E_PARSE, 1, 11, "division by zero");
	check_error("ret 1 2", -HD_E_PARSE, 1, 7, "unexpected '2'");
	/* short forced but too far */
	char big[1024];
	int n = snprintf(big, sizeof(big), "jmp short X\n");
	for (int i = 0; i < 130; i++)
		n += snprintf(big + n, sizeof(big) - (size_t)n, "nop;");
	snprintf(big + n, sizeof(big) - (size_t)n, "X: ret");
	check_error(big, -HD_E_RANGE, 1, 11, "out of range for a short jump");
	/* output too small: -ENOSPC, nothing written */
	uint8_t out[4];
	size_t len = sizeof(out);
	struct asm_error err;
	memset(out, 0xAA, sizeof(out));
	assert_int_equal(asm_assemble("nop; nop; nop; nop; nop", 0, NULL, NULL, out, &len, &err),
			 -ENOSPC);
	assert_int_equal(len, 4);
	assert_int_equal(out[0], 0xAA);
	/* an error needs no err struct */
	assert_int_equal(asm_assemble("bogus", 0, NULL, NULL, out, &len, NULL), -HD_E_PARSE);
}

/* Out of range: the message names the field and the value. */
static void test_range_errors(void **state)
{
	(void)state;
	check_error("mov rax, [rax+0x100000000]", -HD_E_RANGE, 1, 10,
		    "displacement 0x100000000 does not fit in 32 bits");
	check_error("mov rax, [rax+0x80000000]", -HD_E_RANGE, 1, 10,
		    "displacement 0x80000000 does not fit in 32 bits");
	check_error("mov rax, [rax-0x80000001]", -HD_E_RANGE, 1, 10,
		    "displacement -0x80000001 does not fit in 32 bits");
	CHECK_BYTES("mov rax, [rax-0x80000000]", 0, 0x48, 0x8b, 0x80, 0, 0, 0, 0x80);
	check_error("inc [rbx+rcx*8+0x123456789]", -HD_E_RANGE, 1, 5,
		    "displacement 0x123456789 does not fit in 32 bits");
	check_error("lea rax, [rip+0x100000000]", -HD_E_RANGE, 1, 10,
		    "displacement 0x100000000 does not fit in 32 bits");
	/* at 0x1000: libc!puts is 0x7f0000001000, far beyond rel32 */
	check_error("nop\n lea rax, [rip+libc!puts]", -HD_E_RANGE, 2, 11,
		    "rip-relative target 0x7f0000001000 is more than 2 GiB away");
	check_error("call libc!puts", -HD_E_RANGE, 1, 6,
		    "branch target 0x7f0000001000 is more than 2 GiB away");
	check_error("jz 0x80001010", -HD_E_RANGE, 1, 4, "is more than 2 GiB away");
	check_error("loop 0x2000", -HD_E_RANGE, 1, 6,
		    "branch target 0x2000 out of range for 'loop' (a short jump only");
	check_error("push 0x100000000", -HD_E_RANGE, 1, 6,
		    "immediate 0x100000000 out of range for a 32-bit operand");
	check_error("mov ymm0, ymm1", -HD_E_ENCODE, 1, 1,
		    "no encoding for 'mov' with these operands (Zydis: impossible instruction");
	/* [2 GiB, 4 GiB): a disp32 would be sign-extended; the accumulator's
	 * moffs32 with an address-size prefix is zero-extended */
	CHECK_BYTES("mov eax, [0x80000000]", 0, 0x67, 0xa1, 0x00, 0x00, 0x00, 0x80);
	CHECK_BYTES("mov rax, [0xffffffff]", 0, 0x67, 0x48, 0xa1, 0xff, 0xff, 0xff, 0xff);
	CHECK_BYTES("mov eax, [0x7fffffff]", 0, 0x8b, 0x04, 0x25, 0xff, 0xff, 0xff, 0x7f);

	/* which range errors another address could cure (asm_error.addr_dependent) */
	static const struct {
		const char *text;
		bool dep;
	} dep[] = {
		{ "call libc!puts", true },          { "jmp 0x100000000000", true },
		{ "lea rax, [rip+libc!puts]", true }, { "mov rbx, [0x7f0000001000]", true },
		{ "mov eax, [rax+0x100000000]", false }, { "mov al, 300", false },
		{ "db 300", false },                 { "L: db L", true },
		{ "mov al, L+0x1000; L:", true },
		{ "jmp short X; dq 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0; X:", false },
	};
	for (size_t i = 0; i < HD_ARRAY_SIZE(dep); i++) {
		uint8_t out[512];
		size_t n = sizeof(out);
		struct asm_error err;
		int rc = asm_assemble(dep[i].text, 0x1000, resolver, NULL, out, &n, &err);
		if (rc != -HD_E_RANGE || err.addr_dependent != dep[i].dep)
			fail_msg("'%s': rc %d, addr_dependent %d, want %d (%s)", dep[i].text, rc,
				 err.addr_dependent, dep[i].dep, err.msg);
	}
}

/* The two lines shown under an error: the source line and a caret. */
static void check_render(const char *text, size_t cap, const char *want)
{
	uint8_t out[64];
	size_t n = sizeof(out);
	struct asm_error err;
	char buf[512];

	assert_true(cap <= sizeof(buf));
	assert_true(asm_assemble(text, 0, resolver, NULL, out, &n, &err) < 0);
	size_t len = asm_error_render(text, &err, buf, cap);
	if (strcmp(buf, want) || len != strlen(want))
		fail_msg("'%s' (%d:%d %s): rendered\n%s\n(%zu bytes), want\n%s", text, err.line,
			 err.col, err.msg, buf, len, want);
}

static void test_error_render(void **state)
{
	(void)state;
	check_render("mov eax, 5 6", 512, "  mov eax, 5 6\n             ^");
	check_render("nop\n  foo eax\nnop", 512, "    foo eax\n    ^");
	/* the caret after the end of the line */
	check_render("mov eax,", 512, "  mov eax,\n          ^");
	/* tabs expanded to 8-column stops, so the caret lines up */
	check_render("nop\n\tmov\teax, [rax*3]", 512,
		     "          mov     eax, [rax*3]\n" "                            ^");
	/* control characters shown as '?', UTF-8 as one column per character */
	check_render("mov eax, \x01", 512, "  mov eax, ?\n           ^");
	check_render("db \"h\xc3\xa9llo\", 300", 512, "  db \"h\xc3\xa9llo\", 300\n              ^");
	check_render("mov eax, 1\r\nbogus\r\n", 512, "  bogus\n  ^");
	/* a long line is cut around the column */
	char big[1024];
	int k = 0;
	for (int i = 0; i < 60; i++)
		k += snprintf(big + k, sizeof(big) - (size_t)k, "nop; ");
	snprintf(big + k, sizeof(big) - (size_t)k, "bogus eax; nop; nop; nop; nop; nop; nop; nop");
	check_render(big, 64, "  ...; nop; nop; bogus eax; n...\n"
			      "                 ^");
	/* multi-byte characters take more bytes than columns: the caret line
	 * keeps its room, the source line gives way */
	k = 0;
	for (int i = 0; i < 40; i++)
		k += snprintf(big + k, sizeof(big) - (size_t)k, "db \"\xe2\x82\xac\xe2\x82\xac\"; ");
	snprintf(big + k, sizeof(big) - (size_t)k, "bogus");
	uint8_t out[512];
	size_t n = sizeof(out);
	struct asm_error err;
	char wide[64];
	assert_int_equal(asm_assemble(big, 0, NULL, NULL, out, &n, &err), -HD_E_PARSE);
	size_t len = asm_error_render(big, &err, wide, sizeof(wide));
	assert_true(len > 0 && len < sizeof(wide) && len == strlen(wide));
	assert_int_equal(wide[len - 1], '^');
	/* errors without a place in the text render nothing */
	struct asm_error none = { 0 };
	char buf[16] = "x";
	assert_int_equal(asm_error_render("nop", &none, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	struct asm_error past = { .line = 3, .col = 1 };
	assert_int_equal(asm_error_render("nop\nnop", &past, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
}

static int symbolizer(void *ud, uint64_t addr, char *buf, size_t len)
{
	(void)ud;
	if (addr >= 0x401000 && addr < 0x401100) {
		snprintf(buf, len, "prog!main+0x%llx", (unsigned long long)(addr - 0x401000));
		return 0;
	}
	if (addr == 0x404040) {
		snprintf(buf, len, "prog!counter");
		return 0;
	}
	return -1;
}

static void test_disasm(void **state)
{
	(void)state;
	struct asm_insn in;
	static const uint8_t call[] = { 0xe8, 0xfb, 0x0f, 0x00, 0x00 };   /* call 0x401000 */
	static const uint8_t jz[] = { 0x74, 0x0e };                        /* jz 0x400010 */
	static const uint8_t lea[] = { 0x48, 0x8d, 0x05, 0x39, 0x40, 0x00, 0x00 };
	static const uint8_t mov[] = { 0x48, 0x8b, 0x5a, 0x40 };
	static const uint8_t bad[] = { 0x06 };                             /* push es: invalid */

	assert_int_equal(asm_disasm_one(call, sizeof(call), 0x400000, symbolizer, NULL, &in), 0);
	assert_string_equal(in.text, "call prog!main+0x0");
	assert_true(in.is_branch);
	assert_true(in.is_call);
	assert_int_equal(in.target, 0x401000);
	assert_int_equal(in.len, 5);
	assert_memory_equal(in.bytes, call, 5);
	assert_int_equal(in.addr, 0x400000);

	assert_int_equal(asm_disasm_one(call, sizeof(call), 0x400000, NULL, NULL, &in), 0);
	assert_string_equal(in.text, "call 0x401000");

	assert_int_equal(asm_disasm_one(jz, sizeof(jz), 0x400000, symbolizer, NULL, &in), 0);
	assert_string_equal(in.text, "jz 0x400010");
	assert_true(in.is_branch);
	assert_false(in.is_call);
	assert_int_equal(in.target, 0x400010);

	/* rip-relative: lea rax, [rip+0x4039] at 0x400000 -> 0x404040 */
	assert_int_equal(asm_disasm_one(lea, sizeof(lea), 0x400000, symbolizer, NULL, &in), 0);
	assert_string_equal(in.text, "lea rax, [rip+prog!counter]");
	assert_false(in.is_branch);
	assert_int_equal(in.target, 0x404040);
	assert_int_equal(asm_disasm_one(lea, sizeof(lea), 0x400000, NULL, NULL, &in), 0);
	assert_string_equal(in.text, "lea rax, [rip+0x4039]");

	assert_int_equal(asm_disasm_one(mov, sizeof(mov), 0, symbolizer, NULL, &in), 0);
	assert_string_equal(in.text, "mov rbx, qword ptr [rdx+0x40]");
	assert_false(in.is_branch);

	assert_int_equal(asm_disasm_one(bad, sizeof(bad), 0x1000, NULL, NULL, &in), -HD_E_DECODE);
	assert_int_equal(in.len, 1);
	assert_string_equal(in.text, "(bad)");
	/* truncated instruction */
	assert_int_equal(asm_disasm_one(call, 3, 0x1000, NULL, NULL, &in), -HD_E_DECODE);
}

static int resolve_counter(void *ud, const char *name, uint64_t *v)
{
	(void)ud;
	if (strcmp(name, "prog!counter"))
		return -HD_E_NOSYM;
	*v = 0x404040;
	return 0;
}

static void test_disasm_reassembles(void **state)
{
	(void)state;
	/* the symbolized text assembles back to the same bytes */
	static const uint8_t lea[] = { 0x48, 0x8d, 0x05, 0x39, 0x40, 0x00, 0x00 };
	struct asm_insn in;
	uint8_t out[16];
	size_t n = sizeof(out);
	struct asm_error err;

	assert_int_equal(asm_disasm_one(lea, sizeof(lea), 0x400000, symbolizer, NULL, &in), 0);
	assert_int_equal(asm_assemble(in.text, 0x400000, resolve_counter, NULL, out, &n, &err), 0);
	assert_int_equal(n, sizeof(lea));
	assert_memory_equal(out, lea, sizeof(lea));
}

static void test_insn_length(void **state)
{
	(void)state;
	static const uint8_t code[] = { 0x48, 0xc7, 0x42, 0x40, 0x48, 0x44, 0x42, 0x32, 0xc3 };
	assert_int_equal(asm_insn_length(code, sizeof(code)), 8);
	assert_int_equal(asm_insn_length(code + 8, 1), 1);
	assert_int_equal(asm_insn_length(code, 4), -HD_E_DECODE);
	assert_int_equal(asm_insn_length(code, 0), -HD_E_DECODE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_example),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_memory_forms),
		cmocka_unit_test(test_registers_and_prefixes),
		cmocka_unit_test(test_default_operand_sizes),
		cmocka_unit_test(test_xchg),
		cmocka_unit_test(test_gnu_forms),
		cmocka_unit_test(test_data_strings),
		cmocka_unit_test(test_labels_and_branches),
		cmocka_unit_test(test_runtime_address_and_symbols),
		cmocka_unit_test(test_data),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_range_errors),
		cmocka_unit_test(test_error_render),
		cmocka_unit_test(test_disasm),
		cmocka_unit_test(test_disasm_reassembles),
		cmocka_unit_test(test_insn_length),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
