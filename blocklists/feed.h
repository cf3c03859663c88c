/*
 * Feed parsers: published blocklist files in, normalized domain entries out.
 *
 * Parsers are streaming (a download arrives in chunks) and bounded: a line longer than
 * WARD_FEED_MAX_LINE is skipped and counted, never copied past a buffer. Every skipped
 * line that looked like data is counted under a reason, so `ward update` can say why.
 *
 * Names handed to the callback are normalized: BOM/CR stripped, lower-case, no trailing
 * dot, U-labels converted to A-labels (punycode), underscores allowed, 1..253 chars,
 * labels 1..63. Whole-TLD entries ("actor") are legal.
 */
#ifndef WARD_FEED_H
#define WARD_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blocklists/conf.h"

#define WARD_FEED_MAX_LINE (64 * 1024)
#define WARD_NAME_MAX 253 /* presentation form without trailing dot */

/* Flags passed with each entry. */
enum ward_feed_entry_flag {
	WARD_ENTRY_SUBDOMAINS = 1 << 0, /* also covers every name below it */
	WARD_ENTRY_ALLOW = 1 << 1,      /* an exception (@@||x^, rpz-passthru.), not a block */
};

/* Why a data-looking line did not become an entry. */
enum ward_feed_reject {
	WARD_REJECT_IP,            /* an IP address where a name belongs */
	WARD_REJECT_INVALID_NAME,  /* bad characters, empty label, label > 63, name > 253 */
	WARD_REJECT_IDN,           /* U-label that cannot be converted to punycode */
	WARD_REJECT_SYSTEM,        /* localhost, broadcasthost, ip6-* ... */
	WARD_REJECT_MODIFIER,      /* adblock page-context modifiers ($domain=, $image ...) */
	WARD_REJECT_BADFILTER,     /* $badfilter rules */
	WARD_REJECT_URL,           /* URL or path rule: blocks a page, not a host */
	WARD_REJECT_COSMETIC,      /* ##, #@#, #?# element-hiding rules */
	WARD_REJECT_REGEX,         /* /regex/ rules */
	WARD_REJECT_WILDCARD,      /* infix wildcards we cannot express (masto*.top) */
	WARD_REJECT_TOO_LONG,      /* line longer than WARD_FEED_MAX_LINE */
	WARD_REJECT_SYNTAX,        /* a line the format cannot read at all */
	WARD_REJECT_COUNT,
};

struct ward_feed_stats {
	uint64_t lines;
	uint64_t bytes;
	uint64_t blocks;  /* entries passed to the callback without WARD_ENTRY_ALLOW */
	uint64_t allows;  /* entries passed with WARD_ENTRY_ALLOW */
	uint64_t rejected[WARD_REJECT_COUNT];
};

/*
 * Called once per entry. `name` is NUL-terminated and valid only during the call.
 * Return 0 to go on, a negative WARD_E* code to stop parsing with that error.
 */
typedef int (*ward_feed_entry_fn)(void *ctx, const char *name, size_t len, unsigned flags);

struct ward_feed_parser;

/*
 * @param subdomains  whether plain entries cover subdomains (the feed's "subdomains").
 *                    Formats that say it themselves (adblock ||x^, RPZ *.x) override it.
 * @return a parser or NULL on allocation failure.
 */
struct ward_feed_parser *ward_feed_parser_new(enum ward_feed_format format, bool subdomains,
					      ward_feed_entry_fn fn, void *ctx);

/* Feed the next chunk (any size, any split point). @return 0 or the callback's error. */
int ward_feed_parser_write(struct ward_feed_parser *p, const char *data, size_t len);

/* Flush the last line (a file without a final newline) and copy out the statistics.
 * @return 0 or the callback's error. */
int ward_feed_parser_finish(struct ward_feed_parser *p, struct ward_feed_stats *stats);

void ward_feed_parser_free(struct ward_feed_parser *p);

/* One-shot convenience over the three calls above. */
int ward_feed_parse(enum ward_feed_format format, bool subdomains, const char *data,
		    size_t len, ward_feed_entry_fn fn, void *ctx, struct ward_feed_stats *stats);

/*
 * Normalize one candidate name (presentation form, may have trailing dot, upper case,
 * UTF-8 labels). Writes the normalized name to out (cap >= WARD_NAME_MAX + 1).
 * @return its length, or -(1 + enum ward_feed_reject) when it cannot be a name.
 */
int ward_feed_normalize_name(const char *in, size_t len, char *out, size_t cap);

/* Short stable names: "ip", "invalid-name", "idn", ... */
const char *ward_feed_reject_name(enum ward_feed_reject reason);
const char *ward_feed_format_name(enum ward_feed_format format);
/* @return 0 and the format for "hosts", "domains", "adblock", "dnsmasq", "rpz". */
int ward_feed_format_parse(const char *name, enum ward_feed_format *out);

#endif
