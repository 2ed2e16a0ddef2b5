/*
** test_step.c: a user's single step (`t`) over an instruction that a trap
** event kind handles: event_handle_step_stop() runs the event once, the
** instruction is completed (emulated, executed with the page open, the
** syscall run, the signal delivered) and the step ends after it with the
** thread still stopped; event_step_paused() completes the instruction of
** an event's break. On a small program compiled at test time whose
** instructions carry labels (X_i: the instruction, X_n: the next one).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <cpuid.h>
#include <signal.h>
#include <sys/user.h>

#include "test_kinds_sess.h"

static const char step_prog_src[] =
	"#define _GNU_SOURCE\n"
	"#include <signal.h>\n#include <stdio.h>\n#include <string.h>\n#include <ucontext.h>\n"
	"volatile long watched __attribute__((aligned(8)));\n"
	"volatile long page[512] __attribute__((aligned(4096)));\n"
	"static volatile int handled;\n"
	"unsigned long long s_tsc(void); unsigned s_cpuid(void); long s_sys(void);\n"
	"void s_write(volatile long *p, long v); void s_write2(volatile long *p, long v);\n"
	"void s_ud2(void);\n"
	"__asm__(\".text\\n"
	".globl s_tsc, s_tsc_i, s_tsc_n\\ns_tsc: nop\\ns_tsc_i: rdtsc\\n"
	"s_tsc_n: shl $32, %rdx\\nor %rdx, %rax\\nret\\n"
	".globl s_cpuid, s_cpuid_i, s_cpuid_n\\ns_cpuid: push %rbx\\nxor %eax, %eax\\n"
	"xor %ecx, %ecx\\ns_cpuid_i: cpuid\\ns_cpuid_n: mov %ebx, %eax\\npop %rbx\\nret\\n"
	".globl s_write, s_write_i, s_write_n\\ns_write: nop\\ns_write_i: mov %rsi, (%rdi)\\n"
	"s_write_n: ret\\n"
	".globl s_write2, s_write2_i, s_write2_n\\ns_write2: nop\\ns_write2_i: mov %rsi, (%rdi)\\n"
	"s_write2_n: ret\\n"
	".globl s_sys, s_sys_i, s_sys_n\\ns_sys: mov $110, %eax\\ns_sys_i: syscall\\n"
	"s_sys_n: ret\\n"
	".globl s_ud2, s_ud2_i, s_ud2_n\\ns_ud2: nop\\ns_ud2_i: ud2\\ns_ud2_n: ret\\n\");\n"
	"void on_ill(int s, siginfo_t *si, void *uc) {\n"
	"  (void)s; (void)si; handled++; ((ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP] += 2;\n"
	"}\n"
	"int main(void) {\n"
	"  struct sigaction sa; memset(&sa, 0, sizeof(sa));\n"
	"  sa.sa_sigaction = on_ill; sa.sa_flags = SA_SIGINFO; sigaction(SIGILL, &sa, NULL);\n"
	"  setvbuf(stdout, NULL, _IONBF, 0);\n"
	"  unsigned long long t = s_tsc();\n"
	"  unsigned b = s_cpuid();\n"
	"  s_write(&watched, 7);\n"
	"  s_write2(&page[100], 9);\n"
	"  long pp = s_sys();\n"
	"  s_ud2();\n"
	"  printf(\"tsc=%d cpuid=%x watched=%ld page=%ld ppid=%ld ill=%d\\n\", t != 0, b, watched,\n"
	"         page[100], pp, handled);\n"
	"  return 0;\n"
	"}\n";

static char step_dir[64];

static void step_prog_remove(void)
{
	char p[128];
	snprintf(p, sizeof(p), "%s/prog", step_dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/prog.c", step_dir);
	unlink(p);
	rmdir(step_dir);
}

static const char *step_prog(void)
{
	static char path[256];
	if (path[0])
		return path;
	snprintf(step_dir, sizeof(step_dir), "/tmp/hd_step_XXXXXX");
	assert_non_null(mkdtemp(step_dir));
	atexit(step_prog_remove);
	char src[300], cmdline[800];
	snprintf(src, sizeof(src), "%s/prog.c", step_dir);
	snprintf(path, sizeof(path), "%s/prog", step_dir);
	FILE *f = fopen(src, "w");
	assert_non_null(f);
	fputs(step_prog_src, f);
	fclose(f);
	snprintf(cmdline, sizeof(cmdline), "cc -O1 -no-pie -o %s %s", path, src);
	assert_int_equal(system(cmdline), 0);
	return path;
}

static uint64_t sym(const char *name)
{
	char cmdline[400], line[256];
	uint64_t a = 0;
	snprintf(cmdline, sizeof(cmdline), "nm %s", step_prog());
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

/* Start the program and run it (no events yet) to the instruction at
 * label `at` (a temporary breakpoint, removed): the thread stops there. */
