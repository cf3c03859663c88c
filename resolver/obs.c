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

	pthread_mutex_t lock;
	struct ward_top *top;
	struct ward_stats_sum *baseline;
	uint32_t baseline_day;

	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	struct ward_record *queue;           /* WARD_OBS_QUEUE records, a circle */
	size_t qhead, qlen, qcap;            /* qcap: WARD_OBS_QUEUE (tests may lower it) */

	pthread_mutex_t log_lock;
	struct ward_qlog *log;
	char log_error[160];
	struct ward_catdb_reader *reader;    /* feed names (writer thread) */
	struct ward_record *chunk;           /* the writer's copy of a batch */
	struct ward_qlog_entry *batch;
	int64_t last_prune;
	uint64_t next_open_ms;
	_Atomic uint32_t retention_days;

	_Atomic uint64_t records, dropped_queue, dropped_write, written, expired, evicted;
	_Atomic uint64_t batches, log_records, log_bytes, log_max_bytes;
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
	o->top = ward_top_new();
	o->baseline = calloc(1, sizeof(*o->baseline));
	o->queue = calloc(WARD_OBS_QUEUE, sizeof(*o->queue));
	o->chunk = calloc(WARD_OBS_BATCH, sizeof(*o->chunk));
	o->batch = calloc(WARD_OBS_BATCH, sizeof(*o->batch));
	pthread_mutex_init(&o->lock, NULL);
	pthread_mutex_init(&o->qlock, NULL);
	pthread_mutex_init(&o->log_lock, NULL);
	pthread_cond_init(&o->qcond, NULL);
	ward_obs_configure(o, &boot->query_log);
	o->qcap = queue_cap();
	if (!o->top || !o->baseline || !o->queue || !o->chunk || !o->batch) {
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

/* Called with qlock held. */
static void enqueue(struct ward_obs *o, const struct ward_record *r)
{
	if (o->qlen == o->qcap) {
		atomic_fetch_add(&o->dropped_queue, 1);
		return;
	}
	o->queue[(o->qhead + o->qlen) % WARD_OBS_QUEUE] = *r;
	o->qlen++;
}

/* A bounded batch per ring and turn, so one busy worker cannot starve the others. */
static void drain_ring(struct ward_obs *o, struct ward_record_ring *ring)
{
	struct ward_record r;
	bool queued = false;
	pthread_mutex_lock(&o->lock);
	pthread_mutex_lock(&o->qlock);
	for (int n = 0; n < WARD_RING_SLOTS && ward_ring_pop(ring, &r); n++) {
		atomic_fetch_add_explicit(&o->records, 1, memory_order_relaxed);
		if (r.verdict == WARD_VERDICT_BLOCKED) {
			ward_top_add(o->top, r.slot, r.name, r.unix_s);
			if (o->sink)
				o->sink(o->sink_ctx, &r);
		}
		if (r.flags & WARD_RECORD_LOG) {
			enqueue(o, &r);
			queued = true;
		}
	}
	if (queued && o->qlen >= WARD_OBS_BATCH)
		pthread_cond_signal(&o->qcond);
	pthread_mutex_unlock(&o->qlock);
	pthread_mutex_unlock(&o->lock);
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
	while (!atomic_load(&o->stop)) {
		for (unsigned i = 0; i < o->n_workers; i++)
			if (o->workers[i].records)
				drain_ring(o, o->workers[i].records);
		if (scratch)
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

/* Wait for a batch's worth, a second, or the stop; then take up to a batch.
 * @return how many records are in o->chunk; 0 with the stop set means done. */
static size_t take_batch(struct ward_obs *o)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WARD_OBS_WRITE_MS / 1000;
	pthread_mutex_lock(&o->qlock);
	while (o->qlen < WARD_OBS_BATCH && !atomic_load(&o->stop))
		if (pthread_cond_timedwait(&o->qcond, &o->qlock, &until) == ETIMEDOUT)
			break;
	size_t n = 0;
	if (!stalled(o)) {
		for (; n < WARD_OBS_BATCH && o->qlen; n++, o->qlen--) {
			o->chunk[n] = o->queue[o->qhead];
			o->qhead = (o->qhead + 1) % WARD_OBS_QUEUE;
		}
	}
	pthread_mutex_unlock(&o->qlock);
	return n;
}

static void feed_name(struct ward_obs *o, uint16_t id, char *out, size_t cap)
{
	struct ward_catdb *db = atomic_load(&o->shared->db);
	out[0] = '\0';
	if (!id || !db)
		return;
	if (!o->reader && ward_catdb_reader_new(db, &o->reader) != 0)
		o->reader = NULL;
	int rc = o->reader ? ward_catdb_feed_name(o->reader, id, out, cap) : WARD_ENOTFOUND;
	if (rc < 0 && rc != WARD_ETOOBIG)
		out[0] = '\0';
}

static void to_entry(struct ward_obs *o, const struct ward_record *r, struct ward_qlog_entry *e)
{
	bool anon = r->flags & WARD_RECORD_ANONYMIZE;
	memset(e, 0, sizeof(*e));
	e->time = r->unix_s;
	e->verdict = r->verdict;
	e->rcode = r->rcode;
	e->reason = r->reason;
	e->qtype = r->qtype;
	e->latency_ms = r->latency_ms;
	e->categories = r->categories;
	memcpy(e->client, r->client, 16);
	if (anon) {
		ward_qlog_anonymize(e->client);
		e->flags |= WARD_QLOG_ANONYMIZED;
	} else if (r->has_mac && r->mac_trusted) {
		memcpy(e->mac, r->mac, 6);
		e->flags |= WARD_QLOG_HAS_MAC;
	}
	snprintf(e->profile, sizeof(e->profile), "%s",
		 ward_stats_slot_name(o->shared->slots, r->slot));
	feed_name(o, r->feed, e->feed, sizeof(e->feed));
	size_t len = ward_name_wire_len(r->name);
	memcpy(e->name, r->name, len ? len : 1);
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
	int rc = ward_qlog_open(ql->path, true, (size_t)ql->max_mb << 20, &log);
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
	uint64_t records, bytes, max;
	atomic_fetch_add(&o->written, st->written);
	atomic_fetch_add(&o->dropped_write, st->dropped);
	atomic_fetch_add(&o->expired, st->expired);
	atomic_fetch_add(&o->evicted, st->evicted);
	atomic_fetch_add(&o->batches, 1);
	if (ward_qlog_usage(o->log, &records, &bytes, &max) == 0) {
		atomic_store(&o->log_records, records);
		atomic_store(&o->log_bytes, bytes);
		atomic_store(&o->log_max_bytes, max);
	}
}

/* Write n records (0: only retention, when it is due). */
static void write_batch(struct ward_obs *o, size_t n)
{
	int64_t now = unix_now(o);
	if (n == 0 && (!o->log || now - o->last_prune < PRUNE_IDLE_S))
		return;
	if (!log_ready(o)) {
		atomic_fetch_add(&o->dropped_write, n);
		return;
	}
	for (size_t i = 0; i < n; i++)
		to_entry(o, &o->chunk[i], &o->batch[i]);
	ward_catdb_reader_release(o->reader);
	struct ward_qlog_write st = {.now = now, .retention_days = atomic_load(&o->retention_days)};
	int rc = ward_qlog_append(o->log, o->batch, n, &st);
	if (rc)
		ward_log_warn("query log: a batch of %zu records could not be written: %s", n,
			      ward_strerror(rc));
	o->last_prune = now;
	count_write(o, &st);
}

static void *writer_main(void *arg)
{
	struct ward_obs *o = arg;
	for (;;) {
		size_t n = take_batch(o);
		bool stopping = atomic_load(&o->stop);
		write_batch(o, n);
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
	free(o->queue);
	free(o->chunk);
	free(o->batch);
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
	c->log_records = atomic_load(&o->log_records);
	c->log_bytes = atomic_load(&o->log_bytes);
	c->log_max_bytes = atomic_load(&o->log_max_bytes);
	pthread_mutex_lock(&o->log_lock);
	c->log_open = o->log != NULL;
	snprintf(c->log_error, sizeof(c->log_error), "%s", o->log_error);
	pthread_mutex_unlock(&o->log_lock);
}

size_t ward_obs_top(struct ward_obs *o, int slot, struct ward_top_item *out, size_t cap)
{
	pthread_mutex_lock(&o->lock);
	size_t n = ward_top_get(o->top, slot, unix_now(o), out, cap);
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
