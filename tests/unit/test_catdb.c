/*
 * Category database tests: a real LMDB environment in a fresh directory under /tmp per
 * test, removed at the end. Processes that must not share an environment (LMDB allows one
 * per process) are fork()ed children that report over a pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <lmdb.h>

#include "blocklists/catdb.h"
#include "blocklists/catdb_value.h"
#include "blocklists/error.h"
#include "blocklists/feed.h"

#define SUB WARD_ENTRY_SUBDOMAINS
#define ALLOW WARD_ENTRY_ALLOW
#define ADULT WARD_CAT(WARD_CAT_ADULT)
#define GAMBLING WARD_CAT(WARD_CAT_GAMBLING)
#define ADS WARD_CAT(WARD_CAT_ADS)
#define MALWARE WARD_CAT(WARD_CAT_MALWARE)
#define TRACKING WARD_CAT(WARD_CAT_TRACKING)
#define DATING WARD_CAT(WARD_CAT_DATING)

struct fixture {
	char dir[64];
	struct ward_catdb *db;
};

/* ---- helpers ---------------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	strcpy(f->dir, "/tmp/ward-test-catdb-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(0, ward_catdb_open(f->dir, WARD_CATDB_WRITE, &f->db));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	ward_catdb_test_set_bounds(0, 0);
	ward_catdb_test_on_put(0, NULL, NULL);
	ward_catdb_close(f->db);
	nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* The fixture without an open environment: for tests whose children open their own. */
static void close_db(struct fixture *f)
{
	ward_catdb_close(f->db);
	f->db = NULL;
}

static void reopen_db(struct fixture *f)
{
	assert_int_equal(0, ward_catdb_open(f->dir, WARD_CATDB_WRITE, &f->db));
}

static void add(struct ward_catdb_build *b, const char *name, ward_catset cats, uint16_t feed,
		unsigned flags)
{
	assert_int_equal(0, ward_catdb_build_add(b, name, strlen(name), cats, feed, flags));
}

struct entry {
	const char *name;
	ward_catset cats;
	uint16_t feed;
	unsigned flags;
};

static void build(struct ward_catdb *db, const struct entry *e, size_t n)
{
	struct ward_catdb_build *b;
	assert_int_equal(0, ward_catdb_build_begin(db, true, &b));
	for (size_t i = 0; i < n; i++)
		add(b, e[i].name, e[i].cats, e[i].feed, e[i].flags);
	assert_int_equal(0, ward_catdb_build_commit(b));
}

static void lookup(struct ward_catdb *db, const char *name, struct ward_cat_match *m)
{
	struct ward_catdb_reader *r;
	assert_int_equal(0, ward_catdb_reader_new(db, &r));
	assert_int_equal(0, ward_cat_lookup(r, name, strlen(name), m));
	ward_catdb_reader_free(r);
}

static void expect(struct ward_catdb *db, const char *name, ward_catset cats,
		   const char *entry, bool exact)
{
	struct ward_cat_match m;
	lookup(db, name, &m);
	assert_int_equal(cats, m.categories);
	if (!entry) {
		assert_false(m.found);
		assert_int_equal(0, m.entry_len);
		return;
	}
	assert_true(m.found);
	assert_string_equal(entry, m.entry);
	assert_int_equal(strlen(entry), m.entry_len);
	assert_int_equal(exact, m.exact);
}

static bool feeds_equal(const struct ward_cat_match *m, const uint16_t *ids, size_t n)
{
	if (m->n_feeds != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool seen = false;
		for (size_t j = 0; j < m->n_feeds; j++)
			seen |= m->feeds[j] == ids[i];
		if (!seen)
			return false;
	}
	return true;
}

/* ---- matching --------------------------------------------------------------------- */

static void test_exact_vs_subdomains(void **state)
{
	struct fixture *f = *state;
	const struct entry e[] = {
		{ "ads.example.com", ADS, 1, SUB },
		{ "tracker.net", TRACKING, 1, 0 },
	};
	build(f->db, e, 2);
	expect(f->db, "ads.example.com", ADS, "ads.example.com", true);
	expect(f->db, "x.ads.example.com", ADS, "ads.example.com", false);
	expect(f->db, "a.b.c.ads.example.com", ADS, "ads.example.com", false);
	expect(f->db, "example.com", 0, NULL, false);
	expect(f->db, "xads.example.com", 0, NULL, false);
	expect(f->db, "com", 0, NULL, false);
	expect(f->db, "tracker.net", TRACKING, "tracker.net", true);
	expect(f->db, "www.tracker.net", 0, NULL, false);
	expect(f->db, "tracker.net.evil.org", 0, NULL, false);
}

static void test_tld_entries(void **state)
{
	struct fixture *f = *state;
	const struct entry e[] = {
		{ "zip", MALWARE, 1, SUB },
		{ "mov", MALWARE, 1, 0 },
	};
	build(f->db, e, 2);
	expect(f->db, "zip", MALWARE, "zip", true);
	expect(f->db, "example.zip", MALWARE, "zip", false);
	expect(f->db, "a.b.c.zip", MALWARE, "zip", false);
	expect(f->db, "zipper.com", 0, NULL, false);
	expect(f->db, "zip.com", 0, NULL, false);
	expect(f->db, "mov", MALWARE, "mov", true);
	expect(f->db, "example.mov", 0, NULL, false);
}

static void test_allow_exempts_parent_block(void **state)
{
	struct fixture *f = *state;
	const struct entry e[] = {
		{ "example.com", ADULT | GAMBLING, 1, SUB },
		{ "safe.example.com", ADULT, 2, SUB | ALLOW },
		{ "www.example.com", ADULT | GAMBLING, 2, ALLOW },
		{ "bad.safe.example.com", ADULT, 3, SUB },
		{ "same.org", ADULT, 1, SUB },
		{ "same.org", ADULT, 2, SUB | ALLOW },
	};
	build(f->db, e, 6);
	expect(f->db, "x.example.com", ADULT | GAMBLING, "example.com", false);
	/* the allow lifts adult only: gambling stays, explained by the parent */
	expect(f->db, "safe.example.com", GAMBLING, "example.com", false);
	expect(f->db, "a.safe.example.com", GAMBLING, "example.com", false);
	struct ward_cat_match m;
	lookup(f->db, "a.safe.example.com", &m);
	assert_int_equal(ADULT, m.allowed);
	/* an exact allow covers only itself */
	expect(f->db, "www.example.com", 0, "www.example.com", true);
	lookup(f->db, "www.example.com", &m);
	assert_int_equal(ADULT | GAMBLING, m.allowed);
	assert_true(feeds_equal(&m, (uint16_t[]){ 2 }, 1));
	expect(f->db, "a.www.example.com", ADULT | GAMBLING, "example.com", false);
	/* a more specific block below the allow wins again */
	expect(f->db, "bad.safe.example.com", ADULT | GAMBLING, "bad.safe.example.com", true);
	lookup(f->db, "x.bad.safe.example.com", &m);
	assert_int_equal(0, m.allowed);
	assert_true(feeds_equal(&m, (uint16_t[]){ 3 }, 1));
	/* allow and block on the same name: the allow wins, and explains with its feed */
	expect(f->db, "same.org", 0, "same.org", true);
	lookup(f->db, "w.same.org", &m);
	assert_int_equal(ADULT, m.allowed);
	assert_true(m.found);
	assert_true(feeds_equal(&m, (uint16_t[]){ 2 }, 1));
}

static void test_several_feeds_same_name(void **state)
{
	struct fixture *f = *state;
	struct ward_catdb_build *b;
	assert_int_equal(0, ward_catdb_build_begin(f->db, true, &b));
	add(b, "multi.com", ADULT, 1, SUB);
	add(b, "multi.com", GAMBLING, 2, SUB);
	add(b, "MULTI.com", ADULT, 3, SUB);
	add(b, "multi.com.", ADULT, 1, SUB); /* same feed twice: one id */
	add(b, "exactly.com", DATING, 4, 0);
	add(b, "exactly.com", ADS, 5, SUB);
	for (uint16_t id = 100; id < 120; id++)
		add(b, "crowded.net", MALWARE, id, SUB);
	assert_int_equal(0, ward_catdb_build_commit(b));

	struct ward_cat_match m;
	lookup(f->db, "www.multi.com", &m);
	assert_int_equal(ADULT | GAMBLING, m.categories);
	assert_true(feeds_equal(&m, (uint16_t[]){ 1, 2, 3 }, 3));
	/* exact bits only at the name itself, subdomain bits below it too */
	expect(f->db, "exactly.com", DATING | ADS, "exactly.com", true);
	expect(f->db, "a.exactly.com", ADS, "exactly.com", false);
	lookup(f->db, "exactly.com", &m);
	assert_true(feeds_equal(&m, (uint16_t[]){ 4, 5 }, 2));
	/* twenty feeds: the match carries its maximum, all of them real ids */
	lookup(f->db, "crowded.net", &m);
	assert_int_equal(WARD_CATDB_MATCH_FEEDS, m.n_feeds);
	for (unsigned i = 0; i < m.n_feeds; i++)
		assert_in_range(m.feeds[i], 100, 119);

	struct ward_catdb_meta meta;
	assert_int_equal(0, ward_catdb_meta_get(f->db, &meta));
	assert_int_equal(26, meta.entries);
	assert_int_equal(3, meta.domains);
}

