/*
 * The config API and the setup wizard's helpers (docs/api.md), all behind the token:
 *
 *   GET /api/v1/config   the file as it is on disk, with its ETag (a hand edit shows at
 *                        once: nothing is cached)
 *   PUT /api/v1/config   a whole new version. If-Match is required (428 without it, 412
 *                        and nothing written when the file changed since). The text is
 *                        validated by the code `ward check` runs (400 with every error
 *                        and its field path, nothing written), written in place of the
 *                        file with backups (blocklists/conf_store.h), then applied the
 *                        way SIGHUP applies it: the main thread reloads the file, and the
 *                        answer waits until that reload has ended.
 *   GET /api/v1/setup    what the wizard and the profile editor show: presets, categories
 *                        in plain words, the upstreams the system uses now, the catalog's
 *                        place (/static/catalog.json)
 *   GET /api/v1/test?client=IP[&name=N]   the wizard's last step: a name the database
 *                        lists that the device's profile blocks, and the verdict wardd
 *                        gives that device for it (the code `ward lookup --client` runs)
 *
 * The file stays the only configuration: nothing here keeps a copy of it.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "blocklists/conf_store.h"
#include "blocklists/error.h"
#include "resolver/web_internal.h"

#define APPLY_WAIT_MS 5000

/* ---- reading ---------------------------------------------------------------------------------- */

static bool have_file(const struct ward_web_app *app, struct ward_web_response *resp)
{
	if (app->config_file)
		return true;
	web_json_error(resp, 409, "wardd runs on its built-in config (--default): there is no "
		       "file to read or change");
	return false;
}

bool web_config_read(struct ward_web_app *app, char **text, size_t *len,
		     char etag[WARD_WEB_ETAG_SIZE], struct ward_web_response *resp)
{
	if (!have_file(app, resp))
		return false;
	int rc = ward_conf_store_read(app->config_file, WARD_WEB_CONFIG_MAX, text, len, etag);
	if (rc == WARD_ETOOBIG)
		web_json_error(resp, 500, "%s is larger than %d bytes: edit it by hand",
			       app->config_file, WARD_WEB_CONFIG_MAX);
	else if (rc)
		web_json_error(resp, 500, "cannot read %s: %s", app->config_file,
			       ward_strerror(rc));
	return rc == 0;
}

static void config_get(struct ward_web_app *app, struct ward_web_response *resp)
{
	char *text;
	size_t len;
	if (!web_config_read(app, &text, &len, resp->etag, resp))
		return;
	/* The file itself, byte for byte: a JSON object (it loaded, or wardd would not run). */
	web_buf_free(&resp->body);
	web_buf_init(&resp->body, WARD_WEB_CONFIG_MAX + 1);
	web_buf_put(&resp->body, text, len);
	resp->content_type = "application/json";
	free(text);
}

/* ---- validating --------------------------------------------------------------------------------- */

static cJSON *errors_json(const char *file, const struct ward_conf_errors *errs)
{
	char text[WARD_CONF_FIELD_MAX + 2 * WARD_CONF_ERR_MAX];
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; i < errs->n; i++) {
		const struct ward_conf_error *e = &errs->list[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "field", e->field);
		cJSON_AddStringToObject(o, "message", e->reason);
		cJSON_AddStringToObject(o, "text", ward_conf_error_text(file, e, text, sizeof(text)));
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

/* @return the parsed config, or NULL with a 400 (every error) or 500 written. */
static struct ward_conf *validate(struct ward_web_app *app, const char *text, size_t len,
				  struct ward_web_response *resp)
{
	struct ward_conf *fresh = NULL;
	struct ward_conf_errors *errs = calloc(1, sizeof(*errs));
	if (!errs) {
		web_json_error(resp, 500, "out of memory");
		return NULL;
	}
	int rc = ward_conf_parse_all(app->config_file, text, len, &fresh, errs);
	if (rc == WARD_ECONF) {
		cJSON *o = cJSON_CreateObject();
		char msg[128];
		snprintf(msg, sizeof(msg), "the configuration is not valid (%zu error%s%s): nothing "
			 "was changed", errs->n, errs->n == 1 ? "" : "s",
			 errs->truncated ? ", perhaps more" : "");
		cJSON_AddStringToObject(o, "error", msg);
		cJSON_AddItemToObject(o, "errors", errors_json(app->config_file, errs));
		web_json(resp, 400, o);
	} else if (rc) {
		web_json_error(resp, 500, "cannot check the configuration: %s", ward_strerror(rc));
	}
	free(errs);
	return fresh;
}

/* ---- applying ------------------------------------------------------------------------------------ */

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {0, (long)ms * 1000000};
	nanosleep(&ts, NULL);
}

