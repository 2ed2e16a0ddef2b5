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
 *  ("Syntax Error: Invalid Syntax"...), the offending source line and,
 *  for an error inside an `#include`d file, that file's path (line and
 *  column are then the file's). */
struct script_diag {
	int line, col;
	char msg[256];
	char text[256];
	char file[256];  /**< "" for the script's own text */
};

/** @brief Append `d` as hdbg shows it (no final newline), three lines:
 *  `script line L column C: MSG: 'TEXT'` (`script file 'PATH' line L
 *  column C: ...` inside an #include'd file), the source line indented
 *  by two spaces, and a caret under column C (tabs of the line kept, so
 *  the caret lines up). Callers prefix the first line ("error: ",
 *  HyperDbg's "err, "). */
void script_diag_render(const struct script_diag *d, struct hd_buf *b);

/** Register ids follow HyperDbg's REGS_ENUM (rax = 0 ... dr7 = 119).
 *  The VM calls env->reg_read/reg_write only with full-register ids (rax 0,
 *  rcx 5, rdx 10, rbx 15, rsp 20, rbp 24, rsi 28, rdi 32, r8 36, r9 41 ...
 *  r15 71, segments 76-81, rflags 82, rip 102, 105-119); it derives the
 *  sub-registers (eax, ah, r8d, r8h...) and flag bits itself. Writing a
 *  sub-register merges into the full register (HyperDbg: writing @eax
 *  keeps bits 63:32). */
int script_reg_id(const char *name);          /**< -1 if unknown */
const char *script_reg_name(int id);

/** Memory as the running script sees it, handed to env->output for the
 *  strings of `%s`/`%ws`: the run's own storage (locals, `.globals`,
 *  string literals, the text of $pname/$date/$time) first, then
 *  env->mem_read. Valid only during the output() call. */
struct script_mem {
	void *ud;
	int (*read)(void *ud, uint64_t addr, void *buf, size_t len);
};

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
	 *  formats with script_format(fmt, args, nargs, mem, ...), reading
	 *  `%s` strings through `mem`. A negative return (script_format's
	 *  -HD_E_LIMIT: the text would exceed 4096 bytes; -HD_E_BADADDR: a `%s`
	 *  string is not readable) stops the run with a run-time error
	 *  (`err, ScriptEngineExecute, function = FUNC_PRINTF`). */
	int (*output)(void *ud, const char *fmt, const uint64_t *args, int nargs,
		      const struct script_mem *mem);
	/** HyperDbg's test harness builtin `test_statement(x)` (may be NULL) */
	void (*test_statement)(void *ud, uint64_t value);

	/* ---- fields added by the script layer (all may be NULL / 0) ---- */

	/** Event and debugger-control built-ins, by HyperDbg FUNC id:
	 *  event_enable 38, event_disable 39, event_clear 40, event_sc 44,
	 *  pause 47, flush 48, event_trace_* 49-53, event_inject 62,
	 *  event_inject_error_code 103. NULL: HyperDbg's user-mode message
	 *  ("err, enabling events is not possible in user-mode"...) is sent to
	 *  output() and the script goes on. A negative return stops the run
	 *  with a run-time error. SCRIPT_CTL_SUSPEND (pause()): the call
	 *  completes (its result, 0, is pushed) and a run started with
	 *  script_run_in() returns SCRIPT_SUSPENDED there, to go on with
	 *  script_resume(); a run that cannot be resumed (script_run,
	 *  script_exec_bytecode, script_eval_expr) goes on at once. */
	int (*event_ctl)(void *ud, int func, const uint64_t *args, int nargs);
	/** Length of the instruction at `addr` decoded as `bits` (32/64) code
	 *  (disassemble_len*); NULL or an error gives 0. */
	int (*insn_len)(void *ud, uint64_t addr, int bits, uint64_t *len);
	/** microsleep(us); NULL: no delay. */
	void (*microsleep)(void *ud, uint64_t us);
	/** Polled at backward jumps and calls: non-zero stops the run with
	 *  -HD_E_INTERRUPTED (Ctrl-C sets it). */
	const volatile int *interrupt;
	/** The text of the string pseudo-registers $pname (2), $date (14) and
	 *  $time (15), NUL-terminated in `buf` (at most `cap` bytes with the
	 *  NUL). The VM copies it into the run's own storage at each read and
	 *  the pseudo-register's value is its address: readable by printf %s,
	 *  strlen, db... until the run ends (read-only). NULL or a negative
	 *  return: the value pseudo_read() gives (0 when not available). */
	int (*pseudo_text)(void *ud, int id, char *buf, size_t cap);
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

struct script_globals;

/** @brief script_eval_expr() that can read the `.name` globals of `globals`
 *  (the session's, shared with `?` scripts and event scripts); NULL is the
 *  same as script_eval_expr(). The expression cannot declare globals. */
int script_eval_expr_globals(const char *expr, const struct script_env *env,
			     script_resolve_fn resolve, void *resolve_ud,
			     struct script_globals *globals, uint64_t *value,
			     struct script_diag *diag) HD_MUST_CHECK;

/* ---- whole scripts ---- */

struct script_prog;     /**< compiled, verified bytecode (position independent) */
struct script_globals;  /**< `.name` globals: one set per hdbg session */

