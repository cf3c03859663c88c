/*
 * The query log's store (blocklists/qlog.h) and the top-names sketch (resolver/topnames.h)
 * on their own: the record layout and what the decoder refuses, anonymization, appends
 * and filtered reads in a real LMDB environment, keys that only grow, retention, the size
 * bound, and the sketch's counts and 24-hour window.
 */
#include <dirent.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "blocklists/error.h"
#include "blocklists/qlog.h"
#include "resolver/topnames.h"

#define NOW 1800000000

static void wire(const char *name, uint8_t *out)
{
	size_t n = ward_name_from_text(name, out, WARD_WIRE_NAME_MAX);
	assert_true(n > 0);
}

static struct ward_qlog_entry entry(const char *name, int64_t t, int verdict, const char *ip)
{
	struct ward_qlog_entry e;
	memset(&e, 0, sizeof(e));
	e.time = t;
	e.verdict = (uint8_t)verdict;
	e.qtype = 1;
	e.latency_ms = 12;
	e.categories = 1u << 5;
	assert_int_equal(0, ward_qlog_client_parse(ip, e.client));
	snprintf(e.profile, sizeof(e.profile), "kids");
	e.feed_id = 7;
	wire(name, e.name);
	return e;
}

static void test_layout_round_trip(void **state)
{
	uint8_t buf[WARD_QLOG_VALUE_MAX];
	struct ward_qlog_entry e = entry("casino.example", NOW, WARD_VERDICT_BLOCKED, "10.0.0.9"), d;
	e.flags = WARD_QLOG_HAS_MAC;
	memcpy(e.mac, "\xaa\xbb\xcc\xdd\xee\x01", 6);
	size_t n = ward_qlog_encode(&e, buf, sizeof(buf));
	assert_true(n > 35);
	assert_int_equal(0, ward_qlog_decode(buf, n, &d));
	assert_int_equal(d.verdict, WARD_VERDICT_BLOCKED);
	assert_int_equal(d.latency_ms, 12);
	assert_int_equal(d.categories, 1u << 5);
	assert_memory_equal(d.client, e.client, 16);
	assert_memory_equal(d.mac, e.mac, 6);
	assert_string_equal(d.profile, "kids");
	assert_int_equal(d.feed_id, 7);
	assert_string_equal(d.feed, ""); /* named by a reader that asks the database */
	assert_memory_equal(d.name, e.name, 16);
	/* Damaged records are refused, never read past. */
	for (size_t cut = 0; cut < n; cut++)
		assert_int_equal(WARD_EFORMAT, ward_qlog_decode(buf, cut, &d));
	uint8_t bad[WARD_QLOG_VALUE_MAX + 1];
	memcpy(bad, buf, n);
	bad[n] = 0;
	assert_int_equal(WARD_EFORMAT, ward_qlog_decode(bad, n + 1, &d)); /* trailing byte */
	bad[0] = 2;
	assert_int_equal(WARD_EFORMAT, ward_qlog_decode(bad, n, &d));     /* version */
	memcpy(bad, buf, n);
	bad[4] |= 0x80;
	assert_int_equal(WARD_EFORMAT, ward_qlog_decode(bad, n, &d));     /* flags */
	memcpy(bad, buf, n);
	bad[35 + 6 + 1] = '\n';
	assert_int_equal(WARD_EFORMAT, ward_qlog_decode(bad, n, &d));     /* control byte */
	memcpy(bad, buf, n);
	bad[n - 16] = 64;                                                 /* a label of 64 */
	assert_int_equal(WARD_EFORMAT, ward_qlog_decode(bad, n, &d));
}

static void count_one(void *ctx, const struct ward_qlog_entry *e)
{
	(*(size_t *)ctx)++;
}

static void test_fuzz_seeds_decode(void **state)
{
	size_t frames = 0;
	char dir[4096], path[4600];
	uint8_t buf[1024];
	struct ward_qlog_entry e;
	const char *data = getenv("WARD_TEST_DATA");
	snprintf(dir, sizeof(dir), "%s/../fuzz/qlog.in", data ? data : "tests/data");
	DIR *d = opendir(dir);
	assert_non_null(d);
	unsigned n = 0;
	for (struct dirent *de; (de = readdir(d));) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		FILE *f = fopen(path, "rb");
		assert_non_null(f);
		size_t len = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		/* The first byte picks what the fuzz target reads: a value, or frames. */
		if (buf[0] == 0 && ward_qlog_decode(buf + 1, len - 1, &e) != 0)
			fail_msg("seed %s does not decode", de->d_name);
		if (buf[0] == 1 && ward_qlog_parse(buf + 1, len - 1, count_one, &frames) == 0)
			fail_msg("seed %s holds no frame", de->d_name);
		n++;
	}
	closedir(d);
	assert_true(n >= 7);
	assert_int_equal(frames, 4); /* two seeds of two whole frames each (one torn tail) */
}