/*
 * Ask the main thread to reload, and wait for a reload that began after the file was
 * written (SIGHUP's would do as well). @return 0 applied, 1 not within APPLY_WAIT_MS or
 * no main thread to ask, or the reload's failure.
 */
static int apply(struct ward_web_app *app)
{
	uint64_t before = atomic_load(&app->reload_started);
	pthread_mutex_lock(&app->reload_lock);
	bool asked = app->reload_request != NULL;
	if (asked)
		app->reload_request(app->reload_ctx);
	pthread_mutex_unlock(&app->reload_lock);
	for (unsigned waited = 0; asked && waited < APPLY_WAIT_MS; waited += 2) {
		if (atomic_load(&app->reload_done) > before)
			return atomic_load(&app->reload_rc);
		sleep_ms(2);
	}
	return 1;
}

static void collect_warning(void *arg, const char *text)
{
	cJSON_AddItemToArray(arg, cJSON_CreateString(text));
}

static void written(struct ward_web_app *app, const struct ward_conf *fresh, cJSON *o,
		    struct ward_web_response *resp)
{
	const char *keys[16];
	int rc = apply(app);
	cJSON_AddStringToObject(o, "etag", resp->etag);
	cJSON_AddBoolToObject(o, "applied", rc == 0);
	if (rc)
		cJSON_AddStringToObject(o, "apply_error", rc == 1
					? "wardd did not reload within 5 s: it applies the file at "
					  "its next reload (systemctl reload wardd)"
					: "wardd kept its running configuration (see its log)");
	size_t n = ward_conf_restart_needed(app->boot, fresh, keys, 16);
	cJSON *restart = cJSON_AddArrayToObject(o, "restart_needed");
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(restart, cJSON_CreateString(keys[i]));
	cJSON *warnings = cJSON_AddArrayToObject(o, "warnings");
	ward_conf_warnings(fresh, collect_warning, warnings);
	web_json(resp, 200, o);
}

/* 412 (with the ETag the file has now) or 500, with the store's sentence. */
static void not_written(struct ward_web_app *app, int rc, const char *err,
			struct ward_web_response *resp)
{
	char now[WARD_CONF_ETAG_SIZE] = "";
	char *cur = NULL;
	size_t cur_len;
	if (ward_conf_store_read(app->config_file, WARD_WEB_CONFIG_MAX, &cur, &cur_len, now) == 0)
		free(cur);
	resp->etag[0] = '\0';
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "error", err);
	cJSON_AddStringToObject(o, "etag", now);
	web_json(resp, rc == WARD_ESTALE ? 412 : 500, o);
}

bool web_config_replace(struct ward_web_app *app, const char *text, size_t len,
			const char *if_match, void *answer, struct ward_web_response *resp)
{
	char err[512];
	cJSON *o = answer ? answer : cJSON_CreateObject();
	struct ward_conf *fresh = have_file(app, resp) ? validate(app, text, len, resp) : NULL;
	int rc = fresh ? ward_conf_store_write(app->config_file, text, len, if_match, resp->etag,
					       err, sizeof(err))
		       : WARD_ECONF;
	if (rc == 0) {
		written(app, fresh, o, resp);
	} else {
		cJSON_Delete(o);
		if (fresh)
			not_written(app, rc, err, resp);
	}
	ward_conf_free(fresh);
	return rc == 0;
}

static void config_put(struct ward_web_app *app, const struct ward_web_request *req,
		       struct ward_web_response *resp)
{
	const char *ct = req->content_type;
	if (!req->if_match || !*req->if_match) {
		web_json_error(resp, 428, "If-Match is required: GET /api/v1/config, change it, "
			       "and PUT it back with the ETag it came with");
		return;
	}
	if (!ct || strncasecmp(ct, "application/json", 16) != 0) {
		web_json_error(resp, 400, "the body must be JSON (Content-Type: application/json)");
		return;
	}
	web_config_replace(app, req->body ? req->body : "", req->body_len, req->if_match, NULL,
			   resp);
}

void web_api_config(struct ward_web_app *app, const struct ward_web_request *req,
		    struct ward_web_response *resp)
{
	if (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0) {
		config_get(app, resp);
	} else if (strcmp(req->method, "PUT") == 0) {
		config_put(app, req, resp);
	} else {
		resp->allow = "GET, PUT";
		web_json_error(resp, 405, "method not allowed");
	}
}
