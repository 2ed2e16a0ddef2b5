/*
** internal.h: private to src/agent/. The embedded agent blob (generated from
** agent/ by agent/gen_blob.cmake) and the offsets of its entry points.
*/
#ifndef HD_AGENT_INTERNAL_H
#define HD_AGENT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "util/hd.h"

extern const unsigned char agent_blob_bytes[];
extern const size_t agent_blob_size;
extern const uint32_t agent_runner_off;
extern const uint32_t agent_runner_trap_off;
extern const uint32_t agent_blob_ring_write_off;
extern const uint32_t agent_probe_copy_off;
extern const uint32_t agent_probe_copy_insn_off;
extern const uint32_t agent_probe_copy_fail_off;
extern const uint32_t agent_onestop_off;
extern const uint32_t agent_onestop_break_off;

/** Layout of the runner's call block (see agent/runner.S). */
enum {
	AGENT_CALL_RAX = 0x00,
	AGENT_CALL_RSP = 0x08,
	AGENT_CALL_CODE = 0x10,
	AGENT_CALL_BUFFER = 0x18,
	AGENT_CALL_CONTEXT = 0x20,
	AGENT_CALL_KIND = 0x28,
	AGENT_CALL_SIZE = 0x30,
};

/** Layout of a one-stop entry (agent_onestop_load, agent/runner.S). */
enum {
	AGENT_OS_STUB = 0x00,  /**< lea rsp,[rsp-0x80]; push rax; lea rax,[desc]; jmp runner */
	AGENT_OS_EPI = 0x20,   /**< mov rax,[rsp]; mov rsp,[rsp+0x20]; jmp [rip]; dq cont */
	AGENT_OS_DESC = 0x40,  /**< dq epilogue, dq n, n ops */
	AGENT_OS_OP_SIZE = 0x20,
	AGENT_OS_F_DESC = 0x88, /**< runner frame: descriptor */
	AGENT_OS_F_OP = 0x90,   /**< runner frame: the current op */
};

/* ---- arena.c: the books of the target's arena ---- */

struct agent_extent {
	uint64_t addr, len;
};

struct agent_arena {
	struct agent_extent *free; /* sorted by address, coalesced */
	int nfree, capfree;
	struct agent_extent *used; /* sorted by address */
	int nused, capused;
};

/** Reset `ar` (zeroed or used before) to one free extent [lo, hi). */
void arena_init(struct agent_arena *ar, uint64_t lo, uint64_t hi);
/** Release the books. */
void arena_fini(struct agent_arena *ar);
/** Take `len` bytes aligned to `align` (a power of two): the lowest fit, or
 *  the highest when `top`. @return 0, -EINVAL, -HD_E_LIMIT when full. */
int arena_alloc(struct agent_arena *ar, uint64_t len, uint64_t align, bool top, uint64_t *addr);
/** Give back the allocation that starts at `addr`. @return 0 or -HD_E_NOTFOUND. */
int arena_free(struct agent_arena *ar, uint64_t addr);
/** Index of the allocation containing `addr`, or -1. */
int arena_find(const struct agent_arena *ar, uint64_t addr);

#endif
