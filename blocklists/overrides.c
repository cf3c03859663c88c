/*
 * The `overrides` key space (see catdb.c): records, their encoding, and the writes that
 * `ward` and wardd's web API share.
 *
 * Value layout (all integers little-endian, byte by byte):
 *   version  1 byte (1)
 *   kind     1 byte (enum ward_override_kind)
 *   created  8 bytes, expires 8 bytes (unix seconds; expires 0 = until removed)
 *   then four fields, each a length byte and that many bytes:
 *   profile (text, "" = everyone), name (a wire name, its own length), category (text),
 *   source (text)
 *
 * Writes are small transactions of their own; each drops the records that expired, so
 * the key space holds what is in force plus what expired since the last write.
 */
#include "blocklists/overrides.h"

#include <stdlib.h>
#include <string.h>

#include "blocklists/bytes.h"
#include "blocklists/catdb_internal.h"
#include "blocklists/error.h"

#define OVERRIDE_VERSION 1

/* ---- encoding -------------------------------------------------------------------------- */

/* A length byte and the bytes; text fields must hold no NUL and fit their struct field. */
static int put_field(uint8_t *buf, size_t cap, size_t *o, const void *data, size_t len)
{
	if (len > 255 || cap - *o < 1 + len)
		return WARD_EINVAL;
	buf[(*o)++] = (uint8_t)len;
	memcpy(buf + *o, data, len);
	*o += len;
	return 0;
}

static int put_text(uint8_t *buf, size_t cap, size_t *o, const char *text, size_t field)
{
	size_t len = strnlen(text, field);
	return len == field ? WARD_EINVAL : put_field(buf, cap, o, text, len);
}

int ward_override_encode(const struct ward_override *o, uint8_t *buf, size_t cap)
{
	size_t n = 0, wire_len = ward_name_wire_len(o->name);
	if (cap < 18 || o->kind < WARD_OVERRIDE_ALLOW || o->kind > WARD_OVERRIDE_PAUSE ||
	    !wire_len)
		return WARD_EINVAL;
	buf[n++] = OVERRIDE_VERSION;
	buf[n++] = (uint8_t)o->kind;
	ward_bytes_put_le(buf + n, (uint64_t)o->created, 8);
	ward_bytes_put_le(buf + n + 8, (uint64_t)o->expires, 8);
	n += 16;
	int rc = put_text(buf, cap, &n, o->profile, sizeof(o->profile));
	if (!rc)
		rc = put_field(buf, cap, &n, o->name, wire_len);
	if (!rc)
		rc = put_text(buf, cap, &n, o->category, sizeof(o->category));
	if (!rc)
		rc = put_text(buf, cap, &n, o->source, sizeof(o->source));
	return rc ? rc : (int)n;
}

/* Read a length-prefixed field into dst (room for `cap` bytes and, for text, a NUL). */
static int get_field(const uint8_t *buf, size_t len, size_t *o, void *dst, size_t cap,
		     bool text)
{
	if (*o >= len)
		return WARD_EFORMAT;
	size_t n = buf[(*o)++];
	if (n > len - *o || n + (text ? 1 : 0) > cap || (text && memchr(buf + *o, 0, n)))
		return WARD_EFORMAT;
	memcpy(dst, buf + *o, n);
	if (text)
		((char *)dst)[n] = '\0';
	*o += n;
	return 0;
}

int ward_override_decode(const uint8_t *buf, size_t len, struct ward_override *o)
{
	memset(o, 0, sizeof(*o));
	if (len < 18 || buf[0] != OVERRIDE_VERSION || buf[1] < WARD_OVERRIDE_ALLOW ||
	    buf[1] > WARD_OVERRIDE_PAUSE)
		return WARD_EFORMAT;
	o->kind = (enum ward_override_kind)buf[1];
	o->created = (int64_t)ward_bytes_get_le(buf + 2, 8);
	o->expires = (int64_t)ward_bytes_get_le(buf + 10, 8);
	size_t n = 18;
	int rc = get_field(buf, len, &n, o->profile, sizeof(o->profile), true);
	size_t name_at = n;
	if (!rc)
		rc = get_field(buf, len, &n, o->name, sizeof(o->name), false);
	/* The name field must hold exactly one whole wire name. */
	if (!rc && (buf[name_at] == 0 || ward_name_wire_len(o->name) != buf[name_at]))
		rc = WARD_EFORMAT;
	if (!rc)
		rc = get_field(buf, len, &n, o->category, sizeof(o->category), true);
	if (!rc)
		rc = get_field(buf, len, &n, o->source, sizeof(o->source), true);
	if (!rc && n != len)
		rc = WARD_EFORMAT;
	if (rc)
		memset(o, 0, sizeof(*o));
	return rc;
}