static void test_most_specific_explains(void **state)
{
	struct fixture *f = *state;
	const struct entry e[] = {
		{ "example.com", ADULT, 1, SUB },
		{ "ads.example.com", ADS, 2, SUB },
		{ "deep.ads.example.com", ADULT, 3, SUB },
		{ "com", GAMBLING, 4, SUB },
	};
	build(f->db, e, 4);
	ward_catset all = ADULT | ADS | GAMBLING;
	expect(f->db, "x.ads.example.com", all, "ads.example.com", false);
	expect(f->db, "deep.ads.example.com", all, "deep.ads.example.com", true);
	expect(f->db, "q.deep.ads.example.com", all, "deep.ads.example.com", false);
	expect(f->db, "other.com", GAMBLING, "com", false);
	struct ward_cat_match m;
	lookup(f->db, "q.deep.ads.example.com", &m);
	assert_true(feeds_equal(&m, (uint16_t[]){ 3 }, 1));
}

static void test_lookup_wire_any_case(void **state)
{
	struct fixture *f = *state;
	const struct entry e[] = {
		{ "ads.example.com", ADS, 1, SUB },
		{ "b.a.example.org", ADULT, 1, 0 },
		{ "evil.net", MALWARE, 1, SUB },
	};
	build(f->db, e, 3);
	struct ward_catdb_reader *r;
	assert_int_equal(0, ward_catdb_reader_new(f->db, &r));
	struct ward_cat_match m;

	const uint8_t upper[] = "\x03" "WWW" "\x03" "ADS" "\x07" "ExAmPlE" "\x03" "COM";
	assert_int_equal(0, ward_cat_lookup_wire(r, upper, &m));
	assert_int_equal(ADS, m.categories);
	assert_string_equal("ads.example.com", m.entry);
	assert_false(m.exact);
	assert_int_equal(0, ward_cat_lookup(r, "Ads.EXAMPLE.Com", 15, &m));
	assert_int_equal(ADS, m.categories);
	assert_true(m.exact);

	/* a wire label holding a dot is not two labels, but its parents still count */
	const uint8_t dotted[] = "\x03" "a.b\x07" "example\x03" "org";
	assert_int_equal(0, ward_cat_lookup_wire(r, dotted, &m));
	assert_false(m.found);
	const uint8_t dotted_evil[] = "\x03" "x.y\x04" "evil\x03" "net";
	assert_int_equal(0, ward_cat_lookup_wire(r, dotted_evil, &m));
	assert_int_equal(MALWARE, m.categories);
	assert_string_equal("evil.net", m.entry);

	const uint8_t root[] = "";
	assert_int_equal(0, ward_cat_lookup_wire(r, root, &m));
	assert_false(m.found);
	const uint8_t pointer[] = "\x03www\xc0\x0c";
	assert_int_equal(WARD_EINVAL, ward_cat_lookup_wire(r, pointer, &m));
	uint8_t long_label[70] = { 64 };
	memset(long_label + 1, 'a', 64);
	assert_int_equal(WARD_EINVAL, ward_cat_lookup_wire(r, long_label, &m));
	/* 128 one-byte labels: 256 bytes, one more than a name may have */
	uint8_t too_long[300] = { 0 };
	for (unsigned i = 0; i < 128; i++) {
		too_long[2 * i] = 1;
		too_long[2 * i + 1] = 'a';
	}
	assert_int_equal(WARD_EINVAL, ward_cat_lookup_wire(r, too_long, &m));
	too_long[2 * 127] = 0; /* 127 labels: 255 bytes, fine */
	assert_int_equal(0, ward_cat_lookup_wire(r, too_long, &m));
	ward_catdb_reader_free(r);
}

static void test_invalid_names(void **state)
{
	struct fixture *f = *state;
	struct ward_catdb_reader *r;
	assert_int_equal(0, ward_catdb_reader_new(f->db, &r));
	struct ward_cat_match m;
	const char *bad[] = { "", ".", "a..com", ".com", "com..", "example.com.." };
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(WARD_EINVAL, ward_cat_lookup(r, bad[i], strlen(bad[i]), &m));
	char name[300];
	memset(name, 'a', 64);
	strcpy(name + 64, ".com");
	assert_int_equal(WARD_EINVAL, ward_cat_lookup(r, name, strlen(name), &m));
	memset(name, 'a', sizeof(name));
	for (size_t i = 63; i < sizeof(name); i += 64)
		name[i] = '.';
	assert_int_equal(WARD_EINVAL, ward_cat_lookup(r, name, 254, &m));
	assert_int_equal(0, ward_cat_lookup(r, name, 253, &m));
	assert_int_equal(0, ward_cat_lookup(r, "example.com.", 12, &m));
	ward_catdb_reader_free(r);

	struct ward_catdb_build *b;
	assert_int_equal(0, ward_catdb_build_begin(f->db, true, &b));
	assert_int_equal(WARD_EINVAL, ward_catdb_build_add(b, "a..b", 4, ADS, 1, 0));
	assert_int_equal(WARD_EINVAL, ward_catdb_build_add(b, "a b.com", 7, ADS, 1, 0));
	assert_int_equal(WARD_EINVAL, ward_catdb_build_add(b, "ok.com", 6, 0, 1, 0));
	assert_int_equal(WARD_EINVAL, ward_catdb_build_add(b, "ok.com", 6, ADS, 1, 1u << 7));
	ward_catdb_build_abort(b);
}

/* ---- builds ----------------------------------------------------------------------- */

static void test_rebuild_replaces_table(void **state)
{
	struct fixture *f = *state;
	const struct entry first[] = {
		{ "old.com", ADULT, 1, SUB },
		{ "both.com", ADULT, 1, SUB },
	};
	const struct entry second[] = {
		{ "both.com", GAMBLING, 2, 0 },
		{ "new.com", ADS, 2, SUB },
	};
	build(f->db, first, 2);
	struct ward_catdb_meta meta;
	assert_int_equal(0, ward_catdb_meta_get(f->db, &meta));
	assert_int_equal(1, meta.generation);
	build(f->db, second, 2);
	expect(f->db, "old.com", 0, NULL, false);
	expect(f->db, "x.old.com", 0, NULL, false);
	expect(f->db, "both.com", GAMBLING, "both.com", true);
	expect(f->db, "x.both.com", 0, NULL, false);
	expect(f->db, "new.com", ADS, "new.com", true);
	assert_int_equal(0, ward_catdb_meta_get(f->db, &meta));
	assert_int_equal(2, meta.generation);
	assert_int_equal(2, meta.domains);

	/* an empty build empties the table */
	build(f->db, NULL, 0);
	expect(f->db, "new.com", 0, NULL, false);
	assert_int_equal(0, ward_catdb_meta_get(f->db, &meta));
	assert_int_equal(3, meta.generation);
	assert_int_equal(0, meta.domains);
}

static void test_meta_totals(void **state)
{
	struct fixture *f = *state;
	struct ward_catdb_meta meta;
	assert_int_equal(0, ward_catdb_meta_get(f->db, &meta));
	assert_int_equal(2, meta.schema_version);
	assert_int_equal(0, meta.generation);
	assert_int_equal(0, meta.domains);
	int64_t before = (int64_t)time(NULL);
	const struct entry e[] = {
		{ "a.com", ADS, 1, 0 },   { "b.com", ADS, 1, 0 }, { "a.com", ADULT, 2, 0 },
		{ "c.b.com", ADS, 1, 0 }, { "d.org", ADS, 1, SUB },
	};
	build(f->db, e, 5);
	assert_int_equal(0, ward_catdb_meta_get(f->db, &meta));
	assert_int_equal(1, meta.generation);
	assert_int_equal(5, meta.entries);
	assert_int_equal(4, meta.domains);
	assert_in_range(meta.built_at, before, (int64_t)time(NULL));
	/* totals survive a reopen */
	close_db(f);
	reopen_db(f);
	struct ward_catdb_meta again;
	assert_int_equal(0, ward_catdb_meta_get(f->db, &again));
	assert_memory_equal(&meta, &again, sizeof(meta));
}

static void test_read_mode(void **state)
{
	struct fixture *f = *state;
	struct ward_catdb *db;
	assert_int_equal(WARD_ENOTFOUND,
			 ward_catdb_open("/tmp/ward-test-catdb-missing/x", WARD_CATDB_READ, &db));
	const struct entry e[] = { { "a.com", ADS, 1, 0 } };
	build(f->db, e, 1);
	close_db(f);
	assert_int_equal(0, ward_catdb_open(f->dir, WARD_CATDB_READ, &db));
	struct ward_catdb_build *b;
	assert_int_equal(WARD_EINVAL, ward_catdb_build_begin(db, true, &b));
	struct ward_catdb_feed_state st = { .name = "x" };
	assert_int_equal(WARD_EINVAL, ward_catdb_feed_put(db, &st));
	struct ward_catdb_reader *r;
	assert_int_equal(0, ward_catdb_reader_new(db, &r));
	struct ward_cat_match m;
	assert_int_equal(0, ward_cat_lookup(r, "a.com", 5, &m));
	assert_int_equal(ADS, m.categories);
	assert_int_equal(1, ward_catdb_reader_generation(r));
	ward_catdb_reader_free(r);
	ward_catdb_close(db);
	reopen_db(f);
}

/* Generated names: distinct by construction (the index is in them), 2 to 5 labels. */
static size_t gen_name(unsigned i, char *out)
{
	static const char *const tlds[] = { "com", "net", "org", "io", "xyz", "de" };
	switch (i % 4) {
	case 0:
		return (size_t)sprintf(out, "n%u.%s", i, tlds[i % 6]);
	case 1:
		return (size_t)sprintf(out, "www.site%u.%s", i, tlds[i % 6]);
	case 2:
		return (size_t)sprintf(out, "ads.x%u.cdn.%s", i, tlds[i % 6]);
	default:
		return (size_t)sprintf(out, "a.b.c%u.d.%s", i, tlds[i % 6]);
	}
}

static ward_catset gen_cats(unsigned i)
{
	return WARD_CAT(i % 25) | (i % 3 == 0 ? WARD_CAT(32 + i % 32) : 0);
}

