/*
 * The subscriber table (subscribers.h; key space `subscribers` in catdb.c's comment).
 *
 * Key:   family (4 or 6), prefix length, network address (4 or 16 bytes, host bits zero).
 * Value: profile length (1 byte), profile; then, when the subscriber has any, allow
 *        names (2-byte big-endian length + text) and deny names (the same), each text
 *        lower-case names separated by single spaces.
 *
 * A lookup searches the range index (subscribers_index.c): one descent of a small tree
 * and a search inside one chunk, plus a get here for a subscriber with allow/deny names.
 * Without a current index (a database an older ward wrote) it masks the client address
 * to each prefix length in use (meta sub_lengths, loaded once per snapshot by the
 * reader), longest first, and asks LMDB for exactly that key: one descent of this table
 * per length in use. Every write here updates the index in the same transaction.
 */
#include "blocklists/subscribers.h"

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blocklists/catdb.h"
#include "blocklists/catdb_internal.h"
#include "blocklists/conf.h"
#include "blocklists/error.h"
#include "blocklists/name.h"
#include "blocklists/subscribers_internal.h"

#define FAM4 WARD_SUB_FAM4
#define FAM6 WARD_SUB_FAM6
#define VALUE_MAX WARD_SUB_VALUE_MAX

/* ---- keys and values ------------------------------------------------------------------ */

size_t ward_sub_make_key(unsigned fam, const uint8_t *addr, unsigned len,
			 uint8_t key[WARD_SUB_KEY_MAX])
{
	size_t n = fam == FAM4 ? 4 : 16;
	key[0] = (uint8_t)fam;
	key[1] = (uint8_t)len;
	for (size_t i = 0; i < n; i++) {
		unsigned bits = len > i * 8 ? len - (unsigned)i * 8 : 0;
		uint8_t mask = bits >= 8 ? 0xFF : (uint8_t)(0xFF << (8 - bits));
		key[2 + i] = addr[i] & mask;
	}
	return 2 + n;
}

static size_t cidr_key(const struct ward_cidr *c, uint8_t key[18])
{
	return ward_sub_make_key(c->family == AF_INET ? FAM4 : FAM6, c->addr, c->prefix, key);
}

static bool bit_get(const uint8_t *bits, unsigned i)
{
	return bits[i / 8] & (1u << (i % 8));
}

static void bit_put(uint8_t *bits, unsigned i, bool on)
{
	if (on)
		bits[i / 8] |= (uint8_t)(1u << (i % 8));
	else
		bits[i / 8] &= (uint8_t)~(1u << (i % 8));
}

/* The client as a family and address bytes; IPv4-mapped IPv6 is IPv4. */
static bool client_bytes(const struct sockaddr *sa, unsigned *fam, const uint8_t **bytes)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF };
	if (sa->sa_family == AF_INET) {
		*fam = FAM4;
		*bytes = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
		return true;
	}
	if (sa->sa_family != AF_INET6)
		return false;
	const uint8_t *b = (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
	bool v4 = memcmp(b, mapped, 12) == 0;
	*fam = v4 ? FAM4 : FAM6;
	*bytes = v4 ? b + 12 : b;
	return true;
}

/* ---- lookup ------------------------------------------------------------------------------ */

/* A length-prefixed list at *p (n bytes left) into out. @return false if it overruns. */
static bool decode_list(const uint8_t **p, size_t *n, char *out)
{
	if (*n < 2)
		return false;
	size_t len = (size_t)(*p)[0] << 8 | (*p)[1];
	if (len > WARD_SUB_NAMES_MAX || len > *n - 2)
		return false;
	memcpy(out, *p + 2, len);
	out[len] = 0;
	*p += 2 + len;
	*n -= 2 + len;
	return true;
}

