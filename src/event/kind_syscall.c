/*
** kind_syscall.c: `!syscall [NUM]` (syscall entry; sc skips the syscall
** with the script's @rax as its result; post = after the kernel returned)
** and `!sysret [NUM]` (syscall exit). NUM is hex, or a syscall's name.
**
** Mechanism. A process hdbg started gets a seccomp filter that returns
** RET_TRACE only for the numbers some event wants (other syscalls run at
** full speed); filters stack, so a new number adds one more filter. A
** filter cannot be removed and fails its syscalls with ENOSYS once no
** tracer is attached, so an attached process (which may be detached) is
** traced with syscall stops (PTRACE_SYSCALL) instead, which leave nothing.
**
** One occurrence, per thread:
**   entry stop  -> pre pass (rax shows the number, as for SYSCALL)
**               -> sc: orig_rax = -1, the syscall is skipped, rax stays
**               -> else, if a post pass or a !sysret wants the exit:
**                  resume with TARGET_RESUME_SYSCALL (flags remembered)
**   exit stop   -> !syscall post pass, then the !sysret pass
**                  (the exit stop is queued once more for the !sysret pass).
** Custom code and conditions run through the agent consume the entry stop
** (agent.h); the syscall is then issued again from its `syscall`
** instruction, and that second entry stop runs no events.
*/
#include <stdlib.h>
#include <string.h>
#include <sys/user.h>

#include "event/internal.h"
#include "target/target.h"

enum { F_POST = 1, F_SYSRET = 2, F_REISSUE = 4 };

struct thr {
	pid_t tid;
	int flags;
	long sysno;
	struct thr *next;
};

struct state {
	bool all;              /* a filter traces every number */
	uint8_t traced[1024 / 8];
	int systrace;          /* armed events using syscall stops (attached) */
	struct thr *thr;
};

static struct state *st_get(struct event_table *tab)
{
	struct state **p = (struct state **)&tab->kstate[EVENT_KIND_SYSCALL];
	if (!*p)
		*p = hd_xcalloc(1, sizeof(**p));
	return *p;
}

static struct thr *thr_get(struct state *s, pid_t tid, bool add)
{
	for (struct thr *t = s->thr; t; t = t->next)
		if (t->tid == tid)
			return t;
	if (!add)
		return NULL;
	struct thr *t = hd_xcalloc(1, sizeof(*t));
	t->tid = tid;
	t->next = s->thr;
	s->thr = t;
	return t;
}

static void thr_del(struct state *s, pid_t tid)
{
	for (struct thr **pp = &s->thr; *pp; pp = &(*pp)->next)
		if ((*pp)->tid == tid) {
			struct thr *t = *pp;
			*pp = t->next;
			free(t);
			return;
		}
}

/* ---- parsing: `[NUM]`, hex or a name ---- */

static int parse(struct event_parse *p, struct event *e)
{
	const char *cmd = event_kind_info(e->kind)->command;
	uint64_t nr = 0xffffffff;
	if (p->n > 2) {
		hd_buf_printf(p->out, "unknown parameter '%s'\n", p->tk[2].text);
		return -HD_E_PARSE;
	}
	if (p->n == 2) {
		const char *s = p->tk[1].text;
		long byname;
		if (!event_parse_u64(s, &nr)) {
			byname = target_syscall_nr(s);
			if (byname < 0) {
				hd_buf_printf(p->out, "err, unknown system call '%s' for '%s'\n", s, cmd);
				return -HD_E_PARSE;
			}
			nr = (uint64_t)byname;
		}
		if (nr > 0xffffffff) {
			hd_buf_printf(p->out, "err, the system call number '%s' is invalid\n", s);
			return -HD_E_RANGE;
		}
	}
	e->param[0] = nr;
	e->param[1] = nr != 0xffffffff; /* a specific number */
	struct target *t = p->tab->t;
	if (t && target_is_attached(t)) {
		/* can the target layer trace syscall stops? (state put back) */
		const struct state *s = p->tab->kstate[EVENT_KIND_SYSCALL];
		if (target_syscall_trace(t, true) < 0) {
			hd_buf_printf(p->out, "err, %s on an attached process needs syscall-stop "
				      "tracing, which this build's target layer lacks (a seccomp "
				      "filter cannot be removed at detach)\n", cmd);
			return -HD_E_UNSUPPORTED;
		}
		IGNORE_RC(target_syscall_trace(t, s && s->systrace > 0));
	}
	return 0;
}

