/*
 * The path of one query, as a plain list of stages:
 *   parse -> refuse unknown networks -> answer bad queries -> web host -> policy -> cache
 *   -> forward; and when fwd.c reports back: cache fill -> answer | stale -> SERVFAIL.
 * Each stage either answers and stops, or hands on. Every reply wardd sends is made in
 * this file (fwd.c is transport only). allow_clients is checked before any
 * answer is made, so a client outside it gets REFUSED (or nothing) and never a FORMERR,
 * NOTIMP or BADVERS that would tell it about the server. The policy runs before the
 * cache, so a blocked name never reaches the cache or an upstream, and the cache only
 * ever holds upstream answers keyed by the name asked upstream: nothing one profile is
 * allowed can leak to another through it (answers are checked against the asker's
 * profile on the way out, see answer_stored).
 */
#include <arpa/inet.h>
#include <string.h>

#include "resolver/query.h"

#include "blocklists/error.h"
#include "blocklists/log.h"
#include "resolver/cache.h"
#include "resolver/fwd.h"
#include "resolver/rewrite.h"
#include "resolver/stats.h"
#include "resolver/web.h"
#include "resolver/worker.h"

#define READER_REFRESH_MS 100 /* how stale a worker's view of the database may get */

/* EDE 0 (Other Error) with this text: the answer's CNAME chain could not be checked
 * against the policy. Why 0 and not a filtering code: see the top of policy.c. */
#define SUBSCRIBER_UNREADABLE_TEXT "ward: the subscriber table could not be read"
#define CHAIN_UNCHECKED_TEXT "ward: CNAME chain too long or malformed to check"

size_t ward_query_answer_limit(const struct ward_client_ref *to, const struct ward_dns_query *q)
{
	if (to->transport == WARD_TRANSPORT_TCP)
		return WARD_DNS_MSG_MAX;
	return ward_dns_udp_limit(q);
}

/* ---- per-worker views of shared state, refreshed between queries ---------------------------- */

static void refresh_reader(struct ward_worker *w)
{
	if (w->reader) {
		if (ward_catdb_reader_refresh(w->reader) != 0)
			ward_log_warn("worker %u: category database refresh failed", w->id);
		return;
	}
	struct ward_catdb *db = atomic_load_explicit(&w->shared->db, memory_order_acquire);
	if (db && ward_catdb_reader_new(db, &w->reader) != 0)
		w->reader = NULL;
}

void ward_query_sync_views(struct ward_worker *w)
{
	struct ward_policy_state *ps =
		atomic_load_explicit(&w->shared->policy, memory_order_acquire);
	if (ps != w->ps) {
		w->ps = ps;
		atomic_store_explicit(&w->seen_generation, ps ? ps->generation : 0,
				      memory_order_release);
	}
	struct ward_override_state *ov =
		atomic_load_explicit(&w->shared->overrides, memory_order_acquire);
	if (ov != w->ov) {
		w->ov = ov;
		atomic_store_explicit(&w->seen_overrides, ov ? ov->seq : 0, memory_order_release);
	}
}

static void refresh_views(struct ward_worker *w)
{
	ward_query_sync_views(w);
	uint64_t now = ward_worker_now(w);
	if (now - w->reader_refreshed_ms < READER_REFRESH_MS && w->reader_refreshed_ms)
		return;
	w->reader_refreshed_ms = now;
	refresh_reader(w);
	uint32_t packed = atomic_load_explicit(&w->shared->local_time, memory_order_relaxed);
	w->local_time.wday = (uint8_t)(packed >> 16);
	w->local_time.minute = (uint16_t)packed;
	w->local_time.unix_s = atomic_load_explicit(&w->shared->unix_now, memory_order_relaxed);
}

static const struct ward_override_table *overrides(const struct ward_worker *w)
{
	return w->ov ? w->ov->table : NULL;
}

/* ---- answers made here -------------------------------------------------------------------- */

