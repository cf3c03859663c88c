/*
 * DNS wire format: queries as raw packets -> verdicts and fields; responses built here
 * byte by byte -> stored form, TTL offsets, negative answers; everything ward writes is
 * read back with ldns, an independent parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "blocklists/conf.h"
#include "blocklists/error.h"
#include "resolver/dns.h"

/* ---------------------------------------------------------------- helpers */

/*
 * Hex with spaces; a token "HH*N" is byte HH repeated N times, so long names stay short:
 * "3f 61*63 00" is one 63-byte label.
 */
static size_t hex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	while (*s) {
		if (*s == ' ') {
			s++;
			continue;
		}
		unsigned v;
		assert_int_equal(sscanf(s, "%2x", &v), 1);
		s += 2;
		unsigned rep = 1;
		if (*s == '*') {
			rep = (unsigned)strtoul(s + 1, (char **)&s, 10);
		}
		for (unsigned i = 0; i < rep; i++) {
			assert_true(n < cap);
			out[n++] = (uint8_t)v;
		}
	}
	return n;
}

/* A message under construction. */
struct msg {
	uint8_t b[65536];
	size_t n;
};

static void m_u8(struct msg *m, unsigned v)
{
	m->b[m->n++] = (uint8_t)v;
}

static void m_u16(struct msg *m, unsigned v)
{
	m_u8(m, v >> 8);
	m_u8(m, v & 0xFF);
}

static void m_u32(struct msg *m, uint32_t v)
{
	m_u16(m, v >> 16);
	m_u16(m, v & 0xFFFF);
}

static void m_raw(struct msg *m, const void *p, size_t n)
{
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

/* Uncompressed wire name from "a.b.c" (no escapes; "" or "." is the root). */
static size_t wire(const char *text, uint8_t *out)
{
	size_t n = 0;
	const char *s = text;
	while (*s && strcmp(s, ".") != 0) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);
		out[n++] = (uint8_t)l;
		memcpy(out + n, s, l);
		n += l;
		s += l + (dot ? 1 : 0);
	}
	out[n++] = 0;
	return n;
}

static void m_name(struct msg *m, const char *text)
{
	m->n += wire(text, m->b + m->n);
}

static void m_header(struct msg *m, unsigned id, unsigned flags, unsigned qd, unsigned an,
		     unsigned ns, unsigned ar)
{
	m->n = 0;
	m_u16(m, id);
	m_u16(m, flags);
	m_u16(m, qd);
	m_u16(m, an);
	m_u16(m, ns);
	m_u16(m, ar);
}

static void m_question(struct msg *m, const char *name, unsigned type)
{
	m_name(m, name);
	m_u16(m, type);
	m_u16(m, WARD_CLASS_IN);
}

/* Record header after an owner already written; returns the TTL's offset. */
static size_t m_rr_fixed(struct msg *m, unsigned type, uint32_t ttl, unsigned rdlen)
{
	m_u16(m, type);
	m_u16(m, WARD_CLASS_IN);
	size_t at = m->n;
	m_u32(m, ttl);
	m_u16(m, rdlen);
	return at;
}

/* Record owned by the question name (pointer 0xC00C). */
static size_t m_rr(struct msg *m, unsigned type, uint32_t ttl, const void *rdata, unsigned rdlen)
{
	m_u16(m, 0xC00C);
	size_t at = m_rr_fixed(m, type, ttl, rdlen);
	m_raw(m, rdata, rdlen);
	return at;
}

static void m_opt(struct msg *m, unsigned udp, unsigned ext, unsigned version, bool do_bit)
{
	m_u8(m, 0);
	m_u16(m, WARD_TYPE_OPT);
	m_u16(m, udp);
	m_u8(m, ext);
	m_u8(m, version);
	m_u16(m, do_bit ? 0x8000 : 0);
	m_u16(m, 0);
}

