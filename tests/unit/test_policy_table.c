/*
 * The policy's decision as one table, curl-style: each row is {client, time, name} and the
 * verdict it must get {profile, action, reason, EDE}, decided against a real category
 * database (LMDB in a fresh directory) and a written-out config. A new rule of the policy
 * gets a row here.
 */
#include <arpa/inet.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "blocklists/catdb.h"
#include "blocklists/conf.h"
#include "blocklists/error.h"
#include "blocklists/feed.h"
#include "blocklists/name.h"
#include "blocklists/policy.h"

static const char config[] =
	"{\"upstreams\": [\"192.0.2.53\"],"
	" \"allow_clients\": [\"192.168.0.0/16\"],"
	" \"profiles\": {"
	"   \"kids\": {\"block\": [\"adult\", \"gambling\", \"malware\"],"
	"              \"deny\": [\"denied.example\"], \"allow\": [\"fair.casino.example\"],"
	"              \"safe_search\": [\"bing\"], \"anti_circumvention\": true,"
	"              \"schedules\": [{\"name\": \"bedtime\", \"days\": \"daily\","
	"                               \"from\": \"21:00\", \"to\": \"07:00\"}]},"
	"   \"teen\": {\"block\": [\"malware\"], \"anti_circumvention\": false,"
	"              \"schedules\": [{\"name\": \"homework\", \"days\": \"weekdays\","
	"                               \"from\": \"16:00\", \"to\": \"18:00\","
	"                               \"block\": [\"games\"]}]},"
	"   \"adults\": {\"anti_circumvention\": false}},"
	" \"clients\": [{\"match\": \"192.168.1.0/24\", \"profile\": \"kids\"},"
	"               {\"match\": \"192.168.2.0/24\", \"profile\": \"teen\"}],"
	" \"default_profile\": \"adults\"}";

#define CAT(c) WARD_CAT(WARD_CAT_##c)

static const struct {
	const char *name;
	ward_catset cats;
	unsigned flags;
} entries[] = {
	{"adult.example", CAT(ADULT), WARD_ENTRY_SUBDOMAINS},
	{"casino.example", CAT(GAMBLING), WARD_ENTRY_SUBDOMAINS},
	{"evil.example", CAT(MALWARE), WARD_ENTRY_SUBDOMAINS},
	{"abuse.example", CAT(CSAM), WARD_ENTRY_SUBDOMAINS},
	{"game.example", CAT(GAMES), WARD_ENTRY_SUBDOMAINS},
	{"exact.adult2.example", CAT(ADULT), 0},
	{"safe.adult.example", CAT(ADULT), WARD_ENTRY_ALLOW},
};

enum { MON = 1, SAT = 6 };

struct row {
	const char *client;   /* IPv4 address */
	unsigned wday, hhmm;  /* local time: 0 = sunday; 1530 = 15:30 */
	const char *name;
	const char *profile;
	enum ward_policy_action action;
	enum ward_policy_reason reason;
	int ede;
};

#define KID "192.168.1.10"
#define TEEN "192.168.2.10"
#define ADULT_C "192.168.3.10"
#define FWD WARD_POLICY_FORWARD
#define BLOCK WARD_POLICY_BLOCK
#define NONE WARD_REASON_NONE
#define E_NONE WARD_EDE_NONE
#define E_FILTERED WARD_EDE_FILTERED
#define E_BLOCKED WARD_EDE_BLOCKED
#define E_CENSORED WARD_EDE_CENSORED

