/*
 * ward_conf_parse_all: every error of a file, each with its field path, for `ward check`
 * and the config API. Its first error is exactly the one ward_conf_parse stops at (checked
 * over the whole tests/data/conf/bad corpus, which also walks the keep-going paths of
 * every kind of mistake under the sanitizers); several mistakes in one file each get their
 * own entry; a mistake never causes errors about correct values elsewhere; the list is
 * capped.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "blocklists/conf.h"
#include "blocklists/error.h"

#define MAX_FILE (1 << 20)

static const char *data_dir(void)
{
	const char *d = getenv("WARD_TEST_DATA");
	return d ? d : "tests/data";
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = malloc(MAX_FILE + 1);
	assert_non_null(buf);
	*len = fread(buf, 1, MAX_FILE, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static struct ward_conf_errors *errs_new(void)
{
	struct ward_conf_errors *e = calloc(1, sizeof(*e));
	assert_non_null(e);
	return e;
}

static void check_first_error(const char *dir, const char *name, struct ward_conf_errors *e)
{
	char path[8192], errpath[8192], text[1024];
	size_t len, elen;
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
	    snprintf(errpath, sizeof(errpath), "%s/%.*s.err", dir, (int)(strlen(name) - 5),
		     name) >= (int)sizeof(errpath))
		fail_msg("path too long: %s", name);
	char *json = read_all(path, &len), *expected = read_all(errpath, &elen);
	if (!json || !expected)
		fail_msg("%s: missing the file or its .err sidecar", path);
	if (elen && expected[elen - 1] == '\n')
		expected[--elen] = '\0';
	struct ward_conf *conf = (struct ward_conf *)1;
	int rc = ward_conf_parse_all("ward.json", json, len, &conf, e);
	if (rc != WARD_ECONF || e->n == 0)
		fail_msg("%s: rc %d, %zu errors", name, rc, e->n);
	assert_null(conf);
	ward_conf_error_text("ward.json", &e->list[0], text, sizeof(text));
	if (strcmp(text, expected) != 0)
		fail_msg("%s\n  first    %s\n  expected %s", name, text, expected);
	free(json);
	free(expected);
}

static void test_first_error_is_the_stop_error(void **state)
{
	char dir[4096];
	struct ward_conf_errors *e = errs_new();
	snprintf(dir, sizeof(dir), "%s/conf/bad", data_dir());
	DIR *d = opendir(dir);
	assert_non_null(d);
	unsigned n = 0;
	for (struct dirent *ent; (ent = readdir(d));) {
		if (ends_with(ent->d_name, ".json")) {
			check_first_error(dir, ent->d_name, e);
			n++;
		}
	}
	closedir(d);
	assert_true(n >= 100);
	free(e);
}

static void test_good_files_have_no_errors(void **state)
{
	char dir[4096], path[8192];
	struct ward_conf_errors *e = errs_new();
	snprintf(dir, sizeof(dir), "%s/conf/good", data_dir());
	DIR *d = opendir(dir);
	assert_non_null(d);
	for (struct dirent *ent; (ent = readdir(d));) {
		if (!ends_with(ent->d_name, ".json"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, ent->d_name);
		struct ward_conf *conf = NULL;
		if (ward_conf_load_all(path, &conf, e) != 0)
			fail_msg("%s: %s", path, e->list[0].reason);
		assert_int_equal(e->n, 0);
		assert_non_null(conf);
		ward_conf_free(conf);
	}
	closedir(d);
	free(e);
}

static void expect(const struct ward_conf_errors *e, size_t i, const char *field,
		   const char *reason)
{
	if (i >= e->n)
		fail_msg("error %zu expected (%s), only %zu", i, field, e->n);
	if (strcmp(e->list[i].field, field) != 0 || strcmp(e->list[i].reason, reason) != 0)
		fail_msg("error %zu: got %s: %s\n  expected %s: %s", i, e->list[i].field,
			 e->list[i].reason, field, reason);
}

static int parse_all(const char *json, struct ward_conf_errors *e)
{
	return ward_conf_parse_all("w.json", json, strlen(json), NULL, e);
}

/* Four mistakes in four places: four errors in file order, nothing about the rest. */
static void test_every_error_with_its_field(void **state)
{
	struct ward_conf_errors *e = errs_new();
	const char *json =
		"{\"upstreams\": [\"10.0.0.300\", \"9.9.9.9\"],\n"
		" \"lisen\": [],\n"
		" \"profiles\": {\"kids\": {\"preset\": \"child\", \"allow\": [\"ok.example\", "
		"\"*.bad.example\"],\n"
		"   \"schedules\": [{\"from\": \"25:00\", \"to\": \"07:00\"}, "
		"{\"from\": \"21:00\", \"to\": \"21:00\"}]},\n"
		"   \"adults\": {\"preset\": \"adult\"}},\n"
		" \"clients\": [{\"match\": \"192.168.1.20\", \"profile\": \"kids\"},\n"
		"   {\"match\": \"192.168.1.21\", \"profile\": \"kid\"}],\n"
		" \"default_profile\": \"adults\"}";
	assert_int_equal(parse_all(json, e), WARD_ECONF);
	expect(e, 0, "lisen", "unknown key (did you mean \"listen\"?)");
	expect(e, 1, "upstreams[0]", "\"10.0.0.300\" is not an IP address");
	expect(e, 2, "profiles.kids.allow[1]",
	       "\"*.bad.example\" is not a domain name (write the name without \"*.\")");
	expect(e, 3, "profiles.kids.schedules[0].from", "\"25:00\" is not a time (HH:MM)");
	expect(e, 4, "profiles.kids.schedules[1].to",
	       "\"21:00\" is the same time as \"from\" (an empty window)");
	expect(e, 5, "clients[1].profile", "\"kid\" is not a profile (did you mean \"kids\"?)");
	assert_int_equal(e->n, 6);
	assert_false(e->truncated);
	free(e);
}

