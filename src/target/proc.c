/*
** proc.c: lifetime of a target (start, attach, detach, kill, free) and its
** thread table.
**
** Start: fork; the child blocks reading a pipe while the parent
** PTRACE_SEIZEs it (no signal, no job-control stop involved), then the
** parent closes the pipe and the child calls execve. The first stop is
** PTRACE_EVENT_EXEC, at the first instruction of the new image (ld.so's
** entry), reported as TARGET_STOP_START. A failing execve is reported back
** through a close-on-exec pipe carrying errno.
*/
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "target/internal.h"


/* ---- thread table ---- */

struct thread *th_find(struct target *t, pid_t tid)
{
	for (int i = 0; i < t->nth; i++)
		if (t->th[i]->tid == tid)
			return t->th[i];
	return NULL;
}

struct thread *th_add(struct target *t, pid_t tid, enum th_state st)
{
	if (t->nth == t->capth) {
		t->capth = t->capth ? 2 * t->capth : 8;
		t->th = hd_xrealloc(t->th, (size_t)t->capth * sizeof(t->th[0]));
	}
	struct thread *th = hd_xcalloc(1, sizeof(*th));
	th->tid = tid;
	th->state = st;
	th->dr_stale = t->nhw > 0;
	t->th[t->nth++] = th;
	return th;
}

void th_del(struct target *t, pid_t tid)
{
	for (int i = 0; i < t->nth; i++) {
		if (t->th[i]->tid != tid)
			continue;
		free(t->th[i]);
		memmove(&t->th[i], &t->th[i + 1], (size_t)(t->nth - i - 1) * sizeof(t->th[0]));
		t->nth--;
		return;
	}
}

int mem_reopen(struct target *t)
{
	char path[64];
	if (t->memfd >= 0)
		close(t->memfd);
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)t->pid);
	t->memfd = open(path, O_RDWR | O_CLOEXEC);
	return t->memfd < 0 ? -errno : 0;
}

static struct target *target_new(pid_t pid)
{
	struct target *t = hd_xcalloc(1, sizeof(*t));
	t->pid = pid;
	t->memfd = -1;
	t->cur = pid;
	return t;
}

static void target_release(struct target *t)
{
	stop_register(t, false);
	stop_passive_end(t);
	while (t->nth)
		th_del(t, t->th[0]->tid);
	if (t->memfd >= 0)
		close(t->memfd);
	bp_forget_all(t);
	scratch_forget(t);
	free(t->th);
	free(t->bps);
	free(t->chunks);
	free(t->q);
	trap_free(t);
	free(t);
}

/* ---- start ---- */

static void child_exec(int go, int err, const char *path, char *const argv[],
		       const struct target_start_opts *o)
{
	char c;
	int e;
	sigset_t none;
	/* The program starts with default signal dispositions and no blocked
	 * signals, whatever hdbg's own are (exec keeps ignored signals). */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	int fds[3] = {o ? o->stdin_fd : 0, o ? o->stdout_fd : 0, o ? o->stderr_fd : 0};
	for (int i = 0; i < 3; i++)
		if (fds[i] > 0 && fds[i] != i && dup2(fds[i], i) < 0)
			goto fail;
	if (o && o->new_session) {
		if (setsid() < 0)
			goto fail;
		if (isatty(0))
			(void)ioctl(0, TIOCSCTTY, 0);
	}
	while (read(go, &c, 1) < 0 && errno == EINTR)
		;
	char *const *envp = o && o->envp ? o->envp : environ;
	if (strchr(path, '/'))
		execve(path, argv, envp);
	else
		execvpe(path, argv, envp);
fail:
	e = errno;
	if (write(err, &e, sizeof(e)) < 0)
		_exit(126);
	_exit(127);
}

