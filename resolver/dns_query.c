/*
 * Client queries: parsing what arrives, and the answers that need no upstream (error
 * rcodes) plus the query ward itself sends upstream.
 *
 * Verdicts follow Unbound's worker_check_request() and worker_handle_request(): a
 * response (QR=1) or a packet shorter than a header is dropped without a word; an
 * unknown opcode is NOTIMP; a bad section count, the TC bit or a meta qtype is FORMERR;
 * AXFR/IXFR are REFUSED (on any transport: a caching forwarder serves no zone transfers).
 */
#include "resolver/dns.h"

#include <string.h>

#include "resolver/dns_wire.h"

static void query_reset(struct ward_dns_query *q)
{
	q->id = 0;
	q->flags = 0;
	q->opcode = 0;
	q->rd = q->cd = false;
	q->has_question = false;
	q->qname_len = 0;
	q->labels = 0;
	q->qtype = q->qclass = 0;
	q->edns = false;
	q->edns_version = 0;
	q->do_bit = false;
	q->udp_size = WARD_DNS_UDP_MIN;
	q->has_mac = false;
	memset(q->mac, 0, sizeof(q->mac));
}

static bool read_question(const uint8_t *pkt, size_t len, size_t *pos, struct ward_dns_query *q)
{
	unsigned labels;
	size_t n = ward_dns__name_read(pkt, len, pos, len, q->qname, q->lname, &labels, NULL);
	if (n == 0 || len - *pos < 4)
		return false;
	q->qname_len = (uint16_t)n;
	q->labels = (uint8_t)labels;
	q->qtype = ward_dns__rd16(pkt + *pos);
	q->qclass = ward_dns__rd16(pkt + *pos + 2);
	*pos += 4;
	q->has_question = true;
	return true;
}

/* Walk the OPT RDATA: every option must fit exactly; unknown ones are skipped. */
static bool read_opt_options(const uint8_t *p, size_t rdlen, struct ward_dns_query *q)
{
	size_t o = 0;
	while (rdlen - o >= 4) {
		unsigned code = ward_dns__rd16(p + o);
		size_t olen = ward_dns__rd16(p + o + 2);
		o += 4;
		if (olen > rdlen - o)
			return false;
		/* Other hardware address lengths are not a MAC we can match: ignore them. */
		if (code == WARD_EDNS_OPT_MAC && olen == sizeof(q->mac)) {
			memcpy(q->mac, p + o, sizeof(q->mac));
			q->has_mac = true;
		}
		o += olen;
	}
	return o == rdlen;
}

/*
 * The additional section of a query: at most one OPT, owned by the root; other records
 * (a TSIG, say) are walked over but not used.
 */
static int read_additional(const uint8_t *pkt, size_t len, size_t *pos, unsigned arcount,
			   struct ward_dns_query *q)
{
	bool seen_opt = false;
	for (unsigned i = 0; i < arcount; i++) {
		size_t owner = 1;
		/* The root (the OPT record's owner) is by far the usual case. */
		if (*pos < len && pkt[*pos] == 0)
			(*pos)++;
		else
			owner = ward_dns__name_read(pkt, len, pos, len, NULL, NULL, NULL, NULL);
		if (owner == 0 || len - *pos < WARD_DNS_RR_FIXED)
			return WARD_DNS_FORMERR;
		const uint8_t *rr = pkt + *pos;
		size_t rdlen = ward_dns__rd16(rr + 8);
		*pos += WARD_DNS_RR_FIXED;
		if (rdlen > len - *pos)
			return WARD_DNS_FORMERR;
		if (ward_dns__rd16(rr) == WARD_TYPE_OPT) {
			if (seen_opt || owner != 1)
				return WARD_DNS_FORMERR;
			seen_opt = true;
			q->edns = true;
			q->udp_size = ward_dns__rd16(rr + 2);
			if (q->udp_size < WARD_DNS_UDP_MIN)
				q->udp_size = WARD_DNS_UDP_MIN;
			q->edns_version = rr[5];
			q->do_bit = (rr[6] & 0x80) != 0;
			/* A later EDNS version may lay its options out differently: BADVERS,
			 * not FORMERR (RFC 6891 6.1.3). */
			if (q->edns_version == 0 &&
			    !read_opt_options(rr + WARD_DNS_RR_FIXED, rdlen, q))
				return WARD_DNS_FORMERR;
		}
		*pos += rdlen;
	}
	return WARD_DNS_OK;
}

/* RFC 6895 meta types that make no sense in a query, as Unbound rejects them. */
static bool is_meta_qtype(unsigned t)
{
	return t == WARD_TYPE_OPT || (t >= 128 && t <= 250) || t == 253 || t == 254;
}