/* ---- keys and the walk over the key space ---------------------------------------------- */

/* Ids are keys in big-endian order, so that a cursor walks them oldest first. */
static uint64_t key_id(const MDB_val *k)
{
	return k->mv_size == 8 ? ward_bytes_get_be(k->mv_data, 8) : 0;
}

/* Call fn for every decodable record, in id order; a record that does not decode is
 * skipped (a damaged record must not take every other override down with it).
 * fn returns 0 to go on, 1 to delete the record and go on, < 0 to stop with that code. */
static int walk(struct ward_catdb *db, MDB_txn *txn,
		int (*fn)(struct ward_override *o, void *ctx), void *ctx)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, db->overrides, &cur);
	if (rc)
		return ward_catdb_mdb_err(rc);
	MDB_val k, v;
	struct ward_override o;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (ward_override_decode(v.mv_data, v.mv_size, &o) != 0)
			continue;
		o.id = key_id(&k);
		int r = fn(&o, ctx);
		if (r < 0) {
			mdb_cursor_close(cur);
			return r;
		}
		if (r == 1 && (rc = mdb_cursor_del(cur, 0)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : ward_catdb_mdb_err(rc);
}

static int bump_generation(struct ward_catdb *db, MDB_txn *txn)
{
	uint64_t gen = 0;
	int rc = ward_catdb_meta_get_u64(db, txn, WARD_CATDB_META_OVERRIDES_CHANGED, &gen);
	if (rc && rc != WARD_ENOTFOUND)
		return rc;
	return ward_catdb_meta_put_u64(db, txn, WARD_CATDB_META_OVERRIDES_CHANGED, gen + 1);
}

/* ---- adding ----------------------------------------------------------------------------- */

static bool valid_record(const struct ward_override *o, int64_t now);

struct add_ctx {
	struct ward_catdb *db;
	struct ward_override *o;
	int64_t now;
	size_t in_force;
};

static bool same_slot(const struct ward_override *a, const struct ward_override *b)
{
	if (strcmp(a->profile, b->profile) != 0)
		return false;
	if (a->kind == WARD_OVERRIDE_PAUSE || b->kind == WARD_OVERRIDE_PAUSE)
		return a->kind == b->kind;
	return ward_name_wire_len(a->name) == ward_name_wire_len(b->name) &&
	       memcmp(a->name, b->name, ward_name_wire_len(a->name)) == 0;
}

/* Drop what expired and what the new record replaces; count what stays. */
static int prune_one(struct ward_override *o, void *arg)
{
	struct add_ctx *c = arg;
	if (!ward_override_active(o, c->now) || same_slot(o, c->o))
		return 1;
	c->in_force++;
	return 0;
}

static int next_id(struct ward_catdb *db, MDB_txn *txn, const char *key, uint64_t *id)
{
	uint64_t next = 1;
	int rc = ward_catdb_meta_get_u64(db, txn, key, &next);
	if (rc && rc != WARD_ENOTFOUND)
		return rc;
	*id = next ? next : 1;
	return ward_catdb_meta_put_u64(db, txn, key, *id + 1);
}

static int put_record(struct ward_catdb *db, MDB_txn *txn, const struct ward_override *o)
{
	uint8_t key[8], val[WARD_OVERRIDE_VALUE_MAX];
	int len = ward_override_encode(o, val, sizeof(val));
	if (len < 0)
		return len;
	ward_bytes_put_be(key, o->id, 8);
	MDB_val k = { sizeof(key), key }, v = { (size_t)len, val };
	return ward_catdb_mdb_err(mdb_put(txn, db->overrides, &k, &v, 0));
}

static int add_txn(MDB_txn *txn, void *arg)
{
	struct add_ctx *c = arg;
	return ward_overrides_add_txn(c->db, txn, c->o, c->now);
}

int ward_overrides_add_txn(struct ward_catdb *db, MDB_txn *txn, struct ward_override *o,
			   int64_t now)
{
	struct add_ctx ctx = { db, o, now, 0 }, *c = &ctx;
	if (!valid_record(o, now) || ward_catdb_open_admin(db) != 0)
		return WARD_EINVAL;
	o->created = now;
	int rc = walk(c->db, txn, prune_one, c);
	if (rc)
		return rc;
	if (c->in_force >= WARD_OVERRIDES_MAX)
		return WARD_ENOMEM;
	rc = next_id(c->db, txn, WARD_CATDB_META_NEXT_OVERRIDE, &c->o->id);
	if (!rc)
		rc = put_record(c->db, txn, c->o);
	if (!rc)
		rc = bump_generation(c->db, txn);
	return rc;
}

static bool valid_record(const struct ward_override *o, int64_t now)
{
	size_t wire_len = ward_name_wire_len(o->name);
	if (!wire_len || (o->expires != 0 && o->expires <= now) ||
	    (o->expires != 0 && o->expires - now > WARD_OVERRIDE_SECONDS_MAX))
		return false;
	switch (o->kind) {
	case WARD_OVERRIDE_PAUSE:
		return o->profile[0] && o->expires != 0 && wire_len == 1;
	case WARD_OVERRIDE_DENY:
		return o->category[0] && wire_len > 1;
	case WARD_OVERRIDE_ALLOW:
		return wire_len > 1;
	}
	return false;
}

int ward_overrides_add(struct ward_catdb *db, struct ward_override *o, int64_t now)
{
	if (!valid_record(o, now) || db->mode != WARD_CATDB_WRITE)
		return WARD_EINVAL;
	struct add_ctx c = { db, o, now, 0 };
	return ward_catdb_write(db, add_txn, &c);
}

/* ---- removing --------------------------------------------------------------------------- */

struct remove_ctx {
	struct ward_catdb *db;
	uint64_t id;
	const char *profile;   /* resume: the pause of this profile */
	int64_t now;
	struct ward_override *removed;
	bool found;
};

static int remove_one(struct ward_override *o, void *arg)
{
	struct remove_ctx *c = arg;
	bool hit = c->profile ? o->kind == WARD_OVERRIDE_PAUSE &&
					ward_override_active(o, c->now) &&
					strcmp(o->profile, c->profile) == 0
			      : o->id == c->id;
	if (!hit)
		return 0;
	c->found = true;
	if (c->removed)
		*c->removed = *o;
	return 1;
}

static int remove_txn(MDB_txn *txn, void *arg)
{
	struct remove_ctx *c = arg;
	c->found = false;
	int rc = walk(c->db, txn, remove_one, c);
	if (!rc && !c->found)
		rc = WARD_ENOTFOUND;
	if (!rc)
		rc = bump_generation(c->db, txn);
	return rc;
}

int ward_overrides_remove(struct ward_catdb *db, uint64_t id, struct ward_override *removed)
{
	if (db->mode != WARD_CATDB_WRITE)
		return WARD_EINVAL;
	struct remove_ctx c = { db, id, NULL, 0, removed, false };
	return ward_catdb_write(db, remove_txn, &c);
}

int ward_overrides_resume(struct ward_catdb *db, const char *profile, int64_t now)
{
	if (db->mode != WARD_CATDB_WRITE || !profile || !profile[0])
		return WARD_EINVAL;
	struct remove_ctx c = { db, 0, profile, now, NULL, false };
	return ward_catdb_write(db, remove_txn, &c);
}

/* ---- reading ----------------------------------------------------------------------------- */

struct list_ctx {
	int64_t now;
	struct ward_override *items;
	size_t n, cap;
};

static int list_one(struct ward_override *o, void *arg)
{
	struct list_ctx *c = arg;
	if (!ward_override_active(o, c->now))
		return 0;
	if (c->n == c->cap) {
		/* Bounded by the key space: at most WARD_OVERRIDES_MAX in force. */
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct ward_override *items = realloc(c->items, cap * sizeof(*items));
		if (!items)
			return WARD_ENOMEM;
		c->items = items;
		c->cap = cap;
	}
	c->items[c->n++] = *o;
	return 0;
}

int ward_overrides_list(struct ward_catdb *db, int64_t now, struct ward_override **out,
			size_t *n)
{
	*out = NULL;
	*n = 0;
	if (ward_catdb_open_admin(db) == WARD_ENOTFOUND)
		return 0;
	MDB_txn *txn;
	int rc = ward_catdb_txn_begin(db, true, &txn);
	if (rc)
		return rc;
	struct list_ctx c = { now, NULL, 0, 0 };
	rc = walk(db, txn, list_one, &c);
	ward_catdb_txn_abort(db, txn);
	if (rc) {
		free(c.items);
		return rc;
	}
	*out = c.items;
	*n = c.n;
	return 0;
}

int ward_overrides_generation(struct ward_catdb *db, uint64_t *gen)
{
	*gen = 0;
	MDB_txn *txn;
	int rc = ward_catdb_txn_begin(db, true, &txn);
	if (rc)
		return rc;
	rc = ward_catdb_meta_get_u64(db, txn, WARD_CATDB_META_OVERRIDES_CHANGED, gen);
	ward_catdb_txn_abort(db, txn);
	return rc == WARD_ENOTFOUND ? 0 : rc;
}
