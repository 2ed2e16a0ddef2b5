/*
** cmd_asm.c: `a ADDR` — assemble Intel-syntax code into the target's
** memory. `a ADDR { CODE }` and `a ADDR CODE` assemble at once; `a ADDR`
** alone enters the assembly mode: each following line is assembled at the
** next address until an empty line. Nothing is written for a line (or a
** block) with an error.
*/
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "asm/asm.h"
#include "cmd/internal.h"
#include "target/target.h"

/* Assemble `text` at `*addr` and write it; *addr advances past it. */
static int assemble_at(struct cmd_session *s, const char *text, uint64_t *addr)
{
	uint8_t code[4096];
	size_t len = sizeof(code);
	struct asm_error e;
	memset(&e, 0, sizeof(e));
	int rc = asm_assemble(text, *addr, cmd_resolve, s, code, &len, &e);
	if (rc == -ENOSPC)
		return cmd_err(s, rc, "code too long for one command (%zu bytes at most)", sizeof(code));
	if (rc < 0) {
		char caret[512];
		size_t n = asm_error_render(text, &e, caret, sizeof(caret));
		return cmd_err(s, rc, "assembly line %d column %d: %s%s%s", e.line, e.col,
			       e.msg[0] ? e.msg : hd_strerror(rc), n ? "\n" : "", caret);
	}
	rc = target_mem_write(s->t, *addr, code, len);
	if (rc < 0)
		return cmd_err(s, rc, "cannot write %zu bytes at %016llx: %s", len,
			       (unsigned long long)*addr, hd_strerror(rc));
	struct hd_buf b = {0};
	hd_buf_printf(&b, "%016llx ", (unsigned long long)*addr);
	for (size_t i = 0; i < len && i < 32; i++)
		hd_buf_printf(&b, "%02x", code[i]);
	if (len > 32)
		hd_buf_printf(&b, "... (%zu bytes)", len);
	cmd_out(s, "%s\n", hd_buf_str(&b));
	hd_buf_free(&b);
	*addr += len;
	return 0;
}

int cmd_do_asm(struct cmd_session *s, const struct cmd_args *a)
{
	const struct cmd_tokens *tk = a->tk;
	uint64_t addr;
	if (tk->n < 2)
		return cmd_err(s, -HD_E_PARSE, "missing address (usage: a ADDR [{ CODE }])");
	TRY(cmd_need_target(s));
	TRY(cmd_eval(s, tk->v[1].text, &addr));
	if (tk->n == 2) {
		s->asm_mode = true;
		s->asm_addr = addr;
		cmd_set_repeat(s, "");
		return 0;
	}
	if (tk->n == 3 && tk->v[2].type == CMD_TOK_BLOCK)
		return assemble_at(s, tk->v[2].text, &addr);
	char *code = cmd_join(tk, 2);
	int rc = assemble_at(s, code, &addr);
	free(code);
	return rc;
}

bool cmd_asm_line(struct cmd_session *s, const char *line, int *rc)
{
	if (!s->asm_mode)
		return false;
	const char *p = line;
	while (isspace((unsigned char)*p))
		p++;
	if (!*p || !s->t) {
		s->asm_mode = false;
		cmd_set_repeat(s, NULL);
		*rc = 0;
		return true;
	}
	*rc = assemble_at(s, p, &s->asm_addr);
	cmd_set_repeat(s, "");  /* an empty line ends the mode */
	return true;
}
