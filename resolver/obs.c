/*
 * The observer thread and the query log's writer thread (obs.h).
 *
 * Locks, none of them ever taken by a DNS worker:
 *   lock      the top-names sketch and the day's baseline (observer writes, readers read)
 *   qlock     the writer's queue (observer appends, writer takes); qcond wakes the writer
 *   log_lock  opening and closing the log against readers of it (the API)
 */
#include "resolver/obs.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blocklists/catdb.h"
#include "blocklists/clock.h"
#include "blocklists/error.h"
#include "blocklists/log.h"
#include "resolver/worker.h"

#define PRUNE_IDLE_S 60 /* retention runs this often when no record comes */

/* The records waiting for the writer, already framed (qlog.h): the observer appends to
 * `pending`, the writer swaps it for its empty `writing` buffer and appends that to the
 * log, so neither copies a record twice nor holds the lock while the other works. */
struct frames {
	uint8_t *data;
	size_t len, count;
};

#define QUEUE_BYTES (WARD_OBS_QUEUE * 128u)  /* room for WARD_OBS_QUEUE typical records */
#define FEED_CACHE 256                        /* feed id -> name, direct-mapped */

struct ward_obs {
	const struct ward_conf *boot;        /* query_log.path and max_mb (restart to change) */
	struct ward_shared *shared;
	struct ward_worker *workers;
	unsigned n_workers;
	ward_obs_block_fn sink;
	void *sink_ctx;
	pthread_t observer, writer;
	bool observer_running, writer_running;
	_Atomic bool stop;

	pthread_mutex_t lock;                /* top, baseline */
	struct ward_top *top;                /* only with a web listener: nobody else reads it */
	struct ward_stats_sum *baseline;
	uint32_t baseline_day;

	/* The observer's: feed names for the records it frames. */
	struct ward_catdb_reader *reader;
	struct feed_cache {
		uint16_t id;
		uint8_t len;
		char name[WARD_QLOG_TEXT_MAX];
	} feeds[FEED_CACHE];
	uint8_t slot_len[WARD_STATS_SLOTS];
	bool slot_known[WARD_STATS_SLOTS];

	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	struct frames pending, writing;
	size_t qcap;                         /* records: WARD_OBS_QUEUE (tests may lower it) */

	pthread_mutex_t log_lock;            /* the log's handle against readers (the API) */
	struct ward_qlog *log;
	char log_error[160];
	int64_t last_prune;
	uint64_t next_open_ms;
	_Atomic uint32_t retention_days;

