/*
 * ward_feed_normalize_name: case, dots, label and name limits, IP literals, and
 * internationalized names (libidn2) checked against RFC 3492's own sample strings and
 * Python's idna package (never against this implementation's output).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/unit/test_feed_util.h"

#define REJECTED(r) (-(1 + (int)(r)))

static void ok(const char *in, const char *want)
{
	char out[WARD_NAME_MAX + 1];
	int len = ward_feed_normalize_name(in, strlen(in), out, sizeof(out));
	if (len < 0)
		fail_msg("\"%s\" rejected as %s", in, ward_feed_reject_name((enum ward_feed_reject)(-len - 1)));
	assert_string_equal(out, want);
	assert_int_equal(len, strlen(want));
}

static void bad(const char *in, enum ward_feed_reject why)
{
	char out[WARD_NAME_MAX + 1];
	int len = ward_feed_normalize_name(in, strlen(in), out, sizeof(out));
	if (len != REJECTED(why))
		fail_msg("\"%s\": got %d, want %s", in, len, ward_feed_reject_name(why));
}

static void test_case_and_dots(void **state)
{
	(void)state;
	ok("Example.COM", "example.com");
	ok("example.com.", "example.com");
	ok("actor", "actor");
	ok("ACTOR.", "actor");
	ok("_dmarc.Example.com", "_dmarc.example.com");
	ok("-a-.b-", "-a-.b-");
	ok("xn--P1AI", "xn--p1ai");
	ok("0.0.0.0.beeglivesex.com", "0.0.0.0.beeglivesex.com");
}

static void test_invalid(void **state)
{
	(void)state;
	bad("", WARD_REJECT_INVALID_NAME);
	bad(".", WARD_REJECT_INVALID_NAME);
	bad("..", WARD_REJECT_INVALID_NAME);
	bad(".example.com", WARD_REJECT_INVALID_NAME);
	bad("example..com", WARD_REJECT_INVALID_NAME);
	bad("marketingplatform.google....", WARD_REJECT_INVALID_NAME);
	bad("exa mple.com", WARD_REJECT_INVALID_NAME);
	bad("exa\tmple.com", WARD_REJECT_INVALID_NAME);
	bad("example.com/", WARD_REJECT_INVALID_NAME);
	bad("ex*ample.com", WARD_REJECT_INVALID_NAME);
	bad("ex@mple.com", WARD_REJECT_INVALID_NAME);
	bad("example.com\\", WARD_REJECT_INVALID_NAME);
	bad("a.b.123", WARD_REJECT_INVALID_NAME);
	char nul[] = "exa\0mple.com";
	char out[WARD_NAME_MAX + 1];
	assert_int_equal(ward_feed_normalize_name(nul, sizeof(nul) - 1, out, sizeof(out)),
			 REJECTED(WARD_REJECT_INVALID_NAME));
}

static void test_limits(void **state)
{
	(void)state;
	char in[600], want[600];
	/* A 63-byte label is fine, 64 is not. */
	memset(in, 'a', 63);
	strcpy(in + 63, ".example");
	ok(in, in);
	memset(in, 'a', 64);
	strcpy(in + 64, ".example");
	bad(in, WARD_REJECT_INVALID_NAME);
	/* 253 bytes (plus a trailing dot) is the longest name; 254 is too long. */
	for (int i = 0; i < 4; i++)
		memset(in + i * 64, i == 3 ? 'd' : 'a' + i, 63), in[i * 64 + 63] = '.';
	in[253] = '\0'; /* 63+1+63+1+63+1+61 */
	memcpy(want, in, 254);
	ok(in, want);
	strcat(in, ".");
	ok(in, want);
	in[253] = 'x';
	in[254] = '\0';
	bad(in, WARD_REJECT_INVALID_NAME);
	/* A too-long name with a later bad label reports the bad label. */
	in[254] = '.';
	strcpy(in + 255, "\xC3");
	bad(in, WARD_REJECT_IDN);
	/* An output buffer that is too small is an invalid name, never an overflow. */
	char small[8];
	assert_int_equal(ward_feed_normalize_name("example.com", 11, small, sizeof(small)),
			 REJECTED(WARD_REJECT_INVALID_NAME));
	assert_int_equal(ward_feed_normalize_name("abc.de", 6, small, sizeof(small)), 6);
	assert_string_equal(small, "abc.de");
	assert_int_equal(ward_feed_normalize_name("abc.defg", 8, small, sizeof(small)),
			 REJECTED(WARD_REJECT_INVALID_NAME));
	/* Very long input of any bytes. */
	size_t big = 100000;
	char *huge = malloc(big);
	memset(huge, 'a', big);
	assert_int_equal(ward_feed_normalize_name(huge, big, want, sizeof(want)),
			 REJECTED(WARD_REJECT_INVALID_NAME));
	memset(huge, '\xC3', big);
	assert_int_equal(ward_feed_normalize_name(huge, big, want, sizeof(want)),
			 REJECTED(WARD_REJECT_IDN));
	free(huge);
}

