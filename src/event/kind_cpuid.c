/*
** kind_cpuid.c: `!cpuid [EAX]`, cpuid executed. CPUID faulting
** (arch_prctl ARCH_SET_CPUID, 0) in every thread makes cpuid fault where
** the CPU offers it; otherwise the command answers with one error line and
** nothing is registered. hdbg emulates the faulting cpuid with its own
** (same machine), so the signal never reaches the target. Context = eax
** before the instruction (also in the post stage, where @eax holds the
** result). sc skips the emulation: the script's registers are the result.
** The kernel turns CPUID faulting off at execve; re-arming turns it on.
*/
#include <asm/prctl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <unistd.h>

#include "event/internal.h"
#include "target/target.h"

struct state {
	int armed;
	pid_t post[64]; /* threads whose queued stop is a post pass */
	int npost;
};

static struct state *st_of(struct event_table *tab)
{
	return tab->kstate[EVENT_KIND_CPUID];
}

static int parse(struct event_parse *p, struct event *e)
{
	uint64_t eax = 0;
	if (p->n > 2) {
		hd_buf_printf(p->out, "unknown parameter '%s'\n", p->tk[2].text);
		return -HD_E_PARSE;
	}
	if (p->n == 2 && (!event_parse_u64(p->tk[1].text, &eax) || eax > 0xffffffff)) {
		hd_buf_printf(p->out, "err, the eax value '%s' is invalid\n", p->tk[1].text);
		return -HD_E_RANGE;
	}
	/* hdbg runs on the target's CPU: ask the kernel here (enabling cpuid
	 * in hdbg itself changes nothing; ENODEV means no CPUID faulting) */
	if (syscall(SYS_arch_prctl, ARCH_SET_CPUID, 1) < 0) {
		hd_buf_printf(p->out, "err, !cpuid needs CPUID faulting, which this CPU or kernel "
			      "does not offer (arch_prctl ARCH_SET_CPUID: %s)\n", strerror(errno));
		return -HD_E_UNSUPPORTED;
	}
	e->param[0] = eax;
	e->param[1] = p->n == 2;
	return 0;
}

static int arm(struct event_table *tab, struct event *e, pid_t tid)
{
	(void)e;
	(void)tid;
	struct state *s = st_of(tab);
	if (!s) {
		int rc = target_cpuid_trap(tab->t, true);
		if (rc < 0) {
			IGNORE_RC(target_cpuid_trap(tab->t, false));
			return rc;
		}
		s = hd_xcalloc(1, sizeof(*s));
		tab->kstate[EVENT_KIND_CPUID] = s;
	}
	s->armed++;
	return 0;
}

static void reset(struct event_table *tab)
{
	free(tab->kstate[EVENT_KIND_CPUID]);
	tab->kstate[EVENT_KIND_CPUID] = NULL;
}

static void disarm(struct event_table *tab, struct event *e)
{
	(void)e;
	struct state *s = st_of(tab);
	if (!s || --s->armed > 0)
		return;
	IGNORE_RC(target_cpuid_trap(tab->t, false));
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
	struct user_regs_struct r;
	if (target_trap_insn(tab->t, st) != TARGET_INSN_CPUID ||
	    target_regs_get(tab->t, st->tid, &r) < 0)
		return false;
	occ->context = occ->key = (uint32_t)r.rax;
	occ->aux[0] = TARGET_INSN_CPUID;
	return true;
}

static bool match(const struct event *e, const struct event_occ *occ)
{
	return !e->param[1] || e->param[0] == occ->key;
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

const struct event_kind_ops event_ops_cpuid = {
	.parse = parse,
	.arm = arm,
	.disarm = disarm,
	.claim = claim,
	.match = match,
	.finish = finish,
	.reset = reset,
};
