/* The updater's sanity checks: HTML sniffing, Content-Type, entry counts, due times and
 * raw copy paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "blocklists/error.h"
#include "blocklists/update.h"

static bool sniff(const char *s, bool *decided)
{
	return ward_update_sniff_html(s, strlen(s), decided);
}

static void test_sniff_html(void **state)
{
	static const char *const html[] = {
		"<!DOCTYPE html>\n<html>", "<!doctype HTML><p>", "<html lang=en>",
		"\n\n   \t<HTML>", "\xef\xbb\xbf<!DOCTYPE html>", "\r\n<html>\r\n",
	};
	static const char *const text[] = {
		"example.com\n", "0.0.0.0 ads.example\n", "# <html> in a comment\n",
		"||example.com^\n", "<htm1>", "$TTL 300\n", "!<html>", "<!doctype xml>",
	};
	bool decided;
	for (size_t i = 0; i < sizeof(html) / sizeof(html[0]); i++) {
		assert_true(sniff(html[i], &decided));
		assert_true(decided);
	}
	for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++) {
		assert_false(sniff(text[i], &decided));
		assert_true(decided);
	}
}

/* A prefix that could still become a mark is undecided, not "not HTML". */
static void test_sniff_partial(void **state)
{
	static const char *const partial[] = { "", "   \n", "<", "<!DOC", "<ht", "\xef\xbb\xbf" };
	bool decided = true;
	for (size_t i = 0; i < sizeof(partial) / sizeof(partial[0]); i++) {
		assert_false(sniff(partial[i], &decided));
		assert_false(decided);
	}
	assert_false(sniff("<h1>", &decided));
	assert_true(decided);
}

static void test_content_type(void **state)
{
	assert_true(ward_update_content_type_html("text/html"));
	assert_true(ward_update_content_type_html("text/html; charset=utf-8"));
	assert_true(ward_update_content_type_html(" TEXT/HTML"));
	assert_false(ward_update_content_type_html("text/plain; charset=utf-8"));
	assert_false(ward_update_content_type_html("text/htmlx"));
	assert_false(ward_update_content_type_html("application/octet-stream"));
	assert_false(ward_update_content_type_html(""));
}

static void test_counts(void **state)
{
	char why[128];
	assert_int_equal(ward_update_check_counts(100, 1, 0, false, why, sizeof(why)), 0);
	assert_int_equal(ward_update_check_counts(0, 1, 0, false, why, sizeof(why)), WARD_EREFUSED);
	/* min_entries 0: a list that may be empty. */
	assert_int_equal(ward_update_check_counts(0, 0, 0, false, why, sizeof(why)), 0);
	assert_int_equal(ward_update_check_counts(0, 0, 10, false, why, sizeof(why)), WARD_EREFUSED);
	assert_int_equal(ward_update_check_counts(9, 10, 0, false, why, sizeof(why)), WARD_EREFUSED);
	assert_non_null(strstr(why, "min_entries"));
	assert_int_equal(ward_update_check_counts(10, 10, 0, false, why, sizeof(why)), 0);
	/* Exactly half is kept; less than half is refused unless allowed. */
	assert_int_equal(ward_update_check_counts(500, 1, 1000, false, why, sizeof(why)), 0);
	assert_int_equal(ward_update_check_counts(499, 1, 1000, false, why, sizeof(why)),
			 WARD_EREFUSED);
	assert_non_null(strstr(why, "shrank from 1000 to 499"));
	assert_int_equal(ward_update_check_counts(499, 1, 1000, true, why, sizeof(why)), 0);
	assert_int_equal(ward_update_check_counts(5000, 1, 1000, false, why, sizeof(why)), 0);
}

static void test_due(void **state)
{
	assert_true(ward_update_is_due(0, 43200, 1000));
	assert_false(ward_update_is_due(1000, 43200, 1000 + 43200 - 31));
	assert_true(ward_update_is_due(1000, 43200, 1000 + 43200 - 30));
	assert_true(ward_update_is_due(1000, 43200, 1000 + 43200));
	/* "5m" under a 5-minute timer: a run whose clock reads one second short of the
	 * interval (the previous run read its clock late in a second) still fetches. */
	assert_true(ward_update_is_due(1000, 300, 1000 + 299));
	assert_true(ward_update_is_due(1000, 300, 1000 + 270));
	assert_false(ward_update_is_due(1000, 300, 1000 + 269));
	assert_false(ward_update_is_due(1000, 60, 1000 + 53));
	assert_true(ward_update_is_due(1000, 60, 1000 + 54));
	assert_true(ward_update_is_due(1000, 0, 1000));
	/* A clock that went backwards does not make a feed due early. */
	assert_false(ward_update_is_due(5000, 60, 1000));
}

static void test_raw_path(void **state)
{
	char buf[64];
	assert_int_equal(ward_update_raw_path("/var/lib/ward", "ut1-adult", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/var/lib/ward/feeds/ut1-adult.raw");
	assert_int_equal(ward_update_raw_path("/db", "../x", buf, sizeof(buf)), WARD_EINVAL);
	assert_int_equal(ward_update_raw_path("/db", "a/b", buf, sizeof(buf)), WARD_EINVAL);
	assert_int_equal(ward_update_raw_path("/db", "..", buf, sizeof(buf)), WARD_EINVAL);
	assert_int_equal(ward_update_raw_path("/db", "", buf, sizeof(buf)), WARD_EINVAL);
	assert_int_equal(ward_update_raw_path("/db", "UPPER", buf, sizeof(buf)), WARD_EINVAL);
	assert_int_equal(ward_update_raw_path("/a/very/long/database/directory/name/here/and/more",
					      "feed-name", buf, sizeof(buf)), WARD_ETOOBIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sniff_html),
		cmocka_unit_test(test_sniff_partial),
		cmocka_unit_test(test_content_type),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_due),
		cmocka_unit_test(test_raw_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
