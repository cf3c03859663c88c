/*
 * DNS wire format: parsing client queries and upstream responses, writing answers.
 *
 * Everything here is bounded and allocation-free: it reads only inside [pkt, pkt+len),
 * writes only inside [out, out+cap), and follows compression pointers only backwards
 * (strictly to earlier offsets), so they can never loop or leave the packet.
 */
#ifndef WARD_DNS_H
#define WARD_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blocklists/dns_codes.h"
#include "blocklists/name.h" /* presentation <-> wire form: ward_name_to_text() */

#define WARD_DNS_HEADER_LEN 12
#define WARD_DNS_NAME_MAX 255     /* wire form, including the root label */
#define WARD_DNS_EDNS_SIZE 1232   /* what we advertise, and our UDP answer ceiling */
#define WARD_DNS_UDP_MIN 512
#define WARD_DNS_MSG_MAX 65535
#define WARD_DNS_MAX_TTLS 128     /* TTL fields tracked per cached message */
#define WARD_DNS_EDE_TEXT_MAX 255 /* EDE text bytes sent at most (cut at a UTF-8 boundary) */
#define WARD_DNS_CHAIN_MAX 32     /* CNAMEs ward_dns_foreach_chain_name() follows */

enum ward_dns_rcode {
	WARD_RCODE_NOERROR = 0,
	WARD_RCODE_FORMERR = 1,
	WARD_RCODE_SERVFAIL = 2,
	WARD_RCODE_NXDOMAIN = 3,
	WARD_RCODE_NOTIMP = 4,
	WARD_RCODE_REFUSED = 5,
	WARD_RCODE_BADVERS = 16, /* extended: upper 8 bits go in the OPT TTL */
};

enum ward_dns_type {
	WARD_TYPE_A = 1,
	WARD_TYPE_NS = 2,
	WARD_TYPE_CNAME = 5,
	WARD_TYPE_SOA = 6,
	WARD_TYPE_PTR = 12,
	WARD_TYPE_MX = 15,
	WARD_TYPE_TXT = 16,
	WARD_TYPE_AAAA = 28,
	WARD_TYPE_OPT = 41,
	WARD_TYPE_SVCB = 64,
	WARD_TYPE_HTTPS = 65,
	WARD_TYPE_ANY = 255,
};

#define WARD_CLASS_IN 1

#define WARD_EDNS_OPT_EDE 15
#define WARD_EDNS_OPT_MAC 65001 /* dnsmasq --add-mac / OpenWrt: 6 raw bytes */

/* What ward_dns_parse_query() decided. */
enum ward_dns_verdict {
	WARD_DNS_OK = 0,     /* a well-formed query: answer it */
	WARD_DNS_DROP,       /* unreadable header, or a response (QR=1): send nothing */
	WARD_DNS_FORMERR,    /* readable header, bad query: answer FORMERR */
	WARD_DNS_NOTIMP,     /* opcode other than QUERY */
	WARD_DNS_BADVERS,    /* EDNS version > 0 */
	WARD_DNS_REFUSED,    /* AXFR/IXFR: answer REFUSED, as Unbound does */
};

struct ward_dns_query {
	uint16_t id;
	uint16_t flags;              /* header flags word as received */
	uint8_t opcode;
	bool rd, cd;
	bool has_question;           /* qname/qtype/qclass valid (also on FORMERR/BADVERS) */
	uint8_t qname[WARD_DNS_NAME_MAX]; /* wire form exactly as asked (0x20 case kept) */
	uint8_t lname[WARD_DNS_NAME_MAX]; /* the same, lower-cased: cache/lookup key */
	uint16_t qname_len;          /* bytes in qname including the root label */
	uint8_t labels;              /* label count, root excluded */
	uint16_t qtype, qclass;
	bool edns;                   /* an OPT record was present */
	uint8_t edns_version;
	bool do_bit;
	uint16_t udp_size;           /* client's advertised size, raised to 512 */
	bool has_mac;
	uint8_t mac[6];              /* from EDNS option 65001 */
};