	_Atomic uint64_t records, dropped_queue, dropped_write, written, expired, evicted;
	_Atomic uint64_t batches, log_bytes;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int64_t unix_now(const struct ward_obs *o)
{
	int64_t t = atomic_load(&o->shared->unix_now);
	return t ? t : ward_clock_now();
}

uint32_t ward_obs_local_day(const struct ward_obs *o)
{
	uint32_t packed = atomic_load(&o->shared->local_time);
	return ward_stats_local_day(unix_now(o), packed & 0xFFFF);
}

/* Test builds: WARD_TEST_QLOG_QUEUE (1 .. WARD_OBS_QUEUE) makes the queue that short, so
 * a test fills it with a few hundred queries. */
static size_t queue_cap(void)
{
#ifdef WARD_TEST_HOOKS
	const char *env = getenv("WARD_TEST_QLOG_QUEUE");
	long n = env ? strtol(env, NULL, 10) : 0;
	if (n >= 1 && n <= WARD_OBS_QUEUE)
		return (size_t)n;
#endif
	return WARD_OBS_QUEUE;
}

int ward_obs_new(const struct ward_conf *boot, struct ward_shared *shared,
		 struct ward_obs **out)
{
	struct ward_obs *o = calloc(1, sizeof(*o));
	*out = NULL;
	if (!o)
		return WARD_ENOMEM;
	o->boot = boot;
	o->shared = shared;
	o->top = boot->web.enabled ? ward_top_new() : NULL;
	o->baseline = calloc(1, sizeof(*o->baseline));
	o->pending.data = malloc(QUEUE_BYTES);
	o->writing.data = malloc(QUEUE_BYTES);
	pthread_mutex_init(&o->lock, NULL);
	pthread_mutex_init(&o->qlock, NULL);
	pthread_mutex_init(&o->log_lock, NULL);
	pthread_cond_init(&o->qcond, NULL);
	ward_obs_configure(o, &boot->query_log);
	o->qcap = queue_cap();
	if ((boot->web.enabled && !o->top) || !o->baseline || !o->pending.data ||
	    !o->writing.data) {
		ward_obs_free(o);
		return WARD_ENOMEM;
	}
	*out = o;
	return 0;
}

void ward_obs_set_sink(struct ward_obs *o, ward_obs_block_fn fn, void *ctx)
{
	o->sink = fn;
	o->sink_ctx = ctx;
}

void ward_obs_configure(struct ward_obs *o, const struct ward_conf_query_log *ql)
{
	atomic_store(&o->retention_days, ql->retention_days ? ql->retention_days : 7);
}

/* ---- the observer thread ---------------------------------------------------------------------- */

/* A feed's name, from a small cache (feed ids are never reused: an id's name stays).
 * @return its length; *out points at it. */
static uint8_t feed_name(struct ward_obs *o, uint16_t id, const char **out)
{
	struct ward_catdb *db = atomic_load_explicit(&o->shared->db, memory_order_relaxed);
	struct feed_cache *c = &o->feeds[id % FEED_CACHE];
	*out = "";
	if (!id || !db)
		return 0;
	if (c->id != id) {
		if (!o->reader && ward_catdb_reader_new(db, &o->reader) != 0)
			o->reader = NULL;
		int rc = o->reader ? ward_catdb_feed_name(o->reader, id, c->name, sizeof(c->name))
				   : WARD_ENOTFOUND;
		if (rc < 0 && rc != WARD_ETOOBIG)
			return 0;
		c->id = id;
		c->len = (uint8_t)strlen(c->name);
	}
	*out = c->name;
	return c->len;
}

/* A profile slot's name and length; slots are never renamed, so it is kept. */
static uint8_t slot_name(struct ward_obs *o, unsigned slot, const char **out)
{
	if (slot >= WARD_STATS_SLOTS)
		slot = WARD_STATS_SLOT_NONE;
	if (!o->slot_known[slot] && slot < atomic_load(&o->shared->slots->n)) {
		o->slot_len[slot] = (uint8_t)strlen(o->shared->slots->names[slot]);
		o->slot_known[slot] = true;
	}
	*out = ward_stats_slot_name(o->shared->slots, slot);
	return o->slot_known[slot] ? o->slot_len[slot] : (uint8_t)strlen(*out);
}

/* Frame a record into the writer's queue (qlock held), or count it dropped. What the log
 * stores: the profile and feed by name, the client anonymized when the worker said so. */
static void enqueue(struct ward_obs *o, const struct ward_record *r)
{
	struct frames *q = &o->pending;
	uint8_t client[16];
	if (q->count >= o->qcap || QUEUE_BYTES - q->len < WARD_QLOG_FRAME_MAX) {
		atomic_fetch_add_explicit(&o->dropped_queue, 1, memory_order_relaxed);
		return;
	}
	struct ward_qlog_raw raw = {
		.time = r->unix_s, .verdict = r->verdict, .rcode = r->rcode, .reason = r->reason,
		.qtype = r->qtype, .latency_ms = r->latency_ms, .categories = r->categories,
		.client = r->client, .mac = r->mac, .name = r->name, .name_len = r->name_len,
	};
	if (r->flags & WARD_RECORD_ANONYMIZE) {
		memcpy(client, r->client, 16);
		ward_qlog_anonymize(client);
		raw.client = client;
		raw.flags = WARD_QLOG_ANONYMIZED;
	} else if (r->has_mac && r->mac_trusted) {
		raw.flags = WARD_QLOG_HAS_MAC;
	}
	raw.profile_len = slot_name(o, r->slot, &raw.profile);
	raw.feed_len = feed_name(o, r->feed, &raw.feed);
	size_t n = ward_qlog_frame_raw(&raw, q->data + q->len, QUEUE_BYTES - q->len);
	q->len += n;
	q->count += n != 0;
}

static void take_block(struct ward_obs *o, const struct ward_record *r)
{
	if (o->top)
		ward_top_add(o->top, r->slot, r->name, r->unix_s);
	if (o->sink)
		o->sink(o->sink_ctx, r);
}

/* A bounded batch per ring and turn, so one busy worker cannot starve the others. Each
 * record is read in its ring slot and released after. */
static void drain_ring(struct ward_obs *o, struct ward_record_ring *ring)
{
	const struct ward_record *r;
	unsigned n = 0;
	pthread_mutex_lock(&o->lock);
	pthread_mutex_lock(&o->qlock);
	for (; n < WARD_RING_SLOTS && (r = ward_ring_peek(ring)); n++) {
		if (r->verdict == WARD_VERDICT_BLOCKED)
			take_block(o, r);
		if (r->flags & WARD_RECORD_LOG)
			enqueue(o, r);
		ward_ring_release(ring);
	}
	if (o->pending.count >= WARD_OBS_BATCH)
		pthread_cond_signal(&o->qcond);
	pthread_mutex_unlock(&o->qlock);
	pthread_mutex_unlock(&o->lock);
	atomic_fetch_add_explicit(&o->records, n, memory_order_relaxed);
}

unsigned ward_obs_stats(struct ward_obs *o, struct ward_stats *per_worker[], unsigned cap)
{
	unsigned n = 0;
	for (; n < o->n_workers && n < cap; n++)
		per_worker[n] = o->workers[n].qstats;
	return n;
}

/* At local midnight the counters so far become the baseline "today" starts from. */
static void check_day(struct ward_obs *o, struct ward_stats_sum *scratch)
{
	uint32_t day = ward_obs_local_day(o);
	if (day == o->baseline_day)
		return;
	struct ward_stats *per[64];
	ward_stats_sum(per, ward_obs_stats(o, per, 64), scratch);
	pthread_mutex_lock(&o->lock);
	memcpy(o->baseline, scratch, sizeof(*scratch));
	o->baseline_day = day;
	pthread_mutex_unlock(&o->lock);
}

static void *observer_main(void *arg)
{
	struct ward_obs *o = arg;
	struct ward_stats_sum *scratch = malloc(sizeof(*scratch));
	struct timespec tick = {0, WARD_OBS_TICK_MS * 1000000L};
	while (!atomic_load(&o->stop) && scratch) {
		for (unsigned i = 0; i < o->n_workers; i++)
			if (o->workers[i].records)
				drain_ring(o, o->workers[i].records);
		/* Between turns the reader holds no snapshot (ward update reuses pages). */
		ward_catdb_reader_release(o->reader);
		check_day(o, scratch);
		nanosleep(&tick, NULL);
	}
	free(scratch);
	return NULL;
}

/* ---- the writer thread --------------------------------------------------------------------------- */

#ifdef WARD_TEST_HOOKS
static bool stalled(const struct ward_obs *o)
{
	const char *path = getenv("WARD_TEST_QLOG_STALL");
	return path && !atomic_load(&o->stop) && access(path, F_OK) == 0;
}
#else
static bool stalled(const struct ward_obs *o)
{
	return false;
}
#endif

/* Wait for a batch's worth, a second, or the stop; then take what is queued.
 * @return how many records o->writing holds; 0 with the stop set means done. */
static size_t take_batch(struct ward_obs *o)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WARD_OBS_WRITE_MS / 1000;
	pthread_mutex_lock(&o->qlock);
	while (o->pending.count < WARD_OBS_BATCH && !atomic_load(&o->stop))
		if (pthread_cond_timedwait(&o->qcond, &o->qlock, &until) == ETIMEDOUT)
			break;
	o->writing.len = o->writing.count = 0;
	if (!stalled(o)) {
		struct frames t = o->writing;
		o->writing = o->pending;
		o->pending = t;
	}
	pthread_mutex_unlock(&o->qlock);
	return o->writing.count;
}

