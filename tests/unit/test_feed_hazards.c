/*
 * One test per parsing hazard listed in $WARD_SHARED_DATA/feeds/MANIFEST.md (1..43).
 * Each quotes the real line; where the file is in the shared data, the test first checks
 * that the quote is still that file's line, so a test can never drift from the data.
 * Expected names were written by hand (punycode from Python's idna codec), never taken
 * from the parser's output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/unit/test_feed_util.h"

/* The lineno-th line (1-based) of a shared feed file, without LF. Caller frees. */
static char *real_line(const char *rel, unsigned lineno)
{
	size_t len;
	char *data = read_feed(rel, &len);
	char *s = data;
	for (unsigned i = 1; i < lineno && s; i++) {
		s = memchr(s, '\n', len - (size_t)(s - data));
		s = s ? s + 1 : NULL;
	}
	assert_non_null(s);
	char *nl = memchr(s, '\n', len - (size_t)(s - data));
	size_t n = nl ? (size_t)(nl - s) : len - (size_t)(s - data);
	char *line = strndup(s, n);
	free(data);
	return line;
}

#define assert_real_line(rel, lineno, quote)                                                 \
	do {                                                                                 \
		char *real_ = real_line((rel), (lineno));                                    \
		assert_string_equal(real_, (quote));                                         \
		free(real_);                                                                 \
	} while (0)

/* Parses text and compares the entries; returns the stats for further checks. */
static struct ward_feed_stats check(enum ward_feed_format fmt, bool sub, const char *text,
				    const char *want)
{
	struct ward_feed_stats st;
	char *got = parse_text(fmt, sub, text, &st);
	assert_string_equal(got, want);
	free(got);
	return st;
}

/* A whole-file parse: entries as text. */
static char *parse_feed(const char *rel, enum ward_feed_format fmt, struct ward_feed_stats *st)
{
	size_t len;
	char *data = read_feed(rel, &len);
	char *got = parse_split(fmt, false, data, len, NULL, 0, st);
	free(data);
	return got;
}

/* ---- Encoding and line structure ---- */

static void test_hazard_01_bom(void **state)
{
	(void)state;
	static const char hosts[] = "\xEF\xBB\xBF# Title: \xF0\x9F\x92\x8A Dandelion Sprout's "
				    "Anti-Malware List (\xC2\xABhosts\xC2\xBB file version)\n"
				    "127.0.0.1 jNKmS0zFuEh.click\n";
	assert_real_line("dandelionsprout/AntiMalwareHosts.txt", 1,
			 "\xEF\xBB\xBF# Title: \xF0\x9F\x92\x8A Dandelion Sprout's Anti-Malware "
			 "List (\xC2\xABhosts\xC2\xBB file version)");
	struct ward_feed_stats st = check(WARD_FEED_HOSTS, false, hosts, "0 jnkms0zfueh.click\n");
	assert_int_equal(rejected_total(&st), 0);
	assert_int_equal(st.lines, 2);

	assert_real_line("dandelionsprout/AntiMalwareAdGuardHome.txt", 1,
			 "\xEF\xBB\xBF[Adblock Plus 3.13]");
	st = check(WARD_FEED_ADBLOCK, false, "\xEF\xBB\xBF[Adblock Plus 3.13]\n||x.example^\n",
		   "1 x.example\n");
	assert_int_equal(rejected_total(&st), 0);

	/* A BOM directly before data, cut into every possible pair of chunks. */
	static const char data[] = "\xEF\xBB\xBF" "example.com\n";
	for (size_t cut = 0; cut <= sizeof(data) - 1; cut++) {
		char *got = parse_split(WARD_FEED_DOMAINS, false, data, sizeof(data) - 1, &cut, 1,
					&st);
		assert_string_equal(got, "0 example.com\n");
		assert_int_equal(rejected_total(&st), 0);
		free(got);
	}
	/* Only the very start is skipped as a BOM: later, U+FEFF is part of the name, and
	 * the UTS #46 mapping removes it, as a browser would. */
	st = check(WARD_FEED_DOMAINS, false, "a.example\n\xEF\xBB\xBF" "b.example\n",
		   "0 a.example\n0 b.example\n");
	assert_int_equal(rejected_total(&st), 0);
	/* A stream that starts like a BOM but is not one keeps its bytes. */
	st = check(WARD_FEED_DOMAINS, false, "\xEF\xBB" "a.example\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_IDN], 1);
	st = check(WARD_FEED_DOMAINS, false, "\xEF", "");
	assert_int_equal(st.lines, 1);
	assert_int_equal(st.rejected[WARD_REJECT_IDN], 1);
}

static void test_hazard_02_no_final_newline(void **state)
{
	(void)state;
	size_t len;
	char *data = read_feed("blocklistproject/alpha_porn-alpha.txt", &len);
	assert_true(len > 0 && data[len - 1] != '\n');
	assert_real_line("blocklistproject/alpha_porn-alpha.txt", 9, "||www.rebrandly.com^");
	struct ward_feed_stats st;
	char *got = parse_split(WARD_FEED_ADBLOCK, false, data, len, NULL, 0, &st);
	assert_non_null(strstr(got, "1 bestfreecams.club\n1 www.bestfreecams.club\n"
				    "1 www.rebrandly.com\n"));
	assert_int_equal(st.lines, 9);
	free(got);
	free(data);

	data = read_feed("stevenblack/data_URLHaus.hosts", &len);
	assert_true(len > 0 && data[len - 1] != '\n');
	got = parse_split(WARD_FEED_HOSTS, false, data, len, NULL, 0, &st);
	assert_int_equal(st.lines, 485);
	assert_int_equal(rejected_total(&st), 0);
	free(got);
	free(data);

	check(WARD_FEED_RPZ, false, "x.example CNAME .", "0 x.example\n");
	check(WARD_FEED_DNSMASQ, false, "local=/x.example/", "1 x.example\n");
}

/* Converts LF to CRLF. */
static char *to_crlf(const char *data, size_t len, size_t *out_len)
{
	char *out = malloc(len * 2 + 1);
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n')
			out[o++] = '\r';
		out[o++] = data[i];
	}
	*out_len = o;
	return out;
}

static void crlf_same(const char *rel, enum ward_feed_format fmt)
{
	size_t len, clen;
	char *data = read_feed(rel, &len);
	char *crlf = to_crlf(data, len, &clen);
	assert_true(clen > len);
	struct ward_feed_stats a, b;
	char *lf_out = parse_split(fmt, false, data, len, NULL, 0, &a);
	/* Cut between CR and LF as often as possible: chunks end right after each CR. */
	size_t cuts[64], n = 0;
	for (size_t i = 0; i < clen && n < 64; i++)
		if (crlf[i] == '\r')
			cuts[n++] = i + 1;
	char *crlf_out = parse_split(fmt, false, crlf, clen, cuts, n, &b);
	assert_string_equal(lf_out, crlf_out);
	assert_true(a.blocks > 0);
	b.bytes = a.bytes;
	assert_memory_equal(&a, &b, sizeof(a));
	free(lf_out);
	free(crlf_out);
	free(crlf);
	free(data);
}

static void test_hazard_03_crlf(void **state)
{
	(void)state;
	crlf_same("blocklistproject/drugs.txt", WARD_FEED_HOSTS);
	crlf_same("blocklistproject/alt-version_drugs-nl.txt", WARD_FEED_DOMAINS);
	crlf_same("blocklistproject/adguard_drugs-ags.txt", WARD_FEED_ADBLOCK);
	crlf_same("blocklistproject/dnsmasq-version_drugs-dnsmasq.txt", WARD_FEED_DNSMASQ);
	crlf_same("hagezi/rpz_nosafesearch.txt", WARD_FEED_RPZ);
	crlf_same("dandelionsprout/AntiMalwareAdGuardHome.txt", WARD_FEED_ADBLOCK);
	/* A lone CR inside a line is whitespace, not a line end. */
	check(WARD_FEED_HOSTS, false, "0.0.0.0 a.example\rb.example\r\n",
	      "0 a.example\n0 b.example\n");
}

