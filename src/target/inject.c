/*
** inject.c: system calls run inside the target, and the scratch arena of
** executable memory (out-of-line copies, agent code) built on them.
**
** target_syscall borrows a `syscall` instruction (0f 05) of the target,
** found in the vdso (or any executable mapping), points the thread's rip
** at it with the call's registers (orig_rax = -1 so that no syscall
** restart logic applies), single-steps it (one stop: the trap after the
** call returns) and restores every register. A signal that arrives
** meanwhile is queued as the thread's next stop, not lost.
**
** Scratch chunks are PROT_READ|PROT_EXEC anonymous mappings (written
** through /proc/PID/mem), placed with MAP_FIXED_NOREPLACE just below a
** mapping within +-2 GiB of the requested address, and sub-allocated
** 16-byte aligned; the arena belongs to the address space (forgotten on
** exec). target_detach() unmaps it (scratch_release) once no thread's rip
** is inside it: rips at out-of-line copies are mapped back to the program,
** a thread inside a continuation stub is single-stepped out first.
*/
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "target/internal.h"

#define CHUNK_SIZE 0x10000u
#define REACH 0x7fff0000ull /* a little under 2 GiB */
#define SCRATCH_STEPS 64    /* a continuation stub is a few instructions */

struct thread *th_any_stopped(struct target *t, pid_t prefer)
{
	struct thread *th = th_find(t, prefer);
	if (th && th->state == TH_STOPPED && th->stop_type != STOPT_SYSCALL)
		return th;
	for (int i = 0; i < t->nth; i++)
		if (t->th[i]->state == TH_STOPPED && t->th[i]->stop_type != STOPT_SYSCALL)
			return t->th[i];
	return NULL;
}

/* ---- /proc/PID/maps ---- */

struct map {
	uint64_t lo, hi;
	char perm[5];
	char name[64];
};

/* Read the mappings; @return their count (caller frees *out) or -errno. */
static int maps_read(struct target *t, struct map **out)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)t->pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -errno;
	struct map *m = NULL;
	int n = 0, cap = 0;
	while (fgets(line, sizeof(line), f)) {
		struct map x = {0};
		int off = 0;
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %*s %*s %*s %n", &x.lo, &x.hi, x.perm,
			   &off) < 3)
			continue;
		if (off > 0) {
			snprintf(x.name, sizeof(x.name), "%s", line + off);
			x.name[strcspn(x.name, "\n")] = 0;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			m = hd_xrealloc(m, (size_t)cap * sizeof(*m));
		}
		m[n++] = x;
	}
	fclose(f);
	*out = m;
	return n;
}

/* Find a `syscall` instruction: the vdso first, then any executable mapping. */
static int find_syscall_insn(struct target *t)
{
	struct map *m;
	int n = maps_read(t, &m);
	if (n < 0)
		return n;
	uint8_t *buf = hd_xmalloc(0x10000);
	int rc = -HD_E_NOTFOUND;
	for (int pass = 0; pass < 2 && rc < 0; pass++) {
		for (int i = 0; i < n && rc < 0; i++) {
			bool vdso = strcmp(m[i].name, "[vdso]") == 0;
			if (m[i].perm[2] != 'x' || (pass == 0) != vdso || strcmp(m[i].name, "[vsyscall]") == 0)
				continue;
			for (uint64_t a = m[i].lo; a < m[i].hi && rc < 0; a += 0x10000 - 1) {
				size_t len = m[i].hi - a < 0x10000 ? (size_t)(m[i].hi - a) : 0x10000;
				if (target_mem_read(t, a, buf, len) < 0)
					break;
				for (size_t k = 0; k + 1 < len; k++)
					if (buf[k] == 0x0f && buf[k + 1] == 0x05) {
						t->syscall_insn = a + k;
						rc = 0;
						break;
					}
			}
		}
	}
	free(buf);
	free(m);
	return rc;
}

/* ---- target_syscall ---- */

/* Single-step the prepared thread through the borrowed syscall. A signal
 * arriving meanwhile is returned in *sig and *si, to be queued afterwards. */
