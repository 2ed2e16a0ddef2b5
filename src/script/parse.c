/*
** parse.c: hand-written recursive-descent parser producing the AST.
** Names are resolved while parsing, in text order, as HyperDbg does: a
** local or global must be assigned before it is read, a function defined
** before it is called. Two expression grammars: value expressions (no
** comparisons, stackable unary operators) and conditions (comparisons,
** && and ||, one unary operator per operand). Errors longjmp out.
*/
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "script/format.h"
#include "script/internal.h"

const struct script_builtin script_builtins[] = {
	{"poi", FN_POI, 1, BI_VALUE, "E"}, {"db", FN_DB, 1, BI_VALUE, "E"},
	{"dd", FN_DD, 1, BI_VALUE, "E"}, {"dw", FN_DW, 1, BI_VALUE, "E"},
	{"dq", FN_DQ, 1, BI_VALUE, "E"}, {"neg", FN_NEG, 1, BI_VALUE, "E"},
	{"hi", FN_HI, 1, BI_VALUE, "E"}, {"low", FN_LOW, 1, BI_VALUE, "E"},
	{"not", FN_NOT, 1, BI_VALUE, "E"},
	{"check_address", FN_CHECK_ADDRESS, 1, BI_VALUE, "E"},
	{"disassemble_len", FN_DISASSEMBLE_LEN, 1, BI_VALUE, "E"},
	{"disassemble_len32", FN_DISASSEMBLE_LEN32, 1, BI_VALUE, "E"},
	{"disassemble_len64", FN_DISASSEMBLE_LEN64, 1, BI_VALUE, "E"},
	{"interlocked_increment", FN_INTERLOCKED_INCREMENT, 1, BI_VALUE, "E"},
	{"interlocked_decrement", FN_INTERLOCKED_DECREMENT, 1, BI_VALUE, "E"},
	{"reference", FN_REFERENCE, 1, BI_VALUE, "E"},
	{"physical_to_virtual", FN_PHYSICAL_TO_VIRTUAL, 1, BI_VALUE, "E"},
	{"virtual_to_physical", FN_VIRTUAL_TO_PHYSICAL, 1, BI_VALUE, "E"},
	{"poi_pa", FN_POI_PA, 1, BI_VALUE, "E"}, {"hi_pa", FN_HI_PA, 1, BI_VALUE, "E"},
	{"low_pa", FN_LOW_PA, 1, BI_VALUE, "E"}, {"db_pa", FN_DB_PA, 1, BI_VALUE, "E"},
	{"dd_pa", FN_DD_PA, 1, BI_VALUE, "E"}, {"dw_pa", FN_DW_PA, 1, BI_VALUE, "E"},
	{"dq_pa", FN_DQ_PA, 1, BI_VALUE, "E"},
	{"lbr_restore_by_filter", FN_LBR_RESTORE_BY_FILTER, 1, BI_VALUE, "E"},
	{"ed", FN_ED, 2, BI_VALUE, "EE"}, {"eb", FN_EB, 2, BI_VALUE, "EE"},
	{"eq", FN_EQ, 2, BI_VALUE, "EE"},
	{"interlocked_exchange", FN_INTERLOCKED_EXCHANGE, 2, BI_VALUE, "EE"},
	{"interlocked_exchange_add", FN_INTERLOCKED_EXCHANGE_ADD, 2, BI_VALUE, "EE"},
	{"eb_pa", FN_EB_PA, 2, BI_VALUE, "EE"}, {"ed_pa", FN_ED_PA, 2, BI_VALUE, "EE"},
	{"eq_pa", FN_EQ_PA, 2, BI_VALUE, "EE"},
	{"interlocked_compare_exchange", FN_INTERLOCKED_COMPARE_EXCHANGE, 3, BI_VALUE, "EEE"},
	{"strlen", FN_STRLEN, 1, BI_STR, "S"}, {"strcmp", FN_STRCMP, 2, BI_STR, "SS"},
	{"memcmp", FN_MEMCMP, 3, BI_STR, "SSE"}, {"strncmp", FN_STRNCMP, 3, BI_STR, "SSE"},
	{"wcslen", FN_WCSLEN, 1, BI_STR, "W"}, {"wcscmp", FN_WCSCMP, 2, BI_STR, "WW"},
	{"wcsncmp", FN_WCSNCMP, 3, BI_STR, "WWE"},
	{"rdtsc", FN_RDTSC, 0, BI_VALUE, ""}, {"rdtscp", FN_RDTSCP, 0, BI_VALUE, ""},
	{"lbr_save", FN_LBR_SAVE, 0, BI_VALUE, ""}, {"lbr_dump", FN_LBR_DUMP, 0, BI_VALUE, ""},
	{"lbr_print", FN_LBR_PRINT, 0, BI_VALUE, ""},
	{"lbr_restore", FN_LBR_RESTORE, 0, BI_VALUE, ""},
	{"lbr_check", FN_LBR_CHECK, 0, BI_VALUE, ""},
	{"pause", FN_PAUSE, 0, BI_STMT, ""}, {"flush", FN_FLUSH, 0, BI_STMT, ""},
	{"event_trace_step", FN_EVENT_TRACE_STEP, 0, BI_STMT, ""},
	{"event_trace_step_in", FN_EVENT_TRACE_STEP_IN, 0, BI_STMT, ""},
	{"event_trace_step_out", FN_EVENT_TRACE_STEP_OUT, 0, BI_STMT, ""},
	{"event_trace_instrumentation_step", FN_EVENT_TRACE_INSTRUMENTATION_STEP, 0, BI_STMT, ""},
	{"event_trace_instrumentation_step_in", FN_EVENT_TRACE_INSTRUMENTATION_STEP_IN, 0, BI_STMT, ""},
	{"print", FN_PRINT, 1, BI_STMT, "E"}, {"formats", FN_FORMATS, 1, BI_STMT, "E"},
	{"event_enable", FN_EVENT_ENABLE, 1, BI_STMT, "E"},
	{"event_disable", FN_EVENT_DISABLE, 1, BI_STMT, "E"},
	{"event_clear", FN_EVENT_CLEAR, 1, BI_STMT, "E"},
	{"test_statement", FN_TEST_STATEMENT, 1, BI_STMT, "E"},
	{"spinlock_lock", FN_SPINLOCK_LOCK, 1, BI_STMT, "E"},
	{"spinlock_unlock", FN_SPINLOCK_UNLOCK, 1, BI_STMT, "E"},
	{"event_sc", FN_EVENT_SC, 1, BI_STMT, "E"},
	{"microsleep", FN_MICROSLEEP, 1, BI_STMT, "E"},
	{"spinlock_lock_custom_wait", FN_SPINLOCK_LOCK_CUSTOM_WAIT, 2, BI_STMT, "EE"},
	{"event_inject", FN_EVENT_INJECT, 2, BI_STMT, "EE"},
	{"event_inject_error_code", FN_EVENT_INJECT_ERROR_CODE, 3, BI_STMT, "EEE"},
	{"memcpy", FN_MEMCPY, 3, BI_STMT, "EEE"},
	{"memcpy_pa", FN_MEMCPY_PA, 3, BI_STMT, "EEE"},
	{"printf", FN_PRINTF, -1, BI_STMT, ""},
	{NULL, 0, 0, BI_VALUE, ""},
};

