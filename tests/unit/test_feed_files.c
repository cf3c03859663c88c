/*
 * Every real feed file in $WARD_SHARED_DATA/feeds, parsed whole, must give exactly the
 * counts that tests/feeds/reference_count.py (an independent Python implementation of
 * the rules in blocklists/feed.h) wrote into tests/data/feeds/expected_counts.tsv:
 *
 *   lines blocks allows      struct ward_feed_stats
 *   keys names               distinct "flags name" pairs / distinct names among entries
 *   keys_hash names_hash     sum mod 2^64 of CRC-32 over those sets (order-free)
 *   rej_*                    every rejection reason
 *
 * The same files are then parsed in small chunks and with CRLF line ends: the entries
 * must not change. Hazard 42: the four formats of one BLP list hold the same names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/unit/test_feed_util.h"

/* ---- CRC-32 (zlib's polynomial), as Python's zlib.crc32 ---- */

static uint32_t crc_table[256];

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc32_update(uint32_t crc, const char *s, size_t n)
{
	crc = ~crc;
	for (size_t i = 0; i < n; i++)
		crc = crc_table[(crc ^ (unsigned char)s[i]) & 0xFF] ^ (crc >> 8);
	return ~crc;
}

/* ---- a string set: open addressing over copies in one arena ---- */

struct set {
	char **slot;
	size_t cap, count;
	uint64_t crc_sum;
};

static uint64_t fnv(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static void set_add(struct set *t, const char *s)
{
	if ((t->count + 1) * 2 > t->cap) {
		struct set bigger = {calloc(t->cap ? t->cap * 2 : 1024, sizeof(char *)),
				     t->cap ? t->cap * 2 : 1024, 0, 0};
		assert_non_null(bigger.slot);
		for (size_t i = 0; i < t->cap; i++) {
			if (!t->slot[i])
				continue;
			size_t j = fnv(t->slot[i]) & (bigger.cap - 1);
			while (bigger.slot[j])
				j = (j + 1) & (bigger.cap - 1);
			bigger.slot[j] = t->slot[i];
		}
		free(t->slot);
		t->slot = bigger.slot;
		t->cap = bigger.cap;
	}
	size_t j = fnv(s) & (t->cap - 1);
	while (t->slot[j]) {
		if (strcmp(t->slot[j], s) == 0)
			return;
		j = (j + 1) & (t->cap - 1);
	}
	t->slot[j] = strdup(s);
	t->count++;
	t->crc_sum += crc32_update(0, s, strlen(s));
}

static bool set_has(const struct set *t, const char *s)
{
	if (!t->cap)
		return false;
	size_t j = fnv(s) & (t->cap - 1);
	for (; t->slot[j]; j = (j + 1) & (t->cap - 1))
		if (strcmp(t->slot[j], s) == 0)
			return true;
	return false;
}

static void set_free(struct set *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->slot[i]);
	free(t->slot);
	memset(t, 0, sizeof(*t));
}

/* ---- one parse ---- */

struct result {
	bool sets; /* collect the sets (the chunked runs only need the sequence) */
	struct set keys, names;
	uint32_t sequence; /* CRC over the whole callback sequence: order matters */
	struct ward_feed_stats st;
};

static int on_entry(void *ctx, const char *name, size_t len, unsigned flags)
{
	struct result *r = ctx;
	char key[WARD_NAME_MAX + 8];
	int klen = snprintf(key, sizeof(key), "%u %s", flags, name);
	assert_true(len == strlen(name) && len >= 1 && len <= WARD_NAME_MAX);
	if (r->sets) {
		set_add(&r->keys, key);
		set_add(&r->names, name);
	}
	r->sequence = crc32_update(r->sequence, key, (size_t)klen + 1);
	return 0;
}

