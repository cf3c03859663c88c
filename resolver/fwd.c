/*
 * Upstream forwarding (RFC 5452 hygiene, RFC 7766 TCP fallback): the transport only. How a
 * question came out goes back to the query stage in one ward_fwd_result (see fwd.h); the
 * answers, the cache fill, serve-stale and SERVFAIL are query.c's.
 *
 * Each distinct question in flight has one pending slot; identical questions from other
 * clients wait on it (fan-out). Every try uses a fresh UDP socket bound to a random
 * source port and connected to the upstream, with a fresh random ID, so the kernel only
 * delivers datagrams from that address and port, and we still check ID and question.
 *
 * A try ends in an answer, a truncation (retry the same upstream over TCP), or a failure
 * (next upstream). Closing libuv handles is asynchronous, so a slot moves on only from
 * its close callback: after_close says where to.
 *
 * Which upstream a try goes to, and when one counts as down, is upstream.c's business:
 * this file reports each answer and each failure that is the upstream's, never one of
 * ours (no descriptor, no buffer, a full socket: see local_failure).
 *
 * Caps, so that no client can take every slot (all per worker):
 * - limits.upstream_queries_per_client: a client's queries waiting on upstreams (shared
 *   questions included); one more is refused at once (the caller answers SERVFAIL).
 * - WARD_FWD_MAX_PENDING live slots. When they are all taken, the oldest one that has run
 *   for WARD_FWD_JOSTLE_MS is dropped for the new query (Unbound's "jostle"); its result is
 *   WARD_FWD_JOSTLED. When none is that old, the new query is refused. A dropped slot still
 *   closes its socket asynchronously: WARD_FWD_SPARE_SLOTS more slots cover that.
 *
 * Memory: slots and waiters are allocated SLOT_CHUNK / WAITER_CHUNK at a time, when the
 * free ones run out, and kept until the worker ends. A router that sees a few questions
 * in flight holds a few chunks, not the ~7 MiB the caps allow; a busy resolver allocates
 * during its first bursts and then never again.
 */
#include "resolver/fwd.h"

#include <stdlib.h>
#include <string.h>

#include "blocklists/error.h"
#include "blocklists/log.h"
#include "resolver/uv_error.h"
#include "resolver/worker.h"

#define PROBE_INTERVAL_MS 1000
#define TCP_BUF_MAX (WARD_DNS_MSG_MAX + 2)
#define N_SLOTS (WARD_FWD_MAX_PENDING + WARD_FWD_SPARE_SLOTS)
#define LOG_EVERY_MS 60000 /* up/down and local-error lines: at most one a minute each */
#define LOCAL_RETRIES 1    /* tries that fail on our side, per query, before giving up */
#define SLOT_CHUNK 64
#define WAITER_CHUNK 128
#define N_SLOT_CHUNKS ((N_SLOTS + SLOT_CHUNK - 1) / SLOT_CHUNK)
#define N_WAITER_CHUNKS ((WARD_FWD_MAX_WAITERS + WAITER_CHUNK - 1) / WAITER_CHUNK)

_Static_assert(WARD_FWD_MAX_WAITERS == 4096, "limits.upstream_queries_per_client max");

enum after_close { AFTER_NOTHING, AFTER_NEXT_TRY, AFTER_TCP, AFTER_RELEASE };

struct ward_pending {
	struct ward_worker *worker;
	struct ward_pending *next_free;
	int32_t index;               /* chunk * SLOT_CHUNK + place: the in-flight index's id */
	int32_t next_in_bucket;
	uint32_t hash;
	bool in_use;
	bool indexed;
	bool live;                   /* resolving, in the oldest..newest list; may be jostled */
	struct ward_pending *older, *newer;
	int probe_upstream;          /* >= 0: a health probe for that upstream, no waiters */
	struct ward_dns_query q;
	struct ward_waiter *waiters;
	unsigned attempts;
	unsigned local_errors;
	unsigned cur;                /* upstream of the current try */
	uint64_t tried;              /* upstreams tried in this round (bit per upstream) */
	uint64_t refused;            /* upstreams that refused this query: not tried again */
	uint64_t started;            /* when the query started (jostling) */
	uint64_t try_started;        /* when the current try was sent (RTT, health) */
	uint16_t id;
	uint64_t deadline;
	uv_timer_t timer;
	uv_udp_t udp;
	uv_tcp_t tcp;
	bool udp_open, tcp_open;
	unsigned closing;
	enum after_close after_close;
	enum ward_fwd_outcome failure; /* what to report if every try fails */
	uv_connect_t connect;
	uv_write_t write_req;
	uint8_t query[2 + 512];      /* length prefix, then the message */
	size_t query_len;
	uint8_t rbuf[WARD_FWD_RECV_MAX];
	uint8_t *tcp_buf;            /* allocated on first TCP use, kept with the slot */
	size_t tcp_len;
};

