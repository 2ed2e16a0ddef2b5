/*
** internal.h: the target layer's private structures, shared by its files
** (proc.c lifetime, stop.c stop state machine, mem.c registers and memory,
** bp.c breakpoints and out-of-line execution, hw.c debug registers,
** inject.c system calls in the target and the scratch arena).
** Never included from outside src/target/.
*/
#ifndef HD_TARGET_INTERNAL_H
#define HD_TARGET_INTERNAL_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/ptrace.h>
#include <sys/user.h>

#include "target/target.h"

/** ptrace options for every traced thread. Forks are traced only to take
 *  the breakpoints out of the child and detach it, or keep it as a passive
 *  process when a seccomp filter needs its tracer (stop.c). */
#define TARGET_PTRACE_OPTS                                                     \
	(PTRACE_O_EXITKILL | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC |        \
	 PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACESECCOMP | PTRACE_O_TRACEFORK |   \
	 PTRACE_O_TRACEVFORK)

enum th_state {
	TH_RUNNING, /**< resumed (or new and not yet seen stopped) */
	TH_STOPPED, /**< in a ptrace-stop that we have collected */
};

/** What kind of ptrace-stop a stopped thread is in (decides what a restart
 *  may inject and whether target_syscall can run). */
enum th_stop_type {
	STOPT_EVENT,   /**< PTRACE_EVENT_* stop, trap, interrupt */
	STOPT_SIGNAL,  /**< signal-delivery stop: a restart may deliver a signal */
	STOPT_SYSCALL, /**< syscall-entry (seccomp) stop */
	STOPT_SYSEXIT, /**< syscall-exit stop */
};

struct thread {
	pid_t tid;
	enum th_state state;
	enum th_stop_type stop_type;
	bool is_new;      /**< clone seen (or listed), initial stop not yet seen */
	bool stepping;    /**< PTRACE_SINGLESTEP outstanding */
	bool stale_step;  /**< an interrupted step may still deliver its SIGTRAP */
	bool pending;     /**< `pstop` is queued, not yet reported */
	bool dr_stale;    /**< debug registers must be rewritten before resume */
	bool regs_valid;  /**< `regs` holds this stop's registers */
	bool regs_dirty;  /**< `regs` must be written back before resume */
	bool quiet;       /**< the current stop was not reported (interrupt...) */
	int npend;        /**< stops of this thread in the queue */
	int sig;          /**< signal of the current signal-delivery stop (to deliver) */
	int sig_code;     /**< its si_code (a fault is not passed on by the detach) */
	enum target_resume_mode mode; /**< mode of the last resume */
	uint64_t bp_hit;  /**< breakpoint whose hit this thread reported/queued */
	uint64_t stop_rip; /**< rip when this stop's registers were first read */
	bool stop_rip_set; /**< `stop_rip` is of the current stop */
	struct user_regs_struct regs;
};

/** One int3 breakpoint. Records stay after their last reference goes (refs
 *  0, not armed) so that a late trap of a removed breakpoint can still be
 *  recognised and its out-of-line copy reused; they are dropped on exec. */
struct bp {
	uint64_t addr;
	int refs;          /**< > 0: armed (0xcc in memory) */
	uint8_t orig;      /**< the original byte */
	bool ool_ready;    /**< `kind`/`len`/`slot` describe the current bytes */
	uint8_t kind;      /**< enum ool_kind */
	uint8_t len;       /**< instruction length */
	uint64_t slot;     /**< OOL_COPY: address of the copy; the jump back follows */
	uint8_t insn[16];  /**< original instruction bytes (for emulation) */
	/* OOL_EMU: `slot` is the emulating continuation stub once built
	 * (target_ool_stub), 0 before. */
	bool stub_only;    /**< made by target_ool_stub for an address never armed */
};

enum ool_kind {
	OOL_COPY, /**< run a (fixed-up) copy in scratch memory, jump back */
	OOL_EMU,  /**< relative branch or call: emulated by hdbg */
};

/** A chunk of executable memory mapped in the target. */
struct scratch_chunk {
	uint64_t base, size, used;
};

struct hw_slot {
	bool used;
	uint64_t addr;
	enum target_hw_kind kind;
	int len;
};

/** struct target has `systrace` (tested by seccomp.c). */
#define TARGET_HAVE_SYSTRACE 1

/** struct target has `traps` (trap.c). */
#define TARGET_HAVE_TRAPS 1
struct trap_state;

