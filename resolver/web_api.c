/*
 * The JSON API under /api/v1/ (docs/api.md has every endpoint with an example).
 *
 * Without a token: POST /api/v1/reports (a child's report, rate-limited per client) and
 * GET /api/v1/why (the asking device's recent blocks and requests). Everything else
 * needs `Authorization: Bearer TOKEN`: 401 without one, 403 with a wrong one, 429 after
 * WARD_WEB_AUTH_FAILURES wrong ones in a minute from the same address. The admin
 * actions go through blocklists/admin.h, the code `ward allow/deny/...` runs.
 *
 * Bodies are JSON objects (Content-Type application/json, which a cross-site form cannot
 * send without a CORS preflight that wardd never grants); unknown fields are errors.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "blocklists/admin.h"
#include "blocklists/error.h"
#include "blocklists/lookup.h"
#include "resolver/web_internal.h"

#define MINUTES_MAX (WARD_OVERRIDE_SECONDS_MAX / 60)

/* ---- auth --------------------------------------------------------------------------------- */

/* Constant time in the length of the right token, whatever was sent. */
static bool token_matches(const struct ward_web_app *app, const char *sent)
{
	size_t n = strlen(sent);
	unsigned char diff = n != app->token_len;
	for (size_t i = 0; i < app->token_len; i++)
		diff |= (unsigned char)app->token[i] ^ (unsigned char)(i < n ? sent[i] : 0);
	return app->token_len > 0 && diff == 0;
}

static bool authorized(struct ward_web_app *app, const struct ward_web_request *req,
		       struct ward_web_response *resp)
{
	uint8_t key[16];
	int64_t now = atomic_load(&app->shared->unix_now);
	web_addr_key(&req->client, key);
	const char *h = req->authorization;
	if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
		resp->www_authenticate = true;
		web_json_error(resp, 401, "this needs the admin token: "
			       "Authorization: Bearer TOKEN (see web.admin_token_file)");
		return false;
	}
	if (!web_limiter_has(app->auth_limit, key, now)) {
		web_json_error(resp, 429, "too many wrong tokens from this address: wait a minute");
		return false;
	}
	for (h += 7; *h == ' '; h++)
		;
	if (token_matches(app, h))
		return true;
	web_limiter_take(app->auth_limit, key, now);
	web_json_error(resp, 403, "wrong admin token");
	return false;
}

/* ---- request bodies ----------------------------------------------------------------------- */

/* The body as a JSON object whose keys are all in `allowed` (NULL-terminated).
 * @return the object (delete it), or NULL with a 400 written. */
static cJSON *json_body(const struct ward_web_request *req, struct ward_web_response *resp,
			const char *const *allowed)
{
	const char *ct = req->content_type;
	if (!ct || strncasecmp(ct, "application/json", 16) != 0) {
		web_json_error(resp, 400, "the body must be JSON (Content-Type: application/json)");
		return NULL;
	}
	cJSON *o = cJSON_ParseWithLength(req->body ? req->body : "", req->body_len);
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		web_json_error(resp, 400, "the body is not a JSON object");
		return NULL;
	}
	for (cJSON *item = o->child; item; item = item->next) {
		size_t i = 0;
		while (allowed[i] && strcmp(allowed[i], item->string) != 0)
			i++;
		if (!allowed[i]) {
			web_json_error(resp, 400, "unknown field \"%.40s\"", item->string);
			cJSON_Delete(o);
			return NULL;
		}
	}
	return o;
}

/* A string field: NULL when absent; *bad set (and a 400 written) when not a string. */
static const char *str_field(const cJSON *o, const char *key, bool *bad,
			     struct ward_web_response *resp)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!v || cJSON_IsNull(v))
		return NULL;
	if (!cJSON_IsString(v)) {
		if (!*bad)
			web_json_error(resp, 400, "\"%s\" must be a string", key);
		*bad = true;
		return NULL;
	}
	return v->valuestring;
}

