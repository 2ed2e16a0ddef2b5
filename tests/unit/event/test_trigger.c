/*
** test_trigger.c: the triggering algorithm for kinds with stages and
** short-circuiting (hyperdbg-events.md sections 5, 6 and 9), on a real
** stopped thread: occurrences are started the way a trap kind's claim()
** starts them, for a kind with stages and sc (!exception) whose events are
** put in the table directly (its parser belongs to another file). No kind
** ops run, so the thread stays where it is and the decisions of each pass
** (short-circuit, post pass wanted) are read from the table.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event/event.h"
#include "event/internal.h"
#include "target/target.h"

#define POOLSIM HD_BINARY_DIR "/targets/poolsim"

struct fix {
	struct target *t;
	pid_t pid;
	struct event_table *tab;
	struct script_globals *g;
	struct hd_buf sink;
};

static void sink_write(void *ud, const char *text)
{
	hd_buf_printf(ud, "%s", text);
}

static int setup(void **state)
{
	struct fix *f = hd_xcalloc(1, sizeof(*f));
	char *argv[] = {(char *)POOLSIM, NULL};
	struct target_stop st;
	if (target_start(&f->t, POOLSIM, argv) < 0 || target_wait(f->t, &st) < 0)
		return -1;
	f->pid = target_pid(f->t);
	f->g = script_globals_new();
	struct event_host h = {.globals = f->g, .sink = {sink_write, &f->sink}};
	if (event_table_new(&f->tab, &h) < 0 || event_target_set(f->tab, f->t, f->pid, NULL) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	event_target_release(f->tab);
	event_table_free(f->tab);
	int rc = target_kill(f->t);
	script_globals_free(f->g);
	hd_buf_free(&f->sink);
	free(f);
	return rc;
}

/* An !exception event as its parser would make it. */
static struct event *add(struct fix *f, enum event_stage stage, bool sc, const char *script)
{
	struct event_table *tab = f->tab;
	struct event *e = hd_xcalloc(1, sizeof(*e));
	struct script_compile_opts o = {.sz = sizeof(o), .globals = f->g};
	struct script_diag d;
	e->id = tab->next_id++;
	e->kind = EVENT_KIND_MSRREAD;
	e->enabled = e->loaded = e->imm = true;
	e->pid = e->core = EVENT_ALL;
	e->stage = stage;
	e->sc = sc;
	e->command = hd_xstrdup("!msrread");
	if (script && script_compile(script, &o, &e->script, &d) < 0)
		fail_msg("script '%s': %s", script, d.msg);
	if (tab->n == tab->cap) {
		tab->cap = tab->cap ? tab->cap * 2 : 16;
		tab->v = hd_xrealloc(tab->v, (size_t)tab->cap * sizeof(*tab->v));
	}
	tab->v[tab->n++] = e;
	return e;
}

/* One pass; @return the verdict kind. */
static enum event_verdict_kind pass(struct fix *f, enum event_stage stage)
{
	struct event_occ occ = {.kind = EVENT_KIND_MSRREAD, .tid = f->pid, .stage = stage,
				.context = 0xe, .key = 0xe};
	struct event_verdict v = {0};
	assert_int_equal(event_occ_start(f->tab, &occ, &v), 0);
	enum event_verdict_kind k = v.kind;
	hd_buf_free(&v.text);
	return k;
}

static void test_stages_pre_post_all(void **state)
{
	struct fix *f = *state;
	add(f, EVENT_STAGE_PRE, false, "printf(\"pre%x \", $event_stage);");
	add(f, EVENT_STAGE_POST, false, "printf(\"post%x \", $event_stage);");
	add(f, EVENT_STAGE_ALL, false, "printf(\"all%x \", $event_stage);");
	assert_int_equal(pass(f, EVENT_STAGE_PRE), EVENT_VERDICT_RESUMED);
	assert_string_equal(hd_buf_str(&f->sink), "all0 pre0 ");
	assert_true(f->tab->last_post);   /* post and all events want a post pass */
	assert_false(f->tab->last_sc);
	hd_buf_reset(&f->sink);
	assert_int_equal(pass(f, EVENT_STAGE_POST), EVENT_VERDICT_RESUMED);
	assert_string_equal(hd_buf_str(&f->sink), "all1 post1 "); /* a pre event never runs twice */
	assert_false(f->tab->last_post);
}

