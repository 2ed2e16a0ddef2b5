/*
** assemble.c: from parsed statements to bytes. Resolves external symbols
** once, then lays the block out: every pass encodes each statement at the
** address the previous pass gave it, until no length changes (a fixed
** point). Branches start short and, once they have had to grow to near, stay
** near, so the iteration cannot oscillate; Zydis picks the short form
** whenever the target fits, which gives Keystone's and GNU as's layout.
**
** Zydis wants a fully specified request, so the parts the Intel syntax
** leaves implicit are found by trial: the size of an untyped memory operand
** (register operands hint it), an unsigned immediate written for a signed
** field (`add al, 0xff`), EVEX's implicit `{k0}` mask and `rep` versus
** `repe`.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asm/internal.h"

#define MAX_PASSES 32

static const uint16_t mem_sizes[] = { 8, 4, 2, 1, 16, 32, 64, 10, 6, 0, 28, 14, 108, 94,
				       512, 576, 48, 80, 40 };

/* Sizes a `SIZE PTR` keyword can express (the others are implied by the
 * instruction: fnstenv's 28 bytes, fxsave's 512...). */
static bool keyword_size(uint16_t s)
{
	return s == 1 || s == 2 || s == 4 || s == 6 || s == 8 || s == 10 || s == 16 || s == 32 ||
	       s == 64;
}

static uint64_t sym_value(const struct asm_ctx *ctx, int s, uint64_t end)
{
	const struct asm_sym *sy = &ctx->syms[s];
	if (sy->label_stmt < 0)
		return sy->value;
	return sy->label_stmt < ctx->nst ? ctx->st[sy->label_stmt].addr : end;
}

static uint64_t eval(const struct asm_ctx *ctx, const struct asm_expr *e, uint64_t here,
		     uint64_t end)
{
	uint64_t v = (uint64_t)e->num;
	for (int i = 0; i < e->nterms; i++) {
		uint64_t s = sym_value(ctx, e->term[i].sym, end);
		v += e->term[i].sign < 0 ? -s : s;
	}
	if (e->here)
		v += here;
	return v;
}

/* The value moves with the address assembled at (a label or `$`). */
static bool has_label(const struct asm_ctx *ctx, const struct asm_expr *e)
{
	for (int i = 0; i < e->nterms; i++)
		if (ctx->syms[e->term[i].sym].label_stmt >= 0)
			return true;
	return e->here;
}

static int resolve_symbols(struct asm_ctx *ctx)
{
	for (int i = 0; i < ctx->nsyms; i++) {
		struct asm_sym *s = &ctx->syms[i];
		if (s->label_stmt >= 0)
			continue;
		int rc = ctx->resolve ? ctx->resolve(ctx->ud, s->name, &s->value) : -HD_E_NOSYM;
		if (rc == 0)
			continue;
		if (asm_looks_like_register(s->name))
			return asm_fail(ctx, -HD_E_PARSE, s->line, s->col, "unknown register or undefined symbol '%s'",
					s->name);
		return asm_fail(ctx, -HD_E_NOSYM, s->line, s->col, "undefined label or symbol '%s'",
				s->name);
	}
	return 0;
}

static bool fits_signed(int64_t v, int bits)
{
	if (bits >= 64)
		return true;
	int64_t lim = (int64_t)1 << (bits - 1);
	return v >= -lim && v < lim;
}

static bool fits_either(uint64_t v, int bits)
{
	return bits >= 64 || fits_signed((int64_t)v, bits) || v < ((uint64_t)1 << bits);
}

/* Out of rel32 reach from an instruction at `at` of any length. */
static bool beyond_rel32(uint64_t target, uint64_t at)
{
	return !fits_signed((int64_t)(target - at), 32) ||
	       !fits_signed((int64_t)(target - (at + 15)), 32);
}

static int data_encode(struct asm_ctx *ctx, struct asm_stmt *st, uint64_t end)
{
	size_t n = (size_t)st->nitems * (size_t)st->dwidth;

	if (!st->raw)
		st->raw = hd_xmalloc(n ? n : 1);
	for (int i = 0; i < st->nitems; i++) {
		uint64_t v = eval(ctx, &st->items[i], st->addr, end);
		if (!fits_either(v, st->dwidth * 8))
			return asm_fail_range(ctx, has_label(ctx, &st->items[i]), st->line,
					      st->items[i].col,
					      "value %lld does not fit in %d byte%s", (long long)v,
					      st->dwidth, st->dwidth > 1 ? "s" : "");
		for (int b = 0; b < st->dwidth; b++)
			st->raw[(size_t)i * (size_t)st->dwidth + (size_t)b] = (uint8_t)(v >> (8 * b));
	}
	st->len = n;
	return 0;
}

/* Zydis encodes only fs:/gs: overrides in 64-bit mode; the others (no-ops
 * there, but present in real code: `nop word ptr cs:[rax+rax*1]`) are
 * prepended as a prefix byte, as GNU as places them. */
