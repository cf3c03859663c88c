/*
 * Workers: one thread per core, each with its own libuv loop, its own SO_REUSEPORT UDP and
 * TCP sockets, its own cache shard and its own upstream state. Nothing on the query path
 * is shared between workers, so nothing on it takes a lock.
 *
 * This header is internal to resolver/: it holds the structs that worker.c, query.c,
 * fwd.c and tcp.c share.
 */
#ifndef WARD_WORKER_H
#define WARD_WORKER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include <stdatomic.h>

#include "blocklists/catdb.h"
#include "blocklists/conf.h"
#include "blocklists/policy.h"
#include "resolver/cache.h"
#include "resolver/dns.h"
#include "resolver/limit.h"
#include "resolver/records.h"
#include "resolver/upstream.h"

#define WARD_UDP_BATCH 32          /* datagrams per recvmmsg/sendmmsg */
#define WARD_UDP_RECV_MAX 4096     /* larger client datagrams are dropped */
#define WARD_UDP_SEND_MAX 4096
#define WARD_UDP_CTRL_MAX 64       /* room for one IP_PKTINFO / IPV6_PKTINFO cmsg */
#define WARD_UDP_RCVBUF (4 << 20)  /* receive buffer asked for each UDP socket (worker.c) */
#define WARD_TCP_MAX_CONNS 256     /* open client connections per worker */
#define WARD_TCP_SPARE_CONNS 32    /* slots for connections still closing (see tcp.c) */
#define WARD_TCP_IDLE_MS 10000     /* RFC 7766 suggests seconds, not minutes */
#define WARD_TCP_MSG_MS 2000       /* a query must arrive whole within this of its first byte */
#define WARD_TCP_WRITE_MS 5000     /* a queued answer must leave within this, or reset */
#define WARD_TCP_QUEUE_SOFT 16384  /* queued answer bytes above which a conn stops reading */
#define WARD_TCP_QUEUE_HARD 262144 /* queued answer bytes above which a conn is reset */
#define WARD_TCP_QUERY_MAX 4096    /* a client query larger than this closes the conn */
#define WARD_FWD_MAX_PENDING 1024  /* distinct upstream queries in flight per worker */
#define WARD_FWD_SPARE_SLOTS 256   /* slots for queries dropped but still closing (fwd.c) */
#define WARD_FWD_MAX_WAITERS 4096  /* clients waiting on them per worker */
#define WARD_FWD_JOSTLE_MS 200     /* a query in flight this long may be dropped for a new one */
#define WARD_FWD_RECV_MAX 1500     /* we advertise 1232; anything larger retries on TCP */
#define WARD_FWD_DEADLINE_MS 4000  /* a client hears back within this, whatever the upstreams do */

struct ward_worker;
struct ward_tcp_conn;

enum ward_transport { WARD_TRANSPORT_UDP, WARD_TRANSPORT_TCP };

/* Where an answer has to go. TCP refs carry the connection's generation, so an answer
 * for a connection that closed (and whose slot was reused) is dropped, not misdelivered. */
/* The address a UDP query arrived at, when the listener is a wildcard (0.0.0.0, ::):
 * the answer must leave from it, or a client of a multi-homed router drops it. */
struct ward_local_addr {
	int family;                  /* 0 = not recorded (concrete listen address) */
	unsigned ifindex;
	union {
		struct in_addr v4;
		struct in6_addr v6;
	};
};

struct ward_client_ref {
	enum ward_transport transport;
	struct ward_udp_listener *udp;
	struct ward_addr addr;
	struct ward_local_addr local;
	struct ward_tcp_conn *conn;
	uint32_t conn_gen;
};

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

struct ward_tcp_listener {
	struct ward_worker *worker;
	uv_tcp_t handle;
	int fd;
	bool open;
};

/* Everything needed to answer one client once the data is there. */
struct ward_query_ctx {
	struct ward_client_ref client;
	struct ward_dns_query q;     /* as the client asked it */
	size_t profile;              /* policy profile, (size_t)-1 when none */
	const char *rewrite_target;  /* safe search: answer as CNAME to this (static) */
};

