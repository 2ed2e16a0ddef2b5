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

#include <signal.h>
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

/** Options of target_start_opts(). Zero-initialise; fields added later keep
 *  0 as "as target_start() does". */
struct target_start_opts {
	int stdin_fd;        /**< > 0: becomes the child's stdin; 0: inherited */
	int stdout_fd;       /**< > 0: becomes the child's stdout; 0: inherited */
	int stderr_fd;       /**< > 0: becomes the child's stderr; 0: inherited */
	char *const *envp;   /**< environment; NULL: hdbg's own */
	bool new_session;    /**< setsid(); a terminal on stdin becomes its
				  controlling terminal (its Ctrl-C reaches
				  only the program) */
};

/** @brief target_start() with options (stdio redirection, environment).
 *  `path` without a '/' is searched in PATH. `opts` may be NULL.
 *  @return 0 (the first target_wait() reports TARGET_STOP_START) or
 *  -errno (e.g. -ENOENT when execve fails). */
int target_start_opts(struct target **out, const char *path, char *const argv[],
		      const struct target_start_opts *opts) HD_MUST_CHECK;

/** @brief Attach to a running process and all its threads (PTRACE_SEIZE),
 *  leaving them all stopped. */
int target_attach(struct target **out, pid_t pid) HD_MUST_CHECK;

/** @brief Restore every patched byte, clear debug registers, detach all
 *  threads and free `t`; the process keeps running. */
int target_detach(struct target *t);

/** @brief Kill the process, reap it and free `t`. */
int target_kill(struct target *t);

/** @brief Free `t` after the process has exited (EXITED/KILLED stop).
 *  If it is still alive, a started process is killed and an attached one
 *  detached. NULL is accepted. */
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
/** @brief Write the FPU/SSE registers of a stopped thread (immediately). */
int target_fpregs_set(struct target *t, pid_t tid, const struct user_fpregs_struct *fp) HD_MUST_CHECK;

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
 *  when resuming from a SIGNAL stop (0 suppresses it). A thread with a
 *  queued, unreported stop stays stopped (0 is returned; the stop is
 *  reported next); an unreported START is simply dropped. */
int target_resume(struct target *t, pid_t tid, enum target_resume_mode mode, int signo) HD_MUST_CHECK;
/** @brief Choose the signal that target_resume_all() delivers to `tid`,
 *  stopped in a SIGNAL stop (0 suppresses it). By default it delivers the
 *  stop's signal, except SIGTRAP and SIGINT. @return 0, -HD_E_NOTFOUND when
 *  the thread is not in a signal stop. */
int target_signal_set(struct target *t, pid_t tid, int signo) HD_MUST_CHECK;
/** @brief Resume every stopped thread (after all-stop). */
int target_resume_all(struct target *t) HD_MUST_CHECK;
/** @brief Stop every running thread (PTRACE_INTERRUPT); all-stop. */
int target_stop_all(struct target *t) HD_MUST_CHECK;
/** @brief Execute one instruction of `tid` (others stay stopped); fills `stop`
 *  (STEP, or whatever happened instead: a signal, exit...). At a SIGNAL stop
 *  the signal is passed on as target_resume_all() would (the step ends in
 *  the handler). A queued stop of `tid` is returned instead of stepping. */
int target_step(struct target *t, pid_t tid, struct target_stop *stop) HD_MUST_CHECK;
/** @brief Wait for the next stop of any thread (see the stop model above).
 *  Returns TARGET_STOP_INTERRUPT after target_interrupt(). After the
 *  EXITED/KILLED report: -HD_E_EXITED; every thread stopped and nothing
 *  queued: -EDEADLK. */
int target_wait(struct target *t, struct target_stop *stop) HD_MUST_CHECK;
/** @brief Wait for the next stop of thread `tid` only. Stops of other
 *  threads that arrive meanwhile are queued and reported, in order, by later
 *  target_wait() calls. Reports EXITED/KILLED if the process ends,
 *  THREAD_EXIT if `tid` exits, INTERRUPT after target_interrupt() (then all
 *  threads are stopped). @return 0, -HD_E_NOTHREAD, -EDEADLK when `tid` is
 *  stopped with nothing queued, -HD_E_EXITED after the final report. */
