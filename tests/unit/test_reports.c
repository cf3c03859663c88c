/*
 * Reports: the stored records (encoding, damaged values), merging of duplicates, the cap
 * on pending reports, the message rules (UTF-8, 500 characters), and review: accepting
 * creates the override in the same transaction, rejecting keeps the record, a reviewed
 * report cannot be reviewed again.
 */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "blocklists/admin.h"
#include "blocklists/catdb.h"
#include "blocklists/conf.h"
#include "blocklists/error.h"
#include "blocklists/reports.h"

#define NOW 1800000000

static const char config[] =
	"{\"upstreams\": [\"192.0.2.53\"],"
	" \"profiles\": {\"kids\": {\"preset\": \"child\"}, \"teens\": {\"preset\": \"teen\"}},"
	" \"default_profile\": \"kids\"}";

struct fixture {
	char dir[64];
	struct ward_catdb *db;
	struct ward_conf *conf;
	struct ward_admin admin;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[WARD_CONF_ERR_MAX];
	assert_non_null(f);
	strcpy(f->dir, "/tmp/ward-test-reports-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(0, ward_catdb_open(f->dir, WARD_CATDB_WRITE, &f->db));
	if (ward_conf_parse("reports.json", config, strlen(config), &f->conf, err, sizeof(err)))
		fail_msg("%s", err);
	f->admin = (struct ward_admin){.db = f->db, .conf = f->conf, .source = "test", .now = NOW};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	ward_conf_free(f->conf);
	ward_catdb_close(f->db);
	nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static uint64_t report(struct fixture *f, const char *client, const char *profile,
		       const char *name, enum ward_report_kind kind, const char *category,
		       const char *message, bool *merged)
{
	struct ward_report r;
	bool m;
	int rc = ward_admin_report(&f->admin, client, profile, name, kind, category, message, &r,
				   merged ? merged : &m);
	if (rc)
		fail_msg("report %s: %s", name, f->admin.error);
	return r.id;
}

static void test_encoding(void **state)
{
	struct ward_report r = {.kind = WARD_REPORT_SHOULD_BE_BLOCKED, .status = WARD_REPORT_PENDING,
				.created = NOW, .updated = NOW + 1, .count = 3}, back;
	uint8_t *buf = malloc(WARD_REPORT_VALUE_MAX);
	assert_non_null(buf);
	snprintf(r.client, sizeof(r.client), "192.168.1.20");
	snprintf(r.profile, sizeof(r.profile), "kids");
	snprintf(r.category, sizeof(r.category), "adult");
	memset(r.message, 'x', WARD_REPORT_MESSAGE_MAX - 1);
	assert_true(ward_name_from_text("bad.example", r.name, sizeof(r.name)) > 0);
	int len = ward_report_encode(&r, buf, WARD_REPORT_VALUE_MAX);
	assert_true(len > 0);
	assert_int_equal(0, ward_report_decode(buf, (size_t)len, &back));
	assert_int_equal(back.count, 3);
	assert_int_equal(back.updated, NOW + 1);
	assert_string_equal(back.client, "192.168.1.20");
	assert_int_equal(strlen(back.message), WARD_REPORT_MESSAGE_MAX - 1);
	for (int n = 0; n < len; n += 7)
		assert_int_equal(WARD_EFORMAT, ward_report_decode(buf, (size_t)n, &back));
	buf[2] = 7; /* an unknown status */
	assert_int_equal(WARD_EFORMAT, ward_report_decode(buf, (size_t)len, &back));
	free(buf);
}

static void test_message_rules(void **state)
{
	char msg[WARD_REPORT_MESSAGE_CHARS * 2 + 2];
	assert_true(ward_report_message_ok(""));
	assert_true(ward_report_message_ok("please, it is for school\nthanks"));
	assert_true(ward_report_message_ok("Schule \xc3\xa4\xc3\xb6 \xf0\x9f\x98\x80"));
	assert_false(ward_report_message_ok("bell \x07"));
	assert_false(ward_report_message_ok("\xc3"));          /* cut sequence */
	assert_false(ward_report_message_ok("\xc0\xaf"));      /* overlong */
	assert_false(ward_report_message_ok("\xed\xa0\x80"));  /* surrogate */
	memset(msg, 0, sizeof(msg));
	for (int i = 0; i < WARD_REPORT_MESSAGE_CHARS; i++)
		memcpy(msg + 2 * i, "\xc3\xa4", 2);
	assert_true(ward_report_message_ok(msg)); /* 500 characters, 1000 bytes */
	memcpy(msg + 2 * WARD_REPORT_MESSAGE_CHARS, "a", 2);
	assert_false(ward_report_message_ok(msg));
}

static void test_merge_and_list(void **state)
{
	struct fixture *f = *state;
	struct ward_report *list;
	size_t n;
	bool merged;
	uint64_t a = report(f, "10.0.0.2", "kids", "games.example", WARD_REPORT_WRONGLY_BLOCKED,
			    "games", "for school", &merged);
	assert_false(merged);
	uint64_t b = report(f, "10.0.0.3", "kids", "Games.Example.", WARD_REPORT_WRONGLY_BLOCKED,
			    "games", "", &merged);
	assert_true(merged);
	assert_int_equal(a, b);
	/* another profile or kind is another request */
	assert_int_not_equal(a, report(f, "10.0.0.4", "teens", "games.example",
				       WARD_REPORT_WRONGLY_BLOCKED, "", NULL, NULL));
	assert_int_not_equal(a, report(f, "10.0.0.2", "kids", "games.example",
				       WARD_REPORT_SHOULD_BE_BLOCKED, "games", NULL, NULL));
	assert_int_equal(0, ward_reports_list(f->db, NULL, &list, &n));
	assert_int_equal(n, 3);
	assert_int_equal(list[2].id, a); /* newest first */
	assert_int_equal(list[2].count, 2);
	assert_string_equal(list[2].message, "for school"); /* an empty message keeps it */
	assert_string_equal(list[2].client, "10.0.0.3");     /* the latest asker's */
	free(list);
	assert_int_equal(0, ward_reports_list(f->db, "10.0.0.2", &list, &n));
	assert_int_equal(n, 1);
	free(list);
}

static void test_bad_reports(void **state)
{
	struct fixture *f = *state;
	struct ward_report r;
	bool m;
	char longmsg[WARD_REPORT_MESSAGE_CHARS + 2];
	memset(longmsg, 'a', sizeof(longmsg) - 1);
	longmsg[sizeof(longmsg) - 1] = '\0';
	assert_int_equal(WARD_EINVAL, ward_admin_report(&f->admin, "10.0.0.2", "kids", "x.example",
							 WARD_REPORT_WRONGLY_BLOCKED, NULL, longmsg,
							 &r, &m));
	assert_int_equal(WARD_EINVAL, ward_admin_report(&f->admin, "10.0.0.2", "kids", "x.example",
							 WARD_REPORT_SHOULD_BE_BLOCKED, "bogus",
							 NULL, &r, &m));
	assert_int_equal(WARD_EINVAL, ward_admin_report(&f->admin, "10.0.0.2", "kids", "not a name",
							 WARD_REPORT_WRONGLY_BLOCKED, NULL, NULL,
							 &r, &m));
	assert_int_equal(WARD_EINVAL, ward_admin_report(&f->admin, "10.0.0.2", "kids", "x.example",
							 0, NULL, NULL, &r, &m));
}

static void test_pending_cap(void **state)
{
	struct fixture *f = *state;
	char name[64];
	struct ward_report r;
	bool m;
	for (int i = 0; i < WARD_REPORTS_PENDING_MAX; i++) {
		snprintf(name, sizeof(name), "s%d.example", i);
		report(f, "10.0.0.9", "kids", name, WARD_REPORT_WRONGLY_BLOCKED, NULL, NULL, NULL);
	}
	assert_int_equal(WARD_ENOMEM, ward_admin_report(&f->admin, "10.0.0.9", "kids",
							 "one-more.example",
							 WARD_REPORT_WRONGLY_BLOCKED, NULL, NULL,
							 &r, &m));
	/* a duplicate still merges; a reviewed one makes room */
	report(f, "10.0.0.9", "kids", "s1.example", WARD_REPORT_WRONGLY_BLOCKED, NULL, "again",
	       &m);
	assert_true(m);
	assert_int_equal(0, ward_admin_reject(&f->admin, 1));
	report(f, "10.0.0.9", "kids", "one-more.example", WARD_REPORT_WRONGLY_BLOCKED, NULL,
	       NULL, NULL);
}

static void test_review(void **state)
{
	struct fixture *f = *state;
	struct ward_override o;
	struct ward_report r;
	uint64_t ask = report(f, "10.0.0.2", "kids", "games.example", WARD_REPORT_WRONGLY_BLOCKED,
			      "games", NULL, NULL);
	uint64_t bad = report(f, "10.0.0.2", "kids", "abuse.example",
			      WARD_REPORT_SHOULD_BE_BLOCKED, "csam", NULL, NULL);
	uint64_t porn = report(f, "10.0.0.2", "kids", "porn.example",
			       WARD_REPORT_SHOULD_BE_BLOCKED, "adult", NULL, NULL);
	assert_int_equal(0, ward_admin_accept(&f->admin, ask, NULL, false, 3600, &o));
	assert_int_equal(o.kind, WARD_OVERRIDE_ALLOW);
	assert_string_equal(o.profile, "kids");
	assert_int_equal(o.expires, NOW + 3600);
	assert_string_equal(o.source, "report 1");
	assert_int_equal(0, ward_reports_get(f->db, ask, &r));
	assert_int_equal(r.status, WARD_REPORT_ACCEPTED);
	assert_int_equal(r.override_id, o.id);
	assert_int_equal(WARD_ESTALE, ward_admin_accept(&f->admin, ask, NULL, false, 0, NULL));
	assert_non_null(strstr(f->admin.error, "already reviewed"));
	/* csam goes to everyone unless told otherwise; other categories to the profile */
	assert_int_equal(0, ward_admin_accept(&f->admin, bad, NULL, false, 0, &o));
	assert_int_equal(o.kind, WARD_OVERRIDE_DENY);
	assert_string_equal(o.profile, "");
	assert_string_equal(o.category, "csam");
	assert_int_equal(0, ward_admin_accept(&f->admin, porn, "teens", false, 0, &o));
	assert_string_equal(o.profile, "teens");
	assert_int_equal(WARD_ENOTFOUND, ward_admin_accept(&f->admin, 99, NULL, false, 0, NULL));
	uint64_t again = report(f, "10.0.0.2", "kids", "games.example",
				WARD_REPORT_WRONGLY_BLOCKED, NULL, NULL, NULL);
	assert_int_not_equal(again, ask); /* a reviewed report takes no more merges */
	assert_int_equal(0, ward_admin_reject(&f->admin, again));
	assert_int_equal(0, ward_reports_get(f->db, again, &r));
	assert_int_equal(r.status, WARD_REPORT_REJECTED);
	assert_int_equal(WARD_ESTALE, ward_admin_reject(&f->admin, again));
}

/* Accepting needs its override: when that fails, the report stays pending. */
static void test_accept_is_atomic(void **state)
{
	struct fixture *f = *state;
	struct ward_report r;
	uint64_t id = report(f, "10.0.0.2", "kids", "games.example", WARD_REPORT_WRONGLY_BLOCKED,
			     NULL, NULL, NULL);
	assert_int_equal(WARD_EINVAL, ward_admin_accept(&f->admin, id, "nobody", false, 0, NULL));
	assert_int_equal(0, ward_reports_get(f->db, id, &r));
	assert_int_equal(r.status, WARD_REPORT_PENDING);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encoding),
		cmocka_unit_test(test_message_rules),
		T(test_merge_and_list),
		T(test_bad_reports),
		T(test_pending_cap),
		T(test_review),
		T(test_accept_is_atomic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