static ZydisInstructionAttributes seg_prefix(ZydisRegister seg, uint8_t *byte)
{
	switch (seg) {
	case ZYDIS_REGISTER_CS: *byte = 0x2e; return 0;
	case ZYDIS_REGISTER_SS: *byte = 0x36; return 0;
	case ZYDIS_REGISTER_DS: *byte = 0x3e; return 0;
	case ZYDIS_REGISTER_ES: *byte = 0x26; return 0;
	case ZYDIS_REGISTER_FS: return ZYDIS_ATTRIB_HAS_SEGMENT_FS;
	case ZYDIS_REGISTER_GS: return ZYDIS_ATTRIB_HAS_SEGMENT_GS;
	default: return 0;
	}
}

static ZydisBroadcastMode bcst_mode(uint8_t n)
{
	switch (n) {
	case 2: return ZYDIS_BROADCAST_MODE_1_TO_2;
	case 4: return ZYDIS_BROADCAST_MODE_1_TO_4;
	case 8: return ZYDIS_BROADCAST_MODE_1_TO_8;
	case 16: return ZYDIS_BROADCAST_MODE_1_TO_16;
	case 32: return ZYDIS_BROADCAST_MODE_1_TO_32;
	default: return ZYDIS_BROADCAST_MODE_INVALID;
	}
}

/* Branch targets and rip-relative addresses are absolute in the request;
 * turn them into displacements here. (Zydis 4.0.0's
 * ZydisEncoderEncodeInstructionAbsolute can choose the short form after
 * computing the displacement for the near one, for targets 124..127 bytes
 * ahead.) Encode once with a zero value to learn the length, then with the
 * real one; branches try rel8 before rel32 unless a width is imposed. */
static ZyanStatus encode_relative(const struct asm_stmt *st, const ZydisEncoderRequest *r,
				  uint8_t *buf, ZyanUSize *n)
{
	static const ZydisBranchWidth widths[] = { ZYDIS_BRANCH_WIDTH_8, ZYDIS_BRANCH_WIDTH_32,
						   ZYDIS_BRANCH_WIDTH_NONE /* xbegin */ };
	/* bytes added in front of Zydis's encoding move the instruction's end */
	uint64_t at = st->addr + (st->seg_byte != 0) + (st->raw_rep != 0) + (st->raw_rex != 0);
	ZyanStatus last = ZYDIS_STATUS_IMPOSSIBLE_INSTRUCTION;

	for (int i = 0; i < r->operand_count; i++) {
		const ZydisEncoderOperand *o = &r->operands[i];
		bool rel = st->is_branch && o->type == ZYDIS_OPERAND_TYPE_IMMEDIATE;
		bool rip = o->type == ZYDIS_OPERAND_TYPE_MEMORY && o->mem.base == ZYDIS_REGISTER_RIP;
		if (!rel && !rip)
			continue;
		uint64_t target = rel ? o->imm.u : (uint64_t)o->mem.displacement;
		for (int w = 0; w < 3; w++) {
			ZydisEncoderRequest t = *r;
			ZydisEncoderOperand *to = &t.operands[i];
			if (rel && r->branch_width == ZYDIS_BRANCH_WIDTH_NONE)
				t.branch_width = widths[w];
			else if (w)
				break;
			if (rel)
				to->imm.u = 0;
			else
				to->mem.displacement = 0;
			ZyanUSize l = *n;
			ZyanStatus s = ZydisEncoderEncodeInstruction(&t, buf, &l);
			if (!ZYAN_SUCCESS(s)) {
				last = s;
				continue;
			}
			int64_t d = (int64_t)(target - (at + l));
			if (!fits_signed(d, rel && t.branch_width == ZYDIS_BRANCH_WIDTH_8 ? 8 : 32))
				continue;
			ZyanUSize l0 = l;
			if (rel)
				to->imm.s = d;
			else
				to->mem.displacement = d;
			l = *n;
			s = ZydisEncoderEncodeInstruction(&t, buf, &l);
			if (ZYAN_SUCCESS(s) && l == l0) {
				*n = l;
				return s;
			}
			last = s;
		}
		return last;
	}
	return ZydisEncoderEncodeInstruction(r, buf, n);
}

/* One encoding attempt with the given request, plus the implicit-{k0} and
 * rep/repe variants. */
