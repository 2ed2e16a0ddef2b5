/*
** test_epthook.c: events end to end on real processes (target, agent,
** script VM, symbols): !epthook with the break action, scripts (printf,
** register writes, pseudo-registers, event_disable/clear, pause), the
** seed's custom code in hex and assembly, conditions, buffers, ordering
** (newest first, script before code), continuation after a break, hidden
** hooks (debug registers first, int3 when they run out) and four threads
** counting in a buffer.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "event/event.h"
#include "event/internal.h"
#include "helpers.h"
#include "sym/sym.h"
#include "target/target.h"

#define POOLSIM HD_BINARY_DIR "/targets/poolsim"
#define THREADS HD_BINARY_DIR "/targets/threads"

/* agent_run_code needs these from the target layer; without them the
 * tests that run code in the target are skipped with a message. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wredundant-decls"
int target_wait_thread(struct target *t, pid_t tid, struct target_stop *stop)
	__attribute__((weak));
uint64_t target_bp_hit(struct target *t, pid_t tid) __attribute__((weak));
int target_bp_hit_set(struct target *t, pid_t tid, uint64_t addr) __attribute__((weak));
#pragma GCC diagnostic pop

static void need_agent(void)
{
	if (!target_wait_thread || !target_bp_hit || !target_bp_hit_set) {
		print_message("SKIPPED: the target layer lacks target_wait_thread/target_bp_hit/"
			      "target_bp_hit_set, which agent_run_code needs\n");
		skip();
	}
}

struct sess {
	struct target *t;
	pid_t pid;
	int out;                 /* the target's stdout */
	struct sym_session *sym;
	struct script_globals *globals;
	struct event_table *tab;
	struct hd_buf sink;      /* script output */
	struct hd_buf breaks;    /* verdict texts of the breaks */
	int nbreaks;
	int execs;
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

/* Run an event command; @return its rc, the text in `out` (may be NULL). */
static int cmd(struct sess *s, const char *line, struct hd_buf *out)
{
	struct toks tk;
	struct hd_buf tmp = {0};
	tokenize(line, &tk);
	int rc = !strcasecmp(tk.v[0].text, "events")
			 ? event_events_command(s->tab, tk.v, tk.n, out ? out : &tmp)
			 : event_command(s->tab, tk.v, tk.n, target_thread_current(s->t), NULL,
					 out ? out : &tmp);
	if (rc < 0 && !out)
		fail_msg("'%s' failed: %s", line, hd_buf_str(&tmp));
	toks_free(&tk);
	hd_buf_free(&tmp);
	return rc;
}

typedef void (*break_fn)(struct sess *s, const struct event_verdict *v, void *ud);

/* The run loop as `g` does it: every stop goes to the events first. At a
 * break: all-stop, `on_break`, then event_continue() and resume all.
 * @return the exit status. */
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
		case TARGET_STOP_EXEC: {
			struct hd_buf out = {0};
			assert_int_equal(sym_refresh(s->sym), 0);
			assert_int_equal(event_target_exec(s->tab, st.tid, &out), 0);
			assert_string_equal(hd_buf_str(&out), "");
			hd_buf_free(&out);
			s->execs++;
			assert_int_equal(target_resume(s->t, st.tid, TARGET_RESUME_CONT, 0), 0);
			continue;
		}
		case TARGET_STOP_SIGNAL:
			assert_int_equal(target_resume(s->t, st.tid, TARGET_RESUME_CONT, st.signo), 0);
			continue;
		case TARGET_STOP_BREAKPOINT:
		case TARGET_STOP_HWBP:
			fail_msg("breakpoint stop at %llx not claimed by an event",
				 (unsigned long long)st.addr);
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
	hd_buf_free(&s->breaks);
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
	assert_int_equal(sym_lookup(s->sym, name, &a), 0);
	return a;
}

/* The byte the CPU sees (not the target layer's hidden view). */
static uint8_t raw_byte(struct sess *s, uint64_t addr)
{
	char path[64];
	uint8_t b = 0;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)s->pid);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, (off_t)addr), 1);
	close(fd);
	return b;
}

/* ---- break ---- */

struct break_seen {
	uint64_t rip[8];
	int n;
};