static void start_at(struct sess *s, const char *at)
{
	struct target_stop st;
	int fds[2];
	char *argv[] = {(char *)step_prog(), NULL};
	struct target_start_opts o = {0};
	uint64_t addr = sym(at);

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
	assert_int_equal(target_bp_insert(s->t, addr), 0);
	assert_int_equal(target_resume_all(s->t), 0);
	for (;;) {
		assert_int_equal(target_wait(s->t, &st), 0);
		if (st.kind == TARGET_STOP_BREAKPOINT && st.addr == addr)
			break;
		assert_true(st.kind != TARGET_STOP_EXITED && st.kind != TARGET_STOP_KILLED);
		assert_int_equal(target_resume(s->t, st.tid, TARGET_RESUME_CONT,
					       st.kind == TARGET_STOP_SIGNAL ? st.signo : 0), 0);
	}
	assert_int_equal(target_bp_remove(s->t, addr), 0);
	assert_int_equal(target_thread_select(s->t, st.tid), 0);
	sess_table(s);
}

static uint64_t rip_of(struct sess *s)
{
	struct user_regs_struct r;
	assert_int_equal(target_regs_get(s->t, target_thread_current(s->t), &r), 0);
	return r.rip;
}

/* One `t` of the current thread as the command layer does it; @return the
 * verdict kind (its text appended to the sink). */
static enum event_verdict_kind user_step(struct sess *s)
{
	struct target_stop st;
	struct event_verdict v = {0};
	pid_t tid = target_thread_current(s->t);
	assert_int_equal(event_step_paused(s->tab, tid, &st, &v), 0);
	if (v.kind == EVENT_VERDICT_NONE && st.kind == TARGET_STOP_NONE) {
		assert_int_equal(target_step(s->t, tid, &st), 0);
		assert_int_equal(event_handle_step_stop(s->tab, s->t, tid, &st, &v), 0);
	}
	if (v.kind == EVENT_VERDICT_NONE) /* nobody's: must be the end of a plain step */
		assert_int_equal(st.kind, TARGET_STOP_STEP);
	hd_buf_printf(&s->sink, "%s", hd_buf_str(&v.text));
	hd_buf_free(&v.text);
	return v.kind == EVENT_VERDICT_NONE ? EVENT_VERDICT_STEPPED : v.kind;
}

/* Clear the events and run to the end: the program's line. */
static char *finish_run(struct sess *s)
{
	assert_int_equal(event_clear_all(s->tab), 0);
	assert_int_equal(go(s, NULL, NULL), 0);
	return output(s);
}

