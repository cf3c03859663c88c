/*
 * The web listener's application (web_internal.h): state, the views of the policy and
 * overrides it shares with the workers, the recent blocks it collects from them, and the
 * routing of every request.
 *
 * Routing: a request whose Host is web.hostname (or an IP address, or absent) is for
 * ward's own pages: the home page (this device's recent blocks), the forms, the admin UI,
 * its static files and the JSON API. Any other Host reached us through a sinkhole
 * answer, so it gets the block page for that name, whatever the path.
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blocklists/admin.h"
#include "blocklists/clock.h"
#include "blocklists/error.h"
#include "blocklists/log.h"
#include "resolver/web_internal.h"

#define WARD_VERSION_TEXT "0.1.0"

int ward_web_app_init(struct ward_web_app *app, const struct ward_conf *boot,
		      struct ward_shared *shared)
{
	memset(app, 0, sizeof(*app));
	app->boot = boot;
	app->shared = shared;
	atomic_store(&app->seen_generation, UINT64_MAX);
	atomic_store(&app->seen_overrides, UINT64_MAX);
	app->recent = web_recent_new();
	app->report_limit = web_limiter_new(boot->web.reports_per_hour, boot->web.reports_per_hour);
	app->auth_limit = web_limiter_new(WARD_WEB_AUTH_FAILURES, WARD_WEB_AUTH_FAILURES * 60);
	app->started = ward_clock_now();
	snprintf(app->version, sizeof(app->version), "%s", WARD_VERSION_TEXT);
	if (!app->recent || !app->report_limit || !app->auth_limit) {
		ward_web_app_free(app);
		return WARD_ENOMEM;
	}
	return 0;
}

void ward_web_app_free(struct ward_web_app *app)
{
	ward_catdb_reader_free(app->reader);
	web_recent_free(app->recent);
	web_limiter_free(app->report_limit);
	web_limiter_free(app->auth_limit);
	memset(app, 0, sizeof(*app));
}

/* A MAC in a record counts only when the query came from a trusted forwarder. */
static bool trusted_mac(const struct ward_conf *conf, const struct ward_record *rec)
{
	struct ward_addr a = {0};
	if (!rec->has_mac || !conf)
		return false;
	a.v6.sin6_family = AF_INET6;
	memcpy(&a.v6.sin6_addr, rec->client, 16);
	a.len = sizeof(a.v6);
	for (size_t i = 0; i < conf->n_trusted_forwarders; i++)
		if (ward_cidr_contains(&conf->trusted_forwarders[i], &a.sa))
			return true;
	return false;
}

static void drain_rings(struct ward_web_app *app)
{
	struct ward_record rec;
	const struct ward_conf *conf = app->ps ? app->ps->conf : NULL;
	for (unsigned i = 0; i < app->n_workers; i++) {
		struct ward_record_ring *ring = app->workers[i].records;
		/* A bounded batch per turn, so a flood of blocks cannot starve the requests. */
		for (int n = 0; ring && n < WARD_RING_SLOTS && ward_ring_pop(ring, &rec); n++) {
			web_recent_add(app->recent, &rec, trusted_mac(conf, &rec));
			app->records++;
		}
	}
}

void ward_web_app_refresh(struct ward_web_app *app)
{
	app->ps = atomic_load_explicit(&app->shared->policy, memory_order_acquire);
	app->ov = atomic_load_explicit(&app->shared->overrides, memory_order_acquire);
	atomic_store(&app->seen_generation, app->ps ? app->ps->generation : 0);
	atomic_store(&app->seen_overrides, app->ov ? app->ov->seq : 0);
	drain_rings(app);
}

/* ---- helpers the pages and the API share -------------------------------------------------- */

void web_json(struct ward_web_response *resp, unsigned status, void *cjson)
{
	char *text = cJSON_PrintUnformatted(cjson);
	cJSON_Delete(cjson);
	resp->status = text ? status : 500;
	resp->content_type = "application/json";
	resp->cache = "no-store";
	web_buf_puts(&resp->body, text ? text : "{\"error\": \"out of memory\"}");
	web_buf_puts(&resp->body, "\n");
	free(text);
}