static void set_u16(struct msg *m, size_t at, unsigned v)
{
	m->b[at] = (uint8_t)(v >> 8);
	m->b[at + 1] = (uint8_t)v;
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static unsigned get_u16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* A query for name/type through ward's own parser (which the query tests cover). */
static void make_query(struct ward_dns_query *q, const char *name, unsigned type, bool edns,
		       bool do_bit)
{
	static struct msg m;
	m_header(&m, 0xBEEF, 0x0100, 1, 0, 0, edns ? 1 : 0);
	m_question(&m, name, type);
	if (edns)
		m_opt(&m, 4096, 0, 0, do_bit);
	assert_int_equal(ward_dns_parse_query(m.b, m.n, q), WARD_DNS_OK);
}

static ldns_pkt *ldns_parse(const uint8_t *b, size_t n)
{
	ldns_pkt *p = NULL;
	assert_int_equal(ldns_wire2pkt(&p, b, n), LDNS_STATUS_OK);
	assert_non_null(p);
	return p;
}

static char *owner_text(const ldns_rr *rr)
{
	return ldns_rdf2str(ldns_rr_owner(rr));
}

/* ---------------------------------------------------------------- queries */

#define HDR(flags, qd, an, ns, ar) "1234 " flags " " qd " " an " " ns " " ar " "
#define QWWW "03 777777 07 6578616d706c65 03 636f6d 00"
#define QA QWWW " 0001 0001"
#define OPT_DO_4096 "00 0029 1000 00 00 8000 0000"

struct query_case {
	const char *what;
	const char *hex;
	int verdict;
	bool has_question;
	unsigned qtype;
	unsigned qname_len;
	bool edns;
	bool do_bit;
	unsigned udp_size;
	bool has_mac;
	unsigned edns_version;
};

static const struct query_case query_cases[] = {
	{ "plain A", HDR("0100", "0001", "0000", "0000", "0000") QA,
	  WARD_DNS_OK, true, 1, 17, false, false, 512, false, 0 },
	{ "0x20 case", HDR("0100", "0001", "0000", "0000", "0000")
	  "03 577757 07 4578416d506c45 03 634f6d 00 0001 0001",
	  WARD_DNS_OK, true, 1, 17, false, false, 512, false, 0 },
	{ "EDNS with DO", HDR("0100", "0001", "0000", "0000", "0001") QA " " OPT_DO_4096,
	  WARD_DNS_OK, true, 1, 17, true, true, 4096, false, 0 },
	{ "udp size 100 is raised", HDR("0100", "0001", "0000", "0000", "0001") QA
	  " 00 0029 0064 00 00 0000 0000",
	  WARD_DNS_OK, true, 1, 17, true, false, 512, false, 0 },
	{ "MAC option", HDR("0100", "0001", "0000", "0000", "0001") QA
	  " 00 0029 04d0 00 00 0000 000a fde9 0006 0a1b2c3d4e5f",
	  WARD_DNS_OK, true, 1, 17, true, false, 1232, true, 0 },
	{ "MAC option of other length ignored", HDR("0100", "0001", "0000", "0000", "0001") QA
	  " 00 0029 04d0 00 00 0000 0008 fde9 0004 0a1b2c3d",
	  WARD_DNS_OK, true, 1, 17, true, false, 1232, false, 0 },
	{ "unknown option skipped", HDR("0100", "0001", "0000", "0000", "0001") QA
	  " 00 0029 04d0 00 00 0000 0016 000a 0008 0102030405060708 fde9 0006 0a1b2c3d4e5f",
	  WARD_DNS_OK, true, 1, 17, true, false, 1232, true, 0 },
	{ "truncated header", "1234 0100 0001 0000 0000 00",
	  WARD_DNS_DROP, false, 0, 0, false, false, 512, false, 0 },
	{ "empty", "", WARD_DNS_DROP, false, 0, 0, false, false, 512, false, 0 },
	{ "QR=1", HDR("8180", "0001", "0000", "0000", "0000") QA,
	  WARD_DNS_DROP, false, 0, 0, false, false, 512, false, 0 },
	{ "opcode IQUERY", HDR("0900", "0001", "0000", "0000", "0000") QA,
	  WARD_DNS_NOTIMP, true, 1, 17, false, false, 512, false, 0 },
	{ "opcode STATUS", HDR("1100", "0001", "0000", "0000", "0000") QA,
	  WARD_DNS_NOTIMP, true, 1, 17, false, false, 512, false, 0 },
	{ "opcode NOTIFY", HDR("2400", "0001", "0000", "0000", "0000") QWWW " 0006 0001",
	  WARD_DNS_NOTIMP, true, 6, 17, false, false, 512, false, 0 },
	{ "opcode UPDATE", HDR("2800", "0001", "0000", "0001", "0000") QWWW " 0006 0001"
	  " c00c 00ff 00ff 00000000 0000",
	  WARD_DNS_NOTIMP, true, 6, 17, false, false, 512, false, 0 },
	{ "opcode UPDATE without zone", HDR("2800", "0000", "0000", "0000", "0000"),
	  WARD_DNS_NOTIMP, false, 0, 0, false, false, 512, false, 0 },
	{ "QDCOUNT 0", HDR("0100", "0000", "0000", "0000", "0000"),
	  WARD_DNS_FORMERR, false, 0, 0, false, false, 512, false, 0 },
	{ "QDCOUNT 2", HDR("0100", "0002", "0000", "0000", "0000") QA " " QA,
	  WARD_DNS_FORMERR, false, 0, 0, false, false, 512, false, 0 },
	{ "ANCOUNT 1", HDR("0100", "0001", "0001", "0000", "0000") QA
	  " c00c 0001 0001 00000e10 0004 01020304",
	  WARD_DNS_FORMERR, true, 1, 17, false, false, 512, false, 0 },
	{ "NSCOUNT 1", HDR("0100", "0001", "0000", "0001", "0000") QA
	  " c00c 0001 0001 00000e10 0004 01020304",
	  WARD_DNS_FORMERR, true, 1, 17, false, false, 512, false, 0 },
	{ "TC=1", HDR("0300", "0001", "0000", "0000", "0000") QA,
	  WARD_DNS_FORMERR, true, 1, 17, false, false, 512, false, 0 },
	{ "label 63", HDR("0100", "0001", "0000", "0000", "0000") "3f 61*63 00 0001 0001",
	  WARD_DNS_OK, true, 1, 65, false, false, 512, false, 0 },
	{ "label 64", HDR("0100", "0001", "0000", "0000", "0000") "40 61*64 00 0001 0001",
	  WARD_DNS_FORMERR, false, 0, 0, false, false, 512, false, 0 },
	{ "extended label type 0x41", HDR("0100", "0001", "0000", "0000", "0000")
	  "41 01 00 0001 0001", WARD_DNS_FORMERR, false, 0, 0, false, false, 512, false, 0 },
	{ "name of 255", HDR("0100", "0001", "0000", "0000", "0000")
	  "3f 61*63 3f 61*63 3f 61*63 3d 61*61 00 0001 0001",
	  WARD_DNS_OK, true, 1, 255, false, false, 512, false, 0 },
	{ "name of 256", HDR("0100", "0001", "0000", "0000", "0000")
	  "3f 61*63 3f 61*63 3f 61*63 3e 61*62 00 0001 0001",
	  WARD_DNS_FORMERR, false, 0, 0, false, false, 512, false, 0 },
	{ "pointer to itself", HDR("0100", "0001", "0000", "0000", "0000") "c00c 0001 0001",
	  WARD_DNS_FORMERR, false, 0, 0, false, false, 512, false, 0 },
	{ "pointer loop to own start", HDR("0100", "0001", "0000", "0000", "0000")
	  "01 61 c00c 0001 0001", WARD_DNS_FORMERR, false, 0, 0, false, false, 512, false, 0 },
	{ "forward pointer", HDR("0100", "0001", "0000", "0000", "0000")
	  "01 61 c012 0001 0001 01 62 00", WARD_DNS_FORMERR, false, 0, 0, false, false, 512,
	  false, 0 },
	{ "pointer outside packet", HDR("0100", "0001", "0000", "0000", "0000")
	  "ffff 0001 0001", WARD_DNS_FORMERR, false, 0, 0, false, false, 512, false, 0 },
	{ "pointer cut in half", HDR("0100", "0001", "0000", "0000", "0000") "01 61 c0",
	  WARD_DNS_FORMERR, false, 0, 0, false, false, 512, false, 0 },
	/* id 0x0000: byte 0 is a root label, so a pointer to it is a (silly) valid name. */
	{ "backward pointer into header", "0000 0100 0001 0000 0000 0000 c000 0001 0001",
	  WARD_DNS_OK, true, 1, 1, false, false, 512, false, 0 },
	/* Pointer to ARCOUNT's low byte (1): a label whose content would be the pointer
	 * itself. Once jumped, reading must stop before the pointer that jumped. */
	{ "jumped name reads past its pointer", HDR("0100", "0001", "0000", "0000", "0001")
	  "c00b 0001 0001 00 0029 1000 00 00 0000 0000",
	  WARD_DNS_FORMERR, false, 0, 0, false, false, 512, false, 0 },
	{ "question cut short", HDR("0100", "0001", "0000", "0000", "0000") QWWW " 0001",
	  WARD_DNS_FORMERR, false, 0, 0, false, false, 512, false, 0 },
	{ "trailing garbage", HDR("0100", "0001", "0000", "0000", "0000") QA " 00",
	  WARD_DNS_FORMERR, true, 1, 17, false, false, 512, false, 0 },
	{ "two OPTs", HDR("0100", "0001", "0000", "0000", "0002") QA " " OPT_DO_4096 " "
	  OPT_DO_4096, WARD_DNS_FORMERR, true, 1, 17, true, true, 4096, false, 0 },
	{ "OPT not owned by root", HDR("0100", "0001", "0000", "0000", "0001") QA
	  " 01 61 00 0029 1000 00 00 8000 0000",
	  WARD_DNS_FORMERR, true, 1, 17, false, false, 512, false, 0 },
	{ "OPT RDATA past the end", HDR("0100", "0001", "0000", "0000", "0001") QA
	  " 00 0029 1000 00 00 8000 0010 000a 0008",
	  WARD_DNS_FORMERR, true, 1, 17, false, false, 512, false, 0 },
	{ "ARCOUNT larger than records", HDR("0100", "0001", "0000", "0000", "0002") QA " "
	  OPT_DO_4096, WARD_DNS_FORMERR, true, 1, 17, true, true, 4096, false, 0 },
	{ "option longer than RDATA", HDR("0100", "0001", "0000", "0000", "0001") QA
	  " 00 0029 1000 00 00 0000 0008 000a 0008 01020304",
	  WARD_DNS_FORMERR, true, 1, 17, true, false, 4096, false, 0 },
	{ "half an option header", HDR("0100", "0001", "0000", "0000", "0001") QA
	  " 00 0029 1000 00 00 0000 0002 000a",
	  WARD_DNS_FORMERR, true, 1, 17, true, false, 4096, false, 0 },
	{ "EDNS version 1", HDR("0100", "0001", "0000", "0000", "0001") QA
	  " 00 0029 1000 00 01 8000 0000",
	  WARD_DNS_BADVERS, true, 1, 17, true, true, 4096, false, 1 },
	{ "EDNS version 1, options not read", HDR("0100", "0001", "0000", "0000", "0001") QA
	  " 00 0029 1000 00 01 0000 0006 fde9 0006 0a1b",
	  WARD_DNS_BADVERS, true, 1, 17, true, false, 4096, false, 1 },
	{ "a TSIG-like record besides OPT", HDR("0100", "0001", "0000", "0000", "0002") QA " "
	  OPT_DO_4096 " 03 6b6579 00 00fa 00ff 00000000 0002 abcd",
	  WARD_DNS_OK, true, 1, 17, true, true, 4096, false, 0 },
	{ "AXFR", HDR("0000", "0001", "0000", "0000", "0000") QWWW " 00fc 0001",
	  WARD_DNS_REFUSED, true, 252, 17, false, false, 512, false, 0 },
	{ "IXFR", HDR("0000", "0001", "0000", "0000", "0000") QWWW " 00fb 0001",
	  WARD_DNS_REFUSED, true, 251, 17, false, false, 512, false, 0 },
	{ "qtype OPT", HDR("0100", "0001", "0000", "0000", "0000") QWWW " 0029 0001",
	  WARD_DNS_FORMERR, true, 41, 17, false, false, 512, false, 0 },
	{ "qtype TSIG", HDR("0100", "0001", "0000", "0000", "0000") QWWW " 00fa 0001",
	  WARD_DNS_FORMERR, true, 250, 17, false, false, 512, false, 0 },
	{ "qtype ANY is fine", HDR("0100", "0001", "0000", "0000", "0000") QWWW " 00ff 0001",
	  WARD_DNS_OK, true, 255, 17, false, false, 512, false, 0 },
	{ "qtype HTTPS", HDR("0100", "0001", "0000", "0000", "0000") QWWW " 0041 0001",
	  WARD_DNS_OK, true, 65, 17, false, false, 512, false, 0 },
};

static void test_query_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(query_cases) / sizeof(query_cases[0]); i++) {
		const struct query_case *c = &query_cases[i];
		uint8_t pkt[1024];
		size_t n = hex(c->hex, pkt, sizeof(pkt));
		/* An exact-size heap copy lets ASan see any read past the packet. */
		uint8_t *copy = malloc(n ? n : 1);
		memcpy(copy, pkt, n);
		struct ward_dns_query q;
		memset(&q, 0xA5, sizeof(q));
		int v = ward_dns_parse_query(copy, n, &q);
		free(copy);
		print_message("case: %s\n", c->what);
		assert_int_equal(v, c->verdict);
		assert_int_equal(q.has_question, c->has_question);
		if (c->has_question) {
			assert_int_equal(q.qtype, c->qtype);
			assert_int_equal(q.qclass, WARD_CLASS_IN);
			assert_int_equal(q.qname_len, c->qname_len);
		}
		assert_int_equal(q.edns, c->edns);
		assert_int_equal(q.do_bit, c->do_bit);
		assert_int_equal(q.udp_size, c->udp_size);
		assert_int_equal(q.has_mac, c->has_mac);
		assert_int_equal(q.edns_version, c->edns_version);
		if (n >= 12)
			assert_int_equal(q.id, get_u16(pkt));
	}
}

static void test_query_fields(void **state)
{
	(void)state;
	uint8_t pkt[512];
	struct ward_dns_query q;
	size_t n = hex(HDR("0110", "0001", "0000", "0000", "0001")
		       "03 577757 07 4578416d506c45 03 634f6d 00 001c 0001"
		       " 00 0029 04d0 00 00 8000 000a fde9 0006 0a1b2c3d4e5f",
		       pkt, sizeof(pkt));
	assert_int_equal(ward_dns_parse_query(pkt, n, &q), WARD_DNS_OK);
	assert_int_equal(q.id, 0x1234);
	assert_int_equal(q.flags, 0x0110);
	assert_int_equal(q.opcode, 0);
	assert_true(q.rd);
	assert_true(q.cd);
	assert_int_equal(q.labels, 3);
	assert_memory_equal(q.qname, "\003WwW\007ExAmPlE\003cOm", 17);
	assert_memory_equal(q.lname, "\003www\007example\003com", 17);
	assert_true(q.has_mac);
	assert_memory_equal(q.mac, "\x0a\x1b\x2c\x3d\x4e\x5f", 6);
	assert_int_equal(ward_dns_udp_limit(&q), 1232);

	n = hex(HDR("0100", "0001", "0000", "0000", "0000") QA, pkt, sizeof(pkt));
	assert_int_equal(ward_dns_parse_query(pkt, n, &q), WARD_DNS_OK);
	assert_int_equal(ward_dns_udp_limit(&q), 512);
	assert_false(q.cd);

	n = hex(HDR("0100", "0001", "0000", "0000", "0001") QA " 00 0029 0300 00 00 0000 0000",
		pkt, sizeof(pkt));
	assert_int_equal(ward_dns_parse_query(pkt, n, &q), WARD_DNS_OK);
	assert_int_equal(ward_dns_udp_limit(&q), 768);

	/* Root name: zero labels. */
	n = hex(HDR("0100", "0001", "0000", "0000", "0000") "00 0002 0001", pkt, sizeof(pkt));
	assert_int_equal(ward_dns_parse_query(pkt, n, &q), WARD_DNS_OK);
	assert_int_equal(q.labels, 0);
	assert_int_equal(q.qname_len, 1);
}