/* Opened on first use; a failure is logged once per distinct cause and tried again. */
static bool log_ready(struct ward_obs *o)
{
	if (o->log)
		return true;
	uint64_t now = mono_ms();
	if (now < o->next_open_ms)
		return false;
	const struct ward_conf_query_log *ql = &o->boot->query_log;
	struct ward_qlog *log;
	pthread_mutex_lock(&o->log_lock);
	int rc = ward_qlog_open(ql->path, true, (uint64_t)ql->max_mb << 20, &log);
	if (rc == 0) {
		o->log = log;
		o->log_error[0] = '\0';
		ward_log_info("query log %s opened (mode %s, %u days, at most %u MiB)", ql->path,
			      ql->mode == WARD_QLOG_ALL ? "all" : "blocked",
			      (unsigned)atomic_load(&o->retention_days), (unsigned)ql->max_mb);
	} else {
		char why[160];
		snprintf(why, sizeof(why), "%s: %s", ql->path, ward_strerror(rc));
		if (strcmp(why, o->log_error) != 0)
			ward_log_error("cannot open the query log %s (records are dropped and "
				       "counted; trying again every %d s)", why,
				       WARD_OBS_REOPEN_MS / 1000);
		snprintf(o->log_error, sizeof(o->log_error), "%s", why);
		o->next_open_ms = now + WARD_OBS_REOPEN_MS;
	}
	pthread_mutex_unlock(&o->log_lock);
	return o->log != NULL;
}

