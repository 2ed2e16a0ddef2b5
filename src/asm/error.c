/*
** error.c: renders an assembly error's position for the user: the source
** line it points into and a caret under its column.
*/
#include <string.h>

#include "asm/internal.h"

#define TAB_STOP 8

struct out {
	char *buf;
	size_t len, limit; /* bytes before limit are usable; the NUL after */
};

static bool fits(const struct out *o, size_t n)
{
	return o->len + n < o->limit;
}

static void put(struct out *o, char c)
{
	if (fits(o, 1))
		o->buf[o->len++] = c;
}

static void puts_n(struct out *o, const char *s)
{
	while (*s)
		put(o, *s++);
}

/* Display columns of byte `c` at column `at`: a tab reaches the next stop,
 * a UTF-8 continuation byte adds nothing to its character's one column. */
static size_t cell_width(unsigned char c, size_t at)
{
	if (c == '\t')
		return TAB_STOP - at % TAB_STOP;
	return (c & 0xc0) == 0x80 ? 0 : 1;
}

static size_t line_width(const char *s, size_t n)
{
	size_t w = 0;
	for (size_t i = 0; i < n; i++)
		w += cell_width((unsigned char)s[i], w);
	return w;
}

/* The display columns [ws, we) of the line, tabs as spaces, control
 * characters as '?'. */
static void put_cells(struct out *o, const char *s, size_t n, size_t ws, size_t we)
{
	size_t at = 0;
	bool shown = false; /* the current character's first byte was written */

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		size_t w = cell_width(c, at);
		if (c == '\t') {
			for (size_t k = at; k < at + w; k++)
				if (k >= ws && k < we)
					put(o, ' ');
			shown = false;
		} else if (w == 0) {
			if (shown)
				put(o, (char)c);
		} else {
			size_t k = 1; /* the character's bytes, written whole or not at all */
			while (i + k < n && ((unsigned char)s[i + k] & 0xc0) == 0x80)
				k++;
			shown = at >= ws && at < we && fits(o, k);
			if (shown)
				put(o, c < 0x20 || c == 0x7f ? '?' : (char)c);
		}
		at += w;
	}
}

size_t asm_error_render(const char *text, const struct asm_error *err, char *buf, size_t cap)
{
	struct out o = { buf, 0, cap };
	const char *line = text;

	if (cap)
		buf[0] = '\0';
	if (!text || !err || err->line < 1 || cap == 0)
		return 0;
	for (int l = 1; l < err->line; l++) {
		line = strchr(line, '\n');
		if (!line)
			return 0;
		line++;
	}
	size_t len = strcspn(line, "\n"), n;
	size_t col = err->col > 1 ? (size_t)err->col - 1 : 0;
	if (col > len)
		col = len;
	size_t caret = line_width(line, col);
	/* trailing blanks (and a CR) are not shown; the caret may be past them */
	for (n = len; n && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'); n--)
		;
	size_t full = line_width(line, n), width = full;
	if (caret + 1 > width)
		width = caret + 1; /* a caret just past the end of the line */

	/* two lines of "  " + window, cut ends marked "...": 2 * window + 16
	 * bytes with the NUL */
	size_t maxw = cap > 18 ? (cap - 16) / 2 : 1, ws = 0, we = width;
	if (width > maxw) {
		size_t room = maxw;
		ws = caret > room / 2 ? caret - room / 2 : 0;
		we = ws + room;
		if (we > width) {
			we = width;
			ws = width > room ? width - room : 0;
		}
	}
	/* the caret line first claims its room: a line of multi-byte
	 * characters takes more bytes than columns */
	size_t pad = caret - ws + (ws > 0 ? 3 : 0);
	o.limit = cap > pad + 4 ? cap - (pad + 4) : 0;
	puts_n(&o, ws > 0 ? "  ..." : "  ");
	put_cells(&o, line, n, ws, we);
	if (we < full)
		puts_n(&o, "...");
	o.limit = cap;
	puts_n(&o, "\n  ");
	for (; pad > 0; pad--)
		put(&o, ' ');
	put(&o, '^');
	o.buf[o.len] = '\0';
	return o.len;
}