/*
 * Where an answer to `to` is written: straight into the UDP listener's next send slot
 * (the batch leaves with one sendmmsg, no copy in between), or the worker's scratch
 * buffer for TCP. The bytes must go to reply_send() before anything else is answered.
 */
static uint8_t *reply_buf(struct ward_worker *w, const struct ward_client_ref *to, size_t *cap)
{
	if (to->transport == WARD_TRANSPORT_UDP)
		return ward_udp_reserve(to->udp, cap);
	*cap = sizeof(w->scratch);
	return w->scratch;
}

/* Send what reply_buf() got, or drop the query when nothing could be written (len 0). */
static void reply_send(struct ward_worker *w, const struct ward_client_ref *to,
		       const uint8_t *buf, size_t len)
{
	if (len) {
		ward_worker_send(w, to, buf, len);
		return;
	}
	ward_worker_unanswerable(w, to);
}

static void answer_rcode(struct ward_worker *w, const struct ward_query_ctx *ctx, unsigned rcode,
			 int ede_code, const char *ede_text)
{
	size_t cap, limit = ward_query_answer_limit(&ctx->client, &ctx->q);
	uint8_t *buf = reply_buf(w, &ctx->client, &cap);
	if (cap > limit)
		cap = limit;
	reply_send(w, &ctx->client, buf,
		   ward_dns_write_rcode(buf, cap, &ctx->q, rcode, ede_code, ede_text));
}

static void answer_servfail(struct ward_worker *w, const struct ward_query_ctx *ctx, int ede,
			    const char *text)
{
	w->stats.servfail++;
	ward_stats_query(w, ctx, WARD_VERDICT_SERVFAIL, WARD_RCODE_SERVFAIL, NULL);
	answer_rcode(w, ctx, WARD_RCODE_SERVFAIL, ede, text);
}

static unsigned block_rcode(enum ward_block_mode mode)
{
	return mode == WARD_BLOCK_NXDOMAIN ? WARD_RCODE_NXDOMAIN
	       : mode == WARD_BLOCK_REFUSED ? WARD_RCODE_REFUSED : WARD_RCODE_NOERROR;
}

static void write_block(struct ward_worker *w, const struct ward_query_ctx *ctx, int mode,
			const uint8_t ipv4[4], const uint8_t ipv6[16], uint32_t ttl, int ede,
			const char *text)
{
	/* The client's UDP size bounds the answer: the EDE text gives way first, then TC. */
	size_t cap, limit = ward_query_answer_limit(&ctx->client, &ctx->q);
	uint8_t *buf = reply_buf(w, &ctx->client, &cap);
	if (cap > limit)
		cap = limit;
	reply_send(w, &ctx->client, buf,
		   ward_dns_write_block(buf, cap, &ctx->q, mode, ipv4, ipv6, ttl, ede, text));
}

static void answer_block(struct ward_worker *w, const struct ward_query_ctx *ctx, int mode,
			 const uint8_t ipv4[4], const struct ward_policy_verdict *v)
{
	const struct ward_conf_block *b = &w->ps->conf->block;
	write_block(w, ctx, mode, ipv4, b->ipv6, b->ttl, v ? v->ede_code : WARD_EDE_NONE,
		    v ? v->text : NULL);
}

