/*
 * Per-client limits: client keys, the response rate limiter (a token bucket per client
 * prefix in a 4-way set-associative table) and per-client counters (open addressing with
 * linear probing and backward-shift deletion, so the table never fills with tombstones).
 */
#include "resolver/limit.h"

#include <arpa/inet.h>
#include <endian.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define RRL_WAYS 4
#define RRL_SETS (WARD_RRL_ENTRIES / RRL_WAYS)
#define MILLI 1000 /* token buckets count thousandths of an answer */

_Static_assert((RRL_SETS & (RRL_SETS - 1)) == 0, "RRL sets must be a power of two");

/* ---- keys ------------------------------------------------------------------------------ */

static uint64_t load_be64(const void *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return be64toh(v);
}

static uint64_t high_bits(unsigned bits)
{
	if (bits == 0)
		return 0;
	if (bits >= 64)
		return UINT64_MAX;
	return UINT64_MAX << (64 - bits);
}

/* On the query path once per UDP query when rate limiting is on: no byte loops. */
void ward_client_key_make(struct ward_client_key *k, const struct sockaddr *addr,
			  unsigned v4_prefix, unsigned v6_prefix)
{
	unsigned prefix;
	if (v4_prefix > 32)
		v4_prefix = 32;
	if (addr->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)addr;
		k->hi = 0;
		k->lo = 0xffff00000000ULL | ntohl(sin->sin_addr.s_addr);
		prefix = 96 + v4_prefix;
	} else if (addr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)addr;
		k->hi = load_be64(sin6->sin6_addr.s6_addr);
		k->lo = load_be64(sin6->sin6_addr.s6_addr + 8);
		prefix = IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) ? 96 + v4_prefix : v6_prefix;
	} else {
		k->hi = k->lo = 0;
		return;
	}
	if (prefix > 128)
		prefix = 128;
	k->hi &= high_bits(prefix);
	k->lo &= high_bits(prefix > 64 ? prefix - 64 : 0);
}

/* splitmix64's finalizer: every input bit reaches every output bit. */
static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t key_hash(const uint64_t seed[2], const struct ward_client_key *k)
{
	return mix(mix(k->hi ^ seed[0]) ^ k->lo ^ seed[1]);
}

/* ---- response rate limiting ------------------------------------------------------------- */

struct rrl_entry {
	struct ward_client_key key;
	uint64_t seen_ms;  /* last answer counted; 0 = free */
	int64_t tokens;    /* thousandths of an answer */
	uint32_t limited;  /* answers limited so far: every slip-th one slips */
};

struct ward_rrl {
	uint64_t seed[2];
	struct rrl_entry e[WARD_RRL_ENTRIES];
};

struct ward_rrl *ward_rrl_new(void)
{
	struct ward_rrl *r = calloc(1, sizeof(*r));
	if (r)
		arc4random_buf(r->seed, sizeof(r->seed));
	return r;
}

void ward_rrl_free(struct ward_rrl *r)
{
	free(r);
}

/* k's entry; a new one (full bucket) replaces a free or the least recently seen way. */
static struct rrl_entry *rrl_entry_for(struct ward_rrl *r, const struct ward_client_key *k,
				       uint64_t now_ms, uint32_t rate)
{
	struct rrl_entry *set = &r->e[(key_hash(r->seed, k) & (RRL_SETS - 1)) * RRL_WAYS];
	struct rrl_entry *victim = &set[0];
	for (unsigned i = 0; i < RRL_WAYS; i++) {
		struct rrl_entry *e = &set[i];
		if (e->seen_ms && ward_client_key_equal(&e->key, k))
			return e;
		if (e->seen_ms < victim->seen_ms)
			victim = e;
	}
	victim->key = *k;
	victim->seen_ms = now_ms ? now_ms : 1;
	victim->tokens = (int64_t)rate * MILLI;
	victim->limited = 0;
	return victim;
}

