/*
 * hosts files and plain domain lists: one parser, since a domain list is a hosts file
 * whose lines have no IP (and real hosts files have such lines: hazard 15).
 */
#include <string.h>

#include "blocklists/feed.h"
#include "blocklists/feed_internal.h"

/* Cuts the next whitespace-separated token off [*s, *s + *n). */
static bool next_token(const char **s, size_t *n, const char **tok, size_t *tlen)
{
	while (*n && ward_feed__ws(**s))
		(*s)++, (*n)--;
	if (*n == 0)
		return false;
	*tok = *s;
	while (*n && !ward_feed__ws(**s))
		(*s)++, (*n)--;
	*tlen = (size_t)(*s - *tok);
	return true;
}

static bool is_ip(const char *s, size_t n)
{
	return ward_feed__is_ipv4(s, n) || (memchr(s, ':', n) && ward_feed__is_ipv6(s, n));
}

int ward_feed__hosts_line(struct ward_feed_parser *p, const char *s, size_t n)
{
	const char *hash = memchr(s, '#', n);
	if (hash)
		n = (size_t)(hash - s);
	const char *first, *tok;
	size_t flen, tlen;
	if (!next_token(&s, &n, &first, &flen) || first[0] == '!')
		return 0;
	unsigned flags = p->subdomains ? WARD_ENTRY_SUBDOMAINS : 0;
	if (is_ip(first, flen)) {
		if (!next_token(&s, &n, &tok, &tlen)) {
			ward_feed__reject(p, WARD_REJECT_IP);
			return 0;
		}
		do {
			int rc = ward_feed__candidate(p, tok, tlen, flags);
			if (rc != 0)
				return rc;
		} while (next_token(&s, &n, &tok, &tlen));
		return 0;
	}
	if (next_token(&s, &n, &tok, &tlen)) {
		/* Two words and no IP: prose or a cosmetic rule, never names (hazard 9). */
		ward_feed__reject(p, WARD_REJECT_SYNTAX);
		return 0;
	}
	return ward_feed__candidate(p, first, flen, flags);
}
