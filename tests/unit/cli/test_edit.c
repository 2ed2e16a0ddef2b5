/* Unit tests of the line editor (cli_edit_*) on a real pseudo-terminal:
 * output from another thread keeps the typed line intact, Ctrl-C drops the
 * line, history is saved and recalled with Up, Tab completes. A driver
 * thread plays the user on the pty's master side. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

struct drv {
	int master, slave;
	struct hd_buf out;      /* everything the editor wrote */
	struct cli_edit *ed;
	pthread_t main_thread;
	char failure[256];      /* set by the driver; checked by the test */
	void (*script)(struct drv *d);
	pthread_t thread;
};

static volatile sig_atomic_t intr_flag;

static void on_sigint(int sig)
{
	(void)sig;
	intr_flag = 1;
}

static void open_pty(struct drv *d)
{
	struct winsize ws = {.ws_row = 24, .ws_col = 80};

	memset(d, 0, sizeof(*d));
	d->master = posix_openpt(O_RDWR | O_NOCTTY);
	assert_true(d->master >= 0);
	assert_int_equal(grantpt(d->master), 0);
	assert_int_equal(unlockpt(d->master), 0);
	d->slave = open(ptsname(d->master), O_RDWR | O_NOCTTY);
	assert_true(d->slave >= 0);
	assert_int_equal(ioctl(d->slave, TIOCSWINSZ, &ws), 0);
}

static void close_pty(struct drv *d)
{
	close(d->master);
	close(d->slave);
	hd_buf_free(&d->out);
}

/* Record the driver's failure and wake the editor up (as Ctrl-C does), so
 * that the test reports it instead of waiting for a line forever. */
static void drv_fail(struct drv *d, const char *what)
{
	if (!d->failure[0])
		snprintf(d->failure, sizeof(d->failure), "%s; screen so far: [%s]", what,
			 hd_buf_str(&d->out));
	pthread_kill(d->main_thread, SIGINT);
}

/* cli_edit_gets, failing the test at once if the driver failed. */
static enum cli_edit_status drv_gets(struct drv *d, const char **line)
{
	enum cli_edit_status st = cli_edit_gets(d->ed, "hdbg> ", line);

	if (d->failure[0]) {
		pthread_join(d->thread, NULL);
		fail_msg("%s", d->failure);
	}
	return st;
}

/* Read what the editor wrote until `s` appears at or after offset
 * `from`; return the offset just past it, or -1 (failure recorded). */
static long wait_for(struct drv *d, const char *s, long from)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = {d->master, POLLIN, 0};
		const char *hit;
		char buf[256];

		if (from < 0)
			return -1;
		if (d->out.len >= (size_t)from && (hit = strstr(hd_buf_str(&d->out) + from, s)))
			return (long)(hit - d->out.p) + (long)strlen(s);
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 5) {
			char msg[128];
			snprintf(msg, sizeof(msg), "timeout waiting for '%s'", s);
			drv_fail(d, msg);
			return -1;
		}
		if (poll(&p, 1, 50) == 1) {
			ssize_t n = read(d->master, buf, sizeof(buf));
			if (n > 0)
				hd_buf_append(&d->out, buf, (size_t)n);
		}
	}
}

/* Wait for the prompt, then for libedit's raw mode: keys typed earlier
 * would be read by the line discipline's cooked rules (a ^D would be
 * swallowed as the end of a cooked read). */
static long wait_prompt(struct drv *d, long from)
{
	long at = wait_for(d, "hdbg> ", from);
	struct termios t;

	for (int i = 0; at >= 0 && i < 500; i++) {
		if (tcgetattr(d->master, &t) == 0 && !(t.c_lflag & ICANON))
			return at;
		usleep(10000);
	}
	if (at >= 0)
		drv_fail(d, "the editor did not switch the terminal to raw mode");
	return -1;
}

static void type(struct drv *d, const char *keys)
{
	if (write(d->master, keys, strlen(keys)) != (ssize_t)strlen(keys))
		drv_fail(d, "write to the pty failed");
}

static void *drv_main(void *p)
{
	struct drv *d = p;

	d->script(d);
	/* keep draining so the editor never blocks on a full pty */
	while (!d->failure[0]) {
		struct pollfd pfd = {d->master, POLLIN, 0};
		char buf[256];
		int n = poll(&pfd, 1, 100);
		if (n < 0 || (n == 1 && read(d->master, buf, sizeof(buf)) <= 0))
			break;
		if (n == 0)
			break;
	}
	return NULL;
}

