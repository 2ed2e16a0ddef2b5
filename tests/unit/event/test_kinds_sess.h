/*
** test_kinds_sess.h: shared by the test_kinds_*.c tests: a test program
** compiled at test time with `cc` (one source, a mode per kind), and a
** session (target + event table) driven the way the command layer's run
** loop drives it, counting the stops of each kind.
*/
#ifndef HD_TEST_EVENT_KINDS_SESS_H
#define HD_TEST_EVENT_KINDS_SESS_H

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "event/event.h"
#include "event/internal.h"
#include "helpers.h"
#include "target/target.h"

/* The program under test. Modes:
 *   sys N     N x getppid (syscall), 3 x getpid; prints "sys ok=K last=R pid_ok=P"
 *             (K: results equal to the real parent, read from /proc/self/stat)
 *   tsc N     N x rdtsc, then 1 x rdtscp; prints "tsc mono=M aux=A zero=Z"
 *   tsct N    3 threads, N x rdtsc each; prints "tsct zero=Z" (Z reads gave 0)
 *   fork      a child writes arr[600], runs cpuid and rdtsc, then execs "tsc 1";
 *             the parent prints "fork status=S" (the child's wait status, hex)
 *   cpuid N   N x cpuid(0), 1 x cpuid(1); prints "cpuid vendor=V max=M f1=F"
 *   sig N     SIGUSR1 handler; N x raise(SIGUSR1); prints "handler=ADDR" (hex)
 *             and "sig handled=K"
 *   mon N     N writes of small[1], N reads, N writes of arr[600] (page 1 of arr),
 *             then arr[10] (page 0) and arr[1000] (page 1) written once; prints
 *             "mon small=.. arr600=.. arr10=.. arr1000=.. sum=.." (reads all again)
 *   waitmon   prints "ready" then, per line on stdin: arr[600] += 1 -> "arr N"
 *   wait      prints "ready" then, per line on stdin: getppid, rdtsc -> prints
 *             "got R" (R = getppid's result, or -errno) */
