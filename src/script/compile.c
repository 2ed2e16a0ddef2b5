/*
** compile.c: AST -> bytecode, with v0.23's static types. Every value on
** the VM stack is 64 bits, normalised to its type (narrow integers sign-
** or zero-extended, float as its bit pattern). Types are known at compile
** time, so the generated code uses typed opcodes (DIVS/DIVU, SHRS/SHRU,
** LTS/LTU, FADD...) and explicit conversions.
*/
#include <errno.h>
#include <setjmp.h>
#include <string.h>

#include "script/format.h"
#include "script/internal.h"
#include "script/softfloat.h"

struct fixup {
	int at;
	struct func *fn;
};

struct loopctx {
	int brk;        /* patch list heads (-1 = empty) */
	int cont;
	bool is_for;
	struct loopctx *up;
};

struct cg {
	struct script_arena *a;
	uint32_t *code;
	int ncode, ccap;
	uint64_t *k;
	int nk, kcap;
	char *str;
	int nstr, scap;
	struct fixup *fix;
	int nfix, fcap;
	jmp_buf jb;
	int rc;
	struct script_diag *diag;
	const char *src;
	struct func *fn;
	struct loopctx *loop;
	int noemit;
	int barrier;            /* a jump target: no fusion across it */
	int last_ins, last_op;  /* the previous instruction (for fusion) */
};

static _Noreturn void cfail(struct cg *c, const struct node *n, const char *msg)
{
	const struct script_src *in = n ? n->in : NULL;
	script_diag_set(c->diag, in ? in->text : c->src, in ? in->name : NULL, n ? n->line : 1,
			n ? n->col : 1, msg);
	c->rc = -HD_E_PARSE;
	longjmp(c->jb, 1);
}

static void *grow(struct cg *c, void *p, int *cap, int need, size_t el)
{
	int ncap;
	void *np;

	if (need <= *cap)
		return p;
	ncap = *cap ? *cap * 2 : 256;
	while (ncap < need)
		ncap *= 2;
	np = script_arena_alloc(c->a, (size_t)ncap * el);
	if (p)
		memcpy(np, p, (size_t)*cap * el);
	*cap = ncap;
	return np;
}

static int emit(struct cg *c, enum script_op op, int32_t a)
{
	if (c->noemit)
		return 0;
	if (a < SCRIPT_A_MIN || a > SCRIPT_A_MAX)
		cfail(c, NULL, "Internal Error: Please split the expression to many smaller expressions.");
	/* LDL a; LDL b  ->  LDL2 a, b (unless the second is a jump target) */
	if (op == SOP_LDL && c->last_op == SOP_LDL && c->last_ins == c->ncode - 1 &&
	    c->barrier != c->ncode && a < 256 && SCRIPT_OPA(c->code[c->last_ins]) < 256) {
		int first = SCRIPT_OPA(c->code[c->last_ins]);
		c->code[c->last_ins] = SCRIPT_INS(SOP_LDL2, first | a << 8);
		c->last_op = SOP_LDL2;
		return c->last_ins;
	}
	c->code = grow(c, c->code, &c->ccap, c->ncode + 1, 4);
	c->code[c->ncode] = SCRIPT_INS(op, a);
	c->last_ins = c->ncode;
	c->last_op = op;
	return c->ncode++;
}

/* the current position as a jump target */
static int here(struct cg *c)
{
	c->barrier = c->ncode;
	return c->ncode;
}

static void emitw(struct cg *c, uint32_t w)
{
	if (c->noemit)
		return;
	c->code = grow(c, c->code, &c->ccap, c->ncode + 1, 4);
	c->code[c->ncode++] = w;
}

static void setA(struct cg *c, int at, int32_t a)
{
	c->code[at] = SCRIPT_INS(SCRIPT_OPC(c->code[at]), a);
}

/* patch lists are chained through the A operand of the jumps */
static int jlist_add(struct cg *c, int head, int at)
{
	if (c->noemit)
		return head;
	setA(c, at, head);
	return at;
}

static void jlist_patch(struct cg *c, int head, int target)
{
	while (head >= 0) {
		int nx = SCRIPT_OPA(c->code[head]);
		setA(c, head, target);
		head = nx;
	}
}

static void push_const(struct cg *c, uint64_t v)
{
	int64_t s = (int64_t)v;

	if (s >= SCRIPT_A_MIN && s <= SCRIPT_A_MAX) {
		emit(c, SOP_PUSHI, (int32_t)s);
		return;
	}
	if (c->noemit)
		return;
	for (int i = 0; i < c->nk; i++)
		if (c->k[i] == v) {
			emit(c, SOP_PUSHK, i);
			return;
		}
	c->k = grow(c, c->k, &c->kcap, c->nk + 1, 8);
	c->k[c->nk] = v;
	emit(c, SOP_PUSHK, c->nk++);
}

static int add_string(struct cg *c, const char *s, int len, int unit)
{
	int off;

	if (c->noemit)
		return 0;
	c->str = grow(c, c->str, &c->scap, c->nstr + len + 2 + 2, 1);
	off = c->nstr;
	memcpy(c->str + off, s, (size_t)len);
	memset(c->str + off + len, 0, (size_t)unit);
	c->nstr += len + unit;
	if (c->nstr & 1)
		c->str[c->nstr++] = 0;  /* keep wide strings 2-aligned */
	return off;
}

/* ---- types ---- */

static const struct ty *promote(const struct ty *t)
{
	switch (t->k) {
	case TY_BOOL: case TY_I8: case TY_I16: case TY_U8: case TY_U16:
		return TYS(TY_I32);
	default:
		return t;
	}
}

static const struct ty *common(const struct ty *l, const struct ty *r)
{
	if (l->k == TY_F64 || r->k == TY_F64)
		return TYS(TY_F64);
	if (l->k == TY_F32 || r->k == TY_F32)
		return TYS(TY_F32);
	if (l->k == TY_PTR || r->k == TY_PTR)
		return TYS(TY_U64);
	l = promote(l);
	r = promote(r);
	if (l->k == r->k)
		return l;
	{
		bool ls = script_ty_signed(l), rs = script_ty_signed(r);
		uint32_t lz = l->size, rz = r->size;
		if (ls == rs)
			return lz >= rz ? l : r;
		if (!ls && lz >= rz)
			return l;
		if (!rs && rz >= lz)
			return r;
		return ls ? l : r;
	}
}

static bool is_arith(const struct ty *t)
{
	return script_ty_isint(t) || script_ty_isfloat(t) || t->k == TY_PTR;
}

