/*
 * RPZ (response policy zone) master files, parsed record by record with ldns.
 *
 * The stream is cut into logical records here (';' comments, "( ... )" spanning lines),
 * because ldns_zone_new_frm_fp wants the whole zone and a FILE; each record then goes
 * to ldns_rr_new_frm_str with the current $TTL, $ORIGIN and previous owner. ldns
 * allocates per record: that is the price of reading master files with the library that
 * knows them, and RPZ feeds are the smallest of the formats.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ldns/ldns.h>

#include "blocklists/error.h"
#include "blocklists/feed.h"
#include "blocklists/feed_internal.h"

#define MAX_LABELS 128

struct ward_feed_rpz {
	ldns_rdf *origin; /* $ORIGIN, absolute; the root until one is given */
	ldns_rdf *apex;   /* owner of the first SOA, NULL before it */
	ldns_rdf *prev;   /* last owner, for records that start with whitespace */
	uint32_t ttl;     /* $TTL */
	int depth;        /* open parentheses of the record being collected */
	size_t len;       /* its length so far (also past the cap) */
	char rec[WARD_FEED_MAX_LINE + 1];
};

/* The one place where ldns_status becomes a ward error. */
static int ldns_error(ldns_status s)
{
	switch (s) {
	case LDNS_STATUS_OK: return 0;
	case LDNS_STATUS_MEM_ERR: return WARD_ENOMEM;
	default: return WARD_EFORMAT;
	}
}

int ward_feed__rpz_new(struct ward_feed_parser *p)
{
	p->rpz = calloc(1, sizeof(*p->rpz));
	if (!p->rpz)
		return WARD_ENOMEM;
	p->rpz->origin = ldns_dname_new_frm_str(".");
	p->rpz->ttl = 3600;
	if (!p->rpz->origin) {
		free(p->rpz);
		p->rpz = NULL;
		return WARD_ENOMEM;
	}
	return 0;
}

void ward_feed__rpz_free(struct ward_feed_parser *p)
{
	if (!p->rpz)
		return;
	ldns_rdf_deep_free(p->rpz->origin);
	ldns_rdf_deep_free(p->rpz->apex);
	ldns_rdf_deep_free(p->rpz->prev);
	free(p->rpz);
	p->rpz = NULL;
}

/* Label offsets of a wire-format name, root label excluded. @return count or -1. */
static int labels(const ldns_rdf *dname, const uint8_t *off[MAX_LABELS])
{
	const uint8_t *d = ldns_rdf_data(dname);
	size_t size = ldns_rdf_size(dname), i = 0;
	int n = 0;
	while (i < size && d[i] != 0) {
		if (n == MAX_LABELS || i + 1 + d[i] > size)
			return -1;
		off[n++] = d + i;
		i += 1 + (size_t)d[i];
	}
	return n;
}

static bool label_eq(const uint8_t *a, const uint8_t *b)
{
	return a[0] == b[0] && strncasecmp((const char *)a + 1, (const char *)b + 1, a[0]) == 0;
}

static bool label_is(const uint8_t *l, const char *text)
{
	size_t n = strlen(text);
	return l[0] == n && strncasecmp((const char *)l + 1, text, n) == 0;
}

/* A record's owner, split into the labels below the apex. */
struct rel {
	const uint8_t *off[MAX_LABELS];
	int n;
};

/* @return 0, or a reject reason + 1 when the owner is not strictly below the apex. */
static int relative_owner(const ldns_rdf *owner, const ldns_rdf *apex, struct rel *r)
{
	const uint8_t *aoff[MAX_LABELS];
	int on = labels(owner, r->off), an = labels(apex, aoff);
	if (on < 0 || an < 0 || on <= an)
		return WARD_REJECT_SYNTAX + 1;
	for (int i = 0; i < an; i++)
		if (!label_eq(r->off[on - an + i], aoff[i]))
			return WARD_REJECT_SYNTAX + 1;
	r->n = on - an;
	return 0;
}

/* CNAME target == the owner below the apex: the old way of writing PASSTHRU. */
static bool targets_itself(const ldns_rdf *target, const struct rel *r)
{
	const uint8_t *toff[MAX_LABELS];
	int tn = labels(target, toff);
	if (tn != r->n)
		return false;
	for (int i = 0; i < tn; i++)
		if (!label_eq(toff[i], r->off[i]))
			return false;
	return true;
}

