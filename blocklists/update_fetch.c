/*
 * The downloader: every due feed at once through one libcurl multi handle.
 *
 * A body is never held in memory. Each chunk goes to the feed's temp file, into its
 * SHA-256, and through the feed's parser (to count entries) as it arrives, so a 64 MiB
 * list costs one 16 KiB curl buffer. The size cap counts decoded bytes: a gzip bomb stops
 * at the cap like any other oversized feed. The first bytes are sniffed for HTML and the
 * transfer is abandoned at once if a portal or error page comes back with status 200.
 *
 * Transient failures (connect, timeout, truncated body, 5xx, 408, 429) are retried with
 * exponential backoff; a transfer waiting for its retry holds no connection slot.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blocklists/error.h"
#include "blocklists/update_internal.h"

#define PROGRESS_INTERVAL_MS 250
#define SNIFF_MAX 16 /* longer than "<!doctype html" */

enum fetch_state { FETCH_PENDING, FETCH_ACTIVE, FETCH_DONE };

struct ward_fetch_priv {
	CURL *easy;
	struct curl_slist *headers;
	int fd;
	struct ward_sha256 sha;
	struct ward_feed_parser *parser;
	char head[SNIFF_MAX];
	size_t head_len;
	bool head_decided;
	bool ct_checked, html, too_big, io_error;
	int io_errno;
	uint64_t cap;
	int64_t not_before_ms;
	enum fetch_state state;
	char errbuf[CURL_ERROR_SIZE];
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The one place where CURLcode becomes a ward code. *transient says whether another
 * attempt may succeed where this one failed.
 */
static int curl_error(CURLcode rc, bool *transient)
{
	*transient = false;
	switch (rc) {
	case CURLE_OK:
		return 0;
	case CURLE_OPERATION_TIMEDOUT:
		*transient = true;
		return WARD_ETIMEDOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_BAD_CONTENT_ENCODING:
		*transient = true;
		return WARD_ENET;
	case CURLE_FILESIZE_EXCEEDED:
		return WARD_ETOOBIG;
	case CURLE_OUT_OF_MEMORY:
		return WARD_ENOMEM;
	case CURLE_FILE_COULDNT_READ_FILE:
	case CURLE_READ_ERROR:
	case CURLE_WRITE_ERROR:
		return WARD_EIO;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return WARD_EINVAL;
	default:
		return WARD_ENET;
	}
}

static bool http_transient(long code)
{
	return code == 408 || code == 429 || code >= 500;
}

static int count_entry(void *ctx, const char *name, size_t len, unsigned flags)
{
	return 0; /* the parser's statistics are all we need during the download */
}

static void copy_header_value(char *dst, size_t cap, const char *v, size_t len)
{
	while (len && (*v == ' ' || *v == '\t'))
		v++, len--;
	while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' ' ||
		       v[len - 1] == '\t'))
		len--;
	/* A validator we cannot store whole is one we must not send back truncated. */
	if (len >= cap) {
		dst[0] = '\0';
		return;
	}
	memcpy(dst, v, len);
	dst[len] = '\0';
}

/* A header of the last response (after redirects) as curl parsed it, or "" when absent
 * (or too long to keep whole). */
static void response_header(CURL *e, const char *name, char *dst, size_t cap)
{
	struct curl_header *h;
	dst[0] = '\0';
	if (curl_easy_header(e, name, 0, CURLH_HEADER, -1, &h) == CURLHE_OK)
		copy_header_value(dst, cap, h->value, strlen(h->value));
}

/* An HTML page served as one (Content-Type) is refused before its first byte is kept. */
static bool served_as_html(CURL *e)
{
	char ct[128];
	response_header(e, "Content-Type", ct, sizeof(ct));
	return ward_update_content_type_html(ct);
}

