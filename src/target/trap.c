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
*/
#include <cpuid.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
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

int target_tsc_trap(struct target *t, bool on)
{
	uint64_t args[6] = {PR_SET_TSC, on ? PR_TSC_SIGSEGV : PR_TSC_ENABLE, 0, 0, 0, 0};
	return each_thread(t, SYS_prctl, args);
}

int target_cpuid_trap(struct target *t, bool on)
{
	/* ARCH_SET_CPUID's argument: 1 = cpuid works, 0 = it faults. */
	uint64_t args[6] = {ARCH_SET_CPUID, on ? 0 : 1, 0, 0, 0, 0};
	int rc = each_thread(t, SYS_arch_prctl, args);
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

int target_insn_skip(struct target *t, pid_t tid)
{
	struct user_regs_struct r;
	uint8_t buf[ZYDIS_MAX_INSTRUCTION_LENGTH];
	size_t n = sizeof(buf);
	ZydisDecoder dec;
	ZydisDecodedInstruction in;
	TRY(target_regs_get(t, tid, &r));
	while (n && target_mem_read(t, r.rip, buf, n) < 0)
		n--;
	if (!n)
		return -HD_E_BADADDR;
	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
	if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&dec, NULL, buf, n, &in)))
		return -HD_E_DECODE;
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
