/*
 * Category database benchmark: build a table of N generated names in a fresh LMDB under
 * /tmp, then time lookups of 4-label names the way wardd does them (READ environment,
 * warm page cache).
 *
 *   bench_catdb [N=1000000] [lookups=1000000] [--rebuild] [--names FILE]
 *
 * --names builds from a file of names instead (one per line, '#' comments and invalid
 * names skipped; e.g. the feeds in $WARD_SHARED_DATA/feeds concatenated), streamed so
 * that it does not count in the build's RSS; N is then ignored.
 *
 * Names are generated from their index (splitmix64), never stored, so the peak RSS
 * printed after the build is the build's own. Their shape follows the public feeds in
 * $WARD_SHARED_DATA/feeds: 2 labels for most, up to 5; second-level labels of 2..30
 * characters (mean about 10), TLDs weighted like the feeds'. 10% of the names are listed
 * by a second feed, 1% are allow entries, 75% cover subdomains.
 *
 * Prints: build seconds, peak RSS (a high-water mark: a --rebuild cannot lower it), file
 * size per domain (data.mdb size and blocks; after a rebuild the previous table's pages
 * stay in the file, free for the build after), and
 * the median, 90th and 99th percentile ns of ward_cat_lookup over the lookup set (half
 * derived from stored names, half random), plus the hit ratio.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "blocklists/catdb.h"
#include "blocklists/error.h"
#include "blocklists/feed.h"

#define BENCH_FEEDS 4

static const char *names_file;
/* File mode: the names queries are derived from, loaded after the build. */
static char **sample;
static size_t n_sample;

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static const char *const tlds[] = {
	"com", "com", "com", "com", "com", "com", "com", "com", "com", "com", "net", "net",
	"info", "tk",  "top", "pro", "xyz", "shop", "fr", "org", "ru", "io", "cc", "online",
	"click", "site", "de", "uk", "cn", "club",
};
static const char *const sublabels[] = {
	"www", "ads", "cdn", "api", "m", "mail", "track", "static", "img", "media", "login",
	"secure", "s", "t", "app", "pixel", "stats", "metrics",
};

static size_t random_label(uint64_t *s, char *out, unsigned len)
{
	for (unsigned i = 0; i < len; i++) {
		uint64_t r = splitmix64(s);
		out[i] = (r % 13 == 0) ? (char)('0' + r % 10) : (char)('a' + (r >> 8) % 26);
	}
	return len;
}

static size_t sub_label(uint64_t *s, char *out)
{
	uint64_t r = splitmix64(s);
	if (r % 2) {
		const char *w = sublabels[(r >> 8) % (sizeof(sublabels) / sizeof(*sublabels))];
		memcpy(out, w, strlen(w));
		return strlen(w);
	}
	return random_label(s, out, 2 + (unsigned)((r >> 16) % 9));
}