/* ---------------------------------------------------------------- rcode / upstream */

static void test_write_rcode_plain(void **state)
{
	(void)state;
	uint8_t pkt[512], out[512], want[512];
	struct ward_dns_query q;
	size_t n = hex(HDR("0110", "0001", "0000", "0000", "0000") "01 41 00 0001 0001 00",
		       pkt, sizeof(pkt));
	assert_int_equal(ward_dns_parse_query(pkt, n, &q), WARD_DNS_FORMERR);
	size_t w = ward_dns_write_rcode(out, sizeof(out), &q, WARD_RCODE_FORMERR, WARD_EDE_BLOCKED,
					"ignored without EDNS");
	/* QR RD RA CD, FORMERR; question echoed as asked; no OPT since the query had none. */
	size_t wn = hex("1234 8191 0001 0000 0000 0000 01 41 00 0001 0001", want, sizeof(want));
	assert_int_equal(w, wn);
	assert_memory_equal(out, want, wn);
	/* Too small for the question: nothing. */
	assert_int_equal(ward_dns_write_rcode(out, 12, &q, WARD_RCODE_FORMERR, -1, NULL), 0);

	/* No question: header only. */
	n = hex(HDR("0100", "0000", "0000", "0000", "0000"), pkt, sizeof(pkt));
	assert_int_equal(ward_dns_parse_query(pkt, n, &q), WARD_DNS_FORMERR);
	w = ward_dns_write_rcode(out, sizeof(out), &q, WARD_RCODE_FORMERR, -1, NULL);
	wn = hex("1234 8181 0000 0000 0000 0000", want, sizeof(want));
	assert_int_equal(w, wn);
	assert_memory_equal(out, want, wn);

	/* NOTIMP echoes the opcode. */
	n = hex(HDR("2900", "0001", "0000", "0000", "0000") "00 0006 0001", pkt, sizeof(pkt));
	assert_int_equal(ward_dns_parse_query(pkt, n, &q), WARD_DNS_NOTIMP);
	w = ward_dns_write_rcode(out, sizeof(out), &q, WARD_RCODE_NOTIMP, -1, NULL);
	wn = hex("1234 a984 0001 0000 0000 0000 00 0006 0001", want, sizeof(want));
	assert_int_equal(w, wn);
	assert_memory_equal(out, want, wn);
}

static void test_write_rcode_badvers(void **state)
{
	(void)state;
	uint8_t pkt[512], out[512], want[512];
	struct ward_dns_query q;
	size_t n = hex(HDR("0100", "0001", "0000", "0000", "0001") QA
		       " 00 0029 1000 00 01 8000 0000", pkt, sizeof(pkt));
	assert_int_equal(ward_dns_parse_query(pkt, n, &q), WARD_DNS_BADVERS);
	size_t w = ward_dns_write_rcode(out, sizeof(out), &q, WARD_RCODE_BADVERS, -1, NULL);
	/* Header rcode 0, OPT TTL: extended rcode 1 (16 >> 4), version 0, DO echoed. */
	size_t wn = hex("1234 8180 0001 0000 0000 0001 " QA " 00 0029 04d0 01 00 8000 0000", want,
			sizeof(want));
	assert_int_equal(w, wn);
	assert_memory_equal(out, want, wn);

	ldns_pkt *p = ldns_parse(out, w);
	assert_int_equal(ldns_pkt_edns_extended_rcode(p), 1);
	assert_int_equal(ldns_pkt_edns_version(p), 0);
	assert_int_equal(ldns_pkt_edns_udp_size(p), 1232);
	assert_true(ldns_pkt_edns_do(p));
	ldns_pkt_free(p);

	/* Without EDNS an extended rcode cannot be said. */
	n = hex(HDR("0100", "0001", "0000", "0000", "0000") QA, pkt, sizeof(pkt));
	assert_int_equal(ward_dns_parse_query(pkt, n, &q), WARD_DNS_OK);
	w = ward_dns_write_rcode(out, sizeof(out), &q, WARD_RCODE_BADVERS, -1, NULL);
	assert_int_equal(out[3] & 0xF, WARD_RCODE_SERVFAIL);
}

static void test_write_rcode_ede(void **state)
{
	(void)state;
	uint8_t pkt[512], out[600], want[600];
	struct ward_dns_query q;
	size_t n = hex(HDR("0100", "0001", "0000", "0000", "0001") QA
		       " 00 0029 1000 00 00 0000 0000", pkt, sizeof(pkt));
	assert_int_equal(ward_dns_parse_query(pkt, n, &q), WARD_DNS_OK);
	size_t w = ward_dns_write_rcode(out, sizeof(out), &q, WARD_RCODE_REFUSED, WARD_EDE_BLOCKED,
					"adult");
	/* OPT RDATA: option 15, length 2 + 5, INFO-CODE 15, "adult". */
	size_t wn = hex("1234 8185 0001 0000 0000 0001 " QA
			" 00 0029 04d0 00 00 0000 000b 000f 0007 000f 6164756c74",
			want, sizeof(want));
	assert_int_equal(w, wn);
	assert_memory_equal(out, want, wn);

	/* EDE without text. */
	w = ward_dns_write_rcode(out, sizeof(out), &q, WARD_RCODE_SERVFAIL,
				 WARD_EDE_NETWORK_ERROR, NULL);
	wn = hex("1234 8182 0001 0000 0000 0001 " QA " 00 0029 04d0 00 00 0000 0006 000f 0002 0017",
		 want, sizeof(want));
	assert_int_equal(w, wn);
	assert_memory_equal(out, want, wn);

	/* A tight cap shortens the text, never splitting a UTF-8 character ("é" is 2 bytes). */
	size_t base = 12 + 17 + 4 + 11 + 6;
	w = ward_dns_write_rcode(out, base + 2, &q, WARD_RCODE_REFUSED, WARD_EDE_FILTERED,
				 "a\xc3\xa9z");
	assert_int_equal(w, base + 1);
	assert_int_equal(out[w - 1], 'a');
	assert_int_equal(get_u16(out + base - 4), 3); /* option length: code + "a" */
	/* Room for nothing but the bare OPT record: fail rather than drop the OPT. */
	assert_int_equal(ward_dns_write_rcode(out, base - 1, &q, WARD_RCODE_REFUSED,
					      WARD_EDE_FILTERED, "x"),
			 0);

	/* Very long text is capped at WARD_DNS_EDE_TEXT_MAX. */
	char long_text[400];
	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = 0;
	w = ward_dns_write_rcode(out, sizeof(out), &q, WARD_RCODE_REFUSED, WARD_EDE_BLOCKED,
				 long_text);
	assert_int_equal(w, base + WARD_DNS_EDE_TEXT_MAX);
	ldns_pkt *p = ldns_parse(out, w);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED);
	assert_int_equal(ldns_rdf_size(ldns_pkt_edns_data(p)), 6 + WARD_DNS_EDE_TEXT_MAX);
	ldns_pkt_free(p);
}

static void test_write_upstream_query(void **state)
{
	(void)state;
	uint8_t pkt[512], out[512], want[512];
	struct ward_dns_query q, back;
	size_t n = hex(HDR("0010", "0001", "0000", "0000", "0001")
		       "03 577757 07 4578416d506c45 03 634f6d 00 0001 0001"
		       " 00 0029 1000 00 00 8000 000a fde9 0006 0a1b2c3d4e5f",
		       pkt, sizeof(pkt));
	assert_int_equal(ward_dns_parse_query(pkt, n, &q), WARD_DNS_OK);
	size_t w = ward_dns_write_upstream_query(out, sizeof(out), &q, 0x4242);
	/* RD=1 (though the client had 0), CD kept, lower-case name, OPT 1232 DO, no options. */
	size_t wn = hex("4242 0110 0001 0000 0000 0001 " QA " 00 0029 04d0 00 00 8000 0000", want,
			sizeof(want));
	assert_int_equal(w, wn);
	assert_memory_equal(out, want, wn);
	assert_int_equal(ward_dns_parse_query(out, w, &back), WARD_DNS_OK);
	assert_true(back.do_bit && back.rd && back.cd && !back.has_mac);
	assert_int_equal(ward_dns_write_upstream_query(out, w - 1, &q, 1), 0);

	make_query(&q, "example.org", WARD_TYPE_AAAA, false, false);
	w = ward_dns_write_upstream_query(out, sizeof(out), &q, 7);
	ldns_pkt *p = ldns_parse(out, w);
	assert_int_equal(ldns_pkt_id(p), 7);
	assert_true(ldns_pkt_rd(p));
	assert_false(ldns_pkt_cd(p));
	assert_false(ldns_pkt_edns_do(p));
	assert_int_equal(ldns_pkt_edns_udp_size(p), 1232);
	ldns_pkt_free(p);
}

/* ---------------------------------------------------------------- responses */

static struct msg resp;
static uint8_t stored[65536];
static uint8_t answer[65536];

static int parse_resp(const struct ward_dns_query *q, size_t *len, struct ward_dns_response *r)
{
	/* Exact-size copy so ASan catches reads past the end. */
	uint8_t *copy = malloc(resp.n);
	memcpy(copy, resp.b, resp.n);
	int rc = ward_dns_parse_response(copy, resp.n, q, 0x1111, stored, sizeof(stored), len, r);
	free(copy);
	return rc;
}

static const uint8_t addr1[4] = { 192, 0, 2, 1 };
static const uint8_t addr2[4] = { 192, 0, 2, 2 };

static void build_a_answer(const char *qname_text)
{
	m_header(&resp, 0x1111, 0x8180, 1, 2, 0, 1);
	m_question(&resp, qname_text, WARD_TYPE_A);
	m_rr(&resp, WARD_TYPE_A, 300, addr1, 4);
	m_rr(&resp, WARD_TYPE_A, 200, addr2, 4);
	m_opt(&resp, 1232, 0, 0, false);
}

