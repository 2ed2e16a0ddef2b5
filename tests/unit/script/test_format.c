/*
** test_format.c: HyperDbg's printf rules (spec hyperdbg-script.md §11 and
** the observed table of §16): recognised specifiers, Windows widths, %p,
** strings read through the run's memory view (an unreadable one is an
** error), the 4096-byte limit, and the
** compile-time argument-count check.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <string.h>

#include "script/format.h"
#include "script/script.h"

/* A fake target memory: [base, base + len) is readable. */
struct fake_mem {
	uint64_t base;
	const unsigned char *buf;
	size_t len;
	int reads;
};

static int fake_read(void *ud, uint64_t addr, void *buf, size_t len)
{
	struct fake_mem *m = ud;

	m->reads++;
	if (addr < m->base || addr - m->base > m->len || len > m->len - (addr - m->base))
		return -14; /* -EFAULT */
	memcpy(buf, m->buf + (addr - m->base), len);
	return 0;
}

#define BASE 0x10000ull

static unsigned char mem[8192];
static struct fake_mem fm = { BASE, mem, sizeof(mem), 0 };
static const struct script_mem env = { .ud = &fm, .read = fake_read };

static char out[SCRIPT_FORMAT_MAX + 64];

static const char *fmt1(const char *fmt, const uint64_t *args, int nargs)
{
	int rc = script_format(fmt, args, nargs, &env, out, sizeof(out));

	assert_true(rc >= 0);
	assert_int_equal((size_t)rc, strlen(out));
	return out;
}

static uint64_t dbl(double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	return u;
}

/* Rows of the observed table (§16). */
static void test_observed_table(void **state)
{
	(void)state;
	{
		uint64_t a[] = { 0xffffffff, 0xffffffff, 0xffffffff, 0x123456789, 8, 0x41 };

		assert_string_equal(fmt1("%d %i %u %x %o %c|\n", a, 6),
				    "-1 -1 4294967295 23456789 10 A|\n");
	}
	{
		uint64_t a[] = { 0x1ffff, 0x1ffff, 0x12345, 8 };

		assert_string_equal(fmt1("%hd %hu %hx %ho|\n", a, 4), "-1 65535 2345 10|\n");
	}
	{
		uint64_t a[] = { UINT64_MAX, UINT64_MAX };

		assert_string_equal(fmt1("%lld %llu|\n", a, 2), "-1 18446744073709551615|\n");
	}
	assert_string_equal(fmt1("100%%|\n", NULL, 0), "100%%|\n");
	assert_string_equal(fmt1("tab\there\x41\\ \"q\"\n", NULL, 0), "tab\thereA\\ \"q\"\n");
	{
		uint64_t a[] = { 0x10 };

		assert_string_equal(fmt1("%llx\n", a, 1), "10\n");
	}
	{
		uint64_t a[] = { 0x88, 0x7788, 0x55667788, 0x1122334455667788,
				 0x1122334455667788, 0x5566 };

		assert_string_equal(fmt1("%llx %llx %llx %llx %llx %llx\n", a, 6),
				    "88 7788 55667788 1122334455667788 1122334455667788 5566\n");
	}
	{
		uint64_t a[] = { 2 };

		assert_string_equal(fmt1("test case %d was successful\n", a, 1),
				    "test case 2 was successful\n");
	}
}

/* %l? is 32 bits (Windows LLP64), %p is MSVC style. */
static void test_windows_widths(void **state)
{
	uint64_t a[] = { 0xffffffff, 0x123456789, 0x1ffffffff, 0x100000008, 0xfffffffe };
	uint64_t p[] = { 0x1234, 0xfffff80012345678 };

	(void)state;
	assert_string_equal(fmt1("%ld %lx %lu %lo %li", a, 5), "-1 23456789 4294967295 10 -2");
	assert_string_equal(fmt1("%p %p", p, 2), "0000000000001234 FFFFF80012345678");
	{
		uint64_t b[] = { 0x123456789abcdef0, 0x8000000000000000, 0x1ffffffffffffffe };

		assert_string_equal(fmt1("%llx %lli %llo", b, 3),
				    "123456789abcdef0 -9223372036854775808 177777777777777777776");
	}
	{
		uint64_t b[] = { 0x18000, 0x12345678 };

		assert_string_equal(fmt1("%hi %hx", b, 2), "-32768 5678");
	}
	{
		uint64_t b[] = { 0x4142 };  /* %c takes the low byte */

		assert_string_equal(fmt1("[%c]", b, 1), "[B]");
	}
}

/* Unrecognised text after % is literal and consumes nothing. */
static void test_literal_percent(void **state)
{
	uint64_t a[] = { 5, 6 };

	(void)state;
	assert_string_equal(fmt1("%X %08x %lf %q %", NULL, 0), "%X %08x %lf %q %");
	assert_string_equal(fmt1("%%d|%d", a, 2), "%5|6");
	assert_string_equal(fmt1("%llx%", a, 1), "5%");
}

static void test_floats(void **state)
{
	uint64_t a[] = { dbl(11.5), dbl(-0.0), dbl(0.1 + 0.2), dbl(-1234567.125) };

	(void)state;
	assert_string_equal(fmt1("%f %f %f %f", a, 4),
			    "11.500000 -0.000000 0.300000 -1234567.125000");
}

