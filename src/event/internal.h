/*
** internal.h: shared internals of the event layer: the event and table
** structures, the per-kind ops table that every event kind implements
** (parse its parameters, arm, disarm, claim a target stop, match an event,
** finish an occurrence), and the helpers the kinds use.
**
** Adding a kind (e.g. !syscall): set impl to 1 in kinds.def, define
** `const struct event_kind_ops event_ops_syscall` in a new file
** kind_syscall.c, keep private state in tab->kstate[EVENT_KIND_SYSCALL].
*/
#ifndef HD_EVENT_INTERNAL_H
#define HD_EVENT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "event/event.h"
#include "script/script.h"
#include "util/hd.h"

struct target;
struct target_stop;
struct agent;
struct agent_crash;

enum event_kind {
#define EVENT_KIND(ID, id, cmd, sc, stages, impl, why) EVENT_KIND_##ID,
#include "event/kinds.def"
#undef EVENT_KIND
	EVENT_KIND_COUNT
};

/** Calling stages, HyperDbg's VMM_CALLBACK_EVENT_CALLING_STAGE_TYPE values. */
enum event_stage { EVENT_STAGE_PRE = 1, EVENT_STAGE_POST = 2, EVENT_STAGE_ALL = 3 };

/** Drop the result of a call whose failure changes nothing for the user. */
#define IGNORE_RC(expr)         \
	do {                    \
		if ((expr) < 0) \
			break;  \
	} while (0)

#define EVENT_ALL      0xffffffffu  /**< pid/core: any */
#define EVENT_TAG_SEED 0x1000000u   /**< tag = id + seed */
#define EVENT_MAX_OUTPUTS 5

/** A condition or custom-code block: hex bytes (final c3 included) or
 *  assembly text (final "; ret" included), loaded into the agent arena. */
struct event_block {
	bool present;
	bool is_asm;
	uint8_t *bytes;  /**< hex form */
	size_t len;
	char *text;      /**< asm form: assembled at its load address */
	uint64_t addr;   /**< target address once loaded, else 0 */
};

struct event {
	uint32_t id;
	enum event_kind kind;
	bool enabled;
	bool cleared;      /**< removal deferred until the running actions end */
	bool stale;        /**< its address text did not evaluate in this address space */
	bool armed;
	uint32_t pid, core;  /**< EVENT_ALL: any */
	bool imm;
	bool sc;           /**< short-circuit by default */
	enum event_stage stage;
	uint32_t buffer;   /**< `buffer N`: bytes per action, 0 = none */
	struct event_block cond, code;
	struct script_prog *script;
	uint64_t script_buf, code_buf; /**< per-action buffers in the target */
	bool loaded;       /**< blocks and buffers are in the current agent */
	char *command;     /**< the command line as HyperDbg stores it */
	uint64_t param[4]; /**< kind parameters (epthook: param[0] = address) */
	void *kdata;       /**< kind-private, freed by ops->free */
};

/** One occurrence of a trap, as a kind's claim() describes it. */
struct event_occ {
	enum event_kind kind;
	pid_t tid;
	enum event_stage stage;  /**< PRE or POST: the pass being run */
	uint64_t context;        /**< $context, r8 of code, rdx of conditions */
	uint64_t key;            /**< what match() compares with the events */
	uint64_t aux[4];         /**< kind-private, from claim() to finish() */
};

/** The occurrence being processed, kept across a break (until `g`). */
struct event_pending {
	bool active;
	struct event_occ occ;
	uint32_t below;      /**< events with id < below are still to run */
	uint32_t cur;        /**< the event running or that broke */
	int step;            /**< next step of `cur` (see trigger.c) */
	bool cur_open;       /**< `cur` passed its filters (steps follow) */
	bool sc;             /**< the short-circuit flag of the occurrence */
	bool post_required;
	uint64_t buffer;     /**< $buffer of the action that broke */
	/** pause() in the script of `cur`: its suspended run (heap, owned;
	 *  it must not move: the script's `&local` point into it), resumed
	 *  by `g`; NULL otherwise. Freed by event_pending_drop(). */
	struct script_state *susp;
};

