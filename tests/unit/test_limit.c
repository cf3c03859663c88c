/*
 * Per-client limits (resolver/limit.c): client keys and their prefixes, the response rate
 * limiter's token bucket and slip, and the per-client counters under churn, checked
 * against a plain reference model.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "resolver/limit.h"

#define T0 1000000ULL

static struct ward_client_key key_of(const char *text, unsigned v4, unsigned v6)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct ward_client_key k;
	if (strchr(text, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, text, &a->sin6_addr), 1);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, text, &a->sin_addr), 1);
	}
	ward_client_key_make(&k, (struct sockaddr *)&ss, v4, v6);
	return k;
}

static bool same(const char *a, const char *b, unsigned v4, unsigned v6)
{
	struct ward_client_key ka = key_of(a, v4, v6), kb = key_of(b, v4, v6);
	return ward_client_key_equal(&ka, &kb);
}

static void test_keys(void **state)
{
	assert_true(same("192.0.2.1", "192.0.2.200", 24, 56));
	assert_false(same("192.0.2.1", "192.0.3.1", 24, 56));
	assert_false(same("192.0.2.1", "192.0.2.2", 32, 64));
	assert_true(same("192.0.2.1", "::ffff:192.0.2.9", 24, 56));   /* v4-mapped is v4 */
	assert_false(same("192.0.2.1", "::ffff:192.0.3.9", 24, 56));
	assert_true(same("2001:db8:0:ff::1", "2001:db8:0:aa::2", 24, 56));
	assert_false(same("2001:db8:0:100::1", "2001:db8:0:200::1", 24, 56));
	assert_true(same("2001:db8::1", "2001:db8::ffff:1", 32, 64));
	assert_false(same("2001:db8:0:1::1", "2001:db8:0:2::1", 32, 64));
	assert_true(same("2001:db8::1", "2001:db8::1", 32, 128));
	assert_false(same("2001:db8::1", "2001:db8::2", 32, 128));
	assert_true(same("10.1.2.3", "192.168.0.1", 0, 56));            /* /0: one bucket */
	assert_false(same("10.1.2.3", "::1", 0, 0));                     /* but per family */
	assert_true(same("2001:db8::1", "fe80::1", 24, 0));
	/* An out-of-range prefix is clamped, not undefined. */
	assert_false(same("192.0.2.1", "192.0.2.2", 99, 200));
	struct sockaddr other = { .sa_family = AF_UNIX };
	struct ward_client_key k;
	ward_client_key_make(&k, &other, 24, 56);
	assert_true(k.hi == 0 && k.lo == 0);
}

static void test_rrl_bucket_and_slip(void **state)
{
	struct ward_rrl *r = ward_rrl_new();
	assert_non_null(r);
	struct ward_client_key a = key_of("192.0.2.1", 24, 56), b = key_of("198.51.100.1", 24, 56);
	for (int i = 0; i < 10; i++)
		assert_int_equal(ward_rrl_check(r, &a, T0, 10, 2), WARD_RRL_PASS);
	/* Empty: every second limited answer slips, starting with the second. */
	assert_int_equal(ward_rrl_check(r, &a, T0, 10, 2), WARD_RRL_DROP);
	assert_int_equal(ward_rrl_check(r, &a, T0, 10, 2), WARD_RRL_SLIP);
	assert_int_equal(ward_rrl_check(r, &a, T0, 10, 2), WARD_RRL_DROP);
	assert_int_equal(ward_rrl_check(r, &a, T0, 10, 2), WARD_RRL_SLIP);
	/* Another prefix has its own bucket. */
	assert_int_equal(ward_rrl_check(r, &b, T0, 10, 2), WARD_RRL_PASS);
	/* 10/s: one answer per 100 ms, not before. */
	assert_int_equal(ward_rrl_check(r, &a, T0 + 99, 10, 0), WARD_RRL_DROP);
	assert_int_equal(ward_rrl_check(r, &a, T0 + 100, 10, 0), WARD_RRL_PASS);
	assert_int_equal(ward_rrl_check(r, &a, T0 + 100, 10, 0), WARD_RRL_DROP);
	/* After a long pause the bucket holds one second's worth, no more. */
	unsigned passed = 0;
	for (int i = 0; i < 50; i++)
		passed += ward_rrl_check(r, &a, T0 + 3600000, 10, 0) == WARD_RRL_PASS;
	assert_int_equal(passed, 10);
	/* slip 1: every limited answer is TC; slip 0: none. */
	assert_int_equal(ward_rrl_check(r, &a, T0 + 3600000, 10, 1), WARD_RRL_SLIP);
	assert_int_equal(ward_rrl_check(r, &a, T0 + 3600000, 10, 0), WARD_RRL_DROP);
	/* A lower rate after a reload caps what the bucket holds. */
	passed = 0;
	for (int i = 0; i < 50; i++)
		passed += ward_rrl_check(r, &b, T0 + 7200000, 3, 0) == WARD_RRL_PASS;
	assert_int_equal(passed, 3);
	ward_rrl_free(r);
}

