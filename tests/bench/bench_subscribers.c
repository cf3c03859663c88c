/*
 * Subscriber table benchmark (issue 12): import N generated prefixes with `ward
 * subscribers import`'s code (a CSV written first, not timed), then time lookups the way
 * wardd does them (a reader, warm page cache) and count their instructions.
 *
 *   bench_subscribers [N=10000000] [lookups=1000000]
 *
 * Prefixes: 80% IPv4 /32 (distinct, spread over the space by a bijective scramble), 10%
 * IPv4 /24, 10% IPv6 /56; three profiles. Lookup sets: "mixed" (the headline figure):
 * half hit a stored prefix, half are random addresses (mostly misses), every lookup a
 * different client, in random order, so the reader's memo of recent clients never helps;
 * "stored" and "random" are its two halves; "bursts" is the mixed set with each client
 * asking 8 times in a row, as a page load does (the memo answers 7 of 8).
 *
 * Prints: import seconds and peak RSS, data.mdb bytes per subscriber, the median, 90th
 * and 99th percentile ns per lookup (each sample a batch of 16 lookups, divided),
 * user-space instructions per lookup (perf_event_open; "n/a" where the kernel forbids it),
 * and the time of a `set` or `remove` of one /32 in the full table.
 */
#include <linux/perf_event.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "blocklists/catdb.h"
#include "blocklists/error.h"
#include "blocklists/subscribers.h"

#define BATCH 16

static uint64_t lookups_made; /* for Ir per lookup under callgrind (bench.py) */

static const char *const profiles[] = { "kids", "teens", "adults" };

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint32_t scramble(uint32_t i)
{
	return i * 2654435761u + 0x0A000000u; /* odd multiplier: a bijection of 2^32 */
}

/* The i-th prefix: family, address bytes and length. */
static void prefix_of(uint64_t i, int *fam, uint8_t a[16], unsigned *len)
{
	memset(a, 0, 16);
	unsigned kind = (unsigned)(i % 10);
	if (kind < 9) {
		uint32_t v = scramble((uint32_t)(i / 10 * 9 + kind));
		*fam = AF_INET;
		*len = kind < 8 ? 32 : 24;
		if (*len == 24)
			v = (uint32_t)(i / 10) << 8 | 0xC0000000u; /* 192.x.y.0/24, distinct */
		a[0] = (uint8_t)(v >> 24), a[1] = (uint8_t)(v >> 16), a[2] = (uint8_t)(v >> 8);
		a[3] = *len == 24 ? 0 : (uint8_t)v;
	} else {
		*fam = AF_INET6;
		*len = 56;
		uint64_t n = i / 10;
		a[0] = 0x20, a[1] = 0x01, a[2] = 0x0d, a[3] = 0xb8;
		for (int b = 0; b < 3; b++)
			a[4 + b] = (uint8_t)(n >> (16 - 8 * b));
	}
}

static int write_csv(const char *path, uint64_t n)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	static char buf[1 << 20];
	setvbuf(f, buf, _IOFBF, sizeof(buf));
	for (uint64_t i = 0; i < n; i++) {
		int fam;
		uint8_t a[16];
		unsigned len;
		char text[64];
		prefix_of(i, &fam, a, &len);
		inet_ntop(fam, a, text, sizeof(text));
		fprintf(f, "%s/%u,%s\n", text, len, profiles[i % 3]);
	}
	return fclose(f);
}