static void test_no_post_pass_without_post_events(void **state)
{
	struct fix *f = *state;
	add(f, EVENT_STAGE_PRE, false, "printf(\"a\");");
	assert_int_equal(pass(f, EVENT_STAGE_PRE), EVENT_VERDICT_RESUMED);
	assert_false(f->tab->last_post);
	/* a disabled post event does not ask for one either */
	struct event *e = add(f, EVENT_STAGE_POST, false, "printf(\"b\");");
	assert_int_equal(event_enable(f->tab, e->id, false), 0);
	assert_int_equal(pass(f, EVENT_STAGE_PRE), EVENT_VERDICT_RESUMED);
	assert_false(f->tab->last_post);
	assert_string_equal(hd_buf_str(&f->sink), "aa");
}

static void test_last_event_that_ran_decides_sc(void **state)
{
	struct fix *f = *state;
	/* newest (1) sets sc, oldest (0, default off) runs last: off */
	struct event *e0 = add(f, EVENT_STAGE_PRE, false, "printf(\"0 \");");
	struct event *e1 = add(f, EVENT_STAGE_PRE, false, "event_sc(1); printf(\"1 \");");
	assert_int_equal(pass(f, EVENT_STAGE_PRE), EVENT_VERDICT_RESUMED);
	assert_string_equal(hd_buf_str(&f->sink), "1 0 ");
	assert_false(f->tab->last_sc);
	/* the oldest sets it: on */
	assert_int_equal(event_clear(f->tab, e0->id), 0);
	assert_int_equal(event_clear(f->tab, e1->id), 0);
	add(f, EVENT_STAGE_PRE, false, "event_sc(1);");
	add(f, EVENT_STAGE_PRE, false, "event_sc(0);");
	assert_int_equal(pass(f, EVENT_STAGE_PRE), EVENT_VERDICT_RESUMED);
	assert_true(f->tab->last_sc);
}

static void test_sc_default_and_event_sc_zero(void **state)
{
	struct fix *f = *state;
	/* whitelisting: sc on by default, event_sc(0) lets it through */
	add(f, EVENT_STAGE_PRE, true, "if ($context == 0xe) { event_sc(0); }");
	assert_int_equal(pass(f, EVENT_STAGE_PRE), EVENT_VERDICT_RESUMED);
	assert_false(f->tab->last_sc);
	add(f, EVENT_STAGE_PRE, true, "printf(\"x\");");
	assert_int_equal(pass(f, EVENT_STAGE_PRE), EVENT_VERDICT_RESUMED);
	assert_false(f->tab->last_sc); /* the older event runs last and says 0 */
	add(f, EVENT_STAGE_PRE, true, NULL); /* break action */
	assert_int_equal(pass(f, EVENT_STAGE_PRE), EVENT_VERDICT_BREAK);
	struct event_verdict v = {0};
	assert_int_equal(event_continue(f->tab, &v), 0);
	assert_int_equal(v.kind, EVENT_VERDICT_RESUMED);
	assert_false(f->tab->last_sc);
}

static void test_short_circuit_cancels_the_post_pass(void **state)
{
	struct fix *f = *state;
	add(f, EVENT_STAGE_PRE, true, "printf(\"pre \");");   /* oldest: runs last, sc on */
	add(f, EVENT_STAGE_ALL, false, "printf(\"all \");");
	assert_int_equal(pass(f, EVENT_STAGE_PRE), EVENT_VERDICT_RESUMED);
	assert_string_equal(hd_buf_str(&f->sink), "all pre ");
	assert_true(f->tab->last_sc);
	assert_false(f->tab->last_post); /* wanted by `all`, cancelled by sc */
}

