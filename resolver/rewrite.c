#include "resolver/rewrite.h"

#include <string.h>

#include "resolver/dns_wire.h"

#define STALE_TTL 30

struct writer {
	uint8_t *out;
	size_t cap, len;
	bool overflow;
};

static void put(struct writer *wr, const void *data, size_t n)
{
	if (wr->overflow || wr->cap - wr->len < n) {
		wr->overflow = true;
		return;
	}
	memcpy(wr->out + wr->len, data, n);
	wr->len += n;
}

static void put16(struct writer *wr, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	put(wr, b, 2);
}

static void put32(struct writer *wr, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	put(wr, b, 4);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Expand a possibly compressed name at msg[*off] into out (>= 255 bytes), with the same
 * pointer rules as every other name ward reads. @return its wire length or 0. */
static size_t unpack_name(const uint8_t *msg, size_t len, size_t *off, uint8_t *out)
{
	return ward_dns__name_read(msg, len, off, len, out, NULL, NULL, NULL);
}

static uint32_t counted_down(uint32_t ttl, const struct ward_rewrite_source *src)
{
	if (src->stale)
		return STALE_TTL;
	return ttl > src->age_s ? ttl - src->age_s : 0;
}

/* Copy one answer record, expanded. @return 1 copied, 0 skipped, -1 malformed. */
static int copy_record(struct writer *wr, const struct ward_rewrite_source *src, size_t *off)
{
	uint8_t owner[WARD_DNS_NAME_MAX], target[WARD_DNS_NAME_MAX];
	size_t owner_len = unpack_name(src->msg, src->len, off, owner);
	if (!owner_len || *off + 10 > src->len)
		return -1;
	const uint8_t *fixed = src->msg + *off;
	uint16_t type = get16(fixed), rdlen = get16(fixed + 8);
	size_t rdata = *off + 10;
	*off = rdata + rdlen;
	if (*off > src->len)
		return -1;
	if (type != WARD_TYPE_A && type != WARD_TYPE_AAAA && type != WARD_TYPE_CNAME)
		return 0;
	put(wr, owner, owner_len);
	put(wr, fixed, 4);
	put32(wr, counted_down(get32(fixed + 4), src));
	if (type != WARD_TYPE_CNAME) {
		put16(wr, rdlen);
		put(wr, src->msg + rdata, rdlen);
		return 1;
	}
	size_t toff = rdata;
	size_t tlen = unpack_name(src->msg, src->len, &toff, target);
	if (!tlen || toff != rdata + rdlen)
		return -1;
	put16(wr, (uint16_t)tlen);
	put(wr, target, tlen);
	return 1;
}

static void put_opt(struct writer *wr, const struct ward_dns_query *q)
{
	if (!q->edns)
		return;
	put(wr, "\0", 1);
	put16(wr, WARD_TYPE_OPT);
	put16(wr, WARD_DNS_EDNS_SIZE);
	put32(wr, q->do_bit ? 0x8000u : 0);
	put16(wr, 0);
}

static void put_question(struct writer *wr, const struct ward_dns_query *q)
{
	put(wr, q->qname, q->qname_len);
	put16(wr, q->qtype);
	put16(wr, q->qclass);
}

static void put_header(struct writer *wr, const struct ward_dns_query *q, uint8_t rcode,
		       uint16_t ancount, bool tc)
{
	/* QR, RA; RD and CD are the client's (RFC 4035 3.2.2), as in every other answer. */
	uint16_t flags = 0x8000 | 0x0080 | (q->rd ? 0x0100 : 0) | (q->cd ? 0x0010 : 0) |
			 (tc ? 0x0200 : 0) | rcode;
	put16(wr, q->id);
	put16(wr, flags);
	put16(wr, 1);
	put16(wr, ancount);
	put16(wr, 0);
	put16(wr, q->edns ? 1 : 0);
}

static size_t truncated(uint8_t *out, size_t cap, const struct ward_dns_query *q, uint8_t rcode)
{
	struct writer wr = {out, cap, 0, false};
	put_header(&wr, q, rcode, 0, true);
	put_question(&wr, q);
	put_opt(&wr, q);
	return wr.overflow ? 0 : wr.len;
}

size_t ward_rewrite_cname_answer(uint8_t *out, size_t cap, const struct ward_dns_query *q,
				 const uint8_t *target_wire, uint32_t cname_ttl,
				 const struct ward_rewrite_source *src, size_t max_size)
{
	if (src->len < WARD_DNS_HEADER_LEN || get16(src->msg + 4) != 1)
		return 0;
	uint8_t rcode = src->msg[3] & 0x0F;
	uint16_t ancount = get16(src->msg + 6);
	size_t off = WARD_DNS_HEADER_LEN;
	uint8_t scratch[WARD_DNS_NAME_MAX];
	if (!unpack_name(src->msg, src->len, &off, scratch) || (off += 4) > src->len)
		return 0;
	size_t target_len = 0;
	while (target_len < WARD_DNS_NAME_MAX && target_wire[target_len])
		target_len += 1u + target_wire[target_len];
	target_len++;

	struct writer wr = {out, cap < max_size ? cap : max_size, 0, false};
	put_header(&wr, q, rcode, 0, false);
	put_question(&wr, q);
	put16(&wr, 0xC00C); /* the question's name */
	put16(&wr, WARD_TYPE_CNAME);
	put16(&wr, WARD_CLASS_IN);
	put32(&wr, cname_ttl);
	put16(&wr, (uint16_t)target_len);
	put(&wr, target_wire, target_len);
	uint16_t copied = 1;
	for (uint16_t i = 0; i < ancount; i++) {
		int rc = copy_record(&wr, src, &off);
		if (rc < 0)
			return 0;
		copied = (uint16_t)(copied + rc);
	}
	put_opt(&wr, q);
	if (wr.overflow)
		return truncated(out, cap, q, rcode);
	out[6] = (uint8_t)(copied >> 8);
	out[7] = (uint8_t)copied;
	return wr.len;
}
