/*
 * GET /metrics: the statistics in the Prometheus text exposition format (version 0.0.4),
 * checked in the tests with `promtool check metrics`.
 *
 * Names follow Prometheus conventions: a `ward_` prefix, base units (seconds, bytes),
 * `_total` on counters, one HELP and TYPE per family. Labels never carry a name or a
 * client address (their number would be unbounded): only verdicts, profiles, categories,
 * upstreams and feeds, all of which the config bounds.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resolver/web_internal.h"

static void family(struct web_buf *b, const char *name, const char *type, const char *help)
{
	web_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: backslash, double quote and newline escaped. */
static void label_value(struct web_buf *b, const char *v)
{
	for (const char *p = v; *p; p++) {
		if (*p == '\\' || *p == '"')
			web_buf_printf(b, "\\%c", *p);
		else if (*p == '\n')
			web_buf_puts(b, "\\n");
		else
			web_buf_put(b, p, 1);
	}
}

/* name{key="value"} value, or name value without a key. */
static void sample1(struct web_buf *b, const char *name, const char *key, const char *value,
		    double v)
{
	web_buf_puts(b, name);
	if (key) {
		web_buf_printf(b, "{%s=\"", key);
		label_value(b, value);
		web_buf_puts(b, "\"}");
	}
	if (isinf(v))
		web_buf_puts(b, v > 0 ? " +Inf\n" : " -Inf\n");
	else
		web_buf_printf(b, " %.17g\n", v);
}

static void queries(struct web_buf *b, const struct ward_web_app *app, const struct web_facts *f)
{
	family(b, "ward_queries_total", "counter",
	       "Queries by what they came to (verdict) and the asking client's profile.");
	for (unsigned s = 0; s < WARD_STATS_SLOTS; s++) {
		if (!ward_stats_sum_queries(f->sum, (int)s))
			continue;
		const char *profile = ward_stats_slot_name(app->shared->slots, s);
		for (unsigned v = 0; v < WARD_VERDICT_COUNT; v++) {
			web_buf_printf(b, "ward_queries_total{verdict=\"%s\",profile=\"",
				       ward_verdict_name(v));
			label_value(b, profile);
			web_buf_printf(b, "\"} %llu\n", (unsigned long long)f->sum->verdicts[s][v]);
		}
	}
	family(b, "ward_blocked_total", "counter",
	       "Blocked queries by category (a name in two blocked categories counts in both).");
	for (unsigned c = 0; c < WARD_CAT_MAX; c++) {
		const char *name = ward_cat_name(f->conf->categories, c);
		uint64_t n = 0;
		for (unsigned s = 0; s < WARD_STATS_SLOTS; s++)
			n += f->sum->categories[s][c];
		if (name && (n || c < WARD_CAT_BUILTIN_COUNT))
			sample1(b, "ward_blocked_total", "category", name, (double)n);
	}
}

static void cache(struct web_buf *b, const struct web_facts *f)
{
	const struct ward_stats_sum *s = f->sum;
	family(b, "ward_cache_hits_total", "counter", "Answer cache lookups that found a fresh answer.");
	sample1(b, "ward_cache_hits_total", NULL, NULL, (double)s->cache_hits);
	family(b, "ward_cache_misses_total", "counter", "Answer cache lookups that found nothing.");
	sample1(b, "ward_cache_misses_total", NULL, NULL, (double)s->cache_misses);
	family(b, "ward_cache_stale_hits_total", "counter",
	       "Expired answers served because no upstream answered (RFC 8767).");
	sample1(b, "ward_cache_stale_hits_total", NULL, NULL, (double)s->cache_stale);
	family(b, "ward_cache_evictions_total", "counter", "Cached answers evicted to make room.");
	sample1(b, "ward_cache_evictions_total", NULL, NULL, (double)s->cache_evictions);
	family(b, "ward_cache_entries", "gauge", "Answers in the cache.");
	sample1(b, "ward_cache_entries", NULL, NULL, (double)s->cache_entries);
	family(b, "ward_cache_bytes", "gauge", "Bytes of the answers in the cache.");
	sample1(b, "ward_cache_bytes", NULL, NULL, (double)s->cache_bytes);
}

