/*
 * ward_update_run end to end over file:// feeds, with a real LMDB in a temp directory:
 * the sample config of `make run`, the failure paths that must keep the last good copy
 * (shrink, HTML, empty, size cap, missing file), the freshness rules, and the catalog's
 * feed objects checked against the real config schema.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "blocklists/catdb.h"
#include "blocklists/conf.h"
#include "blocklists/error.h"
#include "blocklists/update.h"

static char source_dir[4096];

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char *buf = malloc(1 << 20);
	assert_non_null(buf);
	*len = fread(buf, 1, (1 << 20) - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *replace(const char *text, const char *from, const char *to)
{
	size_t n = 0, flen = strlen(from), tlen = strlen(to);
	for (const char *p = strstr(text, from); p; p = strstr(p + flen, from))
		n++;
	char *out = malloc(strlen(text) + n * tlen + 1), *o = out;
	assert_non_null(out);
	for (const char *p = text, *q; ; p = q + flen) {
		q = strstr(p, from);
		size_t k = q ? (size_t)(q - p) : strlen(p);
		memcpy(o, p, k);
		o += k;
		if (!q)
			break;
		memcpy(o, to, tlen);
		o += tlen;
	}
	*o = '\0';
	return out;
}

static struct ward_conf *parse_conf(const char *json)
{
	struct ward_conf *conf = NULL;
	char err[WARD_CONF_ERR_MAX];
	int rc = ward_conf_parse("test.json", json, strlen(json), &conf, err, sizeof(err));
	if (rc < 0)
		fail_msg("%s", err);
	return conf;
}

/* Categories of `name` in the newest build, or ~0 when the lookup failed. */
static ward_catset categories_of(const char *database, const char *name)
{
	struct ward_catdb *db;
	struct ward_catdb_reader *r;
	struct ward_cat_match m;
	ward_catset out = ~(ward_catset)0;
	assert_int_equal(ward_catdb_open(database, WARD_CATDB_READ, &db), 0);
	assert_int_equal(ward_catdb_reader_new(db, &r), 0);
	if (ward_cat_lookup(r, name, strlen(name), &m) == 0)
		out = m.categories;
	ward_catdb_reader_free(r);
	ward_catdb_close(db);
	return out;
}

static const struct ward_update_feed_result *result(const struct ward_update_result *res,
						     const char *name)
{
	for (size_t i = 0; i < res->n_feeds; i++)
		if (strcmp(res->feeds[i].name, name) == 0)
			return &res->feeds[i];
	fail_msg("no result for %s", name);
	return NULL;
}

/* The `make run` config over the sample lists: every name in every sample resolves to
 * its feed's categories. */
static void test_sample_config(void **state)
{
	char tmp[] = "/tmp/ward-update-run-XXXXXX", samples[4200], db[64], path[4300];
	assert_non_null(mkdtemp(tmp));
	snprintf(samples, sizeof(samples), "%s/blocklists/samples", source_dir);
	snprintf(db, sizeof(db), "%s/db", tmp);
	snprintf(path, sizeof(path), "%s/packaging/ward-run.json", source_dir);
	size_t len;
	char *text = read_file(path, &len);
	char *a = replace(text, "@SAMPLES@", samples);
	char *b = replace(a, "@DATABASE@", db);
	char *json = replace(b, "\"@UPSTREAMS@\"", "\"127.0.0.1:53\"");
	struct ward_conf *conf = parse_conf(json);
	struct ward_update_opts opts;
	struct ward_update_result res;
	ward_update_opts_init(&opts);
	assert_int_equal(ward_update_run(conf, &opts, &res), 0);
	assert_int_equal(res.n_updated, conf->n_feeds);
	assert_true(res.built);
	for (size_t i = 0; i < conf->n_feeds; i++) {
		char file[4400], line[300];
		snprintf(file, sizeof(file), "%s", conf->feeds[i].url + strlen("file://"));
		FILE *f = fopen(file, "r");
		assert_non_null(f);
		size_t names = 0;
		while (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\r\n")] = '\0';
			if (!line[0] || line[0] == '#')
				continue;
			assert_int_equal(categories_of(db, line), conf->feeds[i].categories);
			names++;
		}
		fclose(f);
		assert_int_equal(result(&res, conf->feeds[i].name)->entries, names);
	}
	assert_int_equal(categories_of(db, "example.com"), 0);
	ward_update_result_free(&res);
	ward_conf_free(conf);
	free(json);
	free(a);
	free(b);
	free(text);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	assert_int_equal(system(cmd), 0);
}

struct scratch {
	char dir[64], db[96], list[96];
	struct ward_conf *conf;
	struct ward_update_opts opts;
};

