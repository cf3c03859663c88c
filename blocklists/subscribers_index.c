/*
 * The subscribers' range index (subscribers.h; key space `sub_index` in catdb.c's comment).
 *
 * One get per prefix length costs a full descent of a tree of millions of keys, about
 * eight dependent cache misses each, and a lookup pays it once or twice: 1.5 µs at 10M.
 * Here each family's address space is flattened into ranges, each owned by the most
 * specific prefix covering it (or none), and runs of ranges are packed into chunks of
 * about 4 KB keyed by family + the chunk's last address. Chunks tile the whole space, so a
 * lookup is one MDB_SET_RANGE (the first chunk ending at or after the address) and a
 * search inside that chunk. Chunks that large are LMDB overflow pages: the tree's own
 * leaves hold only keys and page numbers and stay in the CPU's caches.
 *
 * Chunk (little-endian):  u8 version (1), u8 family, u16 n ranges, 4 bytes zero;
 *   fences: the first start of each group of G ranges (G = 16 for IPv4, 4 for IPv6);
 *   groups: per group its starts, then its owners (u8 prefix length or 255 = none, u8
 *   value number or 255 = in the prefix table).
 * An address is 4 bytes (IPv4) or 16 (IPv6, the high 8 first). So a search reads the
 * fences (a cache line or two), one group's starts and its owners (adjacent lines).
 * Adjacent ranges with the same owner are one range (the owner's prefix is the address
 * masked to the owner's length, so the answer is the same).
 *
 * Values: the profile-only values (no allow/deny names), at most 255 distinct, are
 * numbered in meta sub_values (u8 count, then each value as the table stores it); the
 * rest are read from the prefix table by a second get.
 *
 * Freshness: meta sub_index holds the shape (MDB_stat) of `subscribers` and `sub_index`
 * as the writer left them, and the random mark the index got when it was last built whole
 * (its key: one zero byte, before every chunk). Every writer of this version writes both tables and the stamp
 * in one transaction; a reader that finds the stamp missing or different (a database an
 * older ward wrote, or one an older ward changed since) does not use the index.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "blocklists/bytes.h"
#include "blocklists/error.h"
#include "blocklists/subscribers_internal.h"

#define FAM4 WARD_SUB_FAM4
#define FAM6 WARD_SUB_FAM6
#define CHUNK_VERSION 1
#define CHUNK_HDR 8
#define CAP4 640 /* ranges per chunk: 8 + 40 * 4 + 640 * 6 = 4008 bytes, one 4 KiB page */
#define CAP6 184 /* 8 + 46 * 16 + 184 * 18 = 4056 bytes */
#define FENCES_MAX4 (CHUNK_HDR + (CAP4 + 15) / 16 * 4)
#define FENCES_MAX6 (CHUNK_HDR + (CAP6 + 3) / 4 * 16)
#define STAMP_FORMAT 1
#define STAMP_WORDS 12
#define VTAB_HASH 512
#define META_SUB_INDEX "sub_index"
#define META_SUB_VALUES "sub_values"

#ifdef WARD_TEST_HOOKS
static unsigned test_chunk_cap;

void ward_sub_test_set_chunk_cap(unsigned cap)
{
	test_chunk_cap = cap;
}
#endif

static size_t chunk_cap(unsigned fam)
{
	size_t cap = fam == FAM4 ? CAP4 : CAP6;
#ifdef WARD_TEST_HOOKS
	if (test_chunk_cap && test_chunk_cap < cap)
		cap = test_chunk_cap;
#endif
	return cap;
}

struct a128 {
	uint64_t hi, lo;
};

/* ---- addresses ------------------------------------------------------------------------- */

static unsigned width(unsigned fam)
{
	return fam == FAM4 ? 4 : 16;
}

static unsigned group(unsigned fam)
{
	return fam == FAM4 ? 16 : 4;
}

static struct a128 a_from(unsigned fam, const uint8_t *b)
{
	if (fam == FAM4)
		return (struct a128){ 0, ward_bytes_get_be(b, 4) };
	return (struct a128){ ward_bytes_get_be(b, 8), ward_bytes_get_be(b + 8, 8) };
}

