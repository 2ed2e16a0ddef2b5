/*
** lex.c: the lexer of HyperDbg's script language (spec section 2).
** Numbers are hex by default (0x 0n 0y 0o prefixes, backticks ignored);
** a word made only of hex digits is a number unless it is a keyword,
** built-in, type or register name (the "hex-word" rule).
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "script/internal.h"

static const struct {
	const char *w;
	enum tok k;
} keywords[] = {
	{"if", T_IF}, {"elsif", T_ELSIF}, {"else", T_ELSE}, {"while", T_WHILE},
	{"do", T_DO}, {"for", T_FOR}, {"break", T_BREAK},
	{"continue", T_CONTINUE}, {"return", T_RETURN}, {"struct", T_STRUCT},
	{"typedef", T_TYPEDEF}, {"sizeof", T_SIZEOF},
	{"void", T_TYPE}, {"bool", T_TYPE}, {"char", T_TYPE}, {"short", T_TYPE},
	{"int", T_TYPE}, {"long", T_TYPE}, {"unsigned", T_TYPE},
	{"signed", T_TYPE}, {"float", T_TYPE}, {"double", T_TYPE},
	{"wchar_t", T_TYPE},
};

void script_diag_set(struct script_diag *d, const char *src, const char *file, int line,
		     int col, const char *msg)
{
	const char *p = src, *e;
	size_t n;

	if (!d)
		return;
	d->line = line;
	d->col = col;
	snprintf(d->msg, sizeof(d->msg), "%s", msg);
	snprintf(d->file, sizeof(d->file), "%s", file ? file : "");
	for (int l = 1; l < line && *p; p++)
		if (*p == '\n')
			l++;
	e = strchr(p, '\n');
	n = e ? (size_t)(e - p) : strlen(p);
	if (n && p[n - 1] == '\r')
		n--;
	if (n >= sizeof(d->text))
		n = sizeof(d->text) - 1;
	memcpy(d->text, p, n);
	d->text[n] = 0;
}

static int lex_err(struct lexer *lx, const char *at, const char *msg)
{
	script_diag_set(lx->diag, lx->src, lx->in ? lx->in->name : NULL, lx->line,
			(int)(at - lx->line_start) + 1, msg);
	return -HD_E_PARSE;
}

void script_lex_init(struct lexer *lx, const char *src, const struct script_src *in,
		     struct script_arena *a, struct script_diag *diag)
{
	memset(lx, 0, sizeof(*lx));
	lx->in = in;
	lx->src = lx->p = lx->line_start = src;
	lx->line = 1;
	lx->prev = T_EOF;
	lx->arena = a;
	lx->diag = diag;
}

static bool is_word(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '!' || c == '`';
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c == '_')           /* HyperDbg's scanner: '_' - 'A' + 10 */
		return 40;
	return -1;
}

static int skip_space(struct lexer *lx)
{
	for (;;) {
		char c = *lx->p;
		if (c == '\n') {
			lx->p++;
			lx->line++;
			lx->line_start = lx->p;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
			lx->p++;
		} else if (c == '/' && lx->p[1] == '/') {
			while (*lx->p && *lx->p != '\n')
				lx->p++;
		} else if (c == '/' && lx->p[1] == '*') {
			const char *start = lx->p;
			lx->p += 2;
			while (*lx->p && !(lx->p[0] == '*' && lx->p[1] == '/')) {
				if (*lx->p == '\n') {
					lx->line++;
					lx->line_start = lx->p + 1;
				}
				lx->p++;
			}
			if (!*lx->p)
				return lex_err(lx, start, "Syntax Error: Unknown Token");
			lx->p += 2;
		} else {
			return 0;
		}
	}
}

