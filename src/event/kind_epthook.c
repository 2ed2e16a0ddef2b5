/*
** kind_epthook.c: `!epthook ADDR`, the hidden breakpoint. A free hardware
** execute breakpoint first (no byte of the target changes; the kernel sets
** RF so the thread resumes without a step), otherwise an int3 whose
** displaced instruction the target layer runs out of line; memory commands
** show the original bytes either way. Several events on one address share
** one hook (reference counted). Context = ADDR; no sc, no stages.
**
** One stop per event (docs/agent.md): when every event at the address runs
** only in the target (custom code, conditions), event_epthook_onestop()
** sends the thread through the agent's one-stop runner instead of running
** the occurrence in hdbg: rip = the hook's entry, resume. The runner runs
** the conditions and codes newest first and continues at the displaced
** instruction (target_ool_stub). A crash of one of its blocks comes back
** as a signal stop with rip in the arena: reported, the registers of the
** stop restored, the older events run the ordinary way.
*/
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/user.h>

#include "agent/agent.h"
#include "event/internal.h"
#include "target/target.h"

/* Largest number of events on one address that take the one-stop path. */
#define ONESTOP_MAX 32

struct hook {
	uint64_t addr;
	int slot;   /* debug register, or -1 for an int3 */
	int refs;
	struct hook *next;
	/* one stop per event: the agent entry for the list of events below */
	uint64_t entry;  /* 0: not built */
	uint64_t cont;   /* target_ool_stub(addr) it jumps to */
	int nops;
	struct agent_onestop_op ops[ONESTOP_MAX];
	uint32_t ids[ONESTOP_MAX];
};

/* A thread sent into the one-stop runner: its registers at the stop, to
 * restore them if a block crashes. Overwritten by its next hit. */
struct flight {
	pid_t tid;
	uint64_t addr, cont, entry;
	struct user_regs_struct g;
};

struct ept_state {
	struct hook *hooks;
	struct flight *fl;
	int nfl, capfl;
};

static struct ept_state *state(struct event_table *tab)
{
	struct ept_state **sp = (struct ept_state **)&tab->kstate[EVENT_KIND_EPTHOOK];
	if (!*sp)
		*sp = hd_xcalloc(1, sizeof(**sp));
	return *sp;
}

