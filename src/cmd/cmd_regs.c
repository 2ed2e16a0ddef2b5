/*
** cmd_regs.c: registers. The names of HyperDbg's register set (script.h's
** REGS_ENUM) mapped onto Linux's user_regs_struct, sub-registers and flag
** bits included, and the `r` command.
*/
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/internal.h"
#include "target/target.h"

#define OFF(f) offsetof(struct user_regs_struct, f)

/* A register is `bits` bits of the 64-bit field at `off`, from bit `shift`. */
struct regdef {
	const char *name;
	unsigned short off;
	unsigned char bits, shift;
};

#define GPR(q, d, w, h, l, f) \
	{q, OFF(f), 64, 0}, {d, OFF(f), 32, 0}, {w, OFF(f), 16, 0}, {h, OFF(f), 8, 8}, {l, OFF(f), 8, 0}
#define GPR2(q, d, w, l, f) \
	{q, OFF(f), 64, 0}, {d, OFF(f), 32, 0}, {w, OFF(f), 16, 0}, {l, OFF(f), 8, 0}

static const struct regdef regdefs[] = {
	GPR("rax", "eax", "ax", "ah", "al", rax),
	GPR("rcx", "ecx", "cx", "ch", "cl", rcx),
	GPR("rdx", "edx", "dx", "dh", "dl", rdx),
	GPR("rbx", "ebx", "bx", "bh", "bl", rbx),
	GPR2("rsp", "esp", "sp", "spl", rsp),
	GPR2("rbp", "ebp", "bp", "bpl", rbp),
	GPR2("rsi", "esi", "si", "sil", rsi),
	GPR2("rdi", "edi", "di", "dil", rdi),
	GPR("r8", "r8d", "r8w", "r8h", "r8l", r8),
	GPR("r9", "r9d", "r9w", "r9h", "r9l", r9),
	GPR("r10", "r10d", "r10w", "r10h", "r10l", r10),
	GPR("r11", "r11d", "r11w", "r11h", "r11l", r11),
	GPR("r12", "r12d", "r12w", "r12h", "r12l", r12),
	GPR("r13", "r13d", "r13w", "r13h", "r13l", r13),
	GPR("r14", "r14d", "r14w", "r14h", "r14l", r14),
	GPR("r15", "r15d", "r15w", "r15h", "r15l", r15),
	{"rip", OFF(rip), 64, 0}, {"eip", OFF(rip), 32, 0}, {"ip", OFF(rip), 16, 0},
	{"rflags", OFF(eflags), 64, 0}, {"eflags", OFF(eflags), 32, 0}, {"flags", OFF(eflags), 16, 0},
	{"efl", OFF(eflags), 32, 0},
	{"cf", OFF(eflags), 1, 0}, {"pf", OFF(eflags), 1, 2}, {"af", OFF(eflags), 1, 4},
	{"zf", OFF(eflags), 1, 6}, {"sf", OFF(eflags), 1, 7}, {"tf", OFF(eflags), 1, 8},
	{"if", OFF(eflags), 1, 9}, {"df", OFF(eflags), 1, 10}, {"of", OFF(eflags), 1, 11},
	{"iopl", OFF(eflags), 2, 12}, {"nt", OFF(eflags), 1, 14}, {"rf", OFF(eflags), 1, 16},
	{"vm", OFF(eflags), 1, 17}, {"ac", OFF(eflags), 1, 18}, {"vif", OFF(eflags), 1, 19},
	{"vip", OFF(eflags), 1, 20}, {"id", OFF(eflags), 1, 21},
	{"cs", OFF(cs), 16, 0}, {"ds", OFF(ds), 16, 0}, {"es", OFF(es), 16, 0},
	{"fs", OFF(fs), 16, 0}, {"gs", OFF(gs), 16, 0}, {"ss", OFF(ss), 16, 0},
	{"fs_base", OFF(fs_base), 64, 0}, {"gs_base", OFF(gs_base), 64, 0},
};

static const struct regdef *reg_find(const char *name)
{
	if (name[0] == '@')
		name++;
	for (size_t i = 0; i < HD_ARRAY_SIZE(regdefs); i++)
		if (!strcmp(regdefs[i].name, name))
			return &regdefs[i];
	return NULL;
}

static uint64_t mask(unsigned bits)
{
	return bits >= 64 ? ~0ULL : (1ULL << bits) - 1;
}

int cmd_reg_get(const struct user_regs_struct *r, const char *name, uint64_t *val)
{
	const struct regdef *d = reg_find(name);
	if (!d)
		return -HD_E_NOTFOUND;
	uint64_t v;
	memcpy(&v, (const char *)r + d->off, 8);
	*val = (v >> d->shift) & mask(d->bits);
	return 0;
}

