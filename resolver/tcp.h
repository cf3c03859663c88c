/*
 * DNS over TCP for clients (RFC 7766): a worker's listening sockets and connection slots.
 * The caps (slots, per-client connections, idle and write deadlines, queued bytes) are
 * described at the top of tcp.c.
 */
#ifndef WARD_TCP_H
#define WARD_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define WARD_TCP_MAX_CONNS 256     /* open client connections per worker */
#define WARD_TCP_SPARE_CONNS 32    /* slots for connections still closing (see tcp.c) */
#define WARD_TCP_IDLE_MS 10000     /* RFC 7766 suggests seconds, not minutes */
#define WARD_TCP_MSG_MS 2000       /* a query must arrive whole within this of its first byte */
#define WARD_TCP_WRITE_MS 5000     /* a queued answer must leave within this, or reset */
#define WARD_TCP_QUEUE_SOFT 16384  /* queued answer bytes above which a conn stops reading */
#define WARD_TCP_QUEUE_HARD 262144 /* queued answer bytes above which a conn is reset */
#define WARD_TCP_QUERY_MAX 4096    /* a client query larger than this closes the conn */

struct ward_worker;
struct ward_tcp_conn;

struct ward_tcp_listener {
	struct ward_worker *worker;
	uv_tcp_t handle;
	int fd;
	bool open;
};

/* A worker's connection slots: WARD_TCP_MAX_CONNS + WARD_TCP_SPARE_CONNS of them,
 * zeroed (calloc), so pages are backed only once connections have used them. Free with
 * free(). NULL when out of memory. */
struct ward_tcp_conn *ward_tcp_conns_new(void);

/* @return 0 or a WARD_E* code (uv_errno converted). */
int ward_tcp_listener_start(struct ward_worker *w, struct ward_tcp_listener *l);
void ward_tcp_send(struct ward_worker *w, struct ward_tcp_conn *conn, uint32_t gen,
		   const uint8_t *msg, size_t len);
void ward_tcp_drop(struct ward_worker *w, struct ward_tcp_conn *conn, uint32_t gen);
void ward_tcp_close_all(struct ward_worker *w);
unsigned ward_tcp_busy(const struct ward_worker *w);

#endif
