/*
** cmd_sym.c: symbol commands: `u` (disassembly with module!symbol labels,
** raw bytes and source lines), `k` (call stack), `lm` (modules) and `x`
** (symbol search), plus the instruction printer used when a thread stops.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asm/asm.h"
#include "cmd/internal.h"
#include "sym/sym.h"
#include "target/target.h"

int cmd_symbolize(void *ud, uint64_t addr, char *buf, size_t len)
{
	struct cmd_session *s = ud;
	if (!s->sym)
		return -HD_E_NOSYM;
	return sym_addr_name(s->sym, addr, buf, len);
}

void cmd_addr_name(struct cmd_session *s, uint64_t addr, char *buf, size_t len)
{
	if (cmd_symbolize(s, addr, buf, len) < 0)
		snprintf(buf, len, "%016llx", (unsigned long long)addr);
}

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');
	return b ? b + 1 : path;
}

/* The source line of `addr`, printed when it differs from *last. */
static void print_source(struct cmd_session *s, uint64_t addr, char *last, size_t lastlen)
{
	const char *file;
	int line;
	char cur[512];
	if (!s->sym || sym_addr_line(s->sym, addr, &file, &line) < 0)
		return;
	snprintf(cur, sizeof(cur), "%s:%d", base_name(file), line);
	if (last && !strcmp(cur, last))
		return;
	cmd_out(s, "; %s\n", cur);
	if (last)
		snprintf(last, lastlen, "%s", cur);
}

static int print_one(struct cmd_session *s, uint64_t addr, bool label, char *last, size_t lastlen)
{
	uint8_t code[16];
	struct asm_insn in;
	char name[512], bytes[40];
	size_t n = sizeof(code);

	/* read as much of 16 bytes as is mapped */
	while (n && target_mem_read(s->t, addr, code, n) < 0)
		n--;
	if (!n)
		return cmd_err(s, -HD_E_BADADDR, "cannot read memory at %016llx", (unsigned long long)addr);
	if (s->sym && sym_addr_name(s->sym, addr, name, sizeof(name)) == 0 &&
	    (label || !strchr(name, '+')))
		cmd_out(s, "%s:\n", name);
	print_source(s, addr, last, lastlen);
	(void)asm_disasm_one(code, n, addr, cmd_symbolize, s, &in);
	bytes[0] = '\0';
	for (int i = 0; i < in.len && i < 15; i++)
		snprintf(bytes + 2 * i, sizeof(bytes) - 2 * (size_t)i, "%02x", in.bytes[i]);
	cmd_out(s, "%016llx %-16s %s\n", (unsigned long long)addr, bytes, in.text);
	return in.len ? in.len : 1;
}

int cmd_print_insn(struct cmd_session *s, uint64_t addr, bool label)
{
	return print_one(s, addr, label, NULL, 0);
}

/* Parse "[ADDR] [l COUNT]" (shared shape of d* and u). */
int cmd_parse_range(struct cmd_session *s, const struct cmd_args *a, uint64_t *addr,
		    bool *have_addr, uint64_t *count)
{
	const struct cmd_tokens *tk = a->tk;
	int i = 1;
	*have_addr = false;
	if (i < tk->n && strcmp(tk->v[i].text, "l") && strcmp(tk->v[i].text, "L")) {
		TRY(cmd_eval(s, tk->v[i].text, addr));
		*have_addr = true;
		i++;
	}
	if (i < tk->n) {
		if (strcmp(tk->v[i].text, "l") && strcmp(tk->v[i].text, "L"))
			return cmd_err(s, -HD_E_PARSE, "unexpected argument '%s' (expected 'l COUNT')",
				       tk->v[i].text);
		if (i + 1 >= tk->n)
			return cmd_err(s, -HD_E_PARSE, "missing count after '%s'", tk->v[i].text);
		TRY(cmd_eval(s, tk->v[i + 1].text, count));
		if (*count == 0 || *count > 0x100000)
			return cmd_err(s, -HD_E_RANGE, "count '%s' out of range (1..0x100000)",
				       tk->v[i + 1].text);
		i += 2;
	}
	if (i < tk->n)
		return cmd_err(s, -HD_E_PARSE, "too many arguments at '%s'", tk->v[i].text);
	return 0;
}

int cmd_do_u(struct cmd_session *s, const struct cmd_args *a)
{
	uint64_t addr = 0, count = 8;
	bool have;
	struct user_regs_struct r;
	char last[512] = "";
	TRY(cmd_parse_range(s, a, &addr, &have, &count));
	TRY(cmd_need_target(s));
	if (!have) {
		TRY(cmd_cur_regs(s, &r));
		addr = r.rip;
	}
	for (uint64_t i = 0; i < count; i++) {
		int n = print_one(s, addr, i == 0, last, sizeof(last));
		if (n < 0)
			return n;
		addr += (uint64_t)n;
	}
	char next[96];
	snprintf(next, sizeof(next), "u %llx l %llx", (unsigned long long)addr,
		 (unsigned long long)count);
	cmd_set_repeat(s, next);
	return 0;
}