/* normalise a 64-bit integer result to type t */
static void narrow(struct cg *c, const struct ty *t)
{
	switch (t->k) {
	case TY_BOOL: emit(c, SOP_ZEXT, 1); break;
	case TY_I8: emit(c, SOP_SEXT, 8); break;
	case TY_I16: emit(c, SOP_SEXT, 16); break;
	case TY_I32: emit(c, SOP_SEXT, 32); break;
	case TY_U8: emit(c, SOP_ZEXT, 8); break;
	case TY_U16: emit(c, SOP_ZEXT, 16); break;
	case TY_U32: emit(c, SOP_ZEXT, 32); break;
	default: break;
	}
}

static int fkind(const struct ty *t)
{
	return t->k == TY_F32 ? 1 : 0;
}

static void convert(struct cg *c, const struct node *at, const struct ty *from,
		    const struct ty *to)
{
	if (to->k == TY_VOID || from == to)
		return;
	if (to->k == TY_STRUCT || to->k == TY_ARRAY || from->k == TY_STRUCT ||
	    from->k == TY_VOID)
		cfail(c, at, "Syntax Error: Invalid Syntax");
	if (script_ty_isfloat(to)) {
		if (script_ty_isfloat(from)) {
			if (from->k != to->k)
				emit(c, SOP_FCVT, to->k == TY_F32 ? 1 : 0);
		} else if (from->k == TY_PTR) {
			cfail(c, at, "Syntax Error: Invalid Syntax");
		} else {
			emit(c, script_ty_signed(promote(from)) ? SOP_ITOF : SOP_UTOF, fkind(to));
		}
		return;
	}
	if (script_ty_isfloat(from)) {
		if (to->k == TY_BOOL) {
			push_const(c, 0);
			emit(c, SOP_FEQ, fkind(from));
			emit(c, SOP_LNOT, 0);
			return;
		}
		emit(c, to->k == TY_U64 || to->k == TY_PTR ? SOP_FTOU : SOP_FTOI, fkind(from));
		narrow(c, to);
		return;
	}
	if (to->k == TY_BOOL) {
		emit(c, SOP_ZEXT, 1);
		return;
	}
	if (to->size < from->size || (to->size == from->size && to->k != from->k && to->size < 8))
		narrow(c, to);
}

/* conversion for an assignment into a typed destination */
static void assign_convert(struct cg *c, const struct node *at, const struct ty *from,
			   const struct ty *to, bool implicit_dest)
{
	if (from->k == TY_PTR && script_ty_isint(to) && !implicit_dest)
		cfail(c, at, "Syntax Error: Invalid Syntax");
	if (from->k == TY_VOID)
		cfail(c, at, "Syntax Error: Invalid Syntax");
	convert(c, at, from, to);
}

/* ---- expressions ---- */

enum lvk { LV_LOCAL, LV_GLOBAL, LV_REG, LV_MEM };
struct lv {
	enum lvk k;
	int idx;
	const struct ty *t;
	bool implicit;
};

static const struct ty *cexpr(struct cg *c, const struct node *n);
static void clvalue(struct cg *c, const struct node *n, struct lv *lv);

static const struct ty *ety(struct cg *c, const struct node *n)
{
	const struct ty *t;
	c->noemit++;
	t = cexpr(c, n);
	c->noemit--;
	return t;
}

static bool slot_scalar(const struct ty *t)
{
	return t->k != TY_ARRAY && t->k != TY_STRUCT;
}

static int load_mode(const struct ty *t, int func)
{
	int size = (int)t->size, sgn = script_ty_signed(t) ? 1 : 0;
	if (t->k == TY_BOOL)
		size = 1;
	return size | sgn << 4 | func << 8;
}

/* push the value of an lvalue (address already pushed for LV_MEM) */
static const struct ty *lv_load(struct cg *c, const struct lv *lv)
{
	const struct ty *t = lv->t;

	if (!slot_scalar(t)) {
		/* aggregates evaluate to their address */
		if (lv->k == LV_LOCAL)
			emit(c, SOP_LEAL, lv->idx);
		return t->k == TY_ARRAY ? script_ty_ptr(c->a, t->base) : t;
	}
	switch (lv->k) {
	case LV_LOCAL:
		emit(c, SOP_LDL, lv->idx);
		if (t->size < 8 && t->k != TY_F32)
			narrow(c, t);
		else if (t->k == TY_F32)
			emit(c, SOP_ZEXT, 32);
		break;
	case LV_GLOBAL: emit(c, SOP_LDG, lv->idx); break;
	case LV_REG: emit(c, SOP_LDR, lv->idx); break;
	case LV_MEM: emit(c, SOP_LOAD, load_mode(t, FN_TYPED_LOAD)); break;
	}
	return t;
}

static void lv_store(struct cg *c, const struct lv *lv)
{
	switch (lv->k) {
	case LV_LOCAL: emit(c, SOP_STL, lv->idx); break;
	case LV_GLOBAL: emit(c, SOP_STG, lv->idx); break;
	case LV_REG: emit(c, SOP_STR, lv->idx); break;
	case LV_MEM: emit(c, SOP_STORE, (int)(lv->t->k == TY_BOOL ? 1 : lv->t->size) | FN_TYPED_STORE << 8); break;
	}
}

/* turn an lvalue into an address on the stack */
static void lv_addr(struct cg *c, const struct node *at, const struct lv *lv)
{
	switch (lv->k) {
	case LV_LOCAL: emit(c, SOP_LEAL, lv->idx); break;
	case LV_GLOBAL: emit(c, SOP_LEAG, lv->idx); break;
	case LV_REG: (void)at; push_const(c, 0); break;  /* &@reg is 0 */
	case LV_MEM: break;
	}
}

