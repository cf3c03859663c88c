/*
 * What catdb.c shares with catdb_build.c. Not a public header: nothing outside
 * blocklists/catdb*.c includes it.
 */
#ifndef WARD_CATDB_INTERNAL_H
#define WARD_CATDB_INTERNAL_H

#include <lmdb.h>
#include <pthread.h>
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

struct ward_catdb {
	MDB_env *env;
	MDB_dbi domains, feeds, feed_ids, meta;
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

int ward_catdb_meta_get_u64(struct ward_catdb *db, MDB_txn *txn, const char *key,
			    uint64_t *out);
int ward_catdb_meta_put_u64(struct ward_catdb *db, MDB_txn *txn, const char *key,
			    uint64_t value);

/* Presentation name -> key. Accepts one trailing dot. @return 0 or WARD_EINVAL. */
int ward_catdb_key_from_name(const char *name, size_t len, struct ward_catdb_key *k);

#ifdef WARD_TEST_HOOKS
extern size_t ward_catdb_test_mapsize;
extern size_t ward_catdb_test_put_after;
extern void (*ward_catdb_test_put_hook)(void *ctx);
extern void *ward_catdb_test_put_ctx;
#endif

#endif
