/*
 * The subscriber table (blocklists/subscribers.c): longest-prefix lookups against a
 * reference model over random prefixes of mixed lengths (IPv4, IPv6, IPv4-mapped
 * clients), the `longer_than` cut the JSON list uses, and set/remove keeping the lengths
 * in use right (a length whose last prefix goes is no longer asked for, and a reader sees
 * each change on its next refresh).
 *
 * The range index (subscribers_index.c): random interleaved set / remove / import of
 * nested prefixes of both families against a brute-force model, with tiny chunks so that
 * every change crosses chunk boundaries; lookups at the first and last address of prefixes
 * and one past them, with longer_than cuts. A database without an index (as an older ward
 * wrote it), or with one an older ward's write left stale, is answered from the table and
 * re-indexed by the next write; a damaged chunk fails the lookup; a snapshot installed on
 * another database is indexed there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <fcntl.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <lmdb.h>

#include <cmocka.h>

#include "blocklists/catdb.h"
#include "blocklists/error.h"
#include "blocklists/subscribers.h"

struct fixture {
	char dir[64];
	struct ward_catdb *db;
	struct ward_catdb_reader *r;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	strcpy(f->dir, "/tmp/ward-test-subs-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(0, ward_catdb_open(f->dir, WARD_CATDB_WRITE, &f->db));
	assert_int_equal(0, ward_catdb_reader_new(f->db, &f->r));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	ward_catdb_reader_free(f->r);
	ward_catdb_close(f->db);
	nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static struct sockaddr_storage sa(const char *text)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		assert_int_equal(1, inet_pton(AF_INET6, text, &a->sin6_addr));
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		assert_int_equal(1, inet_pton(AF_INET, text, &a->sin_addr));
	}
	return ss;
}

static const char *who(struct fixture *f, const char *addr, int longer_than)
{
	static struct ward_sub_match m;
	struct sockaddr_storage ss = sa(addr);
	assert_int_equal(0, ward_catdb_reader_refresh(f->r));
	assert_int_equal(0, ward_sub_lookup(f->r, (struct sockaddr *)&ss, longer_than, &m));
	return m.found ? m.profile : "-";
}

static void import_lines(struct fixture *f, const char *text)
{
	char path[96];
	snprintf(path, sizeof(path), "%s/subs.csv", f->dir);
	FILE *fp = fopen(path, "w");
	fputs(text, fp);
	fclose(fp);
	struct ward_sub_import_result res;
	int rc = ward_sub_import(f->db, path, NULL, &res);
	if (rc)
		fail_msg("import: %d line %llu %s", rc, (unsigned long long)res.line, res.why);
}

static void test_longest_prefix(void **state)
{
	struct fixture *f = *state;
	assert_string_equal(who(f, "10.1.2.3", -1), "-");
	import_lines(f, "10.0.0.0/8,a\n10.1.0.0/16,b\n10.1.2.0/24,c\n10.1.2.3,d\n0.0.0.0/0,z\n"
			"2001:db8::/32,v6a\n2001:db8:1::/48,v6b\n::/0,v6z\n");
	assert_string_equal(who(f, "10.1.2.3", -1), "d");
	assert_string_equal(who(f, "10.1.2.4", -1), "c");
	assert_string_equal(who(f, "10.1.3.4", -1), "b");
	assert_string_equal(who(f, "10.2.3.4", -1), "a");
	assert_string_equal(who(f, "11.0.0.1", -1), "z");
	assert_string_equal(who(f, "::ffff:10.1.2.3", -1), "d"); /* IPv4-mapped is IPv4 */
	assert_string_equal(who(f, "2001:db8:1::9", -1), "v6b");
	assert_string_equal(who(f, "2001:db8:2::9", -1), "v6a");
	assert_string_equal(who(f, "2001:db9::1", -1), "v6z");
	/* The JSON list matched /24 (96 + 24): only longer table prefixes count. */
	assert_string_equal(who(f, "10.1.2.3", 96 + 24), "d");
	assert_string_equal(who(f, "10.1.2.4", 96 + 24), "-");
	assert_string_equal(who(f, "10.1.2.4", 96 + 23), "c");
	assert_string_equal(who(f, "2001:db8:1::9", 48), "-");
	assert_string_equal(who(f, "2001:db8:1::9", 47), "v6b");
	uint64_t n;
	assert_int_equal(0, ward_sub_count(f->db, &n));
	assert_int_equal(n, 8);
}