static void scratch_init(struct scratch *s, unsigned min_entries)
{
	char json[1024];
	snprintf(s->dir, sizeof(s->dir), "/tmp/ward-update-run-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->db, sizeof(s->db), "%s/db", s->dir);
	snprintf(s->list, sizeof(s->list), "%s/list.txt", s->dir);
	snprintf(json, sizeof(json),
		 "{\"upstreams\": [\"127.0.0.1\"], \"database\": \"%s\", \"feeds\": ["
		 "{\"name\": \"list\", \"url\": \"file://%s\", \"format\": \"domains\","
		 " \"categories\": [\"gambling\", \"adult\"], \"min_entries\": %u,"
		 " \"refresh\": \"1h\"}]}", s->db, s->list, min_entries);
	s->conf = parse_conf(json);
	ward_update_opts_init(&s->opts);
	s->opts.now = 1700000000;
}

static void scratch_free(struct scratch *s)
{
	char cmd[128];
	ward_conf_free(s->conf);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", s->dir);
	assert_int_equal(system(cmd), 0);
}

/* One run at time `now`; returns the feed's status and checks the common invariants. */
static enum ward_update_status run_at(struct scratch *s, int64_t now, int *err,
				      struct ward_update_feed_result *out)
{
	struct ward_update_result res;
	s->opts.now = now;
	assert_int_equal(ward_update_run(s->conf, &s->opts, &res), 0);
	assert_int_equal(res.n_feeds, 1);
	*out = res.feeds[0];
	*err = res.feeds[0].err;
	ward_update_result_free(&res);
	return out->status;
}

static const ward_catset GA = WARD_CAT(WARD_CAT_GAMBLING) | WARD_CAT(WARD_CAT_ADULT);

static void test_failures_keep_last_good(void **state)
{
	struct scratch s;
	struct ward_update_feed_result fr;
	int err;
	int64_t t = 1700000000;
	scratch_init(&s, 3);
	write_file(s.list, "one.example\ntwo.example\nthree.example\nfour.example\n");
	assert_int_equal(run_at(&s, t, &err, &fr), WARD_UPDATE_UPDATED);
	assert_int_equal(fr.entries, 4);
	assert_int_equal(categories_of(s.db, "www.two.example"), GA);

	/* Fresh: not read again even though the file changed. */
	write_file(s.list, "five.example\nsix.example\nseven.example\neight.example\n");
	assert_int_equal(run_at(&s, t + 60, &err, &fr), WARD_UPDATE_SKIPPED);
	assert_int_equal(categories_of(s.db, "five.example"), 0);

	/* Each of these is refused and the four old names stay listed. */
	static const char *const bad[] = {
		"one.example\n",                                  /* shrank by more than half */
		"<!DOCTYPE html>\n<html><body>one.example</body></html>\n", /* an HTML page */
		"",                                                /* empty */
		"a.example\nb.example\n",                          /* below min_entries 3 */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t += 7200;
		write_file(s.list, bad[i]);
		assert_int_equal(run_at(&s, t, &err, &fr), WARD_UPDATE_FAILED);
		assert_true(fr.has_copy);
		assert_int_equal(fr.entries, 4);
		assert_int_equal(categories_of(s.db, "two.example"), GA);
		assert_int_equal(categories_of(s.db, "a.example"), 0);
	}

	/* Over the size cap. */
	t += 7200;
	write_file(s.list, "five.example\nsix.example\nseven.example\neight.example\n");
	s.opts.max_bytes = 16;
	assert_int_equal(run_at(&s, t, &err, &fr), WARD_UPDATE_FAILED);
	assert_int_equal(err, WARD_ETOOBIG);
	assert_int_equal(categories_of(s.db, "two.example"), GA);

	/* The file disappears: not retried (a missing file stays missing). */
	t += 7200;
	s.opts.max_bytes = WARD_UPDATE_DEFAULT_MAX_BYTES;
	unlink(s.list);
	assert_int_equal(run_at(&s, t, &err, &fr), WARD_UPDATE_FAILED);
	assert_int_equal(fr.attempts, 1);
	assert_int_equal(categories_of(s.db, "two.example"), GA);

	/* A good new list replaces the old one. */
	t += 7200;
	write_file(s.list, "five.example\nsix.example\nseven.example\neight.example\n");
	assert_int_equal(run_at(&s, t, &err, &fr), WARD_UPDATE_UPDATED);
	assert_int_equal(categories_of(s.db, "two.example"), 0);
	assert_int_equal(categories_of(s.db, "x.six.example"), GA);

	/* The same bytes again: unchanged. */
	t += 7200;
	assert_int_equal(run_at(&s, t, &err, &fr), WARD_UPDATE_UNCHANGED);
	scratch_free(&s);
}

/* min_entries 0 declares a list that may be empty: accepted, and it empties the feed. */
static void test_min_entries_zero(void **state)
{
	struct scratch s;
	struct ward_update_feed_result fr;
	int err;
	scratch_init(&s, 0);
	write_file(s.list, "");
	assert_int_equal(run_at(&s, 1700000000, &err, &fr), WARD_UPDATE_UPDATED);
	assert_int_equal(fr.entries, 0);
	scratch_free(&s);
}

/* --offline rebuilds from the stored copy without reading the URL. */
static void test_offline(void **state)
{
	struct scratch s;
	struct ward_update_feed_result fr;
	struct ward_update_result res;
	int err;
	scratch_init(&s, 1);
	write_file(s.list, "one.example\n");
	assert_int_equal(run_at(&s, 1700000000, &err, &fr), WARD_UPDATE_UPDATED);
	unlink(s.list);
	s.opts.offline = true;
	assert_int_equal(ward_update_run(s.conf, &s.opts, &res), 0);
	assert_int_equal(res.feeds[0].status, WARD_UPDATE_OFFLINE);
	assert_true(res.built);
	assert_int_equal(res.generation, 2);
	ward_update_result_free(&res);
	assert_int_equal(categories_of(s.db, "one.example"), GA);
	scratch_free(&s);
}

/* A feed whose URL changed is fetched at once, and stays due until the new URL worked,
 * even while the copy from the old URL is fresh. */
static void test_url_change(void **state)
{
	struct scratch s;
	struct ward_update_feed_result fr;
	int err;
	scratch_init(&s, 1);
	write_file(s.list, "one.example\n");
	assert_int_equal(run_at(&s, 1700000000, &err, &fr), WARD_UPDATE_UPDATED);
	free(s.conf->feeds[0].url);
	s.conf->feeds[0].url = strdup("file:///nonexistent/ward-test-list");
	for (int i = 1; i <= 2; i++) {
		assert_int_equal(run_at(&s, 1700000000 + 60 * i, &err, &fr), WARD_UPDATE_FAILED);
		assert_int_equal(categories_of(s.db, "one.example"), GA);
	}
	scratch_free(&s);
}

static void test_unknown_feed(void **state)
{
	struct scratch s;
	struct ward_update_result res;
	scratch_init(&s, 1);
	s.opts.only_feed = "nosuch";
	assert_int_equal(ward_update_run(s.conf, &s.opts, &res), WARD_EINVAL);
	assert_non_null(strstr(res.error, "nosuch"));
	ward_update_result_free(&res);
	scratch_free(&s);
}

/* Every catalog entry is a valid feed for the real config schema, with provenance. */
static void test_catalog(void **state)
{
	char path[4200];
	size_t len;
	snprintf(path, sizeof(path), "%s/blocklists/catalog.json", source_dir);
	char *text = read_file(path, &len);
	cJSON *root = cJSON_Parse(text);
	assert_non_null(root);
	cJSON *entries = cJSON_GetObjectItem(root, "feeds"), *e;
	cJSON *feeds = cJSON_CreateArray();
	ward_catset enabled = 0;
	size_t n = 0;
	cJSON_ArrayForEach(e, entries) {
		static const char *const keys[] = { "provider", "homepage", "license", "notes" };
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			assert_true(cJSON_IsString(cJSON_GetObjectItem(e, keys[k])));
		cJSON *feed = cJSON_GetObjectItem(e, "feed");
		assert_true(cJSON_IsObject(feed));
		assert_int_equal(strncmp(cJSON_GetObjectItem(feed, "url")->valuestring,
					 "https://", 8), 0);
		cJSON_AddItemToArray(feeds, cJSON_Duplicate(feed, true));
		n++;
	}
	cJSON *conf_json = cJSON_CreateObject();
	cJSON *up = cJSON_AddArrayToObject(conf_json, "upstreams");
	cJSON_AddItemToArray(up, cJSON_CreateString("127.0.0.1"));
	cJSON_AddItemToObject(conf_json, "feeds", feeds);
	char *json = cJSON_PrintUnformatted(conf_json);
	struct ward_conf *conf = parse_conf(json);
	assert_int_equal(conf->n_feeds, n);
	for (size_t i = 0; i < conf->n_feeds; i++)
		if (conf->feeds[i].enabled)
			enabled |= conf->feeds[i].categories;
	static const int family[] = { WARD_CAT_ADULT, WARD_CAT_GAMBLING, WARD_CAT_MALWARE,
				      WARD_CAT_PHISHING, WARD_CAT_PROXY, WARD_CAT_NOSAFESEARCH };
	for (size_t i = 0; i < sizeof(family) / sizeof(family[0]); i++)
		assert_true(enabled & WARD_CAT(family[i]));
	ward_conf_free(conf);
	free(json);
	cJSON_Delete(conf_json);
	cJSON_Delete(root);
	free(text);
}

int main(void)
{
	const char *data = getenv("WARD_TEST_DATA");
	if (!data)
		data = "tests/data";
	/* WARD_TEST_DATA is <source>/tests/data. */
	snprintf(source_dir, sizeof(source_dir), "%s/../..", data);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample_config),
		cmocka_unit_test(test_failures_keep_last_good),
		cmocka_unit_test(test_min_entries_zero),
		cmocka_unit_test(test_offline),
		cmocka_unit_test(test_url_change),
		cmocka_unit_test(test_unknown_feed),
		cmocka_unit_test(test_catalog),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
