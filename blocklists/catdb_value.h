/*
 * On-disk encodings of the category database's values. Internal to blocklists/catdb*.c;
 * a header of its own only so that the fuzz target can reach the decoders.
 *
 * Every decoder reads bytes that may have been corrupted on disk: it checks each length
 * before it reads and returns WARD_EFORMAT rather than trusting anything.
 * Multi-byte integers are little-endian, written byte by byte, so a database copied to
 * another host reads the same.
 */
#ifndef WARD_CATDB_VALUE_H
#define WARD_CATDB_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blocklists/catdb.h"
#include "blocklists/category.h"

/* At most this many feed ids are kept per domain; more set `truncated`. */
#define WARD_CATDB_VALUE_FEEDS 16

/* The four category masks of a domain value, in on-disk order. */
enum ward_catdb_mask {
	WARD_CATDB_BLOCK_SUB,   /* blocks the name and everything below it */
	WARD_CATDB_BLOCK_EXACT, /* blocks the name only */
	WARD_CATDB_ALLOW_SUB,   /* exempts the name and everything below it */
	WARD_CATDB_ALLOW_EXACT, /* exempts the name only */
	WARD_CATDB_MASKS,
};

struct ward_catdb_value {
	ward_catset mask[WARD_CATDB_MASKS];
	uint8_t n_feeds;       /* ids used in feeds[] */
	uint8_t n_block_feeds; /* feeds[0 .. n_block_feeds) listed blocks, the rest allows */
	bool truncated;        /* more feeds listed the name than feeds[] holds */
	uint16_t feeds[WARD_CATDB_VALUE_FEEDS];
};

/* flags byte + four masks + a count + every feed id as a 3-byte varint */
#define WARD_CATDB_VALUE_MAX (1 + WARD_CATDB_MASKS * 8 + 1 + WARD_CATDB_VALUE_FEEDS * 3)

/*
 * Encode a domain value. A value with every mask zero is refused (it would say nothing).
 * @return the encoded length (> 0), or WARD_EINVAL (empty value, counts out of range),
 *         WARD_ETOOBIG (cap too small; WARD_CATDB_VALUE_MAX always suffices).
 */
int ward_catdb_value_encode(const struct ward_catdb_value *v, uint8_t *buf, size_t cap);

/* Whether an encoded value has a mask that covers subdomains (a parent hash for the
 * filter). Reads only the flags byte; false for an empty buffer. */
bool ward_catdb_value_covers_subdomains(const uint8_t *buf, size_t len);

/* Decode a whole domain value. @return 0 or WARD_EFORMAT. */
int ward_catdb_value_decode(const uint8_t *buf, size_t len, struct ward_catdb_value *v);

/*
 * Decode only the four masks (zero when absent): the lookup's per-label step, which
 * needs the feed ids only of the one entry that explains the answer.
 * @return 0 or WARD_EFORMAT (a truncated value or reserved flag bits).
 */
int ward_catdb_value_masks(const uint8_t *buf, size_t len, ward_catset mask[WARD_CATDB_MASKS]);

/* The feed state record: fixed fields, five length-prefixed strings, then (version 2)
 * a count and that many rejection counters. */
#define WARD_CATDB_FEED_STATE_MAX \
	(1 + 2 + 8 * 5 + 32 + 5 * 2 + 64 + 1024 + 256 + 64 + 256 + 1 + 8 * WARD_CATDB_FEED_REJECTS)

/* @return the encoded length, WARD_EINVAL (a string not NUL-terminated inside its
 *         field) or WARD_ETOOBIG (cap too small). */
int ward_catdb_feed_state_encode(const struct ward_catdb_feed_state *st, uint8_t *buf,
				 size_t cap);

/* @return 0 (st filled, every string NUL-terminated) or WARD_EFORMAT. */
int ward_catdb_feed_state_decode(const uint8_t *buf, size_t len,
				 struct ward_catdb_feed_state *st);

/*
 * A blocked Bloom filter over the keys of `domains`, stored as meta "bloom", so that a
 * lookup skips the B-tree descent for the levels of a name that have no entry (most of
 * them). Layout: version byte, k, 2 zero bytes, n_blocks (4 bytes), then n_blocks blocks
 * of 64 bytes; a key sets k bits in the one block its hash picks, so a probe costs one
 * cache line. About 10 bits per insert: some 1% false positives, which cost a plain get.
 *
 * Every key is inserted with its "name" hash; keys whose entries also cover subdomains
 * are inserted a second time with their "parent" hash. A lookup probes the full name
 * with the first and its parents with the second, so an exact-only entry (hosts files)
 * costs no descent when a subdomain of it is asked.
 */
#define WARD_CATDB_BLOOM_HEADER 8
#define WARD_CATDB_BLOOM_BLOCK 64

struct ward_catdb_bloom {
	const uint8_t *blocks;
	uint32_t n_blocks;
	uint8_t k;
};

/* The key hash is FNV-1a, fed byte by byte so that one pass over a reversed key yields
 * the hash of every level on the way; finish it with ward_catdb_hash_final(). */
#define WARD_CATDB_HASH_INIT 0xcbf29ce484222325ull
static inline uint64_t ward_catdb_hash_step(uint64_t h, uint8_t byte)
{
	return (h ^ byte) * 0x100000001b3ull;
}
uint64_t ward_catdb_hash_final(uint64_t h, bool parent);
uint64_t ward_catdb_hash(const void *key, size_t len, bool parent);

/* Bytes of a filter for n keys (header included); at most 512 MiB. */
size_t ward_catdb_bloom_size(uint64_t n_keys);
/* Write the header of a filter of `size` bytes (from ward_catdb_bloom_size) and clear it. */
void ward_catdb_bloom_init(uint8_t *buf, size_t size);
/* Add a key hash to a filter being built in buf. */
void ward_catdb_bloom_add(uint8_t *buf, uint64_t hash);
/* Check a stored filter's header and size. @return 0 or WARD_EFORMAT. */
int ward_catdb_bloom_open(const uint8_t *buf, size_t len, struct ward_catdb_bloom *b);
/* The block a hash probes, to prefetch it while the other levels are hashed. */
const uint8_t *ward_catdb_bloom_block(const struct ward_catdb_bloom *b, uint64_t hash);
/* false: the key is certainly absent; true: it may be present. */
bool ward_catdb_bloom_may_contain(const struct ward_catdb_bloom *b, uint64_t hash);

/* Fixed 8-byte little-endian integers of the `meta` key space. */
void ward_catdb_u64_encode(uint64_t x, uint8_t out[8]);
/* @return 0 or WARD_EFORMAT (len is not 8). */
int ward_catdb_u64_decode(const uint8_t *buf, size_t len, uint64_t *out);

#endif
