/*
 * What wardd has seen, for the parent and the operator (docs/api.md): GET /api/v1/stats
 * (counters, today, devices, top blocked names, cache, upstreams, feeds, the query log)
 * and GET /api/v1/log (the query log, filtered). Both need the admin token. /metrics
 * (metrics.c) reads the same facts.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blocklists/admin.h"
#include "blocklists/error.h"
#include "blocklists/leases.h"
#include "blocklists/reports.h"
#include "resolver/obs.h"
#include "resolver/web_internal.h"

#define TOP_DEFAULT 10
#define TOP_MAX 100
#define DEVICES_MAX 1000
#define LOG_DEFAULT 200
#define LOG_MAX 2000     /* entries per answer: about 600 KiB of JSON, under WARD_WEB_PAGE_MAX */

/* ---- the facts both /api/v1/stats and /metrics show ------------------------------------------ */

static void gather_feeds(const struct ward_conf *conf, struct ward_catdb *db,
			 struct web_facts *f)
{
	f->feeds = conf->n_feeds ? calloc(conf->n_feeds, sizeof(*f->feeds)) : NULL;
	for (size_t i = 0; f->feeds && i < conf->n_feeds; i++) {
		struct ward_catdb_feed_state *st = &f->feeds[f->n_feeds++];
		if (!db || ward_catdb_feed_get(db, conf->feeds[i].name, st) != 0) {
			memset(st, 0, sizeof(*st));
			snprintf(st->name, sizeof(st->name), "%s", conf->feeds[i].name);
		}
	}
}

bool web_facts_gather(struct ward_web_app *app, struct web_facts *f)
{
	struct ward_report *reports;
	size_t n;
	memset(f, 0, sizeof(*f));
	if (!app->ps)
		return false;
	f->conf = app->ps->conf;
	f->now = atomic_load(&app->shared->unix_now);
	f->sum = calloc(1, sizeof(*f->sum));
	f->today = calloc(1, sizeof(*f->today));
	if (!f->sum || !f->today) {
		web_facts_free(f);
		return false;
	}
	struct ward_stats *per[64];
	unsigned nw = 0;
	for (; nw < app->n_workers && nw < 64; nw++)
		per[nw] = app->workers[nw].qstats;
	ward_stats_sum(per, nw, f->sum);
	if (app->obs) {
		ward_obs_today(app->obs, f->today);
		ward_obs_counts(app->obs, &f->obs);
	}
	struct ward_catdb *db = atomic_load(&app->shared->db);
	f->has_meta = db && ward_catdb_meta_get(db, &f->meta) == 0;
	gather_feeds(f->conf, db, f);
	if (db && ward_reports_list(db, NULL, &reports, &n) == 0) {
		for (size_t i = 0; i < n; i++)
			f->reports_pending += reports[i].status == WARD_REPORT_PENDING;
		free(reports);
	}
	f->overrides = ward_override_table_count(app->ov ? app->ov->table : NULL);
	return true;
}

void web_facts_free(struct web_facts *f)
{
	free(f->sum);
	free(f->today);
	free(f->feeds);
	memset(f, 0, sizeof(*f));
}

/* ---- GET /api/v1/stats ------------------------------------------------------------------------- */

static cJSON *verdict_object(const uint64_t *by_verdict)
{
	cJSON *o = cJSON_CreateObject();
	for (unsigned v = 0; v < WARD_VERDICT_COUNT; v++)
		cJSON_AddNumberToObject(o, ward_verdict_name(v), (double)by_verdict[v]);
	return o;
}

static cJSON *category_object(const struct ward_conf *conf, const uint64_t *by_cat)
{
	cJSON *o = cJSON_CreateObject();
	for (unsigned c = 0; c < WARD_CAT_MAX; c++) {
		const char *name = ward_cat_name(conf->categories, c);
		if (by_cat[c] && name)
			cJSON_AddNumberToObject(o, name, (double)by_cat[c]);
	}
	return o;
}