static void count_write(struct ward_obs *o, const struct ward_qlog_write *st)
{
	uint64_t bytes, segments;
	atomic_fetch_add(&o->written, st->written);
	atomic_fetch_add(&o->expired, st->expired);
	atomic_fetch_add(&o->evicted, st->evicted);
	atomic_fetch_add(&o->batches, 1);
	if (ward_qlog_usage(o->log, &bytes, &segments) == 0)
		atomic_store(&o->log_bytes, bytes);
}

/* Append what o->writing holds (nothing: only retention, when it is due). */
static void write_batch(struct ward_obs *o)
{
	int64_t now = unix_now(o);
	size_t n = o->writing.count;
	if (n == 0 && (!o->log || now - o->last_prune < PRUNE_IDLE_S))
		return;
	if (!log_ready(o)) {
		atomic_fetch_add(&o->dropped_write, n);
		return;
	}
	struct ward_qlog_write st = {.now = now, .retention_days = atomic_load(&o->retention_days)};
	int rc = ward_qlog_append(o->log, o->writing.data, o->writing.len, &st);
	if (rc) {
		ward_log_warn("query log: %zu of %zu records could not be written: %s",
			      n - (size_t)st.written, n, ward_strerror(rc));
		atomic_fetch_add(&o->dropped_write, n - st.written);
	}
	o->last_prune = now;
	count_write(o, &st);
}

static void *writer_main(void *arg)
{
	struct ward_obs *o = arg;
	for (;;) {
		size_t n = take_batch(o);
		bool stopping = atomic_load(&o->stop);
		write_batch(o);
		if (stopping && n == 0)
			break;
	}
	return NULL;
}

/* ---- start and stop -------------------------------------------------------------------------------- */

int ward_obs_start(struct ward_obs *o, struct ward_worker *workers, unsigned n_workers)
{
	o->workers = workers;
	o->n_workers = n_workers;
	o->baseline_day = ward_obs_local_day(o);
	if (pthread_create(&o->observer, NULL, observer_main, o) != 0)
		return WARD_ENOMEM;
	o->observer_running = true;
	if (pthread_create(&o->writer, NULL, writer_main, o) != 0)
		return WARD_ENOMEM;
	o->writer_running = true;
	return 0;
}

