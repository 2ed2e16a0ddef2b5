/*
** mem.c: registers (one PTRACE_GETREGS per stop, cached, written back at
** resume) and memory through /proc/PID/mem (which also writes read-only
** code pages), with breakpoint bytes hidden on reads and kept armed on
** writes.
*/
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "target/internal.h"

int th_regs(struct target *t, struct thread *th)
{
	if (th->regs_valid)
		return 0;
	if (ptrace(PTRACE_GETREGS, th->tid, NULL, &th->regs) < 0)
		return errno == ESRCH ? -HD_E_NOTHREAD : -errno;
	th->regs_valid = true;
	th->regs_dirty = false;
	if (t->nchunk)
		bp_fixup_thread(t, th);
	if (!th->stop_rip_set) {
		th->stop_rip = th->regs.rip;
		th->stop_rip_set = true;
	}
	return 0;
}

int th_flush_regs(struct target *t, struct thread *th)
{
	(void)t;
	if (!th->regs_dirty)
		return 0;
	if (ptrace(PTRACE_SETREGS, th->tid, NULL, &th->regs) < 0)
		return errno == ESRCH ? -HD_E_NOTHREAD : -errno;
	th->regs_dirty = false;
	return 0;
}

int th_stopped(struct target *t, pid_t tid, struct thread **out)
{
	if (t->gone)
		return -HD_E_EXITED;
	struct thread *th = th_find(t, tid);
	if (!th)
		return -HD_E_NOTHREAD;
	if (th->state != TH_STOPPED)
		return -HD_E_RUNNING;
	*out = th;
	return 0;
}

int target_regs_get(struct target *t, pid_t tid, struct user_regs_struct *regs)
{
	struct thread *th;
	TRY(th_stopped(t, tid, &th));
	TRY(th_regs(t, th));
	*regs = th->regs;
	return 0;
}

int target_regs_set(struct target *t, pid_t tid, const struct user_regs_struct *regs)
{
	struct thread *th;
	TRY(th_stopped(t, tid, &th));
	TRY(th_regs(t, th));
	th->regs = *regs;
	th->regs_dirty = true;
	return 0;
}

int target_fpregs_get(struct target *t, pid_t tid, struct user_fpregs_struct *fp)
{
	struct thread *th;
	TRY(th_stopped(t, tid, &th));
	if (ptrace(PTRACE_GETFPREGS, tid, NULL, fp) < 0)
		return -errno;
	return 0;
}

int target_fpregs_set(struct target *t, pid_t tid, const struct user_fpregs_struct *fp)
{
	struct thread *th;
	TRY(th_stopped(t, tid, &th));
	if (ptrace(PTRACE_SETFPREGS, tid, NULL, (void *)fp) < 0)
		return -errno;
	return 0;
}

/* ---- memory ---- */

int mem_raw_read(struct target *t, uint64_t addr, void *buf, size_t len)
{
	if (t->memfd < 0)
		return t->gone ? -HD_E_EXITED : -HD_E_NOTARGET;
	char *p = buf;
	while (len) {
		if (addr > (uint64_t)INT64_MAX)
			return -HD_E_BADADDR;
		ssize_t n = pread(t->memfd, p, len, (off_t)addr);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -HD_E_BADADDR;
		p += n;
		addr += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int mem_raw_write(struct target *t, uint64_t addr, const void *buf, size_t len)
{
	if (t->memfd < 0)
		return t->gone ? -HD_E_EXITED : -HD_E_NOTARGET;
	const char *p = buf;
	while (len) {
		if (addr > (uint64_t)INT64_MAX)
			return -HD_E_BADADDR;
		ssize_t n = pwrite(t->memfd, p, len, (off_t)addr);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -HD_E_BADADDR;
		p += n;
		addr += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/* Index of the first breakpoint record at or above addr. */
static int bp_lower(const struct target *t, uint64_t addr)
{
	int lo = 0, hi = t->nbp;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (t->bps[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int target_mem_read(struct target *t, uint64_t addr, void *buf, size_t len)
{
	if (len == 0)
		return 0;
	if (addr + len < addr)
		return -HD_E_BADADDR;
	TRY(mem_raw_read(t, addr, buf, len));
	for (int i = bp_lower(t, addr); i < t->nbp && t->bps[i].addr < addr + len; i++)
		if (t->bps[i].refs > 0)
			((uint8_t *)buf)[t->bps[i].addr - addr] = t->bps[i].orig;
	return 0;
}

int target_mem_write(struct target *t, uint64_t addr, const void *buf, size_t len)
{
	uint8_t chunk[4096];
	const uint8_t *src = buf;
	if (len == 0)
		return 0;
	if (addr + len < addr)
		return -HD_E_BADADDR;
	/* Probe the whole range first so that a bad address changes nothing. */
	for (uint64_t a = addr; a < addr + len;) {
		size_t n = addr + len - a < sizeof(chunk) ? (size_t)(addr + len - a) : sizeof(chunk);
		TRY(mem_raw_read(t, a, chunk, n));
		a += n;
	}
	for (uint64_t a = addr; a < addr + len;) {
		size_t n = addr + len - a < sizeof(chunk) ? (size_t)(addr + len - a) : sizeof(chunk);
		memcpy(chunk, src + (a - addr), n);
		for (int i = bp_lower(t, a); i < t->nbp && t->bps[i].addr < a + n; i++) {
			struct bp *b = &t->bps[i];
			if (b->refs > 0) {
				b->orig = chunk[b->addr - a];
				chunk[b->addr - a] = 0xcc;
			}
		}
		TRY(mem_raw_write(t, a, chunk, n));
		a += n;
	}
	bp_ool_invalidate(t, addr, len);
	if (t->syscall_insn && t->syscall_insn + 2 > addr && t->syscall_insn < addr + len)
		t->syscall_insn = 0;
	return 0;
}
