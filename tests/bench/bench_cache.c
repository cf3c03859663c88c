/*
 * Answer cache micro-benchmark: one 200k-entry shard filled with realistic A answers, then
 * lookups of 100k of its names in random order (a hit workload whose working set is far
 * larger than the CPU caches, like a busy resolver's), then misses, then stores.
 *
 *   bench_cache [lookups]     (default 20 million)
 *
 * Names are pre-encoded into one flat buffer so the loop measures the cache, not name
 * formatting; each lookup still reads its name from memory like a worker reads its query.
 * Times are this thread's CPU time, so a busy machine's time slicing does not count (its
 * cache pollution still does: run it on an idle machine for figures to compare).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blocklists/error.h"
#include "resolver/cache.h"

#define SHARD 200000u
#define HOT 100000u

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

/* Names of varied shape: "host<i>.site<j>.<tld>", 20..35 bytes of wire form. */
static uint16_t make_name(uint32_t i, uint8_t *out)
{
	static const char *const tlds[] = {"com", "net", "org", "de", "co.uk", "example"};
	char text[96];
	snprintf(text, sizeof(text), "%s%u.site%u.%s", i % 3 ? "www" : "cdn-edge", i, i / 7,
		 tlds[i % 6]);
	uint16_t n = 0;
	for (const char *p = text; *p;) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		out[n++] = (uint8_t)len;
		memcpy(out + n, p, len);
		n = (uint16_t)(n + len);
		p += len + (dot ? 1 : 0);
	}
	out[n++] = 0;
	return n;
}

/* A NOERROR answer with two A records, as the stored form would hold it. */
static size_t make_answer(const uint8_t *name, uint16_t name_len, uint8_t *out,
			  struct ward_dns_response *r)
{
	static const uint8_t hdr[12] = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0};
	memset(r, 0, sizeof(*r));
	memcpy(out, hdr, 12);
	size_t p = 12;
	memcpy(out + p, name, name_len);
	p += name_len;
	static const uint8_t q[4] = {0, 1, 0, 1};
	memcpy(out + p, q, 4);
	p += 4;
	for (unsigned i = 0; i < 2; i++) {
		const uint8_t rr[16] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4,
					192, 0, 2, (uint8_t)(i + 1)};
		memcpy(out + p, rr, 16);
		r->ttl_off[r->n_ttls++] = (uint16_t)(p + 6);
		p += 16;
	}
	r->rcode = WARD_RCODE_NOERROR;
	r->ancount = 2;
	r->min_ttl = 3600;
	return p;
}

struct names {
	uint8_t *flat;
	uint32_t *off;
	uint16_t *len;
};

static int names_build(struct names *nm, uint32_t n, uint32_t first)
{
	nm->flat = malloc((size_t)n * 64);
	nm->off = malloc(n * sizeof(*nm->off));
	nm->len = malloc(n * sizeof(*nm->len));
	if (!nm->flat || !nm->off || !nm->len)
		return -1;
	uint32_t pos = 0;
	for (uint32_t i = 0; i < n; i++) {
		nm->off[i] = pos;
		nm->len[i] = make_name(first + i, nm->flat + pos);
		pos += nm->len[i];
	}
	return 0;
}

static void names_free(struct names *nm)
{
	free(nm->flat);
	free(nm->off);
	free(nm->len);
}

static struct ward_cache_key key_of(const struct names *nm, uint32_t i)
{
	struct ward_cache_key k = {.lname = nm->flat + nm->off[i], .lname_len = nm->len[i],
				   .qtype = 1, .qclass = 1};
	return k;
}

static double bench_lookups(struct ward_cache *c, const struct names *nm, const uint32_t *order,
			    uint32_t n_order, uint64_t count, uint64_t now, uint64_t *hits)
{
	struct ward_cache_hit hit;
	uint64_t sum = 0;
	double t = now_s();
	for (uint64_t i = 0; i < count; i++) {
		struct ward_cache_key k = key_of(nm, order[i % n_order]);
		if (ward_cache_lookup(c, &k, now, false, &hit) == 0)
			sum += hit.msg_len;
	}
	double took = now_s() - t;
	*hits = sum;
	return took;
}

