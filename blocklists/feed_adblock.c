/*
 * Adblock-syntax filter lists, read the way AdGuard Home reads them for DNS: only rules
 * that name a host (||x^, |x^, x) and carry no page-context modifier become entries.
 * Browser-only rules (cosmetic, URL paths, $domain=, $image ...) are counted, never
 * widened to a host block: "||bit.ly^$image,domain=x" must not block bit.ly.
 */
#include <string.h>
#include <strings.h>

#include "blocklists/feed.h"
#include "blocklists/feed_internal.h"

/* ##, #@#, #?#, #@?#, #$#, #@$#, #$?#, #@$?#, #%#, #@%#, and AdGuard's $$ and $@$. */
static bool is_cosmetic(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t j = i + 1;
		if (s[i] == '#') {
			if (j < n && s[j] == '@')
				j++;
			if (j < n && s[j] == '$') {
				j++;
				if (j < n && s[j] == '?')
					j++;
			} else if (j < n && (s[j] == '%' || s[j] == '?')) {
				j++;
			}
			if (j < n && s[j] == '#')
				return true;
		} else if (s[i] == '$') {
			if (j < n && s[j] == '@')
				j++;
			if (j < n && s[j] == '$')
				return true;
		}
	}
	return false;
}

/* "/re/" or "/re/$options" is a regex rule. */
static bool is_regex(const char *s, size_t n)
{
	if (n >= 2 && s[n - 1] == '/')
		return true;
	for (size_t i = 1; i + 1 < n; i++)
		if (s[i] == '/' && s[i + 1] == '$')
			return true;
	return false;
}

static bool option_is(const char *o, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(o, name, n) == 0;
}

/* @return 0 when every option keeps the rule a DNS rule, else the reason to drop it. */
static int check_options(const char *s, size_t n)
{
	bool modifier = false;
	for (;;) {
		const char *comma = memchr(s, ',', n);
		size_t len = comma ? (size_t)(comma - s) : n;
		if (option_is(s, len, "badfilter"))
			return WARD_REJECT_BADFILTER;
		if (!option_is(s, len, "important") && !option_is(s, len, "all") &&
		    !option_is(s, len, "document") && !option_is(s, len, "doc") &&
		    !option_is(s, len, "match-case"))
			modifier = true;
		if (!comma)
			break;
		s += len + 1;
		n -= len + 1;
	}
	return modifier ? WARD_REJECT_MODIFIER : 0;
}

/* Drops "||" or "|" and a scheme. @return 1 subdomains, 0 exact, -1 bare. */
static int strip_anchor(const char **s, size_t *n, bool has_slash)
{
#define SCHEME(s) {s, sizeof(s) - 1}
	static const struct {
		const char *text;
		size_t len;
	} schemes[] = {SCHEME("https://"), SCHEME("http://"), SCHEME("wss://"), SCHEME("ws://"),
		       SCHEME("://"), SCHEME("//")};
#undef SCHEME
	int sub = -1;
	if (WARD_FEED__STARTS(*s, *n, "||"))
		sub = 1, *s += 2, *n -= 2;
	else if (WARD_FEED__STARTS(*s, *n, "|"))
		sub = 0, *s += 1, *n -= 1;
	for (size_t i = 0; has_slash && i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		if (ward_feed__starts(*s, *n, schemes[i].text, schemes[i].len)) {
			*s += schemes[i].len, *n -= schemes[i].len;
			return sub < 0 ? 0 : sub;
		}
	}
	return sub;
}

/* What may follow a host for the rule to still mean "this host". */
static bool host_suffix_ok(const char *s, size_t n)
{
	return n == 0 || (n == 1 && (s[0] == '^' || s[0] == '|' || s[0] == '/')) ||
	       (n == 2 && (s[0] == '^' || s[0] == '/') && s[1] == '|');
}

static size_t host_end(const char *s, size_t n)
{
	if (n > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		return close ? (size_t)(close - s) + 1 : n;
	}
	for (size_t i = 0; i < n; i++)
		if (s[i] == '^' || s[i] == '/' || s[i] == '|' || s[i] == ':' || s[i] == '?')
			return i;
	return n;
}

