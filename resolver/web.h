/*
 * The web listener: the block page, the child's pages (why was this blocked, ask to
 * allow, report a site), the admin UI and the JSON API (docs/api.md).
 *
 * It runs in a thread of its own, with libmicrohttpd driven from that thread (external
 * polling over MHD's epoll descriptor), at a lower CPU priority than the DNS workers.
 * Workers never wait on it: they hand it their blocks over lock-free rings
 * (resolver/records.h) and it reads the policy and overrides through the same atomic
 * pointers they do. All database writes (reports, overrides) happen on this thread.
 *
 * Bounds: connections in all and per client address, request headers (MHD's memory
 * pool), request bodies, and a request's whole life (headers included) per connection.
 * allow_clients applies to every connection. Admin endpoints need the token from
 * web.admin_token_file (created random and 0600 on first start), sent as
 * `Authorization: Bearer`, compared in constant time.
 */
#ifndef WARD_WEB_H
#define WARD_WEB_H

#include <stdbool.h>
#include <stdint.h>

#include "blocklists/policy.h"
#include "resolver/worker.h"

struct ward_web;

/* Bind the listening sockets (before privileges are dropped: port 80 needs root).
 * @return 0 or the bind's WARD_E* code (logged with the address). */
int ward_web_new(const struct ward_conf *conf, struct ward_shared *shared,
		 struct ward_web **out);

/*
 * Read or create the admin token and start the thread. `workers` are read for their
 * record rings; they must outlive the listener. Call after the database is open.
 * @return 0, or a WARD_E* code (logged: the token file, MHD).
 */
int ward_web_start(struct ward_web *web, struct ward_worker *workers, unsigned n_workers);

/* Stop the thread (waits for it) and close the sockets; then free. */
void ward_web_stop(struct ward_web *web);
void ward_web_free(struct ward_web *web);

/* The policy generation / override publication the web thread last took (it moves on
 * at least every 100 ms), for the main thread's retiring. UINT64_MAX before start. */
uint64_t ward_web_seen_generation(const struct ward_web *web);
uint64_t ward_web_seen_overrides(const struct ward_web *web);

/* ---- hooks on the DNS query path (worker threads) ---------------------------------------- */

#define WARD_WEB_HOST_TTL 60

/*
 * Is ctx a query for web.hostname, and what is the answer (query.c's web-host stage
 * writes it, with TTL WARD_WEB_HOST_TTL)? A and AAAA get the listener's address of that
 * family, any other type (or a family the listener lacks) NODATA.
 * @return -1 when the name is another one; else WARD_BLOCK_SINKHOLE with v4 or v6 filled,
 *         or WARD_BLOCK_NODATA.
 */
int ward_web_host_address(const struct ward_worker *w, const struct ward_query_ctx *ctx,
			  uint8_t v4[4], uint8_t v6[16]);

/* Hand a block to the web thread (a ring slot; dropped and counted when full). */
void ward_web_record(struct ward_worker *w, const struct ward_query_ctx *ctx,
		     const struct ward_policy_verdict *v);

#endif
