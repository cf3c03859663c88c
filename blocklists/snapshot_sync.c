/*
 * `ward sync` (snapshot.h): fetch a snapshot's manifest conditionally, verify it, fetch
 * and check the copy, install it. Each step that fails leaves the database as it was and
 * fills res->why; the download is a file in the database directory, removed afterwards.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "blocklists/catdb.h"
#include "blocklists/error.h"
#include "blocklists/snapshot.h"
#include "blocklists/update.h"
#include "blocklists/update_internal.h"

#define VALIDATOR_MAX 256

struct validators {
	char etag[VALIDATOR_MAX];
	char last_modified[VALIDATOR_MAX];
};

struct transfer {
	FILE *file;                   /* body to a file, or ... */
	char *buf;                    /* ... to this buffer */
	size_t len, cap;              /* bytes so far; the most accepted */
	bool too_big;
	struct validators got;
};

static int fail(struct ward_sync_result *res, int rc, const char *fmt, const char *arg)
{
	res->outcome = WARD_SYNC_FAILED;
	snprintf(res->why, sizeof(res->why), fmt, arg);
	return rc;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct transfer *t = arg;
	size_t len = size * n;
	if (t->len + len > t->cap) {
		t->too_big = true;
		return 0;
	}
	if (t->file ? fwrite(data, 1, len, t->file) != len : (memcpy(t->buf + t->len, data, len), 0))
		return 0;
	t->len += len;
	return len;
}

static void keep_header(const char *line, size_t len, const char *name, char *out)
{
	size_t n = strlen(name);
	if (len <= n || strncasecmp(line, name, n) != 0)
		return;
	line += n, len -= n;
	while (len && (*line == ' ' || *line == '\t'))
		line++, len--;
	while (len && (line[len - 1] == '\r' || line[len - 1] == '\n'))
		len--;
	if (len < VALIDATOR_MAX) {
		memcpy(out, line, len);
		out[len] = 0;
	}
}

/* A validator of the last response as curl parsed it (left as it was when absent or too
 * long to keep whole). */
static void take_validator(CURL *e, const char *name, char out[VALIDATOR_MAX])
{
	struct curl_header *h;
	if (curl_easy_header(e, name, 0, CURLH_HEADER, -1, &h) == CURLHE_OK &&
	    strlen(h->value) < VALIDATOR_MAX)
		strcpy(out, h->value);
}

/* One GET. @return 0 (and the HTTP status) or a WARD_E* code. */
static int get(const char *url, const struct validators *v, uint32_t timeout_ms,
	       struct transfer *t, long *status)
{
	char h1[VALIDATOR_MAX + 32], h2[VALIDATOR_MAX + 32];
	struct curl_slist *headers = NULL;
	if (v && v->etag[0] && snprintf(h1, sizeof(h1), "If-None-Match: %s", v->etag) > 0)
		headers = curl_slist_append(headers, h1);
	if (v && v->last_modified[0] &&
	    snprintf(h2, sizeof(h2), "If-Modified-Since: %s", v->last_modified) > 0)
		headers = curl_slist_append(headers, h2);
	CURL *e = curl_easy_init();
	if (!e) {
		curl_slist_free_all(headers);
		return WARD_ENOMEM;
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, WARD_UPDATE_USER_AGENT);
	/* A web server may compress the copy on the wire (LMDB pages compress well); the
	 * cap and the checksum apply to the bytes as decoded. */
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
	CURLcode rc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
	take_validator(e, "ETag", t->got.etag);
	take_validator(e, "Last-Modified", t->got.last_modified);
	curl_easy_cleanup(e);
	curl_slist_free_all(headers);
	bool transient;
	return t->too_big ? WARD_ETOOBIG : ward_update_curl_err((int)rc, &transient);
}

/* ---- validators kept between runs --------------------------------------------------------- */

static void state_path(const struct ward_sync_opts *o, const char *name, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s", o->state_dir, name);
}

