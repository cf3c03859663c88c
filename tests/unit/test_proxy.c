/*
 * PROXY protocol v2 headers (resolver/proxy.c): a table of raw headers, each with what the
 * parser must make of it, over UDP (the whole datagram) and TCP (every shorter prefix of a
 * valid header must ask for more bytes, never be taken or refused early).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "resolver/proxy.h"

#define SIG "\r\n\r\n\0\r\nQUIT\n"

struct row {
	const char *what;
	const char *bytes;        /* the header (and maybe a DNS message after it) */
	size_t len;
	int want;                 /* WARD_PROXY_* */
	bool local;
	const char *src;          /* the client it names, "" for LOCAL */
	unsigned src_port;
	size_t header_len;
};

#define B(s) s, sizeof(s) - 1

static const struct row rows[] = {
	{ "v4 udp", B(SIG "\x21\x12\x00\x0c" "\xc0\x00\x02\x01" "\x7f\x00\x00\x01" "\x30\x39"
		      "\x00\x35" "DNS"), WARD_PROXY_OK, false, "192.0.2.1", 12345, 28 },
	{ "v4 tcp", B(SIG "\x21\x11\x00\x0c" "\x0a\x01\x02\x03" "\x7f\x00\x00\x01" "\x00\x01"
		      "\x00\x35"), WARD_PROXY_OK, false, "10.1.2.3", 1, 28 },
	{ "v6", B(SIG "\x21\x22\x00\x24" "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x07"
		  "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01" "\x00\x50" "\x00\x35"),
	  WARD_PROXY_OK, false, "2001:db8::7", 80, 52 },
	{ "v4 with TLVs", B(SIG "\x21\x12\x00\x16" "\xc0\x00\x02\x02" "\x7f\x00\x00\x01" "\x00\x02"
			    "\x00\x35" "\x04\x00\x00" "\xee\x00\x04" "abcd"),
	  WARD_PROXY_OK, false, "192.0.2.2", 2, 38 },
	{ "local, empty", B(SIG "\x20\x00\x00\x00"), WARD_PROXY_OK, true, "", 0, 16 },
	{ "local, block ignored", B(SIG "\x20\x12\x00\x03" "xyz"), WARD_PROXY_OK, true, "", 0, 19 },
	{ "version 1", B(SIG "\x11\x12\x00\x0c" "\xc0\x00\x02\x01" "\x7f\x00\x00\x01" "\x30\x39"
			 "\x00\x35"), WARD_PROXY_INVALID, false, NULL, 0, 0 },
	{ "command 2", B(SIG "\x22\x12\x00\x0c" "\xc0\x00\x02\x01" "\x7f\x00\x00\x01" "\x30\x39"
			 "\x00\x35"), WARD_PROXY_INVALID, false, NULL, 0, 0 },
	{ "unix family", B(SIG "\x21\x31\x00\x0c" "\xc0\x00\x02\x01" "\x7f\x00\x00\x01" "\x30\x39"
			   "\x00\x35"), WARD_PROXY_INVALID, false, NULL, 0, 0 },
	{ "unspec family", B(SIG "\x21\x02\x00\x00"), WARD_PROXY_INVALID, false, NULL, 0, 0 },
	{ "unspec transport", B(SIG "\x21\x10\x00\x0c" "\xc0\x00\x02\x01" "\x7f\x00\x00\x01"
				"\x30\x39" "\x00\x35"), WARD_PROXY_INVALID, false, NULL, 0, 0 },
	{ "v4 block short", B(SIG "\x21\x12\x00\x08" "\xc0\x00\x02\x01" "\x7f\x00\x00\x01"),
	  WARD_PROXY_INVALID, false, NULL, 0, 0 },
	{ "v6 block short", B(SIG "\x21\x22\x00\x0c" "\xc0\x00\x02\x01" "\x7f\x00\x00\x01"
			      "\x30\x39" "\x00\x35"), WARD_PROXY_INVALID, false, NULL, 0, 0 },
	{ "TLV overruns", B(SIG "\x21\x12\x00\x10" "\xc0\x00\x02\x02" "\x7f\x00\x00\x01" "\x00\x02"
			    "\x00\x35" "\x04\x00\x09" "a"), WARD_PROXY_INVALID, false, NULL, 0, 0 },
	{ "TLV cut in its header", B(SIG "\x21\x12\x00\x0e" "\xc0\x00\x02\x02" "\x7f\x00\x00\x01"
				     "\x00\x02" "\x00\x35" "\x04\x00"),
	  WARD_PROXY_INVALID, false, NULL, 0, 0 },
	{ "payload over the cap", B(SIG "\x21\x12\x02\x01"), WARD_PROXY_INVALID, false, NULL, 0, 0 },
	{ "length past the datagram", B(SIG "\x21\x12\x00\x20" "\xc0\x00\x02\x01"),
	  WARD_PROXY_INCOMPLETE, false, NULL, 0, 0 },
	{ "a DNS query", B("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"),
	  WARD_PROXY_INVALID, false, NULL, 0, 0 },
	{ "signature off by one byte", B("\r\n\r\n\0\r\nQUIT\r" "\x21\x12\x00\x00"),
	  WARD_PROXY_INVALID, false, NULL, 0, 0 },
	{ "PROXY v1 text", B("PROXY TCP4 192.0.2.1 127.0.0.1 1 53\r\n"), WARD_PROXY_INVALID,
	  false, NULL, 0, 0 },
};

