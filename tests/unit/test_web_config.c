/*
 * The config API and the device API without sockets (resolver/web_config.c,
 * web_devices.c): requests go straight to ward_web_handle(), the config file is a real
 * file in a temp dir, and "the main thread" is a reloader that re-reads the file and
 * swaps the policy on the spot, as wardd's would.
 *
 * Proves: the ETag is the file's hash; If-Match is required and checked (nothing written
 * when stale); every validation error comes with its field; a valid PUT is written, kept
 * as ward.json.1, and applied (the new policy is the one in force); a device's entry is
 * added, renamed, given another profile and removed in the JSON without touching the rest;
 * no reloader or no file gives the documented answers.
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "blocklists/conf_store.h"
#include "blocklists/error.h"
#include "resolver/web_internal.h"

#define TOKEN "Bearer test-token-0123456789abcdef"

struct fixture {
	char dir[64], path[128];
	struct ward_shared shared;
	struct ward_policy_state states[16];
	unsigned n_states;
	struct ward_conf *boot;
	struct ward_web_app app;
	struct ward_web_response resp;
	cJSON *json;
	int reloads;
};

static const char *initial =
	"{\n\t\"upstreams\": [\"192.0.2.53\"],\n"
	"\t\"profiles\": {\"kids\": {\"preset\": \"child\"}, \"adults\": {\"preset\": \"adult\"}},\n"
	"\t\"clients\": [{\"match\": \"10.0.0.9\", \"profile\": \"adults\"}],\n"
	"\t\"default_profile\": \"kids\",\n"
	"\t\"web\": {\"listen\": [\"127.0.0.1:8080\"]}\n}\n";

static void publish(struct fixture *f, struct ward_conf *conf)
{
	struct ward_policy_state *ps = &f->states[f->n_states++];
	ps->conf = conf;
	ps->generation = f->n_states;
	assert_int_equal(0, ward_policy_new(conf, &ps->policy));
	atomic_store(&f->shared.policy, ps);
}

/* What wardd's main thread does on the config API's request: reload, say it is done. */
static void reload_now(void *ctx)
{
	struct fixture *f = ctx;
	struct ward_conf *conf = NULL;
	char err[WARD_CONF_ERR_MAX];
	uint64_t n = web_app_reload_begin(&f->app);
	int rc = ward_conf_load(f->path, &conf, err, sizeof(err));
	if (rc == 0)
		publish(f, conf);
	f->reloads++;
	web_app_reload_end(&f->app, n, rc);
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(0, fclose(fp));
}

