/*
 * The web listener's application without sockets: ward_web_handle() on requests built
 * here, against a real category database, policy and override table. Routing, the token
 * (401, 403, 429), JSON errors, escaping of everything a client sends, the forms, the
 * rate limit on reports, the per-device recent blocks and their bounds, and the record
 * ring between workers and the web thread. The HTTP side (libmicrohttpd, limits, the
 * real daemon) is tested end to end in tests/integration/test_web_*.py.
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "blocklists/catdb.h"
#include "blocklists/clock.h"
#include "blocklists/conf.h"
#include "blocklists/error.h"
#include "resolver/live.h"
#include "resolver/records.h"
#include "resolver/web_internal.h"

#define NOW 1800000000
#define TOKEN "test-token-0123456789abcdef"

struct fixture {
	char dir[64];
	struct ward_conf *conf;
	struct ward_catdb *db;
	struct ward_shared shared;
	struct ward_policy_state ps;
	struct ward_live live;
	struct ward_web_app app;
	struct ward_web_response resp;
	cJSON *json;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void build_db(struct fixture *f)
{
	struct ward_catdb_build *b;
	assert_int_equal(0, ward_catdb_open(f->dir, WARD_CATDB_WRITE, &f->db));
	assert_int_equal(0, ward_catdb_build_begin(f->db, false, &b));
	assert_int_equal(0, ward_catdb_build_add(b, "casino.example", 14,
						 WARD_CAT(WARD_CAT_GAMBLING), 1, 1));
	assert_int_equal(0, ward_catdb_build_add(b, "abuse.example", 13, WARD_CAT(WARD_CAT_CSAM),
						 1, 1));
	assert_int_equal(0, ward_catdb_build_commit(b));
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char json[1024], err[WARD_CONF_ERR_MAX];
	assert_non_null(f);
	strcpy(f->dir, "/tmp/ward-test-web-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(json, sizeof(json),
		 "{\"upstreams\": [\"192.0.2.53\"], \"database\": \"%s\", \"allow_clients\": "
		 "[\"0.0.0.0/0\", \"::/0\"], \"profiles\": {\"kids\": {\"preset\": \"child\"},"
		 " \"adults\": {\"preset\": \"adult\"}}, \"clients\": [{\"match\": \"10.0.0.9\","
		 " \"profile\": \"adults\"}], \"default_profile\": \"kids\", \"web\": {\"listen\":"
		 " [\"127.0.0.1:8080\"], \"reports_per_hour\": 3}}", f->dir);
	if (ward_conf_parse("web.json", json, strlen(json), &f->conf, err, sizeof(err)))
		fail_msg("%s", err);
	build_db(f);
	f->ps.conf = f->conf;
	f->ps.generation = 1;
	assert_int_equal(0, ward_policy_new(f->conf, &f->ps.policy));
	atomic_store(&f->shared.policy, &f->ps);
	atomic_store(&f->shared.db, f->db);
	atomic_store(&f->shared.local_time, 1u << 16 | 12 * 60);
	ward_live_tick(&f->live, &f->shared, f->conf, f->db, true);
	atomic_store(&f->shared.unix_now, NOW);
	assert_int_equal(0, ward_web_app_init(&f->app, f->conf, &f->shared));
	strcpy(f->app.token, TOKEN);
	f->app.token_len = strlen(TOKEN);
	ward_web_app_refresh(&f->app);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	web_buf_free(&f->resp.body);
	cJSON_Delete(f->json);
	ward_web_app_free(&f->app);
	ward_live_free(&f->live, &f->shared);
	ward_policy_free(f->ps.policy);
	ward_catdb_close(f->db);
	ward_conf_free(f->conf);
	nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

struct args {
	const char *query; /* "name=x&client=y" */
};

static const char *arg(void *ctx, const char *key)
{
	static char values[4][512]; /* as MHD's, each value stays valid for the request */
	static unsigned next;
	const struct args *a = ctx;
	char *value = values[next++ % 4];
	if (!a->query || !web_form_value(a->query, strlen(a->query), key, value, 512))
		return NULL;
	return value;
}

