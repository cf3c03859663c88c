#include "blocklists/catdb_value.h"

#include <string.h>

#include "blocklists/bytes.h"
#include "blocklists/error.h"

/*
 * Domain value layout (see also the key-space comment in catdb.c):
 *
 *   flags    1 byte: bit i (0..3) = mask i present, 0x10 = feed list truncated,
 *            0x20..0x80 reserved (zero; a set bit means the value is not ours)
 *   masks    8 bytes each, only those present, in enum ward_catdb_mask order
 *   n_block  varint, only when both a block mask and an allow mask are present:
 *            how many of the following feed ids listed blocks (the rest listed allows)
 *   feeds    varint feed ids up to the end of the value
 *
 * A domain listed by one feed as a plain block costs 10 bytes: 1 + 8 + 1.
 */
#define FLAG_TRUNCATED 0x10
#define FLAG_RESERVED 0xe0
#define FLAGS_BLOCK ((1u << WARD_CATDB_BLOCK_SUB) | (1u << WARD_CATDB_BLOCK_EXACT))
#define FLAGS_ALLOW ((1u << WARD_CATDB_ALLOW_SUB) | (1u << WARD_CATDB_ALLOW_EXACT))

#define FEED_STATE_VERSION 2 /* 1: without the rejection counters, still read */



/* LEB128 of a 16-bit number: 1 to 3 bytes. */
static size_t put_varint(uint8_t *p, uint16_t x)
{
	size_t n = 0;
	while (x >= 0x80) {
		p[n++] = (uint8_t)(x | 0x80);
		x >>= 7;
	}
	p[n++] = (uint8_t)x;
	return n;
}

/* @return bytes consumed, or 0 when the varint is cut short or exceeds 16 bits. */
static size_t get_varint(const uint8_t *p, size_t len, uint16_t *out)
{
	uint32_t x = 0;
	for (size_t i = 0; i < len && i < 3; i++) {
		x |= (uint32_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			if (x > 0xffff)
				return 0;
			*out = (uint16_t)x;
			return i + 1;
		}
	}
	return 0;
}

static unsigned value_flags(const struct ward_catdb_value *v)
{
	unsigned flags = v->truncated ? FLAG_TRUNCATED : 0;
	for (unsigned i = 0; i < WARD_CATDB_MASKS; i++)
		if (v->mask[i])
			flags |= 1u << i;
	return flags;
}

int ward_catdb_value_encode(const struct ward_catdb_value *v, uint8_t *buf, size_t cap)
{
	unsigned flags = value_flags(v);
	bool has_block = flags & FLAGS_BLOCK, has_allow = flags & FLAGS_ALLOW;
	if (!has_block && !has_allow)
		return WARD_EINVAL;
	if (v->n_feeds > WARD_CATDB_VALUE_FEEDS || v->n_block_feeds > v->n_feeds)
		return WARD_EINVAL;
	/* Without a split count the kind of the feeds is implied by the masks present. */
	if (!has_allow && v->n_block_feeds != v->n_feeds)
		return WARD_EINVAL;
	if (!has_block && v->n_block_feeds != 0)
		return WARD_EINVAL;

	uint8_t tmp[WARD_CATDB_VALUE_MAX];
	size_t n = 0;
	tmp[n++] = (uint8_t)flags;
	for (unsigned i = 0; i < WARD_CATDB_MASKS; i++) {
		if (v->mask[i]) {
			ward_bytes_put_le(tmp + n, v->mask[i], 8);
			n += 8;
		}
	}
	if (has_block && has_allow)
		n += put_varint(tmp + n, v->n_block_feeds);
	for (unsigned i = 0; i < v->n_feeds; i++)
		n += put_varint(tmp + n, v->feeds[i]);
	if (n > cap)
		return WARD_ETOOBIG;
	memcpy(buf, tmp, n);
	return (int)n;
}

