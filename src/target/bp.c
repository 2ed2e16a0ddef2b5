/*
** bp.c: int3 breakpoints, reference counted per address, and the
** out-of-line execution of the instruction an int3 displaces.
**
** A thread resumed from a breakpoint hit never sees the original byte put
** back: relative branches and calls (jmp/jcc/call rel, loop*, j*cxz) and
** indirect calls are emulated here (rip, rcx, the pushed return address);
** every other instruction runs as a copy in scratch memory followed by
** `jmp [rip+0]; dq addr+len`, its rip-relative displacement re-based on
** the copy's address (the copy is allocated within +-2 GiB of the data it
** addresses). One stop per hit. A thread found stopped exactly at a copy
** is mapped back to the breakpoint address (and still counts as "at its
** hit"); one at the jump back is mapped to addr+len.
*/
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <Zydis/Zydis.h>

#include "target/internal.h"

#define OOL_SLOT_SIZE 32 /* 15-byte instruction + 14-byte absolute jump */

struct bp *bp_find(const struct target *t, uint64_t addr)
{
	int lo = 0, hi = t->nbp - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		if (t->bps[mid].addr == addr)
			return &t->bps[mid];
		if (t->bps[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

static struct bp *bp_new(struct target *t, uint64_t addr)
{
	if (t->nbp == t->capbp) {
		t->capbp = t->capbp ? 2 * t->capbp : 16;
		t->bps = hd_xrealloc(t->bps, (size_t)t->capbp * sizeof(t->bps[0]));
	}
	int i = t->nbp;
	while (i > 0 && t->bps[i - 1].addr > addr)
		i--;
	memmove(&t->bps[i + 1], &t->bps[i], (size_t)(t->nbp - i) * sizeof(t->bps[0]));
	t->nbp++;
	memset(&t->bps[i], 0, sizeof(t->bps[i]));
	t->bps[i].addr = addr;
	return &t->bps[i];
}

/* ---- decoding ---- */

static int decode(const uint8_t *buf, size_t len, ZydisDecodedInstruction *insn,
		  ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT])
{
	ZydisDecoder dec;
	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, buf, len, insn, ops)))
		return -HD_E_DECODE;
	return 0;
}

static bool is_jcc(ZydisMnemonic m)
{
	switch (m) {
	case ZYDIS_MNEMONIC_JO: case ZYDIS_MNEMONIC_JNO: case ZYDIS_MNEMONIC_JB:
	case ZYDIS_MNEMONIC_JNB: case ZYDIS_MNEMONIC_JZ: case ZYDIS_MNEMONIC_JNZ:
	case ZYDIS_MNEMONIC_JBE: case ZYDIS_MNEMONIC_JNBE: case ZYDIS_MNEMONIC_JS:
	case ZYDIS_MNEMONIC_JNS: case ZYDIS_MNEMONIC_JP: case ZYDIS_MNEMONIC_JNP:
	case ZYDIS_MNEMONIC_JL: case ZYDIS_MNEMONIC_JNL: case ZYDIS_MNEMONIC_JLE:
	case ZYDIS_MNEMONIC_JNLE: case ZYDIS_MNEMONIC_JRCXZ: case ZYDIS_MNEMONIC_JECXZ:
	case ZYDIS_MNEMONIC_LOOP: case ZYDIS_MNEMONIC_LOOPE: case ZYDIS_MNEMONIC_LOOPNE:
		return true;
	default:
		return false;
	}
}

/* Is the instruction emulated (relative branch, any call)? -HD_E_UNSUPPORTED
 * for relative forms we neither emulate nor can copy. */