static void a_to(unsigned fam, struct a128 a, uint8_t *b)
{
	if (fam == FAM4) {
		ward_bytes_put_be(b, a.lo, 4);
		return;
	}
	ward_bytes_put_be(b, a.hi, 8);
	ward_bytes_put_be(b + 8, a.lo, 8);
}

static int a_cmp(struct a128 x, struct a128 y)
{
	if (x.hi != y.hi)
		return x.hi < y.hi ? -1 : 1;
	return x.lo < y.lo ? -1 : x.lo > y.lo;
}

static struct a128 a_inc(struct a128 a)
{
	a.hi += ++a.lo == 0;
	return a;
}

static struct a128 a_dec(struct a128 a)
{
	a.hi -= a.lo-- == 0;
	return a;
}

static struct a128 a_max(unsigned fam)
{
	return fam == FAM4 ? (struct a128){ 0, 0xFFFFFFFFu } : (struct a128){ ~0ull, ~0ull };
}

/* The last address of the prefix start/len. */
static struct a128 a_end(unsigned fam, struct a128 s, unsigned len)
{
	if (fam == FAM4) {
		s.lo |= 0xFFFFFFFFull >> len;
		return s;
	}
	s.hi |= len >= 64 ? 0 : ~0ull >> len;
	s.lo |= len >= 128 ? 0 : len <= 64 ? ~0ull : ~0ull >> (len - 64);
	return s;
}

/* An address inside a chunk: IPv4 as u32, IPv6 as two u64 (high first), little-endian. */
static struct a128 chunk_addr(unsigned fam, const uint8_t *p)
{
	if (fam == FAM4)
		return (struct a128){ 0, ward_bytes_get_le(p, 4) };
	return (struct a128){ ward_bytes_get_le(p, 8), ward_bytes_get_le(p + 8, 8) };
}

static void chunk_addr_put(unsigned fam, uint8_t *p, struct a128 a)
{
	if (fam == FAM4) {
		ward_bytes_put_le(p, a.lo, 4);
		return;
	}
	ward_bytes_put_le(p, a.hi, 8);
	ward_bytes_put_le(p + 8, a.lo, 8);
}

static size_t chunk_size(unsigned fam, size_t n)
{
	size_t g = group(fam), w = width(fam);
	return CHUNK_HDR + (n + g - 1) / g * w + n * (w + 2);
}

/* ---- reading ----------------------------------------------------------------------------- */

