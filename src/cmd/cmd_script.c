/*
** cmd_script.c: the script-engine commands: `? EXPR`, `? { SCRIPT }`,
** `print EXPR`, `.script FILE ARGS`, and the script environment of the
** stopped thread (registers, memory, pseudo-registers, output). Without a
** target it is HyperDbg's test mode: registers read 0, memory fails.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asm/asm.h"
#include "cmd/internal.h"
#include "event/event.h"
#include "target/target.h"

/* ---- the environment ---- */

static int env_reg_read(void *ud, int reg, uint64_t *val)
{
	struct cmd_session *s = ud;
	struct user_regs_struct r;
	const char *name = script_reg_name(reg);
	*val = 0;
	if (!s->t || !name)
		return 0;
	if (target_regs_get(s->t, target_thread_current(s->t), &r) < 0)
		return -HD_E_NOTHREAD;
	if (cmd_reg_get(&r, name, val) < 0)
		*val = 0; /* registers a user-mode thread does not have read 0 */
	return 0;
}

static int env_reg_write(void *ud, int reg, uint64_t val)
{
	struct cmd_session *s = ud;
	struct user_regs_struct r;
	const char *name = script_reg_name(reg);
	pid_t tid;
	if (!s->t || !name)
		return 0;
	tid = target_thread_current(s->t);
	TRY(target_regs_get(s->t, tid, &r));
	if (cmd_reg_put(&r, name, val) < 0)
		return 0; /* writes to other registers are ignored */
	return target_regs_set(s->t, tid, &r);
}

static int env_mem_read(void *ud, uint64_t addr, void *buf, size_t len)
{
	struct cmd_session *s = ud;
	int rc = s->t ? target_mem_read(s->t, addr, buf, len) : -HD_E_BADADDR;
	if (rc < 0 && !s->bad_read) { /* for the error of an address argument */
		s->bad_read = true;
		s->bad_addr = addr;
	}
	return rc;
}

static int env_mem_write(void *ud, uint64_t addr, const void *buf, size_t len)
{
	struct cmd_session *s = ud;
	if (!s->t)
		return -HD_E_BADADDR;
	return target_mem_write(s->t, addr, buf, len);
}

/* With a target: the stopped current thread's; without, hdbg's own
 * ($pid $tid $pname $core, as HyperDbg's test mode gives its host values;
 * $date and $time are 0 there, as in HyperDbg's test mode). */
static int env_pseudo_read(void *ud, int id, uint64_t *val)
{
	struct cmd_session *s = ud;
	struct user_regs_struct r;
	uint32_t cpu;
	*val = 0;
	switch (id) {
	case 0: /* $pid */
		*val = s->t ? (uint64_t)target_pid(s->t) : (uint64_t)getpid();
		break;
	case 1: /* $tid */
		*val = s->t ? (uint64_t)target_thread_current(s->t) : (uint64_t)gettid();
		break;
	case 3: /* $core */
		if (event_thread_cpu(s->t ? target_pid(s->t) : 0,
				     s->t ? target_thread_current(s->t) : gettid(), &cpu) == 0)
			*val = cpu;
		break;
	case 8: /* $ip */
		if (s->t && target_regs_get(s->t, target_thread_current(s->t), &r) == 0)
			*val = r.rip;
		break;
	default:
		/* $buffer $context $event_tag $event_id $event_stage */
		IGNORE(cmd_events_pseudo(s, id, val));
		break;
	}
	return 0;
}

/* $pname $date $time (the VM keeps the text in the run's own storage) */
static int env_pseudo_text(void *ud, int id, char *buf, size_t cap)
{
	struct cmd_session *s = ud;
	if (!s->t && id != 2)
		return -HD_E_NOTARGET;
	return event_pseudo_text(s->t ? target_pid(s->t) : 0, id, buf, cap);
}

/* A text longer than HyperDbg's 4096-byte packet, or a `%s` that is not
 * readable (the script's own storage, then the target), fails the run
 * (nothing of it is printed). */
static int env_output(void *ud, const char *fmt, const uint64_t *args, int nargs,
		      const struct script_mem *mem)
{
	struct cmd_session *s = ud;
	char out[4096];
	int rc = script_format(fmt, args, nargs, mem, out, sizeof(out));
	if (rc < 0)
		return rc;
	cmd_out(s, "%s", out);
	return 0;
}

static int env_insn_len(void *ud, uint64_t addr, int bits, uint64_t *len)
{
	struct cmd_session *s = ud;
	uint8_t code[16];
	size_t n = sizeof(code);
	*len = 0;
	if (!s->t || bits != 64)
		return -HD_E_UNSUPPORTED;
	while (n && target_mem_read(s->t, addr, code, n) < 0)
		n--;
	int l = n ? asm_insn_length(code, n) : -HD_E_BADADDR;
	if (l < 0)
		return l;
	*len = (uint64_t)l;
	return 0;
}

void cmd_script_env(struct cmd_session *s, struct script_env *env)
{
	memset(env, 0, sizeof(*env));
	env->ud = s;
	env->reg_read = env_reg_read;
	env->reg_write = env_reg_write;
	env->mem_read = env_mem_read;
	env->mem_write = env_mem_write;
	env->pseudo_read = env_pseudo_read;
	env->pseudo_text = env_pseudo_text;
	env->output = env_output;
	env->event_ctl = cmd_events_ctl;
	env->insn_len = env_insn_len;
	env->interrupt = &s->interrupt;
}