struct target {
	pid_t pid;
	int memfd;                 /**< /proc/PID/mem of the current address space */
	bool attached;             /**< attached (detach on free) vs started */
	bool exited;               /**< EXITED/KILLED reported */
	bool gone;                 /**< process reaped, final stop queued/reported */
	bool stopping;             /**< inside stop_all: keep collected threads stopped */
	struct thread **th;
	int nth, capth;
	pid_t cur;                 /**< current thread */
	pid_t last_exit;           /**< tid of the last THREAD_EXIT report */
	struct target_stop final;  /**< EXITED / KILLED */
	struct target_stop *q;     /**< stops not yet reported, FIFO */
	int nq, capq;
	volatile sig_atomic_t intr;     /**< target_interrupt() requested */
	volatile sig_atomic_t waiting;  /**< blocked in waitpid */
	volatile sig_atomic_t intr_tid; /**< a running thread to PTRACE_INTERRUPT */
	uint64_t ctrl_c_ms;        /**< when the last interrupt was handled */
	struct bp *bps;            /**< sorted by address */
	int nbp, capbp;
	int narmed;
	struct scratch_chunk *chunks;
	int nchunk, capchunk;
	uint64_t syscall_insn;     /**< a `syscall` (0f 05) in the target, 0: unknown */
	struct hw_slot hw[4];
	int nhw;
	bool systrace;             /**< syscall-stop tracing on (seccomp.c, attached targets) */
	struct trap_state *traps;  /**< traps a released child must lose (trap.c) */
};

/* proc.c */
struct thread *th_find(struct target *t, pid_t tid);
struct thread *th_add(struct target *t, pid_t tid, enum th_state st);
void th_del(struct target *t, pid_t tid);
int mem_reopen(struct target *t);

/* stop.c */
void stop_register(struct target *t, bool on);
int stop_collect(struct target *t, pid_t *tid, int *status);
int th_restart(struct target *t, struct thread *th, int req, int sig);
int th_wait_one(struct target *t, struct thread *th, int *status);
void stop_handle_status(struct target *t, pid_t tid, int status);
void stop_queue(struct target *t, struct thread *th, const struct target_stop *s);
void stop_drop(struct target *t, pid_t tid, enum target_stop_kind kind, uint64_t addr);
void stop_passive_end(struct target *t);
/** The signal a resume passes on from th's signal-delivery stop: all but
 *  SIGTRAP and SIGINT (0 for other stops). */
int th_pass_signal(const struct thread *th);
/** The signal target_detach() passes on from th's stop: th_pass_signal()'s
 *  but a fault (SIGSEGV, SIGBUS, SIGILL, SIGFPE raised by the CPU), which
 *  its instruction raises again after the detach if it was the program's
 *  (hdbg's traps: rdtsc, cpuid, page protection are gone by then). */
int th_detach_signal(const struct thread *th);

/* mem.c */
/** The stopped thread `tid` of `t`: -HD_E_EXITED, -HD_E_NOTHREAD or
 *  -HD_E_RUNNING otherwise. */
int th_stopped(struct target *t, pid_t tid, struct thread **out);
int th_regs(struct target *t, struct thread *th);
int th_flush_regs(struct target *t, struct thread *th);
int mem_raw_read(struct target *t, uint64_t addr, void *buf, size_t len);
int mem_raw_write(struct target *t, uint64_t addr, const void *buf, size_t len);

/* bp.c */
struct bp *bp_find(const struct target *t, uint64_t addr);
/** Before `th` resumes: the current thread that stands, where it stopped,
 *  on an armed breakpoint it has not hit (a step ended there, or the
 *  breakpoint was set at its rip) is marked as having hit it, so that it
 *  goes past it as in GDB and WinDbg. Moved there by the user, or another
 *  thread stopped there by all-stop, it will hit it. */
int bp_resume_check(struct target *t, struct thread *th);
int bp_step_over(struct target *t, struct thread *th, bool *emulated);
void bp_fixup_thread(struct target *t, struct thread *th);
void bp_forget_all(struct target *t);
void bp_ool_invalidate(struct target *t, uint64_t addr, size_t len);
int bp_restore_all(struct target *t);

/* hw.c */
int hw_apply(struct target *t, struct thread *th);
int hw_check(struct target *t, struct thread *th, int *slot);
int hw_clear_thread(struct target *t, struct thread *th);

/* inject.c */
void scratch_forget(struct target *t);
void scratch_release(struct target *t);
struct thread *th_any_stopped(struct target *t, pid_t prefer);

/* inject.c: a pushf stepped with PTRACE_SINGLESTEP pushes the step's TF */
bool at_pushf(struct target *t, uint64_t rip);
int clear_pushed_tf(struct target *t, uint64_t rsp);

/* trap.c */
void trap_free(struct target *t);
void trap_exec(struct target *t);
void trap_release_child(struct target *t, pid_t child, bool shared_mm);

#endif
