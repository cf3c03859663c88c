/*
 * Query records: what a worker hands to a consumer on another thread about a query it
 * answered, over a bounded single-producer single-consumer ring per worker.
 *
 * With a web listener the workers record their blocks (resolver/stats.c); one consumer,
 * the observer thread (resolver/obs.h), takes them for the "why was this blocked" page
 * and the top blocked names. The query log has rings of its own, below.
 *
 * Cost on the query path: no lock, no allocation, no syscall. The worker writes the
 * record straight into the ring's next slot (ward_ring_reserve) and publishes it with
 * one release store (ward_ring_commit). When the consumer lags and the ring is full,
 * the record is dropped and counted (ward_ring_dropped), never the query.
 */
#ifndef WARD_RECORDS_H
#define WARD_RECORDS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "blocklists/category.h"

#define WARD_RING_SLOTS 2048 /* per worker; a power of two */

struct ward_record {
	int64_t unix_s;            /* when, from the worker's cached clock */
	uint64_t policy_generation;/* the policy (config) `profile` is an index of */
	uint64_t override_id;      /* the override behind the verdict, or 0 */
	int64_t until;             /* a pause or timed deny: unix seconds it ends, else 0 */
	ward_catset categories;    /* the categories behind a block */
	uint32_t profile;          /* UINT32_MAX: none */
	uint16_t qtype;
	uint8_t client[16];        /* IPv6, IPv4 as ::ffff:a.b.c.d */
	uint8_t mac[6];
	bool has_mac;              /* the query carried a MAC option */
	bool mac_trusted;          /* ... from a trusted forwarder */
	uint8_t action;            /* enum ward_policy_action */
	uint8_t reason;            /* enum ward_policy_reason */
	uint8_t schedule;          /* index of the schedule behind it in the profile, 255 none */
	uint8_t verdict;           /* enum ward_verdict (blocklists/qlog.h) */
	uint8_t slot;              /* the profile's stats slot (stats.h): a name for good */
	uint8_t name_len;          /* bytes of name, the root label included; 0: no name */
	uint8_t name[255];         /* the asked name, lower-case wire form */
};

struct ward_record_ring {
	_Atomic uint32_t head;     /* next slot the producer fills */
	uint8_t pad0[60];          /* head and tail on their own cache lines */
	_Atomic uint32_t tail;     /* next slot the consumer reads */
	uint8_t pad1[60];
	_Atomic uint64_t dropped;  /* records lost to a full ring */
	struct ward_record slots[WARD_RING_SLOTS];
};

/* @return a zeroed ring, or NULL. */
struct ward_record_ring *ward_ring_new(void);
void ward_ring_free(struct ward_record_ring *ring);

/* Producer: the slot to fill, or NULL when the ring is full (the drop is counted). */
static inline struct ward_record *ward_ring_reserve(struct ward_record_ring *ring)
{
	uint32_t head = atomic_load_explicit(&ring->head, memory_order_relaxed);
	uint32_t tail = atomic_load_explicit(&ring->tail, memory_order_acquire);
	if (head - tail >= WARD_RING_SLOTS) {
		atomic_fetch_add_explicit(&ring->dropped, 1, memory_order_relaxed);
		return NULL;
	}
	return &ring->slots[head & (WARD_RING_SLOTS - 1)];
}

/* Producer: publish the slot ward_ring_reserve() returned. */
static inline void ward_ring_commit(struct ward_record_ring *ring)
{
	uint32_t head = atomic_load_explicit(&ring->head, memory_order_relaxed);
	atomic_store_explicit(&ring->head, head + 1, memory_order_release);
}

/* Consumer: the oldest record, read in place, or NULL when the ring is empty. Its slot
 * stays the consumer's until ward_ring_release(). */
static inline const struct ward_record *ward_ring_peek(struct ward_record_ring *ring)
{
	uint32_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
	uint32_t head = atomic_load_explicit(&ring->head, memory_order_acquire);
	return tail == head ? NULL : &ring->slots[tail & (WARD_RING_SLOTS - 1)];
}