/*
 * Parse a query received from a client.
 * Sets q->id/flags/opcode/rd whenever the 12-byte header is readable, and the question
 * fields whenever the question is readable, so an error answer can echo them.
 * Verdicts, in the order they are decided (as Unbound's worker does):
 *   DROP     len < 12, or QR=1
 *   NOTIMP   opcode other than QUERY (the question is still read, to be echoed)
 *   FORMERR  QDCOUNT != 1, unreadable question (label > 63, name > 255, bad or forward
 *            compression pointer), ANCOUNT or NSCOUNT != 0, TC=1, a truncated record,
 *            more than one OPT, OPT not owned by the root, a bad EDNS option length (in a
 *            version 0 OPT; a later version is BADVERS whatever its options),
 *            bytes after the last record
 *   BADVERS  EDNS version > 0
 *   REFUSED  qtype AXFR or IXFR
 *   FORMERR  other meta qtypes (OPT, 128-250, MAILA, MAILB)
 * On FORMERR caused by the additional section, q->edns tells whether an OPT was seen.
 * @return enum ward_dns_verdict
 */
int ward_dns_parse_query(const uint8_t *pkt, size_t len, struct ward_dns_query *q);

/* The largest UDP answer this client may get: min(advertised, 1232), or 512 without EDNS. */
size_t ward_dns_udp_limit(const struct ward_dns_query *q);

/*
 * Write an answer with no records and the given rcode (FORMERR, NOTIMP, REFUSED,
 * SERVFAIL, BADVERS...), echoing the question when q->has_question. When the query had
 * EDNS, an OPT record is added, carrying the extended rcode and, when ede_code >= 0, an
 * Extended DNS Error with ede_text (may be NULL; at most WARD_DNS_EDE_TEXT_MAX bytes are
 * used, fewer if cap is tight). An extended rcode (> 15) without client EDNS cannot be
 * expressed and becomes SERVFAIL.
 * @return bytes written, 0 if cap is too small.
 */
size_t ward_dns_write_rcode(uint8_t *out, size_t cap, const struct ward_dns_query *q,
			    unsigned rcode, int ede_code, const char *ede_text);

/*
 * Write the query ward sends upstream for q: the given id, RD=1, CD as the client set
 * it, q->lname as the name, an OPT record advertising WARD_DNS_EDNS_SIZE and the
 * client's DO bit. @return bytes written, 0 if cap is too small.
 */
size_t ward_dns_write_upstream_query(uint8_t *out, size_t cap, const struct ward_dns_query *q,
				     uint16_t id);

/* Facts about an upstream response, gathered by ward_dns_parse_response(). */
struct ward_dns_response {
	uint16_t id;
	uint8_t rcode;               /* header rcode (the extended bits are not kept) */
	bool tc, aa, ra, ad;
	uint16_t ancount, nscount, arcount; /* counts in the stored form (OPT removed) */
	uint32_t min_ttl;            /* smallest TTL of all stored records; UINT32_MAX if none */
	bool negative;               /* NXDOMAIN, or NOERROR with no answer for qtype
					(and TC=0): no RR of qtype, nor a CNAME, for qname */
	uint32_t neg_ttl;            /* RFC 2308: min(SOA TTL, SOA MINIMUM); 0 = no SOA */
	uint16_t n_ttls;             /* TTL field offsets in the stored form */
	uint16_t ttl_off[WARD_DNS_MAX_TTLS];
	bool ttl_overflow;           /* more records than WARD_DNS_MAX_TTLS: do not cache */
	bool has_cname;              /* the answer section holds a CNAME: the chain needs
					checking against the asker's policy */
};

/*
 * Validate an upstream response against the query it answers and produce its stored
 * form: the same message without the OPT record (ARCOUNT adjusted), the rest byte for
 * byte, except that a TTL with the top bit set is stored as 0 (RFC 2181 8). Accepted only
 * if QR=1, opcode QUERY, id == expect_id, QDCOUNT == 1, and the question equals q's (name
 * case-insensitively, type, class). Every record is walked with bounds checks; names in
 * the RDATA of the RFC 1035 / RFC 3597 section 4 types are checked too. When the OPT
 * record is not the last one, later records move back and their compression pointers
 * are rewritten; one into the OPT record makes the response WARD_EFORMAT, and so does an
 * OPT carrying extended rcode bits.
 * A response with TC=1 that is malformed past its question is accepted as header +
 * question with no records (r->tc set): a truncated answer may stop mid-record.
 * @param out, cap   where the stored form goes (cap >= len suffices); must not overlap pkt
 * @return 0 and *out_len, or WARD_EFORMAT (malformed), WARD_EINVAL (not an answer to q:
 *         QR=0, opcode, id, QDCOUNT, question), WARD_ETOOBIG (cap too small).
 */