static void test_hazard_04_non_ascii_comments(void **state)
{
	(void)state;
	struct ward_feed_stats st = check(
		WARD_FEED_HOSTS, false,
		"# Title: \xF0\x9F\x92\x8A Dandelion Sprout's Anti-Malware List "
		"(\xC2\xABhosts\xC2\xBB file version)\n"
		"# \xE2\x80\x94\xE2\x80\x94\xE2\x80\x94\n"
		"# \xD0\x9A\xD0\xB0\xD1\x82\xD0\xB5\xD0\xB3\xD0\xBE\xD1\x80\xD0\xB8\xD1\x8F fran\xC3\xA7" "aise\n"
		"127.0.0.1 a.example # \xC2\xAB comment \xC2\xBB\n",
		"0 a.example\n");
	assert_int_equal(rejected_total(&st), 0);
	st = check(WARD_FEED_ADBLOCK, false, "! \xF0\x9F\x92\x8A \xC2\xAB\xC2\xBB\n", "");
	assert_int_equal(rejected_total(&st), 0);
	st = check(WARD_FEED_RPZ, false, "; \xF0\x9F\x92\x8A\nx.example CNAME . ; \xC2\xAB\n",
		   "0 x.example\n");
	assert_int_equal(rejected_total(&st), 0);
}

