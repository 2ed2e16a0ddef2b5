/*
** verify.c: the bytecode verifier. Checks the blob header, every operand
** (constant, string, local, global, register ids; jump targets inside the
** same function) and computes the operand-stack depth of every instruction
** along every path (QuickJS compute_stack_size): depths must agree where
** paths meet and never go below zero. The maximum depth of each function
** is stored into (fill) or checked against (verify) its ENTER operand.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "script/internal.h"

#define OPINFO(name, extra, pops, pushes, doc) {#name, extra, pops, pushes, doc},
const struct script_opinfo script_opinfo[SOP__COUNT] = {
#define OP OPINFO
#include "script/opcodes.def"
#undef OP
};

struct vstate {
	const struct script_bc *bc;
	uint32_t *code;
	int n;
	int *depth;             /* -1 = not reached */
	int *work;              /* pending branch targets (each pushed once) */
	char *msg;
	size_t msglen;
};

static int vfail(struct vstate *v, int pc, const char *what)
{
	if (v->msg)
		snprintf(v->msg, v->msglen, "invalid bytecode at %d: %s", pc, what);
	return -HD_E_RUNTIME;
}

static bool is_jump(int op)
{
	return op == SOP_JMP || op == SOP_JZ || op == SOP_JNZ || (op >= SOP_JLTS && op <= SOP_JNE) ||
	       op == SOP_JCLI || op == SOP_JCLL;
}

/* operand checks of one instruction; CALL/CALLB set their stack effect */
static int check_operands(struct vstate *v, int pc, int lo, int np, uint32_t frame,
			  int *pops, int *pushes)
{
	uint32_t w = v->code[pc];
	int op = SCRIPT_OPC(w), a = SCRIPT_OPA(w);

	switch (op) {
	case SOP_PUSHK: if (a < 0 || (uint32_t)a >= v->bc->nk) return vfail(v, pc, "constant"); break;
	case SOP_PUSHS: case SOP_PRINTF:
		if (a < 0 || (uint32_t)a >= v->bc->nstr) return vfail(v, pc, "string");
		break;
	case SOP_LDL: case SOP_STL: case SOP_LEAL: case SOP_INCL:
		if (a < 0 || (uint32_t)a >= frame) return vfail(v, pc, "local slot");
		break;
	case SOP_LDL2:
		if ((uint32_t)(a & 255) >= frame || (uint32_t)((a >> 8) & 255) >= frame ||
		    (a >> 16))
			return vfail(v, pc, "local slot");
		break;
	case SOP_ADD3: case SOP_SUB3: case SOP_MUL3: case SOP_AND3:
	case SOP_OR3: case SOP_XOR3:
		if (a < 0 || (uint32_t)(a & 255) >= frame ||
		    (uint32_t)((a >> 8) & 255) >= frame || (uint32_t)((a >> 16) & 255) >= frame)
			return vfail(v, pc, "local slot");
		break;
	case SOP_JCLI: {
		uint32_t bw = v->code[pc + 1];
		if ((bw & 255) >= frame || ((bw >> 8) & 15) > SCMP_GEU)
			return vfail(v, pc, "compare operands");
		break;
	}
	case SOP_JCLL: {
		uint32_t bw = v->code[pc + 1];
		if ((bw & 255) >= frame || ((bw >> 8) & 255) >= frame ||
		    ((bw >> 16) & 15) > SCMP_GEU || (bw >> 20))
			return vfail(v, pc, "compare operands");
		break;
	}
	case SOP_LDG: case SOP_STG: case SOP_LEAG:
		if (a < 0 || a >= SCRIPT_MAX_GLOBALS) return vfail(v, pc, "global slot");
		break;
	case SOP_LDR: case SOP_STR: if (a < 0 || a >= SCRIPT_NREGS) return vfail(v, pc, "register"); break;
	case SOP_LDP: if (a < 0 || a > 15) return vfail(v, pc, "pseudo-register"); break;
	case SOP_LOAD: case SOP_STORE: {
		int sz = a & 15;
		if (sz != 1 && sz != 2 && sz != 4 && sz != 8) return vfail(v, pc, "access size");
		break;
	}
	case SOP_SHL: case SOP_SHRS: case SOP_SHRU:
		if (a != 32 && a != 64) return vfail(v, pc, "shift width");
		break;
	case SOP_SEXT: if (a != 8 && a != 16 && a != 32) return vfail(v, pc, "extension"); break;
	case SOP_ZEXT: if (a != 1 && a != 8 && a != 16 && a != 32) return vfail(v, pc, "extension"); break;
	case SOP_ENTER: if (pc != lo) return vfail(v, pc, "ENTER inside a function"); break;
	case SOP_RET: if (a != np || lo == 0) return vfail(v, pc, "RET"); break;
	case SOP_CALL: {
		if (a < 0 || a >= v->n || SCRIPT_OPC(v->code[a]) != SOP_ENTER || a == 0)
			return vfail(v, pc, "call target");
		*pops = SCRIPT_OPA(v->code[a]);
		*pushes = 1;
		break;
	}
	case SOP_CALLB: *pops = (int)v->code[pc + 1]; if (*pops > 3) return vfail(v, pc, "arguments"); break;
	case SOP_COPY: if (a < 0) return vfail(v, pc, "size"); break;
	case SOP_PUSHM:
		if (a <= 0 || a > 0x800)
			return vfail(v, pc, "size");
		*pushes = (a + 7) / 8;
		break;
	default: break;
	}
	return 0;
}

