/*
 * The category database: one LMDB environment, written by `ward update`, read by wardd.
 * The key spaces are described at the top of catdb.c.
 *
 * Readers (wardd workers, `ward lookup`) hold a struct ward_catdb_reader each: a
 * read-only MDB_NOTLS transaction that is reset between uses and renewed before the next,
 * so a reader sees a new build on its next ward_catdb_reader_refresh().
 * Nothing returned by a lookup points into LMDB memory: results are copied into the
 * caller's struct, so no pointer outlives its transaction.
 */
#ifndef WARD_CATDB_H
#define WARD_CATDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blocklists/category.h"

#define WARD_CATDB_MATCH_FEEDS 8

struct ward_catdb;
struct ward_catdb_reader;

enum ward_catdb_mode { WARD_CATDB_READ, WARD_CATDB_WRITE };

/* Open (creating when mode is WRITE) the environment in directory `dir`.
 * @return 0, WARD_ENOTFOUND (READ and no database yet), WARD_EDB, WARD_EIO. */
int ward_catdb_open(const char *dir, enum ward_catdb_mode mode, struct ward_catdb **out);
void ward_catdb_close(struct ward_catdb *db);

/* A reader for one thread. @return 0 or WARD_EDB. */
int ward_catdb_reader_new(struct ward_catdb *db, struct ward_catdb_reader **out);
void ward_catdb_reader_free(struct ward_catdb_reader *r);

/* Make the next lookups see the newest committed build (cheap: a txn renew).
 * Call it between batches of lookups, not necessarily before each one. */
int ward_catdb_reader_refresh(struct ward_catdb_reader *r);

/* What a lookup found: the categories that apply and the entry that explains them. */
struct ward_cat_match {
	ward_catset categories;    /* blocked categories that apply to the name (allow rules
	                              already subtracted) */
	ward_catset allowed;       /* categories an allow entry (@@, passthru) exempted */
	bool found;                /* some entry (block or allow) covered the name */
	bool exact;                /* the explaining entry is the name itself */
	uint8_t entry_len;
	char entry[254];           /* the explaining entry, e.g. "example.com" */
	uint8_t n_feeds;
	uint16_t feeds[WARD_CATDB_MATCH_FEEDS]; /* ids of feeds that listed the entry */
};

/*
 * Look up a lower-case presentation name ("a.b.example.com", no trailing dot).
 * Checks the name and every parent (one LMDB get per label); entries that do not cover
 * subdomains only match themselves. Allocation-free.
 * @return 0 (m filled; m->found says whether anything matched), WARD_EINVAL, WARD_EDB.
 */
int ward_cat_lookup(struct ward_catdb_reader *r, const char *name, size_t len,
		    struct ward_cat_match *m);

/* As ward_cat_lookup for an uncompressed wire-format name (any case). */
int ward_cat_lookup_wire(struct ward_catdb_reader *r, const uint8_t *wire,
			 struct ward_cat_match *m);

/* The name of a feed id, copied into buf. @return 0 or WARD_ENOTFOUND. */
int ward_catdb_feed_name(struct ward_catdb_reader *r, uint16_t feed_id, char *buf, size_t cap);

/* Build generation of the snapshot the reader sees (increments with every build). */
uint64_t ward_catdb_reader_generation(struct ward_catdb_reader *r);

/* ---- Writer side (ward update) --------------------------------------------------- */

/* Per-feed state kept in the `feeds` key space. */
struct ward_catdb_feed_state {
	char name[64];
	char url[1024];
	char etag[256];
	char last_modified[64];
	int64_t last_good;        /* unix seconds of the last accepted download, 0 = never */
	int64_t last_attempt;
	uint64_t entries;         /* entries in the last good copy */
	uint8_t sha256[32];       /* of the last good raw copy */
	char last_error[256];     /* "" when the last attempt succeeded */
	uint16_t id;              /* stable feed id used in domain values */
	ward_catset categories;
};

int ward_catdb_feed_get(struct ward_catdb *db, const char *name, struct ward_catdb_feed_state *st);
int ward_catdb_feed_put(struct ward_catdb *db, const struct ward_catdb_feed_state *st);

struct ward_catdb_build;

/*
 * Begin a rebuild of the `domains` table. Entries are collected in memory, sorted, and
 * written in ONE write transaction by ward_catdb_build_commit(), so readers see the old
 * table or the new one, never a mix. Only one build runs at a time: a second one waits
 * or returns WARD_EBUSY (flag `nowait`).
 */
int ward_catdb_build_begin(struct ward_catdb *db, bool nowait, struct ward_catdb_build **out);

/* Add one entry from a feed. flags are enum ward_feed_entry_flag. */
int ward_catdb_build_add(struct ward_catdb_build *b, const char *name, size_t len,
			 ward_catset categories, uint16_t feed_id, unsigned flags);

/* Write everything in one transaction and record totals in `meta`. */
int ward_catdb_build_commit(struct ward_catdb_build *b);
void ward_catdb_build_abort(struct ward_catdb_build *b);

/* Totals from `meta`. */
struct ward_catdb_meta {
	uint32_t schema_version;
	uint64_t generation;
	int64_t built_at;
	uint64_t domains;
};
int ward_catdb_meta_get(struct ward_catdb *db, struct ward_catdb_meta *meta);

#endif
