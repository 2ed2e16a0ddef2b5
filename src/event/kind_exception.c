/*
** kind_exception.c: `!exception [SIGNO]`, a signal about to be delivered
** to a thread (the signal-delivery stop). Context = the signal number; sc
** suppresses the signal; the post stage runs once the signal was delivered
** (the thread stands at its handler's first instruction, or one
** instruction further when the signal is ignored; a fatal signal ends the
** process and there is no post stage).
**
** Only signals that some enabled !exception event wants are claimed: the
** others stay with the debugger's ordinary signal handling. SIGSEGVs that
** !tsc/!cpuid emulate are theirs (they come later in kinds.def).
*/
#include <stdlib.h>

#include "event/internal.h"
#include "target/target.h"

struct post {
	pid_t tid;
	int signo;
	struct post *next;
};

static struct post **posts(struct event_table *tab)
{
	return (struct post **)&tab->kstate[EVENT_KIND_EXCEPTION];
}

static struct post *post_take(struct event_table *tab, pid_t tid)
{
	for (struct post **pp = posts(tab); *pp; pp = &(*pp)->next)
		if ((*pp)->tid == tid) {
			struct post *p = *pp;
			*pp = p->next;
			return p;
		}
	return NULL;
}

static int parse(struct event_parse *p, struct event *e)
{
	uint64_t sig = 0;
	if (p->n > 2) {
		hd_buf_printf(p->out, "unknown parameter '%s'\n", p->tk[2].text);
		return -HD_E_PARSE;
	}
	if (p->n == 2 && (!event_parse_u64(p->tk[1].text, &sig) || sig < 1 || sig > 64)) {
		hd_buf_printf(p->out, "err, the signal number '%s' is invalid (1 to 0x40)\n",
			      p->tk[1].text);
		return -HD_E_RANGE;
	}
	e->param[0] = sig; /* 0: every signal */
	return 0;
}

static bool wanted(struct event_table *tab, int signo)
{
	for (int i = 0; i < tab->n; i++) {
		const struct event *e = tab->v[i];
		if (e->kind == EVENT_KIND_EXCEPTION && e->enabled && !e->cleared &&
		    (!e->param[0] || e->param[0] == (uint64_t)signo))
			return true;
	}
	return false;
}

/* A fault that another kind emulates. */
static bool emulated(struct event_table *tab, const struct target_stop *st)
{
	enum target_insn in;
	if (!emul_armed(tab, EVENT_KIND_TSC) && !emul_armed(tab, EVENT_KIND_CPUID))
		return false;
	in = target_trap_insn(tab->t, st);
	if (in == TARGET_INSN_CPUID)
		return emul_armed(tab, EVENT_KIND_CPUID);
	return in != TARGET_INSN_NONE && emul_armed(tab, EVENT_KIND_TSC);
}

static bool claim(struct event_table *tab, const struct target_stop *st, struct event_occ *occ)
{
	if (st->kind == TARGET_STOP_STEP) {
		struct post *p = post_take(tab, st->tid);
		if (!p)
			return false;
		occ->stage = EVENT_STAGE_POST;
		occ->context = occ->key = (uint64_t)p->signo;
		free(p);
		return true;
	}
	if (st->kind != TARGET_STOP_SIGNAL || !wanted(tab, st->signo) || emulated(tab, st))
		return false;
	occ->context = occ->key = (uint64_t)st->signo;
	return true;
}

static bool match(const struct event *e, const struct event_occ *occ)
{
	return !e->param[0] || e->param[0] == occ->key;
}

static int finish(struct event_table *tab, struct event_occ *occ, bool sc, bool post)
{
	int signo = sc ? 0 : (int)occ->key;
	if (occ->stage == EVENT_STAGE_POST)
		return event_resume(tab, occ->tid, EVENT_RESUME_DONE, 0);
	if (post) {
		/* deliver with a single step: the stop after it is the post pass */
		struct post *p = hd_xcalloc(1, sizeof(*p));
		p->tid = occ->tid;
		p->signo = (int)occ->key;
		p->next = *posts(tab);
		*posts(tab) = p;
		return target_resume_step(tab->t, occ->tid, signo);
	}
	/* suppressed: the thread stands where the signal left it (a step ends
	 * there); else the delivery (a step ends at the handler) */
	return event_resume(tab, occ->tid, signo ? EVENT_RESUME_INSN : EVENT_RESUME_DONE, signo);
}

static void reset(struct event_table *tab)
{
	struct post *p = *posts(tab);
	while (p) {
		struct post *n = p->next;
		free(p);
		p = n;
	}
	*posts(tab) = NULL;
}

const struct event_kind_ops event_ops_exception = {
	.parse = parse,
	.claim = claim,
	.match = match,
	.finish = finish,
	.reset = reset,
};