static void clvalue(struct cg *c, const struct node *n, struct lv *lv)
{
	memset(lv, 0, sizeof(*lv));
	switch (n->k) {
	case N_VAR:
		lv->k = n->var->global ? LV_GLOBAL : LV_LOCAL;
		lv->idx = n->var->slot;
		lv->t = n->var->t;
		lv->implicit = n->var->implicit;
		return;
	case N_REG:
		lv->k = LV_REG;
		lv->idx = (int)n->v;
		lv->t = TYS(TY_I64);
		lv->implicit = true;
		return;
	case N_DEREF: {
		const struct ty *t = cexpr(c, n->a);
		lv->k = LV_MEM;
		if (t->k == TY_PTR) {
			if (t->base->k == TY_VOID)
				cfail(c, n, "Syntax Error: Invalid Syntax");
			lv->t = t->base;
		} else if (script_ty_isint(t)) {
			lv->t = TYS(TY_U64);
			lv->implicit = true;
		} else {
			cfail(c, n, "Syntax Error: Invalid Syntax");
		}
		return;
	}
	case N_INDEX: {
		const struct ty *bt = cexpr(c, n->a), *it;
		if (bt->k != TY_PTR || bt->base->k == TY_VOID)
			cfail(c, n, "Syntax Error: Invalid Syntax");
		it = cexpr(c, n->b);
		if (!script_ty_isint(it))
			cfail(c, n->b, "Syntax Error: Invalid Syntax");
		if (bt->base->size != 1) {
			push_const(c, bt->base->size);
			emit(c, SOP_MUL, 0);
		}
		emit(c, SOP_ADD, 0);
		lv->k = LV_MEM;
		lv->t = bt->base;
		return;
	}
	case N_MEMBER: {
		const struct ty *bt;
		const struct sdef *sd;
		if (n->op == T_DOT) {
			struct lv base;
			clvalue(c, n->a, &base);
			if (base.t->k != TY_STRUCT)
				cfail(c, n, "Syntax Error: Invalid Syntax");
			lv_addr(c, n, &base);
			bt = base.t;
		} else {
			const struct ty *pt = cexpr(c, n->a);
			if (pt->k != TY_PTR || pt->base->k != TY_STRUCT)
				cfail(c, n, "Syntax Error: Invalid Syntax");
			bt = pt->base;
		}
		sd = bt->sd;
		if (!sd->complete)
			cfail(c, n, "Incomplete struct type cannot be used by value");
		for (int i = 0; i < sd->nm; i++)
			if (!strcmp(sd->m[i].name, n->s)) {
				if (sd->m[i].off)
					emit(c, SOP_ADDI, (int32_t)sd->m[i].off);
				lv->k = LV_MEM;
				lv->t = sd->m[i].t;
				return;
			}
		cfail(c, n, "Syntax Error: Invalid Syntax");
	}
	default:
		cfail(c, n, "Syntax Error: Invalid Syntax");
	}
}

static const struct ty *cbin(struct cg *c, const struct node *at, int op,
			     const struct ty *lt, const struct node *r);

static const struct ty *ccompare(struct cg *c, const struct node *at, int op,
				 const struct ty *lt, const struct node *r)
{
	const struct ty *rt = ety(c, r), *ct;
	if (!is_arith(lt) || !is_arith(rt))
		cfail(c, at, "Syntax Error: Invalid Syntax");
	ct = common(lt, rt);
	convert(c, at, lt, ct);
	rt = cexpr(c, r);
	convert(c, at, rt, ct);
	if (script_ty_isfloat(ct)) {
		int k = fkind(ct);
		switch (op) {
		case T_EQ: emit(c, SOP_FEQ, k); break;
		case T_NE: emit(c, SOP_FEQ, k); emit(c, SOP_LNOT, 0); break;
		case T_LT: emit(c, SOP_FLT, k); break;
		case T_LE: emit(c, SOP_FLE, k); break;
		case T_GT: emit(c, SOP_FLT, k | 2); break;
		case T_GE: emit(c, SOP_FLE, k | 2); break;
		}
	} else {
		bool s = script_ty_signed(ct);
		switch (op) {
		case T_EQ: emit(c, SOP_EQ, 0); break;
		case T_NE: emit(c, SOP_NE, 0); break;
		case T_LT: emit(c, s ? SOP_LTS : SOP_LTU, 0); break;
		case T_LE: emit(c, s ? SOP_LES : SOP_LEU, 0); break;
		case T_GT: emit(c, s ? SOP_GTS : SOP_GTU, 0); break;
		case T_GE: emit(c, s ? SOP_GES : SOP_GEU, 0); break;
		}
	}
	return TYS(TY_I32);
}

/* left operand (type lt) is on the stack; compile `lt op r` */
static const struct ty *cbin(struct cg *c, const struct node *at, int op,
			     const struct ty *lt, const struct node *r)
{
	const struct ty *rt = ety(c, r), *ct;

	if (op == T_LT || op == T_GT || op == T_LE || op == T_GE || op == T_EQ || op == T_NE)
		return ccompare(c, at, op, lt, r);
	if (!is_arith(lt) || !is_arith(rt))
		cfail(c, at, "Syntax Error: Invalid Syntax");
	/* pointer arithmetic */
	if ((op == T_PLUS || op == T_MINUS) && (lt->k == TY_PTR || rt->k == TY_PTR)) {
		if (lt->k == TY_PTR && rt->k == TY_PTR) {
			uint32_t sz = lt->base->size ? lt->base->size : 1;
			if (op != T_MINUS)
				cfail(c, at, "Syntax Error: Invalid Syntax");
			cexpr(c, r);
			emit(c, SOP_SUB, 0);
			if (sz != 1) {
				push_const(c, sz);
				emit(c, SOP_DIVS, 0);
			}
			return TYS(TY_I64);
		}
		if (lt->k == TY_PTR) {
			uint32_t sz = lt->base->size ? lt->base->size : 1;
			if (script_ty_isfloat(rt))
				cfail(c, at, "Syntax Error: Invalid Syntax");
			cexpr(c, r);
			if (sz != 1) {
				push_const(c, sz);
				emit(c, SOP_MUL, 0);
			}
			emit(c, op == T_PLUS ? SOP_ADD : SOP_SUB, 0);
			return lt;
		}
		if (op == T_PLUS && script_ty_isint(lt)) {
			uint32_t sz = rt->base->size ? rt->base->size : 1;
			if (sz != 1) {
				push_const(c, sz);
				emit(c, SOP_MUL, 0);
			}
			cexpr(c, r);
			emit(c, SOP_ADD, 0);
			return rt;
		}
		cfail(c, at, "Syntax Error: Invalid Syntax");
	}
	if (op == T_SHL || op == T_SHR) {
		const struct ty *pt = lt->k == TY_PTR ? TYS(TY_U64) : promote(lt);
		if (script_ty_isfloat(lt) || script_ty_isfloat(rt))
			cfail(c, at, "Unsupported floating-point operation");
		convert(c, at, lt, pt);
		cexpr(c, r);
		if (op == T_SHL)
			emit(c, SOP_SHL, (int32_t)pt->size * 8);
		else
			emit(c, script_ty_signed(pt) ? SOP_SHRS : SOP_SHRU, (int32_t)pt->size * 8);
		narrow(c, pt);
		return pt;
	}
	ct = common(lt, rt);
	if (script_ty_isfloat(ct)) {
		int k = fkind(ct);
		enum script_op fop;
		switch (op) {
		case T_PLUS: fop = SOP_FADD; break;
		case T_MINUS: fop = SOP_FSUB; break;
		case T_STAR: fop = SOP_FMUL; break;
		case T_SLASH: fop = SOP_FDIV; break;
		default: cfail(c, at, "Unsupported floating-point operation");
		}
		convert(c, at, lt, ct);
		rt = cexpr(c, r);
		convert(c, at, rt, ct);
		emit(c, fop, k);
		return ct;
	}
	convert(c, at, lt, ct);
	rt = cexpr(c, r);
	convert(c, at, rt, ct);
	{
		bool s = script_ty_signed(ct);
		switch (op) {
		case T_PLUS: emit(c, SOP_ADD, 0); break;
		case T_MINUS: emit(c, SOP_SUB, 0); break;
		case T_STAR: emit(c, SOP_MUL, 0); break;
		case T_SLASH: emit(c, s ? SOP_DIVS : SOP_DIVU, 0); break;
		case T_PCT: emit(c, s ? SOP_MODS : SOP_MODU, 0); break;
		case T_AMP: emit(c, SOP_AND, 0); break;
		case T_PIPE: emit(c, SOP_OR, 0); break;
		case T_CARET: emit(c, SOP_XOR, 0); break;
		default: cfail(c, at, "Syntax Error: Invalid Syntax");
		}
	}
	narrow(c, ct);
	return ct;
}

