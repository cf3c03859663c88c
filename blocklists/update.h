/*
 * The feed updater behind `ward update`: download the due feeds, check them, keep the last
 * good raw copy of each beside the database, and rebuild the `domains` table from all of
 * them in one catdb build.
 *
 * Storage, beside the LMDB files in conf->database:
 *   feeds/<name>.raw       last good copy of each feed, exactly as downloaded (decoded)
 *   feeds/<name>.raw.tmp   a download in progress; renamed over .raw once it passed
 *   feeds/update.lock      flock()ed for the whole run: one `ward update` at a time
 *   feeds/build.sig        generation + digest of the inputs of the last committed build,
 *                          so a run in which nothing changed does not rebuild
 * Metadata (URL, ETag, Last-Modified, last good time, entries, sha256, last error) lives
 * in the catdb `feeds` key space, so `ward update --offline` can rebuild without network.
 *
 * A feed that fails (network, HTTP error, HTML page, empty, too few entries, shrank by
 * more than half, over the size cap) keeps its last good copy: a failure never empties a
 * category.
 */
#ifndef WARD_UPDATE_H
#define WARD_UPDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blocklists/conf.h"
#include "blocklists/feed.h"

#define WARD_UPDATE_USER_AGENT "ward/0.1 (+feed updater)"
#define WARD_UPDATE_DEFAULT_MAX_BYTES (64ull * 1024 * 1024)
#define WARD_UPDATE_DEFAULT_TRIES 3
#define WARD_UPDATE_DEFAULT_BACKOFF_MS 1000
#define WARD_UPDATE_DEFAULT_CONNECT_TIMEOUT_MS 15000
#define WARD_UPDATE_DEFAULT_TIMEOUT_MS 300000
#define WARD_UPDATE_DEFAULT_PARALLEL 8
#define WARD_UPDATE_REASON_MAX 256

enum ward_update_status {
	WARD_UPDATE_SKIPPED,   /* not due (fresh), or not selected by --feed */
	WARD_UPDATE_DISABLED,  /* "enabled": false: neither downloaded nor built */
	WARD_UPDATE_UPDATED,   /* a new copy passed the checks and replaced the old one */
	WARD_UPDATE_UNCHANGED, /* 304 Not Modified, or the same bytes as the stored copy */
	WARD_UPDATE_FAILED,    /* download failed or was refused; the last good copy stays */
	WARD_UPDATE_OFFLINE,   /* --offline: the stored copy was used as it is */
};

enum ward_update_event {
	WARD_UPDATE_EV_LOCK_WAIT,   /* another run holds the update lock; waiting for it */
	WARD_UPDATE_EV_PROGRESS,    /* bytes arrived (at most a few times per second) */
	WARD_UPDATE_EV_FEED_DONE,   /* feeds[index] has its final status for this run */
	WARD_UPDATE_EV_BUILD_START, /* the rebuild of the domains table begins */
	WARD_UPDATE_EV_BUILD_DONE,
};

struct ward_update_result;

/* Called from the thread that runs ward_update_run(). index is meaningful only for
 * WARD_UPDATE_EV_FEED_DONE. */
typedef void (*ward_update_event_fn)(void *ctx, enum ward_update_event ev,
				     const struct ward_update_result *res, size_t index);

struct ward_update_opts {
	const char *only_feed;        /* NULL = every enabled feed; else just this one */
	bool force;                   /* download even when fresh; always rebuild */
	bool offline;                 /* no network: rebuild from the stored copies */
	bool nowait;                  /* another run active: fail with WARD_EBUSY, no wait */
	bool allow_shrink;            /* accept a copy that shrank by more than half */
	unsigned tries;               /* attempts per feed for transient errors, >= 1 */
	unsigned backoff_ms;          /* delay before the 2nd attempt; doubles each time */
	unsigned connect_timeout_ms;
	unsigned timeout_ms;          /* whole transfer, per attempt */
	uint64_t max_bytes;           /* per feed, after decompression */
	unsigned parallel;            /* transfers at the same time, >= 1 */
	int64_t now;                  /* unix seconds; 0 = time(NULL) (tests set it) */
	ward_update_event_fn on_event;
	void *event_ctx;
};

/* Fill opts with the defaults above (no environment is read here). */
void ward_update_opts_init(struct ward_update_opts *opts);

