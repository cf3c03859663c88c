/*
 * Helpers shared by the feed tests: parse a string (whole or cut into chunks) and get
 * back every entry as "flags name\n" lines, plus the statistics.
 */
#ifndef WARD_TEST_FEED_UTIL_H
#define WARD_TEST_FEED_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blocklists/error.h"
#include "blocklists/feed.h"

struct collected {
	char *text; /* "flags name\n" per entry, in callback order */
	size_t len, cap;
	size_t count;
};

static inline int collect_entry(void *ctx, const char *name, size_t len, unsigned flags)
{
	struct collected *c = ctx;
	/* The callback contract: NUL-terminated, len == strlen. */
	if (name[len] != '\0' || strlen(name) != len)
		abort();
	size_t need = len + 16;
	if (c->len + need + 1 > c->cap) {
		size_t cap = (c->cap + need + 1) * 2;
		char *t = realloc(c->text, cap);
		if (!t)
			return WARD_ENOMEM;
		c->text = t;
		c->cap = cap;
	}
	c->len += (size_t)snprintf(c->text + c->len, c->cap - c->len, "%u %.*s\n", flags, (int)len,
				   name);
	c->count++;
	return 0;
}

/* Parses data in chunks cut at the given offsets (ascending, may be empty). */
static inline char *parse_split(enum ward_feed_format fmt, bool sub, const char *data, size_t len,
				const size_t *cuts, size_t ncuts, struct ward_feed_stats *st)
{
	struct collected c = {0};
	struct ward_feed_stats dummy;
	struct ward_feed_parser *p = ward_feed_parser_new(fmt, sub, collect_entry, &c);
	if (!p)
		abort();
	size_t at = 0;
	for (size_t i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : len;
		if (ward_feed_parser_write(p, data + at, end - at) != 0)
			abort();
		at = end;
	}
	if (ward_feed_parser_finish(p, st ? st : &dummy) != 0)
		abort();
	ward_feed_parser_free(p);
	if (!c.text)
		c.text = calloc(1, 1);
	return c.text;
}

static inline char *parse_text(enum ward_feed_format fmt, bool sub, const char *text,
			       struct ward_feed_stats *st)
{
	return parse_split(fmt, sub, text, strlen(text), NULL, 0, st);
}

/* Sum of all rejections. */
static inline uint64_t rejected_total(const struct ward_feed_stats *st)
{
	uint64_t n = 0;
	for (int i = 0; i < WARD_REJECT_COUNT; i++)
		n += st->rejected[i];
	return n;
}

/* Reads a whole file into memory (NUL-terminated). NULL when it cannot. */
static inline char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *data = NULL;
	if (fseek(f, 0, SEEK_END) == 0) {
		long n = ftell(f);
		rewind(f);
		data = n >= 0 ? malloc((size_t)n + 1) : NULL;
		if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
			free(data);
			data = NULL;
		} else if (data) {
			data[n] = '\0';
			*len = (size_t)n;
		}
	}
	fclose(f);
	return data;
}

/* $WARD_SHARED_DATA/feeds/<rel> (or ../shared/data relative to the source tree). */
static inline char *feed_path(const char *rel)
{
	const char *dir = getenv("WARD_SHARED_DATA");
	static char path[4096];
	snprintf(path, sizeof(path), "%s/feeds/%s", dir ? dir : "/work/shared/data", rel);
	return path;
}

static inline char *read_feed(const char *rel, size_t *len)
{
	char *data = read_file(feed_path(rel), len);
	if (!data) {
		fprintf(stderr, "cannot read %s\n", feed_path(rel));
		abort();
	}
	return data;
}

#endif
