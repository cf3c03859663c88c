/*
 * The category database: one LMDB environment in the configured `database` directory,
 * written by `ward update` (catdb_build.c) and read by wardd and `ward lookup`.
 *
 * Key spaces (LMDB named databases):
 *
 *   domains, domains_b  the domain tables: readers use the one meta domains_table names;
 *             the other is empty but while a build (or snapshot install) fills it over
 *             several commits (catdb_build.c). Both have this layout:
 *             key:   the name lower-cased with its labels reversed and joined by dots:
 *                    "ads.example.com" -> "com.example.ads". Every parent of a name is a
 *                    prefix of its key, so a lookup builds the key once in a stack buffer
 *                    and asks for each prefix ending at a label boundary.
 *             value: a flags byte, the non-zero masks among block-subdomains,
 *                    block-exact, allow-subdomains and allow-exact (64 category bits
 *                    each), then the varint ids of the feeds that listed the name (at most
 *                    16; a count separates block feeds from allow feeds when the name has
 *                    both). Layout in catdb_value.c. Every build that changes anything
 *                    writes the whole table anew, into the other of the two.
 *   feeds     key:   feed name ([a-z0-9_.-]{1,63}).
 *             value: struct ward_catdb_feed_state (version byte, fixed-width fields,
 *                    length-prefixed strings; catdb_value.c).
 *   feed_ids  key:   feed id, 2 bytes big-endian.  value: the feed's name.
 *                    Ids come from meta next_feed_id on a feed's first sight and are never
 *                    reused, so the ids stored in domain values always mean one feed.
 *   meta      key:   an ASCII name.  value: 8-byte little-endian integer.
 *                    schema_version  layout of all of the above (WARD_CATDB_SCHEMA_VERSION;
 *                                    version 1, from before domains_b, is read as
 *                                    domains_table 0 and becomes 2 at its next build)
 *                    domains_table   0: readers use `domains`, 1: `domains_b` (missing:
 *                                    0). Set by the commit that switches tables; a
 *                                    ward that knows only version 1 refuses version 2
 *                                    (its open and `ward sync` check the version), so it
 *                                    never answers from an empty `domains`
 *                    generation      builds committed so far
 *                    built_at        unix seconds of the last build
 *                    domains         keys in the domains table in use
 *                    entries         entries added to the last build, before merging
 *                    next_feed_id    the id the next new feed gets (ids start at 1)
 *                    build_started   unix seconds, written in a transaction of its own
 *                                    just before each build's (see catdb_build.c)
 *                    bloom           (not an integer) a blocked Bloom filter over every
 *                                    key of the domains table in use, written by the
 *                                    commit that switches tables (or an unchanged
 *                                    build's; catdb_value.h). A lookup asks LMDB only
 *                                    for the levels the filter may hold.
 *                    overrides_changed  bumped by every write to `overrides` (wardd
 *                                    rebuilds its in-memory table when it moves)
 *                    next_override_id, next_report_id  the next ids to hand out (from 1,
 *                                    never reused)
 *   overrides key:   override id, 8 bytes big-endian (so a cursor walks them in order).
 *             value: a parent's live decision: allow NAME or deny NAME (with a category)
 *                    for one profile or everyone, or pause a profile; created and expiry
 *                    times (unix seconds, expiry 0 = until removed) and where it came
 *                    from ("cli", "api", "report 7"). Layout in overrides.c. Written by
 *                    `ward allow/deny/pause/resume/overrides` and the web API in small
 *                    transactions of their own; expired records are dropped by the next
 *                    write. At most WARD_OVERRIDES_MAX records.
 *   subscribers  (an ISP's subscriber table, subscribers.c)
 *             key:   family (4 or 6), prefix length, then the network address with its
 *                    host bits zero (4 or 16 bytes): 6 or 18 bytes. Ordered by family
 *                    and length, so the entries of one length are one key range.
 *             value: profile name (length byte + bytes), then optionally the
 *                    subscriber's allow and deny names (each a 2-byte big-endian length
 *                    + space-separated names). Layout in subscribers.c.
 *             meta sub_lengths: the prefix lengths present (struct ward_sub_lengths),
 *                    so a lookup without an index asks LMDB once per length in use,
 *                    longest first; meta subscribers: the number of entries. Written by
 *                    `ward subscribers import` (the whole table in one transaction), `set`
 *                    and `remove`; never by a build.
 *   sub_index  (the subscribers' range index, derived from `subscribers`; layout in
 *                    subscribers_index.c)
 *             key:   family (4 or 6), then the last address of a chunk (4 or 16 bytes,
 *                    big-endian): 5 or 17 bytes. A family's chunks tile its whole address
 *                    space, so the first key at or after (family, address) is the chunk
 *                    holding the address (MDB_SET_RANGE). One more key, a single zero
 *                    byte, holds the index's mark: 8 random bytes new with each full build.
 *             value: a chunk of up to 640 (IPv4) or 184 (IPv6) consecutive ranges, each
 *                    with its owner (the most specific prefix holding it: its length and
 *                    value number, or none): about 4 KB, one overflow page.
 *             meta sub_values: the profile-only values the owners name by number (at
 *                    most 255; a subscriber with allow/deny names, or beyond those, is
 *                    read from `subscribers` by a second get);
 *                    meta sub_index: the stamp (MDB_stat of `subscribers` and `sub_index`
 *                    when written, and the mark). Written with every change to `subscribers`, in the
 *                    same transaction: import rebuilds it, set and remove recompute the
 *                    chunks the changed prefix spans, a snapshot install derives it from
 *                    the copied table. A reader whose snapshot has no index or a stamp
 *                    that does not match (a database an older ward wrote) answers from
 *                    `subscribers` as above; the next write indexes the whole table.
 *   reports   key:   report id, 8 bytes big-endian.
 *             value: what a child's browser sent: time, client address, profile, name,
 *                    kind (wrongly-blocked / should-be-blocked), category, message (at
 *                    most 500 characters), status (pending / accepted / rejected), how
 *                    many identical reports were merged into it, and the override an
 *                    accepted report created. Layout in reports.c.
 *
 * `ward update` rebuilds the domain tables only, so overrides and reports survive every
 * build, and a failed build cannot touch them.
 *
 * Readers use MDB_NOTLS read-only transactions that are reset and renewed, one per thread.
 * The map is sized far beyond any real database (virtual address space only: the file
 * grows as pages are written), so remapping is rare; see ward_catdb_remap() for when.
 */
#include "blocklists/catdb.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "blocklists/catdb_internal.h"
#include "blocklists/catdb_value.h"
#include "blocklists/error.h"
#include "blocklists/dns_codes.h"
#include "blocklists/name.h"

#define CATDB_MAX_DBS 16
#define CATDB_MAX_READERS 1024
#define CATDB_FEED_NAME_MAX 63
#define CATDB_REMAP_RETRIES 4

