/*
 * Addresses, prefixes and MACs (addr.h), as the config writes them. Everything is checked with
 * inet_pton, which refuses the historic forms ("10.1", "010.0.0.1", hex) that inet_aton
 * would quietly reinterpret: a config entry means exactly what it looks like.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "blocklists/addr.h"
#include "blocklists/error.h"

/* Longer than any address with brackets and a port: rejects junk before copying it. */
#define ADDR_TEXT_MAX 64

static int parse_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;
	size_t n = 0;
	for (; s[n]; n++) {
		if (s[n] < '0' || s[n] > '9' || n >= 5)
			return -1;
		v = v * 10 + (unsigned long)(s[n] - '0');
	}
	if (n == 0 || v == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static void set_v4(struct ward_addr *out, const struct in_addr *a, uint16_t port)
{
	memset(out, 0, sizeof(*out));
	out->v4.sin_family = AF_INET;
	out->v4.sin_addr = *a;
	out->v4.sin_port = htons(port);
	out->len = sizeof(out->v4);
}

static void set_v6(struct ward_addr *out, const struct in6_addr *a, uint16_t port)
{
	memset(out, 0, sizeof(*out));
	out->v6.sin6_family = AF_INET6;
	out->v6.sin6_addr = *a;
	out->v6.sin6_port = htons(port);
	out->len = sizeof(out->v6);
}

/* "[v6]" or "[v6]:port". */
static enum ward_addr_why parse_bracketed(const char *text, uint16_t port,
					   struct ward_addr *out)
{
	char host[ADDR_TEXT_MAX];
	const char *close = strchr(text, ']');
	if (!close || (size_t)(close - text - 1) >= sizeof(host))
		return WARD_ADDR_NOT_IP;
	memcpy(host, text + 1, (size_t)(close - text - 1));
	host[close - text - 1] = '\0';
	struct in6_addr a6;
	if (inet_pton(AF_INET6, host, &a6) != 1)
		return WARD_ADDR_NOT_IP;
	if (close[1] != '\0' && close[1] != ':')
		return WARD_ADDR_NOT_IP;
	if (close[1] == ':' && parse_port(close + 2, &port) != 0)
		return WARD_ADDR_BAD_PORT;
	set_v6(out, &a6, port);
	return WARD_ADDR_OK;
}

enum ward_addr_why ward_addr_parse_why(const char *text, uint16_t default_port,
				    struct ward_addr *out)
{
	if (strlen(text) >= ADDR_TEXT_MAX)
		return WARD_ADDR_NOT_IP;
	if (text[0] == '[')
		return parse_bracketed(text, default_port, out);

	const char *colon = strchr(text, ':');
	if (colon && strchr(colon + 1, ':')) {
		/* Two or more colons: a bare IPv6 address, which cannot carry a port. */
		struct in6_addr a6;
		if (inet_pton(AF_INET6, text, &a6) != 1)
			return WARD_ADDR_NOT_IP;
		set_v6(out, &a6, default_port);
		return WARD_ADDR_OK;
	}

	char host[ADDR_TEXT_MAX];
	size_t hlen = colon ? (size_t)(colon - text) : strlen(text);
	memcpy(host, text, hlen);
	host[hlen] = '\0';
	struct in_addr a4;
	if (inet_pton(AF_INET, host, &a4) != 1)
		return WARD_ADDR_NOT_IP;
	uint16_t port = default_port;
	if (colon && parse_port(colon + 1, &port) != 0)
		return WARD_ADDR_BAD_PORT;
	set_v4(out, &a4, port);
	return WARD_ADDR_OK;
}

int ward_addr_parse(const char *text, uint16_t default_port, struct ward_addr *out)
{
	if (!text || !out)
		return WARD_EINVAL;
	struct ward_addr tmp;
	if (ward_addr_parse_why(text, default_port, &tmp) != WARD_ADDR_OK)
		return WARD_EINVAL;
	*out = tmp;
	return 0;
}

static int parse_prefix(const char *s, unsigned max, uint8_t *prefix)
{
	unsigned v = 0;
	size_t n = 0;
	for (; s[n]; n++) {
		if (s[n] < '0' || s[n] > '9' || n >= 3)
			return -1;
		v = v * 10 + (unsigned)(s[n] - '0');
	}
	/* "/08" is refused: a leading zero usually means a typo, not eight. */
	if (n == 0 || (n > 1 && s[0] == '0') || v > max)
		return -1;
	*prefix = (uint8_t)v;
	return 0;
}

/* Clear the bits below the prefix. @return whether any were set. */
static int mask_host_bits(struct ward_cidr *c)
{
	unsigned bytes = c->family == AF_INET ? 4 : 16;
	int had = 0;
	for (unsigned i = 0; i < bytes; i++) {
		unsigned keep = c->prefix >= (i + 1) * 8 ? 8
				: c->prefix > i * 8 ? c->prefix - i * 8 : 0;
		uint8_t mask = keep ? (uint8_t)(0xffu << (8 - keep)) : 0;
		if (c->addr[i] & (uint8_t)~mask)
			had = 1;
		c->addr[i] &= mask;
	}
	return had;
}

enum ward_addr_why ward_cidr_parse_why(const char *text, struct ward_cidr *out)
{
	char host[ADDR_TEXT_MAX];
	const char *slash = strchr(text, '/');
	size_t hlen = slash ? (size_t)(slash - text) : strlen(text);
	if (hlen >= sizeof(host))
		return WARD_ADDR_NOT_IP;
	memcpy(host, text, hlen);
	host[hlen] = '\0';

	struct ward_cidr c;
	memset(&c, 0, sizeof(c));
	if (inet_pton(AF_INET, host, c.addr) == 1)
		c.family = AF_INET;
	else if (inet_pton(AF_INET6, host, c.addr) == 1)
		c.family = AF_INET6;
	else
		return WARD_ADDR_NOT_IP;

	unsigned max = c.family == AF_INET ? 32 : 128;
	c.prefix = (uint8_t)max;
	if (slash && parse_prefix(slash + 1, max, &c.prefix) != 0)
		return WARD_ADDR_BAD_PREFIX;
	int host_bits = mask_host_bits(&c);
	*out = c;
	return host_bits ? WARD_ADDR_HOST_BITS : WARD_ADDR_OK;
}

int ward_cidr_parse(const char *text, struct ward_cidr *out)
{
	if (!text || !out)
		return WARD_EINVAL;
	struct ward_cidr tmp;
	if (ward_cidr_parse_why(text, &tmp) != WARD_ADDR_OK)
		return WARD_EINVAL;
	*out = tmp;
	return 0;
}

const char *ward_cidr_format(const struct ward_cidr *cidr, char *buf, size_t cap)
{
	char text[INET6_ADDRSTRLEN];
	unsigned full = cidr->family == AF_INET ? 32 : 128;
	if (!inet_ntop(cidr->family, cidr->addr, text, sizeof(text)))
		snprintf(text, sizeof(text), "?");
	if (cidr->prefix == full)
		snprintf(buf, cap, "%s", text);
	else
		snprintf(buf, cap, "%s/%u", text, (unsigned)cidr->prefix);
	return buf;
}

/*
 * Both sides are compared in the IPv6 form, IPv4 as ::ffff:a.b.c.d (RFC 4291 2.5.5.2), so
 * a v4 prefix matches a v4 client whether the socket reported it as AF_INET or v4-mapped
 * AF_INET6, and a v6 prefix covering ::ffff:0:0/96 covers v4 clients too.
 */
static void to_mapped(int family, const uint8_t *addr, uint8_t out[16])
{
	if (family == AF_INET) {
		memset(out, 0, 10);
		out[10] = 0xff;
		out[11] = 0xff;
		memcpy(out + 12, addr, 4);
	} else {
		memcpy(out, addr, 16);
	}
}

bool ward_cidr_contains(const struct ward_cidr *cidr, const struct sockaddr *addr)
{
	uint8_t a[16], net[16];
	if (!cidr || !addr)
		return false;
	/* The common case (every query checks allow_clients and the client table): an IPv4
	 * client against an IPv4 prefix, the same comparison without the mapped forms. */
	if (addr->sa_family == AF_INET && cidr->family == AF_INET && cidr->prefix <= 32) {
		uint32_t host, netv4;
		memcpy(&host, &((const struct sockaddr_in *)addr)->sin_addr, 4);
		memcpy(&netv4, cidr->addr, 4);
		uint32_t mask = cidr->prefix ? htonl(~0u << (32 - cidr->prefix)) : 0;
		return ((host ^ netv4) & mask) == 0;
	}
	if (addr->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)addr;
		to_mapped(AF_INET, (const uint8_t *)&s4->sin_addr, a);
	} else if (addr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)addr;
		memcpy(a, &s6->sin6_addr, 16);
	} else {
		return false;
	}
	if (cidr->family != AF_INET && cidr->family != AF_INET6)
		return false;
	to_mapped(cidr->family, cidr->addr, net);
	unsigned bits = cidr->family == AF_INET ? 96u + cidr->prefix : cidr->prefix;
	if (bits > 128)
		return false;
	unsigned whole = bits / 8, rest = bits % 8;
	if (memcmp(a, net, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xffu << (8 - rest));
	return (a[whole] & mask) == (net[whole] & mask);
}