struct script_compile_opts {
	size_t sz;                   /**< sizeof(struct script_compile_opts) */
	script_resolve_fn resolve;   /**< module!symbol at compile time (may be NULL) */
	void *resolve_ud;
	struct script_globals *globals; /**< where `.name` globals are declared */
	const char *include_dir;     /**< base for relative `#include` paths */
	/** Allocator for everything the compiler allocates (Lua lua_Alloc
	 *  style: new size 0 frees; may be NULL for malloc/realloc/free).
	 *  A failing allocation makes script_compile() return -ENOMEM. */
	void *(*alloc)(void *ud, void *p, size_t oldsz, size_t newsz);
	void *alloc_ud;
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

/* ---- resumable runs (pause() in an event script) ---- */

/** event_ctl()'s answer that suspends the run after the call. */
#define SCRIPT_CTL_SUSPEND 1
/** script_run_in() / script_resume(): the run is suspended (not over). */
#define SCRIPT_SUSPENDED 1

/** The whole state of one run of the VM: its 256-slot stack, call frames,
 *  pc, sp, fp, step count, the text of $pname/$date/$time. Opaque; the
 *  caller provides the storage (script_state_size() bytes, aligned like
 *  uint64_t: the heap, an arena) and owns it. It holds no resource: a
 *  suspended run is dropped by freeing or reusing its storage. */
struct script_state;

/** @brief Bytes of storage for a struct script_state (about 4 KB). */
size_t script_state_size(void);

/**
 * @brief script_run() in the caller's storage `state`, which makes the run
 *        resumable: when env->event_ctl() answers SCRIPT_CTL_SUSPEND (the
 *        host's pause()), the run stops after that call and returns
 *        SCRIPT_SUSPENDED. `state` must then stay at its address until the
 *        run is resumed or dropped: the script's `&local` values and the
 *        $pname/$date/$time texts point into it. `p` and `g` must outlive
 *        the suspension too.
 * @param g the globals (required: the run keeps a pointer to them).
 * @return 0, SCRIPT_SUSPENDED, or as script_run() (-EINVAL without `p`,
 *         `g` or `state`).
 */
int script_run_in(const struct script_prog *p, const struct script_env *env,
		  struct script_globals *g, struct script_state *state, char *err,
		  size_t errlen) HD_MUST_CHECK;

/**
 * @brief Go on with a suspended run from the instruction after the call
 *        that suspended it, with the same stack, locals, call frames and
 *        step budget; `env` replaces the environment of the previous part
 *        (registers and memory are read anew: what the user changed while
 *        the run was suspended is what the script sees). Freestanding
 *        (vm.c), like script_exec_bytecode().
 * @return 0, SCRIPT_SUSPENDED (suspended again), a run-time error as
 *         script_run(), or -HD_E_RUNTIME ("err, the script is not
 *         suspended") when `state` does not hold a suspended run.
 */
int script_resume(struct script_state *state, const struct script_env *env, char *err,
		  size_t errlen) HD_MUST_CHECK;

/** @brief Append a disassembly of `p` (one instruction per line) to `b`:
 *  the `.script-dump` view used by tests. */
void script_prog_dump(const struct script_prog *p, struct hd_buf *b);

/** @brief The position-independent bytecode blob of `p` (header with
 *  version, sizes, constants, code, string table), to copy into the
 *  target's agent. @param len receives its size. */
const void *script_prog_bytecode(const struct script_prog *p, size_t *len);

/** @brief The global slots of `g` (SCRIPT_MAX_GLOBALS = 512 64-bit
 *  values), for an agent that keeps them in shared memory. */
uint64_t *script_globals_slots(struct script_globals *g);

/** @brief Check a bytecode blob (header, operands, jump targets, stack
 *  depth on every path) as script_compile does before handing it out.
 *  @return 0, or -HD_E_RUNTIME with `msg` naming the first problem. */
int script_bytecode_verify(const void *bc, size_t len, char *msg, size_t msglen) HD_MUST_CHECK;

/** @brief Run a blob returned by script_prog_bytecode() (possibly a copy
 *  at another address) with `globals` as the 512 global slots. This is
 *  the freestanding entry point (vm.c) for the agent; it does not verify
 *  the blob (script_compile did). Same results as script_run(), and like
 *  it not resumable: SCRIPT_CTL_SUSPEND from event_ctl() is taken as 0
 *  (an in-target host breaks inside its event_ctl() instead, with the
 *  run's state kept on the thread's stack). */
int script_exec_bytecode(const void *bc, const struct script_env *env,
			 uint64_t *globals, char *err, size_t errlen) HD_MUST_CHECK;

/** @brief Format a printf record (format + 64-bit arguments) with HyperDbg's
 *  rules; `%s`/`%ws` read strings through `mem` (the one output() got;
 *  NULL: no memory is readable).
 *  @return the length written (truncated to cap-1, NUL-terminated), or
 *  -HD_E_LIMIT (more than 4095 characters of text or numbers), or
 *  -HD_E_BADADDR (a `%s`/`%ws` argument does not point to a readable,
 *  NUL-terminated string; kernel HyperDbg fails the same way). */
int script_format(const char *fmt, const uint64_t *args, int nargs,
		  const struct script_mem *mem, char *out, size_t cap);

#endif