static char *read_file(const char *path)
{
	char *text = NULL;
	size_t len;
	return ward_conf_store_read(path, 1 << 20, &text, &len, NULL) == 0 ? text : NULL;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[WARD_CONF_ERR_MAX];
	strcpy(f->dir, "/tmp/ward-test-webconf-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/ward.json", f->dir);
	write_file(f->path, initial);
	if (ward_conf_load(f->path, &f->boot, err, sizeof(err)))
		fail_msg("%s", err);
	publish(f, f->boot);
	assert_int_equal(0, ward_web_app_init(&f->app, f->boot, &f->shared));
	strcpy(f->app.token, TOKEN + 7);
	f->app.token_len = strlen(f->app.token);
	f->app.config_file = f->path;
	web_app_set_reloader(&f->app, reload_now, f);
	ward_web_app_refresh(&f->app);
	*state = f;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	web_buf_free(&f->resp.body);
	cJSON_Delete(f->json);
	ward_web_app_free(&f->app);
	for (unsigned i = 0; i < f->n_states; i++) {
		ward_policy_free(f->states[i].policy);
		ward_conf_free(f->states[i].conf);
	}
	nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static unsigned call(struct fixture *f, const char *method, const char *path,
		     const char *if_match, const char *body)
{
	struct ward_web_request req = {
		.method = method, .path = path, .host = "ward.home.arpa", .authorization = TOKEN,
		.content_type = body ? "application/json" : NULL, .if_match = if_match,
		.body = body, .body_len = body ? strlen(body) : 0, .port = 8080,
	};
	req.client.v4.sin_family = AF_INET;
	inet_pton(AF_INET, "10.0.0.5", &req.client.v4.sin_addr);
	req.client.len = sizeof(req.client.v4);
	web_buf_free(&f->resp.body);
	cJSON_Delete(f->json);
	ward_web_app_refresh(&f->app);
	ward_web_handle(&f->app, &req, &f->resp);
	f->json = cJSON_Parse(f->resp.body.data ? f->resp.body.data : "");
	return f->resp.status;
}

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool jtrue(const cJSON *o, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static void test_get_and_etag(void **state)
{
	struct fixture *f = *state;
	char etag[WARD_CONF_ETAG_SIZE];
	assert_int_equal(200, call(f, "GET", "/api/v1/config", NULL, NULL));
	assert_string_equal(f->resp.body.data, initial);
	ward_conf_store_etag(initial, strlen(initial), etag);
	assert_string_equal(f->resp.etag, etag);
	assert_int_equal(405, call(f, "POST", "/api/v1/config", NULL, "{}"));
}

static void test_put_checks(void **state)
{
	struct fixture *f = *state;
	char etag[WARD_CONF_ETAG_SIZE];
	const char *next = "{\"upstreams\": [\"192.0.2.54\"]}\n";
	ward_conf_store_etag(initial, strlen(initial), etag);
	assert_int_equal(428, call(f, "PUT", "/api/v1/config", NULL, next));
	assert_int_equal(412, call(f, "PUT", "/api/v1/config", "\"00\"", next));
	assert_string_equal(jstr(f->json, "etag"), etag);
	/* Three mistakes, three errors with their fields; nothing written, nothing applied. */
	assert_int_equal(400, call(f, "PUT", "/api/v1/config", etag,
				   "{\"upstreams\": [\"x\"], \"profiles\": {\"kids\": {\"youtube\": "
				   "\"loud\"}}, \"clients\": [{\"match\": \"10.0.0.1\", \"profile\": "
				   "\"teens\"}], \"default_profile\": \"kids\"}"));
	const cJSON *errors = cJSON_GetObjectItemCaseSensitive(f->json, "errors");
	assert_int_equal(3, cJSON_GetArraySize(errors));
	assert_string_equal(jstr(cJSON_GetArrayItem(errors, 0), "field"), "upstreams[0]");
	assert_string_equal(jstr(cJSON_GetArrayItem(errors, 1), "field"), "profiles.kids.youtube");
	assert_string_equal(jstr(cJSON_GetArrayItem(errors, 2), "field"), "clients[0].profile");
	char *now = read_file(f->path);
	assert_string_equal(now, initial);
	free(now);
	assert_int_equal(0, f->reloads);
}

static void test_put_writes_and_applies(void **state)
{
	struct fixture *f = *state;
	char etag[WARD_CONF_ETAG_SIZE], bak[160];
	const char *next = "{\"upstreams\": [\"192.0.2.54\"], \"profiles\": {\"teens\": "
			   "{\"preset\": \"teen\"}}, \"default_profile\": \"teens\", \"web\": "
			   "{\"listen\": [\"127.0.0.1:8080\"]}}\n";
	ward_conf_store_etag(initial, strlen(initial), etag);
	assert_int_equal(200, call(f, "PUT", "/api/v1/config", etag, next));
	assert_true(jtrue(f->json, "applied"));
	assert_int_equal(1, f->reloads);
	const cJSON *restart = cJSON_GetObjectItemCaseSensitive(f->json, "restart_needed");
	assert_int_equal(1, cJSON_GetArraySize(restart));
	assert_string_equal(cJSON_GetArrayItem(restart, 0)->valuestring, "upstreams");
	/* The policy in force is the new file's. */
	const struct ward_conf *live = atomic_load(&f->shared.policy)->conf;
	assert_int_equal(1, live->n_profiles);
	assert_string_equal(live->profiles[0].name, "teens");
	char *now = read_file(f->path);
	assert_string_equal(now, next);
	free(now);
	snprintf(bak, sizeof(bak), "%s.1", f->path);
	now = read_file(bak);
	assert_string_equal(now, initial);
	free(now);
	ward_conf_store_etag(next, strlen(next), etag);
	assert_string_equal(f->resp.etag, etag);
	assert_string_equal(jstr(f->json, "etag"), etag);
}

static void test_no_reloader_no_file(void **state)
{
	struct fixture *f = *state;
	char etag[WARD_CONF_ETAG_SIZE];
	web_app_set_reloader(&f->app, NULL, NULL);
	ward_conf_store_etag(initial, strlen(initial), etag);
	assert_int_equal(200, call(f, "PUT", "/api/v1/config", etag, initial));
	assert_false(jtrue(f->json, "applied"));
	assert_non_null(jstr(f->json, "apply_error"));
	f->app.config_file = NULL;
	assert_int_equal(409, call(f, "GET", "/api/v1/config", NULL, NULL));
	assert_int_equal(409, call(f, "PUT", "/api/v1/config", "*", initial));
	assert_int_equal(409, call(f, "PUT", "/api/v1/devices/10.0.0.7", NULL,
				   "{\"profile\": \"kids\"}"));
}

/* The clients array of the file as it is now. */
static cJSON *file_clients(struct fixture *f, cJSON **root)
{
	char *text = read_file(f->path);
	*root = cJSON_Parse(text);
	free(text);
	return cJSON_GetObjectItemCaseSensitive(*root, "clients");
}

static void test_device_entries(void **state)
{
	struct fixture *f = *state;
	cJSON *root;
	assert_int_equal(200, call(f, "PUT", "/api/v1/devices/10.0.0.7", NULL,
				   "{\"profile\": \"adults\", \"name\": \"TV\"}"));
	assert_true(jtrue(f->json, "applied"));
	assert_int_equal(200, call(f, "PUT", "/api/v1/devices/AA-BB-CC-DD-EE-FF", NULL,
				   "{\"profile\": \"kids\"}"));
	assert_string_equal(jstr(cJSON_GetObjectItemCaseSensitive(f->json, "entry"), "match"),
			    "aa:bb:cc:dd:ee:ff");
	/* A rename keeps the profile; the other entries stay as they were. */
	assert_int_equal(200, call(f, "PUT", "/api/v1/devices/10.0.0.9", NULL,
				   "{\"name\": \"Dad's phone\"}"));
	cJSON *clients = file_clients(f, &root);
	assert_int_equal(3, cJSON_GetArraySize(clients));
	cJSON *dad = cJSON_GetArrayItem(clients, 0);
	assert_string_equal(jstr(dad, "match"), "10.0.0.9");
	assert_string_equal(jstr(dad, "profile"), "adults");
	assert_string_equal(jstr(dad, "name"), "Dad's phone");
	assert_string_equal(jstr(cJSON_GetArrayItem(clients, 1), "name"), "TV");
	cJSON_Delete(root);
	/* The live policy maps the new address. */
	struct sockaddr_in sa = {.sin_family = AF_INET};
	inet_pton(AF_INET, "10.0.0.7", &sa.sin_addr);
	const struct ward_policy_state *ps = atomic_load(&f->shared.policy);
	size_t p = ward_policy_profile_for(ps->policy, (struct sockaddr *)&sa, NULL, NULL);
	assert_string_equal(ps->conf->profiles[p].name, "adults");
	assert_int_equal(200, call(f, "DELETE", "/api/v1/devices/10.0.0.7", NULL, NULL));
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(f->json, "entry")));
	clients = file_clients(f, &root);
	assert_int_equal(2, cJSON_GetArraySize(clients));
	cJSON_Delete(root);
	assert_int_equal(404, call(f, "DELETE", "/api/v1/devices/10.0.0.7", NULL, NULL));
}