/* One request from `client`; the response stays in f->resp, its JSON (if any) in f->json. */
static unsigned call_from(struct fixture *f, const char *client, const char *method,
			  const char *path, const char *host, const char *auth, const char *body)
{
	char p[512];
	struct args a = {NULL};
	snprintf(p, sizeof(p), "%s", path);
	char *q = strchr(p, '?');
	if (q) {
		*q = '\0';
		a.query = q + 1;
	}
	struct ward_web_request req = {
		.method = method, .path = p, .host = host, .authorization = auth,
		.content_type = body && body[0] == '{' ? "application/json"
			       : body ? "application/x-www-form-urlencoded" : NULL,
		.arg = arg, .arg_ctx = &a, .body = body, .body_len = body ? strlen(body) : 0,
		.port = 8080,
	};
	req.client.v4.sin_family = AF_INET;
	inet_pton(AF_INET, client, &req.client.v4.sin_addr);
	req.client.len = sizeof(req.client.v4);
	web_buf_free(&f->resp.body);
	cJSON_Delete(f->json);
	ward_web_handle(&f->app, &req, &f->resp);
	f->json = f->resp.content_type && strstr(f->resp.content_type, "json")
			  ? cJSON_Parse(f->resp.body.data) : NULL;
	return f->resp.status;
}

static unsigned call(struct fixture *f, const char *method, const char *path, const char *auth,
		     const char *body)
{
	return call_from(f, "10.0.0.5", method, path, "ward.home.arpa:8080", auth, body);
}

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *body(struct fixture *f)
{
	return f->resp.body.data ? f->resp.body.data : "";
}

/* A worker's block of `name` from `client` as the web thread receives it. */
static void blocked(struct fixture *f, const char *client, const char *name)
{
	struct ward_record r = {.unix_s = NOW - 90, .policy_generation = 1, .profile = 0,
				.categories = WARD_CAT(WARD_CAT_GAMBLING), .action = WARD_POLICY_BLOCK,
				.reason = WARD_REASON_CATEGORY, .schedule = 255, .qtype = 1};
	struct in_addr a;
	inet_pton(AF_INET, client, &a);
	r.client[10] = r.client[11] = 0xff;
	memcpy(r.client + 12, &a, 4);
	assert_true(ward_name_from_text(name, r.name, sizeof(r.name)) > 0);
	for (size_t i = 0; i < f->conf->n_profiles; i++)
		if (strcmp(f->conf->profiles[i].name, "kids") == 0)
			r.profile = (uint32_t)i;
	web_recent_add(f->app.recent, &r, false);
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_auth(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(401, call(f, "GET", "/api/v1/status", NULL, NULL));
	assert_true(f->resp.www_authenticate);
	assert_non_null(jstr(f->json, "error"));
	assert_int_equal(401, call(f, "GET", "/api/v1/status", "Basic " TOKEN, NULL));
	assert_int_equal(200, call(f, "GET", "/api/v1/status", "Bearer " TOKEN, NULL));
	assert_string_equal(jstr(f->json, "version"), "0.1.0");
	/* a prefix, a longer string, the right length with one byte off */
	assert_int_equal(403, call(f, "GET", "/api/v1/status", "Bearer test-token", NULL));
	assert_int_equal(403, call(f, "GET", "/api/v1/status", "Bearer " TOKEN "x", NULL));
	assert_int_equal(403, call(f, "GET", "/api/v1/status",
				   "Bearer test-token-0123456789abcdeF", NULL));
	for (int i = 3; i < WARD_WEB_AUTH_FAILURES; i++)
		assert_int_equal(403, call(f, "GET", "/api/v1/overrides", "Bearer nope", NULL));
	/* ten wrong tokens in a minute: even the right one waits */
	assert_int_equal(429, call(f, "GET", "/api/v1/status", "Bearer " TOKEN, NULL));
	atomic_store(&f->shared.unix_now, NOW + 60);
	assert_int_equal(200, call(f, "GET", "/api/v1/status", "Bearer " TOKEN, NULL));
	/* another address was never limited */
	assert_int_equal(200, call_from(f, "10.0.0.6", "GET", "/api/v1/status", NULL,
					"Bearer " TOKEN, NULL));
}

static void test_overrides_api(void **state)
{
	struct fixture *f = *state;
	const char *auth = "Bearer " TOKEN;
	assert_int_equal(201, call(f, "POST", "/api/v1/overrides", auth,
				   "{\"action\":\"allow\",\"name\":\"casino.example\","
				   "\"profile\":\"kids\",\"minutes\":60}"));
	const cJSON *o = cJSON_GetObjectItem(f->json, "override");
	assert_int_equal(cJSON_GetObjectItem(o, "remaining_s")->valueint, 3600);
	assert_int_equal(200, call(f, "GET", "/api/v1/overrides", auth, NULL));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(f->json, "overrides")), 1);
	/* bad JSON, unknown field, wrong types, bad values, missing profile */
	assert_int_equal(400, call(f, "POST", "/api/v1/overrides", auth, "{\"action\":"));
	assert_int_equal(400, call(f, "POST", "/api/v1/overrides", auth, "[1]"));
	assert_int_equal(400, call(f, "POST", "/api/v1/overrides", auth,
				   "{\"action\":\"allow\",\"name\":\"a.example\",\"profile\":\"kids\","
				   "\"minute\":5}"));
	assert_non_null(strstr(jstr(f->json, "error"), "unknown field"));
	assert_int_equal(400, call(f, "POST", "/api/v1/overrides", auth,
				   "{\"action\":\"allow\",\"name\":7,\"profile\":\"kids\"}"));
	assert_int_equal(400, call(f, "POST", "/api/v1/overrides", auth,
				   "{\"action\":\"allow\",\"name\":\"a.example\",\"profile\":\"kids\","
				   "\"minutes\":1.5}"));
	assert_int_equal(400, call(f, "POST", "/api/v1/overrides", auth,
				   "{\"action\":\"allow\",\"name\":\"a.example\"}"));
	assert_int_equal(400, call(f, "POST", "/api/v1/overrides", auth,
				   "{\"action\":\"deny\",\"name\":\"a.example\",\"profile\":\"kids\"}"));
	assert_int_equal(400, call(f, "POST", "/api/v1/overrides", auth, "name=a.example"));
	assert_int_equal(404, call(f, "DELETE", "/api/v1/overrides/77", auth, NULL));
	assert_int_equal(404, call(f, "DELETE", "/api/v1/overrides/x", auth, NULL));
	assert_int_equal(200, call(f, "DELETE", "/api/v1/overrides/1", auth, NULL));
	assert_int_equal(405, call(f, "PUT", "/api/v1/overrides", auth, NULL));
	assert_string_equal(f->resp.allow, "GET, POST");
	assert_int_equal(404, call(f, "GET", "/api/v1/nothing", auth, NULL));
}