static void test_anonymize(void **state)
{
	uint8_t a[16], want[16];
	ward_qlog_client_parse("192.168.1.77", a);
	ward_qlog_anonymize(a);
	ward_qlog_client_parse("192.168.1.0", want);
	assert_memory_equal(a, want, 16);
	ward_qlog_client_parse("2001:db8:1:2:3:4:5:6", a);
	ward_qlog_anonymize(a);
	ward_qlog_client_parse("2001:db8:1::", want);
	assert_memory_equal(a, want, 16);
}

/* ---- the store -------------------------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static char *tmp_log(void)
{
	static char dir[64];
	strcpy(dir, "/tmp/ward-test-qlog-XXXXXX");
	assert_non_null(mkdtemp(dir));
	strcat(dir, "/log");
	return dir;
}

static void remove_log(const char *dir)
{
	char parent[64];
	snprintf(parent, sizeof(parent), "%s", dir);
	*strrchr(parent, '/') = '\0';
	nftw(parent, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static struct ward_qlog_write writing(int64_t now)
{
	struct ward_qlog_write st = {.now = now, .retention_days = 7};
	return st;
}

/* Frame the entries and append them as the log writer does. */
static int append(struct ward_qlog *log, const struct ward_qlog_entry *e, size_t n,
		  struct ward_qlog_write *st)
{
	uint8_t *buf = malloc(n * WARD_QLOG_FRAME_MAX + 1);
	size_t len = 0;
	for (size_t i = 0; i < n; i++)
		len += ward_qlog_frame(&e[i], buf + len, WARD_QLOG_FRAME_MAX);
	int rc = ward_qlog_append(log, buf, len, st);
	free(buf);
	return rc;
}

static void test_append_and_filter(void **state)
{
	char *dir = tmp_log();
	struct ward_qlog *log, *ro, *second;
	struct ward_qlog_result r;
	assert_int_equal(WARD_ENOTFOUND, ward_qlog_open(dir, false, 0, &ro));
	assert_int_equal(0, ward_qlog_open(dir, true, 1 << 20, &log));
	assert_int_equal(WARD_EBUSY, ward_qlog_open(dir, true, 1 << 20, &second));
	struct ward_qlog_entry e[4] = {
		entry("a.example", NOW, WARD_VERDICT_BLOCKED, "10.0.0.1"),
		entry("b.example", NOW + 10, WARD_VERDICT_FORWARDED, "10.0.0.2"),
		entry("c.example", NOW + 5, WARD_VERDICT_BLOCKED, "10.0.0.1"), /* clock stepped back */
		entry("d.example", NOW + 20, WARD_VERDICT_CACHED, "10.0.0.1"),
	};
	snprintf(e[3].profile, sizeof(e[3].profile), "adults");
	struct ward_qlog_write st = writing(NOW + 20);
	assert_int_equal(0, append(log, e, 4, &st));
	assert_int_equal(st.written, 4);
	struct ward_qlog_filter all = {.verdict = -1};
	assert_int_equal(0, ward_qlog_query(log, &all, &r));
	assert_int_equal(r.n, 4);
	const char *order[] = {"\1d", "\1c", "\1b", "\1a"}; /* newest written first */
	for (size_t i = 0; i < 4; i++)
		assert_memory_equal(r.entries[i].name, order[i], 2);
	free(r.entries);
	struct ward_qlog_filter f = {.verdict = WARD_VERDICT_BLOCKED, .has_client = true};
	ward_qlog_client_parse("10.0.0.1", f.client);
	assert_int_equal(0, ward_qlog_query(log, &f, &r));
	assert_int_equal(r.n, 2);
	free(r.entries);
	struct ward_qlog_filter p = {.verdict = -1, .profile = "adults", .since = NOW + 15};
	assert_int_equal(0, ward_qlog_query(log, &p, &r));
	assert_int_equal(r.n, 1);
	free(r.entries);
	struct ward_qlog_filter lim = {.verdict = -1, .limit = 2, .until = NOW + 20};
	assert_int_equal(0, ward_qlog_query(log, &lim, &r));
	assert_int_equal(r.n, 2);   /* c and b: d is at `until`, excluded */
	assert_true(r.truncated);   /* a matched too */
	assert_memory_equal(r.entries[0].name, "\1c", 2);
	free(r.entries);
	ward_qlog_close(log);
	assert_int_equal(0, ward_qlog_open(dir, false, 0, &ro));
	assert_int_equal(0, ward_qlog_query(ro, &all, &r));
	assert_int_equal(r.n, 4);
	free(r.entries);
	ward_qlog_close(ro);
	remove_log(dir);
}