/* Reads the flags byte and the masks; @return the offset after them, or 0 on error. */
static size_t decode_masks(const uint8_t *buf, size_t len, ward_catset mask[WARD_CATDB_MASKS],
			   unsigned *flags_out)
{
	if (len < 1 || (buf[0] & FLAG_RESERVED))
		return 0;
	unsigned flags = buf[0];
	size_t off = 1;
	for (unsigned i = 0; i < WARD_CATDB_MASKS; i++) {
		mask[i] = 0;
		if (!(flags & (1u << i)))
			continue;
		if (len - off < 8)
			return 0;
		mask[i] = ward_bytes_get_le(buf + off, 8);
		off += 8;
	}
	*flags_out = flags;
	return off;
}

bool ward_catdb_value_covers_subdomains(const uint8_t *buf, size_t len)
{
	return len > 0 &&
	       (buf[0] & ((1u << WARD_CATDB_BLOCK_SUB) | (1u << WARD_CATDB_ALLOW_SUB)));
}

int ward_catdb_value_masks(const uint8_t *buf, size_t len, ward_catset mask[WARD_CATDB_MASKS])
{
	unsigned flags;
	return decode_masks(buf, len, mask, &flags) ? 0 : WARD_EFORMAT;
}

int ward_catdb_value_decode(const uint8_t *buf, size_t len, struct ward_catdb_value *v)
{
	memset(v, 0, sizeof(*v));
	unsigned flags;
	size_t off = decode_masks(buf, len, v->mask, &flags);
	if (off == 0 || !(flags & (FLAGS_BLOCK | FLAGS_ALLOW)))
		return WARD_EFORMAT;
	v->truncated = flags & FLAG_TRUNCATED;
	uint16_t n_block = 0;
	bool split = (flags & FLAGS_BLOCK) && (flags & FLAGS_ALLOW);
	if (split) {
		size_t used = get_varint(buf + off, len - off, &n_block);
		if (used == 0)
			return WARD_EFORMAT;
		off += used;
	}
	while (off < len) {
		if (v->n_feeds == WARD_CATDB_VALUE_FEEDS)
			return WARD_EFORMAT;
		size_t used = get_varint(buf + off, len - off, &v->feeds[v->n_feeds]);
		if (used == 0)
			return WARD_EFORMAT;
		off += used;
		v->n_feeds++;
	}
	if (!split)
		n_block = (flags & FLAGS_BLOCK) ? v->n_feeds : 0;
	if (n_block > v->n_feeds)
		return WARD_EFORMAT;
	v->n_block_feeds = (uint8_t)n_block;
	return 0;
}

/* ---- feed state ------------------------------------------------------------------ */

/* The five strings of a feed state, in on-disk order, with their field sizes. */
#define FEED_STRINGS(st)                                                      \
	{ (st)->name, (st)->url, (st)->etag, (st)->last_modified, (st)->last_error }
#define FEED_STRING_SIZES(st)                                                 \
	{ sizeof((st)->name), sizeof((st)->url), sizeof((st)->etag),          \
	  sizeof((st)->last_modified), sizeof((st)->last_error) }
#define FEED_N_STRINGS 5

/* Append n little-endian bytes of x at *off. */
static void put_at(uint8_t *buf, size_t *off, uint64_t x, unsigned n)
{
	ward_bytes_put_le(buf + *off, x, n);
	*off += n;
}

static uint64_t get_at(const uint8_t *buf, size_t *off, unsigned n)
{
	uint64_t x = ward_bytes_get_le(buf + *off, n);
	*off += n;
	return x;
}