/* Collects the first non-blank bytes and decides whether the body is an HTML page. */
static void sniff(struct ward_fetch_priv *p, const char *data, size_t len)
{
	for (size_t i = 0; i < len && !p->head_decided; i++) {
		unsigned char c = (unsigned char)data[i];
		bool blank = c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == 0xef ||
			     c == 0xbb || c == 0xbf;
		if (p->head_len == 0 && blank)
			continue; /* whitespace and a BOM may precede the markup */
		p->head[p->head_len++] = (char)c;
		p->html = ward_update_sniff_html(p->head, p->head_len, &p->head_decided);
		if (p->head_len == sizeof(p->head))
			p->head_decided = true;
	}
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct ward_fetch *f = ud;
	struct ward_fetch_priv *p = f->priv;
	size_t len = size * nmemb;
	if (!p->ct_checked) {
		p->ct_checked = true;
		if (served_as_html(p->easy)) {
			p->html = true;
			return 0;
		}
	}
	if (len > p->cap - f->bytes) {
		p->too_big = true;
		return 0;
	}
	if (!p->head_decided) {
		sniff(p, data, len);
		if (p->html)
			return 0;
	}
	if (write_all(p->fd, data, len) != 0) {
		p->io_error = true;
		p->io_errno = errno;
		return 0;
	}
	ward_sha256_update(&p->sha, data, len);
	ward_feed_parser_write(p->parser, data, len);
	f->bytes += len;
	return len;
}

static int setup_easy(struct ward_fetch *f, const struct ward_update_opts *opts)
{
	struct ward_fetch_priv *p = f->priv;
	CURL *e = curl_easy_init();
	if (!e)
		return WARD_ENOMEM;
	p->easy = e;
	if (f->cond_etag[0]) {
		char h[300];
		snprintf(h, sizeof(h), "If-None-Match: %s", f->cond_etag);
		struct curl_slist *l = curl_slist_append(p->headers, h);
		if (!l)
			return WARD_ENOMEM;
		p->headers = l;
	}
	if (f->cond_last_modified[0]) {
		char h[100];
		snprintf(h, sizeof(h), "If-Modified-Since: %s", f->cond_last_modified);
		struct curl_slist *l = curl_slist_append(p->headers, h);
		if (!l)
			return WARD_ENOMEM;
		p->headers = l;
	}
	long connect_ms = (long)opts->connect_timeout_ms, total_ms = (long)opts->timeout_ms;
	curl_easy_setopt(e, CURLOPT_URL, f->feed->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https,file");
	/* A redirect must never turn a feed into a local file read. */
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, WARD_UPDATE_USER_AGENT);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, total_ms);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(e, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)p->cap);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, p->headers);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, p->errbuf);
	curl_easy_setopt(e, CURLOPT_PRIVATE, f);
	return 0;
}

static int fetch_prepare(struct ward_fetch *f, const struct ward_update_opts *opts)
{
	f->priv = calloc(1, sizeof(*f->priv));
	if (!f->priv)
		return WARD_ENOMEM;
	f->priv->fd = -1;
	f->priv->cap = opts->max_bytes;
	f->priv->state = FETCH_PENDING;
	return setup_easy(f, opts);
}

static void fetch_release(struct ward_fetch *f)
{
	struct ward_fetch_priv *p = f->priv;
	if (!p)
		return;
	if (p->easy)
		curl_easy_cleanup(p->easy);
	curl_slist_free_all(p->headers);
	if (p->fd >= 0)
		close(p->fd);
	ward_feed_parser_free(p->parser);
	ward_sha256_free(&p->sha);
	free(p);
	f->priv = NULL;
}

/* The reason is truncated to fit; vsnprintf says that on purpose. */
__attribute__((format(printf, 3, 4)))
static void fail(struct ward_fetch *f, int err, const char *fmt, ...)
{
	va_list ap;
	f->outcome = WARD_FETCH_FAILED;
	f->err = err;
	va_start(ap, fmt);
	vsnprintf(f->reason, sizeof(f->reason), fmt, ap);
	va_end(ap);
}