int target_wait_thread(struct target *t, pid_t tid, struct target_stop *stop) HD_MUST_CHECK;
/** @brief Async-signal-safe: make the current/next target_wait() stop the
 *  target and return TARGET_STOP_INTERRUPT (Ctrl-C). */
void target_interrupt(struct target *t);

/* ---- breakpoints (int3, reference counted per address) ---- */

int target_bp_insert(struct target *t, uint64_t addr) HD_MUST_CHECK;
int target_bp_remove(struct target *t, uint64_t addr) HD_MUST_CHECK;
bool target_bp_at(const struct target *t, uint64_t addr);
/** @brief The breakpoint whose hit stopped thread `tid` reported and whose
 *  displaced instruction its next resume or step executes out of line when
 *  rip is still there (0: none). Cleared by every resume; a thread that
 *  reaches a breakpoint address otherwise (interrupted before the int3, a
 *  step, rip set) reports the hit when resumed. */
uint64_t target_bp_hit(struct target *t, pid_t tid);
/** @brief Set it (0 clears): after code ran on the thread (agent) and rip is
 *  back at the breakpoint, the next resume steps over it instead of hitting
 *  it again. @return 0, -HD_E_NOTHREAD, -HD_E_RUNNING. */
int target_bp_hit_set(struct target *t, pid_t tid, uint64_t addr) HD_MUST_CHECK;

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
/** @brief Map `size` bytes (page multiple) of anonymous private memory with
 *  `prot` in the target, through stopped thread `tid`, within +-2 GiB of
 *  `near` (0: where the kernel puts it); owned by the caller (unmap with
 *  target_munmap). @return 0, -HD_E_RANGE when no gap is in reach, -errno. */
int target_map_near(struct target *t, pid_t tid, uint64_t near, uint64_t size, int prot,
		    uint64_t *base) HD_MUST_CHECK;

/* ---- trap mechanisms for events (seccomp, TSC, CPUID, page protection) ---- */
/* (src/target/seccomp.c and src/target/trap.c; used by the event kinds) */

/** true when hdbg attached to the process (it may be detached later), false
 *  when hdbg started it (it dies with hdbg). */
bool target_is_attached(const struct target *t);

/** Largest count of numbers one target_seccomp_trace() call takes. */
#define TARGET_SECCOMP_MAX 200

/**
 * @brief Install one more seccomp filter in the target (every thread,
 *        SECCOMP_FILTER_FLAG_TSYNC) that returns SECCOMP_RET_TRACE for the
 *        x86-64 syscall numbers `nrs[0..n)` (all numbers when `nrs` is NULL)
 *        and SECCOMP_RET_ALLOW for every other syscall. Their stops arrive as
 *        TARGET_STOP_SYSCALL. Filters stack (the union is traced).
 *
 * The program is written to scratch memory and installed through
 * target_syscall() in a stopped thread (`tid` preferred; one not inside a
 * syscall-entry stop); PR_SET_NO_NEW_PRIVS is set first only when the kernel
 * asks for it (EACCES without CAP_SYS_ADMIN). A filter can never be removed
 * and, once no tracer is attached, fails the syscalls it traces with ENOSYS:
 * use it only for processes hdbg started.
 * @return 0, -EINVAL (n out of 1..TARGET_SECCOMP_MAX), -HD_E_RUNNING (no
 *         stopped thread), or the target's -errno from seccomp().
 */
int target_seccomp_trace(struct target *t, pid_t tid, const long *nrs, int n) HD_MUST_CHECK;

/** @brief Number of seccomp filters the process has (/proc Seccomp_filters
 *  of its main thread); 0 when none or unknown. A started target with
 *  filters must not be detached (its traced syscalls would fail). */
int target_seccomp_filters(struct target *t);

