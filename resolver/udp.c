/*
 * DNS over UDP for clients (udp.h): batched reads with recvmmsg(), batched answers with
 * sendmmsg(), the source address of wildcard listeners, and response rate limiting.
 */
#include "resolver/udp.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "resolver/proxy.h"
#include "resolver/stats.h"
#include "resolver/uv_error.h"
#include "resolver/worker.h"

/*
 * A worker off the CPU for a moment (a busy machine, page faults in a new database
 * snapshot) must find the queries that came meanwhile still queued. The default buffer
 * (net.core.rmem_default, 208 KiB) holds about 256 small datagrams, some 15 ms of a
 * busy worker's load; 4 MiB holds about 10,000. Memory is taken only while datagrams
 * wait. Workers bind before privileges are dropped: as root SO_RCVBUFFORCE passes
 * net.core.rmem_max, otherwise the kernel caps SO_RCVBUF at it (wardd logs what it got).
 */
void ward_udp_grow_rcvbuf(int fd)
{
	int want = WARD_UDP_RCVBUF;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof(want)) != 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof(want));
}

int ward_udp_rcvbuf(const struct ward_udp_listener *l)
{
	int got = 0;
	socklen_t len = sizeof(got);
	if (getsockopt(l->fd, SOL_SOCKET, SO_RCVBUF, &got, &len) != 0)
		return 0;
	return got / 2;
}

static void udp_flush(struct ward_udp_listener *l)
{
	unsigned sent = 0, failed = 0;
	while (sent < l->n_out) {
		int n = sendmmsg(l->fd, l->out_msgs + sent, l->n_out - sent, MSG_DONTWAIT);
		if (n > 0) {
			sent += (unsigned)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		/* A full socket buffer or an unreachable client: UDP answers may be lost,
		 * the client retries. Skip the datagram that failed and go on. */
		l->worker->stats.udp_send_failed++;
		failed++;
		sent++;
	}
	l->worker->stats.udp_answered += l->n_out - failed;
	l->n_out = 0;
}

/* Answer from the address the query came to (IP_PKTINFO / IPV6_PKTINFO). */
static void set_source(struct msghdr *mh, uint8_t *ctrl, const struct ward_local_addr *local)
{
	memset(ctrl, 0, WARD_UDP_CTRL_MAX);
	mh->msg_control = ctrl;
	struct cmsghdr *cm;
	if (local->family == AF_INET) {
		mh->msg_controllen = CMSG_SPACE(sizeof(struct in_pktinfo));
		cm = CMSG_FIRSTHDR(mh);
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
		struct in_pktinfo pi = {.ipi_spec_dst = local->v4};
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	} else {
		mh->msg_controllen = CMSG_SPACE(sizeof(struct in6_pktinfo));
		cm = CMSG_FIRSTHDR(mh);
		cm->cmsg_level = IPPROTO_IPV6;
		cm->cmsg_type = IPV6_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
		struct in6_pktinfo pi = {.ipi6_addr = local->v6, .ipi6_ifindex = local->ifindex};
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	}
}

/* The destination of a received datagram, from its control messages. */
static void read_local(struct msghdr *mh, struct ward_local_addr *local)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			local->family = AF_INET;
			local->v4 = pi.ipi_addr;
			return;
		}
		if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			local->family = AF_INET6;
			local->v6 = pi.ipi6_addr;
			local->ifindex = pi.ipi6_ifindex;
			return;
		}
	}
}

uint8_t *ward_udp_reserve(struct ward_udp_listener *l, size_t *cap)
{
	if (l->n_out == WARD_UDP_BATCH)
		udp_flush(l);
	*cap = WARD_UDP_SEND_MAX;
	return l->out_buf[l->n_out];
}

void ward_udp_queue(struct ward_udp_listener *l, const struct ward_client_ref *to,
		    const uint8_t *msg, size_t len)
{
	if (len > WARD_UDP_SEND_MAX) {
		ward_worker_unanswerable(l->worker, to);
		return;
	}
	if (l->n_out == WARD_UDP_BATCH)
		udp_flush(l);
	unsigned i = l->n_out++;
	if (msg != l->out_buf[i])
		memcpy(l->out_buf[i], msg, len);
	memcpy(&l->out_addr[i], &to->peer.ss, to->peer.len);
	l->out_iov[i].iov_base = l->out_buf[i];
	l->out_iov[i].iov_len = len;
	memset(&l->out_msgs[i], 0, sizeof(l->out_msgs[i]));
	l->out_msgs[i].msg_hdr.msg_name = &l->out_addr[i];
	l->out_msgs[i].msg_hdr.msg_namelen = to->peer.len;
	l->out_msgs[i].msg_hdr.msg_iov = &l->out_iov[i];
	l->out_msgs[i].msg_hdr.msg_iovlen = 1;
	if (to->local.family)
		set_source(&l->out_msgs[i].msg_hdr, l->out_ctrl[i], &to->local);
}

