/*
 * Feed parsers: published blocklist files in, normalized domain entries out.
 *
 * Parsers are streaming (a download arrives in chunks) and bounded: a line longer than
 * WARD_FEED_MAX_LINE is skipped and counted, never copied past a buffer. Every skipped
 * line that looked like data is counted under a reason, so `ward update` can say why.
 *
 * Names handed to the callback are normalized: BOM/CR stripped, lower-case, no trailing
 * dot, U-labels converted to A-labels (punycode), underscores allowed, 1..253 chars,
 * labels 1..63. No entry is a public suffix (see WARD_REJECT_PUBLIC_SUFFIX).
 *
 * The rules, per format (tests/feeds/reference_count.py implements the same rules
 * independently; tests/unit/test_feed*.c quote a real line for each hazard):
 *
 * Every format: a UTF-8 BOM is dropped at the very start of the stream only; lines end at
 * LF and lose one trailing CR; a line of more than WARD_FEED_MAX_LINE bytes is TOO_LONG.
 * A name candidate ("token") is classified in this order: contains ':' -> IP if it is an
 * IPv6 literal ([v6], v6%zone), else URL; contains '/' -> URL; a leading "*." or "." is
 * dropped and forces WARD_ENTRY_SUBDOMAINS (approximation: "*.x" does not match x itself,
 * but the database cannot say "subdomains only"); any other '*' -> WILDCARD; then
 * ward_feed_normalize_name; then the system names (localhost, localhost.localdomain,
 * local, broadcasthost, ip6-localhost, ip6-loopback, ip6-localnet, ip6-mcastprefix,
 * ip6-allnodes, ip6-allrouters, ip6-allhosts) -> SYSTEM.
 *
 * hosts, domains (one parser; a plain domain list is a hosts file without IPs): a '#' at
 * the line start or after whitespace starts a comment ("example.com##.ad" is no name
 * plus a comment); a line starting with '!' is a comment (adblock preprocessor "!#if"
 * lines leak into hosts files). Tokens are split on whitespace. If the first token
 * is an IPv4 dotted quad or an IPv6 literal, every further token is a candidate (any IP
 * is accepted: it is a sinkhole or a rewrite), and an IP alone is one IP rejection. A
 * single token without an IP is a candidate (hazard 15). Several tokens without an IP are
 * one SYNTAX rejection: never read "tiktok.com##[aria-label=... to the top]" as names.
 * Entries cover subdomains when the feed says so (the `subdomains` argument).
 *
 * adblock (AdGuard Home's DNS semantics, https://adguard-dns.io/kb/general/dns-filtering-syntax/):
 * blank and '!' lines are comments; "[...]" is a header ("[Adblock Plus 2.0]") unless it
 * is a bracketed IPv6 (IP); a cosmetic separator anywhere (##, #@#, #?#, #@?#, #$#,
 * #@$#, #$?#, #@$?#, #%#, #@%#, $$, $@$) -> COSMETIC; other '#' lines are comments.
 * "@@" makes an allow entry. "/.../" (also "/...$options") -> REGEX, another rule
 * starting with '/' -> URL. Options follow the first '$': "badfilter" -> BADFILTER; any
 * option other than important, all, document, doc, match-case -> MODIFIER (page-context
 * modifiers, and the DNS ones ward cannot apply per entry: denyallow, dnstype,
 * dnsrewrite, client, ctag). Then "||" (covers subdomains), "|" (exact) or nothing
 * (bare: exact, or subdomains with the `subdomains` argument, as AdGuard reads
 * "example.org"); a scheme (https://, http://, wss://, ws://, ://, //) is dropped and
 * anchors the start. A bare IPv6 -> IP. The host ends at ^ / | : ? (or after "]"); what
 * follows must be "", "^", "|", "^|", "/" or "/|", else URL (paths, ports). An empty host
 * -> SYNTAX; a host ending in '.' ("||cacheserve.", any-TLD) -> WILDCARD; then the token
 * rules, so "||*.tld^" is tld with subdomains and "||masto*.top^" is WILDCARD. A single
 * label with nothing after it ("||postnord-order-", bare "ads") is a prefix or substring
 * pattern -> WILDCARD; with a terminator ("||actor^") it is a whole TLD.
 *
 * dnsmasq: '#' at the line start or after whitespace starts a comment. server=, local=
 * and address= with "/d1/d2/.../target". local: target must be empty. server: empty ->
 * block, "#" -> allow (use the normal servers), an upstream -> UNSUPPORTED. address:
 * empty, "#" or an IP -> block. Each domain is a candidate and always covers subdomains;
 * "" (unqualified names) and "#" (all domains) -> WILDCARD. Other keys -> SYNTAX.
 *
 * Every format, last: an entry that is a public suffix -> PUBLIC_SUFFIX, whether it blocks
 * or allows. That is any single-label name (a TLD, listed or not), and any name that
 * libpsl's built-in copy of the Public Suffix List, ICANN section, calls a public suffix:
 * a rule ("co.uk", "bet.br"), a name a wildcard rule covers and no exception lifts
 * ("x.kawasaki.jp"), or the base of a wildcard rule ("kawasaki.jp", as libpsl counts it).
 * Such an entry would block (or lift) every registrant below it: "com", "*.org" and
 * "||co.uk^" are never what a family list means. The PRIVATE section (blogspot.com,
 * duckdns.org, github.io) is accepted: those are single operators whose whole service a
 * dyndns or hoster category deliberately blocks.
 *
 * rpz: a master file read with ldns. ';' comments, multi-line "( )" records, $TTL and
 * $ORIGIN; $INCLUDE and $GENERATE -> UNSUPPORTED (a feed never opens files). The apex is
 * the first SOA owner (else $ORIGIN, else the root); owners are taken relative to it
 * (outside or equal to it -> SYNTAX). SOA and NS are skipped. Triggers under rpz-ip,
 * rpz-client-ip, rpz-nsip -> IP, rpz-nsdname -> UNSUPPORTED. "*.x" -> x with subdomains,
 * "x" -> x exact (an RPZ pair yields both). CNAME rpz-passthru. (or to the owner itself)
 * -> allow; CNAME rpz-tcp-only. -> UNSUPPORTED; every other record (CNAME ., CNAME *.,
 * rpz-drop., a local-data CNAME, A, AAAA, TXT ...) -> block.
 */
