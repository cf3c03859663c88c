/*
 * Reports: what a child's browser sends from the block page or wardd's home page, and
 * the parent's review of them.
 *
 *   wrongly-blocked    "ask to allow this site"
 *   should-be-blocked  "report a site", with a suggested category (csam among them)
 *
 * They live in the `reports` key space of the category database (key-space comment in
 * catdb.c) and survive `ward update`. A report for the same name, kind and profile as one
 * still pending is merged into it (its count goes up, a new message replaces the old),
 * so a child pressing the button ten times makes one entry. At most
 * WARD_REPORTS_PENDING_MAX are pending at once; resolved ones beyond WARD_REPORTS_MAX are
 * dropped oldest first. Accepting and rejecting: blocklists/admin.h.
 */
#ifndef WARD_REPORTS_H
#define WARD_REPORTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blocklists/catdb.h"
#include "blocklists/name.h"
#include "blocklists/overrides.h"

#define WARD_REPORT_MESSAGE_CHARS 500   /* characters (UTF-8 code points) */
#define WARD_REPORT_MESSAGE_MAX (WARD_REPORT_MESSAGE_CHARS * 4 + 1) /* bytes and the NUL */
#define WARD_REPORTS_PENDING_MAX 1000
#define WARD_REPORTS_MAX 10000
#define WARD_REPORT_CLIENT_MAX 46       /* INET6_ADDRSTRLEN */

enum ward_report_kind {
	WARD_REPORT_WRONGLY_BLOCKED = 1,
	WARD_REPORT_SHOULD_BE_BLOCKED = 2,
};

enum ward_report_status {
	WARD_REPORT_PENDING = 1,
	WARD_REPORT_ACCEPTED = 2,
	WARD_REPORT_REJECTED = 3,
};

struct ward_report {
	uint64_t id;
	enum ward_report_kind kind;
	enum ward_report_status status;
	int64_t created, updated;                 /* unix seconds */
	uint32_t count;                           /* identical reports merged into this one */
	uint64_t override_id;                     /* accepted: the override it created */
	char client[WARD_REPORT_CLIENT_MAX];      /* the address that sent it */
	char profile[WARD_OVERRIDE_PROFILE_MAX];  /* that client's profile ("" = none) */
	uint8_t name[WARD_WIRE_NAME_MAX];         /* lower-case wire name */
	char category[WARD_OVERRIDE_CATEGORY_MAX]; /* should-be-blocked: the suggestion;
						     wrongly-blocked: what blocked it */
	char message[WARD_REPORT_MESSAGE_MAX];    /* valid UTF-8, may be "" */
};

/* Stable words for the JSON API and the CLI. */
const char *ward_report_kind_name(enum ward_report_kind kind);
const char *ward_report_status_name(enum ward_report_status status);
/* @return the kind for "wrongly-blocked" / "should-be-blocked", or 0. */
enum ward_report_kind ward_report_kind_parse(const char *text);

/* Is text valid UTF-8 of at most WARD_REPORT_MESSAGE_CHARS characters, without control
 * characters other than newline and tab? */
bool ward_report_message_ok(const char *text);

/* The encoding of a record (reports.c). @return length, or WARD_EINVAL. */
#define WARD_REPORT_VALUE_MAX (2 + 8 * 4 + 4 + WARD_REPORT_CLIENT_MAX + \
			       WARD_OVERRIDE_PROFILE_MAX + WARD_WIRE_NAME_MAX + \
			       WARD_OVERRIDE_CATEGORY_MAX + 2 + WARD_REPORT_MESSAGE_MAX)
int ward_report_encode(const struct ward_report *r, uint8_t *buf, size_t cap);
/* Decode a stored record (every length checked). @return 0 or WARD_EFORMAT. */
int ward_report_decode(const uint8_t *buf, size_t len, struct ward_report *r);

/*
 * Store a new report, or merge it into a pending one with the same name, kind and
 * profile (*merged set; r then holds the merged record). r->id, created, updated,
 * status and count are set here. Needs a WRITE database.
 * @return 0, WARD_EINVAL (bad record), WARD_ENOMEM (WARD_REPORTS_PENDING_MAX pending),
 *         WARD_EDB, WARD_EIO.
 */
int ward_reports_add(struct ward_catdb *db, struct ward_report *r, int64_t now, bool *merged);

/* Every report, newest first, in one malloc'd array (free it; NULL when none).
 * client: only that client's (NULL: all). @return 0, WARD_ENOMEM, WARD_EDB. */
int ward_reports_list(struct ward_catdb *db, const char *client, struct ward_report **out,
		      size_t *n);

/* @return 0 (r filled), WARD_ENOTFOUND, WARD_EDB. */
int ward_reports_get(struct ward_catdb *db, uint64_t id, struct ward_report *r);

/*
 * Resolve a pending report. Accepting stores the override `o` (may be NULL for a
 * reject) in the same transaction, so a report is never marked accepted without the
 * override it promised, nor the other way round.
 * @return 0, WARD_ENOTFOUND, WARD_ESTALE (not pending any more), WARD_EINVAL, WARD_ENOMEM
 *         (too many overrides), WARD_EDB, WARD_EIO.
 */
int ward_reports_resolve(struct ward_catdb *db, uint64_t id, enum ward_report_status status,
			 struct ward_override *o, int64_t now);

#endif