/* "minutes": a whole number 1..MINUTES_MAX, or absent (0). */
static uint64_t minutes_field(const cJSON *o, bool *bad, struct ward_web_response *resp)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "minutes");
	if (!v || cJSON_IsNull(v))
		return 0;
	double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
	if (d < 1 || d > MINUTES_MAX || d != (double)(uint64_t)d) {
		if (!*bad)
			web_json_error(resp, 400, "\"minutes\" must be a whole number from 1 to %d",
				       (int)MINUTES_MAX);
		*bad = true;
		return 0;
	}
	return (uint64_t)d * 60;
}

/* 400/404/429/500 for a failed admin action, with its sentence. */
static void admin_failed(struct ward_web_response *resp, const struct ward_admin *a, int rc)
{
	unsigned status = rc == WARD_ENOTFOUND ? 404
			  : rc == WARD_EINVAL || rc == WARD_ESTALE ? 400
			  : rc == WARD_ENOMEM ? 429 : 500;
	web_json_error(resp, status, "%s", a->error[0] ? a->error : ward_strerror(rc));
}

static cJSON *wrap(const char *key, void *item)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, key, item);
	return o;
}

/* ---- overrides ----------------------------------------------------------------------------- */

static void overrides_get(struct ward_web_app *app, const struct ward_web_request *req,
			  struct ward_web_response *resp)
{
	struct ward_admin a;
	struct ward_override *list;
	size_t n;
	if (!web_admin(app, req, &a, resp))
		return;
	int rc = ward_overrides_list(a.db, a.now, &list, &n);
	if (rc) {
		admin_failed(resp, &a, rc);
		return;
	}
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, ward_admin_override_json(&list[i], a.now));
	free(list);
	web_json(resp, 200, wrap("overrides", arr));
}

static void overrides_post(struct ward_web_app *app, const struct ward_web_request *req,
			   struct ward_web_response *resp)
{
	static const char *const fields[] = {"action", "name", "profile", "category", "minutes",
					     NULL};
	struct ward_admin a;
	struct ward_override o;
	bool bad = false;
	cJSON *body = json_body(req, resp, fields);
	if (!body)
		return;
	const char *action = str_field(body, "action", &bad, resp);
	const char *name = str_field(body, "name", &bad, resp);
	const char *profile = str_field(body, "profile", &bad, resp);
	const char *category = str_field(body, "category", &bad, resp);
	uint64_t seconds = minutes_field(body, &bad, resp);
	int rc = 0;
	if (bad || !web_admin(app, req, &a, resp))
		goto out;
	if (!profile) {
		web_json_error(resp, 400, "\"profile\" is required (a profile or \"everyone\")");
		goto out;
	}
	if (action && strcmp(action, "allow") == 0)
		rc = ward_admin_allow(&a, profile, name, seconds, &o);
	else if (action && strcmp(action, "deny") == 0)
		rc = ward_admin_deny(&a, profile, name, category, seconds, &o);
	else
		rc = (snprintf(a.error, sizeof(a.error), "\"action\" must be \"allow\" or \"deny\""),
		      WARD_EINVAL);
	if (rc)
		admin_failed(resp, &a, rc);
	else
		web_json(resp, 201, wrap("override", ward_admin_override_json(&o, a.now)));
out:
	cJSON_Delete(body);
}

/* "/123" -> 123; @return false for anything else. */
static bool parse_id(const char *text, uint64_t *id)
{
	char *end;
	if (!text || text[0] < '1' || text[0] > '9')
		return false;
	unsigned long long v = strtoull(text, &end, 10);
	*id = v;
	return *end == '\0' && v < (1ull << 53);
}

static void override_delete(struct ward_web_app *app, const struct ward_web_request *req,
			    const char *id_text, struct ward_web_response *resp)
{
	struct ward_admin a;
	struct ward_override o;
	uint64_t id;
	if (!parse_id(id_text, &id)) {
		web_json_error(resp, 404, "no such override");
		return;
	}
	if (!web_admin(app, req, &a, resp))
		return;
	int rc = ward_admin_remove(&a, id, &o);
	if (rc)
		admin_failed(resp, &a, rc);
	else
		web_json(resp, 200, wrap("removed", ward_admin_override_json(&o, a.now)));
}

