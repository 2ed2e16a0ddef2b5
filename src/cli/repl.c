/*
** repl.c: the interactive loop and -x command files. Lines are joined
** while braces are unbalanced (cmd_needs_more); at a terminal an empty
** line repeats what the command layer says (cmd_repeat_line); Ctrl-C at
** the prompt drops the typed text, during a command it stops the target
** (cmd_interrupt).
*/
#include "cli/internal.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROMPT      "hdbg> "
#define PROMPT_MORE "> "

static bool is_blank(const char *s)
{
	return s[strspn(s, " \t\r")] == '\0';
}

/* true when an empty line ends an input mode (`a ADDR`): the command layer
 * then names "" as the repeat line. Outside a terminal, this is all an
 * empty line does. */
static bool ends_input_mode(struct cli_run *r)
{
	const char *rep = cmd_repeat_line(r->s);
	return rep && !*rep;
}

int cli_run_file(struct cli_run *r, const char *path)
{
	FILE *f = fopen(path, "r");
	struct hd_buf acc = {0};
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0, lineno = 0, first = 0;

	if (!f) {
		rc = -errno;
		cli_out_error(&r->out, "-x: cannot open '%s': %s", path, hd_strerror(rc));
		return rc;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (!acc.len && is_blank(line)) {
			if (ends_input_mode(r))
				cli_execute(r, "");
			continue;
		}
		if (!acc.len)
			first = lineno;
		else
			hd_buf_append(&acc, "\n", 1);
		hd_buf_append(&acc, line, (size_t)n);
		if (cmd_needs_more(acc.p))
			continue;
		rc = cli_execute(r, acc.p);
		hd_buf_reset(&acc);
		if (rc < 0) {
			cli_out_error(&r->out, "%s:%d: the command failed; the rest of the file is skipped",
				      path, first);
			goto out;
		}
		if (cmd_quit_requested(r->s) || cli_quit_signal)
			goto out;
	}
	if (acc.len) {
		cli_out_error(&r->out, "%s:%d: '{' block not closed at the end of the file", path,
			      first);
		rc = -HD_E_PARSE;
	}
out:
	free(line);
	hd_buf_free(&acc);
	fclose(f);
	return rc;
}

/* ---- reading lines ---- */

struct reader {
	struct cli_edit *ed;  /* NULL: stdin is not a terminal */
	char *buf;
	size_t cap;
};

static enum cli_edit_status read_line(struct reader *rd, const char *prompt, const char **line)
{
	ssize_t n;

	if (rd->ed)
		return cli_edit_gets(rd->ed, prompt, line);
	errno = 0;
	n = getline(&rd->buf, &rd->cap, stdin);
	if (n < 0) {
		if (errno == EINTR && cli_sigint) {
			clearerr(stdin);
			cli_sigint = 0;
			return CLI_EDIT_INTERRUPTED;
		}
		return CLI_EDIT_EOF;
	}
	while (n && (rd->buf[n - 1] == '\n' || rd->buf[n - 1] == '\r'))
		rd->buf[--n] = '\0';
	*line = rd->buf;
	return CLI_EDIT_LINE;
}

static void complete_names(void *ud, const char *prefix,
			   void (*add)(void *actx, const char *name), void *actx)
{
	(void)ud;
	cmd_complete(prefix, add, actx);
}

/* ~/.hdbg_history, or NULL when there is no home directory. */
static char *history_path(void)
{
	const char *home = getenv("HOME");
	struct hd_buf b = {0};

	if (!home || !*home) {
		struct passwd *pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : NULL;
	}
	if (!home)
		return NULL;
	hd_buf_printf(&b, "%s/.hdbg_history", home);
	return b.p;
}

static struct cli_edit *open_editor(struct cli_run *r)
{
	struct cli_edit *ed = NULL;
	char *hist = history_path();
	struct cli_edit_opts eo = {
		.in_fd = STDIN_FILENO,
		.out_fd = STDOUT_FILENO,
		.history_path = hist,
		.complete = complete_names,
		.interrupt_flag = &cli_sigint,
	};
	int rc = cli_edit_new(&ed, &eo);

	if (rc < 0)
		cli_out_error(&r->out, "cannot start the line editor: %s", hd_strerror(rc));
	free(hist);
	return rc < 0 ? NULL : ed;
}

/* Execute the line an empty input line stands for, if any. */
static void repeat_last(struct cli_run *r)
{
	const char *rep = cmd_repeat_line(r->s);
	char *copy;

	if (!rep)
		return;
	copy = hd_xstrdup(rep);  /* rep is only valid until cmd_execute */
	cli_execute(r, copy);
	free(copy);
}

void cli_repl(struct cli_run *r)
{
	struct reader rd = {0};
	struct hd_buf acc = {0};
	bool warned = false;

	if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO))
		rd.ed = open_editor(r);
	cli_out_set_edit(&r->out, rd.ed);
	while (!cmd_quit_requested(r->s) && !cli_quit_signal) {
		const char *line = NULL;
		enum cli_edit_status st = read_line(&rd, acc.len ? PROMPT_MORE : PROMPT, &line);

		if (st == CLI_EDIT_EOF) {
			if (acc.len)
				cli_out_error(&r->out, "'{' block not closed at the end of the input");
			break;
		}
		if (st == CLI_EDIT_INTERRUPTED) {
			hd_buf_reset(&acc);
			continue;
		}
		if (!acc.len && is_blank(line)) {
			/* Only typed empty lines repeat a command, as in gdb; an
			 * empty line on a pipe still ends an input mode (`a ADDR`),
			 * whose repeat line is "". */
			if (rd.ed || ends_input_mode(r))
				repeat_last(r);
			continue;
		}
		if (acc.len)
			hd_buf_append(&acc, "\n", 1);
		hd_buf_append(&acc, line, strlen(line));
		if (cmd_needs_more(acc.p))
			continue;
		if (rd.ed && cli_edit_history_add(rd.ed, acc.p) < 0 && !warned) {
			pr_warn("cannot save the history file ~/.hdbg_history");
			warned = true;
		}
		cli_execute(r, acc.p);
		hd_buf_reset(&acc);
	}
	cli_out_set_edit(&r->out, NULL);
	cli_edit_free(rd.ed);
	free(rd.buf);
	hd_buf_free(&acc);
}
