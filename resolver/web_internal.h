/*
 * The web listener's application, apart from the HTTP library: what web.c (the
 * libmicrohttpd side), web_app.c (routing, auth, limits), web_api.c (JSON), web_pages.c
 * (HTML), web_recent.c (per-device recent blocks) and the tests share.
 *
 * ward_web_handle() takes a request that web.c assembled (bounded: headers by MHD's
 * memory pool, the body by WARD_WEB_BODY_MAX) and fills a response; it never blocks on
 * the DNS workers. Unit tests and the fuzz target call it directly, without sockets.
 * Everything here runs on the web thread only.
 */
#ifndef WARD_WEB_INTERNAL_H
#define WARD_WEB_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blocklists/catdb.h"
#include "blocklists/conf.h"
#include "resolver/records.h"
#include "resolver/worker.h"

#define WARD_WEB_BODY_MAX (16 * 1024)     /* a request body; more is 413 */
#define WARD_WEB_PAGE_MAX (1024 * 1024)   /* the largest response built */
#define WARD_WEB_TOKEN_MAX 256
#define WARD_WEB_RECENT_CLIENTS 1024      /* devices whose recent blocks are kept */
#define WARD_WEB_RECENT_PER_CLIENT 20     /* distinct names kept per device */
#define WARD_WEB_AUTH_FAILURES 10         /* wrong tokens per client and minute */

/* ---- a bounded output buffer ----------------------------------------------------------- */

struct web_buf {
	char *data;
	size_t len, cap, max;
	bool failed;           /* out of memory or past max: the response becomes a 500 */
};