static void test_older_events_after_a_break_reset_events_sc(void **state)
{
	struct fix *f = *state;
	add(f, EVENT_STAGE_PRE, false, "printf(\"old \");");
	add(f, EVENT_STAGE_PRE, false, NULL);
	assert_int_equal(pass(f, EVENT_STAGE_PRE), EVENT_VERDICT_BREAK);
	assert_string_equal(hd_buf_str(&f->sink), "");
	struct hd_buf out = {0};
	struct event_token tk[3] = {{EVENT_TOK_WORD, "events"}, {EVENT_TOK_WORD, "sc"},
				    {EVENT_TOK_WORD, "on"}};
	assert_int_equal(event_events_command(f->tab, tk, 3, &out), 0);
	struct event_verdict v = {0};
	assert_int_equal(event_continue(f->tab, &v), 0);
	assert_int_equal(v.kind, EVENT_VERDICT_RESUMED);
	assert_string_equal(hd_buf_str(&f->sink), "old ");
	assert_false(f->tab->last_sc); /* event 0 ran last with its default */
	hd_buf_free(&out);
}

static void test_event_sc_in_post_stage_only_warns(void **state)
{
	struct fix *f = *state;
	add(f, EVENT_STAGE_POST, false, "event_sc(1);");
	assert_int_equal(pass(f, EVENT_STAGE_POST), EVENT_VERDICT_RESUMED);
	assert_string_equal(hd_buf_str(&f->sink),
			    "Warning, calling the 'event_sc' function in the 'post' calling stage "
			    "doesn't make sense as the emulation is already performed!\n"
			    "You can use this function in the 'pre' calling stage\n");
	assert_false(f->tab->last_sc);
}

static void test_events_sc_at_a_break_decides(void **state)
{
	struct fix *f = *state;
	add(f, EVENT_STAGE_PRE, false, NULL);
	assert_int_equal(pass(f, EVENT_STAGE_PRE), EVENT_VERDICT_BREAK);
	struct hd_buf out = {0};
	struct event_token tk[3] = {{EVENT_TOK_WORD, "events"}, {EVENT_TOK_WORD, "sc"},
				    {EVENT_TOK_WORD, "on"}};
	assert_int_equal(event_events_command(f->tab, tk, 3, &out), 0);
	struct event_verdict v = {0};
	assert_int_equal(event_continue(f->tab, &v), 0);
	assert_int_equal(v.kind, EVENT_VERDICT_RESUMED);
	assert_true(f->tab->last_sc);
	/* not paused any more: refused */
	hd_buf_reset(&out);
	assert_true(event_events_command(f->tab, tk, 3, &out) < 0);
	hd_buf_free(&out);
}

static void test_imm_no_gathers_output(void **state)
{
	struct fix *f = *state;
	struct event *e = add(f, EVENT_STAGE_PRE, false, "printf(\"%x,\", $event_id);");
	e->imm = false;
	for (int i = 0; i < 10; i++)
		assert_int_equal(pass(f, EVENT_STAGE_PRE), EVENT_VERDICT_RESUMED);
	assert_string_equal(hd_buf_str(&f->sink), ""); /* not delivered yet */
	add(f, EVENT_STAGE_PRE, false, NULL);     /* a break delivers it */
	assert_int_equal(pass(f, EVENT_STAGE_PRE), EVENT_VERDICT_BREAK);
	assert_string_equal(hd_buf_str(&f->sink), "0,0,0,0,0,0,0,0,0,0,");
	event_pending_drop(f->tab);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_stages_pre_post_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_post_pass_without_post_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_last_event_that_ran_decides_sc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sc_default_and_event_sc_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_circuit_cancels_the_post_pass, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_older_events_after_a_break_reset_events_sc, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_event_sc_in_post_stage_only_warns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_sc_at_a_break_decides, setup, teardown),
		cmocka_unit_test_setup_teardown(test_imm_no_gathers_output, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
