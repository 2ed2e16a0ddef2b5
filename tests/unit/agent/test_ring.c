/*
** test_ring.c: the output ring in-process: several writer threads against
** one reader, every record read back exactly once and in each writer's
** order, drops counted when the ring is full, writers never block.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>

#include "agent/agent.h"
#include "agent/ring.h"

static struct agent_ring_hdr *ring_new(uint32_t size)
{
	void *m = calloc(1, AGENT_RING_HDR_SIZE + size);
	assert_non_null(m);
	assert_int_equal(agent_ring_init(m, size), 0);
	return m;
}

static void test_init_rejects_bad_sizes(void **state)
{
	char mem[AGENT_RING_HDR_SIZE + 128] = {0};
	(void)state;
	assert_int_equal(agent_ring_init(mem, 100), -EINVAL);
	assert_int_equal(agent_ring_init(mem, 32), -EINVAL);
	assert_int_equal(agent_ring_init(mem, 128), 0);
	assert_int_equal(((struct agent_ring_hdr *)mem)->magic, AGENT_RING_MAGIC);
}

static void test_roundtrip_and_wrap(void **state)
{
	struct agent_ring_hdr *r = ring_new(256);
	char payload[40], out[64];
	uint32_t fmt, len;
	(void)state;

	assert_int_equal(agent_ring_read(r, &fmt, out, sizeof(out), &len), 0);
	/* 48-byte records in 256 bytes: the 6th no longer fits at the end
	 * and is written after a PAD record at offset 0. */
	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < 3; i++) {
			memset(payload, 'a' + (round * 3 + i) % 26, sizeof(payload));
			assert_int_equal(agent_ring_write(r, 100 + (uint32_t)i, payload,
							  (uint32_t)sizeof(payload)), 0);
		}
		for (int i = 0; i < 3; i++) {
			assert_int_equal(agent_ring_read(r, &fmt, out, sizeof(out), &len), 1);
			assert_int_equal(fmt, 100 + i);
			assert_int_equal(len, sizeof(payload));
			for (size_t k = 0; k < len; k++)
				assert_int_equal(out[k], 'a' + (round * 3 + i) % 26);
		}
		assert_int_equal(agent_ring_read(r, &fmt, out, sizeof(out), &len), 0);
	}
	assert_true(r->head > 20 * 3 * 48); /* pads were inserted: it wrapped */
	assert_int_equal(agent_ring_drops(r), 0);
	free(r);
}

static void test_full_drops_and_small_buffer(void **state)
{
	struct agent_ring_hdr *r = ring_new(256);
	uint64_t v = 7, big[40] = {0}, out[8];
	uint32_t fmt, len;
	int ok = 0;
	(void)state;

	for (int i = 0; i < 100; i++)
		ok += agent_ring_write(r, 1, &v, sizeof(v)) == 0;
	assert_int_equal(ok, 256 / 16);
	assert_int_equal(agent_ring_drops(r), 100 - 256 / 16);
	/* larger than half the ring: dropped, never blocks */
	assert_int_equal(agent_ring_write(r, 2, big, sizeof(big)), -1);
	assert_int_equal(agent_ring_drops(r), 100 - 256 / 16 + 1);
	/* a reader buffer too small leaves the record in place */
	assert_int_equal(agent_ring_read(r, &fmt, out, 4, &len), -ENOSPC);
	assert_int_equal(agent_ring_read(r, &fmt, out, sizeof(out), &len), 1);
	assert_int_equal(out[0], 7);
	assert_int_equal(len, 8);
	free(r);
}

#define NWRITERS 4
#define PER_WRITER 20000

struct writer {
	struct agent_ring_hdr *r;
	uint32_t id;
	unsigned long written, attempts;
};

static void *writer_main(void *p)
{
	struct writer *w = p;
	for (uint64_t seq = 0; seq < PER_WRITER; seq++) {
		uint64_t rec[3] = {seq, w->id, seq * 2654435761u};
		/* variable length: 8..24 bytes */
		uint32_t len = (uint32_t)(8 * (1 + seq % 3));
		/* a full ring drops at once; retry so that every record
		 * eventually gets through and the reader can check gaps */
		for (;;) {
			w->attempts++;
			if (agent_ring_write(w->r, w->id, rec, len) == 0)
				break;
			sched_yield();
		}
		w->written++;
	}
	return NULL;
}

static void test_many_writers_one_reader(void **state)
{
	struct agent_ring_hdr *r = ring_new(4096);
	struct writer w[NWRITERS];
	pthread_t th[NWRITERS];
	uint64_t next[NWRITERS] = {0}, got[NWRITERS] = {0}, rec[3];
	unsigned long total = 0, written = 0, attempts = 0;
	uint32_t fmt, len;
	int alive = NWRITERS;
	(void)state;

	for (int i = 0; i < NWRITERS; i++) {
		w[i] = (struct writer){.r = r, .id = (uint32_t)i};
		assert_int_equal(pthread_create(&th[i], NULL, writer_main, &w[i]), 0);
	}
	for (;;) {
		int rc = agent_ring_read(r, &fmt, rec, sizeof(rec), &len);
		assert_true(rc >= 0);
		if (rc == 1) {
			assert_true(fmt < NWRITERS);
			/* per writer: every sequence number, in order */
			assert_int_equal(rec[0], next[fmt]);
			assert_int_equal(len, 8 * (1 + rec[0] % 3));
			if (len >= 16)
				assert_int_equal(rec[1], fmt);
			if (len >= 24)
				assert_int_equal(rec[2], rec[0] * 2654435761u);
			next[fmt] = rec[0] + 1;
			got[fmt]++;
			total++;
			continue;
		}
		if (alive == 0)
			break;
		/* empty: give the writers time; join them once they are done */
		for (int i = 0; i < NWRITERS; i++)
			if (th[i] && pthread_tryjoin_np(th[i], NULL) == 0) {
				th[i] = 0;
				alive--;
			}
		sched_yield();
	}
	for (int i = 0; i < NWRITERS; i++) {
		assert_int_equal(got[i], w[i].written);
		assert_int_equal(w[i].written, PER_WRITER);
		written += w[i].written;
		attempts += w[i].attempts;
	}
	assert_int_equal(total, written);
	/* every failed attempt was a drop, counted once */
	assert_int_equal(attempts - written, agent_ring_drops(r));
	assert_int_equal(r->head, r->tail);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_rejects_bad_sizes),
		cmocka_unit_test(test_roundtrip_and_wrap),
		cmocka_unit_test(test_full_drops_and_small_buffer),
		cmocka_unit_test(test_many_writers_one_reader),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