/* Counts of one slot (slot < 0: every slot) from a sum. */
static void add_counts(cJSON *o, const struct ward_conf *conf, const struct ward_stats_sum *s,
		       int slot)
{
	uint64_t v[WARD_VERDICT_COUNT] = {0}, c[WARD_CAT_MAX] = {0};
	for (unsigned i = 0; i < WARD_STATS_SLOTS; i++) {
		if (slot >= 0 && (unsigned)slot != i)
			continue;
		for (unsigned k = 0; k < WARD_VERDICT_COUNT; k++)
			v[k] += s->verdicts[i][k];
		for (unsigned k = 0; k < WARD_CAT_MAX; k++)
			c[k] += s->categories[i][k];
	}
	uint64_t total = 0;
	for (unsigned k = 0; k < WARD_VERDICT_COUNT; k++)
		total += v[k];
	cJSON_AddNumberToObject(o, "queries", (double)total);
	cJSON_AddNumberToObject(o, "blocked", (double)v[WARD_VERDICT_BLOCKED]);
	cJSON_AddItemToObject(o, "by_verdict", verdict_object(v));
	cJSON_AddItemToObject(o, "by_category", category_object(conf, c));
}

static cJSON *top_array(struct ward_web_app *app, int slot, size_t cap)
{
	cJSON *arr = cJSON_CreateArray();
	struct ward_top_item *items = app->obs ? calloc(cap, sizeof(*items)) : NULL;
	size_t n = items ? ward_obs_top(app->obs, slot, items, cap) : 0;
	char text[WARD_NAME_TEXT_MAX];
	for (size_t i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();
		ward_name_to_text(items[i].name, text, sizeof(text));
		cJSON_AddStringToObject(o, "name", text);
		cJSON_AddNumberToObject(o, "count", (double)items[i].count);
		cJSON_AddNumberToObject(o, "error", (double)items[i].error);
		cJSON_AddItemToArray(arr, o);
	}
	free(items);
	return arr;
}

