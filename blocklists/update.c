/*
 * One `ward update` run:
 *   lock  -> load feed states -> pick due feeds -> download all in parallel, judging each
 *   as it completes (checks, raw copy, state) -> rebuild the domains table from every
 *   good raw copy in one catdb build -> record the build's signature.
 *
 * The update lock (feeds/update.lock) covers the whole run, not just the build, so two
 * runs never interleave a raw copy with another run's metadata; the second one waits and
 * then finds the feeds fresh. The catdb build lock still guards the domains table against
 * any other writer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blocklists/catdb.h"
#include "blocklists/error.h"
#include "blocklists/update_internal.h"

#define READ_CHUNK (256 * 1024)

_Static_assert(WARD_REJECT_COUNT <= WARD_CATDB_FEED_REJECTS,
	       "the feed state keeps a counter for every rejection reason");

struct run {
	const struct ward_conf *conf;
	const struct ward_update_opts *opts;
	struct ward_update_result *res;
	struct ward_catdb *db;
	struct ward_catdb_feed_state *states; /* one per configured feed */
	bool *fetching;
	char feeds_dir[PATH_MAX];
	int64_t now;
	int lock_fd;
	int put_err;                          /* first failure to store a feed state */
};

void ward_update_opts_init(struct ward_update_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->tries = WARD_UPDATE_DEFAULT_TRIES;
	opts->backoff_ms = WARD_UPDATE_DEFAULT_BACKOFF_MS;
	opts->connect_timeout_ms = WARD_UPDATE_DEFAULT_CONNECT_TIMEOUT_MS;
	opts->timeout_ms = WARD_UPDATE_DEFAULT_TIMEOUT_MS;
	opts->max_bytes = WARD_UPDATE_DEFAULT_MAX_BYTES;
	opts->parallel = WARD_UPDATE_DEFAULT_PARALLEL;
}

const char *ward_update_status_name(enum ward_update_status status)
{
	switch (status) {
	case WARD_UPDATE_SKIPPED: return "skipped";
	case WARD_UPDATE_DISABLED: return "disabled";
	case WARD_UPDATE_UPDATED: return "updated";
	case WARD_UPDATE_UNCHANGED: return "unchanged";
	case WARD_UPDATE_FAILED: return "failed";
	case WARD_UPDATE_OFFLINE: return "offline";
	}
	return "unknown";
}

void ward_update_result_free(struct ward_update_result *res)
{
	free(res->feeds);
	res->feeds = NULL;
	res->n_feeds = 0;
}

static void emit(struct run *R, enum ward_update_event ev, size_t index)
{
	if (R->opts->on_event)
		R->opts->on_event(R->opts->event_ctx, ev, R->res, index);
}

/* Messages are truncated to fit; going through vsnprintf says that on purpose. */
__attribute__((format(printf, 3, 4)))
static void say(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
}