#if SIZE_MAX > 0xffffffffu
#define CATDB_MAPSIZE ((size_t)64 << 30)
#else
#define CATDB_MAPSIZE ((size_t)1 << 30)
#endif

#ifdef WARD_TEST_HOOKS
size_t ward_catdb_test_mapsize;
static unsigned test_env_flags;
size_t ward_catdb_test_put_after;
void (*ward_catdb_test_put_hook)(void *ctx);
void *ward_catdb_test_put_ctx;
size_t ward_catdb_test_run_bytes;
size_t ward_catdb_test_fill_chunk;

void ward_catdb_test_set_bounds(size_t run_bytes, size_t fill_chunk)
{
	ward_catdb_test_run_bytes = run_bytes;
	ward_catdb_test_fill_chunk = fill_chunk;
}

void ward_catdb_test_set_mapsize(size_t bytes)
{
	ward_catdb_test_mapsize = bytes;
}

void ward_catdb_test_set_env_flags(unsigned flags)
{
	test_env_flags = flags;
}

void ward_catdb_test_on_put(size_t after, void (*fn)(void *ctx), void *ctx)
{
	ward_catdb_test_put_after = after;
	ward_catdb_test_put_hook = fn;
	ward_catdb_test_put_ctx = ctx;
}
#endif

/*
 * A reader remembers its recent answers: client traffic repeats names (the same tracker,
 * the same blocked site), and a remembered answer costs a hash and a copy instead of
 * LMDB tree descents. Slots come in pairs (two-way set-associative: a name lives in either
 * slot of the pair its hash picks, and a new one replaces the one used less recently), so
 * two busy names that share a hash do not evict each other. Slots keep the whole name, so
 * a hit is exact; they belong to one snapshot (memo_epoch) and are forgotten when the
 * snapshot changes.
 * Memory: CATDB_MEMO_SLOTS * ~560 bytes per reader, touched only as names come.
 */
#define CATDB_MEMO_SLOTS 4096

struct memo_slot {
	uint32_t epoch;       /* 0 = empty */
	uint32_t used;        /* the reader's memo_clock at the last hit or fill */
	uint8_t len;
	bool wire;            /* name holds a wire name (without its root byte), not text */
	char name[WARD_NAME_MAX];
	struct ward_cat_match match;
};

struct ward_catdb_reader {
	pthread_mutex_t busy; /* held while this reader touches the map */
	struct memo_slot *memo;
	uint32_t memo_epoch;
	uint32_t memo_clock;
	struct ward_catdb *db;
	MDB_txn *txn;
	bool active;          /* txn renewed (holds a snapshot); false after a release */
	uint64_t generation;
	size_t txnid;         /* the snapshot the fields below were loaded from */
	/* The snapshot's filter, pointing into the map: valid while the txn lives and the
	 * map stays where it was when loaded (map_epoch). */
	struct ward_catdb_bloom bloom;
	bool has_bloom;
	MDB_dbi domains;      /* the snapshot's domains table (meta domains_table) */
	bool has_domains;     /* false: that table is not open here, lookups fail closed */
	struct ward_sub_lengths sub_lengths; /* empty when the table is */
	bool has_subs;        /* `subscribers` was open when the txn was last renewed */
	bool has_subidx;      /* and `sub_index` */
	void *sub_memo;       /* subscribers.c's, allocated there on first use */
	unsigned map_epoch;
	struct ward_catdb_reader *prev, *next;
};

int ward_catdb_mdb_err(int rc)
{
	switch (rc) {
	case MDB_SUCCESS:
		return 0;
	case MDB_NOTFOUND:
		return WARD_ENOTFOUND;
	case MDB_TXN_FULL:
	case MDB_CURSOR_FULL:
	case MDB_PAGE_FULL:
	case MDB_DBS_FULL:
		return WARD_ENOMEM;
	case MDB_MAP_FULL: /* the writer grows the map and retries on exactly this */
		return WARD_ETOOBIG;
	case MDB_READERS_FULL:
		return WARD_EBUSY;
	case MDB_BAD_VALSIZE:
		return WARD_EINVAL;
	default:
		/* LMDB passes errno values through unchanged (all positive; its own codes
		 * are negative): permission denied and the like keep their cause. */
		if (rc > 0)
			return rc == EBUSY ? WARD_EBUSY : ward_errno(rc);
		return WARD_EDB; /* MDB_CORRUPTED, MDB_PANIC, MDB_VERSION_MISMATCH, ... */
	}
}

/* ---- environment ------------------------------------------------------------------ */

int ward_catdb_remap(struct ward_catdb *db, size_t size)
{
	pthread_mutex_lock(&db->readers_lock);
	for (struct ward_catdb_reader *r = db->readers; r; r = r->next)
		pthread_mutex_lock(&r->busy);
	pthread_rwlock_wrlock(&db->map_lock);
	int rc = mdb_env_set_mapsize(db->env, size);
	db->map_epoch++;
	pthread_rwlock_unlock(&db->map_lock);
	for (struct ward_catdb_reader *r = db->readers; r; r = r->next)
		pthread_mutex_unlock(&r->busy);
	pthread_mutex_unlock(&db->readers_lock);
	return ward_catdb_mdb_err(rc);
}

int ward_catdb_grow_map(struct ward_catdb *db)
{
	MDB_envinfo info;
	mdb_env_info(db->env, &info);
	return ward_catdb_remap(db, info.me_mapsize * 2);
}

int ward_catdb_txn_begin(struct ward_catdb *db, bool rdonly, MDB_txn **txn)
{
	if (!rdonly && db->mode != WARD_CATDB_WRITE)
		return WARD_EINVAL;
	for (int tries = 0; tries < CATDB_REMAP_RETRIES; tries++) {
		pthread_rwlock_rdlock(&db->map_lock);
		int rc = mdb_txn_begin(db->env, NULL, rdonly ? MDB_RDONLY : 0, txn);
		if (rc == 0)
			return 0;
		pthread_rwlock_unlock(&db->map_lock);
		if (rc != MDB_MAP_RESIZED)
			return ward_catdb_mdb_err(rc);
		/* Another process grew the database beyond our map: adopt its size. */
		rc = ward_catdb_remap(db, 0);
		if (rc)
			return rc;
	}
	return WARD_EDB;
}

int ward_catdb_txn_commit(struct ward_catdb *db, MDB_txn *txn)
{
	int rc = mdb_txn_commit(txn);
	pthread_rwlock_unlock(&db->map_lock);
	return ward_catdb_mdb_err(rc);
}

void ward_catdb_txn_abort(struct ward_catdb *db, MDB_txn *txn)
{
	mdb_txn_abort(txn);
	pthread_rwlock_unlock(&db->map_lock);
}