static int needs_emulation(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops)
{
	if (in->mnemonic == ZYDIS_MNEMONIC_CALL) {
		if (ops[0].type == ZYDIS_OPERAND_TYPE_MEMORY &&
		    (ops[0].mem.segment == ZYDIS_REGISTER_FS || ops[0].mem.segment == ZYDIS_REGISTER_GS))
			return -HD_E_UNSUPPORTED;
		if (in->meta.branch_type == ZYDIS_BRANCH_TYPE_FAR)
			return -HD_E_UNSUPPORTED;
		return 1;
	}
	if (is_jcc(in->mnemonic))
		return 1;
	if (in->mnemonic == ZYDIS_MNEMONIC_JMP && ops[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
		return 1;
	for (int i = 0; i < 2; i++)
		if (in->raw.imm[i].is_relative)
			return -HD_E_UNSUPPORTED; /* xbegin and the like */
	return 0;
}

static bool is_rip_relative(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops)
{
	for (int i = 0; i < in->operand_count; i++)
		if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY && ops[i].mem.base == ZYDIS_REGISTER_RIP)
			return true;
	return false;
}

/* ---- preparing the out-of-line copy ---- */

static int bp_prepare(struct target *t, uint64_t addr)
{
	struct bp *b = bp_find(t, addr);
	uint8_t buf[16];
	ZydisDecodedInstruction in;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	size_t len = sizeof(buf);
	/* Read what is there (breakpoints hidden), shortening at an unreadable page. */
	while (target_mem_read(t, addr, buf, len) < 0) {
		uint64_t page_end = (addr | 0xfff) + 1;
		if (len <= 1 || page_end - addr >= len)
			return -HD_E_BADADDR;
		len = (size_t)(page_end - addr);
	}
	TRY(decode(buf, len, &in, ops));
	int emu = needs_emulation(&in, ops);
	if (emu < 0)
		return emu;
	b = bp_find(t, addr);
	memcpy(b->insn, buf, in.length);
	b->len = in.length;
	if (emu) {
		b->kind = OOL_EMU;
		b->slot = 0; /* the continuation stub is made again on demand */
		b->ool_ready = true;
		return 0;
	}
	uint64_t near = 0;
	bool riprel = is_rip_relative(&in, ops);
	if (riprel)
		near = addr + in.length + (uint64_t)in.raw.disp.value;
	uint64_t slot;
	TRY(target_scratch_alloc(t, near, OOL_SLOT_SIZE, &slot));
	uint8_t code[OOL_SLOT_SIZE];
	memcpy(code, buf, in.length);
	if (riprel) {
		int64_t nd = in.raw.disp.value + (int64_t)(addr - slot);
		if (nd < INT32_MIN || nd > INT32_MAX || in.raw.disp.size != 32)
			return -HD_E_RANGE;
		int32_t d32 = (int32_t)nd;
		memcpy(code + in.raw.disp.offset, &d32, 4);
	}
	static const uint8_t jmp_abs[6] = {0xff, 0x25, 0, 0, 0, 0};
	uint64_t back = addr + in.length;
	memcpy(code + in.length, jmp_abs, sizeof(jmp_abs));
	memcpy(code + in.length + 6, &back, 8);
	TRY(mem_raw_write(t, slot, code, in.length + 14u));
	b = bp_find(t, addr);
	b->kind = OOL_COPY;
	b->slot = slot;
	b->ool_ready = true;
	return 0;
}

void bp_ool_invalidate(struct target *t, uint64_t addr, size_t len)
{
	for (int i = 0; i < t->nbp; i++) {
		struct bp *b = &t->bps[i];
		if (b->addr + 16 > addr && b->addr < addr + len)
			b->ool_ready = false;
	}
}

/* ---- emulation ---- */

static uint64_t *gpr(struct user_regs_struct *r, ZydisRegister reg)
{
	switch (ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, reg)) {
	case ZYDIS_REGISTER_RAX: return (uint64_t *)&r->rax;
	case ZYDIS_REGISTER_RCX: return (uint64_t *)&r->rcx;
	case ZYDIS_REGISTER_RDX: return (uint64_t *)&r->rdx;
	case ZYDIS_REGISTER_RBX: return (uint64_t *)&r->rbx;
	case ZYDIS_REGISTER_RSP: return (uint64_t *)&r->rsp;
	case ZYDIS_REGISTER_RBP: return (uint64_t *)&r->rbp;
	case ZYDIS_REGISTER_RSI: return (uint64_t *)&r->rsi;
	case ZYDIS_REGISTER_RDI: return (uint64_t *)&r->rdi;
	case ZYDIS_REGISTER_R8: return (uint64_t *)&r->r8;
	case ZYDIS_REGISTER_R9: return (uint64_t *)&r->r9;
	case ZYDIS_REGISTER_R10: return (uint64_t *)&r->r10;
	case ZYDIS_REGISTER_R11: return (uint64_t *)&r->r11;
	case ZYDIS_REGISTER_R12: return (uint64_t *)&r->r12;
	case ZYDIS_REGISTER_R13: return (uint64_t *)&r->r13;
	case ZYDIS_REGISTER_R14: return (uint64_t *)&r->r14;
	case ZYDIS_REGISTER_R15: return (uint64_t *)&r->r15;
	default: return NULL;
	}
}

