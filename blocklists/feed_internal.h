/*
 * Internals shared by the feed parser files (feed.c, feed_name.c, feed_hosts.c,
 * feed_adblock.c, feed_dnsmasq.c, feed_rpz.c). Not part of the public API: the double
 * underscore marks names other subsystems must not call.
 */
#ifndef WARD_FEED_INTERNAL_H
#define WARD_FEED_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "blocklists/feed.h"

struct ward_feed_rpz;
struct ward_feed_parser;

/* One complete line (no LF, no trailing CR, at most WARD_FEED_MAX_LINE bytes). */
typedef int (*ward_feed__line_fn)(struct ward_feed_parser *p, const char *s, size_t n);

/* A feed format: its name in the config and its line parser; a format that keeps state
 * across lines (RPZ: $ORIGIN, the previous owner) also makes, finishes and frees it.
 * feed.c holds the table. */
struct ward_feed_format_ops {
	const char *name;
	ward_feed__line_fn line;
	int (*start)(struct ward_feed_parser *p);   /* NULL: no state */
	int (*finish)(struct ward_feed_parser *p);  /* at the end of the stream */
	void (*free)(struct ward_feed_parser *p);
};

struct ward_feed_parser {
	enum ward_feed_format format;
	const struct ward_feed_format_ops *ops;
	bool subdomains;
	ward_feed_entry_fn fn;
	void *ctx;
	struct ward_feed_stats stats;
	int error;                 /* sticky: the callback's error stops all later parsing */
	unsigned bom_matched;      /* leading bytes matched against EF BB BF so far */
	bool bom_done;             /* the start of the stream has been decided */
	bool overflow;             /* the current line passed the cap: drop it at its end */
	size_t len;                /* bytes of the current line held in line[] */
	struct ward_feed_rpz *rpz; /* RPZ state, NULL for the other formats */
	char name[WARD_NAME_MAX + 1];
	char line[WARD_FEED_MAX_LINE + 2]; /* the cap, a CR and a NUL */
};

int ward_feed__hosts_line(struct ward_feed_parser *p, const char *s, size_t n);
int ward_feed__adblock_line(struct ward_feed_parser *p, const char *s, size_t n);
int ward_feed__dnsmasq_line(struct ward_feed_parser *p, const char *s, size_t n);
int ward_feed__rpz_line(struct ward_feed_parser *p, const char *s, size_t n);

/* RPZ state: created with the parser, flushed at finish (an unclosed parenthesis). */
int ward_feed__rpz_new(struct ward_feed_parser *p);
int ward_feed__rpz_finish(struct ward_feed_parser *p);
void ward_feed__rpz_free(struct ward_feed_parser *p);

/* Counts a rejection. */
static inline void ward_feed__reject(struct ward_feed_parser *p, enum ward_feed_reject why)
{
	p->stats.rejected[why]++;
}

/* Passes one normalized entry to the callback and counts it (feed_name.c).
 * @return its result. */
int ward_feed__emit(struct ward_feed_parser *p, const char *name, size_t len, unsigned flags);

/*
 * Classifies one name candidate of a line format (hosts, domains, dnsmasq, adblock host
 * part): IP literals, URLs, "*.x" and ".x" (which force WARD_ENTRY_SUBDOMAINS), other
 * wildcards, then ward_feed_normalize_name and the system names. On success writes the
 * name to p->name. @return its length, or -(1 + reason).
 */
int ward_feed__classify(struct ward_feed_parser *p, const char *s, size_t n, bool *forced_sub);

/* Classifies and emits (or counts the rejection of) one candidate; flags are the line's,
 * plus WARD_ENTRY_SUBDOMAINS when forced. @return 0 or the callback's error. */
int ward_feed__candidate(struct ward_feed_parser *p, const char *s, size_t n, unsigned flags);

bool ward_feed__is_ipv4(const char *s, size_t n);
/* IPv6, optionally in brackets and with a %zone. */
bool ward_feed__is_ipv6(const char *s, size_t n);
bool ward_feed__is_system(const char *name, size_t len);

/* The whitespace of Python's bytes.split(): space, \t, \n, \r, \v, \f. */
static inline bool ward_feed__ws(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Trims whitespace on both ends of [*s, *s + *n). */
static inline void ward_feed__trim(const char **s, size_t *n)
{
	while (*n && ward_feed__ws(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && ward_feed__ws((*s)[*n - 1]))
		(*n)--;
}

static inline bool ward_feed__starts(const char *s, size_t n, const char *prefix, size_t plen)
{
	return n >= plen && memcmp(s, prefix, plen) == 0;
}

#define WARD_FEED__STARTS(s, n, lit) ward_feed__starts((s), (n), (lit), sizeof(lit) - 1)

#endif
