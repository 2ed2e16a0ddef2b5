/*
** test_arena.c: the books of the agent's arena: alignment, blocks from the
** bottom and buffers from the top, full arena, free with coalescing (the
** whole arena is one extent again), lookups.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/internal.h"

#define LO 0x10040ull
#define HI 0x20000ull

static void test_alloc_bottom_top_and_full(void **state)
{
	struct agent_arena ar = {0};
	uint64_t a, b, c, d;
	(void)state;

	arena_init(&ar, LO + 8, HI);
	assert_int_equal(arena_alloc(&ar, 5, 16, false, &a), 0);
	assert_int_equal(a, LO + 16); /* aligned up */
	assert_int_equal(arena_alloc(&ar, 5, 16, false, &b), 0);
	assert_int_equal(b, LO + 32);
	assert_int_equal(arena_alloc(&ar, 100, 64, true, &c), 0);
	assert_int_equal(c, (HI - 100) & ~63ull); /* from the top */
	assert_int_equal(arena_alloc(&ar, 0, 16, false, &d), -EINVAL);
	assert_int_equal(arena_alloc(&ar, 8, 3, false, &d), -EINVAL);
	assert_int_equal(arena_alloc(&ar, HI - LO, 16, false, &d), -HD_E_LIMIT);
	/* lookups */
	assert_int_equal(arena_find(&ar, a + 4), 0);
	assert_int_equal(arena_find(&ar, a + 5), -1);
	assert_int_equal(arena_find(&ar, c + 99), 2);
	assert_int_equal(arena_free(&ar, a + 1), -HD_E_NOTFOUND);
	arena_fini(&ar);
}

static void test_free_coalesces_and_reuses(void **state)
{
	struct agent_arena ar = {0};
	uint64_t v[16], x;
	(void)state;

	arena_init(&ar, LO, HI);
	for (int i = 0; i < 16; i++)
		assert_int_equal(arena_alloc(&ar, 0x100, 16, i & 1, &v[i]), 0);
	/* a freed hole is reused by the next allocation that fits */
	assert_int_equal(arena_free(&ar, v[4]), 0);
	assert_int_equal(arena_alloc(&ar, 0x100, 16, false, &x), 0);
	assert_int_equal(x, v[4]);
	assert_int_equal(arena_free(&ar, v[4]), 0);
	assert_int_equal(arena_free(&ar, v[4]), -HD_E_NOTFOUND);
	/* free in a scrambled order: everything coalesces into one extent */
	for (int i = 0; i < 16; i++) {
		int k = (i * 7) % 16;
		if (k != 4)
			assert_int_equal(arena_free(&ar, v[k]), 0);
	}
	assert_int_equal(ar.nused, 0);
	assert_int_equal(ar.nfree, 1);
	assert_int_equal(ar.free[0].addr, LO);
	assert_int_equal(ar.free[0].len, HI - LO);
	/* and the whole arena can be taken at once */
	assert_int_equal(arena_alloc(&ar, HI - LO, 16, false, &x), 0);
	assert_int_equal(x, LO);
	arena_fini(&ar);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_bottom_top_and_full),
		cmocka_unit_test(test_free_coalesces_and_reuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
