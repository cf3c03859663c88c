/*
 * Upstream forwarding: the transport to the upstream resolvers and nothing else. A
 * question goes in (ward_fwd_submit); tries, the TCP fallback on truncation, upstream
 * choice and health happen here; one result per question comes back to the query stage
 * (the callback given to ward_fwd_init), with every client that waited on it. Answers,
 * the cache, serve-stale and SERVFAIL are query.c's.
 */
#ifndef WARD_FWD_H
#define WARD_FWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "resolver/client.h"
#include "resolver/dns.h"
#include "resolver/limit.h"
#include "resolver/upstream.h"

#define WARD_FWD_MAX_PENDING 1024  /* distinct upstream queries in flight per worker */
#define WARD_FWD_SPARE_SLOTS 256   /* slots for queries dropped but still closing (fwd.c) */
#define WARD_FWD_MAX_WAITERS 4096  /* clients waiting on them per worker */
#define WARD_FWD_JOSTLE_MS 200     /* a query in flight this long may be dropped for a new one */
#define WARD_FWD_RECV_MAX 1500     /* we advertise 1232; anything larger retries on TCP */
#define WARD_FWD_DEADLINE_MS 4000  /* a client hears back within this, whatever the upstreams do */

struct ward_worker;
struct ward_pending;

/* A client waiting on a question in flight (counted in ward_fwd.per_client meanwhile). */
struct ward_waiter {
	struct ward_waiter *next;
	struct ward_client_key key;
	struct ward_query_ctx ctx;
};

/* How a question in flight came out. */
enum ward_fwd_outcome {
	WARD_FWD_ANSWER,       /* an upstream answered (any rcode): msg, len, r */
	WARD_FWD_TIMEOUT,      /* no upstream answered before the deadline */
	WARD_FWD_UNREACHABLE,  /* every upstream refused or reset */
	WARD_FWD_LOCAL_ERROR,  /* the query could not be sent (descriptors, buffers) */
	WARD_FWD_JOSTLED,      /* dropped for a newer question (every slot taken) */
};

struct ward_fwd_result {
	enum ward_fwd_outcome outcome;
	const struct ward_dns_query *ask;   /* the question as asked upstream */
	uint8_t *msg;                       /* ANSWER: the stored form, writable until the
					       callback returns (TTL clamping) */
	size_t len;
	const struct ward_dns_response *r;
};

typedef void ward_fwd_done_fn(struct ward_worker *w, const struct ward_fwd_result *res,
			      const struct ward_waiter *waiters);

/* Why ward_fwd_submit did not take a question: the caller answers the client. */
enum ward_fwd_refusal {
	WARD_FWD_TAKEN = 0,
	WARD_FWD_CLIENT_QUOTA, /* the client has limits.upstream_queries_per_client waiting */
	WARD_FWD_FULL,         /* every slot or waiter is taken, none old enough to drop */
};

struct ward_fwd {
	struct ward_upstream *upstreams;
	unsigned n_upstreams;
	ward_fwd_done_fn *done;
	struct ward_pending **chunks;      /* slots, allocated a chunk at a time as needed */
	unsigned n_chunks;
	struct ward_pending *free_pending;
	unsigned n_pending;                /* slots in use, including ones still closing */
	unsigned n_live;                   /* slots still resolving: at most MAX_PENDING */
	struct ward_pending *oldest, *newest; /* live slots in the order they started */
	struct ward_client_counts *per_client; /* waiters per client (the quota) */
	uint64_t local_error_logged_ms;
	int32_t *buckets;                  /* in-flight index: head slot per bucket, -1 = none */
	unsigned n_buckets;
	struct ward_waiter **waiter_chunks;
	unsigned n_waiter_chunks;
	struct ward_waiter *free_waiters;
	uv_timer_t probe_timer;
	uint8_t *resp_store;               /* stored form of the answer being delivered */
};

/* @param done  where every question's result goes. @return 0 or WARD_ENOMEM. */
int ward_fwd_init(struct ward_worker *w, ward_fwd_done_fn *done);
void ward_fwd_destroy(struct ward_worker *w);

/* Resolve `ask` upstream for ctx's client (sharing identical in-flight questions); the
 * result comes to the done callback. `ask` is usually ctx->q; for a safe-search rewrite it
 * is the rewrite target. @return WARD_FWD_TAKEN or why not (nothing was kept). */
enum ward_fwd_refusal ward_fwd_submit(struct ward_worker *w, const struct ward_dns_query *ask,
				      const struct ward_query_ctx *ctx);

/* Upstream queries in flight (slots still busy): the worker drains these before exit. */
unsigned ward_fwd_busy(const struct ward_worker *w);
void ward_fwd_stop(struct ward_worker *w);

#endif
