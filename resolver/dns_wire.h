/*
 * Internal helpers shared by the resolver/dns_*.c files; not part of the public API.
 *
 * Offsets are size_t and every read is checked against an explicit end before it happens.
 * Names are parsed by one function, ward_dns__name_read(), which is where the rules about
 * compression pointers live.
 */
#ifndef WARD_DNS_WIRE_H
#define WARD_DNS_WIRE_H

#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "resolver/dns.h"

/* Header flag bits (second 16-bit word). */
#define WARD_DNS_F_QR 0x8000u
#define WARD_DNS_F_AA 0x0400u
#define WARD_DNS_F_TC 0x0200u
#define WARD_DNS_F_RD 0x0100u
#define WARD_DNS_F_RA 0x0080u
#define WARD_DNS_F_AD 0x0020u
#define WARD_DNS_F_CD 0x0010u
#define WARD_DNS_OPCODE(flags) (((flags) >> 11) & 0xFu)
#define WARD_DNS_RCODE(flags) ((flags)&0xFu)

/* Offsets of the header's count words. */
#define WARD_DNS_QDCOUNT 4
#define WARD_DNS_ANCOUNT 6
#define WARD_DNS_NSCOUNT 8
#define WARD_DNS_ARCOUNT 10

#define WARD_DNS_RR_FIXED 10      /* type, class, TTL, RDLENGTH */
#define WARD_DNS_OPT_FIXED 11     /* root owner + WARD_DNS_RR_FIXED */
#define WARD_DNS_EDE_FIXED 6      /* option code, option length, INFO-CODE */
#define WARD_DNS_PTR_HOPS_MAX 127 /* a name has at most 127 labels, so no more pointers */
#define WARD_DNS_TYPE_AXFR 252
#define WARD_DNS_TYPE_IXFR 251

/* Big-endian loads and stores at any alignment (one instruction each on x86 and ARM). */
static inline uint16_t ward_dns__rd16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return be16toh(v);
}

static inline uint32_t ward_dns__rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return be32toh(v);
}

static inline void ward_dns__wr16(uint8_t *p, unsigned v)
{
	uint16_t be = htobe16((uint16_t)v);
	memcpy(p, &be, 2);
}

static inline void ward_dns__wr32(uint8_t *p, uint32_t v)
{
	uint32_t be = htobe32(v);
	memcpy(p, &be, 4);
}

static inline uint8_t ward_dns__lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

/*
 * Eight bytes lower-cased at once (SWAR): a byte below 0x80 in 'A'..'Z' gains 0x20, every
 * other byte is unchanged. Label length bytes (<= 63) are never letters, so a whole wire
 * name can be lower-cased this way.
 */
static inline uint64_t ward_dns__lower8(uint64_t x)
{
	uint64_t h = x & 0x7F7F7F7F7F7F7F7Full;
	uint64_t ge_a = h + 0x3F3F3F3F3F3F3F3Full; /* bit 7 set where h >= 'A' */
	uint64_t gt_z = h + 0x2525252525252525ull; /* bit 7 set where h > 'Z' */
	uint64_t upper = (ge_a ^ gt_z) & ~x & 0x8080808080808080ull;
	return x | (upper >> 2);
}

static inline uint64_t ward_dns__load8(const uint8_t *p)
{
	uint64_t x;
	memcpy(&x, p, 8);
	return x;
}

/* lower(src) == lower_name, n bytes; the last word may overlap the one before. */
static inline bool ward_dns__lower_equal(const uint8_t *src, const uint8_t *lower_name, size_t n)
{
	if (n < 8) {
		for (size_t i = 0; i < n; i++)
			if (ward_dns__lower(src[i]) != lower_name[i])
				return false;
		return true;
	}
	for (size_t i = 0;; i += 8) {
		if (i > n - 8)
			i = n - 8;
		if (ward_dns__lower8(ward_dns__load8(src + i)) != ward_dns__load8(lower_name + i))
			return false;
		if (i == n - 8)
			return true;
	}
}

/* The label-start bitmap of ward_dns__name_read(). */
static inline void ward_dns__mark(uint8_t *starts, size_t p)
{
	starts[p >> 3] |= (uint8_t)(1u << (p & 7));
}

static inline bool ward_dns__marked(const uint8_t *starts, size_t p)
{
	return (starts[p >> 3] >> (p & 7)) & 1u;
}

/* The bytes of a name between two jumps go out in one piece, eight at a time. */
static inline void ward_dns__copy_segment(const uint8_t *src, size_t n, uint8_t *exact,
					  uint8_t *lower)
{
	if (n < 8) {
		for (size_t i = 0; i < n; i++) {
			if (exact)
				exact[i] = src[i];
			if (lower)
				lower[i] = ward_dns__lower(src[i]);
		}
		return;
	}
	for (size_t i = 0;; i += 8) {
		if (i > n - 8)
			i = n - 8;
		uint64_t x = ward_dns__load8(src + i);
		if (exact)
			memcpy(exact + i, &x, 8);
		if (lower) {
			x = ward_dns__lower8(x);
			memcpy(lower + i, &x, 8);
		}
		if (i == n - 8)
			return;
	}
}