void web_json_error(struct ward_web_response *resp, unsigned status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "error", msg);
	web_json(resp, status, o);
}

/* The Host header without its port: "name", "name:80", "1.2.3.4:80", "[::1]:8080". */
static void host_name(const char *host, char *out, size_t cap)
{
	size_t n = strlen(host);
	if (host[0] == '[') {
		const char *end = strchr(host, ']');
		n = end ? (size_t)(end - host - 1) : 0;
		host++;
	} else {
		const char *colon = strchr(host, ':');
		if (colon)
			n = (size_t)(colon - host);
	}
	if (n >= cap)
		n = 0; /* not a host name anyone could have asked DNS for */
	memcpy(out, host, n);
	out[n] = '\0';
	if (n && out[n - 1] == '.')
		out[n - 1] = '\0';
}

bool web_is_ward_host(const struct ward_web_app *app, const char *host)
{
	char name[256];
	struct in6_addr a6;
	if (!host || !*host)
		return true;
	host_name(host, name, sizeof(name));
	return strcasecmp(name, app->boot->web.hostname) == 0 || strcmp(name, "localhost") == 0 ||
	       inet_pton(AF_INET, name, &a6) == 1 || inet_pton(AF_INET6, name, &a6) == 1;
}

size_t web_client_profile(const struct ward_web_app *app, const struct ward_addr *client)
{
	if (!app->ps)
		return (size_t)-1;
	return ward_policy_profile_for(app->ps->policy, &client->sa, NULL, NULL);
}

void web_client_text(const struct ward_addr *a, char *buf, size_t cap)
{
	const void *src = a->sa.sa_family == AF_INET6 ? (const void *)&a->v6.sin6_addr
						      : (const void *)&a->v4.sin_addr;
	if (!inet_ntop(a->sa.sa_family, src, buf, (socklen_t)cap))
		snprintf(buf, cap, "?");
}

void web_now(const struct ward_web_app *app, struct ward_policy_time *now)
{
	uint32_t packed = atomic_load(&app->shared->local_time);
	now->wday = (uint8_t)(packed >> 16);
	now->minute = (uint16_t)packed;
	now->unix_s = atomic_load(&app->shared->unix_now);
}

void web_base_url(const struct ward_web_app *app, uint16_t port, char *buf, size_t cap)
{
	if (port == 80 || port == 0)
		snprintf(buf, cap, "http://%s", app->boot->web.hostname);
	else
		snprintf(buf, cap, "http://%s:%u", app->boot->web.hostname, port);
}

bool web_admin_init(struct ward_web_app *app, const struct ward_web_request *req,
		    struct ward_admin *a)
{
	static _Thread_local char source[80];
	char client[64];
	memset(a, 0, sizeof(*a));
	a->db = atomic_load(&app->shared->db);
	a->conf = app->ps ? app->ps->conf : NULL;
	a->now = atomic_load(&app->shared->unix_now);
	web_client_text(&req->client, client, sizeof(client));
	snprintf(source, sizeof(source), "api %s", client);
	a->source = source;
	return a->db && a->conf;
}

bool web_admin(struct ward_web_app *app, const struct ward_web_request *req,
	       struct ward_admin *a, struct ward_web_response *resp)
{
	if (web_admin_init(app, req, a))
		return true;
	web_json_error(resp, 503, "the database is not open yet");
	return false;
}

/* The web thread's reader: opened on first use, renewed per request. */
struct ward_catdb_reader *web_reader(struct ward_web_app *app)
{
	struct ward_catdb *db = atomic_load(&app->shared->db);
	if (!db)
		return NULL;
	if (app->reader && app->reader_db == db) {
		if (ward_catdb_reader_refresh(app->reader) == 0)
			return app->reader;
		return NULL;
	}
	ward_catdb_reader_free(app->reader);
	app->reader = NULL;
	if (ward_catdb_reader_new(db, &app->reader) != 0)
		return NULL;
	app->reader_db = db;
	return app->reader;
}