static void start_next_try(struct ward_pending *p);
static void finish_failure(struct ward_pending *p);

/* ---- in-flight index ------------------------------------------------------------------ */

static uint32_t question_hash(const struct ward_dns_query *q)
{
	uint32_t h = 2166136261u;
	for (unsigned i = 0; i < q->qname_len; i++)
		h = (h ^ q->lname[i]) * 16777619u;
	h = (h ^ q->qtype) * 16777619u;
	h = (h ^ q->qclass) * 16777619u;
	return h ^ ((uint32_t)q->do_bit << 1) ^ (uint32_t)q->cd;
}

static bool same_question(const struct ward_dns_query *a, const struct ward_dns_query *b)
{
	return a->qname_len == b->qname_len && a->qtype == b->qtype && a->qclass == b->qclass &&
	       a->do_bit == b->do_bit && a->cd == b->cd &&
	       memcmp(a->lname, b->lname, a->qname_len) == 0;
}

static struct ward_pending *slot_at(const struct ward_fwd *f, int32_t i)
{
	return &f->chunks[i / SLOT_CHUNK][i % SLOT_CHUNK];
}

static struct ward_pending *index_find(struct ward_fwd *f, const struct ward_dns_query *q,
				       uint32_t hash)
{
	int32_t i = f->buckets[hash & (f->n_buckets - 1)];
	while (i >= 0) {
		struct ward_pending *p = slot_at(f, i);
		if (p->hash == hash && same_question(&p->q, q))
			return p;
		i = p->next_in_bucket;
	}
	return NULL;
}

static void index_insert(struct ward_fwd *f, struct ward_pending *p)
{
	int32_t *head = &f->buckets[p->hash & (f->n_buckets - 1)];
	p->next_in_bucket = *head;
	*head = p->index;
	p->indexed = true;
}

static void index_remove(struct ward_fwd *f, struct ward_pending *p)
{
	if (!p->indexed)
		return;
	int32_t self = p->index;
	int32_t *link = &f->buckets[p->hash & (f->n_buckets - 1)];
	while (*link >= 0 && *link != self)
		link = &slot_at(f, *link)->next_in_bucket;
	if (*link == self)
		*link = p->next_in_bucket;
	p->indexed = false;
}

/* ---- slots and waiters ------------------------------------------------------------------ */

static void live_link(struct ward_fwd *f, struct ward_pending *p)
{
	p->live = true;
	p->older = f->newest;
	p->newer = NULL;
	if (f->newest)
		f->newest->newer = p;
	else
		f->oldest = p;
	f->newest = p;
	f->n_live++;
}

static void live_unlink(struct ward_fwd *f, struct ward_pending *p)
{
	if (!p->live)
		return;
	p->live = false;
	if (p->older)
		p->older->newer = p->newer;
	else
		f->oldest = p->newer;
	if (p->newer)
		p->newer->older = p->older;
	else
		f->newest = p->older;
	f->n_live--;
}

/* One more chunk of slots on the free list. @return false when out of memory or at
 * N_SLOTS. Runs on the worker's thread (the timers join its loop). */
static bool grow_slots(struct ward_worker *w)
{
	struct ward_fwd *f = &w->fwd;
	if (f->n_chunks == N_SLOT_CHUNKS)
		return false;
	struct ward_pending *chunk = calloc(SLOT_CHUNK, sizeof(*chunk));
	if (!chunk)
		return false;
	unsigned c = f->n_chunks++;
	f->chunks[c] = chunk;
	for (unsigned i = SLOT_CHUNK; i-- > 0;) {
		struct ward_pending *p = &chunk[i];
		p->worker = w;
		p->index = (int32_t)(c * SLOT_CHUNK + i);
		uv_timer_init(&w->loop, &p->timer);
		p->timer.data = p;
		p->next_free = f->free_pending;
		f->free_pending = p;
	}
	return true;
}

