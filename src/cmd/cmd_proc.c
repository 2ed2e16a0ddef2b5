/*
** cmd_proc.c: process control: .start, .restart, .attach, .detach, .kill,
** .thread, .process and q, with cmd_start/cmd_attach for the front end.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/internal.h"
#include "sym/sym.h"
#include "target/target.h"

/* PATH lookup for a program name without a '/' (caller frees). */
static char *find_program(const char *name)
{
	if (strchr(name, '/') || access(name, X_OK) == 0)
		return hd_xstrdup(name);
	const char *path = getenv("PATH");
	if (!path)
		return hd_xstrdup(name);
	char *dirs = hd_xstrdup(path), *save = NULL;
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		struct hd_buf b = {0};
		hd_buf_printf(&b, "%s/%s", d, name);
		if (access(hd_buf_str(&b), X_OK) == 0) {
			char *r = hd_xstrdup(hd_buf_str(&b));
			hd_buf_free(&b);
			free(dirs);
			return r;
		}
		hd_buf_free(&b);
	}
	free(dirs);
	return hd_xstrdup(name);
}

static int busy(struct cmd_session *s)
{
	if (s->t)
		return cmd_err(s, -HD_E_EXISTS, "process %d is already being debugged (.detach or .kill first)",
			       (int)target_pid(s->t));
	return 0;
}

static int do_start(struct cmd_session *s, const char *how, bool report)
{
	int rc = target_start(&s->t, s->path, s->argv);
	if (rc < 0) {
		s->t = NULL;
		if (!report)
			return rc;
		return cmd_err(s, rc, "cannot start '%s': %s", s->path, hd_strerror(rc));
	}
	s->attached = false;
	TRY(cmd_target_opened(s, how));
	cmd_bp_rearm(s);
	return 0;
}

/* Start PROG: errors are printed when `report` (a command), else only
 * returned (the front end reports them for `hdbg PROG`). */
static int start(struct cmd_session *s, const char *path, char *const argv[], bool report)
{
	if (s->t)
		return report ? busy(s) : -HD_E_EXISTS;
	int n = 0;
	while (argv && argv[n])
		n++;
	char *prog = find_program(path);
	char **v = hd_xcalloc((size_t)n + 2, sizeof(char *));
	v[0] = hd_xstrdup(n ? argv[0] : path);
	for (int i = 1; i < n; i++)
		v[i] = hd_xstrdup(argv[i]);
	if (s->argv)
		for (char **p = s->argv; *p; p++)
			free(*p);
	free(s->argv);
	free(s->path);
	s->path = prog;
	s->argv = v;
	/* a new program: the old breakpoints mean nothing in it */
	for (int i = 0; i < CMD_MAX_BP; i++) {
		free(s->bp[i].expr);
		memset(&s->bp[i], 0, sizeof(s->bp[i]));
	}
	struct hd_buf b = {0};
	hd_buf_printf(&b, "started: %s", prog);
	int rc = do_start(s, hd_buf_str(&b), report);
	hd_buf_free(&b);
	return rc;
}

int cmd_start(struct cmd_session *s, const char *path, char *const argv[])
{
	return start(s, path, argv, false);
}

static int attach(struct cmd_session *s, pid_t pid, bool report)
{
	if (s->t)
		return report ? busy(s) : -HD_E_EXISTS;
	int rc = target_attach(&s->t, pid);
	if (rc < 0) {
		s->t = NULL;
		if (!report)
			return rc;
		return cmd_err(s, rc, "cannot attach to process %d: %s", (int)pid, hd_strerror(rc));
	}
	s->attached = true;
	pid_t tids[1024];
	int n = target_threads(s->t, tids, (int)HD_ARRAY_SIZE(tids));
	char how[64];
	snprintf(how, sizeof(how), "attached (%d thread%s)", n, n == 1 ? "" : "s");
	return cmd_target_opened(s, how);
}

int cmd_attach(struct cmd_session *s, pid_t pid)
{
	return attach(s, pid, false);
}

int cmd_do_start(struct cmd_session *s, const struct cmd_args *a)
{
	if (a->tk->n < 2)
		return cmd_err(s, -HD_E_PARSE, "missing program (usage: .start PATH [ARGS...])");
	char **argv = hd_xcalloc((size_t)a->tk->n, sizeof(char *));
	for (int i = 1; i < a->tk->n; i++)
		argv[i - 1] = a->tk->v[i].text;
	int rc = start(s, a->tk->v[1].text, argv, true);
	free(argv);
	return rc;
}

int cmd_do_restart(struct cmd_session *s, const struct cmd_args *a)
{
	if (a->tk->n > 1)
		return cmd_err(s, -HD_E_PARSE, "too many arguments at '%s' (usage: .restart)",
			       a->tk->v[1].text);
	if (!s->path)
		return cmd_err(s, -HD_E_NOTARGET, "no program to restart (use .start PATH)");
	if (s->t) {
		if (s->attached)
			return cmd_err(s, -HD_E_EXISTS, "process %d was attached, not started: .detach first",
				       (int)target_pid(s->t));
		cmd_events_release(s);
		IGNORE(target_kill(s->t));
		s->t = NULL;
		cmd_target_gone(s);
	}
	struct hd_buf b = {0};
	hd_buf_printf(&b, "restarted: %s", s->path);
	int rc = do_start(s, hd_buf_str(&b), true);
	hd_buf_free(&b);
	return rc;
}