/* ---- arming ---- */

static int arm(struct event_table *tab, struct event *e, pid_t tid)
{
	struct state *s = st_get(tab);
	uint64_t nr = e->param[0];
	if (target_is_attached(tab->t)) {
		TRY(target_syscall_trace(tab->t, true));
		s->systrace++;
		return 0;
	}
	if (s->all)
		return 0;
	if (!e->param[1]) {
		TRY(target_seccomp_trace(tab->t, tid, NULL, 0));
		s->all = true;
		return 0;
	}
	if (nr < 1024 && (s->traced[nr / 8] & (1u << (nr % 8))))
		return 0;
	long n = (long)nr;
	TRY(target_seccomp_trace(tab->t, tid, &n, 1));
	if (nr < 1024)
		s->traced[nr / 8] |= (uint8_t)(1u << (nr % 8));
	return 0;
}

/* The filter stays (it cannot be removed): stops no event wants are
 * resumed at once. Syscall-stop tracing ends with the last event. */
static void disarm(struct event_table *tab, struct event *e)
{
	(void)e;
	struct state *s = st_get(tab);
	if (target_is_attached(tab->t) && s->systrace > 0 && --s->systrace == 0)
		IGNORE_RC(target_syscall_trace(tab->t, false));
}

static void reset(struct event_table *tab)
{
	struct state *s = tab->kstate[EVENT_KIND_SYSCALL];
	if (!s)
		return;
	while (s->thr)
		thr_del(s, s->thr->tid);
	free(s);
	tab->kstate[EVENT_KIND_SYSCALL] = NULL;
}

/* ---- occurrences ---- */

/* Is an enabled event of `kind` interested in `nr`? */
static bool wanted(struct event_table *tab, enum event_kind kind, long nr)
{
	for (int i = 0; i < tab->n; i++) {
		const struct event *e = tab->v[i];
		if (e->kind == kind && e->enabled && !e->cleared &&
		    (!e->param[1] || e->param[0] == (uint64_t)nr))
			return true;
	}
	return false;
}

static bool claim_syscall(struct event_table *tab, const struct target_stop *st,
			  struct event_occ *occ)
{
	struct state *s = tab->kstate[EVENT_KIND_SYSCALL];
	struct user_regs_struct r;
	if (!s)
		return false;
	struct thr *th = thr_get(s, st->tid, false);
	if (st->kind == TARGET_STOP_SYSCALL_EXIT) {
		if (!th || !(th->flags & F_POST) || th->sysno != st->sysno)
			return false;
		occ->stage = EVENT_STAGE_POST;
		occ->context = occ->key = (uint64_t)st->sysno;
		return true;
	}
	if (st->kind != TARGET_STOP_SYSCALL)
		return false;
	occ->context = occ->key = (uint64_t)st->sysno;
	if (th && (th->flags & F_REISSUE) && th->sysno == st->sysno) {
		/* the syscall issued again after custom code: no events */
		th->flags &= ~F_REISSUE;
		occ->aux[1] = 1;
		return true;
	}
	if (th)
		thr_del(s, st->tid); /* an exit stop that never came */
	/* Scripts see the number in rax, as at a SYSCALL instruction (the
	 * kernel has put -ENOSYS there; it ignores rax until it returns, so
	 * only hdbg's view changes: no extra ptrace call). */
	if (wanted(tab, EVENT_KIND_SYSCALL, st->sysno) &&
	    target_regs_get(tab->t, st->tid, &r) == 0 && r.rax != r.orig_rax) {
		r.rax = r.orig_rax;
		IGNORE_RC(target_regs_view(tab->t, st->tid, &r));
	}
	return true;
}

static bool match(const struct event *e, const struct event_occ *occ)
{
	return !occ->aux[1] && (!e->param[1] || e->param[0] == occ->key);
}

