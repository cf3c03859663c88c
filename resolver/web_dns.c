/*
 * The web listener's two hooks on the DNS query path (web.h): the address wardd answers
 * for its own host name (query.c's web-host stage writes the answer), and the hand-off of
 * blocks to the web thread. Both run on worker threads: no lock, no allocation.
 */
#include <arpa/inet.h>
#include <string.h>

#include "resolver/web.h"

static bool is_any(const struct ward_addr *a)
{
	if (a->sa.sa_family == AF_INET)
		return a->v4.sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&a->v6.sin6_addr);
}

/* The address the query came to: the wildcard DNS listener's packet info, else the
 * concrete address of the UDP listener it arrived on. */
static bool query_local(const struct ward_worker *w, const struct ward_query_ctx *ctx,
			int family, uint8_t *out)
{
	const struct ward_local_addr *l = &ctx->client.local;
	if (l->family == family) {
		memcpy(out, family == AF_INET ? (const void *)&l->v4 : (const void *)&l->v6,
		       family == AF_INET ? 4 : 16);
		return true;
	}
	if (ctx->client.transport != WARD_TRANSPORT_UDP || !ctx->client.udp)
		return false;
	const struct ward_addr *a = &w->conf->listen[ctx->client.udp - w->udp];
	if (a->sa.sa_family != family || is_any(a))
		return false;
	memcpy(out, family == AF_INET ? (const void *)&a->v4.sin_addr
				      : (const void *)&a->v6.sin6_addr, family == AF_INET ? 4 : 16);
	return true;
}

/* The first web listener address of the family; a wildcard one means the address the
 * query came to (the web listener listens there too). */
static bool host_address(const struct ward_worker *w, const struct ward_query_ctx *ctx,
			 int family, uint8_t *out)
{
	const struct ward_conf_web *web = &w->conf->web;
	for (size_t i = 0; i < web->n_listen; i++) {
		const struct ward_addr *a = &web->listen[i];
		if (a->sa.sa_family != family)
			continue;
		if (is_any(a))
			return query_local(w, ctx, family, out);
		memcpy(out, family == AF_INET ? (const void *)&a->v4.sin_addr
					      : (const void *)&a->v6.sin6_addr,
		       family == AF_INET ? 4 : 16);
		return true;
	}
	return false;
}

int ward_web_host_address(const struct ward_worker *w, const struct ward_query_ctx *ctx,
			  uint8_t v4[4], uint8_t v6[16])
{
	const struct ward_conf_web *web = &w->conf->web;
	const struct ward_dns_query *q = &ctx->q;
	if (q->qname_len != web->hostname_wire_len ||
	    memcmp(q->lname, web->hostname_wire, web->hostname_wire_len) != 0)
		return -1;
	if ((q->qtype == WARD_TYPE_A && host_address(w, ctx, AF_INET, v4)) ||
	    (q->qtype == WARD_TYPE_AAAA && host_address(w, ctx, AF_INET6, v6)))
		return WARD_BLOCK_SINKHOLE;
	return WARD_BLOCK_NODATA;
}

static uint8_t schedule_index(const struct ward_worker *w, size_t profile, const char *name)
{
	const struct ward_conf *conf = w->ps->conf;
	if (!name || profile >= conf->n_profiles)
		return UINT8_MAX;
	const struct ward_conf_profile *p = &conf->profiles[profile];
	for (size_t i = 0; i < p->n_schedules && i < UINT8_MAX; i++)
		if (p->schedules[i].name == name)
			return (uint8_t)i;
	return UINT8_MAX;
}

static void client_key(const struct ward_addr *a, uint8_t key[16])
{
	if (a->sa.sa_family == AF_INET6) {
		memcpy(key, &a->v6.sin6_addr, 16);
		return;
	}
	memset(key, 0, 10);
	key[10] = key[11] = 0xFF;
	memcpy(key + 12, &a->v4.sin_addr, 4);
}

void ward_web_record(struct ward_worker *w, const struct ward_query_ctx *ctx,
		     const struct ward_policy_verdict *v)
{
	if (v->action != WARD_POLICY_BLOCK && v->action != WARD_POLICY_NXDOMAIN)
		return;
	struct ward_record *r = ward_ring_reserve(w->records);
	if (!r)
		return;
	r->unix_s = w->local_time.unix_s;
	r->policy_generation = w->ps->generation;
	r->override_id = v->override_id;
	r->until = v->until;
	r->categories = v->categories;
	r->profile = ctx->profile < UINT32_MAX ? (uint32_t)ctx->profile : UINT32_MAX;
	r->qtype = ctx->q.qtype;
	client_key(&ctx->client.addr, r->client);
	r->has_mac = ctx->q.has_mac;
	memcpy(r->mac, ctx->q.mac, sizeof(r->mac));
	r->action = (uint8_t)v->action;
	r->reason = (uint8_t)v->reason;
	r->schedule = schedule_index(w, ctx->profile, v->schedule_name);
	memcpy(r->name, ctx->q.lname, ctx->q.qname_len);
	ward_ring_commit(w->records);
}