static void test_hazard_05_tabs_and_runs_of_spaces(void **state)
{
	(void)state;
	assert_real_line("stevenblack/data_URLHaus.hosts", 9, "127.0.0.1\t1008691.com");
	assert_real_line("stevenblack/extensions_social_sinfonietta.hosts", 1741,
			 "127.0.0.1 c.ns.cdninstagram.com\t");
	assert_real_line("doh/dibdot-doh-ipv4.txt", 1,
			 "1.0.0.1             # 1dot1dot1dot1.cloudflare-dns.com, one.one.one.one");
	check(WARD_FEED_HOSTS, false, "127.0.0.1\t1008691.com\n", "0 1008691.com\n");
	check(WARD_FEED_HOSTS, false, "127.0.0.1 c.ns.cdninstagram.com\t\n",
	      "0 c.ns.cdninstagram.com\n");
	check(WARD_FEED_HOSTS, false, "\t 0.0.0.0 \t a.example \t\t b.example\t\n",
	      "0 a.example\n0 b.example\n");
	/* An IP with only a comment: the names in the comment are no entries. */
	struct ward_feed_stats st = check(
		WARD_FEED_HOSTS, false,
		"1.0.0.1             # 1dot1dot1dot1.cloudflare-dns.com, one.one.one.one\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_IP], 1);
	st = check(WARD_FEED_ADBLOCK, false, "\t||a.example^\t\n", "1 a.example\n");
	assert_int_equal(rejected_total(&st), 0);
}

static void test_hazard_06_very_long_lines(void **state)
{
	(void)state;
	/* Real long lines (> 255 bytes) are parsed, not cut at a small buffer. */
	size_t len;
	char *data = read_feed("hagezi/adblock_spam-tlds.txt", &len);
	struct ward_feed_stats st;
	char *got = parse_split(WARD_FEED_ADBLOCK, false, data, len, NULL, 0, &st);
	assert_int_equal(st.rejected[WARD_REJECT_TOO_LONG], 0);
	free(got);
	free(data);
	char *line = real_line("hagezi/adblock_spam-tlds.txt", 54);
	assert_int_equal(strlen(line), 443);
	got = parse_text(WARD_FEED_ADBLOCK, false, line, &st);
	assert_int_equal(st.rejected[WARD_REJECT_MODIFIER], 1);
	free(got);
	free(line);

	/* A line over WARD_FEED_MAX_LINE is counted and skipped; its neighbours survive. */
	size_t big = WARD_FEED_MAX_LINE + 10;
	char *text = malloc(2 * big);
	int head = sprintf(text, "a.example\n");
	memset(text + head, 'x', big);
	strcpy(text + head + big, ".example\nb.example\n");
	size_t tlen = strlen(text);
	size_t cuts[] = {head + 1, head + 100, head + WARD_FEED_MAX_LINE, tlen - 12};
	for (size_t ncuts = 0; ncuts <= 4; ncuts++) {
		got = parse_split(WARD_FEED_DOMAINS, false, text, tlen, cuts, ncuts, &st);
		assert_string_equal(got, "0 a.example\n0 b.example\n");
		assert_int_equal(st.rejected[WARD_REJECT_TOO_LONG], 1);
		assert_int_equal(st.lines, 3);
		free(got);
	}
	/* Exactly at the cap (with or without a CR) is not too long; one byte more is. */
	for (int extra = 0; extra <= 1; extra++) {
		for (int cr = 0; cr <= 1; cr++) {
			size_t n = WARD_FEED_MAX_LINE + (size_t)extra;
			memset(text, 'a', n);
			memcpy(text + n - 8, ".example", 8);
			strcpy(text + n, cr ? "\r\n" : "\n");
			got = parse_split(WARD_FEED_ADBLOCK, false, text, strlen(text), NULL, 0, &st);
			assert_string_equal(got, "");
			assert_int_equal(st.rejected[WARD_REJECT_TOO_LONG], (unsigned)extra);
			assert_int_equal(st.rejected[WARD_REJECT_INVALID_NAME], (unsigned)!extra);
			free(got);
		}
	}
	/* A long final line without a newline, and an RPZ record too long in total. */
	memset(text, 'b', big);
	got = parse_split(WARD_FEED_HOSTS, false, text, big, NULL, 0, &st);
	assert_int_equal(st.rejected[WARD_REJECT_TOO_LONG], 1);
	free(got);
	strcpy(text, "x.example TXT (\n");
	size_t at = strlen(text);
	for (int i = 0; i < 3; i++) {
		text[at++] = '"';
		memset(text + at, 'q', 30000);
		at += 30000;
		memcpy(text + at, "\"\n", 2);
		at += 2;
	}
	strcpy(text + at, ")\ny.example CNAME .\n");
	got = parse_split(WARD_FEED_RPZ, false, text, strlen(text), NULL, 0, &st);
	assert_string_equal(got, "0 y.example\n");
	assert_int_equal(st.rejected[WARD_REJECT_TOO_LONG], 1);
	free(got);
	free(text);
}

static void test_hazard_07_blank_and_comment_blocks(void **state)
{
	(void)state;
	struct ward_feed_stats st = check(WARD_FEED_HOSTS, false,
					  "# a\n\n\n#\n0.0.0.0 a.example\n\n# b\n   \n0.0.0.0 b.example\n",
					  "0 a.example\n0 b.example\n");
	assert_int_equal(rejected_total(&st), 0);
	assert_int_equal(st.lines, 9);
	st = check(WARD_FEED_ADBLOCK, false, "! a\n\n!\n||a.example^\n", "1 a.example\n");
	assert_int_equal(rejected_total(&st), 0);
	st = check(WARD_FEED_DNSMASQ, false, "# a\n\nlocal=/a.example/\n", "1 a.example\n");
	assert_int_equal(rejected_total(&st), 0);
	st = check(WARD_FEED_RPZ, false, "; a\n\n;\na.example CNAME .\n", "0 a.example\n");
	assert_int_equal(rejected_total(&st), 0);
	/* "//" (the PSL's marker) is no comment in a domain list, and never an entry. */
	st = check(WARD_FEED_DOMAINS, false, "// ===BEGIN ICANN DOMAINS===\n//\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_SYNTAX], 1);
	assert_int_equal(st.rejected[WARD_REJECT_URL], 1);
}

/* ---- Comments ---- */

static void test_hazard_08_inline_comments(void **state)
{
	(void)state;
	assert_real_line("stevenblack/hosts-unified-2022-05-05.txt", 1817,
			 "0.0.0.0 docs.pipenv.org  # https://github.com/StevenBlack/hosts/issues/1635");
	struct ward_feed_stats st = check(
		WARD_FEED_HOSTS, false,
		"0.0.0.0 docs.pipenv.org  # https://github.com/StevenBlack/hosts/issues/1635\n",
		"0 docs.pipenv.org\n");
	assert_int_equal(rejected_total(&st), 0);
	/* Only after whitespace: "a.example#comment" is one (invalid) token. */
	st = check(WARD_FEED_HOSTS, false, "0.0.0.0 a.example#comment b.example\n", "0 b.example\n");
	assert_int_equal(st.rejected[WARD_REJECT_INVALID_NAME], 1);
	check(WARD_FEED_DOMAINS, false, "a.example # comment\n", "0 a.example\n");
	check(WARD_FEED_DNSMASQ, false, "server=/a.example/ # comment\n", "1 a.example\n");
	check(WARD_FEED_RPZ, false, "a.example CNAME . ; comment\n", "0 a.example\n");
}

static void test_hazard_09_hash_that_is_not_a_comment(void **state)
{
	(void)state;
	assert_real_line("ut1/adult.urls", 179, "danskporn.dk/#p2");
	struct ward_feed_stats st = check(WARD_FEED_DOMAINS, true, "danskporn.dk/#p2\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_URL], 1);
	st = check(WARD_FEED_ADBLOCK, false, "###AD_160\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_COSMETIC], 1);
	/* Technitium PR #2125: read as hosts, this line blocked the TLD "to". */
	static const char tiktok[] = "tiktok.com##[aria-label=\"Scroll to the top\"]\n";
	st = check(WARD_FEED_ADBLOCK, false, tiktok, "");
	assert_int_equal(st.rejected[WARD_REJECT_COSMETIC], 1);
	st = check(WARD_FEED_HOSTS, false, tiktok, "");
	assert_int_equal(st.rejected[WARD_REJECT_SYNTAX], 1);
	st = check(WARD_FEED_DOMAINS, true, tiktok, "");
	assert_int_equal(rejected_total(&st), 1);
	/* Every cosmetic and HTML-filter separator. */
	static const char *const cosmetic[] = {
		"example.com##.ad", "example.com#@#.ad", "example.com#?#.ad:has(a)",
		"example.com#@?#.ad", "example.com#$#body { x: y }", "example.com#@$#.ad",
		"example.com#$?#.ad", "example.com#@$?#.ad", "example.com#%#//scriptlet('x')",
		"example.com#@%#//scriptlet('x')", "example.com$$script[tag]", "example.com$@$script",
	};
	for (size_t i = 0; i < sizeof(cosmetic) / sizeof(cosmetic[0]); i++) {
		st = check(WARD_FEED_ADBLOCK, false, cosmetic[i], "");
		assert_int_equal(st.rejected[WARD_REJECT_COSMETIC], 1);
	}
	/* In dnsmasq, '#' after '/' is data (use the normal servers). */
	check(WARD_FEED_DNSMASQ, false, "server=/a.example/#\n", "3 a.example\n");
}

static void test_hazard_10_adblock_preprocessor_in_hosts(void **state)
{
	(void)state;
	assert_real_line("dandelionsprout/AntiMalwareHosts.txt", 8, "!#if !env_mv3");
	assert_real_line("dandelionsprout/AntiMalwareHosts.txt", 13965, "!#endif");
	struct ward_feed_stats st = check(WARD_FEED_HOSTS, false,
					  "!#if !env_mv3\n127.0.0.1 a.example\n!#endif\n",
					  "0 a.example\n");
	assert_int_equal(rejected_total(&st), 0);
	st = check(WARD_FEED_DOMAINS, false, "!#if !env_mv3\n!#endif\n", "");
	assert_int_equal(rejected_total(&st), 0);
}

static void test_hazard_11_header_metadata(void **state)
{
	(void)state;
	assert_real_line("blocklistproject/drugs.txt", 7, "# Entries: 26,029");
	assert_real_line("hagezi/adblock_gambling.txt", 12, "! Number of entries: 209386");
	assert_real_line("stevenblack/hosts-unified-2022-05-05.txt", 7,
			 "# Number of unique domains: 113,498");
	struct ward_feed_stats st = check(
		WARD_FEED_HOSTS, false,
		"# Entries: 26,029\n# Number of unique domains: 113,498\n0.0.0.0 a.example\n",
		"0 a.example\n");
	assert_int_equal(rejected_total(&st), 0);
	st = check(WARD_FEED_ADBLOCK, false, "! Number of entries: 209386\n", "");
	assert_int_equal(rejected_total(&st), 0);
	/* The header count is informational: the real file's count is what is parsed. */
	char *got = parse_feed("hagezi/adblock_gambling.txt", WARD_FEED_ADBLOCK, &st);
	assert_int_equal(st.blocks, 209386);
	free(got);
}

/* ---- Hosts-file specifics ---- */

static void test_hazard_12_system_entries(void **state)
{
	(void)state;
	static const char lines[] = "127.0.0.1 localhost\n"
				    "127.0.0.1 localhost.localdomain\n"
				    "127.0.0.1 local\n"
				    "255.255.255.255 broadcasthost\n"
				    "::1 localhost\n"
				    "::1 ip6-localhost\n"
				    "::1 ip6-loopback\n"
				    "fe80::1%lo0 localhost\n"
				    "ff00::0 ip6-localnet\n"
				    "ff00::0 ip6-mcastprefix\n"
				    "ff02::1 ip6-allnodes\n"
				    "ff02::2 ip6-allrouters\n"
				    "ff02::3 ip6-allhosts\n"
				    "0.0.0.0 0.0.0.0\n";
	char *real = NULL;
	size_t rlen = 0;
	FILE *f = open_memstream(&real, &rlen);
	for (unsigned i = 15; i <= 28; i++) {
		char *l = real_line("stevenblack/hosts-unified-2022-05-05.txt", i);
		fprintf(f, "%s\n", l);
		free(l);
	}
	fclose(f);
	assert_string_equal(real, lines);
	free(real);
	struct ward_feed_stats st = check(WARD_FEED_HOSTS, false, lines, "");
	assert_int_equal(st.rejected[WARD_REJECT_SYSTEM], 13);
	assert_int_equal(st.rejected[WARD_REJECT_IP], 1);
	assert_int_equal(st.blocks + st.allows, 0);
	assert_real_line("stevenblack/hosts-unified-2022-05-05.txt", 105375,
			 "#fe80::1%lo0\tlocalhost");
	st = check(WARD_FEED_HOSTS, false, "#fe80::1%lo0\tlocalhost\n", "");
	assert_int_equal(rejected_total(&st), 0);
	/* Case and a trailing dot do not smuggle them in, nor does another format. */
	st = check(WARD_FEED_HOSTS, false, "0.0.0.0 LocalHost.\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_SYSTEM], 1);
	st = check(WARD_FEED_ADBLOCK, false, "||localhost^\n||local^\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_SYSTEM], 2);
	st = check(WARD_FEED_RPZ, false, "localhost CNAME .\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_SYSTEM], 1);
	/* Names that only start like system names are ordinary. */
	check(WARD_FEED_HOSTS, false, "0.0.0.0 localhost.example ip6-localhost.evil\n",
	      "0 localhost.example\n0 ip6-localhost.evil\n");
}

static void test_hazard_13_sink_addresses(void **state)
{
	(void)state;
	check(WARD_FEED_HOSTS, false,
	      "0.0.0.0 a.example\n127.0.0.1 b.example\n10.1.2.3 c.example\n:: d.example\n"
	      "::1 e.example\n",
	      "0 a.example\n0 b.example\n0 c.example\n0 d.example\n0 e.example\n");
	check(WARD_FEED_HOSTS, true, "127.0.0.1 b.example\n", "1 b.example\n");
}

static void test_hazard_14_several_names_per_line(void **state)
{
	(void)state;
	assert_real_line("stevenblack/extensions_porn_sinfonietta.hosts", 9451,
			 "0.0.0.0 nadine-j.de novinhas-brasil.blogspot.com");
	check(WARD_FEED_HOSTS, false, "0.0.0.0 nadine-j.de novinhas-brasil.blogspot.com\n",
	      "0 nadine-j.de\n0 novinhas-brasil.blogspot.com\n");
	/* A bad name among good ones is counted alone. */
	struct ward_feed_stats st = check(WARD_FEED_HOSTS, false,
					  "0.0.0.0 a.example bad..example localhost b.example\n",
					  "0 a.example\n0 b.example\n");
	assert_int_equal(st.rejected[WARD_REJECT_INVALID_NAME], 1);
	assert_int_equal(st.rejected[WARD_REJECT_SYSTEM], 1);
}

static void test_hazard_15_data_line_without_ip(void **state)
{
	(void)state;
	assert_real_line("stevenblack/data_StevenBlack.hosts", 2429, "analytics.shein.com");
	assert_real_line("stevenblack/data_StevenBlack.hosts", 2430, "analytics.shein.co.uk");
	struct ward_feed_stats st = check(WARD_FEED_HOSTS, false,
					  "0.0.0.0 a.example\nanalytics.shein.com\nanalytics.shein.co.uk\n",
					  "0 a.example\n0 analytics.shein.com\n0 analytics.shein.co.uk\n");
	assert_int_equal(rejected_total(&st), 0);
}

static void test_hazard_16_ip_in_name_column(void **state)
{
	(void)state;
	assert_real_line("dandelionsprout/AntiMalwareHosts.txt", 44, "127.0.0.1 109.201.135.46");
	struct ward_feed_stats st = check(WARD_FEED_HOSTS, false, "127.0.0.1 109.201.135.46\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_IP], 1);
	assert_real_line("stevenblack/hosts-unified-2022-05-05.txt", 250,
			 "0.0.0.0 0.0.0.0.beeglivesex.com");
	st = check(WARD_FEED_HOSTS, false, "0.0.0.0 0.0.0.0.beeglivesex.com\n",
		   "0 0.0.0.0.beeglivesex.com\n");
	assert_int_equal(rejected_total(&st), 0);
	st = check(WARD_FEED_HOSTS, false, "0.0.0.0 ::1 [::1] fe80::1%eth0\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_IP], 3);
}

static void test_hazard_17_url_and_ipv6_literals(void **state)
{
	(void)state;
	assert_real_line("dandelionsprout/AntiMalwareHosts.txt", 10967, "://[2604:2dc0:100:4ed8::]");
	assert_real_line("dandelionsprout/AntiMalwareDomains.txt", 857, "[2a02:1668:1034::2]");
	struct ward_feed_stats st = check(WARD_FEED_HOSTS, false, "://[2604:2dc0:100:4ed8::]\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_URL], 1);
	st = check(WARD_FEED_DOMAINS, false, "[2a02:1668:1034::2]\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_IP], 1);
	/* In adblock syntax the same literals are IPs too. */
	st = check(WARD_FEED_ADBLOCK, false,
		   "://[2604:2dc0:100:4ed8::]^\n[2a02:1668:1034::2]\n2a02:1668:1034::2\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_IP], 3);
}

/* ---- Name syntax ---- */

static void test_hazard_18_uppercase(void **state)
{
	(void)state;
	assert_real_line("stevenblack/extensions_porn_sinfonietta.hosts", 3930, "0.0.0.0 Ehentai.to");
	assert_real_line("stevenblack/extensions_porn_sinfonietta.hosts", 9416, "0.0.0.0 mySubs.cc");
	assert_real_line("stevenblack/data_URLHaus.hosts", 465, "127.0.0.1\twww.TradeInsights.net");
	assert_real_line("dandelionsprout/AntiMalwareHosts.txt", 11330, "127.0.0.1 jNKmS0zFuEh.click");
	assert_real_line("dandelionsprout/AntiMalwareDomains.txt", 9725,
			 "[2600:1f1c:57F:b502:dd8:9588:11e6:282]");
	struct ward_feed_stats st = check(WARD_FEED_HOSTS, false,
					  "0.0.0.0 Ehentai.to\n0.0.0.0 mySubs.cc\n"
					  "127.0.0.1\twww.TradeInsights.net\n"
					  "127.0.0.1 jNKmS0zFuEh.click\n"
					  "[2600:1f1c:57F:b502:dd8:9588:11e6:282]\n",
					  "0 ehentai.to\n0 mysubs.cc\n0 www.tradeinsights.net\n"
					  "0 jnkms0zfueh.click\n");
	assert_int_equal(st.rejected[WARD_REJECT_IP], 1);
	check(WARD_FEED_ADBLOCK, false, "||ExAmPlE.COM^\n", "1 example.com\n");
	check(WARD_FEED_RPZ, false, "ExAmPlE.COM CNAME .\n", "0 example.com\n");
	check(WARD_FEED_DNSMASQ, false, "server=/ExAmPlE.COM/\n", "1 example.com\n");
}

static void test_hazard_19_trailing_dot(void **state)
{
	(void)state;
	assert_real_line("stevenblack/extensions_porn_clefspeare13.hosts", 3665,
			 "0.0.0.0 cast.porngo.com.");
	assert_real_line("dandelionsprout/AntiMalwareHosts.txt", 10610, "127.0.0.1 dhl-commx.");
	check(WARD_FEED_HOSTS, false, "0.0.0.0 cast.porngo.com.\n", "0 cast.porngo.com\n");
	/* In a hosts file a trailing dot means "absolute": the literal single label. It was
	 * an adblock "any TLD" pattern; read literally it is a top-level name, and no feed
	 * entry may be one (a public suffix). */
	struct ward_feed_stats st = check(WARD_FEED_HOSTS, false, "127.0.0.1 dhl-commx.\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_PUBLIC_SUFFIX], 1);
	/* In adblock syntax a trailing dot is a pattern: never a name, never a TLD. */
	st = check(WARD_FEED_ADBLOCK, false,
					  "||free-discordnitro.\n://popupblockergold.\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_WILDCARD], 2);
	st = check(WARD_FEED_ADBLOCK, false, "||cacheserve.*/promodisplay/\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_URL], 1);
	/* Two dots are an empty label. */
	st = check(WARD_FEED_DOMAINS, false, "a.example..\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_INVALID_NAME], 1);
}

static void test_hazard_20_leading_dot(void **state)
{
	(void)state;
	assert_real_line("ut1/dynamic-dns.domains", 1, ".afshin.ir");
	assert_real_line("ut1/dynamic-dns.domains", 2, ".giswebservice.com");
	struct ward_feed_stats st = check(WARD_FEED_DOMAINS, false, ".afshin.ir\n.giswebservice.com\n",
					  "1 afshin.ir\n1 giswebservice.com\n");
	assert_int_equal(rejected_total(&st), 0);
	st = check(WARD_FEED_DOMAINS, false, "..afshin.ir\n.\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_INVALID_NAME], 2);
	check(WARD_FEED_DNSMASQ, false, "server=/.afshin.ir/\n", "1 afshin.ir\n");
}

static void test_hazard_21_wildcards(void **state)
{
	(void)state;
	assert_real_line("hagezi/rpz_nsfw.txt", 20, "*.bunkr.ac CNAME .");
	assert_real_line("hagezi/allow_nsfw.txt", 4, "*.archive.org");
	assert_real_line("hagezi/adblock_spam-tlds.txt", 20, "||*.africa^$denyallow=nation.africa");
	assert_real_line("hagezi/adguard_regex-wildcard-rules.txt", 23, "|*app1e*^");
	assert_real_line("dandelionsprout/AntiMalwareAdGuardHome.txt", 11, "@@||masto*.top^");
	/* "*.x" does not match x itself in RPZ; ward stores x with subdomains. */
	check(WARD_FEED_RPZ, false, "bunkr.ac CNAME .\n*.bunkr.ac CNAME .\n",
	      "0 bunkr.ac\n1 bunkr.ac\n");
	check(WARD_FEED_DOMAINS, false, "*.archive.org\n", "1 archive.org\n");
	struct ward_feed_stats st = check(WARD_FEED_ADBLOCK, false,
					  "||*.africa^$denyallow=nation.africa\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_MODIFIER], 1);
	/* "*.africa" with subdomains is the whole TLD: refused as a public suffix. */
	st = check(WARD_FEED_ADBLOCK, false, "||*.africa^\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_PUBLIC_SUFFIX], 1);
	st = check(WARD_FEED_ADBLOCK, false, "|*app1e*^\n@@||masto*.top^\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_WILDCARD], 2);
	st = check(WARD_FEED_DOMAINS, false, "apple-relay.*\na.*.example\n*\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_WILDCARD], 3);
	st = check(WARD_FEED_RPZ, false, "a.*.example CNAME .\n*. CNAME .\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_WILDCARD], 2);
	st = check(WARD_FEED_DNSMASQ, false, "server=/*google.com/\naddress=/#/\nserver=//\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_WILDCARD], 3);
	check(WARD_FEED_DNSMASQ, false, "server=/*.google.com/\n", "1 google.com\n");
}

static void test_hazard_22_underscores(void **state)
{
	(void)state;
	assert_real_line("ut1/agressif.domains", 96, "_video-bagarre.com");
	assert_real_line("blocklistproject/adguard_tracking-ags.txt", 788, "||_analytics.synonym.to^");
	assert_real_line("stevenblack/extensions_porn_clefspeare13.hosts", 2046,
			 "0.0.0.0 asbestos_dust.blogspot.com");
	assert_real_line("ut1/doh.domains", 62, "_214214214.xyz");
	check(WARD_FEED_DOMAINS, true, "_video-bagarre.com\n_214214214.xyz\n",
	      "1 _video-bagarre.com\n1 _214214214.xyz\n");
	check(WARD_FEED_ADBLOCK, false, "||_analytics.synonym.to^\n", "1 _analytics.synonym.to\n");
	check(WARD_FEED_HOSTS, false, "0.0.0.0 asbestos_dust.blogspot.com\n",
	      "0 asbestos_dust.blogspot.com\n");
}

static void test_hazard_23_hyphens_at_label_ends(void **state)
{
	(void)state;
	assert_real_line("popular/umbrella-top-100k.txt", 6989, "-container.supertms.com");
	assert_real_line("popular/umbrella-top-100k.txt", 43354,
			 "---netoppofindmgmtkubernetes-repo-administrator.supertms.com");
	assert_real_line("stevenblack/hosts-unified-2022-05-05.txt", 31089,
			 "0.0.0.0 cgi-trial-.net.zooplus.fr");
	check(WARD_FEED_DOMAINS, false,
	      "-container.supertms.com\n"
	      "---netoppofindmgmtkubernetes-repo-administrator.supertms.com\n",
	      "0 -container.supertms.com\n"
	      "0 ---netoppofindmgmtkubernetes-repo-administrator.supertms.com\n");
	check(WARD_FEED_HOSTS, false, "0.0.0.0 cgi-trial-.net.zooplus.fr\n",
	      "0 cgi-trial-.net.zooplus.fr\n");
}

static void test_hazard_24_idn(void **state)
{
	(void)state;
	assert_real_line("blocklistproject/gambling-truncated-46fcd73.txt", 20,
			 "0.0.0.0 sportfogad\xC3\xA1s.com");
	assert_real_line("hagezi/rpz_nsfw.txt", 7003, "xn--80aa3agb.cc CNAME .");
	assert_real_line("hagezi/adblock_spam-tlds-adblock-aggressive.txt", 302, "||xn--p1acf^");
	assert_real_line("blocklistproject/alt-version_drugs-nl.txt", 583,
			 "aak.xn--90acpdvs9eta.xn--p1ai");
	/* Expected A-labels from Python: "sportfogadás.com".encode("idna"). */
	check(WARD_FEED_HOSTS, false, "0.0.0.0 sportfogad\xC3\xA1s.com\n",
	      "0 xn--sportfogads-t7a.com\n");
	/* "госуспуги.рф" (blocklistproject issue #712). */
	check(WARD_FEED_DOMAINS, false,
	      "\xD0\xB3\xD0\xBE\xD1\x81\xD1\x83\xD1\x81\xD0\xBF\xD1\x83\xD0\xB3\xD0\xB8.\xD1\x80\xD1\x84\n",
	      "0 xn--c1aapwflapc.xn--p1ai\n");
	check(WARD_FEED_RPZ, false, "xn--80aa3agb.cc CNAME .\n", "0 xn--80aa3agb.cc\n");
	struct ward_feed_stats st = check(WARD_FEED_ADBLOCK, false, "||xn--p1acf^\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_PUBLIC_SUFFIX], 1); /* .рус, a TLD */
	check(WARD_FEED_DOMAINS, false, "aak.xn--90acpdvs9eta.xn--p1ai\n",
	      "0 aak.xn--90acpdvs9eta.xn--p1ai\n");
	check(WARD_FEED_ADBLOCK, false, "||sportfogad\xC3\xA1s.com^\n", "1 xn--sportfogads-t7a.com\n");
	check(WARD_FEED_DNSMASQ, false, "local=/sportfogad\xC3\xA1s.com/\n",
	      "1 xn--sportfogads-t7a.com\n");
	check(WARD_FEED_RPZ, false, "sportfogad\xC3\xA1s.com CNAME .\n", "0 xn--sportfogads-t7a.com\n");
	/* Bytes that are not UTF-8, and code points no name may hold; a zero-width space is
	 * mapped away (UTS #46), as a browser does. */
	st = check(WARD_FEED_DOMAINS, false,
					  "sportfogad\xE1s.com\nbad\xC0\xAF.example\n"
					  "pua\xEE\x80\x80.example\n"
					  "zero\xE2\x80\x8Bwidth.example\n",
					  "0 zerowidth.example\n");
	assert_int_equal(st.rejected[WARD_REJECT_IDN], 3);
}

static void test_hazard_25_single_label_tld(void **state)
{
	(void)state;
	assert_real_line("hagezi/adblock_spam-tlds-adblock.txt", 19, "||actor^");
	/* A whole TLD would block every name under it: refused, and counted. */
	struct ward_feed_stats st = check(WARD_FEED_ADBLOCK, false, "||actor^\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_PUBLIC_SUFFIX], 1);
	st = check(WARD_FEED_ADBLOCK, false, "actor^\n|actor|\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_PUBLIC_SUFFIX], 2);
	/* Without a terminator a single label is a prefix or a URL substring, not a TLD. */
	assert_real_line("dandelionsprout/AntiMalwareAdGuardHome.txt", 12094, "||postnord-order-");
	st = check(WARD_FEED_ADBLOCK, true, "||postnord-order-\nads\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_WILDCARD], 2);
	st = check(WARD_FEED_DOMAINS, true, "actor\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_PUBLIC_SUFFIX], 1);
	char *got = parse_feed("hagezi/adblock_spam-tlds-adblock.txt", WARD_FEED_ADBLOCK, &st);
	/* The header says 132 latin TLDs; 125 are whole TLDs (refused), the other 7 are
	 * registrable names under private suffixes ("||qzz.io^", "||sa.com^"). */
	assert_int_equal(st.blocks, 7);
	assert_int_equal(st.rejected[WARD_REJECT_PUBLIC_SUFFIX], 125);
	assert_int_equal(rejected_total(&st), 125);
	free(got);
}

/* Not a numbered hazard: entries that are public suffixes (MANIFEST.md, "Public-suffix
 * entries"). A registry suffix blocks every registrant under it; refused in every format,
 * blocks and exceptions alike. The PSL's private section is accepted. */
static void test_public_suffix_entries(void **state)
{
	(void)state;
	assert_real_line("stevenblack/extensions_porn_sinfonietta.hosts", 5558, "0.0.0.0 gob.mx");
	assert_real_line("stevenblack/extensions_porn_sinfonietta.hosts", 296,
			 "0.0.0.0 a1.defensoria-nsjp.gob.mx");
	struct ward_feed_stats st = check(WARD_FEED_HOSTS, false,
					  "0.0.0.0 gob.mx\n0.0.0.0 a1.defensoria-nsjp.gob.mx\n",
					  "0 a1.defensoria-nsjp.gob.mx\n");
	assert_int_equal(st.rejected[WARD_REJECT_PUBLIC_SUFFIX], 1);
	assert_int_equal(st.blocks, 1);
	assert_real_line("ut1/games.domains", 10435, "game.tw");
	assert_real_line("ut1/agressif.domains", 193, "fpp.co.uk");
	st = check(WARD_FEED_DOMAINS, true, "game.tw\nfpp.co.uk\nco.uk\n", "1 fpp.co.uk\n");
	assert_int_equal(st.rejected[WARD_REJECT_PUBLIC_SUFFIX], 2);
	/* A wildcard rule (*.sch.uk): its base, as libpsl counts it, and the names it
	 * covers; an exception (!city.kawasaki.jp) is a registrable name. */
	assert_real_line("popular/umbrella-top-100k.txt", 34362, "sch.uk");
	st = check(WARD_FEED_DOMAINS, false, "sch.uk\nx.sch.uk\nkawasaki.jp\nx.kawasaki.jp\n"
		   "city.kawasaki.jp\nwww.x.sch.uk\n", "0 city.kawasaki.jp\n0 www.x.sch.uk\n");
	assert_int_equal(st.rejected[WARD_REJECT_PUBLIC_SUFFIX], 4);
	/* Every format, and exceptions too: "@@||com^" would lift a whole TLD. */
	st = check(WARD_FEED_DOMAINS, false, "*.org\n.com\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_PUBLIC_SUFFIX], 2);
	st = check(WARD_FEED_ADBLOCK, false, "||co.uk^\n@@||com^\n||*.org^\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_PUBLIC_SUFFIX], 3);
	assert_int_equal(st.allows, 0);
	st = check(WARD_FEED_DNSMASQ, false, "address=/com/\nserver=/org/#\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_PUBLIC_SUFFIX], 2);
	st = check(WARD_FEED_RPZ, false, "$ORIGIN rpz.\ncom CNAME .\n*.co.uk CNAME .\n"
		   "ok.co.uk CNAME .\n", "0 ok.co.uk\n");
	assert_int_equal(st.rejected[WARD_REJECT_PUBLIC_SUFFIX], 2);
	/* The private section: dynamic-DNS and hosting services a category blocks whole. */
	assert_real_line("hagezi/adblock_dyndns.txt", 363, "||duckdns.org^");
	check(WARD_FEED_ADBLOCK, false, "||duckdns.org^\n", "1 duckdns.org\n");
	assert_true(ward_feed_is_public_suffix("com", 3));
	assert_true(ward_feed_is_public_suffix("zzz-no-such-tld", 15));
	assert_true(ward_feed_is_public_suffix("xn--p1ai", 8));
	assert_false(ward_feed_is_public_suffix("example.com", 11));
	assert_false(ward_feed_is_public_suffix("blogspot.com", 12));
}

static void test_hazard_26_malformed_benign_names(void **state)
{
	(void)state;
	assert_real_line("popular/top-sites-1.1.222.txt", 182, "marketingplatform.google....");
	struct ward_feed_stats st = check(WARD_FEED_DOMAINS, false,
					  "marketingplatform.google....\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_INVALID_NAME], 1);
}

static void test_hazard_27_bare_ips_in_domain_lists(void **state)
{
	(void)state;
	assert_real_line("ut1/redirector.domains", 464, "1.0.255.159");
	assert_real_line("ut1/doh.domains", 7, "1.1.1.1");
	struct ward_feed_stats st = check(WARD_FEED_DOMAINS, true, "1.0.255.159\n1.1.1.1\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_IP], 2);
	st = check(WARD_FEED_ADBLOCK, false, "1.1.104.12\n||179.43.189.62\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_IP], 2);
	/* All-digit names are addresses, whatever their range; a digit TLD is no name. */
	st = check(WARD_FEED_DOMAINS, false, "300.1.1.1\n1.2.3\na.b.123\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_IP], 2);
	assert_int_equal(st.rejected[WARD_REJECT_INVALID_NAME], 1);
	/* The real redirector list: 22,530 IPv4 entries per MANIFEST.md. */
	char *got = parse_feed("ut1/redirector.domains", WARD_FEED_DOMAINS, &st);
	assert_int_equal(st.rejected[WARD_REJECT_IP], 22530);
	free(got);
}

static void test_hazard_28_ip_range_regexes(void **state)
{
	(void)state;
	assert_real_line("dandelionsprout/AntiMalwareAdGuardHome.txt", 221,
			 "/^142\\.91\\.159\\.[12]?\\d?\\d$/");
	assert_real_line("hagezi/adguard_regex-wildcard-rules.txt", 13,
			 "/^94\\.242\\.247\\.(2[0-9]|3[0-2])$/");
	struct ward_feed_stats st = check(WARD_FEED_ADBLOCK, false,
					  "/^142\\.91\\.159\\.[12]?\\d?\\d$/\n"
					  "/^94\\.242\\.247\\.(2[0-9]|3[0-2])$/\n",
					  "");
	assert_int_equal(st.rejected[WARD_REJECT_REGEX], 2);
}

/* ---- Adblock semantics ---- */

static void test_hazard_29_badfilter(void **state)
{
	(void)state;
	assert_real_line("dandelionsprout/AntiMalwareAdGuardHome.txt", 12853,
			 "||amazonaws.com^$all,badfilter");
	struct ward_feed_stats st = check(WARD_FEED_ADBLOCK, false,
					  "||amazonaws.com^$all,badfilter\n"
					  "||amazonaws.com^$popup,badfilter\n||amazonaws.com^$BadFilter\n",
					  "");
	assert_int_equal(st.rejected[WARD_REJECT_BADFILTER], 3);
	/* The real file must not block AWS. */
	char *got = parse_feed("dandelionsprout/AntiMalwareAdGuardHome.txt", WARD_FEED_ADBLOCK, &st);
	assert_null(strstr(got, " amazonaws.com\n"));
	assert_int_equal(st.rejected[WARD_REJECT_BADFILTER], 6);
	free(got);
}

static void test_hazard_30_page_context_modifiers(void **state)
{
	(void)state;
	struct ward_feed_stats st = check(
		WARD_FEED_ADBLOCK, false,
		"||bit.ly^$image,domain=tooxclusive.com\n"
		"||amazonaws.com^$domain=hexupload.net|megaup.net|uploadhaven.com\n"
		"||t.co^$script\n||imgur.com^$third-party\n||x.example^$popup\n"
		"||y.example^$~third-party\n||z.example^$1p\n",
		"");
	assert_int_equal(st.rejected[WARD_REJECT_MODIFIER], 7);
	/* The modifiers that keep a rule a host block (AdGuard Home's DNS engine). */
	check(WARD_FEED_ADBLOCK, false,
	      "||a.example^$important\n||b.example^$all\n||c.example^$document\n"
	      "||d.example^$doc,important\n||e.example^$match-case\n||f.example^$IMPORTANT\n",
	      "1 a.example\n1 b.example\n1 c.example\n1 d.example\n1 e.example\n1 f.example\n");
}

static void test_hazard_31_dns_modifiers(void **state)
{
	(void)state;
	assert_real_line("dandelionsprout/AntiMalwareAdGuardHome.txt", 22, "||*.loan^$dnstype=~CNAME");
	struct ward_feed_stats st = check(
		WARD_FEED_ADBLOCK, false,
		"||*.loan^$dnstype=~CNAME\n||*.africa^$denyallow=nation.africa\n"
		"|www.google.com^$dnsrewrite=NOERROR;CNAME;forcesafesearch.google.com\n"
		"||a.example^$client=192.168.0.1\n||b.example^$ctag=device_tv\n",
		"");
	assert_int_equal(st.rejected[WARD_REJECT_MODIFIER], 5);
}

static void test_hazard_32_exceptions(void **state)
{
	(void)state;
	assert_real_line("dandelionsprout/AntiMalwareAdGuardHome.txt", 680, "@@|www.auslogics.com|");
	/* A cosmetic exception is no DNS allow. */
	struct ward_feed_stats st = check(WARD_FEED_ADBLOCK, false, "@@||jetzt.de^$generichide\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_MODIFIER], 1);
	assert_int_equal(st.allows, 0);
	st = check(WARD_FEED_ADBLOCK, false, "@@||masto*.top^\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_WILDCARD], 1);
	st = check(WARD_FEED_ADBLOCK, false,
		   "@@||a.example^\n@@|www.auslogics.com|\n@@||b.example^$important\n",
		   "3 a.example\n2 www.auslogics.com\n3 b.example\n");
	assert_int_equal(st.allows, 3);
	assert_int_equal(st.blocks, 0);
	st = check(WARD_FEED_ADBLOCK, false, "@@/regex/\n@@##.ad\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_REGEX], 1);
	assert_int_equal(st.rejected[WARD_REJECT_COSMETIC], 1);
}

static void test_hazard_33_url_path_rules(void **state)
{
	(void)state;
	struct ward_feed_stats st = check(
		WARD_FEED_ADBLOCK, false,
		"||2024.sci-hub.se/2294/7a43bb4cf6c57229b02a9604a1f4614e/skidmore1966.pdf^$all\n"
		"||a.example/ads/\n||b.example^*/path\n||c.example:8080^\n||d.example?x=1\n"
		"|https://e.example/p\n/banner.\n",
		"");
	assert_int_equal(st.rejected[WARD_REJECT_URL], 7);
	/* A lone "/" after the host still means the whole host. */
	check(WARD_FEED_ADBLOCK, false, "||a.example/\n|https://b.example/\n||c.example^|\n",
	      "1 a.example\n0 b.example\n1 c.example\n");
}

static void test_hazard_34_bare_entries(void **state)
{
	(void)state;
	/* AdGuard: a bare "example.org" line blocks that name, not its subdomains. */
	check(WARD_FEED_ADBLOCK, false, "111101111.ru\n", "0 111101111.ru\n");
	check(WARD_FEED_ADBLOCK, true, "111101111.ru\n", "1 111101111.ru\n");
	check(WARD_FEED_ADBLOCK, false, ".example.org\n*.example.org\n",
	      "1 example.org\n1 example.org\n");
	struct ward_feed_stats st = check(WARD_FEED_ADBLOCK, false,
					  "-ad-manager/$~stylesheet\n1.1.104.12\n*factoryoutletsuk.\n",
					  "");
	assert_int_equal(st.rejected[WARD_REJECT_MODIFIER], 1);
	assert_int_equal(st.rejected[WARD_REJECT_IP], 1);
	assert_int_equal(st.rejected[WARD_REJECT_WILDCARD], 1);
}

static void test_hazard_35_regex_rules(void **state)
{
	(void)state;
	assert_real_line("hagezi/adguard_regex-wildcard-rules.txt", 9,
			 "/(^|\\.)(0x)?(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{10,64}\\.[a-z]{2,}$/");
	struct ward_feed_stats st = check(
		WARD_FEED_ADBLOCK, false,
		"/(^|\\.)(0x)?(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{10,64}\\.[a-z]{2,}$/\n"
		"/ads[0-9]+\\./$dnstype=A\n@@/^.*(tech|project|linux).*\\.top$/\n",
		"");
	assert_int_equal(st.rejected[WARD_REJECT_REGEX], 3);
	/* The whole regex/wildcard feed yields nothing. */
	char *got = parse_feed("hagezi/adguard_regex-wildcard-rules.txt", WARD_FEED_ADBLOCK, &st);
	assert_string_equal(got, "");
	assert_int_equal(st.rejected[WARD_REJECT_REGEX], 9);
	assert_int_equal(st.rejected[WARD_REJECT_WILDCARD], 20);
	free(got);
}

static void test_hazard_36_adblock_header(void **state)
{
	(void)state;
	assert_real_line("hagezi/adblock_gambling.txt", 1, "[Adblock Plus]");
	struct ward_feed_stats st = check(WARD_FEED_ADBLOCK, false,
					  "[Adblock Plus]\n[Adblock Plus 2.0]\n[Adblock Plus 3.13]\n"
					  "[uBlock Origin]\n||a.example^\n",
					  "1 a.example\n");
	assert_int_equal(rejected_total(&st), 0);
}

/* ---- Other formats ---- */

static void test_hazard_37_rpz_header_and_owner_inheritance(void **state)
{
	(void)state;
	assert_real_line("hagezi/rpz_nsfw.txt", 1, "$TTL 300");
	assert_real_line("hagezi/rpz_nsfw.txt", 2,
			 "@ SOA localhost. root.localhost. 1765017300 43200 3600 86400 300");
	assert_real_line("hagezi/rpz_nsfw.txt", 3, "  NS  localhost.");
	struct ward_feed_stats st = check(
		WARD_FEED_RPZ, false,
		"$TTL 300\n@ SOA localhost. root.localhost. 1765017300 43200 3600 86400 300\n"
		"  NS  localhost.\n;\n; Title: HaGeZi's NSFW DNS Blocklist\n"
		"britneyspears.ac CNAME .\n*.britneyspears.ac CNAME .\n",
		"0 britneyspears.ac\n1 britneyspears.ac\n");
	assert_int_equal(rejected_total(&st), 0);
	/* A record that starts with whitespace belongs to the previous owner. */
	check(WARD_FEED_RPZ, false, "a.example CNAME .\n  TXT \"also a\"\n", "0 a.example\n0 a.example\n");
	st = check(WARD_FEED_RPZ, false, "  A 1.2.3.4\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_SYNTAX], 1);
	/* A multi-line SOA, $ORIGIN with relative and absolute owners, the policies. */
	st = check(WARD_FEED_RPZ, false,
		   "$ORIGIN rpz.example.\n"
		   "@ 3600 IN SOA ns.example. admin.example. (\n"
		   "    2024010101 ; serial\n    3600 900 604800 ( 300 ) )\n"
		   "@ NS ns.example.\n"
		   "bad.test CNAME .\n"
		   "*.bad.test.rpz.example. CNAME *.\n"
		   "ok.test CNAME rpz-passthru.\n"
		   "old.test CNAME old.test.\n"
		   "drop.test CNAME rpz-drop.\n"
		   "garden.test CNAME walled.garden.example.\n"
		   "local.test A 127.0.0.1\n"
		   "local.test AAAA ::1\n"
		   "tcp.test CNAME rpz-tcp-only.\n"
		   "32.1.2.0.192.rpz-ip CNAME .\n"
		   "24.0.0.0.10.rpz-client-ip CNAME .\n"
		   "ns.evil.test.rpz-nsdname CNAME .\n"
		   "32.1.0.0.127.rpz-nsip CNAME .\n"
		   "other.zone. CNAME .\n",
		   "0 bad.test\n1 bad.test\n2 ok.test\n2 old.test\n0 drop.test\n0 garden.test\n"
		   "0 local.test\n0 local.test\n");
	assert_int_equal(st.rejected[WARD_REJECT_UNSUPPORTED], 2);
	assert_int_equal(st.rejected[WARD_REJECT_IP], 3);
	assert_int_equal(st.rejected[WARD_REJECT_SYNTAX], 1);
	assert_int_equal(rejected_total(&st), 6);
	/* Directives a feed may not use, and garbage. */
	st = check(WARD_FEED_RPZ, false,
		   "$INCLUDE /etc/passwd\n$GENERATE 1-9 x$ CNAME .\n$BOGUS 1\n"
		   "this is not a record\nx.example CNAME\n",
		   "");
	assert_int_equal(st.rejected[WARD_REJECT_UNSUPPORTED], 2);
	assert_int_equal(st.rejected[WARD_REJECT_SYNTAX], 3);
}

static void test_hazard_38_dnsmasq_variants(void **state)
{
	(void)state;
	assert_real_line("blocklistproject/dnsmasq-version_drugs-dnsmasq.txt", 14,
			 "server=/000host.totaocimall.com/");
	assert_real_line("hagezi/dnsmasq_nosafesearch.txt", 13, "local=/search.0xcb.dev/");
	check(WARD_FEED_DNSMASQ, false, "server=/000host.totaocimall.com/\nlocal=/search.0xcb.dev/\n",
	      "1 000host.totaocimall.com\n1 search.0xcb.dev\n");
	check(WARD_FEED_DNSMASQ, false,
	      "address=/a.example/\naddress=/b.example/0.0.0.0\naddress=/c.example/::\n"
	      "address=/d.example/#\nserver=/e.example/f.example/\nserver=/g.example/#\n",
	      "1 a.example\n1 b.example\n1 c.example\n1 d.example\n1 e.example\n1 f.example\n"
	      "3 g.example\n");
	struct ward_feed_stats st = check(WARD_FEED_DNSMASQ, false,
					  "server=/a.example/1.1.1.1\nserver=8.8.8.8\n"
					  "local=/b.example/1.1.1.1\naddress=/c.example/nonsense\n"
					  "cname=a.example,b.example\nno-resolv\nserver=/\n"
					  "server=/1.2.3.4/\n",
					  "");
	assert_int_equal(st.rejected[WARD_REJECT_UNSUPPORTED], 2);
	assert_int_equal(st.rejected[WARD_REJECT_SYNTAX], 5);
	assert_int_equal(st.rejected[WARD_REJECT_IP], 1);
}

static void test_hazard_39_url_lists(void **state)
{
	(void)state;
	assert_real_line("ut1/adult.urls", 1022, "twitter.com/anal_scat_leg/status/584711881048240129");
	struct ward_feed_stats st = check(WARD_FEED_DOMAINS, true,
					  "twitter.com/anal_scat_leg/status/584711881048240129\n", "");
	assert_int_equal(st.rejected[WARD_REJECT_URL], 1);
	/* The whole URL list never reduces to hosts. */
	char *got = parse_feed("ut1/adult.urls", WARD_FEED_DOMAINS, &st);
	assert_string_equal(got, "");
	assert_int_equal(st.rejected[WARD_REJECT_URL], 1090);
	free(got);
}

static void test_hazard_40_squidguard_expressions(void **state)
{
	(void)state;
	struct ward_feed_stats st;
	for (int fmt = WARD_FEED_HOSTS; fmt <= WARD_FEED_ADBLOCK; fmt++) {
		char *got = parse_feed("ut1/adult.very_restrictive_expression",
				       (enum ward_feed_format)fmt, &st);
		assert_string_equal(got, "");
		assert_int_equal(st.lines, 2);
		assert_int_equal(rejected_total(&st), 2);
		free(got);
	}
}

/* ---- Duplicates and headers ---- */

static void test_hazard_41_duplicates_are_passed_on(void **state)
{
	(void)state;
	/* The parser does not deduplicate (the database does): every line is an entry. */
	struct ward_feed_stats st = check(WARD_FEED_HOSTS, false,
					  "0.0.0.0 a.example\n0.0.0.0 a.example\n0.0.0.0 A.example.\n",
					  "0 a.example\n0 a.example\n0 a.example\n");
	assert_int_equal(st.blocks, 3);
	/* Real: Dandelion Sprout's hosts file repeats names. */
	char *got = parse_feed("dandelionsprout/AntiMalwareHosts.txt", WARD_FEED_HOSTS, &st);
	assert_non_null(strstr(got, "0 jnkms0zfueh.click\n"));
	size_t entries = 0;
	for (const char *c = got; *c; c++)
		entries += *c == '\n';
	assert_int_equal(entries, st.blocks);
	free(got);
}

static void test_hazard_42_same_list_four_formats(void **state)
{
	(void)state;
	/* The full set comparison is in test_feed_files.c; here the first entries agree. */
	static const struct {
		const char *file;
		enum ward_feed_format fmt;
		const char *first;
	} v[] = {
		{"blocklistproject/drugs.txt", WARD_FEED_HOSTS, "0 000host.totaocimall.com\n"},
		{"blocklistproject/alt-version_drugs-nl.txt", WARD_FEED_DOMAINS,
		 "0 000host.totaocimall.com\n"},
		{"blocklistproject/adguard_drugs-ags.txt", WARD_FEED_ADBLOCK,
		 "1 000host.totaocimall.com\n"},
		{"blocklistproject/dnsmasq-version_drugs-dnsmasq.txt", WARD_FEED_DNSMASQ,
		 "1 000host.totaocimall.com\n"},
	};
	for (size_t i = 0; i < 4; i++) {
		struct ward_feed_stats st;
		char *got = parse_feed(v[i].file, v[i].fmt, &st);
		assert_true(strncmp(got, v[i].first, strlen(v[i].first)) == 0);
		assert_int_equal(st.blocks, 26029);
		assert_int_equal(rejected_total(&st), 0);
		free(got);
	}
}

static void test_hazard_43_license_headers(void **state)
{
	(void)state;
	assert_real_line("blocklistproject/drugs.txt", 4, "# License: MIT");
	assert_real_line("blocklistproject/adguard_drugs-ags.txt", 4, "! License: MIT");
	/* Header claims are comments in every format; nothing is read from them. */
	struct ward_feed_stats st = check(WARD_FEED_HOSTS, false, "# License: MIT\n", "");
	assert_int_equal(rejected_total(&st), 0);
	st = check(WARD_FEED_DOMAINS, false, "# License: MIT\n", "");
	assert_int_equal(rejected_total(&st), 0);
	st = check(WARD_FEED_ADBLOCK, false, "! License: MIT\n", "");
	assert_int_equal(rejected_total(&st), 0);
	st = check(WARD_FEED_DNSMASQ, false, "# License: MIT\n", "");
	assert_int_equal(rejected_total(&st), 0);
	st = check(WARD_FEED_RPZ, false, "; License: MIT\n", "");
	assert_int_equal(rejected_total(&st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hazard_01_bom),
		cmocka_unit_test(test_hazard_02_no_final_newline),
		cmocka_unit_test(test_hazard_03_crlf),
		cmocka_unit_test(test_hazard_04_non_ascii_comments),
		cmocka_unit_test(test_hazard_05_tabs_and_runs_of_spaces),
		cmocka_unit_test(test_hazard_06_very_long_lines),
		cmocka_unit_test(test_hazard_07_blank_and_comment_blocks),
		cmocka_unit_test(test_hazard_08_inline_comments),
		cmocka_unit_test(test_hazard_09_hash_that_is_not_a_comment),
		cmocka_unit_test(test_hazard_10_adblock_preprocessor_in_hosts),
		cmocka_unit_test(test_hazard_11_header_metadata),
		cmocka_unit_test(test_hazard_12_system_entries),
		cmocka_unit_test(test_hazard_13_sink_addresses),
		cmocka_unit_test(test_hazard_14_several_names_per_line),
		cmocka_unit_test(test_hazard_15_data_line_without_ip),
		cmocka_unit_test(test_hazard_16_ip_in_name_column),
		cmocka_unit_test(test_hazard_17_url_and_ipv6_literals),
		cmocka_unit_test(test_hazard_18_uppercase),
		cmocka_unit_test(test_hazard_19_trailing_dot),
		cmocka_unit_test(test_hazard_20_leading_dot),
		cmocka_unit_test(test_hazard_21_wildcards),
		cmocka_unit_test(test_hazard_22_underscores),
		cmocka_unit_test(test_hazard_23_hyphens_at_label_ends),
		cmocka_unit_test(test_hazard_24_idn),
		cmocka_unit_test(test_hazard_25_single_label_tld),
		cmocka_unit_test(test_public_suffix_entries),
		cmocka_unit_test(test_hazard_26_malformed_benign_names),
		cmocka_unit_test(test_hazard_27_bare_ips_in_domain_lists),
		cmocka_unit_test(test_hazard_28_ip_range_regexes),
		cmocka_unit_test(test_hazard_29_badfilter),
		cmocka_unit_test(test_hazard_30_page_context_modifiers),
		cmocka_unit_test(test_hazard_31_dns_modifiers),
		cmocka_unit_test(test_hazard_32_exceptions),
		cmocka_unit_test(test_hazard_33_url_path_rules),
		cmocka_unit_test(test_hazard_34_bare_entries),
		cmocka_unit_test(test_hazard_35_regex_rules),
		cmocka_unit_test(test_hazard_36_adblock_header),
		cmocka_unit_test(test_hazard_37_rpz_header_and_owner_inheritance),
		cmocka_unit_test(test_hazard_38_dnsmasq_variants),
		cmocka_unit_test(test_hazard_39_url_lists),
		cmocka_unit_test(test_hazard_40_squidguard_expressions),
		cmocka_unit_test(test_hazard_41_duplicates_are_passed_on),
		cmocka_unit_test(test_hazard_42_same_list_four_formats),
		cmocka_unit_test(test_hazard_43_license_headers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