/* Many names through sort, merge, filter and APPEND: every one answers as added. */
static void test_large_build_every_name(void **state)
{
	struct fixture *f = *state;
	const unsigned n = 60000;
	struct ward_catdb_build *b;
	assert_int_equal(0, ward_catdb_build_begin(f->db, true, &b));
	char name[64];
	/* Added in a scrambled order so the sort has work to do. */
	for (unsigned k = 0; k < n; k++) {
		unsigned i = (unsigned)(((uint64_t)k * 7919) % n);
		size_t len = gen_name(i, name);
		unsigned flags = (i % 5 == 0) ? 0 : SUB;
		assert_int_equal(0, ward_catdb_build_add(b, name, len, gen_cats(i),
							 (uint16_t)(i % 7), flags));
	}
	assert_int_equal(0, ward_catdb_build_commit(b));
	struct ward_catdb_reader *r;
	assert_int_equal(0, ward_catdb_reader_new(f->db, &r));
	struct ward_cat_match m;
	for (unsigned i = 0; i < n; i++) {
		size_t len = gen_name(i, name);
		assert_int_equal(0, ward_cat_lookup(r, name, len, &m));
		assert_int_equal(gen_cats(i), m.categories);
		assert_true(m.exact);
		assert_int_equal(len, m.entry_len);
		assert_memory_equal(name, m.entry, len);
		assert_int_equal(1, m.n_feeds);
		assert_int_equal(i % 7, m.feeds[0]);
		/* one label more: covered exactly when the entry covers subdomains */
		char sub[80];
		int sl = snprintf(sub, sizeof(sub), "q.%s", name);
		assert_int_equal(0, ward_cat_lookup(r, sub, (size_t)sl, &m));
		assert_int_equal(i % 5 == 0 ? 0 : gen_cats(i), m.categories);
	}
	/* and names never added stay clean */
	for (unsigned i = n; i < n + 2000; i++) {
		size_t len = gen_name(i, name);
		assert_int_equal(0, ward_cat_lookup(r, name, len, &m));
		assert_false(m.found);
	}
	ward_catdb_reader_free(r);
	struct ward_catdb_meta meta;
	assert_int_equal(0, ward_catdb_meta_get(f->db, &meta));
	assert_int_equal(n, meta.domains);
}

/* A map too small for the build: the writer doubles it until the table fits. */
static void test_build_grows_map(void **state)
{
	struct fixture *f = *state;
	close_db(f);
	ward_catdb_test_set_mapsize(256 * 1024);
	reopen_db(f);
	ward_catdb_test_set_mapsize(0);
	const unsigned n = 40000; /* about 1.6 MB of pages */
	struct ward_catdb_build *b;
	assert_int_equal(0, ward_catdb_build_begin(f->db, true, &b));
	char name[64];
	for (unsigned i = 0; i < n; i++) {
		size_t len = gen_name(i, name);
		assert_int_equal(0, ward_catdb_build_add(b, name, len, ADS, 1, SUB));
	}
	assert_int_equal(0, ward_catdb_build_commit(b));
	struct ward_catdb_meta meta;
	assert_int_equal(0, ward_catdb_meta_get(f->db, &meta));
	assert_int_equal(n, meta.domains);
	gen_name(n - 1, name);
	expect(f->db, name, ADS, name, true);
}

/* ---- real feeds ------------------------------------------------------------------- */

struct names {
	char **v;
	size_t n;
};

/* Plain-domain and "*."-wildcard lines of a shared feed file; '#' comments skipped. */
static struct names read_feed(const char *rel, bool *wild_out_unused)
{
	(void)wild_out_unused;
	const char *root = getenv("WARD_SHARED_DATA");
	char path[4096];
	snprintf(path, sizeof(path), "%s/feeds/%s", root ? root : "/work/shared/data", rel);
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	struct names out = { 0 };
	size_t cap = 0;
	char line[1024];
	while (fgets(line, sizeof(line), fp)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		if (out.n == cap) {
			cap = cap ? cap * 2 : 1024;
			out.v = realloc(out.v, cap * sizeof(char *));
			assert_non_null(out.v);
		}
		out.v[out.n++] = strdup(line);
	}
	fclose(fp);
	return out;
}

static void free_names(struct names *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
}

static bool ends_with_label(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);
	return n == s ? strcmp(name, suffix) == 0
		      : n > s && name[n - s - 1] == '.' && strcmp(name + n - s, suffix) == 0;
}

/* Reference answer, by plain string comparison: is name exempted by the allow list? */
static bool allowed_by(const struct names *allow, const char *name)
{
	for (size_t i = 0; i < allow->n; i++) {
		const char *a = allow->v[i];
		if (strncmp(a, "*.", 2) == 0 ? ends_with_label(name, a + 2) : !strcmp(a, name))
			return true;
	}
	return false;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_real_feeds(void **state)
{
	struct fixture *f = *state;
	struct names gambling = read_feed("ut1/gambling.domains", NULL);
	struct names dating = read_feed("ut1/dating.domains", NULL);
	struct names allow = read_feed("hagezi/allow_gambling.txt", NULL);
	assert_true(gambling.n > 30000 && dating.n > 6000 && allow.n > 100);

	struct ward_catdb_build *b;
	assert_int_equal(0, ward_catdb_build_begin(f->db, true, &b));
	for (size_t i = 0; i < gambling.n; i++)
		add(b, gambling.v[i], GAMBLING, 1, SUB);
	for (size_t i = 0; i < dating.n; i++)
		add(b, dating.v[i], DATING, 2, SUB);
	for (size_t i = 0; i < allow.n; i++) {
		const char *a = allow.v[i];
		bool wild = strncmp(a, "*.", 2) == 0;
		add(b, wild ? a + 2 : a, GAMBLING, 3, ALLOW | (wild ? SUB : 0));
	}
	assert_int_equal(0, ward_catdb_build_commit(b));

	qsort(dating.v, dating.n, sizeof(char *), cmp_str);
	struct ward_catdb_reader *r;
	assert_int_equal(0, ward_catdb_reader_new(f->db, &r));
	struct ward_cat_match m;
	size_t exempted = 0;
	for (size_t i = 0; i < gambling.n; i++) {
		const char *name = gambling.v[i];
		char www[300];
		snprintf(www, sizeof(www), "www.%s", name);
		bool dating_too = bsearch(&name, dating.v, dating.n, sizeof(char *), cmp_str);
		ward_catset want = (allowed_by(&allow, name) ? 0 : GAMBLING) |
				   (dating_too ? DATING : 0);
		exempted += !(want & GAMBLING);
		assert_int_equal(0, ward_cat_lookup(r, name, strlen(name), &m));
		assert_int_equal(want, m.categories);
		assert_int_equal(0, ward_cat_lookup(r, www, strlen(www), &m));
		if (!allowed_by(&allow, www))
			assert_true(m.categories & GAMBLING);
	}
	for (size_t i = 0; i < dating.n; i++) {
		assert_int_equal(0, ward_cat_lookup(r, dating.v[i], strlen(dating.v[i]), &m));
		assert_true(m.categories & DATING);
	}
	assert_true(exempted > 0); /* the allow list does overlap the block list */
	ward_catdb_reader_free(r);
	free_names(&gambling);
	free_names(&dating);
	free_names(&allow);
}

/* ---- feeds ------------------------------------------------------------------------ */

static void test_feed_state_roundtrip(void **state)
{
	struct fixture *f = *state;
	struct ward_catdb_feed_state st;
	memset(&st, 0, sizeof(st));
	strcpy(st.name, "ut1-gambling");
	strcpy(st.url, "https://example.org/ut1/gambling.domains");
	strcpy(st.etag, "\"5f3a-abc\"");
	strcpy(st.last_modified, "Tue, 15 Nov 1994 12:45:26 GMT");
	st.last_good = 1700000000;
	st.last_attempt = -5;
	st.entries = 32247;
	for (unsigned i = 0; i < 32; i++)
		st.sha256[i] = (uint8_t)(i * 7 + 1);
	strcpy(st.last_error, "HTTP 503");
	st.id = 999; /* ignored: the database assigns ids */
	st.categories = GAMBLING | WARD_CAT(63);
	st.rejected[WARD_REJECT_IP] = 93;
	st.rejected[WARD_REJECT_PUBLIC_SUFFIX] = 2;
	assert_int_equal(WARD_ENOTFOUND, ward_catdb_feed_get(f->db, "ut1-gambling", &st));

	assert_int_equal(0, ward_catdb_feed_put(f->db, &st));
	struct ward_catdb_feed_state got;
	assert_int_equal(0, ward_catdb_feed_get(f->db, "ut1-gambling", &got));
	assert_int_equal(1, got.id);
	got.id = st.id;
	assert_memory_equal(&st, &got, sizeof(st));

	/* ids: stable across updates and reopen, new feeds get fresh ones */
	uint16_t id;
	assert_int_equal(0, ward_catdb_feed_id(f->db, "ut1-gambling", &id));
	assert_int_equal(1, id);
	assert_int_equal(0, ward_catdb_feed_id(f->db, "hagezi-allow", &id));
	assert_int_equal(2, id);
	st.entries = 1;
	assert_int_equal(0, ward_catdb_feed_put(f->db, &st));
	close_db(f);
	reopen_db(f);
	assert_int_equal(0, ward_catdb_feed_get(f->db, "ut1-gambling", &got));
	assert_int_equal(1, got.id);
	assert_int_equal(1, got.entries);
	assert_int_equal(0, ward_catdb_feed_id(f->db, "hagezi-allow", &id));
	assert_int_equal(2, id);
	assert_int_equal(0, ward_catdb_feed_id(f->db, "third", &id));
	assert_int_equal(3, id);

	struct ward_catdb_reader *r;
	assert_int_equal(0, ward_catdb_reader_new(f->db, &r));
	char name[64];
	assert_int_equal(0, ward_catdb_feed_name(r, 2, name, sizeof(name)));
	assert_string_equal("hagezi-allow", name);
	assert_int_equal(WARD_ETOOBIG, ward_catdb_feed_name(r, 2, name, 4));
	assert_string_equal("hag", name);
	assert_int_equal(WARD_ENOTFOUND, ward_catdb_feed_name(r, 4, name, sizeof(name)));
	ward_catdb_reader_free(r);

	/* bad names and unterminated strings are refused */
	assert_int_equal(WARD_EINVAL, ward_catdb_feed_get(f->db, "", &got));
	memset(st.etag, 'x', sizeof(st.etag));
	assert_int_equal(WARD_EINVAL, ward_catdb_feed_put(f->db, &st));
	memset(st.name, 'n', sizeof(st.name));
	assert_int_equal(WARD_EINVAL, ward_catdb_feed_put(f->db, &st));
}

/* A state stored before the rejection counters (version 1) still reads, with zeros; a
 * version 2 record may hold fewer counters than there are reasons, never more. */
static void test_feed_state_versions(void **state)
{
	(void)state;
	struct ward_catdb_feed_state st, got;
	uint8_t buf[WARD_CATDB_FEED_STATE_MAX];
	memset(&st, 0, sizeof(st));
	strcpy(st.name, "old-feed");
	st.entries = 7;
	int len = ward_catdb_feed_state_encode(&st, buf, sizeof(buf));
	assert_true(len > 0);
	assert_int_equal(buf[0], 2);
	assert_int_equal(buf[len - 1], 0); /* no counter set: a count of zero */
	buf[0] = 1;
	assert_int_equal(0, ward_catdb_feed_state_decode(buf, (size_t)len - 1, &got));
	assert_int_equal(got.entries, 7);
	assert_string_equal(got.name, "old-feed");
	for (int i = 0; i < WARD_CATDB_FEED_REJECTS; i++)
		assert_int_equal(got.rejected[i], 0);
	/* Version 1 with a tail, version 2 without one, or a count past the maximum. */
	assert_int_equal(WARD_EFORMAT, ward_catdb_feed_state_decode(buf, (size_t)len, &got));
	buf[0] = 2;
	assert_int_equal(WARD_EFORMAT, ward_catdb_feed_state_decode(buf, (size_t)len - 1, &got));
	buf[len - 1] = WARD_CATDB_FEED_REJECTS + 1;
	assert_int_equal(WARD_EFORMAT, ward_catdb_feed_state_decode(buf, (size_t)len, &got));

	st.rejected[WARD_REJECT_PUBLIC_SUFFIX] = 125;
	len = ward_catdb_feed_state_encode(&st, buf, sizeof(buf));
	assert_int_equal(0, ward_catdb_feed_state_decode(buf, (size_t)len, &got));
	assert_memory_equal(&st, &got, sizeof(st));
}

/* ---- corruption ------------------------------------------------------------------- */

/* Overwrite one value behind ward's back with the raw LMDB API. */
static void raw_put(const char *dir, const char *dbname, const char *key, const void *val,
		    size_t len)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	assert_int_equal(0, mdb_env_create(&env));
	assert_int_equal(0, mdb_env_set_maxdbs(env, 16));
	assert_int_equal(0, mdb_env_open(env, dir, 0, 0644));
	assert_int_equal(0, mdb_txn_begin(env, NULL, 0, &txn));
	assert_int_equal(0, mdb_dbi_open(txn, dbname, 0, &dbi));
	MDB_val k = { strlen(key), (void *)key }, v = { len, (void *)val };
	assert_int_equal(0, mdb_put(txn, dbi, &k, &v, 0));
	assert_int_equal(0, mdb_txn_commit(txn));
	mdb_env_close(env);
}

