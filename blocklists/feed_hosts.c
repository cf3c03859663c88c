/*
 * hosts files and plain domain lists: one parser, since a domain list is a hosts file
 * whose lines have no IP (and real hosts files have such lines: hazard 15).
 */
#include <string.h>

#include "blocklists/feed.h"
#include "blocklists/feed_internal.h"

/* Whitespace separates tokens. */
static const unsigned char ws[256] = {
	[' '] = 1, ['\t'] = 1, ['\n'] = 1, ['\v'] = 1, ['\f'] = 1, ['\r'] = 1,
};

/*
 * Cuts the next token off [*s, end). A token that starts with '#' is a comment to the end
 * of the line; a '#' inside a token is not ("example.com##.ad" must not read as
 * "example.com", hazard 9).
 */
static bool next_token(const char **s, const char **end, const char **tok, size_t *tlen)
{
	const char *c = *s;
	while (c < *end && ws[(unsigned char)*c])
		c++;
	if (c < *end && *c == '#')
		*end = c;
	if (c == *end)
		return false;
	*tok = c;
	while (c < *end && !ws[(unsigned char)*c])
		c++;
	*tlen = (size_t)(c - *tok);
	*s = c;
	return true;
}

static bool is_ip(const char *s, size_t n)
{
	return ward_feed__is_ipv4(s, n) || (memchr(s, ':', n) && ward_feed__is_ipv6(s, n));
}

int ward_feed__hosts_line(struct ward_feed_parser *p, const char *s, size_t n)
{
	const char *end = s + n, *first, *tok;
	size_t flen, tlen;
	if (!next_token(&s, &end, &first, &flen) || first[0] == '!')
		return 0;
	unsigned flags = p->subdomains ? WARD_ENTRY_SUBDOMAINS : 0;
	if (is_ip(first, flen)) {
		if (!next_token(&s, &end, &tok, &tlen)) {
			ward_feed__reject(p, WARD_REJECT_IP);
			return 0;
		}
		do {
			int rc = ward_feed__candidate(p, tok, tlen, flags);
			if (rc != 0)
				return rc;
		} while (next_token(&s, &end, &tok, &tlen));
		return 0;
	}
	if (next_token(&s, &end, &tok, &tlen)) {
		/* Two words and no IP: prose or a cosmetic rule, never names (hazard 9). */
		ward_feed__reject(p, WARD_REJECT_SYNTAX);
		return 0;
	}
	return ward_feed__candidate(p, first, flen, flags);
}
