/*
 * The PROXY protocol, version 2 (the binary form; haproxy's proxy-protocol.txt section 2.2):
 * how a load balancer in front of wardd (dnsdist with useProxyProtocol) tells it who the
 * real client is. Over UDP every datagram starts with a header; over TCP the connection
 * does, once.
 *
 * A header is believed only from an address in trusted_proxies (the transports check that
 * before calling here); from anyone else its bytes are just a malformed DNS message. The
 * parser reads only the bytes it is given, allocates nothing, and never trusts a length.
 */
#ifndef WARD_PROXY_H
#define WARD_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blocklists/addr.h"

#define WARD_PROXY_SIG_LEN 12
#define WARD_PROXY_FIXED_LEN 16  /* signature, version/command, family/transport, length */
/* The most address and TLV bytes after the fixed part that are accepted: dnsdist's own
 * default limit for the headers it reads (setProxyProtocolMaximumPayloadSize). A longer
 * header is refused, so that a TCP connection's header fits its read buffer. */
#define WARD_PROXY_PAYLOAD_MAX 512
#define WARD_PROXY_HEADER_MAX (WARD_PROXY_FIXED_LEN + WARD_PROXY_PAYLOAD_MAX)

enum ward_proxy_status {
	WARD_PROXY_OK = 0,
	WARD_PROXY_INCOMPLETE = 1, /* a valid beginning: more bytes needed (TCP only) */
	WARD_PROXY_INVALID = -1,   /* not a PROXY v2 header, or one that breaks its rules */
};

struct ward_proxy_header {
	bool local;               /* command LOCAL (the proxy's own query, e.g. a health
				     check): the connection's source is the client */
	struct ward_addr src;     /* the client (command PROXY): AF_INET or AF_INET6 */
	struct ward_addr dst;     /* the address the client sent to */
	size_t len;               /* header bytes, TLVs included: the DNS message follows */
};

/*
 * Parse the PROXY v2 header at the start of buf.
 * @param len  the bytes available (a datagram, or what a TCP connection has read so far)
 * @param out  filled on WARD_PROXY_OK only
 * @return WARD_PROXY_OK; WARD_PROXY_INCOMPLETE when the bytes so far are a valid start of
 *         a header; WARD_PROXY_INVALID otherwise (wrong signature, version, command,
 *         family or transport, an address block too short for its family, a payload
 *         over WARD_PROXY_PAYLOAD_MAX, TLVs that do not exactly fill the rest).
 */
int ward_proxy_parse(const uint8_t *buf, size_t len, struct ward_proxy_header *out);

/* Is addr in one of the n prefixes (trusted_proxies)? */
bool ward_proxy_trusted(const struct ward_cidr *prefixes, size_t n, const struct sockaddr *addr);

#endif
