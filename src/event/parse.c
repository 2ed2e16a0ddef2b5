/*
** parse.c: event commands: HyperDbg's generic event options
** (InterpretGeneralEventAndActionsFields), hex and assembly blocks, script
** blocks, then the kind's own parameters; the event is added only when
** everything is valid, loaded and armed.
**
** Departures from HyperDbg v0.23, all towards "one clear error, nothing
** changed": a bad hex block, an assembly error or a keyword without its
** block rejects the command (v0.23 silently drops the block), an id is
** taken only by an event that is added, and whitespace inside a hex block
** is ignored (the docs' `{90 90 90}`).
*/
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "asm/asm.h"
#include "event/internal.h"

/* ---- numbers and hex blocks ---- */

bool event_parse_u64(const char *s, uint64_t *v)
{
	unsigned base = 16;
	uint64_t r = 0;
	int digits = 0;
	if (!s || !*s)
		return false;
	if ((s[0] == '0' && s[1] && strchr("xXnNyYoO", s[1])) || (s[0] == '\\' && s[1])) {
		char c = (char)tolower((unsigned char)s[1]);
		base = c == 'x' ? 16 : c == 'n' ? 10 : c == 'y' ? 2 : c == 'o' ? 8 : 0;
		if (!base)
			return false;
		s += 2;
	} else if (s[0] == 'x' || s[0] == 'X' || s[0] == 'n' || s[0] == 'N') {
		base = (s[0] == 'n' || s[0] == 'N') ? 10 : 16;
		s++;
	}
	for (; *s; s++) {
		unsigned d;
		if (*s == '`')
			continue;
		if (isdigit((unsigned char)*s))
			d = (unsigned)(*s - '0');
		else if (isxdigit((unsigned char)*s))
			d = (unsigned)(tolower((unsigned char)*s) - 'a' + 10);
		else
			return false;
		if (d >= base || r > (UINT64_MAX - d) / base)
			return false;
		r = r * base + d;
		digits++;
	}
	if (!digits)
		return false;
	*v = r;
	return true;
}

bool event_parse_u32(const char *s, uint32_t *v)
{
	uint64_t r;
	if (!event_parse_u64(s, &r) || r > UINT32_MAX)
		return false;
	*v = (uint32_t)r;
	return true;
}

