/*
 * The query log (docs/config.md, "The query log"): its records, and its store, a
 * directory of append-only segment files written in batches by wardd's log writer thread
 * and read by the API and by `ward log`.
 *
 * A record's value, version 1: verdict, rcode, reason, flags (has MAC, anonymized), qtype,
 * latency in ms, category bits, client address (16 bytes, IPv4 mapped), the MAC when
 * present, the profile's name (a length byte, at most 63), the id of the feed behind a
 * block (2 bytes; ids are never reused, so readers name it from the category database)
 * and the asked name in lower-case wire form (a length byte, at most 255). Layout and
 * checks in ward_qlog_decode(); anything else is refused (WARD_EFORMAT).
 */
#ifndef WARD_QLOG_H
#define WARD_QLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "blocklists/bytes.h"
#include "blocklists/category.h"
#include "blocklists/name.h"

/* What a query came to. Every query a worker reads counts as exactly one. */
enum ward_verdict {
	WARD_VERDICT_FORWARDED, /* answered from upstream */
	WARD_VERDICT_CACHED,    /* answered from the cache (a stale answer too) */
	WARD_VERDICT_BLOCKED,   /* the policy blocked it */
	WARD_VERDICT_REWRITTEN, /* safe search: answered for another name or address */
	WARD_VERDICT_REFUSED,   /* the client is outside allow_clients */
	WARD_VERDICT_SERVFAIL,  /* no answer could be had (upstreams, a failed lookup) */
	WARD_VERDICT_INVALID,   /* malformed or unsupported (FORMERR, NOTIMP, ...) */
	WARD_VERDICT_LOCAL,     /* ward's own name (web.hostname) */
	WARD_VERDICT_DROPPED,   /* no answer was sent */
	WARD_VERDICT_COUNT
};

/* "forwarded", ...; NULL past the end. */
const char *ward_verdict_name(unsigned verdict);
/* @return the verdict for a name, or -1. */
int ward_verdict_parse(const char *name);

#define WARD_QLOG_TEXT_MAX 64          /* profile and feed names, NUL included */
#define WARD_QLOG_VALUE_MAX 384        /* the largest encoded record */
#define WARD_QLOG_RESULTS_MAX 10000    /* entries one query returns at most */
#define WARD_QLOG_SCAN_MAX 4000000     /* records one query looks at at most */

#define WARD_QLOG_HAS_MAC 0x01
#define WARD_QLOG_ANONYMIZED 0x02

struct ward_qlog_entry {
	uint64_t id;                 /* where it was read (ward_qlog_parse: the offset) */
	int64_t time;                /* unix seconds */
	uint8_t verdict;             /* enum ward_verdict */
	uint8_t rcode;
	uint8_t reason;              /* enum ward_policy_reason */
	uint8_t flags;               /* WARD_QLOG_* */
	uint16_t qtype;
	uint32_t latency_ms;
	ward_catset categories;
	uint8_t client[16];          /* IPv6; IPv4 as ::ffff:a.b.c.d */
	uint8_t mac[6];
	char profile[WARD_QLOG_TEXT_MAX]; /* "" = none */
	uint16_t feed_id;                 /* 0 = none */
	char feed[WARD_QLOG_TEXT_MAX];    /* its name, when a reader looked it up; else "" */
	uint8_t name[WARD_WIRE_NAME_MAX]; /* lower-case wire form */
};

/* Zero the host part of a client address: the last octet of IPv4, the last 80 bits of
 * IPv6 (query_log.anonymize_clients). */
void ward_qlog_anonymize(uint8_t client[16]);

/* Encode e (e->id and e->time are the key's business) into buf.
 * @return the length, or 0 when e does not fit (a name that is no wire name). */
size_t ward_qlog_encode(const struct ward_qlog_entry *e, uint8_t *buf, size_t cap);

/* Decode one stored value; e->id and e->time are left alone.
 * @return 0 or WARD_EFORMAT (another version, a length past the end, a name that is
 *         no wire name, text with a NUL or control byte, trailing bytes). */
int ward_qlog_decode(const uint8_t *val, size_t len, struct ward_qlog_entry *e);

/* ---- the store --------------------------------------------------------------------------- */