int cmd_do_attach(struct cmd_session *s, const struct cmd_args *a)
{
	uint64_t pid;
	if (a->tk->n != 2)
		return cmd_err(s, -HD_E_PARSE, "%s (usage: .attach PID)",
			       a->tk->n < 2 ? "missing process id" : "too many arguments");
	/* a process id is decimal, as ps prints it */
	char *end;
	errno = 0;
	pid = strtoull(a->tk->v[1].text, &end, 10);
	if (*end || errno || pid == 0 || pid > 0x7fffffff)
		return cmd_err(s, -HD_E_PARSE, "bad process id '%s'", a->tk->v[1].text);
	return attach(s, (pid_t)pid, true);
}

int cmd_do_detach(struct cmd_session *s, const struct cmd_args *a)
{
	if (a->tk->n > 1)
		return cmd_err(s, -HD_E_PARSE, "too many arguments at '%s'", a->tk->v[1].text);
	TRY(cmd_need_target(s));
	pid_t pid = target_pid(s->t);
	/* A seccomp filter cannot be removed: without a tracer, the syscalls it
	 * traces would fail with ENOSYS. Only started targets get one (attached
	 * ones use syscall stops), and those can be killed instead. */
	if (!target_is_attached(s->t) && target_seccomp_filters(s->t) > 0)
		return cmd_err(s, -HD_E_UNSUPPORTED,
			       "cannot detach process %d: it has the seccomp filter of a !syscall/!sysret "
			       "event, which cannot be removed and would fail those syscalls with ENOSYS "
			       "without a tracer; use .kill or q", (int)pid);
	cmd_events_release(s);
	int rc = target_detach(s->t);
	s->t = NULL;
	cmd_target_gone(s);
	for (int i = 0; i < CMD_MAX_BP; i++) {
		free(s->bp[i].expr);
		memset(&s->bp[i], 0, sizeof(s->bp[i]));
	}
	if (rc < 0)
		return cmd_err(s, rc, "detaching from process %d: %s", (int)pid, hd_strerror(rc));
	cmd_out(s, "detached from process %d\n", (int)pid);
	return 0;
}

int cmd_do_kill(struct cmd_session *s, const struct cmd_args *a)
{
	if (a->tk->n > 1)
		return cmd_err(s, -HD_E_PARSE, "too many arguments at '%s'", a->tk->v[1].text);
	TRY(cmd_need_target(s));
	pid_t pid = target_pid(s->t);
	cmd_events_release(s);
	int rc = target_kill(s->t);
	s->t = NULL;
	cmd_target_gone(s);
	if (rc < 0)
		return cmd_err(s, rc, "killing process %d: %s", (int)pid, hd_strerror(rc));
	cmd_out(s, "process %d killed\n", (int)pid);
	return 0;
}

int cmd_do_thread(struct cmd_session *s, const struct cmd_args *a)
{
	pid_t tids[1024];
	if (a->tk->n > 2)
		return cmd_err(s, -HD_E_PARSE, "too many arguments at '%s'", a->tk->v[2].text);
	TRY(cmd_need_target(s));
	if (a->tk->n == 2) {
		/* a thread id is decimal, as the list prints it */
		char *end;
		long tid = strtol(a->tk->v[1].text, &end, 10);
		if (*end || tid <= 0)
			return cmd_err(s, -HD_E_PARSE, "bad thread id '%s'", a->tk->v[1].text);
		int rc = target_thread_select(s->t, (pid_t)tid);
		if (rc < 0)
			return cmd_err(s, rc, "no thread '%s' in process %d", a->tk->v[1].text,
				       (int)target_pid(s->t));
	}
	int n = target_threads(s->t, tids, (int)HD_ARRAY_SIZE(tids));
	pid_t cur = target_thread_current(s->t);
	for (int i = 0; i < n && i < (int)HD_ARRAY_SIZE(tids); i++) {
		struct user_regs_struct r;
		char name[512] = "";
		if (target_regs_get(s->t, tids[i], &r) == 0)
			cmd_addr_name(s, r.rip, name, sizeof(name));
		cmd_out(s, "%c %-7d %s\n", tids[i] == cur ? '*' : ' ', (int)tids[i], name);
	}
	return 0;
}

int cmd_do_process(struct cmd_session *s, const struct cmd_args *a)
{
	pid_t tids[1024];
	if (a->tk->n > 1)
		return cmd_err(s, -HD_E_PARSE, "too many arguments at '%s'", a->tk->v[1].text);
	TRY(cmd_need_target(s));
	pid_t pid = target_pid(s->t);
	char exe[512] = "?", link[64];
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(link, exe, sizeof(exe) - 1);
	if (n > 0)
		exe[n] = '\0';
	int nt = target_threads(s->t, tids, (int)HD_ARRAY_SIZE(tids));
	cmd_out(s, "process %d %s (%s), %d thread%s, current thread %d\n", (int)pid, exe,
		s->attached ? "attached" : "started", nt, nt == 1 ? "" : "s",
		(int)target_thread_current(s->t));
	return 0;
}

int cmd_do_quit(struct cmd_session *s, const struct cmd_args *a)
{
	if (a->tk->n > 1)
		return cmd_err(s, -HD_E_PARSE, "too many arguments at '%s' (usage: q)", a->tk->v[1].text);
	s->quit = true;
	return 0;
}
