/*
** session.c: the command session: lifetime, dispatch through the command
** table, `.help`, completion, repeat-on-enter, output and the shared
** argument helpers (expression evaluation with symbols and registers).
*/
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd/internal.h"
#include "sym/sym.h"
#include "target/target.h"

const struct cmd_def cmd_table[] = {
#define CMD(id, name, aliases, repeat, syntax, help) \
	{name, aliases, repeat, syntax, help, cmd_do_##id},
#include "cmd/commands.def"
#undef CMD
};
const int cmd_table_len = (int)HD_ARRAY_SIZE(cmd_table);

static bool alias_has(const char *aliases, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = aliases; *p;) {
		const char *e = strchr(p, ' ');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == n && !strncasecmp(p, name, n))
			return true;
		if (!e)
			break;
		p = e + 1;
	}
	return false;
}

/* Command names are case-insensitive, as in HyperDbg. */
const struct cmd_def *cmd_find(const char *name)
{
	for (int i = 0; i < cmd_table_len; i++)
		if (!strcasecmp(cmd_table[i].name, name) || alias_has(cmd_table[i].aliases, name))
			return &cmd_table[i];
	return NULL;
}

/* ---- output ---- */

static void json_escape(struct hd_buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			hd_buf_printf(b, "\\%c", c);
		else if (c < 0x20)
			hd_buf_printf(b, "\\u%04x", c);
		else
			hd_buf_append(b, (const char *)&c, 1);
	}
}

/* Text goes out as printed: a script's printf without a newline leaves
 * the line open, and more output of the same source (the same `?` script,
 * or the event scripts of one `g`) continues it, as on HyperDbg's console.
 * An open line is ended (one '\n' on CMD_OUT) before an error, before
 * output of the other source, and when the command finishes
 * (cmd_out_end_line), so that the next prompt or line starts in column 1. */
static void emit(struct cmd_session *s, enum cmd_stream st, enum cmd_src src, const char *text)
{
	if (!s->sink.write || !*text)
		return;
	if (!s->sink.json) {
		if (s->open_line != CMD_SRC_NONE && (st == CMD_ERR || s->open_line != src))
			cmd_out_end_line(s);
		s->sink.write(s->sink.ud, st, text);
		if (st == CMD_OUT)
			s->open_line = text[strlen(text) - 1] == '\n' ? CMD_SRC_NONE : src;
		return;
	}
	struct hd_buf b = {0};
	for (const char *p = text; *p;) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (st == CMD_ERR && !strncmp(p, "error: ", 7)) {
			p += 7;
			n -= 7;
		}
		if (st == CMD_ERR)
			hd_buf_printf(&b, "{\"type\":\"error\",\"message\":\"");
		else
			hd_buf_printf(&b, "{\"type\":\"output\",\"text\":\"");
		json_escape(&b, p, n);
		hd_buf_printf(&b, "\"}\n");
		p += n + (e != NULL);
	}
	s->sink.write(s->sink.ud, st, hd_buf_str(&b));
	hd_buf_free(&b);
}

void cmd_out_end_line(struct cmd_session *s)
{
	if (s->open_line == CMD_SRC_NONE)
		return;
	s->open_line = CMD_SRC_NONE;
	if (s->sink.write && !s->sink.json)
		s->sink.write(s->sink.ud, CMD_OUT, "\n");
}

void cmd_out(struct cmd_session *s, const char *fmt, ...)
{
	struct hd_buf b = {0};
	va_list ap;
	va_start(ap, fmt);
	hd_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	emit(s, CMD_OUT, CMD_SRC_CMD, hd_buf_str(&b));
	hd_buf_free(&b);
}

void cmd_out_event(struct cmd_session *s, const char *text)
{
	emit(s, CMD_OUT, CMD_SRC_EVENT, text);
}

int cmd_err(struct cmd_session *s, int rc, const char *fmt, ...)
{
	struct hd_buf b = {0}, m = {0};
	va_list ap;
	va_start(ap, fmt);
	hd_buf_vprintf(&m, fmt, ap);
	va_end(ap);
	/* HyperDbg's own messages ("err, ...") are printed as HyperDbg prints them */
	if (strncmp(hd_buf_str(&m), "err, ", 5) != 0)
		hd_buf_printf(&b, "error: ");
	hd_buf_printf(&b, "%s\n", hd_buf_str(&m));
	hd_buf_free(&m);
	emit(s, CMD_ERR, CMD_SRC_CMD, hd_buf_str(&b));
	hd_buf_free(&b);
	return rc < 0 ? rc : -HD_E_PARSE;
}

/* ---- lifetime ---- */

