/*
 * Answers to clients: from a stored upstream message (the cache-hit path, so it is one
 * copy plus a few patches), and the synthetic answers for blocked names.
 */
#include "resolver/dns.h"

#include <string.h>

#include "blocklists/dns_codes.h"
#include "blocklists/error.h"
#include "resolver/dns_wire.h"

_Static_assert(WARD_BLOCK_SINKHOLE == 0 && WARD_BLOCK_NXDOMAIN == 1 && WARD_BLOCK_NODATA == 2 &&
		       WARD_BLOCK_REFUSED == 3,
	       "ward_dns_write_block() documents these numbers");

/* The stored message must hold q's question, uncompressed, right after the header. */
static bool stored_question_matches(const uint8_t *msg, size_t msg_len,
				    const struct ward_dns_query *q)
{
	size_t qend = WARD_DNS_HEADER_LEN + q->qname_len + 4u;
	if (msg_len < qend || ward_dns__rd16(msg + WARD_DNS_QDCOUNT) != 1)
		return false;
	const uint8_t *name = msg + WARD_DNS_HEADER_LEN;
	if (!ward_dns__lower_equal(name, q->lname, q->qname_len))
		return false;
	return ward_dns__rd16(name + q->qname_len) == q->qtype &&
	       ward_dns__rd16(name + q->qname_len + 2) == q->qclass;
}

/* TTLs as the client should see them: aged, or 30 s when served stale (RFC 8767). */
static bool count_down_ttls(uint8_t *out, size_t len, size_t qend, const uint16_t *ttl_off,
			    unsigned n_ttls, const struct ward_dns_answer_opts *opts)
{
	for (unsigned i = 0; i < n_ttls; i++) {
		size_t off = ttl_off[i];
		if (off < qend || off > len - 4)
			return false;
		uint32_t ttl = ward_dns__ttl(ward_dns__rd32(out + off));
		if (opts->stale)
			ttl = 30;
		else
			ttl = ttl > opts->age_s ? ttl - opts->age_s : 0;
		ward_dns__wr32(out + off, ttl);
	}
	return true;
}

/* Header fields every answer from a stored message gets: the client's id and RD, RA. */
static void set_client_header(uint8_t *out, const uint8_t *msg, const struct ward_dns_query *q,
			      unsigned extra_flags)
{
	/* RD and CD are the client's (RFC 4035 3.2.2: upstreams need not echo CD); AA is
	 * cleared because a forwarded, counted-down answer is not authoritative. */
	unsigned flags = ward_dns__rd16(msg + 2) & ~(WARD_DNS_F_RD | WARD_DNS_F_CD | WARD_DNS_F_AA);
	flags |= (q->flags & (WARD_DNS_F_RD | WARD_DNS_F_CD)) | WARD_DNS_F_RA | extra_flags;
	ward_dns__wr16(out, q->id);
	ward_dns__wr16(out + 2, flags);
	ward_dns__copy_segment(q->qname, q->qname_len, out + WARD_DNS_HEADER_LEN, NULL);
}

/* What the OPT record we append will cost; text_len is the EDE text before fitting. */
struct opt_plan {
	int ede;
	const char *text;
	size_t text_len;
	size_t fixed; /* bytes of OPT without text: 0 when the client had no EDNS */
};

static void plan_opt(struct opt_plan *o, const struct ward_dns_query *q,
		     const struct ward_dns_answer_opts *opts)
{
	o->ede = q->edns && opts->ede_code >= 0 && opts->ede_code <= 0xFFFF ? opts->ede_code
									     : WARD_EDE_NONE;
	o->text = opts->ede_text;
	o->text_len = o->ede >= 0 ? ward_dns__ede_text_len(o->text) : 0;
	o->fixed = q->edns ? WARD_DNS_OPT_FIXED + (o->ede >= 0 ? WARD_DNS_EDE_FIXED : 0) : 0;
}

static size_t append_opt(uint8_t *out, size_t n, size_t room, const struct ward_dns_query *q,
			 const struct opt_plan *o)
{
	if (!q->edns)
		return n;
	unsigned ar = ward_dns__rd16(out + WARD_DNS_ARCOUNT);
	if (ar == 0xFFFF)
		return 0;
	ward_dns__wr16(out + WARD_DNS_ARCOUNT, ar + 1);
	size_t text_len = ward_dns__utf8_fit(o->text, o->text_len, room);
	return n + ward_dns__write_opt(out + n, 0, q->do_bit, o->ede, o->text, text_len);
}

/* Header + question (+ OPT), TC=1: "ask again over TCP". */
static size_t write_truncated(uint8_t *out, size_t cap, size_t limit, const uint8_t *msg,
			      const struct ward_dns_query *q, const struct opt_plan *o)
{
	size_t qend = WARD_DNS_HEADER_LEN + q->qname_len + 4u;
	size_t need = qend + o->fixed;
	if (need > cap)
		return 0;
	/* A max_size below even this is the caller's mistake: send the least we can. */
	size_t room = limit >= need ? limit - need : 0;
	memcpy(out, msg, qend);
	set_client_header(out, msg, q, WARD_DNS_F_TC);
	for (int i = WARD_DNS_ANCOUNT; i <= WARD_DNS_ARCOUNT; i += 2)
		ward_dns__wr16(out + i, 0);
	return append_opt(out, qend, room, q, o);
}