/* Every profile slot the config names, and the ones that counted something before. */
static cJSON *profiles_array(struct ward_web_app *app, const struct web_facts *f, size_t top)
{
	cJSON *arr = cJSON_CreateArray();
	const struct ward_stats_slots *slots = app->shared->slots;
	for (unsigned i = 0; i < WARD_STATS_SLOTS; i++) {
		const char *name = slots ? ward_stats_slot_name(slots, i) : "";
		bool configured = false;
		for (size_t p = 0; p < f->conf->n_profiles && !configured; p++)
			configured = strcmp(f->conf->profiles[p].name, name) == 0;
		if (!configured && !ward_stats_sum_queries(f->sum, (int)i))
			continue;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", name);
		cJSON_AddBoolToObject(o, "configured", configured);
		add_counts(o, f->conf, f->sum, (int)i);
		cJSON *today = cJSON_AddObjectToObject(o, "today");
		add_counts(today, f->conf, f->today, (int)i);
		cJSON_AddItemToObject(o, "top_blocked", top_array(app, (int)i, top));
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static void add_device_cats(cJSON *o, const struct ward_conf *conf, const struct ward_device *d)
{
	cJSON *c = cJSON_AddObjectToObject(o, "blocked_today_by_category");
	for (unsigned i = 0; i < d->n_cats; i++) {
		const char *name = ward_cat_name(conf->categories, d->cats[i].category);
		if (name)
			cJSON_AddNumberToObject(c, name, (double)d->cats[i].count);
	}
}

static cJSON *device_json(struct ward_web_app *app, const struct ward_conf *conf,
			  const struct ward_device *d, const struct ward_lease *lease)
{
	char text[64];
	cJSON *o = cJSON_CreateObject();
	const char *name = web_device_name(conf, d, lease);
	cJSON_AddStringToObject(o, "address", ward_qlog_client_text(d->addr, text, sizeof(text)));
	if (d->has_mac) {
		snprintf(text, sizeof(text), "%02x:%02x:%02x:%02x:%02x:%02x", d->mac[0], d->mac[1],
			 d->mac[2], d->mac[3], d->mac[4], d->mac[5]);
		cJSON_AddStringToObject(o, "mac", text);
	}
	if (name)
		cJSON_AddStringToObject(o, "name", name);
	else
		cJSON_AddNullToObject(o, "name");
	cJSON_AddStringToObject(o, "profile", app->shared->slots
				? ward_stats_slot_name(app->shared->slots, d->slot) : "");
	cJSON_AddNumberToObject(o, "first_seen", (double)d->first_seen);
	cJSON_AddNumberToObject(o, "last_seen", (double)d->last_seen);
	cJSON_AddNumberToObject(o, "queries_today", (double)d->queries_today);
	cJSON_AddNumberToObject(o, "blocked_today", (double)d->blocked_today);
	cJSON_AddNumberToObject(o, "queries", (double)d->queries);
	cJSON_AddNumberToObject(o, "blocked", (double)d->blocked);
	add_device_cats(o, conf, d);
	return o;
}

static cJSON *devices_array(struct ward_web_app *app, const struct ward_conf *conf)
{
	cJSON *arr = cJSON_CreateArray();
	struct ward_stats *per[64];
	struct ward_device *d = NULL;
	struct ward_lease *leases = NULL;
	size_t n_leases = 0;
	if (!app->obs)
		return arr;
	/* Names as in the device list (GET /api/v1/devices): the DHCP host names too. */
	if (conf->dhcp_leases && ward_leases_load(conf->dhcp_leases, &leases, &n_leases) != 0)
		n_leases = 0;
	int64_t now = atomic_load(&app->shared->unix_now);
	unsigned nw = ward_obs_stats(app->obs, per, 64);
	int n = ward_stats_devices(per, nw, ward_obs_local_day(app->obs), &d);
	for (int i = 0; i < n && i < DEVICES_MAX; i++)
		cJSON_AddItemToArray(arr, device_json(app, conf, &d[i],
						      web_device_lease(leases, n_leases, now, &d[i])));
	free(d);
	free(leases);
	return arr;
}

static cJSON *cache_object(const struct ward_stats_sum *s)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "hits", (double)s->cache_hits);
	cJSON_AddNumberToObject(o, "misses", (double)s->cache_misses);
	cJSON_AddNumberToObject(o, "stale_hits", (double)s->cache_stale);
	cJSON_AddNumberToObject(o, "entries", (double)s->cache_entries);
	cJSON_AddNumberToObject(o, "bytes", (double)s->cache_bytes);
	cJSON_AddNumberToObject(o, "evictions", (double)s->cache_evictions);
	return o;
}

