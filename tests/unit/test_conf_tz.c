/*
 * `timezone` accepts POSIX TZ strings (what OpenWrt stores in /etc/TZ) as well as zoneinfo
 * names, and schedules then run on that zone's local time even where no zoneinfo files
 * exist (TZDIR pointing at an empty directory stands in for a router).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "blocklists/conf.h"
#include "blocklists/conf_internal.h"
#include "blocklists/error.h"
#include "blocklists/policy.h"

static void test_syntax_table(void **state)
{
	static const char *const good[] = {
		"CET-1CEST,M3.5.0,M10.5.0/3", "UTC0", "EST5EDT", "GMT0BST,M3.5.0/1,M10.5.0",
		"<+0330>-3:30", "<-03>3", "AEST-10AEDT,M10.1.0,M4.1.0/3", "NZST-12NZDT,M9.5.0,M4.1.0/3",
		"IST-5:30", "EST5EDT,M3.2.0/2:00:00,M11.1.0/2:00:00", "WGT3WGST,M3.5.0/-2,M10.5.0/-1",
		"XXX-1YYY,J60/2,J300/2", "XXX-1YYY,0,365", "AAA+24", "AAA-24:59:59", "EST5EDT4",
		"XXX1YYY,M3.5.0/167,M10.5.0/-167", "<UTC+1>-1",
	};
	static const char *const bad[] = {
		"", "CET", "CE-1", "CET-25", "CET-1:6", "CET-1:60", "CET-1:00:60", "CET-1CEST,",
		"CET-1CEST,M3.5.0", "CET-1CEST,M13.5.0,M10.5.0/3", "CET-1CEST,M3.6.0,M10.5.0",
		"CET-1CEST,M3.5.7,M10.5.0", "CET-1CEST,M0.5.0,M10.5.0", "CET-1CEST,M3.0.0,M10.5.0",
		"XXX-1YYY,J0,J300", "XXX-1YYY,J366,J300", "XXX-1YYY,366,1", "XXX-1YYY,1,2/168",
		"<+03", "<+3>-3", "CET-1CEST,M3.5.0,M10.5.0/3,", "CET-1CEST,M3.5.0,M10.5.0/3x",
		"CET-1 CEST", ":Europe/Amsterdam", "Europe/Amsterdam", "CET-1CEST;M3.5.0,M10.5.0",
		"CET-0001", "C3T-1",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!ward_conf__posix_tz(good[i]))
			fail_msg("refused a valid TZ string: \"%s\"", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ward_conf__posix_tz(bad[i]))
			fail_msg("accepted an invalid TZ string: \"%s\"", bad[i]);
	char long_tz[200];
	memset(long_tz, 'A', sizeof(long_tz) - 3);
	strcpy(long_tz + sizeof(long_tz) - 3, "-1");
	assert_false(ward_conf__posix_tz(long_tz));
}

static struct ward_conf *load_with_zone(const char *zone, char *err, size_t errlen)
{
	char json[512];
	struct ward_conf *conf = NULL;
	snprintf(json, sizeof(json),
		 "{\"upstreams\": [\"192.0.2.1\"], \"timezone\": \"%s\"}", zone);
	if (ward_conf_parse("tz.json", json, strlen(json), &conf, err, errlen) != 0)
		return NULL;
	return conf;
}

/* The local time a policy built from `zone` sees at a given UTC instant. */
static struct ward_policy_time local_at(const char *zone, time_t utc)
{
	char err[WARD_CONF_ERR_MAX];
	struct ward_conf *conf = load_with_zone(zone, err, sizeof(err));
	if (!conf)
		fail_msg("%s: %s", zone, err);
	struct ward_policy *p = NULL;
	assert_int_equal(ward_policy_new(conf, &p), 0);
	struct ward_policy_time t;
	ward_policy_local_time(p, utc, &t);
	ward_policy_free(p);
	ward_conf_free(conf);
	return t;
}

/* Without any zoneinfo (a router), the POSIX string alone gives the right local time on
 * both sides of the daylight-saving switch, which a zone name could not. */
static void test_schedule_time_without_zoneinfo(void **state)
{
	char empty[] = "/tmp/ward-tz-XXXXXX";
	assert_non_null(mkdtemp(empty));
	setenv("TZDIR", empty, 1);
	/* 2026-07-15 10:00 UTC, a Wednesday: 12:00 in CEST. */
	struct ward_policy_time t = local_at("CET-1CEST,M3.5.0,M10.5.0/3", 1784109600);
	assert_int_equal(t.wday, 3);
	assert_int_equal(t.minute, 12 * 60);
	/* 2026-01-14 23:30 UTC, a Wednesday: Thursday 00:30 in CET. */
	t = local_at("CET-1CEST,M3.5.0,M10.5.0/3", 1768433400);
	assert_int_equal(t.wday, 4);
	assert_int_equal(t.minute, 30);
	/* India, a half-hour offset and no DST: 23:30 UTC is 05:00 the next day. */
	t = local_at("IST-5:30", 1768433400);
	assert_int_equal(t.wday, 4);
	assert_int_equal(t.minute, 5 * 60);
	/* A zone name needs its file, which this "router" does not have. */
	char err[WARD_CONF_ERR_MAX];
	assert_null(load_with_zone("Europe/Amsterdam", err, sizeof(err)));
	assert_non_null(strstr(err, "timezone: \"Europe/Amsterdam\" is not a time zone"));
	unsetenv("TZDIR");
	rmdir(empty);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syntax_table),
		cmocka_unit_test(test_schedule_time_without_zoneinfo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
