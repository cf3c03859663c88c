/*
 * SHA-256 of raw feed copies and of a build's inputs, through libcrypto's EVP interface
 * (OpenSSL: libcurl already brings it in). The digest only recognises an unchanged feed
 * and fingerprints a build's inputs; it guards no secret.
 */
#include <openssl/evp.h>
#include <string.h>

#include "blocklists/error.h"
#include "blocklists/update.h"

int ward_sha256_init(struct ward_sha256 *s)
{
	s->failed = false;
	if (!s->ctx && !(s->ctx = EVP_MD_CTX_new())) {
		s->failed = true;
		return WARD_ENOMEM;
	}
	if (EVP_DigestInit_ex(s->ctx, EVP_sha256(), NULL) != 1) {
		s->failed = true;
		return WARD_ENOMEM;
	}
	return 0;
}

void ward_sha256_update(struct ward_sha256 *s, const void *data, size_t len)
{
	if (!s->failed && (!s->ctx || EVP_DigestUpdate(s->ctx, data, len) != 1))
		s->failed = true;
}

int ward_sha256_final(struct ward_sha256 *s, uint8_t out[32])
{
	unsigned n = 0;
	if (s->failed || !s->ctx || EVP_DigestFinal_ex(s->ctx, out, &n) != 1 || n != 32) {
		memset(out, 0, 32);
		return WARD_ENOMEM;
	}
	return 0;
}

void ward_sha256_free(struct ward_sha256 *s)
{
	EVP_MD_CTX_free(s->ctx);
	s->ctx = NULL;
}

void ward_sha256_hex(const uint8_t digest[32], char out[65])
{
	static const char hex[] = "0123456789abcdef";
	for (unsigned i = 0; i < 32; i++) {
		out[2 * i] = hex[digest[i] >> 4];
		out[2 * i + 1] = hex[digest[i] & 15];
	}
	out[64] = '\0';
}