static const char kinds_prog_src[] =
	"#define _GNU_SOURCE\n"
	"#include <cpuid.h>\n#include <errno.h>\n#include <pthread.h>\n#include <signal.h>\n#include <stdio.h>\n"
	"#include <stdlib.h>\n#include <string.h>\n#include <sys/syscall.h>\n"
	"#include <sys/wait.h>\n#include <unistd.h>\n#include <x86intrin.h>\n"
	"volatile long arr[1024] __attribute__((aligned(4096)));\n"
	"volatile long small[4] __attribute__((aligned(64)));\n"
	"static volatile int handled;\n"
	"static void on_usr1(int s) { (void)s; handled++; }\n"
	"__attribute__((noinline)) void tick(void) { __asm__ volatile(\"nop\"); }\n"
	"static volatile int tzero;\n"
	"static void *tsc_thread(void *a) {\n"
	"  for (long i = 0; i < (long)a; i++) if (__rdtsc() == 0) __sync_fetch_and_add(&tzero, 1);\n"
	"  return NULL;\n"
	"}\n"
	"int main(int argc, char **argv) {\n"
	"  const char *m = argc > 1 ? argv[1] : \"\";\n"
	"  int n = argc > 2 ? atoi(argv[2]) : 1;\n"
	"  setvbuf(stdout, NULL, _IONBF, 0);\n"
	"  if (!strcmp(m, \"sys\")) {\n"
	"    long r = 0, pp = 0; int ok = 0, pok = 0; char st[512] = {0};\n"
	"    FILE *f = fopen(\"/proc/self/stat\", \"r\"); fread(st, 1, 511, f); fclose(f);\n"
	"    sscanf(strrchr(st, ')') + 4, \"%ld\", &pp); /* no getppid: it is traced */\n"
	"    for (int i = 0; i < n; i++) { r = syscall(SYS_getppid); ok += r == pp; }\n"
	"    for (int i = 0; i < 3; i++) pok += syscall(SYS_getpid) == getpid();\n"
	"    printf(\"sys ok=%d last=%ld pid_ok=%d\\n\", ok, r, pok);\n"
	"  } else if (!strcmp(m, \"tsc\")) {\n"
	"    unsigned long long a = __rdtsc(), b; int mono = 0, zero = 0; unsigned aux = 12345;\n"
	"    for (int i = 0; i < n; i++) { b = __rdtsc(); mono += b >= a; zero += b == 0; a = b; }\n"
	"    b = __rdtscp(&aux); zero += b == 0;\n"
	"    printf(\"tsc mono=%d aux=%s zero=%d\\n\", mono + (b >= a), aux == 12345 ? \"unset\" : \"set\", zero);\n"
	"  } else if (!strcmp(m, \"cpuid\")) {\n"
	"    unsigned a = 0, b = 0, c = 0, d = 0; char v[13] = {0};\n"
	"    for (int i = 0; i < n; i++) __cpuid(0, a, b, c, d);\n"
	"    memcpy(v, &b, 4); memcpy(v + 4, &d, 4); memcpy(v + 8, &c, 4);\n"
	"    unsigned max = a; __cpuid(1, a, b, c, d);\n"
	"    printf(\"cpuid vendor=%s max=%u f1=%x\\n\", v, max, a);\n"
	"  } else if (!strcmp(m, \"sig\")) {\n"
	"    signal(SIGUSR1, on_usr1);\n"
	"    printf(\"handler=%lx\\n\", (unsigned long)on_usr1);\n"
	"    for (int i = 0; i < n; i++) raise(SIGUSR1);\n"
	"    printf(\"sig handled=%d\\n\", handled);\n"
	"  } else if (!strcmp(m, \"mon\")) {\n"
	"    for (int i = 0; i < n; i++) { small[1] = i + 1; }\n"
	"    long s = 0; for (int i = 0; i < n; i++) s += small[1];\n"
	"    for (int i = 0; i < n; i++) arr[600] = 7 * (i + 1);\n"
	"    arr[10] = 5;\n"
	"    arr[1000] = 9;\n"
	"    s += arr[600];\n"
	"    printf(\"mon small=%ld arr600=%ld arr10=%ld arr1000=%ld sum=%ld\\n\", small[1], arr[600],\n"
	"           arr[10], arr[1000], s);\n"
	"  } else if (!strcmp(m, \"tsct\")) {\n"
	"    pthread_t th[3]; long k = n;\n"
	"    for (int i = 0; i < 3; i++) pthread_create(&th[i], NULL, tsc_thread, (void *)k);\n"
	"    for (int i = 0; i < 3; i++) pthread_join(th[i], NULL);\n"
	"    printf(\"tsct zero=%d\\n\", tzero);\n"
	"  } else if (!strcmp(m, \"fork\")) {\n"
	"    pid_t c = fork();\n"
	"    if (c == 0) {\n"
	"      unsigned a, b, cc, d; arr[600] = 1; __cpuid(0, a, b, cc, d); (void)__rdtsc();\n"
	"      execl(\"/proc/self/exe\", \"prog\", \"tsc\", \"1\", (char *)NULL); _exit(3);\n"
	"    }\n"
	"    int st = -1; waitpid(c, &st, 0);\n"
	"    printf(\"fork status=%x\\n\", st);\n"
	"  } else if (!strcmp(m, \"trace\")) {\n"
	"    for (int i = 0; i < n; i++) tick();\n"
	"    printf(\"trace done\\n\");\n"
	"  } else if (!strcmp(m, \"waitmon\")) {\n"
	"    char line[64];\n"
	"    printf(\"ready\\n\");\n"
	"    while (fgets(line, sizeof(line), stdin)) { arr[600] += 1; printf(\"arr %ld\\n\", arr[600]); }\n"
	"  } else if (!strcmp(m, \"wait\")) {\n"
	"    char line[64];\n"
	"    printf(\"ready\\n\");\n"
	"    while (fgets(line, sizeof(line), stdin)) {\n"
	"      long r = syscall(SYS_getppid); if (r < 0) r = -errno;\n"
	"      unsigned long long t = __rdtsc();\n"
	"      printf(\"got %ld tsc=%d\\n\", r, t != 0);\n"
	"    }\n"
	"  }\n"
	"  return 0;\n"
	"}\n";

static char kinds_dir[64];

