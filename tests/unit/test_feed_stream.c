/*
 * The streaming contract: a feed cut into chunks at any points (inside a UTF-8 sequence,
 * a CRLF, the BOM, an RPZ parenthesis) parses exactly as in one piece; the callback's
 * error stops the parse; statistics count lines and bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/unit/test_feed_util.h"

/* Small inputs that exercise every path of each format, with BOM, CRLF and UTF-8. */
static const struct {
	enum ward_feed_format fmt;
	const char *text;
} inputs[] = {
	{WARD_FEED_HOSTS, "\xEF\xBB\xBF# h\xC3\xA9\r\n0.0.0.0 a.example b.\xC3\xA1.example\r\n"
			  "127.0.0.1 localhost\r\n\r\nc.example\t# x\r\n::1 [::1] d.example"},
	{WARD_FEED_DOMAINS, "\xEF\xBB\xBF.a.example\r\n*.b.example\n1.2.3.4\nsportfogad\xC3\xA1s.com\r\n"
			    "x/y\n\xEF\xBB\xBF" "c.example"},
	{WARD_FEED_ADBLOCK, "\xEF\xBB\xBF[Adblock Plus 2.0]\r\n! c\r\n||a.example^\r\n"
			    "@@||b.example^$important\r\n||c.example^$third-party\r\nd.\xC3\xA1.example\r\n"
			    "example.com##.ad\r\n/re/\r\n||e.example/path\r\n|f.example|"},
	{WARD_FEED_DNSMASQ, "\xEF\xBB\xBF# c\r\nserver=/a.example/b.example/\r\nlocal=/c.example/\r\n"
			    "address=/d.example/#\r\nserver=/e.example/#\r\nserver=/f.example/1.1.1.1"},
	{WARD_FEED_RPZ, "\xEF\xBB\xBF$TTL 300\r\n@ SOA ns. h. ( 1 2\r\n 3 4 5 )\r\n NS ns.\r\n"
			"; c\r\na.example CNAME .\r\n*.a.example CNAME .\r\nb.example CNAME rpz-passthru.\r\n"
			"t.example TXT \"a;b(\" ; c\r\nu.example CNAME rpz-tcp-only.\r\n"
			"c.\xC3\xA1.example A 1.2.3.4"},
};

static void test_every_split_point(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(inputs) / sizeof(inputs[0]); k++) {
		const char *text = inputs[k].text;
		size_t len = strlen(text);
		struct ward_feed_stats whole_st, st;
		char *whole = parse_text(inputs[k].fmt, false, text, &whole_st);
		assert_true(whole_st.blocks > 0);
		assert_true(rejected_total(&whole_st) > 0);
		/* Every pair of cut points (which includes every single one and empty chunks). */
		for (size_t i = 0; i <= len; i++) {
			for (size_t j = i; j <= len; j++) {
				size_t cuts[2] = {i, j};
				char *got = parse_split(inputs[k].fmt, false, text, len, cuts, 2, &st);
				if (strcmp(got, whole) != 0)
					fail_msg("format %d cut at %zu,%zu:\n%s\nvs\n%s", inputs[k].fmt, i,
						 j, got, whole);
				assert_memory_equal(&st, &whole_st, sizeof(st));
				free(got);
			}
		}
		/* One byte at a time. */
		size_t *cuts = malloc(len * sizeof(*cuts));
		for (size_t i = 0; i < len; i++)
			cuts[i] = i;
		char *got = parse_split(inputs[k].fmt, false, text, len, cuts, len, &st);
		assert_string_equal(got, whole);
		assert_memory_equal(&st, &whole_st, sizeof(st));
		free(got);
		free(cuts);
		free(whole);
	}
}

static void test_expected_entries_of_inputs(void **state)
{
	(void)state;
	struct ward_feed_stats st;
	char *got = parse_text(inputs[0].fmt, false, inputs[0].text, &st);
	assert_string_equal(got, "0 a.example\n0 b.xn--1ca.example\n0 c.example\n0 d.example\n");
	assert_int_equal(st.rejected[WARD_REJECT_SYSTEM], 1);
	assert_int_equal(st.rejected[WARD_REJECT_IP], 1);
	assert_int_equal(st.lines, 6);
	assert_int_equal(st.bytes, strlen(inputs[0].text));
	free(got);
	got = parse_text(inputs[1].fmt, true, inputs[1].text, &st);
	/* The BOM in mid-stream is U+FEFF in the name, which UTS #46 maps away. */
	assert_string_equal(got, "1 a.example\n1 b.example\n1 xn--sportfogads-t7a.com\n"
				 "1 c.example\n");
	assert_int_equal(st.rejected[WARD_REJECT_IP], 1);
	assert_int_equal(st.rejected[WARD_REJECT_URL], 1);
	assert_int_equal(st.rejected[WARD_REJECT_IDN], 0);
	free(got);
	got = parse_text(inputs[2].fmt, false, inputs[2].text, &st);
	assert_string_equal(got, "1 a.example\n3 b.example\n0 d.xn--1ca.example\n0 f.example\n");
	free(got);
	got = parse_text(inputs[3].fmt, false, inputs[3].text, &st);
	assert_string_equal(got, "1 a.example\n1 b.example\n1 c.example\n1 d.example\n3 e.example\n");
	assert_int_equal(st.rejected[WARD_REJECT_UNSUPPORTED], 1);
	free(got);
	got = parse_text(inputs[4].fmt, false, inputs[4].text, &st);
	assert_string_equal(got, "0 a.example\n1 a.example\n2 b.example\n0 t.example\n"
				 "0 c.xn--1ca.example\n");
	assert_int_equal(st.rejected[WARD_REJECT_UNSUPPORTED], 1);
	assert_int_equal(rejected_total(&st), 1);
	free(got);
}

