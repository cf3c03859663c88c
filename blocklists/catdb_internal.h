/*
 * What catdb.c shares with catdb_build.c and with the other writers of the environment
 * (overrides.c, reports.c). Not a public header: nothing outside blocklists/ includes it.
 */
#ifndef WARD_CATDB_INTERNAL_H
#define WARD_CATDB_INTERNAL_H

#include <lmdb.h>
#include <time.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "blocklists/catdb.h"

/* 2: the domains live in `domains` or `domains_b`, as meta domains_table says (1: always
 * `domains`). A version-1 database is read as is and becomes version 2 at its first build
 * (or snapshot installed); a ward that knows only version 1 refuses version 2 instead of
 * reading the empty `domains`. */
#define WARD_CATDB_SCHEMA_VERSION 2
#define WARD_CATDB_SCHEMA_OLDEST 1

/* Keys of the `meta` key space. */
#define WARD_CATDB_META_SCHEMA "schema_version"
#define WARD_CATDB_META_GENERATION "generation"
#define WARD_CATDB_META_BUILT_AT "built_at"
#define WARD_CATDB_META_DOMAINS "domains"
#define WARD_CATDB_META_ENTRIES "entries"
#define WARD_CATDB_META_NEXT_FEED "next_feed_id"
#define WARD_CATDB_META_BLOOM "bloom"
#define WARD_CATDB_META_BUILD_STARTED "build_started"
#define WARD_CATDB_META_OVERRIDES_CHANGED "overrides_changed"
#define WARD_CATDB_META_NEXT_OVERRIDE "next_override_id"
#define WARD_CATDB_META_NEXT_REPORT "next_report_id"
#define WARD_CATDB_META_SUB_LENGTHS "sub_lengths"
#define WARD_CATDB_META_SUBSCRIBERS "subscribers"
#define WARD_CATDB_META_DOMAINS_TABLE "domains_table"

/* The prefix lengths present in `subscribers` (meta sub_lengths): bit L of v4 for IPv4
 * /L, of v6 for IPv6 /L. A lookup asks LMDB only for these lengths. */
struct ward_sub_lengths {
	uint8_t v4[5];
	uint8_t v6[17];
};

struct ward_catdb {
	MDB_env *env;
	MDB_dbi domains, feeds, feed_ids, meta;
	MDB_dbi overrides, reports;
	MDB_dbi subscribers;
	MDB_dbi sub_index;            /* subscribers' range index (subscribers_index.c) */
	MDB_dbi domains_b;            /* the other domains table (see catdb.c) */
	_Atomic bool has_domains_b;   /* open (a READ open of an older database may lack it) */
	struct timespec domains_b_created; /* when this open added `domains_b` to a database
					      that had domains (an upgrade); zero otherwise */
	_Atomic bool has_subs;        /* `subscribers` is open (see ward_catdb_open_subs) */
	_Atomic bool has_subidx;      /* `sub_index` is open (the same) */
	bool has_admin;               /* overrides and reports exist (a database written by an
				         older ward opened READ has neither: both read as empty) */
	enum ward_catdb_mode mode;
	char *dir;
	/*
	 * Remapping (mdb_env_set_mapsize) moves the map under every thread of this process,
	 * so it waits until no thread is inside LMDB: readers hold their own `busy` mutex
	 * while they touch the map, everything else holds `map_lock` shared.
	 */
	pthread_rwlock_t map_lock;
	unsigned map_epoch;           /* bumped by every remap */
	pthread_mutex_t readers_lock; /* guards the readers list */
	struct ward_catdb_reader *readers;
};

/* A reversed, lower-cased key ("com.example.ads") and where each level ends in it. */
struct ward_catdb_key {
	uint8_t len;
	uint8_t n_labels;
	uint8_t n_levels;       /* levels worth a lookup (wire labels holding '.' end them) */
	uint8_t level_end[128]; /* key length of level i + 1: "com" is level 1 */
	char buf[256];
};

/* The one place where MDB_* (and the errno values LMDB passes through) become WARD_E*. */
int ward_catdb_mdb_err(int rc);

/* Make the map `size` bytes (0: the size the newest meta page records). */
int ward_catdb_remap(struct ward_catdb *db, size_t size);

/* Double the map: the writer's answer to MDB_MAP_FULL (after aborting its txn). */
int ward_catdb_grow_map(struct ward_catdb *db);

/* Begin a transaction with map_lock held shared (adopting a grown map on the way);
 * end it with ward_catdb_txn_commit() or ward_catdb_txn_abort(). */
