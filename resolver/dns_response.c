/*
 * Upstream responses: validation, the stored (cacheable) form, and the CNAME chain walk.
 *
 * An upstream answer is copied record by record into the stored form while it is checked,
 * so one pass does both. The OPT record is left out; records after it move back by its
 * length, and any compression pointer in them that points past it is moved back too.
 */
#include "resolver/dns.h"

#include <string.h>

#include "blocklists/error.h"
#include "resolver/dns_wire.h"

#define RDATA_NAMES_MAX 3

enum section { SEC_ANSWER, SEC_AUTHORITY, SEC_ADDITIONAL };

/* State of one pass over a response. */
struct walk {
	const uint8_t *pkt;
	size_t len;
	const struct ward_dns_query *q;
	struct ward_dns_response *r;
	uint8_t *starts;      /* label positions seen in place: see ward_dns__name_read() */
	uint8_t *out;
	size_t cap;
	size_t olen;          /* bytes of the stored form written so far */
	size_t opt_start;     /* where the OPT record was in pkt */
	size_t opt_len;       /* its length; 0 while none has been seen */
	bool have_opt;
	bool answered;        /* an answer RR for qname of qtype (or CNAME) was seen */
	bool have_soa;
};

/*
 * RDATA layouts of the types whose RDATA holds names that may be compressed (RFC 1035,
 * and those RFC 3597 section 4 says to decompress), plus A and AAAA to check their length.
 * 'N' name, 'C' character-string, digits and 'G'/'T' fixed byte counts. Other types are
 * opaque: by RFC 3597 they carry no compression pointers. A and AAAA are class-specific.
 */
static const char *rdata_layout(unsigned type, unsigned rclass)
{
	if ((type == WARD_TYPE_A || type == WARD_TYPE_AAAA) && rclass != WARD_CLASS_IN)
		return NULL;
	switch (type) {
	case WARD_TYPE_A: return "4";
	case WARD_TYPE_NS: case 3: case 4: case WARD_TYPE_CNAME: case 7: case 8: case 9:
	case WARD_TYPE_PTR: case 39: return "N";
	case WARD_TYPE_SOA: return "NNT";
	case 14: case 17: return "NN";               /* MINFO, RP */
	case WARD_TYPE_MX: case 18: case 21: case 36: return "2N"; /* MX AFSDB RT KX */
	case WARD_TYPE_AAAA: return "G";
	case 26: return "2NN";                       /* PX */
	case 33: return "6N";                        /* SRV */
	case 35: return "22CCCN";                    /* NAPTR */
	}
	return NULL;
}

/*
 * Check RDATA against its layout and note where its names start.
 * @return the number of names (0..RDATA_NAMES_MAX), or -1 if malformed.
 */
static int check_rdata(const struct walk *w, unsigned type, unsigned rclass, size_t rdata,
		       size_t rdend, size_t names[RDATA_NAMES_MAX])
{
	const char *f = rdata_layout(type, rclass);
	const uint8_t *pkt = w->pkt;
	int n = 0;
	size_t p = rdata;
	if (!f)
		return 0;
	for (; *f; f++) {
		size_t skip;
		switch (*f) {
		case 'N':
			names[n++] = p;
			if (!ward_dns__name_read(pkt, w->len, &p, rdend, NULL, NULL, NULL,
						 w->starts))
				return -1;
			continue;
		case 'C': skip = p < rdend ? 1u + pkt[p] : 1; break;
		case 'G': skip = 16; break;
		case 'T': skip = 20; break;
		default: skip = (size_t)(*f - '0'); break;
		}
		if (skip > rdend - p)
			return -1;
		p += skip;
	}
	return p == rdend ? n : -1;
}

/* Is the (validated) name at pkt[pos] equal to q's name, ignoring case? */
static bool is_qname(const uint8_t *pkt, size_t len, size_t pos, const struct ward_dns_query *q)
{
	/* The usual owner is a pointer to the question name, which has been compared. */
	if (pkt[pos] == 0xC0 && pkt[pos + 1] == WARD_DNS_HEADER_LEN)
		return true;
	uint8_t name[WARD_DNS_NAME_MAX];
	size_t n = ward_dns__name_read(pkt, len, &pos, len, NULL, name, NULL, NULL);
	return n == q->qname_len && memcmp(name, q->lname, n) == 0;
}

/*
 * A name in a record that now sits opt_len bytes earlier: move its pointer back if it
 * points past the OPT record, refuse it if it points into it (at its root owner), then
 * check that the stored form spells the same name. Pointers only reach labels of names
 * read in place, which were relocated when read, so the check is a second line of defence.
 */
