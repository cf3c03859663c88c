/*
 * Worker threads: socket setup, start and drain, and the hand-off of answers to their
 * transport (udp.c batches UDP answers per loop iteration, tcp.c writes TCP ones).
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
#include "resolver/stats.h"
#include "resolver/uv_error.h"

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
		ward_udp_grow_rcvbuf(fd);
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
	w->records = ward_ring_new(); /* the observer thread reads them (obs.h) */
	w->log_ring = ward_log_ring_new(0);
	w->qstats = ward_stats_new();
	if (!w->conns || !w->rrl || !w->records || !w->log_ring || !w->qstats) {
		rc = WARD_ENOMEM;
		goto fail;
	}
	return 0;
fail:
	ward_ring_free(w->records);
	ward_log_ring_free(w->log_ring);
	ward_stats_free(w->qstats);
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

/* ---- answers ------------------------------------------------------------------------ */

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
	ward_udp_queue(to->udp, to, msg, len);
	/* Answers made inside udp.c's read callback leave with its own sendmmsg at the end. */
	if (to->udp != w->reading_udp && !w->stopped &&
	    !uv_is_active((uv_handle_t *)&w->flush_idle))
		uv_idle_start(&w->flush_idle, flush_soon);
}

void ward_worker_drop(struct ward_worker *w, const struct ward_client_ref *to)
{
	if (to->transport == WARD_TRANSPORT_TCP)
		ward_tcp_drop(w, to->conn, to->conn_gen);
	else
		w->stats.udp_dropped++;
}

void ward_worker_unanswerable(struct ward_worker *w, const struct ward_client_ref *to)
{
	w->stats.unanswerable++;
	if (to->transport == WARD_TRANSPORT_TCP)
		ward_tcp_drop(w, to->conn, to->conn_gen);
	else
		w->stats.udp_unanswerable++;
}

void ward_worker_log_udp_totals(const struct ward_worker *workers, unsigned n)
{
	struct ward_worker_stats t = {0};
	for (unsigned i = 0; i < n; i++) {
		const struct ward_worker_stats *s = &workers[i].stats;
		t.udp_received += s->udp_received;
		t.udp_answered += s->udp_answered;
		t.udp_send_failed += s->udp_send_failed;
		t.udp_oversize += s->udp_oversize;
		t.udp_dropped += s->udp_dropped;
		t.udp_unanswerable += s->udp_unanswerable;
		t.rrl_dropped += s->rrl_dropped;
	}
	uint64_t on_purpose = t.rrl_dropped + t.udp_oversize + t.udp_dropped;
	/* A query read and given no end at all (none of the above) is "unaccounted". */
	long long unaccounted = (long long)(t.udp_received - t.udp_answered - t.udp_send_failed -
					    on_purpose - t.udp_unanswerable);
	uint64_t lost = t.udp_unanswerable + t.udp_send_failed +
			(unaccounted > 0 ? (uint64_t)unaccounted : 0);
	ward_log_info("UDP queries: %llu received, %llu answered, %llu not answered on purpose "
		      "(rate limit, outside allow_clients, malformed), %llu unanswered "
		      "(no answer written %llu, send refused %llu, unaccounted %lld)",
		      (unsigned long long)t.udp_received, (unsigned long long)t.udp_answered,
		      (unsigned long long)on_purpose, (unsigned long long)lost,
		      (unsigned long long)t.udp_unanswerable,
		      (unsigned long long)t.udp_send_failed, unaccounted);
}

/* ---- lifecycle ---------------------------------------------------------------------- */

static void close_handle(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void flush_all(uv_check_t *check)
{
	struct ward_worker *w = check->data;
	ward_udp_flush_all(w);
	uv_idle_stop(&w->flush_idle);
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
	for (size_t i = 0; i < w->n_udp; i++)
		ward_udp_listener_stop(&w->udp[i]);
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
		int rc = ward_udp_listener_start(w, &w->udp[i]);
		if (rc != 0)
			return rc;
	}
	for (size_t i = 0; i < w->n_tcp; i++) {
		int rc = ward_tcp_listener_start(w, &w->tcp[i]);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Idle housekeeping: let go of the database snapshot, and of a policy or override table
 * the main thread has replaced (it frees them only once every worker moved on); copy the
 * cache's and upstreams' figures where the statistics read them. */
static void release_reader(uv_timer_t *t)
{
	struct ward_worker *w = t->data;
	ward_catdb_reader_release(w->reader);
	ward_query_sync_views(w);
	ward_stats_publish(w);
}

static void worker_main(void *arg)
{
	struct ward_worker *w = arg;
	uv_run(&w->loop, UV_RUN_DEFAULT);
	/* Handles closed by finish_stop() need one more turn to run their close callbacks. */
	uv_run(&w->loop, UV_RUN_DEFAULT);
}

/* The loop's own handles. @return 0 or the first libuv error (converted). */
static int init_handles(struct ward_worker *w)
{
	int rc;
	w->wakeup.data = w;
	w->flush_check.data = w;
	w->reader_timer.data = w;
	if ((rc = uv_async_init(&w->loop, &w->wakeup, on_wakeup)) != 0 ||
	    (rc = uv_check_init(&w->loop, &w->flush_check)) != 0 ||
	    (rc = uv_check_start(&w->flush_check, flush_all)) != 0 ||
	    (rc = uv_idle_init(&w->loop, &w->flush_idle)) != 0 ||
	    (rc = uv_timer_init(&w->loop, &w->drain_timer)) != 0 ||
	    (rc = uv_timer_init(&w->loop, &w->reader_timer)) != 0 ||
	    (rc = uv_timer_start(&w->reader_timer, release_reader, WARD_READER_RELEASE_MS,
				 WARD_READER_RELEASE_MS)) != 0)
		return ward_uv_err(rc);
	uv_unref((uv_handle_t *)&w->flush_check);
	return 0;
}

int ward_worker_start(struct ward_worker *w)
{
	int rc = ward_uv_err(uv_loop_init(&w->loop));
	if (rc != 0)
		return rc;
	w->loop_ready = true;
	w->loop.data = w;
	if ((rc = init_handles(w)) != 0 || (rc = ward_fwd_init(w, ward_query_upstream_done)) != 0 ||
	    (rc = start_listeners(w)) != 0)
		return rc;
	return ward_uv_err(uv_thread_create(&w->thread, worker_main, w));
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
	ward_log_ring_free(w->log_ring);
	ward_stats_free(w->qstats);
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