static void test_response_basic(void **state)
{
	(void)state;
	struct ward_dns_query q;
	struct ward_dns_response r;
	size_t len;
	make_query(&q, "www.example.com", WARD_TYPE_A, true, false);
	build_a_answer("www.example.com");
	assert_int_equal(parse_resp(&q, &len, &r), 0);
	assert_int_equal(len, resp.n - 11);
	assert_int_equal(r.id, 0x1111);
	assert_int_equal(r.rcode, 0);
	assert_true(r.ra && !r.aa && !r.tc && !r.ad);
	assert_int_equal(r.ancount, 2);
	assert_int_equal(r.nscount, 0);
	assert_int_equal(r.arcount, 0);
	assert_int_equal(get_u16(stored + 10), 0);
	assert_int_equal(r.min_ttl, 200);
	assert_false(r.negative);
	assert_int_equal(r.neg_ttl, 0);
	assert_int_equal(r.n_ttls, 2);
	assert_false(r.ttl_overflow);
	assert_int_equal(get_u32(stored + r.ttl_off[0]), 300);
	assert_int_equal(get_u32(stored + r.ttl_off[1]), 200);
	assert_memory_equal(stored + 12, resp.b + 12, len - 12);
}

/* Answers that are not to our question: each row is the answer for `name`, with one
 * 16-bit field at `off` set to `val` when `patch`. */
static const struct {
	const char *what, *name;
	bool patch;
	size_t off;
	uint16_t val;
	int rc;
} mismatches[] = {
	{"another ID", "www.example.com", true, 0, 0x2222, WARD_EINVAL},
	{"another name", "www.example.net", false, 0, 0, WARD_EINVAL},
	{"a shorter name", "ww.example.com", false, 0, 0, WARD_EINVAL},
	{"another type", "www.example.com", true, 12 + 17, WARD_TYPE_AAAA, WARD_EINVAL},
	{"class CH", "www.example.com", true, 12 + 19, 3, WARD_EINVAL},
	{"QR=0", "www.example.com", true, 2, 0x0180, WARD_EINVAL},
	{"opcode 1", "www.example.com", true, 2, 0x8980, WARD_EINVAL},
	{"QDCOUNT 0", "www.example.com", true, 4, 0, WARD_EINVAL},
	{"QDCOUNT 2", "www.example.com", true, 4, 2, WARD_EINVAL},
	{"case does not matter", "WWW.Example.COM", false, 0, 0, 0},
};

static void test_response_mismatch(void **state)
{
	(void)state;
	struct ward_dns_query q;
	struct ward_dns_response r;
	size_t len;
	make_query(&q, "www.example.com", WARD_TYPE_A, false, false);
	for (size_t i = 0; i < sizeof(mismatches) / sizeof(mismatches[0]); i++) {
		build_a_answer(mismatches[i].name);
		if (mismatches[i].patch)
			set_u16(&resp, mismatches[i].off, mismatches[i].val);
		int rc = parse_resp(&q, &len, &r);
		if (rc != mismatches[i].rc)
			fail_msg("%s: got %d, want %d", mismatches[i].what, rc, mismatches[i].rc);
	}
	assert_int_equal(r.ancount, 2);
}

static void test_response_malformed(void **state)
{
	(void)state;
	struct ward_dns_query q;
	struct ward_dns_response r;
	size_t len;
	make_query(&q, "www.example.com", WARD_TYPE_A, false, false);

	/* ANCOUNT larger than the records present. */
	build_a_answer("www.example.com");
	set_u16(&resp, 6, 3);
	assert_int_equal(parse_resp(&q, &len, &r), WARD_EFORMAT);

	/* Trailing garbage. */
	build_a_answer("www.example.com");
	m_u8(&resp, 0);
	assert_int_equal(parse_resp(&q, &len, &r), WARD_EFORMAT);

	/* Last record cut short. */
	build_a_answer("www.example.com");
	resp.n -= 12;
	assert_int_equal(parse_resp(&q, &len, &r), WARD_EFORMAT);

	/* Forward pointer in an owner. */
	m_header(&resp, 0x1111, 0x8180, 1, 1, 0, 0);
	m_question(&resp, "www.example.com", WARD_TYPE_A);
	m_u16(&resp, 0xC000 | (unsigned)(resp.n + 12)); /* to its own RDATA */
	m_rr_fixed(&resp, WARD_TYPE_A, 1, 4);
	m_raw(&resp, addr1, 4);
	assert_int_equal(parse_resp(&q, &len, &r), WARD_EFORMAT);

	/* A with 5 bytes of RDATA. */
	m_header(&resp, 0x1111, 0x8180, 1, 1, 0, 0);
	m_question(&resp, "www.example.com", WARD_TYPE_A);
	m_rr(&resp, WARD_TYPE_A, 1, "\1\2\3\4\5", 5);
	assert_int_equal(parse_resp(&q, &len, &r), WARD_EFORMAT);

	/* CNAME whose target runs past its RDATA. */
	m_header(&resp, 0x1111, 0x8180, 1, 2, 0, 0);
	m_question(&resp, "www.example.com", WARD_TYPE_A);
	m_rr(&resp, WARD_TYPE_CNAME, 1, "\3abc", 4);
	m_rr(&resp, WARD_TYPE_A, 1, addr1, 4);
	assert_int_equal(parse_resp(&q, &len, &r), WARD_EFORMAT);

	/* CNAME with bytes after its target. */
	m_header(&resp, 0x1111, 0x8180, 1, 1, 0, 0);
	m_question(&resp, "www.example.com", WARD_TYPE_A);
	m_rr(&resp, WARD_TYPE_CNAME, 1, "\3abc\0\0", 6);
	assert_int_equal(parse_resp(&q, &len, &r), WARD_EFORMAT);

	/* OPT in the answer section. */
	m_header(&resp, 0x1111, 0x8180, 1, 1, 0, 0);
	m_question(&resp, "www.example.com", WARD_TYPE_A);
	m_opt(&resp, 1232, 0, 0, false);
	assert_int_equal(parse_resp(&q, &len, &r), WARD_EFORMAT);

	/* Two OPTs. */
	m_header(&resp, 0x1111, 0x8180, 1, 0, 0, 2);
	m_question(&resp, "www.example.com", WARD_TYPE_A);
	m_opt(&resp, 1232, 0, 0, false);
	m_opt(&resp, 1232, 0, 0, false);
	assert_int_equal(parse_resp(&q, &len, &r), WARD_EFORMAT);

	/* Extended rcode bits (BADVERS) would read as NOERROR/NODATA: refused. */
	m_header(&resp, 0x1111, 0x8180, 1, 0, 0, 1);
	m_question(&resp, "www.example.com", WARD_TYPE_A);
	m_opt(&resp, 1232, 1, 0, false);
	assert_int_equal(parse_resp(&q, &len, &r), WARD_EFORMAT);

	/* Pointers to a byte that does not start a label of an earlier name: into the middle
	 * of "www", to the TTL of the record before, to the header. */
	static const unsigned bad_targets[] = { 13, 12 + 17 + 4 + 6, 2 };
	for (size_t i = 0; i < 3; i++) {
		m_header(&resp, 0x1111, 0x8180, 1, 2, 0, 0);
		m_question(&resp, "www.example.com", WARD_TYPE_A);
		m_rr(&resp, WARD_TYPE_A, 0x00000001, addr1, 4);
		m_u16(&resp, 0xC000 | bad_targets[i]);
		m_rr_fixed(&resp, WARD_TYPE_A, 1, 4);
		m_raw(&resp, addr1, 4);
		assert_int_equal(parse_resp(&q, &len, &r), WARD_EFORMAT);
	}
	/* ...whereas a pointer to a label of the question ("example.com") is fine. */
	set_u16(&resp, 12 + 17 + 4 + 16, 0xC000 | 16);
	assert_int_equal(parse_resp(&q, &len, &r), 0);

	/* Question name compressed (to the id's high byte 0x00: the root): refused, since
	 * ward_dns_write_answer() overwrites the question bytes in place. */
	m_header(&resp, 0x0011, 0x8180, 1, 0, 0, 0);
	m_u16(&resp, 0xC000);
	m_u16(&resp, 1);
	m_u16(&resp, 1);
	struct ward_dns_query root;
	make_query(&root, ".", WARD_TYPE_A, false, false);
	assert_int_equal(ward_dns_parse_response(resp.b, resp.n, &root, 0x0011, stored,
						 sizeof(stored), &len, &r),
			 WARD_EFORMAT);

	/* A in another class (CHAOS: a name and an address) is not held to 4 bytes. */
	uint8_t qpkt[64];
	struct ward_dns_query ch;
	size_t qn = hex("0001 0000 0001 0000 0000 0000 04 6e616d65 00 0001 0003", qpkt, sizeof(qpkt));
	assert_int_equal(ward_dns_parse_query(qpkt, qn, &ch), WARD_DNS_OK);
	m_header(&resp, 0x1111, 0x8180, 1, 1, 0, 0);
	m_name(&resp, "name");
	m_u16(&resp, WARD_TYPE_A);
	m_u16(&resp, 3);
	m_u16(&resp, 0xC00C);
	m_u16(&resp, WARD_TYPE_A);
	m_u16(&resp, 3);
	m_u32(&resp, 0);
	m_u16(&resp, 5);
	m_raw(&resp, "\0\x01\x02\x03\x04", 5);
	assert_int_equal(parse_resp(&ch, &len, &r), 0);
	assert_false(r.negative);

	/* Short and empty. */
	resp.n = 11;
	assert_int_equal(parse_resp(&q, &len, &r), WARD_EFORMAT);
	/* cap smaller than needed */
	build_a_answer("www.example.com");
	assert_int_equal(ward_dns_parse_response(resp.b, resp.n, &q, 0x1111, stored, 40, &len, &r),
			 WARD_ETOOBIG);
}