int cmd_session_new(struct cmd_session **out, const struct cmd_sink *sink)
{
	struct cmd_session *s = hd_xcalloc(1, sizeof(*s));
	if (sink)
		s->sink = *sink;
	s->exit_status = -1;
	s->globals = script_globals_new();
	if (!s->globals || cmd_events_new(s) < 0) {
		script_globals_free(s->globals);
		free(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

static void free_argv(struct cmd_session *s)
{
	if (s->argv)
		for (char **p = s->argv; *p; p++)
			free(*p);
	free(s->argv);
	free(s->path);
	s->argv = NULL;
	s->path = NULL;
}

void cmd_session_free(struct cmd_session *s)
{
	if (!s)
		return;
	if (s->t) {
		cmd_events_release(s);
		if (s->attached)
			IGNORE(target_detach(s->t));
		else
			IGNORE(target_kill(s->t));
		s->t = NULL;
	}
	if (s->sym)
		sym_close(s->sym);
	cmd_events_free(s);
	for (int i = 0; i < CMD_MAX_BP; i++)
		free(s->bp[i].expr);
	script_globals_free(s->globals);
	free_argv(s);
	free(s->repeat);
	free(s);
}

bool cmd_quit_requested(const struct cmd_session *s)
{
	return s->quit;
}

int cmd_target_exit_status(const struct cmd_session *s)
{
	return s->exit_status;
}

void cmd_interrupt(struct cmd_session *s)
{
	s->interrupt = 1;
	if (s->t)
		target_interrupt(s->t);
}

/* ---- dispatch ---- */

void cmd_set_repeat(struct cmd_session *s, const char *line)
{
	free(s->repeat);
	s->repeat = line ? hd_xstrdup(line) : NULL;
}

const char *cmd_repeat_line(struct cmd_session *s)
{
	return s->repeat;
}

void cmd_complete(const char *prefix, void (*fn)(void *ud, const char *name), void *ud)
{
	size_t n = strlen(prefix);
	for (int i = 0; i < cmd_table_len; i++)
		if (!strncmp(cmd_table[i].name, prefix, n))
			fn(ud, cmd_table[i].name);
}

/* The text after the command word: the command is the first word of the
 * line once blanks and comments are skipped. */
static const char *after_command(const char *line, const char *name)
{
	const char *p = strstr(line, name);
	if (!p)
		return "";
	p += strlen(name);
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

int cmd_execute(struct cmd_session *s, const char *line)
{
	struct cmd_tokens tk;
	int rc = 0;

	s->interrupt = 0;
	if (cmd_asm_line(s, line, &rc))
		return rc;
	cmd_tokenize(line, &tk);
	if (tk.n == 0)
		goto out;
	if (tk.open_braces) {
		rc = cmd_err(s, -HD_E_PARSE, "unbalanced '{' in '%s'", line);
		goto out;
	}
	if (tk.open_quote) {
		rc = cmd_err(s, -HD_E_PARSE, "unterminated '\"' in '%s'", line);
		goto out;
	}
	/* "?1+2": the evaluate command glued to its expression */
	const char *name = tk.v[0].text;
	const struct cmd_def *d = tk.v[0].type == CMD_TOK_WORD ? cmd_find(name) : NULL;
	const char *rest;
	if (!d && name[0] == '?' && tk.v[0].type == CMD_TOK_WORD) {
		d = cmd_find("?");
		rest = strchr(line, '?') + 1;
	} else {
		rest = after_command(line, name);
	}
	if (!d && tk.v[0].type == CMD_TOK_WORD && cmd_is_event_command(name)) {
		cmd_set_repeat(s, NULL);
		rc = cmd_event_command(s, &tk);
		goto out;
	}
	if (!d) {
		cmd_set_repeat(s, NULL);
		rc = cmd_err(s, -HD_E_NOTFOUND, "unknown command '%s'", name);
		goto out;
	}
	struct cmd_args a = {&tk, line, rest};
	cmd_set_repeat(s, d->repeat ? line : NULL);
	rc = d->fn(s, &a);
	if (rc < 0 && d->repeat)
		cmd_set_repeat(s, NULL);
out:
	cmd_out_end_line(s);
	cmd_tokens_free(&tk);
	return rc;
}

/* ---- help ---- */

int cmd_do_help(struct cmd_session *s, const struct cmd_args *a)
{
	if (a->tk->n > 2)
		return cmd_err(s, -HD_E_PARSE, "too many arguments: '%s' (usage: .help [COMMAND])",
			       a->tk->v[2].text);
	if (a->tk->n == 2) {
		const struct cmd_def *d = cmd_find(a->tk->v[1].text);
		if (!d)
			return cmd_err(s, -HD_E_NOTFOUND, "no help for unknown command '%s'",
				       a->tk->v[1].text);
		cmd_out(s, "%s\n    %s\n", d->syntax, d->help);
		if (d->aliases[0])
			cmd_out(s, "    aliases: %s\n", d->aliases);
		if (d->repeat)
			cmd_out(s, "    an empty line repeats it\n");
		return 0;
	}
	for (int i = 0; i < cmd_table_len; i++)
		cmd_out(s, "%-36s %s\n", cmd_table[i].syntax, cmd_table[i].help);
	return 0;
}

/* ---- arguments ---- */

char *cmd_join(const struct cmd_tokens *tk, int from)
{
	struct hd_buf b = {0};
	for (int i = from; i < tk->n; i++) {
		if (i > from)
			hd_buf_append(&b, " ", 1);
		hd_buf_printf(&b, "%s", tk->v[i].text);
	}
	char *r = hd_xstrdup(hd_buf_str(&b));
	hd_buf_free(&b);
	return r;
}

int cmd_need_target(struct cmd_session *s)
{
	if (!s->t)
		return cmd_err(s, -HD_E_NOTARGET, "no target process (use .start PATH or .attach PID)");
	return 0;
}

int cmd_resolve(void *ud, const char *name, uint64_t *value)
{
	struct cmd_session *s = ud;
	if (!s->sym)
		return -HD_E_NOSYM;
	return sym_lookup(s->sym, name, value);
}

static bool looks_numeric(const char *t)
{
	if (!isdigit((unsigned char)t[0]))
		return false;
	for (const char *p = t; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '`')
			return false;
	return true;
}

/* A whole-token number with HyperDbg's rules: hex by default, 0x 0n 0y 0o
 * prefixes, backticks ignored. @return 1, 0 when `t` is not one, -1 when it
 * is one but does not fit in 64 bits. */
static int parse_number(const char *t, uint64_t *value)
{
	unsigned base = 16;
	uint64_t v = 0;
	int digits = 0;
	bool over = false;
	if (t[0] == '0' && t[1] && strchr("xnyo", t[1])) {
		base = t[1] == 'x' ? 16 : t[1] == 'n' ? 10 : t[1] == 'y' ? 2 : 8;
		t += 2;
	}
	for (; *t; t++) {
		unsigned d;
		if (*t == '`')
			continue;
		if (isdigit((unsigned char)*t))
			d = (unsigned)(*t - '0');
		else if (isxdigit((unsigned char)*t))
			d = (unsigned)(tolower((unsigned char)*t) - 'a' + 10);
		else
			return 0;
		if (d >= base)
			return 0;
		if (v > (UINT64_MAX - d) / base)
			over = true;
		v = v * base + d;
		digits++;
	}
	if (!digits)
		return 0;
	if (over)
		return -1;
	*value = v;
	return 1;
}

bool cmd_parse_number(const char *t, uint64_t *value)
{
	return parse_number(t, value) == 1;
}

/* Like HyperDbg's SymbolConvertNameOrExprToAddress: a number first (so a
 * hex word such as `add` is 0xadd), then a symbol name, then an
 * expression of the script language. */
int cmd_eval(struct cmd_session *s, const char *text, uint64_t *value)
{
	int num = parse_number(text, value);
	if (num > 0)
		return 0;
	if (num < 0)
		return cmd_err(s, -HD_E_RANGE, "bad number '%s': it does not fit in 64 bits", text);
	if (s->sym && sym_lookup(s->sym, text, value) == 0)
		return 0;
	struct script_env env;
	struct script_diag diag;
	memset(&diag, 0, sizeof(diag));
	cmd_script_env(s, &env);
	s->bad_read = false;
	int rc = script_eval_expr_globals(text, &env, cmd_resolve, s, s->globals, value, &diag);
	if (rc == 0)
		return 0;
	if (rc == -HD_E_RUNTIME && s->bad_read)
		return cmd_err(s, -HD_E_BADADDR, "cannot read memory at %016llx while evaluating '%s'",
			       (unsigned long long)s->bad_addr, text);
	if (rc == -HD_E_NOSYM) {
		if (!strpbrk(text, " +-*/%&|^~()<>=,@$"))
			return cmd_err(s, rc, "unknown symbol '%s'", text);
		return cmd_err(s, rc, "unknown symbol in '%s': %s", text,
			       diag.msg[0] ? diag.msg : "unresolved name");
	}
	if (rc == -HD_E_PARSE && looks_numeric(text))
		return cmd_err(s, rc, "bad number '%s'", text);
	if (rc == -HD_E_PARSE)
		return cmd_err(s, rc, "bad expression '%s' at column %d: %s", text, diag.col,
			       diag.msg[0] ? diag.msg : "syntax error");
	if (rc == -HD_E_BADADDR || rc == -EFAULT || rc == -EIO)
		return cmd_err(s, rc, "cannot read memory while evaluating '%s'", text);
	return cmd_err(s, rc, "cannot evaluate '%s': %s", text, diag.msg[0] ? diag.msg : hd_strerror(rc));
}