int script_builtin_find(const char *name, size_t len)
{
	for (int i = 0; script_builtins[i].name; i++)
		if (strlen(script_builtins[i].name) == len &&
		    !memcmp(script_builtins[i].name, name, len))
			return i;
	return -1;
}

#define MAX_INCLUDE 8

struct scope {
	struct var **v;
	int n, cap;
	int nslots;
	struct func *fn;        /* NULL: main */
};

struct tdef {
	const char *name;
	const struct ty *t;
	struct tdef *next;
};

struct parser {
	struct lexer lx[MAX_INCLUDE];
	int nlx;
	struct token tok;
	struct script_arena *a;
	struct script_diag *diag;
	const struct parse_opts *o;
	jmp_buf jb;
	int rc;
	struct scope main, *sc;
	struct func *funcs, *funcs_tail;
	struct sdef *structs;
	struct tdef *tdefs;
	int depth;
	int loops[64];
	int nloops;
};

static _Noreturn void fail_at(struct parser *P, const struct token *t, const char *msg, int rc)
{
	const struct script_src *in = t->in ? t->in : P->lx[P->nlx - 1].in;
	script_diag_set(P->diag, in ? in->text : P->lx[0].src, in ? in->name : NULL, t->line,
			t->col, msg);
	P->rc = rc;
	longjmp(P->jb, 1);
}

static _Noreturn void fail(struct parser *P, const char *msg)
{
	fail_at(P, &P->tok, msg, -HD_E_PARSE);
}

static _Noreturn void syntax(struct parser *P)
{
	fail(P, "Syntax Error: Invalid Syntax");
}

static void next(struct parser *P)
{
	for (;;) {
		struct lexer *lx = &P->lx[P->nlx - 1];
		if (script_lex_next(lx, &P->tok) < 0) {
			P->rc = -HD_E_PARSE;
			longjmp(P->jb, 1);
		}
		if (P->tok.k == T_REG && P->tok.v >= 105 && P->tok.v <= 113) {
			/* idtr ldtr gdtr tr cr0 cr2 cr3 cr4 cr8 */
			char msg[128];
			snprintf(msg, sizeof(msg), "Register '@%s' is not available to a user-mode "
				 "debugger", script_reg_name((int)P->tok.v));
			fail(P, msg);
		}
		if (P->tok.k != T_EOF || P->nlx == 1)
			return;
		P->nlx--;       /* end of an included file */
	}
}

static struct token peek(struct parser *P)
{
	struct lexer save = P->lx[P->nlx - 1];
	struct token t;

	if (script_lex_next(&P->lx[P->nlx - 1], &t) < 0)
		t.k = T_EOF;
	P->lx[P->nlx - 1] = save;
	return t;
}

static bool accept(struct parser *P, enum tok k)
{
	if (P->tok.k != k)
		return false;
	next(P);
	return true;
}

static void expect(struct parser *P, enum tok k)
{
	if (!accept(P, k))
		syntax(P);
}

static void enter(struct parser *P)
{
	if (++P->depth > SCRIPT_MAX_NEST)
		fail(P, "Internal Error: Please split the expression to many smaller expressions.");
}

/* ---- names ---- */

static struct var *find_local(struct parser *P, const char *name)
{
	for (int i = P->sc->n - 1; i >= 0; i--)
		if (!strcmp(P->sc->v[i]->name, name))
			return P->sc->v[i];
	return NULL;
}

static struct var *new_local(struct parser *P, const char *name, const struct ty *t)
{
	struct scope *s = P->sc;
	struct var *v = script_arena_alloc(P->a, sizeof(*v));
	int slots = t->size ? (int)((t->size + 7) / 8) : 1;

	v->name = name;
	v->t = t;
	v->slot = s->nslots;
	if (s->nslots + slots > SCRIPT_STACK_SLOTS)
		fail(P, "Internal Error: Please split the expression to many smaller expressions.");
	s->nslots += slots;
	if (s->n == s->cap) {
		int cap = s->cap ? s->cap * 2 : 16;
		struct var **nv = script_arena_alloc(P->a, sizeof(*nv) * (size_t)cap);
		if (s->n)
			memcpy(nv, s->v, sizeof(*nv) * (size_t)s->n);
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->n++] = v;
	return v;
}

static bool same_type(const struct ty *a, const struct ty *b)
{
	if (a == b)
		return true;
	if (a->k != b->k)
		return false;
	if (a->k == TY_PTR)
		return same_type(a->base, b->base);
	if (a->k == TY_ARRAY)
		return a->n == b->n && same_type(a->base, b->base);
	if (a->k == TY_STRUCT)
		return a->sd == b->sd;
	return true;
}

static struct var *global_var(struct parser *P, const char *name, bool create)
{
	struct script_globals *g = P->o->globals;
	struct var *v;
	int i;

	if (!g)
		fail(P, "Syntax Error: Unresolved Variable");
	for (i = 0; i < g->n; i++)
		if (!strcmp(g->name[i], name))
			break;
	if (i == g->n) {
		if (!create)
			fail(P, "Syntax Error: Unresolved Variable");
		if (g->n == SCRIPT_MAX_GLOBALS)
			fail(P, "Internal Error: Please split the expression to many smaller expressions.");
		g->name[i] = hd_xstrdup(name);
		g->kind[i] = TY_U64;
		g->n++;
	}
	v = script_arena_alloc(P->a, sizeof(*v));
	v->name = g->name[i];
	v->t = TYS(g->kind[i]);
	v->slot = i;
	v->global = true;
	v->implicit = true;
	return v;
}