int ward_catdb_write(struct ward_catdb *db, int (*fn)(MDB_txn *txn, void *ctx), void *ctx)
{
	int rc = WARD_ETOOBIG;
	for (int tries = 0; tries < 2 && rc == WARD_ETOOBIG; tries++) {
		if (tries > 0 && (rc = ward_catdb_grow_map(db)) != 0)
			return rc;
		MDB_txn *txn;
		rc = ward_catdb_txn_begin(db, false, &txn);
		if (rc)
			return rc;
		rc = fn(txn, ctx);
		if (rc)
			ward_catdb_txn_abort(db, txn);
		else
			rc = ward_catdb_txn_commit(db, txn);
	}
	return rc;
}

int ward_catdb_meta_get_u64(struct ward_catdb *db, MDB_txn *txn, const char *key,
			    uint64_t *out)
{
	MDB_val k = { strlen(key), (void *)key }, v;
	int rc = mdb_get(txn, db->meta, &k, &v);
	if (rc)
		return ward_catdb_mdb_err(rc);
	return ward_catdb_u64_decode(v.mv_data, v.mv_size, out);
}

int ward_catdb_meta_put_u64(struct ward_catdb *db, MDB_txn *txn, const char *key,
			    uint64_t value)
{
	uint8_t buf[8];
	ward_catdb_u64_encode(value, buf);
	MDB_val k = { strlen(key), (void *)key }, v = { sizeof(buf), buf };
	return ward_catdb_mdb_err(mdb_put(txn, db->meta, &k, &v, 0));
}

/* `domains_b`, created if flags say so. Creating it in a database that already holds
 * domains is an upgrade from schema 1: a wardd running on it has not opened the table, and
 * the first switch to it must wait until that wardd can have (ward_catdb_fill_switch). */
static int open_domains_b(struct ward_catdb *db, MDB_txn *txn, unsigned flags)
{
	MDB_stat st;
	int rc = mdb_dbi_open(txn, "domains_b", 0, &db->domains_b);
	if (rc == MDB_NOTFOUND && flags) {
		rc = mdb_dbi_open(txn, "domains_b", flags, &db->domains_b);
		if (rc == 0 && mdb_stat(txn, db->domains, &st) == 0 && st.ms_entries > 0)
			clock_gettime(CLOCK_MONOTONIC, &db->domains_b_created);
	}
	atomic_store(&db->has_domains_b, rc == 0);
	return rc;
}

static int open_dbis(struct ward_catdb *db, MDB_txn *txn)
{
	unsigned flags = db->mode == WARD_CATDB_WRITE ? MDB_CREATE : 0;
	int rc = mdb_dbi_open(txn, "domains", flags, &db->domains);
	if (!rc)
		rc = mdb_dbi_open(txn, "feeds", flags, &db->feeds);
	if (!rc)
		rc = mdb_dbi_open(txn, "feed_ids", flags, &db->feed_ids);
	if (!rc)
		rc = mdb_dbi_open(txn, "meta", flags, &db->meta);
	if (rc)
		return ward_catdb_mdb_err(rc);
	/* Added after the first release: a database from before has neither, and reads as
	 * if both were empty until something writes one. */
	rc = mdb_dbi_open(txn, "overrides", flags, &db->overrides);
	if (!rc)
		rc = mdb_dbi_open(txn, "reports", flags, &db->reports);
	db->has_admin = rc == 0;
	if (rc && !(rc == MDB_NOTFOUND && !flags))
		return ward_catdb_mdb_err(rc);
	rc = open_domains_b(db, txn, flags);
	if (rc && !(rc == MDB_NOTFOUND && !flags))
		return ward_catdb_mdb_err(rc);
	rc = mdb_dbi_open(txn, "subscribers", flags, &db->subscribers);
	atomic_store(&db->has_subs, rc == 0);
	if (rc && !(rc == MDB_NOTFOUND && !flags))
		return ward_catdb_mdb_err(rc);
	rc = mdb_dbi_open(txn, "sub_index", flags, &db->sub_index);
	atomic_store(&db->has_subidx, rc == 0);
	return rc == MDB_NOTFOUND && !flags ? 0 : ward_catdb_mdb_err(rc);
}

/* One named table found missing at open time, if a writer has created it since. */
static int open_late(struct ward_catdb *db, const char *name, MDB_dbi *dbi, _Atomic bool *has)
{
	if (atomic_load(has))
		return 0;
	MDB_txn *txn;
	int rc = ward_catdb_txn_begin(db, true, &txn);
	if (rc)
		return rc;
	rc = mdb_dbi_open(txn, name, 0, dbi);
	if (rc) {
		ward_catdb_txn_abort(db, txn);
		return ward_catdb_mdb_err(rc);
	}
	rc = ward_catdb_txn_commit(db, txn);
	if (rc == 0)
		atomic_store_explicit(has, true, memory_order_release);
	return rc;
}

int ward_catdb_open_domains_b(struct ward_catdb *db)
{
	return open_late(db, "domains_b", &db->domains_b, &db->has_domains_b);
}

int ward_catdb_domains_table(struct ward_catdb *db, MDB_txn *txn, MDB_dbi *dbi,
			     unsigned *which)
{
	uint64_t t = 0;
	int rc = ward_catdb_meta_get_u64(db, txn, WARD_CATDB_META_DOMAINS_TABLE, &t);
	if (rc && rc != WARD_ENOTFOUND)
		return rc;
	if (t > 1)
		return WARD_EFORMAT;
	if (t == 1 && !atomic_load_explicit(&db->has_domains_b, memory_order_acquire))
		return WARD_ENOTFOUND;
	*which = (unsigned)t;
	*dbi = ward_catdb_domains_dbi(db, *which);
	return 0;
}

int ward_catdb_open_subs(struct ward_catdb *db)
{
	int rc = open_late(db, "subscribers", &db->subscribers, &db->has_subs);
	int ri = open_late(db, "sub_index", &db->sub_index, &db->has_subidx);
	return rc ? rc : ri;
}

int ward_catdb_open_admin(struct ward_catdb *db)
{
	if (db->has_admin)
		return 0;
	MDB_txn *txn;
	int rc = ward_catdb_txn_begin(db, true, &txn);
	if (rc)
		return rc;
	rc = mdb_dbi_open(txn, "overrides", 0, &db->overrides);
	if (!rc)
		rc = mdb_dbi_open(txn, "reports", 0, &db->reports);
	if (rc) {
		ward_catdb_txn_abort(db, txn);
		return ward_catdb_mdb_err(rc);
	}
	/* Committed, the handles stay open for every later transaction. */
	rc = ward_catdb_txn_commit(db, txn);
	if (rc == 0)
		db->has_admin = true;
	return rc;
}

/* A new database gets the current schema; an existing one must already have it. */
static int check_schema(struct ward_catdb *db, MDB_txn *txn)
{
	uint64_t version;
	int rc = ward_catdb_meta_get_u64(db, txn, WARD_CATDB_META_SCHEMA, &version);
	if (rc == WARD_ENOTFOUND && db->mode == WARD_CATDB_WRITE)
		return ward_catdb_meta_put_u64(db, txn, WARD_CATDB_META_SCHEMA,
					       WARD_CATDB_SCHEMA_VERSION);
	if (rc)
		return rc;
	return version >= WARD_CATDB_SCHEMA_OLDEST && version <= WARD_CATDB_SCHEMA_VERSION
		       ? 0
		       : WARD_EFORMAT;
}