/* /profiles/P/pause: POST {"minutes": M}, DELETE. */
static void pause_route(struct ward_web_app *app, const struct ward_web_request *req,
			const char *profile, struct ward_web_response *resp)
{
	static const char *const fields[] = {"minutes", NULL};
	struct ward_admin a;
	struct ward_override o;
	bool bad = false;
	if (strcmp(req->method, "DELETE") == 0) {
		if (!web_admin(app, req, &a, resp))
			return;
		int rc = ward_admin_resume(&a, profile);
		if (rc)
			admin_failed(resp, &a, rc);
		else
			web_json(resp, 200, wrap("resumed", cJSON_CreateString(profile)));
		return;
	}
	cJSON *body = json_body(req, resp, fields);
	if (!body)
		return;
	uint64_t seconds = minutes_field(body, &bad, resp);
	cJSON_Delete(body);
	if (bad || !web_admin(app, req, &a, resp))
		return;
	int rc = ward_admin_pause(&a, profile, seconds, &o);
	if (rc)
		admin_failed(resp, &a, rc);
	else
		web_json(resp, 201, wrap("override", ward_admin_override_json(&o, a.now)));
}

/* ---- reports (parent) ----------------------------------------------------------------------- */

static void reports_get(struct ward_web_app *app, const struct ward_web_request *req,
			struct ward_web_response *resp)
{
	struct ward_admin a;
	struct ward_report *list;
	size_t n;
	const char *status = req->arg ? req->arg(req->arg_ctx, "status") : NULL;
	if (!web_admin(app, req, &a, resp))
		return;
	int rc = ward_reports_list(a.db, NULL, &list, &n);
	if (rc) {
		admin_failed(resp, &a, rc);
		return;
	}
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++)
		if (!status || strcmp(status, ward_report_status_name(list[i].status)) == 0)
			cJSON_AddItemToArray(arr, ward_admin_report_json(&list[i]));
	free(list);
	web_json(resp, 200, wrap("reports", arr));
}

static void report_accept(struct ward_web_app *app, const struct ward_web_request *req,
			  uint64_t id, struct ward_web_response *resp)
{
	static const char *const fields[] = {"profile", "everyone", "minutes", NULL};
	struct ward_admin a;
	struct ward_override o;
	struct ward_report r;
	bool bad = false;
	cJSON *body = req->body_len ? json_body(req, resp, fields) : cJSON_CreateObject();
	if (!body)
		return;
	const char *profile = str_field(body, "profile", &bad, resp);
	uint64_t seconds = minutes_field(body, &bad, resp);
	const cJSON *everyone = cJSON_GetObjectItemCaseSensitive(body, "everyone");
	if (!bad && everyone && !cJSON_IsBool(everyone)) {
		web_json_error(resp, 400, "\"everyone\" must be true or false");
		bad = true;
	}
	if (!bad && web_admin(app, req, &a, resp)) {
		int rc = ward_admin_accept(&a, id, profile, cJSON_IsTrue(everyone), seconds, &o);
		if (!rc)
			rc = ward_reports_get(a.db, id, &r);
		if (rc) {
			admin_failed(resp, &a, rc);
		} else {
			cJSON *out = wrap("report", ward_admin_report_json(&r));
			cJSON_AddItemToObject(out, "override", ward_admin_override_json(&o, a.now));
			web_json(resp, 200, out);
		}
	}
	cJSON_Delete(body);
}

static void report_reject(struct ward_web_app *app, const struct ward_web_request *req,
			  uint64_t id, struct ward_web_response *resp)
{
	struct ward_admin a;
	struct ward_report r;
	if (!web_admin(app, req, &a, resp))
		return;
	int rc = ward_admin_reject(&a, id);
	if (!rc)
		rc = ward_reports_get(a.db, id, &r);
	if (rc)
		admin_failed(resp, &a, rc);
	else
		web_json(resp, 200, wrap("report", ward_admin_report_json(&r)));
}