static const struct ty *find_typedef(struct parser *P, const char *name)
{
	for (struct tdef *t = P->tdefs; t; t = t->next)
		if (!strcmp(t->name, name))
			return t->t;
	return NULL;
}

static struct func *find_func(struct parser *P, const char *name)
{
	for (struct func *f = P->funcs; f; f = f->next)
		if (!strcmp(f->name, name))
			return f;
	return NULL;
}

static struct sdef *find_struct(struct parser *P, const char *tag)
{
	for (struct sdef *s = P->structs; s; s = s->next)
		if (!strcmp(s->tag, tag))
			return s;
	return NULL;
}

/* Does the current token start a type name? */
static bool at_type(struct parser *P, const struct token *t)
{
	if (t->k == T_TYPE || t->k == T_STRUCT)
		return true;
	if ((t->k == T_IDENT || (t->k == T_NUM && t->hexword)) && t->s)
		return find_typedef(P, t->s) != NULL;
	return false;
}

/* ---- types ---- */

static const struct ty *parse_struct_body(struct parser *P, struct sdef *sd);

static const struct ty *struct_type(struct parser *P, struct sdef *sd)
{
	struct ty *t = script_arena_alloc(P->a, sizeof(*t));
	t->k = TY_STRUCT;
	t->sd = sd;
	t->size = sd->size;
	t->align = sd->align ? sd->align : 1;
	return t;
}

static const struct ty *parse_base_type(struct parser *P, bool *is_struct_def)
{
	int nshort = 0, nlong = 0, nint = 0, nchar = 0, nsig = 0, nuns = 0;
	int nvoid = 0, nbool = 0, nfloat = 0, ndouble = 0, nwchar = 0, n = 0;
	struct token first = P->tok;

	if (is_struct_def)
		*is_struct_def = false;
	if (P->tok.k == T_STRUCT) {
		struct sdef *sd;
		next(P);
		if (P->tok.k != T_IDENT)
			syntax(P);
		sd = find_struct(P, P->tok.s);
		if (!sd) {
			sd = script_arena_alloc(P->a, sizeof(*sd));
			sd->tag = P->tok.s;
			sd->next = P->structs;
			P->structs = sd;
		}
		next(P);
		if (P->tok.k == T_LB) {
			if (sd->complete)
				fail(P, "Duplicate struct definition");
			if (is_struct_def)
				*is_struct_def = true;
			return parse_struct_body(P, sd);
		}
		return struct_type(P, sd);
	}
	if (P->tok.k != T_TYPE) {
		const struct ty *t = find_typedef(P, P->tok.s);
		if (!t)
			syntax(P);
		next(P);
		return t;
	}
	while (P->tok.k == T_TYPE) {
		const char *w = P->tok.s;
		if (!strcmp(w, "short")) nshort++;
		else if (!strcmp(w, "long")) nlong++;
		else if (!strcmp(w, "int")) nint++;
		else if (!strcmp(w, "char")) nchar++;
		else if (!strcmp(w, "signed")) nsig++;
		else if (!strcmp(w, "unsigned")) nuns++;
		else if (!strcmp(w, "void")) nvoid++;
		else if (!strcmp(w, "bool")) nbool++;
		else if (!strcmp(w, "float")) nfloat++;
		else if (!strcmp(w, "double")) ndouble++;
		else if (!strcmp(w, "wchar_t")) nwchar++;
		n++;
		next(P);
	}
#define BAD() fail_at(P, &first, "Undefined Variable Type", -HD_E_PARSE)
	if (nsig + nuns > 1 || nint > 1 || nlong > 2 || nshort > 1 || nchar > 1)
		BAD();
	if (nvoid + nbool + nfloat + ndouble + nwchar) {
		if (n != 1)
			BAD();
		if (nwchar)
			return TYS(TY_U16);       /* UTF-16, as on Windows */
		if (nvoid) return TYS(TY_VOID);
		if (nbool) return TYS(TY_BOOL);
		if (nfloat) return TYS(TY_F32);
		return TYS(TY_F64);
	}
	if (nchar) {
		if (nshort || nlong || nint)
			BAD();
		return TYS(nuns ? TY_U8 : TY_I8);
	}
	if (nshort) {
		if (nlong)
			BAD();
		return TYS(nuns ? TY_U16 : TY_I16);
	}
	if (nlong)
		return TYS(nuns ? TY_U64 : TY_I64);
	return TYS(nuns ? TY_U32 : TY_I32);
#undef BAD
}

static const struct ty *parse_pointers(struct parser *P, const struct ty *t)
{
	while (accept(P, T_STAR))
		t = script_ty_ptr(P->a, t);
	return t;
}

/* `[N]...` after a declarator name */
/* `[N]...` after a declarator name. With `open`, the first dimension may
 * be empty (`[]`, post-v0.23): *open is set and the element type (the
 * remaining dimensions) is returned. */
static const struct ty *parse_dims_ex(struct parser *P, const struct ty *t, bool *open)
{
	uint32_t dims[8];
	int nd = 0;

	if (open)
		*open = false;
	if (open && P->tok.k == T_LBK && peek(P).k == T_RBK) {
		next(P);
		next(P);
		*open = true;
	}
	while (P->tok.k == T_LBK) {
		next(P);
		if (P->tok.k != T_NUM)
			syntax(P);
		if (nd == 8)
			fail(P, "Invalid or overflowing array size");
		if (P->tok.v == 0 || P->tok.v > 0x10000)
			fail(P, "Invalid or overflowing array size");
		dims[nd++] = (uint32_t)P->tok.v;
		next(P);
		expect(P, T_RBK);
	}
	while (nd > 0) {
		if ((uint64_t)t->size * dims[nd - 1] > 0x10000)
			fail(P, "Invalid or overflowing array size");
		t = script_ty_array(P->a, t, dims[--nd]);
	}
	return t;
}

static const struct ty *parse_dims(struct parser *P, const struct ty *t)
{
	return parse_dims_ex(P, t, NULL);
}

