/*
 * Statistics (resolver/stats.h) without sockets: ward_stats_query() on a worker struct
 * built here, as the query path calls it. Counters by verdict, profile slot and category
 * match a known mix exactly and add up to the queries; profile slots survive a reload
 * that reorders profiles; the device table merges workers, keys trusted MACs, resets its
 * "today" at local midnight, stays within its rows under a flood of addresses, and names
 * devices from clients[].name; records reach the ring as query_log.mode says.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "blocklists/conf.h"
#include "resolver/records.h"
#include "resolver/stats.h"
#include "resolver/worker.h"

#define NOW 1800000000 /* 2027-01-15 08:00:00 UTC */

struct fixture {
	struct ward_conf *conf;
	struct ward_stats_slots slots;
	struct ward_shared shared;
	struct ward_policy_state ps;
	struct ward_worker w[2];
};

static struct ward_conf *parse(const char *json)
{
	struct ward_conf *c;
	char err[WARD_CONF_ERR_MAX];
	if (ward_conf_parse("stats.json", json, strlen(json), &c, err, sizeof(err)))
		fail_msg("%s", err);
	return c;
}

static const char *CONF_JSON =
	"{\"upstreams\": [\"192.0.2.53\"], \"trusted_forwarders\": [\"10.0.0.1\"],"
	" \"profiles\": {\"kids\": {\"preset\": \"child\"}, \"adults\": {\"preset\": \"adult\"}},"
	" \"clients\": [{\"match\": \"10.0.0.9\", \"profile\": \"adults\", \"name\": \"Dad's laptop\"},"
	" {\"match\": \"10.0.0.0/24\", \"profile\": \"kids\", \"name\": \"home\"},"
	" {\"match\": \"aa:bb:cc:dd:ee:01\", \"profile\": \"kids\", \"name\": \"Emma's tablet\"}],"
	" \"default_profile\": \"kids\", \"query_log\": {\"mode\": \"blocked\"}}";

static void worker_init(struct fixture *f, struct ward_worker *w, unsigned id)
{
	memset(w, 0, sizeof(*w));
	w->id = id;
	w->conf = f->conf;
	w->ps = &f->ps;
	w->shared = &f->shared;
	w->qstats = ward_stats_new();
	w->records = ward_ring_new();
	w->log_ring = ward_log_ring_new(64 * 1024);
	assert_non_null(w->qstats);
	assert_non_null(w->records);
	assert_non_null(w->log_ring);
	w->local_time.unix_s = NOW;
	w->local_time.minute = 9 * 60; /* UTC+1 */
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->conf = parse(CONF_JSON);
	ward_stats_slots_init(&f->slots);
	f->shared.slots = &f->slots;
	f->ps.conf = f->conf;
	f->ps.generation = 1;
	f->ps.stat_slots = ward_stats_slots_map(&f->slots, f->conf);
	for (unsigned i = 0; i < 2; i++)
		worker_init(f, &f->w[i], i);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	for (unsigned i = 0; i < 2; i++) {
		ward_stats_free(f->w[i].qstats);
		ward_ring_free(f->w[i].records);
		ward_log_ring_free(f->w[i].log_ring);
	}
	free(f->ps.stat_slots);
	ward_conf_free(f->conf);
	free(f);
	return 0;
}

/* A query context from `ip` for `name` (dotted), profile index `profile`. */
static struct ward_query_ctx ctx_for(const char *ip, const char *name, size_t profile)
{
	struct ward_query_ctx c;
	memset(&c, 0, sizeof(c));
	c.profile = profile;
	struct sockaddr_in *sin = &c.client.addr.v4;
	sin->sin_family = AF_INET;
	assert_int_equal(1, inet_pton(AF_INET, ip, &sin->sin_addr));
	c.client.addr.len = sizeof(*sin);
	c.q.has_question = true;
	c.q.qtype = 1;
	size_t o = 0;
	for (const char *p = name; *p;) {
		size_t n = strcspn(p, ".");
		c.q.lname[o++] = (uint8_t)n;
		memcpy(c.q.lname + o, p, n);
		o += n;
		p += n + (p[n] == '.');
	}
	c.q.lname[o++] = 0;
	c.q.qname_len = (uint16_t)o;
	return c;
}

static struct ward_policy_verdict block_of(ward_catset cats)
{
	struct ward_policy_verdict v;
	memset(&v, 0, sizeof(v));
	v.action = WARD_POLICY_BLOCK;
	v.reason = WARD_REASON_CATEGORY;
	v.categories = cats;
	return v;
}

