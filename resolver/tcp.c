/*
 * DNS over TCP for clients (RFC 7766): length-prefixed messages, several queries in flight
 * per connection, each answered as soon as it completes (not in order), an idle timeout,
 * and a per-worker cap on connections. A connection slot carries a generation number so
 * that an answer for a connection that has since closed is dropped.
 */
#include <stdlib.h>
#include <string.h>

#include "blocklists/error.h"
#include "blocklists/log.h"
#include "resolver/worker.h"

#define TCP_READ_CAP (WARD_TCP_QUERY_MAX + 2)
#define TCP_MAX_INFLIGHT 64 /* per connection; more pauses reading */

struct ward_tcp_conn {
	struct ward_worker *worker;
	uv_tcp_t handle;
	uv_timer_t idle;
	bool in_use;
	bool closing;
	bool reading;
	bool eof;
	uint32_t gen;
	unsigned pending_writes;
	unsigned inflight;
	struct ward_addr peer;
	size_t rlen;
	uint8_t rbuf[TCP_READ_CAP];
};

struct tcp_write {
	uv_write_t req;
	struct ward_tcp_conn *conn;
	uint8_t data[];
};

static void conn_closed(uv_handle_t *h)
{
	struct ward_tcp_conn *c = h->data;
	if (h == (uv_handle_t *)&c->handle) {
		c->in_use = false;
		c->worker->n_conns--;
	}
}

static void conn_close(struct ward_tcp_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	c->gen++;
	uv_timer_stop(&c->idle);
	uv_close((uv_handle_t *)&c->idle, conn_closed);
	uv_close((uv_handle_t *)&c->handle, conn_closed);
}

static void on_idle(uv_timer_t *t)
{
	struct ward_tcp_conn *c = t->data;
	if (c->inflight == 0 && c->pending_writes == 0)
		conn_close(c);
	else
		uv_timer_again(t);
}

static void read_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct ward_tcp_conn *c = h->data;
	buf->base = (char *)c->rbuf + c->rlen;
	buf->len = sizeof(c->rbuf) - c->rlen;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void update_reading(struct ward_tcp_conn *c)
{
	bool want = !c->closing && !c->eof && c->inflight < TCP_MAX_INFLIGHT &&
		    !c->worker->stopping;
	if (want && !c->reading)
		uv_read_start((uv_stream_t *)&c->handle, read_alloc, on_read);
	else if (!want && c->reading)
		uv_read_stop((uv_stream_t *)&c->handle);
	c->reading = want;
}

/* Hand every complete message in the buffer to the query pipeline. */
static void consume_messages(struct ward_tcp_conn *c)
{
	size_t off = 0;
	while (c->rlen - off >= 2 && !c->closing) {
		size_t len = (size_t)c->rbuf[off] << 8 | c->rbuf[off + 1];
		if (len > WARD_TCP_QUERY_MAX || len == 0) {
			conn_close(c);
			return;
		}
		if (c->rlen - off < len + 2)
			break;
		struct ward_client_ref ref = {
			.transport = WARD_TRANSPORT_TCP, .conn = c, .conn_gen = c->gen,
			.addr = c->peer,
		};
		c->inflight++;
		ward_query_handle(c->worker, c->rbuf + off + 2, len, &ref);
		off += len + 2;
	}
	if (off) {
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
		c->rlen -= off;
	}
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct ward_tcp_conn *c = s->data;
	if (nread < 0) {
		/* A client may half-close after its last query: answers still owed go out
		 * first, then the connection closes (see close_if_done). */
		if (c->inflight == 0 || nread != UV_EOF) {
			conn_close(c);
			return;
		}
		c->eof = true;
		update_reading(c);
		return;
	}
	c->rlen += (size_t)nread;
	uv_timer_again(&c->idle);
	consume_messages(c);
	if (!c->closing)
		update_reading(c);
}

static void close_if_done(struct ward_tcp_conn *c)
{
	if (c->eof && c->inflight == 0 && c->pending_writes == 0)
		conn_close(c);
}