static void test_ip_literals(void **state)
{
	(void)state;
	bad("1.2.3.4", WARD_REJECT_IP);
	bad("1.2.3.4.", WARD_REJECT_IP);
	bad("255.255.255.255", WARD_REJECT_IP);
	bad("300.1.1.1", WARD_REJECT_IP);
	bad("1.2.3", WARD_REJECT_IP);
	bad("123", WARD_REJECT_IP);
	ok("1.2.3.4.example", "1.2.3.4.example");
	ok("1.2.3.x4", "1.2.3.x4");
}

/*
 * Internationalized names as browsers resolve them (UTS #46 mapping with NFC, IDNA2008,
 * non-transitional), each expectation computed with Python's idna package (Debian
 * python3-idna: idna.encode(idna.uts46_remap(name, std3_rules=False,
 * transitional=False))), never with this implementation. want NULL: rejected as `why`.
 */
static const struct {
	const char *in, *want;
	enum ward_feed_reject why;
} idn_table[] = {
	/* RFC 3492 7.1 (A) without its final U+061F, which IDNA2008 disallows; (B), (E) */
	{"\xD9\x84\xD9\x8A\xD9\x87\xD9\x85\xD8\xA7\xD8\xA8\xD8\xAA\xD9\x83\xD9\x84\xD9\x85\xD9\x88"
	 "\xD8\xB4\xD8\xB9\xD8\xB1\xD8\xA8\xD9\x8A", "xn--mgbcah9ar9a4efegftvvn", 0},
	{"\xD9\x84\xD9\x8A\xD9\x87\xD9\x85\xD8\xA7\xD8\xA8\xD8\xAA\xD9\x83\xD9\x84\xD9\x85\xD9\x88"
	 "\xD8\xB4\xD8\xB9\xD8\xB1\xD8\xA8\xD9\x8A\xD8\x9F", NULL, WARD_REJECT_IDN},
	{"\xE4\xBB\x96\xE4\xBB\xAC\xE4\xB8\xBA\xE4\xBB\x80\xE4\xB9\x88\xE4\xB8\x8D\xE8\xAF\xB4\xE4"
	 "\xB8\xAD\xE6\x96\x87.example", "xn--ihqwcrb4cv8a8dqg056pqjye.example", 0},
	{"\xD7\x9C\xD7\x9E\xD7\x94\xD7\x94\xD7\x9D\xD7\xA4\xD7\xA9\xD7\x95\xD7\x98\xD7\x9C\xD7\x90"
	 "\xD7\x9E\xD7\x93\xD7\x91\xD7\xA8\xD7\x99\xD7\x9D\xD7\xA2\xD7\x91\xD7\xA8\xD7\x99\xD7\xAA",
	 "xn--4dbcagdahymbxekheh6e0a7fei0b", 0},
	{"sportfogad\xC3\xA1s.com", "xn--sportfogads-t7a.com", 0},
	{"b\xC3\xBC" "cher.de", "xn--bcher-kva.de", 0},
	{"\xC3\x81RV\xC3\x8DZT\xC5\xB0R\xC5\x90.hu", "xn--rvztr-wqa0gx3bwi.hu", 0},
	{"M\xC3\xBCnchen.DE", "xn--mnchen-3ya.de", 0},
	{"\xD0\x93\xD0\x9E\xD0\xA1\xD0\xA3\xD0\xA1\xD0\x9F\xD0\xA3\xD0\x93\xD0\x98.\xD0\xA0\xD0\xA4",
	 "xn--c1aapwflapc.xn--p1ai", 0},
	/* issue 8: NFD input, full-width and circled letters, a capital with a dot above */
	{"bu\xCC\x88" "cher.de", "xn--bcher-kva.de", 0},
	{"\xEF\xBD\x85\xEF\xBD\x98\xEF\xBD\x81\xEF\xBD\x8D\xEF\xBD\x90\xEF\xBD\x8C\xEF\xBD\x85.com",
	 "example.com", 0},
	{"\xE2\x93\x94\xE2\x93\xA7\xE2\x93\x90\xE2\x93\x9C\xE2\x93\x9F\xE2\x93\x9B\xE2\x93\x94.com",
	 "example.com", 0},
	{"\xC4\xB0stanbul.com", "xn--istanbul-o0e.com", 0},
	{"\xEF\xBD\x82\xC3\xBC\xEF\xBD\x83\xEF\xBD\x88\xEF\xBD\x85\xEF\xBD\x92.de", "xn--bcher-kva.de", 0},
	/* non-transitional: the sharp s stays */
	{"stra\xC3\x9F" "e.de", "xn--strae-oqa.de", 0},
	/* what the mapping removes or turns into a dot, a browser does too */
	{"a\xE3\x80\x82" "example", "a.example", 0},
	{"\xEF\xBB\xBF" "example.com", "example.com", 0},
	{"a\xE2\x80\x8B" "b.example", "ab.example", 0},
	/* an underscore in an ASCII label of a converted name stays, as in any other name */
	{"_dmarc.b\xC3\xBC" "cher.de", "_dmarc.xn--bcher-kva.de", 0},
	/* not UTF-8 */
	{"\xC3", NULL, WARD_REJECT_IDN},
	{"a\xC0\xAF.example", NULL, WARD_REJECT_IDN},
	{"a\xED\xA0\x80.example", NULL, WARD_REJECT_IDN},
	{"a\xF4\x90\x80\x80.example", NULL, WARD_REJECT_IDN},
	{"a\xFF.example", NULL, WARD_REJECT_IDN},
	/* disallowed code points, hyphen rules, an A-label prefix on a U-label */
	{"a\xEE\x80\x80.example", NULL, WARD_REJECT_IDN},
	{"xn--\xC3\xA1.example", NULL, WARD_REJECT_IDN},
	{"\xC3\xA1!.example", NULL, WARD_REJECT_IDN},
	{"-a.b\xC3\xBC" "cher.de", NULL, WARD_REJECT_IDN},
	/* the no-break space maps to a space: no host name */
	{"a\xC2\xA0" "b.example", NULL, WARD_REJECT_INVALID_NAME},
};