/* Parses data in chunks of `chunk` bytes (0: whole, and collect the sets). */
static void run(struct result *r, enum ward_feed_format fmt, bool sub, const char *data,
		size_t len, size_t chunk)
{
	memset(r, 0, sizeof(*r));
	r->sets = chunk == 0;
	struct ward_feed_parser *p = ward_feed_parser_new(fmt, sub, on_entry, r);
	assert_non_null(p);
	if (!chunk)
		chunk = len ? len : 1;
	for (size_t off = 0; off < len; off += chunk)
		assert_int_equal(ward_feed_parser_write(p, data + off, len - off < chunk ? len - off : chunk), 0);
	assert_int_equal(ward_feed_parser_finish(p, &r->st), 0);
	ward_feed_parser_free(p);
}

static void result_free(struct result *r)
{
	set_free(&r->keys);
	set_free(&r->names);
}

/* ---- the expected table ---- */

struct row {
	char file[256], format[16];
	int sub;
	unsigned long long lines, blocks, allows, keys, names, keys_hash, names_hash;
	unsigned long long rej[WARD_REJECT_COUNT];
};

static size_t load_table(struct row **rows)
{
	char path[4096];
	const char *dir = getenv("WARD_TEST_DATA");
	snprintf(path, sizeof(path), "%s/feeds/expected_counts.tsv", dir ? dir : "tests/data");
	FILE *f = fopen(path, "r");
	if (!f)
		fail_msg("cannot open %s", path);
	char line[4096];
	size_t n = 0, cap = 128;
	*rows = calloc(cap, sizeof(**rows));
	assert_non_null(fgets(line, sizeof(line), f)); /* header */
	assert_non_null(strstr(line, "rej_unsupported"));
	while (fgets(line, sizeof(line), f)) {
		struct row *r = &(*rows)[n];
		int used = 0;
		int got = sscanf(line, "%255s %15s %d %llu %llu %llu %llu %llu %llu %llu%n", r->file,
				 r->format, &r->sub, &r->lines, &r->blocks, &r->allows, &r->keys,
				 &r->names, &r->keys_hash, &r->names_hash, &used);
		assert_int_equal(got, 10);
		const char *rest = line + used;
		for (int i = 0; i < WARD_REJECT_COUNT; i++) {
			int k = 0;
			assert_int_equal(sscanf(rest, "%llu%n", &r->rej[i], &k), 1);
			rest += k;
		}
		if (++n == cap)
			*rows = realloc(*rows, (cap *= 2) * sizeof(**rows));
	}
	fclose(f);
	return n;
}

static struct row *rows;
static size_t nrows;

static int setup(void **state)
{
	(void)state;
	crc_init();
	nrows = load_table(&rows);
	return nrows > 80 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	free(rows);
	return 0;
}

static enum ward_feed_format format_of(const struct row *r)
{
	enum ward_feed_format fmt;
	assert_int_equal(ward_feed_format_parse(r->format, &fmt), 0);
	return fmt;
}

static int compare(const struct row *r, const struct result *got)
{
	int bad = 0;
#define CMP(what, a, b)                                                                      \
	if ((unsigned long long)(a) != (b)) {                                                \
		fprintf(stderr, "%s: %s = %llu, reference says %llu\n", r->file, what,       \
			(unsigned long long)(a), (unsigned long long)(b));                   \
		bad++;                                                                       \
	}
	CMP("lines", got->st.lines, r->lines);
	CMP("blocks", got->st.blocks, r->blocks);
	CMP("allows", got->st.allows, r->allows);
	CMP("distinct keys", got->keys.count, r->keys);
	CMP("distinct names", got->names.count, r->names);
	CMP("keys hash", got->keys.crc_sum, r->keys_hash);
	CMP("names hash", got->names.crc_sum, r->names_hash);
	for (int i = 0; i < WARD_REJECT_COUNT; i++)
		CMP(ward_feed_reject_name((enum ward_feed_reject)i), got->st.rejected[i], r->rej[i]);
#undef CMP
	return bad;
}

