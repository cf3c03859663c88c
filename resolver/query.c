/*
 * The path of one query, as a plain list of stages:
 *   parse -> refuse unknown networks -> policy -> cache -> forward.
 * Each stage either answers and stops, or hands on. The policy runs before the cache, so
 * a blocked name never reaches the cache or an upstream, and the cache only ever holds
 * upstream answers keyed by the name asked upstream: nothing one profile is allowed can
 * leak to another through it (answers are checked against the asker's profile on the way
 * out, see ward_query_answer_stored).
 */
#include <string.h>

#include "blocklists/error.h"
#include "blocklists/log.h"
#include "resolver/rewrite.h"
#include "resolver/worker.h"

#define READER_REFRESH_MS 100 /* how stale a worker's view of the database may get */

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

static void refresh_views(struct ward_worker *w)
{
	struct ward_policy_state *ps =
		atomic_load_explicit(&w->shared->policy, memory_order_acquire);
	if (ps != w->ps) {
		w->ps = ps;
		atomic_store_explicit(&w->seen_generation, ps ? ps->generation : 0,
				      memory_order_release);
	}
	uint64_t now = ward_worker_now(w);
	if (now - w->reader_refreshed_ms < READER_REFRESH_MS && w->reader_refreshed_ms)
		return;
	w->reader_refreshed_ms = now;
	refresh_reader(w);
	uint32_t packed = atomic_load_explicit(&w->shared->local_time, memory_order_relaxed);
	w->local_time.wday = (uint8_t)(packed >> 16);
	w->local_time.minute = (uint16_t)packed;
}

/* ---- answers made here -------------------------------------------------------------------- */

static void answer_rcode(struct ward_worker *w, const struct ward_client_ref *to,
			 const struct ward_dns_query *q, unsigned rcode)
{
	uint8_t buf[WARD_DNS_HEADER_LEN + WARD_DNS_NAME_MAX + 4 + 64];
	size_t len = ward_dns_write_rcode(buf, sizeof(buf), q, rcode, WARD_EDE_NONE, NULL);
	if (len)
		ward_worker_send(w, to, buf, len);
	else
		ward_worker_drop(w, to);
}

static void answer_block(struct ward_worker *w, const struct ward_query_ctx *ctx, int mode,
			 const uint8_t ipv4[4], const struct ward_policy_verdict *v)
{
	const struct ward_conf_block *b = &w->ps->conf->block;
	size_t len = ward_dns_write_block(w->scratch, sizeof(w->scratch), &ctx->q, mode, ipv4,
					  b->ipv6, b->ttl, v ? v->ede_code : WARD_EDE_NONE,
					  v ? v->text : NULL);
	if (len)
		ward_worker_send(w, &ctx->client, w->scratch, len);
	else
		ward_worker_drop(w, &ctx->client);
}

static void answer_verdict(struct ward_worker *w, const struct ward_query_ctx *ctx,
			   struct ward_policy_verdict *v)
{
	const struct ward_conf_block *b = &w->ps->conf->block;
	w->stats.blocked++;
	/* The text costs string formatting and maybe a database read: only when it can be
	 * carried, i.e. the client speaks EDNS. */
	if (ctx->q.edns && v->ede_code != WARD_EDE_NONE)
		ward_policy_explain(w->ps->policy, w->reader, v);
	if (v->action == WARD_POLICY_NXDOMAIN) {
		answer_block(w, ctx, WARD_BLOCK_NXDOMAIN, b->ipv4, v);
		return;
	}
	if (v->action == WARD_POLICY_ADDRESS) {
		/* A fixed IPv4 address: A gets it, every other type gets NODATA. */
		int mode = ctx->q.qtype == WARD_TYPE_A ? WARD_BLOCK_SINKHOLE : WARD_BLOCK_NODATA;
		answer_block(w, ctx, mode, v->rewrite_ipv4, NULL);
		return;
	}
	answer_block(w, ctx, (int)b->mode, b->ipv4, v);
}

/* ---- CNAME cloaking ---------------------------------------------------------------------------- */

struct cloak_check {
	struct ward_worker *w;
	const struct ward_query_ctx *ctx;
	struct ward_policy_verdict verdict;
};

static int check_chain_name(void *arg, const uint8_t *wire_lname)
{
	struct cloak_check *c = arg;
	char name[WARD_DNS_NAME_MAX * 4 + 1];
	size_t len = ward_name_to_text(wire_lname, name, sizeof(name));
	if (len == 1 && name[0] == '.')
		len = 0;
	return ward_policy_blocks_target(c->w->ps->policy, c->w->reader, c->ctx->profile, name,
					 len, &c->w->local_time, &c->verdict);
}

/* @return true when a name the answer leads through is blocked for this client. */
static bool answer_is_cloaked(struct ward_worker *w, const struct ward_query_ctx *ctx,
			      const struct ward_stored_answer *a, struct ward_policy_verdict *v)
{
	if (!w->ps || !a->has_cname)
		return false;
	struct cloak_check c = {.w = w, .ctx = ctx};
	/* Negative (a chain too long to follow) is not a verdict: the answer goes out as is. */
	if (ward_dns_foreach_chain_name(a->msg, a->len, check_chain_name, &c) <= 0)
		return false;
	*v = c.verdict;
	return true;
}