/* jump to a patch list when the condition equals `when` */
static int cjump(struct cg *c, const struct node *n, bool when, int list);

/* slot of a 64-bit integer local usable by the fused instructions, or -1 */
static int fast_local(const struct node *n)
{
	if (n->k == N_VAR && n->var && !n->var->global && n->var->slot < 256 &&
	    (n->var->t->k == TY_U64 || n->var->t->k == TY_I64))
		return n->var->slot;
	return -1;
}

static bool small_imm(const struct node *n, int bits)
{
	int64_t v = (int64_t)n->v;
	return n->k == N_NUM && v >= -((int64_t)1 << (bits - 1)) && v < ((int64_t)1 << (bits - 1));
}

static int cmp_kind(int op, bool s)
{
	switch (op) {
	case T_EQ: return SCMP_EQ;
	case T_NE: return SCMP_NE;
	case T_LT: return s ? SCMP_LTS : SCMP_LTU;
	case T_LE: return s ? SCMP_LES : SCMP_LEU;
	case T_GT: return s ? SCMP_GTS : SCMP_GTU;
	default: return s ? SCMP_GES : SCMP_GEU;
	}
}

/* local <op> immediate / local: one fused compare-and-jump, or -2 */
static int cjump_fast(struct cg *c, const struct node *n, int op, int list)
{
	int la = fast_local(n->a), lb = fast_local(n->b), at;
	const struct ty *rt;
	bool s;

	if (la < 0 || (lb < 0 && !small_imm(n->b, 20)))
		return -2;
	rt = lb >= 0 ? n->b->var->t : (n->b->t ? n->b->t : TYS(TY_I64));
	if (!script_ty_isint(rt) || rt->size != 8)
		return -2;
	s = script_ty_signed(common(n->a->var->t, rt));
	if (lb >= 0) {
		at = emit(c, SOP_JCLL, 0);
		emitw(c, (uint32_t)la | (uint32_t)lb << 8 | (uint32_t)cmp_kind(op, s) << 16);
	} else {
		at = emit(c, SOP_JCLI, 0);
		emitw(c, (uint32_t)la | (uint32_t)cmp_kind(op, s) << 8 | (uint32_t)n->b->v << 12);
	}
	return jlist_add(c, list, at);
}

static void cond_value(struct cg *c, const struct node *n)
{
	const struct ty *t = cexpr(c, n);
	if (script_ty_isfloat(t)) {
		push_const(c, 0);
		emit(c, SOP_FEQ, fkind(t));
		emit(c, SOP_LNOT, 0);
	} else if (!is_arith(t)) {
		cfail(c, n, "Syntax Error: Invalid Syntax");
	}
}

static int cjump(struct cg *c, const struct node *n, bool when, int list)
{
	if (n->k == N_LAND || n->k == N_LOR) {
		bool is_and = n->k == N_LAND;
		if (is_and != when) {
			/* (a && b) false: a false or b false; (a || b) true: a or b */
			list = cjump(c, n->a, when, list);
			return cjump(c, n->b, when, list);
		}
		/* (a && b) true: skip if a false; (a || b) false: skip if a true */
		int skip = cjump(c, n->a, !when, -1);
		list = cjump(c, n->b, when, list);
		jlist_patch(c, skip, here(c));
		return list;
	}
	if (n->k == N_UN && n->op == T_BANG)
		return cjump(c, n->a, !when, list);
	if (n->k == N_BIN && (n->op == T_LT || n->op == T_GE || n->op == T_GT ||
			      n->op == T_LE || n->op == T_EQ || n->op == T_NE)) {
		const struct ty *lt = ety(c, n->a), *rt = ety(c, n->b), *ct;
		int fast, fop = n->op;
		if (!when)
			fop = fop == T_LT ? T_GE : fop == T_GE ? T_LT : fop == T_GT ? T_LE :
			      fop == T_LE ? T_GT : fop == T_EQ ? T_NE : T_EQ;
		if (!c->noemit && (fast = cjump_fast(c, n, fop, list)) != -2)
			return fast;
		if (is_arith(lt) && is_arith(rt) && !script_ty_isfloat(ct = common(lt, rt))) {
			bool s = script_ty_signed(ct);
			int op = n->op;
			enum script_op jop;
			cexpr(c, n->a);
			convert(c, n, lt, ct);
			cexpr(c, n->b);
			convert(c, n, rt, ct);
			if (!when) {    /* negate */
				op = op == T_LT ? T_GE : op == T_GE ? T_LT : op == T_GT ? T_LE :
				     op == T_LE ? T_GT : op == T_EQ ? T_NE : T_EQ;
			}
			if (n->b->k == N_NUM && n->b->v == 0 && (op == T_EQ || op == T_NE)) {
				/* x == 0 / x != 0: test the value itself */
				if (!c->noemit && c->ncode > 0 && c->barrier != c->ncode &&
				    c->code[c->ncode - 1] == SCRIPT_INS(SOP_PUSHI, 0)) {
					c->ncode--;     /* drop the PUSHI 0 */
					c->last_op = -1;
					return jlist_add(c, list, emit(c, op == T_EQ ? SOP_JZ : SOP_JNZ, 0));
				}
			}
			switch (op) {
			case T_LT: jop = s ? SOP_JLTS : SOP_JLTU; break;
			case T_GE: jop = s ? SOP_JGES : SOP_JGEU; break;
			case T_EQ: jop = SOP_JEQ; break;
			case T_NE: jop = SOP_JNE; break;
			case T_GT: jop = s ? SOP_JGTS : SOP_JGTU; break;
			default: jop = s ? SOP_JLES : SOP_JLEU; break;
			}
			return jlist_add(c, list, emit(c, jop, 0));
		}
	}
	cond_value(c, n);
	return jlist_add(c, list, emit(c, when ? SOP_JNZ : SOP_JZ, 0));
}