/* Reset everything one attempt leaves behind and hand the transfer to the multi. */
static int attempt_start(CURLM *multi, struct ward_fetch *f)
{
	struct ward_fetch_priv *p = f->priv;
	if (p->fd < 0)
		p->fd = open(f->tmp_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (p->fd < 0 || ftruncate(p->fd, 0) != 0 || lseek(p->fd, 0, SEEK_SET) != 0) {
		int err = ward_errno(errno);
		fail(f, err, "cannot write %s: %s", f->tmp_path, ward_strerror(err));
		p->state = FETCH_DONE;
		return err;
	}
	ward_feed_parser_free(p->parser);
	p->parser = ward_feed_parser_new(f->feed->format, f->feed->subdomains, count_entry, NULL);
	if (!p->parser) {
		fail(f, WARD_ENOMEM, "%s", "out of memory");
		p->state = FETCH_DONE;
		return WARD_ENOMEM;
	}
	if (ward_sha256_init(&p->sha) != 0) {
		fail(f, WARD_ENOMEM, "%s", "out of memory");
		p->state = FETCH_DONE;
		return WARD_ENOMEM;
	}
	f->bytes = 0;
	f->http_code = 0;
	f->etag[0] = f->last_modified[0] = '\0';
	p->head_len = 0;
	p->head_decided = p->ct_checked = p->html = p->too_big = p->io_error = false;
	p->errbuf[0] = '\0';
	f->attempts++;
	if (curl_multi_add_handle(multi, p->easy) != CURLM_OK) {
		fail(f, WARD_ENET, "%s", "cannot start the transfer");
		p->state = FETCH_DONE;
		return WARD_ENET;
	}
	p->state = FETCH_ACTIVE;
	return 0;
}

/* A complete 2xx (or file://) body: finish the parse, the digest and the file. */
static bool accept_body(struct ward_fetch *f)
{
	struct ward_fetch_priv *p = f->priv;
	/* min_entries 0 declares a list that may be empty (an operator's local list). */
	if (f->bytes == 0 && f->feed->min_entries > 0) {
		fail(f, WARD_EREFUSED, "%s", "refused: empty body");
		return false;
	}
	ward_feed_parser_finish(p->parser, &f->stats);
	if (ward_sha256_final(&p->sha, f->sha256) != 0) {
		fail(f, WARD_ENOMEM, "%s", "out of memory");
		return false;
	}
	if (fsync(p->fd) != 0) {
		fail(f, WARD_EIO, "cannot sync %s", f->tmp_path);
		return false;
	}
	response_header(p->easy, "ETag", f->etag, sizeof(f->etag));
	response_header(p->easy, "Last-Modified", f->last_modified, sizeof(f->last_modified));
	f->outcome = WARD_FETCH_BODY;
	f->err = 0;
	f->reason[0] = '\0';
	return true;
}

/* Judge a finished attempt. @return true when another attempt should follow. */
static bool attempt_judge(struct ward_fetch *f, CURLcode rc)
{
	struct ward_fetch_priv *p = f->priv;
	char num[64];
	bool transient = false;
	curl_easy_getinfo(p->easy, CURLINFO_RESPONSE_CODE, &f->http_code);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)p->cap);
	if (p->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
		fail(f, WARD_ETOOBIG, "refused: larger than the size cap of %s bytes", num);
	} else if (p->html) {
		fail(f, WARD_EREFUSED, "%s", "refused: an HTML page, not a list");
	} else if (p->io_error) {
		fail(f, ward_errno(p->io_errno), "cannot write the download: %s",
		     ward_strerror(ward_errno(p->io_errno)));
	} else if (rc == CURLE_OK && f->http_code == 304) {
		if (!f->cond_etag[0] && !f->cond_last_modified[0]) {
			fail(f, WARD_ENET, "%s", "HTTP 304 to an unconditional request");
		} else {
			f->outcome = WARD_FETCH_NOT_MODIFIED;
			f->err = 0;
			f->reason[0] = '\0';
		}
	} else if (rc == CURLE_OK && (f->http_code == 0 ||
				      (f->http_code >= 200 && f->http_code < 300))) {
		accept_body(f);
	} else if (rc == CURLE_OK || rc == CURLE_HTTP_RETURNED_ERROR) {
		snprintf(num, sizeof(num), "%ld", f->http_code);
		fail(f, WARD_ENET, "HTTP %s", num);
		transient = http_transient(f->http_code);
	} else {
		int err = curl_error(rc, &transient);
		fail(f, err, "%s", p->errbuf[0] ? p->errbuf : curl_easy_strerror(rc));
	}
	return f->outcome == WARD_FETCH_FAILED && transient;
}

struct fetch_loop {
	CURLM *multi;
	struct ward_fetch *fetches;
	size_t n;
	const struct ward_update_opts *opts;
	const struct ward_fetch_hooks *hooks;
	size_t active;
	uint64_t bytes_done; /* bytes of attempts that already ended */
};