struct ward_update_feed_result {
	char name[64];
	enum ward_update_status status;
	int err;                      /* WARD_E* when FAILED, else 0 */
	char reason[WARD_UPDATE_REASON_MAX]; /* why FAILED/SKIPPED, e.g. "HTTP 404" */
	long http_code;               /* last HTTP status; 0 for file:// or no response */
	unsigned attempts;
	uint64_t bytes;               /* body bytes of the last attempt, decoded */
	uint64_t prev_entries;        /* entries of the last good copy before this run */
	uint64_t entries;             /* entries of the copy in use after this run */
	bool parsed;                  /* `parse` holds the statistics of a new download */
	struct ward_feed_stats parse;
	bool has_copy;                /* a good copy exists and goes into the build */
	int64_t last_good;            /* after this run; 0 = never */
};

struct ward_update_result {
	struct ward_update_feed_result *feeds; /* one per configured feed, config order */
	size_t n_feeds;
	size_t n_updated, n_unchanged, n_failed, n_skipped, n_disabled, n_offline;
	uint64_t bytes_total;         /* bytes received so far, all feeds */
	bool built;                   /* a new generation was committed */
	uint64_t generation;          /* generation after the run (built or not) */
	uint64_t domains;             /* entries in the domains table after the run */
	uint64_t build_entries;       /* entries handed to the build */
	double download_s, build_s;
	char error[WARD_UPDATE_REASON_MAX]; /* set when ward_update_run() fails */
};

/*
 * Run one update. Downloads nothing with opts->offline.
 * @param conf  a loaded config (database directory, feeds, category registry)
 * @param res   receives per-feed results; free with ward_update_result_free() whatever
 *              the return value
 * @return 0 when the run completed: every feed has a status (some may be FAILED) and the
 *         database holds the newest good data. WARD_EINVAL (unknown --feed), WARD_EBUSY
 *         (nowait and another run active), WARD_EIO/WARD_EDB/WARD_ENOMEM (storage or
 *         build failed: the previous build stays in place). res->error says more.
 */
int ward_update_run(const struct ward_conf *conf, const struct ward_update_opts *opts,
		    struct ward_update_result *res);

void ward_update_result_free(struct ward_update_result *res);

const char *ward_update_status_name(enum ward_update_status status);

/* ---- Building blocks, public so that tests can reach them ------------------------- */

/*
 * SHA-256, streaming, through libcrypto (EVP). Start from a zeroed struct; init may be
 * called again to start over (the context is kept), and ward_sha256_free() releases it.
 * An error (out of memory) is sticky: update does nothing, final says so.
 */
struct evp_md_ctx_st;
struct ward_sha256 {
	struct evp_md_ctx_st *ctx;
	bool failed;
};
/* @return 0 or WARD_ENOMEM */
int ward_sha256_init(struct ward_sha256 *s);
void ward_sha256_update(struct ward_sha256 *s, const void *data, size_t len);
/* @return 0, or WARD_ENOMEM (then out is all zeros) */
int ward_sha256_final(struct ward_sha256 *s, uint8_t out[32]);
void ward_sha256_free(struct ward_sha256 *s);
/* Lower-case hex of a digest into out (>= 65 bytes). */
void ward_sha256_hex(const uint8_t digest[32], char out[65]);

/*
 * Does a body that starts with `head` look like an HTML page (after an optional UTF-8
 * BOM and whitespace: "<!doctype html" or "<html", any case)? head may be a prefix of
 * the body; *decided is false when it is too short to tell yet.
 */
bool ward_update_sniff_html(const char *head, size_t len, bool *decided);

/* Does a Content-Type header value name HTML ("text/html; charset=...")? */
bool ward_update_content_type_html(const char *value);

/*
 * The entry-count checks for a new copy: at least min_entries (min_entries 0 accepts an
 * empty list), and not less than half of the last good copy's entries.
 * @param prev_entries  entries of the last good copy (0 = none)
 * @return 0, or WARD_EREFUSED with a reason in buf
 */
int ward_update_check_counts(uint64_t entries, uint32_t min_entries, uint64_t prev_entries,
			     bool allow_shrink, char *buf, size_t cap);

/* Is a feed due at `now`? last_good 0 = never downloaded. Due up to a tenth of
 * refresh_s (at most 30 s) early, so a timer with the same period never skips it. */
bool ward_update_is_due(int64_t last_good, uint32_t refresh_s, int64_t now);

/* "<dir>/feeds/<name>.raw" into buf. @return 0, WARD_EINVAL (bad name), WARD_ETOOBIG. */
int ward_update_raw_path(const char *database, const char *name, char *buf, size_t cap);

#endif
