/*
** event.h: the event layer's public header. HyperDbg's events and actions
** (spec/hyperdbg-events.md, spec/hdbg.md sections 3-5) over the target's
** stops: the event table (ids from 0, `events` listing and e/d/c/sc),
** parsing of event commands with every generic option, the triggering
** algorithm (newest first, condition before actions, script before custom
** code, stages, short-circuiting), and the actions: break, script (hdbg's
** copy of the VM, on the stopped thread's registers and the target's
** memory) and custom code / conditions (inside the target, through the
** agent, with the seed's ABI).
**
** Use from the command layer:
**   event_table_new()                once per session
**   event_target_set()               after start/attach (NULL when gone)
**   event_is_command() + event_command()       for `!xxx` lines
**   event_events_command()                     for `events ...`
**   event_handle_stop()              for every stop in the run loop
**   event_continue()                 at `g` after a break by an event
**   event_handle_step_stop()         for the stops of a user's `t`/`p` step
**   event_step_paused()              at `t`/`p` after a break by an event
**   event_target_release()           before detach/kill
**   event_target_exec()              at a TARGET_STOP_EXEC
** Text for the user is returned in struct hd_buf; script output goes to
** the sink given at creation.
*/
#ifndef HD_EVENT_EVENT_H
#define HD_EVENT_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "script/script.h"
#include "util/hd.h"

struct target;
struct target_stop;
struct agent;
struct event_table;

/** One token of a command line, as the command layer's tokenizer produces
 *  it (same layout as cmd's struct cmd_token: a brace block is one token,
 *  its inner text verbatim). */
enum event_tok_type {
	EVENT_TOK_WORD,   /**< plain word */
	EVENT_TOK_STRING, /**< "quoted string" without its quotes */
	EVENT_TOK_BLOCK,  /**< { brace block }: the inner text */
};

struct event_token {
	enum event_tok_type type;
	const char *text;
};

/** Where script output (printf, print) and run-time reports go: whole
 *  lines or fragments, in order. May be called while the target runs. */
struct event_sink {
	void (*write)(void *ud, const char *text);
	void *ud;
};

/** What the table needs from its session; every field may be 0/NULL. */
struct event_host {
	script_resolve_fn resolve;      /**< module!symbol for addresses, scripts, asm */
	void *resolve_ud;
	struct script_globals *globals; /**< `.name` globals (shared with `?`) */
	struct event_sink sink;         /**< script output */
	const volatile int *interrupt;  /**< Ctrl-C flag polled by scripts */
};

/* ---- lifetime ---- */

/** @brief New empty table. @return 0 or -ENOMEM. */
int event_table_new(struct event_table **out, const struct event_host *host) HD_MUST_CHECK;

/** @brief Free the table and its events. The target is not touched: call
 *  event_target_release() first if the target lives on. */
void event_table_free(struct event_table *tab);

/**
 * @brief Bind the table to a target (after start/attach), or forget it
 *        (NULL: the target exited or was killed; hooks count as disarmed,
 *        the agent is freed). Events stay registered and are armed again
 *        on the next target (addresses resolved at creation are kept).
 * @param tid a stopped thread to arm with (0: arm lazily later).
 * @return 0, or the first arming error (that event is then disabled and a
 *         line says so in `out`, which may be NULL).
 */
int event_target_set(struct event_table *tab, struct target *t, pid_t tid, struct hd_buf *out);

/** @brief Before detach or kill: disarm every event (restore every byte,
 *  free debug registers) and free the agent; the table keeps its events. */
void event_target_release(struct event_table *tab);

/** @brief After TARGET_STOP_EXEC of `tid`: the old address space is gone;
 *  the agent is re-injected lazily and hooks are re-armed at their
 *  addresses. */
int event_target_exec(struct event_table *tab, pid_t tid, struct hd_buf *out);

/** @brief The target's libraries changed (the loader's breakpoint, symbols
 *  already refreshed): every enabled event whose address did not resolve
 *  in this address space (pending, after .restart or execve) evaluates its
 *  text again; those that resolve are armed with `tid` (stopped) and a line
 *  `event 0xID armed at ADDR` goes to `out`. @return 0 or the first error
 *  (that event is then disabled, with a line). */
int event_libs_changed(struct event_table *tab, pid_t tid, struct hd_buf *out);

/** @brief How many enabled events wait for their address to resolve. */
int event_stale_count(const struct event_table *tab);

/** @brief The agent, injected into the target on first need (NULL if none
 *  yet). Owned by the table. */