static void state_read(const struct ward_sync_opts *o, struct validators *v)
{
	char path[4200], line[VALIDATOR_MAX + 4200];
	memset(v, 0, sizeof(*v));
	state_path(o, "sync.state", path, sizeof(path));
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	bool same_url = false;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (strncmp(line, "url ", 4) == 0)
			same_url = strcmp(line + 4, o->url) == 0;
		keep_header(line, strlen(line), "etag ", v->etag);
		keep_header(line, strlen(line), "last-modified ", v->last_modified);
	}
	fclose(f);
	if (!same_url)
		memset(v, 0, sizeof(*v));
}

static void state_write(const struct ward_sync_opts *o, const struct validators *v)
{
	char path[4200], tmp[4210];
	state_path(o, "sync.state", path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "url %s\netag %s\nlast-modified %s\n", o->url, v->etag, v->last_modified);
	if (fclose(f) == 0)
		rename(tmp, path);
	else
		unlink(tmp);
}

/* ---- the steps ---------------------------------------------------------------------------- */

/* The copy's URL: the manifest's with its last path segment replaced by the file name. */
static int data_url(const char *manifest_url, const char *file, char *out, size_t cap)
{
	const char *q = strpbrk(manifest_url, "?#");
	size_t end = q ? (size_t)(q - manifest_url) : strlen(manifest_url);
	size_t slash = end;
	while (slash > 0 && manifest_url[slash - 1] != '/')
		slash--;
	int n = snprintf(out, cap, "%.*s%s", (int)slash, manifest_url, file);
	return n > 0 && (size_t)n < cap ? 0 : WARD_EINVAL;
}

/* @return 1 when the manifest was not modified, 0 when fetched and verified. */
static int fetch_manifest(const struct ward_sync_opts *o, struct validators *v,
			  struct ward_sync_result *res)
{
	char buf[WARD_SNAPSHOT_MANIFEST_MAX];
	struct transfer t = { .buf = buf, .cap = sizeof(buf) };
	long status = 0;
	int rc = get(o->url, v, o->timeout_ms, &t, &status);
	if (rc)
		return fail(res, rc, "manifest: %s", ward_strerror(rc));
	if (status == 304)
		return 1;
	if (status != 200) {
		char s[16];
		snprintf(s, sizeof(s), "%ld", status);
		return fail(res, WARD_ENET, "manifest: HTTP status %s", s);
	}
	char err[200];
	rc = ward_snapshot_verify(buf, t.len, o->public_key, &res->manifest, err, sizeof(err));
	if (rc)
		return fail(res, rc, "%s", err);
	*v = t.got;
	return 0;
}

/* Is the manifest newer than what is installed? @return 1 yes, 0 no (res says why). */
static int newer(struct ward_catdb *db, struct ward_sync_result *res)
{
	const struct ward_snapshot_manifest *m = &res->manifest;
	struct ward_catdb_meta meta;
	uint64_t exported = 0;
	int rc = ward_catdb_meta_get(db, &meta);
	if (rc == 0)
		rc = ward_catdb_snapshot_exported_at(db, &exported);
	if (rc)
		return fail(res, rc, "reading the installed database: %s", ward_strerror(rc));
	char text[96];
	snprintf(text, sizeof(text), "%llu, the database here is at %llu",
		 (unsigned long long)m->generation, (unsigned long long)meta.generation);
	if (m->generation < meta.generation)
		return fail(res, WARD_EREFUSED, "older generation: the snapshot is at %s", text);
	if (m->generation == meta.generation && m->exported_at <= exported) {
		res->outcome = WARD_SYNC_UNCHANGED;
		snprintf(res->why, sizeof(res->why), "already installed (generation %llu)",
			 (unsigned long long)m->generation);
		return 0;
	}
	return 1;
}