/* With a read transaction open, a reader table shows at least one slot in use; LMDB
 * reports none when it runs without lock.mdb (MDB_NOLOCK, or a read-only environment on
 * a read-only file system). */
static int check_reader_table(struct ward_catdb *db)
{
	MDB_envinfo info;
	unsigned flags = 0;
	if (db->mode != WARD_CATDB_READ)
		return 0;
	if (mdb_env_get_flags(db->env, &flags) == 0 && (flags & MDB_NOLOCK))
		return WARD_EROFS;
	if (mdb_env_info(db->env, &info) != 0 || info.me_numreaders == 0)
		return WARD_EROFS;
	return 0;
}

/* Open the named databases once; their handles then serve every later transaction. */
static int setup_env(struct ward_catdb *db)
{
	MDB_txn *txn;
	int rc = ward_catdb_txn_begin(db, db->mode == WARD_CATDB_READ, &txn);
	if (rc)
		return rc;
	rc = check_reader_table(db);
	if (!rc)
		rc = open_dbis(db, txn);
	if (!rc)
		rc = check_schema(db, txn);
	if (rc) {
		ward_catdb_txn_abort(db, txn);
		return rc;
	}
	return ward_catdb_txn_commit(db, txn);
}

static size_t initial_mapsize(void)
{
#ifdef WARD_TEST_HOOKS
	if (ward_catdb_test_mapsize)
		return ward_catdb_test_mapsize;
#endif
	return CATDB_MAPSIZE;
}

static unsigned env_flags(const struct ward_catdb *db)
{
	unsigned flags = MDB_NOTLS | (db->mode == WARD_CATDB_READ ? MDB_RDONLY : 0);
#ifdef WARD_TEST_HOOKS
	flags |= test_env_flags;
#endif
	return flags;
}

/*
 * A reader must have LMDB's lock file: it holds the reader table through which the
 * writer (`ward update`, another process) sees which snapshots are still being read.
 * LMDB quietly opens a read-only environment on a read-only file system without it, and
 * the writer would then overwrite pages under our feet. Refuse that up front, even
 * before a database exists, so the cause is named at start and not at the first build.
 */
static int check_lockable(const struct ward_catdb *db)
{
	struct statvfs vfs;
	if (db->mode == WARD_CATDB_READ && statvfs(db->dir, &vfs) == 0 &&
	    (vfs.f_flag & ST_RDONLY))
		return WARD_EROFS;
	return 0;
}

static int create_env(struct ward_catdb *db)
{
	int rc = check_lockable(db);
	if (rc)
		return rc;
	rc = mdb_env_create(&db->env);
	if (rc)
		return ward_catdb_mdb_err(rc);
	rc = mdb_env_set_maxdbs(db->env, CATDB_MAX_DBS);
	if (!rc)
		rc = mdb_env_set_maxreaders(db->env, CATDB_MAX_READERS);
	if (!rc)
		rc = mdb_env_set_mapsize(db->env, initial_mapsize());
	/* 0640: feed URLs in the `feeds` key space can carry access tokens. */
	if (!rc)
		rc = mdb_env_open(db->env, db->dir, env_flags(db), 0640);
	if (rc) {
		mdb_env_close(db->env);
		db->env = NULL;
		return ward_catdb_mdb_err(rc);
	}
	if (db->mode == WARD_CATDB_WRITE) {
		/* Slots of crashed readers would pin old pages and grow the file forever. */
		int dead;
		mdb_reader_check(db->env, &dead);
	}
	return 0;
}

int ward_catdb_open(const char *dir, enum ward_catdb_mode mode, struct ward_catdb **out)
{
	*out = NULL;
	if (!dir || !*dir)
		return WARD_EINVAL;
	if (mode == WARD_CATDB_WRITE && mkdir(dir, 0750) != 0 && errno != EEXIST)
		return ward_errno(errno);

	struct ward_catdb *db = calloc(1, sizeof(*db));
	if (!db)
		return WARD_ENOMEM;
	db->mode = mode;
	db->dir = strdup(dir);
	pthread_rwlock_init(&db->map_lock, NULL);
	pthread_mutex_init(&db->readers_lock, NULL);
	int rc = db->dir ? create_env(db) : WARD_ENOMEM;
	if (rc)
		goto fail;
	rc = setup_env(db);
	if (rc)
		goto fail;
	*out = db;
	return 0;
fail:
	ward_catdb_close(db);
	return rc;
}

void ward_catdb_close(struct ward_catdb *db)
{
	if (!db)
		return;
	if (db->env)
		mdb_env_close(db->env);
	pthread_rwlock_destroy(&db->map_lock);
	pthread_mutex_destroy(&db->readers_lock);
	free(db->dir);
	free(db);
}

int ward_catdb_meta_get(struct ward_catdb *db, struct ward_catdb_meta *meta)
{
	memset(meta, 0, sizeof(*meta));
	MDB_txn *txn;
	int rc = ward_catdb_txn_begin(db, true, &txn);
	if (rc)
		return rc;
	const char *keys[] = { WARD_CATDB_META_SCHEMA, WARD_CATDB_META_GENERATION,
			       WARD_CATDB_META_BUILT_AT, WARD_CATDB_META_DOMAINS,
			       WARD_CATDB_META_ENTRIES };
	uint64_t vals[5] = { 0 };
	for (unsigned i = 0; i < 5 && !rc; i++) {
		rc = ward_catdb_meta_get_u64(db, txn, keys[i], &vals[i]);
		if (rc == WARD_ENOTFOUND) /* nothing built yet */
			rc = 0;
	}
	ward_catdb_txn_abort(db, txn);
	meta->schema_version = (uint32_t)vals[0];
	meta->generation = vals[1];
	meta->built_at = (int64_t)vals[2];
	meta->domains = vals[3];
	meta->entries = vals[4];
	return rc;
}

/* ---- readers ---------------------------------------------------------------------- */

/* Per-snapshot state, after each renew: generation and the filter. A missing or
 * damaged filter only costs speed: every level is then asked of LMDB. */
static void reader_load_snapshot(struct ward_catdb_reader *r)
{
	uint64_t gen = 0;
	if (ward_catdb_meta_get_u64(r->db, r->txn, WARD_CATDB_META_GENERATION, &gen))
		gen = 0;
	r->generation = gen;
	r->txnid = mdb_txn_id(r->txn);
	r->memo_epoch++;
	r->map_epoch = r->db->map_epoch;
	unsigned which;
	r->has_domains = ward_catdb_domains_table(r->db, r->txn, &r->domains, &which) == 0;
	MDB_val k = { strlen(WARD_CATDB_META_BLOOM), WARD_CATDB_META_BLOOM }, v;
	r->has_bloom = mdb_get(r->txn, r->db->meta, &k, &v) == 0 &&
		       ward_catdb_bloom_open(v.mv_data, v.mv_size, &r->bloom) == 0;
	MDB_val sk = { strlen(WARD_CATDB_META_SUB_LENGTHS), WARD_CATDB_META_SUB_LENGTHS }, sv;
	memset(&r->sub_lengths, 0, sizeof(r->sub_lengths));
	if (mdb_get(r->txn, r->db->meta, &sk, &sv) == 0 && sv.mv_size == sizeof(r->sub_lengths))
		memcpy(&r->sub_lengths, sv.mv_data, sizeof(r->sub_lengths));
}

