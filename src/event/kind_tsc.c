/*
** kind_tsc.c: `!tsc`, rdtsc/rdtscp executed. PR_SET_TSC(PR_TSC_SIGSEGV)
** in every thread of the target makes them fault; hdbg recognises the
** instruction at the fault and emulates it with its own TSC (rdtscp also
** sets rcx = TSC_AUX), so the signal never reaches the target. Context
** 0 = rdtsc, 1 = rdtscp. sc skips the emulation: the instruction is
** stepped over and the script's @rax/@rdx (and @rcx) are its result.
** Post stage: after the emulation; the same stop is queued once more and
** claimed as the post pass. Disarming the last !tsc allows rdtsc again.
*/
#include <stdlib.h>

#include "event/internal.h"
#include "target/target.h"

struct state {
	int armed;
	pid_t post[64]; /* threads whose queued stop is a post pass */
	int npost;
};

static struct state *st_of(struct event_table *tab)
{
	return tab->kstate[EVENT_KIND_TSC];
}

static int parse(struct event_parse *p, struct event *e)
{
	(void)e;
	if (p->n > 1) {
		hd_buf_printf(p->out, "unknown parameter '%s'\n", p->tk[1].text);
		return -HD_E_PARSE;
	}
	return 0;
}

static int arm(struct event_table *tab, struct event *e, pid_t tid)
{
	(void)e;
	(void)tid;
	struct state *s = st_of(tab);
	if (!s) {
		int rc = target_tsc_trap(tab->t, true);
		if (rc < 0) {
			IGNORE_RC(target_tsc_trap(tab->t, false));
			return rc;
		}
		s = hd_xcalloc(1, sizeof(*s));
		tab->kstate[EVENT_KIND_TSC] = s;
	}
	s->armed++;
	return 0;
}

static void reset(struct event_table *tab)
{
	free(tab->kstate[EVENT_KIND_TSC]);
	tab->kstate[EVENT_KIND_TSC] = NULL;
}

static void disarm(struct event_table *tab, struct event *e)
{
	(void)e;
	struct state *s = st_of(tab);
	if (!s || --s->armed > 0)
		return;
	IGNORE_RC(target_tsc_trap(tab->t, false));
	reset(tab);
}

static bool post_take(struct state *s, pid_t tid)
{
	for (int i = 0; i < s->npost; i++)
		if (s->post[i] == tid) {
			s->post[i] = s->post[--s->npost];
			return true;
		}
	return false;
}

static bool claim(struct event_table *tab, const struct target_stop *st, struct event_occ *occ)
{
	struct state *s = st_of(tab);
	if (!s)
		return false;
	if (st->kind == TARGET_STOP_STEP && st->addr && post_take(s, st->tid)) {
		occ->stage = EVENT_STAGE_POST;
		occ->context = occ->key = st->addr - 1;
		return true;
	}
	enum target_insn in = target_trap_insn(tab->t, st);
	if (in != TARGET_INSN_RDTSC && in != TARGET_INSN_RDTSCP)
		return false;
	occ->context = occ->key = in == TARGET_INSN_RDTSCP;
	occ->aux[0] = (uint64_t)in;
	return true;
}

static int finish(struct event_table *tab, struct event_occ *occ, bool sc, bool post)
{
	struct state *s = st_of(tab);
	if (occ->stage == EVENT_STAGE_PRE) {
		if (sc)
			TRY(target_insn_skip(tab->t, occ->tid));
		else
			TRY(target_trap_emulate(tab->t, occ->tid, (enum target_insn)occ->aux[0]));
		if (post && s && s->npost < (int)HD_ARRAY_SIZE(s->post)) {
			/* addr carries context + 1 (0 would be an ordinary step) */
			struct target_stop again = {.kind = TARGET_STOP_STEP, .tid = occ->tid,
						    .addr = occ->context + 1};
			s->post[s->npost++] = occ->tid;
			return target_stop_queue(tab->t, &again);
		}
	}
	return event_resume(tab, occ->tid, EVENT_RESUME_DONE, 0);
}

const struct event_kind_ops event_ops_tsc = {
	.parse = parse,
	.arm = arm,
	.disarm = disarm,
	.claim = claim,
	.finish = finish,
	.reset = reset,
};