static void upstream_counter(struct web_buf *b, const struct ward_web_app *app,
			     const struct web_facts *f, const char *name, const char *help,
			     size_t offset)
{
	char addr[64];
	family(b, name, "counter", help);
	for (unsigned i = 0; i < f->sum->n_upstreams && i < app->boot->n_upstreams; i++) {
		const uint64_t *v = (const uint64_t *)((const char *)&f->sum->upstreams[i] + offset);
		sample1(b, name, "upstream", ward_addr_format(&app->boot->upstreams[i], addr,
							       sizeof(addr)), (double)*v);
	}
}

static void rtt_histogram(struct web_buf *b, const char *addr,
			  const struct ward_stats_sum_upstream *u)
{
	uint64_t cum = 0;
	for (unsigned k = 0; k < WARD_UPSTREAM_RTT_BUCKETS; k++) {
		cum += u->rtt[k];
		web_buf_puts(b, "ward_upstream_rtt_seconds_bucket{upstream=\"");
		label_value(b, addr);
		if (k + 1 < WARD_UPSTREAM_RTT_BUCKETS)
			web_buf_printf(b, "\",le=\"%g\"} %llu\n", ward_upstream_rtt_le_ms[k] / 1000.0,
				       (unsigned long long)cum);
		else
			web_buf_printf(b, "\",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
	}
	web_buf_puts(b, "ward_upstream_rtt_seconds_sum{upstream=\"");
	label_value(b, addr);
	web_buf_printf(b, "\"} %.3f\n", (double)u->rtt_sum_ms / 1000.0);
	web_buf_puts(b, "ward_upstream_rtt_seconds_count{upstream=\"");
	label_value(b, addr);
	web_buf_printf(b, "\"} %llu\n", (unsigned long long)cum);
}

static void upstreams(struct web_buf *b, const struct ward_web_app *app,
		      const struct web_facts *f)
{
	char addr[64];
	unsigned n = f->sum->n_upstreams < app->boot->n_upstreams ? f->sum->n_upstreams
								  : (unsigned)app->boot->n_upstreams;
	upstream_counter(b, app, f, "ward_upstream_queries_total", "Tries sent to the upstream.",
			 offsetof(struct ward_stats_sum_upstream, queries));
	upstream_counter(b, app, f, "ward_upstream_answers_total", "Answers from the upstream.",
			 offsetof(struct ward_stats_sum_upstream, answers));
	upstream_counter(b, app, f, "ward_upstream_timeouts_total",
			 "Tries the upstream did not answer in time.",
			 offsetof(struct ward_stats_sum_upstream, timeouts));
	upstream_counter(b, app, f, "ward_upstream_failures_total",
			 "Failures held against the upstream (see upstream.h).",
			 offsetof(struct ward_stats_sum_upstream, failures));
	family(b, "ward_upstream_up", "gauge",
	       "1 when no worker considers the upstream down, else 0.");
	for (unsigned i = 0; i < n; i++)
		sample1(b, "ward_upstream_up", "upstream",
			ward_addr_format(&app->boot->upstreams[i], addr, sizeof(addr)),
			f->sum->upstreams[i].down ? 0 : 1);
	family(b, "ward_upstream_rtt_seconds", "histogram", "Round-trip time of upstream answers.");
	for (unsigned i = 0; i < n; i++)
		rtt_histogram(b, ward_addr_format(&app->boot->upstreams[i], addr, sizeof(addr)),
			      &f->sum->upstreams[i]);
}

static void feeds(struct web_buf *b, const struct web_facts *f)
{
	family(b, "ward_feed_entries", "gauge", "Entries in the feed's last good copy.");
	for (size_t i = 0; i < f->n_feeds; i++)
		sample1(b, "ward_feed_entries", "feed", f->feeds[i].name,
			(double)f->feeds[i].entries);
	family(b, "ward_feed_age_seconds", "gauge",
	       "Seconds since the feed's last good download (+Inf: never).");
	for (size_t i = 0; i < f->n_feeds; i++)
		sample1(b, "ward_feed_age_seconds", "feed", f->feeds[i].name,
			f->feeds[i].last_good ? (double)(f->now - f->feeds[i].last_good) : INFINITY);
	family(b, "ward_feed_failing", "gauge",
	       "1 when the feed's last download failed (its last good copy is in use), else 0.");
	for (size_t i = 0; i < f->n_feeds; i++)
		sample1(b, "ward_feed_failing", "feed", f->feeds[i].name,
			f->feeds[i].last_error[0] ? 1 : 0);
}

static void database(struct web_buf *b, const struct web_facts *f)
{
	family(b, "ward_database_generation", "gauge", "Builds of the category database so far.");
	sample1(b, "ward_database_generation", NULL, NULL, f->has_meta ? (double)f->meta.generation : 0);
	family(b, "ward_database_names", "gauge", "Names in the category database.");
	sample1(b, "ward_database_names", NULL, NULL, f->has_meta ? (double)f->meta.domains : 0);
	family(b, "ward_database_built_timestamp_seconds", "gauge",
	       "When the category database was last built (unix time).");
	sample1(b, "ward_database_built_timestamp_seconds", NULL, NULL,
		f->has_meta ? (double)f->meta.built_at : 0);
	family(b, "ward_reports_pending", "gauge", "Reports waiting for a parent's review.");
	sample1(b, "ward_reports_pending", NULL, NULL, (double)f->reports_pending);
	family(b, "ward_overrides", "gauge", "Overrides in force (allow, deny, pause).");
	sample1(b, "ward_overrides", NULL, NULL, (double)f->overrides);
}

static void query_log(struct web_buf *b, const struct web_facts *f)
{
	const struct ward_obs_counts *c = &f->obs;
	family(b, "ward_query_log_written_total", "counter", "Records stored in the query log.");
	sample1(b, "ward_query_log_written_total", NULL, NULL, (double)c->written);
	family(b, "ward_query_log_dropped_total", "counter",
	       "Records lost, never queries: a full worker log ring, a failed write.");
	sample1(b, "ward_query_log_dropped_total", "stage", "ring", (double)c->dropped_ring);
	sample1(b, "ward_query_log_dropped_total", "stage", "write", (double)c->dropped_write);
	family(b, "ward_query_log_deleted_total", "counter",
	       "Records deleted: older than retention_days, or to stay within max_mb.");
	sample1(b, "ward_query_log_deleted_total", "reason", "retention", (double)c->expired);
	sample1(b, "ward_query_log_deleted_total", "reason", "size", (double)c->evicted);
	family(b, "ward_query_log_bytes", "gauge", "Bytes the query log's segment files take.");
	sample1(b, "ward_query_log_bytes", NULL, NULL, (double)c->log_bytes);
	family(b, "ward_query_log_max_bytes", "gauge", "The most the query log may take (max_mb).");
	sample1(b, "ward_query_log_max_bytes", NULL, NULL, (double)c->log_max_bytes);
}

static void process(struct web_buf *b, const struct ward_web_app *app, const struct web_facts *f)
{
	struct ward_stats *per[64];
	struct ward_device *d = NULL;
	int n = 0;
	if (app->obs)
		n = ward_stats_devices(per, ward_obs_stats(app->obs, per, 64),
				       ward_obs_local_day(app->obs), &d);
	free(d);
	family(b, "ward_devices", "gauge", "Devices the workers remember (see stats.h).");
	sample1(b, "ward_devices", NULL, NULL, n > 0 ? n : 0);
	family(b, "ward_devices_evicted_total", "counter",
	       "Devices forgotten to make room for new ones.");
	sample1(b, "ward_devices_evicted_total", NULL, NULL, (double)f->sum->devices_evicted);
	family(b, "ward_proxy_invalid_total", "counter",
	       "Datagrams and connections from trusted_proxies dropped: no valid PROXY v2 header.");
	sample1(b, "ward_proxy_invalid_total", NULL, NULL, (double)f->sum->proxy_invalid);
	family(b, "ward_build_info", "gauge", "Always 1; the version in a label.");
	sample1(b, "ward_build_info", "version", app->version, 1);
	family(b, "ward_start_time_seconds", "gauge", "When wardd started (unix time).");
	sample1(b, "ward_start_time_seconds", NULL, NULL, (double)app->started);
	family(b, "ward_web_requests_total", "counter", "HTTP requests the web listener answered.");
	sample1(b, "ward_web_requests_total", NULL, NULL, (double)app->requests);
}

void web_metrics(struct ward_web_app *app, struct ward_web_response *resp)
{
	struct web_facts f;
	if (!web_facts_gather(app, &f)) {
		resp->status = 503;
		resp->content_type = "text/plain; charset=utf-8";
		web_buf_puts(&resp->body, "wardd is starting\n");
		return;
	}
	struct web_buf *b = &resp->body;
	resp->status = 200;
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	queries(b, app, &f);
	cache(b, &f);
	upstreams(b, app, &f);
	feeds(b, &f);
	database(b, &f);
	query_log(b, &f);
	process(b, app, &f);
	web_facts_free(&f);
}