static void drv_start(struct drv *d, void (*script)(struct drv *d))
{
	d->script = script;
	d->main_thread = pthread_self();
	assert_int_equal(pthread_create(&d->thread, NULL, drv_main, d), 0);
}

static void drv_join(struct drv *d)
{
	pthread_join(d->thread, NULL);
	if (d->failure[0])
		fail_msg("%s", d->failure);
}

static struct cli_edit *new_editor(struct drv *d, const char *history, cli_complete_fn fn)
{
	struct cli_edit *ed = NULL;
	struct cli_edit_opts o = {
		.in_fd = d->slave,
		.out_fd = d->slave,
		.history_path = history,
		.complete = fn,
		.interrupt_flag = &intr_flag,
	};

	assert_int_equal(cli_edit_new(&ed, &o), 0);
	d->ed = ed;
	return ed;
}

/* ---- output from another thread while a line is typed ---- */

static void script_async(struct drv *d)
{
	long at = wait_prompt(d, 0);

	if (at < 0)
		return;
	type(d, "abc");
	if ((at = wait_for(d, "abc", at)) < 0)
		return;
	if (!cli_edit_print(d->ed, "event 1 hit\n"))
		drv_fail(d, "cli_edit_print did not take the text while editing");
	/* the text, then the prompt and the typed text drawn again below it */
	if ((at = wait_for(d, "event 1 hit", at)) < 0 || wait_for(d, "hdbg> abc", at) < 0)
		return;
	type(d, "def\r");
}

static void test_async_output_keeps_line(void **state)
{
	struct drv d;
	const char *line = NULL;

	(void)state;
	open_pty(&d);
	new_editor(&d, NULL, NULL);
	drv_start(&d, script_async);
	assert_int_equal(drv_gets(&d, &line), CLI_EDIT_LINE);
	drv_join(&d);
	assert_string_equal(line, "abcdef");
	/* outside a line, the caller prints by itself */
	assert_false(cli_edit_print(d.ed, "later\n"));
	cli_edit_free(d.ed);
	close_pty(&d);
}

/* ---- Ctrl-C at the prompt drops the typed text ---- */

static void script_interrupt(struct drv *d)
{
	long at = wait_prompt(d, 0);

	if (at < 0)
		return;
	type(d, "junk");
	if ((at = wait_for(d, "junk", at)) < 0)
		return;
	pthread_kill(d->main_thread, SIGINT);
	if ((at = wait_for(d, "^C", at)) < 0 || wait_prompt(d, at) < 0)
		return;
	type(d, "ok\r");
}

static void test_ctrl_c_drops_line(void **state)
{
	struct drv d;
	const char *line = NULL;

	(void)state;
	open_pty(&d);
	new_editor(&d, NULL, NULL);
	drv_start(&d, script_interrupt);
	assert_int_equal(drv_gets(&d, &line), CLI_EDIT_INTERRUPTED);
	assert_int_equal(intr_flag, 0);  /* consumed */
	assert_int_equal(drv_gets(&d, &line), CLI_EDIT_LINE);
	drv_join(&d);
	assert_string_equal(line, "ok");  /* not "junkok" */
	cli_edit_free(d.ed);
	close_pty(&d);
}

/* ---- history: saved on each line, recalled with Up ---- */

static void script_two_lines(struct drv *d)
{
	long at = wait_prompt(d, 0);

	if (at < 0)
		return;
	type(d, "bp main\r");
	if ((at = wait_for(d, "bp main", at)) < 0 || wait_prompt(d, at) < 0)
		return;
	type(d, "db @rsp l 10\r");
}

static void script_up_up(struct drv *d)
{
	long at = wait_prompt(d, 0);

	if (at < 0)
		return;
	type(d, "\033[A");
	if ((at = wait_for(d, "db @rsp l 10", at)) < 0)
		return;
	type(d, "\033[A");
	if (wait_for(d, "bp main", at) < 0)
		return;
	type(d, "\r");
}

