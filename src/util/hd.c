/*
** hd.c: error messages, the log sink, the string buffer.
*/
#include "util/hd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const hd_messages[] = {
#define X(name, msg) msg,
#include "util/errors.def"
#undef X
};

const char *hd_strerror(int err)
{
	if (err < 0)
		err = -err;
	if (err > HD_E_START && err < HD_E_END)
		return hd_messages[err - HD_E_START - 1];
	return strerror(err);
}

static hd_log_sink log_sink;
static void *log_ud;
static enum hd_log_level log_max = HD_LOG_WARN;

void hd_log_set_sink(hd_log_sink sink, void *ud, enum hd_log_level max)
{
	log_sink = sink;
	log_ud = ud;
	log_max = max;
}

void hd_log(enum hd_log_level level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (level > log_max)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_sink)
		log_sink(level, msg, log_ud);
	else
		fprintf(stderr, "%s\n", msg);
}

void *hd_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		abort();
	return p;
}

void *hd_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		abort();
	return p;
}

void *hd_xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		abort();
	return p;
}

char *hd_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(hd_xmalloc(n), s, n);
}

static void buf_reserve(struct hd_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	b->p = hd_xrealloc(b->p, cap);
	b->cap = cap;
}

void hd_buf_append(struct hd_buf *b, const char *s, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void hd_buf_vprintf(struct hd_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n <= 0)
		return;
	buf_reserve(b, (size_t)n);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void hd_buf_printf(struct hd_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	hd_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void hd_buf_reset(struct hd_buf *b)
{
	b->len = 0;
	if (b->p)
		b->p[0] = '\0';
}

const char *hd_buf_str(const struct hd_buf *b)
{
	return b->p ? b->p : "";
}

void hd_buf_free(struct hd_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}