static bool decode_value(const MDB_val *v, struct ward_sub_match *out)
{
	const uint8_t *p = v->mv_data;
	size_t n = v->mv_size;
	out->allow[0] = out->deny[0] = 0;
	if (n < 1 || p[0] == 0 || p[0] > WARD_SUB_PROFILE_MAX || p[0] + 1u > n)
		return false;
	memcpy(out->profile, p + 1, p[0]);
	out->profile[p[0]] = 0;
	n -= 1u + p[0];
	p += 1u + p[0];
	return n == 0 || (decode_list(&p, &n, out->allow) && decode_list(&p, &n, out->deny) &&
			  n == 0);
}

bool ward_sub_value_decode(const uint8_t *value, size_t len, struct ward_sub_match *m)
{
	MDB_val v = { len, (void *)value };
	return decode_value(&v, m);
}

const char *ward_sub_list_match(const char *list, const char *name, char *rule, size_t cap)
{
	size_t nlen = strlen(name);
	while (*list) {
		size_t e = strcspn(list, " ");
		bool covers = e > 0 && e <= nlen && memcmp(name + nlen - e, list, e) == 0 &&
			      (e == nlen || name[nlen - e - 1] == '.');
		if (covers && e < cap) {
			memcpy(rule, list, e);
			rule[e] = 0;
			return rule;
		}
		list += e;
		list += *list == ' ';
	}
	return NULL;
}

static int probe(MDB_txn *txn, MDB_dbi dbi, unsigned fam, const uint8_t *bytes,
		 const uint8_t *bits, unsigned max, int longer_than, struct ward_sub_match *out)
{
	int shift = fam == FAM4 ? 96 : 0;
	for (int len = (int)max; len >= 0 && len + shift > longer_than; len--) {
		if (!bit_get(bits, (unsigned)len))
			continue;
		uint8_t key[WARD_SUB_KEY_MAX];
		MDB_val k = { ward_sub_make_key(fam, bytes, (unsigned)len, key), key }, v;
		int rc = mdb_get(txn, dbi, &k, &v);
		if (rc == MDB_NOTFOUND)
			continue;
		if (rc)
			return ward_catdb_mdb_err(rc);
		if (!decode_value(&v, out))
			return WARD_EFORMAT;
		out->found = true;
		out->prefix_len = (uint8_t)len;
		out->family = fam == FAM4 ? AF_INET : AF_INET6;
		return 0;
	}
	return 0;
}

/*
 * A reader's memo of recent clients: a subscriber's queries come in bursts (a page load
 * is dozens of names within a second), so the second and later of a burst cost a hash
 * and a copy instead of a search of the index. Direct-mapped, SUB_MEMO_SLOTS slots (about
 * 400 KiB per reader, allocated on the first lookup that finds a table), tagged with the
 * reader's snapshot epoch so that a change to the table is seen at once. Entries with
 * allow or deny names are not kept.
 */
#define SUB_MEMO_SLOTS 4096

struct memo_slot {
	uint32_t epoch;           /* 0 = empty */
	int16_t longer_than;
	uint8_t fam, prefix_len;
	bool found;
	uint8_t addr[16];
	char profile[WARD_SUB_PROFILE_MAX + 1];
};

/* A reader's own state (catdb.c keeps the pointer and frees it with the reader): what
 * the snapshot of `epoch` holds, a cursor on the index (opened once, renewed per lookup:
 * no allocation per query), and the memo. */
struct sub_state {
	bool loaded, indexed;
	uint32_t epoch;
	struct ward_subidx_values vals;
	MDB_cursor *cur;
	struct memo_slot memo[SUB_MEMO_SLOTS];
};

void ward_sub_reader_state_free(void *state)
{
	struct sub_state *st = state;
	if (st && st->cur)
		mdb_cursor_close(st->cur);
	free(st);
}

static struct sub_state *state_of(void **p)
{
	if (!*p)
		*p = calloc(1, sizeof(struct sub_state));
	return *p;
}