static void test_set_remove_lengths(void **state)
{
	struct fixture *f = *state;
	struct ward_sub_entry e = { .profile = "kids", .allow = "Example.COM; b.test",
				    .deny = "x.test" };
	const char *why;
	assert_int_equal(0, ward_cidr_parse("192.0.2.0/24", &e.prefix));
	assert_int_equal(0, ward_sub_set(f->db, &e, &why));
	assert_string_equal(who(f, "192.0.2.9", -1), "kids");
	struct ward_sub_match m;
	struct sockaddr_storage ss = sa("192.0.2.9");
	assert_int_equal(0, ward_sub_lookup(f->r, (struct sockaddr *)&ss, -1, &m));
	assert_string_equal(m.allow, "example.com b.test"); /* lower-cased, one separator */
	assert_string_equal(m.deny, "x.test");
	e.profile = "teens";
	assert_int_equal(0, ward_sub_set(f->db, &e, &why)); /* replace, count stays 1 */
	assert_string_equal(who(f, "192.0.2.9", -1), "teens");
	uint64_t n;
	assert_int_equal(0, ward_sub_count(f->db, &n));
	assert_int_equal(n, 1);
	assert_int_equal(0, ward_cidr_parse("192.0.2.7", &e.prefix));
	assert_int_equal(0, ward_sub_set(f->db, &e, &why));
	assert_int_equal(0, ward_cidr_parse("192.0.2.0/24", &e.prefix));
	assert_int_equal(0, ward_sub_remove(f->db, &e.prefix));
	assert_int_equal(WARD_ENOTFOUND, ward_sub_remove(f->db, &e.prefix));
	assert_string_equal(who(f, "192.0.2.9", -1), "-");
	assert_string_equal(who(f, "192.0.2.7", -1), "teens");
	e.allow = "not..valid";
	assert_int_equal(WARD_EINVAL, ward_sub_set(f->db, &e, &why));
	e.allow = NULL;
	e.profile = "has,comma";
	assert_int_equal(WARD_EINVAL, ward_sub_set(f->db, &e, &why));
}

static void test_list_match(void **state)
{
	(void)state;
	char rule[64];
	const char *list = "example.com b.test x";
	assert_string_equal(ward_sub_list_match(list, "example.com", rule, sizeof(rule)),
			    "example.com");
	assert_string_equal(ward_sub_list_match(list, "www.example.com", rule, sizeof(rule)),
			    "example.com");
	assert_null(ward_sub_list_match(list, "ample.com", rule, sizeof(rule)));
	assert_null(ward_sub_list_match(list, "wexample.com", rule, sizeof(rule)));
	assert_string_equal(ward_sub_list_match(list, "a.b.test", rule, sizeof(rule)), "b.test");
	assert_string_equal(ward_sub_list_match(list, "y.x", rule, sizeof(rule)), "x");
	assert_null(ward_sub_list_match(list, "xx", rule, sizeof(rule)));
	assert_null(ward_sub_list_match("", "example.com", rule, sizeof(rule)));
}

/* Random prefixes against a linear reference: the same answer for random clients. */
struct ref { int fam; uint8_t addr[16]; unsigned len; char profile[8]; };

static bool ref_contains(const struct ref *r, int fam, const uint8_t *a)
{
	if (r->fam != fam)
		return false;
	for (unsigned i = 0; i < r->len; i++)
		if (((r->addr[i / 8] ^ a[i / 8]) >> (7 - i % 8)) & 1)
			return false;
	return true;
}

static void random_prefix(struct ref *r, unsigned i)
{
	r->fam = rand() % 3 ? AF_INET : AF_INET6;
	unsigned max = r->fam == AF_INET ? 32 : 128;
	static const unsigned v4_lens[] = { 8, 16, 20, 24, 30, 32 };
	static const unsigned v6_lens[] = { 32, 48, 56, 64, 128 };
	r->len = r->fam == AF_INET ? v4_lens[rand() % 6] : v6_lens[rand() % 5];
	memset(r->addr, 0, 16);
	r->addr[0] = r->fam == AF_INET ? 10 : 0x20;
	for (unsigned b = 8; b < r->len && b < max; b++)
		if (rand() % 4 == 0) /* sparse bits: many nested prefixes */
			r->addr[b / 8] |= (uint8_t)(0x80 >> (b % 8));
	snprintf(r->profile, sizeof(r->profile), "p%u", i);
}

