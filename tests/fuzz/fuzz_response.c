/*
 * Upstream responses: ward_dns_parse_response() on arbitrary bytes, then the stored form
 * is re-parsed (it must be a valid response to the same query, unchanged by a second
 * pass), answered from with ward_dns_write_answer() under varied options, and its CNAME
 * chain walked. A broken invariant aborts, so libFuzzer reports it as a crash.
 *
 * Input: 6 option bytes, then
 *   flags & 1 == 0: a response; the query is made from its own header and question, so
 *                   the fuzzer spends its time past the question check;
 *   flags & 1 == 1: a 2-byte query length, the query, then the response.
 * Option bytes: [0] flags (1 split, 2 client EDNS, 4 DO, 8 CD, 16 stale, 32 EDE),
 * [1..2] age, [3] max_size selector, [4] cap selector, [5] EDE text selector.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blocklists/error.h"
#include "resolver/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                            \
	do {                                                                                   \
		if (!(cond))                                                                   \
			abort();                                                               \
	} while (0)

static uint8_t qbuf[600];
static uint8_t stored[WARD_DNS_MSG_MAX];
static uint8_t stored2[WARD_DNS_MSG_MAX];
static uint8_t answer[WARD_DNS_MSG_MAX + 512];

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A query asking exactly the question at the start of resp (uncompressed names only). */
static int derive_query(const uint8_t *resp, size_t len, uint8_t flags,
			struct ward_dns_query *q)
{
	size_t i = 12;
	while (i < len && resp[i] != 0 && resp[i] <= 63)
		i += resp[i] + 1u;
	size_t qend = i + 5;
	if (i >= len || resp[i] != 0 || qend > len || qend - 12 > 259)
		return -1;
	size_t n = 0;
	memcpy(qbuf, resp, 2);
	qbuf[2] = (uint8_t)(0x01 | 0);
	qbuf[3] = (uint8_t)((flags & 8) ? 0x10 : 0);
	static const uint8_t counts[8] = { 0, 1, 0, 0, 0, 0, 0, 0 };
	memcpy(qbuf + 4, counts, 8);
	n = 12;
	memcpy(qbuf + n, resp + 12, qend - 12);
	n = qend;
	if (flags & 2) {
		static const uint8_t opt[11] = { 0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0 };
		memcpy(qbuf + n, opt, sizeof(opt));
		qbuf[n + 7] = (flags & 4) ? 0x80 : 0;
		qbuf[11] = 1;
		n += sizeof(opt);
	}
	return ward_dns_parse_query(qbuf, n, q) == WARD_DNS_OK ? 0 : -1;
}

static int chain_cb(void *ctx, const uint8_t *name)
{
	unsigned *count = ctx;
	size_t pos = 0;
	while (name[pos] != 0) {
		CHECK(name[pos] <= 63 && pos + name[pos] < WARD_DNS_NAME_MAX);
		for (unsigned i = 1; i <= name[pos]; i++)
			CHECK(!(name[pos + i] >= 'A' && name[pos + i] <= 'Z'));
		pos += name[pos] + 1u;
	}
	(*count)++;
	return 0;
}

/* Parsing the stored form again must change nothing. */
static void check_stored(const struct ward_dns_query *q, size_t len,
			 const struct ward_dns_response *r)
{
	size_t qend = 12u + q->qname_len + 4;
	CHECK(len >= qend && r->n_ttls <= WARD_DNS_MAX_TTLS);
	for (unsigned i = 0; i < r->n_ttls; i++) {
		CHECK(r->ttl_off[i] >= qend && r->ttl_off[i] + 4u <= len);
		CHECK(rd32(stored + r->ttl_off[i]) < 0x80000000u);
		CHECK(rd32(stored + r->ttl_off[i]) >= r->min_ttl);
	}
	struct ward_dns_response r2;
	size_t len2;
	uint16_t id = (uint16_t)(stored[0] << 8 | stored[1]);
	CHECK(ward_dns_parse_response(stored, len, q, id, stored2, sizeof(stored2), &len2, &r2) ==
	      0);
	CHECK(len2 == len && memcmp(stored, stored2, len) == 0);
	CHECK(r2.n_ttls == r->n_ttls && r2.arcount == r->arcount && r2.ancount == r->ancount);
	CHECK(memcmp(r2.ttl_off, r->ttl_off, r->n_ttls * sizeof(r->ttl_off[0])) == 0);
	CHECK(r2.min_ttl == r->min_ttl && r2.ttl_overflow == r->ttl_overflow);

	unsigned count = 0;
	int rc = ward_dns_foreach_chain_name(stored, len, chain_cb, &count);
	CHECK(rc == 0 || rc == WARD_ETOOBIG);
	CHECK(count <= WARD_DNS_CHAIN_MAX);
}

