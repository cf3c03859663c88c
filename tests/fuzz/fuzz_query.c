/*
 * Client queries: ward_dns_parse_query() on arbitrary bytes, then everything ward writes
 * for a query (error rcodes, block answers, the upstream query) read back by ward's own
 * parsers. A broken invariant aborts, so libFuzzer reports it as a crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blocklists/conf.h"
#include "resolver/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                            \
	do {                                                                                   \
		if (!(cond))                                                                   \
			abort();                                                               \
	} while (0)

static uint8_t out[WARD_DNS_MSG_MAX];
static uint8_t stored[WARD_DNS_MSG_MAX];
static uint8_t answer[WARD_DNS_MSG_MAX];

static void check_question(const struct ward_dns_query *q)
{
	if (!q->has_question)
		return;
	CHECK(q->qname_len >= 1 && q->qname_len <= WARD_DNS_NAME_MAX);
	CHECK(q->qname[q->qname_len - 1] == 0 && q->lname[q->qname_len - 1] == 0);
	size_t pos = 0;
	unsigned labels = 0;
	while (q->lname[pos] != 0) {
		CHECK(q->lname[pos] <= 63 && q->lname[pos] == q->qname[pos]);
		for (unsigned i = 1; i <= q->lname[pos]; i++) {
			uint8_t c = q->qname[pos + i];
			CHECK(q->lname[pos + i] == ((c >= 'A' && c <= 'Z') ? c + 32 : c));
		}
		pos += q->lname[pos] + 1u;
		labels++;
	}
	CHECK(pos + 1 == q->qname_len && labels == q->labels);
	char text[4 * WARD_DNS_NAME_MAX + 1];
	size_t n = ward_name_to_text(q->qname, text, sizeof(text));
	CHECK(n < sizeof(text) && strlen(text) == n);
	/* Presentation form goes back to the same wire name. */
	uint8_t wire[WARD_DNS_NAME_MAX];
	CHECK(ward_name_from_text(text, wire, sizeof(wire)) == q->qname_len);
	CHECK(memcmp(wire, q->qname, q->qname_len) == 0);
}

/* A reply ward wrote for q must be accepted as q's answer by ward's response parser. */
static void check_reply(const struct ward_dns_query *q, const uint8_t *msg, size_t n,
			size_t cap, unsigned want_rcode)
{
	CHECK(n <= cap);
	/* Extended rcodes are refused by the response parser on purpose (see its header). */
	if (n == 0 || !q->has_question || q->opcode != 0 || (want_rcode > 15 && q->edns))
		return;
	struct ward_dns_response r;
	size_t len;
	int rc = ward_dns_parse_response(msg, n, q, q->id, stored, sizeof(stored), &len, &r);
	CHECK(rc == 0);
	CHECK(r.rcode == (want_rcode & 0xF));
	CHECK(len <= n && r.arcount == 0);
}

static void check_blocks(const struct ward_dns_query *q, const char *ede_text)
{
	static const uint8_t v4[4] = { 0, 0, 0, 0 }, v6[16] = { 0 };
	for (int mode = WARD_BLOCK_SINKHOLE; mode <= WARD_BLOCK_REFUSED; mode++) {
		size_t n = ward_dns_write_block(out, sizeof(out), q, mode, v4, v6, 60,
						WARD_EDE_BLOCKED, ede_text);
		CHECK(n > 0 && n <= 12 + 259 + 71 + 17 + WARD_DNS_EDE_TEXT_MAX);
		static const unsigned rcodes[] = { 0, 3, 0, 5 };
		check_reply(q, out, n, sizeof(out), rcodes[mode]);

		struct ward_dns_response r;
		size_t len;
		CHECK(ward_dns_parse_response(out, n, q, q->id, stored, sizeof(stored), &len, &r) ==
		      0);
		bool addr = mode == WARD_BLOCK_SINKHOLE &&
			    (q->qtype == WARD_TYPE_A || q->qtype == WARD_TYPE_AAAA);
		if (mode != WARD_BLOCK_REFUSED) {
			CHECK(r.negative == !addr);
			CHECK(r.neg_ttl == (addr ? 0u : 60u));
			CHECK(r.min_ttl == 60);
		}
		/* And a cache hit served from it fits the client's UDP limit. */
		struct ward_dns_answer_opts o = { .age_s = 10, .max_size = ward_dns_udp_limit(q),
						  .ede_code = WARD_EDE_FILTERED, .ede_text = ede_text };
		size_t a = ward_dns_write_answer(answer, sizeof(answer), stored, len, r.ttl_off,
						 r.n_ttls, q, &o);
		CHECK(a > 0 && a <= o.max_size);
		check_reply(q, answer, a, sizeof(answer), rcodes[mode]);
	}
}

