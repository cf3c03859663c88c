/*
 * PROXY v2 headers: ward_proxy_parse() on arbitrary bytes, whole (a UDP datagram) and as
 * every prefix (a TCP connection reading it in pieces). A header taken must lie within the
 * input and name a usable client; a prefix of a header taken must ask for more bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "resolver/proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                            \
	do {                                                                                   \
		if (!(cond))                                                                   \
			abort();                                                               \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ward_proxy_header h;
	int rc = ward_proxy_parse(data, size, &h);
	CHECK(rc == WARD_PROXY_OK || rc == WARD_PROXY_INCOMPLETE || rc == WARD_PROXY_INVALID);
	if (rc != WARD_PROXY_OK)
		return 0;
	CHECK(h.len >= WARD_PROXY_FIXED_LEN && h.len <= size && h.len <= WARD_PROXY_HEADER_MAX);
	if (!h.local) {
		CHECK(h.src.sa.sa_family == AF_INET || h.src.sa.sa_family == AF_INET6);
		CHECK(h.src.len == (h.src.sa.sa_family == AF_INET ? sizeof(struct sockaddr_in)
								  : sizeof(struct sockaddr_in6)));
	}
	for (size_t n = 0; n < h.len; n++) {
		struct ward_proxy_header p;
		CHECK(ward_proxy_parse(data, n, &p) == WARD_PROXY_INCOMPLETE);
	}
	/* What follows the header does not change it. */
	struct ward_proxy_header again;
	CHECK(ward_proxy_parse(data, h.len, &again) == WARD_PROXY_OK && again.len == h.len);
	return 0;
}