/* Wait for the exec stop of a freshly seized child. */
static int start_wait_exec(pid_t pid, int err)
{
	for (;;) {
		int st, e = 0;
		pid_t r = waitpid(pid, &st, __WALL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (WIFEXITED(st) || WIFSIGNALED(st)) {
			if (read(err, &e, sizeof(e)) == (ssize_t)sizeof(e) && e > 0)
				return -e;
			return -ECHILD;
		}
		if (WIFSTOPPED(st) && (st >> 16) == PTRACE_EVENT_EXEC)
			return 0;
		/* Anything before exec (a signal to the child): pass it on. */
		int sig = WIFSTOPPED(st) && (st >> 16) == 0 ? WSTOPSIG(st) : 0;
		if (ptrace(PTRACE_CONT, pid, NULL, (void *)(long)sig) < 0)
			return -errno;
	}
}

int target_start_opts(struct target **out, const char *path, char *const argv[],
		      const struct target_start_opts *opts)
{
	int go[2], err[2], rc;
	*out = NULL;
	if (pipe2(go, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(err, O_CLOEXEC) < 0) {
		rc = -errno;
		close(go[0]);
		close(go[1]);
		return rc;
	}
	pid_t pid = fork();
	if (pid < 0) {
		rc = -errno;
		goto out_pipes;
	}
	if (pid == 0) {
		close(go[1]);
		close(err[0]);
		child_exec(go[0], err[1], path, argv, opts);
	}
	close(go[0]);
	go[0] = -1;
	close(err[1]);
	err[1] = -1;
	if (ptrace(PTRACE_SEIZE, pid, NULL, (void *)(long)TARGET_PTRACE_OPTS) < 0) {
		rc = -errno;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, __WALL);
		goto out_pipes;
	}
	close(go[1]);
	go[1] = -1;
	rc = start_wait_exec(pid, err[0]);
	if (rc < 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR)
			;
		goto out_pipes;
	}
	struct target *t = target_new(pid);
	struct thread *th = th_add(t, pid, TH_STOPPED);
	rc = mem_reopen(t);
	if (rc < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, __WALL);
		target_release(t);
		goto out_pipes;
	}
	stop_register(t, true);
	struct target_stop s = {.kind = TARGET_STOP_START, .tid = pid};
	stop_queue(t, th, &s);
	*out = t;
out_pipes:
	for (int i = 0; i < 2; i++) {
		if (go[i] >= 0)
			close(go[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	return rc;
}

int target_start(struct target **out, const char *path, char *const argv[])
{
	return target_start_opts(out, path, argv, NULL);
}

/* ---- attach ---- */

static bool traced_by_us(pid_t tid)
{
	char path[64], line[128];
	int tracer = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "TracerPid: %d", &tracer) == 1)
			break;
	fclose(f);
	return tracer == getpid();
}

/* Seize every thread listed in /proc/PID/task not yet known.
 * @return the number of threads added, or -errno. */
static int attach_pass(struct target *t)
{
	char path[64];
	int added = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)t->pid);
	DIR *d = opendir(path);
	if (!d)
		return -errno;
	struct dirent *e;
	while ((e = readdir(d))) {
		pid_t tid = (pid_t)atoi(e->d_name);
		if (tid <= 0 || th_find(t, tid))
			continue;
		/* No EXITKILL: an attached process outlives hdbg. */
		if (ptrace(PTRACE_SEIZE, tid, NULL,
			   (void *)(long)(TARGET_PTRACE_OPTS & ~PTRACE_O_EXITKILL)) == 0) {
			th_add(t, tid, TH_RUNNING);
			added++;
		} else if (errno == EPERM && t->nth && traced_by_us(tid)) {
			th_add(t, tid, TH_RUNNING)->is_new = true; /* auto-attached clone */
			added++;
		} else if (errno != ESRCH) {
			int rc = -errno;
			closedir(d);
			return rc;
		}
	}
	closedir(d);
	return added;
}

int target_attach(struct target **out, pid_t pid)
{
	*out = NULL;
	if (pid <= 0 || pid == getpid())
		return -EINVAL;
	struct target *t = target_new(pid);
	t->attached = true;
	stop_register(t, true);
	int rc, n;
	do {
		n = attach_pass(t);
		if (n < 0 && t->nth == 0) {
			rc = n;
			goto fail;
		}
	} while (n > 0);
	if (t->nth == 0) {
		rc = -ESRCH;
		goto fail;
	}
	CHECK(mem_reopen(t));
	CHECK(target_stop_all(t));
	if (t->gone) {
		rc = -HD_E_EXITED;
		goto fail;
	}
	pid_t first = th_find(t, pid) ? pid : t->th[0]->tid;
	struct target_stop s = {.kind = TARGET_STOP_START, .tid = first};
	stop_queue(t, th_find(t, first), &s);
	t->cur = first;
	*out = t;
	return 0;
out:
fail:
	if (t->nth && !t->gone && target_stop_all(t) < 0)
		pr_warn("target: cannot stop %d to detach after a failed attach", (int)pid);
	for (int i = 0; i < t->nth; i++)
		ptrace(PTRACE_DETACH, t->th[i]->tid, NULL, NULL);
	target_release(t);
	return rc;
}

