/*
 * The body shared by the feed fuzz targets (fuzz_feed_<format>.c). For one input:
 *  - parse it whole, checking every entry against the callback contract (a normalized
 *    name: 1..253 bytes of [a-z0-9_.-], labels 1..63, NUL-terminated, known flags) and
 *    that normalizing it again changes nothing;
 *  - parse it again cut into chunks at points taken from the input itself: the entries
 *    (in order) and the statistics must be identical;
 *  - normalize the raw input as one name.
 * Any difference aborts, which libFuzzer reports as a crash.
 */
#ifndef WARD_FUZZ_FEED_H
#define WARD_FUZZ_FEED_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blocklists/feed.h"

struct fuzz_run {
	uint64_t hash; /* FNV-1a over every (flags, name) in callback order */
	uint64_t count;
};

static void fuzz_check_name(const char *name, size_t len)
{
	if (len < 1 || len > WARD_NAME_MAX || strlen(name) != len || name[0] == '.' ||
	    name[len - 1] == '.')
		abort();
	size_t label = 0;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (c == '.') {
			if (label == 0)
				abort();
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			abort();
		if (++label > 63)
			abort();
	}
	char again[WARD_NAME_MAX + 1];
	int n = ward_feed_normalize_name(name, len, again, sizeof(again));
	if (n != (int)len || memcmp(again, name, len) != 0)
		abort();
}

static int fuzz_entry(void *ctx, const char *name, size_t len, unsigned flags)
{
	struct fuzz_run *r = ctx;
	if (flags & ~(unsigned)(WARD_ENTRY_SUBDOMAINS | WARD_ENTRY_ALLOW))
		abort();
	fuzz_check_name(name, len);
	r->hash = (r->hash ^ flags) * 1099511628211ull;
	for (size_t i = 0; i <= len; i++)
		r->hash = (r->hash ^ (unsigned char)name[i]) * 1099511628211ull;
	r->count++;
	return 0;
}

static void fuzz_parse(enum ward_feed_format fmt, bool sub, const uint8_t *data, size_t size,
		       const size_t *cuts, size_t ncuts, struct fuzz_run *r,
		       struct ward_feed_stats *st)
{
	memset(r, 0, sizeof(*r));
	r->hash = 1469598103934665603ull;
	struct ward_feed_parser *p = ward_feed_parser_new(fmt, sub, fuzz_entry, r);
	if (!p)
		abort();
	size_t at = 0;
	for (size_t i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : size;
		if (ward_feed_parser_write(p, (const char *)data + at, end - at) != 0)
			abort();
		at = end;
	}
	if (ward_feed_parser_finish(p, st) != 0)
		abort();
	ward_feed_parser_free(p);
	if (st->bytes != size || st->blocks + st->allows != r->count)
		abort();
}

static int fuzz_feed(enum ward_feed_format fmt, const uint8_t *data, size_t size)
{
	bool sub = size & 1;
	struct fuzz_run whole, split;
	struct ward_feed_stats a, b;
	fuzz_parse(fmt, sub, data, size, NULL, 0, &whole, &a);

	/* Up to 16 ascending cut points drawn from the input's bytes. */
	size_t cuts[16], n = 0;
	uint64_t seed = whole.hash ^ size;
	for (size_t at = 0; n < 16 && size > 0; n++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		at += (seed >> 33) % (size / 8 + 2);
		if (at > size)
			break;
		cuts[n] = at;
	}
	fuzz_parse(fmt, sub, data, size, cuts, n, &split, &b);
	if (split.hash != whole.hash || memcmp(&a, &b, sizeof(a)) != 0)
		abort();

	char name[WARD_NAME_MAX + 1];
	int len = ward_feed_normalize_name((const char *)data, size, name, sizeof(name));
	if (len >= 0)
		fuzz_check_name(name, (size_t)len);
	else if (len < -WARD_REJECT_COUNT)
		abort();
	return 0;
}

#endif
