/*
 * Feed parser throughput: parses real feed files from memory (no I/O in the timed part)
 * in 64 KiB chunks, as a download would arrive, and prints MB/s per file.
 *
 *   bench_feed [FILE FORMAT [SUBDOMAINS]]...
 * Without arguments it reads the files named below from $WARD_SHARED_DATA/feeds
 * (default ../shared/data/feeds). Times are CPU time of the parsing thread (best of
 * ROUNDS), so that other load on the machine does not count.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blocklists/feed.h"
#include "tests/unit/test_feed_util.h" /* read_file() */

#define CHUNK (64 * 1024)
#define ROUNDS 10

static const char *const defaults[][2] = {
	{"ut1/phishing-2025-07-13.domains", "domains"},
	{"ut1/malware-2025-06-29.domains", "domains"},
	{"hagezi/wildcard_nsfw-onlydomains.txt", "domains"},
	{"hagezi/adblock_gambling.txt", "adblock"},
	{"stevenblack/hosts-unified-2022-05-05.txt", "hosts"},
	{"blocklistproject/dnsmasq-version_drugs-dnsmasq.txt", "dnsmasq"},
	{"hagezi/rpz_nsfw.txt", "rpz"},
};

static int count(void *ctx, const char *name, size_t len, unsigned flags)
{
	(void)name, (void)flags;
	*(size_t *)ctx += len;
	return 0;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bench(const char *path, const char *fmtname, bool sub)
{
	enum ward_feed_format fmt;
	size_t len;
	if (ward_feed_format_parse(fmtname, &fmt) != 0)
		return fprintf(stderr, "%s: unknown format\n", fmtname), 1;
	char *data = read_file(path, &len);
	if (!data)
		return perror(path), 1;
	double best = 1e9;
	struct ward_feed_stats st;
	for (int r = 0; r < ROUNDS; r++) {
		size_t sink = 0;
		double t0 = now();
		struct ward_feed_parser *p = ward_feed_parser_new(fmt, sub, count, &sink);
		for (size_t off = 0; p && off < len; off += CHUNK)
			ward_feed_parser_write(p, data + off, len - off < CHUNK ? len - off : CHUNK);
		ward_feed_parser_finish(p, &st);
		ward_feed_parser_free(p);
		double t = now() - t0;
		best = t < best ? t : best;
	}
	printf("%-52s %-8s %8.2f MB %9llu entries %8.1f MB/s %6.1f ns/entry\n", path, fmtname,
	       (double)len / 1e6, (unsigned long long)(st.blocks + st.allows),
	       (double)len / 1e6 / best, best * 1e9 / (double)(st.blocks + st.allows + 1));
	free(data);
	return 0;
}

int main(int argc, char **argv)
{
	int rc = 0;
	if (argc > 1) {
		for (int i = 1; i + 1 < argc; i += 2) {
			bool sub = i + 2 < argc && strcmp(argv[i + 2], "1") == 0;
			rc |= bench(argv[i], argv[i + 1], sub);
			i += sub || (i + 2 < argc && strcmp(argv[i + 2], "0") == 0);
		}
		return rc;
	}
	const char *dir = getenv("WARD_SHARED_DATA");
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/feeds/%s", dir ? dir : "../shared/data",
			 defaults[i][0]);
		rc |= bench(path, defaults[i][1], false);
	}
	return rc;
}