struct ward_waiter {
	struct ward_waiter *next;
	struct ward_client_key key;  /* counted in ward_fwd.per_client while waiting */
	struct ward_query_ctx ctx;
};

/* A config and the policy built from it, swapped as one on SIGHUP. */
struct ward_policy_state {
	struct ward_conf *conf;
	struct ward_policy *policy;
	uint64_t generation;
	struct ward_policy_state *retired_next;
};

/* The overrides in force (blocklists/overrides.h), rebuilt by the main thread when the
 * database's overrides change or the config is reloaded, and swapped as one. */
struct ward_override_state {
	struct ward_override_table *table;
	uint64_t seq;                      /* publication number, for retiring */
	struct ward_override_state *retired_next;
};

/* What the main thread shares with every worker: read-mostly pointers, swapped atomically. */
struct ward_shared {
	_Atomic(struct ward_policy_state *) policy;
	_Atomic(struct ward_override_state *) overrides;
	_Atomic int64_t unix_now;          /* wall clock for override expiry (clock.h) */
	_Atomic(struct ward_catdb *) db;
	/* Local time for schedules, computed by the main thread (localtime and TZ changes are
	 * not safe to run concurrently): wday << 16 | minute of the day. */
	_Atomic uint32_t local_time;
};

struct ward_pending;

struct ward_fwd {
	struct ward_upstream *upstreams;
	unsigned n_upstreams;
	struct ward_pending *pending;      /* WARD_FWD_MAX_PENDING + SPARE_SLOTS slots */
	struct ward_pending *free_pending;
	unsigned n_pending;                /* slots in use, including ones still closing */
	unsigned n_live;                   /* slots still resolving: at most MAX_PENDING */
	struct ward_pending *oldest, *newest; /* live slots in the order they started */
	struct ward_client_counts *per_client; /* waiters per client (the quota) */
	uint64_t local_error_logged_ms;
	int32_t *buckets;                  /* in-flight index: head slot per bucket, -1 = none */
	unsigned n_buckets;
	struct ward_waiter *waiters;
	struct ward_waiter *free_waiters;
	uv_timer_t probe_timer;
	uint8_t resp_store[WARD_DNS_MSG_MAX]; /* stored form of the answer being delivered */
};

struct ward_worker_stats {
	uint64_t queries, cache_hits, forwarded, blocked, refused, formerr, dropped, servfail, stale;
	/* Resource limits (issue 7): every time a limit acted. */
	uint64_t tcp_refused_acl;    /* connections from outside allow_clients, closed at accept */
	uint64_t tcp_client_cap;     /* connections closed at accept: client at its cap, none idle */
	uint64_t tcp_full;           /* connections closed at accept: every slot busy, none idle */
	uint64_t tcp_evicted;        /* idle connections closed to make room for a new one */
	uint64_t tcp_idle_closed;    /* connections closed after WARD_TCP_IDLE_MS without a query */
	uint64_t tcp_read_timeouts;  /* a query did not arrive whole within WARD_TCP_MSG_MS */
	uint64_t tcp_write_timeouts; /* queued answers did not leave within WARD_TCP_WRITE_MS */
	uint64_t tcp_write_overflow; /* queued answers passed WARD_TCP_QUEUE_HARD: reset */
	uint64_t tcp_read_paused;    /* reading paused: queued answers above WARD_TCP_QUEUE_SOFT */
	uint64_t fwd_client_quota;   /* queries refused: the client had its quota waiting */
	uint64_t fwd_jostled;        /* queries in flight dropped for newer ones (slots full) */
	uint64_t fwd_full;           /* queries refused: slots full, none old enough to drop */
	uint64_t fwd_local_errors;   /* upstream tries that failed on our side (fds, buffers) */
	uint64_t fwd_slow_timeouts;  /* timeouts not held against the upstream (it answered others) */
	uint64_t upstream_down;      /* an upstream was marked down */
	uint64_t rrl_dropped;        /* UDP answers not sent: client prefix over rate_limit */
	uint64_t rrl_slipped;        /* ... sent as TC=1 instead (rate_limit.slip) */
	uint64_t mac_ignored;  /* EDNS MAC options from outside trusted_forwarders */
};

