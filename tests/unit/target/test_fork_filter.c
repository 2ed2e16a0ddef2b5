/* test_fork_filter.c: children of a started target that has a seccomp
 * filter stay traced as passive processes (their inherited filter needs a
 * tracer): their syscalls run, their stops are never reported, the target's
 * own traced syscalls still are, and they die with the target. Without a
 * filter, forked children are released as before. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <sys/syscall.h>

#include "helpers.h"

#define PROG_BIN HD_BINARY_DIR "/tests/target_fork_prog"

/* The debuggee. "run": a forked child writes from a new thread, a second
 * child execs sh, which forks /bin/echo (a grandchild that execs); the
 * parent waits for both and writes their statuses: one write of its own.
 * "bg": a child starts a thread, writes its pid and pauses; the parent
 * learns that it did through a pipe, writes "parent" and pauses. "stop": a
 * child stops itself with SIGSTOP; the parent sees the stop (waitpid
 * WUNTRACED), sends SIGCONT and reaps it. */
static const char prog_src[] =
	"#include <pthread.h>\n"
	"#include <signal.h>\n"
	"#include <stdio.h>\n"
	"#include <string.h>\n"
	"#include <sys/wait.h>\n"
	"#include <unistd.h>\n"
	"static void *say(void *m) { size_t n = strlen(m); return (void *)(long)(write(1, m, n) == (ssize_t)n); }\n"
	"static void *nap(void *m) { (void)m; for (;;) pause(); }\n"
	"static int st(int s) { return WIFEXITED(s) ? WEXITSTATUS(s) : 100 + WTERMSIG(s); }\n"
	"int main(int argc, char **argv) {\n"
	"	char buf[64];\n"
	"	if (argc > 1 && strcmp(argv[1], \"bg\") == 0) {\n"
	"		int p[2];\n"
	"		if (pipe(p) < 0) return 2;\n"
	"		if (fork() == 0) {\n"
	"			pthread_t th;\n"
	"			if (pthread_create(&th, 0, nap, 0)) _exit(7);\n"
	"			int n = snprintf(buf, sizeof buf, \"child %d\\n\", (int)getpid());\n"
	"			if (write(1, buf, (size_t)n) != n || write(p[1], \"x\", 1) != 1) _exit(3);\n"
	"			for (;;) pause();\n"
	"		}\n"
	"		if (read(p[0], buf, 1) != 1) return 4;\n"
	"		if (write(1, \"parent\\n\", 7) != 7) return 5;\n"
	"		for (;;) pause();\n"
	"	}\n"
	"	if (argc > 1 && strcmp(argv[1], \"stop\") == 0) {\n"
	"		int s1 = -1, s2 = -1;\n"
	"		pid_t c = fork();\n"
	"		if (c == 0) {\n"
	"			raise(SIGSTOP);\n"
	"			_exit(write(1, \"cont ok\\n\", 8) == 8 ? 0 : 3);\n"
	"		}\n"
	"		waitpid(c, &s1, WUNTRACED);\n"
	"		int stopped = WIFSTOPPED(s1) ? WSTOPSIG(s1) : -1;\n"
	"		kill(c, SIGCONT);\n"
	"		waitpid(c, &s2, 0);\n"
	"		int n = snprintf(buf, sizeof buf, \"stopped %d status %d\\n\", stopped, st(s2));\n"
	"		return write(1, buf, (size_t)n) == n ? 0 : 6;\n"
	"	}\n"
	"	pid_t a = fork();\n"
	"	if (a == 0) {\n"
	"		pthread_t th;\n"
	"		void *ok = 0;\n"
	"		if (pthread_create(&th, 0, say, (void *)\"child ok\\n\") || pthread_join(th, &ok)) _exit(7);\n"
	"		_exit(ok ? 0 : 3);\n"
	"	}\n"
	"	int sa = -1, sb = -1;\n"
	"	waitpid(a, &sa, 0);\n"
	"	pid_t b = fork();\n"
	"	if (b == 0) {\n"
	"		execl(\"/bin/sh\", \"sh\", \"-c\", \"/bin/echo grand ok; echo exec ok\", (char *)0);\n"
	"		_exit(127);\n"
	"	}\n"
	"	waitpid(b, &sb, 0);\n"
	"	int n = snprintf(buf, sizeof buf, \"status %d %d\\n\", st(sa), st(sb));\n"
	"	return write(1, buf, (size_t)n) == n ? 0 : 6;\n"
	"}\n";

static int build_prog(void)
{
	static int built;
	if (built)
		return 0;
	char src[] = "/tmp/hd_fork_prog_XXXXXX.c";
	int fd = mkstemps(src, 2);
	if (fd < 0)
		return -1;
	bool ok = write(fd, prog_src, sizeof(prog_src) - 1) == (ssize_t)(sizeof(prog_src) - 1);
	close(fd);
	pid_t pid = ok ? fork() : -1;
	if (pid == 0) {
		execlp("cc", "cc", "-O0", "-pthread", "-o", PROG_BIN, src, (char *)NULL);
		_exit(127);
	}
	int st = 0;
	while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	unlink(src);
	built = pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
	return built ? 0 : -1;
}

