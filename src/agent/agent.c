/*
** agent.c: hdbg's side of the agent: injection into the target (arena,
** blob, ring memfd), the arena allocators, and running custom-code and
** condition blocks on a stopped thread through the blob's runner.
**
** Running a block (protocol: agent/runner.S and docs/agent.md): one memory
** write (the 48-byte call block), one register write, one resume, one stop
** (the runner's trap) and one register read. The trap is a plain int3 in
** the blob, not a breakpoint of the target layer: it arrives as a SIGTRAP
** signal-delivery stop with rip after it. So the thread ends the run in a
** signal-delivery stop, where target_resume() can still deliver the signal
** of an event that was itself a signal stop (!exception); resuming with 0
** drops the SIGTRAP. (A breakpoint stop at the trap is recognised too.)
**
** While the block runs only its thread runs under our control: other
** threads keep running and their stops stay queued in the target layer
** (target_wait_thread). Stops of the running thread itself:
**   - the runner's trap: done;
**   - a synchronous fault (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS
**     raised by the CPU, si_code > 0): the block crashed; the thread gets
**     its registers from before the run back and the signal is dropped;
**   - an asynchronous signal: suppressed for now, re-sent with tgkill after
**     the run, so it reaches the thread at its original instruction;
**   - SIGSEGV/SIGBUS at the probe stub's access (agent/probe.S): fixed up
**     (the stub returns -1), resumed;
**   - a breakpoint, watchpoint or traced syscall inside the block: events
**     do not fire inside blocks (as in HyperDbg's vmx-root); resumed;
**   - Ctrl-C (INTERRUPT): registers restored, -HD_E_INTERRUPTED;
**   - exit/exec: -HD_E_EXITED.
**
** One stop per event (agent_onestop_load, agent/runner.S agent_onestop):
** a per-hook entry, descriptor and epilogue in the arena; hdbg only sets
** rip and resumes, the thread runs the blocks and continues at the
** displaced instruction by itself (docs/agent.md).
*/
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/internal.h"
#include "agent/ring.h"
#include "target/target.h"

#define ZF_BIT 0x40u

#define MAX_DEFERRED 16

struct agent {
	struct target *t;
	pid_t pid;
	uint64_t arena;      /* target address of the RWX arena */
	uint64_t call_block; /* the runner's call block */
	uint64_t code_lo;    /* first byte for blocks and buffers */
	struct agent_arena ar; /* blocks from the bottom, buffers from the top */
	uint64_t ring_target;
	struct agent_ring_hdr *ring; /* hdbg's mapping of the same memfd */
	size_t ring_len;
	struct agent_crash crash;
	uint64_t runs;       /* agent_run_code() resumes (tests) */
	uint64_t near;       /* the arena is placed within +-2 GiB of it if possible */
};

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* Run a syscall in the target; map the kernel's -errno to ours. */
static int rsys(struct agent *a, pid_t tid, long nr, uint64_t a0, uint64_t a1, uint64_t a2,
		uint64_t a3, uint64_t a4, uint64_t a5, uint64_t *ret)
{
	const uint64_t args[6] = {a0, a1, a2, a3, a4, a5};
	uint64_t r = 0;

	TRY(target_syscall(a->t, tid, nr, args, &r));
	if (r > (uint64_t)-4096)
		return (int)(int64_t)r;
	if (ret)
		*ret = r;
	return 0;
}

/* The ring: memfd in the target, mapped there and, via /proc/PID/fd, here. */
static int map_ring(struct agent *a, pid_t tid)
{
	static const char name[] = "hdbg-agent-ring";
	size_t len = AGENT_RING_HDR_SIZE + AGENT_RING_SIZE;
	uint64_t fd = (uint64_t)-1, addr;
	char path[64];
	int rc, hfd = -1;
	void *m;

	/* The name goes where the first block will go; it is only read now. */
	CHECK(target_mem_write(a->t, a->code_lo, name, sizeof(name)));
	CHECK(rsys(a, tid, SYS_memfd_create, a->code_lo, MFD_CLOEXEC, 0, 0, 0, 0, &fd));
	CHECK(rsys(a, tid, SYS_ftruncate, fd, len, 0, 0, 0, 0, NULL));
	CHECK(rsys(a, tid, SYS_mmap, 0, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0, &addr));
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)a->pid, (int)fd);
	hfd = open(path, O_RDWR | O_CLOEXEC);
	if (hfd < 0) {
		rc = -errno;
		goto out;
	}
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, hfd, 0);
	if (m == MAP_FAILED) {
		rc = -errno;
		goto out;
	}
	a->ring = m;
	a->ring_len = len;
	a->ring_target = addr;
	rc = agent_ring_init(m, AGENT_RING_SIZE);
