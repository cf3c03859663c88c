/*
 * The safe-search rewrite (resolver/rewrite.c) as a table: a client's query, the stored
 * answer for the rewrite target (made from an upstream response by the same parser wardd
 * uses), and what the client must get, read back with ldns, an independent parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "resolver/dns.h"
#include "resolver/rewrite.h"

#define TARGET "forcesafesearch.google.com."

struct row {
	const char *what;
	const char *qname;         /* what the client asked (any case) */
	ldns_rr_type qtype;
	bool edns;
	const char *answers[3];    /* the target's answer section, NULL-terminated */
	ldns_pkt_rcode rcode;      /* the target's rcode */
	uint32_t age_s;
	bool stale;
	size_t max_size;
	/* expected */
	bool tc;
	size_t ancount;            /* CNAME included */
	uint32_t ttl;              /* of the copied records */
};

static const struct row table[] = {
	{"one address", "www.google.com", LDNS_RR_TYPE_A, false,
	 {TARGET " 300 IN A 216.239.38.120"}, LDNS_RCODE_NOERROR, 0, false, 512,
	 false, 2, 300},
	{"TTLs count down by the age", "www.google.com", LDNS_RR_TYPE_A, true,
	 {TARGET " 300 IN A 216.239.38.120"}, LDNS_RCODE_NOERROR, 100, false, 1232,
	 false, 2, 200},
	{"stale answers say 30", "www.google.com", LDNS_RR_TYPE_A, false,
	 {TARGET " 300 IN A 216.239.38.120"}, LDNS_RCODE_NOERROR, 1000, true, 512,
	 false, 2, 30},
	{"IPv6 and a chain", "WWW.Google.COM", LDNS_RR_TYPE_AAAA, false,
	 {TARGET " 60 IN CNAME safe.google.com.", "safe.google.com. 60 IN AAAA 2001:db8::1"},
	 LDNS_RCODE_NOERROR, 0, false, 512, false, 3, 60},
	{"the target's NXDOMAIN is the client's", "www.google.com", LDNS_RR_TYPE_A, false,
	 {NULL}, LDNS_RCODE_NXDOMAIN, 0, false, 512, false, 1, 0},
	{"too big for the client: TC", "www.google.com", LDNS_RR_TYPE_A, false,
	 {TARGET " 300 IN A 216.239.38.120", TARGET " 300 IN A 216.239.38.121"},
	 LDNS_RCODE_NOERROR, 0, false, 60, true, 0, 0},
};

static size_t wire_of(ldns_pkt *p, uint8_t *out, size_t cap)
{
	uint8_t *w = NULL;
	size_t n = 0;
	assert_int_equal(LDNS_STATUS_OK, ldns_pkt2wire(&w, p, &n));
	assert_true(n <= cap);
	memcpy(out, w, n);
	free(w);
	return n;
}

static ldns_pkt *query_pkt(const char *name, ldns_rr_type type, bool edns, uint16_t id)
{
	ldns_pkt *p = NULL;
	assert_int_equal(LDNS_STATUS_OK,
			 ldns_pkt_query_new_frm_str(&p, name, type, LDNS_RR_CLASS_IN, LDNS_RD));
	ldns_pkt_set_id(p, id);
	if (edns) {
		ldns_pkt_set_edns_udp_size(p, 1232);
		ldns_pkt_set_edns_data(p, ldns_rdf_new_frm_str(LDNS_RDF_TYPE_HEX, ""));
	}
	return p;
}

/* The stored form of the upstream's answer for the target (as the cache keeps it). */
static size_t stored_target(const struct row *r, uint8_t *out, size_t cap,
			    struct ward_dns_query *tq)
{
	uint8_t pkt[4096], qbuf[512];
	ldns_pkt *q = query_pkt(TARGET, r->qtype, false, 42);
	size_t qn = wire_of(q, qbuf, sizeof(qbuf));
	assert_int_equal(WARD_DNS_OK, ward_dns_parse_query(qbuf, qn, tq));
	ldns_pkt_set_qr(q, true);
	ldns_pkt_set_rcode(q, (uint8_t)r->rcode);
	for (int i = 0; i < 3 && r->answers[i]; i++) {
		ldns_rr *rr = NULL;
		assert_int_equal(LDNS_STATUS_OK, ldns_rr_new_frm_str(&rr, r->answers[i], 0, NULL,
								     NULL));
		ldns_pkt_push_rr(q, LDNS_SECTION_ANSWER, rr);
	}
	size_t n = wire_of(q, pkt, sizeof(pkt)), stored;
	ldns_pkt_free(q);
	struct ward_dns_response resp;
	assert_int_equal(0, ward_dns_parse_response(pkt, n, tq, 42, out, cap, &stored, &resp));
	return stored;
}

