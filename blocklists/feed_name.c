/*
 * Names: normalization (case, trailing dot, label rules), internationalized names to
 * their ASCII form (libidn2: UTS #46 mapping, NFC, IDNA2008, as browsers resolve them),
 * IP literal detection, the classification of a name candidate shared by the line
 * formats, and the public suffix check (libpsl).
 */
#include <arpa/inet.h>
#include <libpsl.h>
#include <stdint.h>
#include <string.h>

#include "blocklists/feed.h"
#include "blocklists/feed_internal.h"
#include "blocklists/name.h"

#define REJECT(r) (-(1 + (int)(r)))
#define LABEL_MAX 63

/* Character classes of ASCII bytes in a label. */
enum { C_BAD = 0, C_OK = 1, C_UPPER = 2, C_DOT = 3, C_HIGH = 4, C_DIGIT = 5 };

static const uint8_t char_class[256] = {
	['-'] = C_OK, ['_'] = C_OK, ['.'] = C_DOT,
	['0'] = C_DIGIT, ['1'] = C_DIGIT, ['2'] = C_DIGIT, ['3'] = C_DIGIT, ['4'] = C_DIGIT,
	['5'] = C_DIGIT, ['6'] = C_DIGIT, ['7'] = C_DIGIT, ['8'] = C_DIGIT, ['9'] = C_DIGIT,
	['a'] = C_OK, ['b'] = C_OK, ['c'] = C_OK, ['d'] = C_OK, ['e'] = C_OK, ['f'] = C_OK,
	['g'] = C_OK, ['h'] = C_OK, ['i'] = C_OK, ['j'] = C_OK, ['k'] = C_OK, ['l'] = C_OK,
	['m'] = C_OK, ['n'] = C_OK, ['o'] = C_OK, ['p'] = C_OK, ['q'] = C_OK, ['r'] = C_OK,
	['s'] = C_OK, ['t'] = C_OK, ['u'] = C_OK, ['v'] = C_OK, ['w'] = C_OK, ['x'] = C_OK,
	['y'] = C_OK, ['z'] = C_OK,
	['A'] = C_UPPER, ['B'] = C_UPPER, ['C'] = C_UPPER, ['D'] = C_UPPER, ['E'] = C_UPPER,
	['F'] = C_UPPER, ['G'] = C_UPPER, ['H'] = C_UPPER, ['I'] = C_UPPER, ['J'] = C_UPPER,
	['K'] = C_UPPER, ['L'] = C_UPPER, ['M'] = C_UPPER, ['N'] = C_UPPER, ['O'] = C_UPPER,
	['P'] = C_UPPER, ['Q'] = C_UPPER, ['R'] = C_UPPER, ['S'] = C_UPPER, ['T'] = C_UPPER,
	['U'] = C_UPPER, ['V'] = C_UPPER, ['W'] = C_UPPER, ['X'] = C_UPPER, ['Y'] = C_UPPER,
	['Z'] = C_UPPER,
	[0x80] = C_HIGH, [0x81] = C_HIGH, [0x82] = C_HIGH, [0x83] = C_HIGH, [0x84] = C_HIGH,
	[0x85] = C_HIGH, [0x86] = C_HIGH, [0x87] = C_HIGH, [0x88] = C_HIGH, [0x89] = C_HIGH,
	[0x8A] = C_HIGH, [0x8B] = C_HIGH, [0x8C] = C_HIGH, [0x8D] = C_HIGH, [0x8E] = C_HIGH,
	[0x8F] = C_HIGH, [0x90] = C_HIGH, [0x91] = C_HIGH, [0x92] = C_HIGH, [0x93] = C_HIGH,
	[0x94] = C_HIGH, [0x95] = C_HIGH, [0x96] = C_HIGH, [0x97] = C_HIGH, [0x98] = C_HIGH,
	[0x99] = C_HIGH, [0x9A] = C_HIGH, [0x9B] = C_HIGH, [0x9C] = C_HIGH, [0x9D] = C_HIGH,
	[0x9E] = C_HIGH, [0x9F] = C_HIGH, [0xA0] = C_HIGH, [0xA1] = C_HIGH, [0xA2] = C_HIGH,
	[0xA3] = C_HIGH, [0xA4] = C_HIGH, [0xA5] = C_HIGH, [0xA6] = C_HIGH, [0xA7] = C_HIGH,
	[0xA8] = C_HIGH, [0xA9] = C_HIGH, [0xAA] = C_HIGH, [0xAB] = C_HIGH, [0xAC] = C_HIGH,
	[0xAD] = C_HIGH, [0xAE] = C_HIGH, [0xAF] = C_HIGH, [0xB0] = C_HIGH, [0xB1] = C_HIGH,
	[0xB2] = C_HIGH, [0xB3] = C_HIGH, [0xB4] = C_HIGH, [0xB5] = C_HIGH, [0xB6] = C_HIGH,
	[0xB7] = C_HIGH, [0xB8] = C_HIGH, [0xB9] = C_HIGH, [0xBA] = C_HIGH, [0xBB] = C_HIGH,
	[0xBC] = C_HIGH, [0xBD] = C_HIGH, [0xBE] = C_HIGH, [0xBF] = C_HIGH, [0xC0] = C_HIGH,
	[0xC1] = C_HIGH, [0xC2] = C_HIGH, [0xC3] = C_HIGH, [0xC4] = C_HIGH, [0xC5] = C_HIGH,
	[0xC6] = C_HIGH, [0xC7] = C_HIGH, [0xC8] = C_HIGH, [0xC9] = C_HIGH, [0xCA] = C_HIGH,
	[0xCB] = C_HIGH, [0xCC] = C_HIGH, [0xCD] = C_HIGH, [0xCE] = C_HIGH, [0xCF] = C_HIGH,
	[0xD0] = C_HIGH, [0xD1] = C_HIGH, [0xD2] = C_HIGH, [0xD3] = C_HIGH, [0xD4] = C_HIGH,
	[0xD5] = C_HIGH, [0xD6] = C_HIGH, [0xD7] = C_HIGH, [0xD8] = C_HIGH, [0xD9] = C_HIGH,
	[0xDA] = C_HIGH, [0xDB] = C_HIGH, [0xDC] = C_HIGH, [0xDD] = C_HIGH, [0xDE] = C_HIGH,
	[0xDF] = C_HIGH, [0xE0] = C_HIGH, [0xE1] = C_HIGH, [0xE2] = C_HIGH, [0xE3] = C_HIGH,
	[0xE4] = C_HIGH, [0xE5] = C_HIGH, [0xE6] = C_HIGH, [0xE7] = C_HIGH, [0xE8] = C_HIGH,
	[0xE9] = C_HIGH, [0xEA] = C_HIGH, [0xEB] = C_HIGH, [0xEC] = C_HIGH, [0xED] = C_HIGH,
	[0xEE] = C_HIGH, [0xEF] = C_HIGH, [0xF0] = C_HIGH, [0xF1] = C_HIGH, [0xF2] = C_HIGH,
	[0xF3] = C_HIGH, [0xF4] = C_HIGH, [0xF5] = C_HIGH, [0xF6] = C_HIGH, [0xF7] = C_HIGH,
	[0xF8] = C_HIGH, [0xF9] = C_HIGH, [0xFA] = C_HIGH, [0xFB] = C_HIGH, [0xFC] = C_HIGH,
	[0xFD] = C_HIGH, [0xFE] = C_HIGH, [0xFF] = C_HIGH,
};

