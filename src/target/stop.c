/*
** stop.c: the ptrace stop state machine: collecting wait statuses,
** classifying stops, the queue of stops not yet reported, all-stop,
** resuming, single-stepping and Ctrl-C.
**
** Design.
** Every thread is RUNNING (resumed by us, or new and not yet seen) or
** STOPPED (a ptrace-stop whose wait status we have collected). All threads
** are PTRACE_SEIZEd, so PTRACE_INTERRUPT works and auto-attached clones
** start with a PTRACE_EVENT_STOP. One wait status is decoded into one of:
**
**   status                                   -> action
**   exit / killed, tid == pid                -> process gone: EXITED/KILLED
**   exit / killed, other tid                 -> THREAD_EXIT (thread deleted)
**   EVENT_STOP of a thread not yet seen      -> THREAD_NEW (debug regs set)
**   EVENT_STOP, SIGTRAP (PTRACE_INTERRUPT)   -> quiet stop (see below)
**   EVENT_STOP, SIGSTOP/TSTP/TTIN/TTOU       -> group-stop: quiet stop
**   EVENT_CLONE                              -> register the new tid; quiet
**   EVENT_FORK/VFORK, clone of a new process -> release the child, or keep
**                                               it passive (below); quiet
**   EVENT_EXEC                               -> EXEC (old address space gone)
**   EVENT_SECCOMP                            -> SYSCALL (sysno = orig_rax)
**   SIGTRAP|0x80, syscall exit               -> SYSCALL_EXIT
**   SIGTRAP|0x80, syscall entry              -> quiet (we wanted the exit)
**   SIGTRAP, DR6 shows an armed slot         -> HWBP (DR6 cleared)
**   SIGTRAP TRAP_BRKPT at an execute slot,   -> HWBP, RF set (the CPU lost
**     DR6 empty, no int1 before it              DR6's status: see below)
**   SIGTRAP after PTRACE_SINGLESTEP          -> STEP
**   SIGTRAP, rip-1 is an armed int3          -> BREAKPOINT, rip := rip-1 now
**   SIGTRAP, rip-1 is a removed int3         -> rip := rip-1; quiet
**   any other signal                         -> SIGNAL (siginfo)
**
** A "quiet" stop is not reported: the thread is resumed at once as it ran
** before, unless we are stopping everything (target_stop_all, Ctrl-C), in
** which case it just stays stopped. Reported stops go to a FIFO queue
** (START goes first); target_wait() pops the queue and only calls waitpid()
** when it is empty. A thread with a queued stop is never resumed by
** target_resume_all(); it is reported first. Because the int3 correction
** (rip-1) is applied when the status is collected, a breakpoint removed
** while its hit is queued leaves the thread at the right address (the
** queued report is dropped, the thread re-executes the original bytes).
**
** A debug-register hit can arrive without its DR6 status (the hardware DR6
** reads 0 at the #DB, seen about once in 10^5-10^6 execute hits in these
** KVM guests, with any tracer): the kernel takes it for an int1, sends
** SIGTRAP with si_code TRAP_BRKPT, and sets no RF. lost_status_slot()
** recognises it (not after an f1 byte, no trap flag of the program's) and
** it becomes the slot's HWBP stop, with RF set as the kernel would have.
**
** PTRACE_INTERRUPT sets a trap that the next ptrace-stop of any kind
** satisfies, so an interrupt racing with a real stop produces either that
** stop or, after a later resume, one spurious EVENT_STOP; the quiet path
** absorbs it.
**
** Ctrl-C: target_interrupt() (from a SIGINT handler) sets t->intr and, when
** target_wait() is blocked in waitpid(), PTRACE_INTERRUPTs one running
** thread so that waitpid() returns even when the signal did not interrupt
** it with EINTR (the race between testing the flag and blocking).
*/
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "target/internal.h"

/* ---- collecting wait statuses, shared by every target of this process ---- */

#define MAX_TARGETS 16
#define MAX_STASH 256

static struct target *registry[MAX_TARGETS];
static struct {
	pid_t tid;
	int status;
} stash[MAX_STASH];
static int nstash;

void stop_register(struct target *t, bool on)
{
	for (int i = 0; i < MAX_TARGETS; i++) {
		if (on && !registry[i]) {
			registry[i] = t;
			return;
		}
		if (!on && registry[i] == t)
			registry[i] = NULL;
	}
}

static pid_t read_tgid(pid_t tid)
{
	char path[64], line[128];
	pid_t tgid = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	fclose(f);
	return tgid;
}

static struct target *owner_of(struct target *self, pid_t tid, int status)
{
	if (th_find(self, tid))
		return self;
	for (int i = 0; i < MAX_TARGETS; i++)
		if (registry[i] && th_find(registry[i], tid))
			return registry[i];
	if (!WIFSTOPPED(status))
		return NULL;
	pid_t tgid = read_tgid(tid);
	if (tgid == self->pid)
		return self;
	for (int i = 0; i < MAX_TARGETS; i++)
		if (registry[i] && registry[i]->pid == tgid)
			return registry[i];
	return NULL;
}