static int run_injected(struct target *t, struct thread *th, int *sig, siginfo_t *si)
{
	TRY(th_restart(t, th, PTRACE_SINGLESTEP, 0));
	for (;;) {
		int status;
		int rc = th_wait_one(t, th, &status);
		if (rc < 0)
			return rc;
		if (rc == 0 || WIFEXITED(status) || WIFSIGNALED(status)) {
			if (rc > 0)
				stop_handle_status(t, th->tid, status);
			return -HD_E_EXITED;
		}
		int s = WSTOPSIG(status), ev = status >> 16;
		th->state = TH_STOPPED;
		th->regs_valid = false;
		th->stepping = false;
		if (s == SIGTRAP && ev == 0)
			return 0;
		if (ev == 0 && s != (SIGTRAP | 0x80) && s != SIGTRAP && !*sig) {
			*sig = s;
			memset(si, 0, sizeof(*si));
			(void)ptrace(PTRACE_GETSIGINFO, th->tid, NULL, si);
		}
		/* interrupts, seccomp or syscall stops of our own call: go on */
		TRY(th_restart(t, th, PTRACE_SINGLESTEP, 0));
	}
}

int target_syscall(struct target *t, pid_t tid, long nr, const uint64_t args[6], uint64_t *ret)
{
	if (t->gone)
		return -HD_E_EXITED;
	struct thread *th = th_find(t, tid);
	if (!th)
		return -HD_E_NOTHREAD;
	if (th->state != TH_STOPPED)
		return -HD_E_RUNNING;
	if (th->stop_type == STOPT_SYSCALL)
		return -HD_E_UNSUPPORTED; /* inside a syscall entry: resume it first */
	if (!t->syscall_insn)
		TRY(find_syscall_insn(t));
	TRY(th_regs(t, th));
	struct user_regs_struct saved = th->regs;
	enum th_stop_type stype = th->stop_type;
	int ssig = th->sig, scode = th->sig_code;
	bool squiet = th->quiet;
	struct user_regs_struct r = saved;
	r.rip = t->syscall_insn;
	r.rax = (unsigned long long)nr;
	r.orig_rax = ~0ull;
	r.rdi = args[0];
	r.rsi = args[1];
	r.rdx = args[2];
	r.r10 = args[3];
	r.r8 = args[4];
	r.r9 = args[5];
	r.eflags &= ~0x100ull; /* TF */
	int sig = 0, rc = 0;
	siginfo_t si;
	for (int attempt = 0;; attempt++) {
		th->regs = r;
		th->regs_valid = true;
		th->regs_dirty = true;
		TRY(run_injected(t, th, &sig, &si));
		TRY(th_regs(t, th));
		if (th->regs.rip == t->syscall_insn + 2)
			break;
		/* Trapped before running it: the thread was stopped inside a system
		 * call (exec, clone, syscall exit) that has just completed and set
		 * rax, the one register its own code expects to change. */
		if (th->regs.rip != t->syscall_insn || attempt == 3) {
			rc = -HD_E_RUNTIME;
			break;
		}
		saved.rax = th->regs.rax;
	}
	if (rc == 0 && ret)
		*ret = th->regs.rax;
	th->regs = saved;
	th->regs_valid = true;
	th->regs_dirty = true;
	th->stop_type = stype;
	th->sig = ssig;
	th->sig_code = scode;
	th->quiet = squiet;
	if (sig) {
		struct target_stop s = {.kind = TARGET_STOP_SIGNAL, .tid = tid, .signo = sig,
					.siginfo = si};
		th->stop_type = STOPT_SIGNAL;
		th->sig = sig;
		th->sig_code = si.si_code;
		stop_queue(t, th, &s);
	}
	return rc;
}

/* ---- scratch arena ---- */

void scratch_forget(struct target *t)
{
	t->nchunk = 0;
	t->syscall_insn = 0;
}