out:
	if (hfd >= 0)
		close(hfd);
	if (fd != (uint64_t)-1 && rsys(a, tid, SYS_close, fd, 0, 0, 0, 0, 0, NULL) < 0)
		pr_warn("agent: cannot close the ring's memfd %d in the target", (int)fd);
	return rc;
}

static void unmap_ring(struct agent *a)
{
	if (a->ring)
		munmap(a->ring, a->ring_len);
	a->ring = NULL;
}

/* Map the arena, write the blob, map the ring. */
static int setup(struct agent *a, pid_t tid)
{
	uint64_t arena;
	int rc;

	/* near the hooked code, so that blocks reach its symbols rip-relative;
	 * where the kernel likes when no gap is in reach */
	rc = a->near ? target_map_near(a->t, tid, a->near, AGENT_ARENA_SIZE,
				       PROT_READ | PROT_WRITE | PROT_EXEC, &arena) : -HD_E_RANGE;
	if (rc == -HD_E_RANGE)
		TRY(rsys(a, tid, SYS_mmap, 0, AGENT_ARENA_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
			 MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0, &arena));
	else if (rc < 0)
		return rc;
	a->arena = arena;
	a->call_block = arena + align_up(agent_blob_size, 64);
	a->code_lo = a->call_block + 64;
	arena_init(&a->ar, a->code_lo, arena + AGENT_ARENA_SIZE);
	rc = target_mem_write(a->t, arena, agent_blob_bytes, agent_blob_size);
	if (rc == 0)
		rc = map_ring(a, tid);
	if (rc < 0) {
		unmap_ring(a);
		if (rsys(a, tid, SYS_munmap, arena, AGENT_ARENA_SIZE, 0, 0, 0, 0, NULL) < 0)
			pr_warn("agent: cannot unmap the arena at 0x%llx in the target",
				(unsigned long long)arena);
	}
	return rc;
}

int agent_inject(struct target *t, pid_t tid, struct agent **out)
{
	return agent_inject_near(t, tid, 0, out);
}

int agent_inject_near(struct target *t, pid_t tid, uint64_t near, struct agent **out)
{
	struct agent *a = hd_xcalloc(1, sizeof(*a));
	int rc;

	a->t = t;
	a->near = near;
	a->pid = target_pid(t);
	rc = setup(a, tid);
	if (rc < 0) {
		agent_free(a);
		return rc;
	}
	*out = a;
	return 0;
}

int agent_reset(struct agent *a, pid_t tid)
{
	/* After exec the old mappings and the trap's breakpoint are gone with
	 * the old address space; only hdbg's ring mapping is left to drop. */
	unmap_ring(a);
	a->pid = target_pid(a->t);
	a->near = 0; /* an address of the old address space */
	memset(&a->crash, 0, sizeof(a->crash));
	return setup(a, tid);
}

void agent_free(struct agent *a)
{
	if (!a)
		return;
	unmap_ring(a);
	arena_fini(&a->ar);
	free(a);
}

/* Steps a thread may take to leave the arena at agent_unload(): the rest
 * of the one-stop runner and of the blocks it runs. */
#define UNLOAD_STEPS 100000

int agent_unload(struct agent *a, pid_t tid)
{
	int rc = 0, r;

	if (target_exited(a->t)) {
		agent_free(a);
		return 0;
	}
	rc = target_stop_all(a->t);
	/* A thread inside the runner or a block (one stop per event) finishes
	 * it and continues at the displaced instruction, out of the arena. */
	if (rc == 0)
		rc = target_leave_range(a->t, a->arena, a->arena + AGENT_ARENA_SIZE, UNLOAD_STEPS);
	if (rc == 0)
		rc = target_munmap(a->t, tid, a->arena, AGENT_ARENA_SIZE);
	if (rc < 0)
		pr_warn("agent: arena at 0x%llx left mapped in process %d: %s",
			(unsigned long long)a->arena, (int)a->pid, hd_strerror(rc));
	/* The ring's memfd was closed in the target at injection: only its
	 * mapping holds it. Its writers are the arena's code: the ring goes
	 * only with the arena. */
	if (rc == 0 && a->ring_target) {
		r = target_munmap(a->t, tid, a->ring_target, a->ring_len);
		if (r < 0) {
			pr_warn("agent: ring at 0x%llx left mapped in process %d: %s",
				(unsigned long long)a->ring_target, (int)a->pid, hd_strerror(r));
			rc = r;
		}
	}
	agent_free(a);
	return rc;
}

