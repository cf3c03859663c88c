/*
 * The read side of the statistics (stats.h): sums over the workers and the merged device
 * list. Runs on any thread but the workers'; allocates freely (it is not the query path).
 */
#include <stdlib.h>
#include <string.h>

#include "blocklists/error.h"
#include "resolver/stats.h"

#define RELAXED memory_order_relaxed

static void sum_upstreams(const struct ward_stats *s, struct ward_stats_sum *out)
{
	unsigned n = (unsigned)ward_counter_get(&s->n_upstreams);
	if (n > out->n_upstreams)
		out->n_upstreams = n;
	for (unsigned i = 0; i < n && i < WARD_UPSTREAM_MAX; i++) {
		const struct ward_stats_upstream *u = &s->upstreams[i];
		struct ward_stats_sum_upstream *o = &out->upstreams[i];
		o->queries += ward_counter_get(&u->queries);
		o->answers += ward_counter_get(&u->answers);
		o->timeouts += ward_counter_get(&u->timeouts);
		o->failures += ward_counter_get(&u->failures);
		o->rtt_sum_ms += ward_counter_get(&u->rtt_sum_ms);
		for (unsigned b = 0; b < WARD_UPSTREAM_RTT_BUCKETS; b++)
			o->rtt[b] += ward_counter_get(&u->rtt[b]);
		uint64_t srtt = ward_counter_get(&u->srtt_ms);
		if (srtt > o->srtt_ms_max)
			o->srtt_ms_max = srtt;
		o->down += ward_counter_get(&u->down) != 0;
	}
}

void ward_stats_sum(struct ward_stats *const *per_worker, unsigned n,
		    struct ward_stats_sum *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned k = 0; k < n; k++) {
		const struct ward_stats *s = per_worker[k];
		if (!s)
			continue;
		for (unsigned i = 0; i < WARD_STATS_SLOTS; i++) {
			for (unsigned v = 0; v < WARD_VERDICT_COUNT; v++)
				out->verdicts[i][v] += ward_counter_get(&s->verdicts[i][v]);
			for (unsigned c = 0; c < WARD_CAT_MAX; c++)
				out->categories[i][c] += ward_counter_get(&s->categories[i][c]);
		}
		out->cache_hits += ward_counter_get(&s->cache_hits);
		out->cache_misses += ward_counter_get(&s->cache_misses);
		out->cache_stale += ward_counter_get(&s->cache_stale);
		out->cache_entries += ward_counter_get(&s->cache_entries);
		out->cache_bytes += ward_counter_get(&s->cache_bytes);
		out->cache_evictions += ward_counter_get(&s->cache_evictions);
		out->devices_evicted += ward_counter_get(&s->devices_evicted);
		out->proxy_invalid += ward_counter_get(&s->proxy_invalid);
		sum_upstreams(s, out);
	}
}

uint64_t ward_stats_sum_queries(const struct ward_stats_sum *s, int slot)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < WARD_STATS_SLOTS; i++)
		for (unsigned v = 0; v < WARD_VERDICT_COUNT; v++)
			if (slot < 0 || (unsigned)slot == i)
				n += s->verdicts[i][v];
	return n;
}

/* ---- devices ------------------------------------------------------------------------------------ */

/* A row's fields are read with acquire: one that shows a value stored after a change of
 * identity began (stats.c stores those with release) makes the seq read after it see that
 * change too, so the row is read again. An acquire fence would do the same once, but
 * ThreadSanitizer does not follow fences. */
#define ROW_READ memory_order_acquire

static void u64_bytes(const _Atomic uint64_t w[2], uint8_t out[16])
{
	uint64_t v[2] = {atomic_load_explicit(&w[0], ROW_READ),
			 atomic_load_explicit(&w[1], ROW_READ)};
	memcpy(out, v, 16);
}

static void read_cats(const struct ward_stats_device_row *r, bool today, struct ward_device *d)
{
	d->n_cats = 0;
	for (int i = 0; today && i < WARD_STATS_DEVICE_CATS; i++) {
		uint64_t c = atomic_load_explicit(&r->cats[i], ROW_READ);
		if (!c)
			continue;
		d->cats[d->n_cats].category = (uint8_t)((c >> 32) - 1);
		d->cats[d->n_cats].count = c & 0xFFFFFFFFu;
		d->n_cats++;
	}
}

/* One row as a device, or false when empty or changing (seqlock, see stats.h). */
static bool read_row(const struct ward_stats_device_row *r, uint32_t today,
		     struct ward_device *d)
{
	for (int tries = 0; tries < 4; tries++) {
		uint32_t seq = atomic_load_explicit(&r->seq, memory_order_acquire);
		if (seq & 1)
			continue;
		memset(d, 0, sizeof(*d));
		u64_bytes(r->key, d->key);
		u64_bytes(r->addr, d->addr);
		uint64_t mac = atomic_load_explicit(&r->mac, ROW_READ);
		d->has_mac = mac >> 48 & 1;
		for (int i = 0; i < 6; i++)
			d->mac[i] = (uint8_t)(mac >> (8 * (5 - i)));
		d->first_seen = atomic_load_explicit(&r->first_seen, ROW_READ);
		d->last_seen = atomic_load_explicit(&r->last_seen, ROW_READ);
		d->queries = atomic_load_explicit(&r->queries, ROW_READ);
		d->blocked = atomic_load_explicit(&r->blocked, ROW_READ);
		bool is_today = atomic_load_explicit(&r->day, ROW_READ) == today;
		d->queries_today = is_today ? atomic_load_explicit(&r->queries_today, ROW_READ) : 0;
		d->blocked_today = is_today ? atomic_load_explicit(&r->blocked_today, ROW_READ) : 0;
		d->slot = atomic_load_explicit(&r->slot, ROW_READ);
		read_cats(r, is_today, d);
		if (atomic_load_explicit(&r->seq, RELAXED) != seq)
			continue;
		static const uint8_t zero[16];
		return memcmp(d->key, zero, 16) != 0 && d->last_seen != 0;
	}
	return false;
}