static bool in_reach(uint64_t lo, uint64_t hi, uint64_t near)
{
	if (!near)
		return true;
	uint64_t d1 = lo > near ? lo - near : near - lo;
	uint64_t d2 = hi > near ? hi - near : near - hi;
	return d1 < REACH && d2 < REACH;
}

/* A free, page-aligned place for `size` bytes close to `near`: just below
 * a mapping (never below the stack, which grows down), with a guard gap. */
static uint64_t find_gap(const struct map *m, int n, uint64_t near, uint64_t size)
{
	const uint64_t pad = 0x10000, lowest = 0x100000;
	uint64_t best = 0, bestd = UINT64_MAX;
	for (int i = 0; i < n; i++) {
		if (strcmp(m[i].name, "[stack]") == 0 || strcmp(m[i].name, "[vsyscall]") == 0)
			continue;
		uint64_t below = i ? m[i - 1].hi : 0;
		if (m[i].lo < size + 2 * pad + below || m[i].lo - size - pad < lowest)
			continue;
		uint64_t p = m[i].lo - size - pad;
		if (p < below + pad)
			continue;
		uint64_t d = p > near ? p - near : near - p;
		if (in_reach(p, p + size, near) && d < bestd) {
			best = p;
			bestd = d;
		}
	}
	return best;
}

static int map_chunk(struct target *t, struct thread *th, uint64_t near, uint64_t size, int prot,
		     uint64_t *base)
{
	if (!th)
		return -HD_E_RUNNING;
	for (int attempt = 0; attempt < 3; attempt++) {
		uint64_t hint = 0;
		if (near) {
			struct map *m;
			int n = maps_read(t, &m);
			if (n < 0)
				return n;
			hint = find_gap(m, n, near, size);
			free(m);
			if (!hint)
				return -HD_E_RANGE;
		}
		uint64_t args[6] = {hint, size, (uint64_t)prot,
				    MAP_PRIVATE | MAP_ANONYMOUS | (hint ? MAP_FIXED_NOREPLACE : 0),
				    (uint64_t)-1, 0};
		uint64_t r;
		TRY(target_syscall(t, th->tid, SYS_mmap, args, &r));
		if (r > (uint64_t)-4096) {
			if ((int64_t)r == -EEXIST)
				continue;
			return (int)(int64_t)r;
		}
		*base = r;
		return 0;
	}
	return -HD_E_RANGE;
}

int target_scratch_alloc(struct target *t, uint64_t near, size_t len, uint64_t *addr)
{
	if (t->gone)
		return -HD_E_EXITED;
	if (len == 0 || len > (1u << 30))
		return -HD_E_RANGE;
	uint64_t need = (len + 15) & ~(uint64_t)15;
	for (int i = 0; i < t->nchunk; i++) {
		struct scratch_chunk *c = &t->chunks[i];
		uint64_t p = c->base + c->used;
		if (c->size - c->used >= need && in_reach(p, p + need, near)) {
			c->used += need;
			*addr = p;
			return 0;
		}
	}
	uint64_t size = need > CHUNK_SIZE ? (need + 0xfff) & ~(uint64_t)0xfff : CHUNK_SIZE;
	uint64_t base = 0;
	TRY(map_chunk(t, th_any_stopped(t, t->cur), near, size, PROT_READ | PROT_EXEC, &base));
	if (t->nchunk == t->capchunk) {
		t->capchunk = t->capchunk ? 2 * t->capchunk : 4;
		t->chunks = hd_xrealloc(t->chunks, (size_t)t->capchunk * sizeof(t->chunks[0]));
	}
	t->chunks[t->nchunk++] = (struct scratch_chunk){.base = base, .size = size, .used = need};
	*addr = base;
	return 0;
}

int target_map_near(struct target *t, pid_t tid, uint64_t near, uint64_t size, int prot,
		    uint64_t *base)
{
	struct thread *th;
	TRY(th_stopped(t, tid, &th));
	if (size == 0 || size > (1u << 30) || (size & 0xfff))
		return -HD_E_RANGE;
	return map_chunk(t, th, near, size, prot, base);
}

