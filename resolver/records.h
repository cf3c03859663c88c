/*
 * Query records: what a worker hands to a consumer on another thread about a query it
 * answered, over a bounded single-producer single-consumer ring per worker.
 *
 * Today the workers record their blocks, and the web listener's thread (resolver/web.c)
 * consumes them for the "why was this blocked" page. The record says everything a query
 * log or statistics would need about any answer (who, when, what, the verdict), so a
 * later consumer can take every query from the same rings.
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
#include <stdint.h>

#include "blocklists/category.h"

#define WARD_RING_SLOTS 1024 /* per worker; a power of two */

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
	bool has_mac;              /* mac came from a trusted forwarder */
	uint8_t action;            /* enum ward_policy_action */
	uint8_t reason;            /* enum ward_policy_reason */
	uint8_t schedule;          /* index of the schedule behind it in the profile, 255 none */
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

/* Consumer: copy the oldest record out. @return false when the ring is empty. */
bool ward_ring_pop(struct ward_record_ring *ring, struct ward_record *out);

static inline uint64_t ward_ring_dropped(struct ward_record_ring *ring)
{
	return atomic_load_explicit(&ring->dropped, memory_order_relaxed);
}

#endif