static const struct ty *parse_struct_body(struct parser *P, struct sdef *sd)
{
	struct smember m[64];
	int nm = 0;
	uint32_t off = 0, align = 1;

	expect(P, T_LB);
	while (!accept(P, T_RB)) {
		const struct ty *bt, *t;
		const char *name;
		if (!at_type(P, &P->tok))
			syntax(P);
		bt = parse_base_type(P, NULL);
		do {
			t = parse_pointers(P, bt);
			if (P->tok.k != T_IDENT)
				syntax(P);
			name = P->tok.s;
			next(P);
			t = parse_dims(P, t);
			if (t->k == TY_VOID)
				fail(P, "Undefined Variable Type");
			if (t->k == TY_STRUCT && !t->sd->complete)
				fail(P, "Incomplete struct type cannot be used by value");
			for (int i = 0; i < nm; i++)
				if (!strcmp(m[i].name, name))
					fail(P, "Duplicate struct member");
			if (nm == 64)
				syntax(P);
			off = (off + t->align - 1) / t->align * t->align;
			m[nm].name = name;
			m[nm].t = t;
			m[nm].off = off;
			nm++;
			off += t->size;
			if (t->align > align)
				align = t->align;
		} while (accept(P, T_COMMA));
		expect(P, T_SEMI);
	}
	sd->m = script_arena_alloc(P->a, sizeof(*m) * (size_t)(nm ? nm : 1));
	memcpy(sd->m, m, sizeof(*m) * (size_t)nm);
	sd->nm = nm;
	sd->align = align;
	sd->size = (off + align - 1) / align * align;
	sd->complete = true;
	return struct_type(P, sd);
}

/* ---- expressions ---- */

static struct node *expr(struct parser *P, bool cond);
static struct node *unary(struct parser *P, bool cond);

static struct node *mk(struct parser *P, enum nkind k)
{
	return script_node_new(P->a, k, &P->tok);
}

static struct node *builtin_call(struct parser *P, bool as_stmt)
{
	int bi = (int)P->tok.v;
	const struct script_builtin *b = &script_builtins[bi];
	struct node *n = mk(P, N_BUILTIN), **tail = &n->a;

	if (b->kind == BI_STMT && !as_stmt)
		syntax(P);
	n->op = bi;
	next(P);
	expect(P, T_LP);
	for (int i = 0; i < b->nargs; i++) {
		struct node *arg;
		if (i)
			expect(P, T_COMMA);
		if (b->argk[i] == 'S' && P->tok.k == T_STR) {
			arg = mk(P, N_STR);
			arg->s = P->tok.s;
			arg->slen = P->tok.slen;
			next(P);
		} else if (b->argk[i] == 'W' && P->tok.k == T_WSTR) {
			arg = mk(P, N_WSTR);
			arg->s = P->tok.s;
			arg->slen = P->tok.slen;
			next(P);
		} else {
			arg = expr(P, false);
		}
		*tail = arg;
		tail = &arg->next;
		n->n++;
	}
	expect(P, T_RP);
	return n;
}

static struct node *user_call(struct parser *P, struct func *f)
{
	struct node *n = mk(P, N_CALL), **tail = &n->a;

	n->fn = f;
	next(P);
	expect(P, T_LP);
	if (P->tok.k != T_RP) {
		do {
			struct node *arg = expr(P, false);
			*tail = arg;
			tail = &arg->next;
			n->n++;
		} while (accept(P, T_COMMA));
	}
	expect(P, T_RP);
	if (n->n != f->np)
		fail_at(P, &P->tok, "Syntax Error: Invalid Syntax", -HD_E_PARSE);
	return n;
}

static struct node *symbol(struct parser *P)
{
	uint64_t v;
	char msg[200];

	if (!P->o->resolve || P->o->resolve(P->o->resolve_ud, P->tok.s, &v) < 0) {
		if (!strchr(P->tok.s, '!') && !P->o->expr_only)
			fail(P, "Syntax Error: Unresolved Variable");
		snprintf(msg, sizeof(msg), "Unknown symbol '%s'", P->tok.s);
		fail_at(P, &P->tok, msg, -HD_E_NOSYM);
	}
	struct node *n = mk(P, N_NUM);
	n->v = v;
	n->t = TYS(TY_I64);
	next(P);
	return n;
}

static struct node *primary(struct parser *P, bool cond)
{
	struct node *n;

	switch (P->tok.k) {
	case T_NUM:
		n = mk(P, N_NUM);
		n->v = P->tok.v;
		next(P);
		return n;
	case T_FLOAT:
		n = mk(P, N_FLT);
		n->v = P->tok.v;
		next(P);
		return n;
	case T_REG:
		n = mk(P, N_REG);
		n->v = P->tok.v;
		next(P);
		return n;
	case T_PSEUDO:
		n = mk(P, N_PSEUDO);
		n->v = P->tok.v;
		next(P);
		return n;
	case T_GLOBAL:
		n = mk(P, N_VAR);
		n->var = global_var(P, P->tok.s, false);
		next(P);
		return n;
	case T_BUILTIN:
		return builtin_call(P, false);
	case T_IDENT: {
		struct var *v = find_local(P, P->tok.s);
		struct func *f;
		if (v) {
			n = mk(P, N_VAR);
			n->var = v;
			next(P);
			return n;
		}
		f = find_func(P, P->tok.s);
		if (f && peek(P).k == T_LP)
			return user_call(P, f);
		if (peek(P).k == T_LP)
			fail(P, "Undefined Function");
		return symbol(P);
	}
	case T_LP:
		next(P);
		n = expr(P, cond);
		expect(P, T_RP);
		return n;
	default:
		syntax(P);
	}
}

static struct node *postfix(struct parser *P, bool cond)
{
	struct node *n = primary(P, cond);

	for (;;) {
		struct node *m;
		if (P->tok.k == T_LBK) {
			m = mk(P, N_INDEX);
			next(P);
			m->a = n;
			m->b = expr(P, false);
			expect(P, T_RBK);
		} else if (P->tok.k == T_DOT || P->tok.k == T_ARROW) {
			m = mk(P, N_MEMBER);
			m->op = P->tok.k;
			next(P);
			if (P->tok.k != T_IDENT && !(P->tok.k == T_NUM && P->tok.hexword))
				syntax(P);
			m->a = n;
			m->s = P->tok.s;
			next(P);
		} else {
			return n;
		}
		n = m;
	}
}

static const struct ty *parse_type_name(struct parser *P)
{
	const struct ty *t = parse_base_type(P, NULL);
	return parse_pointers(P, t);
}

static bool is_cast(struct parser *P)
{
	struct token t2 = peek(P);
	return at_type(P, &t2);
}

static struct node *unary(struct parser *P, bool cond)
{
	struct node *n;
	enum tok k = P->tok.k;

