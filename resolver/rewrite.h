/*
 * Answers ward makes up from another name's answer: the safe-search rewrite, where
 * `www.google.com` is answered as a CNAME to `forcesafesearch.google.com` followed by the
 * target's own addresses (resolved upstream and cached under the target's name).
 */
#ifndef WARD_REWRITE_H
#define WARD_REWRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "resolver/dns.h"

struct ward_rewrite_source {
	const uint8_t *msg;    /* the target's stored answer (see ward_dns_parse_response) */
	size_t len;
	uint32_t age_s;        /* subtracted from its TTLs */
	bool stale;            /* TTLs become 30 */
};

/*
 * Write q's answer: q's question, `qname CNAME target` with cname_ttl, then the A, AAAA
 * and CNAME records of the target's answer section with names written out in full.
 * The rcode is the target's. An OPT record is added when q had EDNS; over max_size the
 * answer becomes header + question (+ OPT) with TC=1.
 * @param target_wire  the CNAME target in wire form
 * @return bytes written, 0 if cap is too small or the source message is malformed.
 */
size_t ward_rewrite_cname_answer(uint8_t *out, size_t cap, const struct ward_dns_query *q,
				 const uint8_t *target_wire, uint32_t cname_ttl,
				 const struct ward_rewrite_source *src, size_t max_size);

#endif