/* A number with an optional radix prefix; `w`..`e` is the whole word. */
static int lex_number(struct lexer *lx, struct token *t, const char *w, const char *e)
{
	unsigned radix = 16;
	uint64_t v = 0;
	int ndig = 0;

	if (e - w >= 2 && w[0] == '0') {
		switch (w[1]) {
		case 'x': radix = 16; w += 2; break;
		case 'n': radix = 10; w += 2; break;
		case 'y': radix = 2; w += 2; break;
		case 'o': radix = 8; w += 2; break;
		default: break;
		}
	}
	for (; w < e; w++) {
		int d;
		if (*w == '`')
			continue;
		d = hexval((unsigned char)*w);
		if (d < 0 || (d >= (int)radix && !(*w == '_' && radix == 16)))
			return lex_err(lx, t->p, "Syntax Error: Invalid Syntax");
		v = v * radix + (uint64_t)d;
		ndig++;
	}
	if (!ndig)
		return lex_err(lx, t->p, "Syntax Error: Invalid Syntax");
	t->k = T_NUM;
	t->v = v;
	return 0;
}

/* Decimal floating-point literal starting at lx->p (digits '.' digits). */
static int lex_float(struct lexer *lx, struct token *t)
{
	const char *s = lx->p, *q = s;
	char buf[512];
	double d;
	size_t n;

	while (*q >= '0' && *q <= '9')
		q++;
	if (*q != '.')
		return lex_err(lx, s, "Invalid floating-point literal");
	q++;
	while (*q >= '0' && *q <= '9')
		q++;
	if (is_word((unsigned char)*q) || *q == '.')
		return lex_err(lx, s, "Invalid floating-point literal");
	n = (size_t)(q - s);
	if (n >= sizeof(buf))
		return lex_err(lx, s, "Floating-point literal is out of range");
	memcpy(buf, s, n);
	buf[n] = 0;
	errno = 0;
	d = strtod(buf, NULL);
	if (errno == ERANGE)
		return lex_err(lx, s, "Floating-point literal is out of range");
	memcpy(&t->v, &d, 8);
	t->k = T_FLOAT;
	lx->p = q;
	return 0;
}

static int lex_string(struct lexer *lx, struct token *t, bool wide)
{
	const char *q = lx->p + 1;
	size_t cap, n = 0;
	char *out = NULL;
	size_t unit = wide ? 2 : 1;

	/* size: the literal's source length bounds its decoded length */
	{
		const char *e = q;
		while (*e && *e != '"' && *e != '\n')
			e += (e[0] == '\\' && e[1]) ? 2 : 1;
		cap = ((size_t)(e - q) + 1) * unit + 2;
	}
	out = script_arena_alloc(lx->arena, cap);
	for (;;) {
		unsigned v;
		char c = *q;
		if (!c || c == '\n')
			return lex_err(lx, lx->p, "Syntax Error: Unknown Token");
		if (c == '"') {
			q++;
			break;
		}
		if (c == '\\') {
			q++;
			switch (*q) {
			case 'n': v = '\n'; q++; break;
			case 't': v = '\t'; q++; break;
			case '\\': v = '\\'; q++; break;
			case '"': v = '"'; q++; break;
			case 'x': {
				int maxd = wide ? 4 : 2, nd = 0;
				q++;
				v = 0;
				while (nd < maxd && hexval((unsigned char)*q) >= 0 && *q != '_') {
					v = v * 16 + (unsigned)hexval((unsigned char)*q);
					q++;
					nd++;
				}
				if (!nd)
					return lex_err(lx, q, "Syntax Error: Invalid Syntax");
				break;
			}
			default:
				return lex_err(lx, q - 1, "Syntax Error: Invalid Syntax");
			}
		} else {
			v = (unsigned char)c;
			q++;
		}
		out[n++] = (char)(v & 0xff);
		if (wide)
			out[n++] = (char)((v >> 8) & 0xff);
	}
	out[n] = 0;
	if (wide)
		out[n + 1] = 0;
	t->k = wide ? T_WSTR : T_STR;
	t->s = out;
	t->slen = (int)n;
	lx->p = q;
	return 0;
}

