/*
 * The subscriber table (blocklists/subscribers.c): longest-prefix lookups against a
 * reference model over random prefixes of mixed lengths (IPv4, IPv6, IPv4-mapped
 * clients), the `longer_than` cut the JSON list uses, and set/remove keeping the lengths
 * in use right (a length whose last prefix goes is no longer asked for, and a reader sees
 * each change on its next refresh).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <arpa/inet.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_longest_prefix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_remove_lengths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_against_reference, setup, teardown),
		cmocka_unit_test(test_list_match),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