static void test_tsc(void **state)
{
	(void)state;
	struct sess s;
	struct user_regs_struct r;
	start_at(&s, "s_tsc_i");
	cmd(&s, "!tsc script { printf(\"tsc %x\\n\", $context); }", NULL);
	assert_int_equal(user_step(&s), EVENT_VERDICT_STEPPED);
	assert_int_equal(rip_of(&s), sym("s_tsc_n"));
	assert_string_equal(hd_buf_str(&s.sink), "tsc 0\n");
	assert_int_equal(target_regs_get(s.t, target_thread_current(s.t), &r), 0);
	assert_true(r.rax != 0 || r.rdx != 0); /* emulated: hdbg's TSC */
	/* a plain step after it: no event */
	assert_int_equal(user_step(&s), EVENT_VERDICT_STEPPED);
	assert_int_equal(rip_of(&s), sym("s_tsc_n") + 4);
	assert_string_equal(hd_buf_str(&s.sink), "tsc 0\n");
	assert_non_null(strstr(finish_run(&s), "tsc=1 "));
	end(&s);
}

/* A break during the step ends it before the instruction; `t` from that
 * break completes it (the event does not run again). */
static void test_tsc_break_then_step(void **state)
{
	(void)state;
	struct sess s;
	start_at(&s, "s_tsc_i");
	cmd(&s, "!tsc", NULL);
	assert_int_equal(user_step(&s), EVENT_VERDICT_BREAK);
	assert_string_equal(hd_buf_str(&s.sink), "event 0x0 triggered (pre)\n");
	assert_int_equal(rip_of(&s), sym("s_tsc_i"));
	assert_true(event_paused(s.tab));
	assert_int_equal(user_step(&s), EVENT_VERDICT_STEPPED);
	assert_false(event_paused(s.tab));
	assert_int_equal(rip_of(&s), sym("s_tsc_n"));
	assert_string_equal(hd_buf_str(&s.sink), "event 0x0 triggered (pre)\n");
	assert_non_null(strstr(finish_run(&s), "tsc=1 "));
	end(&s);
}

/* `events sc on` at the break, then `t`: the instruction is skipped (no
 * emulation: rax/rdx keep their values), the step still ends after it. */
static void test_tsc_break_sc_then_step(void **state)
{
	(void)state;
	struct sess s;
	struct user_regs_struct r0, r1;
	start_at(&s, "s_tsc_i");
	cmd(&s, "!tsc", NULL);
	assert_int_equal(user_step(&s), EVENT_VERDICT_BREAK);
	assert_int_equal(target_regs_get(s.t, target_thread_current(s.t), &r0), 0);
	cmd(&s, "events sc on", NULL);
	assert_int_equal(user_step(&s), EVENT_VERDICT_STEPPED);
	assert_int_equal(target_regs_get(s.t, target_thread_current(s.t), &r1), 0);
	assert_int_equal(r1.rip, sym("s_tsc_n"));
	assert_int_equal(r1.rax, r0.rax);
	assert_int_equal(r1.rdx, r0.rdx);
	finish_run(&s);
	end(&s);
}

/* pause() during the step ends it at the call (before the instruction);
 * `t` from the pause runs the rest of the script (its registers and
 * event_sc) and completes the instruction as the step. */
static void test_tsc_pause_then_step(void **state)
{
	(void)state;
	struct sess s;
	struct user_regs_struct r;
	start_at(&s, "s_tsc_i");
	cmd(&s, "!tsc script { printf(\"a\\n\"); pause(); printf(\"b\\n\"); @rax = 0x11; "
		"@rdx = 0x22; event_sc(1); }", NULL);
	assert_int_equal(user_step(&s), EVENT_VERDICT_BREAK);
	assert_string_equal(hd_buf_str(&s.sink), "a\nevent 0x0 triggered (pre)\n");
	assert_int_equal(rip_of(&s), sym("s_tsc_i"));
	assert_true(event_paused(s.tab));
	assert_int_equal(user_step(&s), EVENT_VERDICT_STEPPED);
	assert_false(event_paused(s.tab));
	assert_string_equal(hd_buf_str(&s.sink), "a\nevent 0x0 triggered (pre)\nb\n");
	assert_int_equal(target_regs_get(s.t, target_thread_current(s.t), &r), 0);
	assert_int_equal(r.rip, sym("s_tsc_n"));
	assert_int_equal(r.rax, 0x11);  /* short-circuited: the script's values */
	assert_int_equal(r.rdx, 0x22);
	finish_run(&s);
	end(&s);
}