/*
 * Owners that are each a pointer to the owner before them: legal up to the hop cap (a
 * name has at most 127 labels, so no real name needs more) and refused beyond it, so a
 * hostile packet cannot make a name cost more than a few hundred steps.
 */
static void test_response_pointer_chain(void **state)
{
	(void)state;
	struct ward_dns_query q;
	struct ward_dns_response r;
	size_t len;
	make_query(&q, "www.example.com", WARD_TYPE_A, false, false);
	const unsigned records[] = { 120, 200 };
	const int want[] = { 0, WARD_EFORMAT };
	for (int k = 0; k < 2; k++) {
		m_header(&resp, 0x1111, 0x8180, 1, records[k], 0, 0);
		m_question(&resp, "www.example.com", WARD_TYPE_A);
		size_t prev = 12;
		for (unsigned i = 0; i < records[k]; i++) {
			size_t here = resp.n;
			m_u16(&resp, 0xC000 | (unsigned)prev);
			m_rr_fixed(&resp, WARD_TYPE_A, 1, 4);
			m_raw(&resp, addr1, 4);
			prev = here;
		}
		assert_int_equal(parse_resp(&q, &len, &r), want[k]);
		if (want[k] == 0)
			assert_false(r.negative);
	}
}

static void test_response_ttl_msb(void **state)
{
	(void)state;
	struct ward_dns_query q;
	struct ward_dns_response r;
	size_t len;
	make_query(&q, "www.example.com", WARD_TYPE_A, false, false);
	m_header(&resp, 0x1111, 0x8180, 1, 2, 0, 0);
	m_question(&resp, "www.example.com", WARD_TYPE_A);
	m_rr(&resp, WARD_TYPE_A, 0x80000010u, addr1, 4);
	m_rr(&resp, WARD_TYPE_A, 100, addr2, 4);
	assert_int_equal(parse_resp(&q, &len, &r), 0);
	assert_int_equal(r.min_ttl, 0);
	assert_int_equal(get_u32(stored + r.ttl_off[0]), 0);
	assert_int_equal(get_u32(stored + r.ttl_off[1]), 100);
}

static void test_response_negative(void **state)
{
	(void)state;
	struct ward_dns_query q;
	struct ward_dns_response r;
	size_t len;
	uint8_t soa[128];
	size_t sn = wire("ns.example.com", soa);
	sn += wire("admin.example.com", soa + sn);
	static const uint8_t timers[20] = { 0, 0, 0, 1, 0, 0, 0x0e, 0x10, 0, 0, 0x02, 0x58,
					    0, 1, 0x51, 0x80, 0, 0, 0, 60 };
	memcpy(soa + sn, timers, 20);
	sn += 20;
	make_query(&q, "nope.example.com", WARD_TYPE_A, false, false);

	/* NXDOMAIN: SOA TTL 300, MINIMUM 60 -> 60. */
	m_header(&resp, 0x1111, 0x8183, 1, 0, 1, 0);
	m_question(&resp, "nope.example.com", WARD_TYPE_A);
	m_rr(&resp, WARD_TYPE_SOA, 300, soa, (unsigned)sn);
	assert_int_equal(parse_resp(&q, &len, &r), 0);
	assert_true(r.negative);
	assert_int_equal(r.rcode, WARD_RCODE_NXDOMAIN);
	assert_int_equal(r.neg_ttl, 60);
	assert_int_equal(r.nscount, 1);
	assert_int_equal(r.min_ttl, 300);
	assert_int_equal(r.n_ttls, 1);

	/* NODATA: SOA TTL 30 < MINIMUM 60 -> 30. */
	m_header(&resp, 0x1111, 0x8180, 1, 0, 1, 0);
	m_question(&resp, "nope.example.com", WARD_TYPE_A);
	m_rr(&resp, WARD_TYPE_SOA, 30, soa, (unsigned)sn);
	assert_int_equal(parse_resp(&q, &len, &r), 0);
	assert_true(r.negative);
	assert_int_equal(r.neg_ttl, 30);

	/* NODATA without SOA. */
	m_header(&resp, 0x1111, 0x8180, 1, 0, 0, 0);
	m_question(&resp, "nope.example.com", WARD_TYPE_A);
	assert_int_equal(parse_resp(&q, &len, &r), 0);
	assert_true(r.negative);
	assert_int_equal(r.neg_ttl, 0);
	assert_int_equal(r.min_ttl, UINT32_MAX);

	/* An answer of another type for qname (AAAA for an A query) is still NODATA. */
	m_header(&resp, 0x1111, 0x8180, 1, 1, 0, 0);
	m_question(&resp, "nope.example.com", WARD_TYPE_A);
	m_rr(&resp, WARD_TYPE_AAAA, 30, "0123456789abcdef", 16);
	assert_int_equal(parse_resp(&q, &len, &r), 0);
	assert_true(r.negative);

	/* An A record for another owner is not an answer either. */
	m_header(&resp, 0x1111, 0x8180, 1, 1, 0, 0);
	m_question(&resp, "nope.example.com", WARD_TYPE_A);
	m_name(&resp, "other.example.com");
	m_rr_fixed(&resp, WARD_TYPE_A, 30, 4);
	m_raw(&resp, addr1, 4);
	assert_int_equal(parse_resp(&q, &len, &r), 0);
	assert_true(r.negative);

	/* A CNAME for qname is (uncompressed owner, other case). */
	m_header(&resp, 0x1111, 0x8180, 1, 1, 0, 0);
	m_question(&resp, "nope.example.com", WARD_TYPE_A);
	m_name(&resp, "NOPE.example.COM");
	m_rr_fixed(&resp, WARD_TYPE_CNAME, 30, 4);
	m_raw(&resp, "\1x\xc0\x11", 4);
	assert_int_equal(parse_resp(&q, &len, &r), 0);
	assert_false(r.negative);

	/* SERVFAIL is not a negative answer. */
	m_header(&resp, 0x1111, 0x8182, 1, 0, 0, 0);
	m_question(&resp, "nope.example.com", WARD_TYPE_A);
	assert_int_equal(parse_resp(&q, &len, &r), 0);
	assert_false(r.negative);
	assert_int_equal(r.rcode, WARD_RCODE_SERVFAIL);
}

/*
 * OPT in the middle of the additional section: the records after it move back by 11
 * bytes and a pointer to a name after the OPT must be moved with them. ldns checks
 * the stored form independently.
 */
static void test_response_opt_in_middle(void **state)
{
	(void)state;
	struct ward_dns_query q;
	struct ward_dns_response r;
	size_t len;
	make_query(&q, "example.com", WARD_TYPE_NS, false, false);
	m_header(&resp, 0x1111, 0x8180, 1, 1, 0, 3);
	m_question(&resp, "example.com", WARD_TYPE_NS);
	size_t ttl_ns = m_rr(&resp, WARD_TYPE_NS, 3600, "\3ns1\xc0\x0c", 6);
	m_opt(&resp, 1232, 0, 0, true);
	size_t a_owner = resp.n;
	m_raw(&resp, "\3ns2\xc0\x0c", 6); /* ns2.example.com, after the OPT */
	size_t ttl_a = m_rr_fixed(&resp, WARD_TYPE_A, 50, 4);
	m_raw(&resp, addr1, 4);
	m_u16(&resp, 0xC000 | (unsigned)a_owner); /* points past the OPT: must move */
	size_t ttl_aaaa = m_rr_fixed(&resp, WARD_TYPE_AAAA, 70, 16);
	m_raw(&resp, "0123456789abcdef", 16);

	assert_int_equal(parse_resp(&q, &len, &r), 0);
	assert_int_equal(len, resp.n - 11);
	assert_int_equal(r.arcount, 2);
	assert_int_equal(r.n_ttls, 3);
	assert_int_equal(r.ttl_off[0], ttl_ns);
	assert_int_equal(r.ttl_off[1], ttl_a - 11);
	assert_int_equal(r.ttl_off[2], ttl_aaaa - 11);
	assert_int_equal(r.min_ttl, 50);
	assert_false(r.negative);

	ldns_pkt *p = ldns_parse(stored, len);
	assert_false(ldns_pkt_edns(p));
	ldns_rr_list *ad = ldns_pkt_additional(p);
	assert_int_equal(ldns_rr_list_rr_count(ad), 2);
	for (size_t i = 0; i < 2; i++) {
		char *o = owner_text(ldns_rr_list_rr(ad, i));
		assert_string_equal(o, "ns2.example.com.");
		free(o);
	}
	assert_int_equal(ldns_rr_get_type(ldns_rr_list_rr(ad, 1)), LDNS_RR_TYPE_AAAA);
	assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ad, 1)), 70);
	ldns_pkt_free(p);

	/* A pointer into the removed OPT record (its root owner byte) is refused. */
	m_header(&resp, 0x1111, 0x8180, 1, 0, 0, 2);
	m_question(&resp, "example.com", WARD_TYPE_NS);
	size_t opt_at = resp.n;
	m_opt(&resp, 1232, 0, 0, false);
	m_raw(&resp, "\3ns2", 4);
	m_u16(&resp, 0xC000 | (unsigned)opt_at);
	m_rr_fixed(&resp, WARD_TYPE_A, 50, 4);
	m_raw(&resp, addr1, 4);
	assert_int_equal(parse_resp(&q, &len, &r), WARD_EFORMAT);

	/* A pointer in RDATA (MX exchange) past the OPT moves too. */
	make_query(&q, "example.com", WARD_TYPE_MX, false, false);
	m_header(&resp, 0x1111, 0x8180, 1, 0, 0, 3);
	m_question(&resp, "example.com", WARD_TYPE_MX);
	m_opt(&resp, 1232, 0, 0, false);
	size_t host = resp.n;
	m_raw(&resp, "\4mail\xc0\x0c", 7);
	m_rr_fixed(&resp, WARD_TYPE_A, 50, 4);
	m_raw(&resp, addr1, 4);
	m_u16(&resp, 0xC00C);
	m_rr_fixed(&resp, WARD_TYPE_MX, 50, 4);
	m_u16(&resp, 10);
	m_u16(&resp, 0xC000 | (unsigned)host);
	assert_int_equal(parse_resp(&q, &len, &r), 0);
	p = ldns_parse(stored, len);
	ldns_rr *mx = ldns_rr_list_rr(ldns_pkt_additional(p), 1);
	char *ex = ldns_rdf2str(ldns_rr_rdf(mx, 1));
	assert_string_equal(ex, "mail.example.com.");
	free(ex);
	ldns_pkt_free(p);
}