static size_t drain(struct ward_worker *w, struct ward_record *out, size_t cap)
{
	size_t n = 0;
	struct ward_record r;
	while (ward_ring_pop(w->records, &r))
		if (n < cap)
			out[n++] = r;
	return n;
}

struct logged {
	struct ward_qlog_entry e[8];
	size_t n;
};

static void keep(void *ctx, const struct ward_qlog_entry *e)
{
	struct logged *l = ctx;
	if (l->n < 8)
		l->e[l->n++] = *e;
}

/* What the worker framed for the query log since the last look, as the writer takes it:
 * whole frames in place, a span at a time. */
static size_t logged(struct ward_worker *w, struct logged *l)
{
	const uint8_t *p;
	size_t len;
	l->n = 0;
	while ((p = ward_log_ring_peek(w->log_ring, &len))) {
		assert_int_equal(ward_qlog_parse(p, len, keep, l), len);
		ward_log_ring_release(w->log_ring, len);
	}
	return l->n;
}

/* Frames never wrap: one that does not fit before the end starts again at the front,
 * and the consumer sees whole frames only, in order. */
static void test_log_ring_wraps_whole_frames(void **state)
{
	struct ward_log_ring *ring = ward_log_ring_new(512);
	uint8_t frame[200];
	unsigned seen = 0, next = 0;
	for (unsigned round = 0; round < 50; round++) {
		for (unsigned k = 0; k < 2; k++) {
			size_t n = 60 + (round * 37 + k * 11) % 130;
			uint8_t *at = ward_log_ring_reserve(ring, n);
			assert_non_null(at); /* the consumer keeps up: there is room */
			memset(frame, (int)(next++ & 0xFF), n);
			frame[0] = (uint8_t)((n - 2) >> 8);
			frame[1] = (uint8_t)(n - 2);
			memcpy(at, frame, n);
			ward_log_ring_commit(ring, n);
		}
		const uint8_t *p;
		size_t len;
		while ((p = ward_log_ring_peek(ring, &len))) {
			for (size_t o = 0; o < len; o += (size_t)(p[o] << 8 | p[o + 1]) + 2) {
				assert_int_equal(p[o + 2], seen & 0xFF);
				seen++;
			}
			ward_log_ring_release(ring, len);
		}
	}
	assert_int_equal(seen, 100);
	assert_int_equal(atomic_load(&ring->dropped), 0);
	ward_log_ring_free(ring);
}

static void test_counters_match_mix(void **state)
{
	struct fixture *f = *state;
	struct ward_policy_verdict gamble = block_of(WARD_CAT(WARD_CAT_GAMBLING));
	struct ward_policy_verdict two = block_of(WARD_CAT(WARD_CAT_ADULT) |
						  WARD_CAT(WARD_CAT_DATING));
	/* kids = profile 0, adults = profile 1 */
	for (int i = 0; i < 7; i++) {
		struct ward_query_ctx c = ctx_for("10.0.0.20", "casino.example", 0);
		ward_stats_query(&f->w[i % 2], &c, WARD_VERDICT_BLOCKED, 0, &gamble);
	}
	for (int i = 0; i < 3; i++) {
		struct ward_query_ctx c = ctx_for("10.0.0.20", "date.example", 0);
		ward_stats_query(&f->w[0], &c, WARD_VERDICT_BLOCKED, 0, &two);
	}
	for (int i = 0; i < 11; i++) {
		struct ward_query_ctx c = ctx_for("10.0.0.9", "news.example", 1);
		ward_stats_query(&f->w[i % 2], &c, i < 4 ? WARD_VERDICT_CACHED
							: WARD_VERDICT_FORWARDED, 0, NULL);
	}
	struct ward_query_ctx c = ctx_for("192.0.2.1", "x.example", (size_t)-1);
	ward_stats_query(&f->w[1], &c, WARD_VERDICT_REFUSED, 5, NULL);

	struct ward_stats *per[2] = {f->w[0].qstats, f->w[1].qstats};
	struct ward_stats_sum *s = malloc(sizeof(*s));
	ward_stats_sum(per, 2, s);
	unsigned kids = f->ps.stat_slots[0], adults = f->ps.stat_slots[1];
	assert_string_equal(ward_stats_slot_name(&f->slots, kids), "kids");
	assert_string_equal(ward_stats_slot_name(&f->slots, adults), "adults");
	assert_int_equal(s->verdicts[kids][WARD_VERDICT_BLOCKED], 10);
	assert_int_equal(s->verdicts[adults][WARD_VERDICT_CACHED], 4);
	assert_int_equal(s->verdicts[adults][WARD_VERDICT_FORWARDED], 7);
	assert_int_equal(s->verdicts[WARD_STATS_SLOT_NONE][WARD_VERDICT_REFUSED], 1);
	assert_int_equal(s->categories[kids][WARD_CAT_GAMBLING], 7);
	assert_int_equal(s->categories[kids][WARD_CAT_ADULT], 3);
	assert_int_equal(s->categories[kids][WARD_CAT_DATING], 3);
	assert_int_equal(ward_stats_sum_queries(s, -1), 22);
	assert_int_equal(ward_stats_sum_queries(s, (int)kids), 10);
	free(s);
}

