/*
 * What catdb.c shares with catdb_build.c and with the other writers of the environment
 * (overrides.c, reports.c). Not a public header: nothing outside blocklists/ includes it.
 */
#ifndef WARD_CATDB_INTERNAL_H
#define WARD_CATDB_INTERNAL_H

#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "blocklists/catdb.h"

#define WARD_CATDB_SCHEMA_VERSION 1

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

/* Presentation name -> key. Accepts one trailing dot. @return 0 or WARD_EINVAL. */
int ward_catdb_key_from_name(const char *name, size_t len, struct ward_catdb_key *k);

#ifdef WARD_TEST_HOOKS
extern size_t ward_catdb_test_mapsize;
extern size_t ward_catdb_test_put_after;
extern void (*ward_catdb_test_put_hook)(void *ctx);
extern void *ward_catdb_test_put_ctx;
#endif

#endif