struct event_table {
	struct event_host host;
	struct target *t;
	struct agent *agent;
	struct event **v;    /**< creation order (ids increasing) */
	int n, cap;
	uint32_t next_id;
	bool reset_ids;      /**< `events c all`: next_id = 0 once the table is empty */
	int running;         /**< > 0 while actions run (deferred clears) */
	struct event_pending pend;
	/** storage for the next script run, kept between runs so that no hit
	 *  allocates (a run that pause() suspends takes it into `pend.susp`) */
	struct script_state *susp_spare;
	struct hd_buf imm_no;     /**< accumulated output of `imm no` scripts */
	bool line_open;           /**< the last output did not end its line (printf) */
	bool last_sc, last_post;  /**< decisions of the last finished pass (tests) */
	void *kstate[EVENT_KIND_COUNT]; /**< per-kind private state */
	bool onestop_off;    /**< tests, benchmarks: !epthook always takes the two-stop path */
	pid_t step_tid;      /**< the thread of a user's step being handled, else 0 */
	bool step_done;      /**< its instruction is complete (event_resume DONE) */
	bool continuing;     /**< in event_continue(): every thread is stopped */
};

/** Arguments of a kind's parse(): the tokens left once the generic options
 *  are taken out, tk[0] being the command. */
struct event_parse {
	struct event_table *tab;
	const struct event_token *tk;
	int n;
	int orig_n;                      /**< token count of the whole command */
	const struct script_env *eval_env;
	struct hd_buf *out;              /**< the one error line */
};

/** What every kind implements. Every function may be NULL when the kind has
 *  nothing to do there. Arming and finishing run with a target; parse does
 *  not need one. */
struct event_kind_ops {
	/** Parse the kind's parameters into e->param / e->kdata. @return 0 or <0
	 *  with one line (HyperDbg's message) in p->out. */
	int (*parse)(struct event_parse *p, struct event *e);
	/** Make the trap of `e` happen (`tid`: a stopped thread). */
	int (*arm)(struct event_table *tab, struct event *e, pid_t tid);
	/** Undo arm() (every byte restored, slot freed). */
	void (*disarm)(struct event_table *tab, struct event *e);
	/** Is `st` a trap of this kind? Fill occ (tid, stage, context, key). */
	bool (*claim)(struct event_table *tab, const struct target_stop *st, struct event_occ *occ);
	/** The kind's own filter: does `e` match the occurrence? */
	bool (*match)(const struct event *e, const struct event_occ *occ);
	/** The pass is over: resume the thread. `sc`: the occurrence is
	 *  short-circuited (skip the emulation); `post`: a post pass is wanted
	 *  (arrange a later stop whose claim() gives stage POST). */
	int (*finish)(struct event_table *tab, struct event_occ *occ, bool sc, bool post);
	/** Free e->kdata. */
	void (*free)(struct event *e);
	/** After execve: re-resolve the parameters in the new address space
	 *  (nothing is armed). <0: the event is disabled (line in `out`). */
	int (*exec)(struct event_table *tab, struct event *e, struct hd_buf *out);
	/** Forget tab->kstate[kind] (target gone: nothing armed anymore). */
	void (*reset)(struct event_table *tab);
};

struct event_kind_info {
	const char *command;
	bool sc, stages, impl;
	const char *why;                 /**< kernel-only: the reason, else NULL */
	const struct event_kind_ops *ops;
};


/** How a kind's finish() lets the thread of an occurrence go on. */
enum event_resume_how {
	EVENT_RESUME_DONE, /**< the trapped instruction is complete (emulated,
			        skipped, executed, its syscall returned): run
			        freely; during a user's step the thread stays
			        stopped and the step ends there */
	EVENT_RESUME_INSN, /**< the instruction at rip (at a syscall-entry stop:
			        the syscall) still has to run, delivering `signo`
			        at a signal stop: run freely; during a user's
			        step, one single step whose stop comes back */
};

/* ---- trigger.c: resuming ---- */
/** Resume thread `tid` at the end of a pass (kinds' finish()): freely, or
 *  as a user's step of that thread requires (see enum event_resume_how).
 *  Kinds that need one more stop of their own (target_resume_step,
 *  target_stop_queue, TARGET_RESUME_SYSCALL) call the target directly: in
 *  a user's step that stop is waited for and offered again. */
int event_resume(struct event_table *tab, pid_t tid, enum event_resume_how how,
		 int signo) HD_MUST_CHECK;
/** true while a user's single step of `tid` is being handled. */
bool event_stepping(const struct event_table *tab, pid_t tid);
/** true when the threads other than the occurrence's are known to be
 *  stopped and the caller resumes them (a user's step, event_continue()). */
bool event_others_stopped(const struct event_table *tab);

/* ---- kind_epthook.c ---- */
/** One stop per event: at an !epthook stop whose events are all in-target
 *  (custom code, conditions), send the thread through the agent's one-stop
 *  runner and resume it; a crash of such a block (a signal stop with rip in
 *  the arena) is reported and undone. @return 1 handled (verdict filled),
 *  0 not for this path, <0 error. */