static int relocate_name(struct walk *w, size_t npos, size_t out_end)
{
	const uint8_t *pkt = w->pkt;
	size_t p = npos;
	while (pkt[p] != 0 && pkt[p] < 0xC0)
		p += pkt[p] + 1u;
	if (pkt[p] >= 0xC0) {
		size_t t = (size_t)(pkt[p] & 0x3F) << 8 | pkt[p + 1];
		if (t >= w->opt_start + w->opt_len)
			t -= w->opt_len;
		else if (t >= w->opt_start)
			return WARD_EFORMAT;
		ward_dns__wr16(w->out + p - w->opt_len, (unsigned)(0xC000 | t));
	}
	uint8_t a[WARD_DNS_NAME_MAX], b[WARD_DNS_NAME_MAX];
	size_t pa = npos, pb = npos - w->opt_len;
	size_t la = ward_dns__name_read(pkt, w->len, &pa, w->len, a, NULL, NULL, NULL);
	size_t lb = ward_dns__name_read(w->out, out_end, &pb, out_end, b, NULL, NULL, NULL);
	if (lb == 0 || la != lb || memcmp(a, b, la) != 0)
		return WARD_EFORMAT;
	return 0;
}

static int take_opt(struct walk *w, size_t start, size_t end, size_t owner_len,
		    enum section sec)
{
	if (sec != SEC_ADDITIONAL || w->have_opt || owner_len != 1)
		return WARD_EFORMAT;
	/* Extended rcode bits: we sent version 0 and no cookie, so any is nonsense, and
	 * keeping the low bits alone (BADVERS reads as NOERROR) would cache a lie. */
	if (w->pkt[start + 5] != 0)
		return WARD_EFORMAT;
	w->have_opt = true;
	w->opt_start = start;
	w->opt_len = end - start;
	return 0;
}

/* TTL bookkeeping for a record just copied; ttl_at is the TTL's offset in out. */
static void note_ttl(struct walk *w, size_t ttl_at, uint32_t raw)
{
	uint32_t ttl = ward_dns__ttl(raw);
	struct ward_dns_response *r = w->r;
	if (ttl != raw)
		ward_dns__wr32(w->out + ttl_at, 0);
	if (ttl < r->min_ttl)
		r->min_ttl = ttl;
	if (r->n_ttls < WARD_DNS_MAX_TTLS)
		r->ttl_off[r->n_ttls++] = (uint16_t)ttl_at;
	else
		r->ttl_overflow = true;
}

/* What the negative-answer logic needs to know about one record. */
static void note_meaning(struct walk *w, size_t start, unsigned type, uint32_t raw_ttl,
			 size_t rdend, enum section sec)
{
	const struct ward_dns_query *q = w->q;
	if (sec == SEC_ANSWER && type == WARD_TYPE_CNAME)
		w->r->has_cname = true;
	if (sec == SEC_ANSWER && !w->answered &&
	    (type == q->qtype || type == WARD_TYPE_CNAME || q->qtype == WARD_TYPE_ANY))
		w->answered = is_qname(w->pkt, w->len, start, q);
	if (sec == SEC_AUTHORITY && type == WARD_TYPE_SOA && !w->have_soa) {
		/* RFC 2308 section 5: the lesser of the SOA's TTL and its MINIMUM field. */
		uint32_t ttl = ward_dns__ttl(raw_ttl);
		uint32_t min = ward_dns__ttl(ward_dns__rd32(w->pkt + rdend - 4));
		w->r->neg_ttl = ttl < min ? ttl : min;
		w->have_soa = true;
	}
}

static int walk_record(struct walk *w, size_t *pos, enum section sec)
{
	const uint8_t *pkt = w->pkt;
	size_t len = w->len, start = *pos;
	size_t owner_len = ward_dns__name_read(pkt, len, pos, len, NULL, NULL, NULL, w->starts);
	if (owner_len == 0 || len - *pos < WARD_DNS_RR_FIXED)
		return WARD_EFORMAT;
	size_t fixed = *pos, rdata = fixed + WARD_DNS_RR_FIXED;
	unsigned type = ward_dns__rd16(pkt + fixed);
	uint32_t raw_ttl = ward_dns__rd32(pkt + fixed + 4);
	size_t rdlen = ward_dns__rd16(pkt + fixed + 8);
	if (rdlen > len - rdata)
		return WARD_EFORMAT;
	size_t end = *pos = rdata + rdlen;
	if (type == WARD_TYPE_OPT)
		return take_opt(w, start, end, owner_len, sec);

	size_t names[RDATA_NAMES_MAX];
	unsigned rclass = ward_dns__rd16(pkt + fixed + 2);
	int n_names = check_rdata(w, type, rclass, rdata, end, names);
	if (n_names < 0)
		return WARD_EFORMAT;
	if (end - start > w->cap - w->olen)
		return WARD_ETOOBIG;
	memcpy(w->out + w->olen, pkt + start, end - start);
	if (w->have_opt) {
		int rc = relocate_name(w, start, w->olen + (end - start));
		for (int i = 0; rc == 0 && i < n_names; i++)
			rc = relocate_name(w, names[i], w->olen + (end - start));
		if (rc)
			return rc;
	}
	note_ttl(w, w->olen + (fixed + 4 - start), raw_ttl);
	note_meaning(w, start, type, raw_ttl, end, sec);
	w->olen += end - start;
	return 0;
}