/* ---- leaving nothing behind (detach) ---- */

/* Is the instruction at `rip` a pushf (prefixes 66 / REX allowed)? */
bool at_pushf(struct target *t, uint64_t rip)
{
	uint8_t b[4];
	if (target_mem_read(t, rip, b, sizeof(b)) < 0)
		return false;
	for (int i = 0; i < 4; i++) {
		if (b[i] == 0x9c)
			return true;
		if (b[i] != 0x66 && (b[i] & 0xf0) != 0x40)
			return false;
	}
	return false;
}

/* A pushf that ran under PTRACE_SINGLESTEP pushed the trap flag the kernel
 * set for the step: a popf would restore it and the thread, no longer
 * traced, would die of SIGTRAP. Clear it in the pushed value. */
int clear_pushed_tf(struct target *t, uint64_t rsp)
{
	uint16_t w;
	TRY(target_mem_read(t, rsp, &w, sizeof(w)));
	if (!(w & 0x100))
		return 0;
	w &= (uint16_t)~0x100u;
	return target_mem_write(t, rsp, &w, sizeof(w));
}

/* Single-step stopped thread `th` until its rip leaves [lo, hi), at most
 * `max` steps. Its current stop is given up: the signal it was to receive
 * (a reported signal-delivery stop, other than SIGTRAP and SIGINT, which
 * target_resume_all() does not pass on either) or else the first signal
 * arriving meanwhile is queued as its next stop (delivered by a resume or
 * by the detach).
 * @return 0 when outside, -EBUSY when still inside after `max` steps. */
static int step_out(struct target *t, struct thread *th, uint64_t lo, uint64_t hi, int max)
{
	/* as target_resume_all() would: not the trap of a step or breakpoint */
	int keep = th->stop_type == STOPT_SIGNAL && th->sig != SIGTRAP && th->sig != SIGINT
		   ? th->sig : 0;
	int keep_code = th->sig_code;
	int sig = 0, rc = 0, n = 0;
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	TRY(th_regs(t, th));
	bool tf = th->regs.eflags & 0x100; /* the program's own trap flag */
	while (th->regs.rip >= lo && th->regs.rip < hi) {
		if (n++ == max) {
			rc = -EBUSY;
			break;
		}
		bool pushf = !tf && at_pushf(t, th->regs.rip);
		rc = run_injected(t, th, &sig, &si);
		if (rc < 0)
			return rc;
		TRY(th_regs(t, th)); /* maps a rip at an out-of-line copy back */
		if (pushf)
			TRY(clear_pushed_tf(t, th->regs.rsp));
		/* after a stepped popf the kernel shows (and keeps) the step's
		 * trap flag as the thread's own */
		if ((th->regs.eflags & 0x100) && !tf) {
			th->regs.eflags &= ~0x100ull;
			th->regs_dirty = true;
		}
	}
	th->stop_type = STOPT_EVENT;
	th->sig = 0;
	th->quiet = true;
	if (keep || sig) {
		struct target_stop s = {.kind = TARGET_STOP_SIGNAL, .tid = th->tid,
					.signo = keep ? keep : sig};
		if (!keep) {
			s.siginfo = si;
		} else {
			s.siginfo.si_signo = keep;
			s.siginfo.si_code = keep_code;
		}
		th->stop_type = STOPT_SIGNAL;
		th->sig = s.signo;
		th->sig_code = keep ? keep_code : si.si_code;
		stop_queue(t, th, &s);
	}
	return rc;
}

int target_leave_range(struct target *t, uint64_t lo, uint64_t hi, int max_steps)
{
	if (t->gone)
		return -HD_E_EXITED;
	int rc = 0;
	for (int i = 0; i < t->nth; i++) {
		struct thread *th = t->th[i];
		if (th->state != TH_STOPPED)
			return -HD_E_RUNNING;
		TRY(th_regs(t, th));
		if (th->regs.rip < lo || th->regs.rip >= hi)
			continue;
		if (th->stop_type == STOPT_SYSCALL)
			return -EBUSY; /* entering a system call made from there */
		int r = step_out(t, th, lo, hi, max_steps);
		if (r < 0 && !rc)
			rc = r;
	}
	return rc;
}