static bool is_bare_ipv6(const char *s, size_t n)
{
	while (n && (s[n - 1] == '^' || s[n - 1] == '|'))
		n--;
	return memchr(s, ':', n) && ward_feed__is_ipv6(s, n);
}

/* Bytes whose presence decides which checks a rule needs; most rules have none. */
enum { B_HASH = 1, B_DOLLAR = 2, B_SLASH = 4, B_COLON = 8 };
static const unsigned char marks[256] = {
	['#'] = B_HASH, ['$'] = B_DOLLAR, ['/'] = B_SLASH, [':'] = B_COLON,
};

static unsigned scan_marks(const char *s, size_t n)
{
	unsigned seen = 0;
	for (size_t i = 0; i < n; i++)
		seen |= marks[(unsigned char)s[i]];
	return seen;
}

/* The network-rule part after "@@": pattern[$options]. @return reason + 1, or 0. */
static int host_rule(struct ward_feed_parser *p, const char *s, size_t n, unsigned allow,
		     unsigned seen)
{
	const char *dollar = seen & B_DOLLAR ? memchr(s, '$', n) : NULL;
	if (dollar) {
		int why = check_options(dollar + 1, n - (size_t)(dollar - s) - 1);
		if (why)
			return why + 1;
		n = (size_t)(dollar - s);
	}
	int sub = strip_anchor(&s, &n, seen & B_SLASH);
	if ((seen & B_COLON) && is_bare_ipv6(s, n))
		return WARD_REJECT_IP + 1;
	size_t end = host_end(s, n);
	if (!host_suffix_ok(s + end, n - end))
		return WARD_REJECT_URL + 1;
	if (end == 0)
		return WARD_REJECT_SYNTAX + 1;
	if (s[end - 1] == '.')
		return WARD_REJECT_WILDCARD + 1;
	bool forced;
	int len = ward_feed__classify(p, s, end, &forced);
	if (len < 0)
		return -len;
	/* "||postnord-order-" with nothing after it is a prefix; "||actor^" is a TLD. */
	if (end == n && !memchr(p->name, '.', (size_t)len))
		return WARD_REJECT_WILDCARD + 1;
	unsigned flags = allow;
	if (forced || sub == 1 || (sub < 0 && p->subdomains))
		flags |= WARD_ENTRY_SUBDOMAINS;
	int rc = ward_feed__emit(p, p->name, (size_t)len, flags);
	return rc < 0 ? rc : 0;
}

/* Comments, headers and cosmetic rules. @return 1 when the line is handled. */
static int not_network(struct ward_feed_parser *p, const char *s, size_t n, unsigned seen)
{
	if (n == 0 || s[0] == '!')
		return 1;
	if (s[0] == '[' && s[n - 1] == ']') {
		if (ward_feed__is_ipv6(s, n))
			ward_feed__reject(p, WARD_REJECT_IP);
		return 1;
	}
	if ((seen & (B_HASH | B_DOLLAR)) && is_cosmetic(s, n)) {
		ward_feed__reject(p, WARD_REJECT_COSMETIC);
		return 1;
	}
	return s[0] == '#';
}

int ward_feed__adblock_line(struct ward_feed_parser *p, const char *s, size_t n)
{
	ward_feed__trim(&s, &n);
	unsigned seen = scan_marks(s, n);
	if (not_network(p, s, n, seen))
		return 0;
	unsigned allow = 0;
	if (WARD_FEED__STARTS(s, n, "@@"))
		allow = WARD_ENTRY_ALLOW, s += 2, n -= 2;
	if (n > 0 && s[0] == '/') {
		ward_feed__reject(p, is_regex(s, n) ? WARD_REJECT_REGEX : WARD_REJECT_URL);
		return 0;
	}
	int rc = host_rule(p, s, n, allow, seen);
	if (rc > 0)
		ward_feed__reject(p, (enum ward_feed_reject)(rc - 1));
	return rc < 0 ? rc : 0;
}