static void test_device_errors(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(400, call(f, "PUT", "/api/v1/devices/10.0.0.7", NULL,
				   "{\"name\": \"no profile\"}"));
	assert_int_equal(400, call(f, "PUT", "/api/v1/devices/10.0.0.7", NULL,
				   "{\"profile\": \"kids\", \"color\": \"red\"}"));
	assert_int_equal(400, call(f, "PUT", "/api/v1/devices/10.0.0.7", NULL,
				   "{\"profile\": 5}"));
	assert_int_equal(400, call(f, "PUT", "/api/v1/devices/10.0.0.7", NULL,
				   "{\"profile\": \"teens\"}"));
	const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(f->json, "errors"), 0);
	assert_string_equal(jstr(e, "field"), "clients[1].profile");
	assert_int_equal(404, call(f, "PUT", "/api/v1/devices/10.0.0.0%2F8", NULL,
				   "{\"profile\": \"kids\"}"));
	assert_int_equal(404, call(f, "PUT", "/api/v1/devices/10.0.0.0/8", NULL,
				   "{\"profile\": \"kids\"}"));
	assert_int_equal(405, call(f, "POST", "/api/v1/devices/10.0.0.7", NULL, "{}"));
	assert_int_equal(0, f->reloads);
	char *now = read_file(f->path);
	assert_string_equal(now, initial);
	free(now);
}

static void test_device_list(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(200, call(f, "GET", "/api/v1/devices", NULL, NULL));
	const cJSON *devices = cJSON_GetObjectItemCaseSensitive(f->json, "devices");
	assert_int_equal(1, cJSON_GetArraySize(devices)); /* no worker: only the entry */
	const cJSON *d = cJSON_GetArrayItem(devices, 0);
	assert_string_equal(jstr(d, "id"), "10.0.0.9");
	assert_string_equal(jstr(d, "profile"), "adults");
	assert_true(jtrue(d, "assigned"));
	assert_false(jtrue(d, "seen"));
	assert_string_equal(jstr(f->json, "default_profile"), "kids");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get_and_etag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_writes_and_applies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_reloader_no_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_list, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
