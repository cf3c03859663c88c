/*
 * Worker threads: socket setup, the UDP receive/send batching, start and drain.
 *
 * UDP bypasses libuv's uv_udp_t: a uv_poll_t tells us the socket is readable and we pull
 * up to WARD_UDP_BATCH datagrams per recvmmsg(); answers are collected and leave in one
 * sendmmsg() per listener at the end of the loop iteration (a uv_check_t), so a busy
 * worker makes two syscalls per batch instead of two per query.
 */
#include "resolver/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "blocklists/error.h"
#include "blocklists/log.h"

#define WARD_DRAIN_MAX_MS 6000
/* An idle worker's reader lets go of its snapshot this often (a busy one renews it per
 * batch anyway): a snapshot held across builds makes every build add a full copy of the
 * table to the file, because LMDB can reuse no page freed since that snapshot. */
#define WARD_READER_RELEASE_MS 500

static bool is_wildcard(const struct ward_addr *addr)
{
	if (addr->sa.sa_family == AF_INET)
		return addr->v4.sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&addr->v6.sin6_addr);
}

/* On a wildcard UDP socket, ask the kernel for each datagram's destination address. */
static int want_pktinfo(int fd, int family)
{
	int one = 1;
	if (family == AF_INET)
		return setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	return setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
}

/*
 * A worker off the CPU for a moment (a busy machine, page faults in a new database
 * snapshot) must find the queries that came meanwhile still queued. The default buffer
 * (net.core.rmem_default, 208 KiB) holds about 256 small datagrams, some 15 ms of a
 * busy worker's load; 4 MiB holds about 10,000. Memory is taken only while datagrams
 * wait. Workers bind before privileges are dropped: as root SO_RCVBUFFORCE passes
 * net.core.rmem_max, otherwise the kernel caps SO_RCVBUF at it (log_start reports it).
 */
static void grow_rcvbuf(int fd)
{
	int want = WARD_UDP_RCVBUF;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof(want)) != 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof(want));
}

int ward_worker_udp_rcvbuf(const struct ward_worker *w)
{
	int got = 0;
	socklen_t len = sizeof(got);
	if (w->n_udp == 0 || getsockopt(w->udp[0].fd, SOL_SOCKET, SO_RCVBUF, &got, &len) != 0)
		return 0;
	return got;
}

