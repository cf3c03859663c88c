/*
 * Overrides: the stored records (encoding, damaged values, replacing, expiry, the cap),
 * the in-memory table (suffix matching, profile before everyone, expiry at match time),
 * their place in the decision order (blocklists/policy.h) and that a rebuild of the
 * category table leaves them alone. Expected verdicts are written by hand.
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
#include "blocklists/name.h"
#include "blocklists/overrides.h"
#include "blocklists/policy.h"

#define NOW 1800000000

static const char config[] =
	"{\"upstreams\": [\"192.0.2.53\"],"
	" \"profiles\": {"
	"   \"kids\": {\"preset\": \"child\", \"deny\": [\"denied.example\"],"
	"              \"allow\": [\"homework.example\", \"fair.example\"],"
	"              \"schedules\": [{\"name\": \"night\", \"from\": \"21:00\", \"to\": \"07:00\"},"
	"                              {\"name\": \"late\", \"from\": \"07:00\", \"to\": \"07:30\"}]},"
	"   \"parents\": {\"preset\": \"adult\"}},"
	" \"default_profile\": \"kids\"}";

struct fixture {
	char dir[64];
	struct ward_catdb *db;
	struct ward_conf *conf;
	struct ward_policy *policy;
	size_t kids, parents;
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
	strcpy(f->dir, "/tmp/ward-test-overrides-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(0, ward_catdb_open(f->dir, WARD_CATDB_WRITE, &f->db));
	if (ward_conf_parse("overrides.json", config, strlen(config), &f->conf, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(0, ward_policy_new(f->conf, &f->policy));
	f->kids = strcmp(f->conf->profiles[0].name, "kids") == 0 ? 0 : 1;
	f->parents = 1 - f->kids;
	f->admin = (struct ward_admin){.db = f->db, .conf = f->conf, .source = "test", .now = NOW};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	ward_policy_free(f->policy);
	ward_conf_free(f->conf);
	ward_catdb_close(f->db);
	nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void wire(const char *text, uint8_t *out)
{
	assert_true(ward_name_from_text(text, out, WARD_WIRE_NAME_MAX) > 0);
	ward_name_lower(out);
}

static struct ward_override_table *table(struct fixture *f)
{
	struct ward_override_table *t;
	assert_int_equal(0, ward_override_table_load(f->db, f->conf, &t));
	return t;
}

/* The verdict for a name at unix time `at`, local time 12:00 on a monday. */
static void decide_at(struct fixture *f, const struct ward_override_table *t, size_t profile,
		      const char *name, int64_t at, unsigned minute, struct ward_policy_verdict *v)
{
	uint8_t w[WARD_WIRE_NAME_MAX];
	struct ward_policy_time now = {.wday = 1, .minute = (uint16_t)minute, .unix_s = at};
	wire(name, w);
	assert_int_equal(0, ward_policy_decide(f->policy, NULL, t, profile, w, &now, v));
	ward_policy_explain(f->policy, NULL, v);
}

static void decide(struct fixture *f, const struct ward_override_table *t, size_t profile,
		   const char *name, struct ward_policy_verdict *v)
{
	decide_at(f, t, profile, name, NOW, 12 * 60, v);
}

/* ---- records -------------------------------------------------------------------------- */