static int reg_value(struct user_regs_struct *r, ZydisRegister reg, uint64_t *v)
{
	uint64_t *p = gpr(r, reg);
	if (!p)
		return -HD_E_UNSUPPORTED;
	switch (ZydisRegisterGetWidth(ZYDIS_MACHINE_MODE_LONG_64, reg)) {
	case 64: *v = *p; break;
	case 32: *v = (uint32_t)*p; break;
	case 16: *v = (uint16_t)*p; break;
	default: return -HD_E_UNSUPPORTED;
	}
	return 0;
}

static bool jcc_taken(ZydisMnemonic m, uint64_t fl)
{
	bool cf = fl & 1, pf = fl & 4, zf = fl & 0x40, sf = fl & 0x80, of = fl & 0x800;
	switch (m) {
	case ZYDIS_MNEMONIC_JO: return of;
	case ZYDIS_MNEMONIC_JNO: return !of;
	case ZYDIS_MNEMONIC_JB: return cf;
	case ZYDIS_MNEMONIC_JNB: return !cf;
	case ZYDIS_MNEMONIC_JZ: return zf;
	case ZYDIS_MNEMONIC_JNZ: return !zf;
	case ZYDIS_MNEMONIC_JBE: return cf || zf;
	case ZYDIS_MNEMONIC_JNBE: return !cf && !zf;
	case ZYDIS_MNEMONIC_JS: return sf;
	case ZYDIS_MNEMONIC_JNS: return !sf;
	case ZYDIS_MNEMONIC_JP: return pf;
	case ZYDIS_MNEMONIC_JNP: return !pf;
	case ZYDIS_MNEMONIC_JL: return sf != of;
	case ZYDIS_MNEMONIC_JNL: return sf == of;
	case ZYDIS_MNEMONIC_JLE: return zf || sf != of;
	case ZYDIS_MNEMONIC_JNLE: return !zf && sf == of;
	default: return false;
	}
}

/* The counter of loop/j*cxz: rcx or ecx by address size. */
static bool count_branch(const ZydisDecodedInstruction *in, struct user_regs_struct *r)
{
	uint64_t mask = in->address_width == 32 ? 0xffffffffu : ~(uint64_t)0;
	uint64_t c = r->rcx & mask;
	bool zf = r->eflags & 0x40;
	if (in->mnemonic == ZYDIS_MNEMONIC_JRCXZ || in->mnemonic == ZYDIS_MNEMONIC_JECXZ)
		return c == 0;
	c = (c - 1) & mask;
	r->rcx = c; /* a 32-bit write (ecx) zero-extends */
	if (in->mnemonic == ZYDIS_MNEMONIC_LOOPE)
		return c != 0 && zf;
	if (in->mnemonic == ZYDIS_MNEMONIC_LOOPNE)
		return c != 0 && !zf;
	return c != 0;
}

static int call_target(struct target *t, const ZydisDecodedInstruction *in,
		       const ZydisDecodedOperand *op, uint64_t addr,
		       struct user_regs_struct *r, uint64_t *dest)
{
	if (op->type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
		return ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(in, op, addr, dest)) ? 0 : -HD_E_DECODE;
	if (op->type == ZYDIS_OPERAND_TYPE_REGISTER)
		return reg_value(r, op->reg.value, dest);
	if (op->type != ZYDIS_OPERAND_TYPE_MEMORY)
		return -HD_E_UNSUPPORTED;
	ZydisRegisterContext ctx;
	memset(&ctx, 0, sizeof(ctx));
	static const ZydisRegister regs64[] = {
		ZYDIS_REGISTER_RAX, ZYDIS_REGISTER_RCX, ZYDIS_REGISTER_RDX, ZYDIS_REGISTER_RBX,
		ZYDIS_REGISTER_RSP, ZYDIS_REGISTER_RBP, ZYDIS_REGISTER_RSI, ZYDIS_REGISTER_RDI,
		ZYDIS_REGISTER_R8,  ZYDIS_REGISTER_R9,  ZYDIS_REGISTER_R10, ZYDIS_REGISTER_R11,
		ZYDIS_REGISTER_R12, ZYDIS_REGISTER_R13, ZYDIS_REGISTER_R14, ZYDIS_REGISTER_R15};
	for (size_t i = 0; i < HD_ARRAY_SIZE(regs64); i++) {
		ctx.values[regs64[i]] = *gpr(r, regs64[i]);
		ZydisRegister r32 = (ZydisRegister)(ZYDIS_REGISTER_EAX + (int)i);
		ctx.values[r32] = (uint32_t)*gpr(r, regs64[i]);
	}
	ctx.values[ZYDIS_REGISTER_RIP] = addr + in->length;
	uint64_t ea;
	if (!ZYAN_SUCCESS(ZydisCalcAbsoluteAddressEx(in, op, addr, &ctx, &ea)))
		return -HD_E_DECODE;
	uint64_t v = 0;
	TRY(target_mem_read(t, ea, &v, op->size / 8 <= 8 ? op->size / 8 : 8));
	*dest = v;
	return 0;
}