static const char want_run[] = "child ok\ngrand ok\nexec ok\nstatus 0 0\n";

/* Run "run" to its end; count the reported SYSCALL stops (write only) and
 * check that every reported stop is the process's own (its SIGCHLDs
 * apart). */
static char *run_to_end(const char *mode, bool filter, int *nwrite, int *status)
{
	if (build_prog() < 0)
		fail_msg("cannot compile the fork test program with cc");
	char *const argv[] = {A(PROG_BIN), A(mode), NULL};
	struct target *t;
	int out;
	assert_int_equal(start_captured(&t, argv, &out), 0);
	pid_t pid = target_pid(t);
	if (filter) {
		long nr = SYS_write;
		assert_int_equal(target_seccomp_trace(t, pid, &nr, 1), 0);
		assert_int_equal(target_seccomp_filters(t), 1);
	}
	*nwrite = 0;
	for (int guard = 0; guard < 1000; guard++) {
		assert_int_equal(target_resume_all(t), 0);
		struct target_stop s;
		assert_int_equal(target_wait(t, &s), 0);
		if (s.kind == TARGET_STOP_EXITED) {
			*status = s.status;
			break;
		}
		assert_int_equal(s.tid, pid);
		assert_int_equal(target_threads(t, (pid_t[4]){0}, 4), 1);
		if (s.kind == TARGET_STOP_SIGNAL) { /* passed on by resume_all */
			assert_int_equal(s.signo, SIGCHLD);
			continue;
		}
		assert_int_equal(s.kind, TARGET_STOP_SYSCALL);
		assert_int_equal(s.sysno, SYS_write);
		(*nwrite)++;
	}
	target_free(t);
	char *text = slurp(out);
	close(out);
	return text;
}

static void test_children_of_filtered_target_run(void **state)
{
	(void)state;
	int nwrite, status = -1;
	char *text = run_to_end("run", true, &nwrite, &status);
	assert_string_equal(text, want_run);
	assert_int_equal(status, 0);
	assert_int_equal(nwrite, 1); /* the parent's one write; none of a child */
	free(text);
}

static void test_children_released_without_filter(void **state)
{
	(void)state;
	int nwrite, status = -1;
	char *text = run_to_end("run", false, &nwrite, &status);
	assert_string_equal(text, want_run);
	assert_int_equal(status, 0);
	assert_int_equal(nwrite, 0);
	free(text);
}

/* A passive child's group-stop is an untraced one: its parent sees it, and
 * SIGCONT (delivered to it as it would be) ends it. */
static void test_passive_child_group_stop(void **state)
{
	(void)state;
	int nwrite, status = -1;
	char *text = run_to_end("stop", true, &nwrite, &status);
	assert_string_equal(text, "cont ok\nstopped 19 status 0\n");
	assert_int_equal(status, 0);
	assert_int_equal(nwrite, 1);
	free(text);
}

/* Is `pid` gone or a zombie (waiting for its reparented parent)? */
static bool dead(pid_t pid)
{
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return true;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = 0;
	const char *rp = strrchr(buf, ')');
	return rp && (rp[2] == 'Z' || rp[2] == 'X');
}

static void test_passive_child_dies_with_target(void **state)
{
	(void)state;
	if (build_prog() < 0)
		fail_msg("cannot compile the fork test program with cc");
	char *const argv[] = {A(PROG_BIN), A("bg"), NULL};
	struct target *t;
	int out;
	assert_int_equal(start_captured(&t, argv, &out), 0);
	pid_t pid = target_pid(t);
	long nr = SYS_write;
	assert_int_equal(target_seccomp_trace(t, pid, &nr, 1), 0);
	assert_int_equal(target_resume_all(t), 0);
	struct target_stop s;
	assert_int_equal(target_wait(t, &s), 0);
	/* the parent's write of "parent": the child has written and pauses */
	assert_int_equal(s.kind, TARGET_STOP_SYSCALL);
	assert_int_equal(s.tid, pid);
	char line[64] = "";
	ssize_t n = read(out, line, sizeof(line) - 1);
	assert_true(n > 0);
	line[n] = 0;
	int child = 0;
	assert_int_equal(sscanf(line, "child %d", &child), 1);
	assert_true(child > 0 && child != pid);
	assert_false(dead(child));
	assert_int_equal(target_kill(t), 0);
	for (int i = 0; i < 100 && !dead(child); i++)
		usleep(10000);
	assert_true(dead(child));
	close(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_children_of_filtered_target_run),
		cmocka_unit_test(test_children_released_without_filter),
		cmocka_unit_test(test_passive_child_group_stop),
		cmocka_unit_test(test_passive_child_dies_with_target),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
