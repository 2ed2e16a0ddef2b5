/*
** internal.h: shared internals of the command layer (never included from
** outside src/cmd/ except by its unit tests): the session, the tokenizer,
** the command table, output and argument helpers.
*/
#ifndef HD_CMD_INTERNAL_H
#define HD_CMD_INTERNAL_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/user.h>

#include "cmd/cmd.h"
#include "script/script.h"
#include "util/hd.h"

struct target;
struct target_stop;
struct sym_session;
struct event_table;

/** Drop the result of a call whose failure changes nothing for the user
 *  (warn_unused_result is not silenced by a (void) cast). */
#define IGNORE(expr)            \
	do {                    \
		if ((expr) < 0) \
			break;  \
	} while (0)

/* ---- tokenizer (token.c) ---- */

enum cmd_token_type {
	CMD_TOK_WORD,   /**< plain word, trimmed */
	CMD_TOK_STRING, /**< "quoted string" without its quotes */
	CMD_TOK_BLOCK,  /**< { brace block }: the inner text verbatim */
};

struct cmd_token {
	enum cmd_token_type type;
	char *text;
};

struct cmd_tokens {
	struct cmd_token *v;
	int n, cap;
	int open_braces;  /**< braces still open at the end of the text */
	bool open_quote;  /**< a quote still open at the end of the text */
};

/** @brief Split `text` into tokens with HyperDbg's CommandParser rules.
 *  `out` is overwritten; free it with cmd_tokens_free(). */
void cmd_tokenize(const char *text, struct cmd_tokens *out);
void cmd_tokens_free(struct cmd_tokens *t);

/* ---- the session ---- */

struct cmd_bp {
	uint64_t addr;
	char *expr;      /**< as typed, to re-resolve after .restart */
	unsigned hits;
	bool used, enabled, inserted;
	bool pending;    /**< its module is not loaded yet: set when a library load resolves it */
};

#define CMD_MAX_BP 256

/** Who printed a piece of output (emit in session.c): an open line is
 *  continued only by its own source. */
enum cmd_src { CMD_SRC_NONE, CMD_SRC_CMD, CMD_SRC_EVENT };

struct cmd_session {
	struct cmd_sink sink;
	struct target *t;
	struct sym_session *sym;
	bool attached;           /**< detach (not kill) at the end */
	char *path;              /**< started program and arguments, for .restart */
	char **argv;
	int exit_status;         /**< of the last target, or -1 */
	bool quit;
	struct script_globals *globals;
	struct cmd_bp bp[CMD_MAX_BP];
	bool user_stop;          /**< the last run ended at a stop shown to the user */
	bool absorb_int;         /**< a Ctrl-C was reported: absorb its twin stop */
	bool int_reported;       /**< an interrupt was reported during this run */
	char *repeat;            /**< what an empty line repeats, or NULL */
	int script_depth;        /**< .script nesting */
	volatile sig_atomic_t interrupt;
	bool asm_mode;           /**< `a ADDR`: lines are assembly until an empty one */
	uint64_t asm_addr;
	struct event_table *events;
	enum cmd_src open_line;  /**< whose output left the last line open (no '\n') */
	uint64_t ldbrk;          /**< the loader's _dl_debug_state breakpoint, or 0 */
	bool bad_read;           /**< a script read of the target failed (at bad_addr) */
	uint64_t bad_addr;
};

/* ---- the command table (commands.def) ---- */

struct cmd_args {
	const struct cmd_tokens *tk;  /**< tk->v[0] is the command name */
	const char *line;             /**< the whole line as typed */
	const char *rest;             /**< the text after the command name */
};

typedef int (*cmd_fn)(struct cmd_session *s, const struct cmd_args *a);

struct cmd_def {
	const char *name;
	const char *aliases;  /**< space-separated, may be "" */
	bool repeat;          /**< an empty line repeats it */
	const char *syntax;
	const char *help;
	cmd_fn fn;
};