/* Name number i (deterministic). @return its length and the label count. */
static size_t gen_name(uint64_t i, char *out, unsigned *labels_out)
{
	uint64_t s = i * 0x2545f4914f6cdd1dull + 17;
	uint64_t r = splitmix64(&s);
	unsigned pick = r % 100;
	unsigned labels = pick < 55 ? 2 : pick < 83 ? 3 : pick < 95 ? 4 : 5;
	size_t n = 0;
	for (unsigned l = 2; l < labels; l++) {
		n += sub_label(&s, out + n);
		out[n++] = '.';
	}
	uint64_t q = splitmix64(&s);
	unsigned sld = 2 + q % 7 + (q >> 8) % 7 + ((q >> 16) % 4 == 0 ? (q >> 24) % 14 : 0);
	n += random_label(&s, out + n, sld);
	const char *tld = tlds[(q >> 32) % (sizeof(tlds) / sizeof(*tlds))];
	out[n++] = '.';
	memcpy(out + n, tld, strlen(tld));
	n += strlen(tld);
	out[n] = '\0';
	*labels_out = labels;
	return n;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds of this process: the machine may be shared, wall time then overstates. */
static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static long peak_rss_kb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* One line of a names file, trimmed; false at the end. */
static bool next_line(FILE *fp, char *line, size_t cap, size_t *len)
{
	while (fgets(line, (int)cap, fp)) {
		*len = strcspn(line, "\r\n \t");
		line[*len] = '\0';
		if (*len > 0 && line[0] != '#')
			return true;
	}
	return false;
}

static int add_file(struct ward_catdb_build *b, const uint16_t *feeds, uint64_t *skipped)
{
	FILE *fp = fopen(names_file, "r");
	if (!fp)
		return WARD_EIO;
	char line[1024];
	size_t len;
	int rc = 0;
	while (!rc && next_line(fp, line, sizeof(line), &len)) {
		rc = ward_catdb_build_add(b, line, len, WARD_CAT(4), feeds[0], WARD_ENTRY_SUBDOMAINS);
		if (rc == WARD_EINVAL) {
			(*skipped)++;
			rc = 0;
		}
	}
	fclose(fp);
	return rc;
}

static void load_sample(void)
{
	FILE *fp = fopen(names_file, "r");
	char line[1024];
	size_t len, cap = 0;
	while (fp && next_line(fp, line, sizeof(line), &len)) {
		if (len > 200)
			continue;
		if (n_sample == cap) {
			cap = cap ? cap * 2 : 4096;
			sample = realloc(sample, cap * sizeof(*sample));
		}
		sample[n_sample++] = strdup(line);
	}
	if (fp)
		fclose(fp);
}

static int build(struct ward_catdb *db, uint64_t n, const uint16_t *feeds)
{
	struct ward_catdb_build *b;
	int rc = ward_catdb_build_begin(db, false, &b);
	if (rc)
		return rc;
	if (names_file) {
		uint64_t skipped = 0;
		rc = add_file(b, feeds, &skipped);
		printf("names file: %llu invalid names skipped\n", (unsigned long long)skipped);
		n = 0;
	}
	char name[300];
	for (uint64_t i = 0; i < n && !rc; i++) {
		unsigned labels;
		size_t len = gen_name(i, name, &labels);
		uint64_t s = i ^ 0xabcdef;
		uint64_t r = splitmix64(&s);
		unsigned f = (unsigned)(i % BENCH_FEEDS);
		unsigned flags = (r % 4 != 0 ? WARD_ENTRY_SUBDOMAINS : 0) |
				 ((r >> 8) % 100 == 0 ? WARD_ENTRY_ALLOW : 0);
		rc = ward_catdb_build_add(b, name, len, WARD_CAT(4 + f), feeds[f], flags);
		if (!rc && (r >> 16) % 10 == 0) {
			unsigned g = (f + 1) % BENCH_FEEDS;
			rc = ward_catdb_build_add(b, name, len, WARD_CAT(4 + g), feeds[g], flags);
		}
	}
	if (rc) {
		ward_catdb_build_abort(b);
		return rc;
	}
	return ward_catdb_build_commit(b);
}

static void report_size(const char *dir, uint64_t domains, const char *what)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	struct stat st;
	if (stat(path, &st) != 0 || domains == 0)
		return;
	printf("%s: data.mdb %.1f MiB, %.1f bytes/domain (allocated %.1f bytes/domain)\n", what,
	       (double)st.st_size / (1 << 20), (double)st.st_size / (double)domains,
	       (double)st.st_blocks * 512 / (double)domains);
}