static void test_slots_survive_reorder(void **state)
{
	struct fixture *f = *state;
	struct ward_conf *again = parse(
		"{\"upstreams\": [\"192.0.2.53\"], \"profiles\": {\"teens\": {}, \"adults\": {},"
		" \"kids\": {}}, \"default_profile\": \"kids\"}");
	uint8_t *map = ward_stats_slots_map(&f->slots, again);
	assert_int_equal(map[2], f->ps.stat_slots[0]); /* kids keeps its slot */
	assert_int_equal(map[1], f->ps.stat_slots[1]); /* adults too */
	assert_string_equal(ward_stats_slot_name(&f->slots, map[0]), "teens");
	assert_true(map[0] != map[1] && map[0] != map[2] && map[0] != WARD_STATS_SLOT_NONE);
	free(map);
	ward_conf_free(again);
}

static void test_devices_merge_and_name(void **state)
{
	struct fixture *f = *state;
	struct ward_policy_verdict gamble = block_of(WARD_CAT(WARD_CAT_GAMBLING));
	for (int i = 0; i < 5; i++) {
		struct ward_query_ctx c = ctx_for("10.0.0.9", "a.example", 1);
		f->w[i % 2].local_time.unix_s = NOW + i;
		ward_stats_query(&f->w[i % 2], &c, WARD_VERDICT_FORWARDED, 0, NULL);
	}
	struct ward_query_ctx c = ctx_for("10.0.0.9", "casino.example", 1);
	ward_stats_query(&f->w[1], &c, WARD_VERDICT_BLOCKED, 0, &gamble);
	/* Behind the trusted router 10.0.0.1: a MAC makes it a device of its own. */
	c = ctx_for("10.0.0.1", "casino.example", 0);
	c.q.has_mac = true;
	memcpy(c.q.mac, "\xaa\xbb\xcc\xdd\xee\x01", 6);
	ward_stats_query(&f->w[0], &c, WARD_VERDICT_BLOCKED, 0, &gamble);
	/* The same MAC from an untrusted address is just that address. */
	c = ctx_for("10.0.0.77", "casino.example", 0);
	c.q.has_mac = true;
	memcpy(c.q.mac, "\xaa\xbb\xcc\xdd\xee\x01", 6);
	ward_stats_query(&f->w[0], &c, WARD_VERDICT_FORWARDED, 0, NULL);

	struct ward_stats *per[2] = {f->w[0].qstats, f->w[1].qstats};
	struct ward_device *d;
	uint32_t today = ward_stats_local_day(NOW, 9 * 60);
	int n = ward_stats_devices(per, 2, today, &d);
	assert_int_equal(n, 3);
	const struct ward_device *dad = NULL, *emma = NULL, *other = NULL;
	for (int i = 0; i < n; i++) {
		const char *name = ward_stats_device_name(f->conf, &d[i]);
		if (name && strcmp(name, "Dad's laptop") == 0)
			dad = &d[i];
		else if (name && strcmp(name, "Emma's tablet") == 0)
			emma = &d[i];
		else if (name && strcmp(name, "home") == 0)
			other = &d[i];
	}
	assert_non_null(dad);
	assert_non_null(emma);
	assert_non_null(other);
	assert_int_equal(dad->queries, 6);
	assert_int_equal(dad->queries_today, 6);
	assert_int_equal(dad->blocked_today, 1);
	assert_int_equal(dad->first_seen, NOW);
	assert_int_equal(dad->last_seen, NOW + 4);
	assert_int_equal(dad->n_cats, 1);
	assert_int_equal(dad->cats[0].category, WARD_CAT_GAMBLING);
	assert_int_equal(dad->cats[0].count, 1);
	assert_true(emma->has_mac);
	assert_int_equal(emma->blocked, 1);
	assert_false(other->has_mac);
	/* Tomorrow, nothing counts as today any more; totals stay. */
	free(d);
	n = ward_stats_devices(per, 2, today + 1, &d);
	for (int i = 0; i < n; i++) {
		assert_int_equal(d[i].queries_today, 0);
		assert_true(d[i].queries > 0);
	}
	free(d);
}

