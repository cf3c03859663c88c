/*
 * Per-client limits on the query path: client keys (an address cut to a prefix), the UDP
 * response rate limiter, and per-client counters (the quota of queries waiting on
 * upstreams).
 *
 * Every table here has a fixed size, belongs to one worker and is allocated once when the
 * worker starts: nothing on the query path allocates or takes a lock. Tables are indexed
 * by a hash keyed with a random per-table seed, so a client cannot choose addresses that
 * collide on purpose.
 */
#ifndef WARD_LIMIT_H
#define WARD_LIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* A client address cut to a prefix, in IPv6 form: IPv4 (also v4-mapped IPv6) becomes
 * ::ffff:a.b.c.d, so the same client has one key whichever socket it came in on. */
struct ward_client_key {
	uint64_t hi, lo;
};

/* The prefixes that name "one client" for the per-client caps (TCP connections, queries
 * in flight): one IPv4 address, or one IPv6 /64 (a host picks any address in its /64). */
#define WARD_CLIENT_V4_PREFIX 32
#define WARD_CLIENT_V6_PREFIX 64

/*
 * The key of addr's prefix: v4_prefix (0-32) for IPv4 and v4-mapped clients, v6_prefix
 * (0-128) for IPv6. Any other family gets the all-zero key.
 */
void ward_client_key_make(struct ward_client_key *k, const struct sockaddr *addr,
			  unsigned v4_prefix, unsigned v6_prefix);

static inline bool ward_client_key_equal(const struct ward_client_key *a,
					 const struct ward_client_key *b)
{
	return a->hi == b->hi && a->lo == b->lo;
}

/* ---- response rate limiting (UDP) ---------------------------------------------------- */

enum ward_rrl_verdict { WARD_RRL_PASS, WARD_RRL_DROP, WARD_RRL_SLIP };

#define WARD_RRL_ENTRIES 8192 /* client prefixes remembered per worker */
#define WARD_RRL_RATE_MAX 1000000

struct ward_rrl;

/* @return a new limiter (about 320 KiB), or NULL when out of memory. */
struct ward_rrl *ward_rrl_new(void);
void ward_rrl_free(struct ward_rrl *r);

/*
 * Take one answer from k's token bucket: `rate` answers per second (1..WARD_RRL_RATE_MAX),
 * a burst of one second's worth. An empty bucket limits the answer: every `slip`-th limited
 * answer (slip > 0) is WARD_RRL_SLIP (send TC=1 instead, so a real client retries over
 * TCP), the others WARD_RRL_DROP. A prefix not seen before evicts the least recently seen
 * one of its set (4 ways), which starts afresh when it comes back.
 * @param now_ms  a monotonic clock in milliseconds
 */
enum ward_rrl_verdict ward_rrl_check(struct ward_rrl *r, const struct ward_client_key *k,
				     uint64_t now_ms, uint32_t rate, uint32_t slip);

/* ---- per-client counters --------------------------------------------------------------- */

struct ward_client_counts;

/* @param max_clients  most distinct keys counted at once (the table is twice as large)
 * @return a new table, or NULL when out of memory. */
struct ward_client_counts *ward_client_counts_new(unsigned max_clients);
void ward_client_counts_free(struct ward_client_counts *t);

/* Count one more for k if it has fewer than `limit`. @return false (nothing counted) when
 * k is at its limit or the table already holds max_clients keys. */
bool ward_client_counts_take(struct ward_client_counts *t, const struct ward_client_key *k,
			     uint32_t limit);

/* Give back one counted by ward_client_counts_take(). */
void ward_client_counts_put(struct ward_client_counts *t, const struct ward_client_key *k);

/* How many k holds now (for tests). */
uint32_t ward_client_counts_get(const struct ward_client_counts *t,
				const struct ward_client_key *k);

#endif