static void finish_fetch(struct fetch_loop *L, struct ward_fetch *f, CURLcode rc)
{
	struct ward_fetch_priv *p = f->priv;
	curl_multi_remove_handle(L->multi, p->easy);
	L->active--;
	L->bytes_done += f->bytes;
	bool again = attempt_judge(f, rc) && f->attempts < L->opts->tries;
	if (again) {
		int64_t delay = (int64_t)L->opts->backoff_ms << (f->attempts - 1 < 16 ?
								 f->attempts - 1 : 16);
		p->not_before_ms = mono_ms() + delay;
		p->state = FETCH_PENDING;
		return;
	}
	p->state = FETCH_DONE;
	close(p->fd); /* the caller renames or removes the file; the data is synced */
	p->fd = -1;
	if (L->hooks && L->hooks->on_done)
		L->hooks->on_done(L->hooks->ctx, f);
}

/* Start what may start now. @return ms until the next waiting retry is due, or -1. */
static int64_t start_due(struct fetch_loop *L)
{
	int64_t now = mono_ms(), next = -1;
	for (size_t i = 0; i < L->n; i++) {
		struct ward_fetch *f = &L->fetches[i];
		if (f->priv->state != FETCH_PENDING)
			continue;
		if (f->priv->not_before_ms > now) {
			int64_t wait = f->priv->not_before_ms - now;
			next = next < 0 || wait < next ? wait : next;
			continue;
		}
		if (L->active >= L->opts->parallel)
			continue;
		if (attempt_start(L->multi, f) == 0)
			L->active++;
		else if (L->hooks && L->hooks->on_done)
			L->hooks->on_done(L->hooks->ctx, f);
	}
	return next;
}

static bool all_done(const struct fetch_loop *L)
{
	for (size_t i = 0; i < L->n; i++)
		if (L->fetches[i].priv->state != FETCH_DONE)
			return false;
	return true;
}

static void drain_messages(struct fetch_loop *L)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(L->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		struct ward_fetch *f = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&f);
		finish_fetch(L, f, msg->data.result);
	}
}

static void report_progress(struct fetch_loop *L, int64_t *last)
{
	int64_t now = mono_ms();
	if (!L->hooks || !L->hooks->on_progress || now - *last < PROGRESS_INTERVAL_MS)
		return;
	*last = now;
	uint64_t bytes = L->bytes_done;
	for (size_t i = 0; i < L->n; i++)
		if (L->fetches[i].priv->state == FETCH_ACTIVE)
			bytes += L->fetches[i].bytes;
	L->hooks->on_progress(L->hooks->ctx, bytes);
}

static int run_loop(struct fetch_loop *L)
{
	int64_t last_progress = 0;
	for (;;) {
		int64_t next_retry = start_due(L);
		int running = 0;
		if (curl_multi_perform(L->multi, &running) != CURLM_OK)
			return WARD_ENET;
		drain_messages(L);
		report_progress(L, &last_progress);
		if (all_done(L))
			return 0;
		int timeout = PROGRESS_INTERVAL_MS;
		if (next_retry >= 0 && next_retry < timeout)
			timeout = (int)next_retry;
		if (curl_multi_poll(L->multi, NULL, 0, timeout, NULL) != CURLM_OK)
			return WARD_ENET;
	}
}

int ward_fetch_run(struct ward_fetch *fetches, size_t n, const struct ward_update_opts *opts,
		   const struct ward_fetch_hooks *hooks)
{
	int rc = 0;
	if (n == 0)
		return 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return WARD_ENET;
	struct fetch_loop L = { .fetches = fetches, .n = n, .opts = opts, .hooks = hooks };
	L.multi = curl_multi_init();
	if (!L.multi) {
		rc = WARD_ENOMEM;
		goto global_cleanup;
	}
	for (size_t i = 0; i < n; i++) {
		rc = fetch_prepare(&fetches[i], opts);
		if (rc < 0)
			goto release;
	}
	rc = run_loop(&L);
release:
	for (size_t i = 0; i < n; i++) {
		if (fetches[i].priv && fetches[i].priv->state == FETCH_ACTIVE)
			curl_multi_remove_handle(L.multi, fetches[i].priv->easy);
		fetch_release(&fetches[i]);
	}
	curl_multi_cleanup(L.multi);
global_cleanup:
	curl_global_cleanup();
	return rc;
}
