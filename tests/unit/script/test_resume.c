/* Unit tests of resumable runs: pause() through event_ctl suspends a run
 * started with script_run_in(), script_resume() goes on from the next
 * statement with the same stack, call frames and step budget; runs that
 * cannot be resumed go on at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>

#include "script_test_env.h"

#define F_PAUSE 47

/* The host's event_ctl: pause() asks for a suspension, the rest is
 * recorded (event_sc(1)...) */
struct host {
	struct tenv t;
	int pauses;
	int last_func;
	uint64_t last_arg;
};

static int host_ctl(void *ud, int func, const uint64_t *args, int nargs)
{
	struct host *h = ud;
	h->last_func = func;
	h->last_arg = nargs ? args[0] : 0;
	if (func == F_PAUSE) {
		h->pauses++;
		return SCRIPT_CTL_SUSPEND;
	}
	return 0;
}

static int host_text(void *ud, int id, char *buf, size_t cap)
{
	(void)ud;
	snprintf(buf, cap, "%s", id == 2 ? "evprog" : "2026-01-02");
	return 0;
}

static void host_init(struct host *h)
{
	memset(h, 0, sizeof(*h));
	tenv_init(&h->t);
	/* the callbacks of tenv take a struct tenv *: it is the first member */
	h->t.env.event_ctl = host_ctl;
	h->t.env.pseudo_text = host_text;
}

struct fixture {
	struct host h;
	struct script_globals *g;
	struct script_prog *p;
	struct script_state *st;
	char err[128];
};

static struct fixture *fx_new(const char *src)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct script_diag d;
	host_init(&f->h);
	f->g = script_globals_new();
	struct script_compile_opts o = {.sz = sizeof(o), .globals = f->g};
	if (script_compile(src, &o, &f->p, &d))
		fail_msg("compile failed: %s (%s)", d.msg, src);
	f->st = malloc(script_state_size());
	return f;
}

static void fx_free(struct fixture *f)
{
	script_prog_free(f->p);
	script_globals_free(f->g);
	free(f->st);
	free(f);
}

static int start(struct fixture *f)
{
	return script_run_in(f->p, &f->h.t.env, f->g, f->st, f->err, sizeof(f->err));
}

static int resume(struct fixture *f)
{
	return script_resume(f->st, &f->h.t.env, f->err, sizeof(f->err));
}

static void test_pause_suspends_and_resume_goes_on(void **state)
{
	(void)state;
	struct fixture *f = fx_new("printf(\"before\\n\"); pause(); printf(\"after %x\\n\", @rax);");
	assert_int_equal(start(f), SCRIPT_SUSPENDED);
	assert_string_equal(f->h.t.out, "before\n");
	assert_int_equal(f->h.pauses, 1);
	/* what the user changed at the prompt is what the rest sees */
	f->h.t.regs[0] = 0x1234;
	assert_int_equal(resume(f), 0);
	assert_string_equal(f->h.t.out, "before\nafter 1234\n");
	assert_int_equal(f->h.pauses, 1);
	fx_free(f);
}

/* locals, globals and register writes made before the pause are kept */
static void test_state_kept_across_the_pause(void **state)
{
	(void)state;
	struct fixture *f = fx_new(".gl = 5; x = 7; @rbx = 0x99; char s[] = \"abc\"; pause(); "
				   "printf(\"%d %d %x %s\\n\", .gl, x, @rbx, s);");
	assert_int_equal(start(f), SCRIPT_SUSPENDED);
	assert_int_equal(f->h.t.regs[15], 0x99);
	assert_int_equal(script_globals_slots(f->g)[0], 5);
	assert_int_equal(resume(f), 0);
	assert_string_equal(f->h.t.out, "5 7 99 abc\n");
	fx_free(f);
}

/* `&local` taken before the pause points into the run's storage: still
 * readable and writable after it, in the main body and in a function's
 * frame (call frames survive the suspension) */