static void test_encoding_roundtrip_and_damage(void **state)
{
	struct ward_override o = {.id = 9, .kind = WARD_OVERRIDE_DENY, .created = NOW,
				  .expires = NOW + 60}, back;
	uint8_t buf[WARD_OVERRIDE_VALUE_MAX];
	snprintf(o.profile, sizeof(o.profile), "kids");
	snprintf(o.category, sizeof(o.category), "gambling");
	snprintf(o.source, sizeof(o.source), "cli");
	wire("casino.example", o.name);
	int len = ward_override_encode(&o, buf, sizeof(buf));
	assert_true(len > 18);
	assert_int_equal(0, ward_override_decode(buf, (size_t)len, &back));
	assert_int_equal(back.kind, WARD_OVERRIDE_DENY);
	assert_int_equal(back.expires, NOW + 60);
	assert_string_equal(back.profile, "kids");
	assert_string_equal(back.category, "gambling");
	assert_memory_equal(back.name, o.name, ward_name_wire_len(o.name));
	/* Every truncation, a trailing byte, a bad version or kind, a name that is not one. */
	for (int n = 0; n < len; n++)
		assert_int_equal(WARD_EFORMAT, ward_override_decode(buf, (size_t)n, &back));
	buf[len] = 0;
	assert_int_equal(WARD_EFORMAT, ward_override_decode(buf, (size_t)len + 1, &back));
	uint8_t bad[WARD_OVERRIDE_VALUE_MAX];
	memcpy(bad, buf, (size_t)len);
	bad[0] = 2;
	assert_int_equal(WARD_EFORMAT, ward_override_decode(bad, (size_t)len, &back));
	memcpy(bad, buf, (size_t)len);
	bad[1] = 9;
	assert_int_equal(WARD_EFORMAT, ward_override_decode(bad, (size_t)len, &back));
	memcpy(bad, buf, (size_t)len);
	bad[18 + 1 + 4 + 1] = 200; /* the first label length of the name: past its field */
	assert_int_equal(WARD_EFORMAT, ward_override_decode(bad, (size_t)len, &back));
}

static void test_add_replace_remove(void **state)
{
	struct fixture *f = *state;
	struct ward_override a, b, list_removed;
	struct ward_override *list;
	size_t n;
	uint64_t gen0, gen1;
	assert_int_equal(0, ward_overrides_generation(f->db, &gen0));
	assert_int_equal(0, ward_admin_allow(&f->admin, "kids", "Games.Example.", 3600, &a));
	assert_int_equal(0, ward_overrides_generation(f->db, &gen1));
	assert_true(gen1 > gen0);
	assert_int_equal(a.expires, NOW + 3600);
	/* deny of the same name and profile replaces the allow: the newer decision wins */
	assert_int_equal(0, ward_admin_deny(&f->admin, "kids", "games.example", "games", 0, &b));
	assert_true(b.id > a.id);
	assert_int_equal(0, ward_overrides_list(f->db, NOW, &list, &n));
	assert_int_equal(n, 1);
	assert_int_equal(list[0].id, b.id);
	assert_int_equal(list[0].kind, WARD_OVERRIDE_DENY);
	free(list);
	assert_int_equal(WARD_ENOTFOUND, ward_admin_remove(&f->admin, a.id, NULL));
	assert_non_null(strstr(f->admin.error, "no override"));
	assert_int_equal(0, ward_admin_remove(&f->admin, b.id, &list_removed));
	assert_string_equal(list_removed.category, "games");
	assert_int_equal(0, ward_overrides_list(f->db, NOW, &list, &n));
	assert_int_equal(n, 0);
	free(list);
}