static bool grow_waiters(struct ward_fwd *f)
{
	if (f->n_waiter_chunks == N_WAITER_CHUNKS)
		return false;
	struct ward_waiter *chunk = malloc(WAITER_CHUNK * sizeof(*chunk));
	if (!chunk)
		return false;
	f->waiter_chunks[f->n_waiter_chunks++] = chunk;
	for (unsigned i = WAITER_CHUNK; i-- > 0;) {
		chunk[i].next = f->free_waiters;
		f->free_waiters = &chunk[i];
	}
	return true;
}

/* A free slot, if fewer than WARD_FWD_MAX_PENDING are live (see pending_get). */
static struct ward_pending *pending_alloc(struct ward_worker *w)
{
	struct ward_fwd *f = &w->fwd;
	if (!f->free_pending && !grow_slots(w))
		return NULL;
	struct ward_pending *p = f->free_pending;
	if (f->n_live >= WARD_FWD_MAX_PENDING)
		return NULL;
	f->free_pending = p->next_free;
	f->n_pending++;
	p->in_use = true;
	p->waiters = NULL;
	p->attempts = 0;
	p->local_errors = 0;
	p->tried = p->refused = 0;
	p->started = ward_worker_now(w);
	p->probe_upstream = -1;
	p->failure = WARD_FWD_TIMEOUT;
	p->after_close = AFTER_NOTHING;
	p->closing = 0;
	live_link(f, p);
	return p;
}

static void pending_release(struct ward_pending *p)
{
	struct ward_fwd *f = &p->worker->fwd;
	live_unlink(f, p);
	if (p->probe_upstream >= 0)
		f->upstreams[p->probe_upstream].probing = false;
	p->in_use = false;
	p->next_free = f->free_pending;
	f->free_pending = p;
	f->n_pending--;
}

/* key is already counted in per_client; it is given back when the waiter is freed. */
static bool add_waiter(struct ward_worker *w, struct ward_pending *p,
		       const struct ward_query_ctx *ctx, const struct ward_client_key *key)
{
	if (!w->fwd.free_waiters && !grow_waiters(&w->fwd))
		return false;
	struct ward_waiter *wt = w->fwd.free_waiters;
	w->fwd.free_waiters = wt->next;
	wt->ctx = *ctx;
	wt->key = *key;
	wt->next = p->waiters;
	p->waiters = wt;
	return true;
}

static void free_waiters(struct ward_worker *w, struct ward_pending *p)
{
	struct ward_waiter *wt = p->waiters;
	while (wt) {
		struct ward_waiter *next = wt->next;
		ward_client_counts_put(w->fwd.per_client, &wt->key);
		wt->next = w->fwd.free_waiters;
		w->fwd.free_waiters = wt;
		wt = next;
	}
	p->waiters = NULL;
}

/* ---- closing the current transport ------------------------------------------------------ */

static void open_tcp(struct ward_pending *p);

static void after_transport_closed(struct ward_pending *p)
{
	enum after_close next = p->after_close;
	p->after_close = AFTER_NOTHING;
	switch (next) {
	case AFTER_NEXT_TRY: start_next_try(p); break;
	case AFTER_TCP: open_tcp(p); break;
	case AFTER_RELEASE: pending_release(p); break;
	case AFTER_NOTHING: break;
	}
}

static void on_handle_closed(uv_handle_t *h)
{
	struct ward_pending *p = h->data;
	if (--p->closing == 0)
		after_transport_closed(p);
}

/* Also valid while an earlier close is still in progress: `then` replaces what was
 * planned, and runs once every handle has closed. */
static void close_transport(struct ward_pending *p, enum after_close then)
{
	p->after_close = then;
	uv_timer_stop(&p->timer);
	if (p->udp_open) {
		p->udp_open = false;
		p->closing++;
		uv_close((uv_handle_t *)&p->udp, on_handle_closed);
	}
	if (p->tcp_open) {
		p->tcp_open = false;
		p->closing++;
		uv_close((uv_handle_t *)&p->tcp, on_handle_closed);
	}
	if (p->closing == 0)
		after_transport_closed(p);
}

