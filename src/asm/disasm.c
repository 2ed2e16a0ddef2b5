/*
** disasm.c: the disassembler, Zydis's decoder and Intel formatter. Two
** formatter hooks name addresses through the caller's symbolizer: branch
** and call targets (`call libc!puts`) and rip-relative operands
** (`[rip+libc!environ]`); both spellings assemble back with asm_assemble.
*/
#include <pthread.h>
#include <string.h>

#include <Zycore/Format.h>

#include "asm/internal.h"

struct fmt_ud {
	asm_symbolize_fn sym;
	void *ud;
};

static ZydisDecoder decoder;
static ZydisFormatter formatter;
static ZydisFormatterFunc orig_addr_abs, orig_disp;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static bool symbolize(const ZydisFormatterContext *c, ZyanU64 addr, char *name, size_t cap)
{
	const struct fmt_ud *u = c->user_data;
	if (!u || !u->sym || u->sym(u->ud, addr, name, cap) < 0)
		return false;
	name[cap - 1] = '\0';
	return name[0] != '\0';
}

static ZyanStatus hook_addr_abs(const ZydisFormatter *f, ZydisFormatterBuffer *buf,
				ZydisFormatterContext *c)
{
	ZyanU64 a;
	char name[160];
	ZyanString *s;

	if (ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(c->instruction, c->operand, c->runtime_address,
						  &a)) &&
	    symbolize(c, a, name, sizeof(name))) {
		ZYAN_CHECK(ZydisFormatterBufferAppend(buf, ZYDIS_TOKEN_SYMBOL));
		ZYAN_CHECK(ZydisFormatterBufferGetString(buf, &s));
		return ZyanStringAppendFormat(s, "%s", name);
	}
	return orig_addr_abs(f, buf, c);
}

static ZyanStatus hook_disp(const ZydisFormatter *f, ZydisFormatterBuffer *buf,
			    ZydisFormatterContext *c)
{
	ZyanU64 a;
	char name[160];
	ZyanString *s;

	if (c->operand->type == ZYDIS_OPERAND_TYPE_MEMORY &&
	    c->operand->mem.base == ZYDIS_REGISTER_RIP &&
	    c->runtime_address != ZYDIS_RUNTIME_ADDRESS_NONE &&
	    ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(c->instruction, c->operand, c->runtime_address,
						  &a)) &&
	    symbolize(c, a, name, sizeof(name))) {
		ZYAN_CHECK(ZydisFormatterBufferAppend(buf, ZYDIS_TOKEN_DELIMITER));
		ZYAN_CHECK(ZydisFormatterBufferGetString(buf, &s));
		ZYAN_CHECK(ZyanStringAppendFormat(s, "+"));
		ZYAN_CHECK(ZydisFormatterBufferAppend(buf, ZYDIS_TOKEN_SYMBOL));
		ZYAN_CHECK(ZydisFormatterBufferGetString(buf, &s));
		return ZyanStringAppendFormat(s, "%s", name);
	}
	return orig_disp(f, buf, c);
}

static void disasm_init(void)
{
	ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	ZydisFormatterInit(&formatter, ZYDIS_FORMATTER_STYLE_INTEL);
	ZydisFormatterSetProperty(&formatter, ZYDIS_FORMATTER_PROP_FORCE_RELATIVE_RIPREL, ZYAN_TRUE);
	ZydisFormatterSetProperty(&formatter, ZYDIS_FORMATTER_PROP_HEX_UPPERCASE, ZYAN_FALSE);
	ZydisFormatterSetProperty(&formatter, ZYDIS_FORMATTER_PROP_FORCE_SIZE, ZYAN_TRUE);
	ZydisFormatterSetProperty(&formatter, ZYDIS_FORMATTER_PROP_ADDR_PADDING_ABSOLUTE,
				  ZYDIS_PADDING_DISABLED);
	ZydisFormatterSetProperty(&formatter, ZYDIS_FORMATTER_PROP_IMM_PADDING,
				  ZYDIS_PADDING_DISABLED);
	ZydisFormatterSetProperty(&formatter, ZYDIS_FORMATTER_PROP_DISP_PADDING,
				  ZYDIS_PADDING_DISABLED);
	orig_addr_abs = (ZydisFormatterFunc)hook_addr_abs;
	ZydisFormatterSetHook(&formatter, ZYDIS_FORMATTER_FUNC_PRINT_ADDRESS_ABS,
			      (const void **)&orig_addr_abs);
	orig_disp = (ZydisFormatterFunc)hook_disp;
	ZydisFormatterSetHook(&formatter, ZYDIS_FORMATTER_FUNC_PRINT_DISP,
			      (const void **)&orig_disp);
}