static void record_rip(struct sess *s, const struct event_verdict *v, void *ud)
{
	struct break_seen *b = ud;
	struct user_regs_struct r;
	assert_int_equal(target_regs_get(s->t, v->tid, &r), 0);
	if (b->n < 8)
		b->rip[b->n++] = r.rip;
	assert_true(event_paused(s->tab));
}

static void test_break_action_stops_at_the_hook(void **state)
{
	(void)state;
	struct sess s;
	struct break_seen seen = {0};
	char *argv[] = {(char *)POOLSIM, (char *)"2", NULL};
	start(&s, argv);
	uint64_t fn = addr_of(&s, "ExAllocatePoolWithTag");
	uint8_t orig = raw_byte(&s, fn);
	cmd(&s, "!epthook ExAllocatePoolWithTag", NULL);
	/* a debug register: not one byte of the target changed */
	assert_int_equal(raw_byte(&s, fn), orig);
	assert_int_equal(go(&s, record_rip, &seen), 0);
	assert_string_equal(hd_buf_str(&s.breaks),
			    "event 0x0 triggered (pre)\nevent 0x0 triggered (pre)\n");
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.rip[0], fn);
	assert_int_equal(seen.rip[1], fn);
	assert_int_equal(count(output(&s), "Tag='HDBG')"), 2);
	end(&s);
}

/* ---- scripts ---- */

static void test_script_printf_with_event_pseudo_registers(void **state)
{
	(void)state;
	struct sess s;
	char want[256];
	char *argv[] = {(char *)POOLSIM, (char *)"3", NULL};
	start(&s, argv);
	uint64_t fn = addr_of(&s, "ExAllocatePoolWithTag");
	cmd(&s, "!epthook main", NULL);   /* id 0, never hit... */
	cmd(&s, "events c 0", NULL);      /* ...and cleared: the next id is 1 */
	cmd(&s, "!epthook ExAllocatePoolWithTag script { printf(\"tag=%x ctx=%llx id=%x "
		"evtag=%x stage=%x buf=%llx rip=%llx\\n\", @r8, $context, $event_id, $event_tag, "
		"$event_stage, $buffer, @rip); }", NULL);
	assert_int_equal(go(&s, NULL, NULL), 0);
	snprintf(want, sizeof(want),
		 "tag=47424448 ctx=%llx id=1 evtag=1000001 stage=0 buf=0 rip=%llx\n",
		 (unsigned long long)fn, (unsigned long long)fn);
	assert_int_equal(count(hd_buf_str(&s.sink), want), 3);
	assert_int_equal(s.nbreaks, 0);
	assert_int_equal(count(output(&s), "Tag='HDBG')"), 3);
	end(&s);
}

static void test_script_register_write_reaches_the_thread(void **state)
{
	(void)state;
	struct sess s;
	char *argv[] = {(char *)POOLSIM, (char *)"2", NULL};
	start(&s, argv);
	cmd(&s, "!epthook ExAllocatePoolWithTag script { if (@r8 == 47424448) { "
		"@r8 = 32424448; } }", NULL);
	assert_int_equal(go(&s, NULL, NULL), 0);
	assert_int_equal(count(output(&s), "Tag='HDB2')"), 2);
	end(&s);
}

static void test_newest_event_runs_first(void **state)
{
	(void)state;
	struct sess s;
	char *argv[] = {(char *)POOLSIM, (char *)"2", NULL};
	start(&s, argv);
	cmd(&s, "!epthook ExAllocatePoolWithTag script { printf(\"old \"); }", NULL);
	cmd(&s, "!epthook ExAllocatePoolWithTag script { printf(\"new \"); }", NULL);
	assert_int_equal(go(&s, NULL, NULL), 0);
	assert_string_equal(hd_buf_str(&s.sink), "new old new old ");
	end(&s);
}