static void test_idn(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(idn_table) / sizeof(idn_table[0]); i++) {
		if (idn_table[i].want)
			ok(idn_table[i].in, idn_table[i].want);
		else
			bad(idn_table[i].in, idn_table[i].why);
	}
}

/* 18 scattered ideographs fit in 63 once encoded, 19 do not (Python: 58 and 61 punycode
 * characters after "xn--"), nor does a name past the input cap. */
static void test_idn_lengths(void **state)
{
	(void)state;
	static const char cjk19[] =
		"\xE4\xB8\x80\xE6\xB3\xAF\xE8\xAF\x9E\xE5\xB2\xAD\xE7\xAE\x9C\xE9\xAA\x8B\xE6\xAD"
		"\x9A\xE8\xA9\x89\xE5\xAC\x98\xE7\xA8\x87\xE9\xA3\xB6\xE6\xA7\x85\xE8\xA2\xB4\xE5"
		"\xA6\x83\xE7\xA1\xB2\xE9\x9D\xA1\xE6\xA0\xB0\xE8\x9C\x9F\xE5\x9F\xAE";
	char in[2048];
	memcpy(in, cjk19, 18 * 3);
	strcpy(in + 18 * 3, ".example");
	ok(in, "xn--4gq93zy8aj7bc50anhc70ds9d7r1bwqdhrfvv7blke5rgq3grw7cuvff0h.example");
	bad(cjk19, WARD_REJECT_IDN);
	in[0] = '\0';
	for (int i = 0; i < 70; i++)
		strcat(in, "\xC3\xA1");
	bad(in, WARD_REJECT_IDN);
	in[0] = '\0';
	for (int i = 0; i < 600; i++)
		strcat(in, "\xC3\xA1");
	bad(in, WARD_REJECT_IDN);
}

static void test_names_of_things(void **state)
{
	(void)state;
	assert_string_equal(ward_feed_reject_name(WARD_REJECT_IP), "ip");
	assert_string_equal(ward_feed_reject_name(WARD_REJECT_INVALID_NAME), "invalid-name");
	assert_string_equal(ward_feed_reject_name(WARD_REJECT_UNSUPPORTED), "unsupported");
	assert_string_equal(ward_feed_reject_name(WARD_REJECT_COUNT), "unknown");
	for (int i = 0; i < WARD_REJECT_COUNT; i++)
		assert_string_not_equal(ward_feed_reject_name((enum ward_feed_reject)i), "unknown");
	static const char *const formats[] = {"hosts", "domains", "adblock", "dnsmasq", "rpz"};
	for (int i = 0; i < 5; i++) {
		enum ward_feed_format f;
		assert_int_equal(ward_feed_format_parse(formats[i], &f), 0);
		assert_string_equal(ward_feed_format_name(f), formats[i]);
	}
	enum ward_feed_format f;
	assert_int_equal(ward_feed_format_parse("HOSTS", &f), WARD_EINVAL);
	assert_int_equal(ward_feed_format_parse("", &f), WARD_EINVAL);
	assert_int_equal(ward_feed_format_parse(NULL, &f), WARD_EINVAL);
	assert_string_equal(ward_feed_format_name((enum ward_feed_format)99), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_case_and_dots),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_ip_literals),
		cmocka_unit_test(test_idn),
		cmocka_unit_test(test_idn_lengths),
		cmocka_unit_test(test_names_of_things),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
