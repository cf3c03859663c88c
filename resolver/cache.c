/*
 * Answer cache shard: an entry table, an open-addressing index over it, and one reusable
 * answer buffer per entry. See resolver/cache.h for the memory budget.
 *
 * Index: linear probing over a power-of-two bucket array at least twice the capacity
 * (load <= 0.5), so a probe sequence is short and always ends at an empty bucket. Each
 * bucket holds a 32-bit tag (the hash's upper half, whose low bits also choose the home
 * bucket, so moving buckets around needs nothing else), the entry number and the answer
 * buffer's address. A 200k shard (~40 MB with its answers) is far larger than the CPU
 * caches, so a hit costs its chain of dependent cache misses: with the buffer's address
 * in the bucket the chain is bucket -> buffer, and the entry table (only needed to set the
 * reference bit, a store nothing waits for) stays off it. Removal shifts the following
 * cluster back instead of leaving tombstones, so the index never degrades however long
 * the shard runs.
 *
 * Hash: SipHash-1-3 with a per-shard random key. Query names come from clients, and an
 * attacker who can make many names collide turns every probe into a walk over a long
 * cluster, for every worker at once. A fast multiply-mix hash with a seed gives no proof
 * against that (seed-independent multicollisions are known for several of them); a keyed
 * PRF does. SipHash-1-3 (what Python and Rust use for the same reason) costs about 13 ns
 * on a 37-byte key here (bench_cache), a small part of a hit in a 200k shard (~400 ns,
 * nearly all of it cache and TLB misses).
 *
 * Buffer layout: [struct head][ttl_off, n_ttls x uint16][lname][msg]. Everything a lookup
 * checks (key, stored time, TTL) sits in the buffer's first cache line, next to the
 * message it then returns. The entry keeps only what the CLOCK hand needs, so sweeping
 * the table never touches the buffers.
 */
#include "resolver/cache.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "blocklists/error.h"

#define NO_ENTRY UINT32_MAX
#define ENTRY_LIVE 0x01
#define ENTRY_REF 0x02
#define ENTRY_DO 0x04
#define ENTRY_CD 0x08

struct head {
	uint64_t hash;
	uint64_t stored_ms;
	uint32_t ttl_s;
	uint16_t msg_len;    /* WARD_DNS_MSG_MAX fits exactly */
	uint16_t qtype, qclass;
	uint8_t lname_len;   /* WARD_DNS_NAME_MAX fits exactly */
	uint8_t n_ttls;      /* WARD_DNS_MAX_TTLS fits */
	uint8_t rcode;
	uint8_t kflags;      /* ENTRY_DO, ENTRY_CD */
	bool has_cname;      /* the message's answer section holds a CNAME */
};
_Static_assert(sizeof(struct head) == 32, "the TTL offsets after the head stay aligned");

struct entry {
	uint8_t *buf;        /* struct head + offsets + lname + msg; NULL if never filled */
	uint32_t buf_cap;
	uint32_t expire_s;   /* expiry in whole seconds, rounded up: for the CLOCK hand only */
	union {
		uint32_t tag;        /* while live: its bucket's tag, to find the bucket */
		uint32_t next_free;  /* while free: the free list link */
	};
	uint8_t flags;       /* ENTRY_LIVE, ENTRY_REF */
};

struct bucket {
	uint32_t tag;        /* hash >> 32; its low bits are the home bucket */
	uint32_t entry;      /* entry number + 1; 0 = empty */
	const uint8_t *buf;  /* that entry's buffer */
};

struct ward_cache {
	struct ward_conf_cache limits;
	uint32_t capacity;
	uint32_t n_used;     /* slots [0, n_used) have been handed out at least once */
	uint32_t n_live;
	uint32_t free_head;  /* slots given back by byte eviction or a failed store */
	uint32_t hand;       /* CLOCK hand, in [0, n_used) */
	uint32_t mask;       /* buckets - 1 */
	struct entry *entries;
	struct bucket *buckets;
	uint64_t bytes, bytes_max;
	uint64_t sip_k0, sip_k1;
	uint64_t hits, misses, stale_hits, stores, evictions;
};