/* How many of the n addresses at p (w apart, ascending) are <= a. */
static size_t count_le(unsigned fam, const uint8_t *p, size_t n, struct a128 a)
{
	size_t w = width(fam), lo = 0, hi = n;
	if (fam == FAM4) {
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if ((uint32_t)ward_bytes_get_le(p + mid * 4, 4) <= a.lo)
				lo = mid + 1;
			else
				hi = mid;
		}
		return lo;
	}
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (a_cmp(chunk_addr(fam, p + mid * w), a) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int ward_sub_chunk_find(const uint8_t *c, size_t size, unsigned fam, const uint8_t *addr,
			uint8_t *len, uint8_t *vid)
{
	/* The header's and the fences' lines at once (the size says how far the fences can
	 * reach), not one binary-search step after another: a chunk is a cache miss. */
	size_t reach = fam == FAM4 ? FENCES_MAX4 : FENCES_MAX6;
	for (size_t off = 0; off < size && off < reach; off += 64)
		__builtin_prefetch(c + off);
	if ((fam != FAM4 && fam != FAM6) || size < CHUNK_HDR || c[0] != CHUNK_VERSION ||
	    c[1] != fam)
		return WARD_EFORMAT;
	size_t n = (size_t)ward_bytes_get_le(c + 2, 2), w = width(fam), g = group(fam);
	if (n == 0 || size != chunk_size(fam, n))
		return WARD_EFORMAT;
	struct a128 a = a_from(fam, addr);
	size_t nf = (n + g - 1) / g;
	size_t k = count_le(fam, c + CHUNK_HDR, nf, a);
	if (k == 0)
		return WARD_EFORMAT;
	size_t gi = k - 1, cnt = n - gi * g < g ? n - gi * g : g;
	const uint8_t *grp = c + CHUNK_HDR + nf * w + gi * g * (w + 2);
	__builtin_prefetch(grp + cnt * w); /* the owners, while the starts are searched */
	size_t i = count_le(fam, grp, cnt, a);
	if (i == 0)
		return WARD_EFORMAT;
	const uint8_t *o = grp + cnt * w + (i - 1) * 2;
	*len = o[0];
	*vid = o[1];
	if (*len != WARD_SUBIDX_NONE && *len > (fam == FAM4 ? 32 : 128))
		return WARD_EFORMAT;
	return 0;
}

int ward_subidx_find(MDB_cursor *cur, unsigned fam, const uint8_t *addr, uint8_t *len,
		     uint8_t *vid)
{
	uint8_t key[17];
	size_t w = width(fam);
	key[0] = (uint8_t)fam;
	memcpy(key + 1, addr, w);
	MDB_val k = { 1 + w, key }, v;
	int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	if (rc == MDB_NOTFOUND)
		return WARD_EFORMAT; /* chunks tile the space: one is missing */
	if (rc)
		return ward_catdb_mdb_err(rc);
	if (k.mv_size != 1 + w || *(const uint8_t *)k.mv_data != fam)
		return WARD_EFORMAT;
	return ward_sub_chunk_find(v.mv_data, v.mv_size, fam, addr, len, vid);
}

static int values_parse(const uint8_t *p, size_t size, struct ward_subidx_values *vals)
{
	if (size < 1)
		return WARD_EFORMAT;
	vals->n = p[0];
	size_t o = 1;
	for (unsigned i = 0; i < vals->n; i++) {
		if (o >= size || p[o] == 0 || p[o] > WARD_SUB_PROFILE_MAX || o + 1 + p[o] > size)
			return WARD_EFORMAT;
		vals->v[i] = p + o;
		o += 1u + p[o];
	}
	return o == size ? 0 : WARD_EFORMAT;
}

/* ---- the stamp --------------------------------------------------------------------------- */

/* The index's own mark (key: one zero byte; value: 8 random bytes, new with each full
 * build), so that an index and a stamp copied from different places never match. */
static const uint8_t NONCE_KEY[1] = { 0 };

static int nonce_put(MDB_txn *txn, MDB_dbi idx)
{
	uint8_t nonce[8];
	if (getrandom(nonce, sizeof(nonce), 0) != (ssize_t)sizeof(nonce)) {
		struct timespec t;
		clock_gettime(CLOCK_REALTIME, &t);
		ward_bytes_put_le(nonce, (uint64_t)t.tv_nsec * 1000003u ^ (uint64_t)t.tv_sec ^
					 (uint64_t)mdb_txn_id(txn) << 40, 8);
	}
	MDB_val k = { 1, (void *)NONCE_KEY }, v = { 8, nonce };
	return ward_catdb_mdb_err(mdb_put(txn, idx, &k, &v, MDB_APPEND));
}

/* @return 0, WARD_ENOTFOUND (the index has no mark: not one this ward wrote whole), or a
 * read error. */
static int stamp_now(MDB_txn *txn, MDB_dbi subs, MDB_dbi idx, uint8_t out[STAMP_WORDS * 8])
{
	MDB_stat st[2];
	MDB_val k = { 1, (void *)NONCE_KEY }, v;
	int rc = mdb_get(txn, idx, &k, &v);
	if (!rc && v.mv_size != 8)
		rc = MDB_NOTFOUND;
	if (!rc)
		rc = mdb_stat(txn, subs, &st[0]);
	if (!rc)
		rc = mdb_stat(txn, idx, &st[1]);
	if (rc)
		return ward_catdb_mdb_err(rc);
	ward_bytes_put_le(out, STAMP_FORMAT, 8);
	for (int i = 0; i < 2; i++) {
		uint8_t *p = out + 8 + i * 40;
		ward_bytes_put_le(p, st[i].ms_entries, 8);
		ward_bytes_put_le(p + 8, st[i].ms_depth, 8);
		ward_bytes_put_le(p + 16, st[i].ms_branch_pages, 8);
		ward_bytes_put_le(p + 24, st[i].ms_leaf_pages, 8);
		ward_bytes_put_le(p + 32, st[i].ms_overflow_pages, 8);
	}
	memcpy(out + 88, v.mv_data, 8);
	return 0;
}

static int stamp_matches(MDB_txn *txn, MDB_dbi meta, MDB_dbi subs, MDB_dbi idx, bool *ok)
{
	uint8_t now[STAMP_WORDS * 8];
	MDB_val k = { strlen(META_SUB_INDEX), META_SUB_INDEX }, v;
	*ok = false;
	int rc = mdb_get(txn, meta, &k, &v);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return ward_catdb_mdb_err(rc);
	if (v.mv_size != sizeof(now))
		return 0;
	if ((rc = stamp_now(txn, subs, idx, now)))
		return rc == WARD_ENOTFOUND ? 0 : rc;
	*ok = memcmp(now, v.mv_data, sizeof(now)) == 0;
	return 0;
}

int ward_subidx_check(MDB_txn *txn, MDB_dbi meta, MDB_dbi subs, MDB_dbi idx, bool *ok,
		      struct ward_subidx_values *vals)
{
	int rc = stamp_matches(txn, meta, subs, idx, ok);
	if (rc || !*ok)
		return rc;
	MDB_val k = { strlen(META_SUB_VALUES), META_SUB_VALUES }, v;
	rc = mdb_get(txn, meta, &k, &v);
	if (rc)
		return rc == MDB_NOTFOUND ? WARD_EFORMAT : ward_catdb_mdb_err(rc);
	return values_parse(v.mv_data, v.mv_size, vals);
}

int ward_subidx_valid(struct ward_catdb *db, MDB_txn *txn, bool *ok)
{
	return stamp_matches(txn, db->meta, db->subscribers, db->sub_index, ok);
}

static int stamp_put(struct ward_catdb *db, MDB_txn *txn)
{
	uint8_t now[STAMP_WORDS * 8];
	int rc = stamp_now(txn, db->subscribers, db->sub_index, now);
	MDB_val k = { strlen(META_SUB_INDEX), META_SUB_INDEX }, v = { sizeof(now), now };
	return rc ? rc : ward_catdb_mdb_err(mdb_put(txn, db->meta, &k, &v, 0));
}

/* ---- the writer's table of values -------------------------------------------------------- */

struct vtab {
	unsigned n;
	size_t used;
	uint16_t off[WARD_SUBIDX_VALUES_MAX];
	uint16_t hash[VTAB_HASH]; /* value number + 1; 0 = empty */
	uint8_t blob[1 + WARD_SUBIDX_VALUES_MAX * (1 + WARD_SUB_PROFILE_MAX)];
};

static unsigned vhash(const uint8_t *v, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ v[i]) * 16777619u;
	return (h ^ h >> 16) % VTAB_HASH;
}