/*
 * Sources whose ignored MAC option was logged lately, so that a client sending it with
 * every query is logged once, not once a query: direct-mapped by address, so memory is
 * fixed and a flood from many addresses only recycles slots. On top, at most
 * WARD_MAC_LOG_PER_S lines a second per worker, whatever the number of sources.
 */
#define WARD_MAC_LOG_SLOTS 64
#define WARD_MAC_LOG_PER_S 4
struct ward_mac_log {
	uint8_t addr[WARD_MAC_LOG_SLOTS][16]; /* IPv6, or IPv4-mapped; all zero = empty */
	uint64_t second;                      /* loop time / 1000 of the current budget */
	unsigned lines;                       /* lines logged in that second */
};

struct ward_worker {
	unsigned id;
	const struct ward_conf *conf;      /* the boot config: sockets, upstreams, cache */
	struct ward_shared *shared;
	struct ward_policy_state *ps;      /* this loop iteration's policy */
	_Atomic uint64_t seen_generation;  /* lets the main thread free retired policies */
	struct ward_override_state *ov;    /* this loop iteration's overrides */
	_Atomic uint64_t seen_overrides;   /* ... and retired override tables */
	struct ward_record_ring *records;  /* blocks for the web listener, NULL without one */
	struct ward_catdb_reader *reader;  /* NULL until a database exists */
	uint64_t reader_refreshed_ms;
	struct ward_policy_time local_time;
	uv_timer_t reader_timer;           /* lets go of the reader's snapshot when idle */
	uv_loop_t loop;
	bool loop_ready;                   /* loop initialized: destroy must close it */
	uv_thread_t thread;
	uv_async_t wakeup;
	uv_check_t flush_check;
	uv_idle_t flush_idle;              /* active while UDP answers wait for flush_all */
	struct ward_udp_listener *reading_udp; /* inside udp_on_readable() for this one */
	bool stopping;
	bool stopped;
	uv_timer_t drain_timer;
	uint64_t drain_deadline;

	struct ward_udp_listener *udp;
	size_t n_udp;
	struct ward_tcp_listener *tcp;
	size_t n_tcp;

	struct ward_tcp_conn *conns;       /* WARD_TCP_MAX_CONNS + WARD_TCP_SPARE_CONNS slots */
	unsigned n_conns;                  /* slots in use, including ones still closing */
	unsigned n_open;                   /* connections not closing: at most MAX_CONNS */

	struct ward_rrl *rrl;              /* UDP response rate limiting (rate_limit) */

	struct ward_cache *cache;
	struct ward_fwd fwd;
	struct ward_worker_stats stats;
	struct ward_mac_log mac_log;

	uint8_t scratch[WARD_DNS_MSG_MAX + 2]; /* TCP answers are built here */
};

/*
 * Create a worker and bind its sockets (before privileges are dropped).
 * @return 0 or a WARD_E* code (WARD_EADDRINUSE, WARD_EACCES, ... from bind; the error
 *         is logged with the address); on failure nothing is left open.
 */
int ward_worker_init(struct ward_worker *w, unsigned id, const struct ward_conf *conf,
		     struct ward_shared *shared);
/* Run the loop in a new thread. On failure the worker is not running; destroy it. */
int ward_worker_start(struct ward_worker *w);
void ward_worker_request_stop(struct ward_worker *w); /* thread-safe */
void ward_worker_join(struct ward_worker *w);
/* Free a worker that was initialized and then either joined or never started (also
 * after a failed ward_worker_start): its loop's handles are closed first. */
void ward_worker_destroy(struct ward_worker *w);

/* Queue an answer for a client; UDP answers go out in the next sendmmsg batch. */
void ward_worker_send(struct ward_worker *w, const struct ward_client_ref *to,
		      const uint8_t *msg, size_t len);

