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

/* Test builds: WARD_TEST_QLOG_RING (a power of two, 512 .. the default) makes the log
 * rings that small, so a test fills them with a few dozen queries. */
static size_t default_size(void)
{
#ifdef WARD_TEST_HOOKS
	const char *env = getenv("WARD_TEST_QLOG_RING");
	unsigned long n = env ? strtoul(env, NULL, 10) : 0;
	if (n >= 512 && n <= WARD_LOG_RING_BYTES && (n & (n - 1)) == 0)
		return n;
#endif
	return WARD_LOG_RING_BYTES;
}

struct ward_log_ring *ward_log_ring_new(size_t size)
{
	struct ward_log_ring *ring = calloc(1, sizeof(*ring));
	if (!ring)
		return NULL;
	ring->size = size ? size : default_size();
	atomic_store(&ring->skip_at, UINT64_MAX);
	if (!(ring->data = malloc(ring->size))) {
		free(ring);
		ring = NULL;
	}
	return ring;
}

void ward_log_ring_free(struct ward_log_ring *ring)
{
	if (ring)
		free(ring->data);
	free(ring);
}

/*
 * From the tail, the frames up to the head, a skip or the end of the buffer; a skip at
 * the tail is released at once (what follows it starts at the beginning). Between tail
 * and head there is one skip at most: two would take more than the buffer's size.
 */
const uint8_t *ward_log_ring_peek(struct ward_log_ring *ring, size_t *len)
{
	uint64_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
	uint64_t head = atomic_load_explicit(&ring->head, memory_order_acquire);
	uint64_t skip = atomic_load_explicit(&ring->skip_at, memory_order_relaxed);
	size_t at = tail & (ring->size - 1), to_end = ring->size - at;
	*len = 0;
	if (tail == head)
		return NULL;
	if (skip == tail) {
		tail += to_end;
		atomic_store_explicit(&ring->tail, tail, memory_order_release);
		at = 0;
		to_end = ring->size;
		if (tail == head)
			return NULL;
	}
	uint64_t end = head - tail < to_end ? head : tail + to_end;
	if (skip > tail && skip < end)
		end = skip;
	*len = (size_t)(end - tail);
	return ring->data + at;
}

void ward_log_ring_release(struct ward_log_ring *ring, size_t len)
{
	uint64_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
	atomic_store_explicit(&ring->tail, tail + len, memory_order_release);
}