/* Is the index of v's snapshot current? Loaded once per snapshot. */
static int state_load(struct sub_state *st, const struct ward_catdb_sub_view *v)
{
	if (st->loaded && st->epoch == v->epoch)
		return 0;
	bool ok = false;
	int rc = v->has_idx ? ward_subidx_check(v->txn, v->meta, v->dbi, v->idx, &ok, &st->vals)
			    : 0;
	if (rc)
		return rc;
	st->indexed = ok;
	st->epoch = v->epoch;
	st->loaded = true;
	return 0;
}

static struct memo_slot *memo_slot(struct sub_state *st, unsigned fam, const uint8_t *bytes)
{
	if (!st)
		return NULL;
	size_t n = fam == FAM4 ? 4 : 16;
	uint32_t h = 2166136261u ^ fam;
	for (size_t i = 0; i < n; i++)
		h = (h ^ bytes[i]) * 16777619u;
	return &st->memo[(h ^ h >> 15) % SUB_MEMO_SLOTS];
}

static bool memo_get(const struct memo_slot *s, uint32_t epoch, unsigned fam,
		     const uint8_t *bytes, int longer_than, struct ward_sub_match *out)
{
	if (!s || s->epoch != epoch || s->fam != fam || s->longer_than != longer_than ||
	    memcmp(s->addr, bytes, fam == FAM4 ? 4 : 16) != 0)
		return false;
	out->found = s->found;
	out->prefix_len = s->prefix_len;
	out->family = fam == FAM4 ? AF_INET : AF_INET6;
	memcpy(out->profile, s->profile, sizeof(out->profile));
	out->allow[0] = out->deny[0] = 0;
	return true;
}

static void memo_put(struct memo_slot *s, uint32_t epoch, unsigned fam, const uint8_t *bytes,
		     int longer_than, const struct ward_sub_match *m)
{
	if (!s)
		return;
	s->epoch = m->found && (m->allow[0] || m->deny[0]) ? 0 : epoch;
	s->fam = (uint8_t)fam;
	s->longer_than = (int16_t)longer_than;
	memcpy(s->addr, bytes, fam == FAM4 ? 4 : 16);
	s->found = m->found;
	s->prefix_len = m->prefix_len;
	memcpy(s->profile, m->profile, sizeof(s->profile));
}

static bool lengths_empty(const struct ward_sub_lengths *l)
{
	static const struct ward_sub_lengths none;
	return memcmp(l, &none, sizeof(none)) == 0;
}

/* The owner's value: numbered in the index, or (with names) in the prefix table. */
static int index_value(struct sub_state *st, const struct ward_catdb_sub_view *v, unsigned fam,
		       const uint8_t *bytes, uint8_t len, uint8_t vid, struct ward_sub_match *out)
{
	MDB_val val;
	if (vid == WARD_SUBIDX_REF) {
		uint8_t key[WARD_SUB_KEY_MAX];
		MDB_val k = { ward_sub_make_key(fam, bytes, len, key), key };
		int rc = mdb_get(v->txn, v->dbi, &k, &val);
		if (rc)
			return rc == MDB_NOTFOUND ? WARD_EFORMAT : ward_catdb_mdb_err(rc);
	} else if (vid < st->vals.n) {
		val = (MDB_val){ 1u + st->vals.v[vid][0], (void *)st->vals.v[vid] };
	} else {
		return WARD_EFORMAT;
	}
	return decode_value(&val, out) ? 0 : WARD_EFORMAT;
}

/* The most specific prefix holding the client is the owner of its range: when that is
 * not longer than longer_than, no longer one exists. */