static void test_bad_input_refused(void **state)
{
	struct fixture *f = *state;
	struct ward_admin *a = &f->admin;
	assert_int_equal(WARD_EINVAL, ward_admin_allow(a, "nobody", "x.example", 0, NULL));
	assert_non_null(strstr(a->error, "no profile"));
	assert_int_equal(WARD_EINVAL, ward_admin_allow(a, "kids", "com", 0, NULL));
	assert_non_null(strstr(a->error, "public suffix"));
	assert_int_equal(WARD_EINVAL, ward_admin_allow(a, "kids", "co.uk", 0, NULL));
	assert_int_equal(WARD_EINVAL, ward_admin_allow(a, "kids", "bad name.example", 0, NULL));
	assert_int_equal(WARD_EINVAL, ward_admin_allow(a, "kids", "", 0, NULL));
	assert_int_equal(WARD_EINVAL, ward_admin_deny(a, "kids", "x.example", "nonsense", 0, NULL));
	assert_int_equal(WARD_EINVAL, ward_admin_deny(a, "kids", "x.example", NULL, 0, NULL));
	assert_int_equal(WARD_EINVAL, ward_admin_pause(a, "everyone", 60, NULL));
	assert_int_equal(WARD_EINVAL, ward_admin_pause(a, "kids", 0, NULL));
	assert_int_equal(WARD_EINVAL, ward_admin_allow(a, "kids", "x.example",
						      WARD_OVERRIDE_SECONDS_MAX + 1, NULL));
	assert_int_equal(WARD_ENOTFOUND, ward_admin_resume(a, "kids"));
	uint64_t s;
	assert_int_equal(0, ward_admin_parse_duration("1h30m", &s));
	assert_int_equal(s, 5400);
	assert_int_equal(0, ward_admin_parse_duration("90", &s));
	assert_int_equal(s, 90);
	assert_int_equal(-1, ward_admin_parse_duration("0", &s));
	assert_int_equal(-1, ward_admin_parse_duration("-5", &s));
	assert_int_equal(-1, ward_admin_parse_duration("1x", &s));
	assert_int_equal(-1, ward_admin_parse_duration("400d", &s));
}

static void test_expired_dropped_by_next_write(void **state)
{
	struct fixture *f = *state;
	struct ward_override *list;
	size_t n;
	assert_int_equal(0, ward_admin_allow(&f->admin, "kids", "a.example", 60, NULL));
	assert_int_equal(0, ward_admin_allow(&f->admin, "kids", "b.example", 0, NULL));
	assert_int_equal(0, ward_overrides_list(f->db, NOW + 61, &list, &n));
	assert_int_equal(n, 1); /* listing skips what expired */
	free(list);
	f->admin.now = NOW + 61;
	assert_int_equal(0, ward_admin_allow(&f->admin, "kids", "c.example", 0, NULL));
	assert_int_equal(0, ward_overrides_list(f->db, 0, &list, &n)); /* everything stored */
	assert_int_equal(n, 2);
	free(list);
}

static void test_cap(void **state)
{
	struct fixture *f = *state;
	char name[64];
	struct ward_override o = {.kind = WARD_OVERRIDE_ALLOW};
	for (int i = 0; i < WARD_OVERRIDES_MAX; i++) {
		snprintf(name, sizeof(name), "n%d.example", i);
		wire(name, o.name);
		snprintf(o.source, sizeof(o.source), "test");
		assert_int_equal(0, ward_overrides_add(f->db, &o, NOW));
	}
	assert_int_equal(WARD_ENOMEM, ward_admin_allow(&f->admin, "kids", "one-more.example", 0,
						       NULL));
	assert_non_null(strstr(f->admin.error, "too many overrides"));
	/* replacing one in force is not one more */
	assert_int_equal(0, ward_admin_allow(&f->admin, "everyone", "n5.example", 60, NULL));
}

/* ---- the table and the decision order ---------------------------------------------------- */