/*
 * Segment files (blocklists/qlog_store.c): the log is a directory of files named
 * <16 hex digits: unix seconds of the first record>-<8 hex digits>.qlog, oldest first by
 * name. Each starts with the 8 bytes "WARDQLG1", then frames:
 *   [u16 big-endian: length of what follows][u64 big-endian: unix seconds][value]
 * Only ever appended to; a torn last frame (a crash in the middle of a write) is cut off
 * when the writer opens the log, and readers stop before it. A segment holds at most
 * max_bytes / WARD_QLOG_SEGMENTS bytes and retention_days / 64 of time, so whole files
 * can be deleted for retention and for the size bound.
 */
#define WARD_QLOG_FRAME_MAX (2 + 8 + WARD_QLOG_VALUE_MAX)
#define WARD_QLOG_SEGMENTS 16                /* the size bound in segments */
#define WARD_QLOG_SEGMENT_MIN (64u * 1024)   /* and each at least this large */

/* Frame e (its time included) into buf. @return the bytes, or 0 as ward_qlog_encode. */
size_t ward_qlog_frame(const struct ward_qlog_entry *e, uint8_t *buf, size_t cap);

/* A record's fields where they already are, with their lengths: what wardd's observer
 * frames from a worker's record without copying it into an entry first. */
struct ward_qlog_raw {
	int64_t time;
	uint8_t verdict, rcode, reason, flags;
	uint16_t qtype;
	uint32_t latency_ms;
	ward_catset categories;
	const uint8_t *client;       /* 16 bytes */
	const uint8_t *mac;          /* 6 bytes, read with WARD_QLOG_HAS_MAC */
	const char *profile;         /* not NUL-terminated: its length says (at most 63) */
	uint8_t profile_len;
	uint16_t feed_id;
	const uint8_t *name;         /* lower-case wire form of name_len bytes */
	uint8_t name_len;
};
/* The layout, inline: every worker frames the records it logs itself, and a call and a
 * struct handed over cost as much as the stores do. */
#define WARD_QLOG__VERSION 1
#define WARD_QLOG__FIXED 35   /* version .. client, before the MAC and the strings */

static inline size_t ward_qlog__value_size(const struct ward_qlog_raw *r)
{
	size_t plen = r->profile_len < WARD_QLOG_TEXT_MAX ? r->profile_len : WARD_QLOG_TEXT_MAX - 1;
	return WARD_QLOG__FIXED + (r->flags & WARD_QLOG_HAS_MAC ? 6 : 0) + 1 + plen + 2 + 1 +
	       r->name_len;
}

/* The bytes ward_qlog_frame_raw() writes for r. */
static inline size_t ward_qlog_frame_size(const struct ward_qlog_raw *r)
{
	return 10 + ward_qlog__value_size(r);
}

/* The one encoder of a record's value: every length is known, nothing is measured again.
 * @return the bytes, or 0 (no name, or cap too small). */
static inline size_t ward_qlog__encode(const struct ward_qlog_raw *r, uint8_t *buf, size_t cap)
{
	if (!r->name_len || cap < ward_qlog__value_size(r))
		return 0;
	size_t plen = r->profile_len < WARD_QLOG_TEXT_MAX ? r->profile_len : WARD_QLOG_TEXT_MAX - 1;
	buf[0] = WARD_QLOG__VERSION;
	buf[1] = r->verdict;
	buf[2] = r->rcode;
	buf[3] = r->reason;
	buf[4] = r->flags & (WARD_QLOG_HAS_MAC | WARD_QLOG_ANONYMIZED);
	ward_bytes_put_be(buf + 5, r->qtype, 2);
	ward_bytes_put_be(buf + 7, r->latency_ms, 4);
	ward_bytes_put_be(buf + 11, r->categories, 8);
	memcpy(buf + 19, r->client, 16);
	size_t o = WARD_QLOG__FIXED;
	if (buf[4] & WARD_QLOG_HAS_MAC) {
		memcpy(buf + o, r->mac, 6);
		o += 6;
	}
	buf[o++] = (uint8_t)plen;
	memcpy(buf + o, r->profile, plen);
	o += plen;
	ward_bytes_put_be(buf + o, r->feed_id, 2);
	o += 2;
	buf[o++] = r->name_len;
	memcpy(buf + o, r->name, r->name_len);
	return o + r->name_len;
}

/* Frame r into buf (at least ward_qlog_frame_size(r) bytes). @return the bytes, or 0
 * when buf is too small or r has no name. */
