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

/* Open (creating when mode is WRITE) the environment in directory `dir`. One process
 * opens a directory once (an LMDB rule); share the handle between threads. Files are
 * created 0640 (feed URLs may carry tokens), a new directory 0750.
 * A READ open needs LMDB's lock file (lock.mdb, created when missing): without its
 * reader table a writer in another process would reuse pages this process still reads,
 * so a directory on a read-only file system is refused rather than read lock-free.
 * @return 0, WARD_ENOTFOUND (READ and no database yet), WARD_EFORMAT (another schema
 *         version), WARD_EACCES (permission denied on the directory or a file),
 *         WARD_EROFS (READ: no lock file possible, see above; WRITE: read-only file
 *         system), WARD_ENOSPC, WARD_EDB, WARD_EIO. */
int ward_catdb_open(const char *dir, enum ward_catdb_mode mode, struct ward_catdb **out);
/* Open the subscriber table (blocklists/subscribers.h) when opening found it missing (a
 * READ open of a database an older ward wrote) and a writer has created it since; readers
 * use it from their next refresh. One thread at a time (LMDB's rule for opening tables):
 * wardd's main thread. @return 0, WARD_ENOTFOUND (still missing), WARD_EDB. */
int ward_catdb_open_subs(struct ward_catdb *db);

/* Open the second domains table (`domains_b`, see catdb.c) when open time found it
 * missing: a READ open of a database no build of this version has written yet. Until it
 * is open, lookups in a snapshot that uses it fail (closed). Same rules as
 * ward_catdb_open_subs(). @return 0, WARD_ENOTFOUND (still missing) or WARD_EDB. */
int ward_catdb_open_domains_b(struct ward_catdb *db);

/* Close after every reader is freed and any build committed or aborted. */
void ward_catdb_close(struct ward_catdb *db);

/* A reader for one thread at a time (wardd: one per worker). It sees the newest build at
 * creation and keeps that snapshot until refreshed. Free every reader before closing db.
 * @return 0 or WARD_EDB (also WARD_ENOMEM, WARD_EBUSY: LMDB's reader table is full). */
int ward_catdb_reader_new(struct ward_catdb *db, struct ward_catdb_reader **out);
void ward_catdb_reader_free(struct ward_catdb_reader *r);

/* Make the next lookups see the newest committed build (cheap: a txn renew).
 * Call it between batches of lookups, not necessarily before each one: the snapshot a
 * reader holds keeps the previous table's pages from being reused, so the file grows
 * while a reader lags behind several builds (see ward_catdb_reader_release for readers
 * that go idle).
 * If another process grew the file beyond this process's map, the map is moved; that
 * waits until no other reader of this db is inside a lookup (never for idle readers).
 * @return 0, WARD_EDB. */
int ward_catdb_reader_refresh(struct ward_catdb_reader *r);

/* Let go of the reader's snapshot (a txn reset) until its next use, which takes the
 * newest one (lookups and ward_catdb_feed_name renew it themselves). A reader that may
 * sit idle across builds must be released, or the writer can reuse none of the pages
 * freed since its snapshot and every build adds a full copy of the table to the file.
 * No-op on NULL or an already released reader. */
void ward_catdb_reader_release(struct ward_catdb_reader *r);

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

/* An empty match: nothing found. */
void ward_cat_match_clear(struct ward_cat_match *m);

/*
 * Look up a lower-case presentation name ("a.b.example.com", no trailing dot).
 * Checks the name and every parent (one LMDB get per label); entries that do not cover
 * subdomains only match themselves. Allocation-free.
 *
 * How entries combine, from the TLD down: a block entry adds its categories; an allow
 * entry removes its categories from the blocks found so far at its own level and above,
 * and a more specific block adds them back. The explaining entry is the most specific
 * one that added a category still blocked, or, when nothing stays blocked, the most
 * specific allow entry. Upper case is folded and one trailing dot is accepted.
 * Thread-safe per reader: one thread uses a reader at a time.
 * @return 0 (m filled; m->found says whether anything matched), WARD_EINVAL (empty
 *         name or label, label > 63, name > 253), WARD_EDB (LMDB error or a corrupted
 *         value).
 */
