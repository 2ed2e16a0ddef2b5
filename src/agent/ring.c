/*
** ring.c: hdbg's side of the output ring: initialisation and the single
** reader. The layout and the writers' protocol are in agent/ring.h.
*/
#include <errno.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/ring.h"

int agent_ring_init(void *mem, uint32_t size)
{
	struct agent_ring_hdr *r = mem;

	if (size < 64 || (size & (size - 1)))
		return -EINVAL;
	r->size = size;
	r->version = AGENT_RING_VERSION;
	r->head = r->tail = r->drops = 0;
	__atomic_store_n(&r->magic, AGENT_RING_MAGIC, __ATOMIC_RELEASE);
	return 0;
}

int agent_ring_read(struct agent_ring_hdr *r, uint32_t *fmt, void *buf, size_t cap, uint32_t *len)
{
	uint64_t size = r->size, tail = r->tail;
	uint8_t *data = agent_ring_data(r);

	for (;;) {
		struct agent_ring_rec *rec = (void *)(data + (tail & (size - 1)));
		uint32_t word = __atomic_load_n(&rec->word, __ATOMIC_ACQUIRE);
		uint32_t n = word & AGENT_RING_LEN_MASK, recsize = agent_ring_recsize(n);

		if (!(word & AGENT_RING_COMMITTED))
			return 0;
		if ((tail & (size - 1)) + recsize > size)
			return -EPROTO;
		if (!(word & AGENT_RING_PAD)) {
			if (n > cap)
				return -ENOSPC;
			*fmt = rec->fmt;
			memcpy(buf, rec + 1, n);
			*len = n;
		}
		/* Zero the record before handing its space back: writers rely
		 * on a zero word meaning "not committed". */
		memset(rec + 1, 0, recsize - sizeof(*rec));
		rec->fmt = 0;
		__atomic_store_n(&rec->word, 0, __ATOMIC_RELAXED);
		tail += recsize;
		__atomic_store_n(&r->tail, tail, __ATOMIC_RELEASE);
		if (!(word & AGENT_RING_PAD))
			return 1;
	}
}

uint64_t agent_ring_drops(const struct agent_ring_hdr *r)
{
	return __atomic_load_n(&r->drops, __ATOMIC_RELAXED);
}