/**
 * @brief Syscall-stop tracing (PTRACE_SYSCALL) for every thread: syscall
 *        entries are reported as TARGET_STOP_SYSCALL, exits only to threads
 *        resumed with TARGET_RESUME_SYSCALL. Leaves nothing in the process
 *        (used instead of seccomp for attached targets). Threads get it at
 *        their next resume.
 * @return 0, or -HD_E_UNSUPPORTED when the stop machine lacks it.
 */
int target_syscall_trace(struct target *t, bool on) HD_MUST_CHECK;

/** @brief true when stopped thread `tid` is at a syscall-entry stop (its
 *  syscall runs when it resumes, unless orig_rax is set to -1). */
bool target_at_syscall(struct target *t, pid_t tid);

/**
 * @brief Resume stopped thread `tid` for one instruction, delivering
 *        `signo` at a SIGNAL stop (0: none). Unlike target_step() this does
 *        not wait: the TARGET_STOP_STEP (or whatever happens instead, e.g.
 *        a signal handler's entry is reported as STEP) comes from
 *        target_wait(). An int3 breakpoint at rip is stepped over out of
 *        line. @return 0 or <0.
 */
int target_resume_step(struct target *t, pid_t tid, int signo) HD_MUST_CHECK;

/**
 * @brief Make rdtsc/rdtscp fault with SIGSEGV (PR_SET_TSC, PR_TSC_SIGSEGV)
 *        in every thread (on), or allow them again (off, PR_TSC_ENABLE).
 *        New threads inherit the setting. Every thread must be stopped.
 * @return 0, -HD_E_RUNNING, or the first failure (the others are still done).
 */
int target_tsc_trap(struct target *t, bool on) HD_MUST_CHECK;

/**
 * @brief CPUID faulting (arch_prctl ARCH_SET_CPUID) in every thread: on,
 *        cpuid faults with SIGSEGV. Reset by the kernel at execve.
 * @return 0, -ENODEV when the CPU or kernel does not offer CPUID faulting,
 *         -HD_E_RUNNING, or the first failure.
 */
int target_cpuid_trap(struct target *t, bool on) HD_MUST_CHECK;

/** Instructions whose fault hdbg emulates. */
enum target_insn {
	TARGET_INSN_NONE,
	TARGET_INSN_RDTSC,  /**< 0f 31 */
	TARGET_INSN_RDTSCP, /**< 0f 01 f9 */
	TARGET_INSN_CPUID,  /**< 0f a2 */
};

/** @brief Which emulated instruction a SIGSEGV stop faulted on (read at the
 *  thread's rip; SI_KERNEL faults only). @return enum target_insn. */
enum target_insn target_trap_insn(struct target *t, const struct target_stop *st);

/**
 * @brief Execute `insn` for stopped thread `tid` in hdbg: rdtsc (rax/rdx =
 *        hdbg's TSC), rdtscp (also rcx = TSC_AUX as the kernel sets it: cpu |
 *        node << 12), cpuid (rax/rbx/rcx/rdx = hdbg's cpuid of the thread's
 *        eax/ecx); rip advances past the instruction. The thread's signal is
 *        not delivered by the next resume. @return 0 or <0.
 */
int target_trap_emulate(struct target *t, pid_t tid, enum target_insn insn) HD_MUST_CHECK;

/** @brief Skip the instruction at rip of stopped thread `tid` (rip += its
 *  length, decoded with Zydis). @return 0, -HD_E_DECODE, -HD_E_BADADDR. */
int target_insn_skip(struct target *t, pid_t tid) HD_MUST_CHECK;

/** @brief Protection (PROT_* bits) of the mapping containing `addr`, from
 *  /proc/PID/maps. @return 0, or -HD_E_BADADDR when `addr` is not mapped. */
int target_page_prot(struct target *t, uint64_t addr, int *prot) HD_MUST_CHECK;

/** @brief mprotect() in the target (through target_syscall() in a stopped
 *  thread, `tid` preferred). @return 0 or the target's -errno. */
int target_mprotect(struct target *t, pid_t tid, uint64_t addr, uint64_t len,
		    int prot) HD_MUST_CHECK;

