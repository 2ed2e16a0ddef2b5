/*
** parse.c: the assembler's front end. A hand-written scanner and recursive
** parser for Keystone's Intel dialect, producing asm_stmt records whose
** operands may still name labels or external symbols (resolved later, in
** assemble.c, once per layout pass).
*/
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asm/internal.h"

struct lex {
	struct asm_ctx *ctx;
	const char *p;
	const char *line_start;
	int line;
};

static int vfail(struct asm_ctx *ctx, int rc, bool dep, int line, int col, const char *fmt,
		 va_list ap)
{
	if (ctx->err && ctx->err->msg[0] == '\0') {
		ctx->err->line = line;
		ctx->err->col = col;
		ctx->err->addr_dependent = dep;
		vsnprintf(ctx->err->msg, sizeof(ctx->err->msg), fmt, ap);
	}
	return rc;
}

int asm_fail(struct asm_ctx *ctx, int rc, int line, int col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rc = vfail(ctx, rc, false, line, col, fmt, ap);
	va_end(ap);
	return rc;
}

int asm_fail_range(struct asm_ctx *ctx, bool dep, int line, int col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = vfail(ctx, -HD_E_RANGE, dep, line, col, fmt, ap);
	va_end(ap);
	return rc;
}

static int col_of(const struct lex *lx, const char *p)
{
	return (int)(p - lx->line_start) + 1;
}

#define FAIL_AT(lx, at, ...) \
	asm_fail((lx)->ctx, -HD_E_PARSE, (lx)->line, col_of(lx, at), __VA_ARGS__)

static bool is_ident_start(int c)
{
	return isalpha(c) || c == '_' || c == '.' || c == '@' || c == '?';
}

static bool is_ident_char(int c)
{
	return isalnum(c) || c == '_' || c == '.' || c == '@' || c == '?' || c == '!' ||
	       c == '$';
}