static void test_response_opt_at_end(void **state)
{
	(void)state;
	struct ward_dns_query q;
	struct ward_dns_response r;
	size_t len;
	make_query(&q, "www.example.com", WARD_TYPE_A, true, true);
	build_a_answer("www.example.com");
	assert_int_equal(parse_resp(&q, &len, &r), 0);
	ldns_pkt *p = ldns_parse(stored, len);
	assert_int_equal(ldns_pkt_arcount(p), 0);
	assert_int_equal(ldns_pkt_ancount(p), 2);
	assert_false(ldns_pkt_edns(p));
	ldns_pkt_free(p);
}

static void test_response_ttl_overflow(void **state)
{
	(void)state;
	struct ward_dns_query q;
	struct ward_dns_response r;
	size_t len;
	make_query(&q, "www.example.com", WARD_TYPE_A, false, false);
	m_header(&resp, 0x1111, 0x8180, 1, 130, 0, 0);
	m_question(&resp, "www.example.com", WARD_TYPE_A);
	for (unsigned i = 0; i < 130; i++) {
		uint8_t a[4] = { 10, 0, (uint8_t)(i >> 8), (uint8_t)i };
		m_rr(&resp, WARD_TYPE_A, 1000 + i, a, 4);
	}
	assert_int_equal(parse_resp(&q, &len, &r), 0);
	assert_true(r.ttl_overflow);
	assert_int_equal(r.n_ttls, WARD_DNS_MAX_TTLS);
	assert_int_equal(r.min_ttl, 1000);
	assert_int_equal(get_u32(stored + r.ttl_off[127]), 1127);
}

static void test_response_truncated(void **state)
{
	(void)state;
	struct ward_dns_query q;
	struct ward_dns_response r;
	size_t len;
	make_query(&q, "www.example.com", WARD_TYPE_A, false, false);
	/* TC=1 and the second record cut off mid-way: keep header and question. */
	build_a_answer("www.example.com");
	set_u16(&resp, 2, 0x8380);
	resp.n -= 11 + 6;
	assert_int_equal(parse_resp(&q, &len, &r), 0);
	assert_true(r.tc);
	assert_int_equal(len, 12 + 17 + 4);
	assert_int_equal(r.ancount, 0);
	assert_int_equal(r.n_ttls, 0);
	assert_int_equal(get_u16(stored + 6), 0);
	assert_int_equal(get_u16(stored + 10), 0);
	ldns_pkt *p = ldns_parse(stored, len);
	assert_true(ldns_pkt_tc(p));
	ldns_pkt_free(p);
}

/* ---------------------------------------------------------------- answers */

static void test_answer_rewrite(void **state)
{
	(void)state;
	uint8_t pkt[512];
	struct ward_dns_query q;
	struct ward_dns_response r;
	size_t len;
	/* The client asks in mixed case with RD=0 and EDNS DO; upstream had RD=1. */
	size_t n = hex("7777 0000 0001 0000 0000 0001 03 577757 07 4578416d506c45 03 634f6d 00"
		       " 0001 0001 " OPT_DO_4096, pkt, sizeof(pkt));
	assert_int_equal(ward_dns_parse_query(pkt, n, &q), WARD_DNS_OK);
	m_header(&resp, 0x1111, 0x8580, 1, 2, 1, 1); /* AA set upstream */
	m_question(&resp, "www.example.com", WARD_TYPE_A);
	m_rr(&resp, WARD_TYPE_CNAME, 300, "\1x\xc0\x10", 4);
	m_raw(&resp, "\1x\xc0\x10", 4);
	m_rr_fixed(&resp, WARD_TYPE_A, 20, 4);
	m_raw(&resp, addr1, 4);
	m_raw(&resp, "\xc0\x10", 2);
	m_rr_fixed(&resp, WARD_TYPE_NS, 86400, 5);
	m_raw(&resp, "\2ns\xc0\x10", 5);
	m_opt(&resp, 1232, 0, 0, true);
	assert_int_equal(parse_resp(&q, &len, &r), 0);
	assert_int_equal(r.n_ttls, 3);

	struct ward_dns_answer_opts o = { .age_s = 25, .max_size = ward_dns_udp_limit(&q),
					  .ede_code = WARD_EDE_NONE };
	size_t w = ward_dns_write_answer(answer, sizeof(answer), stored, len, r.ttl_off, r.n_ttls,
					 &q, &o);
	assert_int_equal(w, len + 11);
	assert_memory_equal(answer + 12, q.qname, q.qname_len);
	ldns_pkt *p = ldns_parse(answer, w);
	assert_int_equal(ldns_pkt_id(p), 0x7777);
	assert_false(ldns_pkt_rd(p));
	assert_true(ldns_pkt_ra(p));
	assert_false(ldns_pkt_aa(p)); /* a forwarded answer is not authoritative */
	assert_true(ldns_pkt_qr(p));
	assert_true(ldns_pkt_edns_do(p));
	assert_int_equal(ldns_pkt_edns_udp_size(p), 1232);
	assert_null(ldns_pkt_edns_data(p));
	ldns_rr_list *an = ldns_pkt_answer(p);
	assert_int_equal(ldns_rr_list_rr_count(an), 2);
	assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(an, 0)), 275);
	assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(an, 1)), 0); /* 20 - 25 floors at 0 */
	assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_authority(p), 0)), 86375);
	char *qn = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(p), 0)));
	assert_string_equal(qn, "WwW.ExAmPlE.cOm.");
	free(qn);
	ldns_pkt_free(p);

	/* The answer is itself a valid response to q, and its TTL offsets match. */
	struct ward_dns_response r2;
	size_t len2;
	static uint8_t stored2[65536];
	assert_int_equal(ward_dns_parse_response(answer, w, &q, 0x7777, stored2, sizeof(stored2),
						 &len2, &r2),
			 0);
	assert_int_equal(len2, len);
	assert_int_equal(r2.n_ttls, r.n_ttls);
	assert_memory_equal(r2.ttl_off, r.ttl_off, r.n_ttls * sizeof(r.ttl_off[0]));

	/* Stale: every TTL is 30, and the EDE says why. */
	o.stale = true;
	o.ede_code = WARD_EDE_STALE_ANSWER;
	o.ede_text = "upstream unreachable";
	w = ward_dns_write_answer(answer, sizeof(answer), stored, len, r.ttl_off, r.n_ttls, &q, &o);
	p = ldns_parse(answer, w);
	for (size_t i = 0; i < 2; i++)
		assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p), i)), 30);
	ldns_rdf *ed = ldns_pkt_edns_data(p);
	assert_non_null(ed);
	const uint8_t *d = ldns_rdf_data(ed);
	assert_int_equal(get_u16(d), 15);
	assert_int_equal(get_u16(d + 2), 2 + 20);
	assert_int_equal(get_u16(d + 4), 3);
	assert_memory_equal(d + 6, "upstream unreachable", 20);
	ldns_pkt_free(p);

	/* The stored message is untouched by answering from it. */
	assert_int_equal(get_u32(stored + r.ttl_off[0]), 300);
}

static void test_answer_no_edns_and_bad_input(void **state)
{
	(void)state;
	struct ward_dns_query q, other;
	struct ward_dns_response r;
	size_t len;
	make_query(&q, "www.example.com", WARD_TYPE_A, false, false);
	build_a_answer("www.example.com");
	assert_int_equal(parse_resp(&q, &len, &r), 0);
	struct ward_dns_answer_opts o = { .max_size = 512, .ede_code = WARD_EDE_BLOCKED };
	size_t w = ward_dns_write_answer(answer, sizeof(answer), stored, len, r.ttl_off, r.n_ttls,
					 &q, &o);
	assert_int_equal(w, len); /* no OPT, so no EDE either */
	assert_int_equal(get_u16(answer + 10), 0);
	ldns_pkt *p = ldns_parse(answer, w);
	assert_int_equal(ldns_pkt_id(p), 0xBEEF);
	assert_true(ldns_pkt_rd(p));
	ldns_pkt_free(p);

	/* Another question: inconsistent, nothing written. */
	make_query(&other, "www.example.org", WARD_TYPE_A, false, false);
	assert_int_equal(ward_dns_write_answer(answer, sizeof(answer), stored, len, r.ttl_off,
					       r.n_ttls, &other, &o),
			 0);
	make_query(&other, "www.example.com", WARD_TYPE_AAAA, false, false);
	assert_int_equal(ward_dns_write_answer(answer, sizeof(answer), stored, len, r.ttl_off,
					       r.n_ttls, &other, &o),
			 0);
	/* A TTL offset inside the question or past the end. */
	uint16_t bad[1] = { 14 };
	assert_int_equal(ward_dns_write_answer(answer, sizeof(answer), stored, len, bad, 1, &q, &o),
			 0);
	bad[0] = (uint16_t)(len - 3);
	assert_int_equal(ward_dns_write_answer(answer, sizeof(answer), stored, len, bad, 1, &q, &o),
			 0);
	/* Too short to hold the question. */
	assert_int_equal(ward_dns_write_answer(answer, sizeof(answer), stored, 20, NULL, 0, &q, &o),
			 0);
	/* cap below the answer: it is truncated to fit; below the question: nothing. */
	w = ward_dns_write_answer(answer, 40, stored, len, r.ttl_off, r.n_ttls, &q, &o);
	assert_int_equal(w, 12 + 17 + 4);
	assert_int_equal(ward_dns_write_answer(answer, 32, stored, len, r.ttl_off, r.n_ttls, &q, &o),
			 0);
}

