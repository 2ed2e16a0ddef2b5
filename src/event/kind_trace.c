/*
** kind_trace.c: `!trace step-in` (also `stepin`, `step`): every
** instruction of the thread that was current when the event was armed,
** by single-stepping. Context = rip of the instruction about to run; the
** first occurrence is the current instruction (a step stop is queued for
** it at arming). No sc, no stages. Tracing ends when the event is disabled
** or cleared, when the thread exits, or when something else resumes the
** thread without a step (a stop of another kind or a signal passed on by
** the debugger): the thread then runs freely.
*/
#include <stdlib.h>
#include <strings.h>
#include <sys/user.h>

#include "event/internal.h"
#include "target/target.h"

struct traced {
	pid_t tid;
	int refs;
	int seen;          /* steps seen since arming */
	uint64_t first;    /* rip at arming */
	struct traced *next;
};

static struct traced **list(struct event_table *tab)
{
	return (struct traced **)&tab->kstate[EVENT_KIND_TRACE];
}

static struct traced *find(struct event_table *tab, pid_t tid)
{
	for (struct traced *t = *list(tab); t; t = t->next)
		if (t->tid == tid)
			return t;
	return NULL;
}

static int parse(struct event_parse *p, struct event *e)
{
	(void)e;
	const char *m = p->n > 1 ? p->tk[1].text : NULL;
	if (!m) {
		hd_buf_printf(p->out, "incorrect use of the '!trace'\n");
		return -HD_E_PARSE;
	}
	if (p->n > 2) {
		hd_buf_printf(p->out, "unknown parameter '%s'\n", p->tk[2].text);
		return -HD_E_PARSE;
	}
	if (!strcasecmp(m, "step-out") || !strcasecmp(m, "stepout") ||
	    !strcasecmp(m, "instrument-step") || !strcasecmp(m, "step-instrument") ||
	    !strcasecmp(m, "instrument-step-in")) {
		hd_buf_printf(p->out, "err, '!trace %s' is not supported for a user-mode target; "
			      "use '!trace step-in'\n", m);
		return -HD_E_UNSUPPORTED;
	}
	if (strcasecmp(m, "step-in") && strcasecmp(m, "stepin") && strcasecmp(m, "step")) {
		hd_buf_printf(p->out, "err, unknown trace type '%s' (step-in)\n", m);
		return -HD_E_PARSE;
	}
	return 0;
}

static int arm(struct event_table *tab, struct event *e, pid_t tid)
{
	struct traced *t;
	if (!tid)
		return -HD_E_NOTHREAD;
	e->param[0] = (uint64_t)tid;
	t = find(tab, tid);
	if (t) {
		t->refs++;
		return 0;
	}
	struct target_stop st = {.kind = TARGET_STOP_STEP, .tid = tid};
	struct user_regs_struct r;
	TRY(target_regs_get(tab->t, tid, &r));
	TRY(target_stop_queue(tab->t, &st));
	t = hd_xcalloc(1, sizeof(*t));
	t->first = r.rip;
	t->tid = tid;
	t->refs = 1;
	t->next = *list(tab);
	*list(tab) = t;
	return 0;
}

static void disarm(struct event_table *tab, struct event *e)
{
	for (struct traced **pp = list(tab); *pp; pp = &(*pp)->next) {
		struct traced *t = *pp;
		if (t->tid != (pid_t)e->param[0])
			continue;
		if (--t->refs > 0)
			return;
		*pp = t->next;
		free(t);
		return;
	}
}

static bool claim(struct event_table *tab, const struct target_stop *st, struct event_occ *occ)
{
	struct user_regs_struct r;
	struct traced *t = st->kind == TARGET_STOP_STEP ? find(tab, st->tid) : NULL;
	if (!t || target_regs_get(tab->t, st->tid, &r) < 0)
		return false;
	occ->context = occ->key = r.rip;
	/* A thread armed inside a system call (the stop after execve, a
	 * syscall stop) reports its first step on the way out of the kernel,
	 * before running anything: not an instruction. */
	if (++t->seen == 2 && r.rip == t->first)
		occ->aux[1] = 1;
	return true;
}

static bool match(const struct event *e, const struct event_occ *occ)
{
	return !occ->aux[1] && (pid_t)e->param[0] == occ->tid;
}

static int finish(struct event_table *tab, struct event_occ *occ, bool sc, bool post)
{
	(void)sc;
	(void)post;
	/* a user's step ends at each traced instruction */
	if (find(tab, occ->tid) && !event_stepping(tab, occ->tid))
		return target_resume_step(tab->t, occ->tid, 0);
	return event_resume(tab, occ->tid, EVENT_RESUME_DONE, 0);
}

static void reset(struct event_table *tab)
{
	struct traced *t = *list(tab);
	while (t) {
		struct traced *n = t->next;
		free(t);
		t = n;
	}
	*list(tab) = NULL;
}

const struct event_kind_ops event_ops_trace = {
	.parse = parse,
	.arm = arm,
	.disarm = disarm,
	.claim = claim,
	.match = match,
	.finish = finish,
	.reset = reset,
};