int event_epthook_onestop(struct event_table *tab, const struct target_stop *st,
			  struct event_verdict *v);

/* ---- kinds.c ---- */
const struct event_kind_info *event_kind_info(enum event_kind k);
/** @return the kind of a command name (case-insensitive) or -1. */
int event_kind_find(const char *name);

/* ---- parse.c ---- */
/** HyperDbg number: hex by default; 0x 0n 0y 0o prefixes; ` ignored. */
bool event_parse_u64(const char *s, uint64_t *v);
bool event_parse_u32(const char *s, uint32_t *v);
/** Hex block rules (whitespace removed, 0x/\x prefix, \x removed, odd
 *  count padded, c3 appended). @return 0 or -HD_E_PARSE. */
int event_hex_block(const char *text, uint8_t **bytes, size_t *len);
void event_free(struct event *e);

/* ---- table.c ---- */
struct event *event_find(struct event_table *tab, uint32_t id);
/** Load blocks and buffers into the agent (injecting it) and arm. */
int event_load_arm(struct event_table *tab, struct event *e, pid_t tid, struct hd_buf *out);
void event_disarm(struct event_table *tab, struct event *e);
/** Remove cleared events (no actions running). */
void event_sweep(struct event_table *tab);
/** The agent, injected through stopped thread `tid` if needed, its arena
 *  within +-2 GiB of `near` where possible (0: anywhere). */
int event_agent_get(struct event_table *tab, pid_t tid, uint64_t near, struct agent **out,
		    struct hd_buf *out_text);

/* ---- trigger.c ---- */
/** Run the events of occurrence `occ` (claimed from a stop, or built by a
 *  kind for its post pass): as event_handle_stop() after the claim. */
int event_occ_start(struct event_table *tab, const struct event_occ *occ,
		    struct event_verdict *v) HD_MUST_CHECK;
/** event_occ_start() for the events with id < `below` only (the rest of an
 *  occurrence whose newer events already ran). */
int event_occ_continue(struct event_table *tab, const struct event_occ *occ, uint32_t below,
		       struct event_verdict *v) HD_MUST_CHECK;
/** Start an occurrence at the break of event `id` (its condition held in
 *  the target): the break verdict; `g` runs the events with id < `id`. */
int event_occ_break_at(struct event_table *tab, const struct event_occ *occ, uint32_t id,
		       struct event_verdict *v) HD_MUST_CHECK;
/** Drop the suspended script run of the pending occurrence, if any (its
 *  event is being removed): `g` goes on with the older events. */
void event_susp_drop(struct event_table *tab);
/** true when `e`'s script is suspended in the pending occurrence. */
bool event_susp_holds(const struct event_table *tab, const struct event *e);
/** The line that reports a crashed condition or custom code (`what`). */
void event_crash_text(struct hd_buf *out, uint32_t id, const char *what,
		      const struct agent_crash *c);
void event_output(struct event_table *tab, bool imm, const char *text);
/** event_output(imm) of a message line that must start a line of its own
 *  (a run-time error after `printf("x")`). */
void event_output_line(struct event_table *tab, const char *text);
void event_flush_imm(struct event_table *tab);

/* ---- emul.c: instructions that fault and hdbg emulates (!tsc, !cpuid) ---- */

/** Switches a kind's fault on or off in every thread (target_tsc_trap...). */
typedef int (*emul_trap_fn)(struct target *t, bool on);
/** true while an event of `kind` is armed (its trap is on). */
bool emul_armed(struct event_table *tab, enum event_kind kind);
/** Arm one more event of `kind`; the first switches the trap on. */
int emul_arm(struct event_table *tab, enum event_kind kind, emul_trap_fn trap);
/** Disarm one event of `kind`; the last switches the trap off. */
void emul_disarm(struct event_table *tab, enum event_kind kind, emul_trap_fn trap);
/** Forget the kind's state (the target is gone). */
void emul_reset(struct event_table *tab, enum event_kind kind);
/** Claim the post pass that emul_finish() queued for this thread. */
bool emul_claim_post(struct event_table *tab, enum event_kind kind, const struct target_stop *st,
		     struct event_occ *occ);
/** Finish an occurrence: emulate (occ->aux[0] = the target_insn) or skip
 *  (sc) the instruction, queue the post pass if wanted, resume. */
int emul_finish(struct event_table *tab, enum event_kind kind, struct event_occ *occ, bool sc,
		bool post);

#endif
