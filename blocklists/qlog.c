/*
 * The query log's records (qlog.h): their layout and frames, addresses, JSON. The
 * segment files are qlog_store.c's.
 */
#include "blocklists/qlog.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blocklists/catdb.h"
#include "blocklists/error.h"
#include "blocklists/policy.h"

#define VERSION WARD_QLOG__VERSION
#define FIXED_LEN WARD_QLOG__FIXED

static const char *const verdict_names[WARD_VERDICT_COUNT] = {
	[WARD_VERDICT_FORWARDED] = "forwarded", [WARD_VERDICT_CACHED] = "cached",
	[WARD_VERDICT_BLOCKED] = "blocked",     [WARD_VERDICT_REWRITTEN] = "rewritten",
	[WARD_VERDICT_REFUSED] = "refused",     [WARD_VERDICT_SERVFAIL] = "servfail",
	[WARD_VERDICT_INVALID] = "invalid",     [WARD_VERDICT_LOCAL] = "local",
	[WARD_VERDICT_DROPPED] = "dropped",
};

const char *ward_verdict_name(unsigned verdict)
{
	return verdict < WARD_VERDICT_COUNT ? verdict_names[verdict] : NULL;
}

int ward_verdict_parse(const char *name)
{
	for (unsigned i = 0; name && i < WARD_VERDICT_COUNT; i++)
		if (strcmp(name, verdict_names[i]) == 0)
			return (int)i;
	return -1;
}

void ward_qlog_anonymize(uint8_t client[16])
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
	if (memcmp(client, mapped, 12) == 0)
		client[15] = 0;
	else
		memset(client + 6, 0, 10); /* keep the first 48 bits */
}

/* ---- layout ------------------------------------------------------------------------------- */

#define encode_raw ward_qlog__encode

static void raw_of(const struct ward_qlog_entry *e, struct ward_qlog_raw *r)
{
	*r = (struct ward_qlog_raw){
		.time = e->time, .verdict = e->verdict, .rcode = e->rcode, .reason = e->reason,
		.flags = e->flags, .qtype = e->qtype, .latency_ms = e->latency_ms,
		.categories = e->categories, .client = e->client, .mac = e->mac,
		.profile = e->profile, .profile_len = (uint8_t)strnlen(e->profile,
								       WARD_QLOG_TEXT_MAX - 1),
		.feed_id = e->feed_id,
		.name = e->name, .name_len = (uint8_t)ward_name_wire_len(e->name),
	};
}

size_t ward_qlog_encode(const struct ward_qlog_entry *e, uint8_t *buf, size_t cap)
{
	struct ward_qlog_raw r;
	raw_of(e, &r);
	return encode_raw(&r, buf, cap);
}

/* A length-prefixed text: printable ASCII or UTF-8 bytes, no control characters. */
static bool get_text(const uint8_t *val, size_t len, size_t *o, char *out)
{
	if (*o >= len)
		return false;
	size_t n = val[(*o)++];
	if (n >= WARD_QLOG_TEXT_MAX || n > len - *o)
		return false;
	for (size_t i = 0; i < n; i++)
		if (val[*o + i] < 0x20 || val[*o + i] == 0x7F)
			return false;
	memcpy(out, val + *o, n);
	out[n] = '\0';
	*o += n;
	return true;
}

int ward_qlog_decode(const uint8_t *val, size_t len, struct ward_qlog_entry *e)
{
	if (len < FIXED_LEN || val[0] != VERSION || val[1] >= WARD_VERDICT_COUNT ||
	    (val[4] & ~(WARD_QLOG_HAS_MAC | WARD_QLOG_ANONYMIZED)))
		return WARD_EFORMAT;
	e->verdict = val[1];
	e->rcode = val[2];
	e->reason = val[3];
	e->flags = val[4];
	e->qtype = (uint16_t)ward_bytes_get_be(val + 5, 2);
	e->latency_ms = (uint32_t)ward_bytes_get_be(val + 7, 4);
	e->categories = ward_bytes_get_be(val + 11, 8);
	memcpy(e->client, val + 19, 16);
	size_t o = FIXED_LEN;
	memset(e->mac, 0, 6);
	if (e->flags & WARD_QLOG_HAS_MAC) {
		if (len - o < 6)
			return WARD_EFORMAT;
		memcpy(e->mac, val + o, 6);
		o += 6;
	}
	if (!get_text(val, len, &o, e->profile) || len - o < 3)
		return WARD_EFORMAT;
	e->feed_id = (uint16_t)ward_bytes_get_be(val + o, 2);
	e->feed[0] = '\0';
	o += 2;
	size_t n = val[o++];
	if (n == 0 || n != len - o)
		return WARD_EFORMAT;
	memset(e->name, 0, sizeof(e->name));
	memcpy(e->name, val + o, n);
	return ward_name_wire_len(e->name) == n ? 0 : WARD_EFORMAT;
}

/* ---- frames ---------------------------------------------------------------------------------- */

size_t ward_qlog_frame(const struct ward_qlog_entry *e, uint8_t *buf, size_t cap)
{
	struct ward_qlog_raw r;
	raw_of(e, &r);
	return ward_qlog_frame_raw(&r, buf, cap);
}

size_t ward_qlog_parse_count(const uint8_t *buf, size_t len)
{
	size_t n = 0;
	for (size_t o = 0; len - o >= 2;) {
		size_t f = (size_t)ward_bytes_get_be(buf + o, 2) + 2;
		if (f > len - o)
			break;
		o += f;
		n++;
	}
	return n;
}

