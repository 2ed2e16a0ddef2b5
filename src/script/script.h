/*
** script.h: the script layer's public header. HyperDbg's script language
** (v0.23 semantics): lexer -> parser -> compiler -> verifier -> freestanding
** bytecode VM. Registers, memory, pseudo-registers, symbols, output and
** event control all go through `struct script_env`, so the same VM runs in
** hdbg and inside the target's agent.
**
** CONTRACT: cmd and event code against the functions below; the script
** layer owns and extends this header, keeping these signatures.
*/
#ifndef HD_SCRIPT_SCRIPT_H
#define HD_SCRIPT_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/hd.h"

/** A compile error: 1-based line and column, HyperDbg's message
 *  ("Syntax Error: Invalid Syntax"...) and the offending source line. */
struct script_diag {
	int line, col;
	char msg[256];
	char text[256];
};

/** Register ids follow HyperDbg's REGS_ENUM (rax = 0 ... dr7 = 119). */
int script_reg_id(const char *name);          /**< -1 if unknown */
const char *script_reg_name(int id);

/** The environment a script runs in. Every callback returns 0 or a negative
 *  error; a failing memory access is a run-time error of that run only. */
struct script_env {
	void *ud;
	int (*reg_read)(void *ud, int reg, uint64_t *val);
	int (*reg_write)(void *ud, int reg, uint64_t val);
	int (*mem_read)(void *ud, uint64_t addr, void *buf, size_t len);
	int (*mem_write)(void *ud, uint64_t addr, const void *buf, size_t len);
	/** pseudo-register by HyperDbg id ($pid = 0 ... $time = 15) */
	int (*pseudo_read)(void *ud, int id, uint64_t *val);
	/** printf/print output: the format and its 64-bit arguments; the host
	 *  formats with script_format(). */
	void (*output)(void *ud, const char *fmt, const uint64_t *args, int nargs);
	/** HyperDbg's test harness builtin `test_statement(x)` (may be NULL) */
	void (*test_statement)(void *ud, uint64_t value);
};

/** Compile-time symbol resolution (`main`, `libc!malloc`): 0 or -HD_E_NOSYM. */
typedef int (*script_resolve_fn)(void *ud, const char *name, uint64_t *value);

/** @brief Evaluate one expression (an address argument of a command:
 *  `main+8`, `@rsp+0n16`, `poi(@rsp)`, `libc!puts`). Numbers are hex by
 *  default. @return 0, -HD_E_PARSE (diag filled), -HD_E_NOSYM (diag names
 *  the symbol) or a run-time error. */
int script_eval_expr(const char *expr, const struct script_env *env,
		     script_resolve_fn resolve, void *resolve_ud,
		     uint64_t *value, struct script_diag *diag) HD_MUST_CHECK;

/* ---- whole scripts ---- */

struct script_prog;     /**< compiled, verified bytecode (position independent) */
struct script_globals;  /**< `.name` globals: one set per hdbg session */

struct script_compile_opts {
	size_t sz;                   /**< sizeof(struct script_compile_opts) */
	script_resolve_fn resolve;   /**< module!symbol at compile time (may be NULL) */
	void *resolve_ud;
	struct script_globals *globals; /**< where `.name` globals are declared */
	const char *include_dir;     /**< base for relative `#include` paths */
};

/** @brief Create / free a globals set. */
struct script_globals *script_globals_new(void);
void script_globals_free(struct script_globals *g);

/** @brief Compile `src` (the text after `?` or inside `script { }`).
 *  @return 0, or -HD_E_PARSE with `diag` filled (HyperDbg's message). */
int script_compile(const char *src, const struct script_compile_opts *opts,
		   struct script_prog **out, struct script_diag *diag) HD_MUST_CHECK;
void script_prog_free(struct script_prog *p);

/** @brief Run `p` once in `env`, bounded to 1,000,000 instructions and a
 *  256-slot stack. @return 0, or -HD_E_RUNTIME / -HD_E_LIMIT with `err`
 *  naming the failing function (`err, ScriptEngineExecute, function = ...`). */
int script_run(const struct script_prog *p, const struct script_env *env,
	       struct script_globals *g, char *err, size_t errlen) HD_MUST_CHECK;

/** @brief Format a printf record (format + 64-bit arguments) with HyperDbg's
 *  rules; `%s`/`%ws` read strings through env->mem_read.
 *  @return the length written (truncated to cap-1, NUL-terminated) or <0. */
int script_format(const char *fmt, const uint64_t *args, int nargs,
		  const struct script_env *env, char *out, size_t cap);

#endif