static int walk_sections(struct walk *w, size_t *pos, const unsigned count[3])
{
	for (int sec = SEC_ANSWER; sec <= SEC_ADDITIONAL; sec++)
		for (unsigned i = 0; i < count[sec]; i++) {
			int rc = walk_record(w, pos, (enum section)sec);
			if (rc)
				return rc;
		}
	return *pos == w->len ? 0 : WARD_EFORMAT;
}

/*
 * The question must be ours, and written out in full: ward_dns_write_answer() puts the
 * client's spelling over exactly these bytes.
 */
static int check_question(const uint8_t *pkt, size_t len, size_t *pos,
			  const struct ward_dns_query *q, uint8_t *starts)
{
	uint8_t name[WARD_DNS_NAME_MAX];
	size_t n = ward_dns__name_read(pkt, len, pos, len, NULL, name, NULL, starts);
	if (n == 0 || len - *pos < 4)
		return WARD_EFORMAT;
	if (n != q->qname_len || memcmp(name, q->lname, n) != 0 ||
	    ward_dns__rd16(pkt + *pos) != q->qtype || ward_dns__rd16(pkt + *pos + 2) != q->qclass)
		return WARD_EINVAL;
	if (*pos != WARD_DNS_HEADER_LEN + n)
		return WARD_EFORMAT;
	*pos += 4;
	return 0;
}

static void response_reset(struct ward_dns_response *r)
{
	r->id = 0;
	r->rcode = 0;
	r->tc = r->aa = r->ra = r->ad = false;
	r->ancount = r->nscount = r->arcount = 0;
	r->min_ttl = UINT32_MAX;
	r->negative = false;
	r->neg_ttl = 0;
	r->n_ttls = 0;
	r->ttl_overflow = false;
	r->has_cname = false;
}

/*
 * A truncated UDP answer may legally stop in the middle of a record (RFC 1035 4.1.1,
 * RFC 2181 9). It will not be cached but may be relayed, so keep what is sound of it:
 * the header and question, with TC set and no records.
 */
static void keep_question_only(struct walk *w, size_t qend)
{
	for (int i = WARD_DNS_ANCOUNT; i <= WARD_DNS_ARCOUNT; i += 2)
		ward_dns__wr16(w->out + i, 0);
	w->olen = qend;
	response_reset(w->r);
	w->r->tc = true;
	w->have_opt = false;
	w->answered = false;
	w->have_soa = false;
}

static void fill_header(struct ward_dns_response *r, const uint8_t *pkt)
{
	unsigned flags = ward_dns__rd16(pkt + 2);
	r->id = ward_dns__rd16(pkt);
	r->rcode = (uint8_t)WARD_DNS_RCODE(flags);
	r->tc = (flags & WARD_DNS_F_TC) != 0;
	r->aa = (flags & WARD_DNS_F_AA) != 0;
	r->ra = (flags & WARD_DNS_F_RA) != 0;
	r->ad = (flags & WARD_DNS_F_AD) != 0;
}

int ward_dns_parse_response(const uint8_t *pkt, size_t len, const struct ward_dns_query *q,
			    uint16_t expect_id, uint8_t *out, size_t cap, size_t *out_len,
			    struct ward_dns_response *r)
{
	response_reset(r);
	*out_len = 0;
	if (!pkt || len < WARD_DNS_HEADER_LEN || len > WARD_DNS_MSG_MAX)
		return WARD_EFORMAT;
	unsigned flags = ward_dns__rd16(pkt + 2);
	if (!q->has_question || !(flags & WARD_DNS_F_QR) || WARD_DNS_OPCODE(flags) != 0 ||
	    ward_dns__rd16(pkt) != expect_id || ward_dns__rd16(pkt + WARD_DNS_QDCOUNT) != 1)
		return WARD_EINVAL;
	uint8_t starts[WARD_DNS_MSG_MAX / 8 + 1];
	memset(starts, 0, len / 8 + 1);
	size_t pos = WARD_DNS_HEADER_LEN;
	int rc = check_question(pkt, len, &pos, q, starts);
	if (rc)
		return rc;
	if (cap < pos)
		return WARD_ETOOBIG;
	fill_header(r, pkt);
	memcpy(out, pkt, pos);

