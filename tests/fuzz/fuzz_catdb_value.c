/*
 * Fuzz the category database's decoders: values on disk may be damaged, and each decoder
 * must refuse them without reading past them. The first input byte picks the decoder:
 *   0 domain value   1 feed state   2 bloom filter   3 meta integer   4 name -> key
 * Whatever decodes must encode again to something that decodes to the same thing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blocklists/catdb_internal.h"
#include "blocklists/catdb_value.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

static void fuzz_value(const uint8_t *p, size_t n)
{
	ward_catset masks[WARD_CATDB_MASKS];
	int mrc = ward_catdb_value_masks(p, n, masks);
	(void)ward_catdb_value_covers_subdomains(p, n);
	struct ward_catdb_value v, again;
	if (ward_catdb_value_decode(p, n, &v) != 0)
		return;
	check(mrc == 0);
	check(memcmp(masks, v.mask, sizeof(masks)) == 0);
	check(v.n_feeds <= WARD_CATDB_VALUE_FEEDS && v.n_block_feeds <= v.n_feeds);
	uint8_t buf[WARD_CATDB_VALUE_MAX];
	int len = ward_catdb_value_encode(&v, buf, sizeof(buf));
	if (len < 0) /* a stored mask of zero: legal to read, never written */
		return;
	check(ward_catdb_value_decode(buf, (size_t)len, &again) == 0);
	check(memcmp(v.mask, again.mask, sizeof(v.mask)) == 0);
	check(v.n_feeds == again.n_feeds && v.n_block_feeds == again.n_block_feeds);
	check(v.truncated == again.truncated);
	check(memcmp(v.feeds, again.feeds, v.n_feeds * sizeof(uint16_t)) == 0);
}

static void fuzz_feed_state(const uint8_t *p, size_t n)
{
	struct ward_catdb_feed_state *st = malloc(sizeof(*st));
	struct ward_catdb_feed_state *again = malloc(sizeof(*again));
	uint8_t *buf = malloc(WARD_CATDB_FEED_STATE_MAX);
	check(st && again && buf);
	if (ward_catdb_feed_state_decode(p, n, st) == 0) {
		int len = ward_catdb_feed_state_encode(st, buf, WARD_CATDB_FEED_STATE_MAX);
		check(len > 0);
		check(ward_catdb_feed_state_decode(buf, (size_t)len, again) == 0);
		check(memcmp(st, again, sizeof(*st)) == 0);
	}
	free(st);
	free(again);
	free(buf);
}

static void fuzz_bloom(const uint8_t *p, size_t n)
{
	struct ward_catdb_bloom b;
	if (ward_catdb_bloom_open(p, n, &b) != 0)
		return;
	for (uint64_t i = 0; i < 64; i++)
		(void)ward_catdb_bloom_may_contain(&b, ward_catdb_hash(&i, sizeof(i), i & 1));
}

static void fuzz_name(const uint8_t *p, size_t n)
{
	struct ward_catdb_key k;
	if (ward_catdb_key_from_name((const char *)p, n, &k) != 0)
		return;
	check(k.len > 0 && k.len <= 253 && k.n_labels > 0 && k.n_levels == k.n_labels);
	check(k.level_end[k.n_labels - 1] == k.len);
	for (unsigned i = 1; i < k.n_labels; i++)
		check(k.level_end[i] > k.level_end[i - 1] + 1 && k.buf[k.level_end[i - 1]] == '.');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	uint64_t x;
	switch (data[0] % 5) {
	case 0:
		fuzz_value(p, n);
		break;
	case 1:
		fuzz_feed_state(p, n);
		break;
	case 2:
		fuzz_bloom(p, n);
		break;
	case 3:
		if (ward_catdb_u64_decode(p, n, &x) == 0)
			check(n == 8);
		break;
	default:
		fuzz_name(p, n);
		break;
	}
	return 0;
}