static int socket_for(const struct ward_addr *addr, int type)
{
	int fd = socket(addr->sa.sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	/* Each worker binds its own socket to the same address; the kernel spreads
	 * clients across them by flow hash. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
		goto fail;
	if (addr->sa.sa_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0)
		goto fail;
	if (type == SOCK_DGRAM && is_wildcard(addr) && want_pktinfo(fd, addr->sa.sa_family) != 0)
		goto fail;
	if (type == SOCK_DGRAM)
		grow_rcvbuf(fd);
	if (bind(fd, &addr->sa, addr->len) != 0)
		goto fail;
	return fd;
fail:;
	int saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

static int bind_listeners(struct ward_worker *w)
{
	const struct ward_conf *conf = w->conf;
	char text[64];
	w->udp = calloc(conf->n_listen, sizeof(*w->udp));
	w->tcp = calloc(conf->n_listen, sizeof(*w->tcp));
	if (!w->udp || !w->tcp)
		return WARD_ENOMEM;
	for (size_t i = 0; i < conf->n_listen; i++) {
		const struct ward_addr *addr = &conf->listen[i];
		int ufd = socket_for(addr, SOCK_DGRAM);
		if (ufd < 0) {
			int err = ward_errno(errno);
			ward_log_error("cannot bind UDP %s: %s",
				       ward_addr_format(addr, text, sizeof(text)), ward_strerror(err));
			return err;
		}
		w->udp[w->n_udp].fd = ufd;
		w->udp[w->n_udp].worker = w;
		w->udp[w->n_udp].pktinfo = is_wildcard(addr);
		w->n_udp++;
		int tfd = socket_for(addr, SOCK_STREAM);
		if (tfd < 0) {
			int err = ward_errno(errno);
			ward_log_error("cannot bind TCP %s: %s",
				       ward_addr_format(addr, text, sizeof(text)), ward_strerror(err));
			return err;
		}
		w->tcp[w->n_tcp].fd = tfd;
		w->tcp[w->n_tcp].worker = w;
		w->n_tcp++;
	}
	return 0;
}

static void close_listener_fds(struct ward_worker *w)
{
	for (size_t i = 0; i < w->n_udp; i++)
		if (w->udp[i].fd >= 0 && !w->udp[i].polling)
			close(w->udp[i].fd);
	for (size_t i = 0; i < w->n_tcp; i++)
		if (w->tcp[i].fd >= 0 && !w->tcp[i].open)
			close(w->tcp[i].fd);
}

int ward_worker_init(struct ward_worker *w, unsigned id, const struct ward_conf *conf,
		     struct ward_shared *shared)
{
	memset(w, 0, sizeof(*w));
	w->id = id;
	w->conf = conf;
	w->shared = shared;
	int rc = bind_listeners(w);
	if (rc != 0)
		goto fail;
	uint32_t per_shard = conf->cache.max_entries / (conf->workers ? conf->workers : 1);
	if (conf->cache.max_entries && per_shard == 0)
		per_shard = 1;
	w->cache = ward_cache_new(per_shard, &conf->cache);
	if (!w->cache) {
		rc = WARD_ENOMEM;
		goto fail;
	}
	w->conns = ward_tcp_conns_new();
	w->rrl = ward_rrl_new();
	if (conf->web.enabled)
		w->records = ward_ring_new(); /* the web listener reads this worker's blocks */
	if (!w->conns || !w->rrl || (conf->web.enabled && !w->records)) {
		rc = WARD_ENOMEM;
		goto fail;
	}
	return 0;
fail:
	ward_ring_free(w->records);
	close_listener_fds(w);
	free(w->udp);
	free(w->tcp);
	free(w->conns);
	ward_rrl_free(w->rrl);
	ward_cache_free(w->cache);
	memset(w, 0, sizeof(*w));
	return rc;
}

/* ---- UDP ---------------------------------------------------------------------------- */

static void udp_flush(struct ward_udp_listener *l)
{
	unsigned sent = 0;
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
		l->worker->stats.dropped++;
		sent++;
	}
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

static void udp_queue(struct ward_udp_listener *l, const struct ward_client_ref *to,
		      const uint8_t *msg, size_t len)
{
	if (len > WARD_UDP_SEND_MAX)
		return;
	if (l->n_out == WARD_UDP_BATCH)
		udp_flush(l);
	unsigned i = l->n_out++;
	if (msg != l->out_buf[i])
		memcpy(l->out_buf[i], msg, len);
	memcpy(&l->out_addr[i], &to->addr.ss, to->addr.len);
	l->out_iov[i].iov_base = l->out_buf[i];
	l->out_iov[i].iov_len = len;
	memset(&l->out_msgs[i], 0, sizeof(l->out_msgs[i]));
	l->out_msgs[i].msg_hdr.msg_name = &l->out_addr[i];
	l->out_msgs[i].msg_hdr.msg_namelen = to->addr.len;
	l->out_msgs[i].msg_hdr.msg_iov = &l->out_iov[i];
	l->out_msgs[i].msg_hdr.msg_iovlen = 1;
	if (to->local.family)
		set_source(&l->out_msgs[i].msg_hdr, l->out_ctrl[i], &to->local);
}

static void flush_soon(uv_idle_t *idle)
{
}

/* An answer queued after this iteration's check phase (from a close callback: a SERVFAIL
 * or stale answer after the last upstream try) would wait for the loop's next wake-up,
 * up to a probe interval away. An active idle handle keeps the loop from blocking until
 * flush_all() has sent it. */
void ward_worker_send(struct ward_worker *w, const struct ward_client_ref *to,
		      const uint8_t *msg, size_t len)
{
	if (to->transport != WARD_TRANSPORT_UDP) {
		ward_tcp_send(w, to->conn, to->conn_gen, msg, len);
		return;
	}
	udp_queue(to->udp, to, msg, len);
	/* Answers made inside udp_on_readable() leave with its own sendmmsg at the end. */
	if (to->udp != w->reading_udp && !w->stopped &&
	    !uv_is_active((uv_handle_t *)&w->flush_idle))
		uv_idle_start(&w->flush_idle, flush_soon);
}

void ward_worker_drop(struct ward_worker *w, const struct ward_client_ref *to)
{
	if (to->transport == WARD_TRANSPORT_TCP)
		ward_tcp_drop(w, to->conn, to->conn_gen);
}

/* A TC=1 answer with the question only: a real client retries over TCP, where a spoofed
 * source cannot follow. */
static void send_slip(struct ward_udp_listener *l, const struct ward_client_ref *to,
		      const uint8_t *pkt, size_t len)
{
	struct ward_dns_query q;
	uint8_t buf[WARD_DNS_HEADER_LEN + WARD_DNS_NAME_MAX + 4 + 64];
	if (ward_dns_parse_query(pkt, len, &q) != WARD_DNS_OK)
		return;
	size_t n = ward_dns_write_rcode(buf, sizeof(buf), &q, WARD_RCODE_NOERROR, WARD_EDE_NONE,
					NULL);
	if (!n)
		return;
	buf[2] |= 0x02; /* TC */
	udp_queue(l, to, buf, n);
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
		w->stats.rrl_slipped++;
		send_slip(l, from, pkt, len);
		return true;
	default:
		w->stats.rrl_dropped++;
		return true;
	}
}

