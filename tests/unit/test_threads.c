/*
 * What the DNS workers share, under concurrency: reader threads look names up through
 * their own catdb readers and decide with the policy in force, loaded from an atomic
 * pointer the way ward_query_sync_views() does, while the main thread rebuilds the
 * database in a map small enough that every build grows it (the LMDB remap lock), and
 * publishes new policies, freeing the old ones once every reader has moved on (the
 * seen-generation protocol of main.c). Run plainly it checks the answers; built with
 * -DWARD_TSAN=ON (make test-tsan) ThreadSanitizer checks the synchronisation too.
 */
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "blocklists/catdb.h"
#include "blocklists/conf.h"
#include "blocklists/error.h"
#include "blocklists/feed.h"
#include "blocklists/name.h"
#include "blocklists/policy.h"

#define READERS 3
#define BUILDS 6
#define PUBLISHES 20
#define NAMES_PER_BUILD 6000

static const char config[] =
	"{\"upstreams\": [\"192.0.2.53\"],"
	" \"profiles\": {\"kids\": {\"block\": [\"adult\"]}},"
	" \"default_profile\": \"kids\"}";

/* One published policy and the generation readers report having seen. */
struct published {
	struct ward_conf *conf;
	struct ward_policy *policy;
	uint64_t generation;
};

struct shared {
	struct ward_catdb *db;
	_Atomic(struct published *) current;
	_Atomic bool stop;
};

struct reader_thread {
	pthread_t thread;
	struct shared *sh;
	_Atomic uint64_t seen;       /* generation of the policy this reader last took */
	unsigned lookups, blocked, wrong;
	int error;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static struct published *publish_new(uint64_t generation)
{
	struct published *p = calloc(1, sizeof(*p));
	char err[WARD_CONF_ERR_MAX];
	assert_non_null(p);
	assert_int_equal(0, ward_conf_parse("threads.json", config, strlen(config), &p->conf,
					    err, sizeof(err)));
	assert_int_equal(0, ward_policy_new(p->conf, &p->policy));
	p->generation = generation;
	return p;
}

static void published_free(struct published *p)
{
	ward_policy_free(p->policy);
	ward_conf_free(p->conf);
	free(p);
}

/* "blocked.example" is listed adult in every build; "n<i>.fill.example" fill the map. */
static void build(struct ward_catdb *db, unsigned round)
{
	struct ward_catdb_build *b;
	char name[64];
	assert_int_equal(0, ward_catdb_build_begin(db, false, &b));
	assert_int_equal(0, ward_catdb_build_add(b, "blocked.example", 15,
						 WARD_CAT(WARD_CAT_ADULT), 1, WARD_ENTRY_SUBDOMAINS));
	for (unsigned i = 0; i < NAMES_PER_BUILD * (round + 1); i++) {
		int n = snprintf(name, sizeof(name), "n%u.fill%u.example", i, round);
		assert_int_equal(0, ward_catdb_build_add(b, name, (size_t)n,
							 WARD_CAT(WARD_CAT_ADS), 1, 0));
	}
	assert_int_equal(0, ward_catdb_build_commit(b));
}

static void decide_once(struct reader_thread *t, struct ward_catdb_reader *r,
			const uint8_t *wire, bool want_block)
{
	struct published *p = atomic_load_explicit(&t->sh->current, memory_order_acquire);
	atomic_store_explicit(&t->seen, p->generation, memory_order_release);
	struct ward_policy_verdict v;
	struct ward_policy_time now = {.wday = 1, .minute = 600};
	int rc = ward_policy_decide(p->policy, r, NULL, 0, wire, &now, &v);
	if (rc != 0 && !t->error)
		t->error = rc;
	bool blocked = v.action != WARD_POLICY_FORWARD;
	t->lookups++;
	t->blocked += blocked;
	t->wrong += blocked != want_block;
}

static void *reader_main(void *arg)
{
	struct reader_thread *t = arg;
	struct ward_catdb_reader *r;
	uint8_t listed[WARD_WIRE_NAME_MAX], other[WARD_WIRE_NAME_MAX];
	ward_name_from_text("www.blocked.example", listed, sizeof(listed));
	ward_name_from_text("allowed.example", other, sizeof(other));
	t->error = ward_catdb_reader_new(t->sh->db, &r);
	if (t->error)
		return NULL;
	for (unsigned i = 0; !atomic_load_explicit(&t->sh->stop, memory_order_acquire); i++) {
		if (i % 64 == 0 && ward_catdb_reader_refresh(r) != 0 && !t->error)
			t->error = WARD_EDB;
		decide_once(t, r, listed, true);
		decide_once(t, r, other, false);
		if (i % 512 == 0)
			ward_catdb_reader_release(r); /* as an idle worker's timer does */
	}
	ward_catdb_reader_free(r);
	return NULL;
}

/* Free *retired once no reader still holds it (every one has seen a later generation). */
static void retire(struct reader_thread *t, struct published **retired, size_t *n)
{
	uint64_t oldest = UINT64_MAX;
	for (unsigned i = 0; i < READERS; i++) {
		uint64_t seen = atomic_load_explicit(&t[i].seen, memory_order_acquire);
		oldest = seen < oldest ? seen : oldest;
	}
	size_t kept = 0;
	for (size_t i = 0; i < *n; i++) {
		if (retired[i]->generation < oldest)
			published_free(retired[i]);
		else
			retired[kept++] = retired[i];
	}
	*n = kept;
}

static void test_readers_during_rebuilds_and_swaps(void **state)
{
	char dir[] = "/tmp/ward-test-threads-XXXXXX";
	struct shared sh = {0};
	struct reader_thread t[READERS] = {0};
	struct published *retired[PUBLISHES + 1];
	size_t n_retired = 0;
	assert_non_null(mkdtemp(dir));
	ward_catdb_test_set_mapsize(256 * 1024); /* every build below grows the map */
	assert_int_equal(0, ward_catdb_open(dir, WARD_CATDB_WRITE, &sh.db));
	ward_catdb_test_set_mapsize(0);
	build(sh.db, 0);
	atomic_store(&sh.current, publish_new(1));
	for (unsigned i = 0; i < READERS; i++) {
		t[i].sh = &sh;
		atomic_store(&t[i].seen, 1);
		assert_int_equal(0, pthread_create(&t[i].thread, NULL, reader_main, &t[i]));
	}
	for (unsigned round = 1, gen = 2; round <= BUILDS; round++) {
		build(sh.db, round);
		for (unsigned k = 0; k < PUBLISHES / BUILDS; k++, gen++) {
			retired[n_retired++] = atomic_exchange(&sh.current, publish_new(gen));
			usleep(2000);
			retire(t, retired, &n_retired);
		}
	}
	atomic_store_explicit(&sh.stop, true, memory_order_release);
	for (unsigned i = 0; i < READERS; i++) {
		assert_int_equal(0, pthread_join(t[i].thread, NULL));
		assert_int_equal(0, t[i].error);
		assert_true(t[i].lookups > 0);
		assert_int_equal(0, t[i].wrong);
		assert_int_equal(t[i].lookups / 2, t[i].blocked);
	}
	for (size_t i = 0; i < n_retired; i++)
		published_free(retired[i]);
	published_free(atomic_load(&sh.current));
	ward_catdb_close(sh.db);
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_readers_during_rebuilds_and_swaps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
