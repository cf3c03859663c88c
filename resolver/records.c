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

static size_t frame_len_at(const struct ward_log_ring *ring, uint64_t pos)
{
	uint8_t hi = ring->data[pos & (ring->size - 1)];
	uint8_t lo = ring->data[(pos + 1) & (ring->size - 1)];
	return (size_t)(hi << 8 | lo) + 2;
}

size_t ward_log_ring_take(struct ward_log_ring *ring, uint8_t *out, size_t cap)
{
	uint64_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
	uint64_t head = atomic_load_explicit(&ring->head, memory_order_acquire);
	uint64_t end = tail;
	/* Whole frames only: the producer put nothing else between tail and head. */
	while (end < head && end - tail + frame_len_at(ring, end) <= cap)
		end += frame_len_at(ring, end);
	size_t n = (size_t)(end - tail), at = tail & (ring->size - 1);
	size_t first = ring->size - at < n ? ring->size - at : n;
	memcpy(out, ring->data + at, first);
	memcpy(out + first, ring->data, n - first);
	atomic_store_explicit(&ring->tail, end, memory_order_release);
	return n;
}