static const struct ty *cbuiltin(struct cg *c, const struct node *n)
{
	const struct script_builtin *b = &script_builtins[n->op];
	const struct node *arg = n->a;

	switch (b->func) {
	case FN_REFERENCE: {
		struct lv lv;
		clvalue(c, arg, &lv);
		lv_addr(c, arg, &lv);
		return script_ty_ptr(c->a, lv.t);
	}
	case FN_NEG: case FN_NOT: {
		const struct ty *t = cexpr(c, arg);
		if (!script_ty_isint(t) && t->k != TY_PTR)
			cfail(c, arg, "Syntax Error: Invalid Syntax");
		emit(c, b->func == FN_NEG ? SOP_NEG : SOP_BNOT, 0);
		return TYS(TY_I64);
	}
	case FN_POI: case FN_DQ: case FN_DD: case FN_DW: case FN_DB: {
		const struct ty *t = cexpr(c, arg);
		int size = b->func == FN_DD ? 4 : b->func == FN_DW ? 2 : b->func == FN_DB ? 1 : 8;
		if (!script_ty_isint(t) && t->k != TY_PTR)
			cfail(c, arg, "Syntax Error: Invalid Syntax");
		emit(c, SOP_LOAD, size | b->func << 8);
		return TYS(TY_I64);
	}
	case FN_PRINT: {
		const struct ty *t = cexpr(c, arg);
		if (script_ty_isfloat(t))
			emit(c, SOP_FTOU, fkind(t));
		emit(c, SOP_PRINT, 0);
		return TYS(TY_VOID);
	}
	case FN_TEST_STATEMENT: {
		const struct ty *t = cexpr(c, arg);
		if (script_ty_isfloat(t))
			emit(c, SOP_FTOU, fkind(t));
		emit(c, SOP_TEST, 0);
		return TYS(TY_VOID);
	}
	case FN_MEMCPY: case FN_MEMCPY_PA:
		for (; arg; arg = arg->next) {
			const struct ty *t = cexpr(c, arg);
			if (!script_ty_isint(t) && t->k != TY_PTR)
				cfail(c, arg, "Syntax Error: Invalid Syntax");
		}
		emit(c, SOP_MEMCPY, b->func == FN_MEMCPY_PA);
		return TYS(TY_VOID);
	default:
		break;
	}
	for (; arg; arg = arg->next) {
		if (arg->k == N_STR || arg->k == N_WSTR) {
			int off = add_string(c, arg->s, arg->slen, arg->k == N_WSTR ? 2 : 1);
			emit(c, SOP_PUSHS, off);
		} else {
			const struct ty *t = cexpr(c, arg);
			if (!script_ty_isint(t) && t->k != TY_PTR)
				cfail(c, arg, "Syntax Error: Invalid Syntax");
		}
	}
	emit(c, SOP_CALLB, b->func);
	emitw(c, (uint32_t)n->n);
	return b->kind == BI_STMT ? TYS(TY_VOID) : TYS(TY_I64);
}

static bool same_shape(const struct ty *a, const struct ty *b)
{
	if (a->k != b->k)
		return false;
	if (a->k == TY_ARRAY)
		return a->n == b->n && same_shape(a->base, b->base);
	if (a->k == TY_PTR)
		return same_shape(a->base, b->base);
	if (a->k == TY_STRUCT)
		return a->sd == b->sd;
	return true;
}

static const struct ty *ccall(struct cg *c, const struct node *n)
{
	const struct node *arg = n->a;
	struct func *f = n->fn;
	int at;

	for (int i = 0; arg; arg = arg->next, i++) {
		const struct ty *pt = f->params[i]->t, *t = cexpr(c, arg);
		if (pt->k == TY_STRUCT) {
			/* by value: the struct's words become the parameter slots */
			if (t->k != TY_STRUCT || t->sd != pt->sd)
				cfail(c, arg, "Syntax Error: Invalid Syntax");
			emit(c, SOP_PUSHM, (int32_t)pt->size);
			continue;
		}
		/* a pointer-to-array parameter takes only that array shape */
		if (pt->k == TY_PTR && pt->base->k == TY_ARRAY &&
		    !(t->k == TY_PTR && same_shape(t->base, pt->base)))
			cfail(c, arg, "Syntax Error: Invalid Syntax");
		assign_convert(c, arg, t, pt, false);
	}
	at = emit(c, SOP_CALL, 0);
	if (!c->noemit) {
		c->fix = grow(c, c->fix, &c->fcap, c->nfix + 1, sizeof(*c->fix));
		c->fix[c->nfix].at = at;
		c->fix[c->nfix].fn = f;
		c->nfix++;
	}
	return f->ret;
}

static const struct ty *cunary(struct cg *c, const struct node *n)
{
	const struct ty *t = cexpr(c, n->a);

	if (n->op == T_BANG) {
		if (script_ty_isfloat(t)) {
			push_const(c, 0);
			emit(c, SOP_FEQ, fkind(t));
		} else if (is_arith(t)) {
			emit(c, SOP_LNOT, 0);
		} else {
			cfail(c, n, "Syntax Error: Invalid Syntax");
		}
		return TYS(TY_I32);
	}
	if (script_ty_isfloat(t)) {
		if (n->op == T_TILDE)
			cfail(c, n, "Unsupported floating-point operation");
		if (n->op == T_MINUS)
			emit(c, SOP_FNEG, fkind(t));
		return t;
	}
	if (!is_arith(t))
		cfail(c, n, "Syntax Error: Invalid Syntax");
	t = t->k == TY_PTR ? TYS(TY_U64) : promote(t);
	if (n->op == T_MINUS)
		emit(c, SOP_NEG, 0);
	else if (n->op == T_TILDE)
		emit(c, SOP_BNOT, 0);
	narrow(c, t);
	return t;
}