/* `t` from a pause in the pre pass of a `stage all` event: the rest runs,
 * the syscall runs in the step and its post pass in the same step. */
static void test_syscall_pause_then_step(void **state)
{
	(void)state;
	struct sess s;
	struct user_regs_struct r;
	start_at(&s, "s_sys_i");
	cmd(&s, "!syscall 6e stage all script { if ($event_stage == 0) { pause(); } "
		"printf(\"sys %x\\n\", $event_stage); }", NULL);
	assert_int_equal(user_step(&s), EVENT_VERDICT_BREAK);
	assert_string_equal(hd_buf_str(&s.sink), "event 0x0 triggered (pre)\n");
	assert_int_equal(user_step(&s), EVENT_VERDICT_STEPPED);
	assert_string_equal(hd_buf_str(&s.sink), "event 0x0 triggered (pre)\nsys 0\nsys 1\n");
	assert_int_equal(target_regs_get(s.t, target_thread_current(s.t), &r), 0);
	assert_int_equal(r.rip, sym("s_sys_n"));
	assert_int_equal((long)r.rax, (long)getpid());
	finish_run(&s);
	end(&s);
}

/* A suspended run is dropped when its event is cleared at the prompt (the
 * occurrence goes on without it) and when the target is released while
 * paused: nothing of the rest runs, nothing leaks (sanitizer build). */
static void test_pause_dropped(void **state)
{
	(void)state;
	struct sess s;
	start_at(&s, "s_tsc_i");
	cmd(&s, "!tsc script { pause(); printf(\"never\\n\"); }", NULL);
	assert_int_equal(user_step(&s), EVENT_VERDICT_BREAK);
	cmd(&s, "events c 0", NULL);
	assert_true(event_paused(s.tab));
	assert_int_equal(user_step(&s), EVENT_VERDICT_STEPPED);
	assert_int_equal(rip_of(&s), sym("s_tsc_n"));
	assert_non_null(strstr(finish_run(&s), "tsc=1 "));
	assert_null(strstr(hd_buf_str(&s.sink), "never"));
	end(&s);

	start_at(&s, "s_tsc_i");
	cmd(&s, "!tsc script { pause(); printf(\"never\\n\"); }", NULL);
	assert_int_equal(user_step(&s), EVENT_VERDICT_BREAK);
	assert_true(event_paused(s.tab));
	end(&s);                /* released and killed while paused */
}

static void test_cpuid(void **state)
{
	(void)state;
	struct sess s;
	struct user_regs_struct r;
	struct hd_buf out = {0};
	unsigned a, b, c, d;
	char want[64];
	start_at(&s, "s_cpuid_i");
	if (cmd(&s, "!cpuid 0 stage all script { printf(\"cpuid %x %x\\n\", $context, $event_stage); }",
		&out) < 0) {
		print_message("SKIPPED: %s", hd_buf_str(&out));
		hd_buf_free(&out);
		end(&s);
		skip();
	}
	hd_buf_free(&out);
	assert_int_equal(user_step(&s), EVENT_VERDICT_STEPPED);
	assert_int_equal(rip_of(&s), sym("s_cpuid_n"));
	assert_string_equal(hd_buf_str(&s.sink), "cpuid 0 0\ncpuid 0 1\n");
	__cpuid(0, a, b, c, d);
	assert_int_equal(target_regs_get(s.t, target_thread_current(s.t), &r), 0);
	assert_int_equal((uint32_t)r.rbx, b);
	snprintf(want, sizeof(want), "cpuid=%x ", b);
	assert_non_null(strstr(finish_run(&s), want));
	end(&s);
}

/* Debug registers: the write is seen once (pre: old bytes), it is done
 * when the step ends. */
