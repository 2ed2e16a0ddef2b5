/* Unit tests for the util layer: error messages and the string buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "util/hd.h"

static void test_strerror(void **state)
{
	(void)state;
	assert_string_equal(hd_strerror(-HD_E_PARSE), "syntax error");
	assert_string_equal(hd_strerror(-HD_E_NOSYM), "unknown symbol");
	assert_string_equal(hd_strerror(-ENOENT), strerror(ENOENT));
}

static void test_buf(void **state)
{
	struct hd_buf b = {0};
	(void)state;
	assert_string_equal(hd_buf_str(&b), "");
	for (int i = 0; i < 100; i++)
		hd_buf_printf(&b, "%d,", i);
	assert_int_equal(b.len, strlen(b.p));
	assert_true(strncmp(b.p, "0,1,2,", 6) == 0);
	assert_true(strstr(b.p, "99,") != NULL);
	hd_buf_reset(&b);
	hd_buf_append(&b, "ab", 2);
	assert_string_equal(hd_buf_str(&b), "ab");
	hd_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strerror),
		cmocka_unit_test(test_buf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
