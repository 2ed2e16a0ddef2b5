/*
** out.c: hdbg's output. Session output and log messages go to stdout and
** stderr (all of it to stdout as JSON lines with --json); while the REPL
** edits a line, output is handed to the editor, which prints it above the
** line and redraws what the user typed.
*/
#include "cli/cli.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One lock for every write, so lines from several threads never mix. */
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return;  /* a closed terminal or pipe: nothing to do */
		}
		p += w;
		n -= (size_t)w;
	}
}

void cli_out_write(struct cli_out *o, bool err, const char *text)
{
	size_t n = strlen(text);
	struct hd_buf line = {0};

	if (n == 0)
		return;
	pthread_mutex_lock(&out_lock);
	if (o->edit && text[n - 1] != '\n') {
		/* the editor redraws the prompt below the text: end the line */
		hd_buf_append(&line, text, n);
		hd_buf_append(&line, "\n", 1);
	}
	if (!o->edit || !cli_edit_print(o->edit, line.len ? line.p : text))
		write_all(err && !o->json ? STDERR_FILENO : STDOUT_FILENO, text, n);
	pthread_mutex_unlock(&out_lock);
	hd_buf_free(&line);
}

void cli_out_set_edit(struct cli_out *o, struct cli_edit *ed)
{
	pthread_mutex_lock(&out_lock);
	o->edit = ed;
	pthread_mutex_unlock(&out_lock);
}

void cli_json_string(struct hd_buf *b, const char *s)
{
	hd_buf_append(b, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':  hd_buf_append(b, "\\\"", 2); break;
		case '\\': hd_buf_append(b, "\\\\", 2); break;
		case '\n': hd_buf_append(b, "\\n", 2); break;
		case '\r': hd_buf_append(b, "\\r", 2); break;
		case '\t': hd_buf_append(b, "\\t", 2); break;
		default:
			if (*p < 0x20)
				hd_buf_printf(b, "\\u%04x", *p);
			else
				hd_buf_append(b, (const char *)p, 1);
		}
	}
	hd_buf_append(b, "\"", 1);
}

/* One message as a text line ("hdbg: [warning: ]msg") or a JSON object. */
static void out_message(struct cli_out *o, const char *type, const char *level, const char *msg)
{
	struct hd_buf b = {0};

	if (o->json) {
		hd_buf_printf(&b, "{\"type\":\"%s\",", type);
		if (level)
			hd_buf_printf(&b, "\"level\":\"%s\",", level);
		hd_buf_printf(&b, "\"message\":");
		cli_json_string(&b, msg);
		hd_buf_printf(&b, "}\n");
	} else {
		hd_buf_printf(&b, "hdbg: %s%s%s", level && !strcmp(level, "warning") ? level : "",
			      level && !strcmp(level, "warning") ? ": " : "", msg);
		hd_buf_append(&b, "\n", 1);
	}
	cli_out_write(o, true, b.p);
	hd_buf_free(&b);
}

void cli_out_error(struct cli_out *o, const char *fmt, ...)
{
	struct hd_buf msg = {0};
	va_list ap;

	va_start(ap, fmt);
	hd_buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	out_message(o, "error", NULL, msg.p);
	hd_buf_free(&msg);
}

static void log_sink(enum hd_log_level level, const char *msg, void *ud)
{
	static const char *const names[] = {"warning", "info", "debug"};

	out_message(ud, "log", names[level], msg);
}

void cli_out_set_log_sink(struct cli_out *o)
{
	const char *env = getenv("HDBG_LOG");
	enum hd_log_level max = HD_LOG_WARN;

	if (env && !strcmp(env, "info"))
		max = HD_LOG_INFO;
	else if (env && !strcmp(env, "debug"))
		max = HD_LOG_DEBUG;
	hd_log_set_sink(log_sink, o, max);
}