	struct walk w = { .pkt = pkt, .len = len, .q = q, .r = r, .starts = starts, .out = out,
			  .cap = cap, .olen = pos };
	unsigned count[3] = { ward_dns__rd16(pkt + WARD_DNS_ANCOUNT),
			      ward_dns__rd16(pkt + WARD_DNS_NSCOUNT),
			      ward_dns__rd16(pkt + WARD_DNS_ARCOUNT) };
	size_t qend = pos;
	rc = walk_sections(&w, &pos, count);
	if (rc == WARD_EFORMAT && r->tc) {
		keep_question_only(&w, qend);
		count[0] = count[1] = count[2] = 0;
		fill_header(r, pkt);
		rc = 0;
	}
	if (rc) {
		response_reset(r);
		return rc;
	}
	if (w.have_opt)
		count[SEC_ADDITIONAL]--;
	ward_dns__wr16(out + WARD_DNS_ARCOUNT, count[SEC_ADDITIONAL]);
	r->ancount = (uint16_t)count[SEC_ANSWER];
	r->nscount = (uint16_t)count[SEC_AUTHORITY];
	r->arcount = (uint16_t)count[SEC_ADDITIONAL];
	/* A truncated NOERROR says nothing about whether an answer exists. */
	r->negative = r->rcode == WARD_RCODE_NXDOMAIN ||
		      (r->rcode == WARD_RCODE_NOERROR && !w.answered && !r->tc);
	*out_len = w.olen;
	return 0;
}

/*
 * Find, in the answer section, a CNAME owned by `owner` (lower-case wire) and put its
 * target, lower-cased, into target. Records from index `from` on are tried first, so an
 * answer that lists its chain in order costs one pass in all.
 * @return the index of the record found, WARD_ENOTFOUND, or WARD_EFORMAT if malformed.
 */
static int find_cname(const uint8_t *msg, size_t len, size_t an_pos, unsigned ancount,
		      unsigned from, const uint8_t *owner, uint8_t *target)
{
	for (int round = 0; round < 2; round++) {
		size_t pos = an_pos;
		for (unsigned i = 0; i < ancount; i++) {
			size_t start = pos;
			if (!ward_dns__name_read(msg, len, &pos, len, NULL, NULL, NULL, NULL) ||
			    len - pos < WARD_DNS_RR_FIXED)
				return WARD_EFORMAT;
			unsigned type = ward_dns__rd16(msg + pos);
			size_t rdata = pos + WARD_DNS_RR_FIXED;
			size_t rdend = rdata + ward_dns__rd16(msg + pos + 8);
			if (rdend > len)
				return WARD_EFORMAT;
			pos = rdend;
			if (type != WARD_TYPE_CNAME || (round == 0) != (i >= from))
				continue;
			uint8_t name[WARD_DNS_NAME_MAX];
			size_t n = ward_dns__name_read(msg, len, &start, len, NULL, name, NULL, NULL);
			if (n != ward_dns__wire_len(owner) || memcmp(name, owner, n) != 0)
				continue;
			if (!ward_dns__name_read(msg, len, &rdata, rdend, NULL, target, NULL, NULL))
				return WARD_EFORMAT;
			return (int)i;
		}
	}
	return WARD_ENOTFOUND;
}

int ward_dns_foreach_chain_name(const uint8_t *msg, size_t len,
				int (*fn)(void *ctx, const uint8_t *wire_lname), void *ctx)
{
	uint8_t names[2][WARD_DNS_NAME_MAX];
	size_t pos = WARD_DNS_HEADER_LEN;

	if (!msg || len < WARD_DNS_HEADER_LEN || len > WARD_DNS_MSG_MAX ||
	    ward_dns__rd16(msg + WARD_DNS_QDCOUNT) != 1)
		return WARD_EFORMAT;
	if (!ward_dns__name_read(msg, len, &pos, len, NULL, names[0], NULL, NULL) || len - pos < 4)
		return WARD_EFORMAT;
	pos += 4;
	unsigned ancount = ward_dns__rd16(msg + WARD_DNS_ANCOUNT);
	unsigned from = 0, cur = 0;
	for (unsigned step = 0;; step++) {
		int i = find_cname(msg, len, pos, ancount, from, names[cur], names[cur ^ 1]);
		if (i < 0)
			return i == WARD_ENOTFOUND ? 0 : i;
		/* Longer than any resolver follows (or a loop): the caller decides. */
		if (step == WARD_DNS_CHAIN_MAX)
			return WARD_ETOOBIG;
		cur ^= 1;
		int rc = fn(ctx, names[cur]);
		if (rc)
			return rc;
		from = (unsigned)i + 1;
	}
}