/* ---- passive processes ----
 *
 * A started target with a seccomp filter (!syscall/!sysret) passes the
 * filter on to every process it forks, and the kernel cannot remove it:
 * detached, such a child would get ENOSYS from every syscall the filter
 * traces. These children stay traced as *passive* processes (so do their
 * own children and threads, which inherit the filter): never in a thread
 * table, never reported, never waited for by target_stop_all(). Each of
 * their stops is resumed as soon as any wait of the target layer collects
 * it, as if the process were not traced:
 *   seccomp stop, fork/vfork/clone/exec event  -> PTRACE_CONT (the syscall
 *                                                  runs; new tids passive)
 *   EVENT_STOP with SIGSTOP/TSTP/TTIN/TTOU     -> PTRACE_LISTEN: stays in
 *                                                  the group-stop until
 *                                                  SIGCONT, as untraced
 *   other EVENT_STOP (first stop of a new one)  -> PTRACE_CONT
 *   signal-delivery stop                        -> PTRACE_CONT with the signal
 *   exit                                        -> forgotten (reaped)
 * They are served only while hdbg waits for a target (the target runs);
 * while the user sits at a stopped target they wait in their stop. When the
 * target is freed (killed, or after it exited), its passive processes are
 * killed and reaped (stop_passive_end): a started target's children die
 * with it, as PTRACE_O_EXITKILL makes every tracee die with hdbg. */

struct passive {
	pid_t tid;
	struct target *owner; /**< the target whose fork it descends from */
};

static struct passive *passive;
static int npassive, cappassive;

static int passive_find(pid_t tid)
{
	for (int i = 0; i < npassive; i++)
		if (passive[i].tid == tid)
			return i;
	return -1;
}

static void passive_del(pid_t tid)
{
	int i = passive_find(tid);
	if (i < 0)
		return;
	passive[i] = passive[--npassive];
	if (!npassive) {
		free(passive);
		passive = NULL;
		cappassive = 0;
	}
}

static void passive_status(pid_t tid, int status);

/* Make `tid` passive; statuses of it stashed before (its first stop came
 * before its creator's event) are handled now. */
static void passive_add(struct target *owner, pid_t tid)
{
	if (passive_find(tid) >= 0)
		return;
	if (npassive == cappassive) {
		cappassive = cappassive ? 2 * cappassive : 8;
		passive = hd_xrealloc(passive, (size_t)cappassive * sizeof(passive[0]));
	}
	passive[npassive++] = (struct passive){tid, owner};
	for (int i = 0; i < nstash;) {
		if (stash[i].tid != tid) {
			i++;
			continue;
		}
		int st = stash[i].status;
		memmove(&stash[i], &stash[i + 1], (size_t)(nstash - i - 1) * sizeof(stash[0]));
		nstash--;
		passive_status(tid, st);
		i = 0; /* the stash may have changed */
	}
}

/* Resume one stop of a passive process as if it were not traced. */
static void passive_status(pid_t tid, int status)
{
	int i = passive_find(tid);
	if (i < 0)
		return;
	struct target *owner = passive[i].owner;
	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		passive_del(tid);
		return;
	}
	if (!WIFSTOPPED(status))
		return;
	int sig = WSTOPSIG(status), ev = status >> 16, req = PTRACE_CONT;
	unsigned long data = 0, msg = 0;
	switch (ev) {
	case PTRACE_EVENT_FORK:
	case PTRACE_EVENT_VFORK:
	case PTRACE_EVENT_CLONE:
		if (ptrace(PTRACE_GETEVENTMSG, tid, NULL, &msg) == 0)
			passive_add(owner, (pid_t)msg);
		break;
	case PTRACE_EVENT_EXEC: /* the execing thread now has the leader's tid */
		if (ptrace(PTRACE_GETEVENTMSG, tid, NULL, &msg) == 0 && (pid_t)msg != tid)
			passive_del((pid_t)msg);
		break;
	case PTRACE_EVENT_STOP:
		if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
			req = PTRACE_LISTEN;
		break;
	case 0: /* a signal-delivery stop (no syscall stops: never PTRACE_SYSCALL) */
		data = sig & 0x80 ? 0 : (unsigned long)sig;
		break;
	default: /* seccomp stop: the syscall runs */
		break;
	}
	if (ptrace(req, tid, NULL, (void *)data) < 0 && errno != ESRCH)
		pr_warn("target: cannot resume passive process %d: %s", (int)tid, hd_strerror(-errno));
}

/* Kill the passive processes of `t` and reap them; other statuses met on
 * the way are stashed as stop_collect() would. A process whose new thread
 * is not known yet is reported after that thread, which the clone event
 * (collected here too) makes passive. */