static void test_answer_truncation(void **state)
{
	(void)state;
	struct ward_dns_query q;
	struct ward_dns_response r;
	size_t len;
	make_query(&q, "www.example.com", WARD_TYPE_A, true, false);
	m_header(&resp, 0x1111, 0x8180, 1, 40, 0, 0);
	m_question(&resp, "www.example.com", WARD_TYPE_A);
	for (unsigned i = 0; i < 40; i++) {
		uint8_t a[4] = { 10, 0, 0, (uint8_t)i };
		m_rr(&resp, WARD_TYPE_A, 60, a, 4);
	}
	assert_int_equal(parse_resp(&q, &len, &r), 0);
	assert_true(len > 512 && len < 1232);

	/* 512 bytes: too big, so TC with header + question + OPT. */
	struct ward_dns_answer_opts o = { .max_size = 512, .ede_code = WARD_EDE_NONE };
	size_t w = ward_dns_write_answer(answer, sizeof(answer), stored, len, r.ttl_off, r.n_ttls,
					 &q, &o);
	assert_int_equal(w, 12 + 17 + 4 + 11);
	ldns_pkt *p = ldns_parse(answer, w);
	assert_true(ldns_pkt_tc(p));
	assert_int_equal(ldns_pkt_ancount(p), 0);
	assert_int_equal(ldns_pkt_qdcount(p), 1);
	assert_int_equal(ldns_pkt_edns_udp_size(p), 1232);
	ldns_pkt_free(p);

	/* 1232 fits, with the OPT. */
	o.max_size = 1232;
	w = ward_dns_write_answer(answer, sizeof(answer), stored, len, r.ttl_off, r.n_ttls, &q, &o);
	assert_int_equal(w, len + 11);
	assert_int_equal(answer[2] & 0x02, 0);

	/* Exactly at the limit: fits; one byte less: TC. */
	o.max_size = len + 11;
	assert_int_equal(ward_dns_write_answer(answer, sizeof(answer), stored, len, r.ttl_off,
					       r.n_ttls, &q, &o),
			 len + 11);
	o.max_size = len + 10;
	w = ward_dns_write_answer(answer, sizeof(answer), stored, len, r.ttl_off, r.n_ttls, &q, &o);
	assert_int_equal(w, 12 + 17 + 4 + 11);
	assert_int_equal(answer[2] & 0x02, 0x02);

	/* An EDE text that would push it over is shortened rather than truncating records. */
	o.max_size = len + 11 + 6 + 3;
	o.ede_code = WARD_EDE_FILTERED;
	o.ede_text = "abcdef";
	w = ward_dns_write_answer(answer, sizeof(answer), stored, len, r.ttl_off, r.n_ttls, &q, &o);
	assert_int_equal(w, o.max_size);
	assert_memory_equal(answer + w - 3, "abc", 3);
}

/* ---------------------------------------------------------------- blocks */

static ldns_pkt *block(const struct ward_dns_query *q, int mode, uint32_t ttl, int ede,
		       const char *text, size_t *len_out)
{
	static const uint8_t v4[4] = { 10, 9, 8, 7 };
	static const uint8_t v6[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
	size_t w = ward_dns_write_block(answer, sizeof(answer), q, mode, v4, v6, ttl, ede, text);
	assert_true(w > 0);
	if (len_out)
		*len_out = w;
	return ldns_parse(answer, w);
}

static void check_soa(ldns_pkt *p, uint32_t ttl)
{
	ldns_rr_list *ns = ldns_pkt_authority(p);
	assert_int_equal(ldns_rr_list_rr_count(ns), 1);
	ldns_rr *soa = ldns_rr_list_rr(ns, 0);
	assert_int_equal(ldns_rr_get_type(soa), LDNS_RR_TYPE_SOA);
	assert_int_equal(ldns_rr_ttl(soa), ttl);
	char *mname = ldns_rdf2str(ldns_rr_rdf(soa, 0));
	char *rname = ldns_rdf2str(ldns_rr_rdf(soa, 1));
	assert_string_equal(mname, "ward.blocked.");
	assert_string_equal(rname, "hostmaster.ward.blocked.");
	free(mname);
	free(rname);
	assert_int_equal(ldns_rdf2native_int32(ldns_rr_rdf(soa, 2)), 1);
	assert_int_equal(ldns_rdf2native_int32(ldns_rr_rdf(soa, 6)), ttl);
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_answer(p)), 0);
}

static void test_block_modes(void **state)
{
	(void)state;
	struct ward_dns_query q;
	size_t len;

	make_query(&q, "ads.example.com", WARD_TYPE_A, false, false);
	ldns_pkt *p = block(&q, WARD_BLOCK_SINKHOLE, 60, WARD_EDE_BLOCKED, "ads", &len);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	assert_false(ldns_pkt_aa(p));
	assert_true(ldns_pkt_ra(p) && ldns_pkt_rd(p) && ldns_pkt_qr(p));
	assert_int_equal(ldns_pkt_arcount(p), 0);
	ldns_rr_list *an = ldns_pkt_answer(p);
	assert_int_equal(ldns_rr_list_rr_count(an), 1);
	ldns_rr *a = ldns_rr_list_rr(an, 0);
	assert_int_equal(ldns_rr_get_type(a), LDNS_RR_TYPE_A);
	assert_int_equal(ldns_rr_ttl(a), 60);
	char *s = ldns_rdf2str(ldns_rr_rdf(a, 0));
	assert_string_equal(s, "10.9.8.7");
	free(s);
	s = owner_text(a);
	assert_string_equal(s, "ads.example.com.");
	free(s);
	ldns_pkt_free(p);

	make_query(&q, "ads.example.com", WARD_TYPE_AAAA, true, true);
	p = block(&q, WARD_BLOCK_SINKHOLE, 60, WARD_EDE_BLOCKED, "ads", &len);
	a = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
	assert_int_equal(ldns_rr_get_type(a), LDNS_RR_TYPE_AAAA);
	s = ldns_rdf2str(ldns_rr_rdf(a, 0));
	assert_string_equal(s, "fd00::1");
	free(s);
	assert_true(ldns_pkt_edns_do(p));
	const uint8_t *d = ldns_rdf_data(ldns_pkt_edns_data(p));
	assert_int_equal(get_u16(d), 15);
	assert_int_equal(get_u16(d + 2), 5);
	assert_int_equal(get_u16(d + 4), 15);
	assert_memory_equal(d + 6, "ads", 3);
	ldns_pkt_free(p);

	/* HTTPS and SVCB get NODATA in sinkhole mode: no way to hand them an address. */
	unsigned other[] = { WARD_TYPE_HTTPS, WARD_TYPE_SVCB, WARD_TYPE_MX, WARD_TYPE_TXT,
			     WARD_TYPE_ANY };
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		make_query(&q, "ads.example.com", other[i], false, false);
		p = block(&q, WARD_BLOCK_SINKHOLE, 120, -1, NULL, &len);
		assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
		check_soa(p, 120);
		ldns_pkt_free(p);
	}

	make_query(&q, "ads.example.com", WARD_TYPE_A, true, false);
	p = block(&q, WARD_BLOCK_NXDOMAIN, 300, WARD_EDE_FILTERED, "gambling", &len);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	check_soa(p, 300);
	s = owner_text(ldns_rr_list_rr(ldns_pkt_authority(p), 0));
	assert_string_equal(s, "ads.example.com.");
	free(s);
	ldns_pkt_free(p);

	/* ward's own parser agrees: negative, cacheable for the block TTL. */
	struct ward_dns_response r;
	size_t slen;
	assert_int_equal(ward_dns_parse_response(answer, len, &q, q.id, stored, sizeof(stored),
						 &slen, &r),
			 0);
	assert_true(r.negative);
	assert_int_equal(r.neg_ttl, 300);

	p = block(&q, WARD_BLOCK_NODATA, 45, -1, NULL, &len);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
	check_soa(p, 45);
	ldns_pkt_free(p);
	assert_int_equal(ward_dns_parse_response(answer, len, &q, q.id, stored, sizeof(stored),
						 &slen, &r),
			 0);
	assert_true(r.negative);
	assert_int_equal(r.neg_ttl, 45);

	p = block(&q, WARD_BLOCK_REFUSED, 45, WARD_EDE_BLOCKED, "csam", &len);
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED);
	assert_int_equal(ldns_pkt_ancount(p) + ldns_pkt_nscount(p), 0);
	assert_int_equal(ldns_pkt_edns_udp_size(p), 1232);
	ldns_pkt_free(p);

	/* Unknown mode, no question, no room even for header + question + OPT. */
	assert_int_equal(ward_dns_write_block(answer, sizeof(answer), &q, 9, NULL, NULL, 1, -1,
					      NULL),
			 0);
	assert_int_equal(ward_dns_write_block(answer, 40, &q, WARD_BLOCK_NXDOMAIN, NULL, NULL, 1,
					      -1, NULL),
			 0);
	struct ward_dns_query none;
	uint8_t hdr[12] = { 0 };
	assert_int_equal(ward_dns_parse_query(hdr, 12, &none), WARD_DNS_FORMERR);
	assert_int_equal(ward_dns_write_block(answer, sizeof(answer), &none, WARD_BLOCK_NXDOMAIN,
					      NULL, NULL, 1, -1, NULL),
			 0);
	/* NULL addresses mean all zeros; TTL is capped at 2^31-1. */
	make_query(&q, "x.example", WARD_TYPE_A, false, false);
	size_t w = ward_dns_write_block(answer, sizeof(answer), &q, WARD_BLOCK_SINKHOLE, NULL, NULL,
					0xFFFFFFFFu, -1, NULL);
	assert_memory_equal(answer + w - 4, "\0\0\0\0", 4);
	assert_int_equal(get_u32(answer + w - 10), 0x7FFFFFFFu);
}