static bool try_encode(const struct asm_stmt *st, const ZydisEncoderRequest *base,
		       bool absolute, uint8_t *buf, size_t *len, ZyanStatus *status)
{
	for (int variant = 0; variant < 16; variant++) {
		ZydisEncoderRequest r = *base;
		/* 4: VEX is4 register operand (vpblendvb x, x, x, x)
		 * 8: GNU's explicit implicit xmm0 (blendvps x, x, xmm0) dropped */
		if (variant & 4) {
			if ((variant & 2) || r.operand_count != 4 ||
			    r.operands[3].type != ZYDIS_OPERAND_TYPE_REGISTER)
				continue;
			r.operands[3].reg.is4 = ZYAN_TRUE;
		}
		if (variant & 8) {
			if ((variant & 6) || r.operand_count != 3 ||
			    r.operands[2].type != ZYDIS_OPERAND_TYPE_REGISTER ||
			    r.operands[2].reg.value != ZYDIS_REGISTER_XMM0)
				continue;
			r.operand_count = 2;
		}
		if ((variant & 1) && st->rep_generic) {
			r.prefixes = (r.prefixes & ~(ZydisInstructionAttributes)ZYDIS_ATTRIB_HAS_REP) |
				     ZYDIS_ATTRIB_HAS_REPE;
		} else if (variant & 1) {
			continue;
		}
		if (variant & 2) {
			if (st->mask != ZYDIS_REGISTER_NONE || r.operand_count == 0 ||
			    r.operand_count >= ZYDIS_ENCODER_MAX_OPERANDS)
				continue;
			memmove(&r.operands[2], &r.operands[1],
				(size_t)(r.operand_count - 1) * sizeof(r.operands[0]));
			memset(&r.operands[1], 0, sizeof(r.operands[1]));
			r.operands[1].type = ZYDIS_OPERAND_TYPE_REGISTER;
			r.operands[1].reg.value = ZYDIS_REGISTER_K0;
			r.operand_count++;
		}
		ZyanUSize n = 16;
		ZyanStatus s = absolute ? encode_relative(st, &r, buf, &n)
					: ZydisEncoderEncodeInstruction(&r, buf, &n);
		if (ZYAN_SUCCESS(s)) {
			*len = n;
			return true;
		}
		*status = s;
	}
	return false;
}

/* Width in bits of the instruction's first register or sized memory operand. */
static int op_width(const ZydisEncoderRequest *r)
{
	for (int i = 0; i < r->operand_count; i++) {
		if (r->operands[i].type == ZYDIS_OPERAND_TYPE_REGISTER)
			return ZydisRegisterGetWidth(ZYDIS_MACHINE_MODE_LONG_64, r->operands[i].reg.value);
		if (r->operands[i].type == ZYDIS_OPERAND_TYPE_MEMORY)
			return r->operands[i].mem.size * 8;
	}
	return 0;
}

/* Immediates: as written, then reinterpreted as signed at the operand width
 * (`add eax, 0xffffffff` is `add eax, -1`), then at 8 and 16 bits. */
static bool try_imms(const struct asm_stmt *st, ZydisEncoderRequest *r, int immi, bool absolute,
		     uint8_t *buf, size_t *len, ZyanStatus *status)
{
	if (immi < 0)
		return try_encode(st, r, absolute, buf, len, status);
	uint64_t v = r->operands[immi].imm.u;
	int widths[3] = { op_width(r), 8, 16 };
	if (try_encode(st, r, absolute, buf, len, status))
		return true;
	for (int i = 0; i < 3; i++) {
		int w = widths[i];
		if ((i > 0 && w == widths[0]) || w <= 0 || w >= 64)
			continue;
		if (v >= ((uint64_t)1 << w) || v < ((uint64_t)1 << (w - 1)))
			continue;
		r->operands[immi].imm.s = (int64_t)(v - ((uint64_t)1 << w));
		bool ok = try_encode(st, r, absolute, buf, len, status);
		r->operands[immi].imm.u = v;
		if (ok)
			return true;
	}
	return false;
}

static int reg_bytes(ZydisRegister reg)
{
	return ZydisRegisterGetWidth(ZYDIS_MACHINE_MODE_LONG_64, reg) / 8;
}

/* Memory operand without a written size: try the sizes Zydis knows, the one
 * a register operand implies first. Several distinct encodings and no hint
 * make the statement ambiguous. */
static int try_sizes(struct asm_ctx *ctx, const struct asm_stmt *st, ZydisEncoderRequest *r,
		     int memi, int memo, int immi, bool absolute, ZyanStatus *status)
{
	uint8_t buf[16], first[16];
	size_t len, flen = 0;
	int nok = 0, hint = 0;
	uint16_t fsize = 0;
	bool differ = false;

	for (int i = 0; i < r->operand_count; i++)
		if (r->operands[i].type == ZYDIS_OPERAND_TYPE_REGISTER && !hint)
			hint = reg_bytes(r->operands[i].reg.value);
	if (st->osz_hint == ZYDIS_OPERAND_SIZE_HINT_16 && !hint)
		hint = 2; /* pushw [rax] */
	if (hint) {
		r->operands[memi].mem.size = (uint16_t)hint;
		if (try_imms(st, r, immi, absolute, buf, &len, status))
			return (int)hint;
	}
	bool stack_like = st->mnem == ZYDIS_MNEMONIC_PUSH || st->mnem == ZYDIS_MNEMONIC_POP ||
			  st->mnem == ZYDIS_MNEMONIC_CALL || st->mnem == ZYDIS_MNEMONIC_JMP;
	int nkw = 0;
	for (size_t i = 0; i < HD_ARRAY_SIZE(mem_sizes); i++) {
		if (mem_sizes[i] == hint && hint)
			continue;
		r->operands[memi].mem.size = mem_sizes[i];
		if (!try_imms(st, r, immi, absolute, buf, &len, status))
			continue;
		if (stack_like && mem_sizes[i] == 8)
			return 8;
		nkw += keyword_size(mem_sizes[i]);
		if (nok++ == 0) {
			memcpy(first, buf, len);
			flen = len;
			fsize = mem_sizes[i];
		} else if (len != flen || memcmp(buf, first, len)) {
			differ = true;
		}
	}
	if (nok == 0)
		return -1;
	/* distinct encodings the user could choose between with SIZE PTR */
	if (differ && nkw >= 2)
		return asm_fail(ctx, -HD_E_ENCODE, st->line, st->op[memo].col,
				"operand size is ambiguous; write BYTE/WORD/DWORD/QWORD PTR");
	return fsize;
}