/* /reports/ID/accept, /reports/ID/reject */
static void report_route(struct ward_web_app *app, const struct ward_web_request *req,
			 const char *rest, struct ward_web_response *resp)
{
	char id_text[24];
	uint64_t id;
	const char *slash = strchr(rest, '/');
	size_t n = slash ? (size_t)(slash - rest) : 0;
	if (!slash || n >= sizeof(id_text)) {
		web_json_error(resp, 404, "no such endpoint");
		return;
	}
	memcpy(id_text, rest, n);
	id_text[n] = '\0';
	if (!parse_id(id_text, &id)) {
		web_json_error(resp, 404, "no such report");
	} else if (strcmp(req->method, "POST") != 0) {
		resp->allow = "POST";
		web_json_error(resp, 405, "method not allowed");
	} else if (strcmp(slash, "/accept") == 0) {
		report_accept(app, req, id, resp);
	} else if (strcmp(slash, "/reject") == 0) {
		report_reject(app, req, id, resp);
	} else {
		web_json_error(resp, 404, "no such endpoint");
	}
}

/* ---- status and lookup ------------------------------------------------------------------------ */

static void add_database(cJSON *o, struct ward_catdb *db)
{
	struct ward_catdb_meta meta;
	cJSON *d = cJSON_AddObjectToObject(o, "database");
	if (!db || ward_catdb_meta_get(db, &meta) != 0)
		return;
	cJSON_AddNumberToObject(d, "generation", (double)meta.generation);
	cJSON_AddNumberToObject(d, "domains", (double)meta.domains);
	cJSON_AddNumberToObject(d, "built_at", (double)meta.built_at);
}

static void add_profiles(struct ward_web_app *app, cJSON *o, int64_t now)
{
	cJSON *arr = cJSON_AddArrayToObject(o, "profiles");
	const struct ward_conf *conf = app->ps->conf;
	for (size_t i = 0; i < conf->n_profiles; i++) {
		struct ward_override_hit hit;
		cJSON *p = cJSON_CreateObject();
		cJSON_AddStringToObject(p, "name", conf->profiles[i].name);
		if (ward_override_table_paused(app->ov ? app->ov->table : NULL, conf, i, now, &hit))
			cJSON_AddNumberToObject(p, "paused_until", (double)hit.expires);
		else
			cJSON_AddNullToObject(p, "paused_until");
		cJSON_AddItemToArray(arr, p);
	}
}

static uint64_t records_dropped(const struct ward_web_app *app)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < app->n_workers; i++)
		if (app->workers[i].records)
			n += ward_ring_dropped(app->workers[i].records);
	return n;
}

static void status_get(struct ward_web_app *app, const struct ward_web_request *req,
		       struct ward_web_response *resp)
{
	struct ward_admin a;
	struct ward_report *reports;
	size_t n_reports = 0, pending = 0;
	if (!web_admin(app, req, &a, resp))
		return;
	if (ward_reports_list(a.db, NULL, &reports, &n_reports) == 0) {
		for (size_t i = 0; i < n_reports; i++)
			pending += reports[i].status == WARD_REPORT_PENDING;
		free(reports);
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "version", app->version);
	cJSON_AddNumberToObject(o, "uptime_s", (double)(a.now - app->started));
	cJSON_AddNumberToObject(o, "time", (double)a.now);
	add_database(o, a.db);
	cJSON_AddNumberToObject(o, "overrides",
				(double)ward_override_table_count(app->ov ? app->ov->table : NULL));
	cJSON_AddNumberToObject(o, "reports_pending", (double)pending);
	add_profiles(app, o, a.now);
	cJSON *web = cJSON_AddObjectToObject(o, "web");
	cJSON_AddNumberToObject(web, "requests", (double)app->requests);
	cJSON_AddNumberToObject(web, "blocks_seen", (double)app->records);
	cJSON_AddNumberToObject(web, "blocks_dropped", (double)records_dropped(app));
	web_json(resp, 200, o);
}