static void test_today_resets_at_local_midnight(void **state)
{
	struct fixture *f = *state;
	struct ward_worker *w = &f->w[0];
	struct ward_query_ctx c = ctx_for("10.0.0.30", "a.example", 0);
	/* 23:59 local (UTC+1) and then 00:00 local: the second query starts a new day. */
	int64_t before = NOW + 15 * 3600 + 59 * 60;
	w->local_time.unix_s = before;
	w->local_time.minute = 23 * 60 + 59;
	ward_stats_query(w, &c, WARD_VERDICT_FORWARDED, 0, NULL);
	ward_stats_query(w, &c, WARD_VERDICT_FORWARDED, 0, NULL);
	w->local_time.unix_s = before + 60;
	w->local_time.minute = 0;
	uint32_t day2 = ward_stats_local_day(before + 60, 0);
	assert_int_equal(day2, ward_stats_local_day(before, 23 * 60 + 59) + 1);
	ward_stats_query(w, &c, WARD_VERDICT_FORWARDED, 0, NULL);
	struct ward_stats *per[1] = {w->qstats};
	struct ward_device *d;
	assert_int_equal(ward_stats_devices(per, 1, day2, &d), 1);
	assert_int_equal(d[0].queries_today, 1);
	assert_int_equal(d[0].queries, 3);
	free(d);
}