static void merge_cats(struct ward_device *into, const struct ward_device *d)
{
	for (unsigned i = 0; i < d->n_cats; i++) {
		unsigned j = 0;
		while (j < into->n_cats && into->cats[j].category != d->cats[i].category)
			j++;
		if (j == into->n_cats) {
			if (into->n_cats == WARD_STATS_DEVICE_CATS)
				continue;
			into->cats[into->n_cats++] = d->cats[i];
		} else {
			into->cats[j].count += d->cats[i].count;
		}
	}
}

static void merge(struct ward_device *into, const struct ward_device *d)
{
	if (d->last_seen > into->last_seen) {
		memcpy(into->addr, d->addr, 16);
		into->slot = d->slot;
		into->last_seen = d->last_seen;
		if (d->has_mac) {
			memcpy(into->mac, d->mac, 6);
			into->has_mac = true;
		}
	}
	if (d->first_seen < into->first_seen)
		into->first_seen = d->first_seen;
	into->queries += d->queries;
	into->blocked += d->blocked;
	into->queries_today += d->queries_today;
	into->blocked_today += d->blocked_today;
	merge_cats(into, d);
}

static int by_key(const void *a, const void *b)
{
	return memcmp(((const struct ward_device *)a)->key, ((const struct ward_device *)b)->key,
		      16);
}

static int newest_first(const void *a, const void *b)
{
	const struct ward_device *x = a, *y = b;
	return x->last_seen < y->last_seen ? 1 : x->last_seen > y->last_seen ? -1 : 0;
}

static int cats_most_first(const void *a, const void *b)
{
	const struct ward_device_cat *x = a, *y = b;
	return x->count < y->count ? 1 : x->count > y->count ? -1 : (int)x->category - y->category;
}

/* Sort by key, fold equal keys into one, then order newest first. @return how many. */
static size_t fold(struct ward_device *all, size_t n)
{
	size_t m = 0;
	qsort(all, n, sizeof(*all), by_key);
	for (size_t i = 0; i < n; i++) {
		if (m && memcmp(all[m - 1].key, all[i].key, 16) == 0)
			merge(&all[m - 1], &all[i]);
		else
			all[m++] = all[i];
	}
	for (size_t i = 0; i < m; i++)
		qsort(all[i].cats, all[i].n_cats, sizeof(all[i].cats[0]), cats_most_first);
	qsort(all, m, sizeof(*all), newest_first);
	return m;
}

int ward_stats_devices(struct ward_stats *const *per_worker, unsigned n, uint32_t today,
		       struct ward_device **out)
{
	size_t cap = 64, used = 0;
	struct ward_device *all = malloc(cap * sizeof(*all));
	*out = NULL;
	if (!all)
		return WARD_ENOMEM;
	for (unsigned k = 0; k < n; k++) {
		for (size_t i = 0; per_worker[k] && i < WARD_STATS_DEVICES; i++) {
			if (used == cap) {
				struct ward_device *more = realloc(all, 2 * cap * sizeof(*all));
				if (!more) {
					free(all);
					return WARD_ENOMEM;
				}
				all = more;
				cap *= 2;
			}
			used += read_row(&per_worker[k]->devices[i], today, &all[used]);
		}
	}
	used = fold(all, used);
	if (!used) {
		free(all);
		return 0;
	}
	*out = all;
	return (int)used;
}

/* ---- names from the config ------------------------------------------------------------------ */

static void key_sockaddr(const uint8_t addr[16], struct sockaddr_in6 *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin6_family = AF_INET6;
	memcpy(&sa->sin6_addr, addr, 16);
}

const struct ward_conf_client *ward_stats_device_client(const struct ward_conf *conf,
						       const struct ward_device *d)
{
	const struct ward_conf_client *best = NULL;
	struct sockaddr_in6 sa;
	key_sockaddr(d->addr, &sa);
	for (size_t i = 0; i < conf->n_clients; i++) {
		const struct ward_conf_client *c = &conf->clients[i];
		if (c->kind == WARD_CLIENT_MAC) {
			if (d->has_mac && memcmp(c->mac, d->mac, 6) == 0)
				return c;
			continue;
		}
		/* A device behind a forwarder that sends MACs is not the forwarder. */
		if (!d->has_mac && ward_cidr_contains(&c->cidr, (const struct sockaddr *)&sa) &&
		    (!best || c->cidr.prefix > best->cidr.prefix))
			best = c;
	}
	return best;
}

const char *ward_stats_device_name(const struct ward_conf *conf, const struct ward_device *d)
{
	const struct ward_conf_client *c = ward_stats_device_client(conf, d);
	return c ? c->name : NULL;
}