/* A crash in the middle of a write leaves a torn frame: readers stop before it, and the
 * next writer cuts it off and goes on behind the last whole record. */
static void test_torn_tail(void **state)
{
	char *dir = tmp_log(), path[512];
	struct ward_qlog *log;
	struct ward_qlog_result r;
	struct ward_qlog_filter all = {.verdict = -1};
	struct ward_qlog_entry e = entry("a.example", NOW, WARD_VERDICT_BLOCKED, "10.0.0.1");
	struct ward_qlog_write st = writing(NOW);
	assert_int_equal(0, ward_qlog_open(dir, true, 1 << 20, &log));
	assert_int_equal(0, append(log, &e, 1, &st));
	ward_qlog_close(log);
	DIR *d = opendir(dir);
	struct dirent *de;
	while ((de = readdir(d)) && !strstr(de->d_name, ".qlog"))
		;
	snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
	closedir(d);
	FILE *f = fopen(path, "ab");
	fwrite("\0\x60\0\0\0\0", 1, 6, f); /* a frame of 96 bytes that never came */
	fclose(f);
	assert_int_equal(0, ward_qlog_open(dir, false, 0, &log));
	assert_int_equal(0, ward_qlog_query(log, &all, &r));
	assert_int_equal(r.n, 1);
	free(r.entries);
	ward_qlog_close(log);
	assert_int_equal(0, ward_qlog_open(dir, true, 1 << 20, &log));
	e = entry("b.example", NOW + 1, WARD_VERDICT_BLOCKED, "10.0.0.1");
	assert_int_equal(0, append(log, &e, 1, &st));
	assert_int_equal(0, ward_qlog_query(log, &all, &r));
	assert_int_equal(r.n, 2);
	assert_memory_equal(r.entries[0].name, "\1b", 2);
	free(r.entries);
	ward_qlog_close(log);
	remove_log(dir);
}

static void test_retention(void **state)
{
	char *dir = tmp_log();
	struct ward_qlog *log;
	struct ward_qlog_result r;
	struct ward_qlog_filter all = {.verdict = -1};
	assert_int_equal(0, ward_qlog_open(dir, true, 1 << 20, &log));
	struct ward_qlog_entry old = entry("old.example", NOW - 8 * 86400, 2, "10.0.0.1");
	struct ward_qlog_entry mid = entry("mid.example", NOW - 6 * 86400, 2, "10.0.0.1");
	struct ward_qlog_write st = writing(NOW - 6 * 86400);
	assert_int_equal(0, append(log, &old, 1, &st));
	assert_int_equal(0, append(log, &mid, 1, &st));
	assert_int_equal(st.expired, 0);
	st = writing(NOW);
	assert_int_equal(0, ward_qlog_append(log, NULL, 0, &st)); /* retention alone */
	assert_int_equal(st.expired, 1);
	assert_int_equal(0, ward_qlog_query(log, &all, &r));
	assert_int_equal(r.n, 1);
	assert_memory_equal(r.entries[0].name, "\3mid", 4);
	free(r.entries);
	st = writing(NOW + 2 * 86400);
	assert_int_equal(0, ward_qlog_append(log, NULL, 0, &st));
	assert_int_equal(st.expired, 1); /* the last segment too, once all of it is old */
	ward_qlog_close(log);
	remove_log(dir);
}