int ward_catdb_feed_state_encode(const struct ward_catdb_feed_state *st, uint8_t *buf,
				 size_t cap)
{
	const char *strs[FEED_N_STRINGS] = FEED_STRINGS(st);
	const size_t sizes[FEED_N_STRINGS] = FEED_STRING_SIZES(st);
	uint8_t tmp[WARD_CATDB_FEED_STATE_MAX];
	size_t n = 0;

	put_at(tmp, &n, FEED_STATE_VERSION, 1);
	put_at(tmp, &n, st->id, 2);
	put_at(tmp, &n, st->categories, 8);
	put_at(tmp, &n, (uint64_t)st->last_good, 8);
	put_at(tmp, &n, (uint64_t)st->last_attempt, 8);
	put_at(tmp, &n, st->entries, 8);
	memcpy(tmp + n, st->sha256, sizeof(st->sha256));
	n += sizeof(st->sha256);
	for (unsigned i = 0; i < FEED_N_STRINGS; i++) {
		size_t len = strnlen(strs[i], sizes[i]);
		if (len == sizes[i])
			return WARD_EINVAL;
		put_at(tmp, &n, len, 2);
		memcpy(tmp + n, strs[i], len);
		n += len;
	}
	unsigned n_rejected = WARD_CATDB_FEED_REJECTS;
	while (n_rejected > 0 && st->rejected[n_rejected - 1] == 0)
		n_rejected--;
	put_at(tmp, &n, n_rejected, 1);
	for (unsigned i = 0; i < n_rejected; i++)
		put_at(tmp, &n, st->rejected[i], 8);
	if (n > cap)
		return WARD_ETOOBIG;
	memcpy(buf, tmp, n);
	return (int)n;
}

#define FEED_FIXED_LEN (1 + 2 + 8 * 4 + 32)

/* Version 2's tail: a count, then that many 8-byte rejection counters. */
static int decode_rejected(const uint8_t *buf, size_t len, size_t off,
			   struct ward_catdb_feed_state *st)
{
	if (len - off < 1)
		return WARD_EFORMAT;
	size_t n = (size_t)get_at(buf, &off, 1);
	if (n > WARD_CATDB_FEED_REJECTS || len - off != n * 8)
		return WARD_EFORMAT;
	for (size_t i = 0; i < n; i++)
		st->rejected[i] = get_at(buf, &off, 8);
	return 0;
}

int ward_catdb_feed_state_decode(const uint8_t *buf, size_t len,
				 struct ward_catdb_feed_state *st)
{
	memset(st, 0, sizeof(*st));
	if (len < FEED_FIXED_LEN || (buf[0] != FEED_STATE_VERSION && buf[0] != 1))
		return WARD_EFORMAT;
	unsigned version = buf[0];
	size_t off = 1;
	st->id = (uint16_t)get_at(buf, &off, 2);
	st->categories = get_at(buf, &off, 8);
	st->last_good = (int64_t)get_at(buf, &off, 8);
	st->last_attempt = (int64_t)get_at(buf, &off, 8);
	st->entries = get_at(buf, &off, 8);
	memcpy(st->sha256, buf + off, sizeof(st->sha256));
	off += sizeof(st->sha256);

	char *strs[FEED_N_STRINGS] = FEED_STRINGS(st);
	const size_t sizes[FEED_N_STRINGS] = FEED_STRING_SIZES(st);
	for (unsigned i = 0; i < FEED_N_STRINGS; i++) {
		if (len - off < 2)
			return WARD_EFORMAT;
		size_t slen = (size_t)get_at(buf, &off, 2);
		/* The string must fit its field with the NUL and contain no NUL itself. */
		if (slen >= sizes[i] || len - off < slen || memchr(buf + off, 0, slen))
			return WARD_EFORMAT;
		memcpy(strs[i], buf + off, slen);
		strs[i][slen] = '\0';
		off += slen;
	}
	return version == 1 ? (off == len ? 0 : WARD_EFORMAT) : decode_rejected(buf, len, off, st);
}

void ward_catdb_u64_encode(uint64_t x, uint8_t out[8])
{
	ward_bytes_put_le(out, x, 8);
}

int ward_catdb_u64_decode(const uint8_t *buf, size_t len, uint64_t *out)
{
	if (len != 8)
		return WARD_EFORMAT;
	*out = ward_bytes_get_le(buf, 8);
	return 0;
}

/* ---- bloom filter ----------------------------------------------------------------- */

#define BLOOM_VERSION 1
#define BLOOM_K 7
#define BLOOM_BITS_PER_KEY 10
#define BLOOM_MAX_BLOCKS ((uint32_t)1 << 23) /* 512 MiB: far beyond any feed set */