static const struct ty *cexpr(struct cg *c, const struct node *n)
{
	switch (n->k) {
	case N_NUM:
		push_const(c, n->v);
		return n->t ? n->t : TYS(TY_I64);
	case N_FLT:
		push_const(c, n->v);
		return TYS(TY_F64);
	case N_PSEUDO:
		emit(c, SOP_LDP, (int32_t)n->v);
		return TYS(TY_I64);
	case N_VAR: case N_REG: case N_INDEX: case N_MEMBER: case N_DEREF: {
		struct lv lv;
		clvalue(c, n, &lv);
		return lv_load(c, &lv);
	}
	case N_ADDR: {
		struct lv lv;
		if (n->a->k == N_DEREF) {
			const struct ty *t = cexpr(c, n->a->a);
			return t->k == TY_PTR ? t : script_ty_ptr(c->a, TYS(TY_U64));
		}
		clvalue(c, n->a, &lv);
		lv_addr(c, n, &lv);
		return script_ty_ptr(c->a, lv.t);
	}
	case N_UN:
		return cunary(c, n);
	case N_BIN: {
		const struct ty *lt = cexpr(c, n->a);
		return cbin(c, n, n->op, lt, n->b);
	}
	case N_LAND: case N_LOR: {
		int f = cjump(c, n, false, -1), end;
		emit(c, SOP_PUSHI, 1);
		end = emit(c, SOP_JMP, 0);
		jlist_patch(c, f, here(c));
		emit(c, SOP_PUSHI, 0);
		if (!c->noemit)
			setA(c, end, here(c));
		return TYS(TY_I32);
	}
	case N_CAST: {
		const struct ty *t = cexpr(c, n->a);
		if (n->t->k == TY_STRUCT || n->t->k == TY_ARRAY)
			cfail(c, n, "Syntax Error: Invalid Syntax");
		if (n->t->k == TY_VOID) {
			emit(c, SOP_POP, 0);
			push_const(c, 0);
			return n->t;
		}
		if (n->a->k == N_FLT && n->t->k == TY_F32) {
			uint32_t f = sf_f64_to_f32(n->a->v);
			if (sf_f32_isinf(f) || (sf_f32_iszero(f) && !sf_f64_iszero(n->a->v)))
				cfail(c, n->a, "Floating-point literal is out of range");
		}
		convert(c, n, t, n->t);
		return n->t;
	}
	case N_SIZEOF: {
		const struct ty *t = n->t;
		if (!t) {
			enum nkind k = n->a->k;
			if (k == N_VAR || k == N_INDEX || k == N_MEMBER || k == N_DEREF) {
				/* the object's own type: arrays do not decay */
				struct lv lv;
				c->noemit++;
				clvalue(c, n->a, &lv);
				c->noemit--;
				t = lv.t;
			} else {
				t = ety(c, n->a);
			}
		}
		if (t->k == TY_VOID)
			cfail(c, n, "Syntax Error: Invalid Syntax");
		if (t->k == TY_STRUCT && !t->sd->complete)
			cfail(c, n, "Incomplete struct type cannot be used by value");
		push_const(c, t->size);
		return TYS(TY_U64);
	}
	case N_CALL: {
		const struct ty *t = ccall(c, n);
		return t;
	}
	case N_BUILTIN:
		return cbuiltin(c, n);
	default:
		cfail(c, n, "Syntax Error: Invalid Syntax");
	}
}

/* ---- statements ---- */

static void cstmts(struct cg *c, const struct node *n);

static void check_f32_literal(struct cg *c, const struct node *e, const struct ty *to)
{
	const struct node *lit = e;
	if (lit->k == N_UN && (lit->op == T_MINUS || lit->op == T_PLUS))
		lit = lit->a;
	if (lit->k == N_FLT && to->k == TY_F32) {
		uint32_t f = sf_f64_to_f32(lit->v);
		if (sf_f32_isinf(f) || (sf_f32_iszero(f) && !sf_f64_iszero(lit->v)))
			cfail(c, lit, "Floating-point literal is out of range");
	}
}

static void store_value(struct cg *c, const struct node *at, const struct lv *lv,
			const struct node *e)
{
	const struct ty *t;

	if (lv->t->k == TY_STRUCT) {
		const struct ty *st = cexpr(c, e);
		if (st->k != TY_STRUCT || st->sd != lv->t->sd)
			cfail(c, at, "Syntax Error: Invalid Syntax");
		emit(c, SOP_COPY, (int32_t)lv->t->size);
		return;
	}
	if (lv->t->k == TY_ARRAY)
		cfail(c, at, "Syntax Error: Invalid Syntax");
	check_f32_literal(c, e, lv->t);
	t = cexpr(c, e);
	assign_convert(c, at, t, lv->t, lv->implicit);
	lv_store(c, lv);
}

/* x = a op b, x = x +- imm, x op= y on 64-bit integer locals: one
 * instruction. @return true if emitted. */
static bool cassign_fast(struct cg *c, const struct node *n)
{
	static const struct { int op, aop; enum script_op o3; } ops[] = {
		{T_PLUS, T_ADDEQ, SOP_ADD3}, {T_MINUS, T_SUBEQ, SOP_SUB3},
		{T_STAR, T_MULEQ, SOP_MUL3}, {T_AMP, T_ANDEQ, SOP_AND3},
		{T_PIPE, T_OREQ, SOP_OR3}, {T_CARET, T_XOREQ, SOP_XOR3},
	};
	int d = fast_local(n->a), a = -1, op = 0;
	const struct node *rhs;

	if (d < 0 || c->noemit)
		return false;
	if (n->op == T_ASSIGN) {
		if (n->b->k != N_BIN)
			return false;
		a = fast_local(n->b->a);
		op = n->b->op;
		rhs = n->b->b;
	} else {
		a = d;
		rhs = n->b;
		for (size_t i = 0; i < HD_ARRAY_SIZE(ops); i++)
			if (ops[i].aop == n->op)
				op = ops[i].op;
	}
	if (a < 0)
		return false;
	if (a == d && (op == T_PLUS || op == T_MINUS) && small_imm(rhs, 32) && !rhs->t) {
		emit(c, SOP_INCL, d);
		emitw(c, (uint32_t)(op == T_PLUS ? rhs->v : 0 - rhs->v));
		return true;
	}
	if (fast_local(rhs) < 0)
		return false;
	for (size_t i = 0; i < HD_ARRAY_SIZE(ops); i++)
		if (ops[i].op == op) {
			emit(c, ops[i].o3, d | a << 8 | fast_local(rhs) << 16);
			return true;
		}
	return false;
}

