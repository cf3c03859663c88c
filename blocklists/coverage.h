/*
 * What a configuration leaves unprotected with the database it runs on.
 *
 * A family filter that blocks nothing looks exactly like one that works until a child
 * gets through, so the gaps are said out loud: wardd logs them at start, on every new
 * build and on SIGHUP; `ward check` and `ward stats` print them. One check, shared by all
 * three, so they never disagree.
 */
#ifndef WARD_COVERAGE_H
#define WARD_COVERAGE_H

#include <stddef.h>

#include "blocklists/catdb.h"
#include "blocklists/conf.h"

#define WARD_COVERAGE_MSG_MAX 1024

/* Receives one warning: a whole sentence without a trailing newline. */
typedef void (*ward_coverage_fn)(void *ctx, const char *warning);

/*
 * Call fn once per gap:
 *  - the database is missing or its domains table is empty (no feed has ever been
 *    downloaded and built): no name is blocked by category;
 *  - a profile (its categories and those of its schedules) or enforced_categories blocks
 *    a category that no enabled feed lists;
 *  - ... or that only feeds without a good download list (checked only when the database
 *    holds names, so an empty database gives one warning, not one per profile).
 * @param db  the database, or NULL when there is none (yet)
 * @return the number of warnings, or WARD_EDB/WARD_EFORMAT when the database could not be
 *         read (fn may have been called for what came before)
 */
int ward_coverage_check(const struct ward_conf *conf, struct ward_catdb *db,
			ward_coverage_fn fn, void *ctx);

#endif