static struct hook **hooks(struct event_table *tab)
{
	return &state(tab)->hooks;
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
			hd_buf_printf(out, "err, couldn't resolve error at '%s' in the new program\n",
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
	return event_resume(tab, occ->tid, EVENT_RESUME_INSN, 0);
}

static void reset(struct event_table *tab)
{
	struct ept_state *st = tab->kstate[EVENT_KIND_EPTHOOK];
	if (!st)
		return;
	struct hook *h = st->hooks;
	while (h) {
		struct hook *n = h->next;
		free(h);
		h = n;
	}
	free(st->fl);
	free(st);
	tab->kstate[EVENT_KIND_EPTHOOK] = NULL;
}

/* ---- one stop per event ---- */

static struct flight *flight_find(struct ept_state *st, pid_t tid)
{
	for (int i = 0; i < st->nfl; i++)
		if (st->fl[i].tid == tid)
			return &st->fl[i];
	return NULL;
}

static struct flight *flight_get(struct ept_state *st, pid_t tid)
{
	struct flight *f = flight_find(st, tid);
	if (f)
		return f;
	if (st->nfl == st->capfl) {
		st->capfl = st->capfl ? 2 * st->capfl : 8;
		st->fl = hd_xrealloc(st->fl, (size_t)st->capfl * sizeof(st->fl[0]));
	}
	f = &st->fl[st->nfl++];
	memset(f, 0, sizeof(*f));
	f->tid = tid;
	return f;
}

static void flight_drop(struct ept_state *st, struct flight *f)
{
	*f = st->fl[--st->nfl];
}

/* The events the occurrence at `h` would run, newest first, as one-stop
 * ops. @return their count, 0 when none would run, -1 when one of them
 * needs the debugger at the stop (script, break, core filter...). */
static int onestop_list(struct event_table *tab, const struct hook *h,
			struct agent_onestop_op *ops, uint32_t *ids)
{
	uint32_t pid = (uint32_t)target_pid(tab->t);
	int n = 0;
	for (int i = tab->n - 1; i >= 0; i--) {
		const struct event *e = tab->v[i];
		if (!e->enabled || e->cleared || e->kind != EVENT_KIND_EPTHOOK ||
		    e->param[0] != h->addr || (e->pid != EVENT_ALL && e->pid != pid))
			continue;
		/* an event without code breaks: in the runner only behind a condition */
		if (e->script || (!e->code.present && !e->cond.present) ||
		    (e->code.present && !e->code.addr) || (e->cond.present && !e->cond.addr) ||
		    e->core != EVENT_ALL || e->stage != EVENT_STAGE_PRE || n == ONESTOP_MAX)
			return -1;
		ops[n] = (struct agent_onestop_op){e->cond.present ? e->cond.addr : 0,
						   e->code.present ? e->code.addr : AGENT_ONESTOP_BREAK,
						   e->code_buf, h->addr};
		ids[n++] = e->id;
	}
	return n;
}

/* (Re)build the hook's agent entry when its events or continuation changed.
 * A replaced entry is left in the arena: a thread may still be inside it. */
static int onestop_entry(struct event_table *tab, struct hook *h)
{
	struct agent_onestop_op ops[ONESTOP_MAX];
	uint32_t ids[ONESTOP_MAX];
	uint64_t cont, entry;
	int n = onestop_list(tab, h, ops, ids);
	if (n <= 0)
		return -1;
	if (target_ool_stub(tab->t, h->addr, &cont) < 0)
		return -1;
	if (h->entry && h->cont == cont && h->nops == n &&
	    !memcmp(h->ops, ops, (size_t)n * sizeof(ops[0])) &&
	    !memcmp(h->ids, ids, (size_t)n * sizeof(ids[0])))
		return 0;
	if (agent_onestop_load(tab->agent, ops, n, cont, &entry) < 0)
		return -1;
	h->entry = entry;
	h->cont = cont;
	h->nops = n;
	memcpy(h->ops, ops, (size_t)n * sizeof(ops[0]));
	memcpy(h->ids, ids, (size_t)n * sizeof(ids[0]));
	return 0;
}

static bool sync_fault(const struct target_stop *st)
{
	switch (st->signo) {
	case SIGSEGV: case SIGBUS: case SIGILL: case SIGFPE: case SIGTRAP: case SIGSYS:
		return st->siginfo.si_code > 0;
	default:
		return false;
	}
}

/* A block run by the one-stop runner faulted (rip in the arena): report it
 * as agent_run_code() would, give the thread its registers from the stop
 * back (at the continuation: the displaced instruction runs next) and run
 * the older events of that occurrence the ordinary way (a crashing
 * condition counts as false). */
static int onestop_crash(struct event_table *tab, const struct target_stop *stp,
			 struct event_verdict *v)
{
	struct ept_state *st = state(tab);
	struct user_regs_struct r;
	struct flight *f;
	if (!tab->agent || !sync_fault(stp) || !(f = flight_find(st, stp->tid)))
		return 0;
	if (target_regs_get(tab->t, stp->tid, &r) < 0 || !agent_in_arena(tab->agent, r.rip))
		return 0;
	struct hook *h = hook_at(tab, f->addr);
	if (h && h->entry != f->entry)
		h = NULL; /* its events changed since: the thread ran an older list */
	struct agent_crash c = {stp->signo, stp->siginfo.si_code, r.rip,
				(uint64_t)(uintptr_t)stp->siginfo.si_addr, false};
	const char *what = "custom code";
	uint64_t start = 0;
	uint32_t below = 0;
	bool found = false;
	if (agent_block_find(tab->agent, r.rip, &start) < 0)
		start = 0;
	for (int i = 0; h && i < h->nops && !found; i++) {
		if (start && (start == h->ops[i].cond || start == h->ops[i].code)) {
			found = c.in_block = true;
			what = start == h->ops[i].cond ? "condition" : "custom code";
			below = h->ids[i];
		}
	}
	if (!found && h && h->nops)
		below = h->ids[0]; /* outside the blocks: blame the first event */
	if (h && h->nops)
		event_crash_text(&v->text, below, what, &c);
	struct user_regs_struct g = f->g;
	g.rip = f->cont;
	struct event_occ occ = {.kind = EVENT_KIND_EPTHOOK, .tid = stp->tid,
				.stage = EVENT_STAGE_PRE, .context = f->addr, .key = f->addr};
	flight_drop(st, f);
	TRY(target_regs_set(tab->t, stp->tid, &g));
	TRY(event_occ_continue(tab, &occ, below, v));
	return 1;
}

/* The condition of a condition-only event held in the runner: the thread
 * sits at the runner's break trap. It becomes the occurrence's break, as
 * if hdbg had run the newer events itself: back at the hook's address with
 * GUEST_REGS as the blocks left them (the next resume runs the displaced
 * instruction); `g` runs the older events. */
static int onestop_break(struct event_table *tab, const struct target_stop *stp,
			 struct event_verdict *v)
{
	struct ept_state *st = state(tab);
	struct agent_guest_regs gr;
	struct flight *f;
	int op = 0;
	if (!tab->agent || stp->signo != SIGTRAP || !(f = flight_find(st, stp->tid)))
		return 0;
	int rc = agent_onestop_trapped(tab->agent, stp->tid, &gr, &op);
	if (rc <= 0)
		return rc;
	struct hook *h = hook_at(tab, f->addr);
	struct user_regs_struct r = f->g;
	r.rax = gr.rax; r.rcx = gr.rcx; r.rdx = gr.rdx; r.rbx = gr.rbx;
	r.rsp = gr.rsp; r.rbp = gr.rbp; r.rsi = gr.rsi; r.rdi = gr.rdi;
	r.r8 = gr.r8; r.r9 = gr.r9; r.r10 = gr.r10; r.r11 = gr.r11;
	r.r12 = gr.r12; r.r13 = gr.r13; r.r14 = gr.r14; r.r15 = gr.r15;
	struct event_occ occ = {.kind = EVENT_KIND_EPTHOOK, .tid = stp->tid,
				.stage = EVENT_STAGE_PRE, .context = f->addr, .key = f->addr};
	bool same = h && h->entry == f->entry && op < h->nops;
	uint32_t id = same ? h->ids[op] : 0;
	flight_drop(st, f);
	TRY(target_regs_set(tab->t, stp->tid, &r));
	if (target_bp_at(tab->t, occ.key))
		TRY(target_bp_hit_set(tab->t, stp->tid, occ.key));
	if (!same) /* the hook's events changed meanwhile: no break to show */
		TRY(event_occ_continue(tab, &occ, 0, v));
	else
		TRY(event_occ_break_at(tab, &occ, id, v));
	return 1;
}

int event_epthook_onestop(struct event_table *tab, const struct target_stop *stp,
			  struct event_verdict *v)
{
	struct user_regs_struct g;
	struct ept_state *st = tab->kstate[EVENT_KIND_EPTHOOK];
	if (!st)
		return 0;
	if (stp->kind == TARGET_STOP_SIGNAL) {
		int rc = onestop_break(tab, stp, v);
		return rc != 0 ? rc : onestop_crash(tab, stp, v);
	}
	if (stp->kind == TARGET_STOP_THREAD_EXIT) {
		struct flight *f = flight_find(st, stp->tid);
		if (f)
			flight_drop(st, f);
		return 0;
	}
	if (tab->onestop_off || !tab->agent ||
	    (stp->kind != TARGET_STOP_BREAKPOINT && stp->kind != TARGET_STOP_HWBP))
		return 0;
	struct hook *h = hook_at(tab, stp->addr);
	if (!h || (stp->kind == TARGET_STOP_HWBP) != (h->slot >= 0) ||
	    (stp->kind == TARGET_STOP_HWBP && stp->slot != h->slot))
		return 0;
	if (onestop_entry(tab, h) < 0 || target_regs_get(tab->t, stp->tid, &g) < 0)
		return 0;
	struct flight *f = flight_get(st, stp->tid);
	f->addr = h->addr;
	f->cont = h->cont;
	f->entry = h->entry;
	f->g = g;
	g.rip = h->entry;
	TRY(target_regs_set(tab->t, stp->tid, &g));
	TRY(target_resume(tab->t, stp->tid, TARGET_RESUME_CONT, 0));
	v->kind = EVENT_VERDICT_RESUMED;
	v->tid = stp->tid;
	return 1;
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