/* ---- k ---- */

static int unwind_read(void *ud, uint64_t addr, void *buf, size_t len)
{
	struct cmd_session *s = ud;
	return target_mem_read(s->t, addr, buf, len);
}

int cmd_do_k(struct cmd_session *s, const struct cmd_args *a)
{
	struct user_regs_struct r;
	struct sym_frame fr[65]; /* one more than shown: the last RetAddr */
	uint64_t max = 64;
	if (a->tk->n > 2)
		return cmd_err(s, -HD_E_PARSE, "too many arguments at '%s'", a->tk->v[2].text);
	if (a->tk->n == 2) {
		TRY(cmd_eval(s, a->tk->v[1].text, &max));
		if (max == 0 || max > 64)
			return cmd_err(s, -HD_E_RANGE, "frame count '%s' out of range (1..0x40)",
				       a->tk->v[1].text);
	}
	TRY(cmd_cur_regs(s, &r));
	if (!s->sym)
		return cmd_err(s, -HD_E_NOSYM, "no symbols for the target");
	const uint64_t dw[16] = {r.rax, r.rdx, r.rcx, r.rbx, r.rsi, r.rdi, r.rbp, r.rsp,
				 r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15};
	int n = sym_unwind(s->sym, dw, r.rip, unwind_read, s, fr, (int)max + 1);
	if (n <= 0)
		return cmd_err(s, n < 0 ? n : -HD_E_NOTFOUND, "cannot unwind the stack from %016llx",
			       (unsigned long long)r.rip);
	cmd_out(s, " # Child-SP         RetAddr          Call Site\n");
	for (int i = 0; i < n && i < (int)max; i++) {
		char name[512], src[512] = "";
		const char *file;
		int line;
		cmd_addr_name(s, fr[i].pc, name, sizeof(name));
		/* a return address belongs to the line of its call */
		uint64_t at = i ? fr[i].pc - 1 : fr[i].pc;
		if (sym_addr_line(s->sym, at, &file, &line) == 0)
			snprintf(src, sizeof(src), " [%s @ %d]", base_name(file), line);
		cmd_out(s, "%02x %016llx %016llx %s%s\n", i, (unsigned long long)fr[i].sp,
			(unsigned long long)(i + 1 < n ? fr[i + 1].pc : 0), name, src);
	}
	return 0;
}

/* ---- lm, x ---- */

static int print_module(void *ud, const struct sym_module *m)
{
	struct cmd_session *s = ud;
	cmd_out(s, "%016llx %016llx %-12s %s\n", (unsigned long long)m->start,
		(unsigned long long)m->end, m->name, m->path);
	return 0;
}

int cmd_do_lm(struct cmd_session *s, const struct cmd_args *a)
{
	if (a->tk->n > 1)
		return cmd_err(s, -HD_E_PARSE, "too many arguments at '%s'", a->tk->v[1].text);
	TRY(cmd_need_target(s));
	if (!s->sym)
		return cmd_err(s, -HD_E_NOSYM, "no symbols for the target");
	IGNORE(sym_refresh(s->sym));
	cmd_out(s, "start            end              module       path\n");
	return sym_modules(s->sym, print_module, s);
}

struct xctx {
	struct cmd_session *s;
	int count;
};

static int print_symbol(void *ud, const char *module, const char *name, uint64_t addr)
{
	struct xctx *x = ud;
	x->count++;
	cmd_out(x->s, "%016llx %s!%s\n", (unsigned long long)addr, module, name);
	return 0;
}

int cmd_do_x(struct cmd_session *s, const struct cmd_args *a)
{
	if (a->tk->n != 2)
		return cmd_err(s, -HD_E_PARSE, a->tk->n < 2 ? "missing pattern (usage: x PATTERN)%s" :
			       "too many arguments at '%s'", a->tk->n < 2 ? "" : a->tk->v[2].text);
	TRY(cmd_need_target(s));
	if (!s->sym)
		return cmd_err(s, -HD_E_NOSYM, "no symbols for the target");
	struct xctx x = {s, 0};
	int rc = sym_search(s->sym, a->tk->v[1].text, print_symbol, &x);
	if (rc < 0)
		return cmd_err(s, rc, "cannot search '%s': %s", a->tk->v[1].text, hd_strerror(rc));
	if (!x.count)
		return cmd_err(s, -HD_E_NOSYM, "no symbol matches '%s'", a->tk->v[1].text);
	return 0;
}
