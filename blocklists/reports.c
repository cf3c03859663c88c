/*
 * The `reports` key space (see catdb.c and reports.h).
 *
 * Value layout (integers little-endian, byte by byte):
 *   version 1 byte (1), kind 1 byte, status 1 byte
 *   created, updated, override_id: 8 bytes each; count: 4 bytes
 *   client, profile, name (a wire name), category: a length byte and the bytes each
 *   message: a 2-byte length and the bytes
 */
#include "blocklists/reports.h"

#include <stdlib.h>
#include <string.h>

#include "blocklists/bytes.h"
#include "blocklists/catdb_internal.h"
#include "blocklists/error.h"

#define REPORT_VERSION 1
#define REPORT_FIXED (3 + 8 * 3 + 4)

const char *ward_report_kind_name(enum ward_report_kind kind)
{
	return kind == WARD_REPORT_WRONGLY_BLOCKED     ? "wrongly-blocked"
	       : kind == WARD_REPORT_SHOULD_BE_BLOCKED ? "should-be-blocked"
						       : "unknown";
}

const char *ward_report_status_name(enum ward_report_status status)
{
	switch (status) {
	case WARD_REPORT_PENDING: return "pending";
	case WARD_REPORT_ACCEPTED: return "accepted";
	case WARD_REPORT_REJECTED: return "rejected";
	}
	return "unknown";
}

enum ward_report_kind ward_report_kind_parse(const char *text)
{
	if (text && strcmp(text, "wrongly-blocked") == 0)
		return WARD_REPORT_WRONGLY_BLOCKED;
	if (text && strcmp(text, "should-be-blocked") == 0)
		return WARD_REPORT_SHOULD_BE_BLOCKED;
	return 0;
}

/* Length of the UTF-8 sequence at s (1-4), or 0 when it is not one (overlong forms,
 * surrogates and code points above U+10FFFF included). */
static size_t utf8_seq(const unsigned char *s)
{
	unsigned c = s[0];
	if (c < 0x80)
		return 1;
	size_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
	if (n == 0 || (n == 3 && c > 0xEF))
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F) ||
	    (c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] > 0x8F))
		return 0;
	return n;
}

bool ward_report_message_ok(const char *text)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t chars = 0;
	while (*s) {
		if ((*s < 0x20 && *s != '\n' && *s != '\t') || *s == 0x7F)
			return false;
		size_t n = utf8_seq(s);
		if (n == 0 || ++chars > WARD_REPORT_MESSAGE_CHARS)
			return false;
		s += n;
	}
	return true;
}

/* ---- encoding --------------------------------------------------------------------------- */


/* A length (1 or 2 bytes) and the bytes. */
static int put_field(uint8_t *buf, size_t cap, size_t *o, const void *data, size_t len,
		     unsigned width)
{
	if (len >= (1u << (8 * width)) || cap - *o < width + len)
		return WARD_EINVAL;
	ward_bytes_put_le(buf + *o, len, width);
	memcpy(buf + *o + width, data, len);
	*o += width + len;
	return 0;
}

static int put_text(uint8_t *buf, size_t cap, size_t *o, const char *text, size_t field,
		    unsigned width)
{
	size_t len = strnlen(text, field);
	return len == field ? WARD_EINVAL : put_field(buf, cap, o, text, len, width);
}

static bool known_enums(const uint8_t *buf)
{
	return buf[1] >= WARD_REPORT_WRONGLY_BLOCKED && buf[1] <= WARD_REPORT_SHOULD_BE_BLOCKED &&
	       buf[2] >= WARD_REPORT_PENDING && buf[2] <= WARD_REPORT_REJECTED;
}

