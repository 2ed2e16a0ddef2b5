/*
** run.c: hdbg's main program: options, the session, start/attach, the
** -x/-c/--script actions, batch mode or the REPL, and the exit status.
*/
#include "cli/internal.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

volatile sig_atomic_t cli_sigint;
volatile sig_atomic_t cli_quit_signal;
static struct cmd_session *volatile sigint_session;
static volatile sig_atomic_t in_command;  /* a command or start/attach runs */

/* Ctrl-C: only a flag and, while a command runs, cmd_interrupt
 * (async-signal-safe by contract); the REPL and the command layer poll
 * them. hdbg itself never dies of it. SIGTERM and SIGHUP do the same and
 * also end hdbg at the next safe point, as q does: an attached process is
 * detached with its bytes restored instead of being left with int3s. */
static void on_signal(int sig)
{
	struct cmd_session *s = sigint_session;

	if (sig != SIGINT)
		cli_quit_signal = sig;
	cli_sigint = 1;
	if (s && in_command)
		cmd_interrupt(s);
}

int cli_execute(struct cli_run *r, const char *line)
{
	int rc;

	in_command = 1;
	rc = cmd_execute(r->s, line);
	in_command = 0;
	return rc;
}

static const int handled_signals[] = {SIGINT, SIGTERM, SIGHUP};

static void install_signals(struct sigaction old[])
{
	struct sigaction sa = {0};

	sa.sa_handler = on_signal;
	sa.sa_flags = 0;  /* no SA_RESTART: blocking waits return EINTR */
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < HD_ARRAY_SIZE(handled_signals); i++)
		sigaction(handled_signals[i], &sa, &old[i]);
}

static void restore_signals(const struct sigaction old[])
{
	for (size_t i = 0; i < HD_ARRAY_SIZE(handled_signals); i++)
		sigaction(handled_signals[i], &old[i], NULL);
}

static void sink_write(void *ud, enum cmd_stream stream, const char *text)
{
	cli_out_write(ud, stream == CMD_ERR, text);
}

/* Start or attach the target named on the command line. */
static int open_target(struct cli_run *r)
{
	const struct cli_opts *o = r->opts;
	int rc = 0;

	in_command = 1;
	if (o->prog_argv) {
		rc = cmd_start(r->s, o->prog_argv[0], o->prog_argv);
		if (rc < 0)
			cli_out_error(&r->out, "cannot start '%s': %s", o->prog_argv[0],
				      hd_strerror(rc));
	} else if (o->pid) {
		rc = cmd_attach(r->s, o->pid);
		if (rc < 0)
			cli_out_error(&r->out, "cannot attach to process %d: %s", (int)o->pid,
				      hd_strerror(rc));
	}
	in_command = 0;
	return rc;
}

/* The -x/-c/--script actions in order. @return the number that failed. */
static int run_actions(struct cli_run *r)
{
	int failed = 0;

	for (size_t i = 0; i < r->opts->n_actions && !cmd_quit_requested(r->s) &&
			   !cli_quit_signal; i++) {
		const struct cli_action *a = &r->opts->actions[i];
		int rc;

		if (a->kind == CLI_ACT_FILE)
			rc = cli_run_file(r, a->text);
		else
			rc = cli_execute(r, a->text);
		if (rc < 0)
			failed++;
	}
	return failed;
}

static int usage_error(const char *msg)
{
	fprintf(stderr, "hdbg: %s\nTry 'hdbg --help' for more information.\n", msg);
	return CLI_EXIT_USAGE;
}

int cli_main(int argc, char **argv)
{
	struct cli_opts opts = {0};
	struct hd_buf err = {0};
	struct cli_run r = {0};
	struct sigaction old_sig[HD_ARRAY_SIZE(handled_signals)];
	struct cmd_sink sink;
	int status = CLI_EXIT_OK, child;

	setlocale(LC_CTYPE, "");
	if (cli_parse_args(&opts, argc, argv, &err) < 0) {
		status = usage_error(err.p);
		goto out;
	}
	if (opts.help || opts.version) {
		fputs(opts.help ? cli_usage() : "", stdout);
		if (opts.version)
			printf("hdbg %s\n", cli_version());
		goto out;
	}
	r.opts = &opts;
	r.out.json = opts.json;
	cli_out_set_log_sink(&r.out);
	sink = (struct cmd_sink){.write = sink_write, .ud = &r.out, .json = opts.json};
	if (cmd_session_new(&r.s, &sink) < 0) {
		cli_out_error(&r.out, "cannot create a debugging session");
		status = CLI_EXIT_FAILED;
		goto out;
	}
	sigint_session = r.s;
	install_signals(old_sig);
	if (!opts.quiet && !opts.batch && !opts.json) {
		hd_buf_printf(&err, "hdbg %s: a HyperDbg-style debugger for Linux x86-64 "
			      "processes.\nType .help for the commands, q to quit.\n", cli_version());
		cli_out_write(&r.out, false, err.p);
	}
	if (open_target(&r) < 0 && opts.batch) {
		status = CLI_EXIT_FAILED;
	} else {
		if (run_actions(&r) && opts.batch)
			status = CLI_EXIT_FAILED;
		if (!opts.batch)
			cli_repl(&r);
	}
	child = cmd_target_exit_status(r.s);
	if (opts.return_child_result && child >= 0)
		status = child & 0xff;
	sigint_session = NULL;
	cmd_session_free(r.s);
	restore_signals(old_sig);
	if (cli_quit_signal)
		status = 128 + cli_quit_signal;
	hd_log_set_sink(NULL, NULL, HD_LOG_WARN);
out:
	cli_opts_free(&opts);
	hd_buf_free(&err);
	fflush(stdout);
	return status;
}
