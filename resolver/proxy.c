/*
 * PROXY protocol v2 headers (proxy.h). The layout, from haproxy's proxy-protocol.txt:
 *   12 bytes  signature \r\n\r\n\0\r\nQUIT\n
 *    1 byte   version (high nibble, 2) and command (low: 0 LOCAL, 1 PROXY)
 *    1 byte   address family (high: 0 UNSPEC, 1 INET, 2 INET6, 3 UNIX) and transport
 *             (low: 0 UNSPEC, 1 STREAM, 2 DGRAM)
 *    2 bytes  length of what follows, big-endian: the addresses, then TLVs
 * INET addresses take 12 bytes (source, destination, source port, destination port),
 * INET6 36. For LOCAL the block is skipped whatever it holds, as the spec asks.
 */
#include "resolver/proxy.h"

#include <string.h>

static const uint8_t proxy_sig[WARD_PROXY_SIG_LEN] = {
	0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
};

#define FAM_INET 1
#define FAM_INET6 2
#define PROTO_STREAM 1
#define PROTO_DGRAM 2

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* TLVs must fill the rest exactly: a header whose lengths disagree is not believed. */
static bool tlvs_valid(const uint8_t *p, size_t n)
{
	while (n > 0) {
		if (n < 3)
			return false;
		size_t tlv = 3u + get16(p + 1);
		if (tlv > n)
			return false;
		p += tlv;
		n -= tlv;
	}
	return true;
}

static void set_v4(struct ward_addr *a, const uint8_t ip[4], const uint8_t port[2])
{
	memset(a, 0, sizeof(*a));
	a->v4.sin_family = AF_INET;
	memcpy(&a->v4.sin_addr, ip, 4);
	memcpy(&a->v4.sin_port, port, 2);
	a->len = sizeof(a->v4);
}

static void set_v6(struct ward_addr *a, const uint8_t ip[16], const uint8_t port[2])
{
	memset(a, 0, sizeof(*a));
	a->v6.sin6_family = AF_INET6;
	memcpy(&a->v6.sin6_addr, ip, 16);
	memcpy(&a->v6.sin6_port, port, 2);
	a->len = sizeof(a->v6);
}

/* The address block of a PROXY command. @return its length, or 0 when unusable. */
static size_t read_addresses(const uint8_t *p, size_t n, uint8_t fam_proto,
			     struct ward_proxy_header *out)
{
	unsigned proto = fam_proto & 0x0F;
	if (proto != PROTO_STREAM && proto != PROTO_DGRAM)
		return 0;
	switch (fam_proto >> 4) {
	case FAM_INET:
		if (n < 12)
			return 0;
		set_v4(&out->src, p, p + 8);
		set_v4(&out->dst, p + 4, p + 10);
		return 12;
	case FAM_INET6:
		if (n < 36)
			return 0;
		set_v6(&out->src, p, p + 32);
		set_v6(&out->dst, p + 16, p + 34);
		return 36;
	default:
		return 0; /* UNSPEC or UNIX: no address to believe */
	}
}

int ward_proxy_parse(const uint8_t *buf, size_t len, struct ward_proxy_header *out)
{
	size_t sig = len < WARD_PROXY_SIG_LEN ? len : WARD_PROXY_SIG_LEN;
	if (memcmp(buf, proxy_sig, sig) != 0)
		return WARD_PROXY_INVALID;
	if (len > WARD_PROXY_SIG_LEN && (buf[12] >> 4) != 2)
		return WARD_PROXY_INVALID;
	if (len > WARD_PROXY_SIG_LEN && (buf[12] & 0x0F) > 1)
		return WARD_PROXY_INVALID;
	if (len < WARD_PROXY_FIXED_LEN)
		return WARD_PROXY_INCOMPLETE;
	size_t payload = get16(buf + 14);
	if (payload > WARD_PROXY_PAYLOAD_MAX)
		return WARD_PROXY_INVALID;
	if (len < WARD_PROXY_FIXED_LEN + payload)
		return WARD_PROXY_INCOMPLETE;
	const uint8_t *p = buf + WARD_PROXY_FIXED_LEN;
	struct ward_proxy_header h = {.local = (buf[12] & 0x0F) == 0,
				      .len = WARD_PROXY_FIXED_LEN + payload};
	if (!h.local) {
		size_t used = read_addresses(p, payload, buf[13], &h);
		if (!used || !tlvs_valid(p + used, payload - used))
			return WARD_PROXY_INVALID;
	}
	*out = h;
	return WARD_PROXY_OK;
}

bool ward_proxy_trusted(const struct ward_cidr *prefixes, size_t n, const struct sockaddr *addr)
{
	for (size_t i = 0; i < n; i++)
		if (ward_cidr_contains(&prefixes[i], addr))
			return true;
	return false;
}