static bool starts_with(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

int event_hex_block(const char *text, uint8_t **bytes, size_t *len)
{
	struct hd_buf b = {0};
	int rc = 0;

	for (const char *p = text; *p; p++)
		if (!isspace((unsigned char)*p))
			hd_buf_append(&b, p, 1);
	hd_buf_append(&b, "c3", 2);
	const char *s = hd_buf_str(&b);
	if (starts_with(s, "0x") || starts_with(s, "0X") || starts_with(s, "\\x") ||
	    starts_with(s, "\\X"))
		s += 2;
	else if (*s == 'x' || *s == 'X')
		s++;
	/* every "\x" goes; an odd digit count gets a leading 0 */
	struct hd_buf h = {0};
	for (; *s; s++) {
		if (s[0] == '\\' && s[1] == 'x') {
			s++;
			continue;
		}
		hd_buf_append(&h, s, 1);
	}
	if (h.len % 2) {
		struct hd_buf t = {0};
		hd_buf_printf(&t, "0%s", hd_buf_str(&h));
		hd_buf_free(&h);
		h = t;
	}
	const char *hx = hd_buf_str(&h);
	uint8_t *out = hd_xmalloc(h.len / 2 + 1);
	for (size_t i = 0; i < h.len; i += 2) {
		if (!isxdigit((unsigned char)hx[i]) || !isxdigit((unsigned char)hx[i + 1])) {
			free(out);
			rc = -HD_E_PARSE;
			goto out;
		}
		char two[3] = {hx[i], hx[i + 1], 0};
		out[i / 2] = (uint8_t)strtoul(two, NULL, 16);
	}
	*bytes = out;
	*len = h.len / 2;
out:
	hd_buf_free(&b);
	hd_buf_free(&h);
	return rc;
}

/* ---- the generic options ---- */

enum opt { OPT_PID, OPT_CORE, OPT_IMM, OPT_STAGE, OPT_SC, OPT_BUFFER, OPT_NONE };
static const char *const opt_names[] = {"pid", "core", "imm", "stage", "sc", "buffer"};

/* What the generic options gave, before the event exists. */
struct generic {
	const char *cond, *code, *script, *output; /* block texts */
	bool is_asm;
	bool sc, imm, have_stage;
	enum event_stage stage;
	uint32_t pid, core, buffer;
	bool *used;   /* per token: taken by a generic option */
};

static int err(struct hd_buf *out, int rc, const char *fmt, ...) HD_PRINTF(3, 4);
static int err(struct hd_buf *out, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	hd_buf_vprintf(out, fmt, ap);
	va_end(ap);
	hd_buf_append(out, "\n", 1);
	return rc;
}

static int opt_value(struct generic *g, enum opt o, const char *v, struct hd_buf *out)
{
	switch (o) {
	case OPT_PID:
		if (!strcasecmp(v, "all"))
			g->pid = EVENT_ALL;
		else if (!event_parse_u32(v, &g->pid))
			return err(out, -HD_E_PARSE, "err, pid is invalid");
		return 0;
	case OPT_CORE:
		if (!event_parse_u32(v, &g->core))
			return err(out, -HD_E_PARSE, "err, core id is invalid");
		return 0;
	case OPT_IMM:
		if (!strcasecmp(v, "yes") || !strcasecmp(v, "no")) {
			g->imm = !strcasecmp(v, "yes");
			return 0;
		}
		return err(out, -HD_E_PARSE, "err, immediate messaging token is invalid");
	case OPT_STAGE:
		g->have_stage = true;
		if (!strcasecmp(v, "pre"))
			g->stage = EVENT_STAGE_PRE;
		else if (!strcasecmp(v, "post"))
			g->stage = EVENT_STAGE_POST;
		else if (!strcasecmp(v, "all"))
			g->stage = EVENT_STAGE_ALL;
		else
			return err(out, -HD_E_PARSE, "err, the specified execution mode is invalid; "
				   "you can either choose 'pre' or 'post'");
		return 0;
	case OPT_SC:
		if (!strcasecmp(v, "on") || !strcasecmp(v, "off")) {
			g->sc = !strcasecmp(v, "on");
			return 0;
		}
		return err(out, -HD_E_PARSE, "err, the specified short-circuiting state is invalid; "
			   "you can either choose 'on' or 'off'");
	case OPT_BUFFER:
		if (!event_parse_u32(v, &g->buffer))
			return err(out, -HD_E_PARSE, "err, buffer size is invalid");
		return 0;
	default:
		return 0;
	}
}

/* Blocks: `condition {}`, `code {}`, `script {}`, `output {}`; `asm`. */
static int take_block(const struct event_token *tk, int n, int i, bool *used, const char **dst,
		      struct hd_buf *out)
{
	if (i + 1 >= n || tk[i + 1].type != EVENT_TOK_BLOCK)
		return err(out, -HD_E_PARSE, "err, please specify a value for '%s' ({ ... })",
			   tk[i].text);
	used[i] = used[i + 1] = true;
	*dst = tk[i + 1].text;
	return 0;
}

static int parse_generic(const struct event_token *tk, int n, struct generic *g,
			 struct hd_buf *out)
{
	for (int i = 1; i < n; i++) {
		const char *w = tk[i].text;
		if (tk[i].type != EVENT_TOK_WORD)
			continue;
		if (!strcasecmp(w, "asm")) {
			g->is_asm = true;
			g->used[i] = true;
		} else if (!strcasecmp(w, "condition")) {
			TRY(take_block(tk, n, i, g->used, &g->cond, out));
			i++;
		} else if (!strcasecmp(w, "code")) {
			TRY(take_block(tk, n, i, g->used, &g->code, out));
			i++;
		} else if (!strcasecmp(w, "script")) {
			TRY(take_block(tk, n, i, g->used, &g->script, out));
			i++;
		} else if (!strcasecmp(w, "output")) {
			TRY(take_block(tk, n, i, g->used, &g->output, out));
			i++;
		}
	}
	for (int i = 1; i < n; i++) {
		enum opt o = OPT_NONE;
		if (g->used[i] || tk[i].type != EVENT_TOK_WORD)
			continue;
		for (int k = 0; k < OPT_NONE; k++)
			if (!strcasecmp(tk[i].text, opt_names[k]))
				o = (enum opt)k;
		if (o == OPT_NONE)
			continue;
		if (i + 1 >= n || g->used[i + 1])
			return err(out, -HD_E_PARSE, "err, please specify a value for '%s'",
				   opt_names[o]);
		TRY(opt_value(g, o, tk[i + 1].text, out));
		g->used[i] = g->used[i + 1] = true;
		i++;
	}
	return 0;
}

/* `output {a, b}`: no output source can exist yet (no `output` command). */
static int check_output(const struct generic *g, struct hd_buf *out)
{
	int count = 0;
	const char *p = g->output;
	while (p && *p) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		for (size_t k = 0; k < len; k++)
			if (!isspace((unsigned char)p[k])) {
				count++;
				break;
			}
		p = e ? e + 1 : NULL;
	}
	if (count == 0)
		return err(out, -HD_E_PARSE, "err, no input found");
	if (count > EVENT_MAX_OUTPUTS)
		return err(out, -HD_E_LIMIT, "err, based on this build of HyperDbg, the maximum input "
			   "sources for a single event is 0x%x sources but you entered 0x%x sources",
			   EVENT_MAX_OUTPUTS, count);
	return err(out, -HD_E_NOTFOUND, "err, the name you entered, not found. Did you use "
		   "'output' command to create it?");
}