static void cassign(struct cg *c, const struct node *n)
{
	struct lv lv;

	if (cassign_fast(c, n))
		return;

	clvalue(c, n->a, &lv);
	if (lv.t->k == TY_STRUCT && n->op == T_ASSIGN) {
		lv_addr(c, n, &lv);
		store_value(c, n, &lv, n->b);
		return;
	}
	if (n->op == T_ASSIGN) {
		store_value(c, n, &lv, n->b);
		return;
	}
	{
		static const struct { int aop, op; } map[] = {
			{T_ADDEQ, T_PLUS}, {T_SUBEQ, T_MINUS}, {T_MULEQ, T_STAR},
			{T_DIVEQ, T_SLASH}, {T_MODEQ, T_PCT}, {T_SHLEQ, T_SHL},
			{T_SHREQ, T_SHR}, {T_ANDEQ, T_AMP}, {T_OREQ, T_PIPE},
			{T_XOREQ, T_CARET},
		};
		int op = 0;
		const struct ty *t;
		for (size_t i = 0; i < HD_ARRAY_SIZE(map); i++)
			if (map[i].aop == n->op)
				op = map[i].op;
		if (lv.k == LV_MEM)
			emit(c, SOP_DUP, 0);
		t = lv_load(c, &lv);
		t = cbin(c, n, op, t, n->b);
		assign_convert(c, n, t, lv.t, true);
		lv_store(c, &lv);
	}
}

static void cincdec(struct cg *c, const struct node *n)
{
	struct lv lv;
	struct node one = {0};

	clvalue(c, n->a, &lv);
	if (lv.k == LV_LOCAL && (lv.t->k == TY_U64 || lv.t->k == TY_I64)) {
		emit(c, SOP_INCL, lv.idx);
		emitw(c, n->op == T_INC ? 1u : (uint32_t)-1);
		return;
	}
	one.k = N_NUM;
	one.v = 1;
	one.line = n->line;
	one.col = n->col;
	if (lv.k == LV_MEM)
		emit(c, SOP_DUP, 0);
	{
		const struct ty *t = lv_load(c, &lv);
		t = cbin(c, n, n->op == T_INC ? T_PLUS : T_MINUS, t, &one);
		assign_convert(c, n, t, lv.t, true);
	}
	lv_store(c, &lv);
}

/* initialise `t` at local address (slot base) + off from an initializer */
static void cinit(struct cg *c, int slot, uint32_t off, const struct ty *t,
		  const struct node *init)
{
	if ((init->k == N_STR || init->k == N_WSTR) && t->k == TY_ARRAY) {
		/* char / wchar_t array from a string literal: the array was
		 * zero-filled, store the non-zero units that fit */
		uint32_t unit = t->base->size;
		for (uint32_t i = 0; i < t->n && i * unit < (uint32_t)init->slen; i++) {
			uint64_t v = (unsigned char)init->s[i * unit];
			if (unit == 2)
				v |= (uint64_t)(unsigned char)init->s[i * unit + 1] << 8;
			if (!v)
				continue;
			emit(c, SOP_LEAL, slot);
			emit(c, SOP_ADDI, (int32_t)(off + i * unit));
			push_const(c, v);
			emit(c, SOP_STORE, (int32_t)unit | FN_TYPED_STORE << 8);
		}
		return;
	}
	if (t->k == TY_ARRAY || t->k == TY_STRUCT) {
		const struct node *e = init->a;
		if (init->k != N_INITLIST)
			cfail(c, init, "Syntax Error: Invalid Syntax");
		if (t->k == TY_STRUCT) {
			for (int i = 0; e; e = e->next, i++) {
				if (i >= t->sd->nm)
					cfail(c, e, "Syntax Error: Invalid Syntax");
				cinit(c, slot, off + t->sd->m[i].off, t->sd->m[i].t, e);
			}
			return;
		}
		/* arrays: a nested list initialises the next element; bare
		 * scalars fill the leaf elements in order (excess spills into
		 * the following rows, as HyperDbg does) */
		{
			const struct ty *leaf = t;
			uint32_t pos = 0, total, per;
			while (leaf->k == TY_ARRAY)
				leaf = leaf->base;
			total = t->size / leaf->size;
			per = t->base->size / leaf->size;
			for (; e; e = e->next) {
				if (e->k == N_INITLIST) {
					uint32_t el = (pos + per - 1) / per;
					if (el >= t->n)
						break;
					cinit(c, slot, off + el * t->base->size, t->base, e);
					pos = (el + 1) * per;
				} else {
					if (pos >= total)
						break;
					cinit(c, slot, off + pos * leaf->size, leaf, e);
					pos++;
				}
			}
		}
		return;
	}
	if (init->k == N_INITLIST)
		cfail(c, init, "Syntax Error: Invalid Syntax");
	emit(c, SOP_LEAL, slot);
	if (off)
		emit(c, SOP_ADDI, (int32_t)off);
	{
		struct lv lv = {LV_MEM, 0, t, false};
		store_value(c, init, &lv, init);
	}
}

static void cdecl(struct cg *c, const struct node *n)
{
	const struct var *v = n->var;
	const struct ty *t = v->t;

	if (t->k == TY_ARRAY || t->k == TY_STRUCT) {
		int slots = (int)((t->size + 7) / 8);
		for (int i = 0; i < slots; i++) {
			emit(c, SOP_PUSHI, 0);
			emit(c, SOP_STL, v->slot + i);
		}
		if (!n->b)
			return;
		if (t->k == TY_STRUCT && n->b->k != N_INITLIST) {
			struct lv lv = {LV_LOCAL, v->slot, t, false};
			lv_addr(c, n, &lv);
			store_value(c, n, &lv, n->b);
			return;
		}
		cinit(c, v->slot, 0, t, n->b);
		return;
	}
	if (!n->b) {            /* struct pointer without initializer */
		emit(c, SOP_PUSHI, 0);
		emit(c, SOP_STL, v->slot);
		return;
	}
	{
		struct lv lv = {LV_LOCAL, v->slot, t, false};
		store_value(c, n, &lv, n->b);
	}
}

static void cprintf(struct cg *c, const struct node *n)
{
	enum script_fmt_kind kinds[64];
	int nk = script_format_kinds(n->s, kinds, 64);
	const struct node *arg = n->a;
	int off;

	for (int i = 0; arg; arg = arg->next, i++) {
		const struct ty *t = ety(c, arg);
		bool f = script_ty_isfloat(t);
		if (i < nk && i < 64 && (f != (kinds[i] == SCRIPT_FMT_FLOAT))) {
			emit(c, SOP_ERR, FN_PRINTF);
			return;
		}
		if (!is_arith(t))
			cfail(c, arg, "Syntax Error: Invalid Syntax");
	}
	for (arg = n->a; arg; arg = arg->next) {
		const struct ty *t = cexpr(c, arg);
		if (t->k == TY_F32)
			emit(c, SOP_FCVT, 0);
	}
	off = add_string(c, n->s, n->slen, 1);
	emit(c, SOP_PRINTF, off);
	emitw(c, (uint32_t)n->n);
}