static void test_event_disable_and_clear_from_scripts(void **state)
{
	(void)state;
	struct sess s;
	struct hd_buf out = {0};
	char *argv[] = {(char *)POOLSIM, (char *)"4", NULL};
	start(&s, argv);
	cmd(&s, "!epthook ExAllocatePoolWithTag script { printf(\"A\"); event_disable($event_id); }",
	    NULL);
	cmd(&s, "!epthook ExAllocatePoolWithTag script { printf(\"B\"); event_clear(1); "
		"printf(\"b\"); }", NULL);
	cmd(&s, "!epthook ExAllocatePoolWithTag script { printf(\"C\"); event_enable(9); }", NULL);
	assert_int_equal(go(&s, NULL, NULL), 0);
	/* hit 1: C, B clears itself (its script ends), A disables itself;
	 * later hits: C only */
	assert_string_equal(hd_buf_str(&s.sink),
			    "CInvalid tag id (9)\nBbA" "CInvalid tag id (9)\n"
			    "CInvalid tag id (9)\n" "CInvalid tag id (9)\n");
	assert_int_equal(cmd(&s, "events", &out), 0);
	assert_string_equal(hd_buf_str(&out),
			    "0\t(disabled)\t    !epthook ExAllocatePoolWithTag script { printf(\"A\"); "
			    "event_disable($ev...\n"
			    "2\t(enabled)\t    !epthook ExAllocatePoolWithTag script { printf(\"C\"); "
			    "event_enable(9); ...\n");
	hd_buf_free(&out);
	end(&s);
}

/* A break in the middle: the older events run when `g` continues. */
static void check_nothing_old_yet(struct sess *s, const struct event_verdict *v, void *ud)
{
	(void)v;
	(void)ud;
	uint64_t id = 99;
	assert_int_equal(event_pseudo_read(s->tab, 12, &id), 0); /* $event_id */
	assert_int_equal(id, v->id);
	assert_null(strstr(hd_buf_str(&s->sink), "old"));
	/* pause() breaks at the call: the rest of that script waits too */
	if (v->id == 2)
		assert_string_equal(hd_buf_str(&s->sink), "before\n");
}

static void test_break_then_g_runs_the_older_events(void **state)
{
	(void)state;
	struct sess s;
	char *argv[] = {(char *)POOLSIM, (char *)"1", NULL};
	start(&s, argv);
	cmd(&s, "!epthook ExAllocatePoolWithTag script { printf(\"old\\n\"); }", NULL);
	cmd(&s, "!epthook ExAllocatePoolWithTag", NULL);
	cmd(&s, "!epthook ExAllocatePoolWithTag script { printf(\"before\\n\"); pause(); "
		"printf(\"after\\n\"); }", NULL);
	assert_int_equal(go(&s, check_nothing_old_yet, NULL), 0);
	assert_string_equal(hd_buf_str(&s.breaks),
			    "event 0x2 triggered (pre)\nevent 0x1 triggered (pre)\n");
	assert_string_equal(hd_buf_str(&s.sink), "before\nafter\nold\n");
	assert_false(event_paused(s.tab));
	end(&s);
}

static void sc_while_paused(struct sess *s, const struct event_verdict *v, void *ud)
{
	(void)v;
	(void)ud;
	struct hd_buf out = {0};
	/* !epthook has nothing to skip: `events sc on` says so, `off` is fine */
	assert_int_equal(cmd(s, "events sc on", &out), -HD_E_UNSUPPORTED);
	assert_string_equal(hd_buf_str(&out),
			    "err, short-circuiting is not supported by '!epthook'\n");
	hd_buf_reset(&out);
	assert_int_equal(cmd(s, "events sc off", &out), 0);
	assert_string_equal(hd_buf_str(&out), "");
	hd_buf_free(&out);
}

static void test_events_sc_while_paused(void **state)
{
	(void)state;
	struct sess s;
	char *argv[] = {(char *)POOLSIM, (char *)"1", NULL};
	start(&s, argv);
	cmd(&s, "!epthook ExAllocatePoolWithTag", NULL);
	assert_int_equal(go(&s, sc_while_paused, NULL), 0);
	assert_int_equal(s.nbreaks, 1);
	/* the function ran */
	assert_int_equal(count(output(&s), "Tag='HDBG')"), 1);
	end(&s);
}

/* Four hooks take the debug registers; the fifth is an int3 whose
 * displaced instruction runs out of line; both kinds are hidden. */