static int reader_ready(struct ward_catdb_reader *r);

int ward_catdb_reader_enter(struct ward_catdb_reader *r, struct ward_catdb_sub_view *v)
{
	int rc = reader_ready(r);
	if (rc)
		return rc;
	pthread_mutex_lock(&r->busy);
	/* Another thread remapped: what points into the map (subscribers.c keeps the index's
	 * values so, per epoch) must be loaded again. */
	if (r->map_epoch != r->db->map_epoch)
		reader_load_snapshot(r);
	v->txn = r->txn;
	v->dbi = r->db->subscribers;
	v->idx = r->db->sub_index;
	v->meta = r->db->meta;
	v->lengths = &r->sub_lengths;
	v->subs = r->has_subs;
	v->has_idx = r->has_subidx;
	v->epoch = r->memo_epoch;
	v->memo = &r->sub_memo;
	return 0;
}

void ward_catdb_reader_leave(struct ward_catdb_reader *r)
{
	pthread_mutex_unlock(&r->busy);
}

int ward_catdb_reader_new(struct ward_catdb *db, struct ward_catdb_reader **out)
{
	*out = NULL;
	struct ward_catdb_reader *r = calloc(1, sizeof(*r));
	if (r)
		r->memo = calloc(CATDB_MEMO_SLOTS, sizeof(*r->memo));
	if (!r || !r->memo) {
		free(r);
		return WARD_ENOMEM;
	}
	r->db = db;
	pthread_mutex_init(&r->busy, NULL);
	/* Begun under map_lock like any transaction; once the reader is on the list, remaps
	 * wait for its `busy` mutex instead. */
	r->has_subs = atomic_load_explicit(&db->has_subs, memory_order_acquire);
	r->has_subidx = atomic_load_explicit(&db->has_subidx, memory_order_acquire);
	MDB_txn *txn;
	int rc = ward_catdb_txn_begin(db, true, &txn);
	if (rc) {
		pthread_mutex_destroy(&r->busy);
		free(r->memo);
		free(r);
		return rc == WARD_ENOMEM || rc == WARD_EBUSY ? rc : WARD_EDB;
	}
	r->txn = txn;
	r->active = true;
	reader_load_snapshot(r);
	pthread_rwlock_unlock(&db->map_lock);

	pthread_mutex_lock(&db->readers_lock);
	r->next = db->readers;
	if (db->readers)
		db->readers->prev = r;
	db->readers = r;
	pthread_mutex_unlock(&db->readers_lock);
	*out = r;
	return 0;
}

void ward_catdb_reader_free(struct ward_catdb_reader *r)
{
	if (!r)
		return;
	struct ward_catdb *db = r->db;
	pthread_mutex_lock(&db->readers_lock);
	if (r->prev)
		r->prev->next = r->next;
	else
		db->readers = r->next;
	if (r->next)
		r->next->prev = r->prev;
	pthread_mutex_unlock(&db->readers_lock);
	ward_sub_reader_state_free(r->sub_memo); /* its cursor, before the txn */
	mdb_txn_abort(r->txn);
	pthread_mutex_destroy(&r->busy);
	free(r->memo);
	free(r);
}

int ward_catdb_reader_refresh(struct ward_catdb_reader *r)
{
	int rc = MDB_MAP_RESIZED;
	for (int tries = 0; tries < CATDB_REMAP_RETRIES && rc == MDB_MAP_RESIZED; tries++) {
		if (tries > 0) {
			/* A writer grew the file beyond our map; remap while no reader of
			 * this process is inside LMDB. The txn stays reset meanwhile. */
			int err = ward_catdb_remap(r->db, 0);
			if (err)
				return err;
		}
		pthread_mutex_lock(&r->busy);
		/* Read before the renew: a txn renewed after the dbi was opened can use it. */
		bool subs = atomic_load_explicit(&r->db->has_subs, memory_order_acquire);
		bool subidx = atomic_load_explicit(&r->db->has_subidx, memory_order_acquire);
		mdb_txn_reset(r->txn);
		rc = mdb_txn_renew(r->txn);
		r->has_subs = subs;
		r->has_subidx = subidx;
		r->active = rc == 0;
		/* Between builds the renewed txn is the same snapshot: nothing to reload
		 * (unless its domains table was not open then). */
		if (rc == 0 && (mdb_txn_id(r->txn) != r->txnid ||
				r->map_epoch != r->db->map_epoch || !r->has_domains))
			reader_load_snapshot(r);
		pthread_mutex_unlock(&r->busy);
	}
	return rc ? (rc == MDB_MAP_RESIZED ? WARD_EDB : ward_catdb_mdb_err(rc)) : 0;
}

void ward_catdb_reader_release(struct ward_catdb_reader *r)
{
	if (!r || !r->active)
		return;
	pthread_mutex_lock(&r->busy);
	mdb_txn_reset(r->txn);
	r->active = false;
	pthread_mutex_unlock(&r->busy);
}

/* A released reader takes a fresh snapshot on its next use. */
static int reader_ready(struct ward_catdb_reader *r)
{
	return r->active ? 0 : ward_catdb_reader_refresh(r);
}

uint64_t ward_catdb_reader_generation(struct ward_catdb_reader *r)
{
	return r->generation;
}

/* ---- lookup ----------------------------------------------------------------------- */

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
}

int ward_catdb_key_from_name(const char *name, size_t len, struct ward_catdb_key *k)
{
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > WARD_NAME_MAX)
		return WARD_EINVAL;
	/* Locals rather than k->len: the stores through k would otherwise be reloaded on
	 * every character (k->buf may alias them as far as the compiler knows). */
	size_t out = 0, end = len;
	unsigned labels = 0;
	for (;;) {
		const char *dot = memrchr(name, '.', end);
		size_t start = dot ? (size_t)(dot - name) + 1 : 0;
		size_t llen = end - start;
		if (llen == 0 || llen > 63)
			return WARD_EINVAL;
		if (labels)
			k->buf[out++] = '.';
		memcpy(k->buf + out, name + start, llen);
		for (size_t i = out; i < out + llen; i++)
			k->buf[i] = lower(k->buf[i]);
		out += llen;
		k->level_end[labels++] = (uint8_t)out;
		if (start == 0)
			break;
		end = start - 1;
	}
	k->len = (uint8_t)out;
	k->n_labels = k->n_levels = (uint8_t)labels;
	return 0;
}

