/*
 * Between the updater's orchestration (update.c) and its downloader (update_fetch.c).
 * Not installed, not used outside blocklists/update*.c.
 */
#ifndef WARD_UPDATE_INTERNAL_H
#define WARD_UPDATE_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "blocklists/conf.h"
#include "blocklists/feed.h"
#include "blocklists/update.h"

enum ward_fetch_outcome {
	WARD_FETCH_BODY,         /* a complete, non-empty, non-HTML body is in tmp_path */
	WARD_FETCH_NOT_MODIFIED, /* 304 to our conditional request */
	WARD_FETCH_FAILED,       /* err and reason say why; tmp_path holds nothing useful */
};

struct ward_fetch_priv;

/* One feed's download. The caller fills the "in" part, ward_fetch_run() the rest. */
struct ward_fetch {
	/* in */
	const struct ward_conf_feed *feed;
	char tmp_path[PATH_MAX];
	char cond_etag[256];          /* "" = send no If-None-Match */
	char cond_last_modified[64];  /* "" = send no If-Modified-Since */
	size_t index;                 /* caller's cookie, handed back to on_done */

	/* out */
	enum ward_fetch_outcome outcome;
	int err;
	char reason[WARD_UPDATE_REASON_MAX];
	long http_code;
	unsigned attempts;
	uint64_t bytes;
	char etag[256];
	char last_modified[64];
	uint8_t sha256[32];
	struct ward_feed_stats stats; /* parse of the body (WARD_FETCH_BODY only) */

	struct ward_fetch_priv *priv;
};

struct ward_fetch_hooks {
	/* A feed's download ended for good (after its last attempt). */
	void (*on_done)(void *ctx, struct ward_fetch *f);
	/* Bytes received so far, all feeds; called at most every 250 ms. */
	void (*on_progress)(void *ctx, uint64_t bytes);
	void *ctx;
};

/*
 * Download all n feeds in parallel (libcurl multi), retrying transient failures.
 * @return 0 when every fetch has an outcome (some may be FAILED), WARD_ENOMEM or
 *         WARD_ENET when libcurl itself could not be set up.
 */
int ward_fetch_run(struct ward_fetch *fetches, size_t n, const struct ward_update_opts *opts,
		   const struct ward_fetch_hooks *hooks);

/* ---- update_store.c: files beside the database ----
 * Files are created 0640 and directories 0750 (feed URLs can carry tokens). Failures
 * keep their cause: WARD_EACCES, WARD_EROFS, WARD_ENOSPC, ... (ward_errno); WARD_EIO
 * stands for the rest. */

/* fsync a directory, making a rename inside it durable. @return 0 or an error. */
int ward_update_fsync_dir(const char *dir);

/* CURLcode (an int here, so that this header needs no curl.h) -> WARD_E*: the converter
 * update_fetch.c uses, for the snapshot sync (snapshot_sync.c). */
int ward_update_curl_err(int code, bool *transient);
/* mkdir -p. @return 0, WARD_EINVAL or an error. */
int ward_update_mkdirs(const char *path);
/* Open (creating) feeds_dir/update.lock. @return 0 or an error. */
int ward_update_lock_open(const char *feeds_dir, int *fd_out);
/* flock() it exclusively. @return 0, WARD_EBUSY (held elsewhere and !wait), WARD_EIO. */
int ward_update_lock_take(int fd, bool wait);
/* rename(tmp, final) and fsync dir. @return 0 or an error. */
int ward_update_install(const char *tmp, const char *final, const char *dir);
bool ward_update_file_exists(const char *path);
/* Files that earlier versions wrote 0644 lose what this version would not give them:
 * the database, its locks and everything in feeds/ become at most 0640, feeds/ 0750.
 * Best effort (only the owner may chmod). */
void ward_update_tighten_modes(const char *database, const char *feeds_dir);
/* The signature of the last committed build. @return 0, WARD_ENOTFOUND, WARD_EFORMAT,
 * WARD_EIO. hex receives 64 hex digits. */
int ward_update_sig_read(const char *feeds_dir, uint64_t *generation, char hex[65]);
int ward_update_sig_write(const char *feeds_dir, uint64_t generation, const char hex[65]);

#endif