static void test_random_against_reference(void **state)
{
	struct fixture *f = *state;
	enum { N = 400 };
	static struct ref refs[N];
	char *csv = malloc(N * 64), *o = csv;
	srand(12);
	unsigned n = 0;
	for (unsigned i = 0; i < N; i++) {
		random_prefix(&refs[n], i);
		bool dup = false;
		for (unsigned j = 0; j < n; j++)
			dup |= refs[j].fam == refs[n].fam && refs[j].len == refs[n].len &&
			       memcmp(refs[j].addr, refs[n].addr, 16) == 0;
		if (dup)
			continue;
		char text[64];
		inet_ntop(refs[n].fam, refs[n].addr, text, sizeof(text));
		o += sprintf(o, "%s/%u,%s\n", text, refs[n].len, refs[n].profile);
		n++;
	}
	import_lines(f, csv);
	free(csv);
	for (unsigned t = 0; t < 3000; t++) {
		struct ref c;
		random_prefix(&c, 0);
		const struct ref *best = NULL;
		for (unsigned j = 0; j < n; j++)
			if (ref_contains(&refs[j], c.fam, c.addr) && (!best || refs[j].len > best->len))
				best = &refs[j];
		char text[64];
		inet_ntop(c.fam, c.addr, text, sizeof(text));
		assert_string_equal(who(f, text, -1), best ? best->profile : "-");
	}
}


/* ---- the range index against a brute-force model --------------------------------------- */

struct ment {
	int fam;
	uint8_t addr[16];
	unsigned len;
	char profile[8];
	bool names;           /* carries allow names: the index refers to the table */
};

#define MODEL_MAX 1200
static struct ment model[MODEL_MAX];
static unsigned model_n;

static bool covers(const struct ment *e, int fam, const uint8_t *a)
{
	if (e->fam != fam)
		return false;
	unsigned full = e->len / 8, rest = e->len % 8;
	if (memcmp(e->addr, a, full) != 0)
		return false;
	return rest == 0 || ((e->addr[full] ^ a[full]) & (uint8_t)(0xFF << (8 - rest))) == 0;
}

static const struct ment *model_best(int fam, const uint8_t *a, int longer_than)
{
	const struct ment *best = NULL;
	int shift = fam == AF_INET ? 96 : 0;
	for (unsigned i = 0; i < model_n; i++)
		if ((int)model[i].len + shift > longer_than && covers(&model[i], fam, a) &&
		    (!best || model[i].len > best->len))
			best = &model[i];
	return best;
}

static int model_find(const struct ment *e)
{
	for (unsigned i = 0; i < model_n; i++)
		if (model[i].fam == e->fam && model[i].len == e->len &&
		    memcmp(model[i].addr, e->addr, 16) == 0)
			return (int)i;
	return -1;
}

static void mask(uint8_t *a, unsigned len, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++) {
		unsigned bits = len > i * 8 ? len - i * 8 : 0;
		a[i] &= bits >= 8 ? 0xFF : (uint8_t)(0xFF << (8 - bits));
	}
}

/* An address in a small region (so prefixes nest and touch), sometimes anywhere, sometimes
 * at the ends of the space. */
static void random_addr(int fam, uint8_t a[16])
{
	unsigned n = fam == AF_INET ? 4 : 16, kind = (unsigned)rand() % 10;
	memset(a, 0, 16);
	for (unsigned i = 0; i < n; i++)
		a[i] = (uint8_t)rand();
	if (kind == 0)
		memset(a, 0, n);
	else if (kind == 1)
		memset(a, 0xFF, n);
	else if (kind < 8 && fam == AF_INET)
		a[0] = 10, a[1] &= 3, a[2] &= 7;
	else if (kind < 8)
		a[0] = 0x20, a[1] = 0x01, a[2] = 0x0d, a[3] = 0xb8, a[4] &= 3, a[5] &= 7,
		memset(a + 6, 0, 8);
}