static void test_history_file(void **state)
{
	char dir[] = "/tmp/hdbg-test-hist-XXXXXX", path[64], text[256] = "";
	struct drv d;
	const char *line = NULL;
	FILE *f;
	size_t n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/.hdbg_history", dir);
	open_pty(&d);
	new_editor(&d, path, NULL);
	drv_start(&d, script_two_lines);
	assert_int_equal(drv_gets(&d, &line), CLI_EDIT_LINE);
	assert_string_equal(line, "bp main");
	assert_int_equal(cli_edit_history_add(d.ed, line), 0);
	/* saved at once, before the next line */
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	assert_non_null(strstr(text, "bp\\040main"));
	assert_int_equal(drv_gets(&d, &line), CLI_EDIT_LINE);
	assert_string_equal(line, "db @rsp l 10");
	assert_int_equal(cli_edit_history_add(d.ed, line), 0);
	drv_join(&d);
	cli_edit_free(d.ed);
	close_pty(&d);

	/* a new editor loads the file: Up, Up recalls the first line */
	open_pty(&d);
	new_editor(&d, path, NULL);
	drv_start(&d, script_up_up);
	assert_int_equal(drv_gets(&d, &line), CLI_EDIT_LINE);
	drv_join(&d);
	assert_string_equal(line, "bp main");
	cli_edit_free(d.ed);
	close_pty(&d);
	unlink(path);
	rmdir(dir);
}

/* ---- Tab completion ---- */

static void names(void *ud, const char *prefix, void (*add)(void *actx, const char *name),
		  void *actx)
{
	static const char *const all[] = {"help", "hello", ".help", "bp", "bl", "g"};

	(void)ud;
	for (size_t i = 0; i < HD_ARRAY_SIZE(all); i++)
		if (!strncmp(all[i], prefix, strlen(prefix)))
			add(actx, all[i]);
}

static void script_complete(struct drv *d)
{
	long at = wait_prompt(d, 0);

	if (at < 0)
		return;
	type(d, "he\t");        /* help, hello: the common part "hel" */
	if ((at = wait_for(d, "l", at)) < 0)
		return;
	type(d, "\t");          /* nothing more in common: list them */
	if (wait_for(d, "hello  help", at) < 0)
		return;
	type(d, "p\r");
}

static void script_complete_single(struct drv *d)
{
	long at = wait_prompt(d, 0);

	if (at < 0)
		return;
	type(d, ".he\t");      /* only .help: completed with a space */
	if ((at = wait_for(d, "lp ", at)) < 0)
		return;
	type(d, "b\t");        /* .help's argument: bl, bp */
	if (wait_for(d, "bl  bp", at) < 0)
		return;
	type(d, "p\r");
}

static void test_completion(void **state)
{
	struct drv d;
	const char *line = NULL;

	(void)state;
	open_pty(&d);
	new_editor(&d, NULL, names);
	drv_start(&d, script_complete);
	assert_int_equal(drv_gets(&d, &line), CLI_EDIT_LINE);
	drv_join(&d);
	assert_string_equal(line, "help");
	cli_edit_free(d.ed);
	close_pty(&d);

	open_pty(&d);
	new_editor(&d, NULL, names);
	drv_start(&d, script_complete_single);
	assert_int_equal(drv_gets(&d, &line), CLI_EDIT_LINE);
	drv_join(&d);
	assert_string_equal(line, ".help bp");
	cli_edit_free(d.ed);
	close_pty(&d);
}

/* ---- Ctrl-D on an empty line ---- */

static void script_eof(struct drv *d)
{
	if (wait_prompt(d, 0) >= 0)
		type(d, "\004");
}

static void test_ctrl_d_is_eof(void **state)
{
	struct drv d;
	const char *line = NULL;

	(void)state;
	open_pty(&d);
	new_editor(&d, NULL, NULL);
	drv_start(&d, script_eof);
	assert_int_equal(drv_gets(&d, &line), CLI_EDIT_EOF);
	drv_join(&d);
	cli_edit_free(d.ed);
	close_pty(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_async_output_keeps_line),
		cmocka_unit_test(test_ctrl_c_drops_line),
		cmocka_unit_test(test_history_file),
		cmocka_unit_test(test_completion),
		cmocka_unit_test(test_ctrl_d_is_eof),
	};

	struct sigaction sa = {0};

	sa.sa_handler = on_sigint;  /* no SA_RESTART, as hdbg installs it */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	alarm(60);  /* a lost key must fail the test, not hang it */
	setenv("TERM", "xterm", 1);
	setenv("HOME", "/nonexistent", 1);  /* no ~/.editrc of the user */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
