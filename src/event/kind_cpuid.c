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
	return emul_arm(tab, EVENT_KIND_CPUID, target_cpuid_trap);
}

static void reset(struct event_table *tab)
{
	emul_reset(tab, EVENT_KIND_CPUID);
}

static void disarm(struct event_table *tab, struct event *e)
{
	(void)e;
	emul_disarm(tab, EVENT_KIND_CPUID, target_cpuid_trap);
}

static bool claim(struct event_table *tab, const struct target_stop *st, struct event_occ *occ)
{
	if (!emul_armed(tab, EVENT_KIND_CPUID))
		return false;
	if (emul_claim_post(tab, EVENT_KIND_CPUID, st, occ))
		return true;
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
	return emul_finish(tab, EVENT_KIND_CPUID, occ, sc, post);
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