/* The number of a stored value: WARD_SUBIDX_REF when it carries names (or is not a
 * well-formed value, which the second get then reports) or the table is full. */
static uint8_t vtab_id(struct vtab *t, const uint8_t *v, size_t len)
{
	if (len < 2 || len != 1u + v[0] || v[0] > WARD_SUB_PROFILE_MAX)
		return WARD_SUBIDX_REF;
	unsigned h = vhash(v, len);
	for (; t->hash[h]; h = (h + 1) % VTAB_HASH) {
		const uint8_t *e = t->blob + t->off[t->hash[h] - 1];
		if (e[0] == v[0] && memcmp(e, v, len) == 0)
			return (uint8_t)(t->hash[h] - 1);
	}
	if (t->n == WARD_SUBIDX_VALUES_MAX)
		return WARD_SUBIDX_REF;
	if (t->used == 0)
		t->used = 1;
	t->off[t->n] = (uint16_t)t->used;
	memcpy(t->blob + t->used, v, len);
	t->used += len;
	t->hash[h] = (uint16_t)++t->n;
	return (uint8_t)(t->n - 1);
}

/* The numbers already given out keep their meaning: chunks outside a change use them. */
static int vtab_load(struct ward_catdb *db, MDB_txn *txn, struct vtab *t)
{
	MDB_val k = { strlen(META_SUB_VALUES), META_SUB_VALUES }, v;
	struct ward_subidx_values vals;
	int rc = mdb_get(txn, db->meta, &k, &v);
	if (rc)
		return rc == MDB_NOTFOUND ? WARD_EFORMAT : ward_catdb_mdb_err(rc);
	if ((rc = values_parse(v.mv_data, v.mv_size, &vals)))
		return rc;
	for (unsigned i = 0; i < vals.n; i++)
		if (vtab_id(t, vals.v[i], 1u + vals.v[i][0]) != i)
			return WARD_EFORMAT; /* a value twice */
	return 0;
}

