/*
** hw.c: hardware debug registers (DR0-DR3 addresses, DR7 control, DR6
** status) through PTRACE_POKEUSER into struct user's u_debugreg, on every
** thread; threads that are running when a slot changes get it before they
** next run, new threads when their first stop is seen.
*/
#include <errno.h>
#include <stddef.h>

#include "target/internal.h"

#define DR_OFF(i) (offsetof(struct user, u_debugreg) + (size_t)(i) * sizeof(long))

static int poke_dr(pid_t tid, int i, unsigned long v)
{
	if (ptrace(PTRACE_POKEUSER, tid, (void *)DR_OFF(i), (void *)v) < 0)
		return -errno;
	return 0;
}

static unsigned long dr7_value(const struct target *t)
{
	unsigned long v = 0;
	for (int i = 0; i < 4; i++) {
		const struct hw_slot *s = &t->hw[i];
		if (!s->used)
			continue;
		unsigned long rw = s->kind == TARGET_HW_EXEC ? 0 : s->kind == TARGET_HW_WRITE ? 1 : 3;
		unsigned long ln = s->kind == TARGET_HW_EXEC ? 0
				   : s->len == 1 ? 0 : s->len == 2 ? 1 : s->len == 8 ? 2 : 3;
		v |= 1ul << (2 * i);
		v |= rw << (16 + 4 * i);
		v |= ln << (18 + 4 * i);
	}
	return v;
}

int hw_apply(struct target *t, struct thread *th)
{
	TRY(poke_dr(th->tid, 7, 0));
	for (int i = 0; i < 4; i++)
		if (t->hw[i].used)
			TRY(poke_dr(th->tid, i, t->hw[i].addr));
	TRY(poke_dr(th->tid, 7, dr7_value(t)));
	th->dr_stale = false;
	return 0;
}

int hw_clear_thread(struct target *t, struct thread *th)
{
	(void)t;
	TRY(poke_dr(th->tid, 7, 0));
	for (int i = 0; i < 4; i++)
		TRY(poke_dr(th->tid, i, 0));
	TRY(poke_dr(th->tid, 6, 0));
	th->dr_stale = false;
	return 0;
}

int hw_check(struct target *t, struct thread *th, int *slot)
{
	errno = 0;
	long dr6 = ptrace(PTRACE_PEEKUSER, th->tid, (void *)DR_OFF(6), NULL);
	if (dr6 == -1 && errno)
		return -errno;
	for (int i = 0; i < 4; i++) {
		if (t->hw[i].used && (dr6 & (1l << i))) {
			*slot = i;
			(void)poke_dr(th->tid, 6, 0);
			return 1;
		}
	}
	return 0;
}

/* Apply the slots to every thread: stopped ones now, running ones later. */
static int hw_apply_all(struct target *t)
{
	for (int i = 0; i < t->nth; i++) {
		struct thread *th = t->th[i];
		if (th->state == TH_STOPPED && !th->is_new)
			TRY(hw_apply(t, th));
		else
			th->dr_stale = true;
	}
	return 0;
}

int target_hw_set(struct target *t, uint64_t addr, enum target_hw_kind kind, int len)
{
	if (t->gone)
		return -HD_E_EXITED;
	if (kind == TARGET_HW_EXEC)
		len = 1;
	if (len != 1 && len != 2 && len != 4 && len != 8)
		return -HD_E_RANGE;
	if (addr & (uint64_t)(len - 1))
		return -HD_E_RANGE;
	int slot = -1;
	for (int i = 0; i < 4 && slot < 0; i++)
		if (!t->hw[i].used)
			slot = i;
	if (slot < 0)
		return -HD_E_NOSLOT;
	t->hw[slot] = (struct hw_slot){.used = true, .addr = addr, .kind = kind, .len = len};
	t->nhw++;
	int rc = hw_apply_all(t);
	if (rc < 0) {
		t->hw[slot].used = false;
		t->nhw--;
		(void)hw_apply_all(t);
		return rc;
	}
	return slot;
}

int target_hw_clear(struct target *t, int slot)
{
	if (slot < 0 || slot > 3 || !t->hw[slot].used)
		return -HD_E_NOTFOUND;
	t->hw[slot].used = false;
	t->nhw--;
	if (t->gone)
		return 0;
	return hw_apply_all(t);
}