static void test_real_feeds_match_reference(void **state)
{
	(void)state;
	int bad = 0;
	unsigned long long total = 0;
	for (size_t i = 0; i < nrows; i++) {
		size_t len;
		char *data = read_feed(rows[i].file, &len);
		struct result r;
		run(&r, format_of(&rows[i]), rows[i].sub, data, len, 0);
		assert_int_equal(r.st.bytes, len);
		bad += compare(&rows[i], &r);
		total += r.st.blocks + r.st.allows;
		result_free(&r);
		free(data);
	}
	printf("%zu files, %llu entries, %d mismatches\n", nrows, total, bad);
	assert_int_equal(bad, 0);
}

/* LF -> CRLF. */
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

/* Chunks of odd sizes and CRLF line ends change nothing, for every real file. */
static void test_real_feeds_chunked_and_crlf(void **state)
{
	(void)state;
	static const size_t chunks[] = {1, 4093};
	for (size_t i = 0; i < nrows; i++) {
		size_t len, clen;
		char *data = read_feed(rows[i].file, &len);
		enum ward_feed_format fmt = format_of(&rows[i]);
		struct result whole, part;
		run(&whole, fmt, rows[i].sub, data, len, len + 1);
		/* One-byte chunks for the small files only: they take the slow path throughout. */
		for (size_t c = len < 300000 ? 0 : 1; c < 2; c++) {
			run(&part, fmt, rows[i].sub, data, len, chunks[c]);
			assert_int_equal(part.sequence, whole.sequence);
			assert_memory_equal(&part.st, &whole.st, sizeof(part.st));
			result_free(&part);
		}
		char *crlf = to_crlf(data, len, &clen);
		run(&part, fmt, rows[i].sub, crlf, clen, 1000);
		if (part.sequence != whole.sequence)
			fail_msg("%s: CRLF changes the entries", rows[i].file);
		part.st.bytes = whole.st.bytes;
		assert_memory_equal(&part.st, &whole.st, sizeof(part.st));
		result_free(&part);
		result_free(&whole);
		free(crlf);
		free(data);
	}
}

/* Hazard 42: hosts, plain, adblock and dnsmasq versions of BLP drugs: one name set. */
static void test_hazard_42_four_formats_one_name_set(void **state)
{
	(void)state;
	static const struct {
		const char *file;
		enum ward_feed_format fmt;
	} v[] = {
		{"blocklistproject/drugs.txt", WARD_FEED_HOSTS},
		{"blocklistproject/alt-version_drugs-nl.txt", WARD_FEED_DOMAINS},
		{"blocklistproject/adguard_drugs-ags.txt", WARD_FEED_ADBLOCK},
		{"blocklistproject/dnsmasq-version_drugs-dnsmasq.txt", WARD_FEED_DNSMASQ},
	};
	struct result r[4];
	for (size_t i = 0; i < 4; i++) {
		size_t len;
		char *data = read_feed(v[i].file, &len);
		run(&r[i], v[i].fmt, false, data, len, 0);
		free(data);
		assert_int_equal(r[i].names.count, 26029);
	}
	for (size_t i = 1; i < 4; i++) {
		assert_int_equal(r[i].names.count, r[0].names.count);
		for (size_t j = 0; j < r[i].names.cap; j++)
			if (r[i].names.slot[j] && !set_has(&r[0].names, r[i].names.slot[j]))
				fail_msg("%s has %s, %s does not", v[i].file, r[i].names.slot[j], v[0].file);
	}
	/* hosts and plain lists are exact; adblock ||x^ and dnsmasq cover subdomains. */
	assert_true(set_has(&r[0].keys, "0 000host.totaocimall.com"));
	assert_true(set_has(&r[1].keys, "0 000host.totaocimall.com"));
	assert_true(set_has(&r[2].keys, "1 000host.totaocimall.com"));
	assert_true(set_has(&r[3].keys, "1 000host.totaocimall.com"));
	for (size_t i = 0; i < 4; i++)
		result_free(&r[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_feeds_match_reference),
		cmocka_unit_test(test_real_feeds_chunked_and_crlf),
		cmocka_unit_test(test_hazard_42_four_formats_one_name_set),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
