/*
** cmd_run.c: running the target: g, t, p, gu, the wait loop that turns the
** target's stops into what the user sees (breakpoint hits, signals, exits,
** Ctrl-C), and the start/attach/exit bookkeeping of the session.
**
** All-stop: a run resumes every thread; the first stop meant for the user
** stops all threads (target_stop_all) and makes the stopping thread
** current. Stops the user does not see (new threads, ignored signals, a
** temporary breakpoint hit by another thread) resume only that thread.
*/
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asm/asm.h"
#include "cmd/internal.h"
#include "sym/sym.h"
#include "target/target.h"

/* Where p and gu want to stop: a temporary breakpoint hit by `tid` with
 * its stack pointer at or above `min_sp` (so recursion does not stop it). */
struct run_goal {
	uint64_t addr;
	uint64_t min_sp;
	pid_t tid;
};

int cmd_target_opened(struct cmd_session *s, const char *how)
{
	struct user_regs_struct r;
	pid_t pid = target_pid(s->t);
	int rc = sym_open(&s->sym, pid);
	if (rc < 0) {
		s->sym = NULL;
		cmd_out(s, "warning: no symbols for process %d: %s\n", (int)pid, hd_strerror(rc));
	}
	s->exit_status = -1;
	cmd_out(s, "process %d %s\n", (int)pid, how);
	if (target_regs_get(s->t, target_thread_current(s->t), &r) == 0)
		IGNORE(cmd_print_insn(s, r.rip, true));
	cmd_ldbrk_set(s);
	cmd_events_target_set(s);
	return 0;
}

void cmd_target_gone(struct cmd_session *s)
{
	if (s->t && target_exited(s->t))
		target_free(s->t);
	s->t = NULL;
	s->ldbrk = 0;
	cmd_events_target_set(s);
	if (s->sym)
		sym_close(s->sym);
	s->sym = NULL;
	cmd_bp_target_gone(s);
	cmd_set_repeat(s, NULL);
}

/* Signals that stop the target for the user; every other signal is passed
 * to the program silently (SIGCHLD, SIGALRM, SIGUSR1...). */
static bool stops_user(int signo)
{
	switch (signo) {
	case SIGSEGV: case SIGBUS: case SIGILL: case SIGFPE: case SIGABRT:
	case SIGTRAP: case SIGSYS: case SIGINT:
		return true;
	default:
		return false;
	}
}

int cmd_stop_here(struct cmd_session *s, pid_t tid)
{
	s->user_stop = true;
	int rc = target_stop_all(s->t);
	if (rc < 0)
		return cmd_err(s, rc, "cannot stop all threads: %s", hd_strerror(rc));
	IGNORE(target_thread_select(s->t, tid));
	if (s->sym)
		IGNORE(sym_refresh(s->sym));
	return 0;
}

/* The current instruction with its module!symbol+off line, as WinDbg
 * shows it at every stop. */
static void print_here(struct cmd_session *s, bool label)
{
	struct user_regs_struct r;
	if (target_regs_get(s->t, target_thread_current(s->t), &r) == 0)
		IGNORE(cmd_print_insn(s, r.rip, label));
}

void cmd_print_current(struct cmd_session *s)
{
	print_here(s, true);
}

/* A stop that ends the run for everyone: exit or death. */
static int process_ended(struct cmd_session *s, const struct target_stop *st)
{
	pid_t pid = target_pid(s->t);
	if (st->kind == TARGET_STOP_EXITED) {
		cmd_out(s, "process %d exited with status %d\n", (int)pid, st->status);
		s->exit_status = st->status;
	} else {
		cmd_out(s, "process %d killed by signal %d (SIG%s)\n", (int)pid, st->signo,
			sigabbrev_np(st->signo) ? sigabbrev_np(st->signo) : "?");
		s->exit_status = 128 + st->signo;
	}
	cmd_target_gone(s);
	return 0;
}

/* Resume every thread; a thread stopped by a signal gets it delivered
 * (target_resume_all passes all but SIGTRAP and SIGINT). */
static int resume_all(struct cmd_session *s)
{
	int rc = target_resume_all(s->t);
	if (rc < 0)
		return cmd_err(s, rc, "cannot resume the target: %s", hd_strerror(rc));
	return 0;
}

/* Ctrl-C reaches hdbg (target_interrupt: an INTERRUPT stop) and, from the
 * terminal, often the target too (a SIGINT from the kernel, SI_KERNEL):
 * that SIGINT is suppressed, during this run or the next one. */
static int report_interrupt(struct cmd_session *s, pid_t tid)
{
	TRY(cmd_stop_here(s, tid));
	cmd_out(s, "interrupted\n");
	print_here(s, true);
	s->absorb_int = true;
	s->int_reported = true;
	return 0;
}

