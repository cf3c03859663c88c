/*
 * Answer cache shard: keys, TTL policy, expiry and serve-stale, CLOCK eviction, byte cap,
 * index integrity under churn. Messages are real DNS wire messages built by hand here (the
 * cache never parses them, but the offsets it hands back must point at real TTL fields).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "blocklists/error.h"
#include "resolver/cache.h"

#define T0 1000000000ULL /* an arbitrary monotonic "now" in ms */

/* ---- building messages ---- */

/* "www.example.com" -> wire form; labels are short here, so no error handling. */
static uint16_t name_wire(const char *text, uint8_t *out)
{
	uint16_t n = 0;
	while (*text) {
		const char *dot = strchr(text, '.');
		size_t len = dot ? (size_t)(dot - text) : strlen(text);
		out[n++] = (uint8_t)len;
		memcpy(out + n, text, len);
		n = (uint16_t)(n + len);
		text += len + (dot ? 1 : 0);
	}
	out[n++] = 0;
	return n;
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

struct msg {
	uint8_t b[WARD_DNS_MSG_MAX + 1];
	size_t len;
	struct ward_dns_response r;
};

/*
 * A response to (name, qtype) with n_a A records 192.0.2.x, each with the given TTL, the
 * owner a compression pointer to the question. Fills m->r as ward_dns_parse_response
 * would for it.
 */
static void build_a(struct msg *m, const char *name, uint16_t qtype, uint8_t rcode,
		    unsigned n_a, uint32_t ttl)
{
	memset(m, 0, sizeof(*m));
	put16(m->b, 0x1234);
	put16(m->b + 2, 0x8180 | rcode);
	put16(m->b + 4, 1);
	put16(m->b + 6, n_a);
	size_t p = WARD_DNS_HEADER_LEN;
	p += name_wire(name, m->b + p);
	put16(m->b + p, qtype);
	put16(m->b + p + 2, WARD_CLASS_IN);
	p += 4;
	for (unsigned i = 0; i < n_a; i++) {
		put16(m->b + p, 0xc00c);
		put16(m->b + p + 2, WARD_TYPE_A);
		put16(m->b + p + 4, WARD_CLASS_IN);
		m->r.ttl_off[m->r.n_ttls++] = (uint16_t)(p + 6);
		put32(m->b + p + 6, ttl);
		put16(m->b + p + 10, 4);
		uint8_t addr[4] = {192, 0, 2, (uint8_t)(i + 1)};
		memcpy(m->b + p + 12, addr, 4);
		p += 16;
	}
	m->len = p;
	m->r.id = 0x1234;
	m->r.rcode = rcode;
	m->r.ra = true;
	m->r.ancount = (uint16_t)n_a;
	m->r.min_ttl = n_a ? ttl : UINT32_MAX;
	m->r.negative = n_a == 0;
}

/* NXDOMAIN (or NODATA) with an SOA in authority: SOA TTL soa_ttl, MINIMUM soa_min. */
static void build_negative(struct msg *m, const char *name, uint8_t rcode, uint32_t soa_ttl,
			   uint32_t soa_min)
{
	build_a(m, name, WARD_TYPE_A, rcode, 0, 0);
	put16(m->b + 8, 1);
	size_t p = m->len;
	p += name_wire("example.com", m->b + p);
	put16(m->b + p, WARD_TYPE_SOA);
	put16(m->b + p + 2, WARD_CLASS_IN);
	m->r.ttl_off[m->r.n_ttls++] = (uint16_t)(p + 4);
	put32(m->b + p + 4, soa_ttl);
	size_t rdlen_at = p + 8;
	p += 10;
	size_t rd = p;
	p += name_wire("ns.example.com", m->b + p);
	p += name_wire("admin.example.com", m->b + p);
	for (unsigned i = 0; i < 4; i++, p += 4)
		put32(m->b + p, 3600 + i); /* serial, refresh, retry, expire */
	put32(m->b + p, soa_min);
	p += 4;
	put16(m->b + rdlen_at, (unsigned)(p - rd));
	m->len = p;
	m->r.nscount = 1;
	m->r.min_ttl = soa_ttl;
	m->r.negative = true;
	m->r.neg_ttl = soa_ttl < soa_min ? soa_ttl : soa_min;
}

/* A TCP-sized TXT answer of exactly len bytes (len >= 300). */
static void build_big_txt(struct msg *m, const char *name, size_t len, uint32_t ttl)
{
	build_a(m, name, WARD_TYPE_TXT, WARD_RCODE_NOERROR, 0, 0);
	put16(m->b + 6, 1);
	size_t p = m->len;
	put16(m->b + p, 0xc00c);
	put16(m->b + p + 2, WARD_TYPE_TXT);
	put16(m->b + p + 4, WARD_CLASS_IN);
	m->r.ttl_off[m->r.n_ttls++] = (uint16_t)(p + 6);
	put32(m->b + p + 6, ttl);
	put16(m->b + p + 10, (unsigned)(len - p - 12));
	p += 12;
	while (p < len) {
		size_t s = len - p - 1 < 255 ? len - p - 1 : 255;
		m->b[p] = (uint8_t)s;
		for (size_t i = 0; i < s; i++)
			m->b[p + 1 + i] = (uint8_t)('a' + (p + i) % 26);
		p += 1 + s;
	}
	m->len = len;
	m->r.ancount = 1;
	m->r.min_ttl = ttl;
	m->r.negative = false;
}

/* ---- keys ---- */

struct key {
	uint8_t wire[WARD_DNS_NAME_MAX];
	struct ward_cache_key k;
};

static const struct ward_cache_key *mkkey(struct key *key, const char *name, uint16_t qtype,
					  uint16_t qclass, bool do_bit, bool cd)
{
	key->k.lname_len = name_wire(name, key->wire);
	key->k.lname = key->wire;
	key->k.qtype = qtype;
	key->k.qclass = qclass;
	key->k.do_bit = do_bit;
	key->k.cd = cd;
	return &key->k;
}

static const struct ward_cache_key *akey(struct key *key, const char *name)
{
	return mkkey(key, name, WARD_TYPE_A, WARD_CLASS_IN, false, false);
}

static struct ward_cache *new_cache(uint32_t n, uint32_t min_ttl, uint32_t max_ttl, bool stale)
{
	struct ward_conf_cache lim = {.max_entries = n, .min_ttl = min_ttl, .max_ttl = max_ttl,
				      .serve_stale = stale};
	struct ward_cache *c = ward_cache_new(n, &lim);
	assert_non_null(c);
	return c;
}

static void assert_hit_is(struct ward_cache *c, const struct ward_cache_key *k, uint64_t now,
			  const struct msg *m)
{
	struct ward_cache_hit hit;
	assert_int_equal(ward_cache_lookup(c, k, now, false, &hit), 0);
	assert_int_equal(hit.msg_len, m->len);
	assert_memory_equal(hit.msg, m->b, m->len);
	assert_int_equal(hit.n_ttls, m->r.n_ttls);
	if (m->r.n_ttls)
		assert_memory_equal(hit.ttl_off, m->r.ttl_off, 2u * m->r.n_ttls);
	assert_false(hit.stale);
}

static bool present(struct ward_cache *c, const struct ward_cache_key *k, uint64_t now)
{
	struct ward_cache_hit hit;
	return ward_cache_lookup(c, k, now, false, &hit) == 0;
}

/* ---- tests ---- */

/*
 * The keyed hash against published vectors: SipHash-2-4 from the paper's reference code
 * (key 00..0f, message 00..len-1), SipHash-1-3 from the RustCrypto digest crate (zero key).
 */
static void test_siphash_vectors(void **state)
{
	(void)state;
	uint8_t key[16], msg[64];
	for (unsigned i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (unsigned i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	assert_true(ward_cache_test_siphash(key, msg, 0, 2, 4) == 0x726fdb47dd0e0e31ULL);
	assert_true(ward_cache_test_siphash(key, msg, 1, 2, 4) == 0x74f839c593dc67fdULL);
	assert_true(ward_cache_test_siphash(key, msg, 7, 2, 4) == 0xab0200f58b01d137ULL);
	assert_true(ward_cache_test_siphash(key, msg, 8, 2, 4) == 0x93f5f5799a932462ULL);
	assert_true(ward_cache_test_siphash(key, msg, 15, 2, 4) == 0xa129ca6149be45e5ULL);
	assert_true(ward_cache_test_siphash(key, msg, 63, 2, 4) == 0x958a324ceb064572ULL);

	/* The last two agree with CPython 3.11's hash(b"...") under PYTHONHASHSEED=0. */
	uint8_t zero[16] = {0};
	assert_true(ward_cache_test_siphash(zero, "", 0, 1, 3) == 0xd1fba762150c532cULL);
	assert_true(ward_cache_test_siphash(zero, "siphash", 7, 1, 3) == 0x8264ceeccb16bcbeULL);
	assert_true(ward_cache_test_siphash(zero, "digest-sip_hash", 15, 1, 3) ==
		    0xce31007e34130c0aULL);
}

static void test_roundtrip(void **state)
{
	(void)state;
	struct ward_cache *c = new_cache(16, 0, 86400, true);
	struct msg *m = malloc(sizeof(*m));
	struct key key;
	build_a(m, "www.example.com", WARD_TYPE_A, WARD_RCODE_NOERROR, 3, 300);
	const struct ward_cache_key *k = akey(&key, "www.example.com");

	assert_int_equal(ward_cache_lookup(c, k, T0, true, &(struct ward_cache_hit){0}),
			 WARD_ENOTFOUND);
	assert_int_equal(ward_cache_store(c, k, m->b, m->len, &m->r, T0), 0);
	assert_hit_is(c, k, T0, m);

	struct ward_cache_hit hit;
	assert_int_equal(ward_cache_lookup(c, k, T0 + 1999, false, &hit), 0);
	assert_int_equal(hit.age_s, 1);
	assert_int_equal(hit.rcode, WARD_RCODE_NOERROR);
	/* The offsets handed back point at the TTL fields of the returned copy. */
	for (unsigned i = 0; i < hit.n_ttls; i++)
		assert_int_equal(get32(hit.msg + hit.ttl_off[i]), 300);

	/* The cache kept its own copy. */
	memset(m->b, 0xee, m->len);
	assert_int_equal(ward_cache_lookup(c, k, T0, false, &hit), 0);
	assert_int_equal(get32(hit.msg + hit.ttl_off[0]), 300);

	struct ward_cache_stats st;
	ward_cache_get_stats(c, &st);
	assert_int_equal(st.hits, 3);
	assert_int_equal(st.misses, 1);
	assert_int_equal(st.stores, 1);
	assert_int_equal(st.entries, 1);
	assert_int_equal(st.capacity, 16);
	assert_true(st.bytes >= 2 * 3 + k->lname_len + m->len);
	free(m);
	ward_cache_free(c);
}

/* Every component of the key separates entries; the name is compared byte for byte. */
static void test_key_separation(void **state)
{
	(void)state;
	struct ward_cache *c = new_cache(64, 0, 86400, true);
	struct {
		const char *name;
		uint16_t qtype, qclass;
		bool do_bit, cd;
	} variants[] = {
		{"www.example.com", WARD_TYPE_A, WARD_CLASS_IN, false, false},
		{"www.example.com", WARD_TYPE_AAAA, WARD_CLASS_IN, false, false},
		{"www.example.com", WARD_TYPE_A, 3 /* CH */, false, false},
		{"www.example.com", WARD_TYPE_A, WARD_CLASS_IN, true, false},
		{"www.example.com", WARD_TYPE_A, WARD_CLASS_IN, false, true},
		{"www.example.com", WARD_TYPE_A, WARD_CLASS_IN, true, true},
		{"WWW.example.com", WARD_TYPE_A, WARD_CLASS_IN, false, false},
		{"www.example.co", WARD_TYPE_A, WARD_CLASS_IN, false, false},
		{"ww.wexample.com", WARD_TYPE_A, WARD_CLASS_IN, false, false},
	};
	size_t n = sizeof(variants) / sizeof(variants[0]);
	struct msg *m = malloc(sizeof(*m));
	struct key key;

	build_a(m, "www.example.com", WARD_TYPE_A, WARD_RCODE_NOERROR, 1, 300);
	assert_int_equal(ward_cache_store(c, akey(&key, "www.example.com"), m->b, m->len, &m->r,
					  T0), 0);
	for (size_t i = 1; i < n; i++) {
		const struct ward_cache_key *k = mkkey(&key, variants[i].name, variants[i].qtype,
						       variants[i].qclass, variants[i].do_bit,
						       variants[i].cd);
		assert_false(present(c, k, T0));
	}
	/* Now each variant gets its own answer (n records, to tell them apart). */
	for (size_t i = 0; i < n; i++) {
		const struct ward_cache_key *k = mkkey(&key, variants[i].name, variants[i].qtype,
						       variants[i].qclass, variants[i].do_bit,
						       variants[i].cd);
		build_a(m, variants[i].name, variants[i].qtype, 0, (unsigned)i + 1, 300);
		assert_int_equal(ward_cache_store(c, k, m->b, m->len, &m->r, T0), 0);
	}
	for (size_t i = 0; i < n; i++) {
		const struct ward_cache_key *k = mkkey(&key, variants[i].name, variants[i].qtype,
						       variants[i].qclass, variants[i].do_bit,
						       variants[i].cd);
		build_a(m, variants[i].name, variants[i].qtype, 0, (unsigned)i + 1, 300);
		assert_hit_is(c, k, T0, m);
	}
	struct ward_cache_stats st;
	ward_cache_get_stats(c, &st);
	assert_int_equal(st.entries, n);
	free(m);
	ward_cache_free(c);
}

static void test_ttl_clamp(void **state)
{
	(void)state;
	struct ward_cache *c = new_cache(16, 60, 3600, true);
	struct msg *m = malloc(sizeof(*m));
	struct key key;
	const struct ward_cache_key *k = akey(&key, "a.example");
	uint32_t cases[][2] = {{1, 60}, {59, 60}, {60, 60}, {300, 300}, {3600, 3600},
			       {3601, 3600}, {UINT32_MAX - 1, 3600}, {0, 60}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		build_a(m, "a.example", WARD_TYPE_A, 0, 2, cases[i][0]);
		assert_int_equal(ward_cache_ttl_for(c, &m->r), cases[i][1]);
	}

	/* The clamped TTL is what the entry lives for. */
	build_a(m, "a.example", WARD_TYPE_A, 0, 1, 5);
	assert_int_equal(ward_cache_store(c, k, m->b, m->len, &m->r, T0), 0);
	assert_true(present(c, k, T0 + 59999));
	assert_false(present(c, k, T0 + 60000));
	build_a(m, "a.example", WARD_TYPE_A, 0, 1, 7200);
	assert_int_equal(ward_cache_store(c, k, m->b, m->len, &m->r, T0), 0);
	assert_true(present(c, k, T0 + 3599999));
	assert_false(present(c, k, T0 + 3600000));
	ward_cache_free(c);

	/* min_ttl 0: a TTL-0 answer is not cached; anything else passes unclamped. */
	c = new_cache(16, 0, 86400, true);
	build_a(m, "a.example", WARD_TYPE_A, 0, 1, 0);
	assert_int_equal(ward_cache_ttl_for(c, &m->r), 0);
	assert_int_equal(ward_cache_store(c, k, m->b, m->len, &m->r, T0), WARD_EINVAL);
	assert_false(present(c, k, T0));
	build_a(m, "a.example", WARD_TYPE_A, 0, 1, 1);
	assert_int_equal(ward_cache_ttl_for(c, &m->r), 1);
	build_a(m, "a.example", WARD_TYPE_A, 0, 1, 100000);
	assert_int_equal(ward_cache_ttl_for(c, &m->r), 86400);
	ward_cache_free(c);

	/* NULL limits: the documented defaults (0, 86400, serve stale). */
	c = ward_cache_new(4, NULL);
	assert_non_null(c);
	build_a(m, "a.example", WARD_TYPE_A, 0, 1, 0);
	assert_int_equal(ward_cache_ttl_for(c, &m->r), 0);
	build_a(m, "a.example", WARD_TYPE_A, 0, 1, 90000);
	assert_int_equal(ward_cache_ttl_for(c, &m->r), 86400);
	ward_cache_free(c);
	free(m);
}

static void test_negative(void **state)
{
	(void)state;
	struct ward_cache *c = new_cache(16, 30, 3600, true);
	struct msg *m = malloc(sizeof(*m));
	struct key key;
	const struct ward_cache_key *k = akey(&key, "nope.example.com");

	/* RFC 2308: min(SOA TTL, SOA MINIMUM), then the same clamp as positive answers. */
	build_negative(m, "nope.example.com", WARD_RCODE_NXDOMAIN, 900, 300);
	assert_int_equal(ward_cache_ttl_for(c, &m->r), 300);
	build_negative(m, "nope.example.com", WARD_RCODE_NXDOMAIN, 120, 86400);
	assert_int_equal(ward_cache_ttl_for(c, &m->r), 120);
	build_negative(m, "nope.example.com", WARD_RCODE_NXDOMAIN, 10, 5);
	assert_int_equal(ward_cache_ttl_for(c, &m->r), 30);
	build_negative(m, "nope.example.com", WARD_RCODE_NXDOMAIN, 86400, 86400);
	assert_int_equal(ward_cache_ttl_for(c, &m->r), 3600);

	/* NODATA is negative too. */
	build_negative(m, "nope.example.com", WARD_RCODE_NOERROR, 600, 600);
	assert_int_equal(ward_cache_ttl_for(c, &m->r), 600);

	build_negative(m, "nope.example.com", WARD_RCODE_NXDOMAIN, 900, 300);
	assert_int_equal(ward_cache_store(c, k, m->b, m->len, &m->r, T0), 0);
	struct ward_cache_hit hit;
	assert_int_equal(ward_cache_lookup(c, k, T0 + 299000, false, &hit), 0);
	assert_int_equal(hit.rcode, WARD_RCODE_NXDOMAIN);
	assert_int_equal(get32(hit.msg + hit.ttl_off[0]), 900);
	assert_false(present(c, k, T0 + 300000));

	/* No SOA: nothing says how long the name stays absent, so it is not cached at all,
	 * not even raised by min_ttl. */
	struct key key2;
	const struct ward_cache_key *k2 = akey(&key2, "nosoa.example.com");
	build_a(m, "nosoa.example.com", WARD_TYPE_A, WARD_RCODE_NXDOMAIN, 0, 0);
	assert_int_equal(ward_cache_ttl_for(c, &m->r), 0);
	assert_int_equal(ward_cache_store(c, k2, m->b, m->len, &m->r, T0), WARD_EINVAL);
	assert_false(present(c, k2, T0));
	build_a(m, "nosoa.example.com", WARD_TYPE_A, WARD_RCODE_NOERROR, 0, 0);
	assert_int_equal(ward_cache_ttl_for(c, &m->r), 0);
	free(m);
	ward_cache_free(c);
}

static void test_rcodes_and_flags(void **state)
{
	(void)state;
	struct ward_cache *c = new_cache(16, 600, 3600, true);
	struct msg *m = malloc(sizeof(*m));
	struct key key;
	const struct ward_cache_key *k = akey(&key, "sf.example");

	/* SERVFAIL: 3 s whatever the clamp, and never served stale. */
	build_a(m, "sf.example", WARD_TYPE_A, WARD_RCODE_SERVFAIL, 0, 0);
	assert_int_equal(ward_cache_ttl_for(c, &m->r), WARD_CACHE_SERVFAIL_TTL);
	assert_int_equal(ward_cache_store(c, k, m->b, m->len, &m->r, T0), 0);
	struct ward_cache_hit hit;
	assert_int_equal(ward_cache_lookup(c, k, T0 + 2999, false, &hit), 0);
	assert_int_equal(hit.rcode, WARD_RCODE_SERVFAIL);
	assert_int_equal(ward_cache_lookup(c, k, T0 + 3000, true, &hit), WARD_ENOTFOUND);
	assert_int_equal(ward_cache_lookup(c, k, T0 + 60000, true, &hit), WARD_ENOTFOUND);

	/* Answers about the path, not the name, are never cached. */
	uint8_t no[] = {WARD_RCODE_REFUSED, WARD_RCODE_FORMERR, WARD_RCODE_NOTIMP, 9};
	for (size_t i = 0; i < sizeof(no); i++) {
		build_a(m, "x.example", WARD_TYPE_A, no[i], 1, 300);
		assert_int_equal(ward_cache_ttl_for(c, &m->r), 0);
		assert_int_equal(ward_cache_store(c, akey(&key, "x.example"), m->b, m->len, &m->r,
						  T0), WARD_EINVAL);
		assert_false(present(c, akey(&key, "x.example"), T0));
	}

	build_a(m, "x.example", WARD_TYPE_A, 0, 1, 300);
	assert_int_equal(ward_cache_ttl_for(c, &m->r), 600);
	m->r.tc = true;
	assert_int_equal(ward_cache_ttl_for(c, &m->r), 0);
	m->r.tc = false;
	m->r.ttl_overflow = true;
	assert_int_equal(ward_cache_ttl_for(c, &m->r), 0);
	assert_int_equal(ward_cache_store(c, akey(&key, "x.example"), m->b, m->len, &m->r, T0),
			 WARD_EINVAL);
	free(m);
	ward_cache_free(c);
}

static void test_expiry_and_stale(void **state)
{
	(void)state;
	struct ward_cache *c = new_cache(16, 0, 86400, true);
	struct msg *m = malloc(sizeof(*m));
	struct key key;
	const struct ward_cache_key *k = akey(&key, "s.example");
	build_a(m, "s.example", WARD_TYPE_A, 0, 1, 60);
	assert_int_equal(ward_cache_store(c, k, m->b, m->len, &m->r, T0), 0);

	struct ward_cache_hit hit;
	assert_int_equal(ward_cache_lookup(c, k, T0 + 59999, false, &hit), 0);
	assert_false(hit.stale);
	assert_int_equal(hit.age_s, 59);
	assert_int_equal(ward_cache_lookup(c, k, T0 + 60000, false, &hit), WARD_ENOTFOUND);

	uint64_t last = T0 + 60000 + WARD_CACHE_STALE_MAX * 1000ULL - 1;
	assert_int_equal(ward_cache_lookup(c, k, T0 + 60000, true, &hit), 0);
	assert_true(hit.stale);
	assert_int_equal(hit.age_s, 60);
	assert_memory_equal(hit.msg, m->b, m->len);
	assert_int_equal(ward_cache_lookup(c, k, last, true, &hit), 0);
	assert_true(hit.stale);
	assert_int_equal(hit.age_s, (last - T0) / 1000);
	assert_int_equal(ward_cache_lookup(c, k, last + 1, true, &hit), WARD_ENOTFOUND);

	/* A clock that steps back never underflows the age. */
	assert_int_equal(ward_cache_lookup(c, k, T0 - 5000, false, &hit), 0);
	assert_int_equal(hit.age_s, 0);

	struct ward_cache_stats st;
	ward_cache_get_stats(c, &st);
	assert_int_equal(st.hits, 2);
	assert_int_equal(st.stale_hits, 2);
	assert_int_equal(st.misses, 2);
	ward_cache_free(c);

	/* serve_stale off: allow_stale asks in vain. */
	c = new_cache(16, 0, 86400, false);
	assert_int_equal(ward_cache_store(c, k, m->b, m->len, &m->r, T0), 0);
	assert_int_equal(ward_cache_lookup(c, k, T0 + 60000, true, &hit), WARD_ENOTFOUND);
	free(m);
	ward_cache_free(c);
}

static void name_of(char *buf, size_t cap, const char *prefix, unsigned i)
{
	snprintf(buf, cap, "%s%u.example.net", prefix, i);
}

/*
 * A hot set that keeps being asked survives a flood of names asked once, ten times the
 * cache's size. FIFO or random replacement would have flushed it many times over.
 */
static void test_eviction_keeps_hot(void **state)
{
	(void)state;
	enum { CAP = 1000, HOT = 100, COLD = 10 * CAP };
	struct ward_cache *c = new_cache(CAP, 0, 86400, true);
	struct msg *m = malloc(sizeof(*m));
	struct key key;
	char name[64];
	for (unsigned i = 0; i < CAP; i++) {
		name_of(name, sizeof(name), i < HOT ? "hot" : "warm", i);
		build_a(m, name, WARD_TYPE_A, 0, 1, 3600);
		assert_int_equal(ward_cache_store(c, akey(&key, name), m->b, m->len, &m->r, T0), 0);
	}
	uint64_t now = T0;
	for (unsigned i = 0; i < COLD; i++, now += 10) {
		if (i % 10 == 0) {
			for (unsigned h = 0; h < HOT; h++) {
				name_of(name, sizeof(name), "hot", h);
				assert_true(present(c, akey(&key, name), now));
			}
		}
		name_of(name, sizeof(name), "cold", i);
		build_a(m, name, WARD_TYPE_A, 0, 1, 3600);
		assert_int_equal(ward_cache_store(c, akey(&key, name), m->b, m->len, &m->r, now), 0);
	}
	for (unsigned h = 0; h < HOT; h++) {
		name_of(name, sizeof(name), "hot", h);
		build_a(m, name, WARD_TYPE_A, 0, 1, 3600);
		assert_hit_is(c, akey(&key, name), now, m);
	}
	/* Eviction really happened: the warm fill and the early cold names are gone. */
	name_of(name, sizeof(name), "warm", CAP - 1);
	assert_false(present(c, akey(&key, name), now));
	name_of(name, sizeof(name), "cold", 0);
	assert_false(present(c, akey(&key, name), now));
	name_of(name, sizeof(name), "cold", COLD - 1);
	assert_true(present(c, akey(&key, name), now));

	struct ward_cache_stats st;
	ward_cache_get_stats(c, &st);
	assert_int_equal(st.entries, CAP);
	assert_int_equal(st.evictions, COLD);
	free(m);
	ward_cache_free(c);
}

/* An expired entry goes first, even when it was referenced and live ones were not passed. */
static void test_eviction_prefers_expired(void **state)
{
	(void)state;
	struct ward_cache *c = new_cache(4, 0, 86400, true);
	struct msg *m = malloc(sizeof(*m));
	struct key key;
	const char *names[] = {"a.example", "b.example", "c.example", "d.example"};
	for (unsigned i = 0; i < 4; i++) {
		build_a(m, names[i], WARD_TYPE_A, 0, 1, i == 2 ? 10 : 3600);
		assert_int_equal(ward_cache_store(c, akey(&key, names[i]), m->b, m->len, &m->r, T0),
				 0);
		assert_true(present(c, akey(&key, names[i]), T0)); /* reference bit set */
	}
	uint64_t now = T0 + 11000;
	build_a(m, "e.example", WARD_TYPE_A, 0, 1, 3600);
	assert_int_equal(ward_cache_store(c, akey(&key, "e.example"), m->b, m->len, &m->r, now), 0);
	struct ward_cache_hit hit;
	assert_int_equal(ward_cache_lookup(c, akey(&key, "c.example"), now, true, &hit),
			 WARD_ENOTFOUND);
	for (unsigned i = 0; i < 4; i++)
		if (i != 2)
			assert_true(present(c, akey(&key, names[i]), now));
	assert_true(present(c, akey(&key, "e.example"), now));
	free(m);
	ward_cache_free(c);
}

static void test_replace(void **state)
{
	(void)state;
	struct ward_cache *c = new_cache(8, 0, 86400, true);
	struct msg *m1 = malloc(sizeof(*m1)), *m2 = malloc(sizeof(*m2));
	struct key key;
	const struct ward_cache_key *k = akey(&key, "r.example");

	build_a(m1, "r.example", WARD_TYPE_A, 0, 1, 300);
	build_a(m2, "r.example", WARD_TYPE_A, 0, 20, 60);
	assert_int_equal(ward_cache_store(c, k, m1->b, m1->len, &m1->r, T0), 0);
	assert_int_equal(ward_cache_store(c, k, m2->b, m2->len, &m2->r, T0 + 1000), 0);
	assert_hit_is(c, k, T0 + 1000, m2);
	struct ward_cache_hit hit;
	assert_int_equal(ward_cache_lookup(c, k, T0 + 2000, false, &hit), 0);
	assert_int_equal(hit.age_s, 1); /* counted from the replacement */
	assert_false(present(c, k, T0 + 61000)); /* and it lives for the new TTL */

	/* Small after large, then a huge one, then small again: same slot, right bytes. */
	assert_int_equal(ward_cache_store(c, k, m1->b, m1->len, &m1->r, T0), 0);
	assert_hit_is(c, k, T0, m1);
	struct msg *big = malloc(sizeof(*big));
	build_big_txt(big, "r.example", 40000, 300);
	assert_int_equal(ward_cache_store(c, k, big->b, big->len, &big->r, T0), 0);
	assert_hit_is(c, k, T0, big);
	assert_int_equal(ward_cache_store(c, k, m1->b, m1->len, &m1->r, T0), 0);
	assert_hit_is(c, k, T0, m1);

	struct ward_cache_stats st;
	ward_cache_get_stats(c, &st);
	assert_int_equal(st.entries, 1);
	assert_int_equal(st.stores, 5);
	assert_int_equal(st.evictions, 0);
	/* The 40 kB buffer was given back when a small answer took the slot. */
	assert_true(st.bytes < 1024);
	free(big);
	free(m1);
	free(m2);
	ward_cache_free(c);
}

static void test_capacity_one_and_huge(void **state)
{
	(void)state;
	struct ward_cache *c = new_cache(1, 0, 86400, true);
	struct msg *m = malloc(sizeof(*m)), *big = malloc(sizeof(*big));
	struct key ka, kb;
	build_a(m, "a.example", WARD_TYPE_A, 0, 1, 300);
	assert_int_equal(ward_cache_store(c, akey(&ka, "a.example"), m->b, m->len, &m->r, T0), 0);
	build_big_txt(big, "b.example", WARD_DNS_MSG_MAX, 300);
	const struct ward_cache_key *k = mkkey(&kb, "b.example", WARD_TYPE_TXT, WARD_CLASS_IN,
					       false, false);
	assert_int_equal(ward_cache_store(c, k, big->b, big->len, &big->r, T0), 0);
	assert_false(present(c, akey(&ka, "a.example"), T0));
	assert_hit_is(c, k, T0, big);
	struct ward_cache_stats st;
	ward_cache_get_stats(c, &st);
	assert_int_equal(st.entries, 1);
	assert_int_equal(st.evictions, 1);

	/* One byte more than a DNS message can be is refused, and the entry is untouched. */
	assert_int_equal(ward_cache_store(c, k, big->b, WARD_DNS_MSG_MAX + 1, &big->r, T0),
			 WARD_ETOOBIG);
	assert_hit_is(c, k, T0, big);
	free(m);
	free(big);
	ward_cache_free(c);
}

/* Many huge answers in a small shard: the byte cap holds, the newest answer is kept. */
static void test_byte_cap(void **state)
{
	(void)state;
	struct ward_cache *c = new_cache(8, 0, 86400, true);
	struct msg *big = malloc(sizeof(*big));
	struct key key;
	char name[64];
	struct ward_cache_stats st;
	for (unsigned i = 0; i < 8; i++) {
		name_of(name, sizeof(name), "big", i);
		build_big_txt(big, name, WARD_DNS_MSG_MAX - i, 300);
		const struct ward_cache_key *k = akey(&key, name);
		assert_int_equal(ward_cache_store(c, k, big->b, big->len, &big->r, T0), 0);
		assert_hit_is(c, k, T0, big);
		ward_cache_get_stats(c, &st);
		assert_true(st.bytes <= st.bytes_max);
	}
	assert_int_equal(st.bytes_max, 8ULL * WARD_CACHE_BYTES_PER_ENTRY + WARD_CACHE_BYTES_SLACK);
	assert_true(st.entries < 8);
	assert_true(st.evictions >= 8 - st.entries);

	/* Slots freed for bytes are reused by small answers without evicting anything. */
	uint32_t room = 8 - st.entries;
	uint64_t evictions = st.evictions;
	for (unsigned i = 0; i < room; i++) {
		name_of(name, sizeof(name), "small", i);
		build_a(big, name, WARD_TYPE_A, 0, 1, 300);
		assert_int_equal(ward_cache_store(c, akey(&key, name), big->b, big->len, &big->r,
						  T0), 0);
	}
	ward_cache_get_stats(c, &st);
	assert_int_equal(st.entries, 8);
	assert_int_equal(st.evictions, evictions);
	for (unsigned i = 0; i < room; i++) {
		name_of(name, sizeof(name), "small", i);
		assert_true(present(c, akey(&key, name), T0));
	}
	free(big);
	ward_cache_free(c);
}

static void test_disabled(void **state)
{
	(void)state;
	struct ward_cache *c = new_cache(0, 0, 86400, true);
	struct msg *m = malloc(sizeof(*m));
	struct key key;
	const struct ward_cache_key *k = akey(&key, "d.example");
	build_a(m, "d.example", WARD_TYPE_A, 0, 1, 300);
	struct ward_cache_hit hit;
	assert_int_equal(ward_cache_lookup(c, k, T0, true, &hit), WARD_ENOTFOUND);
	assert_int_equal(ward_cache_store(c, k, m->b, m->len, &m->r, T0), 0);
	assert_int_equal(ward_cache_lookup(c, k, T0, true, &hit), WARD_ENOTFOUND);
	assert_int_equal(ward_cache_ttl_for(c, &m->r), 300);
	struct ward_cache_stats st;
	ward_cache_get_stats(c, &st);
	assert_int_equal(st.capacity, 0);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.misses, 2);
	assert_int_equal(st.stores, 0);
	ward_cache_free(c);
	ward_cache_free(NULL);

	/* Beyond the hard maximum: refused, not attempted. */
	assert_null(ward_cache_new(WARD_CACHE_MAX_ENTRIES + 1, NULL));
	free(m);
}

static void test_bad_input(void **state)
{
	(void)state;
	struct ward_cache *c = new_cache(4, 0, 86400, true);
	struct msg *m = malloc(sizeof(*m));
	struct key key;
	const struct ward_cache_key *k = akey(&key, "b.example");
	build_a(m, "b.example", WARD_TYPE_A, 0, 2, 300);

	struct ward_cache_key bad = *k;
	bad.lname_len = 0;
	assert_int_equal(ward_cache_store(c, &bad, m->b, m->len, &m->r, T0), WARD_EINVAL);
	bad.lname_len = WARD_DNS_NAME_MAX + 1;
	assert_int_equal(ward_cache_store(c, &bad, m->b, m->len, &m->r, T0), WARD_EINVAL);
	struct ward_cache_hit hit;
	assert_int_equal(ward_cache_lookup(c, &bad, T0, true, &hit), WARD_ENOTFOUND);
	assert_int_equal(ward_cache_store(c, k, m->b, 11, &m->r, T0), WARD_EINVAL);
	assert_int_equal(ward_cache_store(c, k, NULL, m->len, &m->r, T0), WARD_EINVAL);
	assert_int_equal(ward_cache_store(c, k, m->b, m->len, NULL, T0), WARD_EINVAL);

	/* A TTL field must lie wholly inside the message. */
	m->r.ttl_off[1] = (uint16_t)(m->len - 3);
	assert_int_equal(ward_cache_store(c, k, m->b, m->len, &m->r, T0), WARD_EINVAL);
	m->r.ttl_off[1] = (uint16_t)(m->len - 4);
	assert_int_equal(ward_cache_store(c, k, m->b, m->len, &m->r, T0), 0);
	m->r.n_ttls = WARD_DNS_MAX_TTLS + 1;
	assert_int_equal(ward_cache_store(c, k, m->b, m->len, &m->r, T0), WARD_EINVAL);

	/* The longest legal name works. */
	struct ward_cache_key longk = *k;
	uint8_t wire[WARD_DNS_NAME_MAX];
	for (unsigned i = 0; i < 3; i++) {
		wire[i * 64] = 63;
		memset(wire + i * 64 + 1, 'a' + i, 63);
	}
	wire[192] = 61; /* 3 x 64 + 62 + root = 255 */
	memset(wire + 193, 'd', 61);
	wire[254] = 0;
	longk.lname = wire;
	longk.lname_len = WARD_DNS_NAME_MAX;
	build_a(m, "b.example", WARD_TYPE_A, 0, 1, 300);
	assert_int_equal(ward_cache_store(c, &longk, m->b, m->len, &m->r, T0), 0);
	assert_hit_is(c, &longk, T0, m);
	free(m);
	ward_cache_free(c);
}

/* Tiny xorshift: the churn test wants reproducible pseudo-random keys. */
static uint32_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 16);
}