const char *ward_addr_format(const struct ward_addr *addr, char *buf, size_t cap)
{
	char text[INET6_ADDRSTRLEN];
	if (!buf || cap == 0)
		return buf;
	if (!addr) {
		snprintf(buf, cap, "?");
	} else if (addr->sa.sa_family == AF_INET &&
		   inet_ntop(AF_INET, &addr->v4.sin_addr, text, sizeof(text))) {
		snprintf(buf, cap, "%s:%u", text, (unsigned)ntohs(addr->v4.sin_port));
	} else if (addr->sa.sa_family == AF_INET6 &&
		   inet_ntop(AF_INET6, &addr->v6.sin6_addr, text, sizeof(text))) {
		snprintf(buf, cap, "[%s]:%u", text, (unsigned)ntohs(addr->v6.sin6_port));
	} else {
		snprintf(buf, cap, "?");
	}
	return buf;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int ward_mac_parse(const char *text, uint8_t mac[6])
{
	if (strlen(text) != 17)
		return -1;
	char sep = text[2];
	if (sep != ':' && sep != '-')
		return -1;
	for (unsigned i = 0; i < 6; i++) {
		const char *p = text + i * 3;
		int hi = hex_digit(p[0]), lo = hex_digit(p[1]);
		if (hi < 0 || lo < 0 || (i < 5 && p[2] != sep))
			return -1;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