int ward_dns_parse_query(const uint8_t *pkt, size_t len, struct ward_dns_query *q)
{
	query_reset(q);
	if (len < WARD_DNS_HEADER_LEN)
		return WARD_DNS_DROP;
	q->id = ward_dns__rd16(pkt);
	q->flags = ward_dns__rd16(pkt + 2);
	q->opcode = (uint8_t)WARD_DNS_OPCODE(q->flags);
	q->rd = (q->flags & WARD_DNS_F_RD) != 0;
	q->cd = (q->flags & WARD_DNS_F_CD) != 0;
	if (q->flags & WARD_DNS_F_QR)
		return WARD_DNS_DROP;

	size_t pos = WARD_DNS_HEADER_LEN;
	unsigned qd = ward_dns__rd16(pkt + WARD_DNS_QDCOUNT);
	if (q->opcode != 0) {
		/* Only so the NOTIMP answer can echo the question (or UPDATE's zone). */
		if (qd == 1 && !read_question(pkt, len, &pos, q))
			q->has_question = false;
		return WARD_DNS_NOTIMP;
	}
	if (qd != 1 || !read_question(pkt, len, &pos, q))
		return WARD_DNS_FORMERR;
	if (ward_dns__rd16(pkt + WARD_DNS_ANCOUNT) != 0 || ward_dns__rd16(pkt + WARD_DNS_NSCOUNT) != 0 ||
	    (q->flags & WARD_DNS_F_TC))
		return WARD_DNS_FORMERR;
	int v = read_additional(pkt, len, &pos, ward_dns__rd16(pkt + WARD_DNS_ARCOUNT), q);
	if (v != WARD_DNS_OK)
		return v;
	if (pos != len)
		return WARD_DNS_FORMERR;
	if (q->edns && q->edns_version > 0)
		return WARD_DNS_BADVERS;
	if (q->qtype == WARD_DNS_TYPE_AXFR || q->qtype == WARD_DNS_TYPE_IXFR)
		return WARD_DNS_REFUSED;
	if (is_meta_qtype(q->qtype))
		return WARD_DNS_FORMERR;
	return WARD_DNS_OK;
}

size_t ward_dns_udp_limit(const struct ward_dns_query *q)
{
	if (!q->edns || q->udp_size < WARD_DNS_UDP_MIN)
		return WARD_DNS_UDP_MIN;
	return q->udp_size < WARD_DNS_EDNS_SIZE ? q->udp_size : WARD_DNS_EDNS_SIZE;
}

/* The client's header with the given counts; QDCOUNT follows q->has_question. */
static size_t write_header(uint8_t *out, const struct ward_dns_query *q, uint16_t flags,
			   unsigned an, unsigned ns, unsigned ar)
{
	ward_dns__wr16(out, q->id);
	ward_dns__wr16(out + 2, flags);
	ward_dns__wr16(out + WARD_DNS_QDCOUNT, q->has_question ? 1 : 0);
	ward_dns__wr16(out + WARD_DNS_ANCOUNT, an);
	ward_dns__wr16(out + WARD_DNS_NSCOUNT, ns);
	ward_dns__wr16(out + WARD_DNS_ARCOUNT, ar);
	return WARD_DNS_HEADER_LEN;
}

static size_t write_question(uint8_t *p, const struct ward_dns_query *q, const uint8_t *name)
{
	memcpy(p, name, q->qname_len);
	ward_dns__wr16(p + q->qname_len, q->qtype);
	ward_dns__wr16(p + q->qname_len + 2, q->qclass);
	return q->qname_len + 4u;
}

size_t ward_dns__write_reply_start(uint8_t *out, const struct ward_dns_query *q, unsigned rcode,
				   unsigned an, unsigned ns)
{
	size_t n = write_header(out, q, ward_dns__reply_flags(q, rcode), an, ns, q->edns ? 1 : 0);
	if (q->has_question)
		n += write_question(out + n, q, q->qname);
	return n;
}

size_t ward_dns__finish_reply(uint8_t *out, size_t cap, size_t n, const struct ward_dns_query *q,
			      unsigned rcode, int ede_code, const char *ede_text)
{
	if (!q->edns)
		return n;
	if (ede_code > 0xFFFF)
		ede_code = WARD_EDE_NONE;
	size_t need = WARD_DNS_OPT_FIXED + (ede_code >= 0 ? WARD_DNS_EDE_FIXED : 0);
	if (cap < n || cap - n < need)
		return 0;
	/* The EDE text is the one part we can shorten when room is tight. */
	size_t text_len = ede_code >= 0 ? ward_dns__ede_text_len(ede_text) : 0;
	text_len = ward_dns__utf8_fit(ede_text, text_len, cap - n - need);
	return n + ward_dns__write_opt(out + n, rcode >> 4, q->do_bit, ede_code, ede_text, text_len);
}

size_t ward_dns_write_rcode(uint8_t *out, size_t cap, const struct ward_dns_query *q,
			    unsigned rcode, int ede_code, const char *ede_text)
{
	/* Without an OPT record an extended rcode cannot be said; SERVFAIL is the honest
	 * fallback for a caller that asked for one anyway. */
	if (rcode > 15 && !q->edns)
		rcode = WARD_RCODE_SERVFAIL;
	size_t base = WARD_DNS_HEADER_LEN + (q->has_question ? q->qname_len + 4u : 0);
	if (cap < base)
		return 0;
	size_t n = ward_dns__write_reply_start(out, q, rcode, 0, 0);
	return ward_dns__finish_reply(out, cap, n, q, rcode, ede_code, ede_text);
}

size_t ward_dns_write_upstream_query(uint8_t *out, size_t cap, const struct ward_dns_query *q,
				     uint16_t id)
{
	if (!q->has_question)
		return 0;
	size_t need = WARD_DNS_HEADER_LEN + q->qname_len + 4u + WARD_DNS_OPT_FIXED;
	if (cap < need)
		return 0;
	uint16_t flags = (uint16_t)(WARD_DNS_F_RD | (q->cd ? WARD_DNS_F_CD : 0));
	ward_dns__wr16(out, id);
	ward_dns__wr16(out + 2, flags);
	ward_dns__wr16(out + WARD_DNS_QDCOUNT, 1);
	ward_dns__wr16(out + WARD_DNS_ANCOUNT, 0);
	ward_dns__wr16(out + WARD_DNS_NSCOUNT, 0);
	ward_dns__wr16(out + WARD_DNS_ARCOUNT, 1);
	size_t n = WARD_DNS_HEADER_LEN + write_question(out + WARD_DNS_HEADER_LEN, q, q->lname);
	return n + ward_dns__write_opt(out + n, 0, q->do_bit, WARD_EDE_NONE, NULL, 0);
}
