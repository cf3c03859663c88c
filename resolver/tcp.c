/*
 * DNS over TCP for clients (RFC 7766): length-prefixed messages, several queries in flight
 * per connection, each answered as soon as it completes (not in order).
 *
 * Everything a connection can hold is capped, so no client can exhaust the worker:
 * - Slots: WARD_TCP_MAX_CONNS open connections per worker, limits.tcp_connections_per_client
 *   of them per client (an IPv4 address, an IPv6 /64). A connection past either cap makes
 *   room by closing the oldest idle connection (the client's own, for the per-client cap;
 *   RFC 7766 section 6.2), or is closed itself when none is idle. Connections from outside
 *   allow_clients are closed at accept.
 * - Time: a connection closes after WARD_TCP_IDLE_MS without a query or an answer; a query
 *   must arrive whole within WARD_TCP_MSG_MS of its first byte. Bytes trickling in extend
 *   neither. Answers queued for a client that does not read must leave within
 *   WARD_TCP_WRITE_MS (counted from the last write that completed), or the connection is
 *   reset, which also frees what the kernel holds for it.
 * - Memory: answers the kernel cannot take are queued here. Above WARD_TCP_QUEUE_SOFT
 *   queued bytes the connection takes no more queries (complete ones wait in the read
 *   buffer, and reading stops) until the queue drains; answers to queries taken before
 *   may still arrive, and one that would pass WARD_TCP_QUEUE_HARD resets the connection.
 *
 * libuv closes asynchronously: a closing connection keeps its slot until the close
 * callback, so there are WARD_TCP_SPARE_CONNS more slots than open connections. A slot
 * carries a generation number, so an answer for a connection that has since closed is
 * dropped.
 */
#include "resolver/tcp.h"

#include <stdlib.h>
#include <string.h>

#include "blocklists/error.h"
#include "blocklists/log.h"
#include "resolver/uv_error.h"
#include "resolver/worker.h"

#define TCP_READ_CAP (WARD_TCP_QUERY_MAX + 2)
#define TCP_MAX_INFLIGHT 64 /* per connection; more pauses reading */
#define TCP_SLOTS (WARD_TCP_MAX_CONNS + WARD_TCP_SPARE_CONNS)
#define NO_DEADLINE UINT64_MAX

_Static_assert(WARD_TCP_MAX_CONNS == 256, "limits.tcp_connections_per_client max in conf.c");

struct ward_tcp_conn {
	/* Kept across uses of the slot: the timer is initialised once and stays registered
	 * with the loop, so it must never be cleared. */
	uv_timer_t timer;
	bool timer_ready;
	/* Cleared for each connection, from here to rbuf. */
	struct ward_worker *worker;
	uv_tcp_t handle;
	bool in_use;                 /* until the handle's close callback */
	bool open;                   /* accepted, admitted and not closing: counts in n_open */
	bool closing;
	bool reading;
	bool eof;
	bool consuming;              /* inside consume_messages() */
	bool resume;                 /* the timer is set to take waiting queries */
	uint32_t gen;
	unsigned pending_writes;
	size_t queued;               /* answer bytes waiting in pending writes */
	unsigned inflight;
	uint64_t last_active;        /* a whole query arrived or an answer left */
	uint64_t msg_started;        /* first byte of the incomplete query; 0 = none */
	uint64_t write_since;        /* the last write completed (or queueing began) */
	uint64_t timer_due;          /* when the timer fires; NO_DEADLINE = not armed */
	struct ward_addr peer;
	struct ward_client_key key;
	size_t rlen;
	uint8_t rbuf[TCP_READ_CAP];
};

struct tcp_write {
	uv_write_t req;
	struct ward_tcp_conn *conn;
	size_t len;
	uint8_t data[];
};

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void on_timer(uv_timer_t *t);
static void take_queries(struct ward_tcp_conn *c);

/* ---- closing -------------------------------------------------------------------------- */

static void conn_closed(uv_handle_t *h)
{
	struct ward_tcp_conn *c = h->data;
	c->in_use = false;
	c->worker->n_conns--;
}

/* @param reset  send RST: for a client that stopped reading, so the kernel drops what it
 *               still holds for it at once instead of retrying for minutes. */
