/*
 * The per-query pipeline: one client question, from the moment a transport (udp.c,
 * tcp.c) hands it over until its answer leaves. Every reply wardd sends is made here:
 * policy answers, cache hits, fresh upstream answers and their cache fill, serve-stale
 * and SERVFAIL. fwd.c only carries questions to upstreams and reports back one result.
 *
 * The stages, in order (see query.c):
 *   parse -> allow_clients -> bad queries -> web host -> policy -> cache -> forward
 *   ... upstream result -> cache fill | stale | SERVFAIL -> answer (CNAME chain checked)
 */
#ifndef WARD_QUERY_H
#define WARD_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "resolver/client.h"

struct ward_worker;
struct ward_fwd_result;
struct ward_waiter;

/* Handle one query from a client; the answer is sent now or when upstream replies. */
void ward_query_handle(struct ward_worker *w, const uint8_t *pkt, size_t len,
		       const struct ward_client_ref *from);

/*
 * Take the policy and override table now in force (and tell the main thread which ones
 * this worker holds, so it can free the ones it retired). Every query does; the
 * worker's idle timer does too, so that an idle worker does not keep retired tables.
 */
void ward_query_sync_views(struct ward_worker *w);

/*
 * The upstream stage's end: fwd.c reports how the question it was given came out, once,
 * with the clients waiting on it (a list linked by ward_waiter.next). Each of them gets
 * its answer here: the fresh answer (which also fills the cache), a stale one, or
 * SERVFAIL. Given to fwd.c as its result callback (ward_fwd_init).
 */
void ward_query_upstream_done(struct ward_worker *w, const struct ward_fwd_result *res,
			      const struct ward_waiter *waiters);

/* The size limit for an answer on this transport. */
size_t ward_query_answer_limit(const struct ward_client_ref *to, const struct ward_dns_query *q);

#endif