static void answer_verdict(struct ward_worker *w, const struct ward_query_ctx *ctx,
			   struct ward_policy_verdict *v)
{
	const struct ward_conf_block *b = &w->ps->conf->block;
	/* The text costs string formatting and maybe a database read: only when it can be
	 * carried, i.e. the client speaks EDNS. */
	if (ctx->q.edns && v->ede_code != WARD_EDE_NONE)
		ward_policy_explain(w->ps->policy, w->reader, v);
	switch (v->action) {
	case WARD_POLICY_SERVFAIL:
		w->stats.servfail++;
		ward_stats_query(w, ctx, WARD_VERDICT_SERVFAIL, WARD_RCODE_SERVFAIL, v);
		answer_rcode(w, ctx, WARD_RCODE_SERVFAIL, v->ede_code, v->text);
		return;
	case WARD_POLICY_NXDOMAIN:
		w->stats.blocked++;
		ward_stats_query(w, ctx, WARD_VERDICT_BLOCKED, WARD_RCODE_NXDOMAIN, v);
		answer_block(w, ctx, WARD_BLOCK_NXDOMAIN, b->ipv4, v);
		return;
	case WARD_POLICY_ADDRESS: {
		/* A fixed IPv4 address: A gets it, every other type gets NODATA. */
		int mode = ctx->q.qtype == WARD_TYPE_A ? WARD_BLOCK_SINKHOLE : WARD_BLOCK_NODATA;
		w->stats.blocked++;
		ward_stats_query(w, ctx, WARD_VERDICT_REWRITTEN, WARD_RCODE_NOERROR, v);
		answer_block(w, ctx, mode, v->rewrite_ipv4, NULL);
		return;
	}
	default:
		w->stats.blocked++;
		ward_stats_query(w, ctx, WARD_VERDICT_BLOCKED, block_rcode(b->mode), v);
		answer_block(w, ctx, (int)b->mode, b->ipv4, v);
	}
}

/*
 * A stored upstream message, about to become a client's answer (a cache hit, a fresh
 * upstream answer or a stale one).
 */
struct ward_stored_answer {
	const uint8_t *msg;        /* stored form (see ward_dns_parse_response) */
	size_t len;
	const uint16_t *ttl_off;
	unsigned n_ttls;
	uint32_t age_s;
	bool stale;
	bool has_cname;            /* only then can the answer be cloaking a blocked name */
	bool cached;               /* from the cache (statistics: cached, not forwarded) */
};

/* ---- CNAME cloaking ---------------------------------------------------------------------------- */

struct cloak_check {
	struct ward_worker *w;
	const struct ward_query_ctx *ctx;
	struct ward_policy_verdict verdict;
};

/* @return 1 when the chain must not go out as it is (a block, or a failed lookup: the
 * verdict says which), 0 to go on. */
static int check_chain_name(void *arg, const uint8_t *wire_lname)
{
	struct cloak_check *c = arg;
	int rc = ward_policy_blocks_target(c->w->ps->policy, c->w->reader, overrides(c->w),
					   c->ctx->profile, wire_lname, &c->w->local_time,
					   &c->verdict);
	return rc != 0;
}

enum chain_check {
	CHAIN_CLEAN,     /* every name the answer leads through may be passed on */
	CHAIN_VERDICT,   /* one is blocked for this client, or its lookup failed: v says */
	CHAIN_UNCHECKED, /* the chain could not be followed to its end: longer than
			    WARD_DNS_CHAIN_MAX (a loop included), or malformed */
};

static enum chain_check check_chain(struct ward_worker *w, const struct ward_query_ctx *ctx,
				    const struct ward_stored_answer *a,
				    struct ward_policy_verdict *v)
{
	if (!w->ps || !a->has_cname)
		return CHAIN_CLEAN;
	struct cloak_check c = {.w = w, .ctx = ctx};
	int rc = ward_dns_foreach_chain_name(a->msg, a->len, check_chain_name, &c);
	if (rc == 0)
		return CHAIN_CLEAN;
	if (rc < 0)
		return CHAIN_UNCHECKED;
	*v = c.verdict;
	return CHAIN_VERDICT;
}