enum ward_rrl_verdict ward_rrl_check(struct ward_rrl *r, const struct ward_client_key *k,
				     uint64_t now_ms, uint32_t rate, uint32_t slip)
{
	if (rate > WARD_RRL_RATE_MAX)
		rate = WARD_RRL_RATE_MAX;
	struct rrl_entry *e = rrl_entry_for(r, k, now_ms, rate);
	uint64_t elapsed = now_ms > e->seen_ms ? now_ms - e->seen_ms : 0;
	int64_t full = (int64_t)rate * MILLI;
	/* A bucket holds one second's worth: more elapsed time adds nothing. */
	if (elapsed > MILLI)
		elapsed = MILLI;
	e->tokens += (int64_t)elapsed * rate;
	if (e->tokens > full)
		e->tokens = full;
	if (now_ms > e->seen_ms)
		e->seen_ms = now_ms;
	if (e->tokens >= MILLI) {
		e->tokens -= MILLI;
		return WARD_RRL_PASS;
	}
	e->limited++;
	return slip && e->limited % slip == 0 ? WARD_RRL_SLIP : WARD_RRL_DROP;
}

/* ---- per-client counters ------------------------------------------------------------------ */

struct count_slot {
	struct ward_client_key key;
	uint32_t n; /* 0 = free */
};

struct ward_client_counts {
	uint64_t seed[2];
	uint32_t mask;
	uint32_t used, max;
	struct count_slot slot[];
};

struct ward_client_counts *ward_client_counts_new(unsigned max_clients)
{
	uint32_t size = 16;
	while (size < 2u * max_clients && size < (1u << 30))
		size <<= 1;
	struct ward_client_counts *t = calloc(1, sizeof(*t) + size * sizeof(t->slot[0]));
	if (!t)
		return NULL;
	arc4random_buf(t->seed, sizeof(t->seed));
	t->mask = size - 1;
	t->max = max_clients;
	return t;
}

void ward_client_counts_free(struct ward_client_counts *t)
{
	free(t);
}

static uint32_t home_of(const struct ward_client_counts *t, const struct ward_client_key *k)
{
	return (uint32_t)key_hash(t->seed, k) & t->mask;
}

/* The slot holding k, or the free slot where it would go. */
static uint32_t find(const struct ward_client_counts *t, const struct ward_client_key *k)
{
	uint32_t i = home_of(t, k);
	while (t->slot[i].n && !ward_client_key_equal(&t->slot[i].key, k))
		i = (i + 1) & t->mask;
	return i;
}

bool ward_client_counts_take(struct ward_client_counts *t, const struct ward_client_key *k,
			     uint32_t limit)
{
	struct count_slot *s = &t->slot[find(t, k)];
	if (s->n) {
		if (s->n >= limit)
			return false;
		s->n++;
		return true;
	}
	if (limit == 0 || t->used >= t->max)
		return false;
	s->key = *k;
	s->n = 1;
	t->used++;
	return true;
}

/* Empty slot i, moving later entries of its probe run back so every key stays reachable
 * from its home slot without crossing a free one. */
static void remove_at(struct ward_client_counts *t, uint32_t i)
{
	for (uint32_t j = (i + 1) & t->mask; t->slot[j].n; j = (j + 1) & t->mask) {
		uint32_t home = home_of(t, &t->slot[j].key);
		if (((i - home) & t->mask) < ((j - home) & t->mask)) {
			t->slot[i] = t->slot[j];
			i = j;
		}
	}
	t->slot[i].n = 0;
	t->used--;
}

void ward_client_counts_put(struct ward_client_counts *t, const struct ward_client_key *k)
{
	uint32_t i = find(t, k);
	if (t->slot[i].n == 0)
		return;
	if (--t->slot[i].n == 0)
		remove_at(t, i);
}

uint32_t ward_client_counts_get(const struct ward_client_counts *t,
				const struct ward_client_key *k)
{
	return t->slot[find(t, k)].n;
}