static void lookup_get(struct ward_web_app *app, const struct ward_web_request *req,
		       struct ward_web_response *resp)
{
	struct ward_admin a;
	struct ward_policy_verdict v;
	uint8_t wire[WARD_WIRE_NAME_MAX];
	char text[WARD_NAME_TEXT_MAX];
	const char *name = req->arg ? req->arg(req->arg_ctx, "name") : NULL;
	const char *client = req->arg ? req->arg(req->arg_ctx, "client") : NULL;
	struct ward_lookup L = {.client_text = client};
	if (!web_admin(app, req, &a, resp))
		return;
	if (!client || ward_lookup_parse_client(client, &L.client) != 0) {
		web_json_error(resp, 400, "client: an IP address is needed (?client=IP)");
		return;
	}
	if (!ward_admin_name(&a, name, wire)) {
		web_json_error(resp, 400, "name: %s", a.error);
		return;
	}
	L.conf = app->ps->conf;
	L.policy = app->ps->policy;
	L.ov = app->ov ? app->ov->table : NULL;
	L.reader = web_reader(app);
	web_now(app, &L.now);
	ward_lookup_prepare(&L);
	int rc = ward_lookup_verdict(&L, wire, &v);
	ward_name_to_text(wire, text, sizeof(text));
	cJSON *o = ward_lookup_result_json(&L, text, &v);
	if (rc < 0)
		cJSON_AddStringToObject(o, "error", ward_strerror(rc));
	web_json(resp, 200, o);
}

/* ---- routing ----------------------------------------------------------------------------------- */

static bool method(const struct ward_web_request *req, const char *m,
		   struct ward_web_response *resp, const char *allow)
{
	if (strcmp(req->method, m) == 0 || (strcmp(m, "GET") == 0 &&
					    strcmp(req->method, "HEAD") == 0))
		return true;
	resp->allow = allow;
	web_json_error(resp, 405, "method not allowed");
	return false;
}

static void admin_route(struct ward_web_app *app, const struct ward_web_request *req,
			const char *p, struct ward_web_response *resp)
{
	bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
	if (strcmp(p, "status") == 0) {
		if (method(req, "GET", resp, "GET"))
			status_get(app, req, resp);
	} else if (strcmp(p, "lookup") == 0) {
		if (method(req, "GET", resp, "GET"))
			lookup_get(app, req, resp);
	} else if (strcmp(p, "overrides") == 0) {
		if (get)
			overrides_get(app, req, resp);
		else if (method(req, "POST", resp, "GET, POST"))
			overrides_post(app, req, resp);
	} else if (strncmp(p, "overrides/", 10) == 0) {
		if (method(req, "DELETE", resp, "DELETE"))
			override_delete(app, req, p + 10, resp);
	} else if (strcmp(p, "reports") == 0) {
		if (method(req, "GET", resp, "GET, POST"))
			reports_get(app, req, resp);
	} else if (strncmp(p, "reports/", 8) == 0) {
		report_route(app, req, p + 8, resp);
	} else {
		web_json_error(resp, 404, "no such endpoint");
	}
}

/* /profiles/P/pause */
static bool pause_path(const char *p, char *profile, size_t cap)
{
	if (strncmp(p, "profiles/", 9) != 0)
		return false;
	p += 9;
	const char *slash = strchr(p, '/');
	size_t n = slash ? (size_t)(slash - p) : 0;
	if (!slash || strcmp(slash, "/pause") != 0 || n == 0 || n >= cap)
		return false;
	memcpy(profile, p, n);
	profile[n] = '\0';
	return true;
}

void web_api(struct ward_web_app *app, const struct ward_web_request *req,
	     struct ward_web_response *resp)
{
	char profile[WARD_OVERRIDE_PROFILE_MAX];
	const char *p = req->path;
	if (strncmp(p, "/api/v1/", 8) != 0) {
		web_json_error(resp, 404, "no such endpoint (the API is under /api/v1/)");
		return;
	}
	p += 8;
	if (strcmp(p, "why") == 0) {
		if (method(req, "GET", resp, "GET"))
			web_api_why(app, req, resp);
		return;
	}
	if (strcmp(p, "reports") == 0 && strcmp(req->method, "POST") == 0) {
		web_api_report(app, req, resp);
		return;
	}
	if (!authorized(app, req, resp))
		return;
	if (pause_path(p, profile, sizeof(profile))) {
		if (method(req, strcmp(req->method, "DELETE") == 0 ? "DELETE" : "POST", resp,
			   "POST, DELETE"))
			pause_route(app, req, profile, resp);
		return;
	}
	admin_route(app, req, p, resp);
}
