/* Verdicts explained as JSON, for `ward lookup --json` and the web API (lookup.h). */
#include "blocklists/lookup.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ward_lookup_ede_name(int code)
{
	switch (code) {
	case 0: return "Other Error";
	case 15: return "Blocked";
	case 16: return "Censored";
	case 17: return "Filtered";
	case 18: return "Prohibited";
	default: return "Other";
	}
}

const char *ward_lookup_block_mode_name(enum ward_block_mode mode)
{
	static const char *const names[] = {
		[WARD_BLOCK_SINKHOLE] = "sinkhole", [WARD_BLOCK_NXDOMAIN] = "nxdomain",
		[WARD_BLOCK_NODATA] = "nodata",     [WARD_BLOCK_REFUSED] = "refused",
	};
	return mode <= WARD_BLOCK_REFUSED ? names[mode] : "unknown";
}

const char *ward_lookup_day_name(unsigned wday)
{
	static const char *const days[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
	return wday < 7 ? days[wday] : "?";
}

int ward_lookup_parse_client(const char *text, struct sockaddr_storage *out)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)out;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
	memset(out, 0, sizeof(*out));
	if (text && inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		return 0;
	}
	if (text && inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		return 0;
	}
	return -1;
}

int ward_lookup_parse_mac(const char *text, uint8_t mac[6])
{
	const char *p = text;
	for (int i = 0; i < 6; i++) {
		if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]))
			return -1;
		char hex[3] = {p[0], p[1], '\0'};
		mac[i] = (uint8_t)strtoul(hex, NULL, 16);
		p += 2;
		if (i < 5 && *p != ':' && *p != '-')
			return -1;
		if (i < 5)
			p++;
	}
	return *p ? -1 : 0;
}

void ward_lookup_prepare(struct ward_lookup *L)
{
	const struct sockaddr *addr = (const struct sockaddr *)&L->client;
	L->refused = !ward_policy_admit(L->policy, addr, &L->refusal);
	L->profile = ward_policy_profile_for(L->policy, addr, L->has_mac ? L->mac : NULL,
					     &L->mac_ignored);
}

int ward_lookup_verdict(struct ward_lookup *L, const uint8_t *wire, struct ward_policy_verdict *v)
{
	int rc = 0;
	if (L->refused)
		*v = L->refusal;
	else
		rc = ward_policy_decide(L->policy, L->reader, L->ov, L->profile, wire, &L->now, v);
	ward_policy_explain(L->policy, L->reader, v);
	return rc;
}

void ward_lookup_feed_names(struct ward_catdb_reader *r, const struct ward_cat_match *m,
			    char names[][64])
{
	for (unsigned i = 0; i < m->n_feeds && i < WARD_CATDB_MATCH_FEEDS; i++)
		if (!r || ward_catdb_feed_name(r, m->feeds[i], names[i], 64) < 0)
			snprintf(names[i], 64, "#%u", m->feeds[i]);
}

static cJSON *cats_json(const struct ward_cat_registry *reg, ward_catset set)
{
	cJSON *a = cJSON_CreateArray();
	for (unsigned bit = 0; bit < WARD_CAT_MAX; bit++) {
		if (!(set & WARD_CAT(bit)))
			continue;
		const char *name = ward_cat_name(reg, bit);
		char tmp[16];
		snprintf(tmp, sizeof(tmp), "bit%u", bit);
		cJSON_AddItemToArray(a, cJSON_CreateString(name ? name : tmp));
	}
	return a;
}

void *ward_lookup_match_json(const struct ward_conf *conf, const char *name,
			     const struct ward_cat_match *m, char feeds[][64])
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddBoolToObject(o, "listed", m->categories != 0);
	cJSON_AddItemToObject(o, "categories", cats_json(conf->categories, m->categories));
	cJSON_AddItemToObject(o, "allowed", cats_json(conf->categories, m->allowed));
	if (m->found) {
		cJSON_AddStringToObject(o, "entry", m->entry);
		cJSON_AddBoolToObject(o, "exact", m->exact);
	}
	cJSON *fa = cJSON_AddArrayToObject(o, "feeds");
	for (unsigned i = 0; i < m->n_feeds && i < WARD_CATDB_MATCH_FEEDS; i++)
		cJSON_AddItemToArray(fa, cJSON_CreateString(feeds[i]));
	return o;
}

static void add_string_or_null(cJSON *o, const char *key, const char *value)
{
	if (value)
		cJSON_AddStringToObject(o, key, value);
	else
		cJSON_AddNullToObject(o, key);
}