/* The policy a record sets. @return WARD_ENTRY_ALLOW, 0 (block) or reason + 1 < 0. */
static int policy(const ldns_rr *rr, const struct rel *r)
{
	if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_CNAME || ldns_rr_rd_count(rr) < 1)
		return 0;
	const ldns_rdf *target = ldns_rr_rdf(rr, 0);
	const uint8_t *toff[MAX_LABELS];
	int tn = labels(target, toff);
	if ((tn == 1 && label_is(toff[0], "rpz-passthru")) || targets_itself(target, r))
		return WARD_ENTRY_ALLOW;
	if (tn == 1 && label_is(toff[0], "rpz-tcp-only"))
		return -(WARD_REJECT_UNSUPPORTED + 1);
	return 0;
}

/* The trigger: which name a record is about. @return 0 or reason + 1. */
static int trigger(struct rel *r, unsigned *flags)
{
	const uint8_t *last = r->off[r->n - 1];
	if (label_is(last, "rpz-ip") || label_is(last, "rpz-client-ip") || label_is(last, "rpz-nsip"))
		return WARD_REJECT_IP + 1;
	if (label_is(last, "rpz-nsdname"))
		return WARD_REJECT_UNSUPPORTED + 1;
	if (label_is(r->off[0], "*")) {
		*flags |= WARD_ENTRY_SUBDOMAINS;
		memmove(r->off, r->off + 1, sizeof(r->off[0]) * (size_t)--r->n);
		if (r->n == 0)
			return WARD_REJECT_WILDCARD + 1;
	}
	for (int i = 0; i < r->n; i++)
		if (memchr(r->off[i] + 1, '*', r->off[i][0]))
			return WARD_REJECT_WILDCARD + 1;
	return 0;
}

/* Joins the labels with dots for ward_feed_normalize_name; a dot inside one is invalid. */
static int rel_text(const struct rel *r, char *out, size_t cap)
{
	size_t o = 0;
	for (int i = 0; i < r->n; i++) {
		size_t n = r->off[i][0];
		if (memchr(r->off[i] + 1, '.', n) || o + n + 1 > cap)
			return -1;
		memcpy(out + o, r->off[i] + 1, n);
		o += n;
		out[o++] = '.';
	}
	return (int)o;
}

/* One parsed record. @return 0, a reason + 1, or a negative callback error. */
static int record(struct ward_feed_parser *p, const ldns_rr *rr)
{
	struct ward_feed_rpz *z = p->rpz;
	ldns_rr_type type = ldns_rr_get_type(rr);
	if (type == LDNS_RR_TYPE_SOA) {
		if (!z->apex && !(z->apex = ldns_rdf_clone(ldns_rr_owner(rr))))
			return WARD_ENOMEM;
		return 0;
	}
	if (type == LDNS_RR_TYPE_NS)
		return 0;
	struct rel r;
	unsigned flags = 0;
	int rc = relative_owner(ldns_rr_owner(rr), z->apex ? z->apex : z->origin, &r);
	if (rc == 0)
		rc = trigger(&r, &flags);
	if (rc != 0)
		return rc;
	int pol = policy(rr, &r);
	if (pol < 0)
		return -pol;
	char text[LDNS_MAX_DOMAINLEN + 2];
	int tlen = rel_text(&r, text, sizeof(text));
	if (tlen < 0)
		return WARD_REJECT_INVALID_NAME + 1;
	int len = ward_feed_normalize_name(text, (size_t)tlen, p->name, sizeof(p->name));
	if (len < 0)
		return -len;
	if (ward_feed__is_system(p->name, (size_t)len))
		return WARD_REJECT_SYSTEM + 1;
	return ward_feed__emit(p, p->name, (size_t)len, flags | (unsigned)pol);
}

/* $ORIGIN name: absolute, or relative to the current origin. */
static int set_origin(struct ward_feed_rpz *z, const char *arg)
{
	ldns_rdf *d = ldns_dname_new_frm_str(arg);
	if (!d)
		return WARD_REJECT_SYNTAX + 1;
	if (!ldns_dname_str_absolute(arg)) {
		ldns_status s = ldns_dname_cat(d, z->origin);
		if (s != LDNS_STATUS_OK) {
			ldns_rdf_deep_free(d);
			return ldns_error(s) == WARD_ENOMEM ? WARD_ENOMEM : WARD_REJECT_SYNTAX + 1;
		}
	}
	ldns_rdf_deep_free(z->origin);
	z->origin = d;
	return 0;
}