static int index_lookup(struct sub_state *st, const struct ward_catdb_sub_view *v,
			unsigned fam, const uint8_t *bytes, int longer_than,
			struct ward_sub_match *out)
{
	int rc = st->cur ? mdb_cursor_renew(v->txn, st->cur)
			 : mdb_cursor_open(v->txn, v->idx, &st->cur);
	if (rc)
		return ward_catdb_mdb_err(rc);
	uint8_t len, vid;
	if ((rc = ward_subidx_find(st->cur, fam, bytes, &len, &vid)))
		return rc;
	if (len == WARD_SUBIDX_NONE || (int)len + (fam == FAM4 ? 96 : 0) <= longer_than)
		return 0;
	if ((rc = index_value(st, v, fam, bytes, len, vid, out)))
		return rc;
	out->found = true;
	out->prefix_len = len;
	out->family = fam == FAM4 ? AF_INET : AF_INET6;
	return 0;
}

static int lookup_cold(struct sub_state *st, const struct ward_catdb_sub_view *v, unsigned fam,
		       const uint8_t *bytes, int longer_than, struct ward_sub_match *out)
{
	int rc = st ? state_load(st, v) : 0;
	if (rc)
		return rc;
	if (st && st->indexed)
		return index_lookup(st, v, fam, bytes, longer_than, out);
	return fam == FAM4 ? probe(v->txn, v->dbi, fam, bytes, v->lengths->v4, 32, longer_than, out)
			   : probe(v->txn, v->dbi, fam, bytes, v->lengths->v6, 128, longer_than,
				   out);
}

int ward_sub_lookup(struct ward_catdb_reader *r, const struct sockaddr *addr, int longer_than,
		    struct ward_sub_match *out)
{
	out->found = false;
	out->profile[0] = 0;
	unsigned fam;
	const uint8_t *bytes;
	if (!r || !client_bytes(addr, &fam, &bytes))
		return 0;
	struct ward_catdb_sub_view v;
	int rc = ward_catdb_reader_enter(r, &v);
	if (rc)
		return rc;
	if (v.subs && !lengths_empty(v.lengths)) {
		struct sub_state *st = state_of(v.memo);
		struct memo_slot *s = memo_slot(st, fam, bytes);
		if (!memo_get(s, v.epoch, fam, bytes, longer_than, out)) {
			rc = lookup_cold(st, &v, fam, bytes, longer_than, out);
			if (rc == 0)
				memo_put(s, v.epoch, fam, bytes, longer_than, out);
		}
	}
	ward_catdb_reader_leave(r);
	return rc;
}

bool ward_sub_indexed(struct ward_catdb_reader *r)
{
	struct ward_catdb_sub_view v;
	if (!r || ward_catdb_reader_enter(r, &v))
		return false;
	struct sub_state *st = v.subs ? state_of(v.memo) : NULL;
	bool ok = st && state_load(st, &v) == 0 && st->indexed;
	ward_catdb_reader_leave(r);
	return ok;
}

/* ---- values written -------------------------------------------------------------------- */

/* Names separated by spaces or ';' -> lower-case names separated by one space.
 * @return the text's length, or -1 when a name is not valid or it is too long. */
static long normalize_names(const char *in, char *out, size_t cap)
{
	size_t o = 0;
	while (in && *in) {
		size_t n = strcspn(in, " ;\t");
		if (n > 0) {
			char text[WARD_NAME_MAX + 1];
			uint8_t wire[WARD_NAME_MAX + 3];
			if (n > WARD_NAME_MAX)
				return -1;
			memcpy(text, in, n);
			text[n] = 0;
			size_t w = ward_name_from_text(text, wire, sizeof(wire));
			if (w <= 1)
				return -1; /* not a name, or the root */
			for (size_t i = 0; i < n; i++)
				text[i] = text[i] >= 'A' && text[i] <= 'Z' ? (char)(text[i] + 32)
									  : text[i];
			if (text[n - 1] == '.')
				n--;
			if (o + (o > 0) + n > cap)
				return -1;
			if (o > 0)
				out[o++] = ' ';
			memcpy(out + o, text, n);
			o += n;
		}
		in += n;
		in += strspn(in, " ;\t");
	}
	return (long)o;
}

static bool valid_profile(const char *p)
{
	size_t n = strlen(p);
	if (n == 0 || n > WARD_SUB_PROFILE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x21 || p[i] == ',' || p[i] == 0x7F)
			return false;
	return true;
}