#ifndef WARD_FEED_H
#define WARD_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blocklists/conf.h"

#define WARD_FEED_MAX_LINE (64 * 1024)

/* Flags passed with each entry. */
enum ward_feed_entry_flag {
	WARD_ENTRY_SUBDOMAINS = 1 << 0, /* also covers every name below it */
	WARD_ENTRY_ALLOW = 1 << 1,      /* an exception (@@||x^, rpz-passthru.), not a block */
};

/* Why a data-looking line did not become an entry. */
enum ward_feed_reject {
	WARD_REJECT_IP,            /* an IP address where a name belongs */
	WARD_REJECT_INVALID_NAME,  /* bad characters, empty label, label > 63, name > 253 */
	WARD_REJECT_IDN,           /* U-label that cannot be converted to punycode */
	WARD_REJECT_SYSTEM,        /* localhost, broadcasthost, ip6-* ... */
	WARD_REJECT_MODIFIER,      /* adblock page-context modifiers ($domain=, $image ...) */
	WARD_REJECT_BADFILTER,     /* $badfilter rules */
	WARD_REJECT_URL,           /* URL or path rule: blocks a page, not a host */
	WARD_REJECT_COSMETIC,      /* ##, #@#, #?# element-hiding rules */
	WARD_REJECT_REGEX,         /* /regex/ rules */
	WARD_REJECT_WILDCARD,      /* infix wildcards we cannot express (masto*.top) */
	WARD_REJECT_TOO_LONG,      /* line longer than WARD_FEED_MAX_LINE */
	WARD_REJECT_SYNTAX,        /* a line the format cannot read at all */
	WARD_REJECT_UNSUPPORTED,   /* valid, but not a block ward can store: dnsmasq upstream
				    * servers, RPZ rpz-nsdname/rpz-tcp-only, $INCLUDE */
	WARD_REJECT_PUBLIC_SUFFIX, /* a TLD or public suffix ("com", "*.org", "co.uk") */
	WARD_REJECT_COUNT,
};