static int vtab_save(struct ward_catdb *db, MDB_txn *txn, struct vtab *t)
{
	t->blob[0] = (uint8_t)t->n;
	MDB_val k = { strlen(META_SUB_VALUES), META_SUB_VALUES },
		v = { t->used ? t->used : 1, t->blob };
	return ward_catdb_mdb_err(mdb_put(txn, db->meta, &k, &v, 0));
}

/* ---- writing chunks ---------------------------------------------------------------------- */

struct ranges {
	MDB_txn *txn;
	MDB_dbi dbi;
	unsigned fam, put_flags;
	size_t n, cap;
	struct a128 start[CAP4 + 1];
	uint8_t olen[CAP4 + 1], ovid[CAP4 + 1];
	uint8_t buf[4096];
};

static void chunk_encode(struct ranges *o, size_t count)
{
	unsigned fam = o->fam;
	size_t w = width(fam), g = group(fam), nf = (count + g - 1) / g;
	uint8_t *c = o->buf, *gp = c + CHUNK_HDR + nf * w;
	memset(c, 0, CHUNK_HDR);
	c[0] = CHUNK_VERSION;
	c[1] = (uint8_t)fam;
	ward_bytes_put_le(c + 2, count, 2);
	for (size_t gi = 0; gi < nf; gi++) {
		size_t first = gi * g, cnt = count - first < g ? count - first : g;
		chunk_addr_put(fam, c + CHUNK_HDR + gi * w, o->start[first]);
		for (size_t i = 0; i < cnt; i++) {
			chunk_addr_put(fam, gp + i * w, o->start[first + i]);
			gp[cnt * w + 2 * i] = o->olen[first + i];
			gp[cnt * w + 2 * i + 1] = o->ovid[first + i];
		}
		gp += cnt * (w + 2);
	}
}

/* Store the first count ranges as the chunk ending at end. */
static int chunk_put(struct ranges *o, size_t count, struct a128 end)
{
	uint8_t key[17];
	size_t w = width(o->fam);
	chunk_encode(o, count);
	key[0] = (uint8_t)o->fam;
	a_to(o->fam, end, key + 1);
	MDB_val k = { 1 + w, key }, v = { chunk_size(o->fam, count), o->buf };
	int rc = ward_catdb_mdb_err(mdb_put(o->txn, o->dbi, &k, &v, o->put_flags));
	o->n -= count;
	memmove(o->start, o->start + count, o->n * sizeof(o->start[0]));
	memmove(o->olen, o->olen + count, o->n);
	memmove(o->ovid, o->ovid + count, o->n);
	return rc;
}

static int range_add(struct ranges *o, struct a128 s, uint8_t len, uint8_t vid)
{
	if (len == WARD_SUBIDX_NONE)
		vid = 0;
	if (o->n > 0 && o->olen[o->n - 1] == len && o->ovid[o->n - 1] == vid)
		return 0;
	if (o->n == o->cap) {
		int rc = chunk_put(o, o->cap, a_dec(s));
		if (rc)
			return rc;
	}
	o->start[o->n] = s;
	o->olen[o->n] = len;
	o->ovid[o->n++] = vid;
	return 0;
}