static void test_table_matching(void **state)
{
	struct fixture *f = *state;
	struct ward_override_hit h;
	uint8_t w[WARD_WIRE_NAME_MAX];
	assert_int_equal(0, ward_admin_allow(&f->admin, "kids", "video.example", 600, NULL));
	assert_int_equal(0, ward_admin_allow(&f->admin, "everyone", "www.video.example", 0, NULL));
	assert_int_equal(0, ward_admin_deny(&f->admin, "everyone", "bad.example", "hate", 0, NULL));
	struct ward_override_table *t = table(f);
	assert_int_equal(ward_override_table_count(t), 3);
	wire("a.b.video.example", w);
	assert_true(ward_override_table_match(t, f->conf, f->kids, WARD_OVERRIDE_ALLOW, w,
					      ward_name_wire_len(w), NOW, &h));
	assert_string_equal(h.name, "video.example");
	assert_false(h.everyone);
	/* the profile's own entry, expired, gives way to everyone's for a subdomain only */
	wire("www.video.example", w);
	assert_true(ward_override_table_match(t, f->conf, f->kids, WARD_OVERRIDE_ALLOW, w,
					      ward_name_wire_len(w), NOW + 601, &h));
	assert_true(h.everyone);
	wire("other.video.example", w);
	assert_false(ward_override_table_match(t, f->conf, f->kids, WARD_OVERRIDE_ALLOW, w,
					       ward_name_wire_len(w), NOW + 601, &h));
	assert_false(ward_override_table_match(t, f->conf, f->parents, WARD_OVERRIDE_ALLOW, w,
					       ward_name_wire_len(w), NOW, &h));
	wire("x.bad.example", w);
	assert_true(ward_override_table_match(t, f->conf, (size_t)-1, WARD_OVERRIDE_DENY, w,
					      ward_name_wire_len(w), NOW, &h));
	assert_int_equal(h.categories, WARD_CAT(WARD_CAT_HATE));
	ward_override_table_free(t);
}

static void test_decision_order(void **state)
{
	struct fixture *f = *state;
	struct ward_policy_verdict v;
	/* deny override beats the config's allow list; allow override the config's deny */
	assert_int_equal(0, ward_admin_deny(&f->admin, "kids", "fair.example", "games", 0, NULL));
	assert_int_equal(0, ward_admin_allow(&f->admin, "kids", "denied.example", 0, NULL));
	struct ward_override_table *t = table(f);
	decide(f, t, f->kids, "fair.example", &v);
	assert_int_equal(v.action, WARD_POLICY_BLOCK);
	assert_int_equal(v.reason, WARD_REASON_OVERRIDE_DENY);
	assert_int_equal(v.ede_code, 17);
	assert_string_equal(v.text, "ward: games (override 1, profile kids)");
	decide(f, t, f->kids, "www.denied.example", &v);
	assert_int_equal(v.action, WARD_POLICY_FORWARD);
	assert_int_equal(v.reason, WARD_REASON_OVERRIDE_ALLOW);
	assert_int_equal(v.override_id, 2);
	/* the other profile is untouched */
	decide(f, t, f->parents, "fair.example", &v);
	assert_int_equal(v.action, WARD_POLICY_FORWARD);
	ward_override_table_free(t);
	/* an allow override lifts a schedule's "all" (at 22:00) */
	t = table(f);
	decide_at(f, t, f->kids, "denied.example", NOW, 22 * 60, &v);
	assert_int_equal(v.action, WARD_POLICY_FORWARD);
	decide_at(f, t, f->kids, "clean.example", NOW, 22 * 60, &v);
	assert_int_equal(v.reason, WARD_REASON_SCHEDULE_ALL);
	ward_override_table_free(t);
}

static void test_pause(void **state)
{
	struct fixture *f = *state;
	struct ward_policy_verdict v;
	struct ward_override p;
	assert_int_equal(0, ward_admin_allow(&f->admin, "kids", "game.example", 0, NULL));
	assert_int_equal(0, ward_admin_pause(&f->admin, "kids", 1800, &p));
	struct ward_override_table *t = table(f);
	decide(f, t, f->kids, "clean.example", &v);
	assert_int_equal(v.action, WARD_POLICY_BLOCK);
	assert_int_equal(v.reason, WARD_REASON_PAUSED);
	assert_int_equal(v.until, NOW + 1800);
	assert_string_equal(v.text, "ward: profile kids paused (override 2)");
	/* the profile's allow list stays open; an allow override does not survive a pause */
	decide(f, t, f->kids, "www.homework.example", &v);
	assert_int_equal(v.action, WARD_POLICY_FORWARD);
	decide(f, t, f->kids, "game.example", &v);
	assert_int_equal(v.reason, WARD_REASON_PAUSED);
	decide(f, t, f->parents, "clean.example", &v);
	assert_int_equal(v.action, WARD_POLICY_FORWARD);
	/* it ends on time without a new table */
	decide_at(f, t, f->kids, "clean.example", NOW + 1800, 12 * 60, &v);
	assert_int_equal(v.action, WARD_POLICY_FORWARD);
	ward_override_table_free(t);
	assert_int_equal(0, ward_admin_resume(&f->admin, "kids"));
	t = table(f);
	decide(f, t, f->kids, "clean.example", &v);
	assert_int_equal(v.action, WARD_POLICY_FORWARD);
	ward_override_table_free(t);
}