/* A thread at a syscall-entry stop cannot make another system call: the
 * kernel is inside its own. Give that call up and have it made again when
 * the thread runs on, as the kernel's restart does: skip it (orig_rax -1),
 * step back to user mode (the trap comes right after the syscall
 * instruction), then rip -= 2 and rax = the number. A call the tracer
 * already gave up (orig_rax -1: short-circuited) stays given up with its
 * rax. The thread is then an ordinary stopped thread; a signal arriving
 * meanwhile is queued as its next stop. Traced, the call would stop
 * again: for teardown only. */
static int syscall_back_out(struct target *t, struct thread *th)
{
	TRY(th_regs(t, th));
	struct user_regs_struct g = th->regs;
	bool redo = (int64_t)g.orig_rax >= 0;
	th->regs.orig_rax = ~0ull;
	th->regs.eflags &= ~0x100ull; /* TF */
	th->regs_dirty = true;
	int sig = 0;
	siginfo_t si;
	TRY(run_injected(t, th, &sig, &si));
	TRY(th_regs(t, th));
	if (th->regs.rip != g.rip)
		return -HD_E_RUNTIME;
	if (redo) {
		g.rip -= 2;
		g.rax = g.orig_rax;
	} else {
		g.rax = th->regs.rax;
	}
	g.orig_rax = ~0ull;
	th->regs = g;
	th->regs_dirty = true;
	th->stop_type = STOPT_EVENT;
	th->sig = 0;
	stop_drop(t, th->tid, TARGET_STOP_SYSCALL, 0);
	if (sig) {
		struct target_stop st = {.kind = TARGET_STOP_SIGNAL, .tid = th->tid, .signo = sig,
					 .siginfo = si};
		th->stop_type = STOPT_SIGNAL;
		th->sig = sig;
		th->sig_code = si.si_code;
		stop_queue(t, th, &st);
	}
	return 0;
}

int target_munmap(struct target *t, pid_t tid, uint64_t addr, uint64_t len)
{
	if (t->gone)
		return -HD_E_EXITED;
	struct thread *th = th_any_stopped(t, tid);
	uint64_t ret, args[6] = {addr, len, 0, 0, 0, 0};
	if (!th) {
		/* every stopped thread sits at a syscall-entry stop (a break at
		 * !syscall in a single-threaded process): take one out of it */
		struct thread *p = th_find(t, tid);
		if (!p || p->state != TH_STOPPED || p->stop_type != STOPT_SYSCALL)
			p = NULL;
		for (int i = 0; i < t->nth && !p; i++)
			if (t->th[i]->state == TH_STOPPED && t->th[i]->stop_type == STOPT_SYSCALL)
				p = t->th[i];
		if (!p)
			return -HD_E_RUNNING;
		TRY(syscall_back_out(t, p));
		th = p;
	}
	TRY(target_syscall(t, th->tid, SYS_munmap, args, &ret));
	return (int64_t)ret < 0 ? (int)(int64_t)ret : 0;
}

/* Unmap every scratch chunk (detach: every thread stopped, breakpoints
 * restored). A thread inside a chunk that the out-of-line mapping did not
 * bring back (a continuation stub) is stepped out of it first; a chunk a
 * thread cannot leave stays mapped. */
void scratch_release(struct target *t)
{
	for (int i = 0; i < t->nchunk; i++) {
		struct scratch_chunk *c = &t->chunks[i];
		int r = target_leave_range(t, c->base, c->base + c->size, SCRATCH_STEPS);
		if (r == 0)
			r = target_munmap(t, t->cur, c->base, c->size);
		if (r < 0)
			pr_warn("target: scratch memory at 0x%" PRIx64 " left mapped in process %d: %s",
				c->base, (int)t->pid, hd_strerror(r));
	}
	t->nchunk = 0;
}
