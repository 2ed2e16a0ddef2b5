/*
** test_kinds_exception.c: !exception on real processes: exactly one event
** per signal of the wanted number (others untouched), context = signal
** number, sc suppresses the signal, the post stage stands at the handler's
** first instruction, and signals no !exception wants stay with the
** debugger (the run loop sees them).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <signal.h>

#include "test_kinds_sess.h"

static void test_exception_fires_per_signal(void **state)
{
	(void)state;
	struct sess s;
	start(&s, "sig", "5");
	cmd(&s, "!exception a script { printf(\"sig %llx\\n\", $context); }", NULL);
	cmd(&s, "!exception c script { printf(\"usr2\\n\"); }", NULL);
	assert_int_equal(go(&s, NULL, NULL), 0);
	assert_non_null(strstr(output(&s), "sig handled=5\n"));
	assert_int_equal(count(hd_buf_str(&s.sink), "sig a\n"), 5);
	assert_int_equal(count(hd_buf_str(&s.sink), "usr2"), 0);
	end(&s);
}

static void test_all_signals_and_unclaimed_ones(void **state)
{
	(void)state;
	struct sess s;
	start(&s, "sig", "3");
	/* no event: the loop gets the signal stops itself */
	assert_int_equal(go(&s, NULL, NULL), 0);
	assert_int_equal(s.nstops[TARGET_STOP_SIGNAL], 3);
	end(&s);

	start(&s, "sig", "3");
	cmd(&s, "!exception script { printf(\"any %llx\\n\", $context); }", NULL);
	assert_int_equal(go(&s, NULL, NULL), 0);
	assert_non_null(strstr(output(&s), "sig handled=3\n"));
	assert_int_equal(count(hd_buf_str(&s.sink), "any a\n"), 3);
	end(&s);
}

static void test_sc_suppresses_the_signal(void **state)
{
	(void)state;
	struct sess s;
	start(&s, "sig", "4");
	cmd(&s, "!exception a sc on script { printf(\"x\\n\"); }", NULL);
	assert_int_equal(go(&s, NULL, NULL), 0);
	assert_non_null(strstr(output(&s), "sig handled=0\n"));
	assert_int_equal(count(hd_buf_str(&s.sink), "x\n"), 4);
	end(&s);
}

static void test_post_stage_at_the_handler(void **state)
{
	(void)state;
	struct sess s;
	char want[64];
	unsigned long handler = 0;
	start(&s, "sig", "2");
	cmd(&s, "!exception a stage all script { printf(\"%x %llx %llx\\n\", $event_stage, "
		"$context, @rip); }", NULL);
	assert_int_equal(go(&s, NULL, NULL), 0);
	char *out = output(&s);
	assert_int_equal(sscanf(out, "handler=%lx", &handler), 1);
	assert_non_null(strstr(out, "sig handled=2\n"));
	snprintf(want, sizeof(want), "1 a %lx\n", handler);
	assert_int_equal(count(hd_buf_str(&s.sink), want), 2);
	assert_int_equal(count(hd_buf_str(&s.sink), "0 a "), 2);
	end(&s);
}

static void test_bad_signal_number(void **state)
{
	(void)state;
	struct sess s;
	struct hd_buf out = {0};
	start(&s, "sig", "1");
	assert_true(cmd(&s, "!exception 41", &out) < 0);
	assert_string_equal(hd_buf_str(&out), "err, the signal number '41' is invalid (1 to 0x40)\n");
	hd_buf_reset(&out);
	assert_true(cmd(&s, "!exception a b", &out) < 0);
	assert_string_equal(hd_buf_str(&out), "unknown parameter 'b'\n");
	assert_int_equal(event_count(s.tab), 0);
	hd_buf_free(&out);
	end(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exception_fires_per_signal),
		cmocka_unit_test(test_all_signals_and_unclaimed_ones),
		cmocka_unit_test(test_sc_suppresses_the_signal),
		cmocka_unit_test(test_post_stage_at_the_handler),
		cmocka_unit_test(test_bad_signal_number),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