/* One stop of the wait loop: 1 = the run goes on, 0 = it ended, <0 error. */
static int handle_stop(struct cmd_session *s, const struct target_stop *st,
		       const struct run_goal *goal)
{
	struct user_regs_struct r;
	struct cmd_bp *b;
	if (cmd_ldbrk_stop(s, st))
		return 1; /* libraries changed; everyone runs on */
	int rc = cmd_events_stop(s, st);
	if (rc != -1)
		return rc;

	switch (st->kind) {
	case TARGET_STOP_EXITED:
	case TARGET_STOP_KILLED:
		return process_ended(s, st);
	case TARGET_STOP_BREAKPOINT:
		b = cmd_bp_at(s, st->addr);
		if (b && b->enabled) {
			b->hits++;
			TRY(cmd_stop_here(s, st->tid));
			cmd_out(s, "breakpoint %d hit\n", (int)(b - s->bp));
			print_here(s, true);
			return 0;
		}
		if (goal && st->addr == goal->addr && st->tid == goal->tid &&
		    target_regs_get(s->t, st->tid, &r) == 0 && r.rsp >= goal->min_sp) {
			TRY(cmd_stop_here(s, st->tid));
			s->user_stop = false; /* where p/gu wanted to be */
			print_here(s, true);
			return 0;
		}
		break;
	case TARGET_STOP_SIGNAL:
		if (st->signo == SIGINT && (s->interrupt || (s->absorb_int &&
					       st->siginfo.si_code == SI_KERNEL))) {
			/* the terminal's Ctrl-C reached the target too: hdbg's
			 * own interrupt reports it (now, or it did already) */
			s->absorb_int = false;
			IGNORE(target_resume(s->t, st->tid, TARGET_RESUME_CONT, 0));
			return 1;
		}
		if (!stops_user(st->signo)) {
			IGNORE(target_resume(s->t, st->tid, TARGET_RESUME_CONT, st->signo));
			return 1;
		}
		TRY(cmd_stop_here(s, st->tid));
		cmd_out(s, "signal %d (SIG%s) in thread %d\n", st->signo,
			sigabbrev_np(st->signo) ? sigabbrev_np(st->signo) : "?", (int)st->tid);
		print_here(s, true);
		return 0;
	case TARGET_STOP_INTERRUPT:
		return report_interrupt(s, st->tid ? st->tid : target_thread_current(s->t));
	case TARGET_STOP_EXEC:
		if (s->sym)
			IGNORE(sym_refresh(s->sym));
		cmd_ldbrk_set(s); /* the old address space and its breakpoints are gone */
		cmd_events_exec(s, st->tid);
		break;
	default:
		break;
	}
	/* not for the user: let this thread run on (a thread that exited
	 * cannot be resumed, which is fine) */
	IGNORE(target_resume(s->t, st->tid, TARGET_RESUME_CONT, 0));
	return 1;
}

static int run_loop(struct cmd_session *s, const struct run_goal *goal)
{
	int go = cmd_events_continue(s);
	if (go <= 0)
		return go;
	TRY(resume_all(s));
	for (;;) {
		struct target_stop st;
		int rc = target_wait(s->t, &st);
		if (rc < 0)
			return cmd_err(s, rc, "waiting for the target failed: %s", hd_strerror(rc));
		rc = handle_stop(s, &st, goal);
		if (rc <= 0)
			return rc;
	}
}

/* A Ctrl-C is absorbed at most during the run that follows its report. */
static int run(struct cmd_session *s, const struct run_goal *goal)
{
	bool carried = s->absorb_int;
	s->int_reported = false;
	int rc = run_loop(s, goal);
	if (carried && !s->int_reported)
		s->absorb_int = false;
	return rc;
}

static int need_stopped(struct cmd_session *s, const struct cmd_args *a, int maxargs)
{
	if (a->tk->n > maxargs + 1)
		return cmd_err(s, -HD_E_PARSE, "too many arguments at '%s' (usage: %s)",
			       a->tk->v[maxargs + 1].text, cmd_find(a->tk->v[0].text)->syntax);
	return cmd_need_target(s);
}

int cmd_do_g(struct cmd_session *s, const struct cmd_args *a)
{
	TRY(need_stopped(s, a, 0));
	return run(s, NULL);
}

/* Run with a temporary breakpoint at `goal->addr`. */
static int run_to(struct cmd_session *s, const struct run_goal *goal)
{
	int rc = target_bp_insert(s->t, goal->addr);
	if (rc < 0)
		return cmd_err(s, rc, "cannot set a temporary breakpoint at %016llx: %s",
			       (unsigned long long)goal->addr, hd_strerror(rc));
	rc = run(s, goal);
	if (s->t)
		IGNORE(target_bp_remove(s->t, goal->addr));
	return rc;
}

