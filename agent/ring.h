/*
** ring.h: the agent's output ring, shared by the in-target blob (writer)
** and hdbg (reader, src/agent/). Freestanding: only compiler builtins.
**
** Layout. The ring lives at offset 0 of a memfd that is mapped both in the
** target and in hdbg. A 256-byte header is followed by `size` bytes of data
** (`size` a power of two). `head` and `tail` are byte positions that only
** grow; a position's offset in the data is `pos & (size - 1)`.
**
**   0x00 magic, version, size, reserved     (written once by hdbg)
**   0x40 head   next free position           (writers, CAS)
**   0x80 tail   next position to read        (reader only)
**   0xc0 drops  records lost because full    (writers, atomic add)
**   0x100 data
**
** A record is an 8-byte header {u32 word, u32 fmt} followed by its payload,
** padded to 8 bytes. `word` = payload length (bits 0-23) | PAD (bit 30) |
** COMMITTED (bit 31). The payload is opaque to the ring (printf: the
** argument values, strings inline).
**
** Protocol (many writers, one reader, nobody blocks):
**  - a writer reserves [head, head + need) by CAS on head, after checking
**    head + need - tail <= size; if the ring is full (or the record is
**    larger than half the ring) it adds 1 to drops and gives up at once;
**  - a record never wraps: if it would cross the end of the data, the
**    writer reserves the rest of the data as well and fills it with a PAD
**    record, then writes its record at offset 0;
**  - the writer fills fmt and payload, then stores `word` with release
**    order; COMMITTED set means the record is complete;
**  - the reader looks at `word` at tail (acquire): 0 means empty or still
**    being written (records are consumed in order, so the reader waits for
**    it); otherwise it copies the record out, zeroes its bytes and then
**    advances tail (release), which hands the zeroed space back to writers.
** A writer that dies between reserving and committing leaves a hole that
** stops the reader for good (agent_ring_reset() recovers).
*/
#ifndef HD_AGENT_RING_H
#define HD_AGENT_RING_H

#include <stdint.h>

#define AGENT_RING_MAGIC     0x676e6972u /* "ring" */
#define AGENT_RING_VERSION   1u
#define AGENT_RING_HDR_SIZE  0x100u
#define AGENT_RING_COMMITTED 0x80000000u
#define AGENT_RING_PAD       0x40000000u
#define AGENT_RING_LEN_MASK  0x00ffffffu
/** Largest payload of one record (also bounded by half the ring). */
#define AGENT_RING_MAX_PAYLOAD 0x10000u

struct agent_ring_hdr {
	uint32_t magic, version, size, reserved;
	uint8_t pad0[0x40 - 16];
	uint64_t head;
	uint8_t pad1[0x38];
	uint64_t tail;
	uint8_t pad2[0x38];
	uint64_t drops;
	uint8_t pad3[0x38];
};

struct agent_ring_rec {
	uint32_t word;
	uint32_t fmt;
};

_Static_assert(sizeof(struct agent_ring_hdr) == AGENT_RING_HDR_SIZE, "ring header size");

static inline uint8_t *agent_ring_data(struct agent_ring_hdr *r)
{
	return (uint8_t *)r + AGENT_RING_HDR_SIZE;
}

static inline uint32_t agent_ring_recsize(uint32_t len)
{
	return (uint32_t)sizeof(struct agent_ring_rec) + ((len + 7u) & ~7u);
}

static inline void agent_ring_copy(uint8_t *d, const uint8_t *s, uint32_t n)
{
	/* No libc in the blob: a plain loop (volatile keeps gcc from turning
	 * it back into a memcpy call). */
	volatile uint8_t *vd = d;
	for (uint32_t i = 0; i < n; i++)
		vd[i] = s[i];
}

/**
 * @brief Append one record; never blocks.
 * @return 0, or -1 if the record was dropped (ring full or record too
 *         large; `drops` was incremented).
 */
static inline int agent_ring_write(struct agent_ring_hdr *r, uint32_t fmt,
				   const void *payload, uint32_t len)
{
	uint64_t size = r->size, head, pad, need;
	uint8_t *data = agent_ring_data(r);

	need = agent_ring_recsize(len);
	if (len > AGENT_RING_MAX_PAYLOAD || need > size / 2)
		goto drop;
	head = __atomic_load_n(&r->head, __ATOMIC_RELAXED);
	for (;;) {
		uint64_t tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
		uint64_t off = head & (size - 1);

		pad = off + need > size ? size - off : 0;
		if (head + pad + need - tail > size)
			goto drop;
		if (__atomic_compare_exchange_n(&r->head, &head, head + pad + need, 1,
						__ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			break;
	}
	if (pad) {
		struct agent_ring_rec *p = (void *)(data + (head & (size - 1)));
		p->fmt = 0;
		__atomic_store_n(&p->word,
				 AGENT_RING_COMMITTED | AGENT_RING_PAD |
					 (uint32_t)(pad - sizeof(*p)),
				 __ATOMIC_RELEASE);
		head += pad;
	}
	struct agent_ring_rec *rec = (void *)(data + (head & (size - 1)));
	rec->fmt = fmt;
	agent_ring_copy((uint8_t *)(rec + 1), payload, len);
	__atomic_store_n(&rec->word, AGENT_RING_COMMITTED | len, __ATOMIC_RELEASE);
	return 0;
drop:
	__atomic_fetch_add(&r->drops, 1, __ATOMIC_RELAXED);
	return -1;
}

#endif
