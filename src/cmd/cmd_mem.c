/*
** cmd_mem.c: memory commands: display (db dw dd dq dc, WinDbg layout),
** edit (eb ew ed eq) and search (s). Reads show the original bytes under
** breakpoints (target_mem_read does); an edit writes all or nothing.
*/
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/internal.h"
#include "target/target.h"

static void ascii(struct hd_buf *b, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		hd_buf_printf(b, "%c", isprint(p[i]) ? p[i] : '.');
}

/* One display line of `n` bytes at `addr` in units of `unit` bytes. */
static void dump_line(struct cmd_session *s, uint64_t addr, const uint8_t *p, size_t n,
		      int unit, bool chars)
{
	struct hd_buf b = {0};
	hd_buf_printf(&b, "%016llx ", (unsigned long long)addr);
	if (unit == 1) {
		for (size_t i = 0; i < 16; i++) {
			if (i < n)
				hd_buf_printf(&b, "%c%02x", i == 8 ? '-' : ' ', p[i]);
			else if (chars)
				hd_buf_printf(&b, "   ");
		}
	} else {
		for (size_t i = 0; i < 16; i += (size_t)unit) {
			uint64_t v = 0;
			if (i >= n) {
				if (chars) /* keep the characters column aligned */
					hd_buf_printf(&b, " %*s", unit * 2, "");
				continue;
			}
			memcpy(&v, p + i, (size_t)unit);
			hd_buf_printf(&b, " %0*llx", unit * 2, (unsigned long long)v);
		}
	}
	if (chars) {
		hd_buf_printf(&b, "  ");
		ascii(&b, p, n);
	}
	cmd_out(s, "%s\n", hd_buf_str(&b));
	hd_buf_free(&b);
}

static int display(struct cmd_session *s, const struct cmd_args *a, int unit, bool chars)
{
	uint64_t addr = 0, count = 0x80 / (uint64_t)unit;
	bool have;
	struct user_regs_struct r;
	const char *cmd = a->tk->v[0].text;
	TRY(cmd_parse_range(s, a, &addr, &have, &count));
	TRY(cmd_need_target(s));
	if (!have) {
		TRY(cmd_cur_regs(s, &r));
		addr = r.rsp;
	}
	size_t len = (size_t)count * (size_t)unit;
	uint8_t *buf = hd_xmalloc(len);
	int rc = target_mem_read(s->t, addr, buf, len);
	if (rc < 0) {
		free(buf);
		return cmd_err(s, rc, "cannot read %zu bytes at '%s' (%016llx): %s", len,
			       have ? a->tk->v[1].text : "@rsp", (unsigned long long)addr,
			       hd_strerror(rc));
	}
	for (size_t off = 0; off < len; off += 16)
		dump_line(s, addr + off, buf + off, len - off < 16 ? len - off : 16, unit, chars);
	free(buf);
	char next[96];
	snprintf(next, sizeof(next), "%s %llx l %llx", cmd, (unsigned long long)(addr + len),
		 (unsigned long long)count);
	cmd_set_repeat(s, next);
	return 0;
}

int cmd_do_db(struct cmd_session *s, const struct cmd_args *a) { return display(s, a, 1, true); }
int cmd_do_dw(struct cmd_session *s, const struct cmd_args *a) { return display(s, a, 2, false); }
int cmd_do_dd(struct cmd_session *s, const struct cmd_args *a) { return display(s, a, 4, false); }
int cmd_do_dq(struct cmd_session *s, const struct cmd_args *a) { return display(s, a, 8, false); }
int cmd_do_dc(struct cmd_session *s, const struct cmd_args *a) { return display(s, a, 4, true); }

/* Evaluate values tk[from..] into `out` as little-endian units. */
static int eval_values(struct cmd_session *s, const struct cmd_tokens *tk, int from, int unit,
		       uint8_t *out)
{
	for (int i = from; i < tk->n; i++) {
		uint64_t v;
		TRY(cmd_eval(s, tk->v[i].text, &v));
		if (unit < 8 && v >> (unit * 8))
			return cmd_err(s, -HD_E_RANGE, "value '%s' does not fit in %d byte%s",
				       tk->v[i].text, unit, unit > 1 ? "s" : "");
		memcpy(out + (size_t)(i - from) * (size_t)unit, &v, (size_t)unit);
	}
	return 0;
}

