/*
** seccomp.c: syscall traps for the !syscall/!sysret events: a seccomp
** filter that returns SECCOMP_RET_TRACE only for the wanted numbers
** (started targets), or syscall-stop tracing (attached targets).
**
** Design. The filter is a handful of classic BPF instructions written by
** hand (<linux/filter.h> macros): check the architecture, load the number,
** one `jeq` per traced number. It is copied to scratch memory in the target
** with its struct sock_fprog and installed by the target itself through a
** borrowed `syscall` (seccomp(SET_MODE_FILTER, TSYNC, prog)): the kernel
** attaches filters only to the calling thread, TSYNC spreads it to all.
** Filters stack and cannot be removed; a later call adds the numbers not
** yet traced, and the event layer ignores stops that no event wants.
*/
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "target/internal.h"

bool target_is_attached(const struct target *t)
{
	return t->attached;
}

/* Build the program: x86-64 syscalls in `nrs` (all when NULL) -> TRACE. */
static size_t build_filter(struct sock_filter *f, const long *nrs, int n)
{
	size_t k = 0;
	f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					      offsetof(struct seccomp_data, arch));
	f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	if (nrs) {
		f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						      offsetof(struct seccomp_data, nr));
		/* jeq nr: jump over the remaining tests and the ALLOW to TRACE */
		for (int i = 0; i < n; i++)
			f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
							      (uint32_t)nrs[i],
							      (uint8_t)(n - i), 0);
		f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	}
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE);
	return k;
}

/* Layout in the target: struct sock_fprog (16 bytes), then the program. */
struct fprog64 {
	uint16_t len;
	uint16_t pad[3];
	uint64_t filter;
};

int target_seccomp_trace(struct target *t, pid_t tid, const long *nrs, int n)
{
	if (t->gone)
		return -HD_E_EXITED;
	if (nrs && (n < 1 || n > TARGET_SECCOMP_MAX))
		return -EINVAL;
	struct thread *th = th_any_stopped(t, tid);
	if (!th)
		return -HD_E_RUNNING;
	struct sock_filter f[TARGET_SECCOMP_MAX + 8];
	size_t k = build_filter(f, nrs, n);
	size_t size = sizeof(struct fprog64) + k * sizeof(f[0]);
	uint64_t at;
	TRY(target_scratch_alloc(t, 0, size, &at));
	struct fprog64 prog = {.len = (uint16_t)k, .filter = at + sizeof(prog)};
	TRY(target_mem_write(t, at, &prog, sizeof(prog)));
	TRY(target_mem_write(t, at + sizeof(prog), f, k * sizeof(f[0])));

	uint64_t ret, args[6] = {SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, at, 0, 0, 0};
	TRY(target_syscall(t, th->tid, SYS_seccomp, args, &ret));
	if ((int64_t)ret == -EACCES) {
		/* Without CAP_SYS_ADMIN the kernel wants no_new_privs first. */
		uint64_t nnp[6] = {PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0}, r2;
		TRY(target_syscall(t, th->tid, SYS_prctl, nnp, &r2));
		if ((int64_t)r2 < 0)
			return (int)(int64_t)r2;
		TRY(target_syscall(t, th->tid, SYS_seccomp, args, &ret));
	}
	if ((int64_t)ret < 0)
		return (int)(int64_t)ret;
	if (ret > 0) /* TSYNC: the id of a thread that could not take it */
		return -EBUSY;
	return 0;
}

int target_seccomp_filters(struct target *t)
{
	char path[64], line[128];
	int n = 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)t->pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Seccomp_filters: %d", &n) == 1)
			break;
	fclose(f);
	return n;
}

int target_syscall_trace(struct target *t, bool on)
{
#ifdef TARGET_HAVE_SYSTRACE
	t->systrace = on;
	return 0;
#else
	(void)t;
	return on ? -HD_E_UNSUPPORTED : 0;
#endif
}

bool target_at_syscall(struct target *t, pid_t tid)
{
	struct thread *th = th_find(t, tid);
	return th && th->state == TH_STOPPED && th->stop_type == STOPT_SYSCALL;
}

long target_syscall_nr(const char *name)
{
	int nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, name);
	return nr == __NR_SCMP_ERROR || nr < 0 ? -HD_E_NOTFOUND : nr;
}