static void conn_close(struct ward_tcp_conn *c, bool reset)
{
	if (c->closing)
		return;
	c->closing = true;
	if (c->open) {
		c->open = false;
		c->worker->n_open--;
	}
	c->gen++;
	uv_timer_stop(&c->timer);
	c->timer_due = NO_DEADLINE;
	if (!reset || uv_tcp_close_reset(&c->handle, conn_closed) != 0)
		uv_close((uv_handle_t *)&c->handle, conn_closed);
}

/* ---- deadlines -------------------------------------------------------------------------- */

static uint64_t earlier(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t next_deadline(const struct ward_tcp_conn *c)
{
	uint64_t due = NO_DEADLINE;
	if (c->queued)
		due = c->write_since + WARD_TCP_WRITE_MS;
	if (c->msg_started)
		due = earlier(due, c->msg_started + WARD_TCP_MSG_MS);
	/* Waiting on upstream is not idle: the forwarder answers within its deadline. */
	if (!c->inflight && !c->queued)
		due = earlier(due, c->last_active + WARD_TCP_IDLE_MS);
	return due;
}

/* Activity only moves deadlines later, and the timer re-checks when it fires, so it is
 * restarted only when a deadline comes earlier than the one it is set for. */
static void schedule(struct ward_tcp_conn *c)
{
	uint64_t due = next_deadline(c);
	if (due >= c->timer_due)
		return;
	uint64_t now = ward_worker_now(c->worker);
	uv_timer_start(&c->timer, on_timer, due > now ? due - now : 0, 0);
	c->timer_due = due;
}

static void on_timer(uv_timer_t *t)
{
	struct ward_tcp_conn *c = t->data;
	struct ward_worker_stats *st = &c->worker->stats;
	uint64_t now = ward_worker_now(c->worker);
	c->timer_due = NO_DEADLINE;
	if (c->resume) {
		c->resume = false;
		take_queries(c);
	} else if (c->queued && now >= c->write_since + WARD_TCP_WRITE_MS) {
		st->tcp_write_timeouts++;
		conn_close(c, true);
	} else if (c->msg_started && now >= c->msg_started + WARD_TCP_MSG_MS) {
		st->tcp_read_timeouts++;
		conn_close(c, false);
	} else if (!c->inflight && !c->queued && now >= c->last_active + WARD_TCP_IDLE_MS) {
		st->tcp_idle_closed++;
		conn_close(c, false);
	} else {
		schedule(c);
	}
}

/* ---- reading ------------------------------------------------------------------------------ */

static bool takes_queries(const struct ward_tcp_conn *c)
{
	return !c->closing && !c->worker->stopping && c->inflight < TCP_MAX_INFLIGHT &&
	       c->queued < WARD_TCP_QUEUE_SOFT;
}

/* A whole message waits at the start of the buffer (not taken: the conn is paused). */
static bool has_message(const struct ward_tcp_conn *c)
{
	return c->rlen >= 2 && c->rlen >= ((size_t)c->rbuf[0] << 8 | c->rbuf[1]) + 2;
}

static void read_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct ward_tcp_conn *c = h->data;
	buf->base = (char *)c->rbuf + c->rlen;
	buf->len = sizeof(c->rbuf) - c->rlen;
}

/* Read while queries are taken and none waits in the buffer; while consume_messages()
 * runs, the buffer is in flux and it decides when it is done. */
static void update_reading(struct ward_tcp_conn *c)
{
	if (c->consuming)
		return;
	bool want = takes_queries(c) && !c->eof && !has_message(c) &&
		    c->rlen < sizeof(c->rbuf);
	if (want && !c->reading)
		uv_read_start((uv_stream_t *)&c->handle, read_alloc, on_read);
	else if (!want && c->reading)
		uv_read_stop((uv_stream_t *)&c->handle);
	c->reading = want;
}

/* Where the incomplete message at the start of the buffer began: now, when it came in
 * behind messages just taken or into an empty buffer; earlier bytes keep their time. */
static void note_partial(struct ward_tcp_conn *c, bool took_some)
{
	uint64_t now = ward_worker_now(c->worker);
	if (c->rlen == 0 || has_message(c))
		c->msg_started = 0; /* nothing pending, or paused by us: no read deadline */
	else if (took_some || !c->msg_started)
		c->msg_started = now;
}

