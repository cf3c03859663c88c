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

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blocklists/catdb.h"
#include "blocklists/conf.h"
#include "resolver/obs.h"
#include "resolver/records.h"
#include "resolver/stats.h"
#include "resolver/worker.h"

#define WARD_WEB_BODY_MAX (16 * 1024)     /* a request body; more is 413 */
#define WARD_WEB_CONFIG_MAX (1024 * 1024) /* PUT /api/v1/config with the token, and the
					     largest config file the API reads */
#define WARD_WEB_PAGE_MAX (1024 * 1024)   /* the largest response built */
#define WARD_WEB_TOKEN_MAX 256
#define WARD_WEB_RECENT_CLIENTS 1024      /* devices whose recent blocks are kept */
#define WARD_WEB_RECENT_PER_CLIENT 20     /* distinct names kept per device */
#define WARD_WEB_AUTH_FAILURES 10         /* wrong tokens per client and minute */
#define WARD_WEB_ETAG_SIZE 48

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
	struct ward_worker *workers;         /* their statistics */
	unsigned n_workers;
	struct ward_obs *obs;                /* counts, top names, today, the query log */
	int64_t started;                     /* unix seconds */
	uint64_t requests;
	_Atomic uint64_t records;            /* blocks the observer handed over */
	char version[16];
	/* The config API (web_config.c): the file, and the main thread's reloads. */
	const char *config_file;             /* NULL: the built-in config */
	pthread_mutex_t reload_lock;         /* guards reload_request against its removal */
	void (*reload_request)(void *ctx);
	void *reload_ctx;
	_Atomic uint64_t reload_started, reload_done;
	_Atomic int reload_rc;               /* of reload number reload_done */
};

int ward_web_app_init(struct ward_web_app *app, const struct ward_conf *boot,
		      struct ward_shared *shared);
void ward_web_app_free(struct ward_web_app *app);
/* ward_web_set_reloader / ward_web_reload_begin / ward_web_reload_end (web.h). */
void web_app_set_reloader(struct ward_web_app *app, void (*request)(void *ctx), void *ctx);
uint64_t web_app_reload_begin(struct ward_web_app *app);
void web_app_reload_end(struct ward_web_app *app, uint64_t n, int rc);
/* Take the policy and overrides in force now (and say so for retiring). Called by web.c
 * each loop turn. */
void ward_web_app_refresh(struct ward_web_app *app);
/* A block the observer thread hands over (its thread): into the recent-block store. */
void ward_web_app_note_block(struct ward_web_app *app, const struct ward_record *rec);

/* A request as web.c hands it over. */
struct ward_web_request {
	const char *method;            /* "GET", "POST", ... */
	const char *path;              /* without the query string, %-decoded by MHD */
	const char *host;              /* Host header or NULL */
	const char *authorization;     /* Authorization header or NULL */
	const char *content_type;      /* Content-Type header or NULL */
	const char *if_match;          /* If-Match header or NULL */
	/* A query-string argument, or NULL. */
	const char *(*arg)(void *arg_ctx, const char *key);
	void *arg_ctx;
	const char *body;              /* NUL-terminated copy, body_len bytes */
	size_t body_len;
	struct ward_addr client;
	uint16_t port;                 /* the listener's port, for links to ward's pages */
	bool metrics_only;             /* a metrics_listen address: GET /metrics, no token */
};

