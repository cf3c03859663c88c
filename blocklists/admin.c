/*
 * The actions behind `ward allow/deny/pause/...` and wardd's JSON API (admin.h).
 */
#include "blocklists/admin.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blocklists/conf_internal.h"
#include "blocklists/error.h"
#include "blocklists/feed.h"

static int fail(struct ward_admin *a, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct ward_admin *a, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(a->error, sizeof(a->error), fmt, ap);
	va_end(ap);
	return rc;
}

/* Errors of the store that a person can act on; the rest say what failed. */
static int store_failed(struct ward_admin *a, int rc)
{
	if (rc == WARD_ENOMEM)
		return fail(a, rc, "too many overrides (at most %d in force)", WARD_OVERRIDES_MAX);
	return fail(a, rc, "cannot write the database: %s", ward_strerror(rc));
}

int ward_admin_parse_duration(const char *text, uint64_t *seconds)
{
	uint64_t s = 0;
	if (!text || ward_conf__duration(text, WARD_OVERRIDE_SECONDS_MAX, &s) != 0) {
		/* A plain number is seconds. */
		char *end;
		unsigned long long n = text ? strtoull(text, &end, 10) : 0;
		if (!text || !*text || *end || text[0] == '-' || n > WARD_OVERRIDE_SECONDS_MAX)
			return -1;
		s = n;
	}
	if (s == 0)
		return -1;
	*seconds = s;
	return 0;
}

size_t ward_admin_name(struct ward_admin *a, const char *text, uint8_t *wire)
{
	char norm[WARD_NAME_MAX + 1];
	int len = text ? ward_feed_normalize_name(text, strlen(text), norm, sizeof(norm)) : -1;
	if (len <= 0) {
		fail(a, WARD_EINVAL, "\"%.64s\" is not a host name", text ? text : "");
		return 0;
	}
	if (ward_feed_is_public_suffix(norm, (size_t)len)) {
		fail(a, WARD_EINVAL, "%s is a public suffix: an override for it would cover every "
		     "site under it", norm);
		return 0;
	}
	size_t n = ward_name_from_text(norm, wire, WARD_WIRE_NAME_MAX);
	if (n)
		ward_name_lower(wire);
	else
		fail(a, WARD_EINVAL, "\"%.64s\" is not a host name", text);
	return n;
}

/* NULL or "everyone" -> "" (everyone); else the name of a profile of the config. */
static int profile_arg(struct ward_admin *a, const char *profile, bool everyone_ok,
		       char out[WARD_OVERRIDE_PROFILE_MAX])
{
	out[0] = '\0';
	if (!profile || strcmp(profile, WARD_ADMIN_EVERYONE) == 0) {
		if (everyone_ok)
			return 0;
		return fail(a, WARD_EINVAL, "name a profile (a pause is per profile)");
	}
	for (size_t i = 0; i < a->conf->n_profiles; i++) {
		if (strcmp(a->conf->profiles[i].name, profile) == 0) {
			snprintf(out, WARD_OVERRIDE_PROFILE_MAX, "%s", profile);
			return 0;
		}
	}
	return fail(a, WARD_EINVAL, "no profile \"%.63s\" in %s", profile,
		    a->conf->path ? a->conf->path : "the config");
}