/*
 * Wire name -> key. A label holding a '.' byte cannot be told apart from two labels in
 * a key, and no feed entry contains one; levels from that label down are not looked up
 * (they cannot match anything), but its parents still are, so "x\.y.bad.com" is still
 * covered by a "bad.com" entry.
 */
static int key_from_wire(const uint8_t *wire, struct ward_catdb_key *k)
{
	uint8_t starts[128];
	unsigned n = 0;
	size_t pos = 0;
	while (wire[pos] != 0) {
		unsigned l = wire[pos];
		/* l > 63 is a compression pointer or an extended label type. */
		if (l > 63 || pos + 1 + l + 1 > 255 || n == sizeof(starts))
			return WARD_EINVAL;
		starts[n++] = (uint8_t)pos;
		pos += 1 + l;
	}
	k->len = 0;
	k->n_labels = (uint8_t)n;
	k->n_levels = (uint8_t)n;
	for (unsigned i = n; i-- > 0;) {
		const uint8_t *label = wire + starts[i] + 1;
		unsigned l = label[-1];
		if (k->len)
			k->buf[k->len++] = '.';
		if (memchr(label, '.', l) && k->n_levels == n)
			k->n_levels = (uint8_t)(n - 1 - i);
		for (unsigned j = 0; j < l; j++)
			k->buf[k->len++] = lower((char)label[j]);
		k->level_end[n - 1 - i] = k->len;
	}
	return 0;
}

/* "com.example.b" -> "b.example.com"; out has room for len + 1 bytes. */
static void unreverse(const char *key, size_t len, char *out)
{
	size_t o = 0, end = len;
	for (;;) {
		size_t start = end;
		while (start > 0 && key[start - 1] != '.')
			start--;
		memcpy(out + o, key + start, end - start);
		o += end - start;
		if (start == 0)
			break;
		out[o++] = '.';
		end = start - 1;
	}
	out[o] = '\0';
}

/* One level of the name that has an entry applying to the name. */
struct level_hit {
	uint8_t level;
	ward_catset block, allow;
	MDB_val val;
};

/* Which hit explains the answer: the most specific that added a category still blocked,
 * or, when nothing stays blocked, the most specific allow. */
static const struct level_hit *explaining_hit(const struct level_hit *hits, unsigned n,
					      ward_catset cats, bool *is_block)
{
	for (unsigned i = n; i-- > 0;) {
		if (cats ? (hits[i].block & cats) : hits[i].allow) {
			*is_block = cats != 0;
			return &hits[i];
		}
	}
	return NULL;
}

static int fill_explanation(const struct ward_catdb_key *k, const struct level_hit *h,
			    bool is_block, struct ward_cat_match *m)
{
	struct ward_catdb_value v;
	if (ward_catdb_value_decode(h->val.mv_data, h->val.mv_size, &v))
		return WARD_EDB;
	size_t first = is_block ? 0 : v.n_block_feeds;
	size_t last = is_block ? v.n_block_feeds : v.n_feeds;
	for (size_t i = first; i < last && m->n_feeds < WARD_CATDB_MATCH_FEEDS; i++)
		m->feeds[m->n_feeds++] = v.feeds[i];
	m->exact = h->level == k->n_labels;
	m->entry_len = k->level_end[h->level - 1];
	unreverse(k->buf, m->entry_len, m->entry);
	return 0;
}

/* The filter hash of every level's key (the full name's "name" hash, its parents'
 * "parent" hashes); with a filter, start fetching the blocks those hashes probe, so
 * that the cache misses of all levels overlap. */
static void level_hashes(const struct ward_catdb_reader *r, const struct ward_catdb_key *k,
			 uint64_t *hashes)
{
	uint64_t h = WARD_CATDB_HASH_INIT;
	size_t hashed = 0;
	for (unsigned level = 1; level <= k->n_levels; level++) {
		while (hashed < k->level_end[level - 1])
			h = ward_catdb_hash_step(h, (uint8_t)k->buf[hashed++]);
		hashes[level - 1] = ward_catdb_hash_final(h, level < k->n_labels);
		if (r->has_bloom)
			__builtin_prefetch(ward_catdb_bloom_block(&r->bloom, hashes[level - 1]));
	}
}

/* Walk the levels from the TLD down; see catdb.h for how block and allow entries mix. */
static int lookup_levels(struct ward_catdb_reader *r, const struct ward_catdb_key *k,
			 struct level_hit *hits, unsigned *n_hits, struct ward_cat_match *m)
{
	if (r->map_epoch != r->db->map_epoch) /* another thread remapped: reload pointers */
		reader_load_snapshot(r);
	if (!r->has_domains) /* the snapshot's table is not open here: fail closed */
		return WARD_EDB;
	uint64_t hashes[128];
	level_hashes(r, k, hashes);
	for (unsigned level = 1; level <= k->n_levels; level++) {
		if (r->has_bloom && !ward_catdb_bloom_may_contain(&r->bloom, hashes[level - 1]))
			continue;
		MDB_val key = { k->level_end[level - 1], (void *)k->buf }, val;
		int rc = mdb_get(r->txn, r->domains, &key, &val);
		if (rc == MDB_NOTFOUND)
			continue;
		if (rc)
			return ward_catdb_mdb_err(rc) == WARD_ENOMEM ? WARD_ENOMEM : WARD_EDB;
		ward_catset mask[WARD_CATDB_MASKS];
		if (ward_catdb_value_masks(val.mv_data, val.mv_size, mask))
			return WARD_EDB;
		bool full = level == k->n_labels;
		ward_catset block = mask[WARD_CATDB_BLOCK_SUB] |
				    (full ? mask[WARD_CATDB_BLOCK_EXACT] : 0);
		ward_catset allow = mask[WARD_CATDB_ALLOW_SUB] |
				    (full ? mask[WARD_CATDB_ALLOW_EXACT] : 0);
		if (!block && !allow)
			continue;
		/* An allow beats blocks at its own level and above; a more specific block
		 * beats an allow above it. */
		m->categories = (m->categories | block) & ~allow;
		m->allowed = (m->allowed & ~block) | allow;
		hits[(*n_hits)++] = (struct level_hit){ (uint8_t)level, block, allow, val };
	}
	return 0;
}

static int lookup_key(struct ward_catdb_reader *r, const struct ward_catdb_key *k,
		      struct ward_cat_match *m)
{
	struct level_hit hits[128];
	unsigned n_hits = 0;
	pthread_mutex_lock(&r->busy);
	int rc = lookup_levels(r, k, hits, &n_hits, m);
	if (rc == 0) {
		bool is_block = false;
		const struct level_hit *h = explaining_hit(hits, n_hits, m->categories,
							   &is_block);
		if (h) {
			m->found = true;
			rc = fill_explanation(k, h, is_block, m);
		}
	}
	pthread_mutex_unlock(&r->busy);
	if (rc)
		memset(m, 0, sizeof(*m));
	return rc;
}