int agent_code_load(struct agent *a, const void *bytes, size_t len, uint64_t *addr)
{
	uint64_t at;
	int rc;

	TRY(arena_alloc(&a->ar, len, 16, false, &at));
	rc = target_mem_write(a->t, at, bytes, len);
	if (rc < 0) {
		(void)arena_free(&a->ar, at);
		return rc;
	}
	*addr = at;
	return 0;
}

int agent_code_free(struct agent *a, uint64_t addr)
{
	return arena_free(&a->ar, addr);
}

int agent_buffer_alloc(struct agent *a, size_t size, uint64_t *addr)
{
	uint64_t at, n = align_up(size, 64);
	void *zero;
	int rc;

	if (size == 0)
		return -EINVAL;
	TRY(arena_alloc(&a->ar, n, 64, true, &at));
	/* the space may have held an earlier buffer */
	zero = hd_xcalloc(1, n);
	rc = target_mem_write(a->t, at, zero, n);
	free(zero);
	if (rc < 0) {
		(void)arena_free(&a->ar, at);
		return rc;
	}
	*addr = at;
	return 0;
}

int agent_buffer_free(struct agent *a, uint64_t addr)
{
	return arena_free(&a->ar, addr);
}

static bool sync_fault(const struct target_stop *st)
{
	switch (st->signo) {
	case SIGSEGV: case SIGBUS: case SIGILL: case SIGFPE: case SIGTRAP: case SIGSYS:
		return st->siginfo.si_code > 0;
	default:
		return false;
	}
}

/* Copy the 16 general-purpose registers of `from` into `to`. */
static void copy_gprs(struct user_regs_struct *to, const struct user_regs_struct *from)
{
	to->rax = from->rax; to->rcx = from->rcx; to->rdx = from->rdx; to->rbx = from->rbx;
	to->rsp = from->rsp; to->rbp = from->rbp; to->rsi = from->rsi; to->rdi = from->rdi;
	to->r8 = from->r8; to->r9 = from->r9; to->r10 = from->r10; to->r11 = from->r11;
	to->r12 = from->r12; to->r13 = from->r13; to->r14 = from->r14; to->r15 = from->r15;
}

/* Wait for the runner's trap on `tid`; see the banner for the other stops.
 * @return 0 at the trap (regs in `tr`), or the run's error. */
static int wait_trap(struct agent *a, pid_t tid, struct user_regs_struct *tr, int *deferred,
		     int *ndeferred)
{
	uint64_t trap = agent_trap_addr(a);
	struct target_stop st;
	int rc;

	for (;;) {
		TRY(target_wait_thread(a->t, tid, &st));
		switch (st.kind) {
		case TARGET_STOP_BREAKPOINT:
		case TARGET_STOP_SIGNAL:
			rc = agent_fault_fixup(a, tid, &st);
			if (rc < 0)
				return rc;
			if (rc > 0)
				break;
			TRY(target_regs_get(a->t, tid, tr));
			if ((st.kind == TARGET_STOP_BREAKPOINT || st.signo == SIGTRAP) &&
			    (tr->rip == trap || tr->rip == trap + 1))
				return 0;
			if (st.kind == TARGET_STOP_SIGNAL && sync_fault(&st)) {
				a->crash.signo = st.signo;
				a->crash.code = st.siginfo.si_code;
				a->crash.rip = tr->rip;
				a->crash.addr = (uint64_t)(uintptr_t)st.siginfo.si_addr;
				a->crash.in_block = arena_find(&a->ar, tr->rip) >= 0;
				return -HD_E_CODECRASH;
			}
			if (st.kind == TARGET_STOP_SIGNAL && *ndeferred < MAX_DEFERRED)
				deferred[(*ndeferred)++] = st.signo;
			break;
		case TARGET_STOP_HWBP:
		case TARGET_STOP_STEP:
		case TARGET_STOP_SYSCALL:
		case TARGET_STOP_SYSCALL_EXIT:
		case TARGET_STOP_THREAD_NEW:
			break; /* no events inside blocks */
		case TARGET_STOP_INTERRUPT:
			return -HD_E_INTERRUPTED;
		case TARGET_STOP_EXEC:
		case TARGET_STOP_THREAD_EXIT:
		case TARGET_STOP_EXITED:
		case TARGET_STOP_KILLED:
			return -HD_E_EXITED;
		default:
			return -EPROTO;
		}
		TRY(target_resume(a->t, tid, TARGET_RESUME_CONT, 0));
	}
}