static void test_monitor_dr(void **state)
{
	(void)state;
	struct sess s;
	char c[200];
	long v = 0;
	uint64_t a = sym("watched");
	start_at(&s, "s_write_i");
	snprintf(c, sizeof(c), "!monitor w %llx l 8 script { printf(\"w %%llx\\n\", dq($context)); }",
		 (unsigned long long)a);
	cmd(&s, c, NULL);
	assert_int_equal(user_step(&s), EVENT_VERDICT_STEPPED);
	assert_int_equal(rip_of(&s), sym("s_write_n"));
	assert_string_equal(hd_buf_str(&s.sink), "w 0\n");
	assert_int_equal(target_mem_read(s.t, a, &v, sizeof(v)), 0);
	assert_int_equal(v, 7);
	assert_non_null(strstr(finish_run(&s), "watched=7 "));
	end(&s);
}

static void page_perm(struct sess *s, uint64_t addr, char perm[5])
{
	char path[64], line[512];
	uint64_t lo, hi;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)s->pid);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	perm[0] = 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s", &lo, &hi, perm) == 3 && lo <= addr &&
		    addr < hi)
			break;
	fclose(f);
}

/* Page protection: the access faults, the event runs once before it, the
 * step runs it with the page open and ends after it, protected again;
 * with `stage all` the post pass runs in the same step. */
static void test_monitor_pp(void **state)
{
	(void)state;
	struct sess s;
	char c[200], perm[5];
	long v = 0;
	uint64_t a = sym("page") + 100 * 8;
	start_at(&s, "s_write2_i");
	snprintf(c, sizeof(c), "!monitor w %llx l 40 stage all script { printf(\"w %%x %%llx\\n\", "
		 "$event_stage, dq($context)); }", (unsigned long long)a);
	cmd(&s, c, NULL);
	page_perm(&s, a, perm);
	assert_string_equal(perm, "r--p");
	assert_int_equal(user_step(&s), EVENT_VERDICT_STEPPED);
	assert_int_equal(rip_of(&s), sym("s_write2_n"));
	assert_string_equal(hd_buf_str(&s.sink), "w 0 0\nw 1 9\n");
	assert_int_equal(target_mem_read(s.t, a, &v, sizeof(v)), 0);
	assert_int_equal(v, 9);
	page_perm(&s, a, perm);
	assert_string_equal(perm, "r--p");
	assert_non_null(strstr(finish_run(&s), "page=9 "));
	end(&s);
}

/* Page protection, `t` from the event's break: the write is done by the
 * step, the event does not run again. */
static void test_monitor_pp_break_then_step(void **state)
{
	(void)state;
	struct sess s;
	char c[200];
	long v = 1;
	uint64_t a = sym("page") + 100 * 8;
	start_at(&s, "s_write2_i");
	snprintf(c, sizeof(c), "!monitor w %llx l 40", (unsigned long long)a);
	cmd(&s, c, NULL);
	assert_int_equal(user_step(&s), EVENT_VERDICT_BREAK);
	assert_int_equal(rip_of(&s), sym("s_write2_i"));
	assert_int_equal(target_mem_read(s.t, a, &v, sizeof(v)), 0);
	assert_int_equal(v, 0);
	assert_int_equal(user_step(&s), EVENT_VERDICT_STEPPED);
	assert_int_equal(rip_of(&s), sym("s_write2_n"));
	assert_int_equal(target_mem_read(s.t, a, &v, sizeof(v)), 0);
	assert_int_equal(v, 9);
	assert_string_equal(hd_buf_str(&s.sink), "event 0x0 triggered (pre)\n");
	assert_non_null(strstr(finish_run(&s), "page=9 "));
	end(&s);
}

/* Stepping over `syscall` with !syscall (pre and post): the event runs
 * once per stage, the syscall runs once, the step ends after it. */