#define CMD(id, name, aliases, repeat, syntax, help) \
	int cmd_do_##id(struct cmd_session *s, const struct cmd_args *a);
#include "cmd/commands.def"
#undef CMD

extern const struct cmd_def cmd_table[];
extern const int cmd_table_len;
const struct cmd_def *cmd_find(const char *name);

/* ---- output (session.c) ---- */

/** Print formatted text on CMD_OUT, as is: whole lines, or a script's
 *  printf text that may leave the line open. */
void cmd_out(struct cmd_session *s, const char *fmt, ...) HD_PRINTF(2, 3);
/** Print text of the event scripts (their printf output, as is). */
void cmd_out_event(struct cmd_session *s, const char *text);
/** End a line left open by printf output (a '\n'), if any: done before
 *  errors, before output of another source and when a command finishes. */
void cmd_out_end_line(struct cmd_session *s);
/** Print one error line on CMD_ERR; @return rc (negative). */
int cmd_err(struct cmd_session *s, int rc, const char *fmt, ...) HD_PRINTF(3, 4);

/* ---- arguments and evaluation (session.c) ---- */

/** The script environment of the stopped current thread (test mode
 *  without a target: registers read 0, memory fails). */
void cmd_script_env(struct cmd_session *s, struct script_env *env);
/** Resolver for scripts and the assembler through sym_lookup. */
int cmd_resolve(void *ud, const char *name, uint64_t *value);
/** A number token (hex default, 0x 0n 0y 0o, backticks); false if not one. */
bool cmd_parse_number(const char *t, uint64_t *value);
/** Evaluate an expression argument: a number, else a symbol, else a
 *  script expression; prints the error naming `text`. */
int cmd_eval(struct cmd_session *s, const char *text, uint64_t *value) HD_MUST_CHECK;
/** Require a stopped live target; prints the error otherwise. */
int cmd_need_target(struct cmd_session *s) HD_MUST_CHECK;
/** Join tokens [from, n) with spaces (caller frees). */
char *cmd_join(const struct cmd_tokens *tk, int from);
/** Set what an empty line repeats (NULL: nothing). */
void cmd_set_repeat(struct cmd_session *s, const char *line);

/* ---- registers (cmd_regs.c) ---- */

/** Read/write a register by name ("rax", "eax", "ah", "r8d", "rip", "zf").
 *  @return 0, or -HD_E_NOTFOUND for an unknown name. */
int cmd_reg_get(const struct user_regs_struct *r, const char *name, uint64_t *val);
int cmd_reg_put(struct user_regs_struct *r, const char *name, uint64_t val);
/** Registers of the current thread. */
int cmd_cur_regs(struct cmd_session *s, struct user_regs_struct *r) HD_MUST_CHECK;

/* ---- symbols and disassembly (cmd_sym.c) ---- */

/** Symbolizer for asm_disasm_one. */
int cmd_symbolize(void *ud, uint64_t addr, char *buf, size_t len);
/** Print the instruction at `addr` (with its label line when it starts a
 *  function, or when `label` is set); @return its length, or <0. */
int cmd_print_insn(struct cmd_session *s, uint64_t addr, bool label);
/** Parse "[ADDR] [l COUNT]" (d* and u): count untouched when absent. */
int cmd_parse_range(struct cmd_session *s, const struct cmd_args *a, uint64_t *addr,
		    bool *have_addr, uint64_t *count) HD_MUST_CHECK;
/** Format "module!symbol+0xoff" or a bare hex address into buf. */
void cmd_addr_name(struct cmd_session *s, uint64_t addr, char *buf, size_t len);

/* ---- running (cmd_run.c) ---- */

/** After start/attach: open symbols, print where the target stands. */
int cmd_target_opened(struct cmd_session *s, const char *how);
/** Forget the target after it exited / was killed / detached. */
void cmd_target_gone(struct cmd_session *s);