static void cloop_end(struct cg *c, struct loopctx *lc, int cont_target, int exit_target)
{
	jlist_patch(c, lc->cont, cont_target);
	jlist_patch(c, lc->brk, exit_target);
	c->loop = lc->up;
}

static void cstmt(struct cg *c, const struct node *n)
{
	switch (n->k) {
	case N_ASSIGN:
		cassign(c, n);
		break;
	case N_INCDEC:
		cincdec(c, n);
		break;
	case N_EXPRSTMT: {
		const struct ty *t = cexpr(c, n->a);
		if (n->op == 1) {       /* script_eval_expr: report the value */
			if (script_ty_isfloat(t))
				emit(c, SOP_FTOU, fkind(t));
			emit(c, SOP_TEST, 0);
		} else if (t->k != TY_VOID || n->a->k == N_CALL ||
			   (n->a->k == N_BUILTIN && script_builtins[n->a->op].func != FN_PRINT &&
			    script_builtins[n->a->op].func != FN_TEST_STATEMENT &&
			    script_builtins[n->a->op].func != FN_MEMCPY &&
			    script_builtins[n->a->op].func != FN_MEMCPY_PA)) {
			emit(c, SOP_POP, 0);
		}
		break;
	}
	case N_PRINTF:
		cprintf(c, n);
		break;
	case N_DECL:
		cdecl(c, n);
		break;
	case N_IF: {
		int f = cjump(c, n->a, false, -1);
		cstmts(c, n->b);
		if (n->c) {
			int end = emit(c, SOP_JMP, 0);
			jlist_patch(c, f, here(c));
			if (n->c->k == N_IF)
				cstmt(c, n->c);
			else
				cstmts(c, n->c);
			setA(c, end, here(c));
		} else {
			jlist_patch(c, f, here(c));
		}
		break;
	}
	case N_WHILE: case N_DO: case N_FOR: {
		struct loopctx lc = {-1, -1, n->k == N_FOR, c->loop};
		int top, cond_at, j = -1;
		if (n->k == N_FOR && n->a)
			cstmts(c, n->a);
		if (n->k != N_DO)
			j = emit(c, SOP_JMP, 0);
		top = here(c);
		c->loop = &lc;
		cstmts(c, n->k == N_FOR ? n->d : n->b);
		cond_at = here(c);
		if (n->k == N_FOR) {
			cstmts(c, n->c);
		}
		if (j >= 0)
			setA(c, j, here(c));
		{
			int t = cjump(c, n->k == N_FOR ? n->b : n->a, true, -1);
			jlist_patch(c, t, top);
		}
		cloop_end(c, &lc, cond_at, here(c));
		break;
	}
	case N_BREAK:
		c->loop->brk = jlist_add(c, c->loop->brk, emit(c, SOP_JMP, 0));
		break;
	case N_CONTINUE: {
		/* continues the innermost enclosing for loop (its step) */
		struct loopctx *lc = c->loop;
		while (!lc->is_for)
			lc = lc->up;
		lc->cont = jlist_add(c, lc->cont, emit(c, SOP_JMP, 0));
		break;
	}
	case N_RETURN:
		if (n->a) {
			const struct ty *t = cexpr(c, n->a);
			assign_convert(c, n, t, c->fn->ret, false);
		} else {
			emit(c, SOP_PUSHI, 0);
		}
		emit(c, SOP_RET, c->fn->np_slots);
		break;
	case N_NOP:
		break;
	default:
		cfail(c, n, "Syntax Error: Unhandled Semantic Rule");
	}
}

static void cstmts(struct cg *c, const struct node *n)
{
	for (; n; n = n->next)
		cstmt(c, n);
}

static void cfunc(struct cg *c, struct func *f)
{
	c->fn = f;
	f->pc = here(c);
	emit(c, SOP_ENTER, f->np_slots);
	emitw(c, (uint32_t)(f->nslots - f->np_slots - 2));
	cstmts(c, f->body);
	emit(c, SOP_PUSHI, 0);
	emit(c, SOP_RET, f->np_slots);
	c->fn = NULL;
}

static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

int script_codegen(const struct parse_result *pr, struct script_arena *a,
		   int nglobals, const char *src, struct script_bc **out,
		   size_t *outlen, struct script_diag *diag)
{
	struct cg cv, *c = &cv;
	struct script_bc *bc;
	size_t ksz, csz, ssz, total;
	char *p;

	memset(c, 0, sizeof(*c));
	c->a = a;
	c->diag = diag;
	c->src = src;
	a->oom = &c->jb;
	a->oom_rc = &c->rc;
	if (setjmp(c->jb)) {
		a->oom = NULL;
		if (c->rc == -ENOMEM)
			script_diag_set(diag, src, NULL, 1, 1, "Internal Error: out of memory");
		return c->rc;
	}
	emit(c, SOP_ENTER, 0);
	emitw(c, (uint32_t)(pr->main_slots - 2));
	cstmts(c, pr->body);
	emit(c, SOP_HALT, 0);
	for (struct func *f = pr->funcs; f; f = f->next)
		cfunc(c, f);
	for (int i = 0; i < c->nfix; i++)
		setA(c, c->fix[i].at, c->fix[i].fn->pc);
	if (!c->nstr)
		add_string(c, "", 0, 1);
	ksz = (size_t)c->nk * 8;
	csz = align8((size_t)c->ncode * 4);
	ssz = align8((size_t)c->nstr);
	total = align8(sizeof(*bc)) + ksz + csz + ssz;
	a->oom = NULL;
	bc = a->alloc(a->ud, NULL, 0, total);
	if (!bc) {
		script_diag_set(diag, src, NULL, 1, 1, "Internal Error: out of memory");
		return -ENOMEM;
	}
	memset(bc, 0, total);
	bc->magic = SCRIPT_BC_MAGIC;
	bc->version = SCRIPT_BC_VERSION;
	bc->size = (uint32_t)total;
	bc->k_off = (uint32_t)align8(sizeof(*bc));
	bc->nk = (uint32_t)c->nk;
	bc->code_off = (uint32_t)(bc->k_off + ksz);
	bc->ncode = (uint32_t)c->ncode;
	bc->str_off = (uint32_t)(bc->code_off + csz);
	bc->nstr = (uint32_t)c->nstr;
	bc->nglobals = (uint32_t)nglobals;
	p = (char *)bc;
	if (ksz)
		memcpy(p + bc->k_off, c->k, ksz);
	memcpy(p + bc->code_off, c->code, (size_t)c->ncode * 4);
	memcpy(p + bc->str_off, c->str, (size_t)c->nstr);
	*out = bc;
	*outlen = total;
	return 0;
}
