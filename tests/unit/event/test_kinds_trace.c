/*
** test_kinds_trace.c: !trace step-in on a real process: one event per
** instruction of the traced thread, starting at its current instruction,
** context = rip; event_disable from the script ends the tracing and the
** program runs on normally.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <inttypes.h>

#include "asm/asm.h"
#include "test_kinds_sess.h"

static void test_trace_each_instruction(void **state)
{
	(void)state;
	struct sess s;
	struct user_regs_struct r;
	start(&s, "trace", "3");
	uint8_t code[16];
	assert_int_equal(target_regs_get(s.t, s.pid, &r), 0);
	assert_int_equal(target_mem_read(s.t, r.rip, code, sizeof(code)), 0);
	global_set(&s, ".k = 0;");
	cmd(&s, "!trace step-in script { .k = .k + 1; printf(\"%llx\\n\", $context); "
		"if (.k == 0n20) { event_disable($event_id); } }", NULL);
	assert_int_equal(go(&s, NULL, NULL), 0);
	assert_string_equal(output(&s), "trace done\n");
	/* exactly 20 instructions, the first being the one the thread stood at */
	const char *p = hd_buf_str(&s.sink);
	uint64_t prev = 0;
	int n = 0;
	for (;;) {
		uint64_t rip;
		int len = 0;
		if (sscanf(p, "%" SCNx64 "\n%n", &rip, &len) != 1 || !len)
			break;
		if (n == 0)
			assert_int_equal(rip, r.rip);
		if (n == 1) /* the loader's first instruction is no branch */
			assert_int_equal(rip, prev + (uint64_t)asm_insn_length(code, sizeof(code)));
		assert_true(n == 0 || rip != prev);
		prev = rip;
		p += len;
		n++;
	}
	assert_int_equal(n, 20);
	assert_int_equal(*p, 0);
	end(&s);
}

static void test_trace_bad_input(void **state)
{
	(void)state;
	struct sess s;
	struct hd_buf out = {0};
	start(&s, "trace", "1");
	assert_true(cmd(&s, "!trace", &out) < 0);
	assert_string_equal(hd_buf_str(&out), "incorrect use of the '!trace'\n");
	hd_buf_reset(&out);
	assert_true(cmd(&s, "!trace step-out", &out) < 0);
	assert_string_equal(hd_buf_str(&out), "err, '!trace step-out' is not supported for a "
			    "user-mode target; use '!trace step-in'\n");
	hd_buf_reset(&out);
	assert_true(cmd(&s, "!trace sideways", &out) < 0);
	assert_string_equal(hd_buf_str(&out), "err, unknown trace type 'sideways' (step-in)\n");
	assert_int_equal(event_count(s.tab), 0);
	hd_buf_free(&out);
	end(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trace_each_instruction),
		cmocka_unit_test(test_trace_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