/* Spell the mnemonic so that asm_assemble reads it back as the same
 * instruction: Zydis's `pushf`/`popf`/`iret` are the 16-bit forms, which
 * GNU as, Keystone and asm_assemble call pushfw/popfw/iretw (`pushf` is
 * pushfq in 64-bit mode); Zydis writes `ret far`, `sysret` and `sysexit`
 * at every operand size. */
static void respell(const ZydisDecodedInstruction *in, char *text, size_t cap)
{
	const char *from = NULL, *to = NULL;

	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_PUSHF: from = "pushf", to = "pushfw"; break;
	case ZYDIS_MNEMONIC_POPF: from = "popf", to = "popfw"; break;
	case ZYDIS_MNEMONIC_IRET: from = "iret", to = "iretw"; break;
	case ZYDIS_MNEMONIC_SYSRET:
	case ZYDIS_MNEMONIC_SYSEXIT:
		if (in->operand_width != 64)
			return;
		from = in->mnemonic == ZYDIS_MNEMONIC_SYSRET ? "sysret" : "sysexit";
		to = in->mnemonic == ZYDIS_MNEMONIC_SYSRET ? "sysretq" : "sysexitq";
		break;
	case ZYDIS_MNEMONIC_RET:
		if (in->meta.branch_type != ZYDIS_BRANCH_TYPE_FAR || in->operand_width == 32)
			return;
		from = "ret far", to = in->operand_width == 16 ? "retfw" : "retfq";
		break;
	default: return;
	}
	char *at = strstr(text, from);
	size_t fl = strlen(from), tl = strlen(to), n = strlen(text);
	if (!at || (at[fl] != '\0' && at[fl] != ' ') || n - fl + tl >= cap)
		return;
	memmove(at + tl, at + fl, n - (size_t)(at - text) - fl + 1);
	memcpy(at, to, tl);
}

int asm_disasm_one(const uint8_t *code, size_t len, uint64_t addr, asm_symbolize_fn sym,
		   void *ud, struct asm_insn *insn)
{
	ZydisDecodedInstruction in;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	struct fmt_ud u = { sym, ud };

	pthread_once(&init_once, disasm_init);
	memset(insn, 0, sizeof(*insn));
	insn->addr = addr;
	if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&decoder, code, len, &in, ops))) {
		insn->len = len ? 1 : 0;
		if (len)
			insn->bytes[0] = code[0];
		strcpy(insn->text, "(bad)");
		return -HD_E_DECODE;
	}
	insn->len = in.length;
	memcpy(insn->bytes, code, in.length);
	if (!ZYAN_SUCCESS(ZydisFormatterFormatInstruction(&formatter, &in, ops,
							  in.operand_count_visible, insn->text,
							  sizeof(insn->text), addr, &u)))
		strcpy(insn->text, "(unformattable)");
	respell(&in, insn->text, sizeof(insn->text));
	insn->is_call = in.mnemonic == ZYDIS_MNEMONIC_CALL;
	for (int i = 0; i < in.operand_count_visible; i++) {
		ZyanU64 t;
		bool rel = (ops[i].type == ZYDIS_OPERAND_TYPE_IMMEDIATE && ops[i].imm.is_relative);
		bool rip = ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
			   ops[i].mem.base == ZYDIS_REGISTER_RIP;
		if ((rel || rip) && ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&in, &ops[i], addr, &t))) {
			insn->target = t;
			insn->is_branch = rel;
		}
	}
	return 0;
}

int asm_insn_length(const uint8_t *code, size_t len)
{
	ZydisDecodedInstruction in;

	pthread_once(&init_once, disasm_init);
	if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&decoder, NULL, code, len, &in)))
		return -HD_E_DECODE;
	return in.length;
}