/* The query from `to` gets no answer (dropped): a TCP connection stops waiting for it. */
void ward_worker_drop(struct ward_worker *w, const struct ward_client_ref *to);

/* The receive buffer of w's first UDP socket as getsockopt reports it (twice the size
 * set: the kernel counts its bookkeeping too), or 0. */
int ward_worker_udp_rcvbuf(const struct ward_worker *w);

/*
 * Raise the soft limit on open files to the hard limit (every upstream query in flight
 * and every TCP connection holds a descriptor) and log both. Warns when the result is
 * below what conf's workers can use at their caps. Call once, before the workers start.
 */
void ward_worker_raise_fd_limit(const struct ward_conf *conf);

/* The config in force for this loop iteration: the reloaded one once a query has seen
 * it, the boot one before. */
static inline const struct ward_conf *ward_worker_conf(const struct ward_worker *w)
{
	return w->ps ? w->ps->conf : w->conf;
}

/* Milliseconds on the loop's monotonic clock (cached per loop iteration). */
static inline uint64_t ward_worker_now(struct ward_worker *w)
{
	return uv_now(&w->loop);
}

/* ---- query.c: the per-query pipeline ------------------------------------------------ */

/* Handle one query from a client; the answer is sent now or when upstream replies. */
void ward_query_handle(struct ward_worker *w, const uint8_t *pkt, size_t len,
		       const struct ward_client_ref *from);

/*
 * Take the policy and override table now in force (and tell the main thread which ones
 * this worker holds, so it can free the ones it retired). Every query does; the
 * worker's idle timer does too, so that an idle worker does not keep retired tables.
 */
void ward_query_sync_views(struct ward_worker *w);

/*
 * Answer ctx from a stored upstream message (a cache hit, a fresh upstream answer or a
 * stale one), applying what the policy says about names inside it (CNAME cloaking) and
 * the safe-search rewrite. @return false when nothing could be written.
 */
struct ward_stored_answer {
	const uint8_t *msg;        /* stored form (see ward_dns_parse_response) */
	size_t len;
	const uint16_t *ttl_off;
	unsigned n_ttls;
	uint32_t age_s;
	bool stale;
	bool has_cname;            /* only then can the answer be cloaking a blocked name */
};

bool ward_query_answer_stored(struct ward_worker *w, const struct ward_query_ctx *ctx,
			      const struct ward_stored_answer *a);

/* The size limit for an answer on this transport. */
size_t ward_query_answer_limit(const struct ward_client_ref *to, const struct ward_dns_query *q);

/* ---- fwd.c: upstream forwarding ------------------------------------------------------ */

int ward_fwd_init(struct ward_worker *w);
void ward_fwd_destroy(struct ward_worker *w);
/* Resolve `ask` upstream and answer ctx when done (sharing identical in-flight questions).
 * `ask` is usually ctx->q; for a safe-search rewrite it is the rewrite target. */
void ward_fwd_submit(struct ward_worker *w, const struct ward_dns_query *ask,
		     const struct ward_query_ctx *ctx);
/* Upstream queries in flight (slots still busy): the worker drains these before exit. */
unsigned ward_fwd_busy(const struct ward_worker *w);
void ward_fwd_stop(struct ward_worker *w);

/* ---- tcp.c: DNS over TCP for clients (RFC 7766) ------------------------------------- */

struct ward_tcp_conn *ward_tcp_conns_new(void); /* MAX_CONNS + SPARE_CONNS slots */
int ward_tcp_listener_start(struct ward_worker *w, struct ward_tcp_listener *l);
void ward_tcp_send(struct ward_worker *w, struct ward_tcp_conn *conn, uint32_t gen,
		   const uint8_t *msg, size_t len);
void ward_tcp_drop(struct ward_worker *w, struct ward_tcp_conn *conn, uint32_t gen);
void ward_tcp_close_all(struct ward_worker *w);
unsigned ward_tcp_busy(const struct ward_worker *w);

#endif