static void test_int3_when_debug_registers_run_out(void **state)
{
	(void)state;
	struct sess s;
	char line[128];
	uint8_t seen;
	char *argv[] = {(char *)POOLSIM, (char *)"2", NULL};
	start(&s, argv);
	uint64_t fn = addr_of(&s, "ExAllocatePoolWithTag"), m = addr_of(&s, "main");
	uint8_t orig = raw_byte(&s, fn);
	for (int i = 1; i <= 4; i++) {
		snprintf(line, sizeof(line), "!epthook %llx script { printf(\"never\"); }",
			 (unsigned long long)(m + 0x1000 + (uint64_t)i)); /* never executed */
		cmd(&s, line, NULL);
	}
	cmd(&s, "!epthook ExAllocatePoolWithTag script { printf(\"hit \"); }", NULL);
	assert_int_equal(raw_byte(&s, fn), 0xcc);
	assert_int_equal(target_mem_read(s.t, fn, &seen, 1), 0);
	assert_int_equal(seen, orig);
	assert_int_equal(go(&s, NULL, NULL), 0);
	assert_string_equal(hd_buf_str(&s.sink), "hit hit ");
	assert_int_equal(count(output(&s), "Tag='HDBG')"), 2);
	end(&s);
}

static void test_clear_restores_bytes_and_frees_slots(void **state)
{
	(void)state;
	struct sess s;
	char line[128];
	char *argv[] = {(char *)POOLSIM, (char *)"1", NULL};
	start(&s, argv);
	uint64_t fn = addr_of(&s, "ExAllocatePoolWithTag"), m = addr_of(&s, "main");
	uint8_t orig = raw_byte(&s, fn);
	for (int i = 1; i <= 4; i++) {
		snprintf(line, sizeof(line), "!epthook %llx", (unsigned long long)(m + 0x1000 + (uint64_t)i));
		cmd(&s, line, NULL);
	}
	cmd(&s, "!epthook ExAllocatePoolWithTag", NULL); /* int3 */
	/* an unmapped address is refused; nothing changes */
	struct hd_buf out = {0};
	assert_true(cmd(&s, "!epthook 10", &out) < 0);
	assert_string_equal(hd_buf_str(&out),
			    "err, cannot arm event 0x5 (!epthook): address not mapped\n");
	assert_int_equal(event_count(s.tab), 5);
	hd_buf_free(&out);
	assert_int_equal(raw_byte(&s, fn), 0xcc);
	cmd(&s, "events d 4", NULL);
	assert_int_equal(raw_byte(&s, fn), orig);
	cmd(&s, "events e 4", NULL);
	assert_int_equal(raw_byte(&s, fn), 0xcc);
	cmd(&s, "events c all", NULL);
	assert_int_equal(raw_byte(&s, fn), orig);
	/* the debug registers are free again: a new hook changes no byte */
	cmd(&s, "!epthook ExAllocatePoolWithTag script { printf(\"x\"); }", NULL);
	assert_int_equal(raw_byte(&s, fn), orig);
	assert_int_equal(go(&s, NULL, NULL), 0);
	assert_string_equal(hd_buf_str(&s.sink), "x");
	end(&s);
}

/* Before detach: every byte back, every debug register free; the events
 * stay listed. */