static void test_corrupted_values(void **state)
{
	struct fixture *f = *state;
	const struct entry e[] = {
		{ "ads.example.com", ADS, 1, SUB },
		{ "fine.org", ADULT, 1, SUB },
	};
	build(f->db, e, 2);
	close_db(f);
	/* a damaged filter costs speed, never answers */
	raw_put(f->dir, "meta", "bloom", "\x01\x07\0\0\xff\xff\xff\xff", 8);
	const uint8_t junk[] = { 0xff, 0x01, 0x02 };
	/* the first build filled `domains_b` and switched to it */
	raw_put(f->dir, "domains_b", "com.example.ads", junk, sizeof(junk));
	reopen_db(f);
	struct ward_catdb_reader *r;
	assert_int_equal(0, ward_catdb_reader_new(f->db, &r));
	struct ward_cat_match m;
	assert_int_equal(WARD_EDB, ward_cat_lookup(r, "x.ads.example.com", 17, &m));
	assert_false(m.found);
	assert_int_equal(0, ward_cat_lookup(r, "www.fine.org", 12, &m));
	assert_int_equal(ADULT, m.categories);
	ward_catdb_reader_free(r);

	struct ward_catdb_feed_state st = { .name = "feed" };
	assert_int_equal(0, ward_catdb_feed_put(f->db, &st));
	close_db(f);
	raw_put(f->dir, "feeds", "feed", "\x01\x02", 2);
	reopen_db(f);
	assert_int_equal(WARD_EFORMAT, ward_catdb_feed_get(f->db, "feed", &st));
}

/* ---- processes -------------------------------------------------------------------- */

static void write_full(int fd, const void *p, size_t n)
{
	assert_int_equal((ssize_t)n, write(fd, p, n));
}

static void read_full(int fd, void *p, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, (char *)p + got, n - got);
		assert_true(r > 0);
		got += (size_t)r;
	}
}

/* fork() for a test: the child gets a deadline so that a failing parent never leaves it
 * behind, and each side closes the pipe ends it does not use, so that a child that dies
 * makes the parent's read fail instead of hang. */
static pid_t fork_child(int up[2], int down[2])
{
	assert_int_equal(0, pipe(up));
	if (down)
		assert_int_equal(0, pipe(down));
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(60);
		close(up[0]);
		if (down)
			close(down[1]);
	} else {
		close(up[1]);
		if (down)
			close(down[0]);
	}
	return pid;
}

static void close_pipes(int up[2], int down[2])
{
	close(up[0]);
	if (down)
		close(down[1]);
}

/* What a child reader saw: per phase, whether old.com / new.com matched, and the
 * generation. */
struct seen {
	int32_t rc;
	uint8_t old_found[3], new_found[3];
	uint64_t gen[3];
};

static int child_look(struct ward_catdb_reader *r, struct seen *s, int phase)
{
	struct ward_cat_match m;
	int rc = ward_cat_lookup(r, "www.old.com", 11, &m);
	s->old_found[phase] = m.found;
	if (!rc)
		rc = ward_cat_lookup(r, "www.new.com", 11, &m);
	s->new_found[phase] = m.found;
	s->gen[phase] = ward_catdb_reader_generation(r);
	return rc;
}

/* Child: a reader opened before the rebuild. Phase 0 before it, 1 after the commit
 * without refresh, 2 after refresh. `small_map` opens with the smallest map LMDB allows,
 * so the rebuild outgrows it and the refresh must remap. */
static void reader_child(const char *dir, int to_parent, int from_parent, bool small_map)
{
	struct seen s;
	memset(&s, 0, sizeof(s));
	struct ward_catdb *db = NULL;
	struct ward_catdb_reader *r = NULL;
	char go;
	if (small_map)
		ward_catdb_test_set_mapsize(1);
	s.rc = ward_catdb_open(dir, WARD_CATDB_READ, &db);
	if (!s.rc)
		s.rc = ward_catdb_reader_new(db, &r);
	if (!s.rc)
		s.rc = child_look(r, &s, 0);
	write_full(to_parent, &go, 1);
	read_full(from_parent, &go, 1);
	if (!s.rc)
		s.rc = child_look(r, &s, 1);
	if (!s.rc)
		s.rc = ward_catdb_reader_refresh(r);
	if (!s.rc)
		s.rc = child_look(r, &s, 2);
	write_full(to_parent, &s, sizeof(s));
	ward_catdb_reader_free(r);
	ward_catdb_close(db);
	_exit(0);
}

static void reader_across_rebuild(struct fixture *f, bool small_map, unsigned extra)
{
	const struct entry first[] = { { "old.com", ADULT, 1, SUB } };
	build(f->db, first, 1);
	close_db(f);
	int up[2], down[2];
	pid_t pid = fork_child(up, down);
	if (pid == 0)
		reader_child(f->dir, up[1], down[0], small_map);
	char go;
	read_full(up[0], &go, 1);
	reopen_db(f);
	struct ward_catdb_build *b;
	assert_int_equal(0, ward_catdb_build_begin(f->db, true, &b));
	add(b, "new.com", ADS, 2, SUB);
	char name[64];
	for (unsigned i = 0; i < extra; i++) {
		size_t len = gen_name(i, name);
		assert_int_equal(0, ward_catdb_build_add(b, name, len, ADS, 2, SUB));
	}
	assert_int_equal(0, ward_catdb_build_commit(b));
	write_full(down[1], &go, 1);
	struct seen s;
	read_full(up[0], &s, sizeof(s));
	int status;
	assert_int_equal(pid, waitpid(pid, &status, 0));
	assert_int_equal(0, s.rc);
	assert_true(s.old_found[0] && !s.new_found[0] && s.gen[0] == 1);
	assert_true(s.old_found[1] && !s.new_found[1] && s.gen[1] == 1);
	assert_true(!s.old_found[2] && s.new_found[2] && s.gen[2] == 2);
	close_pipes(up, down);
}

static void test_reader_sees_rebuild_after_refresh(void **state)
{
	reader_across_rebuild(*state, false, 0);
}

static void test_reader_remaps_when_file_grows(void **state)
{
	reader_across_rebuild(*state, true, 30000);
}