/* Every live entry is found by its key exactly once: none lost behind a hole, no twins. */
static void assert_all_reachable(struct ward_cache *c, const char *prefix, unsigned nkeys)
{
	struct key key;
	char name[64];
	uint32_t found = 0;
	for (unsigned i = 0; i < nkeys; i++) {
		name_of(name, sizeof(name), prefix, i);
		found += present(c, akey(&key, name), T0);
	}
	struct ward_cache_stats st;
	ward_cache_get_stats(c, &st);
	assert_int_equal(found, st.entries);
}

/*
 * Index integrity under churn: replacements and evictions remove keys from the middle of
 * probe clusters. Phase 1 (keys == capacity, never evicted): every key must always be
 * found with its latest answer. Phase 2 (keys > capacity): a hit must carry that key's
 * latest answer, the key just stored must be there, the shard stays exactly full, and
 * every live entry stays reachable (evictions punch holes into probe clusters).
 */
static void test_churn(void **state)
{
	(void)state;
	enum { CAP = 64, KEYS1 = 64, KEYS2 = 400, OPS = 40000 };
	struct ward_cache *c = new_cache(CAP, 0, 86400, true);
	struct msg *m = malloc(sizeof(*m));
	struct key key;
	char name[64];
	static unsigned version[KEYS2];
	uint64_t s = 88172645463325252ULL;

	for (unsigned phase = 1; phase <= 2; phase++) {
		unsigned nkeys = phase == 1 ? KEYS1 : KEYS2;
		memset(version, 0, sizeof(version));
		for (unsigned op = 0; op < OPS; op++) {
			unsigned i = rnd(&s) % nkeys;
			name_of(name, sizeof(name), phase == 1 ? "p" : "q", i);
			const struct ward_cache_key *k = akey(&key, name);
			if (rnd(&s) % 2) {
				version[i]++;
				build_a(m, name, WARD_TYPE_A, 0, version[i] % 30 + 1, 300);
				assert_int_equal(ward_cache_store(c, k, m->b, m->len, &m->r, T0), 0);
				assert_true(present(c, k, T0));
				continue;
			}
			struct ward_cache_hit hit;
			int rc = ward_cache_lookup(c, k, T0, false, &hit);
			if (phase == 1 && version[i])
				assert_int_equal(rc, 0);
			if (rc == 0) {
				build_a(m, name, WARD_TYPE_A, 0, version[i] % 30 + 1, 300);
				assert_int_equal(hit.msg_len, m->len);
				assert_memory_equal(hit.msg, m->b, m->len);
			}
			if (op % 1000 == 999)
				assert_all_reachable(c, phase == 1 ? "p" : "q", nkeys);
		}
		struct ward_cache_stats st;
		ward_cache_get_stats(c, &st);
		if (phase == 1)
			assert_int_equal(st.evictions, 0);
		assert_int_equal(st.entries, CAP);
	}
	free(m);
	ward_cache_free(c);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A full-size shard fills without eviction and finds every entry, in well under a second. */
static void test_fill_200k(void **state)
{
	(void)state;
	enum { N = 200000 };
	struct ward_cache *c = new_cache(N, 0, 86400, true);
	struct msg *m = malloc(sizeof(*m));
	struct key key;
	char name[64];
	double t = now_s();
	for (unsigned i = 0; i < N; i++) {
		name_of(name, sizeof(name), "fill", i);
		build_a(m, name, WARD_TYPE_A, 0, 1, 300);
		assert_int_equal(ward_cache_store(c, akey(&key, name), m->b, m->len, &m->r, T0), 0);
	}
	for (unsigned i = 0; i < N; i++) {
		name_of(name, sizeof(name), "fill", i);
		struct ward_cache_hit hit;
		assert_int_equal(ward_cache_lookup(c, akey(&key, name), T0, false, &hit), 0);
		assert_int_equal(hit.msg_len, 12 + key.k.lname_len + 4 + 16);
		assert_memory_equal(hit.msg + 12, key.wire, key.k.lname_len);
	}
	double took = now_s() - t;
	struct ward_cache_stats st;
	ward_cache_get_stats(c, &st);
	assert_int_equal(st.entries, N);
	assert_int_equal(st.evictions, 0);
	assert_true(st.bytes <= st.bytes_max);
	print_message("200k stores + 200k lookups: %.3f s, %.1f MiB of answer buffers\n", took,
		      st.bytes / 1048576.0);
	/* Generous: about 0.1 s here, more under sanitizers; a quadratic bug takes minutes.
	 * Emulated CPUs (make test-cross, qemu-user) set WARD_TEST_TIME_SCALE. */
	const char *scale = getenv("WARD_TEST_TIME_SCALE");
	assert_true(took < 10.0 * (scale && atof(scale) >= 1 ? atof(scale) : 1));

	build_a(m, "one.more", WARD_TYPE_A, 0, 1, 300);
	assert_int_equal(ward_cache_store(c, akey(&key, "one.more"), m->b, m->len, &m->r, T0), 0);
	ward_cache_get_stats(c, &st);
	assert_int_equal(st.entries, N);
	assert_int_equal(st.evictions, 1);
	free(m);
	ward_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_siphash_vectors),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_key_separation),
		cmocka_unit_test(test_ttl_clamp),
		cmocka_unit_test(test_negative),
		cmocka_unit_test(test_rcodes_and_flags),
		cmocka_unit_test(test_expiry_and_stale),
		cmocka_unit_test(test_eviction_keeps_hot),
		cmocka_unit_test(test_eviction_prefers_expired),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_capacity_one_and_huge),
		cmocka_unit_test(test_byte_cap),
		cmocka_unit_test(test_disabled),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_churn),
		cmocka_unit_test(test_fill_200k),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