int ward_catdb_txn_begin(struct ward_catdb *db, bool rdonly, MDB_txn **txn);
int ward_catdb_txn_commit(struct ward_catdb *db, MDB_txn *txn);
void ward_catdb_txn_abort(struct ward_catdb *db, MDB_txn *txn);

/* Run fn in a write transaction of its own and commit it (abort when fn fails). A full
 * map (WARD_ETOOBIG, only ever from LMDB here) is doubled once and fn run again, so fn
 * must start from scratch each time. @return fn's code or the commit's. */
int ward_catdb_write(struct ward_catdb *db, int (*fn)(MDB_txn *txn, void *ctx), void *ctx);

int ward_catdb_meta_get_u64(struct ward_catdb *db, MDB_txn *txn, const char *key,
			    uint64_t *out);
int ward_catdb_meta_put_u64(struct ward_catdb *db, MDB_txn *txn, const char *key,
			    uint64_t value);

/* Open `overrides` and `reports` when open time found them missing (a READ open of a
 * database an older ward wrote) and a writer has created them since. One thread at a
 * time (LMDB's rule for mdb_dbi_open): wardd's main thread, or a command.
 * @return 0 (db->has_admin now true), WARD_ENOTFOUND (still missing), WARD_EDB. */
int ward_catdb_open_admin(struct ward_catdb *db);

/* A reader's snapshot for subscribers.c: begin with the reader's busy mutex held (and the
 * snapshot renewed if it was released), end with ward_catdb_reader_leave(). v->subs is
 * false when `subscribers` was not open at the reader's last refresh.
 * @return 0 or WARD_EDB (nothing held). */
struct ward_catdb_sub_view {
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_dbi idx, meta;    /* `sub_index` (when has_idx) and `meta` */
	const struct ward_sub_lengths *lengths;
	bool subs;
	bool has_idx;         /* `sub_index` was open at the reader's last refresh */
	uint32_t epoch;       /* changes with the snapshot: what was looked up before is stale */
	void **memo;          /* subscribers.c's state of this reader (freed with it by
			         ward_sub_reader_state_free) */
};
void ward_sub_reader_state_free(void *state);
int ward_catdb_reader_enter(struct ward_catdb_reader *r, struct ward_catdb_sub_view *v);
void ward_catdb_reader_leave(struct ward_catdb_reader *r);

/* ward_overrides_add() inside the caller's write transaction (accepting a report stores
 * the override and the report's new status together). */
struct ward_override;
int ward_overrides_add_txn(struct ward_catdb *db, MDB_txn *txn, struct ward_override *o,
			   int64_t now);

/* The domains table a snapshot (txn) answers from: meta domains_table 0 (or missing)
 * is `domains`, 1 is `domains_b`. @return 0 and *which (0 or 1), WARD_EFORMAT (another
 * value), WARD_ENOTFOUND (`domains_b` is not open in this process), WARD_EDB. */
int ward_catdb_domains_table(struct ward_catdb *db, MDB_txn *txn, MDB_dbi *dbi,
			     unsigned *which);
static inline MDB_dbi ward_catdb_domains_dbi(const struct ward_catdb *db, unsigned which)
{
	return which ? db->domains_b : db->domains;
}

/* The build lock (build.lock in the database directory): one writer of the domains
 * tables at a time (builds and snapshot installs). @return 0 and the locked fd. */
int ward_catdb_build_lock(const char *dir, bool nowait, int *fd_out);

/* Fill the inactive domains table from a sorted source over commits of bounded size, then
 * switch to it in one small commit that also runs `finish` (meta, other tables). See
 * catdb_build.c. next() @return 1 and the next (key, value), 0 at the end, or WARD_E*;
 * rewind() starts the source again (a full map restarts the fill). */
struct ward_catdb_fill_src {
	int (*next)(void *ctx, MDB_val *key, MDB_val *val);
	int (*rewind)(void *ctx);
	int (*finish)(MDB_txn *txn, void *ctx); /* in the switching commit; may be NULL */
	void *ctx;
};
int ward_catdb_fill_switch(struct ward_catdb *db, const struct ward_catdb_fill_src *src);

/* Presentation name -> key. Accepts one trailing dot. @return 0 or WARD_EINVAL. */
int ward_catdb_key_from_name(const char *name, size_t len, struct ward_catdb_key *k);

#ifdef WARD_TEST_HOOKS
extern size_t ward_catdb_test_mapsize;
extern size_t ward_catdb_test_put_after;
extern void (*ward_catdb_test_put_hook)(void *ctx);
extern void *ward_catdb_test_put_ctx;
extern size_t ward_catdb_test_run_bytes;
extern size_t ward_catdb_test_fill_chunk;
#endif

#endif