/* ---- upstream health ----------------------------------------------------------------------- */

static void note_answer(struct ward_pending *p)
{
	struct ward_worker *w = p->worker;
	struct ward_upstream *u = &w->fwd.upstreams[p->cur];
	uint64_t now = ward_worker_now(w);
	char text[64];
	if (ward_upstream_answered(u, now, (uint32_t)(now - p->try_started)) && u->down_logged) {
		u->down_logged = false;
		ward_log_info("worker %u: upstream %s is answering again", w->id,
			      ward_addr_format(&u->addr, text, sizeof(text)));
	}
}

/* @param definite  the upstream refused or reset (see ward_upstream_failed) */
static void note_failure(struct ward_pending *p, bool definite)
{
	struct ward_worker *w = p->worker;
	struct ward_upstream *u = &w->fwd.upstreams[p->cur];
	uint64_t now = ward_worker_now(w), slow = u->slow_timeouts;
	char text[64];
	bool went_down = ward_upstream_failed(u, now, p->try_started, definite);
	w->stats.fwd_slow_timeouts += u->slow_timeouts - slow;
	if (!went_down)
		return;
	w->stats.upstream_down++;
	/* A line per minute at most: an upstream asked only unanswerable names flaps. */
	if (u->logged_ms && now - u->logged_ms < LOG_EVERY_MS)
		return;
	u->logged_ms = now;
	u->down_logged = true;
	ward_log_warn("worker %u: upstream %s is not answering; the others go first until it "
		      "answers again", w->id, ward_addr_format(&u->addr, text, sizeof(text)));
}

/* ---- outcomes ---------------------------------------------------------------------------- */

/* Hand the result to the query stage, once, with the clients waiting on it. Health
 * probes have no clients and report nothing. */
static void report(struct ward_pending *p, struct ward_fwd_result *res)
{
	struct ward_worker *w = p->worker;
	if (p->probe_upstream >= 0 || !p->waiters)
		return;
	res->ask = &p->q;
	w->fwd.done(w, res, p->waiters);
}

static void conclude(struct ward_pending *p)
{
	live_unlink(&p->worker->fwd, p);
	index_remove(&p->worker->fwd, p);
	free_waiters(p->worker, p);
	close_transport(p, AFTER_RELEASE);
}

static void finish_failure(struct ward_pending *p)
{
	struct ward_fwd_result res = {.outcome = p->failure};
	report(p, &res);
	conclude(p);
}

static void deliver(struct ward_pending *p, size_t len, const struct ward_dns_response *r)
{
	struct ward_fwd_result res = {
		.outcome = WARD_FWD_ANSWER, .msg = p->worker->fwd.resp_store, .len = len, .r = r,
	};
	note_answer(p);
	report(p, &res);
	conclude(p);
}

/* The upstream failed this try: a timeout (ede NO_REACHABLE_AUTHORITY), or a refusal or
 * reset (NETWORK_ERROR), after which this query does not ask that upstream again. */
static void try_failed(struct ward_pending *p, int ede)
{
	bool definite = ede == WARD_EDE_NETWORK_ERROR;
	note_failure(p, definite);
	if (definite) {
		p->failure = WARD_FWD_UNREACHABLE;
		p->refused |= 1ULL << p->cur;
	}
	close_transport(p, AFTER_NEXT_TRY);
}

/* Errors about the upstream or the way to it. Everything else (EMFILE, ENFILE, ENOBUFS,
 * ENOMEM, EAGAIN, EADDRINUSE, EADDRNOTAVAIL...) is ours and says nothing about it. */
static bool upstream_error(int err)
{
	return err == UV_ECONNREFUSED || err == UV_ECONNRESET || err == UV_EHOSTUNREACH ||
	       err == UV_ENETUNREACH || err == UV_ETIMEDOUT || err == UV_EHOSTDOWN ||
	       err == UV_EPIPE || err == UV_EOF;
}

/* This try failed on our side: not held against the upstream. One more try, then the
 * clients get SERVFAIL (or a stale answer): retrying while descriptors or buffers are
 * exhausted would only spin. */
