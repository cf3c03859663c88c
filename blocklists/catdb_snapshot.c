/*
 * Snapshots of the category database (catdb.h): the compacted copy `ward snapshot export`
 * ships, and its installation on a node by `ward sync`: the snapshot's domains go into the
 * inactive domains table over commits of bounded size (ward_catdb_fill_switch, see
 * catdb_build.c), then one commit switches to them and replaces every other table, so that
 * wardd's readers switch from the old contents to the new between two queries.
 */
#include <string.h>
#include <unistd.h>

#include "blocklists/catdb.h"
#include "blocklists/catdb_internal.h"
#include "blocklists/catdb_value.h"
#include "blocklists/error.h"
#include "blocklists/subscribers_internal.h"

#define META_EXPORTED_AT "snapshot_exported_at"

int ward_catdb_copy_compact(struct ward_catdb *db, int fd)
{
	pthread_rwlock_rdlock(&db->map_lock);
	int rc = mdb_env_copyfd2(db->env, fd, MDB_CP_COMPACT);
	pthread_rwlock_unlock(&db->map_lock);
	return ward_catdb_mdb_err(rc);
}

/* The snapshot, opened read-only without a lock file (nobody else uses it). */
struct snap {
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi[7];            /* domains feeds feed_ids overrides subscribers meta
				      domains_b */
	bool has[7];
	MDB_cursor *cur;           /* over the snapshot's domains table */
	bool started;
};

static const char *const tables[7] = { "domains", "feeds", "feed_ids", "overrides",
				       "subscribers", "meta", "domains_b" };

static int snap_open(struct snap *s, const char *path)
{
	memset(s, 0, sizeof(*s));
	int rc = mdb_env_create(&s->env);
	if (!rc)
		rc = mdb_env_set_maxdbs(s->env, 16);
	if (!rc)
		rc = mdb_env_open(s->env, path, MDB_RDONLY | MDB_NOSUBDIR | MDB_NOLOCK, 0);
	if (!rc)
		rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &s->txn);
	for (int i = 0; !rc && i < 7; i++) {
		int r = mdb_dbi_open(s->txn, tables[i], 0, &s->dbi[i]);
		s->has[i] = r == 0;
		if (r && r != MDB_NOTFOUND)
			rc = r;
	}
	if (!rc && (!s->has[0] || !s->has[5]))
		return WARD_EFORMAT; /* no domains or no meta: not a ward database */
	return rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH ? WARD_EFORMAT
								: ward_catdb_mdb_err(rc);
}

static void snap_close(struct snap *s)
{
	if (s->cur)
		mdb_cursor_close(s->cur);
	if (s->txn)
		mdb_txn_abort(s->txn);
	if (s->env)
		mdb_env_close(s->env);
}

static int snap_schema(struct snap *s)
{
	MDB_val k = { strlen(WARD_CATDB_META_SCHEMA), WARD_CATDB_META_SCHEMA }, v;
	uint64_t version;
	if (mdb_get(s->txn, s->dbi[5], &k, &v) != 0 ||
	    ward_catdb_u64_decode(v.mv_data, v.mv_size, &version) != 0)
		return WARD_EFORMAT;
	if (version < WARD_CATDB_SCHEMA_OLDEST || version > WARD_CATDB_SCHEMA_VERSION)
		return WARD_EFORMAT;
	/* the table the snapshot's readers used (meta domains_table, as in catdb.c) */
	MDB_val tk = { strlen(WARD_CATDB_META_DOMAINS_TABLE), WARD_CATDB_META_DOMAINS_TABLE };
	uint64_t table = 0;
	if (mdb_get(s->txn, s->dbi[5], &tk, &v) == 0 &&
	    ward_catdb_u64_decode(v.mv_data, v.mv_size, &table) != 0)
		return WARD_EFORMAT;
	int i = table == 1 ? 6 : 0;
	if (table > 1 || !s->has[i])
		return WARD_EFORMAT;
	return ward_catdb_mdb_err(mdb_cursor_open(s->txn, s->dbi[i], &s->cur));
}

struct install {
	struct ward_catdb *db;
	struct snap *s;
	uint64_t exported_at;
};

/* Copy one table, in key order (MDB_APPEND: no tree search per key). */
static int copy_table(MDB_txn *txn, MDB_dbi to, struct snap *s, int i, bool skip_local)
{
	int rc = mdb_drop(txn, to, 0);
	if (rc || !s->has[i])
		return ward_catdb_mdb_err(rc);
	MDB_cursor *cur;
	if ((rc = mdb_cursor_open(s->txn, s->dbi[i], &cur)))
		return ward_catdb_mdb_err(rc);
	MDB_val k, v;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (skip_local && k.mv_size == strlen(WARD_CATDB_META_NEXT_REPORT) &&
		    memcmp(k.mv_data, WARD_CATDB_META_NEXT_REPORT, k.mv_size) == 0)
			continue;
		if ((rc = mdb_put(txn, to, &k, &v, MDB_APPEND)))
			break;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : ward_catdb_mdb_err(rc);
}

