/*
 * Fuzz the web listener's application (resolver/web_internal.h): everything after the
 * HTTP library, on requests built from the input, against a real database, policy and
 * override table. The input is split at newlines into method, path (with a query
 * string), Host, Authorization, Content-Type, and the rest is the body. A request must
 * never crash, and its response must be a status wardd can send with a bounded body.
 */
#include <arpa/inet.h>
#include <ftw.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blocklists/catdb.h"
#include "blocklists/conf.h"
#include "resolver/live.h"
#include "resolver/web_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64] = "/tmp/ward-fuzz-web-XXXXXX";
static struct ward_conf *conf;
static struct ward_catdb *db;
static struct ward_shared shared;
static struct ward_policy_state ps;
static struct ward_live live;
static struct ward_web_app app;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void cleanup(void)
{
	ward_web_app_free(&app);
	ward_live_free(&live, &shared);
	ward_policy_free(ps.policy);
	ward_catdb_close(db);
	ward_conf_free(conf);
	nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void init(void)
{
	char json[1024], err[WARD_CONF_ERR_MAX];
	struct ward_catdb_build *b;
	if (!mkdtemp(dir))
		abort();
	snprintf(json, sizeof(json),
		 "{\"upstreams\": [\"192.0.2.53\"], \"database\": \"%s\", \"profiles\": {\"kids\":"
		 " {\"preset\": \"child\"}}, \"default_profile\": \"kids\", \"web\": {\"listen\":"
		 " [\"127.0.0.1\"], \"reports_per_hour\": 1000}}", dir);
	ward_catdb_test_set_env_flags(MDB_NOSYNC);
	if (ward_conf_parse("fuzz.json", json, strlen(json), &conf, err, sizeof(err)) ||
	    ward_catdb_open(dir, WARD_CATDB_WRITE, &db) || ward_catdb_build_begin(db, false, &b) ||
	    ward_catdb_build_add(b, "casino.example", 14, WARD_CAT(WARD_CAT_GAMBLING), 1, 1) ||
	    ward_catdb_build_commit(b) || ward_policy_new(conf, &ps.policy))
		abort();
	ps.conf = conf;
	ps.generation = 1;
	atomic_store(&shared.policy, &ps);
	atomic_store(&shared.db, db);
	ward_live_tick(&live, &shared, conf, db, true);
	if (ward_web_app_init(&app, conf, &shared))
		abort();
	strcpy(app.token, "fuzz-token-0123456789");
	app.token_len = strlen(app.token);
	atexit(cleanup);
}

/* The next line of the input (NUL-terminated copy), or NULL for an empty field. */
static const char *field(const char **p, const char *end, char *buf, size_t cap)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n = (size_t)((nl ? nl : end) - *p);
	if (n >= cap)
		n = cap - 1;
	memcpy(buf, *p, n);
	buf[n] = '\0';
	*p = nl ? nl + 1 : end;
	return n ? buf : NULL;
}

static const char *arg(void *ctx, const char *key)
{
	static char value[512];
	const char *q = ctx;
	return q && web_form_value(q, strlen(q), key, value, sizeof(value)) ? value : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char method[16], path[1024], host[512], auth[256], ctype[128];
	if (!conf)
		init();
	const char *p = (const char *)data, *end = p + size;
	struct ward_web_request req = {.port = 8080};
	req.method = field(&p, end, method, sizeof(method));
	req.path = field(&p, end, path, sizeof(path));
	req.host = field(&p, end, host, sizeof(host));
	req.authorization = field(&p, end, auth, sizeof(auth));
	req.content_type = field(&p, end, ctype, sizeof(ctype));
	if (!req.method || !req.path)
		return 0;
	char *query = strchr(path, '?');
	if (query)
		*query++ = '\0';
	req.arg = arg;
	req.arg_ctx = query;
	char *body = malloc((size_t)(end - p) + 1);
	memcpy(body, p, (size_t)(end - p));
	body[end - p] = '\0';
	req.body = body;
	req.body_len = (size_t)(end - p);
	req.client.v4.sin_family = AF_INET;
	req.client.v4.sin_addr.s_addr = htonl(0x0a000005);
	req.client.len = sizeof(req.client.v4);
	struct ward_web_response resp;
	ward_web_handle(&app, &req, &resp);
	if (resp.status < 200 || resp.status > 599 || resp.body.len > WARD_WEB_PAGE_MAX)
		abort();
	web_buf_free(&resp.body);
	free(body);
	ward_web_app_refresh(&app);
	return 0;
}