static void local_failure(struct ward_pending *p, int err)
{
	struct ward_worker *w = p->worker;
	struct ward_fwd *f = &w->fwd;
	uint64_t now = ward_worker_now(w);
	w->stats.fwd_local_errors++;
	if (!f->local_error_logged_ms || now - f->local_error_logged_ms >= LOG_EVERY_MS) {
		f->local_error_logged_ms = now;
		ward_log_warn("worker %u: cannot send a query upstream: %s (not held against the "
			      "upstream; logged once a minute)", w->id, uv_strerror(err));
	}
	if (p->local_errors++ < LOCAL_RETRIES) {
		close_transport(p, AFTER_NEXT_TRY);
		return;
	}
	p->failure = WARD_FWD_LOCAL_ERROR;
	finish_failure(p);
}

static void transport_error(struct ward_pending *p, int err)
{
	if (upstream_error(err))
		try_failed(p, WARD_EDE_NETWORK_ERROR);
	else
		local_failure(p, err);
}

/* ---- answers arriving -------------------------------------------------------------------- */

/* @return 0 delivered, 1 truncated (retry on TCP), -1 not an answer to our question. */
static int accept_response(struct ward_pending *p, const uint8_t *pkt, size_t len)
{
	struct ward_worker *w = p->worker;
	struct ward_dns_response r;
	size_t stored_len;
	if (ward_dns_parse_response(pkt, len, &p->q, p->id, w->fwd.resp_store,
				    WARD_DNS_MSG_MAX, &stored_len, &r) != 0)
		return -1;
	if (r.tc)
		return 1;
	deliver(p, stored_len, &r);
	return 0;
}

static void udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct ward_pending *p = h->data;
	buf->base = (char *)p->rbuf;
	buf->len = sizeof(p->rbuf);
}

static void udp_on_read(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
			const struct sockaddr *addr, unsigned flags)
{
	struct ward_pending *p = h->data;
	if (!p->udp_open || (nread == 0 && !addr))
		return;
	if (nread < 0) {
		/* ICMP port unreachable on a connected socket: the upstream is down now. */
		transport_error(p, (int)nread);
		return;
	}
	if (flags & UV_UDP_PARTIAL) {
		close_transport(p, AFTER_TCP);
		return;
	}
	/* Anything that is not the answer (spoofed, late, mangled) is ignored: keep waiting. */
	if (accept_response(p, p->rbuf, (size_t)nread) == 1)
		close_transport(p, AFTER_TCP);
}

static void tcp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct ward_pending *p = h->data;
	buf->base = (char *)p->tcp_buf + p->tcp_len;
	buf->len = TCP_BUF_MAX - p->tcp_len;
}

static void tcp_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct ward_pending *p = s->data;
	if (!p->tcp_open)
		return;
	if (nread < 0) {
		try_failed(p, WARD_EDE_NETWORK_ERROR);
		return;
	}
	p->tcp_len += (size_t)nread;
	if (p->tcp_len < 2)
		return;
	size_t need = ((size_t)p->tcp_buf[0] << 8 | p->tcp_buf[1]) + 2;
	if (p->tcp_len < need)
		return;
	if (accept_response(p, p->tcp_buf + 2, need - 2) != 0)
		try_failed(p, WARD_EDE_NETWORK_ERROR);
}

static void tcp_on_write(uv_write_t *req, int status)
{
	struct ward_pending *p = req->data;
	if (status < 0 && p->tcp_open)
		transport_error(p, status);
}

static void tcp_on_connect(uv_connect_t *req, int status)
{
	struct ward_pending *p = req->data;
	if (!p->tcp_open)
		return;
	if (status < 0) {
		transport_error(p, status);
		return;
	}
	uv_buf_t b = uv_buf_init((char *)p->query, (unsigned)(p->query_len + 2));
	p->write_req.data = p;
	int rc = uv_write(&p->write_req, (uv_stream_t *)&p->tcp, &b, 1, tcp_on_write);
	if (rc == 0)
		rc = uv_read_start((uv_stream_t *)&p->tcp, tcp_alloc, tcp_on_read);
	if (rc != 0)
		transport_error(p, rc);
}