/* Encode e's value into buf (VALUE_MAX). @return its length, or 0 with *why set. */
static size_t encode_value(const struct ward_sub_entry *e, uint8_t *buf, const char **why)
{
	if (!valid_profile(e->profile)) {
		*why = "the profile name must be 1-63 printable characters without ','";
		return 0;
	}
	size_t n = strlen(e->profile);
	buf[0] = (uint8_t)n;
	memcpy(buf + 1, e->profile, n);
	size_t o = 1 + n;
	char names[2][WARD_SUB_NAMES_MAX];
	long len[2] = { normalize_names(e->allow, names[0], sizeof(names[0])),
			normalize_names(e->deny, names[1], sizeof(names[1])) };
	if (len[0] < 0 || len[1] < 0) {
		*why = "an allow or deny name is not a valid name (or there are too many)";
		return 0;
	}
	if (len[0] == 0 && len[1] == 0)
		return o;
	for (int i = 0; i < 2; i++) {
		buf[o++] = (uint8_t)(len[i] >> 8);
		buf[o++] = (uint8_t)len[i];
		memcpy(buf + o, names[i], (size_t)len[i]);
		o += (size_t)len[i];
	}
	return o;
}

/* ---- meta ---------------------------------------------------------------------------------- */

int ward_sub_lengths_get(struct ward_catdb *db, MDB_txn *txn, struct ward_sub_lengths *l)
{
	MDB_val k = { strlen(WARD_CATDB_META_SUB_LENGTHS), WARD_CATDB_META_SUB_LENGTHS }, v;
	memset(l, 0, sizeof(*l));
	int rc = mdb_get(txn, db->meta, &k, &v);
	if (rc == 0 && v.mv_size == sizeof(*l))
		memcpy(l, v.mv_data, sizeof(*l));
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : ward_catdb_mdb_err(rc);
}

static int lengths_put(struct ward_catdb *db, MDB_txn *txn, const struct ward_sub_lengths *l)
{
	MDB_val k = { strlen(WARD_CATDB_META_SUB_LENGTHS), WARD_CATDB_META_SUB_LENGTHS },
		v = { sizeof(*l), (void *)l };
	return ward_catdb_mdb_err(mdb_put(txn, db->meta, &k, &v, 0));
}

static int count_add(struct ward_catdb *db, MDB_txn *txn, int64_t delta)
{
	uint64_t n = 0;
	int rc = ward_catdb_meta_get_u64(db, txn, WARD_CATDB_META_SUBSCRIBERS, &n);
	if (rc && rc != WARD_ENOTFOUND)
		return rc;
	return ward_catdb_meta_put_u64(db, txn, WARD_CATDB_META_SUBSCRIBERS,
				       (uint64_t)((int64_t)n + delta));
}

int ward_sub_count(struct ward_catdb *db, uint64_t *n)
{
	*n = 0;
	MDB_txn *txn;
	int rc = ward_catdb_txn_begin(db, true, &txn);
	if (rc)
		return rc;
	rc = ward_catdb_meta_get_u64(db, txn, WARD_CATDB_META_SUBSCRIBERS, n);
	ward_catdb_txn_abort(db, txn);
	return rc == WARD_ENOTFOUND ? 0 : rc;
}

/* ---- set and remove ------------------------------------------------------------------------ */

struct one_ctx {
	struct ward_catdb *db;
	uint8_t key[WARD_SUB_KEY_MAX];
	size_t klen;
	uint8_t value[VALUE_MAX];
	size_t vlen;
	bool found;
};

static uint8_t *length_bits(struct ward_sub_lengths *l, const uint8_t *key)
{
	return key[0] == FAM4 ? l->v4 : l->v6;
}

