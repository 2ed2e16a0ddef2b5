/*
** args.c: hdbg's command line (spec section 1): options before PROGRAM,
** -x/-c/--script actions kept in order, one error line per usage error.
*/
#include "cli/cli.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#ifndef HDBG_VERSION
#define HDBG_VERSION "0.1.0"
#endif

const char *cli_version(void)
{
	return HDBG_VERSION;
}

const char *cli_usage(void)
{
	return "usage: hdbg [options] [--] PROGRAM [ARGS...]   start PROGRAM stopped at its first instruction\n"
	       "       hdbg [options] -p PID                   attach to a running process (all its threads)\n"
	       "       hdbg [options]                          no target yet (.start / .attach later)\n"
	       "options:\n"
	       "  -x FILE      run the commands in FILE (repeatable; in order with -c)\n"
	       "  -c CMD       run one command (repeatable); -ex is accepted as an alias\n"
	       "  --batch      exit after the last -x/-c command (kill a started target,\n"
	       "               detach an attached one)\n"
	       "  --script FILE [ARGS]   run FILE with $arg0 = FILE, $arg1... = ARGS\n"
	       "               (takes the rest of the command line)\n"
	       "  --json       one JSON object per line on stdout instead of text\n"
	       "  --return-child-result  exit with the target's exit status\n"
	       "  -q           no banner\n"
	       "  --version    print the version and exit\n"
	       "  --help       print this help and exit\n"
	       "exit status: 0; 1 when a command failed in --batch; 2 on a usage error;\n"
	       "with --return-child-result, the target's exit status.\n";
}

static void add_action(struct cli_opts *o, enum cli_action_kind kind, const char *text)
{
	o->actions = hd_xrealloc(o->actions, (o->n_actions + 1) * sizeof(*o->actions));
	o->actions[o->n_actions].kind = kind;
	o->actions[o->n_actions].text = text;
	o->n_actions++;
}

/* Append one argument of a `.script` line, quoted the way HyperDbg's
 * command tokenizer reads it back when it would not be one plain token. */
static void append_quoted(struct hd_buf *b, const char *arg)
{
	bool plain = *arg != '\0' && !strpbrk(arg, " \t\n\"{}\\") &&
		     !strstr(arg, "//") && !strstr(arg, "/*");

	if (plain) {
		hd_buf_append(b, arg, strlen(arg));
		return;
	}
	hd_buf_append(b, "\"", 1);
	for (const char *p = arg; *p; p++) {
		if (*p == '"')
			hd_buf_append(b, "\\", 1);
		hd_buf_append(b, p, 1);
	}
	hd_buf_append(b, "\"", 1);
}

static int parse_pid(const char *s, pid_t *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v <= 0 || v > INT_MAX)
		return -EINVAL;
	*out = (pid_t)v;
	return 0;
}

/* The argument of option argv[*i], or NULL (error set) when missing. */
static const char *opt_arg(int argc, char **argv, int *i, const char *what, struct hd_buf *err)
{
	if (*i + 1 >= argc) {
		hd_buf_printf(err, "option '%s' needs an argument (%s)", argv[*i], what);
		return NULL;
	}
	return argv[++*i];
}

static int parse_script(struct cli_opts *o, int argc, char **argv, int i, struct hd_buf *err)
{
	struct hd_buf line = {0};

	if (i + 1 >= argc) {
		hd_buf_printf(err, "option '--script' needs an argument (FILE)");
		return -EINVAL;
	}
	hd_buf_printf(&line, ".script ");
	for (int j = i + 1; j < argc; j++) {
		if (j > i + 1)
			hd_buf_append(&line, " ", 1);
		append_quoted(&line, argv[j]);
	}
	add_action(o, CLI_ACT_LINE, line.p);  /* ownership moves to o */
	return 0;
}

int cli_parse_args(struct cli_opts *o, int argc, char **argv, struct hd_buf *err)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v;

		if (a[0] != '-' || a[1] == '\0')
			break;  /* PROGRAM (a lone "-" is a file name too) */
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (!strcmp(a, "-x") || !strcmp(a, "-c") || !strcmp(a, "-ex")) {
			bool file = a[1] == 'x';
			if (!(v = opt_arg(argc, argv, &i, file ? "FILE" : "CMD", err)))
				return -EINVAL;
			add_action(o, file ? CLI_ACT_FILE : CLI_ACT_CMD, v);
		} else if (!strcmp(a, "-p")) {
			if (!(v = opt_arg(argc, argv, &i, "PID", err)))
				return -EINVAL;
			if (parse_pid(v, &o->pid) < 0) {
				hd_buf_printf(err, "-p: '%s' is not a process id", v);
				return -EINVAL;
			}
		} else if (!strcmp(a, "--script")) {
			if (parse_script(o, argc, argv, i, err) < 0)
				return -EINVAL;
			return 0;  /* --script takes the rest of the line */
		} else if (!strcmp(a, "--batch")) {
			o->batch = true;
		} else if (!strcmp(a, "--json")) {
			o->json = true;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			o->quiet = true;
		} else if (!strcmp(a, "--return-child-result")) {
			o->return_child_result = true;
		} else if (!strcmp(a, "--version")) {
			o->version = true;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			o->help = true;
		} else {
			hd_buf_printf(err, "unknown option '%s'", a);
			return -EINVAL;
		}
	}
	if (i < argc) {
		if (o->pid) {
			hd_buf_printf(err, "-p %d and a program ('%s') cannot be used together",
				      (int)o->pid, argv[i]);
			return -EINVAL;
		}
		o->prog_argv = &argv[i];
	}
	return 0;
}

void cli_opts_free(struct cli_opts *o)
{
	for (size_t i = 0; i < o->n_actions; i++)
		if (o->actions[i].kind == CLI_ACT_LINE)
			free((char *)o->actions[i].text);
	free(o->actions);
	o->actions = NULL;
	o->n_actions = 0;
}