/* LMDB opens a read-only environment without lock.mdb on a read-only file system (and
 * with MDB_NOLOCK); the writer could then not see our snapshot. Refused, not read. */
static void test_read_without_lock_refused(void **state)
{
	struct fixture *f = *state;
	struct ward_catdb *db;
	const struct entry e[] = { { "a.com", ADS, 1, 0 } };
	build(f->db, e, 1);
	close_db(f);
	ward_catdb_test_set_env_flags(MDB_NOLOCK);
	int rc = ward_catdb_open(f->dir, WARD_CATDB_READ, &db);
	ward_catdb_test_set_env_flags(0);
	assert_int_equal(WARD_EROFS, rc);
	assert_null(db);
	assert_int_equal(0, ward_catdb_open(f->dir, WARD_CATDB_READ, &db));
	ward_catdb_close(db);
	reopen_db(f);
}

static bool listed(struct ward_catdb_reader *r, const char *name)
{
	struct ward_cat_match m;
	assert_int_equal(0, ward_cat_lookup(r, name, strlen(name), &m));
	return m.found;
}

/* A released reader holds nothing and takes the newest build on its next use. */
static void test_released_reader_renews(void **state)
{
	struct fixture *f = *state;
	const struct entry gen1[] = { { "a.com", ADS, 1, 0 } };
	const struct entry gen2[] = { { "b.com", ADS, 1, 0 } };
	build(f->db, gen1, 1);
	struct ward_catdb_reader *r;
	assert_int_equal(0, ward_catdb_reader_new(f->db, &r));
	assert_true(listed(r, "a.com"));
	ward_catdb_reader_release(r);
	ward_catdb_reader_release(r); /* twice is harmless */
	ward_catdb_reader_release(NULL);
	build(f->db, gen2, 1);
	assert_true(listed(r, "b.com"));
	assert_false(listed(r, "a.com"));
	assert_int_equal(2, ward_catdb_reader_generation(r));
	ward_catdb_reader_release(r);
	char name[32];
	assert_int_equal(WARD_ENOTFOUND, ward_catdb_feed_name(r, 9, name, sizeof(name)));
	uint8_t wire[] = { 1, 'b', 3, 'c', 'o', 'm', 0 };
	struct ward_cat_match m;
	ward_catdb_reader_release(r);
	assert_int_equal(0, ward_cat_lookup_wire(r, wire, &m));
	assert_true(m.found);
	ward_catdb_reader_free(r);
}

static off_t data_size(const struct fixture *f)
{
	char path[128];
	struct stat st;
	snprintf(path, sizeof(path), "%s/data.mdb", f->dir);
	assert_int_equal(0, stat(path, &st));
	return st.st_size;
}

/* Build names from..from+n-1 (gen_name), every one blocked as ads with subdomains. */
static void build_generated(struct ward_catdb *db, unsigned from, unsigned n)
{
	struct ward_catdb_build *b;
	char name[64];
	assert_int_equal(0, ward_catdb_build_begin(db, true, &b));
	for (unsigned i = from; i < from + n; i++) {
		size_t len = gen_name(i, name);
		assert_int_equal(0, ward_catdb_build_add(b, name, len, ADS, 1, SUB));
	}
	assert_int_equal(0, ward_catdb_build_commit(b));
}

#define GROWTH_NAMES 50000u
#define GROWTH_BUILDS 8

/* Rebuilds that change the table reuse the pages the last table freed as long as no
 * reader holds an older snapshot: two copies of the table, whatever the number of
 * builds. A reader that keeps its snapshot makes every build add a copy (the control).
 * `changing`: the builds alternate between two lists with no name in common (as a feed
 * that switches lists); otherwise every build has the first build's list. */
static void rebuild_growth(struct fixture *f, bool release, bool changing, double *growth)
{
	build_generated(f->db, 0, GROWTH_NAMES);
	off_t first = data_size(f);
	struct ward_catdb_reader *r;
	assert_int_equal(0, ward_catdb_reader_new(f->db, &r));
	assert_true(listed(r, "n0.com"));
	if (release)
		ward_catdb_reader_release(r);
	for (unsigned i = 1; i <= GROWTH_BUILDS; i++)
		build_generated(f->db, changing ? (i % 2) * GROWTH_NAMES : 0, GROWTH_NAMES);
	*growth = (double)data_size(f) / (double)first;
	char name[64];
	gen_name(4, name); /* in the first list, which the last build has */
	assert_int_equal(0, ward_catdb_reader_refresh(r));
	assert_true(listed(r, name));
	gen_name(GROWTH_NAMES + 4, name);
	assert_false(listed(r, name));
	assert_int_equal(GROWTH_BUILDS + 1, ward_catdb_reader_generation(r));
	ward_catdb_reader_free(r);
}

static void test_released_reader_lets_pages_be_reused(void **state)
{
	double growth;
	rebuild_growth(*state, true, true, &growth);
	if (growth >= 2.5)
		fail_msg("data.mdb grew %.2fx over %d rebuilds with the reader released", growth,
			 GROWTH_BUILDS);
}

static void test_pinned_reader_grows_file(void **state)
{
	double growth;
	rebuild_growth(*state, false, true, &growth);
	if (growth < 5)
		fail_msg("control: a pinned snapshot should make every build add a copy (%.2fx)",
			 growth);
}

/*
 * A rebuild from the same entries writes no page of the table or the filter, only the
 * meta records, so the file keeps its size. With the reader released it grows by a page
 * or two at most (the free list's own records); even with a reader pinning the first snapshot (which makes every rewrite add a
 * full copy, the control above) only the few pages of each commit's meta records and
 * free list are added. The old code rewrote the table every time: 2x with the reader
 * released, 5x or more pinned.
 */
static void unchanged_growth(struct fixture *f, bool release, off_t *first, off_t *last)
{
	build_generated(f->db, 0, GROWTH_NAMES);
	*first = data_size(f);
	struct ward_catdb_reader *r;
	assert_int_equal(0, ward_catdb_reader_new(f->db, &r));
	assert_true(listed(r, "n0.com"));
	if (release)
		ward_catdb_reader_release(r);
	for (unsigned i = 1; i <= GROWTH_BUILDS; i++)
		build_generated(f->db, 0, GROWTH_NAMES);
	*last = data_size(f);
	assert_int_equal(0, ward_catdb_reader_refresh(r));
	assert_true(listed(r, "n0.com"));
	assert_int_equal(GROWTH_BUILDS + 1, ward_catdb_reader_generation(r));
	ward_catdb_reader_free(r);
	struct ward_catdb_meta meta;
	assert_int_equal(0, ward_catdb_meta_get(f->db, &meta));
	assert_int_equal(GROWTH_NAMES, meta.domains);
}

static void test_unchanged_rebuild_keeps_file_size(void **state)
{
	off_t first, last;
	unchanged_growth(*state, true, &first, &last);
	/* The first commits add a page or two for the free list's own records. */
	if (last - first > 4 * 4096)
		fail_msg("data.mdb went from %lld to %lld bytes over %d rebuilds of the same list",
			 (long long)first, (long long)last, GROWTH_BUILDS);
}

static void test_unchanged_rebuild_pinned_adds_no_copy(void **state)
{
	off_t first, last;
	unchanged_growth(*state, false, &first, &last);
	/* A handful of pages per commit, against about first / 4096 for a copy. */
	if (last - first > GROWTH_BUILDS * 16 * 4096)
		fail_msg("data.mdb went from %lld to %lld bytes over %d rebuilds of the same list "
			 "with a pinned reader", (long long)first, (long long)last, GROWTH_BUILDS);
	printf("  same list, pinned reader: %lld -> %lld bytes over %d rebuilds\n",
	       (long long)first, (long long)last, GROWTH_BUILDS);
}

/* One name more or one value changed is a change: the table is rewritten and readers
 * see it (the comparison does not stop at the keys). */
static void test_rebuild_sees_small_changes(void **state)
{
	struct fixture *f = *state;
	const struct entry base[] = {
		{ "a.com", ADS, 1, SUB }, { "b.com", ADS, 1, SUB },
	};
	const struct entry more[] = {
		{ "a.com", ADS, 1, SUB }, { "b.com", ADS, 1, SUB }, { "c.com", ADS, 1, SUB },
	};
	const struct entry other_cat[] = {
		{ "a.com", ADS, 1, SUB }, { "b.com", ADULT, 1, SUB }, { "c.com", ADS, 1, SUB },
	};
	struct ward_catdb_reader *r;
	struct ward_cat_match m;
	build(f->db, base, 2);
	assert_int_equal(0, ward_catdb_reader_new(f->db, &r));
	assert_false(listed(r, "c.com"));
	build(f->db, more, 3);
	assert_int_equal(0, ward_catdb_reader_refresh(r));
	assert_true(listed(r, "c.com"));
	build(f->db, other_cat, 3);
	assert_int_equal(0, ward_catdb_reader_refresh(r));
	assert_int_equal(0, ward_cat_lookup(r, "b.com", 5, &m));
	assert_true(m.categories == ADULT);
	build(f->db, base, 2);
	assert_int_equal(0, ward_catdb_reader_refresh(r));
	assert_false(listed(r, "c.com"));
	assert_int_equal(0, ward_cat_lookup(r, "b.com", 5, &m));
	assert_true(m.categories == ADS);
	ward_catdb_reader_free(r);
}

static void hang_on_put(void *ctx)
{
	int fd = *(int *)ctx;
	char c = 'p';
	if (write(fd, &c, 1) != 1)
		_exit(3);
	for (;;)
		pause();
}

/* The writer child has told us (a byte on up) that it hangs inside the build: kill it
 * there, as a crash or an OOM kill would. */
