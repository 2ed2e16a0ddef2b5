/*
** emul.c: the half that !tsc and !cpuid share. Both make an instruction
** fault in every thread of the target (a per-kind target trap switched on
** by the first armed event and off by the last), and hdbg emulates the
** faulting instruction (or skips it: sc). Their post stage is the same
** stop queued once more after the emulation and claimed back here.
*/
#include <stdlib.h>

#include "event/internal.h"
#include "target/target.h"

struct emul_state {
	int armed;
	pid_t post[64]; /* threads whose queued stop is a post pass */
	int npost;
};

static struct emul_state *st_of(struct event_table *tab, enum event_kind kind)
{
	return tab->kstate[kind];
}

bool emul_armed(struct event_table *tab, enum event_kind kind)
{
	return st_of(tab, kind) != NULL;
}

int emul_arm(struct event_table *tab, enum event_kind kind, emul_trap_fn trap)
{
	struct emul_state *s = st_of(tab, kind);
	if (!s) {
		int rc = trap(tab->t, true);
		if (rc < 0) {
			IGNORE_RC(trap(tab->t, false));
			return rc;
		}
		s = hd_xcalloc(1, sizeof(*s));
		tab->kstate[kind] = s;
	}
	s->armed++;
	return 0;
}

void emul_reset(struct event_table *tab, enum event_kind kind)
{
	free(tab->kstate[kind]);
	tab->kstate[kind] = NULL;
}

void emul_disarm(struct event_table *tab, enum event_kind kind, emul_trap_fn trap)
{
	struct emul_state *s = st_of(tab, kind);
	if (!s || --s->armed > 0)
		return;
	IGNORE_RC(trap(tab->t, false));
	emul_reset(tab, kind);
}

bool emul_claim_post(struct event_table *tab, enum event_kind kind, const struct target_stop *st,
		     struct event_occ *occ)
{
	struct emul_state *s = st_of(tab, kind);
	if (!s || st->kind != TARGET_STOP_STEP || !st->addr)
		return false;
	for (int i = 0; i < s->npost; i++) {
		if (s->post[i] == st->tid) {
			s->post[i] = s->post[--s->npost];
			occ->stage = EVENT_STAGE_POST;
			occ->context = occ->key = st->addr - 1;
			return true;
		}
	}
	return false;
}

int emul_finish(struct event_table *tab, enum event_kind kind, struct event_occ *occ, bool sc,
		bool post)
{
	struct emul_state *s = st_of(tab, kind);
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