int agent_run_code(struct agent *a, pid_t tid, uint64_t code, uint64_t buffer, uint64_t context,
		   enum agent_kind kind, uint64_t *result)
{
	struct user_regs_struct g, r, tr;
	uint64_t block[AGENT_CALL_SIZE / 8];
	int deferred[MAX_DEFERRED], ndeferred = 0, rc;
	uint64_t hit;

	if (result)
		*result = 0;
	hit = target_bp_hit(a->t, tid);
	TRY(target_regs_get(a->t, tid, &g));
	block[AGENT_CALL_RAX / 8] = g.rax;
	block[AGENT_CALL_RSP / 8] = g.rsp;
	block[AGENT_CALL_CODE / 8] = code;
	block[AGENT_CALL_BUFFER / 8] = buffer;
	block[AGENT_CALL_CONTEXT / 8] = context;
	block[AGENT_CALL_KIND / 8] = kind == AGENT_CONDITION;
	TRY(target_mem_write(a->t, a->call_block, block, sizeof(block)));
	r = g;
	r.rip = agent_runner_addr(a);
	r.rax = a->call_block;
	r.orig_rax = (uint64_t)-1; /* no syscall (re)start on the way out */
	TRY(target_regs_set(a->t, tid, &r));
	TRY(target_resume(a->t, tid, TARGET_RESUME_CONT, 0));
	a->runs++;

	rc = wait_trap(a, tid, &tr, deferred, &ndeferred);
	if (rc == 0) {
		r = g;
		copy_gprs(&r, &tr);
		if (result && kind == AGENT_CONDITION)
			*result = !(tr.eflags & ZF_BIT);
		rc = target_regs_set(a->t, tid, &r);
	} else if (rc == -HD_E_CODECRASH || rc == -HD_E_INTERRUPTED) {
		int rc2 = target_regs_set(a->t, tid, &g);
		if (rc2 < 0)
			rc = rc2;
	}
	/* Back at the event's breakpoint (if any): the next resume steps over it. */
	if (rc != -HD_E_EXITED) {
		int rc2 = target_bp_hit_set(a->t, tid, hit);
		if (rc2 < 0 && rc >= 0)
			rc = rc2;
	}
	for (int i = 0; i < ndeferred && rc != -HD_E_EXITED; i++)
		if (syscall(SYS_tgkill, a->pid, tid, deferred[i]) < 0)
			pr_warn("agent: cannot re-send signal %d to thread %d: %s", deferred[i],
				(int)tid, strerror(errno));
	return rc;
}

int agent_fault_fixup(struct agent *a, pid_t tid, const struct target_stop *st)
{
	struct user_regs_struct r;

	if (st->kind != TARGET_STOP_SIGNAL || (st->signo != SIGSEGV && st->signo != SIGBUS))
		return 0;
	TRY(target_regs_get(a->t, tid, &r));
	if (r.rip != a->arena + agent_probe_copy_insn_off)
		return 0;
	r.rip = a->arena + agent_probe_copy_fail_off;
	TRY(target_regs_set(a->t, tid, &r));
	return 1;
}

const struct agent_crash *agent_last_crash(const struct agent *a)
{
	return &a->crash;
}

uint64_t agent_runner_addr(const struct agent *a)
{
	return a->arena + agent_runner_off;
}

uint64_t agent_trap_addr(const struct agent *a)
{
	return a->arena + agent_runner_trap_off;
}

uint64_t agent_ring_write_addr(const struct agent *a)
{
	return a->arena + agent_blob_ring_write_off;
}

uint64_t agent_probe_copy_addr(const struct agent *a)
{
	return a->arena + agent_probe_copy_off;
}

uint64_t agent_ring_target_addr(const struct agent *a)
{
	return a->ring_target;
}

struct agent_ring_hdr *agent_ring(struct agent *a)
{
	return a->ring;
}

/* ---- one stop per event ---- */

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