static void test_pause_api(void **state)
{
	struct fixture *f = *state;
	const char *auth = "Bearer " TOKEN;
	assert_int_equal(201, call(f, "POST", "/api/v1/profiles/kids/pause", auth,
				   "{\"minutes\":30}"));
	ward_live_tick(&f->live, &f->shared, f->conf, f->db, false);
	ward_web_app_refresh(&f->app);
	assert_int_equal(200, call(f, "GET", "/api/v1/status", auth, NULL));
	const cJSON *p = cJSON_GetArrayItem(cJSON_GetObjectItem(f->json, "profiles"), 0);
	const cJSON *kids = strcmp(jstr(p, "name"), "kids") == 0
		? p : cJSON_GetArrayItem(cJSON_GetObjectItem(f->json, "profiles"), 1);
	assert_int_equal(cJSON_GetObjectItem(kids, "paused_until")->valuedouble, NOW + 1800);
	assert_int_equal(400, call(f, "POST", "/api/v1/profiles/kids/pause", auth, "{}"));
	assert_int_equal(400, call(f, "POST", "/api/v1/profiles/nobody/pause", auth,
				   "{\"minutes\":5}"));
	assert_int_equal(200, call(f, "DELETE", "/api/v1/profiles/kids/pause", auth, NULL));
	assert_int_equal(404, call(f, "DELETE", "/api/v1/profiles/kids/pause", auth, NULL));
}