static bool answer_stored(struct ward_worker *w, const struct ward_query_ctx *ctx,
			  const struct ward_stored_answer *a)
{
	size_t limit = ward_query_answer_limit(&ctx->client, &ctx->q);
	size_t out_len;
	struct ward_policy_verdict v;
	/* A safe-search target's answer is checked too: its chain may lead anywhere. */
	switch (check_chain(w, ctx, a, &v)) {
	case CHAIN_VERDICT:
		answer_verdict(w, ctx, &v);
		return true;
	case CHAIN_UNCHECKED:
		/* Names nobody checked are never passed on: fail closed. */
		answer_servfail(w, ctx, WARD_EDE_OTHER, CHAIN_UNCHECKED_TEXT);
		return true;
	case CHAIN_CLEAN:
		break;
	}
	size_t cap;
	uint8_t *buf = reply_buf(w, &ctx->client, &cap);
	if (ctx->rewrite_target) {
		uint8_t target[WARD_DNS_NAME_MAX];
		struct ward_rewrite_source src = {a->msg, a->len, a->age_s, a->stale};
		if (!ward_name_from_text(ctx->rewrite_target, target, sizeof(target)))
			return false;
		out_len = ward_rewrite_cname_answer(buf, cap, &ctx->q, target,
						    w->ps ? w->ps->conf->block.ttl : 60, &src, limit);
	} else {
		struct ward_dns_answer_opts opts = {
			.age_s = a->age_s,
			.stale = a->stale,
			.max_size = limit,
			.ede_code = a->stale ? WARD_EDE_STALE_ANSWER : WARD_EDE_NONE,
		};
		out_len = ward_dns_write_answer(buf, cap, a->msg, a->len,
						a->ttl_off, a->n_ttls, &ctx->q, &opts);
	}
	if (!out_len)
		return false;
	ward_stats_query(w, ctx, ctx->rewrite_target ? WARD_VERDICT_REWRITTEN
			 : a->cached ? WARD_VERDICT_CACHED : WARD_VERDICT_FORWARDED,
			 a->msg[3] & 0x0F, NULL);
	ward_worker_send(w, &ctx->client, buf, out_len);
	return true;
}

/* ---- the stages ------------------------------------------------------------------------------- */

/*
 * allow_clients, decided as Unbound's worker does (its ACL comes before
 * worker_check_request): a client outside gets REFUSED when its header could be read and
 * it is a query, and nothing at all otherwise (shorter than a header, or a response: a
 * reply to those would make wardd a reflector). It never gets the FORMERR, NOTIMP or
 * BADVERS that the query itself would earn.
 * @return true when the query was answered (or dropped) here.
 */
static bool stage_acl(struct ward_worker *w, struct ward_query_ctx *ctx, int parsed)
{
	struct ward_policy_verdict v;
	if (w->ps && ward_policy_admit(w->ps->policy, &ctx->client.addr.sa, &v))
		return false;
	w->stats.refused++;
	ward_stats_query(w, ctx, WARD_VERDICT_REFUSED, WARD_RCODE_REFUSED, NULL);
	if (parsed == WARD_DNS_DROP) {
		w->stats.dropped++;
		ward_worker_drop(w, &ctx->client);
		return true;
	}
	answer_rcode(w, ctx, WARD_RCODE_REFUSED, w->ps ? v.ede_code : WARD_EDE_NONE, NULL);
	return true;
}

static enum ward_verdict parsed_verdict(int parsed)
{
	return parsed == WARD_DNS_FORMERR || parsed == WARD_DNS_NOTIMP ||
			       parsed == WARD_DNS_BADVERS || parsed == WARD_DNS_REFUSED
		       ? WARD_VERDICT_INVALID : WARD_VERDICT_DROPPED;
}

static unsigned parsed_rcode(int parsed)
{
	switch (parsed) {
	case WARD_DNS_FORMERR: return WARD_RCODE_FORMERR;
	case WARD_DNS_NOTIMP: return WARD_RCODE_NOTIMP;
	case WARD_DNS_REFUSED: return WARD_RCODE_REFUSED;
	case WARD_DNS_BADVERS: return WARD_RCODE_BADVERS;
	default: return WARD_RCODE_NOERROR;
	}
}

