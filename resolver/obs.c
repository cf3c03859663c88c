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

	pthread_mutex_t lock;                /* top, baseline */
	struct ward_top *top;                /* only with a web listener: nobody else reads it */
	struct ward_stats_sum *baseline;
	uint32_t baseline_day;

	pthread_mutex_t log_lock;            /* the log's handle against readers (the API) */
	struct ward_qlog *log;
	char log_error[160];
	int64_t last_prune;
	uint64_t next_open_ms, last_write_ms;
	_Atomic uint32_t retention_days;

	_Atomic uint64_t records, dropped_write, written, expired, evicted, batches, log_bytes;
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
	pthread_mutex_init(&o->lock, NULL);
	pthread_mutex_init(&o->log_lock, NULL);
	ward_obs_configure(o, &boot->query_log);
	if ((boot->web.enabled && !o->top) || !o->baseline) {
		ward_obs_free(o);
		return WARD_ENOMEM;
	}
	*out = o;
	return 0;
}

void ward_obs_set_sink(struct ward_obs *o, ward_obs_block_fn fn, void *ctx)
{
	/* The observer calls the sink under the lock: a web listener that failed to start is
	 * unhooked before it is freed. */
	pthread_mutex_lock(&o->lock);
	o->sink = fn;
	o->sink_ctx = ctx;
	pthread_mutex_unlock(&o->lock);
}

void ward_obs_configure(struct ward_obs *o, const struct ward_conf_query_log *ql)
{
	atomic_store(&o->retention_days, ql->retention_days ? ql->retention_days : 7);
}

/* ---- the observer thread ---------------------------------------------------------------------- */

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
	if (!ward_ring_peek(ring))
		return;
	pthread_mutex_lock(&o->lock);
	for (; n < WARD_RING_SLOTS && (r = ward_ring_peek(ring)); n++) {
		take_block(o, r);
		ward_ring_release(ring);
	}
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
	/* Without a web listener only the day's baseline is left to do: no hurry. */
	pthread_mutex_lock(&o->lock);
	long ms = o->sink || o->top ? WARD_OBS_TICK_MS : 10 * WARD_OBS_TICK_MS;
	pthread_mutex_unlock(&o->lock);
	struct timespec tick = {0, ms * 1000000L};
	while (!atomic_load(&o->stop) && scratch) {
		for (unsigned i = 0; i < o->n_workers; i++)
			if (o->workers[i].records)
				drain_ring(o, o->workers[i].records);
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

/* Time to write: a second since the last write, a ring a quarter full, or the stop. */
static bool write_due(struct ward_obs *o)
{
	if (atomic_load(&o->stop) || mono_ms() - o->last_write_ms >= WARD_OBS_WRITE_MS)
		return true;
	for (unsigned i = 0; i < o->n_workers; i++) {
		struct ward_log_ring *r = o->workers[i].log_ring;
		if (r && ward_log_ring_used(r) >= r->size / 4)
			return true;
	}
	return false;
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

/* Append one span of whole frames, straight from a ring's memory. */
static void write_span(struct ward_obs *o, const uint8_t *p, size_t len, int64_t now)
{
	struct ward_qlog_write st = {.now = now, .retention_days = atomic_load(&o->retention_days)};
	if (!log_ready(o)) {
		atomic_fetch_add(&o->dropped_write, ward_qlog_parse_count(p, len));
		return;
	}
	int rc = ward_qlog_append(o->log, p, len, &st);
	if (rc) {
		size_t n = ward_qlog_parse_count(p, len);
		ward_log_warn("query log: %zu of %zu records could not be written: %s",
			      n - (size_t)st.written, n, ward_strerror(rc));
		atomic_fetch_add(&o->dropped_write, n - st.written);
	}
	count_write(o, &st);
}

/* Every worker's waiting frames to the log (nothing while a test stalls the writer); then
 * retention, when nothing came for a while. */
static void write_rings(struct ward_obs *o)
{
	int64_t now = unix_now(o);
	bool wrote = false;
	o->last_write_ms = mono_ms();
	for (unsigned i = 0; i < o->n_workers && !stalled(o); i++) {
		struct ward_log_ring *ring = o->workers[i].log_ring;
		const uint8_t *p;
		size_t len;
		/* Two spans at most: up to the end of the buffer, then from its start. */
		for (int k = 0; ring && k < 3 && (p = ward_log_ring_peek(ring, &len)); k++) {
			write_span(o, p, len, now);
			ward_log_ring_release(ring, len);
			wrote = true;
		}
	}
	if (wrote)
		o->last_prune = now;
	else if (o->log && now - o->last_prune >= PRUNE_IDLE_S) {
		write_span(o, NULL, 0, now);
		o->last_prune = now;
	}
}

static void *writer_main(void *arg)
{
	struct ward_obs *o = arg;
	struct timespec tick = {0, WARD_OBS_WRITE_TICK_MS * 1000000L};
	o->last_write_ms = mono_ms();
	for (;;) {
		bool stopping = atomic_load(&o->stop);
		if (write_due(o))
			write_rings(o); /* at the stop too: what the workers framed goes */
		if (stopping)
			break;
		nanosleep(&tick, NULL);
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
	if (o->writer_running)
		pthread_join(o->writer, NULL);
	o->writer_running = false;
}

void ward_obs_free(struct ward_obs *o)
{
	if (!o)
		return;
	ward_obs_stop(o);
	ward_qlog_close(o->log);
	ward_top_free(o->top);
	free(o->baseline);
	pthread_mutex_destroy(&o->lock);
	pthread_mutex_destroy(&o->log_lock);
	free(o);
}

/* ---- reading ------------------------------------------------------------------------------------------ */

void ward_obs_counts(struct ward_obs *o, struct ward_obs_counts *c)
{
	memset(c, 0, sizeof(*c));
	c->records = atomic_load(&o->records);
	for (unsigned i = 0; i < o->n_workers; i++)
		if (o->workers[i].log_ring)
			c->dropped_ring += atomic_load(&o->workers[i].log_ring->dropped);
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
	if (rc == 0)
		ward_qlog_name_feeds(r, atomic_load(&o->shared->db));
	return rc;
}