static int set_txn(MDB_txn *txn, void *arg)
{
	struct one_ctx *c = arg;
	MDB_val k = { c->klen, c->key }, v = { c->vlen, c->value }, old;
	bool indexed;
	int rc = ward_subidx_valid(c->db, txn, &indexed);
	if (rc)
		return rc;
	rc = mdb_get(txn, c->db->subscribers, &k, &old);
	bool fresh = rc == MDB_NOTFOUND;
	if (rc && !fresh)
		return ward_catdb_mdb_err(rc);
	if ((rc = ward_catdb_mdb_err(mdb_put(txn, c->db->subscribers, &k, &v, 0))))
		return rc;
	struct ward_sub_lengths l;
	if ((rc = ward_sub_lengths_get(c->db, txn, &l)))
		return rc;
	bit_put(length_bits(&l, c->key), c->key[1], true);
	if ((rc = lengths_put(c->db, txn, &l)))
		return rc;
	if ((rc = ward_subidx_changed(c->db, txn, indexed, c->key[0], c->key + 2, c->key[1])))
		return rc;
	return fresh ? count_add(c->db, txn, 1) : 0;
}

int ward_sub_set(struct ward_catdb *db, const struct ward_sub_entry *e, const char **why)
{
	struct one_ctx c = { .db = db };
	*why = NULL;
	c.vlen = encode_value(e, c.value, why);
	if (!c.vlen)
		return WARD_EINVAL;
	c.klen = cidr_key(&e->prefix, c.key);
	return ward_catdb_write(db, set_txn, &c);
}

/* Is any other key of the same family and length left? (They are one key range.) */
static int length_in_use(struct ward_catdb *db, MDB_txn *txn, const uint8_t *key, bool *used)
{
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, db->subscribers, &cur);
	if (rc)
		return ward_catdb_mdb_err(rc);
	uint8_t first[2] = { key[0], key[1] };
	MDB_val k = { 2, first }, v;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	*used = rc == 0 && k.mv_size >= 2 && memcmp(k.mv_data, first, 2) == 0;
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : ward_catdb_mdb_err(rc);
}

static int remove_txn(MDB_txn *txn, void *arg)
{
	struct one_ctx *c = arg;
	MDB_val k = { c->klen, c->key };
	bool indexed;
	int rc = ward_subidx_valid(c->db, txn, &indexed);
	if (rc)
		return rc;
	rc = mdb_del(txn, c->db->subscribers, &k, NULL);
	if (rc == MDB_NOTFOUND)
		return WARD_ENOTFOUND;
	if (rc)
		return ward_catdb_mdb_err(rc);
	bool used;
	struct ward_sub_lengths l;
	if ((rc = length_in_use(c->db, txn, c->key, &used)) ||
	    (rc = ward_sub_lengths_get(c->db, txn, &l)))
		return rc;
	bit_put(length_bits(&l, c->key), c->key[1], used);
	if ((rc = lengths_put(c->db, txn, &l)))
		return rc;
	if ((rc = ward_subidx_changed(c->db, txn, indexed, c->key[0], c->key + 2, c->key[1])))
		return rc;
	return count_add(c->db, txn, -1);
}

int ward_sub_remove(struct ward_catdb *db, const struct ward_cidr *prefix)
{
	struct one_ctx c = { .db = db };
	c.klen = cidr_key(prefix, c.key);
	return ward_catdb_write(db, remove_txn, &c);
}

/* ---- import ------------------------------------------------------------------------------- */

#define IMPORT_LINE_MAX 8192
#define IMPORT_ARENA_MAX ((size_t)1 << 31)  /* value bytes: 2 GiB, far past 10M entries */
#define IMPORT_DEDUP 16                     /* distinct values remembered for sharing */

struct rec {
	uint8_t key[WARD_SUB_KEY_MAX];
	uint8_t klen;
	uint32_t line;
	uint32_t voff;
	uint16_t vlen;
};