/* $TTL, $ORIGIN; $INCLUDE would open a file named by the feed: never. */
static int directive(struct ward_feed_parser *p, char *s)
{
	char *save = NULL;
	char *name = strtok_r(s, " \t\n\r\v\f", &save);
	char *arg = strtok_r(NULL, " \t\n\r\v\f", &save);
	bool one_arg = arg && !strtok_r(NULL, " \t\n\r\v\f", &save);
	if (strcmp(name, "$TTL") == 0 && one_arg) {
		p->rpz->ttl = ldns_str2period(arg, &(const char *){NULL});
		return 0;
	}
	if (strcmp(name, "$ORIGIN") == 0 && one_arg)
		return set_origin(p->rpz, arg);
	if (strcmp(name, "$INCLUDE") == 0 || strcmp(name, "$GENERATE") == 0)
		return WARD_REJECT_UNSUPPORTED + 1;
	return WARD_REJECT_SYNTAX + 1;
}

/* A complete logical record in z->rec. @return 0 or a callback/memory error. */
static int process(struct ward_feed_parser *p)
{
	struct ward_feed_rpz *z = p->rpz;
	size_t len = z->len;
	z->len = 0;
	if (len > WARD_FEED_MAX_LINE) {
		ward_feed__reject(p, WARD_REJECT_TOO_LONG);
		return 0;
	}
	z->rec[len] = '\0';
	const char *s = z->rec;
	size_t n = len;
	ward_feed__trim(&s, &n);
	if (n == 0)
		return 0;
	int rc;
	if (s[0] == '$') {
		rc = directive(p, z->rec + (s - z->rec));
	} else if (ward_feed__ws(z->rec[0]) && !z->prev) {
		rc = WARD_REJECT_SYNTAX + 1;
	} else {
		ldns_rr *rr = NULL;
		rc = ldns_error(ldns_rr_new_frm_str(&rr, z->rec, z->ttl, z->origin, &z->prev));
		if (rc == 0)
			rc = record(p, rr);
		else if (rc != WARD_ENOMEM)
			rc = WARD_REJECT_SYNTAX + 1;
		ldns_rr_free(rr);
	}
	if (rc > 0) {
		ward_feed__reject(p, (enum ward_feed_reject)(rc - 1));
		rc = 0;
	}
	if (rc < 0)
		p->error = rc;
	return rc;
}

/* Appends s to the record, up to the cap; the length keeps counting past it. */
static void append(struct ward_feed_rpz *z, const char *s, size_t n)
{
	if (z->len < WARD_FEED_MAX_LINE + 1)
		memcpy(z->rec + z->len, s, n < WARD_FEED_MAX_LINE + 1 - z->len ? n : WARD_FEED_MAX_LINE + 1 - z->len);
	z->len += n;
}

/*
 * Removes the comment, turns parentheses into spaces and tracks their depth; quotes
 * (TXT data) protect ';' and parentheses. Returns the kept length; s is rewritten into
 * out (at most n bytes).
 */
static size_t clean(struct ward_feed_rpz *z, const char *s, size_t n, char *out)
{
	bool quote = false;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (quote) {
			if (c == '\\' && i + 1 < n) {
				out[o++] = c;
				out[o++] = s[++i];
				continue;
			}
			quote = c != '"';
		} else if (c == '"') {
			quote = true;
		} else if (c == ';') {
			break;
		} else if (c == '(' || c == ')') {
			z->depth += c == '(' ? 1 : (z->depth > 0 ? -1 : 0);
			c = ' ';
		}
		out[o++] = c;
	}
	return o;
}

int ward_feed__rpz_line(struct ward_feed_parser *p, const char *s, size_t n)
{
	struct ward_feed_rpz *z = p->rpz;
	/* The cleaned line is never longer: clean it in place of a copy in p->line. */
	char *buf = p->line;
	if (s != p->line)
		memcpy(buf, s, n);
	size_t o = clean(z, buf, n, buf);
	if (z->len > 0)
		append(z, " ", 1);
	append(z, buf, o);
	if (z->depth > 0)
		return 0;
	return process(p);
}

int ward_feed__rpz_finish(struct ward_feed_parser *p)
{
	struct ward_feed_rpz *z = p->rpz;
	if (z->len == 0)
		return 0;
	z->depth = 0;
	return process(p);
}