void stop_passive_end(struct target *t)
{
	for (int i = 0; i < npassive; i++)
		if (passive[i].owner == t)
			kill(passive[i].tid, SIGKILL);
	for (;;) {
		bool left = false;
		for (int i = 0; i < npassive; i++) {
			if (passive[i].owner != t)
				continue;
			if (read_tgid(passive[i].tid) < 0) { /* reaped already */
				passive_del(passive[i].tid);
				i = -1;
				continue;
			}
			left = true;
		}
		if (!left)
			return;
		int st;
		pid_t r = waitpid(-1, &st, __WALL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return;
		if (passive_find(r) >= 0) {
			passive_status(r, st);
			continue;
		}
		struct target *o = owner_of(t, r, st);
		if (o && o != t && nstash < MAX_STASH) {
			stash[nstash].tid = r;
			stash[nstash++].status = st;
		} else if (!o && WIFSTOPPED(st) && nstash < MAX_STASH) {
			stash[nstash].tid = r;
			stash[nstash++].status = st;
		}
	}
}

/* Get one wait status for `t` (blocking). Statuses of other targets are
 * stashed for them; statuses of nobody's threads (late exits of threads
 * dropped at exec) are discarded. @return 1, or -errno (-EINTR). */
int stop_collect(struct target *t, pid_t *tid, int *status)
{
	for (int i = 0; i < nstash; i++) {
		if (owner_of(t, stash[i].tid, stash[i].status) != t)
			continue;
		*tid = stash[i].tid;
		*status = stash[i].status;
		stash[i] = stash[--nstash];
		return 1;
	}
	for (;;) {
		pid_t r = waitpid(-1, status, __WALL);
		if (r < 0)
			return -errno;
		if (passive_find(r) >= 0) {
			passive_status(r, *status);
			continue;
		}
		struct target *o = owner_of(t, r, *status);
		if (o == t) {
			*tid = r;
			return 1;
		}
		/* Another target's thread, or a forked child whose fork event
		 * has not been seen yet: keep it. */
		if ((o || WIFSTOPPED(*status)) && nstash < MAX_STASH) {
			stash[nstash].tid = r;
			stash[nstash++].status = *status;
		} else if (o) {
			pr_warn("target: wait status of thread %d lost", (int)r);
		}
	}
}

/* ---- the queue of stops not yet reported ---- */

static void q_remove(struct target *t, int i)
{
	struct thread *th = th_find(t, t->q[i].tid);
	if (th && th->npend > 0)
		th->npend--;
	memmove(&t->q[i], &t->q[i + 1], (size_t)(t->nq - i - 1) * sizeof(t->q[0]));
	t->nq--;
}

void stop_queue(struct target *t, struct thread *th, const struct target_stop *s)
{
	if (t->nq == t->capq) {
		t->capq = t->capq ? 2 * t->capq : 8;
		t->q = hd_xrealloc(t->q, (size_t)t->capq * sizeof(t->q[0]));
	}
	int at = t->nq;
	if (s->kind == TARGET_STOP_START) {
		memmove(&t->q[1], &t->q[0], (size_t)t->nq * sizeof(t->q[0]));
		at = 0;
	}
	t->q[at] = *s;
	t->nq++;
	if (th) {
		th->npend++;
		th->quiet = false;
	}
}

/** Drop queued stops of `tid` of `kind` (TARGET_STOP_NONE: all kinds), or
 *  BREAKPOINT stops at `addr` when tid is 0. */
void stop_drop(struct target *t, pid_t tid, enum target_stop_kind kind, uint64_t addr)
{
	for (int i = 0; i < t->nq;) {
		struct target_stop *s = &t->q[i];
		bool m = tid ? s->tid == tid && (kind == TARGET_STOP_NONE || s->kind == kind)
			     : s->kind == TARGET_STOP_BREAKPOINT && s->addr == addr;
		if (m)
			q_remove(t, i);
		else
			i++;
	}
}

static bool stop_pop(struct target *t, pid_t tid, struct target_stop *out)
{
	for (int i = 0; i < t->nq; i++) {
		if (tid && t->q[i].tid != tid)
			continue;
		*out = t->q[i];
		q_remove(t, i);
		return true;
	}
	return false;
}

/* ---- restarting threads ---- */

static int xptrace(int req, pid_t tid, unsigned long addr, unsigned long data)
{
	if (ptrace(req, tid, (void *)addr, (void *)data) < 0)
		return -errno;
	return 0;
}

int th_restart(struct target *t, struct thread *th, int req, int sig)
{
	if (th->dr_stale)
		TRY(hw_apply(t, th));
	TRY(th_flush_regs(t, th));
	int rc = xptrace(req, th->tid, 0, (unsigned long)sig);
	if (rc < 0 && rc != -ESRCH)
		return rc;
	/* ESRCH: the thread is being killed; its exit status follows. */
	th->state = TH_RUNNING;
	th->regs_valid = false;
	th->stepping = req == PTRACE_SINGLESTEP;
	th->sig = 0;
	return 0;
}

/* The restart request for a resume mode; with syscall-stop tracing on
 * (target_syscall_trace) every thread runs under PTRACE_SYSCALL. */
static int mode_req(const struct target *t, enum target_resume_mode mode)
{
	return mode == TARGET_RESUME_SYSCALL || t->systrace ? PTRACE_SYSCALL : PTRACE_CONT;
}

/* Continue a thread after a stop that is not reported. A step goes on
 * unless Ctrl-C interrupted it. */
static void resume_quiet(struct target *t, struct thread *th, bool was_stepping)
{
	th->quiet = true;
	if (was_stepping ? t->intr : (t->stopping || t->intr))
		return;
	int rc = th_restart(t, th, was_stepping ? PTRACE_SINGLESTEP : mode_req(t, th->mode), 0);
	if (rc < 0)
		pr_warn("target: cannot resume thread %d: %s", (int)th->tid, hd_strerror(rc));
}

/* ---- classifying one wait status ---- */

static void process_gone(struct target *t, int status)
{
	memset(&t->final, 0, sizeof(t->final));
	t->final.tid = t->pid;
	if (WIFEXITED(status)) {
		t->final.kind = TARGET_STOP_EXITED;
		t->final.status = WEXITSTATUS(status);
	} else {
		t->final.kind = TARGET_STOP_KILLED;
		t->final.signo = WTERMSIG(status);
	}
	t->gone = true;
	t->nq = 0;
	while (t->nth)
		th_del(t, t->th[0]->tid);
	if (t->memfd >= 0)
		close(t->memfd);
	t->memfd = -1;
}

/* A new process (fork, vfork, clone without CLONE_THREAD) is not followed:
 * wait for its first stop, take our breakpoints out of its copy of the
 * memory (a vfork child shares ours: left alone) and detach it; a child of a
 * started target with seccomp filters stays traced as a passive process
 * (above) instead, since its inherited filter needs a tracer. */
static void release_child(struct target *t, pid_t child, bool shared_mm)
{
	int status = 0;
	bool have = false;
	for (int i = 0; i < nstash && !have; i++)
		if (stash[i].tid == child) {
			status = stash[i].status;
			stash[i] = stash[--nstash];
			have = true;
		}
	while (!have) {
		pid_t r = waitpid(child, &status, __WALL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return;
		have = true;
	}
	if (!WIFSTOPPED(status))
		return;
	if (!shared_mm && t->narmed) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/mem", (int)child);
		int fd = open(path, O_RDWR | O_CLOEXEC);
		for (int i = 0; fd >= 0 && i < t->nbp; i++)
			if (t->bps[i].refs > 0 &&
			    pwrite(fd, &t->bps[i].orig, 1, (off_t)t->bps[i].addr) != 1)
				pr_warn("target: breakpoint left in child %d", (int)child);
		if (fd >= 0)
			close(fd);
	}
	trap_release_child(t, child, shared_mm);
	if (!t->attached && target_seccomp_filters(t) > 0) {
		passive_add(t, child);
		if (xptrace(PTRACE_CONT, child, 0, 0) < 0)
			pr_warn("target: cannot resume child %d", (int)child);
		return;
	}
	if (xptrace(PTRACE_DETACH, child, 0, 0) < 0)
		pr_warn("target: cannot detach child %d", (int)child);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Within two seconds of a Ctrl-C that target_wait() handled. */
static bool ctrl_c_recent(const struct target *t)
{
	return t->ctrl_c_ms && now_ms() - t->ctrl_c_ms < 2000;
}

static void handle_exec(struct target *t, struct thread *th)
{
	/* The execing thread now has the leader's tid; every other thread is
	 * gone, and so is everything we had put into the old address space. */
	for (int i = t->nth - 1; i >= 0; i--)
		if (t->th[i] != th) {
			stop_drop(t, t->th[i]->tid, TARGET_STOP_NONE, 0);
			th_del(t, t->th[i]->tid);
		}
	bp_forget_all(t);
	scratch_forget(t);
	trap_exec(t);
	memset(t->hw, 0, sizeof(t->hw));
	t->nhw = 0;
	th->dr_stale = false;
	th->bp_hit = 0;
	(void)hw_clear_thread(t, th);
	if (mem_reopen(t) < 0)
		pr_warn("target: cannot reopen the memory of %d after exec", (int)t->pid);
	struct target_stop s = {.kind = TARGET_STOP_EXEC, .tid = th->tid};
	stop_queue(t, th, &s);
}

static int get_siginfo(struct thread *th, siginfo_t *si)
{
	memset(si, 0, sizeof(*si));
	return xptrace(PTRACE_GETSIGINFO, th->tid, 0, (unsigned long)si);
}

/* true when a SIGTRAP of `th` can only be the hit of an armed int3, so that
 * DR6 need not be read: rip-1 holds one, no data watchpoint is armed (its
 * trap comes after an instruction, which could end just past an int3), and
 * no execute slot is at rip (its trap comes before the instruction there). */
static bool int3_unambiguous(struct target *t, struct thread *th)
{
	if (!t->nbp || th_regs(t, th) < 0)
		return false;
	for (int i = 0; i < 4; i++) {
		const struct hw_slot *h = &t->hw[i];
		if (h->used && (h->kind != TARGET_HW_EXEC || h->addr == th->regs.rip))
			return false;
	}
	const struct bp *b = bp_find(t, th->regs.rip - 1);
	return b && b->refs > 0;
}

#define EFLAGS_TF 0x100ull
#define EFLAGS_RF 0x10000ull

/* The slot of a debug-register hit whose DR6 status bits the CPU lost, or
 * -1. On these machines (KVM guests) the hardware DR6 sometimes reads 0 at
 * the #DB of an armed slot; the kernel then takes the exception for an
 * int1 (icebp): SIGTRAP with si_code TRAP_BRKPT and si_addr = rip, no bit
 * in the ptrace DR6, and for an execute slot no RF set. Only an int1 (f1)
 * just before rip or the program's own trap flag could make the same stop
 * (a step of ours is told apart before): those stay the program's SIGTRAP.
 * Otherwise it is the execute slot at rip (before its instruction) or,
 * after an access, the only data slot armed; with several data slots the
 * hit cannot be attributed and stays a signal. */
static int lost_status_slot(struct target *t, struct thread *th)
{
	if (th_regs(t, th) < 0 || (th->regs.eflags & EFLAGS_TF))
		return -1;
	int slot = -1, ndata = 0, data = -1;
	for (int i = 0; i < 4; i++) {
		const struct hw_slot *h = &t->hw[i];
		if (!h->used)
			continue;
		if (h->kind == TARGET_HW_EXEC && h->addr == th->regs.rip)
			slot = i;
		else if (h->kind != TARGET_HW_EXEC && ndata++ == 0)
			data = i;
	}
	if (slot < 0 && ndata == 1)
		slot = data;
	siginfo_t si;
	if (slot < 0 || get_siginfo(th, &si) < 0 || si.si_code != TRAP_BRKPT ||
	    (uint64_t)(uintptr_t)si.si_addr != th->regs.rip)
		return -1;
	uint8_t prev;
	if (mem_raw_read(t, th->regs.rip - 1, &prev, 1) == 0 && prev == 0xf1)
		return -1;
	return slot;
}

/* SIGTRAP without a ptrace event: step, hardware or int3 breakpoint, or a
 * real SIGTRAP. @return true when handled (queued or quiet). */
static bool handle_trap(struct target *t, struct thread *th, bool was_stepping)
{
	struct target_stop s = {.tid = th->tid};
	siginfo_t si;
	if (th->stale_step && !was_stepping) {
		/* The trap of a step that Ctrl-C interrupted inside a syscall. */
		th->stale_step = false;
		if (get_siginfo(th, &si) == 0 && (si.si_code == TRAP_BRKPT || si.si_code == TRAP_TRACE)) {
			resume_quiet(t, th, false);
			return true;
		}
	}
	if (t->nhw && !was_stepping && int3_unambiguous(t, th))
		goto int3;  /* saves the DR6 read: one ptrace request per hit */
	if (t->nhw) {
		int slot;
		bool hit = hw_check(t, th, &slot) > 0;
		if (!hit && !was_stepping && (slot = lost_status_slot(t, th)) >= 0) {
			hit = true;
			/* what the kernel does at a hit it recognises: the
			 * instruction at rip then runs without a second #DB */
			if (t->hw[slot].kind == TARGET_HW_EXEC) {
				th->regs.eflags |= EFLAGS_RF;
				th->regs_dirty = true;
			}
		}
		if (hit) {
			s.kind = TARGET_STOP_HWBP;
			s.slot = slot;
			s.addr = t->hw[slot].addr;
			stop_queue(t, th, &s);
			return true;
		}
	}
	if (was_stepping) {
		s.kind = TARGET_STOP_STEP;
		stop_queue(t, th, &s);
		return true;
	}
int3:;
	struct bp *b = NULL;
	uint64_t at = 0;
	if (t->nbp && th_regs(t, th) == 0) {
		at = th->regs.rip - 1;
		b = bp_find(t, at);
	}
	if (!b) {
		/* The trap of a debug register cleared since: nothing to report. */
		if (get_siginfo(th, &si) == 0 && si.si_code == TRAP_HWBKPT) {
			resume_quiet(t, th, false);
			return true;
		}
		return false;
	}
	if (b->refs > 0) {
		th->regs.rip = at;
		th->regs_dirty = true;
		th->bp_hit = at;
		s.kind = TARGET_STOP_BREAKPOINT;
		s.addr = at;
		stop_queue(t, th, &s);
		return true;
	}
	/* A breakpoint removed after this thread trapped on it. */
	if (b->orig == 0xcc || get_siginfo(th, &si) < 0 || si.si_code != SI_KERNEL)
		return false;
	th->regs.rip = at;
	th->regs_dirty = true;
	resume_quiet(t, th, false);
	return true;
}

static void handle_syscall_stop(struct target *t, struct thread *th, bool seccomp)
{
	struct __ptrace_syscall_info info;
	struct target_stop s = {.tid = th->tid};
	if (!seccomp) {
		/* Entries are reported only under syscall-stop tracing (like a
		 * seccomp stop); exits only to a thread that asked for one. */
		memset(&info, 0, sizeof(info));
		if (ptrace(PTRACE_GET_SYSCALL_INFO, th->tid, (void *)sizeof(info), &info) < 0) {
			resume_quiet(t, th, false);
			return;
		}
		if (info.op == PTRACE_SYSCALL_INFO_ENTRY && t->systrace) {
			seccomp = true;
		} else if (info.op != PTRACE_SYSCALL_INFO_EXIT || th->mode != TARGET_RESUME_SYSCALL) {
			th->stop_type = info.op == PTRACE_SYSCALL_INFO_ENTRY ? STOPT_SYSCALL : STOPT_SYSEXIT;
			resume_quiet(t, th, false);
			return;
		}
	}
	th->stop_type = seccomp ? STOPT_SYSCALL : STOPT_SYSEXIT;
	s.kind = seccomp ? TARGET_STOP_SYSCALL : TARGET_STOP_SYSCALL_EXIT;
	if (th_regs(t, th) == 0)
		s.sysno = (long)th->regs.orig_rax;
	stop_queue(t, th, &s);
}

void stop_handle_status(struct target *t, pid_t tid, int status)
{
	struct thread *th = th_find(t, tid);
	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		if (tid == t->pid) {
			process_gone(t, status);
		} else if (th) {
			stop_drop(t, tid, TARGET_STOP_NONE, 0);
			th_del(t, tid);
			struct target_stop s = {.kind = TARGET_STOP_THREAD_EXIT, .tid = tid,
						.status = WIFEXITED(status) ? WEXITSTATUS(status) : 0,
						.signo = WIFSIGNALED(status) ? WTERMSIG(status) : 0};
			stop_queue(t, NULL, &s);
		}
		return;
	}
	if (!WIFSTOPPED(status))
		return;
	if (!th) {
		th = th_add(t, tid, TH_RUNNING);
		th->is_new = true;
	}
	bool was_stepping = th->stepping;
	int sig = WSTOPSIG(status), ev = status >> 16;
	th->state = TH_STOPPED;
	th->stepping = false;
	th->regs_valid = false;
	th->regs_dirty = false;
	th->stop_rip_set = false;
	th->stop_type = STOPT_EVENT;
	th->sig = 0;
	th->quiet = false;

	if (ev == PTRACE_EVENT_STOP) {
		if (th->is_new) {
			th->is_new = false;
			if (t->nhw)
				(void)hw_apply(t, th);
			struct target_stop s = {.kind = TARGET_STOP_THREAD_NEW, .tid = tid};
			stop_queue(t, th, &s);
			return;
		}
		resume_quiet(t, th, was_stepping); /* interrupt or group-stop */
		return;
	}
	if (ev == PTRACE_EVENT_CLONE || ev == PTRACE_EVENT_FORK || ev == PTRACE_EVENT_VFORK) {
		unsigned long nt = 0;
		if (xptrace(PTRACE_GETEVENTMSG, tid, 0, (unsigned long)&nt) == 0 &&
		    !th_find(t, (pid_t)nt)) {
			if (ev == PTRACE_EVENT_CLONE && read_tgid((pid_t)nt) == t->pid) {
				struct thread *n = th_add(t, (pid_t)nt, TH_RUNNING);
				n->is_new = true;
			} else {
				release_child(t, (pid_t)nt, ev == PTRACE_EVENT_VFORK);
			}
		}
		resume_quiet(t, th, was_stepping);
		return;
	}
	if (ev == PTRACE_EVENT_EXEC) {
		handle_exec(t, th);
		return;
	}
	if (ev == PTRACE_EVENT_SECCOMP) {
		handle_syscall_stop(t, th, true);
		return;
	}
	if (ev) { /* an event we did not ask for */
		resume_quiet(t, th, was_stepping);
		return;
	}
	if (sig == (SIGTRAP | 0x80)) {
		handle_syscall_stop(t, th, false);
		return;
	}
	if (sig == SIGTRAP && handle_trap(t, th, was_stepping))
		return;
	/* A signal-delivery stop. */
	struct target_stop s = {.kind = TARGET_STOP_SIGNAL, .tid = tid, .signo = sig};
	(void)get_siginfo(th, &s.siginfo);
	th->stop_type = STOPT_SIGNAL;
	if (sig == SIGINT && s.siginfo.si_code == SI_KERNEL && (t->intr || ctrl_c_recent(t))) {
		/* The terminal's Ctrl-C, which hdbg got too: it was for hdbg. */
		th->sig = 0;
		resume_quiet(t, th, was_stepping);
		return;
	}
	th->sig = sig;
	th->sig_code = s.siginfo.si_code;
	stop_queue(t, th, &s);
}

/* Wait for the next status of `th` itself, handling statuses of the other
 * threads on the way. @return 1 with the raw status, 0 when the process
 * is gone, or -errno. */
int th_wait_one(struct target *t, struct thread *th, int *status)
{
	pid_t want = th->tid;
	for (;;) {
		pid_t tid;
		t->intr_tid = want;
		t->waiting = 1;
		int rc = stop_collect(t, &tid, status);
		t->waiting = 0;
		if (rc == -EINTR) {
			if (t->intr) /* Ctrl-C: stop a step that blocks in a syscall */
				(void)xptrace(PTRACE_INTERRUPT, want, 0, 0);
			continue;
		}
		if (rc < 0)
			return rc;
		if (tid == want)
			return 1;
		stop_handle_status(t, tid, *status);
		if (t->gone)
			return 0;
	}
}

/* ---- public API ---- */

static bool any_running(const struct target *t)
{
	for (int i = 0; i < t->nth; i++)
		if (t->th[i]->state == TH_RUNNING)
			return true;
	return false;
}

/* Is SIGTRAP pending for the thread (an int3 or debug trap raised just as
 * PTRACE_INTERRUPT stopped it: the interrupt is reported first)? */
static bool sigtrap_pending(pid_t pid, pid_t tid)
{
	char path[64], line[128];
	unsigned long long pnd = 0, blk = 0;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "SigPnd: %llx", &pnd) != 1)
			sscanf(line, "SigBlk: %llx", &blk);
	fclose(f);
	/* A blocked one (sent by kill) would not stop the thread at once. */
	return (pnd & ~blk) & (1ull << (SIGTRAP - 1));
}