static bool is_default_segment(const struct asm_operand *op)
{
	bool stack = op->base == ZYDIS_REGISTER_RSP || op->base == ZYDIS_REGISTER_RBP ||
		     op->base == ZYDIS_REGISTER_ESP || op->base == ZYDIS_REGISTER_EBP;
	return (op->seg == ZYDIS_REGISTER_DS && !stack) || (op->seg == ZYDIS_REGISTER_SS && stack);
}

/* Fill the request's operand from a parsed operand. Sets *absolute when the
 * operand holds an absolute address that Zydis must make rip-relative. */
static void build_operand(const struct asm_ctx *ctx, struct asm_stmt *st,
			  const struct asm_operand *op, ZydisEncoderRequest *r,
			  ZydisEncoderOperand *eo, bool *absolute, uint64_t end)
{
	memset(eo, 0, sizeof(*eo));
	switch (op->kind) {
	case ASM_OP_REG:
		eo->type = ZYDIS_OPERAND_TYPE_REGISTER;
		eo->reg.value = op->reg;
		break;
	case ASM_OP_IMM:
		eo->type = ZYDIS_OPERAND_TYPE_IMMEDIATE;
		eo->imm.u = eval(ctx, &op->expr, st->addr, end);
		if (st->is_branch)
			*absolute = true;
		break;
	case ASM_OP_MEM: {
		uint64_t v = eval(ctx, &op->expr, st->addr, end);
		eo->type = ZYDIS_OPERAND_TYPE_MEMORY;
		eo->mem.base = op->base;
		eo->mem.index = op->index;
		eo->mem.scale = op->index ? op->scale : 0;
		eo->mem.displacement = (int64_t)v;
		eo->mem.size = op->size;
		if (op->rip_sym) {
			*absolute = true;
		} else if (op->base == ZYDIS_REGISTER_NONE && op->index == ZYDIS_REGISTER_NONE &&
			   !fits_signed((int64_t)v, 32) && op->seg != ZYDIS_REGISTER_FS &&
			   op->seg != ZYDIS_REGISTER_GS) {
			/* out of disp32 reach: rip-relative if within 2 GiB, else moffs */
			if (!beyond_rel32(v, st->addr)) {
				eo->mem.base = ZYDIS_REGISTER_RIP;
				*absolute = true;
			}
		}
		if (op->bcst)
			r->evex.broadcast = bcst_mode(op->bcst);
		r->prefixes |= seg_prefix(op->seg, &st->seg_byte);
		if (is_default_segment(op))
			st->seg_byte = 0; /* as GNU as: `ds:[rax]`, `ss:[rsp]` add nothing */
		break;
	}
	}
}

static bool two_gprs_differ(const struct asm_stmt *st, char *why, size_t cap)
{
	if (st->nops != 2 || st->mnem == ZYDIS_MNEMONIC_MOVZX || st->mnem == ZYDIS_MNEMONIC_MOVSX ||
	    st->mnem == ZYDIS_MNEMONIC_MOVSXD || st->mnem == ZYDIS_MNEMONIC_CRC32 ||
	    st->mnem == ZYDIS_MNEMONIC_IN || st->mnem == ZYDIS_MNEMONIC_OUT)
		return false;
	const struct asm_operand *a = &st->op[0], *b = &st->op[1];
	bool ga = a->kind == ASM_OP_REG && ZydisRegisterGetClass(a->reg) >= ZYDIS_REGCLASS_GPR8 &&
		  ZydisRegisterGetClass(a->reg) <= ZYDIS_REGCLASS_GPR64;
	bool gb = b->kind == ASM_OP_REG && ZydisRegisterGetClass(b->reg) >= ZYDIS_REGCLASS_GPR8 &&
		  ZydisRegisterGetClass(b->reg) <= ZYDIS_REGCLASS_GPR64;
	if (ga && gb && reg_bytes(a->reg) != reg_bytes(b->reg) && b->reg != ZYDIS_REGISTER_CL) {
		snprintf(why, cap, "operand size mismatch: %s is %d-bit, %s is %d-bit",
			 ZydisRegisterGetString(a->reg), reg_bytes(a->reg) * 8,
			 ZydisRegisterGetString(b->reg), reg_bytes(b->reg) * 8);
		return true;
	}
	const struct asm_operand *rg = ga ? a : gb ? b : NULL, *m = ga ? b : a;
	if (rg && m->kind == ASM_OP_MEM && m->size && m->size != reg_bytes(rg->reg)) {
		snprintf(why, cap, "operand size mismatch: %s is %d-bit, memory operand is %d-bit",
			 ZydisRegisterGetString(rg->reg), reg_bytes(rg->reg) * 8, m->size * 8);
		return true;
	}
	return false;
}