void web_buf_init(struct web_buf *b, size_t max);
void web_buf_free(struct web_buf *b);
void web_buf_put(struct web_buf *b, const void *data, size_t n);
void web_buf_puts(struct web_buf *b, const char *s);
void web_buf_printf(struct web_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Text with & < > " ' escaped: safe in element content and quoted attributes. */
void web_buf_html(struct web_buf *b, const char *text);

/* ---- per-client state: recent blocks, rate limits ----------------------------------------- */

/* A device is keyed by its address (IPv6, IPv4 mapped) or, for queries a trusted router
 * forwarded with its MAC, by that MAC (web_mac_key). */
void web_addr_key(const struct ward_addr *a, uint8_t key[16]);
void web_mac_key(const uint8_t mac[6], uint8_t key[16]);

struct web_recent;
struct web_recent *web_recent_new(void);
void web_recent_free(struct web_recent *r);
/* Remember a block under its client's key (and its MAC's, when trusted_mac). */
void web_recent_add(struct web_recent *r, const struct ward_record *rec, bool trusted_mac);
/* The device's recent blocks, newest first, one per name. @return how many. */
size_t web_recent_get(struct web_recent *r, const uint8_t key[16], struct ward_record *out,
		      size_t cap);

/* Token buckets per client: `capacity` at most, refilled at `per_hour`. Bounded: a
 * fixed table, the least recently used bucket is reused for a new client. */
struct web_limiter;
struct web_limiter *web_limiter_new(double capacity, double per_hour);
void web_limiter_free(struct web_limiter *l);
/* Take one token for key at unix second now. @return false when none is left. */
bool web_limiter_take(struct web_limiter *l, const uint8_t key[16], int64_t now);
/* Is a token left (none taken)? */
bool web_limiter_has(struct web_limiter *l, const uint8_t key[16], int64_t now);

/* ---- the application ------------------------------------------------------------------------ */

struct ward_web_app {
	const struct ward_conf *boot;        /* web.* (listen addresses, names, limits) */
	struct ward_shared *shared;          /* policy, overrides, database, clocks */
	struct ward_policy_state *ps;        /* taken by ward_web_app_refresh() */
	struct ward_override_state *ov;
	_Atomic uint64_t seen_generation, seen_overrides;
	struct ward_catdb *reader_db;        /* the database `reader` belongs to */
	struct ward_catdb_reader *reader;
	char token[WARD_WEB_TOKEN_MAX + 1];
	size_t token_len;
	struct web_recent *recent;
	struct web_limiter *report_limit, *auth_limit;
	struct ward_worker *workers;         /* their record rings */
	unsigned n_workers;
	int64_t started;                     /* unix seconds */
	uint64_t requests, records;
	char version[16];
};

int ward_web_app_init(struct ward_web_app *app, const struct ward_conf *boot,
		      struct ward_shared *shared);
void ward_web_app_free(struct ward_web_app *app);
/* Take the policy and overrides in force now (and say so for retiring); drain the
 * workers' rings into the recent-block store. Called by web.c each loop turn. */
void ward_web_app_refresh(struct ward_web_app *app);

/* A request as web.c hands it over. */
struct ward_web_request {
	const char *method;            /* "GET", "POST", ... */
	const char *path;              /* without the query string, %-decoded by MHD */
	const char *host;              /* Host header or NULL */
	const char *authorization;     /* Authorization header or NULL */
	const char *content_type;      /* Content-Type header or NULL */
	/* A query-string argument, or NULL. */
	const char *(*arg)(void *arg_ctx, const char *key);
	void *arg_ctx;
	const char *body;              /* NUL-terminated copy, body_len bytes */
	size_t body_len;
	struct ward_addr client;
	uint16_t port;                 /* the listener's port, for links to ward's pages */
};

struct ward_web_response {
	unsigned status;
	const char *content_type;
	struct web_buf body;
	const char *cache;             /* Cache-Control value */
	const char *allow;             /* Allow header for a 405, or NULL */
	bool www_authenticate;         /* 401: ask for a Bearer token */
};

/* Route and answer one request; resp->body is initialized here (free it). */
void ward_web_handle(struct ward_web_app *app, const struct ward_web_request *req,
		     struct ward_web_response *resp);

/* ---- the parts (web_app.c, web_api.c, web_pages.c) ------------------------------------------ */

/* A JSON body for resp from a cJSON object (deleted here). */
void web_json(struct ward_web_response *resp, unsigned status, void *cjson);
void web_json_error(struct ward_web_response *resp, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Is the request for ward's own pages (Host is web.hostname or an address)? */
bool web_is_ward_host(const struct ward_web_app *app, const char *host);
/* The profile for the client of req (its address; a MAC is never known here). */
size_t web_client_profile(const struct ward_web_app *app, const struct ward_addr *client);
/* "192.168.1.20" */
void web_client_text(const struct ward_addr *a, char *buf, size_t cap);
/* The moment for decisions, from the main thread's published clocks. */
void web_now(const struct ward_web_app *app, struct ward_policy_time *now);
/* "http://ward.home.arpa" or "http://ward.home.arpa:8080". */
void web_base_url(const struct ward_web_app *app, uint16_t port, char *buf, size_t cap);
/* A writer's context for blocklists/admin.h; false (and a 5xx written) without a db. */
struct ward_admin;
bool web_admin_init(struct ward_web_app *app, const struct ward_web_request *req,
		    struct ward_admin *a);
bool web_admin(struct ward_web_app *app, const struct ward_web_request *req,
	       struct ward_admin *a, struct ward_web_response *resp);
/* The web thread's database reader, renewed (NULL without a database). */
struct ward_catdb_reader *web_reader(struct ward_web_app *app);
/* The verdict for a name and profile now (fills v; false when no policy is loaded). */
bool web_decide(struct ward_web_app *app, const uint8_t *name, size_t profile,
		struct ward_policy_verdict *v);
/* The device keys of a client address: its address, and its MAC from the ARP table when
 * known. @return how many keys (1 or 2). */
size_t web_device_keys(const struct ward_addr *client, uint8_t keys[2][16]);

void web_api(struct ward_web_app *app, const struct ward_web_request *req,
	     struct ward_web_response *resp);
/* The child's side of the API: POST /api/v1/reports and GET /api/v1/why (web_pages.c). */
void web_api_report(struct ward_web_app *app, const struct ward_web_request *req,
		    struct ward_web_response *resp);
void web_api_why(struct ward_web_app *app, const struct ward_web_request *req,
		 struct ward_web_response *resp);
void web_page_block(struct ward_web_app *app, const struct ward_web_request *req,
		    struct ward_web_response *resp);
void web_page_home(struct ward_web_app *app, const struct ward_web_request *req,
		   struct ward_web_response *resp);
void web_page_ask(struct ward_web_app *app, const struct ward_web_request *req,
		  struct ward_web_response *resp, bool report);
/* A static file built into the binary (resolver/web/), or false. */
bool web_static(const char *path, struct ward_web_response *resp);

/* Words for a category ("gambling (betting and casinos)"), for the child's pages. */
const char *web_category_words(const struct ward_conf *conf, unsigned bit, char *buf,
			       size_t cap);

/* application/x-www-form-urlencoded: the value of `key` decoded into out (at most cap-1
 * bytes). @return true when present. */
bool web_form_value(const char *body, size_t len, const char *key, char *out, size_t cap);

#endif