/* Turn such a pending trap into its stop now (a breakpoint hit is queued
 * with the right rip) instead of leaving rip inside the instruction and a
 * SIGTRAP that would kill a detached process. Called while stopping. */
static int settle_traps(struct target *t)
{
	for (int i = 0; i < t->nth && !t->gone; i++) {
		struct thread *th = t->th[i];
		if (th->state != TH_STOPPED || !th->quiet || th->npend ||
		    !sigtrap_pending(t->pid, th->tid))
			continue;
		TRY(th_restart(t, th, PTRACE_CONT, 0));
		while (!t->gone && th_find(t, th->tid) == th && th->state == TH_RUNNING) {
			int status;
			int rc = th_wait_one(t, th, &status);
			if (rc < 0)
				return rc;
			if (rc > 0)
				stop_handle_status(t, th->tid, status);
		}
		i = -1; /* the table may have changed: rescan */
	}
	return 0;
}

int target_stop_all(struct target *t)
{
	if (t->gone)
		return 0;
	t->stopping = true;
	for (int i = 0; i < t->nth; i++) {
		struct thread *th = t->th[i];
		if (th->state == TH_RUNNING && !th->is_new)
			(void)xptrace(PTRACE_INTERRUPT, th->tid, 0, 0);
	}
	int rc = 0;
	while (!t->gone && any_running(t)) {
		pid_t tid;
		int status;
		rc = stop_collect(t, &tid, &status);
		if (rc == -EINTR)
			continue;
		if (rc < 0)
			break;
		rc = 0;
		stop_handle_status(t, tid, status);
	}
	if (rc == 0 && (t->nbp || t->nhw))
		rc = settle_traps(t);
	t->stopping = false;
	return rc;
}