/** @brief Queue stop `st` for stopped thread st->tid without running it:
 *  target_wait() reports it before the thread runs again (target_resume()
 *  and target_resume_all() leave the thread stopped until then). Used to
 *  start instruction tracing (a STEP at the current rip) and to run a
 *  second pass on the same stop (post stages, !sysret after !syscall).
 *  @return 0, -HD_E_NOTHREAD, -HD_E_RUNNING. */
int target_stop_queue(struct target *t, const struct target_stop *st) HD_MUST_CHECK;

/** @brief The x86-64 number of the syscall called `name` ("getppid"), from
 *  libseccomp's table. @return the number, or -HD_E_NOTFOUND. */
long target_syscall_nr(const char *name);

/** @brief How the instruction at rip of stopped thread `tid` uses memory:
 *  bit 0 = it reads memory, bit 1 = it writes memory (Zydis operand
 *  actions; a stack push/pop counts). @return the bits (0: no memory
 *  operand), -HD_E_DECODE, -HD_E_BADADDR. */
int target_insn_mem_access(struct target *t, pid_t tid) HD_MUST_CHECK;


/**
 * @brief In-target code that executes the instruction at `addr` (its
 *        original bytes) as if it ran there, then continues where it would
 *        have: the out-of-line copy of a breakpoint (`jmp` back to
 *        addr+len), or for relative branches and calls, which the target
 *        layer otherwise emulates, an equivalent stub (a call pushes
 *        addr+len and jumps; a conditional branch tests the same flags or
 *        rcx). Works for int3 breakpoints and for addresses that have none
 *        (hardware breakpoints: the stub lies elsewhere, so the debug
 *        register does not fire again). Made on first use (a thread must be
 *        stopped to map scratch memory) and again after the bytes change.
 *        Used by the agent's one-stop runner as its continuation.
 * @return 0, -HD_E_UNSUPPORTED (an instruction that cannot run elsewhere:
 *         call through rsp or fs/gs, xbegin...), -HD_E_DECODE,
 *         -HD_E_BADADDR, -HD_E_RUNNING (no stopped thread for a new chunk).
 */
int target_ool_stub(struct target *t, uint64_t addr, uint64_t *stub) HD_MUST_CHECK;

/** @brief Replace the cached registers of stopped thread `tid` for this
 *  stop WITHOUT writing them to the thread: what target_regs_get() and
 *  scripts see. Only for values the kernel ignores at this stop (rax at a
 *  syscall-entry stop, where it holds -ENOSYS and the syscall's return
 *  overwrites it); a later target_regs_set() writes them all. */
int target_regs_view(struct target *t, pid_t tid, const struct user_regs_struct *regs) HD_MUST_CHECK;

/**
 * @brief Bring every thread out of [lo, hi) (memory hdbg mapped in the
 *        target and is about to unmap): each stopped thread whose rip lies
 *        there is single-stepped, alone, until it leaves (at most
 *        `max_steps` steps each). Every thread must be stopped. A stepped
 *        thread's current stop is given up; its pending signal, and one
 *        arriving meanwhile, become its next (queued) SIGNAL stop. A rip at
 *        an out-of-line copy counts as the program's address.
 *        Not seen: a signal frame or a return address inside the range
 *        (a thread in a signal handler that interrupted code there).
 * @return 0 when no thread is inside any more, -EBUSY when one still is
 *         (or sits at a syscall-entry stop there), -HD_E_RUNNING when a
 *         thread runs, or an error.
 */
int target_leave_range(struct target *t, uint64_t lo, uint64_t hi, int max_steps) HD_MUST_CHECK;

/** @brief munmap() in the target (through target_syscall() in a stopped
 *  thread, `tid` preferred), for teardown (detach, agent_unload). When
 *  every stopped thread sits at a syscall-entry stop, one of them is taken
 *  out of its call first: the call is given up and made again when the
 *  thread runs on (rip at its syscall instruction, rax = its number), so
 *  that a traced thread would stop at its entry again.
 *  @return 0 or the target's -errno; -HD_E_RUNNING when no thread is
 *  stopped. */
int target_munmap(struct target *t, pid_t tid, uint64_t addr, uint64_t len) HD_MUST_CHECK;

#endif