size_t ward_qlog_parse(const uint8_t *buf, size_t len,
		       void (*fn)(void *ctx, const struct ward_qlog_entry *e), void *ctx)
{
	struct ward_qlog_entry e;
	size_t o = 0;
	while (len - o >= 2) {
		size_t n = (size_t)ward_bytes_get_be(buf + o, 2);
		if (n < 8 + FIXED_LEN || n > 8 + WARD_QLOG_VALUE_MAX || n > len - o - 2)
			break; /* torn, or not a frame: nothing after it can be trusted */
		if (ward_qlog_decode(buf + o + 10, n - 8, &e) == 0) {
			e.time = (int64_t)ward_bytes_get_be(buf + o + 2, 8);
			e.id = o;
			if (fn)
				fn(ctx, &e);
		}
		o += n + 2;
	}
	return o;
}

/* ---- text and JSON ---------------------------------------------------------------------------- */

const char *ward_qlog_client_text(const uint8_t client[16], char *buf, size_t cap)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
	bool v4 = memcmp(client, mapped, 12) == 0;
	if (!inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? client + 12 : client, buf, (socklen_t)cap))
		snprintf(buf, cap, "?");
	return buf;
}

int ward_qlog_client_parse(const char *text, uint8_t client[16])
{
	uint8_t v4[4];
	if (text && inet_pton(AF_INET, text, v4) == 1) {
		memset(client, 0, 10);
		client[10] = client[11] = 0xFF;
		memcpy(client + 12, v4, 4);
		return 0;
	}
	return text && inet_pton(AF_INET6, text, client) == 1 ? 0 : WARD_EINVAL;
}

const char *ward_qlog_type_text(uint16_t qtype, char *buf, size_t cap)
{
	static const struct { uint16_t type; const char *name; } types[] = {
		{1, "A"}, {2, "NS"}, {5, "CNAME"}, {6, "SOA"}, {12, "PTR"}, {15, "MX"},
		{16, "TXT"}, {28, "AAAA"}, {33, "SRV"}, {35, "NAPTR"}, {43, "DS"}, {48, "DNSKEY"},
		{64, "SVCB"}, {65, "HTTPS"}, {255, "ANY"},
	};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == qtype) {
			snprintf(buf, cap, "%s", types[i].name);
			return buf;
		}
	snprintf(buf, cap, "TYPE%u", qtype);
	return buf;
}

void *ward_qlog_entry_json(const struct ward_qlog_entry *e, const struct ward_cat_registry *reg)
{
	char text[WARD_NAME_TEXT_MAX], mac[18];
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "time", (double)e->time);
	cJSON_AddStringToObject(o, "client", ward_qlog_client_text(e->client, text, sizeof(text)));
	if (e->flags & WARD_QLOG_HAS_MAC) {
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", e->mac[0], e->mac[1],
			 e->mac[2], e->mac[3], e->mac[4], e->mac[5]);
		cJSON_AddStringToObject(o, "mac", mac);
	}
	cJSON_AddBoolToObject(o, "anonymized", (e->flags & WARD_QLOG_ANONYMIZED) != 0);
	cJSON_AddStringToObject(o, "profile", e->profile);
	ward_name_to_text(e->name, text, sizeof(text));
	cJSON_AddStringToObject(o, "name", text);
	cJSON_AddStringToObject(o, "type", ward_qlog_type_text(e->qtype, text, sizeof(text)));
	cJSON_AddStringToObject(o, "verdict", ward_verdict_name(e->verdict));
	if (e->reason != WARD_REASON_NONE)
		cJSON_AddStringToObject(o, "reason", ward_policy_reason_name(e->reason));
	cJSON *cats = cJSON_AddArrayToObject(o, "categories");
	for (ward_catset c = e->categories; c; c &= c - 1) {
		const char *name = reg ? ward_cat_name(reg, (unsigned)__builtin_ctzll(c)) : NULL;
		cJSON_AddItemToArray(cats, cJSON_CreateString(name ? name : "?"));
	}
	if (e->feed[0])
		cJSON_AddStringToObject(o, "feed", e->feed);
	else if (e->feed_id)
		cJSON_AddNumberToObject(o, "feed_id", e->feed_id);
	else
		cJSON_AddStringToObject(o, "feed", "");
	cJSON_AddNumberToObject(o, "rcode", e->rcode);
	cJSON_AddNumberToObject(o, "latency_ms", e->latency_ms);
	return o;
}

void ward_qlog_name_feeds(struct ward_qlog_result *r, struct ward_catdb *db)
{
	static _Thread_local struct { uint16_t id; char name[WARD_QLOG_TEXT_MAX]; } seen[64];
	struct ward_catdb_reader *reader = NULL;
	memset(seen, 0, sizeof(seen));
	if (!db || ward_catdb_reader_new(db, &reader) != 0)
		return;
	for (size_t i = 0; i < r->n; i++) {
		struct ward_qlog_entry *e = &r->entries[i];
		unsigned k = e->feed_id % 64;
		if (!e->feed_id)
			continue;
		if (seen[k].id != e->feed_id) { /* names repeat: each id is asked once or so */
			if (ward_catdb_feed_name(reader, e->feed_id, seen[k].name,
						 sizeof(seen[k].name)) < 0)
				seen[k].name[0] = '\0';
			seen[k].id = e->feed_id;
		}
		memcpy(e->feed, seen[k].name, sizeof(e->feed));
	}
	ward_catdb_reader_free(reader);
}