/* ---- starting a try ---------------------------------------------------------------------- */

static void on_timeout(uv_timer_t *t)
{
	struct ward_pending *p = t->data;
	try_failed(p, WARD_EDE_NO_REACHABLE_AUTHORITY);
}

static void arm_timer(struct ward_pending *p)
{
	struct ward_worker *w = p->worker;
	uint64_t now = ward_worker_now(w);
	uint64_t left = p->deadline > now ? p->deadline - now : 1;
	uint64_t per_try = w->conf->upstream_timeout_ms;
	uv_timer_start(&p->timer, on_timeout, per_try < left ? per_try : left, 0);
}

static void open_tcp(struct ward_pending *p)
{
	struct ward_worker *w = p->worker;
	if (!p->tcp_buf && !(p->tcp_buf = malloc(TCP_BUF_MAX))) {
		local_failure(p, UV_ENOMEM);
		return;
	}
	p->tcp_len = 0;
	int rc = uv_tcp_init(&w->loop, &p->tcp);
	if (rc != 0) {
		local_failure(p, rc);
		return;
	}
	p->tcp.data = p;
	p->tcp_open = true;
	p->connect.data = p;
	p->try_started = ward_worker_now(w);
	arm_timer(p);
	rc = uv_tcp_connect(&p->connect, &p->tcp, &w->fwd.upstreams[p->cur].addr.sa,
			    tcp_on_connect);
	if (rc != 0)
		transport_error(p, rc);
}

/* A random source port from the whole unprivileged range (RFC 5452 section 9.2); the
 * kernel's own choice is narrower. Falls back to the kernel after a few collisions.
 * @return 0 or the last libuv error. */
static int bind_random_port(uv_udp_t *udp, int family)
{
	struct ward_addr local;
	int rc = 0;
	memset(&local, 0, sizeof(local));
	for (int i = 0; i < 8; i++) {
		uint16_t port = (uint16_t)(1024 + arc4random_uniform(65536 - 1024));
		if (i == 7)
			port = 0;
		if (family == AF_INET6) {
			local.v6.sin6_family = AF_INET6;
			local.v6.sin6_addr = in6addr_any;
			local.v6.sin6_port = htons(port);
		} else {
			local.v4.sin_family = AF_INET;
			local.v4.sin_addr.s_addr = htonl(INADDR_ANY);
			local.v4.sin_port = htons(port);
		}
		if ((rc = uv_udp_bind(udp, &local.sa, 0)) == 0)
			return 0;
	}
	return rc;
}

/* @return 0 when the query is on its way, or the libuv error. */
static int open_udp(struct ward_pending *p)
{
	struct ward_worker *w = p->worker;
	const struct ward_addr *up = &w->fwd.upstreams[p->cur].addr;
	int rc = uv_udp_init(&w->loop, &p->udp);
	if (rc != 0)
		return rc;
	p->udp.data = p;
	p->udp_open = true;
	if ((rc = bind_random_port(&p->udp, up->sa.sa_family)) != 0 ||
	    (rc = uv_udp_connect(&p->udp, &up->sa)) != 0 ||
	    (rc = uv_udp_recv_start(&p->udp, udp_alloc, udp_on_read)) != 0)
		return rc;
	uv_buf_t b = uv_buf_init((char *)p->query + 2, (unsigned)p->query_len);
	rc = uv_udp_try_send(&p->udp, &b, 1, NULL);
	if (rc == (int)p->query_len)
		return 0;
	return rc < 0 ? rc : UV_EAGAIN;
}

/* A probe asks only its upstream, once. A query asks the best upstream it has not tried in
 * this round and that has not refused it (see ward_upstream_pick); once every one has been
 * tried, a new round starts, so a single upstream gets retried until the deadline. */
static int pick_upstream(struct ward_pending *p)
{
	struct ward_fwd *f = &p->worker->fwd;
	if (p->probe_upstream >= 0)
		return p->attempts == 0 ? p->probe_upstream : -1;
	int idx = ward_upstream_pick(f->upstreams, f->n_upstreams, p->refused, p->tried);
	if (idx >= 0 && (p->tried >> idx & 1))
		p->tried = 0;
	return idx;
}

