/* Shared helpers of the command-layer unit tests: a session whose output
 * is captured, and the paths of the test targets. */
#ifndef HD_TEST_CMD_TEST_H
#define HD_TEST_CMD_TEST_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/internal.h"

#define TARGET(name) HD_BINARY_DIR "/targets/" name

struct capture {
	struct hd_buf out, err;
	struct cmd_session *s;
};

static inline void capture_write(void *ud, enum cmd_stream st, const char *text)
{
	struct capture *c = ud;
	hd_buf_printf(st == CMD_ERR ? &c->err : &c->out, "%s", text);
}

static inline void capture_open(struct capture *c)
{
	memset(c, 0, sizeof(*c));
	struct cmd_sink sink = {capture_write, c, false};
	if (cmd_session_new(&c->s, &sink) < 0)
		abort();
}

static inline void capture_reset(struct capture *c)
{
	hd_buf_reset(&c->out);
	hd_buf_reset(&c->err);
}

/* Execute `line` with fresh buffers; @return its result. */
static inline int capture_exec(struct capture *c, const char *line)
{
	capture_reset(c);
	return cmd_execute(c->s, line);
}

static inline void capture_close(struct capture *c)
{
	cmd_session_free(c->s);
	hd_buf_free(&c->out);
	hd_buf_free(&c->err);
}

/* Number of lines of `text` (error output must be exactly one line). */
static inline int count_lines(const char *text)
{
	int n = 0;
	for (; *text; text++)
		n += *text == '\n';
	return n;
}

#endif