void ward_obs_stop(struct ward_obs *o)
{
	if (!o)
		return;
	atomic_store(&o->stop, true);
	if (o->observer_running)
		pthread_join(o->observer, NULL);
	o->observer_running = false;
	if (o->writer_running) {
		pthread_mutex_lock(&o->qlock);
		pthread_cond_signal(&o->qcond);
		pthread_mutex_unlock(&o->qlock);
		pthread_join(o->writer, NULL);
	}
	o->writer_running = false;
}

void ward_obs_free(struct ward_obs *o)
{
	if (!o)
		return;
	ward_obs_stop(o);
	ward_catdb_reader_free(o->reader);
	ward_qlog_close(o->log);
	ward_top_free(o->top);
	free(o->baseline);
	free(o->pending.data);
	free(o->writing.data);
	pthread_mutex_destroy(&o->lock);
	pthread_mutex_destroy(&o->qlock);
	pthread_mutex_destroy(&o->log_lock);
	pthread_cond_destroy(&o->qcond);
	free(o);
}

/* ---- reading ------------------------------------------------------------------------------------------ */

void ward_obs_counts(struct ward_obs *o, struct ward_obs_counts *c)
{
	memset(c, 0, sizeof(*c));
	c->records = atomic_load(&o->records);
	for (unsigned i = 0; i < o->n_workers; i++)
		if (o->workers[i].records)
			c->dropped_ring += ward_ring_dropped(o->workers[i].records);
	c->dropped_queue = atomic_load(&o->dropped_queue);
	c->dropped_write = atomic_load(&o->dropped_write);
	c->written = atomic_load(&o->written);
	c->expired = atomic_load(&o->expired);
	c->evicted = atomic_load(&o->evicted);
	c->batches = atomic_load(&o->batches);
	c->log_bytes = atomic_load(&o->log_bytes);
	c->log_max_bytes = (uint64_t)o->boot->query_log.max_mb << 20;
	pthread_mutex_lock(&o->log_lock);
	c->log_open = o->log != NULL;
	snprintf(c->log_error, sizeof(c->log_error), "%s", o->log_error);
	pthread_mutex_unlock(&o->log_lock);
}

size_t ward_obs_top(struct ward_obs *o, int slot, struct ward_top_item *out, size_t cap)
{
	pthread_mutex_lock(&o->lock);
	size_t n = o->top ? ward_top_get(o->top, slot, unix_now(o), out, cap) : 0;
	pthread_mutex_unlock(&o->lock);
	return n;
}

static void subtract(uint64_t *a, const uint64_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		a[i] = a[i] >= b[i] ? a[i] - b[i] : 0;
}

void ward_obs_today(struct ward_obs *o, struct ward_stats_sum *out)
{
	struct ward_stats *per[64];
	ward_stats_sum(per, ward_obs_stats(o, per, 64), out);
	pthread_mutex_lock(&o->lock);
	subtract(&out->verdicts[0][0], &o->baseline->verdicts[0][0],
		 sizeof(out->verdicts) / sizeof(uint64_t));
	subtract(&out->categories[0][0], &o->baseline->categories[0][0],
		 sizeof(out->categories) / sizeof(uint64_t));
	pthread_mutex_unlock(&o->lock);
}

int ward_obs_query(struct ward_obs *o, const struct ward_qlog_filter *f,
		   struct ward_qlog_result *r)
{
	struct ward_qlog *ro = NULL;
	int rc;
	pthread_mutex_lock(&o->log_lock);
	if (o->log) {
		rc = ward_qlog_query(o->log, f, r);
	} else {
		/* Not opened for writing yet: a look at what an earlier run left. */
		rc = ward_qlog_open(o->boot->query_log.path, false, 0, &ro);
		if (rc == 0)
			rc = ward_qlog_query(ro, f, r);
		ward_qlog_close(ro);
	}
	pthread_mutex_unlock(&o->log_lock);
	return rc;
}