/* Hand complete messages to the query pipeline while the connection takes queries. An
 * answer made during the call comes back through ward_tcp_send(), which only updates the
 * counters (see after_change); the loop re-checks them for each message. */
static void consume_messages(struct ward_tcp_conn *c)
{
	if (c->consuming)
		return;
	c->consuming = true;
	size_t off = 0;
	while (takes_queries(c) && c->rlen - off >= 2) {
		size_t len = (size_t)c->rbuf[off] << 8 | c->rbuf[off + 1];
		if (len > WARD_TCP_QUERY_MAX || len == 0) {
			conn_close(c, false);
			break;
		}
		if (c->rlen - off < len + 2)
			break;
		struct ward_client_ref ref = {
			.transport = WARD_TRANSPORT_TCP, .conn = c, .conn_gen = c->gen,
			.addr = c->peer,
		};
		c->inflight++;
		c->last_active = ward_worker_now(c->worker);
		ward_query_handle(c->worker, c->rbuf + off + 2, len, &ref);
		off += len + 2;
	}
	if (off) {
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
		c->rlen -= off;
	}
	note_partial(c, off > 0);
	c->consuming = false;
}

static void close_if_done(struct ward_tcp_conn *c)
{
	if (c->eof && !c->consuming && c->inflight == 0 && c->pending_writes == 0 &&
	    !has_message(c))
		conn_close(c, false);
}

/* Queries waiting in the buffer are taken on a clean stack, from the timer: taking them
 * here, inside an answer being sent, would re-enter the query pipeline (and the
 * forwarder's loops over its waiters) from within itself. */
static void resume_soon(struct ward_tcp_conn *c)
{
	c->resume = true;
	c->timer_due = ward_worker_now(c->worker);
	uv_timer_start(&c->timer, on_timer, 0, 0);
}

/* After an answer left, a write completed or a query was dropped: never calls into the
 * query pipeline. */
static void after_change(struct ward_tcp_conn *c)
{
	if (c->closing)
		return;
	if (!c->consuming && !c->resume && has_message(c) && takes_queries(c))
		resume_soon(c);
	update_reading(c);
	schedule(c);
	close_if_done(c);
}

/* After bytes arrived (or a pause ended): take what is complete, then as above. */
static void take_queries(struct ward_tcp_conn *c)
{
	if (c->closing)
		return;
	consume_messages(c);
	after_change(c);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct ward_tcp_conn *c = s->data;
	if (nread < 0) {
		/* A client may half-close after its last query: answers still owed go out
		 * first, then the connection closes (see close_if_done). */
		if (nread != UV_EOF) {
			conn_close(c, false);
			return;
		}
		c->eof = true;
	}
	if (nread > 0)
		c->rlen += (size_t)nread;
	take_queries(c);
}

/* ---- writing -------------------------------------------------------------------------------- */

static void on_written(uv_write_t *req, int status)
{
	struct tcp_write *wr = (struct tcp_write *)req;
	struct ward_tcp_conn *c = wr->conn;
	c->pending_writes--;
	c->queued -= wr->len;
	free(wr);
	if (status < 0) {
		conn_close(c, false);
		return;
	}
	/* Draining is activity; a queue that does not drain is not (see on_timer). */
	c->write_since = c->last_active = ward_worker_now(c->worker);
	after_change(c);
}

/* Queue what the socket did not take. @return false when the connection was closed. */
static bool queue_rest(struct ward_tcp_conn *c, const uint8_t prefix[2], const uint8_t *msg,
		       size_t len, size_t sent)
{
	struct ward_worker *w = c->worker;
	size_t rest = len + 2 - sent;
	if (c->queued + rest > WARD_TCP_QUEUE_HARD) {
		w->stats.tcp_write_overflow++;
		conn_close(c, true);
		return false;
	}
	/* The only allocation on this path, and bounded by the caps above. */
	struct tcp_write *wr = malloc(sizeof(*wr) + rest);
	if (!wr) {
		conn_close(c, false);
		return false;
	}
	if (sent < 2) {
		memcpy(wr->data, prefix + sent, 2 - sent);
		memcpy(wr->data + 2 - sent, msg, len);
	} else {
		memcpy(wr->data, msg + (sent - 2), rest);
	}
	wr->conn = c;
	wr->len = rest;
	uv_buf_t b = uv_buf_init((char *)wr->data, (unsigned)rest);
	if (uv_write(&wr->req, (uv_stream_t *)&c->handle, &b, 1, on_written) != 0) {
		free(wr);
		conn_close(c, false);
		return false;
	}
	if (c->pending_writes++ == 0)
		c->write_since = ward_worker_now(w);
	if (c->queued < WARD_TCP_QUEUE_SOFT && c->queued + rest >= WARD_TCP_QUEUE_SOFT)
		w->stats.tcp_read_paused++;
	c->queued += rest;
	return true;
}

