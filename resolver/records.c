/* The record rings between workers and their consumer (records.h). */
#include "resolver/records.h"

#include <stdlib.h>
#include <string.h>

struct ward_record_ring *ward_ring_new(void)
{
	return calloc(1, sizeof(struct ward_record_ring));
}

void ward_ring_free(struct ward_record_ring *ring)
{
	free(ring);
}

bool ward_ring_pop(struct ward_record_ring *ring, struct ward_record *out)
{
	uint32_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
	uint32_t head = atomic_load_explicit(&ring->head, memory_order_acquire);
	if (tail == head)
		return false;
	memcpy(out, &ring->slots[tail & (WARD_RING_SLOTS - 1)], sizeof(*out));
	/* The slot is free for the producer only after the copy. */
	atomic_store_explicit(&ring->tail, tail + 1, memory_order_release);
	return true;
}
