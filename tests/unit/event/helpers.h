/*
** helpers.h: shared by the event layer's tests: a tokenizer doing what the
** command layer's does for the lines used here (that layer sits above this
** one), and a small session running a real target with an event table,
** the way the command layer's run loop will.
*/
#ifndef HD_TEST_EVENT_HELPERS_H
#define HD_TEST_EVENT_HELPERS_H

#include <stdlib.h>
#include <string.h>

#include "event/event.h"

/* The command layer's tokenizer is above this layer; this small one does
 * what it does for these lines: words, "strings" and { nested blocks }. */
struct toks {
	struct event_token v[64];
	char *text[64];
	int n;
};

static inline void tokenize(const char *line, struct toks *t)
{
	const char *p = line;
	t->n = 0;
	while (*p) {
		const char *b;
		enum event_tok_type type = EVENT_TOK_WORD;
		size_t len;
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		if (*p == '{') {
			int depth = 0;
			b = p + 1;
			for (; *p; p++) {
				depth += *p == '{';
				depth -= *p == '}';
				if (!depth)
					break;
			}
			len = (size_t)(p - b);
			p += *p != 0;
			type = EVENT_TOK_BLOCK;
		} else if (*p == '"') {
			b = ++p;
			while (*p && *p != '"')
				p++;
			len = (size_t)(p - b);
			p += *p != 0;
			type = EVENT_TOK_STRING;
		} else {
			b = p;
			while (*p && *p != ' ' && *p != '{')
				p++;
			len = (size_t)(p - b);
		}
		assert_true(t->n < 64);
		t->text[t->n] = strndup(b, len);
		t->v[t->n].type = type;
		t->v[t->n].text = t->text[t->n];
		t->n++;
	}
}

static inline void toks_free(struct toks *t)
{
	for (int i = 0; i < t->n; i++)
		free(t->text[i]);
}

#endif