/* Appends n bytes at out + *o while they fit; *o counts on regardless. */
static void put(char *out, size_t cap, size_t *o, const char *s, size_t n)
{
	if (*o < cap)
		memcpy(out + *o, s, n < cap - *o ? n : cap - *o);
	*o += n;
}

static bool has_high_byte(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return true;
	return false;
}

/* A name with non-ASCII bytes: converted as browsers do (ward_name_idn_to_ascii), then
 * held to the same label rules as any other name. */
static int idn_to_ascii(const char *in, size_t len, char *out, size_t cap)
{
	char ascii[WARD_NAME_TEXT_MAX];
	int n = ward_name_idn_to_ascii(in, len, ascii, sizeof(ascii));
	if (n < 0)
		return REJECT(WARD_REJECT_IDN);
	return ward_feed_normalize_name(ascii, (size_t)n, out, cap);
}

/*
 * Every label is checked even after the name has grown too long, so that the reason is
 * the first bad label's, as the reference implementation reports it. A name whose last
 * label is all digits is no host name: an IP when every label is digits.
 */
int ward_feed_normalize_name(const char *in, size_t len, char *out, size_t cap)
{
	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0 || cap == 0)
		return REJECT(WARD_REJECT_INVALID_NAME);
	if (has_high_byte(in, len))
		return idn_to_ascii(in, len, out, cap);
	size_t o = 0, i = 0;
	bool all_numeric = true, label_numeric;
	for (;;) {
		/* One label [start, i). ASCII is lower-cased into out while it is checked. */
		size_t start = i;
		unsigned seen = 0;
		for (; i < len; i++, o++) {
			unsigned char c = (unsigned char)in[i];
			uint8_t cls = char_class[c];
			if (cls == C_DOT)
				break;
			if (cls == C_BAD)
				return REJECT(WARD_REJECT_INVALID_NAME);
			seen |= 1u << cls;
			if (o < cap)
				out[o] = cls == C_UPPER ? (char)(c + 32) : (char)c;
		}
		size_t n = i - start;
		if (n == 0)
			return REJECT(WARD_REJECT_INVALID_NAME);
		label_numeric = seen == 1u << C_DIGIT;
		all_numeric &= label_numeric;
		if (n > LABEL_MAX)
			return REJECT(WARD_REJECT_INVALID_NAME);
		if (i == len)
			break;
		put(out, cap, &o, ".", 1);
		i++;
	}
	if (o > WARD_NAME_MAX || o >= cap)
		return REJECT(WARD_REJECT_INVALID_NAME);
	if (label_numeric)
		return all_numeric ? REJECT(WARD_REJECT_IP) : REJECT(WARD_REJECT_INVALID_NAME);
	out[o] = '\0';
	return (int)o;
}