	enter(P);
	if (k == T_MINUS || k == T_PLUS || k == T_TILDE || k == T_STAR ||
	    k == T_AMP || k == T_BANG) {
		n = mk(P, k == T_STAR ? N_DEREF : k == T_AMP ? N_ADDR : N_UN);
		n->op = k;
		next(P);
		if (cond && is_cast(P)) {
			/* one operator per operand; a cast may follow it */
			struct node *c = mk(P, N_CAST);
			next(P);
			c->t = parse_type_name(P);
			expect(P, T_RP);
			c->a = unary(P, true);
			n->a = c;
		} else {
			n->a = cond ? postfix(P, true) : unary(P, false);
		}
	} else if (k == T_SIZEOF) {
		n = mk(P, N_SIZEOF);
		next(P);
		expect(P, T_LP);
		if (at_type(P, &P->tok))
			n->t = parse_type_name(P);
		else
			n->a = expr(P, true);
		expect(P, T_RP);
	} else if (k == T_LP && is_cast(P)) {
		n = mk(P, N_CAST);
		next(P);
		n->t = parse_type_name(P);
		expect(P, T_RP);
		n->a = unary(P, cond);
	} else {
		n = postfix(P, cond);
	}
	P->depth--;
	return n;
}

static int binprec(enum tok k, bool cond)
{
	if (!cond) {
		switch (k) {
		case T_PIPE: return 1;
		case T_CARET: return 2;
		case T_AMP: return 3;
		case T_SHL: case T_SHR: return 4;
		case T_PLUS: case T_MINUS: return 5;
		case T_STAR: case T_SLASH: case T_PCT: return 6;
		default: return 0;
		}
	}
	switch (k) {
	case T_OROR: return 1;
	case T_ANDAND: return 2;
	case T_PIPE: return 3;
	case T_CARET: return 4;
	case T_AMP: return 5;
	case T_LT: case T_GT: case T_LE: case T_GE: case T_EQ: case T_NE: return 6;
	case T_SHL: case T_SHR: return 7;
	case T_PLUS: case T_MINUS: return 8;
	case T_STAR: case T_SLASH: case T_PCT: return 9;
	default: return 0;
	}
}

static struct node *binary(struct parser *P, bool cond, int minprec)
{
	struct node *l = unary(P, cond);
	int p;

	int chain = 1;

	enter(P);
	while ((p = binprec(P->tok.k, cond)) >= minprec && p > 0) {
		enum tok op = P->tok.k;
		/* a long operator chain makes a deep tree: bound it too */
		enter(P);
		chain++;
		struct node *n = mk(P, op == T_ANDAND ? N_LAND : op == T_OROR ? N_LOR : N_BIN);
		next(P);
		n->op = op;
		n->a = l;
		n->b = binary(P, cond, p + 1);
		l = n;
	}
	P->depth -= chain;
	return l;
}

static struct node *expr(struct parser *P, bool cond)
{
	return binary(P, cond, 1);
}

/* ---- statements ---- */

static struct node *stmt_list_until_rb(struct parser *P);
static struct node *statement(struct parser *P);

static struct node *block(struct parser *P)
{
	expect(P, T_LB);
	return stmt_list_until_rb(P);
}

static struct node *paren_cond(struct parser *P)
{
	struct node *c;
	expect(P, T_LP);
	c = expr(P, true);
	expect(P, T_RP);
	return c;
}

static struct node *loop_body(struct parser *P, int kind)
{
	struct node *b;
	if (P->nloops == 64)
		fail(P, "Internal Error: Please split the expression to many smaller expressions.");
	P->loops[P->nloops++] = kind;
	b = block(P);
	P->nloops--;
	return b;
}

static struct node *if_stmt(struct parser *P)
{
	struct node *n = mk(P, N_IF);
	next(P);
	n->a = paren_cond(P);
	n->b = block(P);
	if (P->tok.k == T_ELSIF) {
		enter(P);       /* elsif chains recurse in the compiler too */
		n->c = if_stmt(P);
		P->depth--;
	} else if (accept(P, T_ELSE)) {
		n->c = block(P);
		if (!n->c)
			n->c = mk(P, N_NOP);
	}
	return n;
}

/* an lvalue: name / .global / @reg followed by [ ] . -> */
static struct node *lvalue(struct parser *P, bool create)
{
	struct node *n;

	if (P->tok.k == T_IDENT) {
		struct var *v = find_local(P, P->tok.s);
		if (!v) {
			if (!create || peek(P).k != T_ASSIGN)
				fail(P, "Syntax Error: Unresolved Variable");
			n = mk(P, N_VAR);
			n->s = P->tok.s;       /* created after the right-hand side */
			next(P);
			return n;
		}
		n = mk(P, N_VAR);
		n->var = v;
		next(P);
	} else if (P->tok.k == T_GLOBAL) {
		n = mk(P, N_VAR);
		if (create && peek(P).k == T_ASSIGN) {
			struct script_globals *g = P->o->globals;
			bool known = false;
			for (int i = 0; g && i < g->n; i++)
				if (!strcmp(g->name[i], P->tok.s))
					known = true;
			if (!known) {
				n->s = P->tok.s;
				n->op = 1;     /* global to create */
				next(P);
				return n;
			}
		}
		n->var = global_var(P, P->tok.s, false);
		next(P);
	} else if (P->tok.k == T_REG) {
		n = mk(P, N_REG);
		n->v = P->tok.v;
		next(P);
		return n;
	} else {
		syntax(P);
	}
	for (;;) {
		struct node *m;
		if (P->tok.k == T_LBK) {
			m = mk(P, N_INDEX);
			next(P);
			m->a = n;
			m->b = expr(P, false);
			expect(P, T_RBK);
		} else if (P->tok.k == T_DOT || P->tok.k == T_ARROW) {
			m = mk(P, N_MEMBER);
			m->op = P->tok.k;
			next(P);
			if (P->tok.k != T_IDENT && !(P->tok.k == T_NUM && P->tok.hexword))
				syntax(P);
			m->a = n;
			m->s = P->tok.s;
			next(P);
		} else {
			return n;
		}
		n = m;
	}
}

static void bind_new(struct parser *P, struct node *lv)
{
	if (lv->k != N_VAR || lv->var)
		return;
	if (lv->op == 1) {
		lv->var = global_var(P, lv->s, true);
	} else {
		struct var *v = find_local(P, lv->s);
		if (!v) {
			v = new_local(P, lv->s, TYS(TY_U64));
			v->implicit = true;
		}
		lv->var = v;
	}
}

static bool starts_chain(struct parser *P)
{
	enum tok k = P->tok.k;
	return (k == T_IDENT || k == T_GLOBAL || k == T_REG) && peek(P).k == T_ASSIGN;
}