static void random_ment(struct ment *e)
{
	static const unsigned v4[] = { 0, 1, 7, 8, 9, 15, 16, 17, 21, 23, 24, 25, 28, 30, 31, 32, 32 };
	static const unsigned v6[] = { 0, 16, 32, 33, 36, 45, 48, 56, 63, 64, 65, 96, 127, 128 };
	memset(e, 0, sizeof(*e));
	e->fam = rand() % 3 ? AF_INET : AF_INET6;
	e->len = e->fam == AF_INET ? v4[rand() % 17] : v6[rand() % 14];
	random_addr(e->fam, e->addr);
	mask(e->addr, e->len, 16);
	snprintf(e->profile, sizeof(e->profile), "p%d", rand() % 5);
	e->names = rand() % 8 == 0;
}

static void ment_cidr(const struct ment *e, struct ward_cidr *c)
{
	c->family = e->fam;
	memcpy(c->addr, e->addr, 16);
	c->prefix = (uint8_t)e->len;
}

static void model_set(struct fixture *f, const struct ment *e)
{
	struct ward_sub_entry w = { .profile = e->profile, .allow = e->names ? "x.test" : NULL };
	const char *why;
	ment_cidr(e, &w.prefix);
	assert_int_equal(0, ward_sub_set(f->db, &w, &why));
	int i = model_find(e);
	if (i >= 0)
		model[i] = *e;
	else if (model_n < MODEL_MAX)
		model[model_n++] = *e;
	else
		fail_msg("model full");
}

static void model_remove(struct fixture *f, const struct ment *e)
{
	struct ward_cidr c;
	ment_cidr(e, &c);
	int i = model_find(e);
	assert_int_equal(i >= 0 ? 0 : WARD_ENOTFOUND, ward_sub_remove(f->db, &c));
	if (i >= 0)
		model[i] = model[--model_n];
}

static void model_import(struct fixture *f, unsigned n)
{
	char *csv = malloc(n * 80 + 1), *o = csv;
	*o = 0;
	model_n = 0;
	for (unsigned i = 0; i < n; i++) {
		struct ment e;
		random_ment(&e);
		if (model_find(&e) >= 0)
			continue;
		model[model_n++] = e;
		char text[64];
		inet_ntop(e.fam, e.addr, text, sizeof(text));
		o += sprintf(o, "%s/%u,%s%s\n", text, e.len, e.profile, e.names ? ",x.test" : "");
	}
	import_lines(f, csv);
	free(csv);
}

/* Step a (4- or 16-byte) address by one; false when it wraps. */
static bool step(uint8_t *a, unsigned n, int dir)
{
	for (unsigned i = n; i-- > 0;) {
		a[i] = (uint8_t)(a[i] + dir);
		if (a[i] != (dir > 0 ? 0 : 0xFF))
			return true;
	}
	return false;
}

/* A client: random, or at an edge of a prefix of the model (first, last, one outside). */
static void random_client(int *fam, uint8_t a[16])
{
	unsigned kind = (unsigned)rand() % 6;
	if (model_n == 0 || kind == 0) {
		*fam = rand() % 3 ? AF_INET : AF_INET6;
		random_addr(*fam, a);
		return;
	}
	const struct ment *e = &model[(unsigned)rand() % model_n];
	unsigned n = e->fam == AF_INET ? 4 : 16;
	*fam = e->fam;
	memcpy(a, e->addr, 16);
	if (kind >= 3) /* the last address */
		for (unsigned b = e->len; b < n * 8; b++)
			a[b / 8] |= (uint8_t)(0x80 >> (b % 8));
	if (kind == 2 || kind == 5) {
		uint8_t save[16];
		memcpy(save, a, 16);
		if (!step(a, n, kind == 2 ? -1 : 1))
			memcpy(a, save, 16);
	}
}

