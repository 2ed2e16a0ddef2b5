/*
** script.c: the script layer's public entry points (script.h): register
** names, globals sets, compile = parse + codegen + verify, run, and
** script_eval_expr for the command layer's address arguments.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "script/internal.h"

const char *const script_reg_names[SCRIPT_NREGS] = {
	"rax", "eax", "ax", "ah", "al", "rcx", "ecx", "cx", "ch", "cl",
	"rdx", "edx", "dx", "dh", "dl", "rbx", "ebx", "bx", "bh", "bl",
	"rsp", "esp", "sp", "spl", "rbp", "ebp", "bp", "bpl",
	"rsi", "esi", "si", "sil", "rdi", "edi", "di", "dil",
	"r8", "r8d", "r8w", "r8h", "r8l", "r9", "r9d", "r9w", "r9h", "r9l",
	"r10", "r10d", "r10w", "r10h", "r10l", "r11", "r11d", "r11w", "r11h", "r11l",
	"r12", "r12d", "r12w", "r12h", "r12l", "r13", "r13d", "r13w", "r13h", "r13l",
	"r14", "r14d", "r14w", "r14h", "r14l", "r15", "r15d", "r15w", "r15h", "r15l",
	"ds", "es", "fs", "gs", "cs", "ss", "rflags", "eflags", "flags",
	"cf", "pf", "af", "zf", "sf", "tf", "if", "df", "of", "iopl", "nt",
	"rf", "vm", "ac", "vif", "vip", "id", "rip", "eip", "ip",
	"idtr", "ldtr", "gdtr", "tr", "cr0", "cr2", "cr3", "cr4", "cr8",
	"dr0", "dr1", "dr2", "dr3", "dr6", "dr7",
};

const char *const script_pseudo_names[16] = {
	"pid", "tid", "pname", "core", "proc", "thread", "peb", "teb", "ip",
	"buffer", "context", "event_tag", "event_id", "event_stage", "date", "time",
};

int script_reg_id(const char *name)
{
	if (!name)
		return -1;
	for (int i = 0; i < SCRIPT_NREGS; i++)
		if (!strcmp(script_reg_names[i], name))
			return i;
	return -1;
}

const char *script_reg_name(int id)
{
	return id >= 0 && id < SCRIPT_NREGS ? script_reg_names[id] : NULL;
}

void script_diag_render(const struct script_diag *d, struct hd_buf *b)
{
	const char *msg = d->msg[0] ? d->msg : "Syntax Error: Invalid Syntax";
	size_t tl = strlen(d->text);

	if (d->file[0])
		hd_buf_printf(b, "script file '%s' line %d column %d: %s: '%s'", d->file, d->line,
			      d->col, msg, d->text);
	else
		hd_buf_printf(b, "script line %d column %d: %s: '%s'", d->line, d->col, msg, d->text);
	hd_buf_printf(b, "\n  %s\n  ", d->text);
	/* the caret under column col (1-based; one past the end at most) */
	for (size_t i = 0; d->col > 0 && i + 1 < (size_t)d->col && i < tl; i++)
		hd_buf_append(b, d->text[i] == '\t' ? "\t" : " ", 1);
	hd_buf_append(b, "^", 1);
}

struct script_globals *script_globals_new(void)
{
	return hd_xcalloc(1, sizeof(struct script_globals));
}

void script_globals_free(struct script_globals *g)
{
	if (!g)
		return;
	for (int i = 0; i < g->n; i++)
		free(g->name[i]);
	free(g);
}

static void globals_rollback(struct script_globals *g, int n0)
{
	while (g->n > n0) {
		g->n--;
		free(g->name[g->n]);
		g->name[g->n] = NULL;
		g->slot[g->n] = 0;
	}
}

static int compile_ex(const char *src, const struct script_compile_opts *opts,
		      bool expr_only, struct script_globals *g,
		      struct script_prog **out, struct script_diag *diag)
{
	struct script_arena a = {script_default_alloc, NULL, NULL, NULL, NULL};
	struct parse_opts po = {0};
	struct parse_result pr;
	struct script_bc *bc = NULL;
	size_t len = 0;
	int n0 = g->n, rc;
	char msg[128];

	*out = NULL;
	if (diag)
		memset(diag, 0, sizeof(*diag));
	if (opts) {
		po.resolve = opts->resolve;
		po.resolve_ud = opts->resolve_ud;
		po.include_dir = opts->include_dir;
		if (opts->sz >= offsetof(struct script_compile_opts, alloc_ud) + sizeof(void *) &&
		    opts->alloc) {
			a.alloc = opts->alloc;
			a.ud = opts->alloc_ud;
		}
	}
	po.globals = g;
	po.expr_only = expr_only;
	rc = script_parse(src, &po, &a, &pr, diag);
	if (rc == 0)
		rc = script_codegen(&pr, &a, g->n, src, &bc, &len, diag);
	if (rc == 0) {
		rc = script_verify_ex(bc, len, true, msg, sizeof(msg), a.alloc, a.ud);
		if (rc < 0 && diag)
			script_diag_set(diag, src, NULL, 1, 1,
					rc == -ENOMEM ? "Internal Error: out of memory" : msg);
	}
	script_arena_free(&a);
	if (rc == 0) {
		*out = a.alloc(a.ud, NULL, 0, sizeof(**out));
		if (!*out) {
			rc = -ENOMEM;
			if (diag)
				script_diag_set(diag, src, NULL, 1, 1, "Internal Error: out of memory");
		}
	}
	if (rc < 0) {
		if (bc)
			a.alloc(a.ud, bc, len, 0);
		globals_rollback(g, n0);
		return rc;
	}
	(*out)->bc = bc;
	(*out)->len = len;
	(*out)->alloc = a.alloc;
	(*out)->ud = a.ud;
	return 0;
}