/* assignment forms without the trailing ';' */
static struct node *assignment(struct parser *P)
{
	struct node *n, *lv, *targets[32];
	int nt = 0;
	enum tok op;

	if (P->tok.k == T_STAR) {
		n = mk(P, N_ASSIGN);
		n->op = T_ASSIGN;
		next(P);
		lv = mk(P, N_DEREF);
		lv->op = T_STAR;
		lv->a = unary(P, false);
		expect(P, T_ASSIGN);
		n->a = lv;
		n->b = expr(P, false);
		return n;
	}
	lv = lvalue(P, true);
	op = P->tok.k;
	if (op == T_INC || op == T_DEC) {
		if (lv->k == N_VAR && !lv->var)
			fail(P, "Syntax Error: Unresolved Variable");
		n = mk(P, N_INCDEC);
		n->op = op;
		n->a = lv;
		next(P);
		return n;
	}
	if (op != T_ASSIGN && op != T_ADDEQ && op != T_SUBEQ && op != T_MULEQ &&
	    op != T_DIVEQ && op != T_MODEQ && op != T_SHLEQ && op != T_SHREQ &&
	    op != T_ANDEQ && op != T_OREQ && op != T_XOREQ)
		syntax(P);
	n = mk(P, N_ASSIGN);
	n->op = op;
	next(P);
	targets[nt++] = lv;
	if (op == T_ASSIGN) {
		while (starts_chain(P) && nt < 32) {
			targets[nt++] = lvalue(P, true);
			expect(P, T_ASSIGN);
		}
	}
	n->b = expr(P, false);
	/* a = b = e  ==>  b = e; a = b  (right to left) */
	for (int i = nt - 1; i >= 0; i--)
		bind_new(P, targets[i]);
	n->a = targets[nt - 1];
	{
		struct node *last = n;
		for (int i = nt - 2; i >= 0; i--) {
			struct node *m = mk(P, N_ASSIGN);
			m->op = T_ASSIGN;
			m->a = targets[i];
			m->b = targets[i + 1];
			last->next = m;
			last = m;
		}
	}
	return n;
}

static struct node *init_list(struct parser *P)
{
	struct node *n = mk(P, N_INITLIST), **tail = &n->a;

	expect(P, T_LB);
	if (P->tok.k != T_RB) {
		do {
			struct node *e = P->tok.k == T_LB ? init_list(P) : expr(P, false);
			*tail = e;
			tail = &e->next;
			n->n++;
		} while (accept(P, T_COMMA));
	}
	expect(P, T_RB);
	return n;
}

/* initializer of an array with element type `el`: a brace list, or a
 * string literal for char / wchar_t arrays (post-v0.23) */
static struct node *array_init(struct parser *P, const struct ty *el)
{
	struct node *n;

	if (P->tok.k == T_LB)
		return init_list(P);
	if ((P->tok.k == T_STR && el->size == 1 && script_ty_isint(el)) ||
	    (P->tok.k == T_WSTR && el->size == 2 && script_ty_isint(el))) {
		n = mk(P, P->tok.k == T_STR ? N_STR : N_WSTR);
		n->s = P->tok.s;
		n->slen = P->tok.slen;
		next(P);
		return n;
	}
	syntax(P);
}

static void check_value_type(struct parser *P, const struct ty *t, const struct token *at)
{
	if (t->k == TY_VOID)
		fail_at(P, at, "Undefined Variable Type", -HD_E_PARSE);
	if (t->k == TY_STRUCT && !t->sd->complete)
		fail_at(P, at, "Incomplete struct type cannot be used by value", -HD_E_PARSE);
	for (const struct ty *e = t; e->k == TY_ARRAY; e = e->base)
		if (e->base->k == TY_STRUCT && !e->base->sd->complete)
			fail_at(P, at, "Incomplete struct type cannot be used by value", -HD_E_PARSE);
}

static struct node *func_def(struct parser *P, const struct ty *ret, const struct token *name);

/* `type ...` at statement level: declaration, function or struct definition */
static struct node *declaration(struct parser *P, bool in_for)
{
	struct token first = P->tok, name;
	bool sdef;
	const struct ty *bt = parse_base_type(P, &sdef), *t;
	struct node *n;
	struct var *v;

	if (sdef && P->tok.k == T_SEMI && !in_for) {
		next(P);
		return NULL;
	}
	if (bt->k == TY_STRUCT && !bt->sd->complete && P->tok.k == T_SEMI && !in_for) {
		next(P);        /* forward declaration */
		return NULL;
	}
	t = parse_pointers(P, bt);
	if (P->tok.k != T_IDENT)
		syntax(P);
	name = P->tok;
	next(P);
	if (P->tok.k == T_LP && !in_for)
		return func_def(P, t, &name);
	{
		bool open;
		const struct ty *el = parse_dims_ex(P, t, &open);
		check_value_type(P, el, &first);
		n = mk(P, N_DECL);
		if (open || (el->k == TY_ARRAY && P->tok.k == T_ASSIGN)) {
			expect(P, T_ASSIGN);
			n->b = array_init(P, open ? el : el->base);
			if (open) {
				uint32_t cnt = n->b->k == N_INITLIST ? (uint32_t)n->b->n :
					       (uint32_t)(n->b->slen / (int)el->size) + 1;
				if (!cnt || (uint64_t)cnt * el->size > 0x10000)
					fail(P, "Invalid or overflowing array size");
				el = script_ty_array(P->a, el, cnt);
			}
			t = el;
		} else {
			t = el;
			if (P->tok.k == T_SEMI && (bt->k == TY_STRUCT || t->k == TY_ARRAY)) {
				/* struct variables, struct pointers and (post-v0.23)
				 * arrays may omit the initializer: zero-filled */
			} else {
				expect(P, T_ASSIGN);
				if (t->k == TY_STRUCT && P->tok.k == T_LB) {
					n->b = init_list(P);
				} else {
					n->b = expr(P, false);
					if (P->tok.k == T_ASSIGN)
						syntax(P);
				}
			}
		}
		n->t = t;
	}
	v = find_local(P, name.s);
	if (!v || !same_type(v->t, t) || v->implicit)
		v = new_local(P, name.s, t);
	n->var = v;
	if (!in_for)
		expect(P, T_SEMI);
	return n;
}

static struct node *func_def(struct parser *P, const struct ty *ret, const struct token *name)
{
	struct func *f = script_arena_alloc(P->a, sizeof(*f));
	struct scope sc = {0}, *saved = P->sc;
	struct var *params[32];
	int np = 0, saved_loops = P->nloops;