static void start_next_try(struct ward_pending *p)
{
	struct ward_worker *w = p->worker;
	uint64_t now = ward_worker_now(w);
	int idx = pick_upstream(p);
	if (idx < 0 || now >= p->deadline) {
		finish_failure(p);
		return;
	}
	p->cur = (unsigned)idx;
	p->tried |= 1ULL << idx;
	p->attempts++;
	w->fwd.upstreams[idx].queries++;
	w->fwd.upstreams[idx].last_sent_ms = p->try_started = now;
	p->id = (uint16_t)arc4random_uniform(65536);
	p->query_len = ward_dns_write_upstream_query(p->query + 2, sizeof(p->query) - 2, &p->q,
						     p->id);
	p->query[0] = (uint8_t)(p->query_len >> 8);
	p->query[1] = (uint8_t)p->query_len;
	if (p->query_len == 0) {
		finish_failure(p);
		return;
	}
	arm_timer(p);
	int rc = open_udp(p);
	if (rc != 0)
		transport_error(p, rc);
}

static uint64_t resolution_deadline(struct ward_worker *w)
{
	uint64_t budget = (uint64_t)w->conf->upstream_timeout_ms * w->fwd.n_upstreams;
	if (budget < w->conf->upstream_timeout_ms * 2ull)
		budget = w->conf->upstream_timeout_ms * 2ull;
	if (budget > WARD_FWD_DEADLINE_MS)
		budget = WARD_FWD_DEADLINE_MS;
	return ward_worker_now(w) + budget;
}

/* ---- taking a query ------------------------------------------------------------------------ */

/* Drop the oldest live query for a new one, if it has run long enough that it is likely
 * stuck on a slow authority. Its clients hear now (WARD_FWD_JOSTLED). */
static bool jostle_oldest(struct ward_worker *w)
{
	struct ward_pending *p = w->fwd.oldest;
	if (!p || ward_worker_now(w) - p->started < WARD_FWD_JOSTLE_MS)
		return false;
	w->stats.fwd_jostled++;
	p->failure = WARD_FWD_JOSTLED;
	finish_failure(p);
	return true;
}

static struct ward_pending *pending_get(struct ward_worker *w)
{
	struct ward_pending *p = NULL;
	if (w->fwd.n_live < WARD_FWD_MAX_PENDING || jostle_oldest(w))
		p = pending_alloc(w);
	if (!p)
		w->stats.fwd_full++;
	return p;
}

/* Count ctx against its client's quota. @return false when the client is at it. */
static bool quota_take(struct ward_worker *w, const struct ward_query_ctx *ctx,
		       struct ward_client_key *key)
{
	uint32_t limit = ward_worker_conf(w)->limits.upstream_queries_per_client;
	ward_client_key_make(key, &ctx->client.addr.sa, WARD_CLIENT_V4_PREFIX,
			     WARD_CLIENT_V6_PREFIX);
	if (ward_client_counts_take(w->fwd.per_client, key, limit))
		return true;
	w->stats.fwd_client_quota++;
	return false;
}

enum ward_fwd_refusal ward_fwd_submit(struct ward_worker *w, const struct ward_dns_query *ask,
				      const struct ward_query_ctx *ctx)
{
	struct ward_fwd *f = &w->fwd;
	struct ward_client_key key;
	if (!quota_take(w, ctx, &key))
		return WARD_FWD_CLIENT_QUOTA;
	uint32_t hash = question_hash(ask);
	struct ward_pending *p = index_find(f, ask, hash);
	if (p) {
		if (add_waiter(w, p, ctx, &key))
			return WARD_FWD_TAKEN;
		ward_client_counts_put(f->per_client, &key);
		return WARD_FWD_FULL;
	}
	p = pending_get(w);
	if (!p || !add_waiter(w, p, ctx, &key)) {
		if (p)
			pending_release(p);
		ward_client_counts_put(f->per_client, &key);
		return WARD_FWD_FULL;
	}
	p->q = *ask;
	p->hash = hash;
	index_insert(f, p);
	p->deadline = resolution_deadline(w);
	start_next_try(p);
	return WARD_FWD_TAKEN;
}

/* ---- health probes ----------------------------------------------------------------------- */