/* ---- detach, kill, free ---- */

/* The signal of a queued, unreported SIGNAL stop of `tid`: detaching must
 * not swallow it (nor that of a reported one, below). A fault raised by
 * the CPU is not passed on: its instruction runs again after the detach
 * and faults again if the fault was the program's (a trap of hdbg's, a
 * faulting rdtsc or a protected page, is gone by then). */
static int queued_signal(struct target *t, pid_t tid)
{
	for (int i = 0; i < t->nq; i++) {
		const struct target_stop *s = &t->q[i];
		if (s->tid != tid || s->kind != TARGET_STOP_SIGNAL)
			continue;
		bool fault = s->signo == SIGSEGV || s->signo == SIGBUS || s->signo == SIGILL ||
			     s->signo == SIGFPE;
		return fault && s->siginfo.si_code > 0 ? 0 : s->signo;
	}
	return 0;
}

int target_detach(struct target *t)
{
	int rc = 0;
	if (t->gone) {
		target_release(t);
		return 0;
	}
	int r = target_stop_all(t);
	if (r < 0)
		rc = r;
	r = bp_restore_all(t);
	if (r < 0 && !rc)
		rc = r;
	/* Leave nothing behind: the out-of-line copies and stubs go, once no
	 * thread is inside them (threads there are brought out first). A
	 * chunk that must stay is warned about; the detach goes on. */
	scratch_release(t);
	for (int i = 0; i < t->nth; i++) {
		struct thread *th = t->th[i];
		if (th->state != TH_STOPPED)
			continue;
		(void)th_regs(t, th); /* maps a rip inside an out-of-line copy back */
		if (t->nhw || th->dr_stale)
			(void)hw_clear_thread(t, th);
		r = th_flush_regs(t, th);
		if (r < 0 && !rc)
			rc = r;
		/* the signal of its stop goes on as `g` would pass it */
		int sig = queued_signal(t, th->tid);
		if (!sig)
			sig = th_detach_signal(th);
		if (ptrace(PTRACE_DETACH, th->tid, NULL, (void *)(long)sig) < 0 && errno != ESRCH &&
		    !rc)
			rc = -errno;
	}
	target_release(t);
	return rc;
}

int target_kill(struct target *t)
{
	if (!t->gone) {
		kill(t->pid, SIGKILL);
		for (;;) {
			int st;
			pid_t r;
			int rc = stop_collect(t, &r, &st);
			if (rc == -EINTR)
				continue;
			if (rc < 0)
				break;
			if (r == t->pid && (WIFEXITED(st) || WIFSIGNALED(st)))
				break;
			if (WIFEXITED(st) || WIFSIGNALED(st))
				th_del(t, r);
		}
	}
	target_release(t);
	return 0;
}

void target_free(struct target *t)
{
	if (!t)
		return;
	if (!t->gone) {
		if (t->attached)
			(void)target_detach(t);
		else
			(void)target_kill(t);
		return;
	}
	target_release(t);
}

pid_t target_pid(const struct target *t)
{
	return t->pid;
}

bool target_exited(const struct target *t)
{
	return t->exited;
}

int target_threads(struct target *t, pid_t *tids, int max)
{
	int n = 0;
	for (int i = 0; i < t->nth && n < max; i++)
		tids[n++] = t->th[i]->tid;
	return n;
}

pid_t target_thread_current(const struct target *t)
{
	return t->cur;
}

int target_thread_select(struct target *t, pid_t tid)
{
	if (!th_find(t, tid))
		return -HD_E_NOTHREAD;
	t->cur = tid;
	return 0;
}