/* A query that cannot be answered as asked. @return true when answered (or dropped). */
static bool stage_bad_query(struct ward_worker *w, const struct ward_query_ctx *ctx, int parsed)
{
	if (parsed != WARD_DNS_OK)
		ward_stats_query(w, ctx, parsed_verdict(parsed), parsed_rcode(parsed), NULL);
	switch (parsed) {
	case WARD_DNS_OK:
		return false;
	case WARD_DNS_FORMERR:
		w->stats.formerr++;
		answer_rcode(w, ctx, WARD_RCODE_FORMERR, WARD_EDE_NONE, NULL);
		return true;
	case WARD_DNS_NOTIMP:
		answer_rcode(w, ctx, WARD_RCODE_NOTIMP, WARD_EDE_NONE, NULL);
		return true;
	case WARD_DNS_BADVERS:
		answer_rcode(w, ctx, WARD_RCODE_BADVERS, WARD_EDE_NONE, NULL);
		return true;
	case WARD_DNS_REFUSED:
		answer_rcode(w, ctx, WARD_RCODE_REFUSED, WARD_EDE_NONE, NULL);
		return true;
	default:
		w->stats.dropped++;
		ward_worker_drop(w, &ctx->client);
		return true;
	}
}

/* IPv6 form of a client address (IPv4 as ::ffff:a.b.c.d), the key of the MAC log. */
static void addr_key(const struct ward_addr *a, uint8_t key[16])
{
	if (a->sa.sa_family == AF_INET6) {
		memcpy(key, &a->v6.sin6_addr, 16);
		return;
	}
	memset(key, 0, 10);
	key[10] = key[11] = 0xFF;
	memcpy(key + 12, &a->v4.sin_addr, 4);
}

/* A client that is not a trusted forwarder sent a MAC: count it, and log it the first
 * time this source is seen (see struct ward_mac_log). */
static void note_mac_ignored(struct ward_worker *w, const struct ward_query_ctx *ctx)
{
	struct ward_mac_log *log = &w->mac_log;
	uint8_t key[16];
	char text[INET6_ADDRSTRLEN];
	w->stats.mac_ignored++;
	addr_key(&ctx->client.addr, key);
	uint32_t h = 2166136261u;
	for (int i = 0; i < 16; i++)
		h = (h ^ key[i]) * 16777619u;
	uint8_t *slot = log->addr[h % WARD_MAC_LOG_SLOTS];
	uint64_t second = ward_worker_now(w) / 1000;
	if (memcmp(slot, key, 16) == 0)
		return;
	if (second != log->second) {
		log->second = second;
		log->lines = 0;
	}
	if (log->lines >= WARD_MAC_LOG_PER_S)
		return;
	log->lines++;
	memcpy(slot, key, 16);
	bool v4 = ctx->client.addr.sa.sa_family == AF_INET;
	inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? key + 12 : key, text, sizeof(text));
	ward_log_warn("worker %u: ignoring the MAC option (EDNS 65001) from %s: not in "
		      "trusted_forwarders (%llu ignored so far; logged once per source)",
		      w->id, text, (unsigned long long)w->stats.mac_ignored);
}

/* Point `ask` at the rewrite target: same type, class and flags, another name. */
static bool retarget(struct ward_dns_query *ask, const char *target)
{
	size_t n = ward_name_from_text(target, ask->lname, sizeof(ask->lname));
	if (!n)
		return false;
	memcpy(ask->qname, ask->lname, n);
	ask->qname_len = (uint16_t)n;
	return true;
}

/* The client's profile (and subscriber entry). @return true when answered (SERVFAIL). */
static bool stage_who(struct ward_worker *w, struct ward_query_ctx *ctx,
		      struct ward_sub_match *sub)
{
	const struct ward_dns_query *q = &ctx->q;
	bool mac_ignored;
	int err;
	ctx->profile = ward_policy_client_profile(w->ps->policy, w->reader, &ctx->client.addr.sa,
						  q->has_mac ? q->mac : NULL, &mac_ignored, sub,
						  &err);
	if (mac_ignored)
		note_mac_ignored(w, ctx);
	if (!err)
		return false;
	/* Who the subscriber is could not be read: fail closed, never a guess. */
	answer_servfail(w, ctx, WARD_EDE_OTHER, SUBSCRIBER_UNREADABLE_TEXT);
	return true;
}