void ward_tcp_send(struct ward_worker *w, struct ward_tcp_conn *c, uint32_t gen,
		   const uint8_t *msg, size_t len)
{
	if (!c || !c->in_use || c->closing || c->gen != gen)
		return;
	if (c->inflight)
		c->inflight--;
	uint8_t prefix[2] = {(uint8_t)(len >> 8), (uint8_t)len};
	uv_buf_t bufs[2] = {uv_buf_init((char *)prefix, 2), uv_buf_init((char *)msg, (unsigned)len)};
	int n = c->pending_writes ? UV_EAGAIN : uv_try_write((uv_stream_t *)&c->handle, bufs, 2);
	if (n < 0 && n != UV_EAGAIN) {
		conn_close(c, false);
		return;
	}
	if (n == (int)(len + 2))
		c->last_active = ward_worker_now(w);
	else if (!queue_rest(c, prefix, msg, len, n > 0 ? (size_t)n : 0))
		return;
	after_change(c);
}

/* Every message read counts as in flight until it is answered or dropped; a leak here
 * would stall reading at TCP_MAX_INFLIGHT and hold up the drain at exit. */
void ward_tcp_drop(struct ward_worker *w, struct ward_tcp_conn *c, uint32_t gen)
{
	if (!c || !c->in_use || c->closing || c->gen != gen)
		return;
	if (c->inflight)
		c->inflight--;
	after_change(c);
}

/* ---- accepting ----------------------------------------------------------------------------- */

static struct ward_tcp_conn *free_slot(struct ward_worker *w)
{
	for (unsigned i = 0; i < TCP_SLOTS; i++)
		if (!w->conns[i].in_use)
			return &w->conns[i];
	return NULL;
}

static void reject_closed(uv_handle_t *h)
{
	free(h);
}

/* No slot at all (many connections closing at once): accept and close at once, so the
 * client learns now rather than waiting in the backlog. */
static void reject_unslotted(struct ward_worker *w, uv_stream_t *server)
{
	uv_tcp_t *tmp = malloc(sizeof(*tmp));
	w->stats.tcp_full++;
	if (tmp && uv_tcp_init(&w->loop, tmp) == 0) {
		if (uv_accept(server, (uv_stream_t *)tmp) != 0)
			ward_log_debug("worker %u: accept failed", w->id);
		uv_close((uv_handle_t *)tmp, reject_closed);
		return;
	}
	free(tmp);
}

static bool is_idle(const struct ward_tcp_conn *c)
{
	return c->inflight == 0 && c->queued == 0;
}

/* The same ACL as every query's (ward_policy_admit); before this worker's first query has
 * loaded the policy, the boot config's list, which that policy was built from. */
static bool peer_allowed(const struct ward_worker *w, const struct ward_addr *peer)
{
	struct ward_policy_verdict v;
	if (w->ps)
		return ward_policy_admit(w->ps->policy, &peer->sa, &v);
	for (size_t i = 0; i < w->conf->n_allow_clients; i++)
		if (ward_cidr_contains(&w->conf->allow_clients[i], &peer->sa))
			return true;
	return false;
}

/* Make room for c under both caps, closing an idle connection when needed.
 * @return false when c must be closed instead. */
