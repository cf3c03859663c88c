/*
 * Answer cache: one shard per worker thread, never shared, so it needs no lock.
 *
 * Entries hold the stored form of an upstream answer (see ward_dns_parse_response) and
 * the offsets of its TTL fields, so a hit is answered by one copy plus TTL rewrites.
 * Memory for entries is reserved up front and reused; a lookup allocates nothing.
 * Eviction keeps hot entries (CLOCK: a hit sets a reference bit; the hand skips
 * referenced entries once).
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

struct ward_cache;

struct ward_cache_key {
	const uint8_t *lname;  /* lower-case wire name */
	uint16_t lname_len;
	uint16_t qtype, qclass;
	bool do_bit;
	bool cd;
};

struct ward_cache_hit {
	const uint8_t *msg;        /* valid until the next store into this cache */
	size_t msg_len;
	const uint16_t *ttl_off;
	unsigned n_ttls;
	uint32_t age_s;            /* seconds since stored */
	bool stale;                /* expired (only returned when allow_stale) */
	uint8_t rcode;
};

/* @param max_entries  this shard's capacity (the configured total divided by workers) */
struct ward_cache *ward_cache_new(uint32_t max_entries, const struct ward_conf_cache *limits);
void ward_cache_free(struct ward_cache *c);

/*
 * @param allow_stale  also return an expired entry (within WARD_CACHE_STALE_MAX)
 * @return 0 (hit filled), WARD_ENOTFOUND
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
 * Store a response's stored form under k for ward_cache_ttl_for(r) seconds, replacing
 * any entry with the same key. @return 0, or WARD_ETOOBIG/WARD_EINVAL when not cacheable.
 */
int ward_cache_store(struct ward_cache *c, const struct ward_cache_key *k, const uint8_t *msg,
		     size_t msg_len, const struct ward_dns_response *r, uint64_t now_ms);

struct ward_cache_stats {
	uint64_t hits, misses, stale_hits, stores, evictions;
	uint32_t entries, capacity;
};
void ward_cache_get_stats(const struct ward_cache *c, struct ward_cache_stats *st);

#endif