static void test_syscall(void **state)
{
	(void)state;
	struct sess s;
	struct user_regs_struct r;
	char want[64];
	start_at(&s, "s_sys_i");
	cmd(&s, "!syscall 6e stage all script { printf(\"sys %x %x\\n\", $context, $event_stage); }",
	    NULL);
	assert_int_equal(user_step(&s), EVENT_VERDICT_STEPPED);
	assert_int_equal(rip_of(&s), sym("s_sys_n"));
	assert_string_equal(hd_buf_str(&s.sink), "sys 6e 0\nsys 6e 1\n");
	assert_int_equal(target_regs_get(s.t, target_thread_current(s.t), &r), 0);
	assert_int_equal((long)r.rax, (long)getpid()); /* getppid() of our child */
	snprintf(want, sizeof(want), "ppid=%ld ", (long)getpid());
	assert_non_null(strstr(finish_run(&s), want));
	end(&s);
}

/* Pre stage only, short-circuited: the syscall does not run, its result is
 * the script's, the step still ends after the instruction. */
static void test_syscall_sc(void **state)
{
	(void)state;
	struct sess s;
	struct user_regs_struct r;
	start_at(&s, "s_sys_i");
	cmd(&s, "!syscall 6e sc on script { @rax = 0x1234; }", NULL);
	assert_int_equal(user_step(&s), EVENT_VERDICT_STEPPED);
	assert_int_equal(rip_of(&s), sym("s_sys_n"));
	assert_int_equal(target_regs_get(s.t, target_thread_current(s.t), &r), 0);
	assert_int_equal(r.rax, 0x1234);
	assert_non_null(strstr(finish_run(&s), "ppid=4660 "));
	end(&s);
}

/* ud2 raises SIGILL: !exception runs once, the signal is delivered by the
 * step, which ends at the handler's first instruction. */
static void test_exception(void **state)
{
	(void)state;
	struct sess s;
	start_at(&s, "s_ud2_i");
	cmd(&s, "!exception 4 script { printf(\"sig %x\\n\", $context); }", NULL);
	assert_int_equal(user_step(&s), EVENT_VERDICT_STEPPED);
	assert_int_equal(rip_of(&s), sym("on_ill"));
	assert_string_equal(hd_buf_str(&s.sink), "sig 4\n");
	assert_non_null(strstr(finish_run(&s), "ill=1\n"));
	end(&s);
}

/* sc: the signal is suppressed (never delivered later either), the step
 * ends where the thread stands. */
static void test_exception_sc(void **state)
{
	(void)state;
	struct sess s;
	start_at(&s, "s_ud2_i");
	cmd(&s, "!exception 4 sc on script { printf(\"sig %x\\n\", $context); }", NULL);
	assert_int_equal(user_step(&s), EVENT_VERDICT_STEPPED);
	assert_int_equal(rip_of(&s), sym("s_ud2_i"));
	assert_string_equal(hd_buf_str(&s.sink), "sig 4\n");
	/* not delivered by the next resume: the ud2 runs again and raises
	 * it once more (a new signal stop), then its handler runs once */
	assert_non_null(strstr(finish_run(&s), "ill=1\n"));
	assert_int_equal(s.nstops[TARGET_STOP_SIGNAL], 1);
	end(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tsc),
		cmocka_unit_test(test_tsc_break_then_step),
		cmocka_unit_test(test_tsc_break_sc_then_step),
		cmocka_unit_test(test_tsc_pause_then_step),
		cmocka_unit_test(test_syscall_pause_then_step),
		cmocka_unit_test(test_pause_dropped),
		cmocka_unit_test(test_cpuid),
		cmocka_unit_test(test_monitor_dr),
		cmocka_unit_test(test_monitor_pp),
		cmocka_unit_test(test_monitor_pp_break_then_step),
		cmocka_unit_test(test_syscall),
		cmocka_unit_test(test_syscall_sc),
		cmocka_unit_test(test_exception),
		cmocka_unit_test(test_exception_sc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
