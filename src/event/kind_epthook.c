/*
** kind_epthook.c: `!epthook ADDR`, the hidden breakpoint. A free hardware
** execute breakpoint first (no byte of the target changes; the kernel sets
** RF so the thread resumes without a step), otherwise an int3 whose
** displaced instruction the target layer runs out of line; memory commands
** show the original bytes either way. Several events on one address share
** one hook (reference counted). Context = ADDR; no sc, no stages.
*/
#include <stdlib.h>
#include <string.h>

#include "event/internal.h"
#include "target/target.h"

struct hook {
	uint64_t addr;
	int slot;   /* debug register, or -1 for an int3 */
	int refs;
	struct hook *next;
};

static struct hook **hooks(struct event_table *tab)
{
	return (struct hook **)&tab->kstate[EVENT_KIND_EPTHOOK];
}

static struct hook *hook_at(struct event_table *tab, uint64_t addr)
{
	for (struct hook *h = *hooks(tab); h; h = h->next)
		if (h->addr == addr)
			return h;
	return NULL;
}

static int parse(struct event_parse *p, struct event *e)
{
	uint64_t addr = 0;
	struct script_diag d;
	if (p->orig_n < 2) {
		hd_buf_printf(p->out, "incorrect use of the '!epthook'\n");
		return -HD_E_PARSE;
	}
	for (int i = 1; i < p->n; i++) {
		if (i > 1) {
			hd_buf_printf(p->out, "unknown parameter '%s'\n", p->tk[i].text);
			return -HD_E_PARSE;
		}
		memset(&d, 0, sizeof(d));
		if (script_eval_expr(p->tk[i].text, p->eval_env, p->tab->host.resolve,
				     p->tab->host.resolve_ud, &addr, &d) < 0) {
			hd_buf_printf(p->out, "err, couldn't resolve error at '%s'\n", p->tk[i].text);
			return -HD_E_NOSYM;
		}
	}
	if (addr == 0) {
		hd_buf_printf(p->out, "please choose an address to put the hidden breakpoint on it\n");
		return -HD_E_PARSE;
	}
	e->param[0] = addr;
	if (p->n > 1)
		e->kdata = hd_xstrdup(p->tk[1].text);
	return 0;
}

/* After execve the address is computed again from its text (symbols of the
 * new program; registers read as 0). */
static int exec_rearm(struct event_table *tab, struct event *e, struct hd_buf *out)
{
	struct script_diag d;
	uint64_t addr = 0;
	memset(&d, 0, sizeof(d));
	if (!e->kdata || script_eval_expr(e->kdata, NULL, tab->host.resolve, tab->host.resolve_ud,
					  &addr, &d) < 0 || !addr) {
		if (out)
			hd_buf_printf(out, "err, couldn't resolve error at '%s' after execve\n",
				      e->kdata ? (const char *)e->kdata : "?");
		return -HD_E_NOSYM;
	}
	e->param[0] = addr;
	return 0;
}

static void free_kdata(struct event *e)
{
	free(e->kdata);
	e->kdata = NULL;
}

static int arm(struct event_table *tab, struct event *e, pid_t tid)
{
	(void)tid;
	struct hook *h = hook_at(tab, e->param[0]);
	if (h) {
		h->refs++;
		return 0;
	}
	/* a debug register would accept any address: check it is mapped */
	uint8_t byte;
	TRY(target_mem_read(tab->t, e->param[0], &byte, 1));
	int slot = target_hw_set(tab->t, e->param[0], TARGET_HW_EXEC, 1);
	if (slot == -HD_E_NOSLOT) {
		slot = -1;
		TRY(target_bp_insert(tab->t, e->param[0]));
	} else if (slot < 0) {
		return slot;
	}
	h = hd_xcalloc(1, sizeof(*h));
	h->addr = e->param[0];
	h->slot = slot;
	h->refs = 1;
	h->next = *hooks(tab);
	*hooks(tab) = h;
	return 0;
}

static void disarm(struct event_table *tab, struct event *e)
{
	for (struct hook **pp = hooks(tab); *pp; pp = &(*pp)->next) {
		struct hook *h = *pp;
		if (h->addr != e->param[0])
			continue;
		if (--h->refs > 0)
			return;
		if (h->slot >= 0)
			IGNORE_RC(target_hw_clear(tab->t, h->slot));
		else
			IGNORE_RC(target_bp_remove(tab->t, h->addr));
		*pp = h->next;
		free(h);
		return;
	}
}

static bool claim(struct event_table *tab, const struct target_stop *st, struct event_occ *occ)
{
	struct hook *h;
	if (st->kind == TARGET_STOP_BREAKPOINT)
		h = hook_at(tab, st->addr);
	else if (st->kind == TARGET_STOP_HWBP)
		h = hook_at(tab, st->addr);
	else
		return false;
	if (!h || (st->kind == TARGET_STOP_HWBP) != (h->slot >= 0))
		return false;
	if (st->kind == TARGET_STOP_HWBP && st->slot != h->slot)
		return false;
	occ->context = h->addr;
	occ->key = h->addr;
	return true;
}

static bool match(const struct event *e, const struct event_occ *occ)
{
	return e->param[0] == occ->key;
}

static int finish(struct event_table *tab, struct event_occ *occ, bool sc, bool post)
{
	(void)sc;
	(void)post;
	return target_resume(tab->t, occ->tid, TARGET_RESUME_CONT, 0);
}

static void reset(struct event_table *tab)
{
	struct hook *h = *hooks(tab);
	while (h) {
		struct hook *n = h->next;
		free(h);
		h = n;
	}
	*hooks(tab) = NULL;
}

const struct event_kind_ops event_ops_epthook = {
	.parse = parse,
	.arm = arm,
	.disarm = disarm,
	.claim = claim,
	.match = match,
	.finish = finish,
	.free = free_kdata,
	.exec = exec_rearm,
	.reset = reset,
};