/* ---- blocks ---- */

static int asm_resolve(void *ud, const char *name, uint64_t *value)
{
	const struct event_host *h = ud;
	if (!h->resolve)
		return -HD_E_NOSYM;
	return h->resolve(h->resolve_ud, name, value);
}

static int parse_block(struct event_table *tab, const char *text, bool is_asm, bool is_cond,
		       struct event_block *b, struct hd_buf *out)
{
	b->present = true;
	b->is_asm = is_asm;
	if (!is_asm) {
		if (event_hex_block(text, &b->bytes, &b->len) < 0)
			return err(out, -HD_E_PARSE, "please enter condition code in a hex notation");
		return 0;
	}
	/* assembled now to report errors; again at its load address later */
	struct hd_buf src = {0};
	struct asm_error ae;
	uint8_t tmp[4096];
	size_t len = sizeof(tmp);
	hd_buf_printf(&src, "%s\nret", text); /* a line of its own: after a comment too */
	memset(&ae, 0, sizeof(ae));
	int rc = asm_assemble(hd_buf_str(&src), 0, asm_resolve, &tab->host, tmp, &len, &ae);
	if (rc == -HD_E_RANGE && ae.addr_dependent) {
		/* e.g. a rel32 to a symbol out of reach of address 0: checked
		 * again at the block's load address, before the event is added */
		len = sizeof(tmp);
		rc = 0;
	}
	if (rc < 0) {
		/* the caret line is drawn from the text as written, without the
		 * appended `ret` */
		char caret[512];
		size_t n = asm_error_render(text, &ae, caret, sizeof(caret));
		hd_buf_free(&src);
		return err(out, rc, "err, assemble error in the %s at line %d column %d: %s%s%s",
			   is_cond ? "condition" : "code", ae.line, ae.col,
			   ae.msg[0] ? ae.msg : hd_strerror(rc), n ? "\n" : "", caret);
	}
	b->text = hd_xstrdup(hd_buf_str(&src));
	b->len = len;
	hd_buf_free(&src);
	return 0;
}