static void check_row(const struct row *r)
{
	uint8_t msg[4096], qbuf[512], out[4096], target[WARD_DNS_NAME_MAX];
	struct ward_dns_query q, tq;
	ldns_pkt *cq = query_pkt(r->qname, r->qtype, r->edns, 4711);
	size_t qn = wire_of(cq, qbuf, sizeof(qbuf));
	ldns_pkt_free(cq);
	assert_int_equal(WARD_DNS_OK, ward_dns_parse_query(qbuf, qn, &q));
	size_t len = stored_target(r, msg, sizeof(msg), &tq);
	assert_true(ward_name_from_text(TARGET, target, sizeof(target)) > 0);
	struct ward_rewrite_source src = {msg, len, r->age_s, r->stale};
	size_t n = ward_rewrite_cname_answer(out, sizeof(out), &q, target, 60, &src, r->max_size);
	assert_true(n > 0 && n <= r->max_size);
	ldns_pkt *a = NULL;
	assert_int_equal(LDNS_STATUS_OK, ldns_wire2pkt(&a, out, n));
	if (ldns_pkt_id(a) != 4711 || ldns_pkt_tc(a) != r->tc ||
	    ldns_pkt_ancount(a) != r->ancount || ldns_pkt_get_rcode(a) != r->rcode ||
	    (r->edns && !r->tc) != (ldns_pkt_edns(a) && !r->tc))
		fail_msg("%s: id %u tc %d ancount %u rcode %d edns %d", r->what, ldns_pkt_id(a),
			 ldns_pkt_tc(a), ldns_pkt_ancount(a), ldns_pkt_get_rcode(a),
			 ldns_pkt_edns(a));
	/* The question comes back as asked (0x20 case kept). */
	char *qtext = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(a), 0)));
	char want[300];
	snprintf(want, sizeof(want), "%s.", r->qname);
	assert_string_equal(want, qtext);
	free(qtext);
	ldns_rr_list *an = ldns_pkt_answer(a);
	for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		if (i == 0) {
			assert_int_equal(LDNS_RR_TYPE_CNAME, ldns_rr_get_type(rr));
			assert_int_equal(60, ldns_rr_ttl(rr));
			char *t = ldns_rdf2str(ldns_rr_rdf(rr, 0));
			assert_string_equal(TARGET, t);
			free(t);
		} else if (ldns_rr_ttl(rr) != r->ttl) {
			fail_msg("%s: record %zu has TTL %u, want %u", r->what, i, ldns_rr_ttl(rr),
				 r->ttl);
		}
	}
	ldns_pkt_free(a);
}

static void test_table(void **state)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		check_row(&table[i]);
}

/* A stored message that is not one (no question) gives no answer rather than junk. */
static void test_malformed_source(void **state)
{
	uint8_t out[512], target[WARD_DNS_NAME_MAX], qbuf[512];
	const uint8_t junk[WARD_DNS_HEADER_LEN] = {0, 1, 0x81, 0x80, 0, 0};
	struct ward_dns_query q;
	ldns_pkt *cq = query_pkt("www.google.com", LDNS_RR_TYPE_A, false, 1);
	size_t qn = wire_of(cq, qbuf, sizeof(qbuf));
	ldns_pkt_free(cq);
	assert_int_equal(WARD_DNS_OK, ward_dns_parse_query(qbuf, qn, &q));
	assert_true(ward_name_from_text(TARGET, target, sizeof(target)) > 0);
	struct ward_rewrite_source src = {junk, sizeof(junk), 0, false};
	assert_int_equal(0, ward_rewrite_cname_answer(out, sizeof(out), &q, target, 60, &src, 512));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_malformed_source),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