static void test_release_leaves_no_trace(void **state)
{
	(void)state;
	struct sess s;
	char line[128];
	char *argv[] = {(char *)POOLSIM, (char *)"1", NULL};
	start(&s, argv);
	uint64_t fn = addr_of(&s, "ExAllocatePoolWithTag"), m = addr_of(&s, "main");
	uint8_t orig = raw_byte(&s, fn);
	for (int i = 1; i <= 4; i++) {
		snprintf(line, sizeof(line), "!epthook %llx", (unsigned long long)(m + 0x1000 + (uint64_t)i));
		cmd(&s, line, NULL);
	}
	cmd(&s, "!epthook ExAllocatePoolWithTag code {90}", NULL);
	assert_int_equal(raw_byte(&s, fn), 0xcc);
	event_target_release(s.tab);
	assert_int_equal(raw_byte(&s, fn), orig);
	int slots[4];
	for (int i = 0; i < 4; i++)
		assert_true((slots[i] = target_hw_set(s.t, m + (uint64_t)i, TARGET_HW_EXEC, 1)) >= 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(target_hw_clear(s.t, slots[i]), 0);
	assert_int_equal(event_count(s.tab), 5);
	assert_int_equal(target_kill(s.t), 0);
	event_table_free(s.tab);
	sym_close(s.sym);
	script_globals_free(s.globals);
	close(s.out);
	hd_buf_free(&s.sink);
	hd_buf_free(&s.breaks);
}

/* ---- filters and robustness ---- */

static void test_pid_and_core_filters(void **state)
{
	(void)state;
	struct sess s;
	char line[160];
	cpu_set_t one;
	char *argv[] = {(char *)POOLSIM, (char *)"2", NULL};
	start(&s, argv);
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	assert_int_equal(sched_setaffinity(s.pid, sizeof(one), &one), 0); /* runs on cpu 0 */
	snprintf(line, sizeof(line), "!epthook ExAllocatePoolWithTag pid %x script "
		 "{ printf(\"pid \"); }", (unsigned)s.pid);
	cmd(&s, line, NULL);
	snprintf(line, sizeof(line), "!epthook ExAllocatePoolWithTag pid %x script "
		 "{ printf(\"otherpid \"); }", (unsigned)s.pid + 1);
	cmd(&s, line, NULL);
	cmd(&s, "!epthook ExAllocatePoolWithTag pid all core 0 script { printf(\"core0 \"); }",
	    NULL);
	cmd(&s, "!epthook ExAllocatePoolWithTag core 1 script { printf(\"core1 \"); }", NULL);
	assert_int_equal(go(&s, NULL, NULL), 0);
	assert_string_equal(hd_buf_str(&s.sink), "core0 pid core0 pid ");
	end(&s);
}

static void test_script_error_stops_only_that_script(void **state)
{
	(void)state;
	struct sess s;
	char *argv[] = {(char *)POOLSIM, (char *)"1", NULL};
	start(&s, argv);
	cmd(&s, "!epthook ExAllocatePoolWithTag script { printf(\"older\\n\"); }", NULL);
	cmd(&s, "!epthook ExAllocatePoolWithTag script { printf(\"a\\n\"); x = dq(0); "
		"printf(\"b\\n\"); }", NULL);
	assert_int_equal(go(&s, NULL, NULL), 0);
	const char *out = hd_buf_str(&s.sink);
	assert_true(!strncmp(out, "a\n", 2));
	assert_null(strstr(out, "b\n"));
	assert_non_null(strstr(out, "err"));
	assert_int_equal(strcmp(out + strlen(out) - 6, "older\n"), 0);
	assert_int_equal(count(output(&s), "Tag='HDBG')"), 1); /* the target is unaffected */
	end(&s);
}

/* At the first break, add an event: it is armed at once. */
static void add_at_break(struct sess *s, const struct event_verdict *v, void *ud)
{
	(void)v;
	(void)ud;
	if (s->nbreaks == 1) {
		cmd(s, "!epthook ExAllocatePoolWithTag script { printf(\"late \"); }", NULL);
		cmd(s, "events d 0", NULL);
	}
}

static void test_event_added_while_paused_fires(void **state)
{
	(void)state;
	struct sess s;
	char *argv[] = {(char *)POOLSIM, (char *)"3", NULL};
	start(&s, argv);
	cmd(&s, "!epthook ExAllocatePoolWithTag", NULL);
	assert_int_equal(go(&s, add_at_break, NULL), 0);
	assert_int_equal(s.nbreaks, 1);
	/* not for the occurrence that broke (it was newer), for the next two */
	assert_string_equal(hd_buf_str(&s.sink), "late late ");
	end(&s);
}

static void test_script_ctl_at_the_prompt(void **state)
{
	(void)state;
	struct sess s;
	struct hd_buf out = {0};
	char *argv[] = {(char *)POOLSIM, (char *)"1", NULL};
	start(&s, argv);
	cmd(&s, "!epthook ExAllocatePoolWithTag script { printf(\"x\"); }", NULL);
	uint64_t id = 0;
	assert_int_equal(event_script_ctl(s.tab, 39, &id, 1), 0); /* event_disable(0) */
	id = 7;
	assert_int_equal(event_script_ctl(s.tab, 38, &id, 1), 0); /* event_enable(7) */
	assert_string_equal(hd_buf_str(&s.sink), "Invalid tag id (7)\n");
	assert_int_equal(cmd(&s, "events", &out), 0);
	assert_true(!strncmp(hd_buf_str(&out), "0\t(disabled)", 12));
	hd_buf_reset(&s.sink);
	assert_int_equal(go(&s, NULL, NULL), 0);
	assert_string_equal(hd_buf_str(&s.sink), "");
	hd_buf_free(&out);
	end(&s);
}

/* An event disabled while no target was bound is loaded and armed when it
 * is enabled again (here: after the table was bound anew, as .restart does). */
static void test_enable_arms_an_event_never_armed(void **state)
{
	(void)state;
	struct sess s;
	char *argv[] = {(char *)POOLSIM, (char *)"2", NULL};
	start(&s, argv);
	cmd(&s, "!epthook ExAllocatePoolWithTag buffer 8 script { if ($buffer) { printf(\"1 \"); } }",
	    NULL);
	cmd(&s, "events d 0", NULL);
	event_target_release(s.tab);
	assert_int_equal(event_target_set(s.tab, s.t, s.pid, NULL), 0);
	assert_false(event_find(s.tab, 0)->loaded);
	cmd(&s, "events e 0", NULL);
	assert_true(event_find(s.tab, 0)->armed);
	assert_int_equal(go(&s, NULL, NULL), 0);
	assert_string_equal(hd_buf_str(&s.sink), "1 1 ");
	end(&s);
}

/* After execve the hook is placed again from its text in the new image. */
static void test_hook_follows_execve(void **state)
{
	(void)state;
	struct sess s;
	char *argv[] = {(char *)"/bin/sh", (char *)"-c", (char *)"exec " POOLSIM " 1", NULL};
	start(&s, argv);
	cmd(&s, "!epthook _dl_debug_state script { printf(\"dl \"); }", NULL);
	cmd(&s, "!epthook _dl_debug_state+1", NULL); /* never executed */
	uint64_t before = event_find(s.tab, 0)->param[0];
	assert_int_equal(go(&s, NULL, NULL), 0);
	assert_int_equal(s.execs, 1);
	assert_true(event_find(s.tab, 0)->param[0] != before); /* a new ld.so, elsewhere */
	assert_int_equal(event_find(s.tab, 1)->param[0], event_find(s.tab, 0)->param[0] + 1);
	int n = count(hd_buf_str(&s.sink), "dl ");
	assert_true(n >= 2 && n % 2 == 0); /* as many in the shell as in poolsim */
	assert_int_equal(count(output(&s), "Tag='HDBG')"), 1);
	end(&s);
}

/* ---- custom code and conditions (in the target, through the agent) ---- */

static void run_poolsim_with(const char *event_cmd, const char *want_tag, int n)
{
	struct sess s;
	char *argv[] = {(char *)POOLSIM, (char *)"3", NULL};
	char want[64];
	start(&s, argv);
	cmd(&s, event_cmd, NULL);
	assert_int_equal(go(&s, NULL, NULL), 0);
	snprintf(want, sizeof(want), "Tag='%s')", want_tag);
	char *out = output(&s);
	if (count(out, want) != n)
		fail_msg("'%s': target printed:\n%s\nsink: %s", event_cmd, out, hd_buf_str(&s.sink));
	end(&s);
}

static void test_seed_custom_code_hex(void **state)
{
	(void)state;
	need_agent();
	run_poolsim_with("!epthook ExAllocatePoolWithTag code "
			 "{488B5A404881FB484442477402EB0848C7424048444232C3}", "HDB2", 3);
}

static void test_seed_custom_code_asm(void **state)
{
	(void)state;
	need_agent();
	run_poolsim_with("!epthook ExAllocatePoolWithTag asm code { mov rbx, QWORD PTR [rdx+0x40]; "
			 "cmp rbx, 0x47424448; je ChangeIt; jmp Return; ChangeIt: mov QWORD PTR "
			 "[rdx+0x40], 0x32424448; Return: ret; }", "HDB2", 3);
}

/* The same through an int3 (the debug registers taken by other hooks). */
static void test_seed_custom_code_through_int3(void **state)
{
	(void)state;
	need_agent();
	struct sess s;
	char line[128];
	char *argv[] = {(char *)POOLSIM, (char *)"3", NULL};
	start(&s, argv);
	uint64_t fn = addr_of(&s, "ExAllocatePoolWithTag"), m = addr_of(&s, "main");
	for (int i = 1; i <= 4; i++) {
		snprintf(line, sizeof(line), "!epthook %llx", (unsigned long long)(m + 0x1000 + (uint64_t)i));
		cmd(&s, line, NULL);
	}
	cmd(&s, "!epthook ExAllocatePoolWithTag code "
		"{488B5A404881FB484442477402EB0848C7424048444232C3}", NULL);
	assert_int_equal(raw_byte(&s, fn), 0xcc);
	assert_int_equal(go(&s, NULL, NULL), 0);
	assert_int_equal(count(output(&s), "Tag='HDB2')"), 3);
	end(&s);
}

static void test_condition_decides(void **state)
{
	(void)state;
	need_agent();
	/* false (xor eax, eax): the actions do not run */
	run_poolsim_with("!epthook ExAllocatePoolWithTag condition {31C0} code "
			 "{48C7424048444232}", "HDBG", 3);
	/* true, from the context in rdx and the registers in rcx */
	run_poolsim_with("!epthook ExAllocatePoolWithTag asm condition { mov rax, [rcx+0x40]; "
			 "sub rax, 0x47424448; sete al; movzx eax, al } "
			 "code { mov qword ptr [rdx+0x40], 0x32424448 }", "HDB2", 3);
	run_poolsim_with("!epthook ExAllocatePoolWithTag asm condition { xor eax, eax; "
			 "cmp rdx, 0; setne al } script { @r8 = 32424448; }", "HDB2", 3);
}

/* HyperDbg's way to skip a hooked function: a script moves @rip and @rsp. */
static void test_script_skips_the_function(void **state)
{
	(void)state;
	struct sess s;
	char *argv[] = {(char *)POOLSIM, (char *)"2", NULL};
	start(&s, argv);
	cmd(&s, "!epthook ExAllocatePoolWithTag script { @rip = poi(@rsp); @rsp = @rsp + 8; "
		"@rax = 0; printf(\"ignoring calls to the target function\\n\"); }", NULL);
	assert_int_equal(go(&s, NULL, NULL), 0);
	assert_int_equal(count(hd_buf_str(&s.sink), "ignoring calls to the target function\n"), 2);
	assert_null(strstr(output(&s), "ExAllocatePoolWithTag("));
	end(&s);
}

/* Crashing custom code: reported, registers restored, the target goes on;
 * a crashing condition counts as false. */
static void test_crashing_code_is_reported(void **state)
{
	(void)state;
	need_agent();
	struct sess s;
	char *argv[] = {(char *)POOLSIM, (char *)"2", NULL};
	start(&s, argv);
	cmd(&s, "!epthook ExAllocatePoolWithTag asm code { mov qword ptr [rdx+0x40], 0; "
		"mov rax, 0; mov rax, [rax] }", NULL);
	cmd(&s, "!epthook ExAllocatePoolWithTag asm condition { ud2 } "
		"code { mov qword ptr [rdx+0x40], 0 }", NULL);
	assert_int_equal(go(&s, NULL, NULL), 0);
	const char *out = hd_buf_str(&s.sink);
	assert_int_equal(count(out, "err, the condition of event 0x1 crashed (signal 4 at "), 2);
	assert_int_equal(count(out, "err, the custom code of event 0x0 crashed (signal 11 at "), 2);
	assert_int_equal(count(out, "address 0000000000000000); the thread's registers were "
			       "restored\n"), 2);
	assert_int_equal(count(output(&s), "Tag='HDBG')"), 2); /* the tag write was undone */
	end(&s);
}

static void test_script_runs_before_code(void **state)
{
	(void)state;
	need_agent();
	struct sess s;
	char *argv[] = {(char *)POOLSIM, (char *)"1", NULL};
	start(&s, argv);
	cmd(&s, "!epthook ExAllocatePoolWithTag code {48C7424048444232} "
		"script { printf(\"%x\\n\", @r8); }", NULL);
	assert_int_equal(go(&s, NULL, NULL), 0);
	assert_string_equal(hd_buf_str(&s.sink), "47424448\n"); /* before the code */
	assert_int_equal(count(output(&s), "Tag='HDB2')"), 1);
	end(&s);
}

static void test_buffer_reaches_rcx_one_per_action(void **state)
{
	(void)state;
	need_agent();
	struct sess s;
	char *argv[] = {(char *)POOLSIM, (char *)"5", NULL};
	start(&s, argv);
	/* the code counts in its buffer and passes the count as the tag */
	cmd(&s, "!epthook ExAllocatePoolWithTag buffer 10 asm code { inc qword ptr [rcx]; "
		"mov rax, [rcx]; add rax, 0x40; mov [rdx+0x40], rax } "
		"script { printf(\"%llx \", dq($buffer)); }", NULL);
	struct event *e = event_find(s.tab, 0);
	assert_non_null(e);
	assert_true(e->code_buf != 0 && e->script_buf != 0 && e->code_buf != e->script_buf);
	assert_int_equal(go(&s, NULL, NULL), 0);
	/* the script's buffer is not the code's (HyperDbg issue 471) */
	assert_string_equal(hd_buf_str(&s.sink), "0 0 0 0 0 ");
	char *out = output(&s);
	assert_non_null(strstr(out, "Tag='A')"));
	assert_non_null(strstr(out, "Tag='E')"));
	assert_int_equal(count(out, "Tag='"), 5);
	end(&s);
}

struct counter {
	uint64_t buf;
	uint64_t value;
	int stage;
};

/* First break (main): libc is loaded now; hook printf. Second break
 * (printf, after every thread ended): read the counter. */
static void counter_break(struct sess *s, const struct event_verdict *v, void *ud)
{
	struct counter *c = ud;
	(void)v;
	if (c->stage++ == 0) {
		assert_int_equal(sym_refresh(s->sym), 0);
		cmd(s, "!epthook libc!printf", NULL);
		return;
	}
	assert_int_equal(target_mem_read(s->t, c->buf, &c->value, 8), 0);
	cmd(s, "events c all", NULL);
}

static void test_four_threads_count_exactly(void **state)
{
	(void)state;
	need_agent();
	struct sess s;
	struct counter c = {0};
	struct timespec t0, t1;
	char *argv[] = {(char *)THREADS, (char *)"4", (char *)"25000", NULL};
	start(&s, argv);
	cmd(&s, "!epthook step buffer 8 asm code { lock inc qword ptr [rcx] }", NULL);
	cmd(&s, "!epthook main", NULL);
	struct event *e = event_find(s.tab, 0);
	assert_non_null(e);
	c.buf = e->code_buf;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(go(&s, counter_break, &c), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	print_message("100000 custom-code events in %.2f s\n",
		      (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	assert_int_equal(c.stage, 2);
	assert_int_equal(c.value, 100000);
	assert_non_null(strstr(output(&s), "threads=4 total=100000"));
	end(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_break_action_stops_at_the_hook),
		cmocka_unit_test(test_script_printf_with_event_pseudo_registers),
		cmocka_unit_test(test_script_register_write_reaches_the_thread),
		cmocka_unit_test(test_newest_event_runs_first),
		cmocka_unit_test(test_event_disable_and_clear_from_scripts),
		cmocka_unit_test(test_break_then_g_runs_the_older_events),
		cmocka_unit_test(test_events_sc_while_paused),
		cmocka_unit_test(test_int3_when_debug_registers_run_out),
		cmocka_unit_test(test_clear_restores_bytes_and_frees_slots),
		cmocka_unit_test(test_release_leaves_no_trace),
		cmocka_unit_test(test_pid_and_core_filters),
		cmocka_unit_test(test_script_error_stops_only_that_script),
		cmocka_unit_test(test_event_added_while_paused_fires),
		cmocka_unit_test(test_script_ctl_at_the_prompt),
		cmocka_unit_test(test_enable_arms_an_event_never_armed),
		cmocka_unit_test(test_hook_follows_execve),
		cmocka_unit_test(test_seed_custom_code_hex),
		cmocka_unit_test(test_seed_custom_code_asm),
		cmocka_unit_test(test_seed_custom_code_through_int3),
		cmocka_unit_test(test_condition_decides),
		cmocka_unit_test(test_script_runs_before_code),
		cmocka_unit_test(test_script_skips_the_function),
		cmocka_unit_test(test_crashing_code_is_reported),
		cmocka_unit_test(test_buffer_reaches_rcx_one_per_action),
		cmocka_unit_test(test_four_threads_count_exactly),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