/* Receive buffers live on the worker's stack frame of this callback only: the query
 * pipeline copies what it keeps (the question) before returning. */
static void udp_on_readable(uv_poll_t *poll, int status, int events)
{
	struct ward_udp_listener *l = poll->data;
	struct ward_worker *w = l->worker;
	static _Thread_local uint8_t bufs[WARD_UDP_BATCH][WARD_UDP_RECV_MAX];
	static _Thread_local struct mmsghdr msgs[WARD_UDP_BATCH];
	static _Thread_local struct iovec iov[WARD_UDP_BATCH];
	static _Thread_local struct sockaddr_storage from[WARD_UDP_BATCH];
	static _Thread_local uint8_t ctrl[WARD_UDP_BATCH][WARD_UDP_CTRL_MAX];
	if (status < 0)
		return;
	w->reading_udp = l;
	/* A few rounds at most, so one flooded socket cannot starve the others. */
	for (int round = 0; round < 4 && !w->stopping; round++) {
		for (unsigned i = 0; i < WARD_UDP_BATCH; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = sizeof(bufs[i]);
			memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
			msgs[i].msg_hdr.msg_name = &from[i];
			msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			if (l->pktinfo) {
				msgs[i].msg_hdr.msg_control = ctrl[i];
				msgs[i].msg_hdr.msg_controllen = sizeof(ctrl[i]);
			}
		}
		int n = recvmmsg(l->fd, msgs, WARD_UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
				w->stats.dropped++;
				continue;
			}
			struct ward_client_ref ref = {.transport = WARD_TRANSPORT_UDP, .udp = l};
			memcpy(&ref.addr.ss, &from[i], msgs[i].msg_hdr.msg_namelen);
			ref.addr.len = msgs[i].msg_hdr.msg_namelen;
			if (l->pktinfo)
				read_local(&msgs[i].msg_hdr, &ref.local);
			if (!rate_limited(w, l, &ref, bufs[i], msgs[i].msg_len))
				ward_query_handle(w, bufs[i], msgs[i].msg_len, &ref);
		}
		if (n < WARD_UDP_BATCH)
			break;
	}
	w->reading_udp = NULL;
	udp_flush(l);
}

static void flush_all(uv_check_t *check)
{
	struct ward_worker *w = check->data;
	for (size_t i = 0; i < w->n_udp; i++)
		if (w->udp[i].n_out)
			udp_flush(&w->udp[i]);
	uv_idle_stop(&w->flush_idle);
}

/* ---- lifecycle ---------------------------------------------------------------------- */