size_t ward_dns_write_answer(uint8_t *out, size_t cap, const uint8_t *msg, size_t msg_len,
			     const uint16_t *ttl_off, unsigned n_ttls,
			     const struct ward_dns_query *q, const struct ward_dns_answer_opts *opts)
{
	if (!q->has_question || msg_len > WARD_DNS_MSG_MAX ||
	    !stored_question_matches(msg, msg_len, q))
		return 0;
	struct opt_plan o;
	plan_opt(&o, q, opts);
	size_t limit = opts->max_size < cap ? opts->max_size : cap;
	if (msg_len + o.fixed > limit)
		return write_truncated(out, cap, limit, msg, q, &o);

	memcpy(out, msg, msg_len);
	set_client_header(out, msg, q, 0);
	size_t qend = WARD_DNS_HEADER_LEN + q->qname_len + 4u;
	if (!count_down_ttls(out, msg_len, qend, ttl_off, n_ttls, opts))
		return 0;
	return append_opt(out, msg_len, limit - msg_len - o.fixed, q, &o);
}

/* RFC 2181 section 8: TTLs are 31-bit. */
static uint32_t ttl31(uint32_t ttl)
{
	return ttl > 0x7FFFFFFFu ? 0x7FFFFFFFu : ttl;
}

/* Owner (a pointer to the question name), type, class, TTL, RDLENGTH. */
static size_t write_rr_head(uint8_t *p, const struct ward_dns_query *q, unsigned type,
			    uint32_t ttl, size_t rdlen)
{
	ward_dns__wr16(p, 0xC000 | WARD_DNS_HEADER_LEN);
	ward_dns__wr16(p + 2, type);
	ward_dns__wr16(p + 4, q->qclass);
	ward_dns__wr32(p + 6, ttl);
	ward_dns__wr16(p + 10, (unsigned)rdlen);
	return 12;
}

static const uint8_t soa_mname[] = "\004ward\007blocked";
static const uint8_t soa_rname[] = "\012hostmaster\004ward\007blocked";
#define SOA_RDLEN (sizeof(soa_mname) + sizeof(soa_rname) + 20)
#define SOA_RR_LEN (12 + SOA_RDLEN)

/*
 * The SOA that makes a synthetic negative answer cacheable for `ttl` (RFC 2308): owned by
 * the blocked name itself, as AdGuard Home does, so no real zone is claimed.
 */
static size_t write_soa(uint8_t *p, const struct ward_dns_query *q, uint32_t ttl)
{
	static const uint32_t timers[] = { 1, 3600, 600, 86400 };
	size_t n = write_rr_head(p, q, WARD_TYPE_SOA, ttl, SOA_RDLEN);
	memcpy(p + n, soa_mname, sizeof(soa_mname));
	n += sizeof(soa_mname);
	memcpy(p + n, soa_rname, sizeof(soa_rname));
	n += sizeof(soa_rname);
	for (int i = 0; i < 4; i++, n += 4)
		ward_dns__wr32(p + n, timers[i]);
	ward_dns__wr32(p + n, ttl);
	return n + 4;
}

/* A block answer that does not fit even without its EDE text: header + question (+ OPT
 * with the code), TC=1, so the client asks again over TCP instead of getting nothing. */
static size_t block_truncated(uint8_t *out, size_t cap, const struct ward_dns_query *q,
			      unsigned rcode, int ede_code)
{
	if (cap < WARD_DNS_HEADER_LEN + q->qname_len + 4u)
		return 0;
	size_t n = ward_dns__write_reply_start(out, q, rcode, 0, 0);
	ward_dns__wr16(out + 2, ward_dns__rd16(out + 2) | WARD_DNS_F_TC);
	return ward_dns__finish_reply(out, cap, n, q, rcode, ede_code, NULL);
}

size_t ward_dns_write_block(uint8_t *out, size_t cap, const struct ward_dns_query *q, int mode,
			    const uint8_t ipv4[4], const uint8_t ipv6[16], uint32_t ttl,
			    int ede_code, const char *ede_text)
{
	static const uint8_t zero[16];
	unsigned rcode = WARD_RCODE_NOERROR;
	const uint8_t *addr = NULL;
	size_t addr_len = 0;

	if (!q->has_question)
		return 0;
	switch ((enum ward_block_mode)mode) {
	case WARD_BLOCK_REFUSED:
		return ward_dns_write_rcode(out, cap, q, WARD_RCODE_REFUSED, ede_code, ede_text);
	case WARD_BLOCK_NXDOMAIN:
		rcode = WARD_RCODE_NXDOMAIN;
		break;
	case WARD_BLOCK_NODATA:
		break;
	case WARD_BLOCK_SINKHOLE:
		if (q->qtype == WARD_TYPE_A) {
			addr = ipv4 ? ipv4 : zero;
			addr_len = 4;
		} else if (q->qtype == WARD_TYPE_AAAA) {
			addr = ipv6 ? ipv6 : zero;
			addr_len = 16;
		}
		break;
	default:
		return 0;
	}
	ttl = ttl31(ttl);
	size_t rr_len = addr ? 12 + addr_len : SOA_RR_LEN;
	size_t need = WARD_DNS_HEADER_LEN + q->qname_len + 4u + rr_len +
		      (q->edns ? WARD_DNS_OPT_FIXED + (ede_code >= 0 ? WARD_DNS_EDE_FIXED : 0) : 0);
	if (cap < need)
		return block_truncated(out, cap, q, rcode, ede_code);
	size_t n = ward_dns__write_reply_start(out, q, rcode, addr ? 1 : 0, addr ? 0 : 1);
	if (addr) {
		n += write_rr_head(out + n, q, q->qtype, ttl, addr_len);
		memcpy(out + n, addr, addr_len);
		n += addr_len;
	} else {
		n += write_soa(out + n, q, ttl);
	}
	return ward_dns__finish_reply(out, cap, n, q, rcode, ede_code, ede_text);
}