	if (P->sc != &P->main || name->hexword)
		fail_at(P, name, "Syntax Error: Invalid Syntax", -HD_E_PARSE);
	if (find_func(P, name->s))
		fail_at(P, name, "Syntax Error: Invalid Syntax", -HD_E_PARSE);
	if (ret->k == TY_ARRAY || ret->k == TY_STRUCT)
		fail_at(P, name, "Syntax Error: Invalid Syntax", -HD_E_PARSE);
	f->name = name->s;
	f->ret = ret;
	f->line = name->line;
	f->col = name->col;
	sc.fn = f;
	P->sc = &sc;
	expect(P, T_LP);
	if (P->tok.k == T_TYPE && !strcmp(P->tok.s, "void") && peek(P).k == T_RP)
		next(P);
	if (P->tok.k != T_RP) {
		do {
			const struct ty *pt;
			struct token pfirst = P->tok;
			if (!at_type(P, &P->tok))
				syntax(P);
			pt = parse_type_name(P);
			if (P->tok.k == T_LP && peek(P).k == T_STAR) {
				/* `type (*name)[N]...`: a pointer to an array */
				struct token pname;
				next(P);
				next(P);
				if (P->tok.k != T_IDENT || np == 32)
					syntax(P);
				pname = P->tok;
				next(P);
				expect(P, T_RP);
				if (P->tok.k != T_LBK)
					syntax(P);
				pt = script_ty_ptr(P->a, parse_dims(P, pt));
				params[np++] = new_local(P, pname.s, pt);
				continue;
			}
			if (P->tok.k != T_IDENT || np == 32)
				syntax(P);
			if (pt->k == TY_STRUCT && !pt->sd->complete)
				fail_at(P, &pfirst, "Incomplete struct type cannot be used by value",
					-HD_E_PARSE);
			if (pt->k == TY_VOID)
				fail_at(P, &pfirst, "Syntax Error: Invalid Syntax", -HD_E_PARSE);
			for (int i = 0; i < np; i++)
				if (!strcmp(params[i]->name, P->tok.s))
					syntax(P);
			{
				struct token pname = P->tok;
				bool open;
				next(P);
				/* array parameters are pointers to their element */
				pt = parse_dims_ex(P, pt, &open);
				if (open)
					pt = script_ty_ptr(P->a, pt);
				else if (pt->k == TY_ARRAY)
					pt = script_ty_ptr(P->a, pt->base);
				params[np++] = new_local(P, pname.s, pt);
			}
		} while (accept(P, T_COMMA));
	}
	expect(P, T_RP);
	f->np_slots = sc.nslots;
	sc.nslots += 2;         /* return address, saved frame pointer */
	f->np = np;
	f->params = script_arena_alloc(P->a, sizeof(*params) * (size_t)(np ? np : 1));
	memcpy(f->params, params, sizeof(*params) * (size_t)np);
	if (P->funcs_tail)
		P->funcs_tail->next = f;
	else
		P->funcs = f;
	P->funcs_tail = f;
	P->nloops = 0;
	f->body = block(P);
	P->nloops = saved_loops;
	f->nslots = sc.nslots;
	P->sc = saved;
	return NULL;
}

static struct node *for_stmt(struct parser *P)
{
	struct node *n = mk(P, N_FOR);

	next(P);
	expect(P, T_LP);
	if (P->tok.k != T_SEMI) {
		if (at_type(P, &P->tok))
			n->a = declaration(P, true);
		else
			n->a = assignment(P);
	}
	expect(P, T_SEMI);
	if (P->tok.k == T_SEMI)
		syntax(P);
	n->b = expr(P, true);
	expect(P, T_SEMI);
	if (P->tok.k == T_RP)
		syntax(P);
	n->c = assignment(P);
	expect(P, T_RP);
	n->d = loop_body(P, T_FOR);
	return n;
}

static struct node *include_stmt(struct parser *P)
{
	char path[4096];
	FILE *f;
	long sz;
	char *buf, *p;
	struct token at = P->tok;

	next(P);
	if (P->tok.k != T_STR)
		syntax(P);
	if (P->tok.s[0] != '/' && P->o->include_dir)
		snprintf(path, sizeof(path), "%s/%s", P->o->include_dir, P->tok.s);
	else
		snprintf(path, sizeof(path), "%s", P->tok.s);
	next(P);
	if (P->tok.k != T_SEMI)
		syntax(P);
	f = fopen(path, "rb");
	if (!f)
		fail_at(P, &at, "Syntax Error: Invalid Syntax (cannot open #include file)", -HD_E_PARSE);
	fseek(f, 0, SEEK_END);
	sz = ftell(f);
	fseek(f, 0, SEEK_SET);
	if (sz < 0 || sz > (1 << 24) || P->nlx == MAX_INCLUDE) {
		fclose(f);
		fail_at(P, &at, "Syntax Error: Invalid Syntax", -HD_E_PARSE);
	}
	buf = script_arena_alloc(P->a, (size_t)sz + 1);
	if (fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
		fclose(f);
		fail_at(P, &at, "Syntax Error: Invalid Syntax", -HD_E_PARSE);
	}
	fclose(f);
	buf[sz] = 0;
	/* files written as a command (`? { ... }`) contribute their block */
	p = buf;
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	if (*p == '?') {
		char *e = buf + sz;
		*p++ = ' ';
		while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
			p++;
		while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
			e--;
		if (*p == '{' && e > p && e[-1] == '}') {
			*p = ' ';
			e[-1] = ' ';
		}
	}
	/* the ';' after the path is consumed once the file is done */
	struct script_src *in = script_arena_alloc(P->a, sizeof(*in));
	in->name = script_arena_strndup(P->a, path, strlen(path));
	in->text = buf;
	script_lex_init(&P->lx[P->nlx], buf, in, P->a, P->diag);
	P->nlx++;
	next(P);
	return NULL;
}

/* printf("format", args...): the argument count is checked here */
static struct node *printf_stmt(struct parser *P)
{
	struct node *n = mk(P, N_PRINTF), **tail;

	next(P);
	expect(P, T_LP);
	if (P->tok.k != T_STR)
		syntax(P);
	n->s = P->tok.s;
	n->slen = P->tok.slen;
	next(P);
	tail = &n->a;
	while (accept(P, T_COMMA)) {
		struct node *arg = expr(P, false);
		*tail = arg;
		tail = &arg->next;
		n->n++;
	}
	expect(P, T_RP);
	if (script_format_check(n->s, n->n, NULL, 0) < 0)
		fail_at(P, &(struct token){.line = n->line, .col = n->col, .in = n->in},
			"Syntax Error: Invalid Syntax", -HD_E_PARSE);
	return n;
}