/** Stop all threads, make `tid` current, refresh symbols. */
int cmd_stop_here(struct cmd_session *s, pid_t tid) HD_MUST_CHECK;
/** Print the current thread's instruction with its label line. */
void cmd_print_current(struct cmd_session *s);

/* ---- assembly (cmd_asm.c) ---- */

/** In the assembly mode of `a ADDR`: assemble `line` (an empty one ends
 *  the mode). @return false when not in that mode. */
bool cmd_asm_line(struct cmd_session *s, const char *line, int *rc);

/* ---- events (cmd_event.c) ---- */

int cmd_events_new(struct cmd_session *s) HD_MUST_CHECK;
void cmd_events_free(struct cmd_session *s);
/** Bind the events to s->t (NULL: the target is gone). */
void cmd_events_target_set(struct cmd_session *s);
/** Before detach/kill: disarm every event. */
void cmd_events_release(struct cmd_session *s);
void cmd_events_exec(struct cmd_session *s, pid_t tid);
bool cmd_is_event_command(const char *name);
int cmd_event_command(struct cmd_session *s, const struct cmd_tokens *tk);
/** Offer a stop to the events: 1 handled (runs on), 0 a break (printed),
 *  -1 not an event's, other <0 an error (printed). */
int cmd_events_stop(struct cmd_session *s, const struct target_stop *st);
/** At g: 1 resume all, 0 another break (printed), <0 error. */
int cmd_events_continue(struct cmd_session *s);
/** A stop `st` of a user's step of `tid` (t, p over an instruction),
 *  offered to the events: 1 the caller goes on with `st` (the last stop;
 *  TARGET_STOP_STEP: the step is over), 0 it ended at an event's break
 *  (printed), <0 an error (printed). */
int cmd_events_step_stop(struct cmd_session *s, pid_t tid, struct target_stop *st);
/** t/p of `tid` while paused by an event of it: the occurrence's
 *  instruction is completed as the step. Returns as cmd_events_step_stop();
 *  1 with st->kind TARGET_STOP_NONE: nothing paused, step the thread. */
int cmd_events_step_paused(struct cmd_session *s, pid_t tid, struct target_stop *st);
int cmd_events_pseudo(struct cmd_session *s, int id, uint64_t *val);
int cmd_events_ctl(void *ud, int func, const uint64_t *args, int nargs);

/* ---- breakpoints (cmd_bp.c) ---- */

struct cmd_bp *cmd_bp_at(struct cmd_session *s, uint64_t addr);
/** Re-resolve and re-insert every breakpoint after .restart. */
void cmd_bp_rearm(struct cmd_session *s);
/** Forget the inserted state of every breakpoint (target gone). */
void cmd_bp_target_gone(struct cmd_session *s);
/** Insert the pending breakpoints whose symbol resolves now. */
void cmd_bp_resolve_pending(struct cmd_session *s);
/** Is there a pending breakpoint? */
bool cmd_bp_any_pending(const struct cmd_session *s);

/* ---- library loads (cmd_pending.c) ---- */

/** May `text` become a pending breakpoint: `module!symbol` whose module is
 *  not loaded but whose library file exists (lib<module>.so* or
 *  <module>.so* in the program's directory, LD_LIBRARY_PATH or the system
 *  library directories)? */
bool cmd_pending_candidate(struct cmd_session *s, const char *text);
/** Put the internal breakpoint on the loader's _dl_debug_state (after
 *  start, attach, exec, restart). */
void cmd_ldbrk_set(struct cmd_session *s);
/** A stop of the run loop at the loader's breakpoint: libraries changed.
 *  @return true when the stop is consumed (every thread runs again). */
bool cmd_ldbrk_stop(struct cmd_session *s, const struct target_stop *st);
/** Events whose address did not resolve: try again (libraries changed). */
void cmd_events_libs(struct cmd_session *s, pid_t tid);
/** Is there an enabled event waiting for its address? */
bool cmd_events_any_pending(struct cmd_session *s);

#endif
