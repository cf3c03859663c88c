/*
 * Overrides: a parent's live decisions, on top of the config.
 *
 *   allow NAME for a profile or everyone, optionally until a time
 *   deny NAME for a profile or everyone, with a category, optionally until a time
 *   pause a profile until a time: everything blocked but the profile's allow list
 *
 * They are stored in the `overrides` key space of the category database (key-space
 * comment in catdb.c), written by `ward allow/deny/pause/resume/overrides` and by wardd's
 * web API through the same functions, and survive `ward update`. Every write bumps the
 * meta counter `overrides_changed`; wardd watches it and builds a struct
 * ward_override_table, an immutable in-memory copy that its workers match names against
 * without touching LMDB (where overrides sit in the decision order: policy.h).
 *
 * Expiry is checked at match time against the caller's clock, so a timed allow ends on
 * time without a rebuild. Names are lower-case wire names (blocklists/name.h); an
 * override for a name also covers the names below it, as the config's lists do.
 */
#ifndef WARD_OVERRIDES_H
#define WARD_OVERRIDES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blocklists/catdb.h"
#include "blocklists/category.h"
#include "blocklists/conf.h"
#include "blocklists/name.h"

#define WARD_OVERRIDES_MAX 10000             /* stored at once, expired ones not counted */
#define WARD_OVERRIDE_SECONDS_MAX (366 * 86400) /* the longest timed override */
#define WARD_OVERRIDE_PROFILE_MAX 64         /* a profile name and its NUL */
#define WARD_OVERRIDE_CATEGORY_MAX 32
#define WARD_OVERRIDE_SOURCE_MAX 64

enum ward_override_kind {
	WARD_OVERRIDE_ALLOW = 1,
	WARD_OVERRIDE_DENY = 2,
	WARD_OVERRIDE_PAUSE = 3,
};

struct ward_override {
	uint64_t id;                  /* assigned by ward_overrides_add(), never reused */
	enum ward_override_kind kind;
	int64_t created;              /* unix seconds */
	int64_t expires;              /* unix seconds; 0 = until removed */
	char profile[WARD_OVERRIDE_PROFILE_MAX]; /* "" = everyone (not for a pause) */
	uint8_t name[WARD_WIRE_NAME_MAX];        /* allow, deny: lower-case wire name;
						    pause: the root ("\0") */
	char category[WARD_OVERRIDE_CATEGORY_MAX]; /* deny: the category it is blocked as */
	char source[WARD_OVERRIDE_SOURCE_MAX];     /* "cli", "api 192.168.1.20", "report 7" */
};

/* Is o in force at `now` (unix seconds)? */
static inline bool ward_override_active(const struct ward_override *o, int64_t now)
{
	return o->expires == 0 || o->expires > now;
}

/* ---- the stored records ------------------------------------------------------------- */

/* An encoded record is at most this long (catdb.c key space `overrides`). */
#define WARD_OVERRIDE_VALUE_MAX (1 + 1 + 16 + 4 + WARD_OVERRIDE_PROFILE_MAX + \
				 WARD_WIRE_NAME_MAX + WARD_OVERRIDE_CATEGORY_MAX + \
				 WARD_OVERRIDE_SOURCE_MAX)

/* @return the encoded length, or WARD_EINVAL (a field out of range). */
int ward_override_encode(const struct ward_override *o, uint8_t *buf, size_t cap);
/* Decode a stored record (bytes that may be damaged: every length is checked).
 * o->id is not part of the value. @return 0 or WARD_EFORMAT. */
int ward_override_decode(const uint8_t *buf, size_t len, struct ward_override *o);

/*
 * Store a new override in one write transaction, which also drops expired records and
 * the records this one replaces: an allow or deny for the same name and profile (the
 * newer decision wins), or the pause of the same profile. o->id and o->created are set
 * here. Needs a WRITE database.
 * @return 0, WARD_EINVAL (bad record), WARD_ENOMEM (WARD_OVERRIDES_MAX in force),
 *         WARD_EDB, WARD_EIO.
 */
int ward_overrides_add(struct ward_catdb *db, struct ward_override *o, int64_t now);

/* Remove override `id` (expired or not); *removed (may be NULL) gets its last state.
 * @return 0, WARD_ENOTFOUND, WARD_EDB. */
int ward_overrides_remove(struct ward_catdb *db, uint64_t id, struct ward_override *removed);

/* End the pause of `profile`. @return 0, WARD_ENOTFOUND (not paused now), WARD_EDB. */
int ward_overrides_resume(struct ward_catdb *db, const char *profile, int64_t now);

/* The overrides in force at `now`, by id, in one malloc'd array (free it; NULL when
 * none). @return 0, WARD_ENOMEM, WARD_EDB. */
int ward_overrides_list(struct ward_catdb *db, int64_t now, struct ward_override **out,
			size_t *n);

/* The `overrides_changed` counter (0 before the first write). @return 0 or WARD_EDB. */
int ward_overrides_generation(struct ward_catdb *db, uint64_t *gen);

/* ---- the in-memory table ------------------------------------------------------------ */

struct ward_override_table;

/* What matched: the record's id, expiry and, for a deny, the category. */
struct ward_override_hit {
	uint64_t id;
	enum ward_override_kind kind;
	int64_t expires;
	ward_catset categories;      /* deny: the category's bit, or 0 when unknown */
	const char *category;        /* deny: its name; "" otherwise */
	const char *name;            /* presentation text of the matched entry */
	bool everyone;
};

/*
 * Build a table from records (expired ones may be included: matching skips them).
 * Profile names are kept as text and mapped to the indexes of `conf` (which must outlive
 * the table), so a table built for another config still matches by name.
 * @return 0 or WARD_ENOMEM.
 */
int ward_override_table_new(const struct ward_conf *conf, const struct ward_override *list,
			    size_t n, uint64_t generation, struct ward_override_table **out);
void ward_override_table_free(struct ward_override_table *t);

/* Read the records and build the table in one go (`ward lookup`, wardd's main thread).
 * A database without the key space gives an empty table. @return as the two above. */
int ward_override_table_load(struct ward_catdb *db, const struct ward_conf *conf,
			     struct ward_override_table **out);

uint64_t ward_override_table_generation(const struct ward_override_table *t);
size_t ward_override_table_count(const struct ward_override_table *t);

/*
 * The override of `kind` in force at `now` for the profile (index `profile` of `conf`;
 * (size_t)-1 for none) or for everyone that covers the wire name `name` of `len` bytes:
 * the name itself or its nearest parent, the profile's own before everyone's.
 * @return true and *hit filled, or false.
 */
bool ward_override_table_match(const struct ward_override_table *t,
			       const struct ward_conf *conf, size_t profile,
			       enum ward_override_kind kind, const uint8_t *name, size_t len,
			       int64_t now, struct ward_override_hit *hit);

/* Is the profile paused at `now`? @return true and *hit filled (expires = the end). */
bool ward_override_table_paused(const struct ward_override_table *t,
				const struct ward_conf *conf, size_t profile, int64_t now,
				struct ward_override_hit *hit);

#endif