static int emulate(struct target *t, struct bp *b, struct user_regs_struct *r)
{
	ZydisDecodedInstruction in;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	uint64_t addr = b->addr, next = b->addr + b->len, dest = 0;
	TRY(decode(b->insn, b->len, &in, ops));
	if (in.mnemonic == ZYDIS_MNEMONIC_CALL) {
		TRY(call_target(t, &in, &ops[0], addr, r, &dest));
		uint64_t sp = r->rsp - 8;
		TRY(target_mem_write(t, sp, &next, 8));
		r->rsp = sp;
		r->rip = dest;
		return 0;
	}
	if (!ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&in, &ops[0], addr, &dest)))
		return -HD_E_DECODE;
	bool taken;
	if (in.mnemonic == ZYDIS_MNEMONIC_JMP)
		taken = true;
	else if (in.mnemonic == ZYDIS_MNEMONIC_LOOP || in.mnemonic == ZYDIS_MNEMONIC_LOOPE ||
		 in.mnemonic == ZYDIS_MNEMONIC_LOOPNE || in.mnemonic == ZYDIS_MNEMONIC_JRCXZ ||
		 in.mnemonic == ZYDIS_MNEMONIC_JECXZ)
		taken = count_branch(&in, r);
	else
		taken = jcc_taken(in.mnemonic, r->eflags);
	r->rip = taken ? dest : next;
	return 0;
}

/* ---- stepping over a breakpoint ---- */

/* If `th` sits at an armed breakpoint (for a resume: the one whose hit it
 * reported), set it up to execute the displaced instruction out of line:
 * emulate it (*emulated = true when `emulated` is given) or point rip at
 * the copy. */
int bp_step_over(struct target *t, struct thread *th, bool *emulated)
{
	TRY(th_regs(t, th));
	uint64_t rip = th->regs.rip;
	struct bp *b = bp_find(t, rip);
	if (!b || b->refs == 0)
		return 0;
	if (!emulated && th->bp_hit != rip)
		return 0;
	if (!b->ool_ready) {
		TRY(bp_prepare(t, rip));
		b = bp_find(t, rip);
	}
	if (b->kind == OOL_EMU) {
		TRY(emulate(t, b, &th->regs));
		if (emulated)
			*emulated = true;
	} else {
		th->regs.rip = b->slot;
	}
	th->regs_dirty = true;
	return 0;
}

int bp_resume_check(struct target *t, struct thread *th)
{
	if (th->bp_hit || !t->narmed || th->tid != t->cur || !th->stop_rip_set)
		return 0;
	TRY(th_regs(t, th));
	struct bp *b = bp_find(t, th->regs.rip);
	if (b && b->refs > 0 && th->regs.rip == th->stop_rip)
		th->bp_hit = th->regs.rip;
	return 0;
}

void bp_fixup_thread(struct target *t, struct thread *th)
{
	uint64_t rip = th->regs.rip;
	bool in = false;
	for (int i = 0; i < t->nchunk && !in; i++)
		in = rip >= t->chunks[i].base && rip < t->chunks[i].base + t->chunks[i].size;
	if (!in)
		return;
	for (int i = 0; i < t->nbp; i++) {
		struct bp *b = &t->bps[i];
		if (!b->ool_ready || b->kind != OOL_COPY)
			continue;
		/* A copy made only as a continuation (hardware breakpoint): back
		 * at addr the debug register would fire a second time. */
		if (b->stub_only && b->refs == 0)
			continue;
		if (rip == b->slot) {
			th->regs.rip = b->addr;
			th->bp_hit = b->addr;
		} else if (rip == b->slot + b->len) {
			th->regs.rip = b->addr + b->len;
		} else {
			continue;
		}
		th->regs_dirty = true;
		return;
	}
}