static int edit(struct cmd_session *s, const struct cmd_args *a, int unit)
{
	const struct cmd_tokens *tk = a->tk;
	uint64_t addr;
	if (tk->n < 3)
		return cmd_err(s, -HD_E_PARSE, "%s (usage: %s ADDR V1 [V2...])",
			       tk->n < 2 ? "missing address" : "missing value", tk->v[0].text);
	TRY(cmd_eval(s, tk->v[1].text, &addr));
	size_t len = (size_t)(tk->n - 2) * (size_t)unit;
	uint8_t *buf = hd_xmalloc(len);
	int rc = eval_values(s, tk, 2, unit, buf);
	if (rc == 0)
		rc = cmd_need_target(s);
	if (rc == 0) {
		rc = target_mem_write(s->t, addr, buf, len);
		if (rc < 0)
			rc = cmd_err(s, rc, "cannot write %zu bytes at '%s' (%016llx): %s", len,
				     tk->v[1].text, (unsigned long long)addr, hd_strerror(rc));
	}
	free(buf);
	return rc;
}

int cmd_do_eb(struct cmd_session *s, const struct cmd_args *a) { return edit(s, a, 1); }
int cmd_do_ew(struct cmd_session *s, const struct cmd_args *a) { return edit(s, a, 2); }
int cmd_do_ed(struct cmd_session *s, const struct cmd_args *a) { return edit(s, a, 4); }
int cmd_do_eq(struct cmd_session *s, const struct cmd_args *a) { return edit(s, a, 8); }

/* s -b|-w|-d|-q ADDR l LEN V1 [V2...]: LEN is in bytes. */
int cmd_do_s(struct cmd_session *s, const struct cmd_args *a)
{
	const struct cmd_tokens *tk = a->tk;
	static const char *const opts[] = {"-b", "-w", "-d", "-q"};
	int unit = 0;
	uint64_t addr, len;
	if (tk->n < 2)
		return cmd_err(s, -HD_E_PARSE, "missing arguments (usage: s -b|-w|-d|-q ADDR l LEN PATTERN)");
	for (int i = 0; i < 4; i++)
		if (!strcmp(tk->v[1].text, opts[i]))
			unit = 1 << i;
	if (!unit)
		return cmd_err(s, -HD_E_PARSE, "unknown search type '%s' (expected -b, -w, -d or -q)",
			       tk->v[1].text);
	if (tk->n < 6)
		return cmd_err(s, -HD_E_PARSE, "missing arguments (usage: s %s ADDR l LEN PATTERN)",
			       tk->v[1].text);
	if (strcmp(tk->v[3].text, "l") && strcmp(tk->v[3].text, "L"))
		return cmd_err(s, -HD_E_PARSE, "expected 'l LEN' at '%s'", tk->v[3].text);
	TRY(cmd_eval(s, tk->v[2].text, &addr));
	TRY(cmd_eval(s, tk->v[4].text, &len));
	if (len == 0 || len > 0x4000000)
		return cmd_err(s, -HD_E_RANGE, "length '%s' out of range (1..0x4000000)", tk->v[4].text);
	size_t plen = (size_t)(tk->n - 5) * (size_t)unit;
	uint8_t *pat = hd_xmalloc(plen);
	int rc = eval_values(s, tk, 5, unit, pat);
	if (rc == 0)
		rc = cmd_need_target(s);
	uint8_t *buf = NULL;
	if (rc == 0) {
		buf = hd_xmalloc((size_t)len);
		rc = target_mem_read(s->t, addr, buf, (size_t)len);
		if (rc < 0)
			rc = cmd_err(s, rc, "cannot read 0x%llx bytes at '%s' (%016llx): %s",
				     (unsigned long long)len, tk->v[2].text, (unsigned long long)addr,
				     hd_strerror(rc));
	}
	for (size_t off = 0; rc == 0 && off + plen <= len; off++) {
		if (memcmp(buf + off, pat, plen))
			continue;
		size_t n = len - off < 16 ? (size_t)len - off : 16;
		dump_line(s, addr + off, buf + off, n, 1, true);
	}
	free(buf);
	free(pat);
	return rc;
}