/* A steady rate is what passes over time, whatever the clock granularity. */
static void test_rrl_steady_rate(void **state)
{
	struct ward_rrl *r = ward_rrl_new();
	struct ward_client_key a = key_of("203.0.113.7", 24, 56);
	unsigned passed = 0;
	/* 10 seconds of a query every millisecond at 250/s: 250 burst + 2500. */
	for (uint64_t t = 0; t < 10000; t++)
		passed += ward_rrl_check(r, &a, T0 + t, 250, 2) == WARD_RRL_PASS;
	assert_in_range(passed, 2740, 2760);
	ward_rrl_free(r);
}

/* Many more prefixes than entries: old ones are evicted, never wrongly limited. */
static void test_rrl_eviction(void **state)
{
	struct ward_rrl *r = ward_rrl_new();
	for (uint32_t i = 0; i < 4 * WARD_RRL_ENTRIES; i++) {
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(i << 8) };
		struct ward_client_key k;
		ward_client_key_make(&k, (struct sockaddr *)&sin, 24, 56);
		assert_int_equal(ward_rrl_check(r, &k, T0 + i, 1, 0), WARD_RRL_PASS);
	}
	ward_rrl_free(r);
}

static void test_counts_limit(void **state)
{
	struct ward_client_counts *t = ward_client_counts_new(4);
	struct ward_client_key a = key_of("192.0.2.1", 32, 64), b = key_of("192.0.2.2", 32, 64);
	struct ward_client_key c = key_of("192.0.2.3", 32, 64), d = key_of("192.0.2.4", 32, 64);
	struct ward_client_key e = key_of("192.0.2.5", 32, 64), never = key_of("192.0.2.77", 32, 64);
	for (int i = 0; i < 3; i++)
		assert_true(ward_client_counts_take(t, &a, 3));
	assert_false(ward_client_counts_take(t, &a, 3));
	assert_int_equal(ward_client_counts_get(t, &a), 3);
	assert_true(ward_client_counts_take(t, &b, 3));
	ward_client_counts_put(t, &a);
	assert_true(ward_client_counts_take(t, &a, 3));
	assert_false(ward_client_counts_take(t, &a, 3));
	assert_false(ward_client_counts_take(t, &e, 0)); /* a limit of 0 takes nothing */
	/* Putting back what was never taken changes nothing. */
	ward_client_counts_put(t, &never);
	assert_int_equal(ward_client_counts_get(t, &never), 0);
	/* At most max_clients keys at once. */
	assert_true(ward_client_counts_take(t, &c, 3));
	assert_true(ward_client_counts_take(t, &d, 3));
	assert_false(ward_client_counts_take(t, &e, 3));
	ward_client_counts_put(t, &b);
	assert_int_equal(ward_client_counts_get(t, &b), 0);
	assert_true(ward_client_counts_take(t, &e, 3));
	ward_client_counts_free(t);
}

/* Random takes and puts over 6000 keys in a table for 4096: every count always matches a
 * plain array, through thousands of deletions (backward shifts). */
static void test_counts_churn(void **state)
{
	enum { KEYS = 6000, MAX = 4096, LIMIT = 5 };
	struct ward_client_counts *t = ward_client_counts_new(MAX);
	static uint32_t ref[KEYS];
	unsigned live = 0;
	srandom(7);
	for (int step = 0; step < 400000; step++) {
		uint32_t i = (uint32_t)random() % KEYS;
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(i) };
		struct ward_client_key k;
		ward_client_key_make(&k, (struct sockaddr *)&sin, 32, 64);
		if (random() & 1) {
			bool want = ref[i] < LIMIT && (ref[i] || live < MAX);
			assert_int_equal(ward_client_counts_take(t, &k, LIMIT), want);
			if (want && ref[i]++ == 0)
				live++;
		} else {
			ward_client_counts_put(t, &k);
			if (ref[i] && --ref[i] == 0)
				live--;
		}
		assert_int_equal(ward_client_counts_get(t, &k), ref[i]);
	}
	for (uint32_t i = 0; i < KEYS; i++) {
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(i) };
		struct ward_client_key k;
		ward_client_key_make(&k, (struct sockaddr *)&sin, 32, 64);
		assert_int_equal(ward_client_counts_get(t, &k), ref[i]);
	}
	ward_client_counts_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_rrl_bucket_and_slip),
		cmocka_unit_test(test_rrl_steady_rate),
		cmocka_unit_test(test_rrl_eviction),
		cmocka_unit_test(test_counts_limit),
		cmocka_unit_test(test_counts_churn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
