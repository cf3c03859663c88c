/*
 * The parent's actions and the child's report, checked against the config: the one code
 * path behind both `ward allow/deny/pause/resume/overrides/reports` and wardd's JSON API,
 * so the two cannot drift apart. Each action validates its input (the profile exists,
 * the name is a host name and no public suffix, the category is known, the duration is in
 * range), then writes through blocklists/overrides.h or reports.h, and on failure leaves
 * a sentence for the person in a->error.
 */
#ifndef WARD_ADMIN_H
#define WARD_ADMIN_H

#include <stdbool.h>
#include <stdint.h>

#include "blocklists/catdb.h"
#include "blocklists/conf.h"
#include "blocklists/overrides.h"
#include "blocklists/reports.h"

struct ward_admin {
	struct ward_catdb *db;          /* a WRITE database */
	const struct ward_conf *conf;
	const char *source;             /* recorded with each override: "cli", "api 10.0.0.2" */
	int64_t now;                    /* unix seconds (blocklists/clock.h) */
	char error[256];                /* why the last action failed */
};

/* The word for every profile at once, in the CLI and the API. */
#define WARD_ADMIN_EVERYONE "everyone"

/*
 * allow NAME for `profile` (a profile name, or NULL / "everyone"), for `seconds`
 * (0: until removed). *out (may be NULL) receives the stored override.
 * @return 0, WARD_EINVAL (bad input), WARD_ENOMEM (too many overrides), WARD_EDB, ...
 */
int ward_admin_allow(struct ward_admin *a, const char *profile, const char *name,
		     uint64_t seconds, struct ward_override *out);

/* deny NAME for `profile` (or everyone) as `category`. As ward_admin_allow. */
int ward_admin_deny(struct ward_admin *a, const char *profile, const char *name,
		    const char *category, uint64_t seconds, struct ward_override *out);

/* Pause a profile (not everyone) for `seconds` (1 s .. WARD_OVERRIDE_SECONDS_MAX). */
int ward_admin_pause(struct ward_admin *a, const char *profile, uint64_t seconds,
		     struct ward_override *out);

/* @return 0, WARD_EINVAL (no such profile), WARD_ENOTFOUND (not paused). */
int ward_admin_resume(struct ward_admin *a, const char *profile);

/* @return 0, WARD_ENOTFOUND. */
int ward_admin_remove(struct ward_admin *a, uint64_t id, struct ward_override *removed);

/*
 * Accept a pending report: wrongly-blocked -> an allow override, should-be-blocked -> a
 * deny override as the report's category. For `profile` (NULL: the report's own, or
 * everyone when it has none; a csam report: everyone) or everyone (`everyone` true), for
 * `seconds` (0: until removed).
 * @return 0, WARD_ENOTFOUND, WARD_ESTALE (already resolved), WARD_EINVAL, WARD_ENOMEM.
 */
int ward_admin_accept(struct ward_admin *a, uint64_t id, const char *profile, bool everyone,
		      uint64_t seconds, struct ward_override *out);

/* Reject a pending report (the record is kept, its status shown to the child). */
int ward_admin_reject(struct ward_admin *a, uint64_t id);

/*
 * A child's report. `category`: should-be-blocked needs a known one; wrongly-blocked
 * takes what blocked the name, or "". `message` may be NULL.
 * @return 0 (*out filled, *merged when it joined a pending twin), WARD_EINVAL,
 *         WARD_ENOMEM (too many pending reports).
 */
int ward_admin_report(struct ward_admin *a, const char *client, const char *profile,
		      const char *name, enum ward_report_kind kind, const char *category,
		      const char *message, struct ward_report *out, bool *merged);

/*
 * A host name as a person types it ("YouTube.com.", a UTF-8 name) -> the lower-case
 * wire name wardd decides on. Public suffixes ("com", "co.uk") are refused: an override
 * for one would cover a whole registry.
 * @return the wire length, or 0 with a->error set.
 */
size_t ward_admin_name(struct ward_admin *a, const char *text, uint8_t *wire);

/* "1h30m", "45m", "2d", "90s" or a plain number of seconds -> seconds (1 s to
 * WARD_OVERRIDE_SECONDS_MAX). @return 0 or -1. */
int ward_admin_parse_duration(const char *text, uint64_t *seconds);

/* JSON objects of the API and of `--json` (struct cJSON *; the caller owns them). */
void *ward_admin_override_json(const struct ward_override *o, int64_t now);
void *ward_admin_report_json(const struct ward_report *r);

#endif