static void close_handle(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void finish_stop(struct ward_worker *w)
{
	if (w->stopped)
		return;
	w->stopped = true;
	flush_all(&w->flush_check);
	ward_tcp_close_all(w);
	ward_fwd_stop(w);
	uv_walk(&w->loop, close_handle, NULL);
}

static void drain_check(uv_timer_t *t)
{
	struct ward_worker *w = t->data;
	bool expired = ward_worker_now(w) >= w->drain_deadline;
	if ((ward_fwd_busy(w) == 0 && ward_tcp_busy(w) == 0) || expired)
		finish_stop(w);
}

static void stop_listening(struct ward_worker *w)
{
	for (size_t i = 0; i < w->n_udp; i++) {
		struct ward_udp_listener *l = &w->udp[i];
		if (l->polling) {
			/* Only stop reading: answers to the queries still in flight leave
			 * through this socket, which ward_worker_destroy() closes. */
			uv_poll_stop(&l->poll);
			uv_close((uv_handle_t *)&l->poll, NULL);
			l->polling = false;
		}
	}
	for (size_t i = 0; i < w->n_tcp; i++) {
		if (w->tcp[i].open) {
			uv_close((uv_handle_t *)&w->tcp[i].handle, NULL);
			w->tcp[i].open = false;
		}
	}
}

static void on_wakeup(uv_async_t *async)
{
	struct ward_worker *w = async->data;
	if (w->stopping)
		return;
	w->stopping = true;
	/* Stop taking new queries, then let what is in flight finish. */
	stop_listening(w);
	w->drain_timer.data = w;
	w->drain_deadline = ward_worker_now(w) + WARD_DRAIN_MAX_MS;
	uv_timer_start(&w->drain_timer, drain_check, 0, 20);
}

static int start_listeners(struct ward_worker *w)
{
	for (size_t i = 0; i < w->n_udp; i++) {
		struct ward_udp_listener *l = &w->udp[i];
		if (uv_poll_init_socket(&w->loop, &l->poll, l->fd) != 0)
			return WARD_EIO;
		l->poll.data = l;
		l->polling = true;
		uv_poll_start(&l->poll, UV_READABLE, udp_on_readable);
	}
	for (size_t i = 0; i < w->n_tcp; i++) {
		int rc = ward_tcp_listener_start(w, &w->tcp[i]);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Idle housekeeping: let go of the database snapshot, and of a policy or override table
 * the main thread has replaced (it frees them only once every worker moved on). */
static void release_reader(uv_timer_t *t)
{
	struct ward_worker *w = t->data;
	ward_catdb_reader_release(w->reader);
	ward_query_sync_views(w);
}

static void worker_main(void *arg)
{
	struct ward_worker *w = arg;
	uv_run(&w->loop, UV_RUN_DEFAULT);
	/* Handles closed by finish_stop() need one more turn to run their close callbacks. */
	uv_run(&w->loop, UV_RUN_DEFAULT);
}

int ward_worker_start(struct ward_worker *w)
{
	if (uv_loop_init(&w->loop) != 0)
		return WARD_ENOMEM;
	w->loop_ready = true;
	w->loop.data = w;
	uv_async_init(&w->loop, &w->wakeup, on_wakeup);
	w->wakeup.data = w;
	uv_check_init(&w->loop, &w->flush_check);
	w->flush_check.data = w;
	uv_check_start(&w->flush_check, flush_all);
	uv_unref((uv_handle_t *)&w->flush_check);
	uv_idle_init(&w->loop, &w->flush_idle);
	uv_timer_init(&w->loop, &w->drain_timer);
	uv_timer_init(&w->loop, &w->reader_timer);
	w->reader_timer.data = w;
	uv_timer_start(&w->reader_timer, release_reader, WARD_READER_RELEASE_MS,
		       WARD_READER_RELEASE_MS);
	int rc = ward_fwd_init(w);
	if (rc == 0)
		rc = start_listeners(w);
	if (rc != 0)
		return rc;
	if (uv_thread_create(&w->thread, worker_main, w) != 0)
		return WARD_ENOMEM;
	return 0;
}

void ward_worker_request_stop(struct ward_worker *w)
{
	uv_async_send(&w->wakeup);
}

void ward_worker_join(struct ward_worker *w)
{
	uv_thread_join(&w->thread);
}

/* libuv closes a loop only once its handles are closed: a joined worker closed them
 * itself (finish_stop), one that never ran still has them open. */
static void close_loop(struct ward_worker *w)
{
	if (!w->loop_ready)
		return;
	uv_walk(&w->loop, close_handle, NULL);
	uv_run(&w->loop, UV_RUN_DEFAULT);
	for (size_t i = 0; i < w->n_udp; i++)
		w->udp[i].polling = false; /* the poll handle is gone; the fd is still ours */
	if (uv_loop_close(&w->loop) != 0)
		ward_log_error("worker %u: its event loop still has open handles", w->id);
	w->loop_ready = false;
}

void ward_worker_destroy(struct ward_worker *w)
{
	close_loop(w);
	ward_fwd_destroy(w);
	ward_catdb_reader_free(w->reader);
	w->reader = NULL;
	close_listener_fds(w);
	ward_cache_free(w->cache);
	ward_rrl_free(w->rrl);
	free(w->udp);
	free(w->tcp);
	free(w->conns);
	ward_ring_free(w->records);
}

/* Descriptors one worker may hold at its caps: a socket per live upstream query, one per
 * open TCP connection, its listeners, and a few for its loop. */
static unsigned long long fds_per_worker(const struct ward_conf *conf)
{
	return WARD_FWD_MAX_PENDING + WARD_TCP_MAX_CONNS + 2ull * conf->n_listen + 8;
}

void ward_worker_raise_fd_limit(const struct ward_conf *conf)
{
	struct rlimit rl;
	unsigned workers = conf->workers ? conf->workers : 1;
	unsigned long long need = workers * fds_per_worker(conf) + 64;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		ward_log_warn("cannot read the open file limit: %s", strerror(errno));
		return;
	}
	unsigned long long was = rl.rlim_cur;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
			ward_log_warn("cannot raise the open file limit to %llu: %s",
				      (unsigned long long)rl.rlim_max, strerror(errno));
			rl.rlim_cur = was;
		}
	}
	ward_log_info("open file limit %llu (was %llu); %u workers use at most %llu",
		      (unsigned long long)rl.rlim_cur, was, workers, need);
	if (rl.rlim_cur < need)
		ward_log_warn("open file limit %llu is below the %llu that %u workers use at their "
			      "caps: queries will fail under load; raise LimitNOFILE (systemd) or "
			      "ulimit -n", (unsigned long long)rl.rlim_cur, need, workers);
}