/* A 4-label query: from a stored name (padded or trimmed to 4 labels) or random. */
static size_t gen_query(uint64_t q, uint64_t n, char *out)
{
	uint64_t s = q * 0x9e3779b97f4a7c15ull + 99;
	uint64_t r = splitmix64(&s);
	if (r % 2 == 0) {
		size_t len = 0;
		for (unsigned l = 0; l < 2; l++) {
			len += sub_label(&s, out + len);
			out[len++] = '.';
		}
		len += random_label(&s, out + len, 3 + (unsigned)(r >> 8) % 10);
		memcpy(out + len, ".com", 5);
		return len + 4;
	}
	char name[300];
	unsigned labels = 1;
	size_t nl;
	if (n_sample) {
		nl = strlen(sample[(r >> 1) % n_sample]);
		memcpy(name, sample[(r >> 1) % n_sample], nl + 1);
		for (size_t i = 0; i < nl; i++)
			labels += name[i] == '.';
		if (labels > 4)
			return gen_query(q + 1, n, out);
	} else {
		nl = gen_name((r >> 1) % n, name, &labels);
	}
	const char *p = name;
	if (labels == 5) {
		p = strchr(name, '.') + 1;
		labels = 4;
	}
	size_t len = 0;
	for (unsigned l = labels; l < 4; l++) {
		len += sub_label(&s, out + len);
		out[len++] = '.';
	}
	size_t rest = nl - (size_t)(p - name);
	memcpy(out + len, p, rest + 1);
	return len + rest;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

static int bench_lookups(const char *dir, uint64_t n, uint64_t lookups)
{
	struct ward_catdb *db;
	struct ward_catdb_reader *r;
	int rc = ward_catdb_open(dir, WARD_CATDB_READ, &db);
	if (rc || (rc = ward_catdb_reader_new(db, &r)) != 0) {
		fprintf(stderr, "open READ: %s\n", ward_strerror(rc));
		return 1;
	}
	char *names = malloc(lookups * 64);
	uint8_t *lens = malloc(lookups);
	uint32_t *ns = malloc(lookups * sizeof(uint32_t));
	if (!names || !lens || !ns)
		return 1;
	for (uint64_t q = 0; q < lookups; q++) {
		char tmp[300];
		size_t len = gen_query(q, n, tmp);
		if (len > 63)
			len = gen_query(q + lookups, n, tmp);
		if (len > 63)
			len = (size_t)snprintf(tmp, sizeof(tmp), "a.b.c%llu.com",
					       (unsigned long long)q);
		memcpy(names + q * 64, tmp, len);
		lens[q] = (uint8_t)len;
	}
	struct ward_cat_match m;
	uint64_t hits = 0;
	for (uint64_t q = 0; q < lookups; q++) /* warm the page cache and the map */
		ward_cat_lookup(r, names + q * 64, lens[q], &m);
	double c0 = cpu_s();
	for (uint64_t q = 0; q < lookups; q++)
		hits += ward_cat_lookup(r, names + q * 64, lens[q], &m) == 0 && m.categories;
	double total = cpu_s() - c0;
	/* Found (some entry covers the name) and not-found lookups fill ns[] from the two
	 * ends, so each kind gets its own percentiles too. */
	uint64_t n_found = 0, n_miss = 0;
	for (uint64_t q = 0; q < lookups; q++) {
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		ward_cat_lookup(r, names + q * 64, lens[q], &m);
		clock_gettime(CLOCK_MONOTONIC, &b);
		uint32_t t = (uint32_t)((b.tv_sec - a.tv_sec) * 1000000000L +
					(b.tv_nsec - a.tv_nsec));
		if (m.found)
			ns[n_found++] = t;
		else
			ns[lookups - 1 - n_miss++] = t;
	}
	qsort(ns, n_found, sizeof(*ns), cmp_u32);
	qsort(ns + n_found, n_miss, sizeof(*ns), cmp_u32);
	printf("lookup found (%.1f%%): median %u ns, p90 %u ns\n",
	       100.0 * (double)n_found / (double)lookups, n_found ? ns[n_found / 2] : 0,
	       n_found ? ns[n_found * 9 / 10] : 0);
	printf("lookup not found (%.1f%%): median %u ns, p90 %u ns\n",
	       100.0 * (double)n_miss / (double)lookups, n_miss ? ns[n_found + n_miss / 2] : 0,
	       n_miss ? ns[n_found + n_miss * 9 / 10] : 0);
	qsort(ns, lookups, sizeof(*ns), cmp_u32);
	printf("lookup all (4 labels, warm, %llu names, %.1f%% blocked): median %u ns, "
	       "p90 %u ns, p99 %u ns, mean %.0f ns (CPU time of an untimed loop)\n",
	       (unsigned long long)lookups, 100.0 * (double)hits / (double)lookups,
	       ns[lookups / 2], ns[lookups * 9 / 10], ns[lookups * 99 / 100],
	       total * 1e9 / (double)lookups);
	/* wardd refreshes its reader between queries: what that costs when nothing changed */
	double r0 = cpu_s();
	for (uint64_t q = 0; q < lookups; q++)
		ward_catdb_reader_refresh(r);
	printf("refresh (no new build): %.0f ns (CPU time)\n",
	       (cpu_s() - r0) * 1e9 / (double)lookups);
	free(names);
	free(lens);
	free(ns);
	ward_catdb_reader_free(r);
	ward_catdb_close(db);
	return 0;
}

static int bench(const char *dir, uint64_t n, uint64_t lookups, bool rebuild)
{
	struct ward_catdb *db;
	int rc = ward_catdb_open(dir, WARD_CATDB_WRITE, &db);
	uint16_t feeds[BENCH_FEEDS];
	for (unsigned f = 0; f < BENCH_FEEDS && !rc; f++) {
		char name[32];
		snprintf(name, sizeof(name), "bench-%u", f);
		rc = ward_catdb_feed_id(db, name, &feeds[f]);
	}
	double t0 = now_s(), c0 = cpu_s();
	if (!rc)
		rc = build(db, n, feeds);
	double t1 = now_s(), c1 = cpu_s();
	if (rc) {
		fprintf(stderr, "build: %s\n", ward_strerror(rc));
		return 1;
	}
	struct ward_catdb_meta meta;
	ward_catdb_meta_get(db, &meta);
	printf("build: %llu entries -> %llu domains in %.2f s (CPU %.2f s), peak RSS %.1f MiB\n",
	       (unsigned long long)meta.entries, (unsigned long long)meta.domains, t1 - t0,
	       c1 - c0, (double)peak_rss_kb() / 1024);
	report_size(dir, meta.domains, "first build");
	if (rebuild) {
		/* As the next `ward update` would: a fresh open (LMDB keeps the last write
		 * transaction's pages cached until the environment is closed). */
		ward_catdb_close(db);
		rc = ward_catdb_open(dir, WARD_CATDB_WRITE, &db);
		if (rc)
			return 1;
		t0 = now_s();
		c0 = cpu_s();
		rc = build(db, n, feeds);
		printf("rebuild: %.2f s (CPU %.2f s) (%s), peak RSS %.1f MiB\n", now_s() - t0,
		       cpu_s() - c0, ward_strerror(rc), (double)peak_rss_kb() / 1024);
		report_size(dir, meta.domains, "after rebuild (old pages kept free for reuse)");
	}
	ward_catdb_close(db);
	if (names_file)
		load_sample();
	return bench_lookups(dir, n, lookups);
}

static void remove_db(const char *dir)
{
	const char *files[] = { "data.mdb", "lock.mdb", "build.lock" };
	char path[4200];
	for (unsigned i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

int main(int argc, char **argv)
{
	uint64_t n = 1000000, lookups = 1000000;
	bool rebuild = false;
	int pos = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--rebuild") == 0)
			rebuild = true;
		else if (strcmp(argv[i], "--names") == 0 && i + 1 < argc)
			names_file = argv[++i];
		else if (pos++ == 0)
			n = strtoull(argv[i], NULL, 10);
		else
			lookups = strtoull(argv[i], NULL, 10);
	}
	if (n == 0 || lookups == 0) {
		fprintf(stderr, "usage: %s [N] [lookups] [--rebuild] [--names FILE]\n", argv[0]);
		return 2;
	}
	char dir[] = "/tmp/ward-bench-catdb-XXXXXX";
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	int rc = bench(dir, n, lookups, rebuild);
	remove_db(dir);
	return rc;
}