bool ward_feed__is_ipv4(const char *s, size_t n)
{
	size_t i = 0;
	for (int part = 0; part < 4; part++) {
		if (part > 0) {
			if (i == n || s[i] != '.')
				return false;
			i++;
		}
		unsigned v = 0, digits = 0;
		while (i < n && s[i] >= '0' && s[i] <= '9' && digits < 3) {
			v = v * 10 + (unsigned)(s[i++] - '0');
			digits++;
		}
		if (digits == 0 || v > 255)
			return false;
	}
	return i == n;
}

bool ward_feed__is_ipv6(const char *s, size_t n)
{
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	const char *zone = memchr(s, '%', n);
	if (zone)
		n = (size_t)(zone - s);
	char buf[INET6_ADDRSTRLEN + 1];
	unsigned char addr[16];
	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(AF_INET6, buf, addr) == 1;
}

bool ward_feed__is_system(const char *name, size_t len)
{
#define SYS(s) {s, sizeof(s) - 1}
	static const struct {
		const char *name;
		size_t len;
	} names[] = {
		SYS("localhost"), SYS("localhost.localdomain"), SYS("local"), SYS("broadcasthost"),
		SYS("ip6-localhost"), SYS("ip6-loopback"), SYS("ip6-localnet"),
		SYS("ip6-mcastprefix"), SYS("ip6-allnodes"), SYS("ip6-allrouters"),
		SYS("ip6-allhosts"),
	};
#undef SYS
	/* Cheap exit for the common case: every system name starts with 'l', 'b' or 'i'. */
	if (len == 0 || (name[0] != 'l' && name[0] != 'b' && name[0] != 'i'))
		return false;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].len == len && memcmp(names[i].name, name, len) == 0)
			return true;
	return false;
}

/* Bytes that decide a candidate's class before it is read as a name. */
enum { S_COLON = 1, S_SLASH = 2, S_STAR = 4 };
static const uint8_t special[256] = {[':'] = S_COLON, ['/'] = S_SLASH, ['*'] = S_STAR};

int ward_feed__classify(struct ward_feed_parser *p, const char *s, size_t n, bool *forced_sub)
{
	*forced_sub = false;
	unsigned seen = 0;
	for (size_t i = 0; i < n; i++)
		seen |= special[(unsigned char)s[i]];
	if (seen & S_COLON)
		return ward_feed__is_ipv6(s, n) ? REJECT(WARD_REJECT_IP) : REJECT(WARD_REJECT_URL);
	if (seen & S_SLASH)
		return REJECT(WARD_REJECT_URL);
	if (WARD_FEED__STARTS(s, n, "*.")) {
		s += 2, n -= 2;
		*forced_sub = true;
	} else if (n > 0 && s[0] == '.') {
		s++, n--;
		*forced_sub = true;
	}
	if ((seen & S_STAR) && memchr(s, '*', n))
		return REJECT(WARD_REJECT_WILDCARD);
	int len = ward_feed_normalize_name(s, n, p->name, sizeof(p->name));
	if (len < 0)
		return len;
	if (ward_feed__is_system(p->name, (size_t)len))
		return REJECT(WARD_REJECT_SYSTEM);
	return len;
}

int ward_feed__candidate(struct ward_feed_parser *p, const char *s, size_t n, unsigned flags)
{
	bool sub;
	int len = ward_feed__classify(p, s, n, &sub);
	if (len < 0) {
		ward_feed__reject(p, (enum ward_feed_reject)(-len - 1));
		return 0;
	}
	return ward_feed__emit(p, p->name, (size_t)len, flags | (sub ? WARD_ENTRY_SUBDOMAINS : 0));
}

/*
 * The built-in list rather than psl_latest(): it needs no file (wardd's sandbox, a
 * chroot), and every run of `ward update` on a machine refuses the same entries, which
 * the feed tests rely on. A TLD newer than the built-in copy is still caught by the
 * single-label rule; only a newer multi-label ICANN suffix could slip through.
 */
bool ward_feed_is_public_suffix(const char *name, size_t len)
{
	if (!memchr(name, '.', len))
		return true;
	const psl_ctx_t *psl = psl_builtin();
	/* No star rule: an unlisted TLD is single-label and refused above already. */
	return psl && psl_is_public_suffix2(psl, name, PSL_TYPE_ICANN | PSL_TYPE_NO_STAR_RULE);
}

/* The last step of every entry, whatever its format: public suffixes are refused, the
 * rest counted and handed to the callback. */
int ward_feed__emit(struct ward_feed_parser *p, const char *name, size_t len, unsigned flags)
{
	if (ward_feed_is_public_suffix(name, len)) {
		ward_feed__reject(p, WARD_REJECT_PUBLIC_SUFFIX);
		return 0;
	}
	if (flags & WARD_ENTRY_ALLOW)
		p->stats.allows++;
	else
		p->stats.blocks++;
	int rc = p->fn(p->ctx, name, len, flags);
	if (rc != 0)
		p->error = rc;
	return rc;
}