static void test_reports_flow(void **state)
{
	struct fixture *f = *state;
	const char *auth = "Bearer " TOKEN;
	assert_int_equal(201, call(f, "POST", "/api/v1/reports", NULL,
				   "{\"name\":\"casino.example\",\"kind\":\"wrongly-blocked\","
				   "\"message\":\"<script>alert(1)</script>\"}"));
	const cJSON *r = cJSON_GetObjectItem(f->json, "report");
	assert_string_equal(jstr(r, "category"), "gambling"); /* what blocks it for kids */
	assert_null(cJSON_GetObjectItem(r, "client"));
	assert_int_equal(400, call(f, "POST", "/api/v1/reports", NULL,
				   "{\"name\":\"x.example\",\"kind\":\"other\"}"));
	assert_int_equal(400, call(f, "POST", "/api/v1/reports", NULL, "{\"name\":"));
	if (call(f, "POST", "/api/v1/reports", NULL,
				   "{\"name\":\"bad.example\",\"kind\":\"should-be-blocked\","
				   "\"category\":\"csam\"}") != 201)
		fail_msg("%s", body(f));
	/* three an hour from this address (web.reports_per_hour) */
	assert_int_equal(201, call(f, "POST", "/api/v1/reports", NULL,
				   "{\"name\":\"y.example\",\"kind\":\"wrongly-blocked\"}"));
	assert_int_equal(429, call(f, "POST", "/api/v1/reports", NULL,
				   "{\"name\":\"z.example\",\"kind\":\"wrongly-blocked\"}"));
	assert_int_equal(200, call(f, "GET", "/api/v1/reports?status=pending", auth, NULL));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(f->json, "reports")), 3);
	assert_int_equal(200, call(f, "POST", "/api/v1/reports/1/accept", auth,
				   "{\"minutes\":60}"));
	assert_string_equal(jstr(cJSON_GetObjectItem(f->json, "report"), "status"), "accepted");
	assert_string_equal(jstr(cJSON_GetObjectItem(f->json, "override"), "action"), "allow");
	assert_int_equal(400, call(f, "POST", "/api/v1/reports/1/accept", auth, NULL));
	assert_int_equal(200, call(f, "POST", "/api/v1/reports/2/reject", auth, NULL));
	assert_int_equal(404, call(f, "POST", "/api/v1/reports/9/reject", auth, NULL));
	assert_int_equal(405, call(f, "GET", "/api/v1/reports/2/reject", auth, NULL));
	/* the child sees the answer: on its page and in /api/v1/why, without other clients */
	assert_int_equal(200, call(f, "GET", "/api/v1/why", NULL, NULL));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(f->json, "requests")), 3);
	assert_int_equal(200, call(f, "GET", "/", NULL, NULL));
	assert_non_null(strstr(body(f), "allowed by a parent"));
	assert_null(strstr(body(f), "<script>alert"));
	assert_int_equal(200, call_from(f, "10.0.0.7", "GET", "/api/v1/why", NULL, NULL, NULL));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(f->json, "requests")), 0);
}

static void test_block_page(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(403, call_from(f, "10.0.0.5", "GET", "/any/path?x=1", "casino.example",
					NULL, NULL));
	assert_non_null(strstr(body(f), "gambling (betting and casinos)"));
	assert_non_null(strstr(body(f), "action=\"http://ward.home.arpa:8080/ask\""));
	assert_non_null(strstr(body(f), "<dt>Profile</dt><dd>kids</dd>"));
	/* another profile's device: not blocked */
	if (call_from(f, "10.0.0.9", "GET", "/", "casino.example", NULL, NULL) != 200)
		fail_msg("%s", body(f));
	assert_non_null(strstr(body(f), "Not blocked"));
	/* enforced: no way to ask, the hotline instead */
	assert_int_equal(403, call_from(f, "10.0.0.9", "GET", "/", "www.abuse.example:80", NULL,
					NULL));
	assert_non_null(strstr(body(f), "Blocked for everyone"));
	assert_null(strstr(body(f), "/ask"));
	assert_non_null(strstr(body(f), "inhope.org"));
	/* a Host that is no name is not echoed as markup */
	assert_int_equal(400, call_from(f, "10.0.0.5", "GET", "/", "<script>x</script>.example",
					NULL, NULL));
	assert_null(strstr(body(f), "<script>x"));
	assert_int_equal(400, call_from(f, "10.0.0.5", "GET", "/", "a..b", NULL, NULL));
}

