/*
 * dnsmasq configuration fragments: server=/d/, local=/d/, address=/d/[ip]. dnsmasq
 * matches a domain and everything below it, so every entry covers subdomains.
 */
#include <string.h>

#include "blocklists/feed.h"
#include "blocklists/feed_internal.h"

/* '#' starts a comment at the line start or after whitespace; "server=/x/#" is data. */
static size_t strip_comment(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '#' && (i == 0 || ward_feed__ws(s[i - 1])))
			return i;
	return n;
}

/*
 * What the option does with its domains. @return WARD_ENTRY_* flags (>= 0), or
 * -(1 + reason) when the line is no block or allow.
 */
static int action(const char *key, size_t klen, const char *target, size_t tlen)
{
	if (klen == 5 && memcmp(key, "local", 5) == 0)
		return tlen == 0 ? WARD_ENTRY_SUBDOMAINS : -(1 + WARD_REJECT_SYNTAX);
	if (klen == 6 && memcmp(key, "server", 6) == 0) {
		if (tlen == 0)
			return WARD_ENTRY_SUBDOMAINS;
		if (tlen == 1 && target[0] == '#')
			return WARD_ENTRY_SUBDOMAINS | WARD_ENTRY_ALLOW;
		return -(1 + WARD_REJECT_UNSUPPORTED);
	}
	if (tlen == 0 || (tlen == 1 && target[0] == '#') || ward_feed__is_ipv4(target, tlen) ||
	    ward_feed__is_ipv6(target, tlen))
		return WARD_ENTRY_SUBDOMAINS;
	return -(1 + WARD_REJECT_SYNTAX);
}

static bool known_key(const char *key, size_t klen)
{
	return (klen == 6 && memcmp(key, "server", 6) == 0) ||
	       (klen == 5 && memcmp(key, "local", 5) == 0) ||
	       (klen == 7 && memcmp(key, "address", 7) == 0);
}

/* Every '/'-separated domain of "d1/d2/.../dn". */
static int domains(struct ward_feed_parser *p, const char *s, size_t n, unsigned flags)
{
	for (;;) {
		const char *slash = memchr(s, '/', n);
		size_t len = slash ? (size_t)(slash - s) : n;
		if (len == 0 || (len == 1 && s[0] == '#')) {
			ward_feed__reject(p, WARD_REJECT_WILDCARD);
		} else {
			int rc = ward_feed__candidate(p, s, len, flags);
			if (rc != 0)
				return rc;
		}
		if (!slash)
			return 0;
		s += len + 1;
		n -= len + 1;
	}
}

int ward_feed__dnsmasq_line(struct ward_feed_parser *p, const char *s, size_t n)
{
	n = strip_comment(s, n);
	ward_feed__trim(&s, &n);
	if (n == 0)
		return 0;
	const char *eq = memchr(s, '=', n);
	size_t klen = eq ? (size_t)(eq - s) : n;
	if (!eq || !known_key(s, klen)) {
		ward_feed__reject(p, WARD_REJECT_SYNTAX);
		return 0;
	}
	const char *v = eq + 1;
	size_t vlen = n - klen - 1;
	if (vlen == 0 || v[0] != '/') {
		bool server = klen == 6 && memcmp(s, "server", 6) == 0;
		ward_feed__reject(p, server ? WARD_REJECT_UNSUPPORTED : WARD_REJECT_SYNTAX);
		return 0;
	}
	const char *last = memrchr(v, '/', vlen);
	if (last == v) {
		ward_feed__reject(p, WARD_REJECT_SYNTAX);
		return 0;
	}
	int flags = action(s, klen, last + 1, vlen - (size_t)(last - v) - 1);
	if (flags < 0) {
		ward_feed__reject(p, (enum ward_feed_reject)(-flags - 1));
		return 0;
	}
	return domains(p, v + 1, (size_t)(last - v) - 1, (unsigned)flags);
}