int ward_cat_lookup(struct ward_catdb_reader *r, const char *name, size_t len,
		    struct ward_cat_match *m);

/*
 * As ward_cat_lookup for an uncompressed wire-format name (any case). The caller has
 * checked that the name lies inside its buffer; at most 255 bytes are read.
 * The root name matches nothing (0, m->found false).
 * @return 0, WARD_EINVAL (compression pointer, label > 63, name > 255 bytes), WARD_EDB.
 */
int ward_cat_lookup_wire(struct ward_catdb_reader *r, const uint8_t *wire,
			 struct ward_cat_match *m);

/*
 * A listed name that one of `cats` blocks, for showing a parent that filtering works
 * (the setup wizard's test): the first such entry in key order, within the first
 * max_scan entries.
 * @return 0 (name filled, lower-case presentation form), WARD_ENOTFOUND, WARD_EDB.
 */
int ward_catdb_sample(struct ward_catdb_reader *r, ward_catset cats, size_t max_scan,
		      char *name, size_t cap);

/* As ward_cat_lookup_wire, for a caller that has the name's length already:
 * wlen == ward_name_wire_len(wire) (0 for a name that is not one). */
int ward_cat_lookup_wire_len(struct ward_catdb_reader *r, const uint8_t *wire, size_t wlen,
			     struct ward_cat_match *m);

/* The name of a feed id, copied into buf (always NUL-terminated).
 * @return 0, WARD_ENOTFOUND, WARD_ETOOBIG (truncated to fit cap). */
int ward_catdb_feed_name(struct ward_catdb_reader *r, uint16_t feed_id, char *buf, size_t cap);

/* Build generation of the snapshot the reader sees (increments with every build). */
uint64_t ward_catdb_reader_generation(struct ward_catdb_reader *r);

/* ---- Writer side (ward update) --------------------------------------------------- */

/* Rejection counts kept per feed: room for every enum ward_feed_reject (feed.h). */
#define WARD_CATDB_FEED_REJECTS 16

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
	/* Candidates of the last good copy that became no entry, by enum ward_feed_reject
	 * (public suffixes, IPs, URLs, ...); zero for a state written before they were kept. */
	uint64_t rejected[WARD_CATDB_FEED_REJECTS];
};

/* @return 0 (st filled), WARD_ENOTFOUND, WARD_EINVAL (name not 1..63 chars),
 *         WARD_EFORMAT (stored record corrupted), WARD_EDB. */
int ward_catdb_feed_get(struct ward_catdb *db, const char *name, struct ward_catdb_feed_state *st);

/* Create or replace the state of feed st->name. st->id is ignored: a feed keeps the id it
 * got on first sight, and a new feed gets the next never-used id (read it back with
 * ward_catdb_feed_get or ward_catdb_feed_id). Needs a WRITE database.
 * @return 0, WARD_EINVAL (bad name, a string field not NUL-terminated, READ database),
 *         WARD_ENOMEM (all 65535 ids used), WARD_EDB, WARD_EIO. */
int ward_catdb_feed_put(struct ward_catdb *db, const struct ward_catdb_feed_state *st);

/* The stable id of feed `name`, assigning one (and storing a state that holds only the
 * name) on first sight. Needs a WRITE database for a new name.
 * @return 0 (*id set) or as ward_catdb_feed_put. */
int ward_catdb_feed_id(struct ward_catdb *db, const char *name, uint16_t *id);

struct ward_catdb_build;

/*
 * Begin a rebuild of the `domains` table. Entries are collected in memory, sorted, and
 * written in ONE write transaction by ward_catdb_build_commit(), so readers see the old
 * table or the new one, never a mix. Only one build runs at a time (a lock file in the
 * database directory, also between processes): a second one waits or returns WARD_EBUSY
 * (flag `nowait`). A build in progress holds no LMDB transaction until commit.
 * @return 0, WARD_EBUSY, WARD_EINVAL (READ database), WARD_ENOMEM, WARD_EIO.
 */
int ward_catdb_build_begin(struct ward_catdb *db, bool nowait, struct ward_catdb_build **out);

