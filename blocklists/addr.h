/*
 * Addresses and prefixes: the basic types of listen and upstream entries, client
 * networks and trusted senders, with their text forms. Everything is checked with
 * inet_pton, which refuses the historic forms ("10.1", "010.0.0.1", hex) that inet_aton
 * would quietly reinterpret: an entry means exactly what it looks like.
 */
#ifndef WARD_ADDR_H
#define WARD_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* A socket address that knows its length; listen and upstream entries. */
struct ward_addr {
	union {
		struct sockaddr sa;
		struct sockaddr_in v4;
		struct sockaddr_in6 v6;
		struct sockaddr_storage ss;
	};
	socklen_t len;
};

/* An address prefix: allow_clients, trusted_forwarders, clients[].match. */
struct ward_cidr {
	int family;        /* AF_INET or AF_INET6 */
	uint8_t addr[16];  /* network address, host bits zeroed; v4 uses the first 4 bytes */
	uint8_t prefix;    /* 0..32 or 0..128 */
};

/* Why a text was refused, so that a config message can name the reason. */
enum ward_addr_why {
	WARD_ADDR_OK = 0,
	WARD_ADDR_NOT_IP,      /* not an address at all */
	WARD_ADDR_BAD_PORT,    /* the address is fine, the port is not 1..65535 */
	WARD_ADDR_BAD_PREFIX,  /* "/nn" missing digits or out of range */
	WARD_ADDR_HOST_BITS,   /* a prefix with bits set below its length */
};

/* Does addr fall inside cidr? addr is a sockaddr_in or sockaddr_in6 (v4-mapped v6 counts
 * as v4). Both are compared in IPv6 form, v4 as ::ffff:a.b.c.d, so a v6 prefix that covers
 * ::ffff:0:0/96 (e.g. ::/0) also covers IPv4 clients. Other families never match. */
bool ward_cidr_contains(const struct ward_cidr *cidr, const struct sockaddr *addr);

/* Parse "1.2.3.4", "1.2.3.4:53", "::1", "[::1]:53" with default_port when none given.
 * @return 0 or WARD_EINVAL. */
int ward_addr_parse(const char *text, uint16_t default_port, struct ward_addr *out);

/* ward_addr_parse with a reason. */
enum ward_addr_why ward_addr_parse_why(const char *text, uint16_t default_port,
				       struct ward_addr *out);

/* Parse "10.0.0.0/8", "::1/128", or a bare address (full-length prefix). Host bits must
 * be zero. @return 0 or WARD_EINVAL. */
int ward_cidr_parse(const char *text, struct ward_cidr *out);

/* ward_cidr_parse with a reason; on WARD_ADDR_HOST_BITS *out holds the masked network. */
enum ward_addr_why ward_cidr_parse_why(const char *text, struct ward_cidr *out);

/* Format an address as "1.2.3.4:53" or "[::1]:53" into buf. */
const char *ward_addr_format(const struct ward_addr *addr, char *buf, size_t cap);

/* "1.2.3.4/24" or "::/0"; a full-length prefix prints as the bare address. */
const char *ward_cidr_format(const struct ward_cidr *cidr, char *buf, size_t cap);

/* "aa:bb:cc:dd:ee:ff" or "aa-bb-cc-dd-ee-ff", either case. @return 0 or -1. */
int ward_mac_parse(const char *text, uint8_t mac[6]);

#endif