struct ward_web_response {
	unsigned status;
	const char *content_type;
	struct web_buf body;
	const char *cache;             /* Cache-Control value */
	const char *allow;             /* Allow header for a 405, or NULL */
	bool www_authenticate;         /* 401: ask for a Bearer token */
	char etag[WARD_WEB_ETAG_SIZE]; /* an ETag header when not empty */
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
size_t web_client_profile(struct ward_web_app *app, const struct ward_addr *client);
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
/* Does the Authorization header carry the admin token? (No rate limit: web.c asks it
 * to allow a config-sized body before the request is routed.) */
bool web_token_ok(const struct ward_web_app *app, const char *authorization);
/* The largest body this request may send (web.c, before reading it). */
size_t web_body_limit(const struct ward_web_app *app, const char *method, const char *path,
		      const char *authorization);

/* ---- the config API and setup (web_config.c) ------------------------------------------------- */

/* GET and PUT /api/v1/config. */
void web_api_config(struct ward_web_app *app, const struct ward_web_request *req,
		    struct ward_web_response *resp);
/* GET /api/v1/setup: what the wizard and the profile editor need to know. */
void web_api_setup(struct ward_web_app *app, const struct ward_web_request *req,
		   struct ward_web_response *resp);
/* GET /api/v1/test?client=IP: a listed name blocked for that device, with its verdict. */
void web_api_test(struct ward_web_app *app, const struct ward_web_request *req,
		  struct ward_web_response *resp);
/*
 * Validate `text` as the new config, write it in place of the file (If-Match: if_match,
 * NULL for none) and apply it; resp gets 200 with the new ETag, or the failure
 * (400 with every error and its field, 412 stale, 409 no file, 500). The device API's
 * changes go through here too.
 * @param answer  a cJSON object the success answer is added to (taken; NULL: a new one)
 * @return true when written.
 */
bool web_config_replace(struct ward_web_app *app, const char *text, size_t len,
			const char *if_match, void *answer, struct ward_web_response *resp);

struct ward_lease;

/*
 * The one name a device is shown with on every admin page (the dashboard's rows, recent
 * blocks and query log through /api/v1/stats, and the device list): its own clients
 * entry's name (by MAC, or for exactly its address), else the host name it gave the DHCP
 * server, else the name of a range entry it falls in (a group's name says less about the
 * device than its own host name). NULL when there is none: the page shows its address.
 * @param lease  its lease (web_device_lease), or NULL
 */
const char *web_device_name(const struct ward_conf *conf, const struct ward_device *d,
			    const struct ward_lease *lease);

/* The device's unexpired lease: by MAC when a trusted forwarder sent it, else by the
 * address it asks from. NULL when none. */
const struct ward_lease *web_device_lease(const struct ward_lease *leases, size_t n,
					  int64_t now, const struct ward_device *d);

/* GET /api/v1/devices, PUT and DELETE /api/v1/devices/ID (web_devices.c). */
void web_api_devices(struct ward_web_app *app, const struct ward_web_request *req,
		     const char *id, struct ward_web_response *resp);
/* The config file as it is now (free *text): false with resp filled (404/409/500). */
bool web_config_read(struct ward_web_app *app, char **text, size_t *len,
		     char etag[WARD_WEB_ETAG_SIZE], struct ward_web_response *resp);
/* The admin token check (401, 403, 429 written when false). */
bool web_authorized(struct ward_web_app *app, const struct ward_web_request *req,
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

/* What /api/v1/stats and /metrics show (web_stats.c). */
struct web_facts {
	const struct ward_conf *conf;        /* the config in force */
	int64_t now;
	struct ward_stats_sum *sum, *today;  /* since start; since local midnight */
	struct ward_obs_counts obs;
	struct ward_catdb_meta meta;
	bool has_meta;
	struct ward_catdb_feed_state *feeds; /* in config order */
	size_t n_feeds;
	size_t reports_pending, overrides;
};
bool web_facts_gather(struct ward_web_app *app, struct web_facts *f);
void web_facts_free(struct web_facts *f);

/* GET /api/v1/stats, GET /api/v1/log (web_stats.c) and GET /metrics (metrics.c). */
void web_api_stats(struct ward_web_app *app, const struct ward_web_request *req,
		   struct ward_web_response *resp);
void web_api_log(struct ward_web_app *app, const struct ward_web_request *req,
		 struct ward_web_response *resp);
void web_metrics(struct ward_web_app *app, struct ward_web_response *resp);

/* Words for a category ("gambling (betting and casinos)"), for the child's pages. */
const char *web_category_words(const struct ward_conf *conf, unsigned bit, char *buf,
			       size_t cap);

/* application/x-www-form-urlencoded: the value of `key` decoded into out (at most cap-1
 * bytes). @return true when present. */
bool web_form_value(const char *body, size_t len, const char *key, char *out, size_t cap);

#endif