static void fill_interrupt(struct target *t, struct target_stop *stop)
{
	memset(stop, 0, sizeof(*stop));
	stop->kind = TARGET_STOP_INTERRUPT;
	if (!th_find(t, t->cur) && t->nth)
		t->cur = t->th[0]->tid;
	stop->tid = t->cur;
}

int target_wait(struct target *t, struct target_stop *stop)
{
	for (;;) {
		if (t->gone) {
			t->intr = 0;
			if (t->exited)
				return -HD_E_EXITED;
			t->exited = true;
			*stop = t->final;
			return 0;
		}
		if (t->intr) {
			t->ctrl_c_ms = now_ms();
			TRY(target_stop_all(t));
			t->intr = 0;
			if (!t->gone) {
				fill_interrupt(t, stop);
				return 0;
			}
			continue;
		}
		if (stop_pop(t, 0, stop)) {
			/* The current thread follows reported events, not thread
			 * births; a dead current thread hands over to the first. */
			if (stop->kind == TARGET_STOP_THREAD_EXIT) {
				t->last_exit = stop->tid;
				if (!th_find(t, t->cur) && t->nth)
					t->cur = t->th[0]->tid;
			} else if (stop->kind != TARGET_STOP_THREAD_NEW) {
				t->cur = stop->tid;
			}
			return 0;
		}
		struct thread *run = NULL;
		for (int i = 0; i < t->nth && !run; i++)
			if (t->th[i]->state == TH_RUNNING)
				run = t->th[i];
		if (!run)
			return -EDEADLK;
		t->intr_tid = run->tid;
		t->waiting = 1;
		if (t->intr) {
			t->waiting = 0;
			continue;
		}
		pid_t tid;
		int status;
		int rc = stop_collect(t, &tid, &status);
		t->waiting = 0;
		if (rc == -EINTR)
			continue;
		if (rc < 0)
			return rc;
		stop_handle_status(t, tid, status);
	}
}