static cJSON *upstreams_array(const struct ward_conf *boot, const struct ward_stats_sum *s)
{
	cJSON *arr = cJSON_CreateArray();
	char text[64];
	for (unsigned i = 0; i < s->n_upstreams && i < boot->n_upstreams; i++) {
		const struct ward_stats_sum_upstream *u = &s->upstreams[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "address",
					ward_addr_format(&boot->upstreams[i], text, sizeof(text)));
		cJSON_AddNumberToObject(o, "queries", (double)u->queries);
		cJSON_AddNumberToObject(o, "answers", (double)u->answers);
		cJSON_AddNumberToObject(o, "timeouts", (double)u->timeouts);
		cJSON_AddNumberToObject(o, "failures", (double)u->failures);
		cJSON_AddNumberToObject(o, "srtt_ms", (double)u->srtt_ms_max);
		cJSON_AddNumberToObject(o, "rtt_avg_ms", u->answers ? (double)u->rtt_sum_ms /
								       (double)u->answers : 0);
		cJSON_AddBoolToObject(o, "down", u->down > 0);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static cJSON *feeds_array(const struct web_facts *f)
{
	cJSON *arr = cJSON_CreateArray();
	char cats[512];
	for (size_t i = 0; i < f->n_feeds; i++) {
		const struct ward_catdb_feed_state *st = &f->feeds[i];
		const struct ward_conf_feed *cf = &f->conf->feeds[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", st->name);
		cJSON_AddBoolToObject(o, "enabled", cf->enabled);
		ward_cat_format(f->conf->categories, cf->categories, cats, sizeof(cats));
		cJSON_AddStringToObject(o, "categories", cats);
		cJSON_AddNumberToObject(o, "entries", (double)st->entries);
		if (st->last_good) {
			cJSON_AddNumberToObject(o, "last_good", (double)st->last_good);
			cJSON_AddNumberToObject(o, "age_s", (double)(f->now - st->last_good));
		} else {
			cJSON_AddNullToObject(o, "last_good");
			cJSON_AddNullToObject(o, "age_s");
		}
		cJSON_AddNumberToObject(o, "last_attempt", (double)st->last_attempt);
		cJSON_AddNumberToObject(o, "refresh_s", (double)cf->refresh_s);
		cJSON_AddStringToObject(o, "last_error", st->last_error);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static cJSON *query_log_object(const struct web_facts *f)
{
	static const char *const modes[] = {"off", "blocked", "all"};
	const struct ward_conf_query_log *ql = &f->conf->query_log;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "mode", modes[ql->mode <= WARD_QLOG_ALL ? ql->mode : 0]);
	cJSON_AddNumberToObject(o, "retention_days", ql->retention_days);
	cJSON_AddBoolToObject(o, "anonymize_clients", ql->anonymize_clients);
	cJSON_AddBoolToObject(o, "open", f->obs.log_open);
	cJSON_AddNumberToObject(o, "bytes", (double)f->obs.log_bytes);
	cJSON_AddNumberToObject(o, "max_bytes", (double)f->obs.log_max_bytes);
	cJSON_AddNumberToObject(o, "written", (double)f->obs.written);
	cJSON *d = cJSON_AddObjectToObject(o, "dropped");
	cJSON_AddNumberToObject(d, "ring", (double)f->obs.dropped_ring);
	cJSON_AddNumberToObject(d, "write", (double)f->obs.dropped_write);
	cJSON_AddNumberToObject(o, "expired", (double)f->obs.expired);
	cJSON_AddNumberToObject(o, "evicted", (double)f->obs.evicted);
	cJSON_AddStringToObject(o, "error", f->obs.log_error);
	return o;
}

static size_t top_param(const struct ward_web_request *req)
{
	const char *t = req->arg ? req->arg(req->arg_ctx, "top") : NULL;
	long n = t ? strtol(t, NULL, 10) : TOP_DEFAULT;
	return n < 1 ? 1 : n > TOP_MAX ? TOP_MAX : (size_t)n;
}

void web_api_stats(struct ward_web_app *app, const struct ward_web_request *req,
		   struct ward_web_response *resp)
{
	struct web_facts f;
	if (!web_facts_gather(app, &f)) {
		web_json_error(resp, 503, "wardd is starting");
		return;
	}
	size_t top = top_param(req);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "time", (double)f.now);
	cJSON_AddNumberToObject(o, "uptime_s", (double)(f.now - app->started));
	add_counts(cJSON_AddObjectToObject(o, "total"), f.conf, f.sum, -1);
	add_counts(cJSON_AddObjectToObject(o, "today"), f.conf, f.today, -1);
	cJSON_AddItemToObject(o, "profiles", profiles_array(app, &f, top));
	cJSON_AddItemToObject(o, "top_blocked", top_array(app, -1, top));
	cJSON_AddItemToObject(o, "devices", devices_array(app, f.conf));
	cJSON_AddItemToObject(o, "cache", cache_object(f.sum));
	cJSON_AddItemToObject(o, "upstreams", upstreams_array(app->boot, f.sum));
	cJSON_AddItemToObject(o, "feeds", feeds_array(&f));
	cJSON *db = cJSON_AddObjectToObject(o, "database");
	cJSON_AddNumberToObject(db, "generation", f.has_meta ? (double)f.meta.generation : 0);
	cJSON_AddNumberToObject(db, "domains", f.has_meta ? (double)f.meta.domains : 0);
	cJSON_AddNumberToObject(db, "built_at", f.has_meta ? (double)f.meta.built_at : 0);
	cJSON_AddNumberToObject(o, "reports_pending", (double)f.reports_pending);
	cJSON_AddNumberToObject(o, "overrides", (double)f.overrides);
	cJSON_AddItemToObject(o, "query_log", query_log_object(&f));
	web_facts_free(&f);
	web_json(resp, 200, o);
}

/* ---- GET /api/v1/log ----------------------------------------------------------------------------- */

/* "1h", "30m", "2d" (that long ago) or unix seconds. @return false when neither. */
static bool parse_since(const char *text, int64_t now, int64_t *out)
{
	char *end;
	long long v = strtoll(text, &end, 10);
	if (*text && *end == '\0' && v >= 0) {
		*out = v >= 1000000000 ? v : now - v; /* a time, or seconds ago */
		return true;
	}
	uint64_t s;
	if (ward_admin_parse_duration(text, &s) != 0)
		return false;
	*out = now - (int64_t)s;
	return true;
}

static bool bad(struct ward_web_response *resp, const char *why)
{
	web_json_error(resp, 400, "%s", why);
	return false;
}

/* The filter from the query string, or false with a 400 written. */
static bool log_filter(struct ward_web_app *app, const struct ward_web_request *req,
		       struct ward_qlog_filter *f, struct ward_web_response *resp)
{
	const char *client = req->arg(req->arg_ctx, "client");
	const char *since = req->arg(req->arg_ctx, "since");
	const char *until = req->arg(req->arg_ctx, "until");
	const char *verdict = req->arg(req->arg_ctx, "verdict");
	const char *limit = req->arg(req->arg_ctx, "limit");
	int64_t now = atomic_load(&app->shared->unix_now);
	memset(f, 0, sizeof(*f));
	f->verdict = -1;
	f->limit = LOG_DEFAULT;
	f->profile = req->arg(req->arg_ctx, "profile");
	if (client && *client && ward_qlog_client_parse(client, f->client) != 0)
		return bad(resp, "client: an IP address");
	f->has_client = client && *client;
	if (since && *since && !parse_since(since, now, &f->since))
		return bad(resp, "since: a duration (30m, 1h, 2d) or unix seconds");
	if (until && *until && !parse_since(until, now, &f->until))
		return bad(resp, "until: a duration (30m, 1h, 2d) or unix seconds");
	if (verdict && *verdict && (f->verdict = ward_verdict_parse(verdict)) < 0)
		return bad(resp, "verdict: forwarded, cached, blocked, rewritten, refused, "
			   "servfail, invalid, local or dropped");
	if (limit && *limit) {
		char *end;
		long n = strtol(limit, &end, 10);
		if (*end || n < 1 || n > LOG_MAX)
			return bad(resp, "limit: a number from 1 to 2000");
		f->limit = (size_t)n;
	}
	/* Nothing older than retention_days, even from a segment not deleted yet. */
	int64_t oldest = now - (int64_t)app->ps->conf->query_log.retention_days * 86400;
	if (f->since < oldest)
		f->since = oldest;
	return true;
}

static const char *no_arg(void *ctx, const char *key)
{
	return NULL;
}

void web_api_log(struct ward_web_app *app, const struct ward_web_request *req,
		 struct ward_web_response *resp)
{
	struct ward_qlog_filter f;
	struct ward_qlog_result r;
	struct ward_web_request q = *req;
	if (!q.arg)
		q.arg = no_arg;
	if (!app->ps || !app->obs) {
		web_json_error(resp, 503, "wardd is starting");
		return;
	}
	if (!log_filter(app, &q, &f, resp))
		return;
	int rc = ward_obs_query(app->obs, &f, &r);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "mode", app->ps->conf->query_log.mode == WARD_QLOG_ALL ? "all"
					   : app->ps->conf->query_log.mode == WARD_QLOG_OFF ? "off"
											    : "blocked");
	cJSON *arr = cJSON_AddArrayToObject(o, "entries");
	if (rc == 0) {
		for (size_t i = 0; i < r.n; i++)
			cJSON_AddItemToArray(arr, ward_qlog_entry_json(&r.entries[i],
								       app->ps->conf->categories));
		cJSON_AddBoolToObject(o, "truncated", r.truncated);
		free(r.entries);
	} else if (rc != WARD_ENOTFOUND) {
		cJSON_Delete(o);
		web_json_error(resp, 500, "the query log cannot be read: %s", ward_strerror(rc));
		return;
	}
	web_json(resp, 200, o);
}