/* function [lo, hi) starting with ENTER at lo: verify and compute depth */
static int verify_func(struct vstate *v, int lo, int hi, bool fill)
{
	int *stack = v->work, nst = 0, maxd = 0;
	int np = SCRIPT_OPA(v->code[lo]);
	uint32_t frame = (uint32_t)np + 2 + (v->code[lo + 1] & 0xffff);

	for (int i = lo; i < hi; i++)
		v->depth[i] = -1;
	v->depth[lo] = 0;
	stack[nst++] = lo;
	while (nst) {
		int pc = stack[--nst], d = v->depth[pc];
		for (;;) {
			uint32_t w = v->code[pc];
			int op = SCRIPT_OPC(w), a = SCRIPT_OPA(w), pops, pushes, nx;
			const struct script_opinfo *oi;

			if (op >= SOP__COUNT)
				return vfail(v, pc, "unknown opcode");
			oi = &script_opinfo[op];
			nx = pc + 1 + oi->extra;
			if (nx > hi)
				return vfail(v, pc, "truncated instruction");
			pops = oi->pops;
			pushes = oi->pushes;
			{
				int rc = check_operands(v, pc, lo, np, frame, &pops, &pushes);
				if (rc)
					return rc;
			}
			if (op == SOP_PRINTF) {
				pops = (int)v->code[pc + 1];
				if (pops > 64)
					return vfail(v, pc, "arguments");
			}
			if (d < pops)
				return vfail(v, pc, "stack underflow");
			d = d - pops + pushes;
			if (d > maxd)
				maxd = d;
			if (op == SOP_HALT || op == SOP_RET || op == SOP_ERR)
				break;
			if (is_jump(op)) {
				if (a < lo || a >= hi)
					return vfail(v, pc, "jump target");
				if (v->depth[a] < 0) {
					v->depth[a] = d;
					stack[nst++] = a;       /* at most once per pc */
				} else if (v->depth[a] != d) {
					return vfail(v, pc, "stack depth mismatch");
				}
				if (op == SOP_JMP)
					break;
			}
			if (nx >= hi)
				return vfail(v, pc, "falls off the function");
			if (v->depth[nx] >= 0) {
				if (v->depth[nx] != d)
					return vfail(v, nx, "stack depth mismatch");
				break;
			}
			v->depth[nx] = d;
			pc = nx;
		}
	}
	if (maxd > SCRIPT_STACK_SLOTS)
		return vfail(v, lo, "stack too deep");
	if (fill) {
		v->code[lo + 1] = (v->code[lo + 1] & 0xffff) | (uint32_t)maxd << 16;
	} else if ((int)(v->code[lo + 1] >> 16) < maxd) {
		return vfail(v, lo, "declared stack size too small");
	}
	return 0;
}

int script_verify_ex(struct script_bc *bc, size_t len, bool fill, char *msg, size_t msglen,
		     script_alloc_fn alloc, void *ud)
{
	struct vstate v = {0};
	int rc = 0, lo;

	v.msg = msg;
	v.msglen = msglen;
	if (len < sizeof(*bc) || bc->magic != SCRIPT_BC_MAGIC || bc->version != SCRIPT_BC_VERSION ||
	    bc->size != len || bc->k_off % 8 || bc->code_off % 4 ||
	    (uint64_t)bc->k_off + (uint64_t)bc->nk * 8 > len ||
	    (uint64_t)bc->code_off + (uint64_t)bc->ncode * 4 > len ||
	    (uint64_t)bc->str_off + bc->nstr > len || bc->ncode < 3 || bc->nstr == 0 ||
	    ((const char *)bc)[bc->str_off + bc->nstr - 1] != 0 || bc->nglobals > SCRIPT_MAX_GLOBALS)
		return vfail(&v, -1, "bad header");
	v.bc = bc;
	v.code = (uint32_t *)(void *)((char *)bc + bc->code_off);
	v.n = (int)bc->ncode;
	if (SCRIPT_OPC(v.code[0]) != SOP_ENTER || SCRIPT_OPA(v.code[0]) != 0)
		return vfail(&v, 0, "no entry");
	v.depth = alloc(ud, NULL, 0, sizeof(int) * 2 * (size_t)v.n);
	if (!v.depth)
		return -ENOMEM;
	v.work = v.depth + v.n;
	/* functions are contiguous: each starts with ENTER, the next ENTER
	 * (at an instruction boundary) ends it */
	lo = 0;
	while (lo < v.n && rc == 0) {
		int hi = lo + 1 + script_opinfo[SOP_ENTER].extra;
		while (hi < v.n) {
			int op = SCRIPT_OPC(v.code[hi]);
			if (op >= SOP__COUNT) {
				rc = vfail(&v, hi, "unknown opcode");
				break;
			}
			if (op == SOP_ENTER)
				break;
			hi += 1 + script_opinfo[op].extra;
		}
		if (rc)
			break;
		if (hi > v.n) {
			rc = vfail(&v, lo, "truncated");
			break;
		}
		rc = verify_func(&v, lo, hi, fill);
		lo = hi;
	}
	alloc(ud, v.depth, sizeof(int) * 2 * (size_t)v.n, 0);
	return rc;
}

int script_verify(const struct script_bc *bc, size_t len, char *msg, size_t msglen)
{
	return script_verify_ex((struct script_bc *)(uintptr_t)bc, len, false, msg, msglen,
				script_default_alloc, NULL);
}

int script_bytecode_verify(const void *bc, size_t len, char *msg, size_t msglen)
{
	if (!bc || len < sizeof(struct script_bc) || ((uintptr_t)bc & 7))
		return vfail(&(struct vstate){.msg = msg, .msglen = msglen}, -1, "bad header");
	return script_verify(bc, len, msg, msglen);
}
