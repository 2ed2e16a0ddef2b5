/*
** test_onestop.c: one stop per !epthook event whose actions all run in the
** target (custom code, conditions). Stops are counted where they happen:
** this file's waitpid() counts every ptrace stop the target layer collects.
** Real processes: onestop_prog (compiled here from onestop_prog.c), the
** target layer's ool_prog (displaced rip-relative instructions, relative
** and indirect calls and branches), threads and poolsim. Every case runs
** with a hardware breakpoint and with an int3. Prints ns/event for the
** one-stop path, the two-stop path and a bare breakpoint of the target
** layer.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"
#include "event/event.h"
#include "event/internal.h"
#include "helpers.h"
#include "../target/helpers.h"
#include "sym/sym.h"
#include "target/target.h"

#define POOLSIM HD_BINARY_DIR "/targets/poolsim"
#define PROG_SRC HD_SOURCE_DIR "/tests/unit/event/onestop_prog.c"
#define PROG_BIN HD_BINARY_DIR "/tests/event_onestop_prog"
#define OOL_SRC HD_SOURCE_DIR "/tests/unit/target/ool_prog.c"
#define OOL_BIN HD_BINARY_DIR "/tests/event_onestop_ool_prog"

/* ---- counting ptrace stops ---- */

static unsigned long nstops;

/* The target layer's waitpid(): every stopped status is one ptrace stop. */
pid_t waitpid(pid_t pid, int *status, int options)
{
	int st = 0;
	pid_t r = (pid_t)syscall(SYS_wait4, pid, &st, options, NULL);
	if (r > 0 && WIFSTOPPED(st))
		nstops++;
	if (status)
		*status = st;
	return r;
}

