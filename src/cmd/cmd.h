/*
** cmd.h: the command layer's public header. A session owns the target,
** its symbols, the script globals, breakpoints and events, and executes
** HyperDbg/WinDbg-syntax command lines. Output goes through a sink; the
** front end (cli) owns the terminal.
**
** CONTRACT: cli codes against the functions below; add freely, keep these.
*/
#ifndef HD_CMD_CMD_H
#define HD_CMD_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/hd.h"

struct cmd_session;

enum cmd_stream { CMD_OUT, CMD_ERR };

/** Where a session's output goes; `text` is printed as is: whole lines,
 *  or script printf output that may end in the middle of a line. A line
 *  left open is ended ("\n" on CMD_OUT) before an error and when the
 *  command finishes, so every cmd_execute() ends at the start of a line. */
struct cmd_sink {
	void (*write)(void *ud, enum cmd_stream stream, const char *text);
	void *ud;
	bool json;  /**< --json: one JSON object per line */
};

/** @brief New session without a target. */
int cmd_session_new(struct cmd_session **out, const struct cmd_sink *sink) HD_MUST_CHECK;
/** @brief End the session: kill a started target, detach an attached one
 *  (every patched byte restored). */
void cmd_session_free(struct cmd_session *s);

/** @brief Execute one command line (may hold a multi-line `{ }` block).
 *  @return 0, or <0 after printing one error line on CMD_ERR. */
int cmd_execute(struct cmd_session *s, const char *line);

/** @brief true while `text` has unbalanced braces (multi-line input). */
bool cmd_needs_more(const char *text);

/** @brief What an empty line repeats (`t`, `p`, `d*`/`u` continuing at the
 *  next address, `r`), or NULL. Valid until the next cmd_execute. */
const char *cmd_repeat_line(struct cmd_session *s);

/** @brief Command names starting with `prefix`, for completion; calls `fn`
 *  for each. */
void cmd_complete(const char *prefix, void (*fn)(void *ud, const char *name), void *ud);

/** @brief true after `q`. */
bool cmd_quit_requested(const struct cmd_session *s);

/** @brief Async-signal-safe (Ctrl-C): stop a running target and return
 *  to the prompt. */
void cmd_interrupt(struct cmd_session *s);

/** @brief Start / attach as `hdbg PROG ARGS` / `hdbg -p PID` do. */
int cmd_start(struct cmd_session *s, const char *path, char *const argv[]) HD_MUST_CHECK;
int cmd_attach(struct cmd_session *s, pid_t pid) HD_MUST_CHECK;

/** @brief Exit status of the target once it has exited, or -1. */
int cmd_target_exit_status(const struct cmd_session *s);

#endif
