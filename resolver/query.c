/*
 * The path of one query, as a plain list of stages:
 *   parse -> refuse unknown networks -> answer bad queries -> policy -> cache -> forward.
 * Each stage either answers and stops, or hands on. allow_clients is checked before any
 * answer is made, so a client outside it gets REFUSED (or nothing) and never a FORMERR,
 * NOTIMP or BADVERS that would tell it about the server. The policy runs before the
 * cache, so a blocked name never reaches the cache or an upstream, and the cache only
 * ever holds upstream answers keyed by the name asked upstream: nothing one profile is
 * allowed can leak to another through it (answers are checked against the asker's
 * profile on the way out, see ward_query_answer_stored).
 */
#include <arpa/inet.h>
#include <string.h>

#include "blocklists/error.h"
#include "blocklists/log.h"
#include "resolver/rewrite.h"
#include "resolver/web.h"
#include "resolver/worker.h"

#define READER_REFRESH_MS 100 /* how stale a worker's view of the database may get */

/* EDE 0 (Other Error) with this text: the answer's CNAME chain could not be checked
 * against the policy. Why 0 and not a filtering code: see EDE_OTHER in policy.c. */
#define CHAIN_UNCHECKED_TEXT "ward: CNAME chain too long or malformed to check"
#define EDE_OTHER 0

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

static void answer_rcode(struct ward_worker *w, const struct ward_query_ctx *ctx, unsigned rcode,
			 int ede_code, const char *ede_text)
{
	size_t cap = ward_query_answer_limit(&ctx->client, &ctx->q);
	if (cap > sizeof(w->scratch))
		cap = sizeof(w->scratch);
	size_t len = ward_dns_write_rcode(w->scratch, cap, &ctx->q, rcode, ede_code, ede_text);
	if (len)
		ward_worker_send(w, &ctx->client, w->scratch, len);
	else
		ward_worker_drop(w, &ctx->client);
}

static void answer_block(struct ward_worker *w, const struct ward_query_ctx *ctx, int mode,
			 const uint8_t ipv4[4], const struct ward_policy_verdict *v)
{
	const struct ward_conf_block *b = &w->ps->conf->block;
	/* The client's UDP size bounds the answer: the EDE text gives way first, then TC. */
	size_t cap = ward_query_answer_limit(&ctx->client, &ctx->q);
	if (cap > sizeof(w->scratch))
		cap = sizeof(w->scratch);
	size_t len = ward_dns_write_block(w->scratch, cap, &ctx->q, mode, ipv4, b->ipv6, b->ttl,
					  v ? v->ede_code : WARD_EDE_NONE, v ? v->text : NULL);
	if (len)
		ward_worker_send(w, &ctx->client, w->scratch, len);
	else
		ward_worker_drop(w, &ctx->client);
}

static void answer_verdict(struct ward_worker *w, const struct ward_query_ctx *ctx,
			   struct ward_policy_verdict *v)
{
	const struct ward_conf_block *b = &w->ps->conf->block;
	/* The text costs string formatting and maybe a database read: only when it can be
	 * carried, i.e. the client speaks EDNS. */
	if (ctx->q.edns && v->ede_code != WARD_EDE_NONE)
		ward_policy_explain(w->ps->policy, w->reader, v);
	if (w->records)
		ward_web_record(w, ctx, v);
	switch (v->action) {
	case WARD_POLICY_SERVFAIL:
		w->stats.servfail++;
		answer_rcode(w, ctx, WARD_RCODE_SERVFAIL, v->ede_code, v->text);
		return;
	case WARD_POLICY_NXDOMAIN:
		w->stats.blocked++;
		answer_block(w, ctx, WARD_BLOCK_NXDOMAIN, b->ipv4, v);
		return;
	case WARD_POLICY_ADDRESS: {
		/* A fixed IPv4 address: A gets it, every other type gets NODATA. */
		int mode = ctx->q.qtype == WARD_TYPE_A ? WARD_BLOCK_SINKHOLE : WARD_BLOCK_NODATA;
		w->stats.blocked++;
		answer_block(w, ctx, mode, v->rewrite_ipv4, NULL);
		return;
	}
	default:
		w->stats.blocked++;
		answer_block(w, ctx, (int)b->mode, b->ipv4, v);
	}
}

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

bool ward_query_answer_stored(struct ward_worker *w, const struct ward_query_ctx *ctx,
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
		w->stats.servfail++;
		answer_rcode(w, ctx, WARD_RCODE_SERVFAIL, EDE_OTHER, CHAIN_UNCHECKED_TEXT);
		return true;
	case CHAIN_CLEAN:
		break;
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
	if (parsed == WARD_DNS_DROP) {
		w->stats.dropped++;
		ward_worker_drop(w, &ctx->client);
		return true;
	}
	answer_rcode(w, ctx, WARD_RCODE_REFUSED, w->ps ? v.ede_code : WARD_EDE_NONE, NULL);
	return true;
}

/* A query that cannot be answered as asked. @return true when answered (or dropped). */
static bool stage_bad_query(struct ward_worker *w, const struct ward_query_ctx *ctx, int parsed)
{
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

/* @param ask  set to the rewritten question (stored in *rewritten) for safe search */
static bool stage_policy(struct ward_worker *w, struct ward_query_ctx *ctx,
			 struct ward_dns_query *rewritten, const struct ward_dns_query **ask)
{
	ctx->profile = (size_t)-1;
	if (!w->ps)
		return false;
	const struct ward_dns_query *q = &ctx->q;
	bool mac_ignored;
	ctx->profile = ward_policy_profile_for(w->ps->policy, &ctx->client.addr.sa,
					       q->has_mac ? q->mac : NULL, &mac_ignored);
	if (mac_ignored)
		note_mac_ignored(w, ctx);
	struct ward_policy_verdict v;
	ward_policy_decide(w->ps->policy, w->reader, overrides(w), ctx->profile, q->lname,
			   &w->local_time, &v);
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
	int parsed = ward_dns_parse_query(pkt, len, &ctx.q);
	if (stage_acl(w, &ctx, parsed))
		return;
	if (stage_bad_query(w, &ctx, parsed))
		return;
	if (w->conf->web.enabled && ward_web_dns_answer(w, &ctx))
		return;
	if (stage_policy(w, &ctx, &rewritten, &ask))
		return;
	if (stage_cache(w, &ctx, ask))
		return;
	w->stats.forwarded++;
	ward_fwd_submit(w, ask, &ctx);
}