static void kill_hung_writer(pid_t pid, int up[2])
{
	char c;
	read_full(up[0], &c, 1);
	assert_int_equal(0, kill(pid, SIGKILL));
	int status;
	assert_int_equal(pid, waitpid(pid, &status, 0));
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	close_pipes(up, NULL);
}

static void test_kill_during_build(void **state)
{
	struct fixture *f = *state;
	const struct entry first[] = {
		{ "keep.com", ADULT, 1, SUB },
		{ "also.net", ADS, 1, 0 },
	};
	build(f->db, first, 2);
	close_db(f);
	int up[2];
	pid_t pid = fork_child(up, NULL);
	if (pid == 0) {
		struct ward_catdb *db;
		struct ward_catdb_build *b;
		if (ward_catdb_open(f->dir, WARD_CATDB_WRITE, &db) ||
		    ward_catdb_build_begin(db, true, &b))
			_exit(1);
		char name[64];
		for (unsigned i = 0; i < 50000; i++) {
			size_t len = gen_name(i, name);
			if (ward_catdb_build_add(b, name, len, GAMBLING, 2, SUB))
				_exit(2);
		}
		ward_catdb_test_on_put(20000, hang_on_put, &up[1]);
		ward_catdb_build_commit(b);
		_exit(4); /* never reached: the hook hangs until killed */
	}
	kill_hung_writer(pid, up);

	reopen_db(f);
	expect(f->db, "www.keep.com", ADULT, "keep.com", false);
	expect(f->db, "also.net", ADS, "also.net", true);
	char name[64];
	gen_name(7, name);
	expect(f->db, name, 0, NULL, false);
	struct ward_catdb_meta meta;
	assert_int_equal(0, ward_catdb_meta_get(f->db, &meta));
	assert_int_equal(1, meta.generation);
	assert_int_equal(2, meta.domains);
	/* the dead writer's lock went with it: the next build runs */
	const struct entry next[] = { { "next.org", ADS, 1, 0 } };
	build(f->db, next, 1);
	expect(f->db, "next.org", ADS, "next.org", true);
	expect(f->db, "keep.com", 0, NULL, false);
}

static void test_concurrent_builds(void **state)
{
	struct fixture *f = *state;
	struct ward_catdb_build *b1, *b2;
	assert_int_equal(0, ward_catdb_build_begin(f->db, true, &b1));
	assert_int_equal(WARD_EBUSY, ward_catdb_build_begin(f->db, true, &b2));
	ward_catdb_build_abort(b1);
	assert_int_equal(0, ward_catdb_build_begin(f->db, true, &b2));
	ward_catdb_build_abort(b2);

	/* and between processes */
	close_db(f);
	int up[2], down[2];
	pid_t pid = fork_child(up, down);
	if (pid == 0) {
		struct ward_catdb *db;
		struct ward_catdb_build *b;
		char c = 'b';
		if (ward_catdb_open(f->dir, WARD_CATDB_WRITE, &db) ||
		    ward_catdb_build_begin(db, true, &b))
			_exit(1);
		write_full(up[1], &c, 1);
		read_full(down[0], &c, 1);
		ward_catdb_build_add(b, "child.com", 9, ADS, 1, 0);
		_exit(ward_catdb_build_commit(b) == 0 ? 0 : 2);
	}
	char c = 'g';
	read_full(up[0], &c, 1);
	reopen_db(f);
	assert_int_equal(WARD_EBUSY, ward_catdb_build_begin(f->db, true, &b1));
	write_full(down[1], &c, 1);
	int status;
	assert_int_equal(pid, waitpid(pid, &status, 0));
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(0, ward_catdb_build_begin(f->db, true, &b1));
	ward_catdb_build_abort(b1);
	expect(f->db, "child.com", ADS, "child.com", true);
	close_pipes(up, down);
}

/* Threads of one process looking up and refreshing while another process's builds keep
 * growing the file past their map: every refresh that finds the map too small moves it
 * under the other threads, which must neither crash nor answer wrongly. */
#define GROW_THREADS 3

struct grow_worker {
	struct ward_catdb *db;
	atomic_int *stop;
	int errors;
	uint64_t lookups, generation;
};

static void *grow_worker_run(void *arg)
{
	struct grow_worker *w = arg;
	struct ward_catdb_reader *r;
	if (ward_catdb_reader_new(w->db, &r)) {
		w->errors++;
		return NULL;
	}
	struct ward_cat_match m;
	while (!atomic_load(w->stop)) {
		for (int i = 0; i < 50; i++, w->lookups++) {
			if (ward_cat_lookup(r, "www.old.com", 11, &m) || m.categories != ADULT)
				w->errors++;
		}
		if (ward_catdb_reader_refresh(r))
			w->errors++;
	}
	if (ward_catdb_reader_refresh(r))
		w->errors++;
	w->generation = ward_catdb_reader_generation(r);
	ward_catdb_reader_free(r);
	return NULL;
}

struct grow_report {
	int32_t rc, errors;
	uint64_t min_generation, lookups;
};

static void grow_child(const char *dir, int to_parent, int from_parent)
{
	struct grow_report rep = { 0 };
	struct ward_catdb *db;
	ward_catdb_test_set_mapsize(1);
	rep.rc = ward_catdb_open(dir, WARD_CATDB_READ, &db);
	char c = 'r';
	if (rep.rc) {
		write_full(to_parent, &c, 1);
		write_full(to_parent, &rep, sizeof(rep));
		_exit(0);
	}
	atomic_int stop = 0;
	struct grow_worker w[GROW_THREADS];
	pthread_t t[GROW_THREADS];
	for (int i = 0; i < GROW_THREADS; i++) {
		w[i] = (struct grow_worker){ .db = db, .stop = &stop };
		pthread_create(&t[i], NULL, grow_worker_run, &w[i]);
	}
	write_full(to_parent, &c, 1);
	read_full(from_parent, &c, 1);
	atomic_store(&stop, 1);
	rep.min_generation = UINT64_MAX;
	for (int i = 0; i < GROW_THREADS; i++) {
		pthread_join(t[i], NULL);
		rep.errors += w[i].errors;
		rep.lookups += w[i].lookups;
		if (w[i].generation < rep.min_generation)
			rep.min_generation = w[i].generation;
	}
	ward_catdb_close(db);
	write_full(to_parent, &rep, sizeof(rep));
	_exit(0);
}

static void test_threads_survive_remaps(void **state)
{
	struct fixture *f = *state;
	const struct entry first[] = { { "old.com", ADULT, 1, SUB } };
	build(f->db, first, 1);
	close_db(f);
	int up[2], down[2];
	pid_t pid = fork_child(up, down);
	if (pid == 0)
		grow_child(f->dir, up[1], down[0]);
	char c;
	read_full(up[0], &c, 1);
	reopen_db(f);
	char name[64];
	for (unsigned round = 1; round <= 8; round++) {
		struct ward_catdb_build *b;
		assert_int_equal(0, ward_catdb_build_begin(f->db, true, &b));
		add(b, "old.com", ADULT, 1, SUB);
		for (unsigned i = 0; i < 15000 * round; i++) {
			size_t len = gen_name(i, name);
			assert_int_equal(0, ward_catdb_build_add(b, name, len, ADS, 2, SUB));
		}
		assert_int_equal(0, ward_catdb_build_commit(b));
		usleep(20000);
	}
	write_full(down[1], &c, 1);
	struct grow_report rep;
	read_full(up[0], &rep, sizeof(rep));
	int status;
	assert_int_equal(pid, waitpid(pid, &status, 0));
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(0, rep.rc);
	assert_int_equal(0, rep.errors);
	assert_true(rep.lookups > 0);
	assert_int_equal(9, rep.min_generation);
	close_pipes(up, down);
}

/* ---- bounded builds (sorted runs, fills over several commits) ---------------------- */

/* Every name twice, from two feeds and in two halves of the input far apart, so that with
 * small runs each name's entries sit in different runs: the k-way merge joins them. */
static void test_runs_merge_across_runs(void **state)
{
	struct fixture *f = *state;
	ward_catdb_test_set_bounds(64 << 10, 16 << 10);
	const unsigned n = 20000;
	struct ward_catdb_build *b;
	assert_int_equal(0, ward_catdb_build_begin(f->db, true, &b));
	char name[64];
	for (unsigned pass = 0; pass < 2; pass++) {
		for (unsigned k = 0; k < n; k++) {
			unsigned i = (unsigned)(((uint64_t)k * 7919) % n);
			size_t len = gen_name(i, name);
			ward_catset cats = pass ? ADS : gen_cats(i);
			assert_int_equal(0, ward_catdb_build_add(b, name, len, cats,
								 (uint16_t)(1 + pass), SUB));
		}
	}
	assert_int_equal(0, ward_catdb_build_commit(b));
	struct ward_catdb_reader *r;
	assert_int_equal(0, ward_catdb_reader_new(f->db, &r));
	struct ward_cat_match m;
	const uint16_t both[] = { 1, 2 };
	for (unsigned i = 0; i < n; i++) {
		size_t len = gen_name(i, name);
		assert_int_equal(0, ward_cat_lookup(r, name, len, &m));
		assert_int_equal(gen_cats(i) | ADS, m.categories);
		assert_true(feeds_equal(&m, both, 2));
	}
	ward_catdb_reader_free(r);
	struct ward_catdb_meta meta;
	assert_int_equal(0, ward_catdb_meta_get(f->db, &meta));
	assert_int_equal(n, meta.domains);
	assert_int_equal(2 * n, meta.entries);
}

static long vm_hwm_kb(void)
{
	FILE *fp = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	while (fp && fgets(line, sizeof(line), fp))
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	if (fp)
		fclose(fp);
	return kb;
}

/* The memory a build adds is bounded by the runs and the commit size, not by the number
 * of names: 400000 names (15 MB of entries held at once before, then 17 MB of dirty
 * table pages) build in about 4.5 MB above the process's size before with 1 MB runs and
 * commits. */