int main(int argc, char **argv)
{
	uint64_t count = argc > 1 ? strtoull(argv[1], NULL, 10) : 20000000ULL;
	struct ward_conf_cache lim = {.max_entries = SHARD, .max_ttl = 86400, .serve_stale = true};
	struct ward_cache *c = ward_cache_new(SHARD, &lim);
	struct names nm, miss;
	uint32_t *order = malloc(HOT * sizeof(*order));
	if (!c || !order || names_build(&nm, SHARD, 0) < 0 || names_build(&miss, HOT, SHARD) < 0) {
		fprintf(stderr, "bench_cache: out of memory\n");
		return 1;
	}

	uint8_t msg[512];
	struct ward_dns_response r;
	uint64_t now = 1000000;
	double t = now_s();
	for (uint32_t i = 0; i < SHARD; i++) {
		struct ward_cache_key k = key_of(&nm, i);
		size_t len = make_answer(k.lname, k.lname_len, msg, &r);
		if (ward_cache_store(c, &k, msg, len, &r, now) < 0) {
			fprintf(stderr, "bench_cache: store %u failed\n", i);
			return 1;
		}
	}
	double fill = now_s() - t;

	/* 100k distinct names of the shard (every other one), shuffled. */
	for (uint32_t i = 0; i < HOT; i++)
		order[i] = 2 * i;
	for (uint32_t i = HOT - 1; i > 0; i--) {
		uint32_t j = rnd() % (i + 1), tmp = order[i];
		order[i] = order[j];
		order[j] = tmp;
	}

	uint64_t sum;
	bench_lookups(c, &nm, order, HOT, HOT, now, &sum); /* warm up */
	double hit_s = bench_lookups(c, &nm, order, HOT, count, now, &sum);
	/* The first 1000 of those: everything they touch stays in L2, so this is the cost of
	 * the work itself (hash, compares), without the memory latency. */
	double small_s = bench_lookups(c, &nm, order, 1000, count, now, &sum);
	struct ward_cache_stats st;
	ward_cache_get_stats(c, &st);
	if (st.misses != 0) {
		fprintf(stderr, "bench_cache: %llu unexpected misses\n", (unsigned long long)st.misses);
		return 1;
	}

	for (uint32_t i = 0; i < HOT; i++)
		order[i] = i;
	double miss_s = bench_lookups(c, &miss, order, HOT, count / 4, now, &sum);

	/* Stores into the full shard: every one evicts (CLOCK) and reuses a buffer. */
	t = now_s();
	for (uint32_t i = 0; i < HOT; i++) {
		struct ward_cache_key k = key_of(&miss, i);
		size_t len = make_answer(k.lname, k.lname_len, msg, &r);
		ward_cache_store(c, &k, msg, len, &r, now);
	}
	double evict_s = now_s() - t;
	ward_cache_get_stats(c, &st);

	printf("shard %u entries, hit set %u names, %llu lookups\n", SHARD, HOT,
	       (unsigned long long)count);
	printf("hit lookup:     %7.1f ns  (%.2f M lookups/s), 100k names in random order\n",
	       hit_s * 1e9 / (double)count, (double)count / hit_s / 1e6);
	printf("hit lookup:     %7.1f ns  (%.2f M lookups/s), 1k names (CPU-cache resident)\n",
	       small_s * 1e9 / (double)count, (double)count / small_s / 1e6);
	printf("miss lookup:    %7.1f ns\n", miss_s * 1e9 / (double)(count / 4));
	printf("fill store:     %7.1f ns  (empty shard, first allocation of each buffer)\n",
	       fill * 1e9 / SHARD);
	printf("evicting store: %7.1f ns  (full shard, buffer reused)\n", evict_s * 1e9 / HOT);
#ifdef WARD_TEST_HOOKS
	uint8_t key16[16] = {1, 2, 3};
	struct ward_cache_key k0 = key_of(&nm, 12345);
	volatile uint64_t sink = 0;
	t = now_s();
	for (uint32_t i = 0; i < 10000000; i++)
		sink += ward_cache_test_siphash(key16, k0.lname, (size_t)k0.lname_len + 5, 1, 3);
	printf("SipHash-1-3:    %7.1f ns  (%u-byte key)\n", (now_s() - t) * 1e9 / 1e7,
	       k0.lname_len + 5);
#endif
	printf("answer buffers: %.1f MiB of %.1f MiB cap, %llu evictions\n",
	       st.bytes / 1048576.0, st.bytes_max / 1048576.0, (unsigned long long)st.evictions);
	names_free(&nm);
	names_free(&miss);
	free(order);
	ward_cache_free(c);
	return 0;
}