/*
 * Read the possibly compressed name at pkt[*pos].
 *
 * The bytes of the name in place must lie before `end` (the end of an RDATA, or len).
 * A compression pointer must point strictly before the name's own start and, for each
 * further pointer, strictly before the previous target, so targets decrease and cannot
 * loop; the hop count is capped too, so a hostile packet costs at most a few hundred steps
 * per name. After a jump, reading must also end before the pointer that jumped: the name
 * pointed to was complete before it, in any message a real compressor writes. Label types
 * other than plain lengths (0x40, 0x80: obsolete) fail.
 *
 * @param exact, lower   if not NULL, receive the uncompressed wire form (as found, and
 *                       lower-cased); each needs WARD_DNS_NAME_MAX bytes
 * @param labels         if not NULL, receives the label count (root excluded)
 * @param starts         if not NULL, a bitmap over the packet: the position of every label
 *                       of this name in place is marked, and every pointer must point at a
 *                       marked position, i.e. at a label of a name read earlier. This keeps
 *                       names from being spelled out of TTLs or other data that is later
 *                       rewritten or removed.
 * @return the uncompressed length (1..255) with *pos moved past the in-place part, or 0
 *         if the name is malformed (then *pos is unspecified).
 */
static inline size_t ward_dns__name_read(const uint8_t *pkt, size_t len, size_t *pos,
					 size_t end, uint8_t *exact, uint8_t *lower,
					 unsigned *labels, uint8_t *starts)
{
	size_t p = *pos, limit = *pos, seg = *pos, seg_n = 0, n = 0;
	unsigned hops = 0, nlabels = 0;
	bool jumped = false;

	if (end > len)
		end = len;
	for (;;) {
		if (p >= end)
			return 0;
		if (starts && !jumped)
			ward_dns__mark(starts, p);
		unsigned c = pkt[p];
		if (c == 0)
			break;
		if (c >= 0xC0) {
			if (end - p < 2)
				return 0;
			size_t target = (size_t)(c & 0x3F) << 8 | pkt[p + 1];
			if (target >= limit || ++hops > WARD_DNS_PTR_HOPS_MAX ||
			    (starts && !ward_dns__marked(starts, target)))
				return 0;
			ward_dns__copy_segment(pkt + seg, p - seg, exact ? exact + seg_n : NULL,
					       lower ? lower + seg_n : NULL);
			if (!jumped)
				*pos = p + 2;
			jumped = true;
			end = p;
			limit = seg = p = target;
			seg_n = n;
			continue;
		}
		/* c > 63: the obsolete extended and binary label types. */
		if (c > 63 || c >= end - p || n + c + 2 > WARD_DNS_NAME_MAX)
			return 0;
		n += c + 1;
		p += c + 1;
		nlabels++;
	}
	ward_dns__copy_segment(pkt + seg, p + 1 - seg, exact ? exact + seg_n : NULL,
			       lower ? lower + seg_n : NULL);
	if (!jumped)
		*pos = p + 1;
	if (labels)
		*labels = nlabels;
	return n + 1;
}

/* Length of an uncompressed wire name that ward itself produced (so it is valid). */
static inline size_t ward_dns__wire_len(const uint8_t *name)
{
	size_t n = 0;
	while (n < WARD_DNS_NAME_MAX && name[n] != 0)
		n += name[n] + 1u;
	return n + 1;
}

/* RFC 2181 section 8: a TTL with the top bit set means zero. */
static inline uint32_t ward_dns__ttl(uint32_t raw)
{
	return (raw & 0x80000000u) ? 0 : raw;
}

/* Truncate text to at most max bytes without cutting a UTF-8 sequence in two. */
size_t ward_dns__utf8_fit(const char *text, size_t text_len, size_t max);

/* Length of ede_text that will be used (capped at WARD_DNS_EDE_TEXT_MAX, UTF-8 safe). */
size_t ward_dns__ede_text_len(const char *text);

/*
 * Write an OPT record at p: our UDP size, version 0, the given extended rcode bits and DO
 * bit, and an EDE option when ede_code >= 0. The caller has checked the room:
 * WARD_DNS_OPT_FIXED + (ede_code >= 0 ? WARD_DNS_EDE_FIXED + text_len : 0).
 * @return bytes written
 */
size_t ward_dns__write_opt(uint8_t *p, unsigned ext_rcode, bool do_bit, int ede_code,
			   const char *text, size_t text_len);

/* The response flags word for an answer ward makes up itself: QR, RA, the client's
 * opcode, RD and CD, and the low four bits of rcode. */
uint16_t ward_dns__reply_flags(const struct ward_dns_query *q, unsigned rcode);

/*
 * Start an answer ward makes up: header (ARCOUNT 1 when the client has EDNS, so the caller
 * must end with ward_dns__finish_reply) and the question as the client asked it. The
 * caller has checked cap >= 12 + qname_len + 4. @return bytes written
 */
size_t ward_dns__write_reply_start(uint8_t *out, const struct ward_dns_query *q, unsigned rcode,
				   unsigned an, unsigned ns);

/*
 * Append the OPT record (extended rcode bits, DO echo, EDE with its text shortened to what
 * fits) when the client had EDNS. @return the total length, or 0 if even the OPT record
 * without text does not fit in cap.
 */
size_t ward_dns__finish_reply(uint8_t *out, size_t cap, size_t n, const struct ward_dns_query *q,
			      unsigned rcode, int ede_code, const char *ede_text);

#endif