/* ---- the sweep: prefixes in address order (enclosing first) -> ranges ------------------- */

struct sweep {
	struct ranges *out;
	unsigned fam;
	struct a128 pos, hi;
	int top;
	struct {
		struct a128 end;
		uint8_t len, vid;
	} st[130];
};

static int sweep_emit(struct sweep *sw, int at)
{
	if (at < 0)
		return range_add(sw->out, sw->pos, WARD_SUBIDX_NONE, 0);
	return range_add(sw->out, sw->pos, sw->st[at].len, sw->st[at].vid);
}

/* Close the prefixes that end before s and give [pos, s) to the innermost open one. */
static int sweep_to(struct sweep *sw, struct a128 s)
{
	int rc = 0;
	while (!rc && sw->top >= 0 && a_cmp(sw->st[sw->top].end, s) < 0) {
		if (a_cmp(sw->pos, sw->st[sw->top].end) <= 0) {
			rc = sweep_emit(sw, sw->top);
			sw->pos = a_inc(sw->st[sw->top].end);
		}
		sw->top--;
	}
	if (!rc && a_cmp(sw->pos, s) < 0) {
		rc = sweep_emit(sw, sw->top);
		sw->pos = s;
	}
	return rc;
}

static int sweep_push(struct sweep *sw, struct a128 s, unsigned len, uint8_t vid)
{
	int rc = sweep_to(sw, s);
	if (rc)
		return rc;
	if (sw->top + 1 >= (int)(sizeof(sw->st) / sizeof(sw->st[0])))
		return WARD_EFORMAT; /* nested deeper than there are lengths */
	sw->top++;
	sw->st[sw->top].end = a_end(sw->fam, s, len);
	sw->st[sw->top].len = (uint8_t)len;
	sw->st[sw->top].vid = vid;
	return 0;
}

static int sweep_finish(struct sweep *sw)
{
	bool done = false;
	int rc = 0;
	for (; !rc && sw->top >= 0; sw->top--) {
		struct a128 end = sw->st[sw->top].end;
		if (a_cmp(end, sw->hi) > 0)
			end = sw->hi;
		if (done || a_cmp(sw->pos, end) > 0)
			continue;
		rc = sweep_emit(sw, sw->top);
		done = a_cmp(end, sw->hi) == 0;
		sw->pos = a_inc(end);
	}
	if (!rc && !done)
		rc = sweep_emit(sw, -1);
	return rc || sw->out->n == 0 ? rc : chunk_put(sw->out, sw->out->n, sw->hi);
}

/* ---- the prefixes of one length, in address order, from the table ------------------------ */

struct stream {
	MDB_cursor *cur;
	unsigned len;
	bool live;
	struct a128 a;
	MDB_val v;
};

static int stream_take(struct stream *s, unsigned fam, struct a128 hi, int rc, MDB_val *k)
{
	s->live = false;
	if (rc)
		return rc == MDB_NOTFOUND ? 0 : ward_catdb_mdb_err(rc);
	const uint8_t *kb = k->mv_data;
	if (k->mv_size != 2 + width(fam) || kb[0] != fam || kb[1] != s->len)
		return 0;
	s->a = a_from(fam, kb + 2);
	s->live = a_cmp(s->a, hi) <= 0;
	return 0;
}

static int stream_open(struct ward_catdb *db, MDB_txn *txn, struct stream *s, unsigned fam,
		       unsigned len, struct a128 lo, struct a128 hi)
{
	uint8_t addr[16], key[WARD_SUB_KEY_MAX];
	s->len = len;
	s->live = false;
	int rc = mdb_cursor_open(txn, db->subscribers, &s->cur);
	if (rc) {
		s->cur = NULL;
		return ward_catdb_mdb_err(rc);
	}
	a_to(fam, lo, addr);
	MDB_val k = { ward_sub_make_key(fam, addr, len, key), key };
	rc = mdb_cursor_get(s->cur, &k, &s->v, MDB_SET_RANGE);
	return stream_take(s, fam, hi, rc, &k);
}