void target_interrupt(struct target *t)
{
	if (!t)
		return;
	int saved = errno;
	t->intr = 1;
	if (t->waiting && t->intr_tid > 0)
		syscall(SYS_ptrace, PTRACE_INTERRUPT, (long)t->intr_tid, 0L, 0L);
	errno = saved;
}

/* Resume a stopped thread without a queued stop. */
static int th_resume(struct target *t, struct thread *th, enum target_resume_mode mode, int sig)
{
	th->mode = mode;
	TRY(bp_resume_check(t, th));
	if (th->bp_hit && t->narmed)
		TRY(bp_step_over(t, th, NULL));
	th->bp_hit = 0;
	return th_restart(t, th, mode_req(t, mode), sig);
}

int target_resume(struct target *t, pid_t tid, enum target_resume_mode mode, int signo)
{
	if (t->gone)
		return -HD_E_EXITED;
	struct thread *th = th_find(t, tid);
	if (!th)
		return tid == t->last_exit ? 0 : -HD_E_NOTHREAD;
	if (th->state != TH_STOPPED)
		return -HD_E_RUNNING;
	if (th->npend)
		stop_drop(t, tid, TARGET_STOP_START, 0);
	if (th->npend)
		return 0; /* stays stopped: its queued stop is reported next */
	return th_resume(t, th, mode, th->stop_type == STOPT_SIGNAL ? signo : 0);
}