int cmd_reg_put(struct user_regs_struct *r, const char *name, uint64_t val)
{
	const struct regdef *d = reg_find(name);
	if (!d)
		return -HD_E_NOTFOUND;
	uint64_t v, m = mask(d->bits) << d->shift;
	memcpy(&v, (char *)r + d->off, 8);
	v = (v & ~m) | ((val << d->shift) & m);
	memcpy((char *)r + d->off, &v, 8);
	return 0;
}

int cmd_cur_regs(struct cmd_session *s, struct user_regs_struct *r)
{
	TRY(cmd_need_target(s));
	int rc = target_regs_get(s->t, target_thread_current(s->t), r);
	if (rc < 0)
		return cmd_err(s, rc, "cannot read the registers of thread %d: %s",
			       (int)target_thread_current(s->t), hd_strerror(rc));
	return 0;
}

static void print_all(struct cmd_session *s, const struct user_regs_struct *r)
{
	static const char *const fl[][3] = {
		/* name, set, clear: WinDbg's flag mnemonics */
		{"of", "ov", "nv"}, {"df", "dn", "up"}, {"if", "ei", "di"}, {"sf", "ng", "pl"},
		{"zf", "zr", "nz"}, {"af", "ac", "na"}, {"pf", "pe", "po"}, {"cf", "cy", "nc"},
	};
	cmd_out(s, "rax=%016llx rbx=%016llx rcx=%016llx\n"
		   "rdx=%016llx rsi=%016llx rdi=%016llx\n"
		   "rip=%016llx rsp=%016llx rbp=%016llx\n"
		   " r8=%016llx  r9=%016llx r10=%016llx\n"
		   "r11=%016llx r12=%016llx r13=%016llx\n"
		   "r14=%016llx r15=%016llx\n",
		r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi, r->rip, r->rsp, r->rbp,
		r->r8, r->r9, r->r10, r->r11, r->r12, r->r13, r->r14, r->r15);
	struct hd_buf b = {0};
	uint64_t v;
	IGNORE(cmd_reg_get(r, "iopl", &v));
	hd_buf_printf(&b, "iopl=%llu        ", (unsigned long long)v);
	for (size_t i = 0; i < HD_ARRAY_SIZE(fl); i++) {
		IGNORE(cmd_reg_get(r, fl[i][0], &v));
		hd_buf_printf(&b, " %s", v ? fl[i][1] : fl[i][2]);
	}
	cmd_out(s, "%s\n", hd_buf_str(&b));
	hd_buf_free(&b);
	cmd_out(s, "cs=%04llx  ss=%04llx  ds=%04llx  es=%04llx  fs=%04llx  gs=%04llx"
		   "             efl=%08llx\n",
		r->cs, r->ss, r->ds, r->es, r->fs, r->gs, r->eflags);
}

static int set_reg(struct cmd_session *s, const char *lhs, const char *rhs)
{
	struct user_regs_struct r;
	uint64_t v;
	if (!reg_find(lhs))
		return cmd_err(s, -HD_E_NOTFOUND, "unknown register '%s'", lhs);
	if (!*rhs)
		return cmd_err(s, -HD_E_PARSE, "missing value after '=' for register '%s'", lhs);
	TRY(cmd_cur_regs(s, &r));
	TRY(cmd_eval(s, rhs, &v));
	IGNORE(cmd_reg_put(&r, lhs, v));
	int rc = target_regs_set(s->t, target_thread_current(s->t), &r);
	if (rc < 0)
		return cmd_err(s, rc, "cannot set register '%s': %s", lhs, hd_strerror(rc));
	return 0;
}

int cmd_do_r(struct cmd_session *s, const struct cmd_args *a)
{
	struct user_regs_struct r;
	if (a->tk->n == 1) {
		TRY(cmd_cur_regs(s, &r));
		print_all(s, &r);
		return 0;
	}
	char *text = cmd_join(a->tk, 1);
	char *eq = strchr(text, '=');
	int rc;
	if (eq) {
		char *lhs = text, *rhs = eq + 1;
		*eq = '\0';
		while (*lhs == ' ')
			lhs++;
		for (char *e = eq; e > lhs && e[-1] == ' ';)
			*--e = '\0';
		while (*rhs == ' ')
			rhs++;
		rc = set_reg(s, lhs, rhs);
		free(text);
		cmd_set_repeat(s, NULL);
		return rc;
	}
	free(text);
	/* r REG [REG...] */
	for (int i = 1; i < a->tk->n; i++)
		if (!reg_find(a->tk->v[i].text))
			return cmd_err(s, -HD_E_NOTFOUND, "unknown register '%s'", a->tk->v[i].text);
	TRY(cmd_cur_regs(s, &r));
	for (int i = 1; i < a->tk->n; i++) {
		const char *n = a->tk->v[i].text;
		const struct regdef *d = reg_find(n);
		uint64_t v;
		IGNORE(cmd_reg_get(&r, n, &v));
		cmd_out(s, "%s=%0*llx\n", d->name, d->bits < 4 ? 1 : d->bits / 4, (unsigned long long)v);
	}
	return 0;
}