bool ward_query_answer_stored(struct ward_worker *w, const struct ward_query_ctx *ctx,
			      const struct ward_stored_answer *a)
{
	size_t limit = ward_query_answer_limit(&ctx->client, &ctx->q);
	size_t out_len;
	struct ward_policy_verdict v;
	/* A safe-search target's answer is checked too: its chain may lead anywhere. */
	if (answer_is_cloaked(w, ctx, a, &v)) {
		answer_verdict(w, ctx, &v);
		return true;
	}
	if (ctx->rewrite_target) {
		uint8_t target[WARD_DNS_NAME_MAX];
		struct ward_rewrite_source src = {a->msg, a->len, a->age_s, a->stale};
		if (!ward_name_from_text(ctx->rewrite_target, target, sizeof(target)))
			return false;
		out_len = ward_rewrite_cname_answer(w->scratch, sizeof(w->scratch), &ctx->q, target,
						    w->ps ? w->ps->conf->block.ttl : 60, &src, limit);
	} else {
		struct ward_dns_answer_opts opts = {
			.age_s = a->age_s,
			.stale = a->stale,
			.max_size = limit,
			.ede_code = a->stale ? WARD_EDE_STALE_ANSWER : WARD_EDE_NONE,
		};
		out_len = ward_dns_write_answer(w->scratch, sizeof(w->scratch), a->msg, a->len,
						a->ttl_off, a->n_ttls, &ctx->q, &opts);
	}
	if (!out_len)
		return false;
	ward_worker_send(w, &ctx->client, w->scratch, out_len);
	return true;
}

/* ---- the stages ------------------------------------------------------------------------------- */

/* @return true when the query was answered (or dropped) here. */
static bool stage_parse(struct ward_worker *w, const uint8_t *pkt, size_t len,
			struct ward_query_ctx *ctx)
{
	switch (ward_dns_parse_query(pkt, len, &ctx->q)) {
	case WARD_DNS_OK:
		return false;
	case WARD_DNS_FORMERR:
		w->stats.formerr++;
		answer_rcode(w, &ctx->client, &ctx->q, WARD_RCODE_FORMERR);
		return true;
	case WARD_DNS_NOTIMP:
		answer_rcode(w, &ctx->client, &ctx->q, WARD_RCODE_NOTIMP);
		return true;
	case WARD_DNS_BADVERS:
		answer_rcode(w, &ctx->client, &ctx->q, WARD_RCODE_BADVERS);
		return true;
	case WARD_DNS_REFUSED:
		answer_rcode(w, &ctx->client, &ctx->q, WARD_RCODE_REFUSED);
		return true;
	default:
		w->stats.dropped++;
		ward_worker_drop(w, &ctx->client);
		return true;
	}
}

static bool client_allowed(const struct ward_conf *conf, const struct ward_addr *addr)
{
	for (size_t i = 0; i < conf->n_allow_clients; i++)
		if (ward_cidr_contains(&conf->allow_clients[i], &addr->sa))
			return true;
	return false;
}

static bool stage_acl(struct ward_worker *w, const struct ward_query_ctx *ctx)
{
	const struct ward_conf *conf = w->ps ? w->ps->conf : w->conf;
	if (client_allowed(conf, &ctx->client.addr))
		return false;
	w->stats.refused++;
	answer_rcode(w, &ctx->client, &ctx->q, WARD_RCODE_REFUSED);
	return true;
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

/* @param ask  set to the rewritten question (stored in *rewritten) for safe search */
static bool stage_policy(struct ward_worker *w, struct ward_query_ctx *ctx,
			 struct ward_dns_query *rewritten, const struct ward_dns_query **ask)
{
	ctx->profile = (size_t)-1;
	if (!w->ps)
		return false;
	const struct ward_dns_query *q = &ctx->q;
	ctx->profile = ward_policy_profile_for(w->ps->policy, &ctx->client.addr.sa,
					       q->has_mac ? q->mac : NULL);
	char name[WARD_DNS_NAME_MAX * 4 + 1];
	size_t len = ward_name_to_text(q->lname, name, sizeof(name));
	if (len == 1 && name[0] == '.')
		len = 0;
	struct ward_policy_verdict v;
	ward_policy_decide(w->ps->policy, w->reader, ctx->profile, name, len, &w->local_time, &v);
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
	struct ward_cache_key key = {
		.lname = ask->lname, .lname_len = ask->qname_len, .qtype = ask->qtype,
		.qclass = ask->qclass, .do_bit = ask->do_bit, .cd = ask->cd,
	};
	struct ward_cache_hit hit;
	if (ward_cache_lookup(w->cache, &key, ward_worker_now(w), false, &hit) != 0)
		return false;
	struct ward_stored_answer a = {hit.msg, hit.msg_len, hit.ttl_off, hit.n_ttls,
				       hit.age_s, false, hit.has_cname};
	if (!ward_query_answer_stored(w, ctx, &a))
		return false;
	w->stats.cache_hits++;
	return true;
}

void ward_query_handle(struct ward_worker *w, const uint8_t *pkt, size_t len,
		       const struct ward_client_ref *from)
{
	struct ward_query_ctx ctx = {.client = *from};
	struct ward_dns_query rewritten;
	const struct ward_dns_query *ask = &ctx.q;
	w->stats.queries++;
	refresh_views(w);
	if (stage_parse(w, pkt, len, &ctx))
		return;
	if (stage_acl(w, &ctx))
		return;
	if (stage_policy(w, &ctx, &rewritten, &ask))
		return;
	if (stage_cache(w, &ctx, ask))
		return;
	w->stats.forwarded++;
	ward_fwd_submit(w, ask, &ctx);
}
