/*
** agent.h: the agent layer's public header. The agent is hdbg's runtime
** inside the target: an executable arena holding the agent blob (agent/),
** custom-code and condition blocks and pre-allocated buffers, plus the
** output ring (a memfd mapped both in the target and in hdbg).
**
** Custom code runs on the event's thread with the seed's ABI (spec/hdbg.md
** section 4); the protocol is described in docs/agent.md and agent/runner.S.
**
** Threads. Every call that runs something in the target takes a thread
** `tid` that is stopped (reported by target_wait and not resumed since) and
** leaves it stopped; the caller resumes it. agent_run_code() resumes only
** that thread while the block runs; stops of other threads that arrive
** meanwhile stay queued in the target layer for later target_wait() calls.
*/
#ifndef HD_AGENT_AGENT_H
#define HD_AGENT_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/hd.h"

struct target;
struct target_stop;
struct agent;
struct agent_ring_hdr;

/** The two forms of a machine-code block (spec/hdbg.md section 4). */
enum agent_kind {
	AGENT_CODE = 0,      /**< void *code(buffer rcx, GUEST_REGS *rdx, context r8) */
	AGENT_CONDITION = 1, /**< uint64_t cond(GUEST_REGS *rcx, context rdx); 0 = skip */
};

/** GUEST_REGS, packed, in the seed's order (16 x 8 bytes). */
struct agent_guest_regs {
	uint64_t rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
};

/** What went wrong when a block crashed (agent_last_crash()). */
struct agent_crash {
	int signo;     /**< SIGSEGV, SIGILL, SIGBUS, SIGFPE, SIGTRAP... */
	int code;      /**< siginfo si_code */
	uint64_t rip;  /**< where the thread was when it faulted */
	uint64_t addr; /**< siginfo si_addr (faulting address) */
	bool in_block; /**< rip lies inside a loaded block (else in the runner or elsewhere) */
};

/** Sizes of the per-address-space memory (bytes). */
#define AGENT_ARENA_SIZE (1u << 20) /**< blob + blocks (up) + buffers (down) */
#define AGENT_RING_SIZE  (1u << 16) /**< ring data, without its header */

/* ---- lifetime ---- */

/**
 * @brief Inject the agent into the address space of `t`, using stopped
 *        thread `tid` to run mmap/memfd_create/ftruncate/close in the target.
 *
 * Maps an RWX arena (AGENT_ARENA_SIZE) and the ring memfd in the target,
 * maps the same memfd in hdbg (/proc/PID/fd/N) and writes the blob.
 * `tid`'s registers are left unchanged.
 * @param out receives the agent; free with agent_free().
 * @return 0, -errno, or the target layer's error.
 */
int agent_inject(struct target *t, pid_t tid, struct agent **out) HD_MUST_CHECK;
/** @brief agent_inject() with the arena within +-2 GiB of `near` where a
 *  gap is in reach (blocks then reach the symbols around `near` with
 *  rip-relative operands); elsewhere otherwise. */
int agent_inject_near(struct target *t, pid_t tid, uint64_t near, struct agent **out) HD_MUST_CHECK;

/**
 * @brief Re-inject after the target called execve (TARGET_STOP_EXEC): the old
 *        arena, blocks, buffers and ring are gone; every address handed out
 *        before is invalid. Records left in the old ring are discarded.
 */
int agent_reset(struct agent *a, pid_t tid) HD_MUST_CHECK;

/** @brief Free hdbg's side (the ring mapping); the target's memory stays. */
void agent_free(struct agent *a);

/**
 * @brief Take the agent out of a target that stays alive (detach), then free
 *        hdbg's side as agent_free() does.
 *
 * Stops every thread (target_stop_all); a thread whose rip lies in the
 * arena (inside the one-stop runner or a block) is single-stepped, alone,
 * until it leaves it (at most 100,000 steps: the rest of its blocks, then
 * the continuation). Then munmap() of the arena and of the ring in the
 * target through `tid` (preferred) or another stopped thread. The ring's
 * memfd has no descriptor in the target (closed at injection). Call it
 * before target_detach(), which removes the target layer's own scratch
 * memory. On a process that has exited only hdbg's side is freed.
 * Not seen: a signal handler running on a frame that returns into the
 * arena (it would fault after the unmap).
 * @return 0; -EBUSY when a thread could not leave the arena (then the arena
 *         and the ring stay mapped); or the first error. `a` is
 *         freed in every case.
 */