/* A target written as an address or an external symbol (not a label or
 * `$`) is reached from where the code is placed: its distance depends on
 * the address assembled at. */
static bool target_is_absolute(const struct asm_ctx *ctx, const struct asm_expr *e)
{
	return !has_label(ctx, e);
}

static void hex_signed(char *buf, size_t cap, int64_t v)
{
	snprintf(buf, cap, "%s0x%llx", v < 0 ? "-" : "",
		 (unsigned long long)(v < 0 ? -(uint64_t)v : (uint64_t)v));
}

static bool rel8_only(ZydisMnemonic m)
{
	return m == ZYDIS_MNEMONIC_LOOP || m == ZYDIS_MNEMONIC_LOOPE ||
	       m == ZYDIS_MNEMONIC_LOOPNE || m == ZYDIS_MNEMONIC_JRCXZ ||
	       m == ZYDIS_MNEMONIC_JECXZ || m == ZYDIS_MNEMONIC_JCXZ;
}

/* Range problems of the branch target or the memory operand, else 0. */
static int range_failure(struct asm_ctx *ctx, const struct asm_stmt *st,
			 const ZydisEncoderRequest *r, int memi, int memo, bool absolute)
{
	char num[24];

	if (st->is_branch) {
		const struct asm_operand *op = &st->op[0];
		bool dep = target_is_absolute(ctx, &op->expr);
		uint64_t t = r->operands[0].imm.u;
		if (st->width_hint == ZYDIS_BRANCH_WIDTH_8)
			return asm_fail_range(ctx, dep, st->line, op->col,
					      "branch target out of range for a short jump");
		if (rel8_only(st->mnem))
			return asm_fail_range(ctx, dep, st->line, op->col,
					      "branch target 0x%llx out of range for '%s' "
					      "(a short jump only: -128..127 bytes)",
					      (unsigned long long)t, st->mnem_text);
		if (beyond_rel32(t, st->addr))
			return asm_fail_range(ctx, dep, st->line, op->col,
					      "branch target 0x%llx is more than 2 GiB away",
					      (unsigned long long)t);
	}
	if (memi < 0)
		return 0;
	const ZydisEncoderOperand *o = &r->operands[memi];
	const struct asm_operand *op = &st->op[memo];
	bool rip = o->mem.base == ZYDIS_REGISTER_RIP;
	if (rip && absolute) {
		/* the displacement holds the target address */
		uint64_t t = (uint64_t)o->mem.displacement;
		if (beyond_rel32(t, st->addr))
			return asm_fail_range(ctx, target_is_absolute(ctx, &op->expr), st->line,
					      op->col,
					      "rip-relative target 0x%llx is more than 2 GiB away",
					      (unsigned long long)t);
		return 0;
	}
	if (o->mem.base == ZYDIS_REGISTER_NONE && o->mem.index == ZYDIS_REGISTER_NONE) {
		if (!fits_signed(o->mem.displacement, 32))
			return asm_fail_range(ctx, true, st->line, op->col,
					      "address 0x%llx is beyond a 32-bit displacement and "
					      "more than 2 GiB from the instruction",
					      (unsigned long long)o->mem.displacement);
		return 0;
	}
	if (!fits_signed(o->mem.displacement, 32)) {
		hex_signed(num, sizeof(num), o->mem.displacement);
		return asm_fail_range(ctx, has_label(ctx, &op->expr), st->line, op->col,
				      "displacement %s does not fit in 32 bits (signed: "
				      "-0x80000000..0x7fffffff)", num);
	}
	return 0;
}

/* Explain why no encoding was found, in the user's terms. */
static int encode_failure(struct asm_ctx *ctx, const struct asm_stmt *st,
			  const ZydisEncoderRequest *r, int memi, int memo, int immi, int immo,
			  bool absolute, ZyanStatus status)
{
	char why[128];

	TRY(range_failure(ctx, st, r, memi, memo, absolute));
	if (immi >= 0 && !st->is_branch) {
		int w = op_width(r);
		uint64_t v = r->operands[immi].imm.u;
		bool mov64 = st->mnem == ZYDIS_MNEMONIC_MOV && w == 64;
		bool dep = has_label(ctx, &st->op[immo].expr);
		if (w > 0 && ((w < 64 && !fits_either(v, w)) ||
			      (w == 64 && !mov64 && !fits_signed((int64_t)v, 32))))
			return asm_fail_range(ctx, dep, st->line, st->op[immo].col,
					      "immediate 0x%llx out of range for a %d-bit operand",
					      (unsigned long long)v, w == 64 ? 32 : w);
		if (w == 0 && !fits_signed((int64_t)v, 32)) /* push imm */
			return asm_fail_range(ctx, dep, st->line, st->op[immo].col,
					      "immediate 0x%llx out of range for a 32-bit operand",
					      (unsigned long long)v);
	}
	if (two_gprs_differ(st, why, sizeof(why)))
		return asm_fail(ctx, -HD_E_ENCODE, st->line, st->col, "%s", why);
	const char *zs = status == ZYDIS_STATUS_IMPOSSIBLE_INSTRUCTION ? "impossible instruction"
			 : status == ZYAN_STATUS_INVALID_ARGUMENT   ? "invalid operand"
								    : "failed";
	return asm_fail(ctx, -HD_E_ENCODE, st->line, st->col,
			"no encoding for '%s' with these operands (Zydis: %s, status 0x%08x)",
			st->mnem_text, zs, (unsigned)status);
}

