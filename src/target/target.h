/*
** target.h: the target layer's public header. ptrace control of one Linux
** x86-64 process and all its threads: start/attach/detach/kill, stops,
** registers (cached per stop), memory (/proc/PID/mem), int3 breakpoints with
** the displaced instruction executed out of line, hardware debug registers,
** and system calls run inside the target.
**
** CONTRACT: other layers (sym, agent, event, cmd) code against the functions
** below. Add functions freely; do not change these signatures or meanings
** without updating every caller.
**
** Stop model. target_wait() returns one stop of one thread; when it returns,
** only that thread is known to be stopped. The caller then either resumes it
** (an event handled without the user: one stop per hit) or calls
** target_stop_all() to enter all-stop before handing control to the user.
** Stops of other threads seen while stopping them are queued and reported by
** later target_wait() calls, never lost.
*/
#ifndef HD_TARGET_TARGET_H
#define HD_TARGET_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include "util/hd.h"

struct target;

enum target_stop_kind {
	TARGET_STOP_NONE,
	TARGET_STOP_START,      /**< initial stop after start/attach/exec */
	TARGET_STOP_BREAKPOINT, /**< int3 of a breakpoint at `addr`; rip == addr */
	TARGET_STOP_STEP,       /**< a single step (target_step) completed */
	TARGET_STOP_HWBP,       /**< debug register `slot` hit; `addr` = its address */
	TARGET_STOP_SIGNAL,     /**< signal-delivery stop for `signo` (`siginfo` valid) */
	TARGET_STOP_SYSCALL,    /**< seccomp RET_TRACE stop (syscall entry), `sysno` */
	TARGET_STOP_SYSCALL_EXIT, /**< syscall-exit stop after TARGET_RESUME_SYSCALL */
	TARGET_STOP_EXEC,       /**< the process called execve: a new address space */
	TARGET_STOP_THREAD_NEW, /**< a new thread `tid` appeared (already traced) */
	TARGET_STOP_THREAD_EXIT,/**< thread `tid` exited (not the last one) */
	TARGET_STOP_INTERRUPT,  /**< target_interrupt() was requested (Ctrl-C) */
	TARGET_STOP_EXITED,     /**< the whole process exited with `status` */
	TARGET_STOP_KILLED,     /**< the whole process was killed by `signo` */
};

struct target_stop {
	enum target_stop_kind kind;
	pid_t tid;
	int signo;          /**< SIGNAL, KILLED */
	int status;         /**< EXITED */
	int slot;           /**< HWBP */
	long sysno;         /**< SYSCALL, SYSCALL_EXIT */
	uint64_t addr;      /**< BREAKPOINT, HWBP: the breakpoint's address */
	siginfo_t siginfo;  /**< SIGNAL */
};

/** How a resumed thread runs. */
enum target_resume_mode {
	TARGET_RESUME_CONT,    /**< run freely */
	TARGET_RESUME_SYSCALL, /**< run until the next syscall-exit stop */
};

/* ---- lifetime ---- */

/** @brief Start `path` with `argv` (argv[0] included, NULL-terminated),
 *  stopped at its first instruction; the process dies with hdbg
 *  (PTRACE_O_EXITKILL). @return 0 or -errno. */
int target_start(struct target **out, const char *path, char *const argv[]) HD_MUST_CHECK;

/** @brief Attach to a running process and all its threads (PTRACE_SEIZE),
 *  leaving them all stopped. */
int target_attach(struct target **out, pid_t pid) HD_MUST_CHECK;

/** @brief Restore every patched byte, clear debug registers, detach all
 *  threads and free `t`; the process keeps running. */
int target_detach(struct target *t);

/** @brief Kill the process, reap it and free `t`. */
int target_kill(struct target *t);

/** @brief Free `t` after the process has exited (EXITED/KILLED stop). */
void target_free(struct target *t);

pid_t target_pid(const struct target *t);
/** true once an EXITED or KILLED stop has been reported. */
bool target_exited(const struct target *t);

/* ---- threads ---- */

