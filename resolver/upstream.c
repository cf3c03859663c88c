/*
 * Upstream health and selection (see upstream.h for the rules and why).
 */
#include "resolver/upstream.h"

#include <string.h>

#define SCORE_FULL 1000
#define SCORE_WEAK 500
#define SCORE_WEIGHT 16 /* EWMA weight 1/16: about the last 16 counted outcomes matter */

const uint32_t ward_upstream_rtt_le_ms[WARD_UPSTREAM_RTT_BUCKETS - 1] = {
	1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000,
};

void ward_upstream_init(struct ward_upstream *u, const struct ward_addr *addr)
{
	memset(u, 0, sizeof(*u));
	u->addr = *addr;
	u->score = SCORE_FULL;
}

/* RFC 6298 section 2, in milliseconds; 0 is kept for "no sample". */
static void rtt_sample(struct ward_upstream *u, uint32_t rtt_ms)
{
	if (u->srtt_ms == 0) {
		u->srtt_ms = rtt_ms ? rtt_ms : 1;
		u->rttvar_ms = rtt_ms / 2;
		return;
	}
	uint32_t diff = u->srtt_ms > rtt_ms ? u->srtt_ms - rtt_ms : rtt_ms - u->srtt_ms;
	u->rttvar_ms = (3 * u->rttvar_ms + diff) / 4;
	u->srtt_ms = (7 * u->srtt_ms + rtt_ms) / 8;
	if (u->srtt_ms == 0)
		u->srtt_ms = 1;
}

bool ward_upstream_answered(struct ward_upstream *u, uint64_t now_ms, uint32_t rtt_ms)
{
	bool was_down = u->down;
	unsigned b = 0;
	while (b < WARD_UPSTREAM_RTT_BUCKETS - 1 && rtt_ms > ward_upstream_rtt_le_ms[b])
		b++;
	u->rtt_hist[b]++;
	u->rtt_sum_ms += rtt_ms;
	u->answers++;
	rtt_sample(u, rtt_ms);
	u->score += (SCORE_FULL - u->score + SCORE_WEIGHT - 1) / SCORE_WEIGHT;
	u->last_answer_ms = now_ms ? now_ms : 1;
	u->fails_since_answer = 0;
	u->down = false;
	return was_down;
}

bool ward_upstream_failed(struct ward_upstream *u, uint64_t now_ms, uint64_t sent_ms,
			  bool definite)
{
	u->timeouts += !definite;
	if (!definite && u->last_answer_ms && u->last_answer_ms >= sent_ms) {
		u->slow_timeouts++;
		return false;
	}
	u->failures++;
	u->score -= u->score / SCORE_WEIGHT;
	if (++u->fails_since_answer < WARD_UPSTREAM_DOWN_AFTER || u->down)
		return false;
	u->down = true;
	return true;
}

bool ward_upstream_weak(const struct ward_upstream *u)
{
	return u->score < SCORE_WEAK;
}

/* Strictly better than b: ties keep the earlier (configured) one. */
static bool better(const struct ward_upstream *a, const struct ward_upstream *b)
{
	if (a->down != b->down)
		return !a->down;
	bool weak_a = ward_upstream_weak(a), weak_b = ward_upstream_weak(b);
	if (weak_a != weak_b)
		return !weak_a;
	return a->srtt_ms / WARD_UPSTREAM_RTT_BAND_MS < b->srtt_ms / WARD_UPSTREAM_RTT_BAND_MS;
}

int ward_upstream_pick(const struct ward_upstream *ups, unsigned n, uint64_t skip,
		       uint64_t tried)
{
	bool any_up = false;
	if (n > WARD_UPSTREAM_MAX)
		n = WARD_UPSTREAM_MAX;
	for (unsigned i = 0; i < n; i++)
		any_up |= !(skip >> i & 1) && !ups[i].down;
	int best = -1, fresh = -1;
	for (unsigned i = 0; i < n; i++) {
		if ((skip >> i & 1) || (any_up && ups[i].down))
			continue;
		if (best < 0 || better(&ups[i], &ups[best]))
			best = (int)i;
		if (!(tried >> i & 1) && (fresh < 0 || better(&ups[i], &ups[fresh])))
			fresh = (int)i;
	}
	return fresh >= 0 ? fresh : best;
}