/* @param ask  set to the rewritten question (stored in *rewritten) for safe search */
static bool stage_policy(struct ward_worker *w, struct ward_query_ctx *ctx,
			 struct ward_dns_query *rewritten, const struct ward_dns_query **ask)
{
	ctx->profile = (size_t)-1;
	struct ward_sub_match sub;
	if (!w->ps || stage_who(w, ctx, &sub))
		return w->ps != NULL;
	const struct ward_dns_query *q = &ctx->q;
	struct ward_policy_verdict v;
	char rule[WARD_NAME_MAX + 1];
	ward_policy_decide(w->ps->policy, w->reader, overrides(w), ctx->profile, q->lname,
			   &w->local_time, &v);
	ward_policy_apply_subscriber(&sub, q->lname, &v, rule, sizeof(rule));
	switch (v.action) {
	case WARD_POLICY_FORWARD:
		return false;
	case WARD_POLICY_CNAME:
		*rewritten = ctx->q;
		if (!retarget(rewritten, v.rewrite_target))
			return false; /* the static targets are valid names; forward as asked */
		ctx->rewrite_target = v.rewrite_target;
		*ask = rewritten;
		return false;
	default:
		answer_verdict(w, ctx, &v);
		return true;
	}
}

static bool stage_cache(struct ward_worker *w, const struct ward_query_ctx *ctx,
			const struct ward_dns_query *ask)
{
	struct ward_cache_key key = ward_cache_key_of(ask);
	struct ward_cache_hit hit;
	if (ward_cache_lookup(w->cache, &key, ward_worker_now(w), false, &hit) != 0)
		return false;
	struct ward_stored_answer a = {hit.msg, hit.msg_len, hit.ttl_off, hit.n_ttls,
				       hit.age_s, false, hit.has_cname, true};
	if (!answer_stored(w, ctx, &a))
		return false;
	w->stats.cache_hits++;
	return true;
}

/* The web listener's own name (web.hostname) is answered with its address.
 * @return true when answered. */
static bool stage_web_host(struct ward_worker *w, const struct ward_query_ctx *ctx)
{
	if (!w->conf->web.enabled)
		return false;
	uint8_t v4[4] = {0}, v6[16] = {0};
	int mode = ward_web_host_address(w, ctx, v4, v6);
	if (mode < 0)
		return false;
	ward_stats_query(w, ctx, WARD_VERDICT_LOCAL, WARD_RCODE_NOERROR, NULL);
	write_block(w, ctx, mode, v4, v6, WARD_WEB_HOST_TTL, WARD_EDE_NONE, NULL);
	return true;
}

static void stage_forward(struct ward_worker *w, const struct ward_query_ctx *ctx,
			  const struct ward_dns_query *ask)
{
	switch (ward_fwd_submit(w, ask, ctx)) {
	case WARD_FWD_TAKEN:
		w->stats.forwarded++;
		return;
	case WARD_FWD_CLIENT_QUOTA:
		answer_servfail(w, ctx, WARD_EDE_OTHER,
				"ward: too many queries in flight from this client");
		return;
	default:
		answer_servfail(w, ctx, WARD_EDE_OTHER, "ward: too many queries in flight");
	}
}

void ward_query_handle(struct ward_worker *w, const uint8_t *pkt, size_t len,
		       const struct ward_client_ref *from)
{
	/* Not zeroed as a whole: ward_dns_parse_query() sets every field of q that is read
	 * (the name bytes past qname_len never are), and the rest is set here. */
	struct ward_query_ctx ctx;
	ctx.client = *from;
	ctx.profile = (size_t)-1;
	ctx.rewrite_target = NULL;
	struct ward_dns_query rewritten;
	const struct ward_dns_query *ask = &ctx.q;
	ctx.start_ms = 0; /* answered at once: no latency to speak of */
	w->stats.queries++;
	refresh_views(w);
	int parsed = ward_dns_parse_query(pkt, len, &ctx.q);
	if (stage_acl(w, &ctx, parsed))
		return;
	if (stage_bad_query(w, &ctx, parsed))
		return;
	if (stage_web_host(w, &ctx))
		return;
	if (stage_policy(w, &ctx, &rewritten, &ask))
		return;
	if (stage_cache(w, &ctx, ask))
		return;
	ctx.start_ms = (uint32_t)ward_worker_now(w) + 1; /* its answer's latency counts from here */
	stage_forward(w, &ctx, ask);
}