/* HyperDbg accepts `continue` only when a `for` loop encloses it */
static bool in_for_loop(struct parser *P)
{
	for (int i = 0; i < P->nloops; i++)
		if (P->loops[i] == T_FOR)
			return true;
	return false;
}

static struct node *statement(struct parser *P)
{
	struct node *n;

	enter(P);
	switch (P->tok.k) {
	case T_IF:
		n = if_stmt(P);
		break;
	case T_WHILE:
		n = mk(P, N_WHILE);
		next(P);
		n->a = paren_cond(P);
		n->b = loop_body(P, T_WHILE);
		break;
	case T_DO:
		n = mk(P, N_DO);
		next(P);
		n->b = loop_body(P, T_DO);
		expect(P, T_WHILE);
		n->a = paren_cond(P);
		expect(P, T_SEMI);
		break;
	case T_FOR:
		n = for_stmt(P);
		break;
	case T_BREAK:
	case T_CONTINUE:
		if (!P->nloops || (P->tok.k == T_CONTINUE && !in_for_loop(P)))
			syntax(P);
		n = mk(P, P->tok.k == T_BREAK ? N_BREAK : N_CONTINUE);
		next(P);
		expect(P, T_SEMI);
		break;
	case T_RETURN: {
		struct func *f = P->sc->fn;
		if (!f)
			syntax(P);
		n = mk(P, N_RETURN);
		next(P);
		if (P->tok.k == T_SEMI) {
			if (f->ret->k != TY_VOID)
				fail(P, "Not returning a value in noo-void function");
		} else {
			if (f->ret->k == TY_VOID)
				fail(P, "Returning a value in void function");
			n->a = expr(P, false);
		}
		expect(P, T_SEMI);
		break;
	}
	case T_INCLUDE:
		n = include_stmt(P);
		break;
	case T_BUILTIN:
		if (script_builtins[P->tok.v].func == FN_PRINTF) {
			n = printf_stmt(P);
		} else {
			n = mk(P, N_EXPRSTMT);
			n->a = builtin_call(P, true);
		}
		expect(P, T_SEMI);
		break;
	case T_IDENT:
		if (at_type(P, &P->tok)) {
			n = declaration(P, false);
			break;
		}
		if (peek(P).k == T_LP) {
			struct func *f = find_func(P, P->tok.s);
			if (!f)
				fail(P, "Undefined Function");
			n = mk(P, N_EXPRSTMT);
			n->a = user_call(P, f);
			expect(P, T_SEMI);
			break;
		}
		n = assignment(P);
		expect(P, T_SEMI);
		break;
	case T_TYPE:
	case T_STRUCT:
		n = declaration(P, false);
		break;
	case T_NUM:
		if (at_type(P, &P->tok)) {
			n = declaration(P, false);
			break;
		}
		syntax(P);
	case T_GLOBAL:
	case T_REG:
	case T_STAR:
		n = assignment(P);
		expect(P, T_SEMI);
		break;
	default:
		syntax(P);
	}
	P->depth--;
	return n;
}

static struct node *typedef_stmt(struct parser *P)
{
	struct tdef *td;
	const struct ty *bt, *t;
	bool sdef;

	next(P);
	bt = parse_base_type(P, &sdef);
	t = parse_pointers(P, bt);
	if (P->tok.k != T_IDENT && !(P->tok.k == T_NUM && P->tok.hexword))
		syntax(P);
	if (find_typedef(P, P->tok.s))
		fail(P, "Duplicate typedef name");
	td = script_arena_alloc(P->a, sizeof(*td));
	td->name = P->tok.s;
	next(P);
	t = parse_dims(P, t);
	td->t = t;
	td->next = P->tdefs;
	P->tdefs = td;
	expect(P, T_SEMI);
	return NULL;
}

/* statements up to the matching '}' (consumed) or EOF when rb is false */
static struct node *stmt_list(struct parser *P, bool rb)
{
	struct node *head = NULL, **tail = &head;

	for (;;) {
		struct node *n;
		if (rb && accept(P, T_RB))
			break;
		if (!rb && P->tok.k == T_EOF)
			break;
		if (P->tok.k == T_EOF)
			syntax(P);
		if (P->tok.k == T_TYPEDEF)
			n = typedef_stmt(P);
		else
			n = statement(P);
		if (!n)
			continue;
		*tail = n;
		while (n->next)
			n = n->next;
		tail = &n->next;
	}
	return head;
}

static struct node *stmt_list_until_rb(struct parser *P)
{
	return stmt_list(P, true);
}

int script_parse(const char *src, const struct parse_opts *opts,
		 struct script_arena *a, struct parse_result *out,
		 struct script_diag *diag)
{
	struct parser pv, *P = &pv;

	memset(P, 0, sizeof(*P));
	P->a = a;
	P->diag = diag;
	P->o = opts;
	P->sc = &P->main;
	P->main.nslots = 2;     /* main's frame has the same header as a call */
	script_lex_init(&P->lx[0], src, NULL, a, diag);
	P->nlx = 1;
	a->oom = &P->jb;
	a->oom_rc = &P->rc;
	if (setjmp(P->jb)) {
		a->oom = NULL;
		if (P->rc == -ENOMEM)
			script_diag_set(diag, src, NULL, 1, 1, "Internal Error: out of memory");
		return P->rc;
	}
	/* the script's own text, unnamed; nodes point to it (compile errors) */
	struct script_src *in = script_arena_alloc(a, sizeof(*in));
	in->name = NULL;
	in->text = src;
	P->lx[0].in = in;
	next(P);
	memset(out, 0, sizeof(*out));
	if (opts->expr_only) {
		struct node *e = expr(P, false);
		if (P->tok.k != T_EOF)
			syntax(P);
		out->body = mk(P, N_EXPRSTMT);
		out->body->a = e;
		out->body->op = 1;      /* the value is the result */
	} else if (P->tok.k == T_LB) {
		next(P);
		out->body = stmt_list(P, true);
		if (P->tok.k != T_EOF)
			syntax(P);
	} else {
		out->body = stmt_list(P, false);
	}
	out->funcs = P->funcs;
	out->main_slots = P->main.nslots;
	a->oom = NULL;
	return 0;
}
