/*
** cli.h: the front end's public header. The front end owns the terminal:
** it parses hdbg's options, runs -x/-c/--script actions and batch mode,
** prints a session's output, and runs the interactive REPL (libedit).
** Only main.c and the tests include this header; no layer depends on cli.
*/
#ifndef HD_CLI_CLI_H
#define HD_CLI_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/hd.h"

/* ---- options (args.c) ---- */

/** Exit statuses of hdbg (spec section 1). */
enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_FAILED = 1,  /**< a command failed in --batch */
	CLI_EXIT_USAGE = 2,   /**< bad command line */
};

/** One thing to do before the prompt, in command-line order. */
enum cli_action_kind {
	CLI_ACT_CMD,   /**< -c CMD / -ex CMD: one command line */
	CLI_ACT_FILE,  /**< -x FILE: every command of FILE */
	CLI_ACT_LINE,  /**< a command line built by hdbg (--script) */
};

struct cli_action {
	enum cli_action_kind kind;
	/** CMD/FILE: borrowed from argv; LINE: owned by the options. */
	const char *text;
};

/** The parsed command line. Zero-initialise; release with cli_opts_free. */
struct cli_opts {
	struct cli_action *actions;  /**< -x, -c, --script in order */
	size_t n_actions;
	bool batch;                  /**< --batch */
	bool json;                   /**< --json */
	bool quiet;                  /**< -q */
	bool help;                   /**< --help: print usage, exit 0 */
	bool version;                /**< --version: print version, exit 0 */
	bool return_child_result;    /**< --return-child-result */
	pid_t pid;                   /**< -p PID, 0 when absent */
	/** PROGRAM ARGS...: NULL-terminated, borrowed from argv; NULL when
	 *  no program was given. */
	char *const *prog_argv;
};

/** @brief Parse hdbg's command line (argv[0] is the program name).
 *  Options come before PROGRAM; `--` ends them; everything after PROGRAM
 *  belongs to the program. `--script FILE ARGS...` takes the rest of the
 *  command line and becomes the action `.script FILE ARGS...` (arguments
 *  with blanks or quotes are quoted).
 *  @param o   zero-initialised options, filled in (also on error; free them)
 *  @param err receives one line (no newline) naming the offending
 *             argument on error
 *  @return 0, or -EINVAL on a usage error. */
int cli_parse_args(struct cli_opts *o, int argc, char **argv, struct hd_buf *err) HD_MUST_CHECK;

/** @brief Release what cli_parse_args allocated. */
void cli_opts_free(struct cli_opts *o);

/** @brief The --help text (several lines, ends with a newline). */
const char *cli_usage(void);

/** @brief hdbg's version string, e.g. "0.1.0". */
const char *cli_version(void);

/* ---- the whole program (run.c) ---- */

/** @brief hdbg's main: parse options, run actions, batch or REPL.
 *  @return the process exit status (enum cli_exit, or the target's exit
 *  status with --return-child-result). */
int cli_main(int argc, char **argv);

/* ---- line editor (edit.c): libedit with async-safe output ---- */

struct cli_edit;

/** What cli_edit_gets read. */
enum cli_edit_status {
	CLI_EDIT_LINE,         /**< a line (maybe empty) */
	CLI_EDIT_EOF,          /**< Ctrl-D on an empty line, or end of input */
	CLI_EDIT_INTERRUPTED,  /**< Ctrl-C: the typed line was dropped */
};

/** Completion callback: call `add(actx, name)` for every candidate that
 *  starts with `prefix`. */
typedef void (*cli_complete_fn)(void *ud, const char *prefix,
				void (*add)(void *actx, const char *name), void *actx);

/** Options for cli_edit_new. */
struct cli_edit_opts {
	int in_fd, out_fd;              /**< a terminal */
	const char *history_path;       /**< NULL: no history file */
	cli_complete_fn complete;       /**< NULL: no completion */
	void *complete_ud;
	/** Set by the SIGINT handler; cli_edit_gets returns
	 *  CLI_EDIT_INTERRUPTED when it becomes non-zero while editing. */
	volatile sig_atomic_t *interrupt_flag;
};

/** @brief Open a libedit editor on a terminal. History is loaded from
 *  `history_path` when the file exists.
 *  @return 0 or -errno. */
int cli_edit_new(struct cli_edit **out, const struct cli_edit_opts *opts) HD_MUST_CHECK;

/** @brief Close the editor and restore the terminal. NULL is ignored. */
void cli_edit_free(struct cli_edit *ed);

/** @brief Read one line with `prompt`. The line, without its newline, is
 *  in `*line` (valid until the next call).
 *  SIGINT must be installed without SA_RESTART; while waiting for a key
 *  the editor also prints output queued by cli_edit_print (from any
 *  thread) above the line being typed, and redraws that line. */
enum cli_edit_status cli_edit_gets(struct cli_edit *ed, const char *prompt, const char **line);

/** @brief Add `entry` to the history and save the history file.
 *  Empty entries and repeats of the previous entry are not added.
 *  @return 0 or -errno (the history file could not be written). */
int cli_edit_history_add(struct cli_edit *ed, const char *entry);

/** @brief Print `text` on the editor's terminal, from any thread. While a
 *  line is being edited, the text appears above it and the prompt and
 *  typed text are redrawn intact; otherwise it is written at once.
 *  @return true when the text was taken (false: editor not in a line,
 *  the caller prints it itself). */
bool cli_edit_print(struct cli_edit *ed, const char *text);

/* ---- output (out.c) ---- */

/** Where hdbg's output goes: stdout/stderr, or the editor's terminal. */
struct cli_out {
	bool json;              /**< every line is a JSON object on stdout */
	struct cli_edit *edit;  /**< set while the REPL runs, else NULL */
};

/** @brief Write `text` exactly as given to stdout (`err` false) or
 *  stderr: a script's printf output may end in the middle of a line (the
 *  command layer ends such a line when its command finishes). Thread-safe;
 *  keeps an edited line intact (cli_edit_print: there a final newline is
 *  added when missing, since the prompt is redrawn below the text). */
void cli_out_write(struct cli_out *o, bool err, const char *text);

/** @brief Hand output to `ed` while the REPL runs (NULL: write directly).
 *  Takes the output lock, so it is safe while other threads print. */
void cli_out_set_edit(struct cli_out *o, struct cli_edit *ed);

/** @brief printf-style error line of the front end itself: "hdbg: ..."
 *  on stderr, or {"type":"error","message":"..."} on stdout with --json. */
void cli_out_error(struct cli_out *o, const char *fmt, ...) HD_PRINTF(2, 3);

/** @brief Append `s` to `b` as a JSON string literal (with quotes). */
void cli_json_string(struct hd_buf *b, const char *s);

/** @brief Route hd_log through `o`: warnings by default, up to
 *  HDBG_LOG=info|debug from the environment. */
void cli_out_set_log_sink(struct cli_out *o);

#endif