struct import {
	struct ward_catdb *db;
	const struct ward_conf *conf;
	struct ward_sub_import_result *res;
	struct rec *recs;
	size_t n, cap;
	uint8_t *arena;
	size_t used, acap;
	uint32_t dedup_off[IMPORT_DEDUP];
	uint16_t dedup_len[IMPORT_DEDUP];
	unsigned n_dedup;
	struct ward_sub_lengths lengths;
};

static int fail(struct import *im, uint64_t line, const char *why)
{
	im->res->line = line;
	snprintf(im->res->why, sizeof(im->res->why), "%s", why);
	return WARD_EINVAL;
}

static bool grow(void **p, size_t *cap, size_t need, size_t elem, size_t max)
{
	if (need <= *cap)
		return true;
	size_t n = *cap ? *cap : 4096;
	while (n < need)
		n *= 2;
	if (n > max)
		n = max;
	if (n < need)
		return false;
	void *q = realloc(*p, n * elem);
	if (!q)
		return false;
	*p = q;
	*cap = n;
	return true;
}

/* The arena offset of value v: shared with an identical earlier one (most subscribers
 * carry only a profile name), else appended. @return false when out of room. */
static bool store_value(struct import *im, const uint8_t *v, size_t len, uint32_t *off)
{
	for (unsigned i = 0; i < im->n_dedup; i++) {
		if (im->dedup_len[i] == len && memcmp(im->arena + im->dedup_off[i], v, len) == 0) {
			*off = im->dedup_off[i];
			return true;
		}
	}
	if (!grow((void **)&im->arena, &im->acap, im->used + len, 1, IMPORT_ARENA_MAX))
		return false;
	*off = (uint32_t)im->used;
	memcpy(im->arena + im->used, v, len);
	im->used += len;
	if (im->n_dedup < IMPORT_DEDUP) {
		im->dedup_off[im->n_dedup] = *off;
		im->dedup_len[im->n_dedup++] = (uint16_t)len;
	}
	return true;
}

static bool profile_known(const struct ward_conf *conf, const char *name)
{
	if (!conf)
		return true;
	for (size_t i = 0; i < conf->n_profiles; i++)
		if (strcmp(conf->profiles[i].name, name) == 0)
			return true;
	return false;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = 0;
	return s;
}

/* Split a line at commas into at most 4 fields. @return the count, or 5 for too many. */
static int split(char *line, char *f[4])
{
	int n = 0;
	for (char *p = line;; n++) {
		char *comma = strchr(p, ',');
		if (n == 4)
			return 5;
		if (comma)
			*comma = 0;
		f[n] = trim(p);
		if (!comma)
			return n + 1;
		p = comma + 1;
	}
}

int ward_sub_parse_line(char *line, const struct ward_conf *conf, struct ward_sub_entry *e,
			uint8_t *value, size_t *vlen, const char **why)
{
	char *f[4] = { NULL, NULL, NULL, NULL };
	int n = split(line, f);
	*why = "expected prefix,profile[,allow names][,deny names]";
	if (n < 2 || n > 4)
		return WARD_EINVAL;
	*e = (struct ward_sub_entry){ .profile = f[1], .allow = f[2], .deny = f[3] };
	enum ward_addr_why w = ward_cidr_parse_why(f[0], &e->prefix);
	*why = w == WARD_ADDR_HOST_BITS ? "the prefix has host bits set"
					: "not an address or prefix";
	if (w != WARD_ADDR_OK)
		return WARD_EINVAL;
	*why = "the profile is not one of the config's profiles";
	if (!profile_known(conf, e->profile))
		return WARD_EINVAL;
	*vlen = encode_value(e, value, why);
	return *vlen ? 0 : WARD_EINVAL;
}

