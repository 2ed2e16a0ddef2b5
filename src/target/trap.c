/*
** trap.c: per-thread traps and instruction emulation for the event kinds:
** rdtsc/rdtscp faulting (PR_SET_TSC), CPUID faulting (ARCH_SET_CPUID),
** the emulation of the faulting instruction in hdbg, skipping an
** instruction, page protections (mprotect in the target) and a
** non-waiting single step (post stages).
**
** PR_SET_TSC and ARCH_SET_CPUID act on the calling thread only and are
** inherited by clone, so they are run through target_syscall() in every
** known thread; threads that have not yet had their first stop were
** cloned from one that had the setting.
**
** A process the target forks inherits these traps (and its copy of the
** memory inherits the protections; the TSC trap even survives execve),
** but the stop machine releases it: trap_release_child() undoes them in
** the child first, through a syscall run in the child the same way.
*/
#include <cpuid.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <x86intrin.h>
#include <asm/prctl.h>

#include <Zydis/Zydis.h>

#include "target/internal.h"

/* Run `nr` in every stopped thread; running (not new) threads fail. */
static int each_thread(struct target *t, long nr, const uint64_t args[6])
{
	int first = 0;
	if (t->gone)
		return -HD_E_EXITED;
	for (int i = 0; i < t->nth; i++) {
		struct thread *th = t->th[i];
		uint64_t ret = 0;
		int rc;
		if (th->state != TH_STOPPED) {
			if (!th->is_new && !first)
				first = -HD_E_RUNNING;
			continue;
		}
		rc = target_syscall(t, th->tid, nr, args, &ret);
		if (rc == 0 && (int64_t)ret < 0)
			rc = (int)(int64_t)ret;
		if (rc < 0 && !first)
			first = rc;
	}
	return first;
}

/* ---- what a released child must get undone ---- */

#ifdef TARGET_HAVE_TRAPS
struct trap_page {
	uint64_t addr;
	int orig, cur;
};

struct trap_state {
	bool tsc, cpuid;
	struct trap_page *pages;
	int npage, cappage;
};

static struct trap_state *traps(struct target *t)
{
	if (!t->traps)
		t->traps = hd_xcalloc(1, sizeof(*t->traps));
	return t->traps;
}

void trap_free(struct target *t)
{
	if (!t->traps)
		return;
	free(t->traps->pages);
	free(t->traps);
	t->traps = NULL;
}

void trap_exec(struct target *t)
{
	/* a new address space; the kernel ended CPUID faulting, not the TSC trap */
	if (!t->traps)
		return;
	t->traps->cpuid = false;
	t->traps->npage = 0;
}

static void note_page(struct target *t, uint64_t pg, int prot)
{
	struct trap_state *s = traps(t);
	for (int i = 0; i < s->npage; i++)
		if (s->pages[i].addr == pg) {
			s->pages[i].cur = prot;
			return;
		}
	int orig;
	if (target_page_prot(t, pg, &orig) < 0 || orig == prot)
		return;
	if (s->npage == s->cappage) {
		s->cappage = s->cappage ? 2 * s->cappage : 8;
		s->pages = hd_xrealloc(s->pages, (size_t)s->cappage * sizeof(s->pages[0]));
	}
	s->pages[s->npage++] = (struct trap_page){pg, orig, prot};
}

/* Run one syscall in released child `c` (in a ptrace-stop, ours, not in
 * the thread table) through the borrowed `syscall`; registers restored. */
static int child_syscall(struct target *t, pid_t c, long nr, uint64_t a0, uint64_t a1,
			 uint64_t a2)
{
	struct user_regs_struct saved, r;
	int rc = -HD_E_RUNTIME;
	if (!t->syscall_insn || ptrace(PTRACE_GETREGS, c, NULL, &saved) < 0)
		return -ESRCH;
	for (int attempt = 0; attempt < 4; attempt++) {
		int st;
		r = saved;
		r.rip = t->syscall_insn;
		r.rax = (uint64_t)nr;
		r.orig_rax = ~0ull;
		r.rdi = a0;
		r.rsi = a1;
		r.rdx = a2;
		r.eflags &= ~0x100ull;
		if (ptrace(PTRACE_SETREGS, c, NULL, &r) < 0 || ptrace(PTRACE_SINGLESTEP, c, NULL, NULL) < 0)
			return -errno;
		if (waitpid(c, &st, __WALL) != c || !WIFSTOPPED(st))
			return -ESRCH;
		if (ptrace(PTRACE_GETREGS, c, NULL, &r) < 0)
			return -errno;
		if (r.rip == t->syscall_insn + 2) {
			rc = (int64_t)r.rax < 0 ? (int)(int64_t)r.rax : 0;
			break;
		}
		/* stopped before running it (the fork's own return, a seccomp
		 * stop of our call...): again */
	}
	if (ptrace(PTRACE_SETREGS, c, NULL, &saved) < 0)
		return -errno;
	return rc;
}