static void start_probe(struct ward_worker *w, unsigned idx)
{
	struct ward_pending *p = pending_alloc(w);
	if (!p)
		return;
	memset(&p->q, 0, sizeof(p->q));
	p->q.qname_len = 1; /* the root: ". NS" is answered by any working resolver */
	p->q.qtype = WARD_TYPE_NS;
	p->q.qclass = WARD_CLASS_IN;
	p->q.has_question = true;
	p->probe_upstream = (int)idx;
	p->deadline = ward_worker_now(w) + w->conf->upstream_timeout_ms;
	w->fwd.upstreams[idx].probing = true;
	start_next_try(p);
}

/* Down upstreams are probed every interval, and so are weak ones that queries have left
 * alone for an interval: their success rate would otherwise never recover. */
static void on_probe_timer(uv_timer_t *t)
{
	struct ward_worker *w = t->data;
	uint64_t now = ward_worker_now(w);
	if (w->stopping)
		return;
	for (unsigned i = 0; i < w->fwd.n_upstreams; i++) {
		struct ward_upstream *u = &w->fwd.upstreams[i];
		bool unused = now - u->last_sent_ms >= PROBE_INTERVAL_MS;
		if (!u->probing && (u->down || (ward_upstream_weak(u) && unused)))
			start_probe(w, i);
	}
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

int ward_fwd_init(struct ward_worker *w, ward_fwd_done_fn *done)
{
	struct ward_fwd *f = &w->fwd;
	const struct ward_conf *conf = w->conf;
	f->done = done;
	f->n_upstreams = (unsigned)conf->n_upstreams;
	f->upstreams = calloc(f->n_upstreams, sizeof(*f->upstreams));
	f->chunks = calloc(N_SLOT_CHUNKS, sizeof(*f->chunks));
	f->waiter_chunks = calloc(N_WAITER_CHUNKS, sizeof(*f->waiter_chunks));
	f->n_buckets = WARD_FWD_MAX_PENDING * 2;
	f->buckets = malloc(f->n_buckets * sizeof(*f->buckets));
	f->per_client = ward_client_counts_new(WARD_FWD_MAX_WAITERS);
	f->resp_store = malloc(WARD_DNS_MSG_MAX);
	if (!f->upstreams || !f->chunks || !f->waiter_chunks || !f->buckets || !f->per_client ||
	    !f->resp_store)
		return WARD_ENOMEM;
	for (unsigned i = 0; i < f->n_upstreams; i++)
		ward_upstream_init(&f->upstreams[i], &conf->upstreams[i]);
	for (unsigned i = 0; i < f->n_buckets; i++)
		f->buckets[i] = -1;
	int rc = uv_timer_init(&w->loop, &f->probe_timer);
	if (rc == 0) {
		f->probe_timer.data = w;
		rc = uv_timer_start(&f->probe_timer, on_probe_timer, PROBE_INTERVAL_MS,
				    PROBE_INTERVAL_MS);
	}
	return ward_uv_err(rc);
}

unsigned ward_fwd_busy(const struct ward_worker *w)
{
	const struct ward_fwd *f = &w->fwd;
	unsigned busy = 0;
	for (unsigned c = 0; c < f->n_chunks; c++)
		for (unsigned i = 0; i < SLOT_CHUNK; i++)
			if (f->chunks[c][i].in_use && f->chunks[c][i].waiters)
				busy++;
	return busy;
}

void ward_fwd_stop(struct ward_worker *w)
{
	uv_timer_stop(&w->fwd.probe_timer);
}

/* After the loop has closed every handle (the slots' timers and sockets included). */
void ward_fwd_destroy(struct ward_worker *w)
{
	struct ward_fwd *f = &w->fwd;
	for (unsigned c = 0; c < f->n_chunks; c++) {
		for (unsigned i = 0; i < SLOT_CHUNK; i++)
			free(f->chunks[c][i].tcp_buf);
		free(f->chunks[c]);
	}
	for (unsigned c = 0; c < f->n_waiter_chunks; c++)
		free(f->waiter_chunks[c]);
	free(f->chunks);
	free(f->waiter_chunks);
	free(f->upstreams);
	free(f->buckets);
	free(f->resp_store);
	ward_client_counts_free(f->per_client);
	memset(f, 0, sizeof(*f));
}