static int take_line(struct import *im, char *line, uint64_t no)
{
	struct ward_sub_entry e;
	uint8_t value[VALUE_MAX];
	const char *why = NULL;
	size_t vlen;
	if (ward_sub_parse_line(line, im->conf, &e, value, &vlen, &why))
		return fail(im, no, why);
	if (!grow((void **)&im->recs, &im->cap, im->n + 1, sizeof(struct rec), SIZE_MAX / 64))
		return WARD_ENOMEM;
	struct rec *r = &im->recs[im->n];
	r->klen = (uint8_t)cidr_key(&e.prefix, r->key);
	r->line = (uint32_t)no;
	r->vlen = (uint16_t)vlen;
	if (!store_value(im, value, vlen, &r->voff))
		return WARD_ENOMEM;
	bit_put(length_bits(&im->lengths, r->key), r->key[1], true);
	im->n++;
	return 0;
}

static bool skip_line(const char *line, uint64_t no)
{
	const char *p = line + strspn(line, " \t\r\n");
	return *p == 0 || *p == '#' || (no == 1 && strncmp(p, "prefix,", 7) == 0);
}

static int read_file(struct import *im, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(im->res->why, sizeof(im->res->why), "cannot open %s", path);
		return WARD_EIO;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	uint64_t no = 0;
	int rc = 0;
	while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
		no++;
		if (len > IMPORT_LINE_MAX)
			rc = fail(im, no, "line longer than 8192 bytes");
		else if ((size_t)len != strlen(line))
			rc = fail(im, no, "NUL byte in the line");
		else if (!skip_line(line, no))
			rc = take_line(im, line[len - 1] == '\n' ? (line[len - 1] = 0, line) : line,
				       no);
	}
	if (rc == 0 && ferror(f)) {
		snprintf(im->res->why, sizeof(im->res->why), "read error on %s", path);
		rc = WARD_EIO;
	}
	free(line);
	fclose(f);
	return rc;
}

static int rec_cmp(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(x->key, y->key, n);
	return c ? c : (int)x->klen - (int)y->klen;
}

static int import_txn(MDB_txn *txn, void *arg)
{
	struct import *im = arg;
	MDB_dbi dbi = im->db->subscribers;
	int rc = ward_catdb_mdb_err(mdb_drop(txn, dbi, 0));
	for (size_t i = 0; rc == 0 && i < im->n; i++) {
		struct rec *r = &im->recs[i];
		MDB_val k = { r->klen, r->key }, v = { r->vlen, im->arena + r->voff };
		rc = ward_catdb_mdb_err(mdb_put(txn, dbi, &k, &v, MDB_APPEND));
	}
	if (rc == 0)
		rc = lengths_put(im->db, txn, &im->lengths);
	if (rc == 0)
		rc = ward_catdb_meta_put_u64(im->db, txn, WARD_CATDB_META_SUBSCRIBERS, im->n);
	if (rc == 0)
		rc = ward_subidx_rebuild(im->db, txn);
	return rc;
}

static int sort_and_check(struct import *im)
{
	if (im->n > 1)
		qsort(im->recs, im->n, sizeof(struct rec), rec_cmp);
	for (size_t i = 1; i < im->n; i++) {
		if (rec_cmp(&im->recs[i - 1], &im->recs[i]) == 0) {
			uint32_t a = im->recs[i - 1].line, b = im->recs[i].line;
			im->res->line = a > b ? a : b;
			snprintf(im->res->why, sizeof(im->res->why),
				 "the same prefix as line %u", a < b ? a : b);
			return WARD_EINVAL;
		}
	}
	return 0;
}

int ward_sub_import(struct ward_catdb *db, const char *path, const struct ward_conf *conf,
		    struct ward_sub_import_result *res)
{
	memset(res, 0, sizeof(*res));
	struct import im = { .db = db, .conf = conf, .res = res };
	int rc = read_file(&im, path);
	if (rc == 0)
		rc = sort_and_check(&im);
	if (rc == 0)
		rc = ward_catdb_write(db, import_txn, &im);
	if (rc == 0)
		res->entries = im.n;
	else if (rc == WARD_ENOMEM && !res->why[0])
		snprintf(res->why, sizeof(res->why), "out of memory");
	free(im.recs);
	free(im.arena);
	return rc;
}