/* Re-execute the syscall that running code in the target consumed. */
static int reissue(struct event_table *tab, pid_t tid, long nr)
{
	struct user_regs_struct r;
	uint8_t insn[2];
	TRY(target_regs_get(tab->t, tid, &r));
	if (target_mem_read(tab->t, r.rip - 2, insn, 2) < 0 || insn[0] != 0x0f || insn[1] != 0x05)
		return -HD_E_UNSUPPORTED;
	r.rip -= 2;
	r.rax = (uint64_t)nr;
	TRY(target_regs_set(tab->t, tid, &r));
	return 0;
}

static int finish_syscall(struct event_table *tab, struct event_occ *occ, bool sc, bool post)
{
	struct state *s = st_get(tab);
	long nr = (long)occ->key;
	struct user_regs_struct r;
	pid_t tid = occ->tid;

	if (occ->stage == EVENT_STAGE_POST) {
		struct thr *th = thr_get(s, tid, false);
		if (th && (th->flags & F_SYSRET)) {
			/* the same exit stop again, for the !sysret events */
			struct target_stop again = {.kind = TARGET_STOP_SYSCALL_EXIT, .tid = tid,
						    .sysno = nr};
			th->flags &= ~F_POST;
			return target_stop_queue(tab->t, &again);
		}
		thr_del(s, tid);
		return event_resume(tab, tid, EVENT_RESUME_DONE, 0);
	}
	bool at = target_at_syscall(tab->t, tid);
	if (sc) {
		/* skipped: the kernel returns rax as the script left it */
		if (at) {
			TRY(target_regs_get(tab->t, tid, &r));
			r.orig_rax = (uint64_t)-1;
			TRY(target_regs_set(tab->t, tid, &r));
		}
		/* at the entry the kernel still has to return from it */
		return event_resume(tab, tid, at ? EVENT_RESUME_INSN : EVENT_RESUME_DONE, 0);
	}
	int flags = (post ? F_POST : 0) |
		    (!occ->aux[1] && wanted(tab, EVENT_KIND_SYSRET, nr) ? F_SYSRET : 0);
	if (occ->aux[1]) { /* the re-issued syscall: keep its exit flags */
		struct thr *th = thr_get(s, tid, false);
		flags = th ? th->flags : 0;
	}
	if (!at && !occ->aux[1]) {
		TRY(reissue(tab, tid, nr));
		flags |= F_REISSUE;
	}
	if (!flags) {
		thr_del(s, tid);
		return event_resume(tab, tid, EVENT_RESUME_INSN, 0);
	}
	struct thr *th = thr_get(s, tid, true);
	th->flags = flags;
	th->sysno = nr;
	if (flags & (F_POST | F_SYSRET)) /* its exit stop comes next, also in a step */
		return target_resume(tab->t, tid, TARGET_RESUME_SYSCALL, 0);
	return event_resume(tab, tid, EVENT_RESUME_INSN, 0);
}

const struct event_kind_ops event_ops_syscall = {
	.parse = parse,
	.arm = arm,
	.disarm = disarm,
	.claim = claim_syscall,
	.match = match,
	.finish = finish_syscall,
	.reset = reset,
};

/* ---- !sysret: the exit stop ---- */

static bool claim_sysret(struct event_table *tab, const struct target_stop *st,
			 struct event_occ *occ)
{
	struct state *s = tab->kstate[EVENT_KIND_SYSCALL];
	if (!s || st->kind != TARGET_STOP_SYSCALL_EXIT)
		return false;
	struct thr *th = thr_get(s, st->tid, false);
	if (!th || !(th->flags & F_SYSRET) || th->sysno != st->sysno)
		return false;
	occ->context = occ->key = (uint64_t)st->sysno;
	return true;
}

static int finish_sysret(struct event_table *tab, struct event_occ *occ, bool sc, bool post)
{
	(void)sc;
	(void)post;
	struct state *s = st_get(tab);
	thr_del(s, occ->tid);
	return event_resume(tab, occ->tid, EVENT_RESUME_DONE, 0);
}

const struct event_kind_ops event_ops_sysret = {
	.parse = parse,
	.arm = arm,
	.disarm = disarm,
	.claim = claim_sysret,
	.match = match,
	.finish = finish_sysret,
};