static int step_one(struct cmd_session *s, bool over)
{
	struct user_regs_struct r;
	struct target_stop st;
	pid_t tid = target_thread_current(s->t);
	TRY(cmd_cur_regs(s, &r));
	if (over) {
		uint8_t code[16];
		struct asm_insn in;
		size_t n = sizeof(code);
		while (n && target_mem_read(s->t, r.rip, code, n) < 0)
			n--;
		if (n && asm_disasm_one(code, n, r.rip, NULL, NULL, &in) == 0 && in.is_call) {
			struct run_goal g = {r.rip + in.len, r.rsp, tid};
			return run_to(s, &g);
		}
	}
	/* From an event's break: the event layer completes its instruction.
	 * Every stop of the step is offered to the events (a trap kind's
	 * instruction is emulated or run by its kind, which ends the step). */
	int ev = cmd_events_step_paused(s, tid, &st);
	if (ev <= 0)
		return ev;
	int rc = 0;
	if (st.kind == TARGET_STOP_NONE) {
		rc = target_step(s->t, tid, &st);
		if (rc == 0 && (ev = cmd_events_step_stop(s, tid, &st)) <= 0)
			return ev;
	}
	/* A signal the program gets while stepping is delivered (or, for the
	 * terminal's twin of a reported Ctrl-C, dropped) and the step goes on:
	 * a handler's first instruction is where it ends then. */
	for (int guard = 0; rc == 0 && st.kind == TARGET_STOP_SIGNAL && st.tid == tid && guard < 16;
	     guard++) {
		int sig = st.signo;
		if (sig == SIGINT && s->absorb_int && st.siginfo.si_code == SI_KERNEL) {
			s->absorb_int = false;
			sig = 0;
		} else if (stops_user(sig)) {
			break;
		}
		rc = target_resume_step(s->t, tid, sig);
		if (rc == 0)
			rc = target_wait(s->t, &st);
		if (rc == 0 && (ev = cmd_events_step_stop(s, tid, &st)) <= 0)
			return ev;
	}
	if (rc < 0)
		return cmd_err(s, rc, "cannot step thread %d: %s", (int)tid, hd_strerror(rc));
	if (st.kind == TARGET_STOP_STEP) {
		if (s->sym)
			IGNORE(sym_refresh(s->sym));
		print_here(s, true);
		return 0;
	}
	rc = handle_stop(s, &st, NULL);
	if (rc == 1) /* something the user does not see happened instead: go on */
		return run(s, NULL);
	return rc;
}

static int step(struct cmd_session *s, const struct cmd_args *a, bool over)
{
	uint64_t count = 1;
	TRY(need_stopped(s, a, 1));
	if (a->tk->n == 2) {
		TRY(cmd_eval(s, a->tk->v[1].text, &count));
		if (count == 0 || count > 0x100000)
			return cmd_err(s, -HD_E_RANGE, "step count '%s' out of range (1..0x100000)",
				       a->tk->v[1].text);
	}
	for (uint64_t i = 0; i < count && s->t && !s->interrupt; i++) {
		s->user_stop = false;
		TRY(step_one(s, over));
		if (s->user_stop)
			break; /* a breakpoint, a signal or an event stopped it */
	}
	return 0;
}

int cmd_do_t(struct cmd_session *s, const struct cmd_args *a) { return step(s, a, false); }
int cmd_do_p(struct cmd_session *s, const struct cmd_args *a) { return step(s, a, true); }

static int unwind_read(void *ud, uint64_t addr, void *buf, size_t len)
{
	struct cmd_session *s = ud;
	return target_mem_read(s->t, addr, buf, len);
}

int cmd_do_gu(struct cmd_session *s, const struct cmd_args *a)
{
	struct user_regs_struct r;
	struct sym_frame fr[2];
	TRY(need_stopped(s, a, 0));
	TRY(cmd_cur_regs(s, &r));
	if (!s->sym)
		return cmd_err(s, -HD_E_NOSYM, "no symbols: cannot find the return address");
	const uint64_t dw[16] = {r.rax, r.rdx, r.rcx, r.rbx, r.rsi, r.rdi, r.rbp, r.rsp,
				 r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15};
	int n = sym_unwind(s->sym, dw, r.rip, unwind_read, s, fr, 2);
	if (n < 2)
		return cmd_err(s, -HD_E_NOTFOUND, "cannot find the caller of %016llx",
			       (unsigned long long)r.rip);
	/* back in the caller, rsp is the callee's CFA (the caller's sp) */
	uint64_t sp = fr[1].sp ? fr[1].sp : fr[0].cfa ? fr[0].cfa : r.rsp + 8;
	struct run_goal g = {fr[1].pc, sp, target_thread_current(s->t)};
	return run_to(s, &g);
}