/* cap is the client's size limit too: the EDE text gives way first, then the records. */
static void test_block_fits_the_limit(void **state)
{
	(void)state;
	struct ward_dns_query q;
	static const char text[] = "ward: gambling (feed some-feed, profile kids)";
	make_query(&q, "ads.example.com", WARD_TYPE_A, true, false);
	size_t full = ward_dns_write_block(answer, sizeof(answer), &q, WARD_BLOCK_NXDOMAIN, NULL,
					   NULL, 60, WARD_EDE_FILTERED, text);
	size_t bare = full - (sizeof(text) - 1);

	/* Ten bytes short: the text loses ten bytes, the SOA stays. */
	size_t w = ward_dns_write_block(answer, full - 10, &q, WARD_BLOCK_NXDOMAIN, NULL, NULL, 60,
					WARD_EDE_FILTERED, text);
	assert_int_equal(w, full - 10);
	ldns_pkt *p = ldns_parse(answer, w);
	assert_false(ldns_pkt_tc(p));
	check_soa(p, 60);
	ldns_pkt_free(p);
	assert_memory_equal(answer + w - (sizeof(text) - 11), text, sizeof(text) - 11);

	/* No text at all fits: still the whole answer with the bare code. */
	assert_int_equal(ward_dns_write_block(answer, bare, &q, WARD_BLOCK_NXDOMAIN, NULL, NULL,
					      60, WARD_EDE_FILTERED, text),
			 bare);

	/* One byte less: header + question + OPT with the code, TC=1, the rcode kept. */
	w = ward_dns_write_block(answer, bare - 1, &q, WARD_BLOCK_NXDOMAIN, NULL, NULL, 60,
				 WARD_EDE_FILTERED, text);
	assert_int_equal(w, 12 + 17 + 4 + 11 + 6);
	p = ldns_parse(answer, w);
	assert_true(ldns_pkt_tc(p));
	assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
	assert_int_equal(ldns_pkt_ancount(p) + ldns_pkt_nscount(p), 0);
	assert_int_equal(ldns_pkt_qdcount(p), 1);
	ldns_pkt_free(p);
	assert_int_equal(get_u16(answer + w - 2), WARD_EDE_FILTERED);
}

/* ---------------------------------------------------------------- CNAME chain */

struct chain_seen {
	char names[8][300];
	int n;
	int stop_at;
};

static int collect(void *ctx, const uint8_t *wire_lname)
{
	struct chain_seen *c = ctx;
	ward_name_to_text(wire_lname, c->names[c->n % 8], sizeof(c->names[0]));
	c->n++;
	return c->n == c->stop_at ? 42 : 0;
}

static void test_chain(void **state)
{
	(void)state;
	struct chain_seen c = { .stop_at = -1 };
	/* Out of order: b -> target, www -> a (mixed case), a -> b; plus an unrelated CNAME. */
	m_header(&resp, 1, 0x8180, 1, 5, 0, 0);
	m_question(&resp, "www.example.com", WARD_TYPE_A);
	size_t b_at = resp.n;
	m_name(&resp, "b.example.net");
	m_rr_fixed(&resp, WARD_TYPE_CNAME, 1, 18);
	m_name(&resp, "Tracker.Evil.org");
	m_name(&resp, "unrelated.example");
	m_rr_fixed(&resp, WARD_TYPE_CNAME, 1, 5);
	m_name(&resp, "zzz");
	m_u16(&resp, 0xC00C);
	m_rr_fixed(&resp, WARD_TYPE_CNAME, 1, 15);
	m_name(&resp, "A.Example.Net");
	m_name(&resp, "a.example.net");
	m_rr_fixed(&resp, WARD_TYPE_CNAME, 1, 4);
	m_raw(&resp, "\1b", 2);
	m_u16(&resp, 0xC000 | (unsigned)(b_at + 2)); /* -> b.example.net via "example.net" */
	m_name(&resp, "tracker.evil.org");
	m_rr_fixed(&resp, WARD_TYPE_A, 1, 4);
	m_raw(&resp, addr1, 4);
	assert_int_equal(ward_dns_foreach_chain_name(resp.b, resp.n, collect, &c), 0);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.names[0], "a.example.net");
	assert_string_equal(c.names[1], "b.example.net");
	assert_string_equal(c.names[2], "tracker.evil.org");

	/* The callback stops the walk with its own value. */
	c = (struct chain_seen){ .stop_at = 2 };
	assert_int_equal(ward_dns_foreach_chain_name(resp.b, resp.n, collect, &c), 42);
	assert_int_equal(c.n, 2);

	/* No CNAME: no call. */
	build_a_answer("www.example.com");
	c = (struct chain_seen){ .stop_at = -1 };
	assert_int_equal(ward_dns_foreach_chain_name(resp.b, resp.n, collect, &c), 0);
	assert_int_equal(c.n, 0);

	/* A loop ends with WARD_ETOOBIG after WARD_DNS_CHAIN_MAX names. */
	m_header(&resp, 1, 0x8180, 1, 2, 0, 0);
	m_question(&resp, "a.example", WARD_TYPE_A);
	m_u16(&resp, 0xC00C);
	m_rr_fixed(&resp, WARD_TYPE_CNAME, 1, 4);
	m_raw(&resp, "\1b\xc0\x0e", 4);
	m_raw(&resp, "\1b\xc0\x0e", 4);
	m_rr_fixed(&resp, WARD_TYPE_CNAME, 1, 2);
	m_u16(&resp, 0xC00C);
	c = (struct chain_seen){ .stop_at = -1 };
	assert_int_equal(ward_dns_foreach_chain_name(resp.b, resp.n, collect, &c), WARD_ETOOBIG);
	assert_int_equal(c.n, WARD_DNS_CHAIN_MAX);

	/* Malformed: a record cut short. */
	resp.n -= 1;
	assert_int_equal(ward_dns_foreach_chain_name(resp.b, resp.n, collect, &c), WARD_EFORMAT);
	assert_int_equal(ward_dns_foreach_chain_name(resp.b, 5, collect, &c), WARD_EFORMAT);
}

/* ---------------------------------------------------------------- names */

static void test_names(void **state)
{
	(void)state;
	uint8_t w[300];
	char t[300];
	struct {
		const char *text;
		const char *wire; /* hex; NULL = invalid */
		const char *back;
	} cases[] = {
		{ "www.Example.com", "03 777777 07 4578616d706c65 03 636f6d 00", "www.Example.com" },
		{ "www.example.com.", "03 777777 07 6578616d706c65 03 636f6d 00", "www.example.com" },
		{ ".", "00", "." },
		{ "a\\.b.c", "03 612e62 01 63 00", "a\\.b.c" },
		{ "a\\032b", "03 612062 00", "a\\032b" },
		{ "\\255\\000", "02 ff00 00", "\\255\\000" },
		{ "back\\\\slash", "0a 6261636b5c736c617368 00", "back\\\\slash" },
		{ "", NULL, NULL },
		{ "a..b", NULL, NULL },
		{ ".a", NULL, NULL },
		{ "a\\25", NULL, NULL },
		{ "a\\256", NULL, NULL },
		{ "a\\", NULL, NULL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("name: %s\n", cases[i].text);
		size_t n = ward_name_from_text(cases[i].text, w, sizeof(w));
		if (!cases[i].wire) {
			assert_int_equal(n, 0);
			continue;
		}
		uint8_t want[300];
		size_t wn = hex(cases[i].wire, want, sizeof(want));
		assert_int_equal(n, wn);
		assert_memory_equal(w, want, wn);
		size_t tn = ward_name_to_text(w, t, sizeof(t));
		assert_string_equal(t, cases[i].back);
		assert_int_equal(tn, strlen(cases[i].back));
	}

	/* Label of 63 fits, 64 does not; name of 255 fits, 256 does not. */
	char text[400];
	memset(text, 'a', 63);
	text[63] = 0;
	assert_int_equal(ward_name_from_text(text, w, sizeof(w)), 65);
	memset(text, 'a', 64);
	text[64] = 0;
	assert_int_equal(ward_name_from_text(text, w, sizeof(w)), 0);
	/* 3 x 63 + 61 characters with 3 dots: wire 64*3 + 62 + 1 = 255. */
	memset(text, 'a', sizeof(text));
	text[63] = text[127] = text[191] = '.';
	text[253] = 0;
	assert_int_equal(ward_name_from_text(text, w, sizeof(w)), 255);
	text[253] = 'a';
	text[254] = 0;
	assert_int_equal(ward_name_from_text(text, w, sizeof(w)), 0);
	/* cap too small */
	assert_int_equal(ward_name_from_text("abc", w, 4), 0);
	assert_int_equal(ward_name_from_text("abc", w, 5), 5);

	/* to_text cuts at cap, never mid-escape, always terminated. */
	ward_name_from_text("ab.c\\009d", w, sizeof(w));
	assert_int_equal(ward_name_to_text(w, t, 4), 3);
	assert_string_equal(t, "ab.");
	assert_int_equal(ward_name_to_text(w, t, 7), 4);
	assert_string_equal(t, "ab.c");
	assert_int_equal(ward_name_to_text(w, t, 10), 9);
	assert_string_equal(t, "ab.c\\009d");
	assert_int_equal(ward_name_to_text(w, t, 1), 0);
	assert_string_equal(t, "");
	assert_int_equal(ward_name_to_text((const uint8_t *)"", t, 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_table),
		cmocka_unit_test(test_query_fields),
		cmocka_unit_test(test_write_rcode_plain),
		cmocka_unit_test(test_write_rcode_badvers),
		cmocka_unit_test(test_write_rcode_ede),
		cmocka_unit_test(test_write_upstream_query),
		cmocka_unit_test(test_response_basic),
		cmocka_unit_test(test_response_mismatch),
		cmocka_unit_test(test_response_malformed),
		cmocka_unit_test(test_response_pointer_chain),
		cmocka_unit_test(test_response_ttl_msb),
		cmocka_unit_test(test_response_negative),
		cmocka_unit_test(test_response_opt_in_middle),
		cmocka_unit_test(test_response_opt_at_end),
		cmocka_unit_test(test_response_ttl_overflow),
		cmocka_unit_test(test_response_truncated),
		cmocka_unit_test(test_answer_rewrite),
		cmocka_unit_test(test_answer_no_edns_and_bad_input),
		cmocka_unit_test(test_answer_truncation),
		cmocka_unit_test(test_block_modes),
		cmocka_unit_test(test_block_fits_the_limit),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