static void add_sinkhole(cJSON *o, const struct ward_conf *conf)
{
	char addr[INET6_ADDRSTRLEN];
	cJSON_AddStringToObject(o, "ipv4", inet_ntop(AF_INET, conf->block.ipv4, addr,
						     sizeof(addr)));
	cJSON_AddStringToObject(o, "ipv6", inet_ntop(AF_INET6, conf->block.ipv6, addr,
						     sizeof(addr)));
}

static cJSON *answer_json(const struct ward_conf *conf, const struct ward_policy_verdict *v)
{
	char addr[INET6_ADDRSTRLEN];
	cJSON *o = cJSON_CreateObject();
	switch (v->action) {
	case WARD_POLICY_BLOCK:
		cJSON_AddStringToObject(o, "mode", ward_lookup_block_mode_name(conf->block.mode));
		cJSON_AddNumberToObject(o, "ttl", conf->block.ttl);
		if (conf->block.mode == WARD_BLOCK_SINKHOLE)
			add_sinkhole(o, conf);
		break;
	case WARD_POLICY_NXDOMAIN:
		cJSON_AddStringToObject(o, "mode", "nxdomain");
		cJSON_AddNumberToObject(o, "ttl", conf->block.ttl);
		break;
	case WARD_POLICY_CNAME:
		cJSON_AddStringToObject(o, "cname", v->rewrite_target);
		break;
	case WARD_POLICY_ADDRESS:
		cJSON_AddStringToObject(o, "a", inet_ntop(AF_INET, v->rewrite_ipv4, addr,
							  sizeof(addr)));
		break;
	case WARD_POLICY_SERVFAIL:
		cJSON_AddStringToObject(o, "rcode", "SERVFAIL");
		break;
	case WARD_POLICY_REFUSED:
		cJSON_AddStringToObject(o, "rcode", "REFUSED");
		break;
	default:
		cJSON_AddStringToObject(o, "mode", "upstream");
	}
	return o;
}

static void add_override(cJSON *o, const struct ward_policy_verdict *v)
{
	if (v->override_id)
		cJSON_AddNumberToObject(o, "override", (double)v->override_id);
	else
		cJSON_AddNullToObject(o, "override");
	if (v->until)
		cJSON_AddNumberToObject(o, "until", (double)v->until);
	else
		cJSON_AddNullToObject(o, "until");
}

static void add_verdict(struct ward_lookup *L, cJSON *o, const struct ward_policy_verdict *v)
{
	char when[16];
	snprintf(when, sizeof(when), "%s %02u:%02u", ward_lookup_day_name(L->now.wday),
		 L->now.minute / 60u, L->now.minute % 60u);
	cJSON_AddStringToObject(o, "client", L->client_text);
	add_string_or_null(o, "mac", L->has_mac ? L->mac_text : NULL);
	cJSON_AddBoolToObject(o, "mac_ignored", L->mac_ignored);
	add_string_or_null(o, "profile", v->profile_name);
	cJSON_AddStringToObject(o, "local_time", when);
	cJSON_AddStringToObject(o, "action", ward_policy_action_name(v->action));
	cJSON_AddStringToObject(o, "reason", ward_policy_reason_name(v->reason));
	add_string_or_null(o, "rule", v->rule);
	add_string_or_null(o, "schedule", v->schedule_name);
	add_override(o, v);
	cJSON_AddItemToObject(o, "block_categories",
			      cats_json(L->conf->categories, v->categories));
	if (v->ede_code >= 0) {
		cJSON *e = cJSON_AddObjectToObject(o, "ede");
		cJSON_AddNumberToObject(e, "code", v->ede_code);
		cJSON_AddStringToObject(e, "name", ward_lookup_ede_name(v->ede_code));
		cJSON_AddStringToObject(e, "text", v->text);
	} else {
		cJSON_AddNullToObject(o, "ede");
	}
	add_string_or_null(o, "explanation", v->text[0] ? v->text : NULL);
	cJSON_AddItemToObject(o, "answer", answer_json(L->conf, v));
}

void *ward_lookup_result_json(struct ward_lookup *L, const char *name,
			      const struct ward_policy_verdict *v)
{
	char feeds[WARD_CATDB_MATCH_FEEDS][64];
	ward_lookup_feed_names(L->reader, &v->match, feeds);
	cJSON *o = ward_lookup_match_json(L->conf, name, &v->match, feeds);
	add_verdict(L, o, v);
	return o;
}
