/*
** internal.h: shared between the front end's run.c and repl.c only.
*/
#ifndef HD_CLI_INTERNAL_H
#define HD_CLI_INTERNAL_H

#include <signal.h>

#include "cli/cli.h"
#include "cmd/cmd.h"

/** One run of hdbg: the session and where its output goes. */
struct cli_run {
	struct cmd_session *s;
	struct cli_out out;
	const struct cli_opts *opts;
};

/** Set by the SIGINT handler (which also calls cmd_interrupt while a
 *  command runs). */
extern volatile sig_atomic_t cli_sigint;

/** SIGTERM or SIGHUP received: end at the next safe point (0: none). */
extern volatile sig_atomic_t cli_quit_signal;

/** @brief cmd_execute with Ctrl-C routed to the session while it runs
 *  (a Ctrl-C at the prompt must not stop the next command). */
int cli_execute(struct cli_run *r, const char *line);

/** @brief Run the commands of `path` (-x FILE): multi-line `{ }` blocks
 *  are joined; the first failing command stops the file.
 *  @return 0, or <0 when the file could not be read or a command failed
 *  (an error line has been printed). */
int cli_run_file(struct cli_run *r, const char *path);

/** @brief The interactive loop: libedit when stdin is a terminal, plain
 *  lines otherwise. Returns at end of input or after `q`. */
void cli_repl(struct cli_run *r);

#endif