static long perf_open(void)
{
	struct perf_event_attr pe;
	memset(&pe, 0, sizeof(pe));
	pe.type = PERF_TYPE_HARDWARE;
	pe.size = sizeof(pe);
	pe.config = PERF_COUNT_HW_INSTRUCTIONS;
	pe.disabled = 1;
	pe.exclude_kernel = 1;
	pe.exclude_hv = 1;
	return syscall(SYS_perf_event_open, &pe, 0, -1, -1, 0);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The lookup set: half stored prefixes (an address inside), half random addresses. */
static struct sockaddr_storage *make_lookups(uint64_t n, size_t count, int mode)
{
	struct sockaddr_storage *q = calloc(count, sizeof(*q));
	uint64_t s = 12345;
	for (size_t i = 0; q && i < count; i++) {
		if (mode == 3 && i % 8) { /* a burst: the same client 8 times in a row */
			q[i] = q[i - 1];
			continue;
		}
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		int fam;
		uint8_t a[16];
		unsigned len;
		prefix_of((s >> 11) % n, &fam, a, &len);
		if (mode == 2 || (mode == 0 && i % 2) || (mode == 3 && (i / 8) % 2))
			memcpy(a, &s, 4), fam = AF_INET;
		else if (len < 32 && fam == AF_INET)
			a[3] = (uint8_t)(s >> 40);
		if (fam == AF_INET) {
			struct sockaddr_in *v4 = (struct sockaddr_in *)&q[i];
			v4->sin_family = AF_INET;
			memcpy(&v4->sin_addr, a, 4);
		} else {
			struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&q[i];
			v6->sin6_family = AF_INET6;
			memcpy(&v6->sin6_addr, a, 16);
			v6->sin6_addr.s6_addr[15] = (uint8_t)(s >> 50);
		}
	}
	return q;
}

static void time_lookups(struct ward_catdb_reader *r, const struct sockaddr_storage *q,
			 size_t count, const char *what)
{
	size_t batches = count / BATCH, hits = 0;
	double *ns = malloc(batches * sizeof(double));
	struct ward_sub_match m;
	for (size_t b = 0; b < batches; b++) {
		double t0 = now_s();
		for (size_t i = b * BATCH; i < (b + 1) * BATCH; i++) {
			ward_sub_lookup(r, (const struct sockaddr *)&q[i], -1, &m);
			hits += m.found;
			lookups_made++;
		}
		ns[b] = (now_s() - t0) * 1e9 / BATCH;
	}
	qsort(ns, batches, sizeof(double), cmp_double);
	printf("lookup %s: median %.0f ns, p90 %.0f ns, p99 %.0f ns per lookup (%zu lookups, "
	       "%.0f%% found)\n", what, ns[batches / 2], ns[batches * 9 / 10], ns[batches * 99 / 100],
	       batches * BATCH, 100.0 * (double)hits / (double)(batches * BATCH));
	free(ns);
}

static void count_instructions(struct ward_catdb_reader *r, const struct sockaddr_storage *q,
			       size_t count)
{
	long fd = perf_open();
	if (fd < 0) {
		printf("instructions per lookup: n/a (perf_event_open refused)\n");
		return;
	}
	struct ward_sub_match m;
	ioctl((int)fd, PERF_EVENT_IOC_RESET, 0);
	ioctl((int)fd, PERF_EVENT_IOC_ENABLE, 0);
	for (size_t i = 0; i < count; i++, lookups_made++)
		ward_sub_lookup(r, (const struct sockaddr *)&q[i], -1, &m);
	ioctl((int)fd, PERF_EVENT_IOC_DISABLE, 0);
	long long n = 0;
	if (read((int)fd, &n, sizeof(n)) != sizeof(n))
		n = 0;
	close((int)fd);
	printf("instructions per lookup: %.0f (user space, perf_event, %zu lookups)\n",
	       (double)n / (double)count, count);
}

/* `ward subscribers set` and `remove` of single /32s in the full table: each one its own
 * transaction, the index's chunks around the prefix recomputed. */
static void time_changes(struct ward_catdb *db, unsigned count)
{
	struct ward_sub_entry e = { .profile = "kids" };
	const char *why;
	double t0 = now_s();
	unsigned ok = 0;
	for (unsigned i = 0; i < count; i++) {
		uint32_t v = 0x64400000u + i * 7919u; /* 100.64.0.0/10, outside the generated */
		e.prefix.family = AF_INET;
		e.prefix.prefix = 32;
		e.prefix.addr[0] = (uint8_t)(v >> 24), e.prefix.addr[1] = (uint8_t)(v >> 16);
		e.prefix.addr[2] = (uint8_t)(v >> 8), e.prefix.addr[3] = (uint8_t)v;
		ok += ward_sub_set(db, &e, &why) == 0;
		ok += ward_sub_remove(db, &e.prefix) == 0;
	}
	printf("set + remove: %.2f ms per change (%u of %u changes done)\n",
	       (now_s() - t0) * 1e3 / (2.0 * count), ok, 2 * count);
}

int main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000000;
	size_t lookups = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000000;
	char dir[] = "/tmp/ward-bench-subs-XXXXXX", csv[64], data[64];
	if (!mkdtemp(dir))
		return 1;
	snprintf(csv, sizeof(csv), "%s/subs.csv", dir);
	snprintf(data, sizeof(data), "%s/data.mdb", dir);
	if (write_csv(csv, n) != 0)
		return 1;
	struct ward_catdb *db;
	if (ward_catdb_open(dir, WARD_CATDB_WRITE, &db))
		return 1;
	struct ward_sub_import_result res;
	double t0 = now_s();
	int rc = ward_sub_import(db, csv, NULL, &res);
	double took = now_s() - t0;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	struct stat st;
	stat(data, &st);
	if (rc) {
		printf("import failed: %s (line %llu: %s)\n", ward_strerror(rc),
		       (unsigned long long)res.line, res.why);
		return 1;
	}
	printf("import: %llu subscribers in %.2f s, peak RSS %ld MiB, %.1f B/subscriber on disk\n",
	       (unsigned long long)res.entries, took, ru.ru_maxrss / 1024,
	       (double)st.st_size / (double)n);
	unlink(csv);
	struct ward_catdb_reader *r;
	if (ward_catdb_reader_new(db, &r))
		return 1;
	static const char *const sets[] = { "mixed", "stored", "random", "bursts" };
	for (int mode = 0; mode < 4; mode++) {
		struct sockaddr_storage *q = make_lookups(n, lookups, mode);
		if (!q)
			return 1;
		if (mode == 0) /* the first pass warms the page cache */
			time_lookups(r, q, lookups, "warm-up");
		time_lookups(r, q, lookups, sets[mode]);
		if (mode == 0)
			count_instructions(r, q, lookups);
		free(q);
	}
	printf("lookups made: %llu\n", (unsigned long long)lookups_made);
	ward_catdb_reader_free(r);
	time_changes(db, 100);
	ward_catdb_close(db);
	unlink(data);
	snprintf(data, sizeof(data), "%s/lock.mdb", dir);
	unlink(data);
	rmdir(dir);
	return 0;
}