/* The signal that target_resume_all() passes on from a signal stop: all but
 * SIGTRAP and SIGINT, as a debugger's defaults do. */
int th_pass_signal(const struct thread *th)
{
	if (th->stop_type != STOPT_SIGNAL || th->sig == SIGTRAP || th->sig == SIGINT)
		return 0;
	return th->sig;
}

int th_detach_signal(const struct thread *th)
{
	int sig = th_pass_signal(th);
	bool fault = sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE;
	return fault && th->sig_code > 0 ? 0 : sig;
}

int target_resume_all(struct target *t)
{
	if (t->gone)
		return -HD_E_EXITED;
	for (int i = 0; i < t->nth; i++) {
		struct thread *th = t->th[i];
		if (th->state != TH_STOPPED)
			continue;
		if (th->npend)
			stop_drop(t, th->tid, TARGET_STOP_START, 0);
		if (th->npend)
			continue;
		TRY(th_resume(t, th, th->quiet ? th->mode : TARGET_RESUME_CONT, th_pass_signal(th)));
	}
	return 0;
}

int target_signal_set(struct target *t, pid_t tid, int signo)
{
	struct thread *th = th_find(t, tid);
	if (!th)
		return -HD_E_NOTHREAD;
	if (th->state != TH_STOPPED)
		return -HD_E_RUNNING;
	if (th->stop_type != STOPT_SIGNAL)
		return -HD_E_NOTFOUND;
	th->sig = signo;
	return 0;
}