/* Skip blanks and comments (`#` or `//` to the end of the line). */
static void skip_space(struct lex *lx)
{
	for (;;) {
		while (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\r')
			lx->p++;
		if (*lx->p == '#' || (lx->p[0] == '/' && lx->p[1] == '/')) {
			while (*lx->p && *lx->p != '\n')
				lx->p++;
			continue;
		}
		return;
	}
}

static bool at_stmt_end(struct lex *lx)
{
	skip_space(lx);
	return *lx->p == '\0' || *lx->p == '\n' || *lx->p == ';';
}

/* Read an identifier into buf (verbatim); returns its length, 0 if none.
 * A module name before '!' may contain '-' (`ld-linux-x86-64!_dl_debug_state`). */
static size_t read_ident(struct lex *lx, char *buf, size_t cap)
{
	const char *s = lx->p;
	size_t n = 0;

	if (!is_ident_start((unsigned char)*s))
		return 0;
	while (is_ident_char((unsigned char)s[n]) || s[n] == '-') {
		if (s[n] == '!')
			break;
		n++;
	}
	if (s[n] != '!' || n == 0)
		n = 0;
	while (is_ident_char((unsigned char)s[n]))
		n++;
	if (n >= cap)
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	lx->p += n;
	return n;
}

static void lower(char *dst, const char *src, size_t cap)
{
	size_t i = 0;
	for (; src[i] && i + 1 < cap; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[i] = '\0';
}

/* Peek a word (lower-cased) without consuming it. */
static bool peek_word(struct lex *lx, char *buf, size_t cap)
{
	const char *save = lx->p;
	char raw[ASM_NAME_MAX];
	size_t n = read_ident(lx, raw, sizeof(raw));
	lx->p = save;
	if (!n)
		return false;
	lower(buf, raw, cap);
	return true;
}

static int sym_intern(struct asm_ctx *ctx, const char *name, int line, int col)
{
	for (int i = 0; i < ctx->nsyms; i++)
		if (!strcmp(ctx->syms[i].name, name))
			return i;
	if (ctx->nsyms == ctx->capsyms) {
		ctx->capsyms = ctx->capsyms ? 2 * ctx->capsyms : 16;
		ctx->syms = hd_xrealloc(ctx->syms, (size_t)ctx->capsyms * sizeof(*ctx->syms));
	}
	struct asm_sym *s = &ctx->syms[ctx->nsyms];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->label_stmt = -1;
	s->line = line;
	s->col = col;
	return ctx->nsyms++;
}

/* Numbers: decimal, 0x hex, 0b binary, hex with an h suffix, 'c' chars. */
static int read_number(struct lex *lx, uint64_t *v)
{
	const char *s = lx->p;
	size_t n = 0;
	int base = 10;
	const char *digits = s;
	size_t nd;

	if (*s == '\'') {
		if (s[1] && s[1] != '\'' && s[2] == '\'') {
			*v = (unsigned char)s[1];
			lx->p += 3;
			return 0;
		}
		return FAIL_AT(lx, s, "invalid character constant");
	}
	while (isalnum((unsigned char)s[n]) || s[n] == '_')
		n++;
	nd = n;
	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16, digits = s + 2, nd = n - 2;
	} else if (n > 2 && s[0] == '0' && (s[1] == 'b' || s[1] == 'B') &&
		   strspn(s + 2, "01") == n - 2) {
		base = 2, digits = s + 2, nd = n - 2;
	} else if (n > 1 && (s[n - 1] == 'h' || s[n - 1] == 'H')) {
		base = 16, nd = n - 1;
	}
	uint64_t acc = 0;
	for (size_t i = 0; i < nd; i++) {
		int c = tolower((unsigned char)digits[i]), d;
		if (c == '_')
			continue;
		d = isdigit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : 99;
		if (d >= base)
			return FAIL_AT(lx, s, "invalid number '%.*s'", (int)n, s);
		if (acc > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return asm_fail(lx->ctx, -HD_E_RANGE, lx->line, col_of(lx, s),
					"number '%.*s' does not fit in 64 bits", (int)n, s);
		acc = acc * (uint64_t)base + (uint64_t)d;
	}
	*v = acc;
	lx->p += n;
	return 0;
}

#define MAX_PAREN_DEPTH 32

static int const_expr(struct lex *lx, uint64_t *v, int depth);

/* factor := number | 'c' | '(' const_expr ')' | '~' factor | '-' factor */
static int const_factor(struct lex *lx, uint64_t *v, int depth)
{
	skip_space(lx);
	const char *at = lx->p;
	if (depth > MAX_PAREN_DEPTH)
		return FAIL_AT(lx, at, "expression nested too deeply");
	if (*lx->p == '(') {
		lx->p++;
		TRY(const_expr(lx, v, depth + 1));
		skip_space(lx);
		if (*lx->p != ')')
			return FAIL_AT(lx, lx->p, "expected ')'");
		lx->p++;
		return 0;
	}
	if (*lx->p == '~' || *lx->p == '-') {
		char op = *lx->p++;
		TRY(const_factor(lx, v, depth + 1));
		*v = op == '~' ? ~*v : -*v;
		return 0;
	}
	if (isdigit((unsigned char)*lx->p) || *lx->p == '\'')
		return read_number(lx, v);
	return FAIL_AT(lx, at, "expected a number");
}

/* product := factor { ('*' | '/' | '%') factor }; numbers only */
static int const_product(struct lex *lx, uint64_t *v, int depth)
{
	TRY(const_factor(lx, v, depth));
	for (;;) {
		skip_space(lx);
		char op = *lx->p;
		if (op != '*' && op != '/' && op != '%')
			return 0;
		const char *at = lx->p++;
		skip_space(lx);
		/* `2*rax` inside an address is a scaled index, not a product */
		if (!isdigit((unsigned char)*lx->p) && *lx->p != '(' && *lx->p != '\'' &&
		    *lx->p != '~') {
			lx->p = at;
			return 0;
		}
		uint64_t m;
		TRY(const_factor(lx, &m, depth));
		if (op != '*' && m == 0)
			return FAIL_AT(lx, at, "division by zero");
		*v = op == '*' ? *v * m : op == '/' ? *v / m : *v % m;
	}
}

/* Inside parentheses: + - << >> & ^ | over products, C precedence. */
static int const_binary(struct lex *lx, uint64_t *v, int depth, int level)
{
	static const char *const ops[][2] = { { "|", NULL }, { "^", NULL }, { "&", NULL },
					      { "<<", ">>" }, { "+", "-" } };
	if (level == 5)
		return const_product(lx, v, depth);
	TRY(const_binary(lx, v, depth, level + 1));
	for (;;) {
		skip_space(lx);
		int which = -1;
		for (int i = 0; i < 2; i++)
			if (ops[level][i] && !strncmp(lx->p, ops[level][i], strlen(ops[level][i])))
				which = i;
		if (which < 0)
			return 0;
		lx->p += strlen(ops[level][which]);
		uint64_t r;
		TRY(const_binary(lx, &r, depth, level + 1));
		switch (level) {
		case 0: *v |= r; break;
		case 1: *v ^= r; break;
		case 2: *v &= r; break;
		case 3: *v = r >= 64 ? 0 : which == 0 ? *v << r : *v >> r; break;
		default: *v = which == 0 ? *v + r : *v - r; break;
		}
	}
}

static int const_expr(struct lex *lx, uint64_t *v, int depth)
{
	return const_binary(lx, v, depth, 0);
}

/* One expression term: a constant product (numbers, parentheses, * / %),
 * an identifier (label/symbol) or `$`. Adds it to e with `sign`. */
static int parse_term(struct lex *lx, struct asm_expr *e, int sign)
{
	char name[ASM_NAME_MAX];
	const char *at = lx->p;

	skip_space(lx);
	at = lx->p;
	if (isdigit((unsigned char)*lx->p) || *lx->p == '\'' || *lx->p == '(' || *lx->p == '~') {
		uint64_t v;
		TRY(const_product(lx, &v, 0));
		e->num = (int64_t)((uint64_t)e->num + (sign < 0 ? -v : v));
		return 0;
	}
	if (*lx->p == '$' && !is_ident_char((unsigned char)lx->p[1])) {
		lx->p++;
		if (e->here || sign < 0)
			return FAIL_AT(lx, at, "'$' may appear once, added");
		e->here = true;
		return 0;
	}
	if (read_ident(lx, name, sizeof(name))) {
		if (e->nterms == ASM_MAX_TERMS)
			return FAIL_AT(lx, at, "too many symbols in one expression");
		e->term[e->nterms].sym = sym_intern(lx->ctx, name, lx->line, col_of(lx, at));
		e->term[e->nterms].sign = sign;
		e->nterms++;
		return 0;
	}
	if (*lx->p == '\0' || *lx->p == '\n' || *lx->p == ';')
		return FAIL_AT(lx, at, "expected an operand at end of statement");
	if (!isprint((unsigned char)*lx->p))
		return FAIL_AT(lx, at, "unexpected character \\x%02x in expression",
			       (unsigned char)*lx->p);
	return FAIL_AT(lx, at, "unexpected '%c' in expression", *lx->p);
}

/* expr := ['+'|'-'] term { ('+'|'-') term } */
static int parse_expr(struct lex *lx, struct asm_expr *e)
{
	int sign = 1;

	memset(e, 0, sizeof(*e));
	skip_space(lx);
	e->col = col_of(lx, lx->p);
	for (;;) {
		skip_space(lx);
		while (*lx->p == '+' || *lx->p == '-') {
			if (*lx->p == '-')
				sign = -sign;
			lx->p++;
			skip_space(lx);
		}
		TRY(parse_term(lx, e, sign));
		skip_space(lx);
		if (*lx->p != '+' && *lx->p != '-')
			return 0;
		sign = 1;
	}
}

static const struct {
	const char *kw;
	uint16_t size;
} size_kw[] = {
	{ "byte", 1 },     { "word", 2 },     { "dword", 4 },    { "fword", 6 },
	{ "qword", 8 },    { "mmword", 8 },   { "tbyte", 10 },   { "tword", 10 },
	{ "xword", 16 },   { "oword", 16 },   { "xmmword", 16 }, { "ymmword", 32 },
	{ "zmmword", 64 },
};

static ZydisRegister seg_reg(const char *w)
{
	ZydisRegister r = asm_register_lookup(w);
	return ZydisRegisterGetClass(r) == ZYDIS_REGCLASS_SEGMENT ? r : ZYDIS_REGISTER_NONE;
}

/* A register name at the cursor (with `st(N)`); consumes it if found. */
static ZydisRegister read_register(struct lex *lx)
{
	char raw[ASM_NAME_MAX], w[ASM_NAME_MAX];
	const char *save = lx->p;

	if (!read_ident(lx, raw, sizeof(raw)))
		return ZYDIS_REGISTER_NONE;
	lower(w, raw, sizeof(w));
	if (!strcmp(w, "st")) {
		const char *q = lx->p;
		while (*q == ' ')
			q++;
		if (q[0] == '(' && q[1] >= '0' && q[1] <= '7' && q[2] == ')') {
			lx->p = q + 3;
			return (ZydisRegister)(ZYDIS_REGISTER_ST0 + (q[1] - '0'));
		}
		return ZYDIS_REGISTER_ST0;
	}
	ZydisRegister r = asm_register_lookup(w);
	if (r == ZYDIS_REGISTER_NONE)
		lx->p = save;
	return r;
}

/* Memory term inside [ ]: register, register*scale, scale*register. */
static int parse_mem_reg(struct lex *lx, struct asm_operand *op, ZydisRegister r,
			 const char *at, int sign)
{
	uint64_t scale = 0;

	if (sign < 0)
		return FAIL_AT(lx, at, "a register cannot be subtracted in an address");
	skip_space(lx);
	if (*lx->p == '*') {
		lx->p++;
		skip_space(lx);
		const char *nat = lx->p;
		if (!isdigit((unsigned char)*lx->p))
			return FAIL_AT(lx, nat, "expected a scale (1, 2, 4 or 8) after '*'");
		TRY(read_number(lx, &scale));
		if (scale != 1 && scale != 2 && scale != 4 && scale != 8)
			return FAIL_AT(lx, nat, "invalid scale %llu (must be 1, 2, 4 or 8)",
				       (unsigned long long)scale);
	}
	if (scale == 0 && op->base == ZYDIS_REGISTER_NONE) {
		op->base = r;
	} else if (op->index == ZYDIS_REGISTER_NONE) {
		op->index = r;
		op->scale = scale ? (uint8_t)scale : 1;
	} else {
		return FAIL_AT(lx, at, "too many registers in address");
	}
	/* rsp cannot be an index: `[rax+rsp]` is `[rsp+rax]` (as GNU as) */
	if ((op->index == ZYDIS_REGISTER_RSP || op->index == ZYDIS_REGISTER_ESP) && op->scale == 1 &&
	    op->base != ZYDIS_REGISTER_NONE) {
		ZydisRegister t = op->base;
		op->base = op->index;
		op->index = t;
	}
	return 0;
}

static int parse_mem_term(struct lex *lx, struct asm_operand *op, int sign)
{
	const char *at;
	ZydisRegister r;

	skip_space(lx);
	at = lx->p;
	r = read_register(lx);
	if (r != ZYDIS_REGISTER_NONE) {
		skip_space(lx);
		if (*lx->p == ':' && ZydisRegisterGetClass(r) == ZYDIS_REGCLASS_SEGMENT) {
			lx->p++;
			op->seg = r;
			return 1; /* `[fs:0x28]`: a term follows without an operator */
		}
		return parse_mem_reg(lx, op, r, at, sign);
	}
	/* number * register */
	if (isdigit((unsigned char)*lx->p)) {
		const char *save = lx->p;
		uint64_t scale;
		TRY(read_number(lx, &scale));
		skip_space(lx);
		if (*lx->p == '*') {
			lx->p++;
			skip_space(lx);
			const char *rat = lx->p;
			r = read_register(lx);
			if (r != ZYDIS_REGISTER_NONE) {
				if (scale != 1 && scale != 2 && scale != 4 && scale != 8)
					return FAIL_AT(lx, save, "invalid scale %llu (must be 1, 2, 4 or 8)",
						       (unsigned long long)scale);
				if (op->index != ZYDIS_REGISTER_NONE || sign < 0)
					return FAIL_AT(lx, rat, "bad index register");
				op->index = r;
				op->scale = (uint8_t)scale;
				return 0;
			}
		}
		lx->p = save;
	}
	struct asm_expr t;
	memset(&t, 0, sizeof(t));
	TRY(parse_term(lx, &t, sign));
	op->expr.num = (int64_t)((uint64_t)op->expr.num + (uint64_t)t.num);
	if (t.here) {
		if (op->expr.here)
			return FAIL_AT(lx, at, "'$' may appear once, added");
		op->expr.here = true;
	}
	for (int i = 0; i < t.nterms; i++) {
		if (op->expr.nterms == ASM_MAX_TERMS)
			return FAIL_AT(lx, at, "too many symbols in one expression");
		op->expr.term[op->expr.nterms++] = t.term[i];
	}
	return 0;
}

static int parse_memory(struct lex *lx, struct asm_operand *op)
{
	const char *open = lx->p;
	int sign = 1;

	lx->p++; /* '[' */
	op->kind = ASM_OP_MEM;
	op->expr.col = col_of(lx, lx->p);
	for (;;) {
		skip_space(lx);
		while (*lx->p == '+' || *lx->p == '-') {
			if (*lx->p == '-')
				sign = -sign;
			lx->p++;
			skip_space(lx);
		}
		if (*lx->p == ']')
			return FAIL_AT(lx, lx->p, "expected an address term before ']'");
		int seg = parse_mem_term(lx, op, sign);
		if (seg < 0)
			return seg;
		skip_space(lx);
		sign = 1;
		if (seg)
			continue;
		if (*lx->p == ']') {
			lx->p++;
			break;
		}
		if (*lx->p != '+' && *lx->p != '-')
			return FAIL_AT(lx, *lx->p ? lx->p : open, "expected '+', '-' or ']' in address");
	}
	if (op->base == ZYDIS_REGISTER_RIP || op->base == ZYDIS_REGISTER_EIP) {
		if (op->index != ZYDIS_REGISTER_NONE)
			return FAIL_AT(lx, open, "rip-relative address cannot have an index");
		op->rip_sym = op->expr.nterms > 0 || op->expr.here;
	}
	return 0;
}

/* Decorators `{k1}`, `{z}`, `{1toN}`, `{rn-sae}`, `{sae}` after an operand. */
static int parse_decorators(struct lex *lx, struct asm_stmt *st, struct asm_operand *op)
{
	static const char *const rc[] = { "rn-sae", "rd-sae", "ru-sae", "rz-sae" };
	static const ZydisRoundingMode rcm[] = { ZYDIS_ROUNDING_MODE_RN, ZYDIS_ROUNDING_MODE_RD,
		ZYDIS_ROUNDING_MODE_RU, ZYDIS_ROUNDING_MODE_RZ };
	char w[32];

	for (;;) {
		skip_space(lx);
		if (*lx->p != '{')
			return 0;
		const char *at = lx->p;
		const char *close = strchr(at, '}');
		size_t n = close ? (size_t)(close - at - 1) : 0;
		if (!close || n == 0 || n >= sizeof(w) || memchr(at, '\n', (size_t)(close - at)))
			return FAIL_AT(lx, at, "unterminated '{' decorator");
		lower(w, at + 1, n + 1);
		w[n] = '\0';
		lx->p = close + 1;
		ZydisRegister r = asm_register_lookup(w);
		if (ZydisRegisterGetClass(r) == ZYDIS_REGCLASS_MASK) {
			if (op && op != &st->op[0])
				return FAIL_AT(lx, at, "a mask {%s} belongs to the first operand", w);
			st->mask = r;
			continue;
		}
		if (!strcmp(w, "z")) {
			st->zeroing = true;
			continue;
		}
		if (!strcmp(w, "sae")) {
			st->sae = true;
			continue;
		}
		bool done = false;
		for (size_t i = 0; i < HD_ARRAY_SIZE(rc); i++)
			if (!strcmp(w, rc[i])) {
				st->rounding = rcm[i];
				done = true;
			}
		if (done)
			continue;
		unsigned n2 = 0;
		char tail;
		if (op && op->kind == ASM_OP_MEM && sscanf(w, "1to%u%c", &n2, &tail) == 1 &&
		    (n2 == 2 || n2 == 4 || n2 == 8 || n2 == 16 || n2 == 32)) {
			op->bcst = (uint8_t)n2;
			continue;
		}
		return FAIL_AT(lx, at, "unknown decorator '{%s}'", w);
	}
}

static int parse_operand(struct lex *lx, struct asm_stmt *st, struct asm_operand *op)
{
	char w[ASM_NAME_MAX];
	const char *at;

	memset(op, 0, sizeof(*op));
	skip_space(lx);
	at = lx->p;
	op->col = col_of(lx, at);
	if (peek_word(lx, w, sizeof(w))) {
		for (size_t i = 0; i < HD_ARRAY_SIZE(size_kw); i++) {
			if (strcmp(w, size_kw[i].kw))
				continue;
			char raw[ASM_NAME_MAX];
			read_ident(lx, raw, sizeof(raw));
			op->size = size_kw[i].size;
			skip_space(lx);
			if (peek_word(lx, w, sizeof(w)) && !strcmp(w, "ptr")) {
				read_ident(lx, raw, sizeof(raw));
				skip_space(lx);
			}
			break;
		}
		if (peek_word(lx, w, sizeof(w)) && !strcmp(w, "offset")) {
			char raw[ASM_NAME_MAX];
			read_ident(lx, raw, sizeof(raw));
			skip_space(lx);
		}
	}
	/* segment override before [ ] or a bare address */
	const char *save = lx->p;
	if (peek_word(lx, w, sizeof(w)) && seg_reg(w) != ZYDIS_REGISTER_NONE) {
		char raw[ASM_NAME_MAX];
		read_ident(lx, raw, sizeof(raw));
		skip_space(lx);
		if (*lx->p == ':') {
			lx->p++;
			skip_space(lx);
			op->seg = seg_reg(w);
		} else {
			lx->p = save;
		}
	}
	if (*lx->p == '[') {
		ZydisRegister seg = op->seg;
		TRY(parse_memory(lx, op));
		if (seg != ZYDIS_REGISTER_NONE)
			op->seg = seg;
		return parse_decorators(lx, st, op);
	}
	if (op->seg == ZYDIS_REGISTER_NONE && op->size == 0) {
		const char *rat = lx->p;
		ZydisRegister r = read_register(lx);
		if (r != ZYDIS_REGISTER_NONE) {
			op->kind = ASM_OP_REG;
			op->reg = r;
			skip_space(lx);
			if (*lx->p == ':')
				return FAIL_AT(lx, rat, "'%s:' is not a segment register",
					       ZydisRegisterGetString(r));
			return parse_decorators(lx, st, op);
		}
	}
	TRY(parse_expr(lx, &op->expr));
	if (op->seg != ZYDIS_REGISTER_NONE || op->size != 0) {
		op->kind = ASM_OP_MEM; /* `qword ptr fs:0x28`, `dword ptr 0x1000` */
		return parse_decorators(lx, st, op);
	}
	op->kind = ASM_OP_IMM;
	return 0;
}

static struct asm_stmt *stmt_new(struct asm_ctx *ctx, struct lex *lx, const char *at)
{
	if (ctx->nst == ctx->capst) {
		ctx->capst = ctx->capst ? 2 * ctx->capst : 16;
		ctx->st = hd_xrealloc(ctx->st, (size_t)ctx->capst * sizeof(*ctx->st));
	}
	struct asm_stmt *st = &ctx->st[ctx->nst++];
	memset(st, 0, sizeof(*st));
	st->line = lx->line;
	st->col = col_of(lx, at);
	return st;
}

static int data_item_add(struct asm_stmt *st, const struct asm_expr *e)
{
	if ((st->nitems & 15) == 0)
		st->items = hd_xrealloc(st->items, (size_t)(st->nitems + 16) * sizeof(*st->items));
	st->items[st->nitems++] = *e;
	return 0;
}

static int hex_digit(int c)
{
	return isdigit(c) ? c - '0' : isxdigit(c) ? tolower(c) - 'a' + 10 : -1;
}

/* One character of a string at *pp, escapes as in GNU as and Keystone:
 * \" \' \\ \n \t \r \b \f \v, \0 and up to three octal digits, \x and hex
 * digits (the low 8 bits of the value). */
static int string_char(struct lex *lx, const char **pp, uint8_t *out)
{
	const char *p = *pp, *at = p;
	static const char esc[] = "n\nt\tr\rb\bf\fv\v\"\"''\\\\";

	if (*p != '\\') {
		*out = (uint8_t)*p;
		*pp = p + 1;
		return 0;
	}
	p++;
	if (*p >= '0' && *p <= '7') {
		unsigned v = 0;
		for (int i = 0; i < 3 && *p >= '0' && *p <= '7'; i++)
			v = v * 8 + (unsigned)(*p++ - '0');
		*out = (uint8_t)v;
	} else if (*p == 'x' || *p == 'X') {
		unsigned v = 0;
		if (hex_digit((unsigned char)p[1]) < 0)
			return FAIL_AT(lx, at, "expected hex digits after '\\x'");
		while (hex_digit((unsigned char)p[1]) >= 0)
			v = v * 16 + (unsigned)hex_digit((unsigned char)*++p);
		*out = (uint8_t)v;
		p++;
	} else {
		const char *e = *p ? strchr(esc, *p) : NULL;
		while (e && (e - esc) % 2) /* match escape letters, not their values */
			e = strchr(e + 1, *p);
		if (!e) {
			if (isprint((unsigned char)*p))
				return FAIL_AT(lx, at, "unknown escape '\\%c' in string", *p);
			return FAIL_AT(lx, at, "unknown escape in string");
		}
		*out = (uint8_t)e[1];
		p++;
	}
	*pp = p;
	return 0;
}

/* A quoted string at the cursor: one byte item per character. */
static int parse_string(struct lex *lx, struct asm_stmt *st, bool nul)
{
	const char *at = lx->p, *c = lx->p + 1;
	char q = *at;
	struct asm_expr e;

	while (*c != q) {
		if (*c == '\0' || *c == '\n' || (c[0] == '\\' && (c[1] == '\0' || c[1] == '\n')))
			return FAIL_AT(lx, at, "unterminated string");
		uint8_t b = 0;
		memset(&e, 0, sizeof(e));
		e.col = col_of(lx, c);
		TRY(string_char(lx, &c, &b));
		e.num = b;
		data_item_add(st, &e);
	}
	if (nul) {
		memset(&e, 0, sizeof(e));
		e.col = col_of(lx, c);
		data_item_add(st, &e);
	}
	lx->p = c + 1;
	return 0;
}

enum { DATA_NUMBERS = 1, DATA_STRINGS = 2, DATA_NUL = 4 };

static int parse_data(struct lex *lx, struct asm_stmt *st, int width, int flags)
{
	st->kind = ASM_ST_DATA;
	st->dwidth = width;
	if (at_stmt_end(lx))
		return FAIL_AT(lx, lx->p, "expected data after directive");
	for (;;) {
		struct asm_expr e;
		skip_space(lx);
		const char *at = lx->p;
		char q = *lx->p;
		if ((q == '"' || q == '\'') && !(q == '\'' && lx->p[1] && lx->p[2] == '\'')) {
			if (!(flags & DATA_STRINGS) || width != 1)
				return FAIL_AT(lx, at, "strings are allowed only with db");
			TRY(parse_string(lx, st, flags & DATA_NUL));
		} else if (!(flags & DATA_NUMBERS)) {
			return FAIL_AT(lx, at, "expected a string");
		} else {
			TRY(parse_expr(lx, &e));
			data_item_add(st, &e);
		}
		skip_space(lx);
		if (*lx->p != ',')
			break;
		lx->p++;
	}
	if (!at_stmt_end(lx))
		return FAIL_AT(lx, lx->p, "expected ',' or end of statement");
	return 0;
}

static const struct {
	const char *kw;
	ZydisInstructionAttributes attr;
} prefix_kw[] = {
	{ "lock", ZYDIS_ATTRIB_HAS_LOCK },       { "rep", ZYDIS_ATTRIB_HAS_REP },
	{ "repe", ZYDIS_ATTRIB_HAS_REPE },       { "repz", ZYDIS_ATTRIB_HAS_REPE },
	{ "repne", ZYDIS_ATTRIB_HAS_REPNE },     { "repnz", ZYDIS_ATTRIB_HAS_REPNE },
	{ "bnd", ZYDIS_ATTRIB_HAS_BND },         { "notrack", ZYDIS_ATTRIB_HAS_NOTRACK },
	{ "xacquire", ZYDIS_ATTRIB_HAS_XACQUIRE }, { "xrelease", ZYDIS_ATTRIB_HAS_XRELEASE },
};

#define NUMS DATA_NUMBERS
#define STRS (DATA_NUMBERS | DATA_STRINGS)
static const struct {
	const char *kw;
	int width, flags;
} data_kw[] = {
	{ "db", 1, STRS },    { "dw", 2, NUMS },    { "dd", 4, NUMS },    { "dq", 8, NUMS },
	{ ".byte", 1, STRS }, { ".word", 2, NUMS }, { ".long", 4, NUMS }, { ".quad", 8, NUMS },
	{ ".ascii", 1, DATA_STRINGS },
	{ ".asciz", 1, DATA_STRINGS | DATA_NUL },
	{ ".string", 1, DATA_STRINGS | DATA_NUL },
};
#undef NUMS
#undef STRS

static bool is_shift(ZydisMnemonic m)
{
	return m == ZYDIS_MNEMONIC_SHL || m == ZYDIS_MNEMONIC_SHR || m == ZYDIS_MNEMONIC_SAR ||
	       m == ZYDIS_MNEMONIC_ROL || m == ZYDIS_MNEMONIC_ROR || m == ZYDIS_MNEMONIC_RCL ||
	       m == ZYDIS_MNEMONIC_RCR;
}

/* Short forms GNU as and Keystone accept, rewritten to the operands Zydis
 * wants: `shr eax` (by 1), `imul eax, 10` (= imul eax, eax, 10),
 * `int 3` (= int3, as both assemble it), and `rep`/`repne` where they are
 * legal only as raw prefixes (`rep ret`, `rep nop`, `rep bsf`). */
static int gnu_forms(struct asm_stmt *st)
{
	struct asm_operand *op = st->op;
	ZydisInstructionAttributes reps =
		ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE | ZYDIS_ATTRIB_HAS_REPNE;

	if (is_shift(st->mnem) && st->nops == 1 && op[0].kind != ASM_OP_IMM) {
		memset(&op[1], 0, sizeof(op[1]));
		op[1].kind = ASM_OP_IMM;
		op[1].col = op[1].expr.col = op[0].col;
		op[1].expr.num = 1;
		st->nops = 2;
	}
	if (st->mnem == ZYDIS_MNEMONIC_IMUL && st->nops == 2 && op[0].kind == ASM_OP_REG &&
	    op[1].kind == ASM_OP_IMM) {
		op[2] = op[1];
		op[1] = op[0];
		st->nops = 3;
	}
	if (st->mnem == ZYDIS_MNEMONIC_INT && st->nops == 1 && op[0].kind == ASM_OP_IMM &&
	    op[0].expr.nterms == 0 && !op[0].expr.here && op[0].expr.num == 3) {
		st->mnem = ZYDIS_MNEMONIC_INT3;
		st->nops = 0;
	}
	if (st->mnem == ZYDIS_MNEMONIC_XCHG && st->nops == 2 && op[0].kind == ASM_OP_REG &&
	    op[1].kind == ASM_OP_MEM) {
		struct asm_operand t = op[0]; /* Zydis has the memory-first order only */
		op[0] = op[1];
		op[1] = t;
	}
	if ((st->prefixes & reps) && st->branch_type != ZYDIS_BRANCH_TYPE_FAR &&
	    (st->mnem == ZYDIS_MNEMONIC_RET || st->mnem == ZYDIS_MNEMONIC_BSF ||
	     st->mnem == ZYDIS_MNEMONIC_BSR || (st->mnem == ZYDIS_MNEMONIC_NOP && st->nops == 0))) {
		st->raw_rep = (st->prefixes & ZYDIS_ATTRIB_HAS_REPNE) ? 0xf2 : 0xf3;
		st->prefixes &= ~reps;
	}
	return 0;
}

/* After labels: [prefixes] mnemonic operands, or a data directive. */
static int parse_insn(struct lex *lx, struct asm_stmt *st)
{
	char raw[ASM_NAME_MAX], w[ASM_NAME_MAX];
	const char *at;

	for (;;) {
		skip_space(lx);
		at = lx->p;
		if (!read_ident(lx, raw, sizeof(raw)))
			return FAIL_AT(lx, at, "expected a mnemonic");
		lower(w, raw, sizeof(w));
		size_t i;
		for (i = 0; i < HD_ARRAY_SIZE(prefix_kw); i++)
			if (!strcmp(w, prefix_kw[i].kw))
				break;
		if (i == HD_ARRAY_SIZE(prefix_kw))
			break;
		st->prefixes |= prefix_kw[i].attr;
		if (!strcmp(w, "rep"))
			st->rep_generic = true;
		if (at_stmt_end(lx))
			return FAIL_AT(lx, lx->p, "expected an instruction after prefix '%s'", w);
	}
	st->col = col_of(lx, at);
	for (size_t i = 0; i < HD_ARRAY_SIZE(data_kw); i++)
		if (!strcmp(w, data_kw[i].kw)) {
			if (st->prefixes)
				return FAIL_AT(lx, at, "prefix before data directive '%s'", w);
			return parse_data(lx, st, data_kw[i].width, data_kw[i].flags);
		}
	st->kind = ASM_ST_INSN;
	struct asm_mnem_hint hint;
	st->mnem = asm_mnemonic_lookup(w, &hint);
	snprintf(st->mnem_text, sizeof(st->mnem_text), "%.23s", w);
	if (st->mnem == ZYDIS_MNEMONIC_INVALID)
		return FAIL_AT(lx, at, "unknown mnemonic '%s'", raw);
	st->osz_hint = hint.osz;
	st->branch_type = hint.branch_type;
	st->far_width = hint.far_width;
	st->raw_rex = hint.raw_rex;
	skip_space(lx);
	if (peek_word(lx, w, sizeof(w)) && (!strcmp(w, "short") || !strcmp(w, "near"))) {
		st->width_hint = w[0] == 's' ? ZYDIS_BRANCH_WIDTH_8 : ZYDIS_BRANCH_WIDTH_32;
		read_ident(lx, raw, sizeof(raw));
	} else if (st->mnem == ZYDIS_MNEMONIC_RET && peek_word(lx, w, sizeof(w)) &&
		   !strcmp(w, "far")) {
		st->branch_type = ZYDIS_BRANCH_TYPE_FAR; /* Zydis's spelling of retf */
		read_ident(lx, raw, sizeof(raw));
	}
	if (at_stmt_end(lx))
		return gnu_forms(st);
	for (;;) {
		skip_space(lx);
		if (*lx->p == '{') { /* GNU's `, {rn-sae}` as its own operand */
			TRY(parse_decorators(lx, st, NULL));
		} else {
			if (st->nops == ASM_MAX_OPS)
				return FAIL_AT(lx, lx->p, "too many operands");
			TRY(parse_operand(lx, st, &st->op[st->nops]));
			st->nops++;
		}
		skip_space(lx);
		if (*lx->p != ',')
			break;
		lx->p++;
	}
	if (!at_stmt_end(lx)) {
		size_t n = 1;
		while (n < 16 && is_ident_char((unsigned char)lx->p[0]) &&
		       is_ident_char((unsigned char)lx->p[n]))
			n++;
		if (!isprint((unsigned char)*lx->p))
			return FAIL_AT(lx, lx->p, "unexpected character \\x%02x after operand",
				       (unsigned char)*lx->p);
		return FAIL_AT(lx, lx->p, "unexpected '%.*s' after operand%s", (int)n, lx->p,
			       is_ident_char((unsigned char)*lx->p) || *lx->p == '[' ? " (missing ','?)"
											: "");
	}
	st->is_branch = asm_mnemonic_is_branch(st->mnem) && st->nops == 1 &&
			st->op[0].kind == ASM_OP_IMM;
	if (st->width_hint && !st->is_branch)
		return FAIL_AT(lx, at, "'short'/'near' needs a branch to a label or address");
	return gnu_forms(st);
}

/* Labels `Name:` at the start of a statement; returns true if one was read. */
static int parse_label(struct lex *lx, bool *got)
{
	struct asm_ctx *ctx = lx->ctx;
	char name[ASM_NAME_MAX], w[ASM_NAME_MAX];
	const char *at = lx->p;

	*got = false;
	if (!read_ident(lx, name, sizeof(name)))
		return 0;
	skip_space(lx);
	if (*lx->p != ':') {
		lx->p = at;
		return 0;
	}
	lx->p++;
	lower(w, name, sizeof(w));
	if (asm_register_lookup(w) != ZYDIS_REGISTER_NONE)
		return FAIL_AT(lx, at, "label name '%s' is a register", name);
	int s = sym_intern(ctx, name, lx->line, col_of(lx, at));
	if (ctx->syms[s].label_stmt >= 0)
		return FAIL_AT(lx, at, "duplicate label '%s' (first defined at line %d)", name,
			       ctx->syms[s].line);
	ctx->syms[s].label_stmt = ctx->nst;
	ctx->syms[s].line = lx->line;
	ctx->syms[s].col = col_of(lx, at);
	*got = true;
	return 0;
}

int asm_parse(struct asm_ctx *ctx, const char *text)
{
	struct lex lx = { ctx, text, text, 1 };

	for (;;) {
		bool got = true;
		skip_space(&lx);
		while (got) {
			TRY(parse_label(&lx, &got));
			skip_space(&lx);
		}
		if (!at_stmt_end(&lx)) {
			struct asm_stmt *st = stmt_new(ctx, &lx, lx.p);
			TRY(parse_insn(&lx, st));
		}
		skip_space(&lx);
		if (*lx.p == '\0')
			return 0;
		if (*lx.p == '\n') {
			lx.line++;
			lx.line_start = lx.p + 1;
		}
		lx.p++;
	}
}
