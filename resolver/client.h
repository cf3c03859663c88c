/*
 * Who asked and where the answer goes: the per-query record that the transports (udp.c,
 * tcp.c) fill, the query stages (query.c) read and the upstream stage (fwd.c) keeps for
 * every client waiting on a question. Types only, so that every stage can include it
 * without including another stage.
 */
#ifndef WARD_CLIENT_H
#define WARD_CLIENT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blocklists/addr.h"
#include "resolver/dns.h"

struct ward_udp_listener;
struct ward_tcp_conn;

enum ward_transport { WARD_TRANSPORT_UDP, WARD_TRANSPORT_TCP };

/* The address a UDP query arrived at, when the listener is a wildcard (0.0.0.0, ::):
 * the answer must leave from it, or a client of a multi-homed router drops it. */
struct ward_local_addr {
	int family;                  /* 0 = not recorded (concrete listen address) */
	unsigned ifindex;
	union {
		struct in_addr v4;
		struct in6_addr v6;
	};
};

/* Where an answer has to go. TCP refs carry the connection's generation, so an answer
 * for a connection that closed (and whose slot was reused) is dropped, not misdelivered. */
struct ward_client_ref {
	enum ward_transport transport;
	struct ward_udp_listener *udp;
	struct ward_addr addr;
	struct ward_local_addr local;
	struct ward_tcp_conn *conn;
	uint32_t conn_gen;
};

/* Everything needed to answer one client once the data is there. */
struct ward_query_ctx {
	struct ward_client_ref client;
	struct ward_dns_query q;     /* as the client asked it */
	size_t profile;              /* policy profile, (size_t)-1 when none */
	const char *rewrite_target;  /* safe search: answer as CNAME to this (static) */
};

#endif
