/*
 * Internal helpers shared by the resolver/dns_*.c files; not part of the public API.
 *
 * Offsets are size_t and every read is checked against an explicit end before it happens.
 * Names are parsed by one function, ward_dns__name_read(), which is where the rules about
 * compression pointers live.
 */
#ifndef WARD_DNS_WIRE_H
#define WARD_DNS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

static inline uint16_t ward_dns__rd16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t ward_dns__rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void ward_dns__wr16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void ward_dns__wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint8_t ward_dns__lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

/* Length of an uncompressed wire name that ward itself produced (so it is valid). */
static inline size_t ward_dns__wire_len(const uint8_t *name)
{
	size_t n = 0;
	while (name[n] != 0 && n < WARD_DNS_NAME_MAX)
		n += name[n] + 1u;
	return n + 1;
}

/* RFC 2181 section 8: a TTL with the top bit set means zero. */
static inline uint32_t ward_dns__ttl(uint32_t raw)
{
	return (raw & 0x80000000u) ? 0 : raw;
}

/*
 * Read the possibly compressed name at pkt[*pos].
 *
 * The bytes of the name in place must lie before `end` (the end of an RDATA, or len);
 * compression pointers may point anywhere in [0, len) that is strictly before the name's
 * own start and, for each further pointer, strictly before the previous target. Targets
 * therefore decrease, which rules out loops, and the hop count is capped as well, so a
 * hostile packet costs at most a few hundred steps per name.
 * Label types other than plain length bytes (0x40, 0x80: RFC 6891 obsoleted them) fail.
 *
 * @param exact, lower   if not NULL, receive the uncompressed wire form (as found, and
 *                       lower-cased); each needs WARD_DNS_NAME_MAX bytes
 * @param labels         if not NULL, receives the label count (root excluded)
 * @return the uncompressed length (1..255) with *pos moved past the in-place part, or 0
 *         if the name is malformed (then *pos is unspecified).
 */
size_t ward_dns__name_read(const uint8_t *pkt, size_t len, size_t *pos, size_t end,
			   uint8_t *exact, uint8_t *lower, unsigned *labels);

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