/* Add one entry from a feed. flags are enum ward_feed_entry_flag. Entries for the same
 * name merge: categories OR'ed per kind (block/allow x subdomains/exact), feed ids
 * united (at most 16 kept per name). name is a presentation name as for ward_cat_lookup.
 * @return 0, WARD_EINVAL (bad name, no categories, unknown flags), WARD_ENOMEM,
 *         WARD_ETOOBIG (the build's hard limits: 2^31 entries, 4 GiB of names). */
int ward_catdb_build_add(struct ward_catdb_build *b, const char *name, size_t len,
			 ward_catset categories, uint16_t feed_id, unsigned flags);

/* Write everything in one transaction and record totals in `meta` (generation + 1).
 * Entries equal to the table's write no page of it (only meta), so the file keeps its
 * size; otherwise the table is rewritten next to the old one, which readers may use until
 * the commit: the file settles at two tables. Before writing it waits (at most 2 s) for
 * other processes' readers to leave snapshots older than the last commit, whose freed
 * pages it could not reuse otherwise.
 * Frees b and releases the lock whatever the result; on error the previous table stays.
 * Memory: the entries (about 45 bytes each) are freed before the transaction, whose
 * pages (about 40 bytes per domain) LMDB keeps cached until ward_catdb_close(): a
 * process that builds again later should close and reopen the database in between.
 * @return 0, WARD_ENOMEM, WARD_EIO (disk full, ...), WARD_EDB. */
int ward_catdb_build_commit(struct ward_catdb_build *b);
/* Drop the collected entries, free b and release the lock; the table is untouched. */
void ward_catdb_build_abort(struct ward_catdb_build *b);

/* Totals from `meta`. */
struct ward_catdb_meta {
	uint32_t schema_version;
	uint64_t generation;
	int64_t built_at;
	uint64_t domains;          /* distinct names in the table */
	uint64_t entries;          /* entries added to the last build, before merging */
};
/* Fields not written yet (no build so far) are 0. @return 0 or WARD_EDB. */
int ward_catdb_meta_get(struct ward_catdb *db, struct ward_catdb_meta *meta);

/* ---- snapshots (blocklists/snapshot.h) ---------------------------------------------------- */

/* Write a compacted copy of the environment (LMDB's MDB_CP_COMPACT: free pages left out,
 * pages renumbered) to fd, from one read snapshot. @return 0 or a WARD_E* code. */
int ward_catdb_copy_compact(struct ward_catdb *db, int fd);

/*
 * Replace this database's contents with a snapshot file's (a compacted copy from another
 * node), in one write transaction: `domains`, `feeds`, `feed_ids`, `overrides`,
 * `subscribers` and `meta` (but next_report_id: `reports` stay this node's). Readers
 * (wardd's workers) see the old data or the new, whole, on their next refresh.
 * exported_at is stored as meta snapshot_exported_at.
 * @return 0, WARD_EFORMAT (not a ward database, or another schema), or a WARD_E* code.
 */
int ward_catdb_install_snapshot(struct ward_catdb *db, const char *path, uint64_t exported_at);

/* meta snapshot_exported_at of the installed snapshot (0: none). */
int ward_catdb_snapshot_exported_at(struct ward_catdb *db, uint64_t *out);

#ifdef WARD_TEST_HOOKS
/* Tests only: the map size of environments opened from now on (0: the default), so a
 * test can make a build outgrow its map. */
void ward_catdb_test_set_mapsize(size_t bytes);
/* Tests only: extra mdb_env_open flags (e.g. MDB_NOLOCK) for environments opened from
 * now on (0: none). */
void ward_catdb_test_set_env_flags(unsigned flags);
/* Tests only: call fn(ctx) inside ward_catdb_build_commit's fill once `after` domains
 * have been put into the new table, before the put of the next (fn NULL: no hook). */
void ward_catdb_test_on_put(size_t after, void (*fn)(void *ctx), void *ctx);
/* Tests only: the bytes of one sorted run and the stream bytes per commit of a fill (0:
 * the defaults), so that a small build spills several runs and spans several commits. */
void ward_catdb_test_set_bounds(size_t run_bytes, size_t fill_chunk);
#endif

#endif
