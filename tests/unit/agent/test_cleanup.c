/*
** test_cleanup.c: detaching leaves nothing behind. A running `sleeper` is
** attached to, the agent injected, custom code run (agent_run_code), a
** breakpoint hit so that the target layer made an out-of-line copy in its
** scratch memory; after agent_unload() and target_detach(), the process has
** exactly the mappings and file descriptors it had before the attach, and
** runs on to its correct final output. The same with a thread stopped in
** the middle of the one-stop runner (it must be brought out first).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent.h"
#include "target/target.h"

#define SLEEPER HD_BINARY_DIR "/targets/sleeper"
#define ROUNDS "400"

/* lock inc qword ptr [rcx]; ret: counts runs in the buffer */
static const uint8_t count_code[] = {0xf0, 0x48, 0xff, 0x01, 0xc3};

struct child {
	pid_t pid;
	int out; /* read end of its stdout */
};

/* Start the sleeper as a plain child (not traced) and wait for "ready". */
static void child_start(struct child *c)
{
	int fds[2];
	char line[64];
	size_t n = 0;

	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		dup2(fds[1], 1);
		execl(SLEEPER, SLEEPER, ROUNDS, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	c->out = fds[0];
	while (n < sizeof(line) - 1 && read(c->out, line + n, 1) == 1 && line[n] != '\n')
		n++;
	line[n] = 0;
	assert_true(strncmp(line, "ready ", 6) == 0);
}

/* Wait for the child's end; @return everything it printed after "ready". */
static char *child_finish(struct child *c, int *status)
{
	static char buf[4096];
	size_t n = 0;
	ssize_t r;

	while (n < sizeof(buf) - 1 && (r = read(c->out, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = 0;
	close(c->out);
	while (waitpid(c->pid, status, 0) < 0 && errno == EINTR)
		;
	return buf;
}

/* /proc/PID/maps, whole. */
static char *maps_of(pid_t pid)
{
	char path[64], *buf = calloc(1, 1 << 16);
	size_t n = 0;
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	while (n < (1 << 16) - 1 && (r = read(fd, buf + n, (1 << 16) - 1 - n)) > 0)
		n += (size_t)r;
	close(fd);
	return buf;
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* /proc/PID/fd: "N -> target" lines, sorted. */
static char *fds_of(pid_t pid)
{
	char path[PATH_MAX], link[PATH_MAX], *lines[256], *out = calloc(1, 1 << 16);
	struct dirent *d;
	int n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	assert_non_null(dir);
	while ((d = readdir(dir)) && n < 256) {
		ssize_t len;
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd/%s", (int)pid, d->d_name);
		len = readlink(path, link, sizeof(link) - 1);
		link[len < 0 ? 0 : len] = 0;
		lines[n] = malloc(strlen(d->d_name) + strlen(link) + 8);
		sprintf(lines[n++], "%s -> %s\n", d->d_name, link);
	}
	closedir(dir);
	qsort(lines, (size_t)n, sizeof(lines[0]), cmp_str);
	for (int i = 0; i < n; i++) {
		strcat(out, lines[i]);
		free(lines[i]);
	}
	return out;
}

/* Address of `sym` in the non-PIE-or-PIE sleeper running as `pid`. */
static uint64_t sym_addr(pid_t pid, const char *sym)
{
	char cmd[PATH_MAX + 64], line[PATH_MAX + 256], real[PATH_MAX], name[256] = "";
	unsigned long long v = 0, lo, off;
	uint64_t base = 0;
	char type;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "nm --defined-only '%s'", SLEEPER);
	f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx %c %255s", &v, &type, name) == 3 && !strcmp(name, sym))
			break;
	pclose(f);
	assert_string_equal(name, sym);
	assert_non_null(realpath(SLEEPER, real));
	snprintf(cmd, sizeof(cmd), "/proc/%d/maps", (int)pid);
	f = fopen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char *slash = strchr(line, '/');
		if (!slash || sscanf(line, "%llx-%*x %*s %llx", &lo, &off) != 2)
			continue;
		slash[strcspn(slash, "\n")] = 0;
		if (!strcmp(slash, real) && off == 0) {
			base = lo;
			break;
		}
	}
	fclose(f);
	assert_true(base != 0);
	return (v < base ? base : 0) + v;
}

/* Resume everything and wait for the next breakpoint stop (at `addr`). */
static pid_t next_hit(struct target *t, uint64_t addr)
{
	struct target_stop st;

	assert_int_equal(target_resume_all(t), 0);
	for (;;) {
		assert_int_equal(target_wait(t, &st), 0);
		if (st.kind == TARGET_STOP_BREAKPOINT) {
			assert_int_equal(st.addr, addr);
			return st.tid;
		}
		assert_true(st.kind != TARGET_STOP_EXITED && st.kind != TARGET_STOP_KILLED);
		assert_int_equal(target_resume(t, st.tid, TARGET_RESUME_CONT,
					       st.kind == TARGET_STOP_SIGNAL ? st.signo : 0), 0);
	}
}

/* A line of `maps` with `what` in it? */
static bool has_map(const char *maps, const char *what)
{
	return strstr(maps, what) != NULL;
}

struct setup {
	struct child c;
	struct target *t;
	struct agent *a;
	uint64_t tick, code, buf;
	char *maps0, *fds0;
};

/* Attach to a running sleeper, inject, load the counting code, break at
 * tick and run the code there twice (the second hit after the first
 * resume: the displaced instruction ran out of line, from scratch). */
static pid_t attach_and_use(struct setup *s)
{
	struct target_stop st;
	uint64_t n = 0;
	pid_t tid;

	child_start(&s->c);
	s->maps0 = maps_of(s->c.pid);
	s->fds0 = fds_of(s->c.pid);
	assert_int_equal(target_attach(&s->t, s->c.pid), 0);
	assert_int_equal(target_wait(s->t, &st), 0);
	assert_int_equal(st.kind, TARGET_STOP_START);
	assert_int_equal(agent_inject(s->t, st.tid, &s->a), 0);
	assert_int_equal(agent_code_load(s->a, count_code, sizeof(count_code), &s->code), 0);
	assert_int_equal(agent_buffer_alloc(s->a, 8, &s->buf), 0);
	s->tick = sym_addr(s->c.pid, "tick");
	assert_int_equal(target_bp_insert(s->t, s->tick), 0);
	for (int i = 0; i < 2; i++) {
		tid = next_hit(s->t, s->tick);
		assert_int_equal(agent_run_code(s->a, tid, s->code, s->buf, 0, AGENT_CODE, NULL), 0);
	}
	assert_int_equal(target_mem_read(s->t, s->buf, &n, sizeof(n)), 0);
	assert_int_equal(n, 2);
	/* hdbg's memory is there now: the arena (rwx), the ring, scratch (r-x) */
	char *during = maps_of(s->c.pid);
	assert_true(has_map(during, "rwxp"));
	assert_true(has_map(during, "hdbg-agent-ring"));
	assert_string_not_equal(during, s->maps0);
	free(during);
	return tid;
}

/* Unload, detach, compare, let it finish. */
static void detach_and_check(struct setup *s, pid_t tid)
{
	int status = 0;
	char *maps1, *fds1, *out;

	assert_int_equal(target_stop_all(s->t), 0);
	assert_int_equal(agent_unload(s->a, tid), 0);
	assert_int_equal(target_detach(s->t), 0);
	maps1 = maps_of(s->c.pid);
	fds1 = fds_of(s->c.pid);
	assert_string_equal(maps1, s->maps0);
	assert_string_equal(fds1, s->fds0);
	out = child_finish(&s->c, &status);
	if (!WIFEXITED(status))
		fail_msg("sleeper: status 0x%x, output \"%s\"", status, out);
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_string_equal(out, "done ticks=" ROUNDS "\n");
	free(maps1);
	free(fds1);
	free(s->maps0);
	free(s->fds0);
}

static void test_detach_leaves_no_mapping_no_fd(void **state)
{
	struct setup s = {0};
	pid_t tid;
	(void)state;

	tid = attach_and_use(&s);
	detach_and_check(&s, tid);
}

/* Send the thread of the next hit of tick into a one-stop entry running
 * `code` (lock inc [rcx] on the buffer at some point). */
static pid_t into_runner(struct setup *s, uint64_t code)
{
	struct user_regs_struct r;
	uint64_t cont, entry;
	pid_t tid;

	struct agent_onestop_op op = {0, code, s->buf, s->tick};
	assert_int_equal(target_ool_stub(s->t, s->tick, &cont), 0);
	assert_int_equal(agent_onestop_load(s->a, &op, 1, cont, &entry), 0);
	tid = next_hit(s->t, s->tick);
	assert_int_equal(target_regs_get(s->t, tid, &r), 0);
	r.rip = entry;
	assert_int_equal(target_regs_set(s->t, tid, &r), 0);
	return tid;
}

/* The counter is still 2: the thread has not run the block. */
static void assert_block_not_run(struct setup *s, pid_t tid)
{
	struct user_regs_struct r;
	uint64_t n = 0;

	assert_int_equal(target_regs_get(s->t, tid, &r), 0);
	assert_true(agent_in_arena(s->a, r.rip));
	assert_int_equal(target_mem_read(s->t, s->buf, &n, sizeof(n)), 0);
	assert_int_equal(n, 2);
}

/* A thread in the one-stop entry's stub at detach: it is stepped through
 * the runner (its pushfq included: the pushed flags must not keep the
 * step's trap flag), the block and the continuation before the arena and
 * the scratch copy go. */
static void test_detach_brings_a_thread_out_of_the_entry(void **state)
{
	struct setup s = {0};
	struct target_stop st;
	pid_t tid;
	(void)state;

	attach_and_use(&s);
	tid = into_runner(&s, s.code);
	for (int i = 0; i < 3; i++) { /* lea rsp; push rax; lea rax: before the pushfq */
		assert_int_equal(target_step(s.t, tid, &st), 0);
		assert_int_equal(st.kind, TARGET_STOP_STEP);
	}
	assert_block_not_run(&s, tid);
	detach_and_check(&s, tid);
}

/* A thread stopped inside a custom-code block run by the one-stop runner
 * (a breakpoint in the block, removed again): it finishes the block and
 * the runner first. */
static void test_detach_brings_a_thread_out_of_a_block(void **state)
{
	/* nop; lock inc qword ptr [rcx]; ret */
	static const uint8_t nop_count[] = {0x90, 0xf0, 0x48, 0xff, 0x01, 0xc3};
	struct setup s = {0};
	struct target_stop st;
	uint64_t code;
	pid_t tid;
	(void)state;

	attach_and_use(&s);
	assert_int_equal(agent_code_load(s.a, nop_count, sizeof(nop_count), &code), 0);
	assert_int_equal(target_bp_insert(s.t, code + 1), 0);
	tid = into_runner(&s, code);
	assert_int_equal(target_resume(s.t, tid, TARGET_RESUME_CONT, 0), 0);
	for (;;) {
		assert_int_equal(target_wait_thread(s.t, tid, &st), 0);
		if (st.kind == TARGET_STOP_BREAKPOINT)
			break;
		assert_int_equal(target_resume(s.t, tid, TARGET_RESUME_CONT, 0), 0);
	}
	assert_int_equal(st.addr, code + 1);
	assert_int_equal(target_bp_remove(s.t, code + 1), 0);
	assert_block_not_run(&s, tid);
	detach_and_check(&s, tid);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detach_leaves_no_mapping_no_fd),
		cmocka_unit_test(test_detach_brings_a_thread_out_of_the_entry),
		cmocka_unit_test(test_detach_brings_a_thread_out_of_a_block),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