/* ---- ? and print ---- */

static int run_script(struct cmd_session *s, const char *src)
{
	struct script_compile_opts o = {
		.sz = sizeof(o), .resolve = cmd_resolve, .resolve_ud = s, .globals = s->globals,
	};
	struct script_diag diag;
	struct script_prog *p = NULL;
	struct script_env env;
	char err[256] = "";
	memset(&diag, 0, sizeof(diag));
	int rc = script_compile(src, &o, &p, &diag);
	if (rc < 0) {
		if (rc == -HD_E_NOSYM)
			return cmd_err(s, rc, "unknown symbol in script: %s", diag.msg);
		struct hd_buf b = {0};
		script_diag_render(&diag, &b);
		rc = cmd_err(s, rc, "%s", hd_buf_str(&b));
		hd_buf_free(&b);
		return rc;
	}
	cmd_script_env(s, &env);
	rc = script_run(p, &env, s->globals, err, sizeof(err));
	script_prog_free(p);
	if (rc < 0)
		return cmd_err(s, rc, "%s", err[0] ? err : hd_strerror(rc));
	return 0;
}

/* A bare expression (no statement separator, assignment or block). */
static bool is_bare_expr(const char *t)
{
	for (const char *p = t; *p; p++) {
		if (*p == ';' || *p == '{' || *p == '}')
			return false;
		if (*p == '=' && p[1] != '=' && (p == t || !strchr("=!<>", p[-1])))
			return false;
	}
	return true;
}

int cmd_do_eval(struct cmd_session *s, const struct cmd_args *a)
{
	const char *rest = a->rest;
	uint64_t v;
	if (a->tk->n == 2 && a->tk->v[1].type == CMD_TOK_BLOCK)
		return run_script(s, a->tk->v[1].text);
	while (*rest == ' ')
		rest++;
	if (!*rest)
		return cmd_err(s, -HD_E_PARSE, "missing expression after '?'");
	if (!is_bare_expr(rest))
		return run_script(s, rest);
	TRY(cmd_eval(s, rest, &v));
	cmd_out(s, "Evaluate expression: %lld = %016llx\n", (long long)v, (unsigned long long)v);
	return 0;
}

int cmd_do_print(struct cmd_session *s, const struct cmd_args *a)
{
	struct hd_buf b = {0};
	if (!*a->rest)
		return cmd_err(s, -HD_E_PARSE, "missing expression after 'print'");
	hd_buf_printf(&b, "print(%s);", a->rest);
	int rc = run_script(s, hd_buf_str(&b));
	hd_buf_free(&b);
	return rc;
}

/* ---- .script ---- */

/* Replace every "$argN" textually, N = 0, 1, 2... in increasing order
 * (so "$arg1" also rewrites the start of "$arg10", as HyperDbg does). */
static char *substitute_args(const char *line, int argc, char *const *argv)
{
	char *cur = hd_xstrdup(line);
	for (int n = 0; n < argc; n++) {
		char key[32];
		snprintf(key, sizeof(key), "$arg%d", n);
		struct hd_buf b = {0};
		const char *p = cur, *hit;
		while ((hit = strstr(p, key))) {
			hd_buf_append(&b, p, (size_t)(hit - p));
			hd_buf_printf(&b, "%s", argv[n]);
			p = hit + strlen(key);
		}
		hd_buf_printf(&b, "%s", p);
		free(cur);
		cur = hd_xstrdup(hd_buf_str(&b));
		hd_buf_free(&b);
	}
	return cur;
}

int cmd_do_script(struct cmd_session *s, const struct cmd_args *a)
{
	if (a->tk->n < 2)
		return cmd_err(s, -HD_E_PARSE, "missing file name (usage: .script FILE [ARGS...])");
	if (s->script_depth >= 16)
		return cmd_err(s, -HD_E_LIMIT, ".script nested too deeply at '%s'", a->tk->v[1].text);
	const char *path = a->tk->v[1].text;
	FILE *f = fopen(path, "r");
	if (!f)
		return cmd_err(s, -errno, "cannot open script '%s': %s", path, strerror(errno));
	int argc = a->tk->n - 1;
	char **argv = hd_xcalloc((size_t)argc, sizeof(char *));
	for (int i = 0; i < argc; i++)
		argv[i] = a->tk->v[i + 1].text;

	struct hd_buf cmd = {0};
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;
	s->script_depth++;
	while ((n = getline(&line, &cap, f)) >= 0 && !s->quit) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (cmd.len)
			hd_buf_append(&cmd, "\n", 1);
		hd_buf_append(&cmd, line, (size_t)n);
		if (cmd_needs_more(hd_buf_str(&cmd)))
			continue;
		char *text = substitute_args(hd_buf_str(&cmd), argc, argv);
		hd_buf_reset(&cmd);
		if (cmd_execute(s, text) < 0)
			rc = -HD_E_RUNTIME;
		free(text);
	}
	if (cmd.len && !s->quit) {
		char *text = substitute_args(hd_buf_str(&cmd), argc, argv);
		if (cmd_execute(s, text) < 0)
			rc = -HD_E_RUNTIME;
		free(text);
	}
	s->script_depth--;
	cmd_set_repeat(s, NULL);
	hd_buf_free(&cmd);
	free(line);
	free(argv);
	fclose(f);
	return rc;
}
