/*
 * Statistics: what every query came to, counted per worker and summed on read, and the
 * devices each worker has seen.
 *
 * On the query path (one call per query, ward_stats_query, where its verdict is final):
 * counters by verdict and profile, blocks by category and profile, the asking device's
 * row in a bounded per-worker table, and the record for the query log and the web
 * listener (records.h). Every counter has a single writer, its worker, and is updated with
 * a relaxed load and store (plain moves on the usual CPUs, no lock prefix); readers on
 * other threads load them relaxed. Nothing is allocated, locked or asked of the kernel.
 *
 * Profiles are counted by slot, not by index: a slot belongs to one profile name for the
 * life of the process (ward_stats_slots_map), so a reload that adds, removes or reorders
 * profiles never moves counts from one profile to another. Slot 0 is "no profile" (a
 * config without profiles, and queries refused before one was chosen); profiles past the
 * first WARD_STATS_SLOTS - 2 share the last slot.
 *
 * Devices: each worker keeps WARD_STATS_DEVICES rows in an open-addressed table, keyed
 * by the client address (IPv6; IPv4 as ::ffff:a.b.c.d) or, for a query a trusted
 * forwarder sent with a MAC, by that MAC. A new device takes an empty row among its
 * WARD_STATS_PROBES candidates, else the one seen least recently. A row changes identity
 * (eviction) or day ("today" counters reset at local midnight) under a sequence number,
 * so a reader never mixes two devices; ward_stats_devices() merges the workers' rows.
 */
#ifndef WARD_STATS_H
#define WARD_STATS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blocklists/category.h"
#include "blocklists/conf.h"
#include "blocklists/policy.h"
#include "blocklists/qlog.h"
#include "resolver/upstream.h"

struct ward_worker;
struct ward_query_ctx;

#define WARD_STATS_SLOTS 64         /* profile slots: 0 none, 1..62 named, 63 the rest */
#define WARD_STATS_SLOT_NONE 0
#define WARD_STATS_SLOT_OTHER (WARD_STATS_SLOTS - 1)
#define WARD_STATS_DEVICES 4096     /* device rows per worker; a power of two */
#define WARD_STATS_PROBES 8         /* rows a device may take */
#define WARD_STATS_DEVICE_CATS 6    /* categories counted per device and day */

/* A counter with one writer. */
typedef struct {
	_Atomic uint64_t v;
} ward_counter;