int script_compile(const char *src, const struct script_compile_opts *opts,
		   struct script_prog **out, struct script_diag *diag)
{
	struct script_globals *tmp = NULL, *g;
	int rc;

	if (!src || !out)
		return -EINVAL;
	g = opts && opts->globals ? opts->globals : (tmp = script_globals_new());
	rc = compile_ex(src, opts, false, g, out, diag);
	script_globals_free(tmp);
	return rc;
}

void script_prog_free(struct script_prog *p)
{
	if (!p)
		return;
	p->alloc(p->ud, p->bc, p->len, 0);
	p->alloc(p->ud, p, sizeof(*p), 0);
}

const void *script_prog_bytecode(const struct script_prog *p, size_t *len)
{
	if (len)
		*len = p->len;
	return p->bc;
}

uint64_t *script_globals_slots(struct script_globals *g)
{
	return g->slot;
}

int script_run(const struct script_prog *p, const struct script_env *env,
	       struct script_globals *g, char *err, size_t errlen)
{
	uint64_t tmp[SCRIPT_MAX_GLOBALS];

	if (!p)
		return -EINVAL;
	if (!g)
		memset(tmp, 0, sizeof(tmp));
	return script_vm_run(p->bc, env, g ? g->slot : tmp, err, errlen);
}

int script_run_in(const struct script_prog *p, const struct script_env *env,
		  struct script_globals *g, struct script_state *state, char *err, size_t errlen)
{
	if (!p || !g || !state)
		return -EINVAL;
	return script_vm_start(state, p->bc, env, g->slot, err, errlen);
}

struct eval_ctx {
	const struct script_env *inner;
	uint64_t value;
	bool got;
};

static void eval_capture(void *ud, uint64_t v)
{
	struct eval_ctx *c = ud;
	c->value = v;
	c->got = true;
}

#define FWD(name, ...) \
	(c->inner && c->inner->name ? c->inner->name(c->inner->ud, __VA_ARGS__) : -HD_E_NOTARGET)

static int ev_reg_read(void *ud, int reg, uint64_t *val)
{
	struct eval_ctx *c = ud;
	*val = 0;
	return FWD(reg_read, reg, val);
}

static int ev_mem_read(void *ud, uint64_t addr, void *buf, size_t len)
{
	struct eval_ctx *c = ud;
	return FWD(mem_read, addr, buf, len);
}

static int ev_pseudo_read(void *ud, int id, uint64_t *val)
{
	struct eval_ctx *c = ud;
	*val = 0;
	return FWD(pseudo_read, id, val);
}

int script_eval_expr(const char *expr, const struct script_env *env,
		     script_resolve_fn resolve, void *resolve_ud,
		     uint64_t *value, struct script_diag *diag)
{
	return script_eval_expr_globals(expr, env, resolve, resolve_ud, NULL, value, diag);
}

int script_eval_expr_globals(const char *expr, const struct script_env *env,
			     script_resolve_fn resolve, void *resolve_ud,
			     struct script_globals *globals, uint64_t *value,
			     struct script_diag *diag)
{
	struct script_compile_opts o = {.sz = sizeof(o), .resolve = resolve, .resolve_ud = resolve_ud};
	struct script_globals *g;
	struct script_prog *p;
	struct eval_ctx ctx = {env, 0, false};
	struct script_env wrap = {0};
	char err[128];
	int rc;

	if (!expr || !value)
		return -EINVAL;
	g = globals ? globals : script_globals_new();
	rc = compile_ex(expr, &o, true, g, &p, diag);
	if (rc < 0) {
		if (g != globals)
			script_globals_free(g);
		return rc;
	}
	wrap.ud = &ctx;
	wrap.reg_read = ev_reg_read;
	wrap.mem_read = ev_mem_read;
	wrap.pseudo_read = ev_pseudo_read;
	wrap.test_statement = eval_capture;
	rc = script_run(p, &wrap, g, err, sizeof(err));
	script_prog_free(p);
	if (g != globals)
		script_globals_free(g);
	if (rc < 0) {
		if (diag) {
			memset(diag, 0, sizeof(*diag));
			diag->line = diag->col = 1;
			snprintf(diag->msg, sizeof(diag->msg), "%s", err);
			snprintf(diag->text, sizeof(diag->text), "%s", expr);
		}
		return rc;
	}
	*value = ctx.value;
	return 0;
}