static void test_local_addresses_survive(void **state)
{
	(void)state;
	struct fixture *f = fx_new(
		"int twice(int n) { int y = n * 2; int *q = &y; pause(); *q = *q + 1; return y; }\n"
		"x = 5; p = &x; pause(); eq(p, 9); r = twice(0n20); "
		"printf(\"x=%d *p=%d r=%d\\n\", x, dq(p), r);");
	assert_int_equal(start(f), SCRIPT_SUSPENDED);
	assert_int_equal(resume(f), SCRIPT_SUSPENDED);    /* inside twice() */
	assert_string_equal(f->h.t.out, "");
	assert_int_equal(resume(f), 0);
	assert_string_equal(f->h.t.out, "x=9 *p=9 r=41\n");
	fx_free(f);
}

/* a loop with pause() inside suspends once per iteration */
static void test_pause_in_a_loop(void **state)
{
	(void)state;
	struct fixture *f = fx_new("for (i = 0; i < 3; i++) { printf(\"i=%d \", i); pause(); } "
				   "printf(\"end %d\\n\", i);");
	assert_int_equal(start(f), SCRIPT_SUSPENDED);
	assert_int_equal(resume(f), SCRIPT_SUSPENDED);
	assert_int_equal(resume(f), SCRIPT_SUSPENDED);
	assert_string_equal(f->h.t.out, "i=0 i=1 i=2 ");
	assert_int_equal(resume(f), 0);
	assert_string_equal(f->h.t.out, "i=0 i=1 i=2 end 3\n");
	assert_int_equal(f->h.pauses, 3);
	/* over: nothing to resume any more */
	assert_int_equal(resume(f), -HD_E_RUNTIME);
	assert_string_equal(f->err, "err, the script is not suspended");
	fx_free(f);
}

/* recursion: every frame is still there after the pause at the bottom */
static void test_pause_deep_in_recursion(void **state)
{
	(void)state;
	struct fixture *f = fx_new("int down(int n) { if (n == 0) { pause(); return 0; } "
				   "return down(n - 1) + n; } print(down(0n10));");
	assert_int_equal(start(f), SCRIPT_SUSPENDED);
	assert_int_equal(resume(f), 0);
	assert_string_equal(f->h.t.out, "37\n");     /* 55 */
	fx_free(f);
}

/* the text of $pname is in the run's storage: its address survives */
static void test_pseudo_text_survives(void **state)
{
	(void)state;
	struct fixture *f = fx_new("s = $pname; pause(); printf(\"%s %d\\n\", s, strlen(s));");
	assert_int_equal(start(f), SCRIPT_SUSPENDED);
	assert_int_equal(resume(f), 0);
	assert_string_equal(f->h.t.out, "evprog 6\n");
	fx_free(f);
}

/* one budget of 1,000,000 steps for the whole run, pauses included */
static void test_step_budget_spans_the_pause(void **state)
{
	(void)state;
	/* each loop alone fits; both together do not */
	struct fixture *f = fx_new("for (i = 0; i < 0n300000; i++) { } pause(); "
				   "for (j = 0; j < 0n300000; j++) { } printf(\"done\\n\");");
	struct fixture *one = fx_new("for (i = 0; i < 0n300000; i++) { } printf(\"one\\n\");");
	assert_int_equal(start(one), 0);
	assert_string_equal(one->h.t.out, "one\n");
	assert_int_equal(start(f), SCRIPT_SUSPENDED);
	assert_int_equal(resume(f), -HD_E_LIMIT);
	assert_string_equal(f->err, "err, exceeding the max execution count");
	assert_string_equal(f->h.t.out, "");
	fx_free(one);
	fx_free(f);
}

