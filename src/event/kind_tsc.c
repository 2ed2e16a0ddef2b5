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
	return emul_arm(tab, EVENT_KIND_TSC, target_tsc_trap);
}

static void reset(struct event_table *tab)
{
	emul_reset(tab, EVENT_KIND_TSC);
}

static void disarm(struct event_table *tab, struct event *e)
{
	(void)e;
	emul_disarm(tab, EVENT_KIND_TSC, target_tsc_trap);
}

static bool claim(struct event_table *tab, const struct target_stop *st, struct event_occ *occ)
{
	if (!emul_armed(tab, EVENT_KIND_TSC))
		return false;
	if (emul_claim_post(tab, EVENT_KIND_TSC, st, occ))
		return true;
	enum target_insn in = target_trap_insn(tab->t, st);
	if (in != TARGET_INSN_RDTSC && in != TARGET_INSN_RDTSCP)
		return false;
	occ->context = occ->key = in == TARGET_INSN_RDTSCP;
	occ->aux[0] = (uint64_t)in;
	return true;
}

static int finish(struct event_table *tab, struct event_occ *occ, bool sc, bool post)
{
	return emul_finish(tab, EVENT_KIND_TSC, occ, sc, post);
}

const struct event_kind_ops event_ops_tsc = {
	.parse = parse,
	.arm = arm,
	.disarm = disarm,
	.claim = claim,
	.finish = finish,
	.reset = reset,
};
