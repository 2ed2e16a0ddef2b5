/*
** blob.c: C part of the agent blob (freestanding, position independent,
** no libc). Entry points are found by name (`agent_*`) when the blob is
** embedded; they are called from trampolines and the runner, never linked.
*/
#include "ring.h"

int agent_blob_ring_write(struct agent_ring_hdr *r, uint32_t fmt, const void *payload,
			  uint32_t len);

/** Ring writer for code running in the target (script printf). */
int agent_blob_ring_write(struct agent_ring_hdr *r, uint32_t fmt, const void *payload,
			  uint32_t len)
{
	return agent_ring_write(r, fmt, payload, len);
}
