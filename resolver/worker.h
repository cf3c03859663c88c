/*
 * Workers: one thread per core, each with its own libuv loop, its own SO_REUSEPORT UDP and
 * TCP sockets, its own cache shard and its own upstream state. Nothing on the query path
 * is shared between workers, so nothing on it takes a lock.
 *
 * A worker is the context every stage of a query runs in; the stages themselves have
 * their own headers, named for the path of a query:
 *   udp.h / tcp.h -> query.h -> blocklists/policy.h -> blocklists/catdb.h -> cache.h -> fwd.h
 * This header brings them together (it includes them; none of them includes it).
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
#include "resolver/fwd.h"
#include "resolver/limit.h"
#include "resolver/query.h"
#include "resolver/records.h"
#include "resolver/tcp.h"
#include "resolver/udp.h"
#include "resolver/upstream.h"

/* A config and the policy built from it, swapped as one on SIGHUP. */
struct ward_policy_state {
	struct ward_conf *conf;
	struct ward_policy *policy;
	uint64_t generation;
	uint8_t *stat_slots;         /* profile index -> statistics slot (stats.h) */
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
	struct ward_stats_slots *slots;    /* statistics' profile slots (stats.h), fixed */
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
	/* Every UDP query read ends in one of these (logged when wardd stops, see
	 * ward_worker_log_udp_totals): what the kernel dropped before wardd read it is
	 * counted by the kernel (/proc/net/udp), not here. */
	uint64_t udp_received;       /* datagrams read */
	uint64_t udp_answered;       /* answers the kernel took (sendmmsg) */
	uint64_t udp_send_failed;    /* answers the kernel refused to take */
	uint64_t udp_oversize;       /* datagrams larger than WARD_UDP_RECV_MAX: dropped */
	uint64_t udp_dropped;        /* queries given no answer on purpose (ward_worker_drop) */
	uint64_t udp_unanswerable;   /* ... because none could be written (never on purpose) */
	uint64_t unanswerable;       /* the same for every transport */
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
	struct ward_record_ring *records;  /* blocks for the observer thread (obs.h) */
	struct ward_log_ring *log_ring;    /* framed records for the query log's writer */
	struct ward_stats *qstats;         /* per-query counters and devices (stats.h) */
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
	struct ward_udp_listener *reading_udp; /* inside udp.c's read callback for this one */
	bool stopping;
	bool stopped;
	uv_timer_t drain_timer;
	uint64_t drain_deadline;

	struct ward_udp_listener *udp;
	size_t n_udp;
	struct ward_tcp_listener *tcp;
	size_t n_tcp;

	struct ward_tcp_conn *conns;       /* WARD_TCP_MAX_CONNS + WARD_TCP_SPARE_CONNS slots;
					      calloc'd, so a page is backed once a connection
					      has used it (scans only read) */
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

/* As ward_worker_drop, for a query that should have had an answer and got none (none
 * could be written): counted apart, as a loss. */
void ward_worker_unanswerable(struct ward_worker *w, const struct ward_client_ref *to);

/* Log what became of the UDP queries the n workers read (call after they stopped):
 * answered, not answered on purpose (rate limit, outside allow_clients, malformed), and
 * not answered although they should have been. */
void ward_worker_log_udp_totals(const struct ward_worker *workers, unsigned n);

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

#endif