static void test_forms(void **state)
{
	struct fixture *f = *state;
	blocked(f, "10.0.0.5", "casino.example");
	assert_int_equal(200, call(f, "GET", "/", NULL, NULL));
	assert_non_null(strstr(body(f), "casino.example"));
	assert_non_null(strstr(body(f), "1 min ago"));
	assert_int_equal(200, call(f, "POST", "/ask", NULL,
				   "name=casino.example&message=%3Cb%3Ehomework%3C%2Fb%3E+please"));
	assert_non_null(strstr(body(f), "Your request was sent"));
	assert_int_equal(200, call(f, "POST", "/report", NULL,
				   "name=abuse2.example&category=csam&message="));
	assert_non_null(strstr(body(f), "inhope.org"));
	assert_int_equal(400, call(f, "POST", "/report", NULL, "name=x.example&category=nope"));
	assert_int_equal(400, call(f, "POST", "/ask", NULL, "message=hi"));
	assert_int_equal(405, call(f, "GET", "/ask", NULL, NULL));
	assert_int_equal(200, call(f, "GET", "/", NULL, NULL));
	assert_non_null(strstr(body(f), "waiting for a parent"));
	assert_int_equal(200, call(f, "GET", "/api/v1/reports", "Bearer " TOKEN, NULL));
	const cJSON *list = cJSON_GetObjectItem(f->json, "reports");
	assert_string_equal(jstr(cJSON_GetArrayItem(list, 1), "message"), "<b>homework</b> please");
	/* where a parent reads it, the admin page sets it as text (admin.js), and the child's
	 * pages escape it */
	assert_int_equal(429, call(f, "POST", "/ask", NULL, "name=more.example"));
	assert_non_null(strstr(body(f), "a lot of requests"));
}

static void test_static_and_routing(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(200, call(f, "GET", "/admin", NULL, NULL));
	assert_non_null(strstr(body(f), "/static/admin.js"));
	assert_int_equal(200, call(f, "GET", "/static/admin.js", NULL, NULL));
	assert_string_equal(f->resp.content_type, "text/javascript; charset=utf-8");
	assert_null(strstr(body(f), "innerHTML"));
	assert_int_equal(200, call(f, "GET", "/static/style.css", NULL, NULL));
	assert_int_equal(404, call(f, "GET", "/static/../../etc/passwd", NULL, NULL));
	assert_int_equal(404, call(f, "GET", "/nothing", NULL, NULL));
	assert_int_equal(405, call(f, "DELETE", "/", NULL, NULL));
	/* ward's own name, an address and no Host are ward's pages, not a block page */
	assert_int_equal(200, call_from(f, "10.0.0.5", "GET", "/", "127.0.0.1:8080", NULL, NULL));
	assert_int_equal(200, call_from(f, "10.0.0.5", "GET", "/", "[::1]:8080", NULL, NULL));
	assert_int_equal(200, call_from(f, "10.0.0.5", "GET", "/", NULL, NULL, NULL));
	assert_int_equal(200, call_from(f, "10.0.0.5", "GET", "/", "WARD.home.arpa.", NULL, NULL));
}

static void test_lookup_api(void **state)
{
	struct fixture *f = *state;
	const char *auth = "Bearer " TOKEN;
	assert_int_equal(200, call(f, "GET", "/api/v1/lookup?name=www.casino.example&client=10.0.0.5",
				   auth, NULL));
	assert_string_equal(jstr(f->json, "action"), "block");
	assert_string_equal(jstr(f->json, "profile"), "kids");
	assert_string_equal(jstr(f->json, "reason"), "category");
	assert_int_equal(200, call(f, "GET", "/api/v1/lookup?name=casino.example&client=10.0.0.9",
				   auth, NULL));
	assert_string_equal(jstr(f->json, "action"), "forward");
	assert_int_equal(400, call(f, "GET", "/api/v1/lookup?name=casino.example", auth, NULL));
	assert_int_equal(400, call(f, "GET", "/api/v1/lookup?client=10.0.0.9&name=a%20b", auth,
				   NULL));
}

/* ---- the pieces -------------------------------------------------------------------------------- */