void ward_cat_match_clear(struct ward_cat_match *m)
{
	m->categories = 0;
	m->allowed = 0;
	m->found = false;
	m->exact = false;
	m->entry_len = 0;
	m->entry[0] = '\0';
	m->n_feeds = 0;
}

/* The memo's slot hash: private to this process, so a word at a time (the filter's
 * byte-wise FNV hash is part of the file format and costs one multiply per byte). */
static uint64_t memo_hash(const void *name, size_t len, bool wire)
{
	const uint8_t *p = name;
	uint64_t h = 0x9E3779B97F4A7C15ull ^ len ^ (uint64_t)wire << 8, word = 0;
	if (len < 8) {
		for (size_t i = 0; i < len; i++)
			word = word << 8 | p[i];
	} else {
		/* Whole words, then the last eight bytes (overlapping the previous word). */
		for (size_t i = 0; i + 8 < len; i += 8) {
			memcpy(&word, p + i, 8);
			h = (h ^ word) * 0xFF51AFD7ED558CCDull;
			h ^= h >> 32;
		}
		memcpy(&word, p + len - 8, 8);
	}
	h = (h ^ word) * 0xC4CEB9FE1A85EC53ull;
	return h ^ h >> 29;
}

static struct memo_slot *memo_slot_for(struct ward_catdb_reader *r, const void *name,
				       size_t len, bool wire)
{
	if (len == 0 || len > WARD_NAME_MAX)
		return NULL;
	return &r->memo[memo_hash(name, len, wire) & (CATDB_MEMO_SLOTS - 2)];
}

/* *m = *from, but only the bytes in use: the entry text and feed list are mostly empty
 * and copying the whole struct costs more than the rest of a memo hit. */
static void match_copy(struct ward_cat_match *m, const struct ward_cat_match *from)
{
	m->categories = from->categories;
	m->allowed = from->allowed;
	m->found = from->found;
	m->exact = from->exact;
	m->entry_len = from->entry_len;
	memcpy(m->entry, from->entry, (size_t)from->entry_len + 1);
	m->n_feeds = from->n_feeds;
	memcpy(m->feeds, from->feeds, from->n_feeds * sizeof(m->feeds[0]));
}

static bool memo_holds(const struct ward_catdb_reader *r, const struct memo_slot *slot,
		       const void *name, size_t len, bool wire)
{
	return slot->epoch == r->memo_epoch && slot->len == len && slot->wire == wire &&
	       memcmp(slot->name, name, len) == 0;
}

/* @param pair  the first of the two slots the name may be in (memo_slot_for) */
static bool memo_get(struct ward_catdb_reader *r, struct memo_slot *pair, const void *name,
		     size_t len, bool wire, struct ward_cat_match *m)
{
	if (!pair)
		return false;
	struct memo_slot *slot = memo_holds(r, &pair[0], name, len, wire) ? &pair[0]
				 : memo_holds(r, &pair[1], name, len, wire) ? &pair[1] : NULL;
	if (!slot)
		return false;
	slot->used = ++r->memo_clock;
	match_copy(m, &slot->match);
	return true;
}

static void memo_put(struct ward_catdb_reader *r, struct memo_slot *pair, const void *name,
		     size_t len, bool wire, const struct ward_cat_match *m)
{
	if (!pair)
		return;
	/* A stale or empty slot first, else the one used less recently (the clock wraps:
	 * compare distances, not values). */
	struct memo_slot *slot = &pair[0];
	if (pair[0].epoch == r->memo_epoch &&
	    (pair[1].epoch != r->memo_epoch ||
	     r->memo_clock - pair[1].used > r->memo_clock - pair[0].used))
		slot = &pair[1];
	slot->used = ++r->memo_clock;
	slot->epoch = r->memo_epoch;
	slot->len = (uint8_t)len;
	slot->wire = wire;
	memcpy(slot->name, name, len);
	match_copy(&slot->match, m);
}

int ward_cat_lookup(struct ward_catdb_reader *r, const char *name, size_t len,
		    struct ward_cat_match *m)
{
	int rc = reader_ready(r);
	if (rc) {
		ward_cat_match_clear(m);
		return rc;
	}
	struct memo_slot *slot = memo_slot_for(r, name, len, false);
	if (memo_get(r, slot, name, len, false, m))
		return 0;
	ward_cat_match_clear(m);
	struct ward_catdb_key k;
	if (ward_catdb_key_from_name(name, len, &k))
		return WARD_EINVAL;
	rc = lookup_key(r, &k, m);
	if (rc == 0)
		memo_put(r, slot, name, len, false, m);
	return rc;
}

int ward_cat_lookup_wire(struct ward_catdb_reader *r, const uint8_t *wire,
			 struct ward_cat_match *m)
{
	return ward_cat_lookup_wire_len(r, wire, ward_name_wire_len(wire), m);
}

int ward_cat_lookup_wire_len(struct ward_catdb_reader *r, const uint8_t *wire, size_t wlen,
			     struct ward_cat_match *m)
{
	/* A released reader renews first: the memo is only valid for the current snapshot. */
	int rc = reader_ready(r);
	if (rc) {
		ward_cat_match_clear(m);
		return rc;
	}
	/* The memo keys on the name without its root byte: the root itself is never kept. */
	struct memo_slot *slot = wlen ? memo_slot_for(r, wire, wlen - 1, true) : NULL;
	if (memo_get(r, slot, wire, wlen - 1, true, m))
		return 0;
	ward_cat_match_clear(m);
	struct ward_catdb_key k;
	if (!wlen || key_from_wire(wire, &k))
		return WARD_EINVAL;
	rc = lookup_key(r, &k, m);
	if (rc == 0)
		memo_put(r, slot, wire, wlen - 1, true, m);
	return rc;
}

/* ---- samples ---------------------------------------------------------------------- */

/* Is the entry under the cursor a block of one of `cats` that a plain lookup of the name
 * (not an allow below it) would report? Copies the name out when it is. */
static bool sample_entry(const MDB_val *key, const MDB_val *val, ward_catset cats, char *name,
			 size_t cap)
{
	ward_catset mask[WARD_CATDB_MASKS];
	if (key->mv_size == 0 || key->mv_size + 1 > cap ||
	    ward_catdb_value_masks(val->mv_data, val->mv_size, mask) != 0)
		return false;
	ward_catset block = (mask[WARD_CATDB_BLOCK_SUB] | mask[WARD_CATDB_BLOCK_EXACT]) &
			    ~(mask[WARD_CATDB_ALLOW_SUB] | mask[WARD_CATDB_ALLOW_EXACT]);
	if (!(block & cats))
		return false;
	unreverse(key->mv_data, key->mv_size, name);
	return true;
}