/* A TC=1 answer with the question only: a real client retries over TCP, where a spoofed
 * source cannot follow. @return false when pkt is no query to answer (dropped). */
static bool send_slip(struct ward_udp_listener *l, const struct ward_client_ref *to,
		      const uint8_t *pkt, size_t len)
{
	struct ward_dns_query q;
	uint8_t buf[WARD_DNS_HEADER_LEN + WARD_DNS_NAME_MAX + 4 + 64];
	if (ward_dns_parse_query(pkt, len, &q) != WARD_DNS_OK)
		return false;
	size_t n = ward_dns_write_rcode(buf, sizeof(buf), &q, WARD_RCODE_NOERROR, WARD_EDE_NONE,
					NULL);
	if (!n)
		return false;
	buf[2] |= 0x02; /* TC */
	ward_udp_queue(l, to, buf, n);
	return true;
}

/* Response rate limiting (rate_limit): answers per second per client prefix, taken when
 * the query arrives, before any work, so a flood costs little more than its reads.
 * @return true when the query is not answered normally (dropped, or a TC slip). */
static bool rate_limited(struct ward_worker *w, struct ward_udp_listener *l,
			 const struct ward_client_ref *from, const uint8_t *pkt, size_t len)
{
	const struct ward_conf_rate_limit *rl = &ward_worker_conf(w)->rate_limit;
	if (!rl->responses_per_second)
		return false;
	struct ward_client_key key;
	ward_client_key_make(&key, &from->addr.sa, rl->ipv4_prefix, rl->ipv6_prefix);
	switch (ward_rrl_check(w->rrl, &key, ward_worker_now(w), rl->responses_per_second,
			       rl->slip)) {
	case WARD_RRL_PASS:
		return false;
	case WARD_RRL_SLIP:
		if (send_slip(l, from, pkt, len))
			w->stats.rrl_slipped++;
		else
			w->stats.rrl_dropped++; /* not a query: nothing to slip */
		return true;
	default:
		w->stats.rrl_dropped++;
		return true;
	}
}

/* Receive buffers: one set per worker thread, reused for every batch (the query pipeline
 * copies what it keeps, the question, before returning). */
struct recv_batch {
	bool ready;
	uint8_t bufs[WARD_UDP_BATCH][WARD_UDP_RECV_MAX];
	struct mmsghdr msgs[WARD_UDP_BATCH];
	struct iovec iov[WARD_UDP_BATCH];
	struct sockaddr_storage from[WARD_UDP_BATCH];
	uint8_t ctrl[WARD_UDP_BATCH][WARD_UDP_CTRL_MAX];
};

/* Make entry i ready for recvmmsg(), which overwrites its name and control lengths and
 * flags. Only the entries a call filled need this again, not the whole batch: a worker
 * that reads one datagram per wake-up would otherwise set up all WARD_UDP_BATCH. */
static void batch_reset(struct recv_batch *b, unsigned i)
{
	b->iov[i].iov_base = b->bufs[i];
	b->iov[i].iov_len = sizeof(b->bufs[i]);
	memset(&b->msgs[i].msg_hdr, 0, sizeof(b->msgs[i].msg_hdr));
	b->msgs[i].msg_hdr.msg_name = &b->from[i];
	b->msgs[i].msg_hdr.msg_namelen = sizeof(b->from[i]);
	b->msgs[i].msg_hdr.msg_iov = &b->iov[i];
	b->msgs[i].msg_hdr.msg_iovlen = 1;
	/* Always offered (the batch serves every listener of the thread): a socket without
	 * IP_PKTINFO / IPV6_RECVPKTINFO puts nothing in it. */
	b->msgs[i].msg_hdr.msg_control = b->ctrl[i];
	b->msgs[i].msg_hdr.msg_controllen = sizeof(b->ctrl[i]);
}

