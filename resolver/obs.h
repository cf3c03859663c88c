/*
 * The observer: everything wardd learns from its queries after they are answered, on two
 * threads of its own so that no DNS worker ever waits for it.
 *
 * - The observer thread empties the workers' block rings (records.h) every
 *   WARD_OBS_TICK_MS: with a web listener, blocks go to its recent-block store (a sink)
 *   and into the top-blocked-names sketch (topnames.h). It also takes the day's baseline
 *   of the counters at local midnight, so "today" is the counters minus it.
 * - The log writer thread takes the frames the workers put in their log rings (each
 *   worker frames its own records, resolver/stats.c) once a second, or sooner when a ring
 *   is a quarter full, and appends them to the query log's segment files with one write,
 *   deleting the files that retention and the size bound say must go. It opens the log on
 *   the first record, so with query_log.mode "off" nothing is ever written.
 *
 * A full ring or a failed write drops records and counts them (struct ward_obs_counts);
 * queries never notice. Readers on other threads (the web listener) use the functions
 * below, which lock what they read.
 */
#ifndef WARD_OBS_H
#define WARD_OBS_H

#include <stdbool.h>
#include <stdint.h>

#include "blocklists/conf.h"
#include "blocklists/qlog.h"
#include "resolver/records.h"
#include "resolver/stats.h"
#include "resolver/topnames.h"

#define WARD_OBS_TICK_MS 10          /* how often the block rings are emptied */
#define WARD_OBS_WRITE_TICK_MS 50    /* how often the writer looks at the log rings */
#define WARD_OBS_WRITE_MS 1000       /* the writer writes at least this often, and sooner
					when a worker's log ring is a quarter full */
#define WARD_OBS_REOPEN_MS 10000     /* after a failed open, the next try */

struct ward_obs;
struct ward_worker;
struct ward_shared;

/* Called on the observer thread for every blocked query's record. */
typedef void (*ward_obs_block_fn)(void *ctx, const struct ward_record *r);

/* @return 0 or WARD_ENOMEM. Nothing runs until ward_obs_start. */
int ward_obs_new(const struct ward_conf *boot, struct ward_shared *shared,
		 struct ward_obs **out);

/* Where blocks go (the web listener's recent blocks); NULL: nowhere. Set before
 * ward_obs_start, and taken away (NULL) any time after. */
void ward_obs_set_sink(struct ward_obs *o, ward_obs_block_fn fn, void *ctx);

/* Start both threads reading the workers' rings. The workers must outlive the observer.
 * @return 0 or WARD_ENOMEM. */
int ward_obs_start(struct ward_obs *o, struct ward_worker *workers, unsigned n_workers);

/* The settings that change on SIGHUP: retention_days (the mode and anonymize_clients
 * travel with each record). Main thread. */
void ward_obs_configure(struct ward_obs *o, const struct ward_conf_query_log *ql);

/* Stop both threads; the writer writes what is queued first. Then free. */
void ward_obs_stop(struct ward_obs *o);
void ward_obs_free(struct ward_obs *o);

/* ---- reading (any thread) ------------------------------------------------------------------ */

struct ward_obs_counts {
	uint64_t records;            /* blocks the observer took for the web listener */
	uint64_t dropped_ring;       /* log records lost to a full log ring (the workers') */
	uint64_t dropped_write;      /* log records lost to a failed write */
	uint64_t written;            /* stored in the query log */
	uint64_t expired, evicted;   /* deleted for retention / for the size bound */
	uint64_t batches;            /* write transactions */
	uint64_t log_bytes, log_max_bytes;  /* the segment files now; query_log.max_mb */
	bool log_open;
	char log_error[160];         /* why the log cannot be written, "" when it can */
};

void ward_obs_counts(struct ward_obs *o, struct ward_obs_counts *c);

/* Top blocked names of the last 24 hours for a slot (-1: every slot), most first.
 * @return how many were written to out. */
size_t ward_obs_top(struct ward_obs *o, int slot, struct ward_top_item *out, size_t cap);

/* Today's counts (since local midnight, or since wardd started if later): the workers'
 * sums minus the day's baseline. Allocates nothing; out is large (~40 KiB). */
void ward_obs_today(struct ward_obs *o, struct ward_stats_sum *out);

/* The workers' stats, for ward_stats_sum() and ward_stats_devices(). */
unsigned ward_obs_stats(struct ward_obs *o, struct ward_stats *per_worker[], unsigned cap);

/* The local day number now (ward_stats_local_day) from the main thread's clocks. */
uint32_t ward_obs_local_day(const struct ward_obs *o);

/*
 * Read the query log (the writer's own environment, or a read-only one when the writer
 * has not opened it yet).
 * @return 0 (r filled: free r->entries), WARD_ENOTFOUND (no log yet), or the failure.
 */
int ward_obs_query(struct ward_obs *o, const struct ward_qlog_filter *f,
		   struct ward_qlog_result *r);

/* Test builds (WARD_TEST_HOOKS) read two variables: while the file $WARD_TEST_QLOG_STALL
 * names exists, the writer takes nothing (a stalled disk), so the log rings fill and
 * records are dropped and counted; $WARD_TEST_QLOG_RING shortens the rings (records.c). */

#endif