int ward_report_encode(const struct ward_report *r, uint8_t *buf, size_t cap)
{
	size_t n = REPORT_FIXED, wire = ward_name_wire_len(r->name);
	uint8_t kinds[3] = { REPORT_VERSION, (uint8_t)r->kind, (uint8_t)r->status };
	if (cap < REPORT_FIXED || !wire || !known_enums(kinds))
		return WARD_EINVAL;
	buf[0] = REPORT_VERSION;
	buf[1] = (uint8_t)r->kind;
	buf[2] = (uint8_t)r->status;
	ward_bytes_put_le(buf + 3, (uint64_t)r->created, 8);
	ward_bytes_put_le(buf + 11, (uint64_t)r->updated, 8);
	ward_bytes_put_le(buf + 19, r->override_id, 8);
	ward_bytes_put_le(buf + 27, r->count, 4);
	int rc = put_text(buf, cap, &n, r->client, sizeof(r->client), 1);
	if (!rc)
		rc = put_text(buf, cap, &n, r->profile, sizeof(r->profile), 1);
	if (!rc)
		rc = put_field(buf, cap, &n, r->name, wire, 1);
	if (!rc)
		rc = put_text(buf, cap, &n, r->category, sizeof(r->category), 1);
	if (!rc)
		rc = put_text(buf, cap, &n, r->message, sizeof(r->message), 2);
	return rc ? rc : (int)n;
}

static int get_field(const uint8_t *buf, size_t len, size_t *o, void *dst, size_t cap,
		     unsigned width, bool text)
{
	if (len - *o < width)
		return WARD_EFORMAT;
	size_t n = (size_t)ward_bytes_get_le(buf + *o, width);
	*o += width;
	if (n > len - *o || n + (text ? 1 : 0) > cap || (text && memchr(buf + *o, 0, n)))
		return WARD_EFORMAT;
	memcpy(dst, buf + *o, n);
	if (text)
		((char *)dst)[n] = '\0';
	*o += n;
	return 0;
}

int ward_report_decode(const uint8_t *buf, size_t len, struct ward_report *r)
{
	memset(r, 0, sizeof(*r));
	if (len < REPORT_FIXED || buf[0] != REPORT_VERSION || !known_enums(buf))
		return WARD_EFORMAT;
	r->kind = (enum ward_report_kind)buf[1];
	r->status = (enum ward_report_status)buf[2];
	r->created = (int64_t)ward_bytes_get_le(buf + 3, 8);
	r->updated = (int64_t)ward_bytes_get_le(buf + 11, 8);
	r->override_id = ward_bytes_get_le(buf + 19, 8);
	r->count = (uint32_t)ward_bytes_get_le(buf + 27, 4);
	size_t n = REPORT_FIXED;
	int rc = get_field(buf, len, &n, r->client, sizeof(r->client), 1, true);
	if (!rc)
		rc = get_field(buf, len, &n, r->profile, sizeof(r->profile), 1, true);
	size_t name_at = n;
	if (!rc)
		rc = get_field(buf, len, &n, r->name, sizeof(r->name), 1, false);
	if (!rc && (buf[name_at] == 0 || ward_name_wire_len(r->name) != buf[name_at]))
		rc = WARD_EFORMAT;
	if (!rc)
		rc = get_field(buf, len, &n, r->category, sizeof(r->category), 1, true);
	if (!rc)
		rc = get_field(buf, len, &n, r->message, sizeof(r->message), 2, true);
	if (!rc && n != len)
		rc = WARD_EFORMAT;
	if (rc)
		memset(r, 0, sizeof(*r));
	return rc;
}

/* ---- the key space ---------------------------------------------------------------------- */

/* Ids are keys in big-endian order, so that a cursor walks them oldest first. */
static uint64_t key_id(const MDB_val *k)
{
	return k->mv_size == 8 ? ward_bytes_get_be(k->mv_data, 8) : 0;
}

static int put_report(struct ward_catdb *db, MDB_txn *txn, const struct ward_report *r)
{
	uint8_t key[8], *val = malloc(WARD_REPORT_VALUE_MAX);
	if (!val)
		return WARD_ENOMEM;
	int len = ward_report_encode(r, val, WARD_REPORT_VALUE_MAX);
	int rc = len;
	if (len > 0) {
		ward_bytes_put_be(key, r->id, 8);
		MDB_val k = { sizeof(key), key }, v = { (size_t)len, val };
		rc = ward_catdb_mdb_err(mdb_put(txn, db->reports, &k, &v, 0));
	}
	free(val);
	return rc;
}