/* Consumer: done with the record ward_ring_peek() returned; its slot is the producer's. */
static inline void ward_ring_release(struct ward_record_ring *ring)
{
	uint32_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
	atomic_store_explicit(&ring->tail, tail + 1, memory_order_release);
}

/* Consumer: copy the oldest record out. @return false when the ring is empty. */
bool ward_ring_pop(struct ward_record_ring *ring, struct ward_record *out);

static inline uint64_t ward_ring_dropped(struct ward_record_ring *ring)
{
	return atomic_load_explicit(&ring->dropped, memory_order_relaxed);
}

/* ---- the query log's bytes ---------------------------------------------------------------
 *
 * A worker frames each record the query log wants itself (blocklists/qlog.h) straight
 * into its own log ring; the log writer thread appends whole frames from every worker's
 * ring to the log, from the ring's memory, with no copy in between. One producer, one
 * consumer; the head moves only past whole frames. A frame never wraps: when it does not
 * fit before the end of the buffer, the producer skips the rest of the buffer (skip_at
 * says where that began) and starts again at the beginning. When the writer lags and a
 * frame does not fit, it is dropped and counted, never the query.
 */
#define WARD_LOG_RING_BYTES (1u << 20) /* per worker; a power of two */

struct ward_log_ring {
	_Atomic uint64_t head;     /* bytes the producer has used, ever (skips included) */
	uint8_t pad0[56];
	_Atomic uint64_t tail;     /* bytes the consumer has released, ever */
	uint8_t pad1[56];
	_Atomic uint64_t dropped;  /* frames lost to a full ring */
	_Atomic uint64_t skip_at;  /* where the last skip to the start began (head then) */
	size_t size;               /* a power of two */
	uint8_t *data;
};

/* @param size  a power of two (0: WARD_LOG_RING_BYTES). @return an empty ring, or NULL. */
struct ward_log_ring *ward_log_ring_new(size_t size);
void ward_log_ring_free(struct ward_log_ring *ring);

/* Producer: room for a frame of n bytes, contiguous. @return where to write it, or NULL
 * when the ring is full (the drop is counted). */
static inline uint8_t *ward_log_ring_reserve(struct ward_log_ring *ring, size_t n)
{
	uint64_t head = atomic_load_explicit(&ring->head, memory_order_relaxed);
	uint64_t tail = atomic_load_explicit(&ring->tail, memory_order_acquire);
	size_t at = head & (ring->size - 1), to_end = ring->size - at;
	size_t need = to_end < n ? to_end + n : n; /* a frame that does not fit skips the end */
	if (ring->size - (head - tail) < need) {
		atomic_store_explicit(&ring->dropped, atomic_load_explicit(&ring->dropped,
				      memory_order_relaxed) + 1, memory_order_relaxed);
		return NULL;
	}
	if (to_end < n) { /* skip to the start; the commit's release publishes both */
		atomic_store_explicit(&ring->skip_at, head, memory_order_relaxed);
		atomic_store_explicit(&ring->head, head + to_end, memory_order_relaxed);
		at = 0;
	}
	return ring->data + at;
}

/* Producer: publish the n bytes written where ward_log_ring_reserve() said. */
static inline void ward_log_ring_commit(struct ward_log_ring *ring, size_t n)
{
	uint64_t head = atomic_load_explicit(&ring->head, memory_order_relaxed);
	atomic_store_explicit(&ring->head, head + n, memory_order_release);
}

/* Consumer: the whole frames waiting, in place: *len bytes at the returned pointer (0 and
 * NULL when none), contiguous; they stay the consumer's until ward_log_ring_release(). A
 * second call after the release returns the frames past the end of the buffer, if any. */
const uint8_t *ward_log_ring_peek(struct ward_log_ring *ring, size_t *len);
void ward_log_ring_release(struct ward_log_ring *ring, size_t len);

/* Bytes waiting in the ring. */
static inline size_t ward_log_ring_used(struct ward_log_ring *ring)
{
	return (size_t)(atomic_load_explicit(&ring->head, memory_order_acquire) -
			atomic_load_explicit(&ring->tail, memory_order_relaxed));
}

#endif