struct agent *event_table_agent(struct event_table *tab);

/* ---- commands ---- */

/** @brief true if `name` is an event command of kinds.def (`!epthook`,
 *  `!syscall`, the kernel-only `!msrread`...); case-insensitive. */
bool event_is_command(const char *name);

/**
 * @brief Execute an event command: tk[0] is the command name.
 *
 * Generic options of HyperDbg (pid, core, imm, sc, stage, buffer,
 * condition/code/script/output blocks, asm) in any order, then the kind's
 * own parameters. Everything is checked, assembled, compiled, loaded and
 * armed before the event is added; on any error nothing is registered or
 * changed and `out` holds one error line with HyperDbg's message.
 * @param tid a stopped thread of the target (agent injection, arming).
 * @param eval_env environment for address expressions (`@rsp`, `poi(...)`),
 *        normally the current thread's; may be NULL (registers read 0).
 * @param out receives the text to show (notices, or the error line).
 * @return 0, or <0 (text in `out`; print it as an error).
 */
int event_command(struct event_table *tab, const struct event_token *tk, int n, pid_t tid,
		  const struct script_env *eval_env, struct hd_buf *out);

/**
 * @brief The `events` command: tk[0] is "events". Forms: `events`,
 *        `events e|d|c ID|all` (ID hex), `events sc on|off` (only while
 *        stopped by an event). @return 0 or <0 (text in `out` either way).
 */
int event_events_command(struct event_table *tab, const struct event_token *tk, int n,
			 struct hd_buf *out);

/** @brief Number of registered events (cleared ones excluded). */
int event_count(const struct event_table *tab);

/** @brief Enable/disable one event by id, or all (`all`): as `events e|d`.
 *  @return 0 or -HD_E_NOTFOUND. */
int event_enable(struct event_table *tab, uint32_t id, bool enable);
int event_enable_all(struct event_table *tab, bool enable);
/** @brief Remove one event (disarmed, its memory in the agent abandoned);
 *  during an event's actions the removal happens when they end. */
int event_clear(struct event_table *tab, uint32_t id);
/** @brief Remove every event; numbering restarts at 0. */
int event_clear_all(struct event_table *tab);

/* ---- the run loop ---- */

enum event_verdict_kind {
	EVENT_VERDICT_NONE,    /**< not an event's stop: the caller handles it */
	EVENT_VERDICT_RESUMED, /**< consumed: the actions ran and the event layer
				    resumed that thread (nothing else to do) */
	EVENT_VERDICT_BREAK,   /**< a break action or pause(): the thread is still
				    stopped; the caller stops all threads, makes
				    it current, prints `text` and the instruction,
				    and returns to the prompt */
	EVENT_VERDICT_INTERRUPTED, /**< Ctrl-C while custom code ran: all threads
				    are stopped; print `text`, go to the prompt */
	EVENT_VERDICT_STEPPED, /**< a user's step (event_handle_step_stop,
				    event_step_paused) is complete: the thread is
				    stopped after the instruction; print `text`
				    and the new location as for a plain step */
};

struct event_verdict {
	enum event_verdict_kind kind;
	pid_t tid;          /**< the thread of the occurrence */
	uint32_t id;        /**< BREAK: the event that broke */
	struct hd_buf text; /**< lines to print (e.g. "event 0x0 triggered (pre)\n",
				 crash reports); zero-initialise; caller frees */
};

/**
 * @brief Offer one stop (from target_wait) to the events.
 *
 * Finds the kind that owns the stop (an !epthook's breakpoint or debug
 * register...), runs every matching event newest first with HyperDbg's
 * rules, and either resumes the thread itself (RESUMED: one stop per hit)
 * or leaves it stopped for a break. Stops that are not events' come back
 * as NONE, untouched.
 * @param t must be the table's target.
 * @return 0, or <0 on a failure of the target (text in v->text).
 */
int event_handle_stop(struct event_table *tab, struct target *t, const struct target_stop *st,
		      struct event_verdict *v) HD_MUST_CHECK;