static bool admit(struct ward_worker *w, struct ward_tcp_conn *c)
{
	const struct ward_conf *conf = ward_worker_conf(w);
	if (!peer_allowed(w, &c->peer)) {
		w->stats.tcp_refused_acl++;
		return false;
	}
	struct ward_tcp_conn *oldest = NULL, *own_oldest = NULL;
	unsigned own = 0;
	for (unsigned i = 0; i < TCP_SLOTS; i++) {
		struct ward_tcp_conn *o = &w->conns[i];
		if (!o->open)
			continue;
		bool mine = ward_client_key_equal(&o->key, &c->key);
		own += mine;
		if (!is_idle(o))
			continue;
		if (!oldest || o->last_active < oldest->last_active)
			oldest = o;
		if (mine && (!own_oldest || o->last_active < own_oldest->last_active))
			own_oldest = o;
	}
	struct ward_tcp_conn *victim = NULL;
	if (own >= conf->limits.tcp_connections_per_client) {
		if (!(victim = own_oldest))
			w->stats.tcp_client_cap++;
	} else if (w->n_open >= WARD_TCP_MAX_CONNS) {
		if (!(victim = oldest))
			w->stats.tcp_full++;
	} else {
		return true;
	}
	if (!victim)
		return false;
	w->stats.tcp_evicted++;
	conn_close(victim, false);
	return true;
}

/* Take the connection into slot c. @return false when it failed (c is closing). */
static bool conn_accept(struct ward_worker *w, uv_stream_t *server, struct ward_tcp_conn *c)
{
	uint32_t gen = c->gen + 1;
	size_t from = offsetof(struct ward_tcp_conn, worker);
	memset((char *)c + from, 0, offsetof(struct ward_tcp_conn, rbuf) - from);
	c->gen = gen;
	c->worker = w;
	c->timer_due = NO_DEADLINE;
	if (!c->timer_ready)
		uv_timer_init(&w->loop, &c->timer);
	c->timer_ready = true;
	c->timer.data = c;
	if (uv_tcp_init(&w->loop, &c->handle) != 0) {
		reject_unslotted(w, server); /* libuv accepts nothing more until we take it */
		return false;
	}
	c->handle.data = c;
	c->in_use = true;
	w->n_conns++;
	int namelen = sizeof(c->peer.ss);
	if (uv_accept(server, (uv_stream_t *)&c->handle) != 0 ||
	    uv_tcp_getpeername(&c->handle, &c->peer.sa, &namelen) != 0) {
		conn_close(c, false);
		return false;
	}
	c->peer.len = (socklen_t)namelen;
	ward_client_key_make(&c->key, &c->peer.sa, WARD_CLIENT_V4_PREFIX, WARD_CLIENT_V6_PREFIX);
	return true;
}

static void on_connection(uv_stream_t *server, int status)
{
	struct ward_tcp_listener *l = server->data;
	struct ward_worker *w = l->worker;
	if (status < 0)
		return;
	struct ward_tcp_conn *c = free_slot(w);
	if (!c) {
		reject_unslotted(w, server);
		return;
	}
	if (!conn_accept(w, server, c))
		return;
	if (!admit(w, c)) {
		conn_close(c, false);
		return;
	}
	c->open = true;
	w->n_open++;
	c->last_active = ward_worker_now(w);
	uv_tcp_nodelay(&c->handle, 1);
	take_queries(c);
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

struct ward_tcp_conn *ward_tcp_conns_new(void)
{
	return calloc(TCP_SLOTS, sizeof(struct ward_tcp_conn));
}

int ward_tcp_listener_start(struct ward_worker *w, struct ward_tcp_listener *l)
{
	int rc = uv_tcp_init(&w->loop, &l->handle);
	if (rc != 0)
		return ward_uv_err(rc);
	l->handle.data = l;
	if ((rc = uv_tcp_open(&l->handle, l->fd)) != 0)
		return ward_uv_err(rc);
	l->open = true;
	return ward_uv_err(uv_listen((uv_stream_t *)&l->handle, 128, on_connection));
}

void ward_tcp_close_all(struct ward_worker *w)
{
	for (unsigned i = 0; i < TCP_SLOTS; i++)
		if (w->conns[i].in_use)
			conn_close(&w->conns[i], false);
}

unsigned ward_tcp_busy(const struct ward_worker *w)
{
	unsigned busy = 0;
	for (unsigned i = 0; i < TCP_SLOTS; i++) {
		const struct ward_tcp_conn *c = &w->conns[i];
		if (c->in_use && !c->closing && (c->inflight || c->pending_writes))
			busy++;
	}
	return busy;
}
