/*
** test_detach_clean.c: target_detach() leaves nothing of the target layer
** in the process: a running `sleeper` is attached to and a breakpoint on
** tick is hit (its displaced instruction runs out of line, from a scratch
** chunk); after the detach /proc/PID/maps and /proc/PID/fd equal those from
** before the attach and the sleeper finishes with its correct output. The
** same with a thread left at the start of a target_ool_stub() continuation
** (not mapped back to the program: it is stepped out before the unmap),
** and with the only thread at a syscall-entry stop (its call is given up
** for the unmap and made again after the detach).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>

#include "helpers.h"

#define ROUNDS "300"

struct child {
	pid_t pid;
	int out;
	char *maps0, *fds0;
};

static char *file_text(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	char *s = slurp(fd);
	close(fd);
	return s;
}

static char *maps_of(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	return file_text(path);
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* /proc/PID/fd as sorted "N -> target" lines. */
static char *fds_of(pid_t pid)
{
	char path[PATH_MAX], link[PATH_MAX], *lines[256], *out = calloc(1, 1 << 16);
	struct dirent *d;
	int n = 0;
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	DIR *dir = opendir(path);
	assert_non_null(dir);
	while ((d = readdir(dir)) && n < 256) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd/%s", (int)pid, d->d_name);
		ssize_t len = readlink(path, link, sizeof(link) - 1);
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

/* Start the sleeper untraced, wait for "ready", note its maps and fds,
 * attach. @return the tick address. */
static uint64_t attach_sleeper(struct child *c, struct target **t)
{
	struct target_stop st;
	char ch;
	int fds[2];
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		dup2(fds[1], 1);
		execl(TGT("sleeper"), "sleeper", ROUNDS, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	c->out = fds[0];
	while (read(c->out, &ch, 1) == 1 && ch != '\n')
		;
	c->maps0 = maps_of(c->pid);
	c->fds0 = fds_of(c->pid);
	assert_int_equal(target_attach(t, c->pid), 0);
	assert_int_equal(target_wait(*t, &st), 0);
	assert_int_equal(st.kind, TARGET_STOP_START);
	return elf_sym(TGT("sleeper"), "tick") + load_bias(c->pid, TGT("sleeper"));
}

/* Resume all, wait for the next stop of `kind`. */
static pid_t next_stop(struct target *t, enum target_stop_kind kind)
{
	struct target_stop st;
	assert_int_equal(target_resume_all(t), 0);
	for (;;) {
		assert_int_equal(target_wait(t, &st), 0);
		if (st.kind == kind)
			return st.tid;
		assert_true(st.kind != TARGET_STOP_EXITED && st.kind != TARGET_STOP_KILLED);
		assert_int_equal(resume_stop(t, &st), 0);
	}
}

/* Detach; compare maps and fds; the sleeper ends as it would alone. */
static void detach_and_check(struct child *c, struct target *t)
{
	int status = 0;
	assert_int_equal(target_detach(t), 0);
	char *maps1 = maps_of(c->pid), *fds1 = fds_of(c->pid);
	assert_string_equal(maps1, c->maps0);
	assert_string_equal(fds1, c->fds0);
	char *out = slurp(c->out);
	close(c->out);
	while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("sleeper: status 0x%x, output \"%s\"", status, out);
	assert_string_equal(out, "done ticks=" ROUNDS "\n");
	free(out);
	free(maps1);
	free(fds1);
	free(c->maps0);
	free(c->fds0);
}

static void test_detach_unmaps_scratch(void **state)
{
	struct child c;
	struct target *t;
	(void)state;
	uint64_t tick = attach_sleeper(&c, &t);
	assert_int_equal(target_bp_insert(t, tick), 0);
	for (int i = 0; i < 3; i++)
		(void)next_stop(t, TARGET_STOP_BREAKPOINT);
	char *during = maps_of(c.pid);
	assert_string_not_equal(during, c.maps0); /* the out-of-line copy's chunk */
	free(during);
	detach_and_check(&c, t);
}

/* A thread at the first byte of a continuation made for an address
 * without an int3 (a hardware breakpoint's): rip is not mapped back, the
 * detach steps it through the copy and its jump back first. */
static void test_detach_steps_a_thread_out_of_a_stub(void **state)
{
	struct child c;
	struct target *t;
	struct user_regs_struct r;
	uint64_t stub;
	(void)state;
	uint64_t tick = attach_sleeper(&c, &t);
	int slot = target_hw_set(t, tick, TARGET_HW_EXEC, 1);
	assert_true(slot >= 0);
	pid_t tid = next_stop(t, TARGET_STOP_HWBP);
	assert_int_equal(target_hw_clear(t, slot), 0);
	assert_int_equal(target_ool_stub(t, tick, &stub), 0);
	assert_int_equal(target_regs_get(t, tid, &r), 0);
	assert_int_equal(r.rip, tick);
	r.rip = stub;
	assert_int_equal(target_regs_set(t, tid, &r), 0);
	assert_int_equal(target_regs_get(t, tid, &r), 0);
	assert_int_equal(r.rip, stub);
	detach_and_check(&c, t);
}

/* The only thread sits at a syscall-entry stop (a break at !syscall): it
 * is the only one that can run the unmap. Its call (nanosleep) is given
 * up, the chunk unmapped, and the call made again after the detach. */
static void test_detach_at_a_syscall_entry(void **state)
{
	struct child c;
	struct target *t;
	struct target_stop st;
	(void)state;
	uint64_t tick = attach_sleeper(&c, &t);
	assert_int_equal(target_bp_insert(t, tick), 0);
	(void)next_stop(t, TARGET_STOP_BREAKPOINT);
	assert_int_equal(target_bp_remove(t, tick), 0);
	assert_int_equal(target_syscall_trace(t, true), 0);
	pid_t tid = next_stop(t, TARGET_STOP_SYSCALL);
	assert_true(target_at_syscall(t, tid));
	/* nothing else can make a system call here */
	uint64_t addr;
	assert_int_equal(target_scratch_alloc(t, 0, 0x20000, &addr), -HD_E_RUNNING);
	assert_int_equal(target_wait(t, &st), -EDEADLK);
	detach_and_check(&c, t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detach_unmaps_scratch),
		cmocka_unit_test(test_detach_steps_a_thread_out_of_a_stub),
		cmocka_unit_test(test_detach_at_a_syscall_entry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