int ward_catdb_sample(struct ward_catdb_reader *r, ward_catset cats, size_t max_scan,
		      char *name, size_t cap)
{
	MDB_cursor *cur;
	MDB_val key, val;
	int rc = reader_ready(r);
	if (rc)
		return rc;
	pthread_mutex_lock(&r->busy);
	rc = r->has_domains ? mdb_cursor_open(r->txn, r->domains, &cur) : MDB_BAD_DBI;
	if (rc == 0) {
		int found = WARD_ENOTFOUND;
		rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
		for (size_t n = 0; rc == 0 && n < max_scan && found; n++) {
			if (sample_entry(&key, &val, cats, name, cap))
				found = 0;
			else
				rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
		}
		mdb_cursor_close(cur);
		rc = rc == 0 || rc == MDB_NOTFOUND ? found : ward_catdb_mdb_err(rc);
	} else {
		rc = ward_catdb_mdb_err(rc);
	}
	pthread_mutex_unlock(&r->busy);
	return rc;
}

/* ---- feeds ------------------------------------------------------------------------ */

int ward_catdb_feed_name(struct ward_catdb_reader *r, uint16_t feed_id, char *buf, size_t cap)
{
	if (cap == 0)
		return WARD_EINVAL;
	buf[0] = '\0';
	uint8_t id[2] = { (uint8_t)(feed_id >> 8), (uint8_t)feed_id };
	MDB_val key = { sizeof(id), id }, val;
	int rc = reader_ready(r);
	if (rc)
		return rc;
	pthread_mutex_lock(&r->busy);
	rc = mdb_get(r->txn, r->db->feed_ids, &key, &val);
	if (rc == 0) {
		size_t n = val.mv_size < cap ? val.mv_size : cap - 1;
		memcpy(buf, val.mv_data, n);
		buf[n] = '\0';
		if (n < val.mv_size)
			rc = WARD_ETOOBIG;
	} else {
		rc = ward_catdb_mdb_err(rc);
	}
	pthread_mutex_unlock(&r->busy);
	return rc;
}

static int feed_name_key(const char *name, MDB_val *key)
{
	size_t len = strnlen(name, CATDB_FEED_NAME_MAX + 1);
	if (len == 0 || len > CATDB_FEED_NAME_MAX)
		return WARD_EINVAL;
	key->mv_size = len;
	key->mv_data = (void *)name;
	return 0;
}

static int feed_read(struct ward_catdb *db, MDB_txn *txn, const MDB_val *key,
		     struct ward_catdb_feed_state *st)
{
	MDB_val val;
	int rc = mdb_get(txn, db->feeds, (MDB_val *)key, &val);
	if (rc)
		return ward_catdb_mdb_err(rc);
	return ward_catdb_feed_state_decode(val.mv_data, val.mv_size, st);
}

int ward_catdb_feed_get(struct ward_catdb *db, const char *name, struct ward_catdb_feed_state *st)
{
	MDB_val key;
	int rc = feed_name_key(name, &key);
	if (rc)
		return rc;
	MDB_txn *txn;
	rc = ward_catdb_txn_begin(db, true, &txn);
	if (rc)
		return rc;
	rc = feed_read(db, txn, &key, st);
	ward_catdb_txn_abort(db, txn);
	return rc;
}

/* The id of a feed not seen before: the next never-used one, recorded with its name. */
static int feed_new_id(struct ward_catdb *db, MDB_txn *txn, const MDB_val *name,
		       uint16_t *id)
{
	uint64_t next = 1;
	int rc = ward_catdb_meta_get_u64(db, txn, WARD_CATDB_META_NEXT_FEED, &next);
	if (rc && rc != WARD_ENOTFOUND)
		return rc;
	if (next == 0 || next > UINT16_MAX)
		return WARD_ENOMEM;
	uint8_t idkey[2] = { (uint8_t)(next >> 8), (uint8_t)next };
	MDB_val k = { sizeof(idkey), idkey };
	rc = ward_catdb_mdb_err(mdb_put(txn, db->feed_ids, &k, (MDB_val *)name, 0));
	if (rc)
		return rc;
	*id = (uint16_t)next;
	return ward_catdb_meta_put_u64(db, txn, WARD_CATDB_META_NEXT_FEED, next + 1);
}

/* Store st under its name, keeping the id the feed already has or assigning one. */
static int feed_store(struct ward_catdb *db, MDB_txn *txn, const MDB_val *key,
		      const struct ward_catdb_feed_state *st, uint16_t *id)
{
	struct ward_catdb_feed_state *copy = malloc(sizeof(*copy));
	if (!copy)
		return WARD_ENOMEM;
	int rc = feed_read(db, txn, key, copy);
	if (rc == 0)
		*id = copy->id;
	else if (rc == WARD_ENOTFOUND)
		rc = feed_new_id(db, txn, key, id);
	if (rc)
		goto out;
	*copy = *st;
	copy->id = *id;
	uint8_t buf[WARD_CATDB_FEED_STATE_MAX];
	int len = ward_catdb_feed_state_encode(copy, buf, sizeof(buf));
	if (len < 0) {
		rc = len;
		goto out;
	}
	MDB_val val = { (size_t)len, buf };
	rc = ward_catdb_mdb_err(mdb_put(txn, db->feeds, (MDB_val *)key, &val, 0));
out:
	free(copy);
	return rc;
}

/* Store st in a write transaction of its own. A full map (a build that filled it to the
 * last page) is doubled once and the write retried. */
static int feed_write(struct ward_catdb *db, const MDB_val *key,
		      const struct ward_catdb_feed_state *st, uint16_t *id)
{
	int rc = WARD_ETOOBIG;
	for (int tries = 0; tries < 2 && rc == WARD_ETOOBIG; tries++) {
		if (tries > 0) {
			rc = ward_catdb_grow_map(db);
			if (rc)
				return rc;
		}
		MDB_txn *txn;
		rc = ward_catdb_txn_begin(db, false, &txn);
		if (rc)
			return rc;
		rc = feed_store(db, txn, key, st, id);
		if (rc)
			ward_catdb_txn_abort(db, txn);
		else
			rc = ward_catdb_txn_commit(db, txn);
	}
	return rc;
}

int ward_catdb_feed_put(struct ward_catdb *db, const struct ward_catdb_feed_state *st)
{
	MDB_val key;
	int rc = feed_name_key(st->name, &key);
	if (rc)
		return rc;
	uint16_t id;
	return feed_write(db, &key, st, &id);
}

int ward_catdb_feed_id(struct ward_catdb *db, const char *name, uint16_t *id)
{
	struct ward_catdb_feed_state *st = calloc(1, sizeof(*st));
	if (!st)
		return WARD_ENOMEM;
	int rc = ward_catdb_feed_get(db, name, st);
	if (rc == 0) {
		*id = st->id;
	} else if (rc == WARD_ENOTFOUND) {
		/* First sight: a state holding only the name reserves the id. */
		memcpy(st->name, name, strlen(name) + 1);
		MDB_val key = { strlen(name), (void *)name };
		rc = feed_write(db, &key, st, id);
	}
	free(st);
	return rc;
}