bool web_decide(struct ward_web_app *app, const uint8_t *name, size_t profile,
		struct ward_policy_verdict *v)
{
	struct ward_policy_time now;
	if (!app->ps)
		return false;
	web_now(app, &now);
	struct ward_catdb_reader *r = web_reader(app);
	ward_policy_decide(app->ps->policy, r, app->ov ? app->ov->table : NULL, profile, name,
			   &now, v);
	ward_policy_explain(app->ps->policy, r, v);
	return true;
}

/* The MAC of an IPv4 neighbour from the kernel's ARP table, when wardd runs on the
 * router that forwards the devices' DNS with their MACs. */
static bool arp_mac(const struct ward_addr *client, uint8_t mac[6])
{
	char ip[INET_ADDRSTRLEN], line[256], addr[64], hw[64];
	unsigned flags;
	if (client->sa.sa_family != AF_INET)
		return false;
	inet_ntop(AF_INET, &client->v4.sin_addr, ip, sizeof(ip));
	FILE *f = fopen("/proc/net/arp", "r");
	bool found = false;
	while (f && !found && fgets(line, sizeof(line), f)) {
		unsigned m[6];
		if (sscanf(line, "%63s %*s %x %63s", addr, &flags, hw) != 3 || strcmp(addr, ip) ||
		    sscanf(hw, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6)
			continue;
		for (int i = 0; i < 6; i++)
			mac[i] = (uint8_t)m[i];
		found = (flags & 0x2) != 0; /* ATF_COM: a complete entry */
	}
	if (f)
		fclose(f);
	return found;
}

size_t web_device_keys(const struct ward_addr *client, uint8_t keys[2][16])
{
	uint8_t mac[6];
	web_addr_key(client, keys[0]);
	if (!arp_mac(client, mac))
		return 1;
	web_mac_key(mac, keys[1]);
	return 2;
}

/* ---- routing ---------------------------------------------------------------------------------- */

static bool is(const struct ward_web_request *req, const char *method)
{
	return strcmp(req->method, method) == 0;
}

static void method_not_allowed(struct ward_web_response *resp, const char *allow)
{
	resp->allow = allow;
	web_json_error(resp, 405, "method not allowed");
}

static void not_found(struct ward_web_response *resp)
{
	resp->status = 404;
	resp->content_type = "text/plain; charset=utf-8";
	web_buf_puts(&resp->body, "not found\n");
}

/* ward's own pages on web.hostname. */
static void route_ward(struct ward_web_app *app, const struct ward_web_request *req,
		       struct ward_web_response *resp)
{
	const char *p = req->path;
	if (strncmp(p, "/api/", 5) == 0) {
		web_api(app, req, resp);
		return;
	}
	if (strcmp(p, "/ask") == 0 || strcmp(p, "/report") == 0) {
		if (is(req, "POST"))
			web_page_ask(app, req, resp, p[1] == 'r');
		else
			method_not_allowed(resp, "POST");
		return;
	}
	if (!is(req, "GET") && !is(req, "HEAD")) {
		method_not_allowed(resp, "GET, HEAD");
		return;
	}
	if (strcmp(p, "/") == 0 || strcmp(p, "/why") == 0) {
		web_page_home(app, req, resp);
		return;
	}
	if (strcmp(p, "/admin") == 0 || strcmp(p, "/admin/") == 0)
		p = "/admin.html";
	if (!web_static(p, resp))
		not_found(resp);
}

void ward_web_handle(struct ward_web_app *app, const struct ward_web_request *req,
		     struct ward_web_response *resp)
{
	memset(resp, 0, sizeof(*resp));
	web_buf_init(&resp->body, WARD_WEB_PAGE_MAX);
	resp->status = 200;
	resp->cache = "no-store";
	app->requests++;
	if (web_is_ward_host(app, req->host))
		route_ward(app, req, resp);
	else
		web_page_block(app, req, resp);
	if (resp->body.failed) {
		web_buf_free(&resp->body);
		web_buf_init(&resp->body, WARD_WEB_PAGE_MAX);
		resp->status = 500;
		resp->content_type = "text/plain; charset=utf-8";
		web_buf_puts(&resp->body, "the answer grew too large\n");
	}
}