static void check_one(struct fixture *f, int fam, const uint8_t *a, int longer_than)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (fam == AF_INET6 || rand() % 8 == 0) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		if (fam == AF_INET) /* IPv4-mapped */
			s6->sin6_addr.s6_addr[10] = s6->sin6_addr.s6_addr[11] = 0xFF;
		memcpy(s6->sin6_addr.s6_addr + (fam == AF_INET ? 12 : 0), a, fam == AF_INET ? 4 : 16);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, a, 4);
	}
	struct ward_sub_match m;
	assert_int_equal(0, ward_sub_lookup(f->r, (struct sockaddr *)&ss, longer_than, &m));
	const struct ment *best = model_best(fam, a, longer_than);
	char text[64];
	inet_ntop(fam, a, text, sizeof(text));
	if (!best != !m.found || (best && (strcmp(best->profile, m.profile) != 0 ||
					   best->len != m.prefix_len ||
					   strcmp(m.allow, best->names ? "x.test" : "") != 0)))
		fail_msg("%s (longer than %d): got %s/%u, want %s/%u", text, longer_than,
			 m.found ? m.profile : "-", m.found ? m.prefix_len : 0,
			 best ? best->profile : "-", best ? best->len : 0);
}

static void check_model(struct fixture *f, unsigned n)
{
	assert_int_equal(0, ward_catdb_reader_refresh(f->r));
	for (unsigned t = 0; t < n; t++) {
		int fam;
		uint8_t a[16];
		random_client(&fam, a);
		int lt = rand() % 3 ? -1 : rand() % 130 - 1;
		check_one(f, fam, a, lt);
	}
}

static void random_step(struct fixture *f)
{
	unsigned op = (unsigned)rand() % 20;
	struct ment e;
	if (op == 0) {
		model_import(f, (unsigned)rand() % 400);
	} else if (op < 8 && model_n > 0) {
		e = model[(unsigned)rand() % model_n];
		model_remove(f, &e);
	} else if (op == 8) {
		random_ment(&e);
		model_remove(f, &e); /* mostly not there: WARD_ENOTFOUND */
	} else if (op < 12 && model_n > 0) {
		e = model[(unsigned)rand() % model_n];
		snprintf(e.profile, sizeof(e.profile), "q%d", rand() % 5);
		e.names = rand() % 4 == 0;
		model_set(f, &e);
	} else {
		random_ment(&e);
		model_set(f, &e);
	}
}

static void test_index_against_model(void **state)
{
	struct fixture *f = *state;
	static const unsigned caps[] = { 2, 3, 7, 0 };
	srand(2026);
	for (unsigned round = 0; round < 4; round++) {
		ward_sub_test_set_chunk_cap(caps[round]);
		model_import(f, 300);
		check_model(f, 1500);
		assert_true(ward_sub_indexed(f->r));
		for (unsigned s = 0; s < 150; s++) {
			random_step(f);
			check_model(f, 400);
		}
		assert_true(ward_sub_indexed(f->r));
	}
	ward_sub_test_set_chunk_cap(0);
}

/* ---- databases an older ward wrote, damaged chunks, snapshots --------------------------- */

/* With the database closed: what an older ward leaves. drop_index: no index at all (it
 * never made one); else a prefix added behind the index's back. */
static void raw_edit(struct fixture *f, bool drop_index)
{
	ward_catdb_reader_free(f->r);
	ward_catdb_close(f->db);
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi meta, subs, idx;
	assert_int_equal(0, mdb_env_create(&env));
	assert_int_equal(0, mdb_env_set_maxdbs(env, 16));
	assert_int_equal(0, mdb_env_set_mapsize(env, (size_t)1 << 30));
	assert_int_equal(0, mdb_env_open(env, f->dir, 0, 0640));
	assert_int_equal(0, mdb_txn_begin(env, NULL, 0, &txn));
	assert_int_equal(0, mdb_dbi_open(txn, "meta", 0, &meta));
	assert_int_equal(0, mdb_dbi_open(txn, "subscribers", 0, &subs));
	assert_int_equal(0, mdb_dbi_open(txn, "sub_index", 0, &idx));
	if (drop_index) {
		assert_int_equal(0, mdb_drop(txn, idx, 1));
		MDB_val k1 = { 9, "sub_index" }, k2 = { 10, "sub_values" };
		assert_int_equal(0, mdb_del(txn, meta, &k1, NULL));
		assert_int_equal(0, mdb_del(txn, meta, &k2, NULL));
	} else {
		/* 10.3.7.77/32 -> "old", as an older ward's `set` writes it (length 32 is in
		 * use already: the model's prefixes include /32s). */
		uint8_t key[6] = { 4, 32, 10, 3, 7, 77 }, val[4] = { 3, 'o', 'l', 'd' };
		MDB_val k = { 6, key }, v = { 4, val };
		assert_int_equal(0, mdb_put(txn, subs, &k, &v, 0));
		struct ment e = { .fam = AF_INET, .addr = { 10, 3, 7, 77 }, .len = 32 };
		strcpy(e.profile, "old");
		if (model_find(&e) < 0)
			model[model_n++] = e;
	}
	assert_int_equal(0, mdb_txn_commit(txn));
	mdb_env_close(env);
}