/* A "from" that failed is not compared with "to" (which is fine on its own); a missing
 * default_profile is still found when other values failed. */
static void test_no_follow_on_errors(void **state)
{
	struct ward_conf_errors *e = errs_new();
	const char *json =
		"{\"upstreams\": [\"9.9.9.9\"], \"database\": 5, \"web\": {\"listen\": "
		"[\"127.0.0.1:80\"]},\n"
		" \"profiles\": {\"kids\": {\"schedules\": [{\"from\": \"x\", \"to\": \"00:00\"}]}}}";
	assert_int_equal(parse_all(json, e), WARD_ECONF);
	expect(e, 0, "database", "5 is not a string");
	expect(e, 1, "profiles.kids.schedules[0].from", "\"x\" is not a time (HH:MM)");
	expect(e, 2, "default_profile", "missing (required when no profile is named \"default\")");
	assert_int_equal(e->n, 3);
	free(e);
}

/* A profile whose name is invalid does not exist for the clients that name it. */
static void test_bad_profile_name(void **state)
{
	struct ward_conf_errors *e = errs_new();
	const char *json =
		"{\"upstreams\": [\"9.9.9.9\"], \"profiles\": {\"k ds\": {}, \"default\": {}},\n"
		" \"clients\": [{\"match\": \"10.0.0.1\", \"profile\": \"k ds\"}]}";
	assert_int_equal(parse_all(json, e), WARD_ECONF);
	expect(e, 0, "profiles.\"k ds\"",
	       "\"k ds\" is not a valid profile name ([A-Za-z0-9_-], at most 63 characters)");
	expect(e, 1, "clients[0].profile", "\"k ds\" is not a profile");
	assert_int_equal(e->n, 2);
	free(e);
}

static void test_capped(void **state)
{
	struct ward_conf_errors *e = errs_new();
	size_t cap = 64 * 1024, o = 0;
	char *json = malloc(cap);
	assert_non_null(json);
	o += (size_t)snprintf(json + o, cap - o, "{\"upstreams\": [\"9.9.9.9\"], \"profiles\": "
			      "{\"default\": {\"deny\": [");
	for (int i = 0; i < 200; i++)
		o += (size_t)snprintf(json + o, cap - o, "%s\"bad name %d\"", i ? "," : "", i);
	snprintf(json + o, cap - o, "]}}}");
	assert_int_equal(parse_all(json, e), WARD_ECONF);
	assert_int_equal(e->n, WARD_CONF_ERRORS_MAX);
	assert_true(e->truncated);
	expect(e, 63, "profiles.default.deny[63]", "\"bad name 63\" is not a domain name");
	free(json);
	free(e);
}

static void test_whole_file_errors(void **state)
{
	struct ward_conf_errors *e = errs_new();
	char text[1024];
	assert_int_equal(parse_all("{\n \"upstreams\": [\"9.9.9.9\"],\n}", e), WARD_ECONF);
	assert_int_equal(e->n, 1);
	expect(e, 0, "", "line 3, column 2: invalid JSON");
	assert_string_equal(ward_conf_error_text("w.json", &e->list[0], text, sizeof(text)),
			    "w.json: line 3, column 2: invalid JSON");
	assert_int_equal(parse_all("  ", e), WARD_ECONF);
	expect(e, 0, "", "empty file (expected a JSON object)");
	assert_int_equal(ward_conf_load_all("/nonexistent/ward.json", NULL, e), WARD_EIO);
	expect(e, 0, "", "cannot read: No such file or directory");
	assert_int_equal(parse_all("{\"upstreams\": [\"9.9.9.9\"]}", e), 0);
	assert_int_equal(e->n, 0);
	free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_error_is_the_stop_error),
		cmocka_unit_test(test_good_files_have_no_errors),
		cmocka_unit_test(test_every_error_with_its_field),
		cmocka_unit_test(test_no_follow_on_errors),
		cmocka_unit_test(test_bad_profile_name),
		cmocka_unit_test(test_capped),
		cmocka_unit_test(test_whole_file_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