/* ---- the upstream's result (fwd.c calls back here) -------------------------------------- */

static void answer_waiters(struct ward_worker *w, const struct ward_waiter *waiters,
			   const struct ward_stored_answer *a)
{
	for (const struct ward_waiter *wt = waiters; wt; wt = wt->next) {
		if (answer_stored(w, &wt->ctx, a))
			continue;
		ward_stats_query(w, &wt->ctx, WARD_VERDICT_DROPPED, 0, NULL);
		ward_worker_unanswerable(w, &wt->ctx.client);
	}
}

/* RFC 8767: when upstreams fail, an expired answer serves the client better than SERVFAIL.
 * @return true when every waiter was answered from the cache. */
static bool stage_stale(struct ward_worker *w, const struct ward_dns_query *ask,
			const struct ward_waiter *waiters)
{
	if (!w->conf->cache.serve_stale)
		return false;
	struct ward_cache_key k = ward_cache_key_of(ask);
	struct ward_cache_hit hit;
	if (ward_cache_lookup(w->cache, &k, ward_worker_now(w), true, &hit) != 0)
		return false;
	w->stats.stale++;
	struct ward_stored_answer a = {hit.msg, hit.msg_len, hit.ttl_off, hit.n_ttls,
				       hit.age_s, true, hit.has_cname, true};
	answer_waiters(w, waiters, &a);
	return true;
}

static void stage_servfail(struct ward_worker *w, enum ward_fwd_outcome why,
			   const struct ward_waiter *waiters)
{
	int ede = WARD_EDE_OTHER;
	const char *text;
	switch (why) {
	case WARD_FWD_UNREACHABLE:
		ede = WARD_EDE_NETWORK_ERROR;
		text = "ward: upstreams unreachable";
		break;
	case WARD_FWD_LOCAL_ERROR:
		text = "ward: could not send the query upstream";
		break;
	case WARD_FWD_JOSTLED:
		text = "ward: dropped for a newer query (too many queries in flight)";
		break;
	default:
		ede = WARD_EDE_NO_REACHABLE_AUTHORITY;
		text = "ward: no upstream answered in time";
	}
	for (const struct ward_waiter *wt = waiters; wt; wt = wt->next)
		answer_servfail(w, &wt->ctx, ede, text);
}

/* Clamp the TTLs to the cache's bounds (the client sees the same TTLs the cache keeps)
 * and store the answer under the question asked upstream. */
static void stage_cache_fill(struct ward_worker *w, const struct ward_fwd_result *res)
{
	struct ward_cache_key k = ward_cache_key_of(res->ask);
	ward_cache_clamp_ttls(w->cache, res->msg, res->len, res->r);
	ward_cache_store(w->cache, &k, res->msg, res->len, res->r, ward_worker_now(w));
}

void ward_query_upstream_done(struct ward_worker *w, const struct ward_fwd_result *res,
			      const struct ward_waiter *waiters)
{
	if (res->outcome != WARD_FWD_ANSWER) {
		if (!stage_stale(w, res->ask, waiters))
			stage_servfail(w, res->outcome, waiters);
		return;
	}
	/* An upstream SERVFAIL is an answer, but a stale real one serves the client better. */
	if (res->r->rcode == WARD_RCODE_SERVFAIL && stage_stale(w, res->ask, waiters))
		return;
	stage_cache_fill(w, res);
	const struct ward_dns_response *r = res->r;
	struct ward_stored_answer a = {res->msg, res->len, r->ttl_off, r->n_ttls, 0, false,
				       r->has_cname, false};
	answer_waiters(w, waiters, &a);
}