uint64_t ward_catdb_hash_final(uint64_t h, bool parent)
{
	if (parent) /* a second, independent hash of the same key */
		h ^= 0x2f0b3c7d5a9e8c61ull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 33);
}

uint64_t ward_catdb_hash(const void *key, size_t len, bool parent)
{
	const uint8_t *p = key;
	uint64_t h = WARD_CATDB_HASH_INIT;
	for (size_t i = 0; i < len; i++)
		h = ward_catdb_hash_step(h, p[i]);
	return ward_catdb_hash_final(h, parent);
}

size_t ward_catdb_bloom_size(uint64_t n_keys)
{
	uint64_t blocks = (n_keys * BLOOM_BITS_PER_KEY + 511) / 512;
	if (blocks == 0)
		blocks = 1;
	if (blocks > BLOOM_MAX_BLOCKS)
		blocks = BLOOM_MAX_BLOCKS;
	return WARD_CATDB_BLOOM_HEADER + (size_t)blocks * WARD_CATDB_BLOOM_BLOCK;
}

void ward_catdb_bloom_init(uint8_t *buf, size_t size)
{
	memset(buf, 0, size);
	buf[0] = BLOOM_VERSION;
	buf[1] = BLOOM_K;
	ward_bytes_put_le(buf + 4, (size - WARD_CATDB_BLOOM_HEADER) / WARD_CATDB_BLOOM_BLOCK, 4);
}

/* The block from the high half of the hash (multiply-shift: any block count works), the
 * k bit positions from 9-bit slices of the low half remixed. */
static uint32_t bloom_block(uint64_t hash, uint32_t n_blocks)
{
	return (uint32_t)(((hash >> 32) * n_blocks) >> 32);
}

static uint64_t bloom_bits(uint64_t hash)
{
	return (hash & 0xffffffffu) * 0x9e3779b97f4a7c15ull;
}

void ward_catdb_bloom_add(uint8_t *buf, uint64_t hash)
{
	uint32_t n_blocks = (uint32_t)ward_bytes_get_le(buf + 4, 4);
	uint8_t k = buf[1];
	uint8_t *block = buf + WARD_CATDB_BLOOM_HEADER +
			 (size_t)bloom_block(hash, n_blocks) * WARD_CATDB_BLOOM_BLOCK;
	uint64_t bits = bloom_bits(hash);
	for (unsigned i = 0; i < k; i++, bits >>= 9)
		block[(bits & 511) >> 3] |= (uint8_t)(1u << (bits & 7));
}

int ward_catdb_bloom_open(const uint8_t *buf, size_t len, struct ward_catdb_bloom *b)
{
	if (len < WARD_CATDB_BLOOM_HEADER || buf[0] != BLOOM_VERSION || buf[1] == 0 ||
	    buf[1] > BLOOM_K || buf[2] || buf[3])
		return WARD_EFORMAT;
	uint32_t n_blocks = (uint32_t)ward_bytes_get_le(buf + 4, 4);
	if (n_blocks == 0 || n_blocks > BLOOM_MAX_BLOCKS ||
	    len - WARD_CATDB_BLOOM_HEADER != (size_t)n_blocks * WARD_CATDB_BLOOM_BLOCK)
		return WARD_EFORMAT;
	b->blocks = buf + WARD_CATDB_BLOOM_HEADER;
	b->n_blocks = n_blocks;
	b->k = buf[1];
	return 0;
}

const uint8_t *ward_catdb_bloom_block(const struct ward_catdb_bloom *b, uint64_t hash)
{
	return b->blocks + (size_t)bloom_block(hash, b->n_blocks) * WARD_CATDB_BLOOM_BLOCK;
}

bool ward_catdb_bloom_may_contain(const struct ward_catdb_bloom *b, uint64_t hash)
{
	const uint8_t *block = ward_catdb_bloom_block(b, hash);
	uint64_t bits = bloom_bits(hash);
	for (unsigned i = 0; i < b->k; i++, bits >>= 9)
		if (!(block[(bits & 511) >> 3] & (1u << (bits & 7))))
			return false;
	return true;
}