static void reopen(struct fixture *f, enum ward_catdb_mode mode)
{
	assert_int_equal(0, ward_catdb_open(f->dir, mode, &f->db));
	assert_int_equal(0, ward_catdb_reader_new(f->db, &f->r));
}

static void import_with_v4_32(struct fixture *f)
{
	srand(7);
	model_import(f, 300);
	struct ment e = { .fam = AF_INET, .addr = { 10, 3, 7, 76 }, .len = 32 };
	strcpy(e.profile, "p1");
	model_set(f, &e);
}

static void test_old_database(void **state)
{
	struct fixture *f = *state;
	import_with_v4_32(f);
	assert_int_equal(0, ward_catdb_reader_refresh(f->r));
	assert_true(ward_sub_indexed(f->r));
	raw_edit(f, true);
	/* Read by wardd as it is: no index table, answers from the prefix table. */
	reopen(f, WARD_CATDB_READ);
	assert_false(ward_sub_indexed(f->r));
	check_model(f, 3000);
	ward_catdb_reader_free(f->r);
	ward_catdb_close(f->db);
	/* A writer's open creates the index table, empty: still not used. */
	reopen(f, WARD_CATDB_WRITE);
	assert_false(ward_sub_indexed(f->r));
	check_model(f, 1000);
	/* The next change indexes the whole table. */
	struct ment e = model[0];
	strcpy(e.profile, "new");
	model_set(f, &e);
	assert_int_equal(0, ward_catdb_reader_refresh(f->r));
	assert_true(ward_sub_indexed(f->r));
	check_model(f, 3000);
}

static void test_stale_index(void **state)
{
	struct fixture *f = *state;
	import_with_v4_32(f);
	raw_edit(f, false); /* an older ward added 10.3.7.77 */
	reopen(f, WARD_CATDB_WRITE);
	assert_false(ward_sub_indexed(f->r));
	check_model(f, 2000);
	assert_string_equal(who(f, "10.3.7.77", -1), "old");
	struct ment e = model[0];
	model_remove(f, &e);
	assert_int_equal(0, ward_catdb_reader_refresh(f->r));
	assert_true(ward_sub_indexed(f->r));
	assert_string_equal(who(f, "10.3.7.77", -1), "old");
	check_model(f, 2000);
}

/* With the database closed: the first byte of the sub_index value at or after key
 * (1 byte) changed in place (same size: the tables keep their shape). */
static void damage(struct fixture *f, uint8_t first_key)
{
	ward_catdb_reader_free(f->r);
	ward_catdb_close(f->db);
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi idx;
	MDB_cursor *cur;
	MDB_val k = { 1, &first_key }, v;
	assert_int_equal(0, mdb_env_create(&env));
	assert_int_equal(0, mdb_env_set_maxdbs(env, 16));
	assert_int_equal(0, mdb_env_open(env, f->dir, 0, 0640));
	assert_int_equal(0, mdb_txn_begin(env, NULL, 0, &txn));
	assert_int_equal(0, mdb_dbi_open(txn, "sub_index", 0, &idx));
	assert_int_equal(0, mdb_cursor_open(txn, idx, &cur));
	assert_int_equal(0, mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE));
	uint8_t *copy = malloc(v.mv_size);
	memcpy(copy, v.mv_data, v.mv_size);
	copy[0] ^= 0x08; /* a chunk: another version; the mark: another mark */
	MDB_val nv = { v.mv_size, copy };
	assert_int_equal(0, mdb_cursor_put(cur, &k, &nv, MDB_CURRENT));
	mdb_cursor_close(cur);
	assert_int_equal(0, mdb_txn_commit(txn));
	mdb_env_close(env);
	free(copy);
	reopen(f, WARD_CATDB_READ);
}