/* The snapshot's domains, in order, for ward_catdb_fill_switch. */
static int snap_next(void *ctx, MDB_val *key, MDB_val *val)
{
	struct install *in = ctx;
	struct snap *s = in->s;
	int rc = mdb_cursor_get(s->cur, key, val, s->started ? MDB_NEXT : MDB_FIRST);
	s->started = true;
	return rc == 0 ? 1 : rc == MDB_NOTFOUND ? 0 : ward_catdb_mdb_err(rc);
}

static int snap_rewind(void *ctx)
{
	struct install *in = ctx;
	in->s->started = false;
	return 0;
}

/* Every table but the domains, in the switching commit; meta comes from the snapshot but
 * for the local domains_table, schema and next_report_id. */
static int install_txn(MDB_txn *txn, void *arg)
{
	struct install *in = arg;
	struct ward_catdb *db = in->db;
	uint64_t next_report = 0, ov_changed = 0, table = 0;
	ward_catdb_meta_get_u64(db, txn, WARD_CATDB_META_NEXT_REPORT, &next_report);
	ward_catdb_meta_get_u64(db, txn, WARD_CATDB_META_OVERRIDES_CHANGED, &ov_changed);
	ward_catdb_meta_get_u64(db, txn, WARD_CATDB_META_DOMAINS_TABLE, &table);
	MDB_dbi to[6] = { 0, db->feeds, db->feed_ids, db->overrides, db->subscribers,
			  db->meta };
	int rc = 0;
	for (int i = 1; !rc && i < 6; i++)
		rc = copy_table(txn, to[i], in->s, i, i == 5);
	/* wardd rebuilds its override table when this moves: make sure it does. */
	uint64_t snap_changed = 0;
	ward_catdb_meta_get_u64(db, txn, WARD_CATDB_META_OVERRIDES_CHANGED, &snap_changed);
	uint64_t changed = (snap_changed > ov_changed ? snap_changed : ov_changed) + 1;
	if (!rc)
		rc = ward_catdb_meta_put_u64(db, txn, WARD_CATDB_META_OVERRIDES_CHANGED, changed);
	if (!rc && next_report)
		rc = ward_catdb_meta_put_u64(db, txn, WARD_CATDB_META_NEXT_REPORT, next_report);
	if (!rc)
		rc = ward_catdb_meta_put_u64(db, txn, WARD_CATDB_META_DOMAINS_TABLE, table);
	if (!rc)
		rc = ward_catdb_meta_put_u64(db, txn, WARD_CATDB_META_SCHEMA,
					     WARD_CATDB_SCHEMA_VERSION);
	if (!rc)
		rc = ward_catdb_meta_put_u64(db, txn, META_EXPORTED_AT, in->exported_at);
	/* The subscribers' range index is derived here from the table just copied, never
	 * taken from the snapshot: whatever wrote that, the index matches the table. */
	if (!rc)
		rc = ward_subidx_rebuild(db, txn);
	return rc;
}

int ward_catdb_install_snapshot(struct ward_catdb *db, const char *path, uint64_t exported_at)
{
	if (!db->has_admin || !atomic_load(&db->has_subs) || !atomic_load(&db->has_subidx))
		return WARD_EINVAL; /* opened READ on an old database: cannot write all tables */
	int lock_fd;
	int rc = ward_catdb_build_lock(db->dir, false, &lock_fd); /* no build meanwhile */
	if (rc)
		return rc;
	struct snap s;
	rc = snap_open(&s, path);
	if (!rc)
		rc = snap_schema(&s);
	if (!rc) {
		struct install in = { db, &s, exported_at };
		struct ward_catdb_fill_src src = { snap_next, snap_rewind, install_txn, &in };
		rc = ward_catdb_fill_switch(db, &src);
	}
	snap_close(&s);
	close(lock_fd);
	return rc;
}

int ward_catdb_snapshot_exported_at(struct ward_catdb *db, uint64_t *out)
{
	MDB_txn *txn;
	*out = 0;
	int rc = ward_catdb_txn_begin(db, true, &txn);
	if (rc)
		return rc;
	rc = ward_catdb_meta_get_u64(db, txn, META_EXPORTED_AT, out);
	ward_catdb_txn_abort(db, txn);
	return rc == WARD_ENOTFOUND ? 0 : rc;
}