/* A table built for an older config still matches by profile name (after a SIGHUP). */
static void test_table_of_other_config(void **state)
{
	struct fixture *f = *state;
	struct ward_conf *other;
	struct ward_override_hit h;
	char err[WARD_CONF_ERR_MAX];
	uint8_t w[WARD_WIRE_NAME_MAX];
	assert_int_equal(0, ward_admin_allow(&f->admin, "parents", "p.example", 0, NULL));
	struct ward_override_table *t = table(f);
	if (ward_conf_parse("other.json", config, strlen(config), &other, err, sizeof(err)))
		fail_msg("%s", err);
	wire("p.example", w);
	assert_true(ward_override_table_match(t, other, f->parents, WARD_OVERRIDE_ALLOW, w,
					      ward_name_wire_len(w), NOW, &h));
	assert_false(ward_override_table_match(t, other, f->kids, WARD_OVERRIDE_ALLOW, w,
					       ward_name_wire_len(w), NOW, &h));
	ward_override_table_free(t);
	ward_conf_free(other);
}

/* "allowed again at ...": the night window ends at 07:00, where "late" (07:00-07:30,
 * also "all") takes over, so the block ends at 07:30 the next day. */
static void test_schedule_end(void **state)
{
	struct fixture *f = *state;
	struct ward_policy_verdict v;
	struct ward_policy_time end;
	decide_at(f, NULL, f->kids, "clean.example", NOW, 22 * 60, &v);
	assert_int_equal(v.reason, WARD_REASON_SCHEDULE_ALL);
	struct ward_policy_time now = {.wday = 1, .minute = 22 * 60, .unix_s = NOW};
	assert_true(ward_policy_schedule_end(f->policy, &v, &now, &end));
	assert_int_equal(end.wday, 2);
	assert_int_equal(end.minute, 7 * 60 + 30);
	assert_int_equal(end.unix_s, NOW + 9 * 3600 + 1800);
	decide(f, NULL, f->kids, "clean.example", &v);
	assert_false(ward_policy_schedule_end(f->policy, &v, &now, &end));
}

/* `ward update` rebuilds the domains table only: the overrides stay. */
static void test_survive_rebuild(void **state)
{
	struct fixture *f = *state;
	struct ward_catdb_build *b;
	struct ward_override *list;
	size_t n;
	assert_int_equal(0, ward_admin_allow(&f->admin, "kids", "kept.example", 0, NULL));
	for (int round = 0; round < 2; round++) {
		assert_int_equal(0, ward_catdb_build_begin(f->db, false, &b));
		assert_int_equal(0, ward_catdb_build_add(b, "x.example", 9, 9, 1, 0));
		assert_int_equal(0, ward_catdb_build_commit(b));
	}
	assert_int_equal(0, ward_overrides_list(f->db, NOW, &list, &n));
	assert_int_equal(n, 1);
	free(list);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encoding_roundtrip_and_damage),
		T(test_add_replace_remove),
		T(test_bad_input_refused),
		T(test_expired_dropped_by_next_write),
		T(test_cap),
		T(test_table_matching),
		T(test_decision_order),
		T(test_pause),
		T(test_table_of_other_config),
		T(test_schedule_end),
		T(test_survive_rebuild),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