/* A damaged chunk fails the lookups that land in it: none answers from it. */
static void test_damaged_chunk(void **state)
{
	struct fixture *f = *state;
	import_lines(f, "10.0.0.0/8,a\n10.1.2.3,b\n");
	assert_string_equal(who(f, "10.1.2.3", -1), "b");
	damage(f, 4); /* the IPv4 chunk */
	assert_true(ward_sub_indexed(f->r));
	struct ward_sub_match m;
	struct sockaddr_storage ss = sa("10.1.2.3");
	assert_int_equal(WARD_EFORMAT, ward_sub_lookup(f->r, (struct sockaddr *)&ss, -1, &m));
	assert_false(m.found);
	ss = sa("2001:db8::1"); /* the IPv6 chunk is intact */
	assert_int_equal(0, ward_sub_lookup(f->r, (struct sockaddr *)&ss, -1, &m));
	assert_false(m.found);
}

/* An index whose mark is not the stamp's (a stamp copied in with another database's meta,
 * as an older ward's snapshot install does) is not used. */
static void test_foreign_mark(void **state)
{
	struct fixture *f = *state;
	import_lines(f, "10.0.0.0/8,a\n10.1.2.3,b\n");
	damage(f, 0);
	assert_false(ward_sub_indexed(f->r));
	assert_string_equal(who(f, "10.1.2.3", -1), "b");
	assert_string_equal(who(f, "10.1.2.4", -1), "a");
}

static void test_snapshot_installed(void **state)
{
	struct fixture *f = *state;
	srand(99);
	model_import(f, 400);
	char snap[96], dir2[64] = "/tmp/ward-test-subs2-XXXXXX";
	snprintf(snap, sizeof(snap), "%s/snap.mdb", f->dir);
	int fd = open(snap, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(0, ward_catdb_copy_compact(f->db, fd));
	close(fd);
	assert_non_null(mkdtemp(dir2));
	struct ward_catdb *db2;
	struct ward_catdb_reader *r2;
	assert_int_equal(0, ward_catdb_open(dir2, WARD_CATDB_WRITE, &db2));
	assert_int_equal(0, ward_catdb_install_snapshot(db2, snap, 1));
	assert_int_equal(0, ward_catdb_reader_new(db2, &r2));
	assert_true(ward_sub_indexed(r2));
	struct ward_catdb_reader *mine = f->r;
	f->r = r2; /* check the model against the node's copy */
	check_model(f, 3000);
	f->r = mine;
	ward_catdb_reader_free(r2);
	ward_catdb_close(db2);
	nftw(dir2, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* The map moves (a writer in this process grew it) under a reader that holds the index's
 * values: its next lookup loads them again, from the map where it is now. */
static void test_remap_under_reader(void **state)
{
	struct fixture *f = *state;
	ward_catdb_reader_free(f->r);
	ward_catdb_close(f->db);
	ward_catdb_test_set_mapsize((size_t)1 << 20);
	reopen(f, WARD_CATDB_WRITE);
	ward_catdb_test_set_mapsize(0);
	import_lines(f, "10.0.0.0/8,a\n10.1.2.3,b\n2001:db8::/32,c\n");
	assert_string_equal(who(f, "10.1.2.3", -1), "b");
	char *csv = malloc(40000 * 32), *o = csv;
	for (unsigned i = 0; i < 40000; i++)
		o += sprintf(o, "172.%u.%u.%u,p%u\n", 16 + i / 65536, i / 256 % 256, i % 256, i % 7);
	import_lines(f, csv); /* several MiB: the map doubles, more than once */
	free(csv);
	struct ward_sub_match m;
	struct sockaddr_storage ss = sa("10.1.2.3"); /* the reader's snapshot: the old table */
	assert_int_equal(0, ward_sub_lookup(f->r, (struct sockaddr *)&ss, -1, &m));
	assert_string_equal(m.profile, "b");
	ss = sa("2001:db8::9");
	assert_int_equal(0, ward_sub_lookup(f->r, (struct sockaddr *)&ss, -1, &m));
	assert_string_equal(m.profile, "c");
	assert_string_equal(who(f, "172.16.1.2", -1), "p6"); /* refreshed: the new table */
	assert_string_equal(who(f, "10.1.2.3", -1), "-");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_longest_prefix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_remove_lengths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_against_reference, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_against_model, setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_database, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_chunk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_mark, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remap_under_reader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_installed, setup, teardown),
		cmocka_unit_test(test_list_match),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