static inline void ward_counter_add(ward_counter *c, uint64_t n)
{
	atomic_store_explicit(&c->v, atomic_load_explicit(&c->v, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static inline void ward_counter_set(ward_counter *c, uint64_t v)
{
	atomic_store_explicit(&c->v, v, memory_order_relaxed);
}

static inline uint64_t ward_counter_get(const ward_counter *c)
{
	return atomic_load_explicit(&c->v, memory_order_relaxed);
}

/* ---- profile slots (main thread writes, anyone reads) ------------------------------------- */

struct ward_stats_slots {
	_Atomic unsigned n;                      /* slots named so far, 1.. */
	char names[WARD_STATS_SLOTS][64];        /* "" for slot 0; never renamed */
	uint8_t len[WARD_STATS_SLOTS];           /* their lengths */
};

void ward_stats_slots_init(struct ward_stats_slots *s);

/*
 * The slot of each of conf's profiles, naming new slots for profile names not seen
 * before. Main thread only (the one writer). @return a malloc'ed array of
 * conf->n_profiles slots (free it), or NULL when out of memory (or no profiles).
 */
uint8_t *ward_stats_slots_map(struct ward_stats_slots *s, const struct ward_conf *conf);

/* The name of a slot: "" for none, "(other)" for the shared last slot. */
const char *ward_stats_slot_name(const struct ward_stats_slots *s, unsigned slot);

/* ---- one worker's counters ----------------------------------------------------------------- */

struct ward_stats_device_row {
	_Atomic uint32_t seq;                    /* odd while the row changes */
	_Atomic uint32_t day;                    /* local day number of the today counters */
	_Atomic uint64_t key[2];                 /* 0, 0: empty */
	_Atomic uint64_t addr[2];                /* the address it asked from last */
	_Atomic uint64_t mac;                    /* bit 48: a MAC from a trusted forwarder */
	_Atomic int64_t first_seen, last_seen;   /* unix seconds */
	_Atomic uint32_t queries_today, blocked_today;
	_Atomic uint64_t queries, blocked;
	_Atomic uint64_t cats[WARD_STATS_DEVICE_CATS]; /* category + 1 << 32 | count, today */
	_Atomic uint32_t slot;                   /* profile slot of its latest query */
};

/* Copied from the worker's cache and upstreams by its idle timer (ward_stats_publish). */
struct ward_stats_upstream {
	ward_counter queries, answers, timeouts, failures;
	ward_counter srtt_ms, down;
	ward_counter rtt[WARD_UPSTREAM_RTT_BUCKETS];
	ward_counter rtt_sum_ms;
};

struct ward_stats {
	ward_counter verdicts[WARD_STATS_SLOTS][WARD_VERDICT_COUNT];
	ward_counter categories[WARD_STATS_SLOTS][WARD_CAT_MAX]; /* blocks, by category */
	ward_counter cache_hits, cache_misses, cache_stale, cache_entries, cache_bytes;
	ward_counter cache_evictions;
	ward_counter n_upstreams;
	struct ward_stats_upstream upstreams[WARD_UPSTREAM_MAX];
	ward_counter devices_evicted;
	ward_counter proxy_invalid;              /* from trusted_proxies without a valid header */
	uint64_t seed;                           /* the device table's hash key, random */
	uint64_t last_key[2];                    /* the device found last, and its row */
	struct ward_stats_device_row *last_row;
	uint32_t last_v4;                        /* its IPv4 address (0: not an IPv4 one) */
	uint32_t log_mask;                       /* the verdicts the query log wants ... */
	uint64_t mask_generation;                /* ... for this policy generation */
	bool mask_valid;
	/* The local day of the worker's clock, recomputed when its second changes. */
	int64_t day_of_s;
	uint32_t day;
	struct ward_stats_device_row devices[WARD_STATS_DEVICES];
};

/* @return zeroed stats, or NULL. */
struct ward_stats *ward_stats_new(void);
void ward_stats_free(struct ward_stats *s);

/*
 * The hook on the query path: count the query and hand its record to the query log and
 * the web listener (a ring slot, when the record is wanted: always for blocks, for
 * rewrites too with query_log.mode "blocked", for everything with "all").
 * @param rcode  the answer's response code (ignored for WARD_VERDICT_DROPPED)
 * @param v      the policy's verdict behind a block, rewrite or SERVFAIL, else NULL
 */
void ward_stats_query(struct ward_worker *w, const struct ward_query_ctx *ctx,
		      enum ward_verdict verdict, unsigned rcode,
		      const struct ward_policy_verdict *v);

/* Copy the worker's cache and upstream figures into its stats (its idle timer). */
void ward_stats_publish(struct ward_worker *w);

/* The local day number (days since 1970-01-01 in local time) from unix seconds and the
 * local minute of the day that goes with them. */
uint32_t ward_stats_local_day(int64_t unix_s, unsigned local_minute);

/* ---- reading: sums over the workers --------------------------------------------------------- */

struct ward_stats_sum {
	uint64_t verdicts[WARD_STATS_SLOTS][WARD_VERDICT_COUNT];
	uint64_t categories[WARD_STATS_SLOTS][WARD_CAT_MAX];
	uint64_t cache_hits, cache_misses, cache_stale, cache_entries, cache_bytes;
	uint64_t cache_evictions, devices_evicted, proxy_invalid;
	unsigned n_upstreams;
	struct ward_stats_sum_upstream {
		uint64_t queries, answers, timeouts, failures, rtt_sum_ms;
		uint64_t rtt[WARD_UPSTREAM_RTT_BUCKETS];  /* per bucket, not cumulative */
		uint64_t srtt_ms_max;                  /* the largest estimate of any worker */
		unsigned down;                         /* workers that consider it down */
	} upstreams[WARD_UPSTREAM_MAX];
};

/* Sum the stats of n workers into out (overwritten). Any thread. */
void ward_stats_sum(struct ward_stats *const *per_worker, unsigned n,
		    struct ward_stats_sum *out);

/* Queries of every verdict for a slot, or for every slot (slot < 0). */
uint64_t ward_stats_sum_queries(const struct ward_stats_sum *s, int slot);

/* ---- reading: devices ------------------------------------------------------------------------- */

struct ward_device {
	uint8_t key[16];          /* its address, or its MAC key (ff00::6d:0:0:mac) */
	uint8_t addr[16];         /* the address it asked from last (IPv4 mapped) */
	uint8_t mac[6];
	bool has_mac;             /* a trusted forwarder sent its MAC */
	int64_t first_seen, last_seen;
	uint64_t queries, blocked;             /* since wardd started */
	uint64_t queries_today, blocked_today; /* since local midnight */
	unsigned slot;                         /* profile slot of its latest query */
	unsigned n_cats;
	struct ward_device_cat {
		uint8_t category;
		uint64_t count;
	} cats[WARD_STATS_DEVICE_CATS];        /* today's blocks by category, most first */
};

/*
 * Every device the workers remember, merged (a device's rows in several workers add
 * up; first and last seen are the earliest and latest), newest first.
 * @param today  the local day number now (ward_stats_local_day): rows of an earlier
 *               day count nothing today
 * @param out    receives a malloc'ed array (free it); NULL when there are none
 * @return how many, or WARD_ENOMEM.
 */
int ward_stats_devices(struct ward_stats *const *per_worker, unsigned n, uint32_t today,
		       struct ward_device **out);

/* The key of a device asking from an address / with a MAC (16 bytes). */
void ward_stats_addr_key(const struct sockaddr *sa, uint8_t key[16]);
void ward_stats_mac_key(const uint8_t mac[6], uint8_t key[16]);

/* The config's clients entry for a device: the entry for its MAC, else the most specific
 * entry for its address. NULL when none matches. */
const struct ward_conf_client *ward_stats_device_client(const struct ward_conf *conf,
						       const struct ward_device *d);

/* That entry's name (clients[].name); NULL when none is named. The admin pages name a
 * device with web_device_name (resolver/web_internal.h), which adds DHCP host names. */
const char *ward_stats_device_name(const struct ward_conf *conf, const struct ward_device *d);

#endif