static void check_answer(const struct ward_dns_query *q, size_t len,
			 const struct ward_dns_response *r, const uint8_t *o)
{
	static const size_t sizes[] = { 512, 1232, WARD_DNS_MSG_MAX, 0 };
	static const char *const texts[] = { NULL, "", "adult", "caf\xc3\xa9 \xe2\x82\xac",
					     "\xff\xfe not utf-8" };
	struct ward_dns_answer_opts opts = {
		.age_s = (uint32_t)(o[1] << 8 | o[2]) * ((o[0] & 64) ? 65537u : 1u),
		.stale = (o[0] & 16) != 0,
		.max_size = sizes[o[3] & 3] ? sizes[o[3] & 3] : (size_t)(o[3] >> 2) * 8,
		.ede_code = (o[0] & 32) ? (o[5] & 1 ? WARD_EDE_STALE_ANSWER : 70000) : WARD_EDE_NONE,
		.ede_text = texts[o[5] % 5],
	};
	size_t cap = (o[4] & 1) ? sizeof(answer) : (size_t)o[4] * 4;
	size_t n = ward_dns_write_answer(answer, cap, stored, len, r->ttl_off, r->n_ttls, q, &opts);
	CHECK(n <= cap);
	if (cap == sizeof(answer) && opts.max_size >= 512)
		CHECK(n > 0);
	if (n == 0)
		return;
	size_t min_reply = 12u + q->qname_len + 4 + (q->edns ? 11 : 0);
	size_t limit = opts.max_size < cap ? opts.max_size : cap;
	CHECK(n <= limit || n <= min_reply + (opts.ede_code == WARD_EDE_STALE_ANSWER ? 6 : 0));

	struct ward_dns_response r2;
	size_t len2;
	CHECK(ward_dns_parse_response(answer, n, q, q->id, stored2, sizeof(stored2), &len2, &r2) ==
	      0);
	CHECK(r2.rcode == r->rcode);
	if (r2.n_ttls != r->n_ttls || (answer[2] & 0x02 && !(stored[2] & 0x02)))
		return; /* truncated */
	for (unsigned i = 0; i < r->n_ttls; i++) {
		uint32_t before = rd32(stored + r->ttl_off[i]);
		uint32_t after = rd32(stored2 + r2.ttl_off[i]);
		if (opts.stale)
			CHECK(after == 30);
		else
			CHECK(after == (before > opts.age_s ? before - opts.age_s : 0));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ward_dns_query q;
	if (size < 6)
		return 0;
	const uint8_t *o = data;
	const uint8_t *resp = data + 6;
	size_t len = size - 6;
	if (o[0] & 1) {
		if (len < 2)
			return 0;
		size_t qlen = (size_t)(resp[0] << 8 | resp[1]);
		if (qlen > len - 2)
			return 0;
		if (ward_dns_parse_query(resp + 2, qlen, &q) != WARD_DNS_OK)
			return 0;
		resp += 2 + qlen;
		len -= 2 + qlen;
	} else if (derive_query(resp, len, o[0], &q) != 0) {
		return 0;
	}

	/* An exact-size copy so that a read one past the response is caught. */
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		return 0;
	memcpy(copy, resp, len);
	uint16_t id = len >= 2 ? (uint16_t)(resp[0] << 8 | resp[1]) : 0;
	struct ward_dns_response r;
	size_t slen;
	int rc = ward_dns_parse_response(copy, len, &q, id, stored, sizeof(stored), &slen, &r);
	free(copy);
	CHECK(rc == 0 || rc == WARD_EFORMAT || rc == WARD_EINVAL);
	if (rc != 0)
		return 0;
	CHECK(slen <= len);
	check_stored(&q, slen, &r);
	check_answer(&q, slen, &r, o);
	return 0;
}