static int build(const char *src, const char *bin, const char *extra)
{
	pid_t pid = fork();
	if (pid == 0) {
		execlp("cc", "cc", "-O0", "-no-pie", "-pthread", extra, "-o", bin, src, (char *)NULL);
		_exit(127);
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("cannot compile %s with cc", src);
	return 0;
}

static void build_progs(void)
{
	static bool built;
	if (built)
		return;
	build(PROG_SRC, PROG_BIN, "-g0");
	build(OOL_SRC, OOL_BIN, "-g0");
	built = true;
}

/* ---- a session: target, symbols, events, the `g` loop ---- */

struct sess {
	struct target *t;
	pid_t pid;
	int out;
	struct sym_session *sym;
	struct script_globals *globals;
	struct event_table *tab;
	struct hd_buf sink;
	int nbreaks;
};

static int resolve(void *ud, const char *name, uint64_t *v)
{
	struct sess *s = ud;
	return sym_lookup(s->sym, name, v);
}

static void sink_write(void *ud, const char *text)
{
	struct sess *s = ud;
	hd_buf_printf(&s->sink, "%s", text);
}

static void start(struct sess *s, char *const argv[])
{
	struct target_start_opts o = {0};
	struct target_stop st;
	int fds[2];

	memset(s, 0, sizeof(*s));
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	o.stdout_fd = fds[1];
	assert_int_equal(target_start_opts(&s->t, argv[0], argv, &o), 0);
	close(fds[1]);
	s->out = fds[0];
	s->pid = target_pid(s->t);
	assert_int_equal(target_wait(s->t, &st), 0);
	assert_int_equal(st.kind, TARGET_STOP_START);
	assert_int_equal(sym_open(&s->sym, s->pid), 0);
	s->globals = script_globals_new();
	struct event_host h = {.resolve = resolve, .resolve_ud = s, .globals = s->globals,
			       .sink = {sink_write, s}};
	assert_int_equal(event_table_new(&s->tab, &h), 0);
	assert_int_equal(event_target_set(s->tab, s->t, s->pid, NULL), 0);
}

static int cmd(struct sess *s, const char *line)
{
	struct toks tk;
	struct hd_buf tmp = {0};
	tokenize(line, &tk);
	int rc = !strcasecmp(tk.v[0].text, "events")
			 ? event_events_command(s->tab, tk.v, tk.n, &tmp)
			 : event_command(s->tab, tk.v, tk.n, target_thread_current(s->t), NULL, &tmp);
	if (rc < 0)
		fail_msg("'%s' failed: %s", line, hd_buf_str(&tmp));
	toks_free(&tk);
	hd_buf_free(&tmp);
	return rc;
}

typedef void (*break_fn)(struct sess *s, void *ud);

/* The run loop of `g`. @return the exit status. */
static int go(struct sess *s, break_fn on_break, void *ud)
{
	struct target_stop st;
	assert_int_equal(target_resume_all(s->t), 0);
	for (;;) {
		struct event_verdict v = {0};
		assert_int_equal(target_wait(s->t, &st), 0);
		assert_int_equal(event_handle_stop(s->tab, s->t, &st, &v), 0);
		while (v.kind == EVENT_VERDICT_BREAK) {
			assert_int_equal(target_stop_all(s->t), 0);
			s->nbreaks++;
			if (on_break)
				on_break(s, ud);
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
			fail_msg("target killed by signal %d; sink: %s", st.signo, hd_buf_str(&s->sink));
			return -1;
		case TARGET_STOP_THREAD_EXIT:
			continue;
		case TARGET_STOP_SIGNAL:
			assert_int_equal(target_resume(s->t, st.tid, TARGET_RESUME_CONT, st.signo), 0);
			continue;
		case TARGET_STOP_BREAKPOINT:
		case TARGET_STOP_HWBP:
			fail_msg("breakpoint stop at %llx not claimed", (unsigned long long)st.addr);
			return -1;
		default:
			assert_int_equal(target_resume(s->t, st.tid, TARGET_RESUME_CONT, 0), 0);
			continue;
		}
	}
}

static char *output(struct sess *s)
{
	static char buf[1 << 16];
	size_t n = 0;
	ssize_t r;
	while (n < sizeof(buf) - 1 && (r = read(s->out, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = 0;
	return buf;
}

static void end(struct sess *s)
{
	if (target_exited(s->t)) {
		event_target_set(s->tab, NULL, 0, NULL);
		target_free(s->t);
	} else {
		event_target_release(s->tab);
		assert_int_equal(target_kill(s->t), 0);
	}
	event_table_free(s->tab);
	sym_close(s->sym);
	script_globals_free(s->globals);
	close(s->out);
	hd_buf_free(&s->sink);
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static uint64_t addr_of(struct sess *s, const char *name)
{
	uint64_t a = 0;
	if (sym_lookup(s->sym, name, &a) < 0)
		fail_msg("no symbol %s", name);
	return a;
}

static double secs(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* Take the four debug registers with hooks on never-called functions, so
 * that the next !epthook is an int3. */
static void take_debug_registers(struct sess *s)
{
	cmd(s, "!epthook spare1");
	cmd(s, "!epthook spare2");
	cmd(s, "!epthook spare3");
	cmd(s, "!epthook spare4");
}

/* ---- onestop_prog: registers, flags, red zone, conditions, crashes ---- */

struct prog_run {
	unsigned long stops;
	uint64_t runs;  /* agent_run_code() calls: stops beyond the breakpoint's */
	char out[256];
	char sink[4096];
};

/* Run `onestop_prog n` with `lines` (NULL-terminated) as events; int3 hooks
 * when `int3`. */
static void prog_run(const char *const *lines, bool int3, int n, struct prog_run *r)
{
	struct sess s;
	char nb[16];
	snprintf(nb, sizeof(nb), "%d", n);
	char *argv[] = {(char *)PROG_BIN, nb, NULL};
	build_progs();
	start(&s, argv);
	if (int3)
		take_debug_registers(&s);
	for (int i = 0; lines[i]; i++)
		cmd(&s, lines[i]);
	unsigned long before = nstops;
	assert_int_equal(go(&s, NULL, NULL), 0);
	r->stops = nstops - before;
	r->runs = event_table_agent(s.tab) ? agent_runs(event_table_agent(s.tab)) : 0;
	snprintf(r->out, sizeof(r->out), "%.200s", output(&s));
	snprintf(r->sink, sizeof(r->sink), "%.4000s", hd_buf_str(&s.sink));
	end(&s);
}

/* Four hooks, n calls each: 4n events in about 4n stops (the rest: exit). */
static void registers_and_one_stop(bool int3)
{
	static const char *const lines[] = {
		/* the 32 bytes of shadow space above the return address are the code's */
		"!epthook rax_site asm code { mov qword ptr [rdx], 0x77; mov [rsp+8], rcx; "
		"mov [rsp+0x10], rdx; mov [rsp+0x18], r8; mov [rsp+0x20], r9 }",
		/* rsp+8 16-aligned at the first instruction, else ud2 (a crash line) */
		"!epthook rsp_site asm code { sub qword ptr [rdx+0x20], 0x40; mov rax, rsp; "
		"and rax, 0xf; cmp rax, 8; je Aligned; ud2; Aligned: }",
		/* DF clear on entry (the program set it), else ud2 */
		"!epthook regs_site asm code { pushfq; pop rax; test eax, 0x400; jz Clear; ud2; "
		"Clear: mov rax, -1; mov rbx, -1; mov rcx, -1; mov rdx, -1; "
		"mov rsi, -1; mov rdi, -1; mov rbp, -1; mov r8, -1; mov r9, -1; mov r10, -1; "
		"mov r11, -1; mov r12, -1; mov r13, -1; mov r14, -1; mov r15, -1; xor eax, eax; "
		"std }",
		"!epthook redzone_site asm code { push rax; push rax; pop rax; pop rax; "
		"mov qword ptr [rdx+0x40], 0 }",
		NULL};
	struct prog_run r;
	const int n = 200;
	prog_run(lines, int3, n, &r);
	char want[128];
	snprintf(want, sizeof(want), "rax=%d rsp=%d regs=%d redzone=%d\n", 0x77 * n, -0x40 * n, n,
		 0xbb * n);
	assert_string_equal(r.out, want);
	assert_string_equal(r.sink, "");
	print_message("%s: %d events, %lu ptrace stops, %llu agent runs\n", int3 ? "int3" : "hw",
		      4 * n, r.stops, (unsigned long long)r.runs);
	assert_int_equal(r.runs, 0);
	assert_true(r.stops >= (unsigned long)(4 * n));
	assert_true(r.stops <= (unsigned long)(4 * n) + 10);
}

static void test_registers_rsp_rax_flags_red_zone_hw(void **state)
{
	(void)state;
	registers_and_one_stop(false);
}

static void test_registers_rsp_rax_flags_red_zone_int3(void **state)
{
	(void)state;
	registers_and_one_stop(true);
}

/* The same events on the two-stop path (one more stop per event), so that
 * the count above means something. */
static void test_two_stop_path_counts_twice(void **state)
{
	(void)state;
	struct sess s;
	char *argv[] = {(char *)PROG_BIN, (char *)"100", NULL};
	build_progs();
	start(&s, argv);
	s.tab->onestop_off = true;
	cmd(&s, "!epthook rax_site asm code { mov qword ptr [rdx], 0x77 }");
	unsigned long before = nstops;
	assert_int_equal(go(&s, NULL, NULL), 0);
	unsigned long stops = nstops - before;
	assert_string_equal(output(&s), "rax=11900 rsp=0 regs=100 redzone=18700\n");
	assert_int_equal(agent_runs(event_table_agent(s.tab)), 100);
	assert_true(stops >= 200 && stops <= 210);
	end(&s);
}

static void conditions(bool int3)
{
	static const char *const f[] = {
		"!epthook rax_site asm condition { xor eax, eax } code { mov qword ptr [rdx], 0x77 }",
		NULL};
	static const char *const t[] = {
		/* true from the context (rdx = rax_site) and GUEST_REGS (rcx) */
		"!epthook rax_site asm condition { xor eax, eax; cmp qword ptr [rcx], 1; jne Skip; "
		"test rdx, rdx; setne al; Skip: } code { mov qword ptr [rdx], 0x77 }",
		NULL};
	/* newest first: event 1 adds 3 to rax (1 -> 4), then event 0 sets 5;
	 * the other way round would give 8 */
	static const char *const order[] = {
		"!epthook rax_site asm code { mov qword ptr [rdx], 5 }",
		"!epthook rax_site asm code { add qword ptr [rdx], 3 }",
		NULL};
	/* a condition that writes GUEST_REGS: applied as custom code's writes */
	static const char *const condw[] = {
		"!epthook rax_site asm condition { mov qword ptr [rcx], 9; xor eax, eax } "
		"code { mov qword ptr [rdx], 0x77 }",
		NULL};
	struct prog_run r;
	prog_run(f, int3, 10, &r);
	assert_string_equal(r.out, "rax=10 rsp=0 regs=10 redzone=1870\n");
	assert_int_equal(r.runs, 0);
	assert_true(r.stops <= 10 + 10);
	prog_run(t, int3, 10, &r);
	assert_string_equal(r.out, "rax=1190 rsp=0 regs=10 redzone=1870\n");
	assert_int_equal(r.runs, 0);
	prog_run(order, int3, 10, &r);
	assert_string_equal(r.out, "rax=50 rsp=0 regs=10 redzone=1870\n");
	assert_int_equal(r.runs, 0);
	assert_true(r.stops <= 10 + 10);
	prog_run(condw, int3, 10, &r);
	assert_string_equal(r.out, "rax=90 rsp=0 regs=10 redzone=1870\n");
}

static void test_conditions_and_order_hw(void **state)
{
	(void)state;
	conditions(false);
}

static void test_conditions_and_order_int3(void **state)
{
	(void)state;
	conditions(true);
}

/* A condition-only event breaks when its condition holds: false costs no
 * stop beyond the hit; true stops in the runner and becomes the break (at
 * the hook's address, with the condition's GUEST_REGS writes), and `g`
 * runs the older event the ordinary way. */
struct cond_break {
	uint64_t site;
	int n;
	bool ok;
};

static void at_cond_break(struct sess *s, void *ud)
{
	struct cond_break *c = ud;
	struct user_regs_struct r;
	pid_t tid = target_thread_current(s->t);
	assert_int_equal(target_regs_get(s->t, tid, &r), 0);
	if (r.rip != c->site || r.rax != 0x55)
		c->ok = false;
	c->n++;
}

static void condition_breaks(bool int3)
{
	static const char *const never[] = {"!epthook rax_site asm condition { xor eax, eax }", NULL};
	struct prog_run r;
	prog_run(never, int3, 50, &r);
	assert_string_equal(r.out, "rax=50 rsp=0 regs=50 redzone=9350\n");
	assert_int_equal(r.runs, 0);
	assert_true(r.stops <= 50 + 10);

	struct sess s;
	struct cond_break c = {.ok = true};
	char *argv[] = {(char *)PROG_BIN, (char *)"5", NULL};
	start(&s, argv);
	if (int3)
		take_debug_registers(&s);
	c.site = addr_of(&s, "rax_site");
	cmd(&s, "!epthook rax_site asm code { add qword ptr [rdx], 1 }");
	cmd(&s, "!epthook rax_site asm condition { mov qword ptr [rcx], 0x55; mov eax, 1 }");
	assert_int_equal(go(&s, at_cond_break, &c), 0);
	assert_int_equal(c.n, 5);
	assert_true(c.ok);
	assert_int_equal(s.nbreaks, 5);
	/* 0x55 from the condition, +1 by the older event after `g` */
	assert_string_equal(output(&s), "rax=430 rsp=0 regs=5 redzone=935\n");
	end(&s);
}

static void test_condition_only_event_breaks_hw(void **state)
{
	(void)state;
	condition_breaks(false);
}

static void test_condition_only_event_breaks_int3(void **state)
{
	(void)state;
	condition_breaks(true);
}

/* A crash in the runner's blocks: reported, the registers of the stop given
 * back (rax stays 1), the displaced instruction and the program go on;
 * older events of the same hook still run (a crashing condition is false). */
static void crashes(bool int3)
{
	static const char *const code[] = {
		"!epthook rax_site asm code { mov qword ptr [rdx], 0x99; xor eax, eax; mov rax, [rax] }",
		NULL};
	static const char *const cond[] = {
		"!epthook rax_site asm code { add qword ptr [rdx], 4 }",
		"!epthook rax_site asm condition { ud2 } code { mov qword ptr [rdx], 0x99 }",
		NULL};
	struct prog_run r;
	char want[96];
	int id0 = int3 ? 4 : 0; /* the int3 runs have four events first */
	prog_run(code, int3, 5, &r);
	assert_string_equal(r.out, "rax=5 rsp=0 regs=5 redzone=935\n");
	snprintf(want, sizeof(want), "err, the custom code of event 0x%x crashed (signal 11 at ", id0);
	assert_int_equal(count(r.sink, want), 5);
	assert_int_equal(count(r.sink, ", address 0000000000000000); the thread's registers were "
				       "restored\n"), 5);
	prog_run(cond, int3, 5, &r);
	/* event 1's condition crashes (counts as false), event 0 adds 4 */
	assert_string_equal(r.out, "rax=25 rsp=0 regs=5 redzone=935\n");
	snprintf(want, sizeof(want), "err, the condition of event 0x%x crashed (signal 4 at ", id0 + 1);
	assert_int_equal(count(r.sink, want), 5);
	assert_int_equal(count(r.sink, "crashed"), 5);
}

static void test_crashing_code_reported_and_undone_hw(void **state)
{
	(void)state;
	crashes(false);
}

static void test_crashing_code_reported_and_undone_int3(void **state)
{
	(void)state;
	crashes(true);
}

/* Four threads crashing in the runner at once: each gets its own registers
 * back (tick() still computes x+1 from the rdi the code zeroed). */
static void test_crashes_in_four_threads(void **state)
{
	(void)state;
	build_progs();
	for (int int3 = 0; int3 < 2; int3++) {
		struct sess s;
		char want[96];
		char *argv[] = {(char *)PROG_BIN, (char *)"threads", (char *)"4", (char *)"200", NULL};
		start(&s, argv);
		if (int3)
			take_debug_registers(&s);
		cmd(&s, "!epthook tick asm code { mov qword ptr [rdx], 0; mov qword ptr [rdx+0x38], 0; "
			"xor eax, eax; mov rax, [rax] }");
		unsigned long before = nstops;
		assert_int_equal(go(&s, NULL, NULL), 0);
		assert_non_null(strstr(output(&s), "threads=4 total=800\n"));
		snprintf(want, sizeof(want), "err, the custom code of event 0x%x crashed (signal 11 at ",
			 int3 ? 4 : 0);
		assert_int_equal(count(hd_buf_str(&s.sink), want), 800);
		/* the breakpoint and the fault: two stops per event */
		assert_true(nstops - before <= 1600 + 20);
		end(&s);
	}
}

/* ---- ool_prog: every kind of displaced instruction as continuation ---- */

static const char *const ool_sites[] = {
	"riprel_site", "lea_site",    "callrel_site", "jcc_site",     "jmp8_site",
	"jmp32_site",  "loop_site",   "jrcxz_site",   "callind_site", "callreg_site",
	"store_site",  "cmpimm_site", "ret_site",
};
#define NSITES 13

struct ool_ctx {
	int first;                /* sites[first] is hooked first (gets a debug register) */
	uint64_t buf[NSITES];
	uint64_t hits[NSITES];
	int stage;
};

/* First break (main): libc is loaded; hook exit. Second (exit): read. */
static void ool_break(struct sess *s, void *ud)
{
	struct ool_ctx *c = ud;
	if (c->stage++ == 0) {
		assert_int_equal(sym_refresh(s->sym), 0);
		cmd(s, "!epthook libc!exit");
		return;
	}
	for (int i = 0; i < NSITES; i++)
		assert_int_equal(target_mem_read(s->t, c->buf[i], &c->hits[i], 8), 0);
}

static void test_displaced_instructions_as_continuation(void **state)
{
	(void)state;
	char *plain_argv[] = {(char *)OOL_BIN, (char *)"6", NULL};
	build_progs();
	char *plain = run_plain(plain_argv, NULL);
	/* rotate which sites get the three debug registers left after main's */
	for (int first = 0; first < NSITES; first += 3) {
		struct sess s;
		struct ool_ctx c = {.first = first};
		char line[160];
		start(&s, plain_argv);
		cmd(&s, "!epthook main");
		for (int k = 0; k < NSITES; k++) {
			int i = (first + k) % NSITES;
			snprintf(line, sizeof(line),
				 "!epthook %s buffer 8 asm code { lock inc qword ptr [rcx] }",
				 ool_sites[i]);
			cmd(&s, line);
			struct event *e = event_find(s.tab, (uint32_t)k + 1);
			assert_non_null(e);
			c.buf[i] = e->code_buf;
		}
		unsigned long before = nstops;
		assert_int_equal(go(&s, ool_break, &c), 0);
		unsigned long stops = nstops - before;
		assert_int_equal(c.stage, 2);
		for (int i = 0; i < NSITES; i++) {
			uint64_t want = !strcmp(ool_sites[i], "loop_site") ? 18 : 6;
			if (c.hits[i] != want)
				fail_msg("%s: %llu hits, want %llu", ool_sites[i],
					 (unsigned long long)c.hits[i], (unsigned long long)want);
		}
		assert_string_equal(output(&s), plain);
		assert_int_equal(agent_runs(event_table_agent(s.tab)), 0);
		/* 90 events, 2 breaks, exit */
		assert_true(stops <= 90 + 2 + 10);
		end(&s);
	}
	free(plain);
}

/* ---- threads: exact counts, stops and timing ---- */

struct counter {
	uint64_t buf, value;
};

/* At done() (every worker finished): read the count. */
static void counter_break(struct sess *s, void *ud)
{
	struct counter *c = ud;
	assert_int_equal(target_mem_read(s->t, c->buf, &c->value, 8), 0);
}

/* `onestop_prog threads nth iters` with a counting !epthook on tick(), the
 * only hook armed while the threads run (done()'s break is an int3: the
 * debug registers are taken by events cleared again); @return ns/event. */
static double count_threads(int nth, int iters, bool int3, bool onestop, unsigned long *stops)
{
	struct sess s;
	struct counter c = {0};
	struct timespec t0, t1;
	char a1[16], a2[16], want[64];
	snprintf(a1, sizeof(a1), "%d", nth);
	snprintf(a2, sizeof(a2), "%d", iters);
	char *argv[] = {(char *)PROG_BIN, (char *)"threads", a1, a2, NULL};
	build_progs();
	start(&s, argv);
	s.tab->onestop_off = !onestop;
	uint32_t id = 0, spare = 0;
	if (!int3) {
		cmd(&s, "!epthook tick buffer 8 asm code { lock inc qword ptr [rcx] }");
		id = 0;
		spare = 1;
	}
	for (uint32_t i = spare; i < 4; i++) {
		snprintf(want, sizeof(want), "!epthook spare%u", i + 1);
		cmd(&s, want);
	}
	if (int3) {
		cmd(&s, "!epthook tick buffer 8 asm code { lock inc qword ptr [rcx] }");
		id = 4;
	}
	cmd(&s, "!epthook done");
	struct event *e = event_find(s.tab, id);
	assert_non_null(e);
	c.buf = e->code_buf;
	for (uint32_t i = spare; i < 4; i++) {
		snprintf(want, sizeof(want), "events c %u", i);
		cmd(&s, want);
	}
	unsigned long before = nstops;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(go(&s, counter_break, &c), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*stops = nstops - before;
	uint64_t n = (uint64_t)nth * (uint64_t)iters;
	assert_int_equal(s.nbreaks, 1);
	assert_int_equal(c.value, n);
	snprintf(want, sizeof(want), "threads=%d total=%llu", nth, (unsigned long long)n);
	assert_non_null(strstr(output(&s), want));
	end(&s);
	return secs(&t0, &t1) * 1e9 / (double)n;
}

static void test_four_threads_count_exactly_in_one_stop(void **state)
{
	(void)state;
	unsigned long stops;
	double hw = count_threads(4, 25000, false, true, &stops);
	print_message("hw, 4 threads: 100000 events, %lu ptrace stops, %.0f ns/event\n", stops, hw);
	assert_true(stops >= 100000 && stops < 100000 + 100);
	double i3 = count_threads(4, 25000, true, true, &stops);
	print_message("int3, 4 threads: 100000 events, %lu ptrace stops, %.0f ns/event\n", stops,
		      i3);
	assert_true(stops >= 100000 && stops < 100000 + 100);
}

/* A bare breakpoint of the target layer on tick(): one stop, nothing run;
 * the floor of any ptrace event. @return ns/hit. */
static double bare_breakpoint(int nth, int iters, bool hw)
{
	struct target *t;
	struct target_stop st;
	int out = -1;
	char a1[16], a2[16];
	snprintf(a1, sizeof(a1), "%d", nth);
	snprintf(a2, sizeof(a2), "%d", iters);
	char *argv[] = {(char *)PROG_BIN, (char *)"threads", a1, a2, NULL};
	struct timespec t0, t1;
	build_progs();
	assert_int_equal(start_captured(&t, argv, &out), 0);
	struct sym_session *sym;
	uint64_t step = 0;
	assert_int_equal(sym_open(&sym, target_pid(t)), 0);
	assert_int_equal(sym_lookup(sym, "tick", &step), 0);
	sym_close(sym);
	int slot = -1;
	if (hw)
		assert_true((slot = target_hw_set(t, step, TARGET_HW_EXEC, 1)) >= 0);
	else
		assert_int_equal(target_bp_insert(t, step), 0);
	long hits = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(target_resume_all(t), 0);
	for (;;) {
		assert_int_equal(target_wait(t, &st), 0);
		if (st.kind == TARGET_STOP_EXITED)
			break;
		if (st.kind == TARGET_STOP_BREAKPOINT || st.kind == TARGET_STOP_HWBP)
			hits++;
		if (st.kind != TARGET_STOP_THREAD_EXIT)
			assert_int_equal(target_resume(t, st.tid, TARGET_RESUME_CONT,
						       st.kind == TARGET_STOP_SIGNAL ? st.signo : 0), 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(hits, (long)nth * iters);
	target_free(t);
	close(out);
	return secs(&t0, &t1) * 1e9 / (double)hits;
}

/* The better of two runs (the machine is shared). */
static double best2(double a, double b)
{
	return a < b ? a : b;
}

/* Timing only (printed, not asserted): one-stop, two-stop, bare breakpoint.
 * hdbg and the target pinned to one CPU (as the floor figures in
 * DESIGN.md), then spread over the CPUs with 4 threads. */
static void test_timing(void **state)
{
	(void)state;
	unsigned long stops;
	const int it = 10000;
	cpu_set_t old, one;
	assert_int_equal(sched_getaffinity(0, sizeof(old), &old), 0);
	CPU_ZERO(&one);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &old)) {
			CPU_SET(c, &one);
			break;
		}
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
	double b1 = best2(bare_breakpoint(1, it, false), bare_breakpoint(1, it, false));
	double o1 = best2(count_threads(1, it, true, true, &stops),
			  count_threads(1, it, true, true, &stops));
	double w1 = count_threads(1, it, true, false, &stops);
	double h1 = best2(bare_breakpoint(1, it, true), bare_breakpoint(1, it, true));
	double oh1 = best2(count_threads(1, it, false, true, &stops),
			   count_threads(1, it, false, true, &stops));
	double wh1 = count_threads(1, it, false, false, &stops);
	assert_int_equal(sched_setaffinity(0, sizeof(old), &old), 0);
	print_message("one CPU, %d events, ns/event: int3: bare breakpoint %.0f, one-stop %.0f "
		      "(%.2fx), two-stop %.0f (%.2fx)\n", it, b1, o1, o1 / b1, w1, w1 / b1);
	print_message("one CPU, %d events, ns/event: hw: bare breakpoint %.0f, one-stop %.0f "
		      "(%.2fx), two-stop %.0f (%.2fx)\n", it, h1, oh1, oh1 / h1, wh1, wh1 / h1);
	double b4 = bare_breakpoint(4, it / 4, false);
	double o4 = count_threads(4, it / 4, true, true, &stops);
	double w4 = count_threads(4, it / 4, true, false, &stops);
	print_message("all CPUs, 4 threads, %d events, ns/event: int3: bare breakpoint %.0f, "
		      "one-stop %.0f (%.2fx), two-stop %.0f (%.2fx)\n", it, b4, o4, o4 / b4, w4,
		      w4 / b4);
}

/* ---- the seed's example (poolsim prints the tag it received) ---- */

static void test_seed_example_in_one_stop(void **state)
{
	(void)state;
	for (int int3 = 0; int3 < 2; int3++) {
		struct sess s;
		char *argv[] = {(char *)POOLSIM, (char *)"3", NULL};
		start(&s, argv);
		if (int3) {
			uint64_t m = addr_of(&s, "main");
			char line[64];
			for (int i = 1; i <= 4; i++) {
				snprintf(line, sizeof(line), "!epthook %llx asm code { nop }",
					 (unsigned long long)(m + (uint64_t)i));
				cmd(&s, line);
			}
		}
		cmd(&s, "!epthook ExAllocatePoolWithTag code "
			"{488B5A404881FB484442477402EB0848C7424048444232C3}");
		unsigned long before = nstops;
		assert_int_equal(go(&s, NULL, NULL), 0);
		assert_int_equal(count(output(&s), "Tag='HDB2')"), 3);
		assert_int_equal(agent_runs(event_table_agent(s.tab)), 0);
		assert_true(nstops - before <= 3 + 10);
		end(&s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registers_rsp_rax_flags_red_zone_hw),
		cmocka_unit_test(test_registers_rsp_rax_flags_red_zone_int3),
		cmocka_unit_test(test_two_stop_path_counts_twice),
		cmocka_unit_test(test_conditions_and_order_hw),
		cmocka_unit_test(test_conditions_and_order_int3),
		cmocka_unit_test(test_condition_only_event_breaks_hw),
		cmocka_unit_test(test_condition_only_event_breaks_int3),
		cmocka_unit_test(test_crashing_code_reported_and_undone_hw),
		cmocka_unit_test(test_crashing_code_reported_and_undone_int3),
		cmocka_unit_test(test_crashes_in_four_threads),
		cmocka_unit_test(test_displaced_instructions_as_continuation),
		cmocka_unit_test(test_seed_example_in_one_stop),
		cmocka_unit_test(test_four_threads_count_exactly_in_one_stop),
		cmocka_unit_test(test_timing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