/* ---- SipHash (Aumasson, Bernstein 2012), rounds as parameters so a test can check the
 * structure against the paper's SipHash-2-4 vector; the cache always uses 1-3. ---- */

static inline uint64_t rotl64(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

/* memcpy, not a byte loop: gcc -O2 does not merge the loop into one load. */
static inline uint64_t load_le64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

#define SIP_ROUND(v0, v1, v2, v3)                                                          \
	do {                                                                               \
		v0 += v1; v1 = rotl64(v1, 13); v1 ^= v0; v0 = rotl64(v0, 32);              \
		v2 += v3; v3 = rotl64(v3, 16); v3 ^= v2;                                   \
		v0 += v3; v3 = rotl64(v3, 21); v3 ^= v0;                                   \
		v2 += v1; v1 = rotl64(v1, 17); v1 ^= v2; v2 = rotl64(v2, 32);              \
	} while (0)

static inline uint64_t siphash(uint64_t k0, uint64_t k1, const uint8_t *m, size_t len,
			       unsigned c_rounds, unsigned d_rounds)
{
	uint64_t v0 = k0 ^ 0x736f6d6570736575ULL, v1 = k1 ^ 0x646f72616e646f6dULL;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ULL, v3 = k1 ^ 0x7465646279746573ULL;
	size_t full = len & ~(size_t)7;

	for (size_t i = 0; i < full; i += 8) {
		uint64_t w = load_le64(m + i);
		v3 ^= w;
		for (unsigned r = 0; r < c_rounds; r++)
			SIP_ROUND(v0, v1, v2, v3);
		v0 ^= w;
	}
	uint8_t tail[8] = {0};
	memcpy(tail, m + full, len - full);
	uint64_t last = load_le64(tail) | (uint64_t)(len & 0xff) << 56;
	v3 ^= last;
	for (unsigned r = 0; r < c_rounds; r++)
		SIP_ROUND(v0, v1, v2, v3);
	v0 ^= last;
	v2 ^= 0xff;
	for (unsigned r = 0; r < d_rounds; r++)
		SIP_ROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

#ifdef WARD_TEST_HOOKS
uint64_t ward_cache_test_siphash(const uint8_t key[16], const void *m, size_t len,
				 unsigned c_rounds, unsigned d_rounds)
{
	uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
	/* Constant rounds for 1-3, as in key_hash, so bench_cache times what lookups run. */
	if (c_rounds == 1 && d_rounds == 3)
		return siphash(k0, k1, m, len, 1, 3);
	return siphash(k0, k1, m, len, c_rounds, d_rounds);
}
#endif

static inline uint8_t key_flags(const struct ward_cache_key *k)
{
	return (uint8_t)((k->do_bit ? ENTRY_DO : 0) | (k->cd ? ENTRY_CD : 0));
}

/* The whole key in one message, so that no two keys hash the same input. */
static uint64_t key_hash(const struct ward_cache *c, const struct ward_cache_key *k)
{
	uint8_t m[WARD_DNS_NAME_MAX + 5];
	memcpy(m, k->lname, k->lname_len);
	uint8_t *p = m + k->lname_len;
	p[0] = (uint8_t)(k->qtype >> 8);
	p[1] = (uint8_t)k->qtype;
	p[2] = (uint8_t)(k->qclass >> 8);
	p[3] = (uint8_t)k->qclass;
	p[4] = key_flags(k);
	return siphash(c->sip_k0, c->sip_k1, m, (size_t)k->lname_len + 5, 1, 3);
}

/* ---- entries ---- */

static bool key_valid(const struct ward_cache_key *k)
{
	return k && k->lname && k->lname_len > 0 && k->lname_len <= WARD_DNS_NAME_MAX;
}

static inline const struct head *head_of(const uint8_t *buf)
{
	return (const struct head *)(const void *)buf;
}

static inline const uint16_t *head_ttl_off(const struct head *hd)
{
	return (const uint16_t *)(const void *)(hd + 1);
}

static inline const uint8_t *head_lname(const struct head *hd)
{
	return (const uint8_t *)(hd + 1) + 2u * hd->n_ttls;
}

static inline const uint8_t *head_msg(const struct head *hd)
{
	return head_lname(hd) + hd->lname_len;
}

static bool head_matches(const struct head *hd, uint64_t h, const struct ward_cache_key *k)
{
	return hd->hash == h && hd->lname_len == k->lname_len && hd->qtype == k->qtype &&
	       hd->qclass == k->qclass && hd->kflags == key_flags(k) &&
	       memcmp(head_lname(hd), k->lname, k->lname_len) == 0;
}

static inline uint64_t elapsed_ms(const struct head *hd, uint64_t now_ms)
{
	return now_ms > hd->stored_ms ? now_ms - hd->stored_ms : 0;
}

static inline bool head_expired(const struct head *hd, uint64_t now_ms)
{
	return elapsed_ms(hd, now_ms) >= (uint64_t)hd->ttl_s * 1000;
}

static bool head_stale_ok(const struct ward_cache *c, const struct head *hd, uint64_t now_ms)
{
	if (!c->limits.serve_stale || hd->rcode == WARD_RCODE_SERVFAIL)
		return false;
	return elapsed_ms(hd, now_ms) < ((uint64_t)hd->ttl_s + WARD_CACHE_STALE_MAX) * 1000;
}

static uint32_t expire_s_of(uint64_t stored_ms, uint32_t ttl_s)
{
	uint64_t s = (stored_ms + (uint64_t)ttl_s * 1000 + 999) / 1000;
	return s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

/* Coarse (up to a second late), but it spares the hand a cache miss per entry. */
static inline bool entry_expired(const struct entry *e, uint64_t now_ms)
{
	return now_ms / 1000 >= e->expire_s;
}

/* ---- index ---- */

static inline uint32_t tag_of(uint64_t h)
{
	return (uint32_t)(h >> 32);
}

static inline uint32_t home_of(const struct ward_cache *c, uint32_t tag)
{
	return tag & c->mask;
}

/* @return the bucket holding k, or the empty bucket where the probe ended (*found false) */
static uint32_t index_find(const struct ward_cache *c, uint64_t h, const struct ward_cache_key *k,
			   bool *found)
{
	uint32_t tag = tag_of(h);
	for (uint32_t i = home_of(c, tag);; i = (i + 1) & c->mask) {
		const struct bucket *b = &c->buckets[i];
		if (b->entry == 0) {
			*found = false;
			return i;
		}
		if (b->tag == tag && head_matches(head_of(b->buf), h, k)) {
			*found = true;
			return i;
		}
	}
}

static void index_insert(struct ward_cache *c, uint32_t idx)
{
	struct entry *e = &c->entries[idx];
	uint32_t i = home_of(c, e->tag);
	while (c->buckets[i].entry != 0)
		i = (i + 1) & c->mask;
	c->buckets[i].tag = e->tag;
	c->buckets[i].entry = idx + 1;
	c->buckets[i].buf = e->buf;
}

/*
 * Backward-shift deletion: walk the cluster after the hole and move back every bucket
 * whose home is not cyclically inside (hole, j], so every remaining key stays reachable
 * from its home without tombstones.
 */
static void index_remove(struct ward_cache *c, uint32_t idx)
{
	uint32_t hole = home_of(c, c->entries[idx].tag);
	while (c->buckets[hole].entry != idx + 1)
		hole = (hole + 1) & c->mask;
	for (uint32_t j = (hole + 1) & c->mask; c->buckets[j].entry != 0; j = (j + 1) & c->mask) {
		uint32_t home = home_of(c, c->buckets[j].tag);
		if (((j - home) & c->mask) >= ((j - hole) & c->mask)) {
			c->buckets[hole] = c->buckets[j];
			hole = j;
		}
	}
	c->buckets[hole].entry = 0;
}

/* ---- slots, eviction, buffers ---- */

/* Take a live entry out of the index; its buffer stays with the slot. */
static void entry_unlink(struct ward_cache *c, uint32_t idx)
{
	index_remove(c, idx);
	c->entries[idx].flags = 0;
	c->n_live--;
}

/* Give a slot (not live) back, with its memory. */
static void slot_release(struct ward_cache *c, uint32_t idx)
{
	struct entry *e = &c->entries[idx];
	free(e->buf);
	c->bytes -= e->buf_cap;
	e->buf = NULL;
	e->buf_cap = 0;
	e->next_free = c->free_head;
	c->free_head = idx;
}

/*
 * CLOCK with a preference for the dead: an expired entry is taken at once, a referenced
 * live one loses its bit and is passed over. Two sweeps always suffice, because the first
 * clears every bit. @return a live entry, or NO_ENTRY when none is live.
 */
static uint32_t clock_victim(struct ward_cache *c, uint64_t now_ms)
{
	for (uint64_t step = 0; step <= 2 * (uint64_t)c->n_used; step++) {
		uint32_t i = c->hand;
		struct entry *e = &c->entries[i];
		c->hand = i + 1 < c->n_used ? i + 1 : 0;
		if (!(e->flags & ENTRY_LIVE))
			continue;
		if (!(e->flags & ENTRY_REF) || entry_expired(e, now_ms))
			return i;
		e->flags &= (uint8_t)~ENTRY_REF;
	}
	return NO_ENTRY;
}

/* A slot for a new key: a free one if any, else the CLOCK victim (buffer kept for reuse). */
static uint32_t slot_take(struct ward_cache *c, uint64_t now_ms)
{
	if (c->free_head != NO_ENTRY) {
		uint32_t idx = c->free_head;
		c->free_head = c->entries[idx].next_free;
		return idx;
	}
	if (c->n_used < c->capacity)
		return c->n_used++;
	uint32_t idx = clock_victim(c, now_ms);
	if (idx != NO_ENTRY) {
		entry_unlink(c, idx);
		c->evictions++;
	}
	return idx;
}

/*
 * Size classes: multiples of 1/8 of the largest power of two <= n (at least 16), so a
 * buffer wastes at most 12.5% and answers of similar size share a class.
 */
static uint32_t size_class(uint32_t n)
{
	uint32_t p = 1;
	while (p <= n / 2)
		p <<= 1;
	uint32_t step = p / 8 < 16 ? 16 : p / 8;
	return (n + step - 1) / step * step;
}

/* Make room under the byte cap by evicting other live entries. */
static bool bytes_make_room(struct ward_cache *c, uint32_t want, uint64_t now_ms)
{
	while (c->bytes + want > c->bytes_max) {
		uint32_t idx = clock_victim(c, now_ms);
		if (idx == NO_ENTRY)
			return false;
		entry_unlink(c, idx);
		slot_release(c, idx);
		c->evictions++;
	}
	return true;
}

/* Give slot idx (not live) a buffer of at least need bytes, reusing the one it has if fit. */
static int buf_reserve(struct ward_cache *c, uint32_t idx, uint32_t need, uint64_t now_ms)
{
	struct entry *e = &c->entries[idx];
	need += (uint32_t)sizeof(struct head);
	uint32_t want = size_class(need);
	if (e->buf && e->buf_cap >= need && e->buf_cap / 2 <= want)
		return 0;
	free(e->buf);
	c->bytes -= e->buf_cap;
	e->buf = NULL;
	e->buf_cap = 0;
	if (!bytes_make_room(c, want, now_ms))
		return WARD_ENOMEM;
	e->buf = malloc(want);
	if (!e->buf)
		return WARD_ENOMEM;
	e->buf_cap = want;
	c->bytes += want;
	return 0;
}

/* ---- public ---- */

static void seed_hash(struct ward_cache *c)
{
	uint64_t k[2];
	size_t got = 0;
	while (got < sizeof(k)) {
		ssize_t n = getrandom((uint8_t *)k + got, sizeof(k) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got < sizeof(k)) {
		/* No getrandom (seccomp, ancient kernel): still differ per shard and per run. */
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		k[0] = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uintptr_t)c;
		k[1] = (uint64_t)ts.tv_sec * 0xc2b2ae3d27d4eb4fULL ^ (uint64_t)(uintptr_t)&ts;
	}
	c->sip_k0 = k[0];
	c->sip_k1 = k[1];
}

struct ward_cache *ward_cache_new(uint32_t max_entries, const struct ward_conf_cache *limits)
{
	if (max_entries > WARD_CACHE_MAX_ENTRIES)
		return NULL;
	struct ward_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	if (limits) {
		c->limits = *limits;
	} else {
		c->limits.min_ttl = 0;
		c->limits.max_ttl = 86400;
		c->limits.serve_stale = true;
	}
	c->limits.max_entries = max_entries;
	c->capacity = max_entries;
	c->free_head = NO_ENTRY;
	seed_hash(c);
	if (max_entries == 0)
		return c;

	uint32_t n_buckets = 2;
	while (n_buckets < 2 * max_entries)
		n_buckets <<= 1;
	c->mask = n_buckets - 1;
	c->bytes_max = (uint64_t)max_entries * WARD_CACHE_BYTES_PER_ENTRY + WARD_CACHE_BYTES_SLACK;
	/* calloc of this size maps fresh zero pages: reserved now, touched as the shard fills. */
	c->entries = calloc(max_entries, sizeof(*c->entries));
	c->buckets = calloc(n_buckets, sizeof(*c->buckets));
	if (!c->entries || !c->buckets) {
		ward_cache_free(c);
		return NULL;
	}
	return c;
}

void ward_cache_free(struct ward_cache *c)
{
	if (!c)
		return;
	if (c->entries)
		for (uint32_t i = 0; i < c->n_used; i++)
			free(c->entries[i].buf);
	free(c->entries);
	free(c->buckets);
	free(c);
}

int ward_cache_lookup(struct ward_cache *c, const struct ward_cache_key *k, uint64_t now_ms,
		      bool allow_stale, struct ward_cache_hit *hit)
{
	if (!c)
		return WARD_ENOTFOUND;
	if (c->capacity == 0 || !key_valid(k) || !hit)
		goto miss;
	uint64_t h = key_hash(c, k);
	bool found;
	uint32_t b = index_find(c, h, k, &found);
	if (!found)
		goto miss;
	const struct head *hd = head_of(c->buckets[b].buf);
	bool stale = head_expired(hd, now_ms);
	if (stale && !(allow_stale && head_stale_ok(c, hd, now_ms)))
		goto miss;

	c->entries[c->buckets[b].entry - 1].flags |= ENTRY_REF;
	hit->msg = head_msg(hd);
	hit->msg_len = hd->msg_len;
	hit->ttl_off = head_ttl_off(hd);
	hit->n_ttls = hd->n_ttls;
	hit->age_s = (uint32_t)(elapsed_ms(hd, now_ms) / 1000);
	hit->stale = stale;
	hit->rcode = hd->rcode;
	hit->has_cname = hd->has_cname;
	if (stale)
		c->stale_hits++;
	else
		c->hits++;
	return 0;
miss:
	c->misses++;
	return WARD_ENOTFOUND;
}

static uint32_t clamp_ttl(const struct ward_cache *c, uint32_t ttl)
{
	if (ttl < c->limits.min_ttl)
		ttl = c->limits.min_ttl;
	/* After the floor, so that max_ttl stays a hard ceiling even if min_ttl > max_ttl. */
	if (ttl > c->limits.max_ttl)
		ttl = c->limits.max_ttl;
	return ttl;
}

void ward_cache_clamp_ttls(const struct ward_cache *c, uint8_t *msg, size_t len,
			   const struct ward_dns_response *r)
{
	for (unsigned i = 0; c && i < r->n_ttls; i++) {
		size_t off = r->ttl_off[i];
		if (off + 4 > len)
			continue;
		uint8_t *p = msg + off;
		uint32_t ttl = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
		ttl = clamp_ttl(c, ttl);
		p[0] = (uint8_t)(ttl >> 24);
		p[1] = (uint8_t)(ttl >> 16);
		p[2] = (uint8_t)(ttl >> 8);
		p[3] = (uint8_t)ttl;
	}
}

uint32_t ward_cache_ttl_for(const struct ward_cache *c, const struct ward_dns_response *r)
{
	if (!c || !r || r->tc || r->ttl_overflow)
		return 0;
	switch (r->rcode) {
	case WARD_RCODE_SERVFAIL:
		return WARD_CACHE_SERVFAIL_TTL;
	case WARD_RCODE_NXDOMAIN:
		/* RFC 2308 section 5: without an SOA there is no negative TTL to honour. */
		return r->neg_ttl ? clamp_ttl(c, r->neg_ttl) : 0;
	case WARD_RCODE_NOERROR:
		if (r->negative)
			return r->neg_ttl ? clamp_ttl(c, r->neg_ttl) : 0;
		/* A positive answer without records has nothing to bound its lifetime. */
		if (r->min_ttl == UINT32_MAX)
			return 0;
		return clamp_ttl(c, r->min_ttl);
	default:
		/* REFUSED, FORMERR, NOTIMP...: a property of the path, not of the name. */
		return 0;
	}
}

static int store_check(const struct ward_cache_key *k, const uint8_t *msg, size_t msg_len,
		       const struct ward_dns_response *r)
{
	if (!key_valid(k) || !msg || !r || msg_len < WARD_DNS_HEADER_LEN)
		return WARD_EINVAL;
	if (msg_len > WARD_DNS_MSG_MAX)
		return WARD_ETOOBIG;
	if (r->n_ttls > WARD_DNS_MAX_TTLS)
		return WARD_EINVAL;
	for (unsigned i = 0; i < r->n_ttls; i++)
		if ((size_t)r->ttl_off[i] + 4 > msg_len)
			return WARD_EINVAL;
	return 0;
}

int ward_cache_store(struct ward_cache *c, const struct ward_cache_key *k, const uint8_t *msg,
		     size_t msg_len, const struct ward_dns_response *r, uint64_t now_ms)
{
	if (!c || c->capacity == 0)
		return 0;
	int rc = store_check(k, msg, msg_len, r);
	if (rc < 0)
		return rc;
	uint32_t ttl = ward_cache_ttl_for(c, r);
	if (ttl == 0)
		return WARD_EINVAL;

	uint64_t h = key_hash(c, k);
	bool found;
	uint32_t b = index_find(c, h, k, &found);
	uint8_t keep_ref = 0;
	uint32_t idx;
	if (found) {
		idx = c->buckets[b].entry - 1;
		keep_ref = c->entries[idx].flags & ENTRY_REF;
		entry_unlink(c, idx);
	} else {
		idx = slot_take(c, now_ms);
		if (idx == NO_ENTRY)
			return WARD_ENOMEM; /* unreachable: a full shard always has a live entry */
	}
	uint32_t need = 2u * r->n_ttls + k->lname_len + (uint32_t)msg_len;
	rc = buf_reserve(c, idx, need, now_ms);
	if (rc < 0) {
		slot_release(c, idx);
		return rc;
	}

	struct entry *e = &c->entries[idx];
	struct head *hd = (struct head *)(void *)e->buf;
	*hd = (struct head){
		.hash = h, .stored_ms = now_ms, .ttl_s = ttl, .msg_len = (uint16_t)msg_len,
		.qtype = k->qtype, .qclass = k->qclass, .lname_len = (uint8_t)k->lname_len,
		.n_ttls = (uint8_t)r->n_ttls, .rcode = r->rcode, .kflags = key_flags(k),
		.has_cname = r->has_cname,
	};
	uint8_t *p = e->buf + sizeof(*hd);
	memcpy(p, r->ttl_off, 2u * r->n_ttls);
	memcpy(p + 2u * r->n_ttls, k->lname, k->lname_len);
	memcpy(p + 2u * r->n_ttls + k->lname_len, msg, msg_len);
	e->expire_s = expire_s_of(now_ms, ttl);
	e->tag = tag_of(h);
	e->flags = (uint8_t)(ENTRY_LIVE | keep_ref);
	index_insert(c, idx);
	c->n_live++;
	c->stores++;
	return 0;
}

void ward_cache_get_stats(const struct ward_cache *c, struct ward_cache_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!c)
		return;
	st->hits = c->hits;
	st->misses = c->misses;
	st->stale_hits = c->stale_hits;
	st->stores = c->stores;
	st->evictions = c->evictions;
	st->entries = c->n_live;
	st->capacity = c->capacity;
	st->bytes = c->bytes;
	st->bytes_max = c->bytes_max;
}