static int download(const struct ward_sync_opts *o, const char *path,
		    struct ward_sync_result *res)
{
	const struct ward_snapshot_manifest *m = &res->manifest;
	char url[4200];
	if (m->bytes > o->max_bytes)
		return fail(res, WARD_ETOOBIG, "the snapshot is larger than %s", "max_bytes");
	if (data_url(o->url, m->file, url, sizeof(url)))
		return fail(res, WARD_EINVAL, "cannot make the URL of %s", m->file);
	FILE *f = fopen(path, "wb");
	if (!f)
		return fail(res, WARD_EIO, "cannot write %.200s", path);
	struct transfer t = { .file = f, .cap = m->bytes };
	long status = 0;
	int rc = get(url, NULL, o->timeout_ms, &t, &status);
	if (fclose(f) != 0 && rc == 0)
		rc = WARD_EIO;
	if (rc == WARD_ETOOBIG)
		return fail(res, rc, "%.200s is longer than its manifest says", url);
	char text[96];
	snprintf(text, sizeof(text), "%llu of %llu bytes", (unsigned long long)t.len,
		 (unsigned long long)m->bytes);
	if (rc && t.len < m->bytes)
		return fail(res, rc, "truncated snapshot: the transfer ended after %s", text);
	if (rc)
		return fail(res, rc, "snapshot: %s", ward_strerror(rc));
	if (status != 200)
		return fail(res, WARD_ENET, "snapshot: HTTP status %s", status == 404 ? "404" : "not 200");
	if (t.len != m->bytes)
		return fail(res, WARD_EFORMAT, "truncated snapshot: %s", text);
	return 0;
}

static int check_sum(const char *path, struct ward_sync_result *res)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return fail(res, WARD_EIO, "cannot read %.200s", path);
	struct ward_sha256 s = { 0 };
	int rc = ward_sha256_init(&s);
	static uint8_t buf[1 << 16];
	size_t n;
	while (rc == 0 && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		ward_sha256_update(&s, buf, n);
	uint8_t d[32];
	char hex[65];
	if (rc == 0)
		rc = ferror(f) ? WARD_EIO : ward_sha256_final(&s, d);
	fclose(f);
	ward_sha256_free(&s);
	if (rc)
		return fail(res, rc, "checksum: %s", ward_strerror(rc));
	ward_sha256_hex(d, hex);
	if (strcmp(hex, res->manifest.sha256) != 0)
		return fail(res, WARD_EFORMAT, "checksum mismatch: the snapshot's SHA-256 is %s", hex);
	return 0;
}

static int fetch_and_install(struct ward_catdb *db, const struct ward_sync_opts *o,
			     struct ward_sync_result *res)
{
	char path[4200];
	state_path(o, "snapshot.download", path, sizeof(path));
	int rc = download(o, path, res);
	if (rc == 0)
		rc = check_sum(path, res);
	if (rc == 0 && (rc = ward_catdb_install_snapshot(db, path, res->manifest.exported_at)))
		fail(res, rc, "install: %s", ward_strerror(rc));
	unlink(path);
	if (rc == 0)
		res->outcome = WARD_SYNC_INSTALLED;
	return rc;
}

int ward_snapshot_sync(struct ward_catdb *db, const struct ward_sync_opts *o,
		       struct ward_sync_result *res)
{
	memset(res, 0, sizeof(*res));
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return fail(res, WARD_ENET, "%s", "libcurl did not initialise");
	struct validators v;
	state_read(o, &v);
	int rc = fetch_manifest(o, &v, res);
	if (rc == 1) {
		res->outcome = WARD_SYNC_UNCHANGED;
		snprintf(res->why, sizeof(res->why), "the manifest is not modified (HTTP 304)");
		rc = 0;
	} else if (rc == 0 && (rc = newer(db, res)) == 1) {
		rc = fetch_and_install(db, o, res);
	}
	if (rc == 0)
		state_write(o, &v);
	curl_global_cleanup();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	res->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	return rc;
}