/* ---- public API ---- */

int target_bp_insert(struct target *t, uint64_t addr)
{
	if (t->gone)
		return -HD_E_EXITED;
	struct bp *b = bp_find(t, addr);
	if (b && b->refs > 0) {
		b->refs++;
		return 0;
	}
	uint8_t orig, cc = 0xcc;
	TRY(mem_raw_read(t, addr, &orig, 1));
	TRY(mem_raw_write(t, addr, &cc, 1));
	if (!b)
		b = bp_new(t, addr);
	else if (b->orig != orig)
		b->ool_ready = false;
	b->orig = orig;
	b->refs = 1;
	b->stub_only = false;
	t->narmed++;
	/* Prepare the out-of-line copy now if a thread can run the mmap; a
	 * failure here is retried at the first resume. */
	if (!b->ool_ready && th_any_stopped(t, t->cur)) {
		int rc = bp_prepare(t, addr);
		if (rc < 0)
			pr_debug("target: breakpoint 0x%llx: out-of-line copy: %s",
				 (unsigned long long)addr, hd_strerror(rc));
	}
	return 0;
}

int target_bp_remove(struct target *t, uint64_t addr)
{
	struct bp *b = bp_find(t, addr);
	if (!b || b->refs == 0)
		return -HD_E_NOTFOUND;
	if (--b->refs > 0)
		return 0;
	t->narmed--;
	int rc = t->gone ? 0 : mem_raw_write(t, addr, &b->orig, 1);
	/* Queued hits of it are dropped: those threads already sit at addr. */
	stop_drop(t, 0, TARGET_STOP_NONE, addr);
	return rc;
}

bool target_bp_at(const struct target *t, uint64_t addr)
{
	const struct bp *b = bp_find(t, addr);
	return b && b->refs > 0;
}

int bp_restore_all(struct target *t)
{
	int rc = 0;
	for (int i = 0; i < t->nbp; i++) {
		struct bp *b = &t->bps[i];
		if (b->refs <= 0)
			continue;
		int r = mem_raw_write(t, b->addr, &b->orig, 1);
		if (r < 0 && !rc)
			rc = r;
		b->refs = 0;
	}
	t->narmed = 0;
	return rc;
}

void bp_forget_all(struct target *t)
{
	t->nbp = 0;
	t->narmed = 0;
}

/* ---- continuation stubs (target_ool_stub) ---- */

#define EMU_STUB_SIZE 48

static size_t put_jmp_abs(uint8_t *p, uint64_t dest)
{
	static const uint8_t jmp_abs[6] = {0xff, 0x25, 0, 0, 0, 0};
	memcpy(p, jmp_abs, sizeof(jmp_abs));
	memcpy(p + 6, &dest, 8);
	return 14;
}

static bool uses_rsp(const ZydisDecodedOperand *op)
{
	ZydisRegister r = ZYDIS_REGISTER_NONE;
	if (op->type == ZYDIS_OPERAND_TYPE_REGISTER)
		r = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, op->reg.value);
	else if (op->type == ZYDIS_OPERAND_TYPE_MEMORY)
		return op->mem.base == ZYDIS_REGISTER_RSP || op->mem.index == ZYDIS_REGISTER_RSP ||
		       op->mem.base == ZYDIS_REGISTER_ESP || op->mem.index == ZYDIS_REGISTER_ESP;
	return r == ZYDIS_REGISTER_RSP;
}

/* A call: push addr+len (push imm32 sign-extends; the high half is then
 * written), then jump where the call would have gone: absolute for
 * `call rel32`, the same operand as `jmp r/m` (ModRM reg 2 -> 4) for an
 * indirect call, its rip-relative displacement re-based. */