static void check_row(const struct row *r)
{
	struct ward_proxy_header h;
	memset(&h, 0xAB, sizeof(h));
	int rc = ward_proxy_parse((const uint8_t *)r->bytes, r->len, &h);
	if (rc != r->want)
		fail_msg("%s: got %d, want %d", r->what, rc, r->want);
	if (rc != WARD_PROXY_OK)
		return;
	assert_int_equal(h.len, r->header_len);
	assert_int_equal(h.local, r->local);
	if (r->local)
		return;
	char text[INET6_ADDRSTRLEN];
	int fam = h.src.sa.sa_family;
	const void *ip = fam == AF_INET ? (const void *)&h.src.v4.sin_addr
					: (const void *)&h.src.v6.sin6_addr;
	unsigned port = ntohs(fam == AF_INET ? h.src.v4.sin_port : h.src.v6.sin6_port);
	assert_non_null(inet_ntop(fam, ip, text, sizeof(text)));
	assert_string_equal(text, r->src);
	assert_int_equal(port, r->src_port);
	assert_int_equal(h.src.len, fam == AF_INET ? sizeof(struct sockaddr_in)
						   : sizeof(struct sockaddr_in6));
}

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		check_row(&rows[i]);
}

/* TCP reads a header in pieces: each prefix of a valid header asks for more. Each prefix
 * is copied to a buffer of exactly its size, so ASan sees a read past it. */
static void test_prefixes_incomplete(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		if (r->want != WARD_PROXY_OK)
			continue;
		for (size_t n = 0; n < r->header_len; n++) {
			uint8_t *copy = malloc(n ? n : 1);
			memcpy(copy, r->bytes, n);
			struct ward_proxy_header h;
			int rc = ward_proxy_parse(copy, n, &h);
			free(copy);
			if (rc != WARD_PROXY_INCOMPLETE)
				fail_msg("%s: prefix of %zu bytes gave %d", r->what, n, rc);
		}
	}
}

static void test_trusted(void **state)
{
	(void)state;
	struct ward_cidr p[2];
	assert_int_equal(ward_cidr_parse("127.0.0.2", &p[0]), 0);
	assert_int_equal(ward_cidr_parse("2001:db8::/32", &p[1]), 0);
	struct ward_addr a;
	assert_int_equal(ward_addr_parse("127.0.0.2:5300", 53, &a), 0);
	assert_true(ward_proxy_trusted(p, 2, &a.sa));
	assert_int_equal(ward_addr_parse("127.0.0.3", 53, &a), 0);
	assert_false(ward_proxy_trusted(p, 2, &a.sa));
	assert_false(ward_proxy_trusted(p, 0, &a.sa));
	assert_int_equal(ward_addr_parse("[2001:db8::99]:53", 53, &a), 0);
	assert_true(ward_proxy_trusted(p, 2, &a.sa));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_prefixes_incomplete),
		cmocka_unit_test(test_trusted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