/* Zydis prefers `67 A1 moffs32` for `mov eax, [abs32]`; GNU as and
 * Keystone use `8B 04 25 disp32` (same semantics, the form users expect).
 * Rewrite the accumulator-moffs form into the ModRM+SIB one, for addresses
 * below 2 GiB only: a disp32 is sign-extended, a moffs32 zero-extended
 * (`[0x80000000]` stays `67 A1`). */
static void moffs_to_sib(uint8_t *b, size_t *len)
{
	size_t i = 0, p67 = SIZE_MAX;
	while (i < *len && strchr("\x26\x2e\x36\x3e\x64\x65\x66\x67\xf0\xf2\xf3", b[i]) && b[i]) {
		if (b[i] == 0x67)
			p67 = i;
		i++;
	}
	if (p67 == SIZE_MAX)
		return;
	size_t op = i + (i < *len && (b[i] & 0xf0) == 0x40);
	if (op + 5 != *len || b[op] < 0xa0 || b[op] > 0xa3)
		return;
	static const uint8_t modrm_op[] = { 0x8a, 0x8b, 0x88, 0x89 };
	uint8_t disp[4];
	memcpy(disp, b + op + 1, 4);
	if (disp[3] & 0x80)
		return;
	b[op] = modrm_op[b[op] - 0xa0];
	b[op + 1] = 0x04;
	b[op + 2] = 0x25;
	memcpy(b + op + 3, disp, 4);
	memmove(b + p67, b + p67 + 1, op + 7 - p67 - 1);
	*len = op + 6;
}

/* Where Zydis's first choice differs from GNU as and Keystone but means the
 * same instruction, use theirs:
 * - `nop r/m`: Zydis takes the first reserved-NOP opcode (0F 18/19); they
 *   use the recommended 0F 1F;
 * - `mov` to/from control and debug registers: Zydis leaves ModRM.mod 00
 *   (ignored by the CPU, which always reads 11); they write 11. */
static void prefer_gnu_form(ZydisMnemonic m, uint8_t *b, size_t len)
{
	size_t i = 0;
	while (i < len && (b[i] == 0x66 || b[i] == 0x67 || b[i] == 0x64 || b[i] == 0x65 ||
			   b[i] == 0xf0 || (b[i] & 0xf0) == 0x40))
		i++;
	if (i + 2 >= len || b[i] != 0x0f)
		return;
	if (m == ZYDIS_MNEMONIC_NOP && b[i + 1] >= 0x18 && b[i + 1] <= 0x1e)
		b[i + 1] = 0x1f;
	if (m == ZYDIS_MNEMONIC_MOV && b[i + 1] >= 0x20 && b[i + 1] <= 0x23)
		b[i + 2] |= 0xc0;
}

/* lar/lsl take a selector: GNU as and Keystone accept its register at 16
 * bits or at the destination's size (`lar eax, ax`, `lsl rax, rax`); Zydis
 * wants the destination's size for lar and 32 bits for lsl r64. */
static bool try_lar_lsl(const struct asm_stmt *st, const ZydisEncoderRequest *base,
			bool absolute, uint8_t *buf, size_t *len, ZyanStatus *status)
{
	ZydisEncoderRequest r = *base;
	ZydisEncoderOperand *src = &r.operands[1];
	if (r.operand_count != 2 || src->type != ZYDIS_OPERAND_TYPE_REGISTER ||
	    r.operands[0].type != ZYDIS_OPERAND_TYPE_REGISTER)
		return try_encode(st, &r, absolute, buf, len, status);
	const ZydisRegisterClass cls[] = { ZydisRegisterGetClass(src->reg.value),
		ZydisRegisterGetClass(r.operands[0].reg.value), ZYDIS_REGCLASS_GPR32 };
	const ZyanU8 id = ZydisRegisterGetId(src->reg.value);
	for (size_t i = 0; i < HD_ARRAY_SIZE(cls); i++) {
		if (cls[i] < ZYDIS_REGCLASS_GPR16 || cls[i] > ZYDIS_REGCLASS_GPR64)
			continue;
		src->reg.value = ZydisRegisterEncode(cls[i], id);
		if (try_encode(st, &r, absolute, buf, len, status))
			return true;
	}
	return false;
}

/* xchg: the short `90+r` form exists for one operand order only; and
 * `xchg eax, eax` is not 90, which is `nop` in 64-bit mode (it would not
 * clear the upper half of rax): GNU as and Keystone write 87 C0, a form
 * Zydis never picks. */