static int emu_call(const struct bp *b, const ZydisDecodedInstruction *in,
		    const ZydisDecodedOperand *ops, uint64_t stub, uint8_t *code, size_t *n)
{
	uint64_t next = b->addr + b->len, dest;
	uint32_t lo = (uint32_t)next, hi = (uint32_t)(next >> 32);
	size_t k = 0;
	code[k++] = 0x68;
	memcpy(code + k, &lo, 4);
	k += 4;
	code[k++] = 0xc7;
	code[k++] = 0x44;
	code[k++] = 0x24;
	code[k++] = 0x04;
	memcpy(code + k, &hi, 4);
	k += 4;
	if (ops[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
		if (!ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(in, &ops[0], b->addr, &dest)))
			return -HD_E_DECODE;
		k += put_jmp_abs(code + k, dest);
		*n = k;
		return 0;
	}
	if (in->opcode != 0xff || !in->raw.modrm.offset || uses_rsp(&ops[0]))
		return -HD_E_UNSUPPORTED;
	memcpy(code + k, b->insn, b->len);
	code[k + in->raw.modrm.offset] = (uint8_t)((code[k + in->raw.modrm.offset] & ~0x38) | 0x20);
	if (is_rip_relative(in, ops)) {
		int64_t nd = in->raw.disp.value + (int64_t)(b->addr - (stub + k));
		if (nd < INT32_MIN || nd > INT32_MAX || in->raw.disp.size != 32)
			return -HD_E_RANGE;
		int32_t d32 = (int32_t)nd;
		memcpy(code + k + in->raw.disp.offset, &d32, 4);
	}
	*n = k + b->len;
	return 0;
}

/* jmp rel: one absolute jump. jcc, loop*, j*cxz: the same test as a short
 * branch over `jmp next` to `jmp dest`. */
static int emu_branch(const struct bp *b, const ZydisDecodedInstruction *in,
		      const ZydisDecodedOperand *ops, uint8_t *code, size_t *n)
{
	uint64_t next = b->addr + b->len, dest;
	size_t k = 0;
	if (!ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(in, &ops[0], b->addr, &dest)))
		return -HD_E_DECODE;
	if (in->mnemonic == ZYDIS_MNEMONIC_JMP) {
		*n = put_jmp_abs(code, dest);
		return 0;
	}
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_LOOP: case ZYDIS_MNEMONIC_LOOPE: case ZYDIS_MNEMONIC_LOOPNE:
	case ZYDIS_MNEMONIC_JRCXZ: case ZYDIS_MNEMONIC_JECXZ:
		/* only rel8 forms exist: keep the prefixes (0x67: ecx) and opcode */
		if (in->raw.imm[0].size != 8)
			return -HD_E_UNSUPPORTED;
		memcpy(code, b->insn, b->len - 1u);
		k = b->len - 1u;
		break;
	default:
		code[k++] = (uint8_t)(0x70 | (in->opcode & 0x0f));
		break;
	}
	code[k++] = 14; /* over the jmp to next */
	k += put_jmp_abs(code + k, next);
	k += put_jmp_abs(code + k, dest);
	*n = k;
	return 0;
}

static int build_emu_stub(struct target *t, const struct bp *b, uint64_t *out)
{
	ZydisDecodedInstruction in;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	uint8_t code[EMU_STUB_SIZE];
	uint64_t near = 0, stub;
	size_t n = 0;
	TRY(decode(b->insn, b->len, &in, ops));
	if (in.mnemonic == ZYDIS_MNEMONIC_CALL && is_rip_relative(&in, ops))
		near = b->addr + b->len + (uint64_t)in.raw.disp.value;
	TRY(target_scratch_alloc(t, near, EMU_STUB_SIZE, &stub));
	memset(code, 0xcc, sizeof(code));
	if (in.mnemonic == ZYDIS_MNEMONIC_CALL)
		TRY(emu_call(b, &in, ops, stub, code, &n));
	else
		TRY(emu_branch(b, &in, ops, code, &n));
	TRY(mem_raw_write(t, stub, code, n));
	*out = stub;
	return 0;
}

int target_ool_stub(struct target *t, uint64_t addr, uint64_t *stub)
{
	if (t->gone)
		return -HD_E_EXITED;
	struct bp *b = bp_find(t, addr);
	if (!b) {
		uint8_t orig;
		TRY(mem_raw_read(t, addr, &orig, 1));
		b = bp_new(t, addr);
		b->orig = orig;
		b->stub_only = true;
	}
	if (!b->ool_ready) {
		TRY(bp_prepare(t, addr));
		b = bp_find(t, addr);
	}
	if (b->kind == OOL_EMU && !b->slot) {
		uint64_t s;
		TRY(build_emu_stub(t, b, &s));
		b = bp_find(t, addr);
		b->slot = s;
	}
	*stub = b->slot;
	return 0;
}