static int stream_next(struct stream *s, unsigned fam, struct a128 hi)
{
	MDB_val k;
	int rc = mdb_cursor_get(s->cur, &k, &s->v, MDB_NEXT);
	return stream_take(s, fam, hi, rc, &k);
}

/* The live stream with the lowest address; of equal ones the shortest (it encloses). */
static struct stream *stream_min(struct stream *st, unsigned n)
{
	struct stream *best = NULL;
	for (unsigned i = 0; i < n; i++)
		if (st[i].live && (!best || a_cmp(st[i].a, best->a) < 0))
			best = &st[i];
	return best;
}

struct span {
	struct ward_catdb *db;
	MDB_txn *txn;
	struct vtab *vt;
	struct ranges *out;
	const uint8_t *bits; /* the lengths in use of the family (struct ward_sub_lengths) */
};

static int span_merge(struct span *sp, struct sweep *sw, struct stream *st, unsigned n)
{
	int rc = 0;
	for (struct stream *s; !rc && (s = stream_min(st, n));) {
		uint8_t vid = vtab_id(sp->vt, s->v.mv_data, s->v.mv_size);
		rc = sweep_push(sw, s->a, s->len, vid);
		if (!rc)
			rc = stream_next(s, sw->fam, sw->hi);
	}
	return rc ? rc : sweep_finish(sw);
}

/* Write the chunks of [lo, hi] of one family from the prefixes that meet it. */
static int span_build(struct span *sp, unsigned fam, struct a128 lo, struct a128 hi)
{
	static const unsigned max[2] = { 32, 128 };
	struct stream st[129];
	struct sweep sw = { .out = sp->out, .fam = fam, .pos = lo, .hi = hi, .top = -1 };
	unsigned n = 0, top = max[fam == FAM6];
	int rc = 0;
	sp->out->fam = fam;
	sp->out->cap = chunk_cap(fam);
	sp->out->n = 0;
	for (unsigned len = 0; !rc && len <= top; len++)
		if (sp->bits[len / 8] & (1u << (len % 8)))
			rc = stream_open(sp->db, sp->txn, &st[n++], fam, len, lo, hi);
	if (!rc)
		rc = span_merge(sp, &sw, st, n);
	for (unsigned i = 0; i < n; i++)
		if (st[i].cur)
			mdb_cursor_close(st[i].cur);
	return rc;
}

struct job {
	struct span sp;
	struct vtab vt;
	struct ranges out;
	struct ward_sub_lengths lengths;
};

static int job_new(struct ward_catdb *db, MDB_txn *txn, struct job **out)
{
	struct job *j = calloc(1, sizeof(*j));
	if (!(*out = j))
		return WARD_ENOMEM;
	j->sp = (struct span){ db, txn, &j->vt, &j->out, NULL };
	j->out.txn = txn;
	j->out.dbi = db->sub_index;
	return ward_sub_lengths_get(db, txn, &j->lengths);
}

static int job_end(struct job *j, int rc)
{
	if (!rc)
		rc = vtab_save(j->sp.db, j->sp.txn, &j->vt);
	if (!rc)
		rc = stamp_put(j->sp.db, j->sp.txn);
	free(j);
	return rc;
}

int ward_subidx_rebuild(struct ward_catdb *db, MDB_txn *txn)
{
	struct job *j;
	int rc = job_new(db, txn, &j);
	if (!j)
		return rc;
	if (!rc)
		rc = ward_catdb_mdb_err(mdb_drop(txn, db->sub_index, 0));
	if (!rc)
		rc = nonce_put(txn, db->sub_index);
	j->out.put_flags = MDB_APPEND; /* family 4 then 6, each in address order */
	j->sp.bits = j->lengths.v4;
	if (!rc)
		rc = span_build(&j->sp, FAM4, (struct a128){ 0, 0 }, a_max(FAM4));
	j->sp.bits = j->lengths.v6;
	if (!rc)
		rc = span_build(&j->sp, FAM6, (struct a128){ 0, 0 }, a_max(FAM6));
	return job_end(j, rc);
}

