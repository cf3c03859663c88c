/*
 * DNS over UDP for clients: a worker's listening sockets, read in batches of
 * WARD_UDP_BATCH datagrams per recvmmsg() and answered in batches per sendmmsg().
 *
 * UDP bypasses libuv's uv_udp_t: a uv_poll_t tells us the socket is readable and udp.c
 * pulls up to WARD_UDP_BATCH datagrams at once; answers are collected and leave in one
 * sendmmsg() per listener at the end of the loop iteration, so a busy worker makes two
 * syscalls per batch instead of two per query.
 */
#ifndef WARD_UDP_H
#define WARD_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "resolver/client.h"

#define WARD_UDP_BATCH 32          /* datagrams per recvmmsg/sendmmsg */
#define WARD_UDP_RECV_MAX 4096     /* larger client datagrams are dropped */
#define WARD_UDP_SEND_MAX 4096
#define WARD_UDP_CTRL_MAX 64       /* room for one IP_PKTINFO / IPV6_PKTINFO cmsg */
#define WARD_UDP_RCVBUF (4 << 20)  /* receive buffer asked for each socket (udp.c) */

struct ward_worker;

struct ward_udp_listener {
	struct ward_worker *worker;
	uv_poll_t poll;
	int fd;
	bool polling;
	bool pktinfo;                /* wildcard address: record and reuse the local address */
	unsigned n_out;
	struct mmsghdr out_msgs[WARD_UDP_BATCH];
	struct iovec out_iov[WARD_UDP_BATCH];
	struct sockaddr_storage out_addr[WARD_UDP_BATCH];
	uint8_t out_ctrl[WARD_UDP_BATCH][WARD_UDP_CTRL_MAX];
	uint8_t out_buf[WARD_UDP_BATCH][WARD_UDP_SEND_MAX];
};

/* Ask for a WARD_UDP_RCVBUF receive buffer on a client-facing UDP socket fd, before it is
 * bound (best effort: the kernel may grant less, ward_udp_rcvbuf() says what it gave). */
void ward_udp_grow_rcvbuf(int fd);

/* The receive buffer of l's socket as the kernel grants it (getsockopt reports twice the
 * size set, its bookkeeping included; this is the size set), or 0. */
int ward_udp_rcvbuf(const struct ward_udp_listener *l);

/* Start reading l (its fd is bound). @return 0 or a WARD_E* code (uv_errno converted). */
int ward_udp_listener_start(struct ward_worker *w, struct ward_udp_listener *l);

/* Stop reading l; its socket stays open for answers to queries still in flight. */
void ward_udp_listener_stop(struct ward_udp_listener *l);

/* The buffer the next answer queued on l goes out from (WARD_UDP_SEND_MAX bytes in
 * *cap): an answer written there and then queued is not copied. Valid until the next
 * ward_udp_queue() on l. */
uint8_t *ward_udp_reserve(struct ward_udp_listener *l, size_t *cap);

/* Queue an answer on l; it leaves with l's next sendmmsg() batch. msg may be the buffer
 * ward_udp_reserve() returned. */
void ward_udp_queue(struct ward_udp_listener *l, const struct ward_client_ref *to,
		    const uint8_t *msg, size_t len);

/* Send every queued answer of every listener of w (the loop's check phase). */
void ward_udp_flush_all(struct ward_worker *w);

#endif