static const struct row table[] = {
	/* categories, per profile */
	{KID, MON, 1200, "www.adult.example", "kids", BLOCK, WARD_REASON_CATEGORY, E_FILTERED},
	{TEEN, MON, 1200, "www.adult.example", "teen", FWD, NONE, E_NONE},
	{ADULT_C, MON, 1200, "www.adult.example", "adults", FWD, NONE, E_NONE},
	{KID, MON, 1200, "casino.example", "kids", BLOCK, WARD_REASON_CATEGORY, E_FILTERED},
	/* security categories say Blocked (15), the others Filtered (17) */
	{TEEN, MON, 1200, "x.evil.example", "teen", BLOCK, WARD_REASON_CATEGORY, E_BLOCKED},
	/* enforced for everyone, whatever the profile or its allow list: Censored (16) */
	{ADULT_C, MON, 1200, "abuse.example", "adults", BLOCK, WARD_REASON_ENFORCED, E_CENSORED},
	{KID, MON, 1200, "a.abuse.example", "kids", BLOCK, WARD_REASON_ENFORCED, E_CENSORED},
	/* exact-only entries match themselves, not their subdomains */
	{KID, MON, 1200, "exact.adult2.example", "kids", BLOCK, WARD_REASON_CATEGORY, E_FILTERED},
	{KID, MON, 1200, "sub.exact.adult2.example", "kids", FWD, NONE, E_NONE},
	/* a feed's allow entry lifts its category below it */
	{KID, MON, 1200, "safe.adult.example", "kids", FWD, NONE, E_NONE},
	/* the profile's deny and allow lists */
	{KID, MON, 1200, "denied.example", "kids", BLOCK, WARD_REASON_DENY, E_FILTERED},
	{KID, MON, 1200, "www.denied.example", "kids", BLOCK, WARD_REASON_DENY, E_FILTERED},
	{TEEN, MON, 1200, "denied.example", "teen", FWD, NONE, E_NONE},
	{KID, MON, 1200, "fair.casino.example", "kids", FWD, WARD_REASON_ALLOW, E_NONE},
	/* schedules: bedtime blocks all but the allow list, across midnight */
	{KID, MON, 2130, "news.example", "kids", BLOCK, WARD_REASON_SCHEDULE_ALL, E_FILTERED},
	{KID, SAT, 630, "news.example", "kids", BLOCK, WARD_REASON_SCHEDULE_ALL, E_FILTERED},
	{KID, SAT, 700, "news.example", "kids", FWD, NONE, E_NONE},
	{KID, MON, 2130, "fair.casino.example", "kids", FWD, WARD_REASON_ALLOW, E_NONE},
	/* homework blocks games on weekdays only, within its window */
	{TEEN, MON, 1700, "game.example", "teen", BLOCK, WARD_REASON_CATEGORY, E_FILTERED},
	{TEEN, MON, 1800, "game.example", "teen", FWD, NONE, E_NONE},
	{TEEN, SAT, 1700, "game.example", "teen", FWD, NONE, E_NONE},
	/* safe search: bing is rewritten for kids only; the canary only where switched on */
	{KID, MON, 1200, "www.bing.com", "kids", WARD_POLICY_CNAME, WARD_REASON_SAFE_SEARCH,
	 E_NONE},
	{TEEN, MON, 1200, "www.bing.com", "teen", FWD, NONE, E_NONE},
	{KID, MON, 1200, "use-application-dns.net", "kids", WARD_POLICY_NXDOMAIN,
	 WARD_REASON_CANARY, E_FILTERED},
	{TEEN, MON, 1200, "use-application-dns.net", "teen", FWD, NONE, E_NONE},
	/* case does not matter */
	{KID, MON, 1200, "WWW.Adult.EXAMPLE", "kids", BLOCK, WARD_REASON_CATEGORY, E_FILTERED},
};

struct fixture {
	char dir[64];
	struct ward_catdb *db;
	struct ward_catdb_reader *reader;
	struct ward_conf *conf;
	struct ward_policy *policy;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[WARD_CONF_ERR_MAX];
	struct ward_catdb_build *b;
	assert_non_null(f);
	strcpy(f->dir, "/tmp/ward-test-policy-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(0, ward_catdb_open(f->dir, WARD_CATDB_WRITE, &f->db));
	assert_int_equal(0, ward_catdb_build_begin(f->db, true, &b));
	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++)
		assert_int_equal(0, ward_catdb_build_add(b, entries[i].name,
							 strlen(entries[i].name), entries[i].cats,
							 1, entries[i].flags));
	assert_int_equal(0, ward_catdb_build_commit(b));
	assert_int_equal(0, ward_catdb_reader_new(f->db, &f->reader));
	if (ward_conf_parse("table.json", config, strlen(config), &f->conf, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(0, ward_policy_new(f->conf, &f->policy));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	ward_policy_free(f->policy);
	ward_conf_free(f->conf);
	ward_catdb_reader_free(f->reader);
	ward_catdb_close(f->db);
	nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void check_row(struct fixture *f, const struct row *r)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	uint8_t wire[WARD_WIRE_NAME_MAX];
	struct ward_policy_verdict v;
	struct ward_policy_time now = {.wday = (uint8_t)r->wday,
				       .minute = (uint16_t)(r->hhmm / 100 * 60 + r->hhmm % 100)};
	assert_int_equal(1, inet_pton(AF_INET, r->client, &sin.sin_addr));
	assert_true(ward_policy_admit(f->policy, (struct sockaddr *)&sin, &v));
	size_t profile = ward_policy_profile_for(f->policy, (struct sockaddr *)&sin, NULL, NULL);
	assert_true(ward_name_from_text(r->name, wire, sizeof(wire)) > 0);
	ward_name_lower(wire);
	assert_int_equal(0, ward_policy_decide(f->policy, f->reader, NULL, profile, wire, &now, &v));
	if (strcmp(f->conf->profiles[profile].name, r->profile) != 0 || v.action != r->action ||
	    v.reason != r->reason || v.ede_code != r->ede)
		fail_msg("%s at %u/%04u asks %s: got %s %s %s EDE %d, want %s %s %s EDE %d",
			 r->client, r->wday, r->hhmm, r->name, f->conf->profiles[profile].name,
			 ward_policy_action_name(v.action), ward_policy_reason_name(v.reason),
			 v.ede_code, r->profile, ward_policy_action_name(r->action),
			 ward_policy_reason_name(r->reason), r->ede);
}

static void test_table(void **state)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		check_row(*state, &table[i]);
}

/* Outside allow_clients: REFUSED with EDE 18 before anything else is looked at. */
static void test_outside_allow_clients(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct ward_policy_verdict v;
	assert_int_equal(1, inet_pton(AF_INET, "10.0.0.1", &sin.sin_addr));
	assert_false(ward_policy_admit(f->policy, (struct sockaddr *)&sin, &v));
	assert_int_equal(WARD_POLICY_REFUSED, v.action);
	assert_int_equal(WARD_REASON_ACL, v.reason);
	assert_int_equal(WARD_EDE_PROHIBITED, v.ede_code);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outside_allow_clients, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