static void test_strings(void **state)
{
	uint64_t a[2];
	size_t i;

	(void)state;
	memset(mem, 0, sizeof(mem));
	strcpy((char *)mem, "Hello world !");
	/* wide "A\u00e9B" at offset 0x100 */
	mem[0x100] = 'A', mem[0x102] = 0xe9, mem[0x104] = 'B';
	a[0] = BASE;
	a[1] = BASE + 0x100;
	assert_string_equal(fmt1("[%s] [%ws] [%ls]", (uint64_t[]){ BASE, BASE + 0x100,
								  BASE + 0x100 }, 3),
			    "[Hello world !] [A?B] [A?B]");
	/* unreadable: an error (HyperDbg's kernel engine checks the address) */
	a[0] = 0x1234;
	a[1] = 7;
	assert_int_equal(script_format("<%s>%d", a, 2, &env, out, sizeof(out)), -HD_E_BADADDR);
	assert_int_equal(script_format("<%ws>%d", a, 2, &env, out, sizeof(out)), -HD_E_BADADDR);
	a[0] = 0;
	assert_int_equal(script_format("<%s>", a, 1, &env, out, sizeof(out)), -HD_E_BADADDR);
	/* a string running into unreadable memory without a NUL is an error;
	 * one ending right at the edge is printed (chunked reads fall back) */
	memset(mem + sizeof(mem) - 10, 'z', 10);
	a[0] = BASE + sizeof(mem) - 10;
	assert_int_equal(script_format("<%s>", a, 1, &env, out, sizeof(out)), -HD_E_BADADDR);
	mem[sizeof(mem) - 1] = 0;
	assert_string_equal(fmt1("<%s>", a, 1), "<zzzzzzzzz>");
	/* a long string (> one read chunk) */
	for (i = 0; i < 300; i++)
		mem[0x200 + i] = (unsigned char)('a' + i % 26);
	mem[0x200 + 300] = 0;
	a[0] = BASE + 0x200;
	assert_int_equal(strlen(fmt1("%s", a, 1)), 300);
	/* no memory to read at all: an error too */
	assert_int_equal(script_format("<%s>", a, 1, NULL, out, sizeof(out)), -HD_E_BADADDR);
}

/* 4096-byte packet: literal overflow is an error, a string that does not
 * fit is left out. */
static void test_limit(void **state)
{
	static char big[5000];
	uint64_t a[1];
	int rc;

	(void)state;
	memset(big, 'x', 4095);
	big[4095] = 0;
	rc = script_format(big, NULL, 0, &env, out, sizeof(out));
	assert_int_equal(rc, 4095);
	big[4095] = 'y';
	big[4096] = 0;
	rc = script_format(big, NULL, 0, &env, out, sizeof(out));
	assert_int_equal(rc, -HD_E_LIMIT);
	/* a number at the edge */
	memset(big, 'x', 4094);
	strcpy(big + 4094, "%d");
	a[0] = 7;
	assert_int_equal(script_format(big, a, 1, &env, out, sizeof(out)), 4095);
	a[0] = 70;
	assert_int_equal(script_format(big, a, 1, &env, out, sizeof(out)), -HD_E_LIMIT);
	/* a string that does not fit is omitted, the text after it still comes */
	memset(mem, 'S', 100);
	mem[100] = 0;
	memset(big, 'x', 4000);
	strcpy(big + 4000, "%s!");
	a[0] = BASE;
	rc = script_format(big, a, 1, &env, out, sizeof(out));
	assert_int_equal(rc, 4001);
	assert_int_equal(out[4000], '!');
	/* the caller's buffer truncates */
	a[0] = 0x123;
	assert_int_equal(script_format("value %llx", a, 1, &env, out, 8), 7);
	assert_string_equal(out, "value 1");
}

static void test_check(void **state)
{
	char err[128];
	enum script_fmt_kind k[8];

	(void)state;
	assert_int_equal(script_format_check("%llx %llx\n", 2, err, sizeof(err)), 0);
	assert_int_equal(script_format_check("%llx %llx\n", 1, err, sizeof(err)), -HD_E_PARSE);
	assert_non_null(strstr(err, "2 specifiers"));
	assert_int_equal(script_format_check("%llx\n", 2, err, sizeof(err)), -HD_E_PARSE);
	assert_int_equal(script_format_check("%08x|\n", 1, err, sizeof(err)), -HD_E_PARSE);
	assert_int_equal(script_format_check("%X", 1, err, sizeof(err)), -HD_E_PARSE);
	assert_int_equal(script_format_check("%X", 0, NULL, 0), 0);
	assert_int_equal(script_format_check("%d%%d", 1, NULL, 0), -HD_E_PARSE);
	assert_int_equal(script_format_check("%d%%d", 2, NULL, 0), 0);
	assert_int_equal(script_format_check("100%%|\n", 0, NULL, 0), 0);
	assert_int_equal(script_format_kinds("%s %ws %ls %f %c %p %hx %lli %lu", k, 8), 9);
	assert_int_equal(k[0], SCRIPT_FMT_STR);
	assert_int_equal(k[1], SCRIPT_FMT_WSTR);
	assert_int_equal(k[2], SCRIPT_FMT_WSTR);
	assert_int_equal(k[3], SCRIPT_FMT_FLOAT);
	assert_int_equal(k[4], SCRIPT_FMT_INT);
	assert_int_equal(k[7], SCRIPT_FMT_INT);
	assert_int_equal(script_format_spec("%llx", NULL), 4);
	assert_int_equal(script_format_spec("%ll", NULL), 0);
	assert_int_equal(script_format_spec("%h", NULL), 0);
	assert_int_equal(script_format_spec("%lf", NULL), 0);
	assert_int_equal(script_format_spec("%", NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_observed_table),
		cmocka_unit_test(test_windows_widths),
		cmocka_unit_test(test_literal_percent),
		cmocka_unit_test(test_floats),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
