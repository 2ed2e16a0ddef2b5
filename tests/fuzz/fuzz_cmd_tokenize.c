/* libFuzzer target: the command-line tokenizer (src/cmd/token.c) on
 * arbitrary text. Every token must be a NUL-terminated string no longer
 * than the input; cmd_needs_more must agree with the tokenizer. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct cmd_tokens tk;
	cmd_tokenize(text, &tk);
	for (int i = 0; i < tk.n; i++)
		if (strlen(tk.v[i].text) > size)
			abort();
	if (cmd_needs_more(text) != (tk.open_braces > 0))
		abort();
	cmd_tokens_free(&tk);
	free(text);
	return 0;
}