static inline size_t ward_qlog_frame_raw(const struct ward_qlog_raw *r, uint8_t *buf,
					 size_t cap)
{
	size_t n = cap >= 10 ? ward_qlog__encode(r, buf + 10, cap - 10) : 0;
	if (!n)
		return 0;
	ward_bytes_put_be(buf, n + 8, 2);
	ward_bytes_put_be(buf + 2, (uint64_t)r->time, 8);
	return n + 10;
}

/* Walk the frames in buf: fn for each one that decodes (e->time set, e->id its offset).
 * Stops at a torn or impossible frame. @return the bytes of the frames walked. */
size_t ward_qlog_parse(const uint8_t *buf, size_t len,
		       void (*fn)(void *ctx, const struct ward_qlog_entry *e), void *ctx);

/* The whole frames at the start of buf. */
size_t ward_qlog_parse_count(const uint8_t *buf, size_t len);

struct ward_qlog;

/*
 * Open the log in directory `dir`. Writing creates it (0750) and takes its lock file
 * (one writer per directory), and cuts a torn last frame off.
 * @param max_bytes  writing: the most the segment files may take together
 * @return 0, WARD_ENOTFOUND (reading, no log yet), WARD_EBUSY (another process writes
 *         it), WARD_EACCES, WARD_EROFS, WARD_ENOSPC, WARD_EIO, WARD_ENOMEM.
 */
int ward_qlog_open(const char *dir, bool write, uint64_t max_bytes, struct ward_qlog **out);
void ward_qlog_close(struct ward_qlog *log);

struct ward_qlog_write {
	int64_t now;                 /* unix seconds, for retention */
	uint32_t retention_days;
	uint64_t written;            /* out: records stored */
	uint64_t expired;            /* out: records deleted for retention */
	uint64_t evicted;            /* out: records deleted to stay within max_bytes */
};

/*
 * Append whole frames (as ward_qlog_frame wrote them), after deleting the segments that
 * retention and the size bound say must go; len 0 does only that.
 * @return 0, or the write's failure (the frames not written are not in the log).
 */
int ward_qlog_append(struct ward_qlog *log, const uint8_t *frames, size_t len,
		     struct ward_qlog_write *st);

struct ward_qlog_filter {
	int64_t since;               /* unix seconds; 0: from the oldest */
	int64_t until;               /* unix seconds, exclusive; 0: to the newest */
	bool has_client;
	uint8_t client[16];          /* exact match (an anonymized client matches x.x.x.0) */
	int verdict;                 /* -1: any */
	const char *profile;         /* NULL: any */
	size_t limit;                /* newest first; 0 or above WARD_QLOG_RESULTS_MAX: the max */
};

struct ward_qlog_result {
	struct ward_qlog_entry *entries; /* malloc'ed, newest first */
	size_t n;
	bool truncated;              /* more matched than the limit, or the scan stopped */
	uint64_t bytes;              /* bytes the segment files take */
};

/* @return 0 (r filled; free r->entries), WARD_ENOMEM, WARD_EIO. */
int ward_qlog_query(struct ward_qlog *log, const struct ward_qlog_filter *f,
		    struct ward_qlog_result *r);

/* Name the feeds of r's entries from the category database (db may be NULL: then none). */
struct ward_catdb;
void ward_qlog_name_feeds(struct ward_qlog_result *r, struct ward_catdb *db);

/* Bytes the segment files take, and how many there are. @return 0 or WARD_EIO. */
int ward_qlog_usage(struct ward_qlog *log, uint64_t *bytes, uint64_t *segments);

/* The entry as a JSON object (struct cJSON *; the caller owns it): time, client, mac,
 * profile, name, type, verdict, category names, feed, rcode, latency_ms. */
struct ward_cat_registry;
void *ward_qlog_entry_json(const struct ward_qlog_entry *e, const struct ward_cat_registry *reg);

/* "192.168.1.20", "2001:db8::1" from a 16-byte (IPv4-mapped) address. */
const char *ward_qlog_client_text(const uint8_t client[16], char *buf, size_t cap);
/* Parse an address into the 16-byte form. @return 0 or WARD_EINVAL. */
int ward_qlog_client_parse(const char *text, uint8_t client[16]);

/* "A", "AAAA", ..., "TYPE99" (RFC 3597) into buf. */
const char *ward_qlog_type_text(uint16_t qtype, char *buf, size_t cap);

#endif