static void xchg_form(struct asm_stmt *st, const ZydisEncoderRequest *r, bool absolute,
		      size_t *len)
{
	ZydisEncoderRequest sw = *r;
	ZyanStatus status;
	uint8_t b2[16];
	size_t l2;

	if (r->operands[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
	    r->operands[1].type == ZYDIS_OPERAND_TYPE_REGISTER &&
	    r->operands[0].reg.value == ZYDIS_REGISTER_EAX &&
	    r->operands[1].reg.value == ZYDIS_REGISTER_EAX) {
		st->bytes[0] = 0x87;
		st->bytes[1] = 0xc0;
		*len = 2;
		return;
	}
	sw.operands[0] = r->operands[1];
	sw.operands[1] = r->operands[0];
	if (try_imms(st, &sw, -1, absolute, b2, &l2, &status) && l2 < *len) {
		memcpy(st->bytes, b2, l2);
		*len = l2;
	}
}

/* Bytes Zydis does not emit, added around its encoding: a raw rep/repne
 * (`rep ret`) after the legacy prefixes, a REX.W it cannot encode
 * (sysexitq) just before the opcode, and a cs/ds/es/ss override first. */
static int add_raw_prefixes(struct asm_ctx *ctx, struct asm_stmt *st, size_t len)
{
	size_t extra = (st->seg_byte != 0) + (st->raw_rep != 0) + (st->raw_rex != 0), i = 0;

	if (len + extra > 15)
		return asm_fail(ctx, -HD_E_ENCODE, st->line, st->col,
				"instruction too long with the added prefixes");
	while (i < len && strchr("\x26\x2e\x36\x3e\x64\x65\x66\x67\xf0\xf2\xf3", st->bytes[i]) &&
	       st->bytes[i])
		i++;
	uint8_t raw[2];
	size_t n = 0;
	if (st->raw_rep)
		raw[n++] = st->raw_rep;
	if (st->raw_rex)
		raw[n++] = st->raw_rex;
	memmove(st->bytes + i + n, st->bytes + i, len - i);
	memcpy(st->bytes + i, raw, n);
	len += n;
	if (st->seg_byte) {
		memmove(st->bytes + 1, st->bytes, len++);
		st->bytes[0] = st->seg_byte;
	}
	st->len = len;
	return 0;
}

static int infer_size(struct asm_ctx *ctx, const struct asm_stmt *st, ZydisEncoderRequest *r,
		      int memi, int memo, int immi, int immo, bool absolute)
{
	ZyanStatus status = ZYAN_STATUS_FAILED;
	int size = try_sizes(ctx, st, r, memi, memo, immi, absolute, &status);
	if (size < -1)
		return size;
	if (size < 0)
		return encode_failure(ctx, st, r, memi, memo, immi, immo, absolute, status);
	r->operands[memi].mem.size = (uint16_t)size;
	return 0;
}

static int insn_encode(struct asm_ctx *ctx, struct asm_stmt *st, uint64_t end)
{
	ZydisEncoderRequest r;
	bool absolute = false;
	int memi = -1, immi = -1, memo = -1, immo = -1, k = 0;
	ZyanStatus status = ZYAN_STATUS_FAILED;
	size_t len;

	memset(&r, 0, sizeof(r));
	st->seg_byte = 0;
	r.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
	r.mnemonic = st->mnem;
	r.prefixes = st->prefixes;
	r.address_size_hint = ZYDIS_ADDRESS_SIZE_HINT_64;
	r.operand_size_hint = st->osz_hint;
	r.branch_width = st->force_near && !st->width_hint ? ZYDIS_BRANCH_WIDTH_32 : st->width_hint;
	r.branch_type = st->branch_type;
	if (st->branch_type == ZYDIS_BRANCH_TYPE_FAR)
		r.branch_width = st->far_width; /* retfq: REX.W */
	r.evex.rounding = st->rounding;
	r.evex.sae = st->sae || st->rounding != ZYDIS_ROUNDING_MODE_INVALID;
	r.evex.zeroing_mask = st->zeroing;
	for (int i = 0; i < st->nops; i++) {
		if (i == 1 && st->mask != ZYDIS_REGISTER_NONE) {
			r.operands[k].type = ZYDIS_OPERAND_TYPE_REGISTER;
			r.operands[k++].reg.value = st->mask;
		}
		build_operand(ctx, st, &st->op[i], &r, &r.operands[k], &absolute, end);
		if (st->op[i].kind == ASM_OP_MEM && memi < 0)
			memi = k, memo = i;
		if (st->op[i].kind == ASM_OP_IMM && immi < 0)
			immi = k, immo = i;
		k++;
	}
	if (st->mnem == ZYDIS_MNEMONIC_NOP && k == 1 && memi == 0 && st->op[0].size >= 2 &&
	    st->op[0].size <= 8) {
		/* GNU's one-operand `nop WORD PTR [m]`: reg field 0 */
		static const ZydisRegister r0[] = { ZYDIS_REGISTER_AX, ZYDIS_REGISTER_EAX,
						    ZYDIS_REGISTER_RAX };
		r.operands[1].type = ZYDIS_OPERAND_TYPE_REGISTER;
		r.operands[1].reg.value = r0[st->op[0].size == 2 ? 0 : st->op[0].size == 4 ? 1 : 2];
		k++;
	}
	if (st->nops == 1 && st->mask != ZYDIS_REGISTER_NONE)
		return asm_fail(ctx, -HD_E_ENCODE, st->line, st->col, "mask without operands");
	r.operand_count = (ZyanU8)k;
	bool sized = memi >= 0 && r.operands[memi].mem.size != 0;
	if (!sized && memi >= 0 && !st->op[memo].bcst)
		TRY(infer_size(ctx, st, &r, memi, memo, immi, immo, absolute));
	if (memi >= 0 && r.operands[memi].mem.size == 0 && r.evex.broadcast) {
		int vec = op_width(&r) / 8;
		r.operands[memi].mem.size = (uint16_t)(vec / st->op[memo].bcst);
	}
	bool ok = st->mnem == ZYDIS_MNEMONIC_LAR || st->mnem == ZYDIS_MNEMONIC_LSL
			  ? try_lar_lsl(st, &r, absolute, st->bytes, &len, &status)
			  : try_imms(st, &r, immi, absolute, st->bytes, &len, &status);
	if (!ok) {
		/* a lone memory operand's size is advisory, as in GNU as
		 * (`clflush byte ptr [rax]`, Zydis wants 64) */
		if (!sized || k != 1)
			return encode_failure(ctx, st, &r, memi, memo, immi, immo, absolute,
					      status);
		r.operands[memi].mem.size = 0;
		TRY(infer_size(ctx, st, &r, memi, memo, immi, immo, absolute));
		if (!try_imms(st, &r, immi, absolute, st->bytes, &len, &status))
			return encode_failure(ctx, st, &r, memi, memo, immi, immo, absolute,
					      status);
	}
	if (st->mnem == ZYDIS_MNEMONIC_XCHG && k == 2)
		xchg_form(st, &r, absolute, &len);
	if (st->is_branch && len < st->len && !st->width_hint) {
		/* grew to near in an earlier pass: stay near (no oscillation) */
		st->force_near = true;
		r.branch_width = ZYDIS_BRANCH_WIDTH_32;
		if (!try_imms(st, &r, immi, absolute, st->bytes, &len, &status))
			st->force_near = false, r.branch_width = ZYDIS_BRANCH_WIDTH_NONE,
			(void)try_imms(st, &r, immi, absolute, st->bytes, &len, &status);
	}
	if (memi >= 0 && r.operands[memi].mem.base == ZYDIS_REGISTER_NONE &&
	    r.operands[memi].mem.index == ZYDIS_REGISTER_NONE)
		moffs_to_sib(st->bytes, &len);
	prefer_gnu_form(st->mnem, st->bytes, len);
	return add_raw_prefixes(ctx, st, len);
}

static int layout(struct asm_ctx *ctx, uint64_t *total)
{
	for (int pass = 0; pass < MAX_PASSES; pass++) {
		uint64_t a = ctx->addr;
		for (int i = 0; i < ctx->nst; i++) {
			ctx->st[i].addr = a;
			a += ctx->st[i].len;
		}
		uint64_t end = a;
		bool changed = false;
		for (int i = 0; i < ctx->nst; i++) {
			struct asm_stmt *st = &ctx->st[i];
			size_t old = st->len;
			if (st->kind == ASM_ST_DATA)
				TRY(data_encode(ctx, st, end));
			else
				TRY(insn_encode(ctx, st, end));
			changed |= st->len != old;
		}
		if (!changed) {
			*total = end - ctx->addr;
			return 0;
		}
	}
	return asm_fail(ctx, -HD_E_ENCODE, 1, 1, "label layout does not converge");
}

static void ctx_free(struct asm_ctx *ctx)
{
	for (int i = 0; i < ctx->nst; i++) {
		free(ctx->st[i].items);
		free(ctx->st[i].raw);
	}
	free(ctx->st);
	free(ctx->syms);
}

int asm_assemble(const char *text, uint64_t addr, asm_resolve_fn resolve, void *ud,
		 uint8_t *out, size_t *out_len, struct asm_error *err)
{
	struct asm_error dummy;
	struct asm_ctx ctx;
	uint64_t total = 0;
	int rc;

	if (!err)
		err = &dummy;
	memset(err, 0, sizeof(*err));
	memset(&ctx, 0, sizeof(ctx));
	ctx.addr = addr;
	ctx.resolve = resolve;
	ctx.ud = ud;
	ctx.err = err;
	CHECK(asm_parse(&ctx, text));
	CHECK(resolve_symbols(&ctx));
	CHECK(layout(&ctx, &total));
	if (total > *out_len) {
		rc = asm_fail(&ctx, -ENOSPC, 1, 1, "output needs %llu bytes, buffer has %zu",
			      (unsigned long long)total, *out_len);
		goto out;
	}
	size_t pos = 0;
	for (int i = 0; i < ctx.nst; i++) {
		const struct asm_stmt *st = &ctx.st[i];
		memcpy(out + pos, st->kind == ASM_ST_DATA ? st->raw : st->bytes, st->len);
		pos += st->len;
	}
	*out_len = pos;
	rc = 0;
out:
	ctx_free(&ctx);
	return rc;
}