int agent_unload(struct agent *a, pid_t tid);

/* ---- arena ---- */

/**
 * @brief Copy a code or condition block (its final `ret` already appended by
 *        the caller) into the arena. @param addr receives its target address
 *        (16-byte aligned). @return 0, -EINVAL for an empty block,
 *        -HD_E_LIMIT when the arena is full.
 */
int agent_code_load(struct agent *a, const void *bytes, size_t len, uint64_t *addr) HD_MUST_CHECK;

/** @brief Give back a block's space (its event was cleared).
 *  @return 0 or -HD_E_NOTFOUND if `addr` is not the start of a block. */
int agent_code_free(struct agent *a, uint64_t addr);

/**
 * @brief Allocate a zero-filled buffer (`buffer N`) of `size` bytes in the
 *        target, 64-byte aligned, valid until freed or agent_reset().
 * @return 0, -EINVAL for size 0, -HD_E_LIMIT when the arena is full.
 */
int agent_buffer_alloc(struct agent *a, size_t size, uint64_t *addr) HD_MUST_CHECK;

/** @brief Give back a buffer. @return 0 or -HD_E_NOTFOUND. */
int agent_buffer_free(struct agent *a, uint64_t addr);

/* ---- running blocks ---- */

/**
 * @brief Run a block on stopped thread `tid` with the registers it has now.
 *
 * The runner builds GUEST_REGS on the thread's stack below the red zone and
 * calls `code` (CODE: rcx = `buffer` (0 = NULL), rdx = &GUEST_REGS,
 * r8 = `context`; CONDITION: rcx = &GUEST_REGS, rdx = `context`). When it
 * returns, the thread's general-purpose registers become GUEST_REGS as the
 * block left it (rsp included); rip, rflags, orig_rax, segments and fs/gs
 * bases keep their values from before. The thread stays stopped.
 *
 * The thread ends in a SIGTRAP signal-delivery stop: resume it with 0, or
 * with the signal of the event's own signal stop (!exception) to deliver
 * that; a breakpoint the thread was stopped at is stepped over on resume.
 * At a syscall stop (orig_rax >= 0) the stop is consumed: the syscall does
 * not run when the thread resumes (the event layer re-issues it if needed).
 * Asynchronous signals sent to `tid` meanwhile are re-sent (tgkill) after
 * the run; stops of other threads stay queued in the target layer.
 *
 * @param result CONDITION: 1 if the block returned non-zero, else 0;
 *               CODE: always 0 (the return value is ignored). May be NULL.
 * @return 0; -HD_E_CODECRASH if the block faulted (details: agent_last_crash();
 *         the thread's registers are restored to what they were before);
 *         -HD_E_INTERRUPTED after target_interrupt() (registers restored,
 *         all threads stopped); -HD_E_EXITED if the thread or process died.
 */
int agent_run_code(struct agent *a, pid_t tid, uint64_t code, uint64_t buffer, uint64_t context,
		   enum agent_kind kind, uint64_t *result) HD_MUST_CHECK;

/** @brief Details of the last -HD_E_CODECRASH of agent_run_code(). */
const struct agent_crash *agent_last_crash(const struct agent *a);

/* ---- fault fixups (agent/probe.S) ---- */

/**
 * @brief Handle a fault inside the agent's memory probe stub.
 *
 * Code in the target reads/writes memory for scripts only through
 * `int agent_probe_copy(void *dst, const void *src, size_t n)` (SysV ABI,
 * 0 or -1). If `st` is a SIGSEGV/SIGBUS stop of `tid` at the stub's access
 * instruction, the thread is moved to the stub's failure path (returns -1)
 * and the caller must resume it with signal 0. agent_run_code() does this by
 * itself for blocks it runs.
 * @return 1 when fixed up, 0 when `st` is not such a fault, or an error.
 */
int agent_fault_fixup(struct agent *a, pid_t tid, const struct target_stop *st) HD_MUST_CHECK;

/* ---- addresses ---- */

/** @brief Target address of the runner's entry / its trap (tests, diagnostics). */
uint64_t agent_runner_addr(const struct agent *a);
uint64_t agent_trap_addr(const struct agent *a);
/** @brief Target address of the blob's ring writer
 *  `int agent_blob_ring_write(ring, fmt, payload, len)` (SysV ABI). */
uint64_t agent_ring_write_addr(const struct agent *a);
/** @brief Target address of `agent_probe_copy` (see agent_fault_fixup()). */
uint64_t agent_probe_copy_addr(const struct agent *a);
/** @brief Target address of the ring (its header). */
uint64_t agent_ring_target_addr(const struct agent *a);