/** @brief Fill `tids` with up to `max` thread ids; @return the count. */
int target_threads(struct target *t, pid_t *tids, int max);
/** The thread the user works with (the last thread that stopped, or chosen). */
pid_t target_thread_current(const struct target *t);
int target_thread_select(struct target *t, pid_t tid) HD_MUST_CHECK;

/* ---- registers (one GETREGS per stop, cached until the thread resumes) ---- */

int target_regs_get(struct target *t, pid_t tid, struct user_regs_struct *regs) HD_MUST_CHECK;
/** Written back when the thread resumes. */
int target_regs_set(struct target *t, pid_t tid, const struct user_regs_struct *regs) HD_MUST_CHECK;
int target_fpregs_get(struct target *t, pid_t tid, struct user_fpregs_struct *fp) HD_MUST_CHECK;

/* ---- memory ---- */

/** @brief Read target memory, showing original bytes where breakpoints are.
 *  @return 0, or -HD_E_BADADDR if any byte is unreadable (nothing partial). */
int target_mem_read(struct target *t, uint64_t addr, void *buf, size_t len) HD_MUST_CHECK;
/** @brief Write target memory (also read-only code pages); breakpoints in
 *  the range stay armed, with the new bytes as their originals. */
int target_mem_write(struct target *t, uint64_t addr, const void *buf, size_t len) HD_MUST_CHECK;

/* ---- running ---- */

/** @brief Resume one stopped thread. A thread at a breakpoint executes the
 *  displaced instruction out of line (no extra stop). `signo` is delivered
 *  when resuming from a SIGNAL stop (0 suppresses it). */
int target_resume(struct target *t, pid_t tid, enum target_resume_mode mode, int signo) HD_MUST_CHECK;
/** @brief Resume every stopped thread (after all-stop). */
int target_resume_all(struct target *t) HD_MUST_CHECK;
/** @brief Stop every running thread (PTRACE_INTERRUPT); all-stop. */
int target_stop_all(struct target *t) HD_MUST_CHECK;
/** @brief Execute one instruction of `tid` (others stay stopped); fills `stop`
 *  (STEP, or whatever happened instead: a signal, exit...). */
int target_step(struct target *t, pid_t tid, struct target_stop *stop) HD_MUST_CHECK;
/** @brief Wait for the next stop of any thread (see the stop model above).
 *  Returns TARGET_STOP_INTERRUPT after target_interrupt(). */
int target_wait(struct target *t, struct target_stop *stop) HD_MUST_CHECK;
/** @brief Async-signal-safe: make the current/next target_wait() stop the
 *  target and return TARGET_STOP_INTERRUPT (Ctrl-C). */
void target_interrupt(struct target *t);

/* ---- breakpoints (int3, reference counted per address) ---- */

int target_bp_insert(struct target *t, uint64_t addr) HD_MUST_CHECK;
int target_bp_remove(struct target *t, uint64_t addr) HD_MUST_CHECK;
bool target_bp_at(const struct target *t, uint64_t addr);

/* ---- hardware debug registers (all threads, new ones included) ---- */

enum target_hw_kind { TARGET_HW_EXEC, TARGET_HW_WRITE, TARGET_HW_RW };
/** @brief Arm a debug register. `len` 1, 2, 4 or 8 (1 for EXEC).
 *  @return the slot (0-3), or -HD_E_NOSLOT. */
int target_hw_set(struct target *t, uint64_t addr, enum target_hw_kind kind, int len) HD_MUST_CHECK;
int target_hw_clear(struct target *t, int slot) HD_MUST_CHECK;

/* ---- running code in the target ---- */

/** @brief Run system call `nr` in stopped thread `tid` through a borrowed
 *  `syscall` instruction; registers and memory are left as they were. */
int target_syscall(struct target *t, pid_t tid, long nr, const uint64_t args[6],
		   uint64_t *ret) HD_MUST_CHECK;
/** @brief Executable memory in the target within +-2 GiB of `near` (0: anywhere),
 *  from a per-address-space arena. */
int target_scratch_alloc(struct target *t, uint64_t near, size_t len, uint64_t *addr) HD_MUST_CHECK;

#endif