static int category_arg(struct ward_admin *a, const char *category, char *out)
{
	if (!category || !*category || ward_cat_bit(a->conf->categories, category) < 0)
		return fail(a, WARD_EINVAL, "\"%.31s\" is not a category (ward lookup and "
			    "docs/config.md list them)", category ? category : "");
	snprintf(out, WARD_OVERRIDE_CATEGORY_MAX, "%s", category);
	for (char *p = out; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	return 0;
}

static int store(struct ward_admin *a, struct ward_override *o, uint64_t seconds,
		 struct ward_override *out)
{
	if (seconds > WARD_OVERRIDE_SECONDS_MAX)
		return fail(a, WARD_EINVAL, "a duration of at most 366 days");
	o->expires = seconds ? a->now + (int64_t)seconds : 0;
	snprintf(o->source, sizeof(o->source), "%s", a->source ? a->source : "");
	int rc = ward_overrides_add(a->db, o, a->now);
	if (rc)
		return store_failed(a, rc);
	if (out)
		*out = *o;
	return 0;
}

int ward_admin_allow(struct ward_admin *a, const char *profile, const char *name,
		     uint64_t seconds, struct ward_override *out)
{
	struct ward_override o = { .kind = WARD_OVERRIDE_ALLOW };
	int rc = profile_arg(a, profile, true, o.profile);
	if (rc)
		return rc;
	if (!ward_admin_name(a, name, o.name))
		return WARD_EINVAL;
	return store(a, &o, seconds, out);
}

int ward_admin_deny(struct ward_admin *a, const char *profile, const char *name,
		    const char *category, uint64_t seconds, struct ward_override *out)
{
	struct ward_override o = { .kind = WARD_OVERRIDE_DENY };
	int rc = profile_arg(a, profile, true, o.profile);
	if (!rc)
		rc = category_arg(a, category, o.category);
	if (rc)
		return rc;
	if (!ward_admin_name(a, name, o.name))
		return WARD_EINVAL;
	return store(a, &o, seconds, out);
}

int ward_admin_pause(struct ward_admin *a, const char *profile, uint64_t seconds,
		     struct ward_override *out)
{
	struct ward_override o = { .kind = WARD_OVERRIDE_PAUSE };
	int rc = profile_arg(a, profile, false, o.profile);
	if (rc)
		return rc;
	if (seconds == 0)
		return fail(a, WARD_EINVAL, "a pause needs a duration (resume ends it early)");
	return store(a, &o, seconds, out);
}

int ward_admin_resume(struct ward_admin *a, const char *profile)
{
	char p[WARD_OVERRIDE_PROFILE_MAX];
	int rc = profile_arg(a, profile, false, p);
	if (rc)
		return rc;
	rc = ward_overrides_resume(a->db, p, a->now);
	if (rc == WARD_ENOTFOUND)
		return fail(a, rc, "profile %s is not paused", p);
	return rc ? store_failed(a, rc) : 0;
}

int ward_admin_remove(struct ward_admin *a, uint64_t id, struct ward_override *removed)
{
	int rc = ward_overrides_remove(a->db, id, removed);
	if (rc == WARD_ENOTFOUND)
		return fail(a, rc, "no override %llu", (unsigned long long)id);
	return rc ? store_failed(a, rc) : 0;
}

/* ---- reports ------------------------------------------------------------------------------ */

static int resolve_failed(struct ward_admin *a, uint64_t id, int rc)
{
	if (rc == WARD_ENOTFOUND)
		return fail(a, rc, "no report %llu", (unsigned long long)id);
	if (rc == WARD_ESTALE)
		return fail(a, rc, "report %llu was already reviewed", (unsigned long long)id);
	return store_failed(a, rc);
}

/* The override accepting r creates, for `profile` / everyone. */
static int override_for(struct ward_admin *a, const struct ward_report *r, const char *profile,
			bool everyone, uint64_t seconds, struct ward_override *o)
{
	memset(o, 0, sizeof(*o));
	bool deny = r->kind == WARD_REPORT_SHOULD_BE_BLOCKED;
	o->kind = deny ? WARD_OVERRIDE_DENY : WARD_OVERRIDE_ALLOW;
	memcpy(o->name, r->name, sizeof(o->name));
	if (!profile && !everyone)
		profile = r->profile[0] && !(deny && strcmp(r->category, "csam") == 0)
				  ? r->profile : WARD_ADMIN_EVERYONE;
	int rc = profile_arg(a, everyone ? NULL : profile, true, o->profile);
	if (!rc && deny)
		rc = category_arg(a, r->category, o->category);
	if (rc)
		return rc;
	if (seconds > WARD_OVERRIDE_SECONDS_MAX)
		return fail(a, WARD_EINVAL, "a duration of at most 366 days");
	o->expires = seconds ? a->now + (int64_t)seconds : 0;
	snprintf(o->source, sizeof(o->source), "report %llu", (unsigned long long)r->id);
	return 0;
}

int ward_admin_accept(struct ward_admin *a, uint64_t id, const char *profile, bool everyone,
		      uint64_t seconds, struct ward_override *out)
{
	struct ward_report r;
	struct ward_override o;
	int rc = ward_reports_get(a->db, id, &r);
	if (rc)
		return resolve_failed(a, id, rc);
	if (r.status != WARD_REPORT_PENDING)
		return resolve_failed(a, id, WARD_ESTALE);
	rc = override_for(a, &r, profile, everyone, seconds, &o);
	if (rc)
		return rc;
	rc = ward_reports_resolve(a->db, id, WARD_REPORT_ACCEPTED, &o, a->now);
	if (rc)
		return resolve_failed(a, id, rc);
	if (out)
		*out = o;
	return 0;
}

int ward_admin_reject(struct ward_admin *a, uint64_t id)
{
	int rc = ward_reports_resolve(a->db, id, WARD_REPORT_REJECTED, NULL, a->now);
	return rc ? resolve_failed(a, id, rc) : 0;
}

int ward_admin_report(struct ward_admin *a, const char *client, const char *profile,
		      const char *name, enum ward_report_kind kind, const char *category,
		      const char *message, struct ward_report *out, bool *merged)
{
	memset(out, 0, sizeof(*out));
	*merged = false;
	out->kind = kind;
	if (!ward_report_kind_parse(ward_report_kind_name(kind)))
		return fail(a, WARD_EINVAL, "kind: \"wrongly-blocked\" or \"should-be-blocked\"");
	if (!ward_admin_name(a, name, out->name))
		return WARD_EINVAL;
	if (message && !ward_report_message_ok(message))
		return fail(a, WARD_EINVAL, "the message must be text of at most %d characters",
			    WARD_REPORT_MESSAGE_CHARS);
	if (kind == WARD_REPORT_SHOULD_BE_BLOCKED && category_arg(a, category, out->category))
		return WARD_EINVAL;
	if (kind == WARD_REPORT_WRONGLY_BLOCKED && category)
		snprintf(out->category, sizeof(out->category), "%s", category);
	snprintf(out->client, sizeof(out->client), "%s", client ? client : "");
	snprintf(out->profile, sizeof(out->profile), "%s", profile ? profile : "");
	snprintf(out->message, sizeof(out->message), "%s", message ? message : "");
	int rc = ward_reports_add(a->db, out, a->now, merged);
	if (rc == WARD_ENOMEM)
		return fail(a, rc, "too many requests are waiting for a parent (at most %d)",
			    WARD_REPORTS_PENDING_MAX);
	return rc ? store_failed(a, rc) : 0;
}

/* ---- JSON ----------------------------------------------------------------------------------- */

static const char *kind_word(enum ward_override_kind kind)
{
	return kind == WARD_OVERRIDE_ALLOW ? "allow" : kind == WARD_OVERRIDE_DENY ? "deny"
										  : "pause";
}

void *ward_admin_override_json(const struct ward_override *o, int64_t now)
{
	char name[WARD_NAME_TEXT_MAX];
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "id", (double)o->id);
	cJSON_AddStringToObject(j, "action", kind_word(o->kind));
	cJSON_AddStringToObject(j, "profile", o->profile[0] ? o->profile : WARD_ADMIN_EVERYONE);
	if (o->kind != WARD_OVERRIDE_PAUSE) {
		ward_name_to_text(o->name, name, sizeof(name));
		cJSON_AddStringToObject(j, "name", name);
	}
	if (o->kind == WARD_OVERRIDE_DENY)
		cJSON_AddStringToObject(j, "category", o->category);
	cJSON_AddNumberToObject(j, "created", (double)o->created);
	if (o->expires) {
		cJSON_AddNumberToObject(j, "expires", (double)o->expires);
		cJSON_AddNumberToObject(j, "remaining_s",
					(double)(o->expires > now ? o->expires - now : 0));
	} else {
		cJSON_AddNullToObject(j, "expires");
		cJSON_AddNullToObject(j, "remaining_s");
	}
	cJSON_AddStringToObject(j, "source", o->source);
	return j;
}

void *ward_admin_report_json(const struct ward_report *r)
{
	char name[WARD_NAME_TEXT_MAX];
	cJSON *j = cJSON_CreateObject();
	ward_name_to_text(r->name, name, sizeof(name));
	cJSON_AddNumberToObject(j, "id", (double)r->id);
	cJSON_AddStringToObject(j, "name", name);
	cJSON_AddStringToObject(j, "kind", ward_report_kind_name(r->kind));
	cJSON_AddStringToObject(j, "status", ward_report_status_name(r->status));
	cJSON_AddStringToObject(j, "category", r->category);
	cJSON_AddStringToObject(j, "profile", r->profile);
	cJSON_AddStringToObject(j, "client", r->client);
	cJSON_AddStringToObject(j, "message", r->message);
	cJSON_AddNumberToObject(j, "count", r->count);
	cJSON_AddNumberToObject(j, "created", (double)r->created);
	cJSON_AddNumberToObject(j, "updated", (double)r->updated);
	if (r->override_id)
		cJSON_AddNumberToObject(j, "override", (double)r->override_id);
	else
		cJSON_AddNullToObject(j, "override");
	return j;
}
