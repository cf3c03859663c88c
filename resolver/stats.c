/*
 * Statistics on the query path and their sums (stats.h). The read side (sums, devices)
 * lives in stats_read.c.
 */
#include "resolver/stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "resolver/records.h"
#include "resolver/worker.h"

struct ward_stats *ward_stats_new(void)
{
	struct ward_stats *s = calloc(1, sizeof(struct ward_stats));
	if (s && getrandom(&s->seed, sizeof(s->seed), 0) != (ssize_t)sizeof(s->seed))
		s->seed = (uint64_t)(uintptr_t)s * 0x9E3779B97F4A7C15ull;
	return s;
}

void ward_stats_free(struct ward_stats *s)
{
	free(s);
}

/* ---- profile slots ------------------------------------------------------------------------- */

void ward_stats_slots_init(struct ward_stats_slots *s)
{
	memset(s, 0, sizeof(*s));
	atomic_store(&s->n, 1);
	snprintf(s->names[WARD_STATS_SLOT_OTHER], sizeof(s->names[0]), "(other)");
	s->len[WARD_STATS_SLOT_OTHER] = (uint8_t)strlen(s->names[WARD_STATS_SLOT_OTHER]);
}

static unsigned slot_for(struct ward_stats_slots *s, const char *name)
{
	unsigned n = atomic_load_explicit(&s->n, memory_order_relaxed);
	for (unsigned i = 1; i < n; i++)
		if (strcmp(s->names[i], name) == 0)
			return i;
	if (n >= WARD_STATS_SLOT_OTHER)
		return WARD_STATS_SLOT_OTHER;
	snprintf(s->names[n], sizeof(s->names[n]), "%s", name);
	s->len[n] = (uint8_t)strlen(s->names[n]);
	/* The name is in place before a reader can see the slot. */
	atomic_store_explicit(&s->n, n + 1, memory_order_release);
	return n;
}

uint8_t *ward_stats_slots_map(struct ward_stats_slots *s, const struct ward_conf *conf)
{
	uint8_t *map = conf->n_profiles ? malloc(conf->n_profiles) : NULL;
	for (size_t i = 0; map && i < conf->n_profiles; i++)
		map[i] = (uint8_t)slot_for(s, conf->profiles[i].name);
	return map;
}

const char *ward_stats_slot_name(const struct ward_stats_slots *s, unsigned slot)
{
	if (slot == WARD_STATS_SLOT_OTHER)
		return s->names[slot];
	if (slot >= atomic_load_explicit(&s->n, memory_order_acquire))
		return "";
	return s->names[slot];
}

/* ---- keys and days --------------------------------------------------------------------------- */