static void test_build_memory_bounded(void **state)
{
	struct fixture *f = *state;
	int up[2];
	pid_t pid = fork_child(up, NULL);
	if (pid == 0) {
		ward_catdb_test_set_bounds(1 << 20, 1 << 20);
		struct ward_catdb_build *b;
		char name[64];
		if (ward_catdb_build_begin(f->db, true, &b))
			_exit(1);
		int fd = open("/proc/self/clear_refs", O_WRONLY); /* 5: reset the peak */
		if (fd < 0 || write(fd, "5", 1) != 1)
			_exit(2);
		close(fd);
		long before = vm_hwm_kb();
		for (unsigned i = 0; i < 400000; i++) {
			size_t len = gen_name(i, name);
			if (ward_catdb_build_add(b, name, len, gen_cats(i), 1, SUB))
				_exit(3);
		}
		if (ward_catdb_build_commit(b))
			_exit(4);
		long grew = vm_hwm_kb() - before;
		write_full(up[1], &grew, sizeof(grew));
		_exit(0);
	}
	long grew = -1;
	read_full(up[0], &grew, sizeof(grew));
	int status;
	assert_int_equal(pid, waitpid(pid, &status, 0));
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close_pipes(up, NULL);
	printf("  400000 names with 1 MB runs and commits: peak RSS +%ld KiB\n", grew);
	assert_true(grew >= 0);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
	/* (sanitizers' shadow memory and quarantine of freed blocks add their own, and so
	 * does qemu-user's translator under make test-cross, which sets the time scale) */
	if (!getenv("WARD_TEST_TIME_SCALE"))
		assert_true(grew < 8 * 1024);
#endif
	expect(f->db, "n4.xyz", gen_cats(4), "n4.xyz", true);
}

struct sentinel_report {
	int32_t rc;
	uint32_t errors;
	uint64_t lookups, min_gen, max_gen;
};

/* Child: renew the snapshot and look up the first and the last name in key order until
 * told to stop; both must answer, with the same category (one build's), every time. */
static void sentinel_child(const char *dir, int to_parent, int from_parent)
{
	struct sentinel_report rep = { .min_gen = UINT64_MAX };
	struct ward_catdb *db;
	struct ward_catdb_reader *r = NULL;
	rep.rc = ward_catdb_open(dir, WARD_CATDB_READ, &db);
	if (!rep.rc)
		rep.rc = ward_catdb_reader_new(db, &r);
	char c = 'r';
	write_full(to_parent, &c, 1);
	fcntl(from_parent, F_SETFL, O_NONBLOCK);
	bool stop = false;
	while (!rep.rc && !stop) {
		stop = read(from_parent, &c, 1) == 1; /* one more round after the last build */
		struct ward_cat_match a, z;
		int rc = ward_catdb_reader_refresh(r);
		if (!rc)
			rc = ward_cat_lookup(r, "x.first.aaa", 11, &a);
		if (!rc)
			rc = ward_cat_lookup(r, "x.last.zzz", 10, &z);
		if (rc || !a.found || !z.found || a.categories != z.categories)
			rep.errors++;
		uint64_t g = ward_catdb_reader_generation(r);
		rep.min_gen = g < rep.min_gen ? g : rep.min_gen;
		rep.max_gen = g > rep.max_gen ? g : rep.max_gen;
		rep.lookups++;
	}
	ward_catdb_reader_free(r);
	ward_catdb_close(db);
	write_full(to_parent, &rep, sizeof(rep));
	_exit(0);
}

static void build_with_sentinels(struct ward_catdb *db, unsigned n, ward_catset cats)
{
	struct ward_catdb_build *b;
	assert_int_equal(0, ward_catdb_build_begin(db, true, &b));
	add(b, "last.zzz", cats, 1, SUB);
	char name[64];
	for (unsigned i = 0; i < n; i++) {
		size_t len = gen_name(i, name);
		assert_int_equal(0, ward_catdb_build_add(b, name, len, cats, 1, SUB));
	}
	add(b, "first.aaa", cats, 1, SUB);
	assert_int_equal(0, ward_catdb_build_commit(b));
}

/* A fill spans many commits (16 KiB each here); a reader in another process that renews
 * its snapshot all the time still sees one whole table, the old or the new, never a half:
 * the first and the last key always answer, from the same build. */
static void test_reader_never_sees_partial_table(void **state)
{
	struct fixture *f = *state;
	build_with_sentinels(f->db, 100, ADULT);
	close_db(f);
	int up[2], down[2];
	pid_t pid = fork_child(up, down);
	if (pid == 0)
		sentinel_child(f->dir, up[1], down[0]);
	char c;
	read_full(up[0], &c, 1);
	reopen_db(f);
	ward_catdb_test_set_bounds(64 << 10, 16 << 10);
	for (unsigned round = 0; round < 6; round++)
		build_with_sentinels(f->db, 20000 + round, round % 2 ? ADULT : ADS);
	write_full(down[1], &c, 1);
	struct sentinel_report rep;
	read_full(up[0], &rep, sizeof(rep));
	int status;
	assert_int_equal(pid, waitpid(pid, &status, 0));
	close_pipes(up, down);
	printf("  %llu lookups over generations %llu..%llu\n", (unsigned long long)rep.lookups,
	       (unsigned long long)rep.min_gen, (unsigned long long)rep.max_gen);
	assert_int_equal(0, rep.rc);
	assert_int_equal(0, rep.errors);
	assert_true(rep.lookups > 0 && rep.max_gen == 7);
}

/* A build killed after `puts` names of its fill (several commits in, with 16 KiB
 * commits); the parent checks the old table. */
static void kill_fill_at(struct fixture *f, size_t puts)
{
	close_db(f);
	int up[2];
	pid_t pid = fork_child(up, NULL);
	if (pid == 0) {
		struct ward_catdb *db;
		struct ward_catdb_build *b;
		ward_catdb_test_set_bounds(64 << 10, 16 << 10);
		if (ward_catdb_open(f->dir, WARD_CATDB_WRITE, &db) ||
		    ward_catdb_build_begin(db, true, &b))
			_exit(1);
		char name[64];
		for (unsigned i = 0; i < 30000; i++) {
			size_t len = gen_name(i, name);
			if (ward_catdb_build_add(b, name, len, GAMBLING, 2, SUB))
				_exit(2);
		}
		ward_catdb_test_on_put(puts, hang_on_put, &up[1]);
		ward_catdb_build_commit(b);
		_exit(4);
	}
	kill_hung_writer(pid, up);
	reopen_db(f);
	expect(f->db, "www.keep.com", ADULT, "keep.com", false);
	char name[64];
	gen_name(7, name);
	expect(f->db, name, 0, NULL, false);
	struct ward_catdb_meta meta;
	assert_int_equal(0, ward_catdb_meta_get(f->db, &meta));
	assert_int_equal(1, meta.generation);
	assert_int_equal(1, meta.domains);
}

/* Killed at any commit of a fill, the database still answers from the old table; the
 * next build drops the partial one, so repeated crashes do not grow the file. */
static void test_kill_at_each_fill_commit(void **state)
{
	struct fixture *f = *state;
	const struct entry first[] = { { "keep.com", ADULT, 1, SUB } };
	build(f->db, first, 1);
	const size_t points[] = { 0, 1, 700, 5000, 17000, 29999 };
	for (size_t i = 0; i < sizeof(points) / sizeof(*points); i++)
		kill_fill_at(f, points[i]);
	off_t sizes[4];
	for (int i = 0; i < 4; i++) {
		kill_fill_at(f, 25000);
		sizes[i] = data_size(f);
	}
	printf("  data.mdb after repeated kills: %lld %lld %lld %lld bytes\n",
	       (long long)sizes[0], (long long)sizes[1], (long long)sizes[2],
	       (long long)sizes[3]);
	assert_true(sizes[3] <= sizes[1]);
	ward_catdb_test_set_bounds(64 << 10, 16 << 10);
	const struct entry next[] = { { "next.org", ADS, 1, 0 } };
	build(f->db, next, 1);
	expect(f->db, "next.org", ADS, "next.org", true);
	expect(f->db, "keep.com", 0, NULL, false);
}

/* Turn the database into the layout an older ward wrote (schema 1: the domains in
 * `domains`, no `domains_b`, no domains_table), keeping the current entries. */
static void make_v1_layout(const char *dir)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi a, b, meta;
	MDB_cursor *cur;
	MDB_val k, v;
	assert_int_equal(0, mdb_env_create(&env));
	assert_int_equal(0, mdb_env_set_maxdbs(env, 16));
	assert_int_equal(0, mdb_env_set_mapsize(env, (size_t)1 << 30));
	assert_int_equal(0, mdb_env_open(env, dir, 0, 0644));
	assert_int_equal(0, mdb_txn_begin(env, NULL, 0, &txn));
	assert_int_equal(0, mdb_dbi_open(txn, "domains", 0, &a));
	assert_int_equal(0, mdb_dbi_open(txn, "domains_b", 0, &b));
	assert_int_equal(0, mdb_dbi_open(txn, "meta", 0, &meta));
	assert_int_equal(0, mdb_cursor_open(txn, b, &cur));
	while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0)
		assert_int_equal(0, mdb_put(txn, a, &k, &v, 0));
	mdb_cursor_close(cur);
	assert_int_equal(0, mdb_drop(txn, b, 1));
	k = (MDB_val){ strlen("domains_table"), "domains_table" };
	assert_int_equal(0, mdb_del(txn, meta, &k, NULL));
	uint8_t one[8] = { 1 };
	k = (MDB_val){ strlen("schema_version"), "schema_version" };
	v = (MDB_val){ sizeof(one), one };
	assert_int_equal(0, mdb_put(txn, meta, &k, &v, 0));
	assert_int_equal(0, mdb_txn_commit(txn));
	mdb_env_close(env);
}