int agent_onestop_load(struct agent *a, const struct agent_onestop_op *ops, int n, uint64_t cont,
		       uint64_t *entry)
{
	static const uint8_t stub[] = {
		0x48, 0x8d, 0x64, 0x24, 0x80, /* lea rsp, [rsp - 0x80] */
		0x50,                         /* push rax */
		0x48, 0x8d, 0x05, 0, 0, 0, 0, /* lea rax, [rip + desc] */
		0xe9, 0, 0, 0, 0,             /* jmp agent_onestop */
	};
	static const uint8_t epi[] = {
		0x48, 0x8b, 0x04, 0x24,       /* mov rax, [rsp] */
		0x48, 0x8b, 0x64, 0x24, 0x20, /* mov rsp, [rsp + 0x20] */
		0xff, 0x25, 0, 0, 0, 0,       /* jmp [rip + 0] */
	};
	size_t len = AGENT_OS_DESC + 16 + (size_t)n * AGENT_OS_OP_SIZE;
	uint8_t *blk;
	uint64_t at;
	int rc;

	if (n < 1 || n > 4096)
		return -EINVAL;
	/* The room first: the stub's displacements depend on where it is. */
	TRY(arena_alloc(&a->ar, len, 16, false, &at));
	blk = hd_xcalloc(1, len);
	memset(blk, 0xcc, AGENT_OS_DESC);
	memcpy(blk + AGENT_OS_STUB, stub, sizeof(stub));
	put32(blk + AGENT_OS_STUB + 9, (uint32_t)(AGENT_OS_DESC - (AGENT_OS_STUB + 13)));
	put32(blk + AGENT_OS_STUB + 14,
	      (uint32_t)(agent_onestop_addr(a) - (at + AGENT_OS_STUB + sizeof(stub))));
	memcpy(blk + AGENT_OS_EPI, epi, sizeof(epi));
	put64(blk + AGENT_OS_EPI + sizeof(epi), cont);
	put64(blk + AGENT_OS_DESC, at + AGENT_OS_EPI);
	put64(blk + AGENT_OS_DESC + 8, (uint64_t)n);
	for (int i = 0; i < n; i++) {
		uint8_t *op = blk + AGENT_OS_DESC + 16 + (size_t)i * AGENT_OS_OP_SIZE;
		put64(op + 0x00, ops[i].cond);
		put64(op + 0x08, ops[i].code);
		put64(op + 0x10, ops[i].buffer);
		put64(op + 0x18, ops[i].context);
	}
	rc = target_mem_write(a->t, at, blk, len);
	free(blk);
	if (rc < 0) {
		(void)arena_free(&a->ar, at);
		return rc;
	}
	*entry = at + AGENT_OS_STUB;
	return 0;
}

int agent_onestop_trapped(struct agent *a, pid_t tid, struct agent_guest_regs *regs, int *op)
{
	struct user_regs_struct r;
	uint64_t f[AGENT_OS_F_OP / 8 + 1];
	TRY(target_regs_get(a->t, tid, &r));
	if (r.rip != a->arena + agent_onestop_break_off + 1)
		return 0;
	TRY(target_mem_read(a->t, r.rsp, f, sizeof(f)));
	memcpy(regs, f, sizeof(*regs));
	uint64_t desc = f[AGENT_OS_F_DESC / 8], cur = f[AGENT_OS_F_OP / 8];
	if (cur < desc + 16 || (cur - desc - 16) % AGENT_OS_OP_SIZE)
		return -EPROTO;
	*op = (int)((cur - desc - 16) / AGENT_OS_OP_SIZE);
	return 1;
}

int agent_onestop_free(struct agent *a, uint64_t entry)
{
	return arena_free(&a->ar, entry - AGENT_OS_STUB);
}

uint64_t agent_onestop_addr(const struct agent *a)
{
	return a->arena + agent_onestop_off;
}

bool agent_in_arena(const struct agent *a, uint64_t addr)
{
	return addr >= a->arena && addr - a->arena < AGENT_ARENA_SIZE;
}

int agent_block_find(const struct agent *a, uint64_t addr, uint64_t *start)
{
	int i = arena_find(&a->ar, addr);
	if (i < 0)
		return -HD_E_NOTFOUND;
	*start = a->ar.used[i].addr;
	return 0;
}

uint64_t agent_runs(const struct agent *a)
{
	return a->runs;
}