/* ---- a change to one prefix ---------------------------------------------------------------- */

/* The chunk holding a (fam): its last address. @return 0 or WARD_EFORMAT when missing. */
static int chunk_end_at(MDB_cursor *cur, unsigned fam, struct a128 a, MDB_cursor_op op,
			struct a128 *end)
{
	uint8_t key[17];
	size_t w = width(fam);
	key[0] = (uint8_t)fam;
	a_to(fam, a, key + 1);
	MDB_val k = { 1 + w, key }, v;
	int rc = mdb_cursor_get(cur, &k, &v, op);
	if (rc)
		return rc == MDB_NOTFOUND ? WARD_EFORMAT : ward_catdb_mdb_err(rc);
	if (k.mv_size != 1 + w || *(const uint8_t *)k.mv_data != fam)
		return WARD_EFORMAT;
	*end = a_from(fam, (const uint8_t *)k.mv_data + 1);
	return 0;
}

/* The chunks that [plo, phi] falls in: [*lo, *hi], the first's start to the last's end. */
static int span_of(MDB_cursor *cur, unsigned fam, struct a128 plo, struct a128 phi,
		   struct a128 *lo, struct a128 *hi)
{
	struct a128 first;
	int rc = chunk_end_at(cur, fam, plo, MDB_SET_RANGE, &first);
	if (rc)
		return rc;
	MDB_val k, v;
	rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
	if (rc && rc != MDB_NOTFOUND)
		return ward_catdb_mdb_err(rc);
	*lo = (struct a128){ 0, 0 };
	if (rc == 0 && k.mv_size == 1 + width(fam) && *(const uint8_t *)k.mv_data == fam)
		*lo = a_inc(a_from(fam, (const uint8_t *)k.mv_data + 1));
	return chunk_end_at(cur, fam, phi, MDB_SET_RANGE, hi);
}

/* Delete the chunks ending in [lo, hi]. */
static int span_drop(MDB_txn *txn, MDB_dbi dbi, MDB_cursor *cur, unsigned fam, struct a128 lo,
		     struct a128 hi)
{
	for (;;) {
		struct a128 end;
		int rc = chunk_end_at(cur, fam, lo, MDB_SET_RANGE, &end);
		if (rc == WARD_EFORMAT || (rc == 0 && a_cmp(end, hi) > 0))
			return 0;
		if (rc)
			return rc;
		uint8_t key[17];
		key[0] = (uint8_t)fam;
		a_to(fam, end, key + 1);
		MDB_val k = { 1 + width(fam), key };
		if ((rc = ward_catdb_mdb_err(mdb_del(txn, dbi, &k, NULL))))
			return rc;
	}
}

static int span_redo(struct job *j, unsigned fam, struct a128 plo, struct a128 phi)
{
	MDB_cursor *cur;
	struct a128 lo, hi;
	int rc = ward_catdb_mdb_err(mdb_cursor_open(j->sp.txn, j->out.dbi, &cur));
	if (rc)
		return rc;
	rc = span_of(cur, fam, plo, phi, &lo, &hi);
	if (!rc)
		rc = span_drop(j->sp.txn, j->out.dbi, cur, fam, lo, hi);
	mdb_cursor_close(cur);
	j->sp.bits = fam == FAM4 ? j->lengths.v4 : j->lengths.v6;
	return rc ? rc : span_build(&j->sp, fam, lo, hi);
}

int ward_subidx_changed(struct ward_catdb *db, MDB_txn *txn, bool was_valid, unsigned fam,
			const uint8_t *addr, unsigned len)
{
	if (!was_valid)
		return ward_subidx_rebuild(db, txn);
	struct job *j;
	int rc = job_new(db, txn, &j);
	if (!rc)
		rc = vtab_load(db, txn, &j->vt);
	struct a128 plo = a_from(fam, addr);
	if (!rc)
		rc = span_redo(j, fam, plo, a_end(fam, plo, len));
	return j ? job_end(j, rc) : rc;
}