static inline void kinds_prog_remove(void)
{
	char p[128];
	snprintf(p, sizeof(p), "%s/prog", kinds_dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/prog.c", kinds_dir);
	unlink(p);
	rmdir(kinds_dir);
}

/* Compile the program once per test executable (removed at exit);
 * @return its path. */
static inline const char *kinds_prog(void)
{
	static char path[256];
	if (path[0])
		return path;
	char *dir = kinds_dir;
	snprintf(kinds_dir, sizeof(kinds_dir), "/tmp/hd_kinds_XXXXXX");
	assert_non_null(mkdtemp(dir));
	atexit(kinds_prog_remove);
	char src[300], cmdline[800];
	snprintf(src, sizeof(src), "%s/prog.c", dir);
	snprintf(path, sizeof(path), "%s/prog", dir);
	FILE *f = fopen(src, "w");
	assert_non_null(f);
	fputs(kinds_prog_src, f);
	fclose(f);
	snprintf(cmdline, sizeof(cmdline), "cc -O1 -no-pie -pthread -o %s %s", path, src);
	assert_int_equal(system(cmdline), 0);
	return path;
}

/* Address of a symbol of the (non-PIE) program, from nm. */
static inline uint64_t kinds_sym(const char *name)
{
	char cmdline[400], line[256];
	uint64_t a = 0;
	snprintf(cmdline, sizeof(cmdline), "nm %s", kinds_prog());
	FILE *f = popen(cmdline, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		uint64_t v;
		char t, n[128];
		if (sscanf(line, "%" SCNx64 " %c %127s", &v, &t, n) == 3 && !strcmp(n, name))
			a = v;
	}
	pclose(f);
	assert_true(a != 0);
	return a;
}

struct sess {
	struct target *t;
	pid_t pid;
	int out;                 /* the target's stdout */
	int in;                  /* its stdin (attach tests), else -1 */
	struct script_globals *globals;
	struct event_table *tab;
	struct hd_buf sink;      /* script output */
	struct hd_buf breaks;    /* verdict texts of the breaks */
	int nbreaks;
	int nstops[TARGET_STOP_KILLED + 1]; /* stops seen by the loop, per kind */
};

static inline void sink_write(void *ud, const char *text)
{
	struct sess *s = ud;
	hd_buf_printf(&s->sink, "%s", text);
}

static inline void sess_table(struct sess *s)
{
	s->globals = script_globals_new();
	struct event_host h = {.globals = s->globals, .sink = {sink_write, s}};
	assert_int_equal(event_table_new(&s->tab, &h), 0);
	assert_int_equal(event_target_set(s->tab, s->t, s->pid, NULL), 0);
}

/* Skip (before anything is allocated) while kinds.def does not enable
 * every kind these tests use. */
static inline void kinds_need_all(void)
{
	static const enum event_kind k[] = {EVENT_KIND_SYSCALL, EVENT_KIND_SYSRET,
					    EVENT_KIND_EXCEPTION, EVENT_KIND_TSC, EVENT_KIND_CPUID,
					    EVENT_KIND_MONITOR, EVENT_KIND_TRACE};
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
		if (!event_kind_info(k[i])->impl) {
			print_message("SKIPPED: kinds.def does not enable '%s' yet\n",
				      event_kind_info(k[i])->command);
			skip();
		}
}

/* Start the test program with `mode` and `arg`. */
static inline void start(struct sess *s, const char *mode, const char *arg)
{
	struct target_start_opts o = {0};
	struct target_stop st;
	int fds[2];
	char *argv[] = {(char *)kinds_prog(), (char *)mode, (char *)arg, NULL};

	kinds_need_all();
	memset(s, 0, sizeof(*s));
	s->in = -1;
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	o.stdout_fd = fds[1];
	assert_int_equal(target_start_opts(&s->t, argv[0], argv, &o), 0);
	close(fds[1]);
	s->out = fds[0];
	s->pid = target_pid(s->t);
	assert_int_equal(target_wait(s->t, &st), 0);
	assert_int_equal(st.kind, TARGET_STOP_START);
	sess_table(s);
}

/* Declare and set a `.name` global, as `? .name = value` does. */
static inline void global_set(struct sess *s, const char *assign)
{
	struct script_compile_opts o = {.sz = sizeof(o), .globals = s->globals};
	struct script_prog *p = NULL;
	struct script_diag d;
	struct script_env env;
	char err[128];
	memset(&d, 0, sizeof(d));
	memset(&env, 0, sizeof(env));
	assert_int_equal(script_compile(assign, &o, &p, &d), 0);
	assert_int_equal(script_run(p, &env, s->globals, err, sizeof(err)), 0);
	script_prog_free(p);
}

/* Run an event command; @return its rc, the text in `out` (may be NULL). */
static inline int cmd(struct sess *s, const char *line, struct hd_buf *out)
{
	struct toks tk;
	struct hd_buf tmp = {0};
	tokenize(line, &tk);
	int rc = !strcasecmp(tk.v[0].text, "events")
			 ? event_events_command(s->tab, tk.v, tk.n, out ? out : &tmp)
			 : event_command(s->tab, tk.v, tk.n, target_thread_current(s->t), NULL,
					 out ? out : &tmp);
	const char *said = hd_buf_str(out ? out : &tmp);
	if (rc < 0 && strstr(said, "is not implemented yet")) {
		/* kinds.def does not enable the kind in this tree yet */
		print_message("SKIPPED: hdbg answers: %s", said);
		skip();
	}
	if (rc < 0 && !out)
		fail_msg("'%s' failed: %s", line, said);
	toks_free(&tk);
	hd_buf_free(&tmp);
	return rc;
}

typedef void (*break_fn)(struct sess *s, const struct event_verdict *v, void *ud);

/* The run loop as `g` does it: every stop goes to the events first; at a
 * break: all-stop, `on_break`, event_continue(), resume all. Stops left
 * unclaimed are resumed (signals delivered). @return the exit status. */
static inline int go(struct sess *s, break_fn on_break, void *ud)
{
	struct target_stop st;
	assert_int_equal(target_resume_all(s->t), 0);
	for (;;) {
		struct event_verdict v = {0};
		assert_int_equal(target_wait(s->t, &st), 0);
		s->nstops[st.kind]++;
		assert_int_equal(event_handle_stop(s->tab, s->t, &st, &v), 0);
		while (v.kind == EVENT_VERDICT_BREAK) {
			assert_int_equal(target_stop_all(s->t), 0);
			s->nbreaks++;
			hd_buf_printf(&s->breaks, "%s", hd_buf_str(&v.text));
			if (on_break)
				on_break(s, &v, ud);
			hd_buf_free(&v.text);
			memset(&v, 0, sizeof(v));
			assert_int_equal(event_continue(s->tab, &v), 0);
			if (v.kind != EVENT_VERDICT_BREAK)
				assert_int_equal(target_resume_all(s->t), 0);
		}
		if (v.text.len)
			hd_buf_printf(&s->sink, "%s", hd_buf_str(&v.text));
		hd_buf_free(&v.text);
		if (v.kind != EVENT_VERDICT_NONE)
			continue;
		switch (st.kind) {
		case TARGET_STOP_EXITED:
			return st.status;
		case TARGET_STOP_KILLED:
			fail_msg("target killed by signal %d", st.signo);
			return -1;
		case TARGET_STOP_THREAD_EXIT:
			continue;
		case TARGET_STOP_SIGNAL:
			assert_int_equal(target_resume(s->t, st.tid, TARGET_RESUME_CONT, st.signo), 0);
			continue;
		default:
			assert_int_equal(target_resume(s->t, st.tid, TARGET_RESUME_CONT, 0), 0);
			continue;
		}
	}
}

static inline char *output(struct sess *s)
{
	static char buf[1 << 16];
	size_t n = 0;
	ssize_t r;
	while (n < sizeof(buf) - 1 && (r = read(s->out, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = 0;
	return buf;
}

static inline void end(struct sess *s)
{
	if (target_exited(s->t)) {
		event_target_set(s->tab, NULL, 0, NULL);
		target_free(s->t);
	} else {
		event_target_release(s->tab);
		assert_int_equal(target_kill(s->t), 0);
	}
	event_table_free(s->tab);
	script_globals_free(s->globals);
	close(s->out);
	if (s->in >= 0)
		close(s->in);
	hd_buf_free(&s->sink);
	hd_buf_free(&s->breaks);
}

/* A line from `fd`, without its newline. */
static inline void read_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	while (n + 1 < cap && read(fd, buf + n, 1) == 1 && buf[n] != '\n')
		n++;
	buf[n] = 0;
}

/* Run the program in `mode` as an ordinary child (not traced), its stdin
 * and stdout on pipes; @return its pid once it printed "ready". */
static inline pid_t spawn_wait(const char *mode, int *in, int *out)
{
	int pin[2], pout[2];
	char buf[16];
	kinds_need_all();
	assert_int_equal(pipe(pin), 0);
	assert_int_equal(pipe(pout), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pin[0], 0);
		dup2(pout[1], 1);
		close(pin[1]);
		close(pout[0]);
		execl(kinds_prog(), kinds_prog(), mode, (char *)NULL);
		_exit(127);
	}
	close(pin[0]);
	close(pout[1]);
	*in = pin[1];
	*out = pout[0];
	read_line(*out, buf, sizeof(buf));
	assert_string_equal(buf, "ready");
	return pid;
}

/* Attach to `pid` (started by spawn_wait) with a fresh table. */
static inline void sess_attach(struct sess *s, pid_t pid, int in, int out)
{
	memset(s, 0, sizeof(*s));
	s->in = in;
	s->out = out;
	s->pid = pid;
	assert_int_equal(target_attach(&s->t, pid), 0);
	sess_table(s);
}

/* Release the events, detach, and free the session; the process lives on
 * (its pipes stay open in *in / *out for the caller). */
static inline void sess_detach(struct sess *s)
{
	assert_int_equal(target_stop_all(s->t), 0);
	event_target_release(s->tab);
	assert_int_equal(target_detach(s->t), 0);
	event_table_free(s->tab);
	script_globals_free(s->globals);
	hd_buf_free(&s->sink);
	hd_buf_free(&s->breaks);
}

/* Close the program's stdin and check that it exits with status 0. */
static inline void spawn_end(pid_t pid, int in, int out)
{
	int status;
	close(in);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(out);
}

static inline int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

#endif