static void on_written(uv_write_t *req, int status)
{
	struct tcp_write *wr = (struct tcp_write *)req;
	struct ward_tcp_conn *c = wr->conn;
	c->pending_writes--;
	free(wr);
	if (status < 0)
		conn_close(c);
	else
		close_if_done(c);
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
	size_t total = len + 2;
	int n = c->pending_writes ? UV_EAGAIN : uv_try_write((uv_stream_t *)&c->handle, bufs, 2);
	if (n == (int)total)
		goto done;
	if (n < 0 && n != UV_EAGAIN) {
		conn_close(c);
		return;
	}
	/* The socket is full: queue the rest (rare; the only allocation on this path). */
	size_t sent = n > 0 ? (size_t)n : 0;
	struct tcp_write *wr = malloc(sizeof(*wr) + total - sent);
	if (!wr) {
		conn_close(c);
		return;
	}
	uint8_t whole[2 + WARD_DNS_MSG_MAX];
	memcpy(whole, prefix, 2);
	memcpy(whole + 2, msg, len);
	memcpy(wr->data, whole + sent, total - sent);
	wr->conn = c;
	uv_buf_t rest = uv_buf_init((char *)wr->data, (unsigned)(total - sent));
	if (uv_write(&wr->req, (uv_stream_t *)&c->handle, &rest, 1, on_written) != 0) {
		free(wr);
		conn_close(c);
		return;
	}
	c->pending_writes++;
done:
	update_reading(c);
	close_if_done(c);
}

/* Every message read counts as in flight until it is answered or dropped; a leak here
 * would stall reading at TCP_MAX_INFLIGHT and hold up the drain at exit. */
void ward_tcp_drop(struct ward_worker *w, struct ward_tcp_conn *c, uint32_t gen)
{
	if (!c || !c->in_use || c->closing || c->gen != gen)
		return;
	if (c->inflight)
		c->inflight--;
	update_reading(c);
	close_if_done(c);
}

static struct ward_tcp_conn *conn_slot(struct ward_worker *w)
{
	if (w->n_conns >= WARD_TCP_MAX_CONNS)
		return NULL;
	for (unsigned i = 0; i < WARD_TCP_MAX_CONNS; i++)
		if (!w->conns[i].in_use)
			return &w->conns[i];
	return NULL;
}

static void reject_closed(uv_handle_t *h)
{
	free(h);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct ward_tcp_listener *l = server->data;
	struct ward_worker *w = l->worker;
	if (status < 0)
		return;
	struct ward_tcp_conn *c = conn_slot(w);
	if (!c) {
		/* At the cap: accept and close at once, so the client learns now rather than
		 * waiting in the backlog. */
		uv_tcp_t *tmp = malloc(sizeof(*tmp));
		if (tmp && uv_tcp_init(&w->loop, tmp) == 0 && uv_accept(server, (uv_stream_t *)tmp) == 0)
			uv_close((uv_handle_t *)tmp, reject_closed);
		else
			free(tmp);
		return;
	}
	uint32_t gen = c->gen + 1;
	memset(c, 0, offsetof(struct ward_tcp_conn, rbuf));
	c->gen = gen;
	c->worker = w;
	uv_tcp_init(&w->loop, &c->handle);
	c->handle.data = c;
	if (uv_accept(server, (uv_stream_t *)&c->handle) != 0) {
		uv_close((uv_handle_t *)&c->handle, NULL);
		return;
	}
	c->in_use = true;
	w->n_conns++;
	int namelen = sizeof(c->peer.ss);
	uv_tcp_getpeername(&c->handle, &c->peer.sa, &namelen);
	c->peer.len = (socklen_t)namelen;
	uv_tcp_nodelay(&c->handle, 1);
	uv_timer_init(&w->loop, &c->idle);
	c->idle.data = c;
	uv_timer_start(&c->idle, on_idle, WARD_TCP_IDLE_MS, WARD_TCP_IDLE_MS);
	update_reading(c);
}

struct ward_tcp_conn *ward_tcp_conns_new(void)
{
	return calloc(WARD_TCP_MAX_CONNS, sizeof(struct ward_tcp_conn));
}

int ward_tcp_listener_start(struct ward_worker *w, struct ward_tcp_listener *l)
{
	if (uv_tcp_init(&w->loop, &l->handle) != 0)
		return WARD_EIO;
	l->handle.data = l;
	if (uv_tcp_open(&l->handle, l->fd) != 0)
		return WARD_EIO;
	l->open = true;
	if (uv_listen((uv_stream_t *)&l->handle, 128, on_connection) != 0)
		return WARD_EIO;
	return 0;
}

void ward_tcp_close_all(struct ward_worker *w)
{
	for (unsigned i = 0; i < WARD_TCP_MAX_CONNS; i++)
		if (w->conns[i].in_use)
			conn_close(&w->conns[i]);
}

unsigned ward_tcp_busy(const struct ward_worker *w)
{
	unsigned busy = 0;
	for (unsigned i = 0; i < WARD_TCP_MAX_CONNS; i++) {
		const struct ward_tcp_conn *c = &w->conns[i];
		if (c->in_use && !c->closing && (c->inflight || c->pending_writes))
			busy++;
	}
	return busy;
}