/* A database an older ward wrote is read as it is; a wardd that opened it before this
 * version's first build fails closed (never answers from the empty `domains`) until it
 * opens `domains_b`, then answers from the new table. */
static void test_old_layout_database(void **state)
{
	struct fixture *f = *state;
	const struct entry first[] = { { "old.com", ADULT, 1, SUB } };
	build(f->db, first, 1);
	close_db(f);
	make_v1_layout(f->dir);
	struct ward_catdb *db;
	struct ward_catdb_reader *r;
	struct ward_cat_match m;
	assert_int_equal(0, ward_catdb_open(f->dir, WARD_CATDB_READ, &db));
	assert_int_equal(0, ward_catdb_reader_new(db, &r));
	assert_int_equal(0, ward_cat_lookup(r, "www.old.com", 11, &m));
	assert_int_equal(ADULT, m.categories);
	assert_int_equal(WARD_ENOTFOUND, ward_catdb_open_domains_b(db));
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct ward_catdb *w;
		struct ward_catdb_build *b;
		if (ward_catdb_open(f->dir, WARD_CATDB_WRITE, &w) ||
		    ward_catdb_build_begin(w, true, &b) ||
		    ward_catdb_build_add(b, "new.com", 7, ADS, 1, WARD_ENTRY_SUBDOMAINS) ||
		    ward_catdb_build_commit(b))
			_exit(1);
		ward_catdb_close(w);
		_exit(0);
	}
	int status;
	assert_int_equal(pid, waitpid(pid, &status, 0));
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(0, ward_catdb_reader_refresh(r));
	assert_int_equal(WARD_EDB, ward_cat_lookup(r, "www.new.com", 11, &m));
	assert_int_equal(WARD_EDB, ward_cat_lookup(r, "www.old.com", 11, &m));
	assert_int_equal(0, ward_catdb_open_domains_b(db));
	assert_int_equal(0, ward_catdb_reader_refresh(r));
	assert_int_equal(0, ward_cat_lookup(r, "www.new.com", 11, &m));
	assert_int_equal(ADS, m.categories);
	assert_int_equal(0, ward_cat_lookup(r, "www.old.com", 11, &m));
	assert_false(m.found);
	ward_catdb_reader_free(r);
	ward_catdb_close(db);
	reopen_db(f);
	struct ward_catdb_meta meta;
	assert_int_equal(0, ward_catdb_meta_get(f->db, &meta));
	assert_int_equal(2, meta.schema_version);
}

/* wardd's housekeeping, as in resolver/main.c: open tables that appeared, every 500 ms. */
struct housekeeping {
	struct ward_catdb *db;
	atomic_bool stop;
};

static void *housekeeping_thread(void *arg)
{
	struct housekeeping *h = arg;
	while (!atomic_load(&h->stop)) {
		ward_catdb_open_domains_b(h->db);
		nanosleep(&(struct timespec){ 0, 500000000 }, NULL);
	}
	return NULL;
}

static pid_t fork_build_new_com(const char *dir)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	struct ward_catdb *w;
	struct ward_catdb_build *b;
	if (ward_catdb_open(dir, WARD_CATDB_WRITE, &w) || ward_catdb_build_begin(w, true, &b) ||
	    ward_catdb_build_add(b, "new.com", 7, ADS, 1, WARD_ENTRY_SUBDOMAINS) ||
	    ward_catdb_build_commit(b))
		_exit(1);
	ward_catdb_close(w);
	_exit(0);
}

/* The first build after an upgrade waits before it switches to the table it added, so
 * that a wardd running on the database (READ, housekeeping every 500 ms) has opened that
 * table by then: no lookup fails in between. Without the wait the switch lands within
 * milliseconds of the table's creation and the reader fails closed until its next
 * housekeeping. */
static void test_upgrade_switch_waits_for_running_readers(void **state)
{
	struct fixture *f = *state;
	const struct entry first[] = { { "old.com", ADULT, 1, SUB } };
	build(f->db, first, 1);
	close_db(f);
	make_v1_layout(f->dir);
	struct housekeeping h = { .stop = false };
	struct ward_catdb_reader *r;
	struct ward_cat_match m;
	assert_int_equal(0, ward_catdb_open(f->dir, WARD_CATDB_READ, &h.db));
	assert_int_equal(0, ward_catdb_reader_new(h.db, &r));
	pid_t pid = fork_build_new_com(f->dir); /* before the thread: fork copies only one */
	assert_true(pid >= 0);
	pthread_t t;
	assert_int_equal(0, pthread_create(&t, NULL, housekeeping_thread, &h));
	unsigned failed = 0, lookups = 0;
	bool switched = false;
	for (int i = 0; i < 20000 && !switched; i++, lookups++) {
		assert_int_equal(0, ward_catdb_reader_refresh(r));
		int rc = ward_cat_lookup(r, "www.new.com", 11, &m);
		failed += rc != 0;
		switched = rc == 0 && m.found;
		nanosleep(&(struct timespec){ 0, 500000 }, NULL);
	}
	int status;
	assert_int_equal(pid, waitpid(pid, &status, 0));
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	atomic_store(&h.stop, true);
	pthread_join(t, NULL);
	assert_true(switched);
	assert_int_equal(0, failed);
	assert_true(lookups > 100);
	ward_catdb_reader_free(r);
	ward_catdb_close(h.db);
	reopen_db(f);
}

/* The builder's database exported (compacted copy) to dir/name. */
static void export_to(struct ward_catdb *db, const char *dir, const char *name, char *path)
{
	sprintf(path, "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(0, ward_catdb_copy_compact(db, fd));
	close(fd);
}

/* A snapshot installs through the same bounded fill and switch as a build, whichever
 * table the builder's readers used (domains_b, domains, or an older ward's layout) and
 * whichever the node's use. */
static void test_install_snapshot_any_table(void **state)
{
	struct fixture *f = *state;
	const struct entry node[] = { { "node.com", ADULT, 1, SUB } };
	build(f->db, node, 1);
	char src[64], snap[3][128];
	strcpy(src, "/tmp/ward-test-catdb-src-XXXXXX");
	assert_non_null(mkdtemp(src));
	struct ward_catdb *b;
	assert_int_equal(0, ward_catdb_open(src, WARD_CATDB_WRITE, &b));
	const char *names[] = { "one.com", "two.com" };
	for (int i = 0; i < 2; i++) { /* the builder's table: domains_b, then domains */
		struct entry e[300];
		char buf[300][32];
		e[0] = (struct entry){ names[i], ADS, 1, SUB };
		for (int j = 1; j < 300; j++) {
			sprintf(buf[j], "filler%d-%d.net", i, j);
			e[j] = (struct entry){ buf[j], ADS, 1, SUB };
		}
		build(b, e, 300);
		export_to(b, f->dir, i ? "snap1" : "snap0", snap[i]);
	}
	ward_catdb_close(b);
	make_v1_layout(src); /* an older ward's builder: "two.com" in `domains`, schema 1 */
	assert_int_equal(0, ward_catdb_open(src, WARD_CATDB_READ, &b));
	export_to(b, f->dir, "snap2", snap[2]);
	ward_catdb_close(b);
	nftw(src, rm_entry, 8, FTW_DEPTH | FTW_PHYS);

	ward_catdb_test_set_bounds(0, 1 << 10); /* commits of 1 KiB: many of them */
	const char *expect_name[] = { "one.com", "two.com", "two.com" };
	for (int i = 0; i < 3; i++) {
		assert_int_equal(0, ward_catdb_install_snapshot(f->db, snap[i], 100 + i));
		expect(f->db, expect_name[i], ADS, expect_name[i], true);
		expect(f->db, "filler1-7.net", i ? ADS : 0, i ? "filler1-7.net" : NULL, true);
		expect(f->db, "node.com", 0, NULL, false);
		uint64_t at;
		assert_int_equal(0, ward_catdb_snapshot_exported_at(f->db, &at));
		assert_int_equal(100 + i, at);
		struct ward_catdb_meta meta;
		assert_int_equal(0, ward_catdb_meta_get(f->db, &meta));
		assert_int_equal(2, meta.schema_version);
		assert_int_equal(300, meta.domains);
	}
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN); /* a dead child must fail the test, not kill it */
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_exact_vs_subdomains),
		T(test_tld_entries),
		T(test_allow_exempts_parent_block),
		T(test_several_feeds_same_name),
		T(test_most_specific_explains),
		T(test_lookup_wire_any_case),
		T(test_invalid_names),
		T(test_rebuild_replaces_table),
		T(test_meta_totals),
		T(test_read_mode),
		T(test_large_build_every_name),
		T(test_build_grows_map),
		T(test_real_feeds),
		T(test_feed_state_roundtrip),
		cmocka_unit_test(test_feed_state_versions),
		T(test_corrupted_values),
		T(test_reader_sees_rebuild_after_refresh),
		T(test_reader_remaps_when_file_grows),
		T(test_kill_during_build),
		T(test_concurrent_builds),
		T(test_threads_survive_remaps),
		T(test_read_without_lock_refused),
		T(test_released_reader_renews),
		T(test_released_reader_lets_pages_be_reused),
		T(test_pinned_reader_grows_file),
		T(test_unchanged_rebuild_keeps_file_size),
		T(test_unchanged_rebuild_pinned_adds_no_copy),
		T(test_rebuild_sees_small_changes),
		T(test_runs_merge_across_runs),
		T(test_build_memory_bounded),
		T(test_reader_never_sees_partial_table),
		T(test_kill_at_each_fill_commit),
		T(test_old_layout_database),
		T(test_upgrade_switch_waits_for_running_readers),
		T(test_install_snapshot_any_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
