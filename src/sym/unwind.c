/*
** unwind.c: stack unwinding. libdwfl's unwinder (DWARF CFI from .eh_frame
** and .debug_frame) runs over the registers and memory callback that the
** caller gives; where it stops with an error, the rbp chain continues.
**
** libdwfl's process state can be attached to a Dwfl only once, so it is
** attached on the first unwind with callbacks that read the current
** request (registers, memory callback) from the session. The "thread" it
** unwinds is always the one whose registers were passed in.
*/
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sym/internal.h"

enum { REG_RBP = 6, REG_RSP = 7 };

/* The callback returns 0 (project convention, target_mem_read) or the
 * number of bytes read (pread style) on success, negative on failure. */
static bool read_word(struct sym_session *s, uint64_t addr, uint64_t *val)
{
	*val = 0;
	if (s->mem_read == NULL)
		return false;
	int r = s->mem_read(s->mem_ud, addr, val, sizeof(*val));
	return r == 0 || r == (int)sizeof(*val);
}

static pid_t cb_next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	(void)dwfl;
	struct sym_session *s = arg;
	if (*thread_argp != NULL)
		return 0;
	*thread_argp = s;
	return s->pid;
}

static bool cb_get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	(void)dwfl;
	(void)tid;
	*thread_argp = arg;
	return true;
}

static bool cb_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	(void)dwfl;
	uint64_t v;
	if (!read_word(arg, addr, &v))
		return false;
	*result = v;
	return true;
}

static bool cb_set_initial_registers(Dwfl_Thread *thread, void *arg)
{
	struct sym_session *s = arg;
	Dwarf_Word regs[16];
	for (int i = 0; i < 16; i++)
		regs[i] = s->uw_regs[i];
	if (!dwfl_thread_state_registers(thread, 0, 16, regs))
		return false;
	dwfl_thread_state_register_pc(thread, s->uw_rip);
	return true;
}

static void cb_detach(Dwfl *dwfl, void *arg)
{
	(void)dwfl;
	(void)arg;
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = cb_next_thread,
	.get_thread = cb_get_thread,
	.memory_read = cb_memory_read,
	.set_initial_registers = cb_set_initial_registers,
	.detach = cb_detach,
};

/* Frames as collected: one more than asked for, so that the CFA of the
 * last returned frame is known (it is the caller's stack pointer). */
struct walk_frame {
	uint64_t pc, sp, fp;
	bool has_sp, has_fp;
};

struct walk {
	struct walk_frame *f;
	int n, cap;
};

static int frame_cb(Dwfl_Frame *state, void *arg)
{
	struct walk *w = arg;
	Dwarf_Addr pc;
	if (!dwfl_frame_pc(state, &pc, NULL))
		return DWARF_CB_ABORT;
	struct walk_frame *f = &w->f[w->n++];
	Dwarf_Word v;
	f->pc = pc;
	f->has_sp = dwfl_frame_reg(state, REG_RSP, &v) == 0;
	f->sp = f->has_sp ? v : 0;
	f->has_fp = dwfl_frame_reg(state, REG_RBP, &v) == 0;
	f->fp = f->has_fp ? v : 0;
	/* A frame identical to its caller would loop forever. */
	if (w->n >= 2 && f->pc == f[-1].pc && f->sp == f[-1].sp)
		return DWARF_CB_ABORT;
	return w->n < w->cap ? DWARF_CB_OK : DWARF_CB_ABORT;
}

/* Continue the walk along the rbp chain: [rbp] = caller's rbp,
 * [rbp+8] = return address, caller's rsp = rbp + 16. */
static void walk_fp(struct sym_session *s, struct walk *w)
{
	while (w->n > 0 && w->n < w->cap) {
		struct walk_frame *last = &w->f[w->n - 1];
		uint64_t fp = last->fp, saved_fp, ret;
		if (!last->has_fp || fp == 0 || (fp & 7) != 0)
			return;
		if (last->has_sp && fp < last->sp)
			return;
		if (!read_word(s, fp, &saved_fp) || !read_word(s, fp + 8, &ret) || ret == 0)
			return;
		struct walk_frame *f = &w->f[w->n++];
		f->pc = ret;
		f->sp = fp + 16;
		f->has_sp = true;
		f->fp = saved_fp;
		/* The chain must go up the stack; stop after this frame if not. */
		f->has_fp = saved_fp > fp;
	}
}

static bool attach(struct sym_session *s)
{
	if (!s->attached && !s->attach_failed) {
		if (dwfl_attach_state(s->dwfl, NULL, s->pid, &thread_callbacks, s))
			s->attached = true;
		else {
			s->attach_failed = true;
			pr_debug("sym: unwinder unavailable (%s); frame pointers only",
				 dwfl_errmsg(-1));
		}
	}
	return s->attached;
}

static int unwind(struct sym_session *s, const uint64_t regs[16], uint64_t rip,
		  sym_mem_read_fn mem_read, void *ud, struct sym_frame *frames, int max,
		  bool use_cfi)
{
	if (max <= 0)
		return 0;
	struct walk w = {.f = hd_xcalloc((size_t)max + 1, sizeof(*w.f)), .cap = max + 1};
	s->mem_read = mem_read;
	s->mem_ud = ud;
	s->uw_regs = regs;
	s->uw_rip = rip;

	int r = -1;
	if (use_cfi && attach(s))
		r = dwfl_getthread_frames(s->dwfl, s->pid, frame_cb, &w);
	if (w.n == 0) {
		w.f[0] = (struct walk_frame){.pc = rip, .sp = regs[REG_RSP], .fp = regs[REG_RBP],
					     .has_sp = true, .has_fp = true};
		w.n = 1;
	}
	/* r == 0: the CFI marked the outermost frame; r == DWARF_CB_ABORT:
	 * we stopped it. Otherwise CFI gave nothing more: try frame pointers. */
	if (r == -1)
		walk_fp(s, &w);

	int n = w.n < max ? w.n : max;
	for (int i = 0; i < n; i++) {
		frames[i].pc = w.f[i].pc;
		frames[i].sp = w.f[i].sp;
		frames[i].cfa = (i + 1 < w.n && w.f[i + 1].has_sp) ? w.f[i + 1].sp : 0;
	}
	s->mem_read = NULL;
	s->mem_ud = NULL;
	s->uw_regs = NULL;
	free(w.f);
	return n;
}

int sym_unwind(struct sym_session *s, const uint64_t regs[16], uint64_t rip,
	       sym_mem_read_fn mem_read, void *ud, struct sym_frame *frames, int max)
{
	return unwind(s, regs, rip, mem_read, ud, frames, max, true);
}

int sym_unwind_fp(struct sym_session *s, const uint64_t regs[16], uint64_t rip,
		  sym_mem_read_fn mem_read, void *ud, struct sym_frame *frames, int max)
{
	return unwind(s, regs, rip, mem_read, ud, frames, max, false);
}