static void check_upstream(const struct ward_dns_query *q)
{
	size_t n = ward_dns_write_upstream_query(out, sizeof(out), q, 0x5A5A);
	CHECK(n == 12u + q->qname_len + 4 + 11);
	struct ward_dns_query back;
	CHECK(ward_dns_parse_query(out, n, &back) == WARD_DNS_OK);
	CHECK(back.id == 0x5A5A && back.rd && back.cd == q->cd && back.do_bit == q->do_bit);
	CHECK(back.qname_len == q->qname_len && memcmp(back.qname, q->lname, q->qname_len) == 0);
	CHECK(back.qtype == q->qtype && back.qclass == q->qclass && back.edns);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ward_dns_query q;
	int v = ward_dns_parse_query(data, size, &q);
	CHECK(v >= WARD_DNS_OK && v <= WARD_DNS_REFUSED);
	if (v == WARD_DNS_DROP)
		return 0;
	CHECK(size >= WARD_DNS_HEADER_LEN);
	check_question(&q);
	CHECK(ward_dns_udp_limit(&q) >= 512 && ward_dns_udp_limit(&q) <= 1232);

	/* The input's last bytes double as EDE text, and as a cap to squeeze the writers. */
	char ede_text[64];
	size_t tl = size < sizeof(ede_text) - 1 ? size : sizeof(ede_text) - 1;
	memcpy(ede_text, data + size - tl, tl);
	ede_text[tl] = 0;
	size_t small_cap = data[size - 1] + 12u;

	static const unsigned rcode_for[] = { WARD_RCODE_SERVFAIL, 0, WARD_RCODE_FORMERR,
					      WARD_RCODE_NOTIMP, WARD_RCODE_BADVERS,
					      WARD_RCODE_REFUSED };
	unsigned rcode = rcode_for[v];
	unsigned expect = rcode > 15 && !q.edns ? WARD_RCODE_SERVFAIL : rcode;
	size_t n = ward_dns_write_rcode(out, sizeof(out), &q, rcode, WARD_EDE_PROHIBITED, ede_text);
	CHECK(n >= WARD_DNS_HEADER_LEN);
	check_reply(&q, out, n, sizeof(out), expect);
	n = ward_dns_write_rcode(out, small_cap, &q, rcode, WARD_EDE_PROHIBITED, ede_text);
	check_reply(&q, out, n, small_cap, expect);
	if (v == WARD_DNS_BADVERS) {
		/* BADVERS must come with an OPT record of version 0 carrying the upper bits. */
		n = ward_dns_write_rcode(out, sizeof(out), &q, rcode, WARD_EDE_NONE, NULL);
		CHECK(n == 12u + (q.has_question ? q.qname_len + 4u : 0) + 11);
		CHECK(out[n - 6] == 1 && out[n - 5] == 0 && (out[3] & 0xF) == 0);
	}
	if (v != WARD_DNS_OK)
		return 0;
	check_blocks(&q, ede_text);
	check_upstream(&q);
	return 0;
}
