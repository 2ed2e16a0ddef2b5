/*
** arena.c: the allocator of the agent's arena (target addresses; hdbg only
** keeps the books). Free extents sorted by address, coalesced on free;
** blocks are taken first-fit from the bottom, buffers from the top, so that
** buffers that the target writes stay away from code it executes.
*/
#include <errno.h>
#include <string.h>

#include "agent/internal.h"

void arena_init(struct agent_arena *ar, uint64_t lo, uint64_t hi)
{
	arena_fini(ar);
	ar->free = hd_xmalloc(sizeof(*ar->free));
	ar->free[0] = (struct agent_extent){lo, hi - lo};
	ar->nfree = ar->capfree = 1;
}

void arena_fini(struct agent_arena *ar)
{
	free(ar->free);
	free(ar->used);
	memset(ar, 0, sizeof(*ar));
}

static void ext_insert(struct agent_extent **v, int *n, int *cap, int at, struct agent_extent e)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		*v = hd_xrealloc(*v, (size_t)*cap * sizeof(**v));
	}
	memmove(*v + at + 1, *v + at, (size_t)(*n - at) * sizeof(**v));
	(*v)[at] = e;
	(*n)++;
}

static void ext_remove(struct agent_extent *v, int *n, int at)
{
	memmove(v + at, v + at + 1, (size_t)(*n - at - 1) * sizeof(*v));
	(*n)--;
}

/* Take [start, start + len) out of free extent i. */
static void carve(struct agent_arena *ar, int i, uint64_t start, uint64_t len)
{
	struct agent_extent e = ar->free[i];
	uint64_t end = start + len, eend = e.addr + e.len;

	ext_remove(ar->free, &ar->nfree, i);
	if (end < eend)
		ext_insert(&ar->free, &ar->nfree, &ar->capfree, i,
			   (struct agent_extent){end, eend - end});
	if (start > e.addr)
		ext_insert(&ar->free, &ar->nfree, &ar->capfree, i,
			   (struct agent_extent){e.addr, start - e.addr});
}

int arena_alloc(struct agent_arena *ar, uint64_t len, uint64_t align, bool top, uint64_t *addr)
{
	int u = 0;

	if (len == 0 || (align & (align - 1)))
		return -EINVAL;
	for (int k = 0; k < ar->nfree; k++) {
		int i = top ? ar->nfree - 1 - k : k;
		struct agent_extent e = ar->free[i];
		uint64_t start;

		if (e.len < len)
			continue;
		if (top)
			start = (e.addr + e.len - len) & ~(align - 1);
		else
			start = (e.addr + align - 1) & ~(align - 1);
		if (start < e.addr || start + len > e.addr + e.len)
			continue;
		carve(ar, i, start, len);
		while (u < ar->nused && ar->used[u].addr < start)
			u++;
		ext_insert(&ar->used, &ar->nused, &ar->capused, u, (struct agent_extent){start, len});
		*addr = start;
		return 0;
	}
	return -HD_E_LIMIT;
}

int arena_find(const struct agent_arena *ar, uint64_t addr)
{
	for (int i = 0; i < ar->nused; i++)
		if (addr >= ar->used[i].addr && addr - ar->used[i].addr < ar->used[i].len)
			return i;
	return -1;
}

int arena_free(struct agent_arena *ar, uint64_t addr)
{
	int u = arena_find(ar, addr), i = 0;
	struct agent_extent e;

	if (u < 0 || ar->used[u].addr != addr)
		return -HD_E_NOTFOUND;
	e = ar->used[u];
	ext_remove(ar->used, &ar->nused, u);
	while (i < ar->nfree && ar->free[i].addr < e.addr)
		i++;
	ext_insert(&ar->free, &ar->nfree, &ar->capfree, i, e);
	/* coalesce with the next, then with the previous extent */
	if (i + 1 < ar->nfree && ar->free[i].addr + ar->free[i].len == ar->free[i + 1].addr) {
		ar->free[i].len += ar->free[i + 1].len;
		ext_remove(ar->free, &ar->nfree, i + 1);
	}
	if (i > 0 && ar->free[i - 1].addr + ar->free[i - 1].len == ar->free[i].addr) {
		ar->free[i - 1].len += ar->free[i].len;
		ext_remove(ar->free, &ar->nfree, i);
	}
	return 0;
}