int target_step(struct target *t, pid_t tid, struct target_stop *stop)
{
	if (t->gone)
		return -HD_E_EXITED;
	struct thread *th = th_find(t, tid);
	if (!th)
		return -HD_E_NOTHREAD;
	if (th->state != TH_STOPPED)
		return -HD_E_RUNNING;
	if (th->npend)
		stop_drop(t, tid, TARGET_STOP_START, 0);
	if (stop_pop(t, tid, stop))
		return 0;
	bool emulated = false;
	if (t->narmed)
		TRY(bp_step_over(t, th, &emulated));
	th->bp_hit = 0;
	if (emulated) {
		memset(stop, 0, sizeof(*stop));
		stop->kind = TARGET_STOP_STEP;
		stop->tid = tid;
		return 0;
	}
	/* A stepped pushf pushes the trap flag the kernel sets for the step;
	 * a later popf would make the program trap: cleared after the step. */
	TRY(th_regs(t, th));
	bool pushf = !(th->regs.eflags & 0x100) && at_pushf(t, th->regs.rip);
	/* At a signal stop the signal goes on as target_resume_all() would
	 * pass it: the step then ends at the handler's first instruction. */
	TRY(th_restart(t, th, PTRACE_SINGLESTEP, th_pass_signal(th)));
	for (;;) {
		int status;
		int rc = th_wait_one(t, th, &status);
		if (rc < 0)
			return rc;
		if (rc == 0 || t->gone)
			return target_wait(t, stop);
		stop_handle_status(t, tid, status);
		if (!th_find(t, tid)) { /* the thread exited */
			if (stop_pop(t, tid, stop))
				t->last_exit = tid;
			else
				return target_wait(t, stop);
			return 0;
		}
		if (stop_pop(t, tid, stop)) {
			t->cur = tid;
			if (pushf && stop->kind == TARGET_STOP_STEP && th_regs(t, th) == 0)
				TRY(clear_pushed_tf(t, th->regs.rsp));
			return 0;
		}
		if (th->state == TH_STOPPED && t->intr) { /* step interrupted */
			t->intr = 0;
			th->stale_step = true;
			TRY(target_stop_all(t));
			t->cur = tid;
			memset(stop, 0, sizeof(*stop));
			stop->kind = TARGET_STOP_INTERRUPT;
			stop->tid = tid;
			return 0;
		}
	}
}

int target_wait_thread(struct target *t, pid_t tid, struct target_stop *stop)
{
	for (;;) {
		if (t->gone)
			return target_wait(t, stop);
		if (t->intr) {
			t->ctrl_c_ms = now_ms();
			TRY(target_stop_all(t));
			t->intr = 0;
			if (t->gone)
				continue;
			memset(stop, 0, sizeof(*stop));
			stop->kind = TARGET_STOP_INTERRUPT;
			stop->tid = th_find(t, tid) ? tid : t->cur;
			return 0;
		}
		if (stop_pop(t, tid, stop)) {
			if (stop->kind == TARGET_STOP_THREAD_EXIT)
				t->last_exit = tid;
			return 0;
		}
		struct thread *th = th_find(t, tid);
		if (!th)
			return -HD_E_NOTHREAD;
		if (th->state == TH_STOPPED)
			return -EDEADLK;
		int status;
		int rc = th_wait_one(t, th, &status);
		if (rc < 0)
			return rc;
		if (rc > 0)
			stop_handle_status(t, tid, status);
	}
}

uint64_t target_bp_hit(struct target *t, pid_t tid)
{
	struct thread *th = th_find(t, tid);
	return th ? th->bp_hit : 0;
}

int target_bp_hit_set(struct target *t, pid_t tid, uint64_t addr)
{
	struct thread *th = th_find(t, tid);
	if (!th)
		return -HD_E_NOTHREAD;
	if (th->state != TH_STOPPED)
		return -HD_E_RUNNING;
	th->bp_hit = addr;
	return 0;
}
