/*
** fuzz_event.c: event commands (`!epthook ...` with every generic option,
** hex/asm/script blocks) and `events ...` parsed without a target, through
** the command layer's tokenizer. Invariants: no crash, no leak, and a
** rejected command leaves the number of events unchanged.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/internal.h"
#include "event/event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct event_table *tab;
	struct cmd_tokens tk;
	struct hd_buf out = {0};

	if (size > 4096)
		return 0;
	char *line = malloc(size + 1);
	memcpy(line, data, size);
	line[size] = '\0';
	/* no files: "file:" would read the fuzzing machine's files */
	for (char *p = line; (p = strstr(p, "file:")); p++)
		*p = 'F';
	if (!tab && event_table_new(&tab, NULL) < 0)
		abort();
	cmd_tokenize(line, &tk);
	if (tk.n > 0 && tk.n < 256 && !tk.open_braces && !tk.open_quote) {
		struct event_token v[256];
		for (int i = 0; i < tk.n; i++) {
			v[i].type = tk.v[i].type == CMD_TOK_BLOCK    ? EVENT_TOK_BLOCK
				    : tk.v[i].type == CMD_TOK_STRING ? EVENT_TOK_STRING
								     : EVENT_TOK_WORD;
			v[i].text = tk.v[i].text;
		}
		int before = event_count(tab);
		int rc = !strcmp(v[0].text, "events") ? event_events_command(tab, v, tk.n, &out)
						      : event_command(tab, v, tk.n, 0, NULL, &out);
		if (rc < 0 && strcmp(v[0].text, "events") && event_count(tab) != before)
			abort();
		if (event_count(tab) > 64)
			event_clear_all(tab);
	}
	cmd_tokens_free(&tk);
	hd_buf_free(&out);
	free(line);
	return 0;
}