void trap_release_child(struct target *t, pid_t child, bool shared_mm)
{
	struct trap_state *s = t->traps;
	bool failed = false;
	if (!s)
		return;
	if (s->tsc)
		failed |= child_syscall(t, child, SYS_prctl, PR_SET_TSC, PR_TSC_ENABLE, 0) < 0;
	if (s->cpuid)
		failed |= child_syscall(t, child, SYS_arch_prctl, ARCH_SET_CPUID, 1, 0) < 0;
	/* a vfork child shares the memory: its protections are the target's */
	for (int i = 0; i < s->npage && !shared_mm; i++)
		if (s->pages[i].cur != s->pages[i].orig)
			failed |= child_syscall(t, child, SYS_mprotect, s->pages[i].addr, 4096,
						(uint64_t)s->pages[i].orig) < 0;
	if (failed)
		pr_warn("target: cannot undo every trap in the forked child %d", (int)child);
}
#endif

int target_tsc_trap(struct target *t, bool on)
{
	uint64_t args[6] = {PR_SET_TSC, on ? PR_TSC_SIGSEGV : PR_TSC_ENABLE, 0, 0, 0, 0};
	int rc = each_thread(t, SYS_prctl, args);
#ifdef TARGET_HAVE_TRAPS
	traps(t)->tsc = on;
#endif
	return rc;
}

int target_cpuid_trap(struct target *t, bool on)
{
	/* ARCH_SET_CPUID's argument: 1 = cpuid works, 0 = it faults. */
	uint64_t args[6] = {ARCH_SET_CPUID, on ? 0 : 1, 0, 0, 0, 0};
	int rc = each_thread(t, SYS_arch_prctl, args);
#ifdef TARGET_HAVE_TRAPS
	traps(t)->cpuid = on;
#endif
	return on && rc == -EINVAL ? -ENODEV : rc;
}

enum target_insn target_trap_insn(struct target *t, const struct target_stop *st)
{
	struct user_regs_struct r;
	uint8_t b[3];
	if (st->kind != TARGET_STOP_SIGNAL || st->signo != SIGSEGV ||
	    st->siginfo.si_code != SI_KERNEL)
		return TARGET_INSN_NONE;
	if (target_regs_get(t, st->tid, &r) < 0 || target_mem_read(t, r.rip, b, 2) < 0 ||
	    b[0] != 0x0f)
		return TARGET_INSN_NONE;
	if (b[1] == 0x31)
		return TARGET_INSN_RDTSC;
	if (b[1] == 0xa2)
		return TARGET_INSN_CPUID;
	if (b[1] == 0x01 && target_mem_read(t, r.rip + 2, b + 2, 1) == 0 && b[2] == 0xf9)
		return TARGET_INSN_RDTSCP;
	return TARGET_INSN_NONE;
}

int target_trap_emulate(struct target *t, pid_t tid, enum target_insn insn)
{
	struct thread *th = th_find(t, tid);
	struct user_regs_struct r;
	unsigned int a, b, c, d, aux;
	uint64_t tsc;
	if (!th)
		return -HD_E_NOTHREAD;
	TRY(target_regs_get(t, tid, &r));
	switch (insn) {
	case TARGET_INSN_RDTSC:
		tsc = __rdtsc();
		r.rax = (uint32_t)tsc;
		r.rdx = tsc >> 32;
		r.rip += 2;
		break;
	case TARGET_INSN_RDTSCP:
		tsc = __rdtscp(&aux);
		r.rax = (uint32_t)tsc;
		r.rdx = tsc >> 32;
		r.rcx = aux;
		r.rip += 3;
		break;
	case TARGET_INSN_CPUID:
		__cpuid_count((unsigned int)r.rax, (unsigned int)r.rcx, a, b, c, d);
		r.rax = a;
		r.rbx = b;
		r.rcx = c;
		r.rdx = d;
		r.rip += 2;
		break;
	default:
		return -EINVAL;
	}
	TRY(target_regs_set(t, tid, &r));
	th->sig = 0; /* the fault is handled: never deliver it */
	return 0;
}