/* 'c' or L'c' (post-v0.23 character literal): a number */
static int lex_char(struct lexer *lx, struct token *t, bool wide)
{
	const char *q = lx->p + 1;
	unsigned v;

	if (*q == '\\') {
		q++;
		switch (*q) {
		case 'n': v = '\n'; q++; break;
		case 't': v = '\t'; q++; break;
		case '0': v = 0; q++; break;
		case '\\': case '\'': case '"': v = (unsigned char)*q++; break;
		case 'x': {
			int nd = 0;
			q++;
			v = 0;
			while (nd < (wide ? 4 : 2) && hexval((unsigned char)*q) >= 0 && *q != '_') {
				v = v * 16 + (unsigned)hexval((unsigned char)*q++);
				nd++;
			}
			if (!nd)
				return lex_err(lx, q, "Syntax Error: Invalid Syntax");
			break;
		}
		default:
			return lex_err(lx, q, "Syntax Error: Invalid Syntax");
		}
	} else if (*q && *q != '\'' && *q != '\n') {
		v = (unsigned char)*q++;
	} else {
		return lex_err(lx, lx->p, "Syntax Error: Unknown Token");
	}
	if (*q != '\'')
		return lex_err(lx, lx->p, "Syntax Error: Unknown Token");
	lx->p = q + 1;
	t->k = T_NUM;
	t->v = v;
	return 0;
}

static bool prev_ends_operand(enum tok k)
{
	return k == T_NUM || k == T_FLOAT || k == T_IDENT || k == T_REG ||
	       k == T_PSEUDO || k == T_GLOBAL || k == T_RP || k == T_RBK;
}

static int lex_word(struct lexer *lx, struct token *t)
{
	const char *w = lx->p, *e = w;
	bool hex = true, bang = false;
	size_t n;
	char name[128];

	while (is_word((unsigned char)*e))
		e++;
	lx->p = e;
	/* name without backticks */
	n = 0;
	for (const char *q = w; q < e && n < sizeof(name) - 1; q++) {
		if (*q == '`')
			continue;
		name[n++] = *q;
		if (*q == '!')
			bang = true;
		if (hexval((unsigned char)*q) < 0)
			hex = false;
	}
	name[n] = 0;
	t->s = script_arena_strndup(lx->arena, name, n);
	t->slen = (int)n;
	if (*w >= '0' && *w <= '9') {
		/* a float literal: decimal digits followed by '.' */
		if (*e == '.' && !bang) {
			bool dec = true;
			for (const char *q = w; q < e; q++)
				if (*q < '0' || *q > '9')
					dec = false;
			if (dec) {
				lx->p = w;
				return lex_float(lx, t);
			}
			if (e - w >= 2 && w[0] == '0' && w[1] == 'x')
				return lex_err(lx, w, "Invalid floating-point literal");
		}
		return lex_number(lx, t, w, e);
	}
	for (size_t i = 0; i < HD_ARRAY_SIZE(keywords); i++)
		if (!strcmp(name, keywords[i].w)) {
			t->k = keywords[i].k;
			return 0;
		}
	{
		int b = script_builtin_find(name, n);
		if (b >= 0) {
			t->k = T_BUILTIN;
			t->v = (uint64_t)b;
			return 0;
		}
	}
	{
		int r = script_reg_id(name);
		if (r >= 0) {
			t->k = T_REG;
			t->v = (uint64_t)r;
			return 0;
		}
	}
	if (!bang && hex && n > 0) {
		t->hexword = true;
		return lex_number(lx, t, w, e);
	}
	t->k = T_IDENT;
	return 0;
}

static int lex_sigil(struct lexer *lx, struct token *t, char sigil)
{
	const char *q = lx->p + 1, *s = q;
	char name[64];
	size_t n;
	int id = -1;

	while ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
	       (*q >= '0' && *q <= '9') || *q == '_')
		q++;
	n = (size_t)(q - s);
	if (!n || n >= sizeof(name))
		return lex_err(lx, lx->p, "Syntax Error: Invalid Syntax");
	memcpy(name, s, n);
	name[n] = 0;
	if (sigil == '@') {
		id = script_reg_id(name);
		t->k = T_REG;
	} else {
		for (int i = 0; i < 16; i++)
			if (!strcmp(name, script_pseudo_names[i]))
				id = i;
		if (!strcmp(name, "tag"))       /* older name of $event_tag */
			id = 11;
		t->k = T_PSEUDO;
	}
	if (id < 0)
		return lex_err(lx, lx->p, "Syntax Error: Invalid Syntax");
	t->v = (uint64_t)id;
	t->s = script_arena_strndup(lx->arena, name, n);
	lx->p = q;
	return 0;
}

