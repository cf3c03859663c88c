/*
 * Upstream health and selection, judged over many queries the way Unbound's infra cache
 * does, so that one slow name cannot take an upstream out of service:
 *
 * - A timeout counts against an upstream only if the upstream answered nothing at all
 *   since that try was sent. While other answers keep arriving, a silent try is about the
 *   name (an authority that never answers), not about the upstream.
 * - Failures on our side (no file descriptors, no buffers, a full socket) never count:
 *   the caller does not report them here.
 * - An upstream is down after DOWN_AFTER counted failures with no answer between them,
 *   and up again with its next answer (a query's or a health probe's).
 * - Selection ranks upstreams by: down last, then a weak success rate (an EWMA below one
 *   half) last among the rest, then smoothed RTT in bands, then configured order. When
 *   every upstream is down the best of them is still tried: there are never zero usable
 *   upstreams.
 *
 * Each worker keeps its own copy of this state; nothing here is shared or locked.
 */
#ifndef WARD_UPSTREAM_H
#define WARD_UPSTREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "blocklists/conf.h"

#define WARD_UPSTREAM_MAX 64        /* the config allows at most this many */
#define WARD_UPSTREAM_DOWN_AFTER 3  /* counted failures in a row with no answer between */
#define WARD_UPSTREAM_RTT_BAND_MS 50 /* RTTs this close rank as equal: configured order wins */
#define WARD_UPSTREAM_RTT_BUCKETS 12 /* the RTT histogram for statistics; the last is +Inf */

/* Upper bounds of the RTT histogram's buckets in milliseconds (the last is unbounded). */
extern const uint32_t ward_upstream_rtt_le_ms[WARD_UPSTREAM_RTT_BUCKETS - 1];

struct ward_upstream {
	struct ward_addr addr;
	uint32_t srtt_ms, rttvar_ms;  /* RFC 6298 estimates from answers; 0 = no sample yet */
	uint32_t score;               /* success rate EWMA over counted outcomes, per mille */
	uint64_t last_answer_ms;      /* 0 = never answered */
	uint64_t last_sent_ms;        /* the last try sent to it */
	unsigned fails_since_answer;  /* counted failures since the last answer */
	bool down;
	bool probing;
	uint64_t queries, answers, failures, slow_timeouts;
	uint64_t timeouts;            /* every try that timed out, counted or not */
	uint64_t rtt_hist[WARD_UPSTREAM_RTT_BUCKETS]; /* answers by RTT (statistics) */
	uint64_t rtt_sum_ms;
	uint64_t logged_ms;           /* the last "not answering" line (at most one a minute) */
	bool down_logged;             /* that line is out: "answering again" follows it */
};

void ward_upstream_init(struct ward_upstream *u, const struct ward_addr *addr);

/* An answer (any rcode) arrived for a try sent rtt_ms ago.
 * @return true when the upstream was down until now. */
bool ward_upstream_answered(struct ward_upstream *u, uint64_t now_ms, uint32_t rtt_ms);

/*
 * A try sent at sent_ms failed. A timeout (definite = false) counts only when no answer
 * from u arrived since sent_ms; a definite failure (ICMP unreachable, connection refused
 * or reset) always counts.
 * @return true when u went down with this failure.
 */
bool ward_upstream_failed(struct ward_upstream *u, uint64_t now_ms, uint64_t sent_ms,
			  bool definite);

/* A weak upstream: its success rate is below one half. */
bool ward_upstream_weak(const struct ward_upstream *u);

/*
 * The upstream for the next try: the best-ranked one that is in neither `skip` (refused
 * this query) nor `tried` (already tried in this round); when every candidate was tried,
 * the best-ranked one not in `skip`. Down upstreams are candidates only when no upstream
 * outside `skip` is up.
 * @return an index below n, or -1 when every upstream is in skip.
 */
int ward_upstream_pick(const struct ward_upstream *ups, unsigned n, uint64_t skip,
		       uint64_t tried);

#endif