/* Decode the instruction at the thread's rip (operands too when `ops`). */
static int decode_at(struct target *t, pid_t tid, struct user_regs_struct *r,
		     ZydisDecodedInstruction *in, ZydisDecodedOperand *ops)
{
	uint8_t buf[ZYDIS_MAX_INSTRUCTION_LENGTH];
	size_t n = sizeof(buf);
	ZydisDecoder dec;
	TRY(target_regs_get(t, tid, r));
	while (n && target_mem_read(t, r->rip, buf, n) < 0)
		n--;
	if (!n)
		return -HD_E_BADADDR;
	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	if (ops ? !ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, buf, n, in, ops))
		: !ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&dec, NULL, buf, n, in)))
		return -HD_E_DECODE;
	return 0;
}

int target_insn_mem_access(struct target *t, pid_t tid)
{
	struct user_regs_struct r;
	ZydisDecodedInstruction in;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	int bits = 0;
	TRY(decode_at(t, tid, &r, &in, ops));
	for (int i = 0; i < in.operand_count; i++) {
		if (ops[i].type != ZYDIS_OPERAND_TYPE_MEMORY || ops[i].mem.type == ZYDIS_MEMOP_TYPE_AGEN)
			continue;
		if (ops[i].actions & ZYDIS_OPERAND_ACTION_MASK_READ)
			bits |= 1;
		if (ops[i].actions & ZYDIS_OPERAND_ACTION_MASK_WRITE)
			bits |= 2;
	}
	return bits;
}

int target_insn_skip(struct target *t, pid_t tid)
{
	struct user_regs_struct r;
	ZydisDecodedInstruction in;
	TRY(decode_at(t, tid, &r, &in, NULL));
	r.rip += in.length;
	TRY(target_regs_set(t, tid, &r));
	struct thread *th = th_find(t, tid);
	if (th)
		th->sig = 0;
	return 0;
}

int target_page_prot(struct target *t, uint64_t addr, int *prot)
{
	char path[64], line[512], perm[8];
	uint64_t lo, hi;
	int rc = -HD_E_BADADDR;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)t->pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s", &lo, &hi, perm) != 3)
			continue;
		if (addr < lo || addr >= hi)
			continue;
		*prot = (perm[0] == 'r' ? PROT_READ : 0) | (perm[1] == 'w' ? PROT_WRITE : 0) |
			(perm[2] == 'x' ? PROT_EXEC : 0);
		rc = 0;
		break;
	}
	fclose(f);
	return rc;
}

int target_mprotect(struct target *t, pid_t tid, uint64_t addr, uint64_t len, int prot)
{
	struct thread *th = th_any_stopped(t, tid);
	uint64_t ret, args[6] = {addr, len, (uint64_t)prot, 0, 0, 0};
	if (!th)
		return -HD_E_RUNNING;
#ifdef TARGET_HAVE_TRAPS
	for (uint64_t pg = addr & ~0xfffull; pg < addr + len; pg += 4096)
		note_page(t, pg, prot);
#endif
	TRY(target_syscall(t, th->tid, SYS_mprotect, args, &ret));
	return (int64_t)ret < 0 ? (int)(int64_t)ret : 0;
}

int target_resume_step(struct target *t, pid_t tid, int signo)
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
	if (th->npend)
		return 0; /* its queued stop is reported first */
	int sig = th->stop_type == STOPT_SIGNAL ? signo : 0;
	bool emulated = false;
	TRY(bp_resume_check(t, th));
	if (th->bp_hit && t->narmed)
		TRY(bp_step_over(t, th, &emulated));
	th->bp_hit = 0;
	if (emulated) {
		/* the displaced branch was emulated: that was the step */
		struct target_stop s = {.kind = TARGET_STOP_STEP, .tid = tid};
		stop_queue(t, th, &s);
		return 0;
	}
	return th_restart(t, th, PTRACE_SINGLESTEP, sig);
}

int target_stop_queue(struct target *t, const struct target_stop *st)
{
	if (t->gone)
		return -HD_E_EXITED;
	struct thread *th = th_find(t, st->tid);
	if (!th)
		return -HD_E_NOTHREAD;
	if (th->state != TH_STOPPED)
		return -HD_E_RUNNING;
	stop_queue(t, th, st);
	return 0;
}

int target_regs_view(struct target *t, pid_t tid, const struct user_regs_struct *regs)
{
	struct thread *th = th_find(t, tid);
	if (!th)
		return -HD_E_NOTHREAD;
	if (th->state != TH_STOPPED)
		return -HD_E_RUNNING;
	TRY(th_regs(t, th)); /* a valid cache first, so that regs_dirty keeps its meaning */
	th->regs = *regs;
	return 0;
}