struct stopper {
	int after;
	int seen;
};

static int stop_after(void *ctx, const char *name, size_t len, unsigned flags)
{
	(void)name, (void)len, (void)flags;
	struct stopper *s = ctx;
	return ++s->seen > s->after ? WARD_ETOOBIG : 0;
}

static void test_callback_error_stops_parsing(void **state)
{
	(void)state;
	for (int fmt = WARD_FEED_HOSTS; fmt <= WARD_FEED_RPZ; fmt++) {
		struct stopper s = {1, 0};
		const char *text = inputs[fmt].text;
		struct ward_feed_parser *p = ward_feed_parser_new((enum ward_feed_format)fmt, false,
								  stop_after, &s);
		assert_non_null(p);
		int rc = ward_feed_parser_write(p, text, strlen(text));
		if (rc == 0)
			rc = ward_feed_parser_finish(p, NULL);
		assert_int_equal(rc, WARD_ETOOBIG);
		assert_int_equal(s.seen, 2);
		/* Sticky: later calls return the error and call nobody. */
		assert_int_equal(ward_feed_parser_write(p, "x.example\n", 10), WARD_ETOOBIG);
		struct ward_feed_stats st;
		assert_int_equal(ward_feed_parser_finish(p, &st), WARD_ETOOBIG);
		assert_int_equal(s.seen, 2);
		assert_int_equal(st.blocks + st.allows, 2);
		ward_feed_parser_free(p);
		/* The one-shot helper reports it too. */
		s.seen = 0;
		assert_int_equal(ward_feed_parse((enum ward_feed_format)fmt, false, text, strlen(text),
						 stop_after, &s, &st),
				 WARD_ETOOBIG);
	}
	/* An error on the very last line, which only finish() delivers. */
	struct stopper s = {0, 0};
	struct ward_feed_parser *p = ward_feed_parser_new(WARD_FEED_DOMAINS, false, stop_after, &s);
	assert_int_equal(ward_feed_parser_write(p, "a.example", 9), 0);
	assert_int_equal(s.seen, 0);
	assert_int_equal(ward_feed_parser_finish(p, NULL), WARD_ETOOBIG);
	ward_feed_parser_free(p);
}

static void test_api_edges(void **state)
{
	(void)state;
	assert_null(ward_feed_parser_new(WARD_FEED_HOSTS, false, NULL, NULL));
	assert_null(ward_feed_parser_new((enum ward_feed_format)42, false, collect_entry, NULL));
	ward_feed_parser_free(NULL);
	/* Empty input, empty writes, a parser freed without finish. */
	struct ward_feed_stats st;
	char *got = parse_text(WARD_FEED_RPZ, false, "", &st);
	assert_string_equal(got, "");
	assert_int_equal(st.lines, 0);
	assert_int_equal(st.bytes, 0);
	free(got);
	struct collected c = {0};
	struct ward_feed_parser *p = ward_feed_parser_new(WARD_FEED_HOSTS, false, collect_entry, &c);
	assert_int_equal(ward_feed_parser_write(p, "", 0), 0);
	assert_int_equal(ward_feed_parser_write(p, "0.0.0.0 a.example", 17), 0);
	ward_feed_parser_free(p);
	free(c.text);
	/* Lines: a final line without LF counts, a final LF adds none; BOM-only is empty. */
	got = parse_text(WARD_FEED_DOMAINS, false, "a.example\n\nb.example", &st);
	assert_int_equal(st.lines, 3);
	free(got);
	got = parse_text(WARD_FEED_DOMAINS, false, "a.example\n", &st);
	assert_int_equal(st.lines, 1);
	free(got);
	got = parse_text(WARD_FEED_DOMAINS, false, "\xEF\xBB\xBF", &st);
	assert_int_equal(st.lines, 0);
	assert_int_equal(st.bytes, 3);
	free(got);
	/* NUL bytes in a line are data, not terminators. */
	static const char nul[] = "a.example\0b.example\nc.example\n";
	got = parse_split(WARD_FEED_DOMAINS, false, nul, sizeof(nul) - 1, NULL, 0, &st);
	assert_string_equal(got, "0 c.example\n");
	assert_int_equal(st.rejected[WARD_REJECT_INVALID_NAME], 1);
	free(got);
	/* An unclosed RPZ parenthesis at the end of the stream still ends the record. */
	got = parse_text(WARD_FEED_RPZ, false, "a.example ( CNAME .", &st);
	assert_string_equal(got, "0 a.example\n");
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_split_point),
		cmocka_unit_test(test_expected_entries_of_inputs),
		cmocka_unit_test(test_callback_error_stops_parsing),
		cmocka_unit_test(test_api_edges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