static void test_escape_and_forms(void **state)
{
	struct web_buf b;
	char out[32];
	web_buf_init(&b, 64);
	web_buf_html(&b, "<a href=\"x\">'&'</a>");
	assert_string_equal(b.data, "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
	web_buf_puts(&b, "0123456789012345678901234567890123456789");
	assert_true(b.failed); /* past its maximum: the response becomes a 500 */
	web_buf_free(&b);
	const char *form = "a=1&name=x%41y+z&nul=%00&bad=%zz&name=second";
	assert_true(web_form_value(form, strlen(form), "name", out, sizeof(out)));
	assert_string_equal(out, "xAy z");
	assert_true(web_form_value(form, strlen(form), "nul", out, sizeof(out)));
	assert_string_equal(out, "?");
	assert_true(web_form_value(form, strlen(form), "bad", out, sizeof(out)));
	assert_string_equal(out, "%zz");
	assert_false(web_form_value(form, strlen(form), "nam", out, sizeof(out)));
	assert_true(web_form_value("k=0123456789", 12, "k", out, 5));
	assert_string_equal(out, "0123");
}

static void test_recent_bounds(void **state)
{
	struct web_recent *r = web_recent_new();
	struct ward_record rec = {.action = WARD_POLICY_BLOCK}, out[WARD_WEB_RECENT_PER_CLIENT + 5];
	uint8_t key[16] = {0};
	char name[64];
	for (int i = 0; i < WARD_WEB_RECENT_PER_CLIENT + 5; i++) {
		snprintf(name, sizeof(name), "n%d.example", i);
		ward_name_from_text(name, rec.name, sizeof(rec.name));
		rec.unix_s = i;
		web_recent_add(r, &rec, false);
	}
	size_t n = web_recent_get(r, key, out, WARD_WEB_RECENT_PER_CLIENT + 5);
	assert_int_equal(n, WARD_WEB_RECENT_PER_CLIENT);
	assert_int_equal(out[0].unix_s, WARD_WEB_RECENT_PER_CLIENT + 4);
	/* the same name again moves to the front, no duplicate */
	ward_name_from_text("n10.example", rec.name, sizeof(rec.name));
	rec.unix_s = 1000;
	web_recent_add(r, &rec, false);
	assert_int_equal(web_recent_get(r, key, out, 64), WARD_WEB_RECENT_PER_CLIENT);
	assert_int_equal(out[0].unix_s, 1000);
	/* more devices than the bound: the least recently blocked one goes */
	for (uint32_t i = 1; i <= WARD_WEB_RECENT_CLIENTS; i++) {
		memcpy(rec.client, &i, sizeof(i));
		rec.unix_s = 2000 + i;
		web_recent_add(r, &rec, false);
	}
	assert_int_equal(web_recent_get(r, key, out, 64), 0);
	uint32_t last = WARD_WEB_RECENT_CLIENTS;
	memcpy(key, &last, sizeof(last));
	assert_int_equal(web_recent_get(r, key, out, 64), 1);
	web_recent_free(r);
}

static void test_ring(void **state)
{
	struct ward_record_ring *ring = ward_ring_new();
	struct ward_record out;
	assert_false(ward_ring_pop(ring, &out));
	for (int i = 0; i < WARD_RING_SLOTS + 10; i++) {
		struct ward_record *r = ward_ring_reserve(ring);
		if (!r)
			continue;
		r->unix_s = i;
		ward_ring_commit(ring);
	}
	assert_int_equal(ward_ring_dropped(ring), 10);
	for (int i = 0; i < WARD_RING_SLOTS; i++) {
		assert_true(ward_ring_pop(ring, &out));
		assert_int_equal(out.unix_s, i);
	}
	assert_false(ward_ring_pop(ring, &out));
	ward_ring_free(ring);
}

static void test_limiter(void **state)
{
	struct web_limiter *l = web_limiter_new(2, 2); /* two an hour */
	uint8_t a[16] = {1}, b[16] = {2};
	assert_true(web_limiter_take(l, a, NOW));
	assert_true(web_limiter_take(l, a, NOW));
	assert_false(web_limiter_take(l, a, NOW + 100));
	assert_true(web_limiter_take(l, b, NOW));
	assert_true(web_limiter_take(l, a, NOW + 1800)); /* one back after half an hour */
	assert_false(web_limiter_take(l, a, NOW + 1801));
	web_limiter_free(l);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_auth),
		T(test_overrides_api),
		T(test_pause_api),
		T(test_reports_flow),
		T(test_block_page),
		T(test_forms),
		T(test_static_and_routing),
		T(test_lookup_api),
		cmocka_unit_test(test_escape_and_forms),
		cmocka_unit_test(test_recent_bounds),
		cmocka_unit_test(test_ring),
		cmocka_unit_test(test_limiter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
