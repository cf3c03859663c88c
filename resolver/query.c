/*
 * The path of one query, as a plain list of stages:
 *   parse -> refuse unknown networks -> (policy) -> cache -> forward.
 * Each stage either answers and stops, or hands on.
 */
#include <string.h>

#include "blocklists/error.h"
#include "resolver/worker.h"

size_t ward_query_answer_limit(const struct ward_client_ref *to, const struct ward_dns_query *q)
{
	if (to->transport == WARD_TRANSPORT_TCP)
		return WARD_DNS_MSG_MAX;
	return ward_dns_udp_limit(q);
}

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

static bool client_allowed(const struct ward_conf *conf, const struct ward_addr *addr)
{
	for (size_t i = 0; i < conf->n_allow_clients; i++)
		if (ward_cidr_contains(&conf->allow_clients[i], &addr->sa))
			return true;
	return false;
}

/* @return true when the query was answered (or dropped) here. */
static bool stage_parse(struct ward_worker *w, const uint8_t *pkt, size_t len,
			const struct ward_client_ref *from, struct ward_dns_query *q)
{
	switch (ward_dns_parse_query(pkt, len, q)) {
	case WARD_DNS_OK:
		return false;
	case WARD_DNS_FORMERR:
		w->stats.formerr++;
		answer_rcode(w, from, q, WARD_RCODE_FORMERR);
		return true;
	case WARD_DNS_NOTIMP:
		answer_rcode(w, from, q, WARD_RCODE_NOTIMP);
		return true;
	case WARD_DNS_BADVERS:
		answer_rcode(w, from, q, WARD_RCODE_BADVERS);
		return true;
	case WARD_DNS_REFUSED:
		answer_rcode(w, from, q, WARD_RCODE_REFUSED);
		return true;
	default:
		w->stats.dropped++;
		ward_worker_drop(w, from);
		return true;
	}
}

static bool stage_acl(struct ward_worker *w, const struct ward_client_ref *from,
		      const struct ward_dns_query *q)
{
	if (client_allowed(w->conf, &from->addr))
		return false;
	w->stats.refused++;
	answer_rcode(w, from, q, WARD_RCODE_REFUSED);
	return true;
}

static void cache_key_for(const struct ward_dns_query *q, struct ward_cache_key *k)
{
	k->lname = q->lname;
	k->lname_len = q->qname_len;
	k->qtype = q->qtype;
	k->qclass = q->qclass;
	k->do_bit = q->do_bit;
	k->cd = q->cd;
}

static bool stage_cache(struct ward_worker *w, const struct ward_client_ref *from,
			const struct ward_dns_query *q)
{
	struct ward_cache_key key;
	struct ward_cache_hit hit;
	cache_key_for(q, &key);
	if (ward_cache_lookup(w->cache, &key, ward_worker_now(w), false, &hit) != 0)
		return false;
	struct ward_dns_answer_opts opts = {
		.age_s = hit.age_s,
		.max_size = ward_query_answer_limit(from, q),
		.ede_code = WARD_EDE_NONE,
	};
	size_t len = ward_dns_write_answer(w->scratch, sizeof(w->scratch), hit.msg, hit.msg_len,
					   hit.ttl_off, hit.n_ttls, q, &opts);
	if (len == 0)
		return false;
	w->stats.cache_hits++;
	ward_worker_send(w, from, w->scratch, len);
	return true;
}

void ward_query_handle(struct ward_worker *w, const uint8_t *pkt, size_t len,
		       const struct ward_client_ref *from)
{
	struct ward_dns_query q;
	w->stats.queries++;
	if (stage_parse(w, pkt, len, from, &q))
		return;
	if (stage_acl(w, from, &q))
		return;
	if (stage_cache(w, from, &q))
		return;
	w->stats.forwarded++;
	ward_fwd_submit(w, &q, from);
}
