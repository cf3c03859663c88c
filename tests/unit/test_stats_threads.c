/*
 * The statistics and the query log's rings under concurrency, as wardd runs them: two
 * worker threads count queries, note devices and frame log records into their own rings
 * (ward_stats_query), the log writer's thread takes whole frames from both rings, and a
 * reader thread (the web listener's) sums the counters and merges the device tables all
 * the while. Run plainly it checks that nothing is lost or counted twice: every query is
 * counted once, every log record is either taken or counted dropped, and the merged
 * devices add up. Built with -DWARD_TSAN=ON (make test-tsan), ThreadSanitizer checks the
 * single-writer counters, the rows' sequence numbers and the rings' head and tail too.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
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

#define WORKERS 2
#define QUERIES 20000
#define CLIENTS 50

static struct ward_conf *conf;
static struct ward_stats_slots slots;
static struct ward_shared shared;
static struct ward_policy_state ps;
static struct ward_worker workers[WORKERS];
static _Atomic int producing;
static _Atomic uint64_t taken;

static void *worker_main(void *arg)
{
	struct ward_worker *w = arg;
	struct ward_policy_verdict block;
	memset(&block, 0, sizeof(block));
	block.action = WARD_POLICY_BLOCK;
	block.categories = WARD_CAT(WARD_CAT_GAMBLING);
	for (unsigned i = 0; i < QUERIES; i++) {
		struct ward_query_ctx c;
		memset(&c, 0, sizeof(c));
		c.profile = 0;
		c.client.addr.v4.sin_family = AF_INET;
		c.client.addr.v4.sin_addr.s_addr = htonl(0x0A000000u + i % CLIENTS + 1);
		c.client.addr.len = sizeof(c.client.addr.v4);
		c.q.has_question = true;
		c.q.qtype = 1;
		memcpy(c.q.lname, "\4name\7example\0", 14);
		c.q.qname_len = 14;
		w->local_time.unix_s = 1800000000 + i / 1000;
		bool blocked = i % 3 == 0;
		ward_stats_query(w, &c, blocked ? WARD_VERDICT_BLOCKED : WARD_VERDICT_FORWARDED, 0,
				 blocked ? &block : NULL);
	}
	atomic_fetch_sub(&producing, 1);
	return NULL;
}

static void count_frame(void *ctx, const struct ward_qlog_entry *e)
{
	(*(uint64_t *)ctx)++;
}

/* The log writer: whole frames from every ring, until the workers are done and the rings
 * are empty. */
static void *writer_main(void *arg)
{
	for (;;) {
		bool done = atomic_load(&producing) == 0;
		size_t got = 0;
		for (unsigned i = 0; i < WORKERS; i++) {
			const uint8_t *p;
			size_t len;
			while ((p = ward_log_ring_peek(workers[i].log_ring, &len))) {
				uint64_t n = 0;
				assert_int_equal(ward_qlog_parse(p, len, count_frame, &n), len);
				atomic_fetch_add(&taken, n);
				ward_log_ring_release(workers[i].log_ring, len);
				got += len;
			}
		}
		if (done && !got)
			return NULL;
	}
}

/* The web listener: sums and merged device lists while the workers write. */
static void *reader_main(void *arg)
{
	struct ward_stats *per[WORKERS] = {workers[0].qstats, workers[1].qstats};
	struct ward_stats_sum *s = malloc(sizeof(*s));
	uint64_t last = 0;
	while (atomic_load(&producing) > 0) {
		ward_stats_sum(per, WORKERS, s);
		uint64_t n = ward_stats_sum_queries(s, -1);
		assert_true(n >= last); /* counters only grow */
		last = n;
		struct ward_device *d;
		int nd = ward_stats_devices(per, WORKERS, ward_stats_local_day(1800000000, 0), &d);
		assert_true(nd >= 0 && nd <= CLIENTS);
		for (int i = 0; i < nd; i++)
			assert_true(d[i].blocked <= d[i].queries);
		free(d);
	}
	free(s);
	return NULL;
}

static void test_workers_writer_and_reader(void **state)
{
	char err[WARD_CONF_ERR_MAX];
	const char *json = "{\"upstreams\": [\"192.0.2.53\"], \"profiles\": {\"kids\": {}},"
			   " \"default_profile\": \"kids\", \"query_log\": {\"mode\": \"all\"}}";
	assert_int_equal(0, ward_conf_parse("threads.json", json, strlen(json), &conf, err,
					    sizeof(err)));
	ward_stats_slots_init(&slots);
	shared.slots = &slots;
	ps.conf = conf;
	ps.generation = 1;
	ps.stat_slots = ward_stats_slots_map(&slots, conf);
	for (unsigned i = 0; i < WORKERS; i++) {
		workers[i].conf = conf;
		workers[i].ps = &ps;
		workers[i].shared = &shared;
		workers[i].qstats = ward_stats_new();
		workers[i].log_ring = ward_log_ring_new(16 * 1024); /* small: some drops */
		workers[i].local_time.minute = 0;
	}
	pthread_t t[WORKERS + 2];
	atomic_store(&producing, WORKERS);
	for (unsigned i = 0; i < WORKERS; i++)
		pthread_create(&t[i], NULL, worker_main, &workers[i]);
	pthread_create(&t[WORKERS], NULL, writer_main, NULL);
	pthread_create(&t[WORKERS + 1], NULL, reader_main, NULL);
	for (unsigned i = 0; i < WORKERS + 2; i++)
		pthread_join(t[i], NULL);

	struct ward_stats *per[WORKERS] = {workers[0].qstats, workers[1].qstats};
	struct ward_stats_sum *s = malloc(sizeof(*s));
	ward_stats_sum(per, WORKERS, s);
	assert_int_equal(ward_stats_sum_queries(s, -1), WORKERS * QUERIES);
	uint64_t dropped = 0;
	for (unsigned i = 0; i < WORKERS; i++)
		dropped += atomic_load(&workers[i].log_ring->dropped);
	assert_int_equal(atomic_load(&taken) + dropped, WORKERS * QUERIES);
	struct ward_device *d;
	int nd = ward_stats_devices(per, WORKERS, ward_stats_local_day(1800000000, 0), &d);
	uint64_t queries = 0;
	for (int i = 0; i < nd; i++)
		queries += d[i].queries;
	assert_int_equal(nd, CLIENTS);
	assert_int_equal(queries, WORKERS * QUERIES);
	free(d);
	free(s);
	for (unsigned i = 0; i < WORKERS; i++) {
		ward_stats_free(workers[i].qstats);
		ward_log_ring_free(workers[i].log_ring);
	}
	free(ps.stat_slots);
	ward_conf_free(conf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_workers_writer_and_reader),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