/* A script file: a regular file of at most 1 MiB (never a device or a
 * FIFO that would block). */
static char *read_file(const char *path)
{
	struct stat sb;
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	if (fstat(fileno(f), &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size > (1 << 20)) {
		fclose(f);
		return NULL;
	}
	char *r = hd_xcalloc(1, (size_t)sb.st_size + 1);
	size_t n = fread(r, 1, (size_t)sb.st_size, f);
	r[n] = '\0';
	fclose(f);
	return r;
}

static int parse_script(struct event_table *tab, const char *text, struct event *e,
			struct hd_buf *out)
{
	char *file = NULL;
	if (starts_with(text, "file:")) {
		file = read_file(text + 5);
		if (!file || !*file) {
			free(file);
			return err(out, -HD_E_NOTFOUND,
				   "err, either script file is not found or it's empty");
		}
		text = file;
	}
	struct script_compile_opts o = {
		.sz = sizeof(o), .resolve = tab->host.resolve, .resolve_ud = tab->host.resolve_ud,
		.globals = tab->host.globals,
	};
	struct script_diag d;
	memset(&d, 0, sizeof(d));
	int rc = script_compile(text, &o, &e->script, &d);
	free(file);
	if (rc < 0) {
		e->script = NULL;
		if (rc == -HD_E_NOSYM)
			return err(out, rc, "err, unknown symbol in the script: %s", d.msg);
		struct hd_buf b = {0};
		script_diag_render(&d, &b);
		rc = err(out, rc, "err, %s", hd_buf_str(&b));
		hd_buf_free(&b);
		return rc;
	}
	return 0;
}

/* HyperDbg's command string: every token followed by a space; blocks keep
 * their braces, strings their quotes. */
static char *command_string(const struct event_token *tk, int n)
{
	struct hd_buf b = {0};
	for (int i = 0; i < n; i++) {
		if (tk[i].type == EVENT_TOK_BLOCK)
			hd_buf_printf(&b, "{%s} ", tk[i].text);
		else if (tk[i].type == EVENT_TOK_STRING)
			hd_buf_printf(&b, "\"%s\" ", tk[i].text);
		else
			hd_buf_printf(&b, "%s ", tk[i].text);
	}
	char *r = hd_xstrdup(hd_buf_str(&b));
	hd_buf_free(&b);
	return r;
}

void event_free(struct event *e)
{
	if (!e)
		return;
	const struct event_kind_info *ki = event_kind_info(e->kind);
	if (ki->ops && ki->ops->free)
		ki->ops->free(e);
	free(e->cond.bytes);
	free(e->cond.text);
	free(e->code.bytes);
	free(e->code.text);
	script_prog_free(e->script);
	free(e->command);
	free(e);
}

/* The stage and sc rules once all options are known. */
static int check_stage_sc(const struct event_kind_info *ki, const struct generic *g,
			  enum event_kind k, struct hd_buf *out)
{
	if (g->sc && g->stage != EVENT_STAGE_PRE)
		return err(out, -HD_E_PARSE, "err, using the short-circuiting mechanism with 'post' or "
			   "'all' stage events doesn't make sense; it's not supported!");
	if (g->stage != EVENT_STAGE_PRE && !ki->stages) {
		if (k == EVENT_KIND_EPTHOOK || k == EVENT_KIND_EPTHOOK2)
			return err(out, -HD_E_PARSE, "the utilization of 'post' or 'all' event calling "
				   "stages is not meaningful for the hidden hook; therefore, this "
				   "command does not support them");
		return err(out, -HD_E_PARSE, "the utilization of 'post' or 'all' event calling stages "
			   "is not meaningful for '%s'; therefore, this command does not support them",
			   ki->command);
	}
	if (g->sc && !ki->sc)
		return err(out, -HD_E_PARSE, "err, short-circuiting is not supported by '%s'%s",
			   ki->command, k == EVENT_KIND_EPTHOOK || k == EVENT_KIND_EPTHOOK2 ?
			   " (change @rip in a script instead)" : "");
	return 0;
}

/* Options, blocks and the kind's parameters into `e` (not yet added). */
static int build_event(struct event_table *tab, const struct event_token *tk, int n,
		       const struct script_env *eval_env, struct event *e, struct hd_buf *out)
{
	const struct event_kind_info *ki = event_kind_info(e->kind);
	struct generic g = {.imm = true, .stage = EVENT_STAGE_PRE, .pid = EVENT_ALL,
			    .core = EVENT_ALL};
	struct event_token *rest = NULL;
	int rc, nrest = 0;

	g.used = hd_xcalloc((size_t)n, sizeof(bool));
	CHECK(parse_generic(tk, n, &g, out));
	if (g.output)
		CHECK(check_output(&g, out));
	CHECK(check_stage_sc(ki, &g, e->kind, out));
	if (g.cond)
		CHECK(parse_block(tab, g.cond, g.is_asm, true, &e->cond, out));
	if (g.code)
		CHECK(parse_block(tab, g.code, g.is_asm, false, &e->code, out));
	if (g.script)
		CHECK(parse_script(tab, g.script, e, out));
	e->pid = g.pid;
	e->core = g.core;
	e->imm = g.imm;
	e->sc = g.sc;
	e->stage = g.stage;
	e->buffer = g.buffer;

	rest = hd_xcalloc((size_t)n, sizeof(*rest));
	for (int i = 0; i < n; i++)
		if (i == 0 || !g.used[i])
			rest[nrest++] = tk[i];
	struct event_parse p = {tab, rest, nrest, n, eval_env, out};
	if (ki->ops->parse)
		CHECK(ki->ops->parse(&p, e));
	else if (nrest > 1)
		CHECK(err(out, -HD_E_PARSE, "unknown parameter '%s'", rest[1].text));
	e->command = command_string(tk, n);
	rc = 0;
out:
	free(rest);
	free(g.used);
	return rc;
}

int event_command(struct event_table *tab, const struct event_token *tk, int n, pid_t tid,
		  const struct script_env *eval_env, struct hd_buf *out)
{
	if (n < 1)
		return err(out, -HD_E_PARSE, "err, empty event command");
	int k = event_kind_find(tk[0].text);
	if (k < 0)
		return err(out, -HD_E_NOTFOUND, "err, '%s' is not an event command", tk[0].text);
	const struct event_kind_info *ki = event_kind_info((enum event_kind)k);
	if (ki->why)
		return err(out, -HD_E_UNSUPPORTED, "%s does not apply to a user-mode target: %s",
			   ki->command, ki->why);
	if (!ki->impl || !ki->ops)
		return err(out, -HD_E_UNSUPPORTED, "err, '%s' is not implemented yet in hdbg",
			   ki->command);

	struct event *e = hd_xcalloc(1, sizeof(*e));
	e->kind = (enum event_kind)k;
	e->enabled = true;
	int rc = build_event(tab, tk, n, eval_env, e, out);
	if (rc < 0) {
		event_free(e);
		return rc;
	}
	e->id = tab->next_id;
	if (tab->t) {
		rc = event_load_arm(tab, e, tid, out);
		if (rc < 0) {
			event_free(e);
			return rc;
		}
	}
	if (tab->n == tab->cap) {
		tab->cap = tab->cap ? tab->cap * 2 : 16;
		tab->v = hd_xrealloc(tab->v, (size_t)tab->cap * sizeof(*tab->v));
	}
	tab->v[tab->n++] = e;
	tab->next_id++;
	return 0;
}