/* ---- output ring (layout: agent/ring.h) ---- */

/** @brief hdbg's mapping of the target's ring. */
struct agent_ring_hdr *agent_ring(struct agent *a);

/**
 * @brief Initialise a ring in `mem` (zero-filled, AGENT_RING_HDR_SIZE + `size`
 *        bytes; `size` a power of two >= 64).
 * @return 0 or -EINVAL.
 */
int agent_ring_init(void *mem, uint32_t size) HD_MUST_CHECK;

/**
 * @brief Take the oldest complete record, if any (single reader).
 * @param fmt receives the record's format id.
 * @param buf,cap where its payload goes; @param len receives its length.
 * @return 1 when a record was taken, 0 when there is none (empty, or the
 *         oldest is still being written), -ENOSPC if `cap` is too small (the
 *         record stays), -EPROTO if the ring is corrupt.
 */
int agent_ring_read(struct agent_ring_hdr *r, uint32_t *fmt, void *buf, size_t cap,
		    uint32_t *len) HD_MUST_CHECK;

/** @brief Records dropped because the ring was full. */
uint64_t agent_ring_drops(const struct agent_ring_hdr *r);


/* ---- one stop per event (agent/runner.S, agent_onestop) ---- */

/** One event of a hook's one-stop list: its condition (0: none) and custom
 *  code (0: none; AGENT_ONESTOP_BREAK: the event breaks when its condition
 *  holds) blocks, the code's buffer (0: NULL) and the context. */
struct agent_onestop_op {
	uint64_t cond, code, buffer, context;
};

/** agent_onestop_op.code of an event that has a condition and breaks. */
#define AGENT_ONESTOP_BREAK 1

/**
 * @brief Build a hook's one-stop entry in the arena: an entry stub, the
 *        hook's descriptor (`ops[0..n)`, run in that order) and its epilogue,
 *        which jumps to `cont` (the displaced instruction run out of line,
 *        target_ool_stub()).
 *
 * Use: at a breakpoint stop of thread `tid` with registers G, set rip to
 * `*entry` (nothing else) and resume the thread. In the target, the runner
 * builds GUEST_REGS (G) on the thread's stack below the red zone, runs each
 * op (condition, then code if the condition returned non-zero, with the
 * seed's ABI), restores rflags as they were and all 16 registers from
 * GUEST_REGS as the blocks left them, and jumps to `cont`. No trap back:
 * one stop per event. A block that faults arrives as a signal stop with rip
 * in the arena (agent_in_arena()); hdbg restores G itself.
 * @return 0, -EINVAL (n < 1), -HD_E_LIMIT when the arena is full.
 */
int agent_onestop_load(struct agent *a, const struct agent_onestop_op *ops, int n, uint64_t cont,
		       uint64_t *entry) HD_MUST_CHECK;

/**
 * @brief Is stopped thread `tid` at the one-stop runner's break trap (the
 *        condition of an AGENT_ONESTOP_BREAK op held)? The runner stops
 *        there with its frame at rsp (SIGTRAP signal-delivery stop).
 * @param regs receives GUEST_REGS as the blocks left them.
 * @param op receives the index of the op that broke.
 * @return 1 at the trap, 0 elsewhere, or an error reading the frame.
 */
int agent_onestop_trapped(struct agent *a, pid_t tid, struct agent_guest_regs *regs,
			  int *op) HD_MUST_CHECK;

/** @brief Give back an entry of agent_onestop_load() (no thread may be in it).
 *  @return 0 or -HD_E_NOTFOUND. */
int agent_onestop_free(struct agent *a, uint64_t entry);

/** @brief Target address of the blob's one-stop runner (tests, diagnostics). */
uint64_t agent_onestop_addr(const struct agent *a);

/** @brief true when `addr` lies in the agent's arena (blob, blocks, buffers). */
bool agent_in_arena(const struct agent *a, uint64_t addr);

/** @brief Start of the block or entry (agent_code_load, agent_onestop_load)
 *  containing `addr`. @return 0 or -HD_E_NOTFOUND. */
int agent_block_find(const struct agent *a, uint64_t addr, uint64_t *start) HD_MUST_CHECK;

/** @brief Number of agent_run_code() calls that resumed the thread (each is
 *  one more stop); tests compare it with the number of events. */
uint64_t agent_runs(const struct agent *a);

#endif