/*
 * Counts of one parse. Entries are callbacks: duplicates are passed on (the database
 * merges them) and an RPZ "x" + "*.x" pair is two entries. A rejection counts one
 * candidate: a hosts line with three bad names counts three, a bad adblock rule one.
 * Comments, blank lines, headers and RPZ SOA/NS records count nowhere but in lines.
 */
struct ward_feed_stats {
	uint64_t lines;   /* LF-terminated lines, plus a final line without LF */
	uint64_t bytes;   /* every byte written, BOM included */
	uint64_t blocks;  /* entries passed to the callback without WARD_ENTRY_ALLOW */
	uint64_t allows;  /* entries passed with WARD_ENTRY_ALLOW */
	uint64_t rejected[WARD_REJECT_COUNT];
};

/*
 * Called once per entry. `name` is NUL-terminated and valid only during the call.
 * Return 0 to go on, a negative WARD_E* code to stop parsing with that error.
 */
typedef int (*ward_feed_entry_fn)(void *ctx, const char *name, size_t len, unsigned flags);

struct ward_feed_parser;

/*
 * @param subdomains  whether plain entries cover subdomains (the feed's "subdomains").
 *                    Formats that say it themselves (adblock ||x^, RPZ *.x) override it.
 * The parser allocates its fixed buffers here (about 64 KiB, 128 KiB for RPZ) and
 * nothing per line afterwards, except inside ldns for each RPZ record.
 * @return a parser, or NULL on allocation failure, an unknown format or a NULL fn.
 */
struct ward_feed_parser *ward_feed_parser_new(enum ward_feed_format format, bool subdomains,
					      ward_feed_entry_fn fn, void *ctx);

/*
 * Feed the next chunk (any size, any split point, len 0 allowed).
 * @return 0, the callback's error, or WARD_ENOMEM (ldns, RPZ only). An error is sticky:
 *         every later write and finish returns it without parsing.
 */
int ward_feed_parser_write(struct ward_feed_parser *p, const char *data, size_t len);

/* Flush the last line (a file without a final newline) and copy out the statistics
 * (stats may be NULL). Call it once, then only free.
 * @return 0 or the error, as for write. */
int ward_feed_parser_finish(struct ward_feed_parser *p, struct ward_feed_stats *stats);

void ward_feed_parser_free(struct ward_feed_parser *p);

/* One-shot convenience over the three calls above. */
int ward_feed_parse(enum ward_feed_format format, bool subdomains, const char *data,
		    size_t len, ward_feed_entry_fn fn, void *ctx, struct ward_feed_stats *stats);

/*
 * Normalize one candidate name (presentation form, may have trailing dot, upper case,
 * UTF-8 labels). Writes the normalized name to out (cap >= WARD_NAME_MAX + 1).
 * Rules: one trailing dot is dropped; labels are [A-Za-z0-9_-] (leading/trailing hyphens
 * and underscores are real) and lower-cased; a label with bytes >= 0x80 must be strict
 * UTF-8, is lower-cased for Latin-1, Latin Extended-A, Greek and Cyrillic capitals (no
 * full UTS #46 mapping: that would need libidn2), must not hold controls, spaces,
 * zero-width or private-use code points, and is encoded with RFC 3492 punycode; else IDN.
 * Empty labels, labels > 63, names > 253 -> INVALID_NAME. An all-digit last label: IP
 * when every label is digits ("1.2.3.4", "300.1.1.1"), else INVALID_NAME.
 * @return its length, or -(1 + enum ward_feed_reject) when it cannot be a name.
 */
int ward_feed_normalize_name(const char *in, size_t len, char *out, size_t cap);

/*
 * Is a normalized name (lower case, A-labels, no trailing dot, NUL-terminated) a public
 * suffix in the sense above? Thread-safe, allocation-free (libpsl's built-in list).
 */
bool ward_feed_is_public_suffix(const char *name, size_t len);

/* Short stable names: "ip", "invalid-name", "idn", ..., "public-suffix". */
const char *ward_feed_reject_name(enum ward_feed_reject reason);
const char *ward_feed_format_name(enum ward_feed_format format);
/* @return 0 and the format for "hosts", "domains", "adblock", "dnsmasq", "rpz". */
int ward_feed_format_parse(const char *name, enum ward_feed_format *out);

#endif