static void test_size_bound(void **state)
{
	char *dir = tmp_log();
	struct ward_qlog *log;
	struct ward_qlog_entry *e = calloc(5000, sizeof(*e));
	char name[64];
	uint64_t bytes, segments, on_disk = 0;
	assert_int_equal(0, ward_qlog_open(dir, true, 1 << 20, &log));
	struct ward_qlog_write st = writing(NOW);
	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < 5000; i++) {
			snprintf(name, sizeof(name), "r%d-n%04d.example", round, i);
			e[i] = entry(name, NOW, WARD_VERDICT_FORWARDED, "10.0.0.1");
		}
		assert_int_equal(0, append(log, e, 5000, &st));
	}
	assert_int_equal(st.written, 20000);
	assert_true(st.evicted > 0);
	assert_int_equal(0, ward_qlog_usage(log, &bytes, &segments));
	assert_true(bytes <= 1 << 20 && segments <= WARD_QLOG_SEGMENTS + 1);
	ward_qlog_close(log);
	DIR *d = opendir(dir);
	for (struct dirent *de; (de = readdir(d));) {
		char path[512];
		struct stat sb;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (strstr(de->d_name, ".qlog") && stat(path, &sb) == 0)
			on_disk += (uint64_t)sb.st_size;
	}
	closedir(d);
	assert_int_equal(on_disk, bytes);
	assert_true(on_disk <= 1 << 20);
	free(e);
	remove_log(dir);
}

/* ---- the top-names sketch ---------------------------------------------------------------------- */

static void add_n(struct ward_top *t, unsigned slot, const char *name, int n, int64_t now)
{
	uint8_t w[WARD_WIRE_NAME_MAX];
	wire(name, w);
	for (int i = 0; i < n; i++)
		ward_top_add(t, slot, w, now);
}

static void test_top_exact_when_few(void **state)
{
	struct ward_top *t = ward_top_new();
	struct ward_top_item out[8];
	char text[64];
	add_n(t, 1, "a.example", 5, NOW);
	add_n(t, 1, "b.example", 3, NOW + 7200); /* the next 2-hour bucket */
	add_n(t, 2, "a.example", 2, NOW);
	assert_int_equal(ward_top_get(t, 1, NOW + 7200, out, 8), 2);
	ward_name_to_text(out[0].name, text, sizeof(text));
	assert_string_equal(text, "a.example");
	assert_int_equal(out[0].count, 5);
	assert_int_equal(out[1].count, 3);
	assert_int_equal(out[0].error, 0);
	assert_int_equal(ward_top_get(t, -1, NOW + 7200, out, 8), 2);
	assert_int_equal(out[0].count, 7); /* every slot together */
	/* 24 hours later only b's bucket (two hours younger) is in the window ... */
	assert_int_equal(ward_top_get(t, 1, NOW + 86400 + 60, out, 8), 1);
	/* ... and a day after that, nothing. */
	assert_int_equal(ward_top_get(t, 1, NOW + 2 * 86400, out, 8), 0);
	assert_int_equal(ward_top_get(t, 9, NOW, out, 8), 0);
	ward_top_free(t);
}

static void test_top_heavy_hitter_among_many(void **state)
{
	struct ward_top *t = ward_top_new();
	struct ward_top_item out[WARD_TOP_K];
	char name[32], text[64];
	/* 2000 names once each, interleaved with a name blocked 300 times. */
	for (int i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "n%d.example", i);
		add_n(t, 0, name, 1, NOW);
		if (i % 7 == 0 && i < 2100)
			add_n(t, 0, "heavy.example", 1, NOW);
	}
	add_n(t, 0, "heavy.example", 14, NOW);
	assert_true(ward_top_get(t, 0, NOW, out, WARD_TOP_K) > 0);
	ward_name_to_text(out[0].name, text, sizeof(text));
	assert_string_equal(text, "heavy.example");
	/* Space-saving: never too low, at most `error` too high. */
	assert_true(out[0].count >= 300);
	assert_true(out[0].count - out[0].error <= 300);
	ward_top_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_round_trip),
		cmocka_unit_test(test_fuzz_seeds_decode),
		cmocka_unit_test(test_anonymize),
		cmocka_unit_test(test_append_and_filter),
		cmocka_unit_test(test_torn_tail),
		cmocka_unit_test(test_retention),
		cmocka_unit_test(test_size_bound),
		cmocka_unit_test(test_top_exact_when_few),
		cmocka_unit_test(test_top_heavy_hitter_among_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