static const struct {
	const char *s;
	enum tok k;
} puncts[] = {
	{"<<=", T_SHLEQ}, {">>=", T_SHREQ}, {"&&", T_ANDAND}, {"||", T_OROR},
	{"<<", T_SHL}, {">>", T_SHR}, {"<=", T_LE}, {">=", T_GE}, {"==", T_EQ},
	{"!=", T_NE}, {"+=", T_ADDEQ}, {"-=", T_SUBEQ}, {"*=", T_MULEQ},
	{"/=", T_DIVEQ}, {"%=", T_MODEQ}, {"&=", T_ANDEQ}, {"|=", T_OREQ},
	{"^=", T_XOREQ}, {"++", T_INC}, {"--", T_DEC}, {"->", T_ARROW},
	{"(", T_LP}, {")", T_RP}, {"{", T_LB}, {"}", T_RB}, {"[", T_LBK},
	{"]", T_RBK}, {",", T_COMMA}, {";", T_SEMI}, {":", T_COLON},
	{"+", T_PLUS}, {"-", T_MINUS}, {"*", T_STAR}, {"/", T_SLASH},
	{"%", T_PCT}, {"~", T_TILDE}, {"!", T_BANG}, {"&", T_AMP}, {"|", T_PIPE},
	{"^", T_CARET}, {"<", T_LT}, {">", T_GT}, {"=", T_ASSIGN}, {".", T_DOT},
};

static int lex_one(struct lexer *lx, struct token *t)
{
	char c;

	TRY(skip_space(lx));
	memset(t, 0, sizeof(*t));
	t->line = lx->line;
	t->col = (int)(lx->p - lx->line_start) + 1;
	t->in = lx->in;
	t->p = lx->p;
	c = *lx->p;
	if (!c) {
		t->k = T_EOF;
		return 0;
	}
	if (c == 'L' && lx->p[1] == '"') {
		lx->p++;
		return lex_string(lx, t, true);
	}
	if (c == '"')
		return lex_string(lx, t, false);
	if (c == 'L' && lx->p[1] == '\'') {
		lx->p++;
		return lex_char(lx, t, true);
	}
	if (c == '\'')
		return lex_char(lx, t, false);
	if (is_word((unsigned char)c) && c != '!' && c != '`')
		return lex_word(lx, t);
	if (c == '@' || c == '$')
		return lex_sigil(lx, t, c);
	if (c == '#') {
		if (!strncmp(lx->p, "#include", 8) && !is_word((unsigned char)lx->p[8])) {
			lx->p += 8;
			t->k = T_INCLUDE;
			return 0;
		}
		return lex_err(lx, lx->p, "Syntax Error: Unknown Token");
	}
	if (c == '.') {
		char d = lx->p[1];
		if (d >= '0' && d <= '9')
			return lex_float(lx, t);
		if (!prev_ends_operand(lx->prev) &&
		    ((d >= 'a' && d <= 'z') || (d >= 'A' && d <= 'Z') || d == '_')) {
			const char *q = lx->p + 1;
			while (is_word((unsigned char)*q) && *q != '!' && *q != '`')
				q++;
			t->k = T_GLOBAL;
			t->s = script_arena_strndup(lx->arena, lx->p + 1, (size_t)(q - lx->p - 1));
			t->slen = (int)(q - lx->p - 1);
			lx->p = q;
			return 0;
		}
	}
	for (size_t i = 0; i < HD_ARRAY_SIZE(puncts); i++) {
		size_t n = strlen(puncts[i].s);
		if (!strncmp(lx->p, puncts[i].s, n)) {
			t->k = puncts[i].k;
			lx->p += n;
			return 0;
		}
	}
	return lex_err(lx, lx->p, "Syntax Error: Unknown Token");
}

int script_lex_next(struct lexer *lx, struct token *t)
{
	int rc = lex_one(lx, t);
	if (rc == 0) {
		t->len = (int)(lx->p - t->p);
		lx->prev = t->k;
	}
	return rc;
}