int ward_dns_parse_response(const uint8_t *pkt, size_t len, const struct ward_dns_query *q,
			    uint16_t expect_id, uint8_t *out, size_t cap, size_t *out_len,
			    struct ward_dns_response *r);

/* How to turn a stored message into the client's answer. */
struct ward_dns_answer_opts {
	uint32_t age_s;        /* seconds since it was stored: subtracted from each TTL */
	bool stale;            /* serve-stale (RFC 8767): every TTL becomes 30 */
	size_t max_size;       /* ward_dns_udp_limit() for UDP, WARD_DNS_MSG_MAX for TCP */
	int ede_code;          /* WARD_EDE_NONE or a code to attach (needs client EDNS) */
	const char *ede_text;  /* may be NULL */
};

/*
 * Write the client's answer from a stored message: the client's id, RD and question
 * bytes (so 0x20 case comes back as asked), TTLs counted down, and an OPT record when
 * the client sent one (our size, its DO bit, the EDE if any). Other header bits are the
 * upstream's, with RA=1. If the result exceeds opts->max_size (or cap) it becomes
 * header + question (+ OPT) with TC=1; the EDE text is shortened before that happens.
 * @return bytes written, 0 if cap is too small or the stored message is inconsistent
 *         (question not q's, a TTL offset outside the records).
 */
size_t ward_dns_write_answer(uint8_t *out, size_t cap, const uint8_t *msg, size_t msg_len,
			     const uint16_t *ttl_off, unsigned n_ttls,
			     const struct ward_dns_query *q, const struct ward_dns_answer_opts *opts);

/*
 * Answer a blocked query. mode is an enum ward_block_mode (blocklists/conf.h):
 *   0 sinkhole   A -> one A record ipv4, AAAA -> one AAAA record ipv6 (NULL means all
 *                zeros), any other qtype -> NODATA as below
 *   1 nxdomain   NXDOMAIN with a synthetic SOA in the authority section
 *   2 nodata     NOERROR, no answer, the synthetic SOA
 *   3 refused    ward_dns_write_rcode(REFUSED)
 * The SOA is owned by the query name: "ward.blocked. hostmaster.ward.blocked. 1 3600 600
 * 86400 ttl" with TTL ttl, so resolvers downstream cache the block for ttl (RFC 2308).
 * Answer records have TTL ttl (capped at 2^31-1). AA=0, RA=1, RD and CD echoed. When the
 * query had EDNS, an OPT record carries the EDE (ede_code >= 0) as in write_rcode.
 * cap is also the size limit of the answer (pass ward_dns_udp_limit() for UDP): the EDE
 * text is shortened to fit it, and when even the answer without text does not fit, the
 * answer is header + question (+ OPT with the bare EDE code) with TC=1.
 * @return bytes written, 0 if not even that fits, mode is unknown or q has no question.
 */
size_t ward_dns_write_block(uint8_t *out, size_t cap, const struct ward_dns_query *q, int mode,
			    const uint8_t ipv4[4], const uint8_t ipv6[16], uint32_t ttl,
			    int ede_code, const char *ede_text);

/*
 * Follow the CNAME chain in the answer section of a message (a stored form, or any
 * response), starting at its question name, and call fn with each CNAME target in chain
 * order, as a lower-cased uncompressed wire name valid only during the call. The question
 * name itself is not passed; DNAME records are skipped (their synthesized CNAMEs are in
 * the answer). Records may appear in any order.
 * @return 0 at the end of the chain, fn's value as soon as it returns non-zero,
 *         WARD_EFORMAT if the message is malformed, WARD_ETOOBIG if the chain goes on past
 *         WARD_DNS_CHAIN_MAX targets (which includes CNAME loops).
 */
int ward_dns_foreach_chain_name(const uint8_t *msg, size_t len,
				int (*fn)(void *ctx, const uint8_t *wire_lname), void *ctx);

#endif
