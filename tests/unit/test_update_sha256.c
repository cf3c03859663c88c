/* SHA-256 (libcrypto behind ward_sha256_*) against the FIPS 180-4 / NIST example vectors,
 * whole and in every split, and a context reused for a second digest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "blocklists/update.h"

static const struct {
	const char *msg;
	const char *hex;
} vectors[] = {
	{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
	{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklm"
	  "nopqrlmnopqrsmnopqrstnopqrstu",
	  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
};

static void digest_hex(const void *data, size_t len, char hex[65])
{
	struct ward_sha256 s = {0};
	uint8_t d[32];
	assert_int_equal(0, ward_sha256_init(&s));
	ward_sha256_update(&s, data, len);
	assert_int_equal(0, ward_sha256_final(&s, d));
	ward_sha256_free(&s);
	ward_sha256_hex(d, hex);
}

static void test_vectors(void **state)
{
	char hex[65];
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		digest_hex(vectors[i].msg, strlen(vectors[i].msg), hex);
		assert_string_equal(hex, vectors[i].hex);
	}
}

/* One million 'a': the long-message vector, fed in odd-sized pieces. */
static void test_million_a(void **state)
{
	struct ward_sha256 s = {0};
	uint8_t d[32];
	char hex[65], chunk[997];
	memset(chunk, 'a', sizeof(chunk));
	assert_int_equal(0, ward_sha256_init(&s));
	size_t left = 1000000;
	while (left) {
		size_t n = left < sizeof(chunk) ? left : sizeof(chunk);
		ward_sha256_update(&s, chunk, n);
		left -= n;
	}
	assert_int_equal(0, ward_sha256_final(&s, d));
	ward_sha256_free(&s);
	ward_sha256_hex(d, hex);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* Every split point of a message that crosses block and padding boundaries gives the
 * digest of the whole. */
static void test_splits(void **state)
{
	char msg[200], whole[65], hex[65];
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (char)('a' + i % 26);
	for (size_t len = 0; len <= sizeof(msg); len += 7) {
		digest_hex(msg, len, whole);
		for (size_t cut = 0; cut <= len; cut++) {
			struct ward_sha256 s = {0};
			uint8_t d[32];
			assert_int_equal(0, ward_sha256_init(&s));
			ward_sha256_update(&s, msg, cut);
			ward_sha256_update(&s, msg + cut, len - cut);
			assert_int_equal(0, ward_sha256_final(&s, d));
			ward_sha256_free(&s);
			ward_sha256_hex(d, hex);
			assert_string_equal(hex, whole);
		}
	}
}

/* Lengths 55, 56 and 64 put the length field at the edge of a padding block. */
static void test_padding_edges(void **state)
{
	char msg[64], hex[65];
	memset(msg, 'a', sizeof(msg));
	digest_hex(msg, 55, hex);
	assert_string_equal(hex, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
	digest_hex(msg, 56, hex);
	assert_string_equal(hex, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
	digest_hex(msg, 64, hex);
	assert_string_equal(hex, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

/* init starts over on a used context: the second digest is not the first's continuation. */
static void test_reuse(void **state)
{
	struct ward_sha256 s = {0};
	uint8_t d[32];
	char hex[65];
	assert_int_equal(0, ward_sha256_init(&s));
	ward_sha256_update(&s, "xyz", 3);
	assert_int_equal(0, ward_sha256_final(&s, d));
	assert_int_equal(0, ward_sha256_init(&s));
	ward_sha256_update(&s, "abc", 3);
	assert_int_equal(0, ward_sha256_final(&s, d));
	ward_sha256_free(&s);
	ward_sha256_hex(d, hex);
	assert_string_equal(hex, vectors[1].hex);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_million_a),
		cmocka_unit_test(test_splits),
		cmocka_unit_test(test_padding_edges),
		cmocka_unit_test(test_reuse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