/* Call fn(record, ctx) for every decodable record, newest first. fn returns 0 to go on,
 * 1 to stop, 2 to delete the record and go on, < 0 to fail. */
static int walk(struct ward_catdb *db, MDB_txn *txn,
		int (*fn)(const struct ward_report *r, void *ctx), void *ctx)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, db->reports, &cur);
	if (rc)
		return ward_catdb_mdb_err(rc);
	struct ward_report *r = malloc(sizeof(*r));
	if (!r) {
		mdb_cursor_close(cur);
		return WARD_ENOMEM;
	}
	MDB_val k, v;
	int r_fn = 0;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_LAST); rc == 0 && r_fn != 1;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_PREV)) {
		if (ward_report_decode(v.mv_data, v.mv_size, r) != 0)
			continue;
		r->id = key_id(&k);
		r_fn = fn(r, ctx);
		if (r_fn < 0)
			break;
		if (r_fn == 2 && (rc = mdb_cursor_del(cur, 0)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	free(r);
	if (r_fn < 0)
		return r_fn;
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : ward_catdb_mdb_err(rc);
}

/* ---- adding ----------------------------------------------------------------------------- */

struct add_ctx {
	struct ward_catdb *db;
	struct ward_report *r;
	int64_t now;
	bool merged;
	uint64_t merge_id;
	size_t pending, total;
	struct ward_report *found;  /* the pending record to merge into */
};

static bool same_request(const struct ward_report *a, const struct ward_report *b)
{
	size_t la = ward_name_wire_len(a->name);
	return a->kind == b->kind && strcmp(a->profile, b->profile) == 0 &&
	       la == ward_name_wire_len(b->name) && memcmp(a->name, b->name, la) == 0;
}

/* Count, find a pending twin, and drop resolved records beyond WARD_REPORTS_MAX. */
static int survey_one(const struct ward_report *r, void *arg)
{
	struct add_ctx *c = arg;
	bool pending = r->status == WARD_REPORT_PENDING;
	if (!pending && c->total >= WARD_REPORTS_MAX - 1)
		return 2;
	c->total++;
	c->pending += pending;
	if (pending && !c->merge_id && same_request(r, c->r)) {
		c->merge_id = r->id;
		*c->found = *r;
	}
	return 0;
}

static void merge_into(struct ward_report *old, const struct ward_report *r, int64_t now)
{
	old->count = old->count < UINT32_MAX ? old->count + 1 : old->count;
	old->updated = now;
	if (r->message[0])
		memcpy(old->message, r->message, sizeof(old->message));
	if (r->category[0])
		memcpy(old->category, r->category, sizeof(old->category));
	/* The latest asker is the one whose page shows the status. */
	memcpy(old->client, r->client, sizeof(old->client));
}

static int add_txn(MDB_txn *txn, void *arg)
{
	struct add_ctx *c = arg;
	c->merge_id = 0;
	c->pending = c->total = 0;
	int rc = walk(c->db, txn, survey_one, c);
	if (rc)
		return rc;
	c->merged = c->merge_id != 0;
	if (c->merged) {
		merge_into(c->found, c->r, c->now);
		*c->r = *c->found;
		return put_report(c->db, txn, c->r);
	}
	if (c->pending >= WARD_REPORTS_PENDING_MAX)
		return WARD_ENOMEM;
	struct ward_report *r = c->r;
	r->status = WARD_REPORT_PENDING;
	r->created = r->updated = c->now;
	r->count = 1;
	r->override_id = 0;
	uint64_t next = 1;
	rc = ward_catdb_meta_get_u64(c->db, txn, WARD_CATDB_META_NEXT_REPORT, &next);
	if (rc && rc != WARD_ENOTFOUND)
		return rc;
	r->id = next ? next : 1;
	rc = ward_catdb_meta_put_u64(c->db, txn, WARD_CATDB_META_NEXT_REPORT, r->id + 1);
	return rc ? rc : put_report(c->db, txn, r);
}

int ward_reports_add(struct ward_catdb *db, struct ward_report *r, int64_t now, bool *merged)
{
	*merged = false;
	if (db->mode != WARD_CATDB_WRITE || !ward_name_wire_len(r->name) ||
	    !ward_report_kind_parse(ward_report_kind_name(r->kind)) ||
	    !ward_report_message_ok(r->message))
		return WARD_EINVAL;
	struct add_ctx c = { .db = db, .r = r, .now = now };
	c.found = malloc(sizeof(*c.found));
	if (!c.found)
		return WARD_ENOMEM;
	int rc = ward_catdb_write(db, add_txn, &c);
	free(c.found);
	*merged = rc == 0 && c.merged;
	return rc;
}

/* ---- reading ----------------------------------------------------------------------------- */

struct list_ctx {
	const char *client;
	struct ward_report *items;
	size_t n, cap;
};

static int list_one(const struct ward_report *r, void *arg)
{
	struct list_ctx *c = arg;
	if (c->client && strcmp(c->client, r->client) != 0)
		return 0;
	if (c->n == c->cap) {
		/* Bounded: at most WARD_REPORTS_MAX records are kept. */
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct ward_report *items = realloc(c->items, cap * sizeof(*items));
		if (!items)
			return WARD_ENOMEM;
		c->items = items;
		c->cap = cap;
	}
	c->items[c->n++] = *r;
	return 0;
}

int ward_reports_list(struct ward_catdb *db, const char *client, struct ward_report **out,
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
	struct list_ctx c = { client, NULL, 0, 0 };
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

static int get_in(struct ward_catdb *db, MDB_txn *txn, uint64_t id, struct ward_report *r)
{
	uint8_t key[8];
	ward_bytes_put_be(key, id, 8);
	MDB_val k = { sizeof(key), key }, v;
	int rc = mdb_get(txn, db->reports, &k, &v);
	if (rc)
		return ward_catdb_mdb_err(rc);
	rc = ward_report_decode(v.mv_data, v.mv_size, r) ? WARD_EDB : 0;
	r->id = id;
	return rc;
}

int ward_reports_get(struct ward_catdb *db, uint64_t id, struct ward_report *r)
{
	if (ward_catdb_open_admin(db) == WARD_ENOTFOUND)
		return WARD_ENOTFOUND;
	MDB_txn *txn;
	int rc = ward_catdb_txn_begin(db, true, &txn);
	if (rc)
		return rc;
	rc = get_in(db, txn, id, r);
	ward_catdb_txn_abort(db, txn);
	return rc;
}

/* ---- resolving ---------------------------------------------------------------------------- */

struct resolve_ctx {
	struct ward_catdb *db;
	uint64_t id;
	enum ward_report_status status;
	struct ward_override *o;
	int64_t now;
	struct ward_report *r;
};

static int resolve_txn(MDB_txn *txn, void *arg)
{
	struct resolve_ctx *c = arg;
	int rc = get_in(c->db, txn, c->id, c->r);
	if (rc)
		return rc;
	if (c->r->status != WARD_REPORT_PENDING)
		return WARD_ESTALE;
	if (c->o && (rc = ward_overrides_add_txn(c->db, txn, c->o, c->now)) != 0)
		return rc;
	c->r->status = c->status;
	c->r->updated = c->now;
	c->r->override_id = c->o ? c->o->id : 0;
	return put_report(c->db, txn, c->r);
}

int ward_reports_resolve(struct ward_catdb *db, uint64_t id, enum ward_report_status status,
			 struct ward_override *o, int64_t now)
{
	if (db->mode != WARD_CATDB_WRITE || status == WARD_REPORT_PENDING ||
	    (status == WARD_REPORT_ACCEPTED) != (o != NULL))
		return WARD_EINVAL;
	struct resolve_ctx c = { db, id, status, o, now, malloc(sizeof(struct ward_report)) };
	if (!c.r)
		return WARD_ENOMEM;
	int rc = ward_catdb_write(db, resolve_txn, &c);
	free(c.r);
	return rc;
}