/* Record why the run failed: the message, then ward_strerror(err). @return err. */
__attribute__((format(printf, 3, 4)))
static int run_error(struct run *R, int err, const char *fmt, ...)
{
	char msg[WARD_UPDATE_REASON_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	say(R->res->error, sizeof(R->res->error), "%s%s%s", msg, msg[0] ? ": " : "",
	    ward_strerror(err));
	return err;
}

/* As run_error, for messages that need no error string. */
__attribute__((format(printf, 3, 4)))
static int run_msg(struct run *R, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(R->res->error, sizeof(R->res->error), fmt, ap);
	va_end(ap);
	return err;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
	say(dst, cap, "%s", src ? src : "");
}

static bool raw_path(const struct run *R, size_t i, char *buf, size_t cap)
{
	return ward_update_raw_path(R->conf->database, R->conf->feeds[i].name, buf, cap) == 0;
}

static bool has_copy(const struct run *R, size_t i)
{
	char path[PATH_MAX];
	return R->states[i].last_good > 0 && raw_path(R, i, path, sizeof(path)) &&
	       ward_update_file_exists(path);
}

/* ---- feed states ---------------------------------------------------------------- */

/* Loads every configured feed's state. catdb gives a feed its stable id on first sight
 * (ward_catdb_feed_id), so the domain values of this build and of later ones name it. */
static int load_states(struct run *R)
{
	for (size_t i = 0; i < R->conf->n_feeds; i++) {
		const char *name = R->conf->feeds[i].name;
		struct ward_catdb_feed_state *st = &R->states[i];
		uint16_t id;
		int rc = ward_catdb_feed_id(R->db, name, &id);
		if (rc == 0)
			rc = ward_catdb_feed_get(R->db, name, st);
		if (rc < 0)
			return run_error(R, rc, "reading the state of feed %s", name);
	}
	return 0;
}

/* catdb keeps at most sizeof(st->url) - 1 bytes of a URL; compare what it can keep. */
static bool same_url(const struct ward_catdb_feed_state *st, const char *url)
{
	return strncmp(st->url, url, sizeof(st->url) - 1) == 0;
}

/* st->url is the URL of the stored copy: it changes only with a successful download, so
 * a failed first try of a new URL never passes the old copy off as fresh for it. */
static void put_state(struct run *R, size_t i)
{
	struct ward_catdb_feed_state *st = &R->states[i];
	st->categories = R->conf->feeds[i].categories;
	int rc = ward_catdb_feed_put(R->db, st);
	if (rc < 0 && R->put_err == 0)
		R->put_err = rc;
}

/* ---- which feeds to download ---------------------------------------------------- */

static void set_status(struct ward_update_feed_result *fr, enum ward_update_status s,
		       int err, const char *reason)
{
	fr->status = s;
	fr->err = err;
	copy_str(fr->reason, sizeof(fr->reason), reason);
}

static void plan_feed(struct run *R, size_t i)
{
	const struct ward_conf_feed *feed = &R->conf->feeds[i];
	const struct ward_catdb_feed_state *st = &R->states[i];
	struct ward_update_feed_result *fr = &R->res->feeds[i];
	char why[WARD_UPDATE_REASON_MAX];
	fr->has_copy = has_copy(R, i);
	fr->prev_entries = fr->entries = fr->has_copy ? st->entries : 0;
	fr->last_good = st->last_good;
	if (!feed->enabled) {
		set_status(fr, WARD_UPDATE_DISABLED, 0, "disabled in the config");
		fr->has_copy = false;
	} else if (R->opts->offline) {
		if (fr->has_copy)
			set_status(fr, WARD_UPDATE_OFFLINE, 0, "stored copy");
		else
			set_status(fr, WARD_UPDATE_FAILED, WARD_ENOTFOUND, "offline: no stored copy");
	} else if (R->opts->only_feed && strcmp(R->opts->only_feed, feed->name) != 0) {
		set_status(fr, WARD_UPDATE_SKIPPED, 0, "not selected");
	} else if (!R->opts->force && fr->has_copy && same_url(st, feed->url) &&
		   !ward_update_is_due(st->last_good, feed->refresh_s, R->now)) {
		int64_t left = st->last_good + (int64_t)feed->refresh_s - R->now;
		snprintf(why, sizeof(why), "fresh, due in %lldh %02lldm", (long long)left / 3600,
			 (long long)left % 3600 / 60);
		set_status(fr, WARD_UPDATE_SKIPPED, 0, why);
	} else {
		R->fetching[i] = true;
	}
}

/* ---- judging a finished download ------------------------------------------------ */

static void judge_body(struct run *R, struct ward_fetch *f, const char *raw)
{
	size_t i = f->index;
	struct ward_catdb_feed_state *st = &R->states[i];
	struct ward_update_feed_result *fr = &R->res->feeds[i];
	char why[WARD_UPDATE_REASON_MAX], msg[WARD_UPDATE_REASON_MAX + 16];
	uint64_t entries = f->stats.blocks + f->stats.allows;
	fr->parsed = true;
	fr->parse = f->stats;
	int rc = ward_update_check_counts(entries, R->conf->feeds[i].min_entries,
					  fr->has_copy ? st->entries : 0, R->opts->allow_shrink,
					  why, sizeof(why));
	if (rc < 0) {
		say(msg, sizeof(msg), "refused: %s", why);
		set_status(fr, WARD_UPDATE_FAILED, rc, msg);
		return;
	}
	/* The copy in use from now on (also an unchanged one: a state written before the
	 * counters were kept gets them): `ward stats` shows why lines became no entry. */
	for (int r = 0; r < WARD_REJECT_COUNT; r++)
		st->rejected[r] = f->stats.rejected[r];
	if (fr->has_copy && memcmp(f->sha256, st->sha256, 32) == 0) {
		set_status(fr, WARD_UPDATE_UNCHANGED, 0, "same content");
		return;
	}
	if ((rc = ward_update_install(f->tmp_path, raw, R->feeds_dir)) < 0) {
		say(msg, sizeof(msg), "cannot store %s: %s", raw, ward_strerror(rc));
		set_status(fr, WARD_UPDATE_FAILED, rc, msg);
		return;
	}
	memcpy(st->sha256, f->sha256, 32);
	st->entries = entries;
	set_status(fr, WARD_UPDATE_UPDATED, 0, "");
}

static void on_fetch_done(void *ctx, struct ward_fetch *f)
{
	struct run *R = ctx;
	size_t i = f->index;
	struct ward_catdb_feed_state *st = &R->states[i];
	struct ward_update_feed_result *fr = &R->res->feeds[i];
	char raw[PATH_MAX];
	fr->attempts = f->attempts;
	fr->http_code = f->http_code;
	fr->bytes = f->bytes;
	st->last_attempt = R->now;
	if (f->outcome == WARD_FETCH_NOT_MODIFIED) {
		set_status(fr, WARD_UPDATE_UNCHANGED, 0, "not modified");
		if (!f->etag[0])
			copy_str(f->etag, sizeof(f->etag), st->etag);
		if (!f->last_modified[0])
			copy_str(f->last_modified, sizeof(f->last_modified), st->last_modified);
	} else if (f->outcome == WARD_FETCH_FAILED) {
		set_status(fr, WARD_UPDATE_FAILED, f->err, f->reason);
	} else if (!raw_path(R, i, raw, sizeof(raw))) {
		set_status(fr, WARD_UPDATE_FAILED, WARD_EINVAL, "feed name unusable as a file name");
	} else {
		judge_body(R, f, raw);
	}
	unlink(f->tmp_path); /* gone already when installed */
	if (fr->status == WARD_UPDATE_FAILED) {
		copy_str(st->last_error, sizeof(st->last_error), fr->reason);
	} else {
		copy_str(st->url, sizeof(st->url), R->conf->feeds[i].url);
		copy_str(st->etag, sizeof(st->etag), f->etag);
		copy_str(st->last_modified, sizeof(st->last_modified), f->last_modified);
		st->last_good = R->now;
		st->last_error[0] = '\0';
		fr->has_copy = true;
		fr->entries = st->entries;
		fr->last_good = st->last_good;
	}
	put_state(R, i);
	emit(R, WARD_UPDATE_EV_FEED_DONE, i);
}

static void on_fetch_progress(void *ctx, uint64_t bytes)
{
	struct run *R = ctx;
	R->res->bytes_total = bytes;
	emit(R, WARD_UPDATE_EV_PROGRESS, 0);
}

static double since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static int download(struct run *R)
{
	size_t n = 0;
	for (size_t i = 0; i < R->conf->n_feeds; i++)
		n += R->fetching[i];
	if (n == 0)
		return 0;
	struct ward_fetch *fetches = calloc(n, sizeof(*fetches));
	if (!fetches)
		return run_error(R, WARD_ENOMEM, "%s", "");
	size_t k = 0;
	for (size_t i = 0; i < R->conf->n_feeds; i++) {
		if (!R->fetching[i])
			continue;
		struct ward_fetch *f = &fetches[k++];
		const struct ward_catdb_feed_state *st = &R->states[i];
		f->feed = &R->conf->feeds[i];
		f->index = i;
		say(f->tmp_path, sizeof(f->tmp_path), "%s/%s.raw.tmp", R->feeds_dir, f->feed->name);
		/* Conditional only when a 304 leaves us a copy to reuse, of this very URL. */
		if (R->res->feeds[i].has_copy && !R->opts->force && same_url(st, f->feed->url)) {
			copy_str(f->cond_etag, sizeof(f->cond_etag), st->etag);
			copy_str(f->cond_last_modified, sizeof(f->cond_last_modified),
				 st->last_modified);
		}
	}
	struct ward_fetch_hooks hooks = { on_fetch_done, on_fetch_progress, R };
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = ward_fetch_run(fetches, n, R->opts, &hooks);
	R->res->download_s = since(&t0);
	if (rc < 0)
		run_error(R, rc, "the downloader could not start");
	free(fetches);
	return rc;
}

/* ---- the rebuild ---------------------------------------------------------------- */

struct add_ctx {
	struct ward_catdb_build *build;
	ward_catset categories;
	uint16_t id;
	uint64_t count;
};

static int add_entry(void *ctx, const char *name, size_t len, unsigned flags)
{
	struct add_ctx *a = ctx;
	a->count++;
	return ward_catdb_build_add(a->build, name, len, a->categories, a->id, flags);
}

static int add_feed(struct run *R, struct ward_catdb_build *b, size_t i, char *buf)
{
	const struct ward_conf_feed *feed = &R->conf->feeds[i];
	char path[PATH_MAX];
	struct add_ctx a = { b, feed->categories, R->states[i].id, 0 };
	struct ward_feed_stats stats;
	if (!raw_path(R, i, path, sizeof(path)))
		return run_error(R, WARD_EINVAL, "feed %s: bad name", feed->name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return run_error(R, ward_errno(errno), "cannot read %s", path);
	struct ward_feed_parser *p = ward_feed_parser_new(feed->format, feed->subdomains,
							  add_entry, &a);
	int rc = p ? 0 : WARD_ENOMEM;
	ssize_t got;
	while (rc == 0 && (got = read(fd, buf, READ_CHUNK)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		rc = got < 0 ? ward_errno(errno) : ward_feed_parser_write(p, buf, (size_t)got);
	}
	if (rc == 0)
		rc = ward_feed_parser_finish(p, &stats);
	ward_feed_parser_free(p);
	close(fd);
	if (rc < 0)
		return run_error(R, rc, "building from feed %s", feed->name);
	R->res->feeds[i].entries = a.count;
	R->res->build_entries += a.count;
	return 0;
}

static int build(struct run *R)
{
	struct ward_catdb_build *b;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	char *buf = malloc(READ_CHUNK);
	if (!buf)
		return run_error(R, WARD_ENOMEM, "%s", "");
	int rc = ward_catdb_build_begin(R->db, R->opts->nowait, &b);
	if (rc < 0) {
		free(buf);
		return run_error(R, rc, "%s", rc == WARD_EBUSY ?
				 "another writer is building the database" : "starting the build");
	}
	emit(R, WARD_UPDATE_EV_BUILD_START, 0);
	for (size_t i = 0; i < R->conf->n_feeds && rc == 0; i++)
		if (R->res->feeds[i].has_copy)
			rc = add_feed(R, b, i, buf);
	free(buf);
	if (rc < 0) {
		ward_catdb_build_abort(b);
		return rc;
	}
	if ((rc = ward_catdb_build_commit(b)) < 0)
		return run_error(R, rc, "committing the build");
	R->res->built = true;
	R->res->build_s = since(&t0);
	emit(R, WARD_UPDATE_EV_BUILD_DONE, 0);
	return 0;
}

/* A digest of everything a build depends on, to skip a rebuild that would change
 * nothing (the usual timer run where no feed was due). */
static void inputs_digest(const struct run *R, char hex[65])
{
	struct ward_sha256 s = {0};
	uint8_t d[32];
	char line[400];
	ward_sha256_init(&s);
	ward_sha256_update(&s, "ward-build-v1\n", 14);
	for (size_t i = 0; i < R->conf->n_feeds; i++) {
		const struct ward_conf_feed *feed = &R->conf->feeds[i];
		const struct ward_catdb_feed_state *st = &R->states[i];
		char sha[65];
		if (!R->res->feeds[i].has_copy)
			continue;
		ward_sha256_hex(st->sha256, sha);
		int n = snprintf(line, sizeof(line), "%s %u %llx %d %d %s\n", feed->name, st->id,
				 (unsigned long long)feed->categories, (int)feed->format,
				 (int)feed->subdomains, sha);
		ward_sha256_update(&s, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line));
	}
	/* Without a digest (out of memory) the answer is "" and the build goes ahead:
	 * build_needed() never matches an empty digest. */
	if (ward_sha256_final(&s, d) == 0)
		ward_sha256_hex(d, hex);
	else
		hex[0] = '\0';
	ward_sha256_free(&s);
}

static bool build_needed(const struct run *R, const char hex[65])
{
	struct ward_catdb_meta meta;
	uint64_t gen;
	char old[65];
	if (R->opts->force || R->opts->offline || !hex[0])
		return true;
	for (size_t i = 0; i < R->conf->n_feeds; i++)
		if (R->res->feeds[i].status == WARD_UPDATE_UPDATED)
			return true;
	if (ward_update_sig_read(R->feeds_dir, &gen, old) < 0 ||
	    ward_catdb_meta_get(R->db, &meta) < 0)
		return true;
	return gen != meta.generation || strcmp(old, hex) != 0;
}

static int rebuild(struct run *R)
{
	char hex[65];
	struct ward_catdb_meta meta;
	inputs_digest(R, hex);
	if (build_needed(R, hex)) {
		int rc = build(R);
		if (rc < 0)
			return rc;
	}
	if (ward_catdb_meta_get(R->db, &meta) == 0) {
		R->res->generation = meta.generation;
		R->res->domains = meta.domains;
		/* Losing the signature only costs one rebuild next time. */
		if (R->res->built)
			ward_update_sig_write(R->feeds_dir, meta.generation, hex);
	}
	return 0;
}

/* ---- the run -------------------------------------------------------------------- */

static int check_selection(struct run *R)
{
	const char *want = R->opts->only_feed;
	if (!want)
		return 0;
	for (size_t i = 0; i < R->conf->n_feeds; i++) {
		if (strcmp(R->conf->feeds[i].name, want) != 0)
			continue;
		if (!R->conf->feeds[i].enabled)
			return run_msg(R, WARD_EINVAL, "feed %s is disabled in the config", want);
		return 0;
	}
	return run_msg(R, WARD_EINVAL, "no feed named %s in the config", want);
}

static int lock_and_open(struct run *R)
{
	int rc;
	if (snprintf(R->feeds_dir, sizeof(R->feeds_dir), "%s/feeds", R->conf->database) >=
	    (int)sizeof(R->feeds_dir))
		return run_error(R, WARD_ETOOBIG, "database path too long");
	if ((rc = ward_update_mkdirs(R->feeds_dir)) < 0)
		return run_error(R, rc, "cannot create %s", R->feeds_dir);
	if ((rc = ward_update_lock_open(R->feeds_dir, &R->lock_fd)) < 0)
		return run_error(R, rc, "cannot open the update lock in %s", R->feeds_dir);
	rc = ward_update_lock_take(R->lock_fd, false);
	if (rc == WARD_EBUSY && !R->opts->nowait) {
		emit(R, WARD_UPDATE_EV_LOCK_WAIT, 0);
		rc = ward_update_lock_take(R->lock_fd, true);
	}
	if (rc < 0)
		return run_error(R, rc, "%s", rc == WARD_EBUSY ?
				 "another ward update is running" : "cannot lock");
	if ((rc = ward_catdb_open(R->conf->database, WARD_CATDB_WRITE, &R->db)) < 0)
		return run_error(R, rc, "cannot open the database in %s", R->conf->database);
	ward_update_tighten_modes(R->conf->database, R->feeds_dir);
	return 0;
}

static void count_statuses(struct ward_update_result *res)
{
	for (size_t i = 0; i < res->n_feeds; i++) {
		switch (res->feeds[i].status) {
		case WARD_UPDATE_SKIPPED: res->n_skipped++; break;
		case WARD_UPDATE_DISABLED: res->n_disabled++; break;
		case WARD_UPDATE_UPDATED: res->n_updated++; break;
		case WARD_UPDATE_UNCHANGED: res->n_unchanged++; break;
		case WARD_UPDATE_FAILED: res->n_failed++; break;
		case WARD_UPDATE_OFFLINE: res->n_offline++; break;
		}
	}
}

static int run_phases(struct run *R)
{
	int rc;
	if ((rc = check_selection(R)) < 0 || (rc = lock_and_open(R)) < 0 ||
	    (rc = load_states(R)) < 0)
		return rc;
	for (size_t i = 0; i < R->conf->n_feeds; i++) {
		plan_feed(R, i);
		if (!R->fetching[i])
			emit(R, WARD_UPDATE_EV_FEED_DONE, i);
	}
	if ((rc = download(R)) < 0)
		return rc;
	if (R->put_err < 0)
		return run_error(R, R->put_err, "storing feed states");
	return rebuild(R);
}

int ward_update_run(const struct ward_conf *conf, const struct ward_update_opts *opts,
		    struct ward_update_result *res)
{
	memset(res, 0, sizeof(*res));
	if (!conf || !opts || !conf->database || opts->tries == 0 || opts->parallel == 0 ||
	    opts->max_bytes == 0)
		return WARD_EINVAL;
	struct run R = { .conf = conf, .opts = opts, .res = res, .lock_fd = -1 };
	R.now = opts->now ? opts->now : (int64_t)time(NULL);
	res->n_feeds = conf->n_feeds;
	res->feeds = calloc(conf->n_feeds + 1, sizeof(*res->feeds));
	R.states = calloc(conf->n_feeds + 1, sizeof(*R.states));
	R.fetching = calloc(conf->n_feeds + 1, sizeof(*R.fetching));
	int rc = WARD_ENOMEM;
	if (!res->feeds || !R.states || !R.fetching) {
		run_error(&R, rc, "%s", "");
		goto cleanup;
	}
	for (size_t i = 0; i < conf->n_feeds; i++)
		copy_str(res->feeds[i].name, sizeof(res->feeds[i].name), conf->feeds[i].name);
	rc = run_phases(&R);
	count_statuses(res);
cleanup:
	if (R.db)
		ward_catdb_close(R.db);
	if (R.lock_fd >= 0)
		close(R.lock_fd); /* releases the flock */
	free(R.fetching);
	free(R.states);
	return rc;
}
