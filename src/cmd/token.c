/*
** token.c: the command-line tokenizer. Splits a command line into words,
** quoted strings and brace blocks with HyperDbg's rules (CommandParser in
** libhyperdbg's interpreter.cpp), quirks included, so that every command
** sees the same tokens as in HyperDbg.
*/
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/internal.h"

#define NPOS ((size_t)-1)

/* The line being tokenized: escapes are removed from it while scanning. */
struct line {
	char *p;
	size_t len;
};

static size_t find_char(const struct line *l, char c, size_t from)
{
	for (size_t i = from; i < l->len; i++)
		if (l->p[i] == c)
			return i;
	return NPOS;
}

static size_t find_str(const struct line *l, const char *s, size_t from)
{
	size_t n = strlen(s);
	for (size_t i = from; i + n <= l->len && i != NPOS; i++)
		if (!memcmp(l->p + i, s, n))
			return i;
	return NPOS;
}

static char at(const struct line *l, size_t i)
{
	return i < l->len ? l->p[i] : '\0';
}

static void erase(struct line *l, size_t i)
{
	memmove(l->p + i, l->p + i + 1, l->len - i);
	l->len--;
}

static void push(struct cmd_tokens *t, enum cmd_token_type type, const char *s, size_t n)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 8;
		t->v = hd_xrealloc(t->v, (size_t)t->cap * sizeof(*t->v));
	}
	char *text = hd_xmalloc(n + 1);
	memcpy(text, s, n);
	text[n] = '\0';
	t->v[t->n].type = type;
	t->v[t->n].text = text;
	t->n++;
}

/* A word: trimmed; dropped when nothing is left. */
static void add_word(struct cmd_tokens *t, struct hd_buf *cur)
{
	const char *s = hd_buf_str(cur);
	size_t b = 0, e = cur->len;
	while (b < e && isspace((unsigned char)s[b]))
		b++;
	while (e > b && isspace((unsigned char)s[e - 1]))
		e--;
	if (e > b)
		push(t, CMD_TOK_WORD, s + b, e - b);
	hd_buf_reset(cur);
}

static void buf_pop(struct hd_buf *b)
{
	if (b->len)
		b->p[--b->len] = '\0';
}

/* A `//` comment at i: returns the index to continue from (the loop adds 1).
 * Inside a brace block the comment text stays in the block. */
static size_t line_comment(struct line *l, size_t i, int depth, struct hd_buf *cur)
{
	size_t lit_end = 0, lit_beg = find_char(l, '"', i);
	if (lit_beg != NPOS && (i == 0 || l->p[i - 1] != '\\'))
		lit_end = find_char(l, '"', lit_beg + 1);

	size_t close = NPOS;
	if (depth) {
		size_t pos = lit_end > i ? lit_end : i;
		close = pos == NPOS ? NPOS : find_char(l, '}', pos);
		while (close != NPOS && close > 0 && l->p[close - 1] == '\\') {
			erase(l, close - 1);
			close = find_char(l, '}', close + 1);
		}
	}
	size_t nl_str = find_str(l, "\\n", i);
	if (lit_beg && lit_beg <= nl_str && nl_str <= lit_end)
		nl_str = NPOS;
	size_t nl_chr = find_char(l, '\n', i);
	size_t min = close;
	if (nl_str < min)
		min = nl_str;
	if (nl_chr < min)
		min = nl_chr;

	if (min != NPOS && l->p[min - 1] != '\\') {
		if (depth)
			hd_buf_append(cur, l->p + i, min - i);
		return min - 1;
	}
	bool nl_esc = nl_str != NPOS && l->p[nl_str - 1] == '\\';
	if (depth) {
		/* to the end of the line; an escaped "\\n" becomes "\n" */
		for (size_t k = i; k < l->len; k++) {
			if (nl_esc && l->p[k] == '\\' && at(l, k + 1) == '\\' && at(l, k + 2) == 'n') {
				hd_buf_append(cur, "\\n", 2);
				k += 2;
				continue;
			}
			hd_buf_append(cur, l->p + k, 1);
		}
	}
	return l->len;
}

void cmd_tokenize(const char *text, struct cmd_tokens *out)
{
	struct line l = {hd_xstrdup(text), strlen(text)};
	struct hd_buf cur = {0};
	bool in_quotes = false;
	int depth = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < l.len; ++i) {
		char c = l.p[i];

		if (c == '/' && !in_quotes) {
			char c2 = at(&l, i + 1);
			if (c2 == '/') {
				i = line_comment(&l, i, depth, &cur);
				continue;
			}
			if (c2 == '*') {
				size_t end = find_str(&l, "*/", i + 2);
				if (end != NPOS) {
					if (depth)
						hd_buf_append(&cur, l.p + i, end - i + 2);
					i = end + 1;
					continue;
				}
			}
		}

		if (in_quotes && c == '"') {
			if (l.p[i - 1] != '\\') {
				in_quotes = false;
				if (!depth) {
					if (cur.len)
						push(out, CMD_TOK_STRING, hd_buf_str(&cur), cur.len);
					hd_buf_reset(&cur);
					continue;
				}
				hd_buf_append(&cur, &c, 1);
				continue;
			}
			erase(&l, i - 1);
			i--;
			if (!depth)
				buf_pop(&cur);
			hd_buf_append(&cur, &c, 1);
			continue;
		}

		if (c == '}') {
			if (i == 0 || l.p[i - 1] != '\\') {
				if (depth) {
					if (!in_quotes)
						depth--;
					if (!depth) {
						push(out, CMD_TOK_BLOCK, hd_buf_str(&cur), cur.len);
						hd_buf_reset(&cur);
						continue;
					}
				}
			} else if (!in_quotes) {
				erase(&l, i - 1);
				i--;
				buf_pop(&cur);
			}
		}

		if (c == ' ' && !in_quotes && !depth) {
			if (cur.len && strcmp(hd_buf_str(&cur), " "))
				add_word(out, &cur);
			continue;
		} else if (c == '"') {
			if (i) {
				if (l.p[i - 1] != ' ' && !depth && cur.len)
					add_word(out, &cur);
				if (l.p[i - 1] != '\\') {
					in_quotes = true;
					if (!depth)
						continue;
				}
			} else {
				in_quotes = true;
				if (!depth)
					continue;
			}
		} else if (c == '{' && !in_quotes) {
			if (i && l.p[i - 1] == '\\') {
				erase(&l, i - 1);
				i--;
				buf_pop(&cur);
			} else {
				if (i && l.p[i - 1] != ' ' && !depth)
					add_word(out, &cur);
				if (++depth == 1)
					continue;
			}
		}

		/* a stray literal "\n" at the start of a token is ignored */
		if (c == '\\' && !in_quotes && !cur.len && at(&l, i + 1) == 'n') {
			i++;
			continue;
		}
		hd_buf_append(&cur, &c, 1);
	}
	if (cur.len && strcmp(hd_buf_str(&cur), " "))
		add_word(out, &cur);
	out->open_braces = depth;
	out->open_quote = in_quotes;
	hd_buf_free(&cur);
	free(l.p);
}

void cmd_tokens_free(struct cmd_tokens *t)
{
	for (int i = 0; i < t->n; i++)
		free(t->v[i].text);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

bool cmd_needs_more(const char *text)
{
	struct cmd_tokens tk;
	cmd_tokenize(text, &tk);
	bool more = tk.open_braces > 0;
	cmd_tokens_free(&tk);
	return more;
}