static void test_device_table_bounded(void **state)
{
	struct fixture *f = *state;
	struct ward_worker *w = &f->w[0];
	char ip[32];
	for (unsigned i = 0; i < 3 * WARD_STATS_DEVICES; i++) {
		snprintf(ip, sizeof(ip), "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
		struct ward_query_ctx c = ctx_for(ip, "a.example", 0);
		w->local_time.unix_s = NOW + i;
		ward_stats_query(w, &c, WARD_VERDICT_FORWARDED, 0, NULL);
	}
	struct ward_stats *per[1] = {w->qstats};
	struct ward_device *d;
	int n = ward_stats_devices(per, 1, ward_stats_local_day(NOW, 9 * 60), &d);
	assert_true(n > WARD_STATS_DEVICES / 2 && n <= WARD_STATS_DEVICES);
	assert_true(ward_counter_get(&w->qstats->devices_evicted) >= 2 * WARD_STATS_DEVICES);
	/* The newest device is always there: eviction takes the least recently seen. */
	assert_int_equal(d[0].last_seen, NOW + 3 * WARD_STATS_DEVICES - 1);
	free(d);
}

static void test_records_follow_mode(void **state)
{
	struct fixture *f = *state;
	struct ward_worker *w = &f->w[0];
	struct ward_record recs[8];
	struct logged l;
	struct ward_policy_verdict gamble = block_of(WARD_CAT(WARD_CAT_GAMBLING));
	gamble.match.n_feeds = 1;
	gamble.match.feeds[0] = 7;
	struct ward_query_ctx c = ctx_for("10.0.0.20", "casino.example", 0);
	ward_stats_query(w, &c, WARD_VERDICT_BLOCKED, 3, &gamble);
	c = ctx_for("10.0.0.20", "allowed.example", 0);
	ward_stats_query(w, &c, WARD_VERDICT_FORWARDED, 0, NULL);
	ward_stats_query(w, &c, WARD_VERDICT_REWRITTEN, 0, NULL);
	/* mode "blocked": the block and the rewrite, never the allowed name */
	assert_int_equal(logged(w, &l), 2);
	assert_int_equal(l.e[0].verdict, WARD_VERDICT_BLOCKED);
	assert_int_equal(l.e[0].rcode, 3);
	assert_int_equal(l.e[0].feed_id, 7);
	assert_int_equal(l.e[0].time, NOW);
	assert_string_equal(l.e[0].profile, "kids");
	assert_memory_equal(l.e[0].name, "\6casino\7example\0", 16);
	assert_int_equal(l.e[1].verdict, WARD_VERDICT_REWRITTEN);
	assert_int_equal(drain(w, recs, 8), 0); /* no web listener: no block records */

	f->conf->query_log.mode = WARD_QLOG_OFF; /* as a reload would: a new generation */
	f->ps.generation++;
	f->conf->web.enabled = true;
	ward_stats_query(w, &c, WARD_VERDICT_FORWARDED, 0, NULL);
	ward_stats_query(w, &c, WARD_VERDICT_BLOCKED, 0, &gamble);
	assert_int_equal(logged(w, &l), 0);
	assert_int_equal(drain(w, recs, 8), 1); /* blocks go to the web listener's pages */
	assert_int_equal(recs[0].verdict, WARD_VERDICT_BLOCKED);
	assert_int_equal(recs[0].slot, f->ps.stat_slots[0]);
	f->conf->web.enabled = false;

	f->conf->query_log.mode = WARD_QLOG_ALL;
	f->conf->query_log.anonymize_clients = true;
	f->ps.generation++;
	ward_stats_query(w, &c, WARD_VERDICT_FORWARDED, 0, NULL);
	assert_int_equal(logged(w, &l), 1);
	assert_true(l.e[0].flags & WARD_QLOG_ANONYMIZED);
	uint8_t want[16];
	ward_qlog_client_parse("10.0.0.0", want);
	assert_memory_equal(l.e[0].client, want, 16); /* anonymized before it left the worker */
	/* refused clients are not recorded, even with "all" */
	c = ctx_for("192.0.2.1", "x.example", (size_t)-1);
	ward_stats_query(w, &c, WARD_VERDICT_REFUSED, 5, NULL);
	assert_int_equal(logged(w, &l), 0);
}

/* A full log ring drops the frame and counts it; the query goes on. */
static void test_log_ring_full(void **state)
{
	struct fixture *f = *state;
	struct ward_worker *w = &f->w[1];
	struct logged l;
	struct ward_policy_verdict gamble = block_of(WARD_CAT(WARD_CAT_GAMBLING));
	struct ward_query_ctx c = ctx_for("10.0.0.20", "casino.example", 0);
	ward_log_ring_free(w->log_ring);
	w->log_ring = ward_log_ring_new(512);
	for (int i = 0; i < 20; i++)
		ward_stats_query(w, &c, WARD_VERDICT_BLOCKED, 0, &gamble);
	uint64_t dropped = atomic_load(&w->log_ring->dropped);
	size_t kept = logged(w, &l); /* a frame here is about 70 bytes: 7 fit in 512 */
	assert_true(kept >= 5 && kept < 8);
	assert_int_equal(kept + dropped, 20); /* each one either kept or counted */
	struct ward_stats *per[1] = {w->qstats};
	struct ward_stats_sum *s = malloc(sizeof(*s));
	ward_stats_sum(per, 1, s);
	assert_int_equal(ward_stats_sum_queries(s, -1), 20); /* every query counted */
	free(s);
}

static void test_verdict_names(void **state)
{
	for (unsigned i = 0; i < WARD_VERDICT_COUNT; i++)
		assert_int_equal(ward_verdict_parse(ward_verdict_name(i)), (int)i);
	assert_null(ward_verdict_name(WARD_VERDICT_COUNT));
	assert_int_equal(ward_verdict_parse("nope"), -1);
}

static void test_local_day(void **state)
{
	/* 2027-01-15 08:00 UTC is day 20833; at UTC-5 it is 03:00 the same day, at UTC+14
	 * (Kiribati) 22:00 the same day too. Whatever the zone, the day changes at local
	 * midnight. */
	assert_int_equal(ward_stats_local_day(NOW, 8 * 60), NOW / 86400);
	assert_int_equal(ward_stats_local_day(NOW, 3 * 60), ward_stats_local_day(NOW - 60, 2 * 60 + 59));
	for (int off = -12 * 60; off <= 14 * 60; off += 30) {
		int64_t midnight = NOW + (int64_t)(((24 * 60 - (8 * 60 + off)) % 1440 + 1440) % 1440) * 60;
		uint32_t before = ward_stats_local_day(midnight - 60, 23 * 60 + 59);
		uint32_t after = ward_stats_local_day(midnight, 0);
		assert_int_equal(after, before + 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_counters_match_mix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slots_survive_reorder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_devices_merge_and_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_today_resets_at_local_midnight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_table_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_records_follow_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_ring_full, setup, teardown),
		cmocka_unit_test(test_log_ring_wraps_whole_frames),
		cmocka_unit_test(test_verdict_names),
		cmocka_unit_test(test_local_day),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