/*
 * From a trusted proxy, a datagram starts with a PROXY v2 header naming the client, who
 * then is the client for everything but where the answer goes. Without a valid header it
 * is dropped and counted: answering it would make the proxy's address the client. From
 * any other address nothing is taken off; a header there is a malformed DNS message.
 * @return false when the datagram is dropped.
 */
static bool take_proxy_header(struct ward_worker *w, struct ward_client_ref *ref,
			      const uint8_t **pkt, size_t *len)
{
	const struct ward_conf *conf = ward_worker_conf(w);
	if (!conf->n_trusted_proxies ||
	    !ward_proxy_trusted(conf->trusted_proxies, conf->n_trusted_proxies, &ref->peer.sa))
		return true;
	struct ward_proxy_header h;
	if (ward_proxy_parse(*pkt, *len, &h) != WARD_PROXY_OK) {
		ward_counter_add(&w->qstats->proxy_invalid, 1);
		w->stats.dropped++;
		w->stats.udp_dropped++; /* on purpose: the UDP totals line must not call it lost */
		return false;
	}
	if (!h.local)
		ref->addr = h.src;
	*pkt += h.len;
	*len -= h.len;
	return true;
}

static void handle_datagram(struct ward_worker *w, struct ward_udp_listener *l,
			    struct recv_batch *b, unsigned i)
{
	struct msghdr *mh = &b->msgs[i].msg_hdr;
	if (mh->msg_flags & MSG_TRUNC) {
		w->stats.dropped++;
		w->stats.udp_oversize++;
		return;
	}
	struct ward_client_ref ref;
	ref.transport = WARD_TRANSPORT_UDP;
	ref.udp = l;
	ref.conn = NULL;
	ref.conn_gen = 0;
	ref.local.family = 0;
	memcpy(&ref.peer.ss, &b->from[i], mh->msg_namelen);
	ref.peer.len = mh->msg_namelen;
	ref.addr = ref.peer;
	if (l->pktinfo)
		read_local(mh, &ref.local);
	const uint8_t *pkt = b->bufs[i];
	size_t len = b->msgs[i].msg_len;
	if (take_proxy_header(w, &ref, &pkt, &len) && !rate_limited(w, l, &ref, pkt, len))
		ward_query_handle(w, pkt, len, &ref);
}

static void udp_on_readable(uv_poll_t *poll, int status, int events)
{
	struct ward_udp_listener *l = poll->data;
	struct ward_worker *w = l->worker;
	static _Thread_local struct recv_batch b;
	if (status < 0)
		return;
	if (!b.ready) {
		for (unsigned i = 0; i < WARD_UDP_BATCH; i++)
			batch_reset(&b, i);
		b.ready = true;
	}
	w->reading_udp = l;
	/* A few rounds at most, so one flooded socket cannot starve the others. */
	for (int round = 0; round < 4 && !w->stopping; round++) {
		int n = recvmmsg(l->fd, b.msgs, WARD_UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;
		w->stats.udp_received += (unsigned)n;
		for (unsigned i = 0; i < (unsigned)n; i++) {
			handle_datagram(w, l, &b, i);
			batch_reset(&b, i);
		}
		if (n < WARD_UDP_BATCH)
			break;
	}
	w->reading_udp = NULL;
	udp_flush(l);
}

void ward_udp_flush_all(struct ward_worker *w)
{
	for (size_t i = 0; i < w->n_udp; i++)
		if (w->udp[i].n_out)
			udp_flush(&w->udp[i]);
}

int ward_udp_listener_start(struct ward_worker *w, struct ward_udp_listener *l)
{
	int rc = uv_poll_init_socket(&w->loop, &l->poll, l->fd);
	if (rc != 0)
		return ward_uv_err(rc);
	l->poll.data = l;
	l->polling = true;
	return ward_uv_err(uv_poll_start(&l->poll, UV_READABLE, udp_on_readable));
}

void ward_udp_listener_stop(struct ward_udp_listener *l)
{
	if (!l->polling)
		return;
	/* Only stop reading: answers to the queries still in flight leave through this
	 * socket, which ward_worker_destroy() closes. */
	uv_poll_stop(&l->poll);
	uv_close((uv_handle_t *)&l->poll, NULL);
	l->polling = false;
}