void ward_stats_addr_key(const struct sockaddr *sa, uint8_t key[16])
{
	if (sa->sa_family == AF_INET6) {
		memcpy(key, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
		return;
	}
	memset(key, 0, 10);
	key[10] = key[11] = 0xFF;
	memcpy(key + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
}

/* ff00::/16 is multicast: no client address looks like this. The web listener keys the
 * devices of its pages the same way (web_mac_key). */
void ward_stats_mac_key(const uint8_t mac[6], uint8_t key[16])
{
	memset(key, 0, 16);
	key[0] = 0xFF;
	key[2] = 'm';
	memcpy(key + 10, mac, 6);
}

uint32_t ward_stats_local_day(int64_t unix_s, unsigned local_minute)
{
	int64_t utc_min = unix_s / 60;
	/* The zone's offset, in (-12h, +12h]: a zone ahead by more (+13, +14) comes out a day
	 * behind, which moves the day number, never where it changes. */
	int64_t off = ((int64_t)local_minute - utc_min % 1440 + 1440 + 720) % 1440 - 720;
	return (uint32_t)((utc_min + off) / 1440);
}

/* ---- the query path ---------------------------------------------------------------------------- */

static inline void row_inc32(_Atomic uint32_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

static inline void row_inc64(_Atomic uint64_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

#define RELAXED memory_order_relaxed

/* Bracket a change of a row's identity or day: readers retry or skip meanwhile. The
 * stores between begin and end are releases (ROW_STORE), not relaxed stores after a
 * release fence: ThreadSanitizer does not follow fences. A reader that sees one of them
 * (with acquire, stats_read.c) sees the odd seq stored before it. Rare: a new device, or
 * a device's first query of the day. */
#define ROW_STORE memory_order_release

static void row_begin(struct ward_stats_device_row *r)
{
	atomic_store_explicit(&r->seq, atomic_load_explicit(&r->seq, RELAXED) + 1, RELAXED);
}

static void row_end(struct ward_stats_device_row *r)
{
	atomic_store_explicit(&r->seq, atomic_load_explicit(&r->seq, RELAXED) + 1,
			      memory_order_release);
}

static void row_reset_day(struct ward_stats_device_row *r, uint32_t day)
{
	atomic_store_explicit(&r->day, day, ROW_STORE);
	atomic_store_explicit(&r->queries_today, 0, ROW_STORE);
	atomic_store_explicit(&r->blocked_today, 0, ROW_STORE);
	for (int i = 0; i < WARD_STATS_DEVICE_CATS; i++)
		atomic_store_explicit(&r->cats[i], 0, ROW_STORE);
}

static void row_claim(struct ward_stats_device_row *r, const uint64_t key[2], int64_t now,
		      uint32_t day)
{
	row_begin(r);
	atomic_store_explicit(&r->key[0], key[0], ROW_STORE);
	atomic_store_explicit(&r->key[1], key[1], ROW_STORE);
	/* An address is its own key; a MAC's address is stored with each query. */
	atomic_store_explicit(&r->addr[0], key[0], ROW_STORE);
	atomic_store_explicit(&r->addr[1], key[1], ROW_STORE);
	atomic_store_explicit(&r->first_seen, now, ROW_STORE);
	atomic_store_explicit(&r->queries, 0, ROW_STORE);
	atomic_store_explicit(&r->blocked, 0, ROW_STORE);
	atomic_store_explicit(&r->mac, 0, ROW_STORE);
	atomic_store_explicit(&r->slot, WARD_STATS_SLOT_NONE, ROW_STORE);
	row_reset_day(r, day);
	row_end(r);
}

static struct ward_stats_device_row *find_row(struct ward_stats *s, const uint64_t key[2],
					      int64_t now);

/* MurmurHash3's finalizer over both halves and the table's random seed: IPv4 keys differ
 * only in their top bytes, and a client picking addresses must not aim at one row. */
static uint32_t key_hash(const struct ward_stats *s, const uint64_t key[2])
{
	uint64_t x = (key[0] * 0x9E3779B97F4A7C15ull) ^ key[1] ^ s->seed;
	x ^= x >> 33;
	x *= 0xFF51AFD7ED558CCDull;
	x ^= x >> 33;
	x *= 0xC4CEB9FE1A85EC53ull;
	return (uint32_t)(x ^ x >> 33);
}

/* The device's row: its own, an empty one, or the least recently seen candidate. The
 * last one found is remembered: a device asks in bursts (A, AAAA, HTTPS for each name). */
static struct ward_stats_device_row *row_for(struct ward_stats *s, const uint64_t key[2],
					     int64_t now)
{
	if (s->last_row && s->last_key[0] == key[0] && s->last_key[1] == key[1])
		return s->last_row;
	s->last_key[0] = key[0];
	s->last_key[1] = key[1];
	return s->last_row = find_row(s, key, now);
}

static struct ward_stats_device_row *find_row(struct ward_stats *s, const uint64_t key[2],
					      int64_t now)
{
	uint32_t h = key_hash(s, key);
	struct ward_stats_device_row *oldest = NULL;
	for (uint32_t i = 0; i < WARD_STATS_PROBES; i++) {
		struct ward_stats_device_row *r = &s->devices[(h + i) & (WARD_STATS_DEVICES - 1)];
		uint64_t k0 = atomic_load_explicit(&r->key[0], RELAXED);
		uint64_t k1 = atomic_load_explicit(&r->key[1], RELAXED);
		if (k0 == key[0] && k1 == key[1])
			return r;
		if ((k0 | k1) == 0) {
			row_claim(r, key, now, s->day);
			return r;
		}
		if (!oldest || atomic_load_explicit(&r->last_seen, RELAXED) <
				       atomic_load_explicit(&oldest->last_seen, RELAXED))
			oldest = r;
	}
	ward_counter_add(&s->devices_evicted, 1);
	row_claim(oldest, key, now, s->day);
	return oldest;
}

/* Today's count of a category in the row's few category cells (others go uncounted
 * by category; blocked_today still has them). */
static void row_category(struct ward_stats_device_row *r, unsigned bit)
{
	uint64_t tag = (uint64_t)(bit + 1) << 32;
	for (int i = 0; i < WARD_STATS_DEVICE_CATS; i++) {
		uint64_t c = atomic_load_explicit(&r->cats[i], RELAXED);
		if (c == 0 || (c & ~0xFFFFFFFFull) == tag) {
			atomic_store_explicit(&r->cats[i], (c ? c : tag) + 1, RELAXED);
			return;
		}
	}
}

static bool mac_trusted(const struct ward_worker *w, const struct ward_query_ctx *ctx)
{
	const struct ward_conf *conf = ward_worker_conf(w);
	for (size_t i = 0; i < conf->n_trusted_forwarders; i++)
		if (ward_cidr_contains(&conf->trusted_forwarders[i], &ctx->client.addr.sa))
			return true;
	return false;
}

static void note_device(struct ward_stats *s, struct ward_worker *w,
			const struct ward_query_ctx *ctx, bool trusted_mac, unsigned slot,
			bool blocked, ward_catset blocked_by)
{
	uint8_t bytes[16];
	uint64_t key[2];
	int64_t now = w->local_time.unix_s;
	const struct sockaddr *sa = &ctx->client.addr.sa;
	if (now != s->day_of_s) {
		s->day_of_s = now;
		s->day = ward_stats_local_day(now, w->local_time.minute);
	}
	struct ward_stats_device_row *r;
	uint32_t v4 = sa->sa_family == AF_INET && !trusted_mac ? ctx->client.addr.v4.sin_addr.s_addr
							       : 0;
	if (v4 && v4 == s->last_v4 && s->last_row) {
		r = s->last_row; /* the same IPv4 client again: no key to build */
	} else {
		ward_stats_addr_key(sa, bytes);
		if (trusted_mac)
			ward_stats_mac_key(ctx->q.mac, bytes);
		memcpy(key, bytes, 16);
		r = row_for(s, key, now);
		s->last_v4 = v4;
	}
	if (atomic_load_explicit(&r->day, RELAXED) != s->day) {
		row_begin(r);
		row_reset_day(r, s->day);
		row_end(r);
	}
	if (trusted_mac) {
		uint64_t addr[2], mac = 1ull << 48;
		ward_stats_addr_key(&ctx->client.addr.sa, bytes);
		memcpy(addr, bytes, 16);
		atomic_store_explicit(&r->addr[0], addr[0], RELAXED);
		atomic_store_explicit(&r->addr[1], addr[1], RELAXED);
		for (int i = 0; i < 6; i++)
			mac |= (uint64_t)ctx->q.mac[i] << (8 * (5 - i));
		atomic_store_explicit(&r->mac, mac, RELAXED);
	}
	atomic_store_explicit(&r->last_seen, now, RELAXED);
	if (slot != WARD_STATS_SLOT_NONE) /* queries answered before the policy have none */
		atomic_store_explicit(&r->slot, slot, RELAXED);
	row_inc32(&r->queries_today);
	row_inc64(&r->queries);
	if (!blocked)
		return;
	row_inc32(&r->blocked_today);
	row_inc64(&r->blocked);
	for (ward_catset c = blocked_by; c; c &= c - 1)
		row_category(r, (unsigned)__builtin_ctzll(c));
}

static uint8_t schedule_index(const struct ward_conf *conf, size_t profile, const char *name)
{
	if (!name || profile >= conf->n_profiles)
		return UINT8_MAX;
	const struct ward_conf_profile *p = &conf->profiles[profile];
	for (size_t i = 0; i < p->n_schedules && i < UINT8_MAX; i++)
		if (p->schedules[i].name == name)
			return (uint8_t)i;
	return UINT8_MAX;
}

/* The verdicts the query log wants (query_log.mode), a bit each; worked out again only
 * when the config changed. */
static uint32_t log_mask(struct ward_stats *s, const struct ward_worker *w)
{
	uint64_t gen = w->ps ? w->ps->generation : 0;
	if (s->mask_valid && s->mask_generation == gen)
		return s->log_mask;
	enum ward_qlog_mode mode = ward_worker_conf(w)->query_log.mode;
	s->log_mask = mode == WARD_QLOG_ALL ? ~0u
		      : mode == WARD_QLOG_BLOCKED ? 1u << WARD_VERDICT_BLOCKED |
							1u << WARD_VERDICT_REWRITTEN
		      : 0;
	s->mask_generation = gen;
	s->mask_valid = true;
	return s->log_mask;
}

/* Frame the query for the log (blocklists/qlog.h) in place in the worker's log ring: the
 * writer thread only hands the bytes to the kernel. The client is anonymized here, before it is
 * stored anywhere. */
static void log_query(struct ward_worker *w, const struct ward_query_ctx *ctx,
		      enum ward_verdict verdict, unsigned rcode,
		      const struct ward_policy_verdict *v, unsigned slot, bool trusted_mac)
{
	uint8_t client[16];
	const struct ward_stats_slots *slots = w->shared->slots;
	ward_stats_addr_key(&ctx->client.addr.sa, client);
	struct ward_qlog_raw raw = {
		.time = w->local_time.unix_s, .verdict = (uint8_t)verdict, .rcode = (uint8_t)rcode,
		.reason = (uint8_t)(v ? v->reason : WARD_REASON_NONE), .qtype = ctx->q.qtype,
		.latency_ms = ctx->start_ms ? (uint32_t)ward_worker_now(w) + 1 - ctx->start_ms : 0,
		.categories = v ? v->categories : 0, .client = client, .mac = ctx->q.mac,
		.profile = slots->names[slot], .profile_len = slots->len[slot],
		.feed_id = v && v->match.n_feeds ? v->match.feeds[0] : 0,
		.name = ctx->q.has_question ? ctx->q.lname : (const uint8_t *)"",
		.name_len = ctx->q.has_question ? (uint8_t)ctx->q.qname_len : 1,
	};
	if (ward_worker_conf(w)->query_log.anonymize_clients) {
		ward_qlog_anonymize(client);
		raw.flags = WARD_QLOG_ANONYMIZED;
	} else if (trusted_mac) {
		raw.flags = WARD_QLOG_HAS_MAC;
	}
	size_t n = ward_qlog_frame_size(&raw);
	uint8_t *at = ward_log_ring_reserve(w->log_ring, n);
	if (at && ward_qlog_frame_raw(&raw, at, n) == n)
		ward_log_ring_commit(w->log_ring, n);
}

/* What only the web listener's pages read: a block, and how to explain it again later. */
static void hand_block(struct ward_worker *w, const struct ward_query_ctx *ctx,
		       const struct ward_policy_verdict *v, unsigned slot, bool trusted_mac)
{
	struct ward_record *r = ward_ring_reserve(w->records);
	if (!r)
		return;
	r->unix_s = w->local_time.unix_s;
	r->qtype = ctx->q.qtype;
	ward_stats_addr_key(&ctx->client.addr.sa, r->client);
	r->has_mac = ctx->q.has_mac;
	r->mac_trusted = trusted_mac;
	memcpy(r->mac, ctx->q.mac, sizeof(r->mac));
	r->categories = v ? v->categories : 0;
	r->reason = (uint8_t)(v ? v->reason : WARD_REASON_NONE);
	r->policy_generation = w->ps ? w->ps->generation : 0;
	r->profile = ctx->profile < UINT32_MAX ? (uint32_t)ctx->profile : UINT32_MAX;
	r->override_id = v ? v->override_id : 0;
	r->until = v ? v->until : 0;
	r->action = (uint8_t)(v ? v->action : WARD_POLICY_BLOCK);
	r->schedule = v && w->ps ? schedule_index(w->ps->conf, ctx->profile, v->schedule_name)
				 : UINT8_MAX;
	r->verdict = WARD_VERDICT_BLOCKED;
	r->slot = (uint8_t)slot;
	size_t n = ctx->q.has_question && ctx->q.qname_len <= sizeof(r->name) ? ctx->q.qname_len
									       : 0;
	memcpy(r->name, ctx->q.lname, n);
	r->name_len = (uint8_t)n;
	if (!n)
		r->name[0] = 0;
	ward_ring_commit(w->records);
}

void ward_stats_query(struct ward_worker *w, const struct ward_query_ctx *ctx,
		      enum ward_verdict verdict, unsigned rcode,
		      const struct ward_policy_verdict *v)
{
	struct ward_stats *s = w->qstats;
	const struct ward_policy_state *ps = w->ps;
	unsigned slot = WARD_STATS_SLOT_NONE;
	if (ps && ctx->profile < ps->conf->n_profiles && ps->stat_slots)
		slot = ps->stat_slots[ctx->profile];
	ward_counter_add(&s->verdicts[slot][verdict], 1);
	bool blocked = verdict == WARD_VERDICT_BLOCKED;
	ward_catset blocked_by = blocked && v ? v->categories : 0;
	for (ward_catset c = blocked_by; c; c &= c - 1)
		ward_counter_add(&s->categories[slot][__builtin_ctzll(c)], 1);
	if (verdict == WARD_VERDICT_REFUSED)
		return; /* outside allow_clients: no device of ours, nothing recorded */
	bool trusted_mac = ctx->q.has_mac && mac_trusted(w, ctx);
	note_device(s, w, ctx, trusted_mac, slot, blocked, blocked_by);
	if (w->log_ring && (log_mask(s, w) >> verdict & 1))
		log_query(w, ctx, verdict, rcode, v, slot, trusted_mac);
	if (blocked && w->records && w->conf->web.enabled)
		hand_block(w, ctx, v, slot, trusted_mac);
}

/* ---- the idle timer's copy of cache and upstream figures ------------------------------------------ */

void ward_stats_publish(struct ward_worker *w)
{
	struct ward_stats *s = w->qstats;
	struct ward_cache_stats cs;
	if (!s)
		return;
	ward_cache_get_stats(w->cache, &cs);
	ward_counter_set(&s->cache_hits, cs.hits);
	ward_counter_set(&s->cache_misses, cs.misses);
	ward_counter_set(&s->cache_stale, cs.stale_hits);
	ward_counter_set(&s->cache_entries, cs.entries);
	ward_counter_set(&s->cache_bytes, cs.bytes);
	ward_counter_set(&s->cache_evictions, cs.evictions);
	unsigned n = w->fwd.upstreams ? w->fwd.n_upstreams : 0;
	for (unsigned i = 0; i < n && i < WARD_UPSTREAM_MAX; i++) {
		const struct ward_upstream *u = &w->fwd.upstreams[i];
		struct ward_stats_upstream *o = &s->upstreams[i];
		ward_counter_set(&o->queries, u->queries);
		ward_counter_set(&o->answers, u->answers);
		ward_counter_set(&o->timeouts, u->timeouts);
		ward_counter_set(&o->failures, u->failures);
		ward_counter_set(&o->srtt_ms, u->srtt_ms);
		ward_counter_set(&o->down, u->down);
		ward_counter_set(&o->rtt_sum_ms, u->rtt_sum_ms);
		for (unsigned b = 0; b < WARD_UPSTREAM_RTT_BUCKETS; b++)
			ward_counter_set(&o->rtt[b], u->rtt_hist[b]);
	}
	ward_counter_set(&s->n_upstreams, n);
}