/**
 * @brief Offer a stop that ended a user's single step (`t`, `p` over an
 *        instruction) of thread `tid` to the events.
 *
 * As event_handle_stop(), but the thread is not resumed freely: a kind
 * that emulates or skips the instruction (!tsc, !cpuid, sc) leaves it
 * stopped after it; a kind that needs the instruction executed (!monitor's
 * page protection, a syscall, a signal's delivery) runs it with one single
 * step, and the stop after that step is offered again (post passes, the
 * exit of a syscall). Only stops of `tid` are offered; the other threads
 * stay stopped. Do not call it for stops of a free run (`g`, `p` over a
 * call): those go to event_handle_stop().
 * @param st in: the stop target_step() returned; out: the last stop, which
 *        the caller handles when v->kind is NONE (not an event's: a signal,
 *        an exit, Ctrl-C...).
 * @return 0 with v->kind STEPPED (the step is over), BREAK or INTERRUPTED
 *         (the step ends at an event's break), NONE (the caller handles
 *         *st as before); <0 on a failure of the target (text in v->text).
 */
int event_handle_step_stop(struct event_table *tab, struct target *t, pid_t tid,
			   struct target_stop *st, struct event_verdict *v) HD_MUST_CHECK;

/**
 * @brief `t`/`p` of thread `tid` while it is stopped by an event's break:
 *        the remaining actions and events of that occurrence are dropped
 *        (as at HyperDbg's step from a break, nothing more runs), the
 *        occurrence's instruction is completed as the kind does it (with
 *        the occurrence's short-circuit flag: `events sc on` then `t` skips
 *        it) and the step ends after it, as with event_handle_step_stop().
 *        Stopped by pause() in a script instead, the rest of the occurrence
 *        runs first as at event_continue() (the script from the statement
 *        after pause(), the remaining actions, the older events); a break
 *        or pause() on the way ends the step there (BREAK), otherwise the
 *        instruction completes as the step (post pass included).
 *        Nothing happens (v->kind NONE, st->kind TARGET_STOP_NONE) when the
 *        target is not paused by an event of `tid`: step the thread then.
 * @return as event_handle_step_stop().
 */
int event_step_paused(struct event_table *tab, pid_t tid, struct target_stop *st,
		      struct event_verdict *v) HD_MUST_CHECK;

/** @brief true while the target is stopped by an event's break (until
 *  event_continue()). */
bool event_paused(const struct event_table *tab);

/**
 * @brief At `g` (before target_resume_all) after a break by an event: run
 *        the remaining actions and events of that occurrence (after a
 *        pause(), the rest of that script first, from the statement after
 *        the call, with the registers as the user left them), apply its
 *        short-circuit decision and resume its thread as its kind requires.
 *        Does nothing (v->kind NONE) when not paused by an event.
 * @return 0 with v->kind NONE (nothing pending), RESUMED (go on with
 *         target_resume_all) or BREAK (another break in the same
 *         occurrence: print and stay at the prompt).
 */
int event_continue(struct event_table *tab, struct event_verdict *v) HD_MUST_CHECK;

/** @brief Drop a pending occurrence without running its remaining actions
 *  (the target is gone or is being detached/stepped away from); a script
 *  suspended by pause() is dropped with it. */
void event_pending_drop(struct event_table *tab);

/* ---- for `?` at the prompt ---- */

/** @brief Pseudo-registers tied to events, by HyperDbg id ($buffer 9,
 *  $context 10, $event_tag 11, $event_id 12, $event_stage 13): values of the
 *  event that paused the debugger, 0 otherwise. @return 0, or -HD_E_NOTFOUND
 *  for an id that is not one of these. */
int event_pseudo_read(const struct event_table *tab, int id, uint64_t *val);

/** @brief $core of a thread: the CPU it last ran on (field 39 of
 *  /proc/PID/task/TID/stat; pid 0: hdbg's own thread `tid`).
 *  @return 0, or -HD_E_NOTHREAD. */
int event_thread_cpu(pid_t pid, pid_t tid, uint32_t *cpu) HD_MUST_CHECK;

/** @brief The text of a string pseudo-register (script_env.pseudo_text):
 *  $pname (id 2) = the comm of process `pid`'s main thread (pid 0: hdbg's
 *  own program name, HyperDbg's test mode); $date (14) = local date
 *  "YYYY-MM-DD"; $time (15) = local time "HH:MM:SS.mmm".
 *  @return 0, or -HD_E_NOTFOUND (another id, or the process is gone). */
int event_pseudo_text(pid_t pid, int id, char *buf, size_t cap) HD_MUST_CHECK;

/** @brief script_env.event_ctl for scripts run at the prompt (`?`):
 *  event_enable/disable/clear work; event_sc acts as `events sc`; pause
 *  and flush have no effect there. Messages go to the sink. */
int event_script_ctl(struct event_table *tab, int func, const uint64_t *args, int nargs);

#endif