/* a run-time error after the pause ends the run with its message */
static void test_error_after_the_pause(void **state)
{
	(void)state;
	struct fixture *f = fx_new("x = 0; printf(\"a\"); pause(); y = 5 / x; printf(\"b\");");
	assert_int_equal(start(f), SCRIPT_SUSPENDED);
	assert_int_equal(resume(f), -HD_E_RUNTIME);
	assert_string_equal(f->err, "err, ScriptEngineExecute, function = FUNC_DIV_TYPED");
	assert_string_equal(f->h.t.out, "a");
	fx_free(f);
}

/* a suspended run is dropped by reusing (or freeing) its storage */
static void test_storage_reused_after_a_drop(void **state)
{
	(void)state;
	struct fixture *f = fx_new("printf(\"x\"); pause(); printf(\"y\");");
	assert_int_equal(start(f), SCRIPT_SUSPENDED);
	assert_int_equal(start(f), SCRIPT_SUSPENDED);     /* a new run in the same storage */
	assert_int_equal(resume(f), 0);
	assert_string_equal(f->h.t.out, "xxy");
	fx_free(f);
}

/* script_run() cannot be resumed: the suspension request is ignored and
 * the run goes on; without event_ctl, pause() keeps HyperDbg's user-mode
 * message */
static void test_runs_that_cannot_suspend(void **state)
{
	(void)state;
	struct fixture *f = fx_new("printf(\"before\\n\"); pause(); printf(\"after\\n\");");
	assert_int_equal(script_run(f->p, &f->h.t.env, f->g, f->err, sizeof(f->err)), 0);
	assert_string_equal(f->h.t.out, "before\nafter\n");
	assert_int_equal(f->h.pauses, 1);
	size_t len;
	const void *bc = script_prog_bytecode(f->p, &len);
	f->h.t.outlen = 0;
	f->h.t.out[0] = 0;
	assert_int_equal(script_exec_bytecode(bc, &f->h.t.env, script_globals_slots(f->g), f->err,
					      sizeof(f->err)), 0);
	assert_string_equal(f->h.t.out, "before\nafter\n");
	f->h.t.env.event_ctl = NULL;
	f->h.t.outlen = 0;
	f->h.t.out[0] = 0;
	assert_int_equal(start(f), 0);
	assert_string_equal(f->h.t.out, "before\nerr, breaking is not possible in user-mode\nafter\n");
	fx_free(f);
}

/* other event functions keep their answers; a fresh state resumes nothing */
static void test_misuse(void **state)
{
	(void)state;
	struct fixture *f = fx_new("event_sc(1); printf(\"z\");");
	char err[64];
	memset(f->st, 0, script_state_size());
	assert_int_equal(script_resume(f->st, &f->h.t.env, err, sizeof(err)), -HD_E_RUNTIME);
	assert_string_equal(err, "err, the script is not suspended");
	assert_int_equal(start(f), 0);
	assert_int_equal(f->h.last_func, 44);
	assert_int_equal(f->h.last_arg, 1);
	assert_string_equal(f->h.t.out, "z");
	assert_int_equal(script_run_in(f->p, &f->h.t.env, NULL, f->st, err, sizeof(err)), -EINVAL);
	assert_int_equal(script_run_in(f->p, &f->h.t.env, f->g, NULL, err, sizeof(err)), -EINVAL);
	assert_true(script_state_size() >= 256 * 8);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pause_suspends_and_resume_goes_on),
		cmocka_unit_test(test_state_kept_across_the_pause),
		cmocka_unit_test(test_local_addresses_survive),
		cmocka_unit_test(test_pause_in_a_loop),
		cmocka_unit_test(test_pause_deep_in_recursion),
		cmocka_unit_test(test_pseudo_text_survives),
		cmocka_unit_test(test_step_budget_spans_the_pause),
		cmocka_unit_test(test_error_after_the_pause),
		cmocka_unit_test(test_storage_reused_after_a_drop),
		cmocka_unit_test(test_runs_that_cannot_suspend),
		cmocka_unit_test(test_misuse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
