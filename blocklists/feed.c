/*
 * Feed parser driver: chunks in, complete lines out to the format's line parser.
 *
 * A download arrives in pieces cut anywhere: inside a UTF-8 sequence, between the CR and
 * LF of a CRLF, inside the BOM. A line that lies whole inside one chunk is parsed where
 * it is; only a line cut by a chunk boundary is copied into the parser's fixed line
 * buffer. Nothing here allocates after ward_feed_parser_new.
 *
 * The formats are rows of one table {name, line parser, start, finish, free}; the format
 * files call down into feed_name.c (classify, emit) and never back into this one.
 */
#include <stdlib.h>
#include <string.h>

#include "blocklists/error.h"
#include "blocklists/feed.h"
#include "blocklists/feed_internal.h"

static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};

/* Every format: a row here and a file with its line parser, nothing else to edit. */
static const struct ward_feed_format_ops formats[] = {
	[WARD_FEED_HOSTS] = {"hosts", ward_feed__hosts_line, NULL, NULL, NULL},
	[WARD_FEED_DOMAINS] = {"domains", ward_feed__hosts_line, NULL, NULL, NULL},
	[WARD_FEED_ADBLOCK] = {"adblock", ward_feed__adblock_line, NULL, NULL, NULL},
	[WARD_FEED_DNSMASQ] = {"dnsmasq", ward_feed__dnsmasq_line, NULL, NULL, NULL},
	[WARD_FEED_RPZ] = {"rpz", ward_feed__rpz_line, ward_feed__rpz_new, ward_feed__rpz_finish,
			   ward_feed__rpz_free},
};
#define N_FORMATS (sizeof(formats) / sizeof(formats[0]))

static const struct ward_feed_format_ops *format_ops(enum ward_feed_format format)
{
	return (unsigned)format < N_FORMATS && formats[format].line ? &formats[format] : NULL;
}

struct ward_feed_parser *ward_feed_parser_new(enum ward_feed_format format, bool subdomains,
					      ward_feed_entry_fn fn, void *ctx)
{
	const struct ward_feed_format_ops *ops = format_ops(format);
	if (!ops || !fn)
		return NULL;
	struct ward_feed_parser *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->format = format;
	p->ops = ops;
	p->subdomains = subdomains;
	p->fn = fn;
	p->ctx = ctx;
	if (ops->start && ops->start(p) != 0) {
		free(p);
		return NULL;
	}
	return p;
}

void ward_feed_parser_free(struct ward_feed_parser *p)
{
	if (!p)
		return;
	if (p->ops->free)
		p->ops->free(p);
	free(p);
}

/* A whole line has arrived: count it, enforce the cap, drop the CR of a CRLF. */
static int end_line(struct ward_feed_parser *p, const char *s, size_t n)
{
	p->stats.lines++;
	bool too_long = p->overflow;
	p->overflow = false;
	p->len = 0;
	if (n && s[n - 1] == '\r')
		n--;
	if (too_long || n > WARD_FEED_MAX_LINE) {
		ward_feed__reject(p, WARD_REJECT_TOO_LONG);
		return 0;
	}
	return p->ops->line(p, s, n);
}

/* Keeps the part of a line that a chunk boundary cut, up to the cap plus a CR. */
static void hold(struct ward_feed_parser *p, const char *s, size_t n)
{
	if (p->overflow)
		return;
	if (n > WARD_FEED_MAX_LINE + 1 - p->len) {
		p->overflow = true;
		p->len = 0;
		return;
	}
	memcpy(p->line + p->len, s, n);
	p->len += n;
}

static int feed_bytes(struct ward_feed_parser *p, const char *data, size_t len)
{
	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		if (!nl) {
			hold(p, data, len);
			return 0;
		}
		size_t n = (size_t)(nl - data);
		int rc;
		if (p->len == 0 && !p->overflow) {
			rc = end_line(p, data, n);
		} else {
			hold(p, data, n);
			rc = end_line(p, p->line, p->len);
		}
		if (rc != 0)
			return rc;
		data += n + 1;
		len -= n + 1;
	}
	return 0;
}

/*
 * The BOM is stripped only at the very start of the stream; its bytes may arrive one
 * per chunk. Bytes that began like a BOM but were not one are replayed as data.
 */
static int skip_bom(struct ward_feed_parser *p, const char **data, size_t *len)
{
	while (!p->bom_done && *len > 0) {
		if ((unsigned char)**data != bom[p->bom_matched]) {
			p->bom_done = true;
			return feed_bytes(p, (const char *)bom, p->bom_matched);
		}
		(*data)++;
		(*len)--;
		if (++p->bom_matched == sizeof(bom))
			p->bom_done = true;
	}
	return 0;
}

int ward_feed_parser_write(struct ward_feed_parser *p, const char *data, size_t len)
{
	if (p->error)
		return p->error;
	p->stats.bytes += len;
	int rc = skip_bom(p, &data, &len);
	if (rc == 0)
		rc = feed_bytes(p, data, len);
	return rc;
}

int ward_feed_parser_finish(struct ward_feed_parser *p, struct ward_feed_stats *stats)
{
	int rc = p->error;
	if (rc == 0 && !p->bom_done) {
		p->bom_done = true;
		rc = feed_bytes(p, (const char *)bom, p->bom_matched);
	}
	if (rc == 0 && (p->len > 0 || p->overflow))
		rc = end_line(p, p->line, p->len);
	if (rc == 0 && p->ops->finish)
		rc = p->ops->finish(p);
	if (stats)
		*stats = p->stats;
	return rc;
}

int ward_feed_parse(enum ward_feed_format format, bool subdomains, const char *data,
		    size_t len, ward_feed_entry_fn fn, void *ctx, struct ward_feed_stats *stats)
{
	struct ward_feed_parser *p = ward_feed_parser_new(format, subdomains, fn, ctx);
	if (!p)
		return WARD_ENOMEM;
	int rc = ward_feed_parser_write(p, data, len);
	int rc2 = ward_feed_parser_finish(p, stats);
	ward_feed_parser_free(p);
	return rc ? rc : rc2;
}

const char *ward_feed_reject_name(enum ward_feed_reject reason)
{
	switch (reason) {
	case WARD_REJECT_IP: return "ip";
	case WARD_REJECT_INVALID_NAME: return "invalid-name";
	case WARD_REJECT_IDN: return "idn";
	case WARD_REJECT_SYSTEM: return "system";
	case WARD_REJECT_MODIFIER: return "modifier";
	case WARD_REJECT_BADFILTER: return "badfilter";
	case WARD_REJECT_URL: return "url";
	case WARD_REJECT_COSMETIC: return "cosmetic";
	case WARD_REJECT_REGEX: return "regex";
	case WARD_REJECT_WILDCARD: return "wildcard";
	case WARD_REJECT_TOO_LONG: return "too-long";
	case WARD_REJECT_SYNTAX: return "syntax";
	case WARD_REJECT_UNSUPPORTED: return "unsupported";
	case WARD_REJECT_PUBLIC_SUFFIX: return "public-suffix";
	case WARD_REJECT_COUNT: break;
	}
	return "unknown";
}

const char *ward_feed_format_name(enum ward_feed_format format)
{
	const struct ward_feed_format_ops *ops = format_ops(format);
	return ops ? ops->name : "unknown";
}

int ward_feed_format_parse(const char *name, enum ward_feed_format *out)
{
	for (size_t i = 0; name && i < N_FORMATS; i++) {
		if (formats[i].name && strcmp(name, formats[i].name) == 0) {
			*out = (enum ward_feed_format)i;
			return 0;
		}
	}
	return WARD_EINVAL;
}
