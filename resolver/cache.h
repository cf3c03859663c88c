/*
 * Answer cache: one shard per worker thread, never shared, so it needs no lock.
 *
 * Entries hold the stored form of an upstream answer (see ward_dns_parse_response) and
 * the offsets of its TTL fields, so a hit is answered by one copy plus TTL rewrites.
 * Memory for entries is reserved up front and reused; a lookup allocates nothing.
 * Eviction keeps hot entries (CLOCK: a hit sets a reference bit; the hand skips
 * referenced entries once). The hand takes an expired entry as soon as it meets it, even a
 * referenced one, so expired entries go before hot ones; until then they stay, so that
 * they can be served stale.
 *
 * Memory, per shard of N = max_entries:
 *   fixed, reserved by ward_cache_new():  24 bytes per entry (entry table)
 *                                         + 16 bytes per index bucket, 2..4 buckets per entry
 *                                         = 56..88 bytes per entry (200k entries: 12.6 MiB)
 *   per entry, while it holds an answer:  one buffer of 32 + 2*n_ttls + lname_len + msg_len
 *                                         bytes, rounded up to a size class (<= 12.5% waste),
 *                                         plus the allocator's header. A typical A/AAAA answer
 *                                         needs 128..256 bytes, a DNSSEC one 512..1500
 *                                         (200k two-record A answers: 27.4 MiB).
 *   hard cap on all answer buffers:       N * WARD_CACHE_BYTES_PER_ENTRY + WARD_CACHE_BYTES_SLACK
 *                                         (200k entries: 195.6 MiB); beyond it the CLOCK hand
 *                                         evicts until the new answer fits.
 * Buffers are malloc'ed the first time a slot is filled and then reused by whatever entry
 * takes the slot; a store allocates only when the new answer's size class is larger than
 * the slot's buffer, or less than half of it (so one 64 KiB answer does not pin 64 KiB).
 */
#ifndef WARD_CACHE_H
#define WARD_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blocklists/conf.h"
#include "resolver/dns.h"

#define WARD_CACHE_SERVFAIL_TTL 3  /* seconds an upstream SERVFAIL is remembered */
#define WARD_CACHE_STALE_MAX 86400 /* seconds past expiry an entry may be served stale */
#define WARD_CACHE_MAX_ENTRIES (1u << 26)    /* largest shard ward_cache_new() accepts */
#define WARD_CACHE_BYTES_PER_ENTRY 1024      /* average answer size the byte cap allows */
#define WARD_CACHE_BYTES_SLACK (256u * 1024) /* so even a 1-entry shard holds a 64 KiB answer */

struct ward_cache;

struct ward_cache_key {
	const uint8_t *lname;  /* lower-case wire name */
	uint16_t lname_len;
	uint16_t qtype, qclass;
	bool do_bit;
	bool cd;
};

/* The cache key of a question: the one place a key is built (query.c asks with it, fills
 * with it and serves stale with it). Valid while q is. */
static inline struct ward_cache_key ward_cache_key_of(const struct ward_dns_query *q)
{
	return (struct ward_cache_key){
		.lname = q->lname, .lname_len = q->qname_len, .qtype = q->qtype,
		.qclass = q->qclass, .do_bit = q->do_bit, .cd = q->cd,
	};
}

struct ward_cache_hit {
	const uint8_t *msg;        /* valid until the next store into this cache */
	size_t msg_len;
	const uint16_t *ttl_off;
	unsigned n_ttls;
	uint32_t age_s;            /* seconds since stored */
	bool stale;                /* expired (only returned when allow_stale) */
	uint8_t rcode;
	bool has_cname;            /* see ward_dns_response.has_cname */
};

/*
 * Create one worker's shard. Its key hash (SipHash-1-3) is seeded from getrandom().
 * @param max_entries  this shard's capacity (the configured total divided by workers);
 *                     0 gives a disabled cache: every lookup misses, every store is a no-op
 * @param limits       min_ttl, max_ttl, serve_stale (copied; limits->max_entries is ignored);
 *                     NULL = defaults (0, 86400, true)
 * @return a new cache to free with ward_cache_free(), or NULL when out of memory or
 *         max_entries > WARD_CACHE_MAX_ENTRIES.
 */
struct ward_cache *ward_cache_new(uint32_t max_entries, const struct ward_conf_cache *limits);
void ward_cache_free(struct ward_cache *c); /* NULL is fine */

/*
 * Find k's entry. Fresh while now_ms < stored + ttl; age_s = (now_ms - stored) / 1000.
 * A hit sets the entry's reference bit; nothing is allocated or freed.
 * @param allow_stale  also return an expired entry (within WARD_CACHE_STALE_MAX past expiry,
 *                     only when limits->serve_stale, never a SERVFAIL) with hit->stale set
 * @return 0 (hit filled; its pointers stay valid until the next store into this cache),
 *         WARD_ENOTFOUND (also for a disabled cache or an invalid key)
 */
int ward_cache_lookup(struct ward_cache *c, const struct ward_cache_key *k, uint64_t now_ms,
		      bool allow_stale, struct ward_cache_hit *hit);

/*
 * The TTL ward caches a response for: positive answers min TTL clamped to
 * [min_ttl, max_ttl]; negative answers the RFC 2308 SOA value, clamped likewise (0 when
 * there is no SOA); SERVFAIL WARD_CACHE_SERVFAIL_TTL; 0 = do not cache.
 */
uint32_t ward_cache_ttl_for(const struct ward_cache *c, const struct ward_dns_response *r);

/*
 * Clamp every TTL field of a stored-form message to [min_ttl, max_ttl] in place, so
 * clients see the same lifetime the cache keeps (as Unbound's cache-max-ttl does).
 */
void ward_cache_clamp_ttls(const struct ward_cache *c, uint8_t *msg, size_t len,
			   const struct ward_dns_response *r);

/*
 * Store a response's stored form under k for ward_cache_ttl_for(r) seconds, replacing
 * any entry with the same key. msg and r->ttl_off are copied; each TTL offset must lie
 * inside msg. The new entry starts with its reference bit clear (a name asked once is the
 * first to go); a replaced entry keeps its bit. A SERVFAIL replaces an expired entry that
 * could still be served stale: look up with allow_stale first when a stale answer should
 * win over the failure (RFC 8767).
 * @return 0 (also: a no-op on a disabled cache), WARD_EINVAL when not cacheable (TTL 0,
 *         bad key or offsets), WARD_ETOOBIG (msg_len > WARD_DNS_MSG_MAX), WARD_ENOMEM
 *         (malloc failed; any old entry for k is gone).
 */
int ward_cache_store(struct ward_cache *c, const struct ward_cache_key *k, const uint8_t *msg,
		     size_t msg_len, const struct ward_dns_response *r, uint64_t now_ms);

/*
 * Every lookup counts as exactly one of hits (fresh), stale_hits or misses. evictions
 * counts live entries removed to make room (for a slot or for bytes), not replacements.
 */
struct ward_cache_stats {
	uint64_t hits, misses, stale_hits, stores, evictions;
	uint32_t entries, capacity;
	uint64_t bytes, bytes_max;  /* answer buffers held / the hard cap on them */
};
void ward_cache_get_stats(const struct ward_cache *c, struct ward_cache_stats *st);

#ifdef WARD_TEST_HOOKS
/* The SipHash the cache keys with, with chosen rounds and key, for known-answer tests. */
uint64_t ward_cache_test_siphash(const uint8_t key[16], const void *m, size_t len,
				 unsigned c_rounds, unsigned d_rounds);
#endif

#endif
