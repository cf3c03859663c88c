/*
 * Upstream health and selection (resolver/upstream.c): a timeout counts against an
 * upstream only when it answered nothing since the try was sent; three counted failures
 * mark it down and an answer brings it back; selection prefers up, then strong, then fast
 * upstreams, then configured order, and never returns nothing while one is not skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "resolver/upstream.h"

#define T0 1000000ULL

static void init_n(struct ward_upstream *u, unsigned n)
{
	struct ward_addr a;
	for (unsigned i = 0; i < n; i++) {
		memset(&a, 0, sizeof(a));
		a.v4.sin_family = AF_INET;
		a.v4.sin_port = htons((uint16_t)(5300 + i));
		a.len = sizeof(a.v4);
		ward_upstream_init(&u[i], &a);
	}
}

static void test_down_and_back(void **state)
{
	struct ward_upstream u;
	init_n(&u, 1);
	assert_false(u.down);
	assert_false(ward_upstream_failed(&u, T0 + 100, T0, false));
	assert_false(ward_upstream_failed(&u, T0 + 200, T0 + 100, false));
	assert_true(ward_upstream_failed(&u, T0 + 300, T0 + 200, false)); /* third: down */
	assert_true(u.down);
	assert_false(ward_upstream_failed(&u, T0 + 400, T0 + 300, true)); /* already down */
	assert_int_equal(u.failures, 4);
	assert_true(ward_upstream_answered(&u, T0 + 500, 20));             /* back */
	assert_false(u.down);
	assert_int_equal(u.fails_since_answer, 0);
	assert_false(ward_upstream_answered(&u, T0 + 600, 20));
}

/* The case: names whose authorities never answer, while others are answered. */
static void test_slow_names_do_not_count(void **state)
{
	struct ward_upstream u;
	init_n(&u, 1);
	ward_upstream_answered(&u, T0, 5);
	for (int i = 1; i <= 100; i++) {
		/* A slow try sent at t, another name answered at t + 10, the timeout at t + 1500. */
		uint64_t t = T0 + (uint64_t)i * 1000;
		ward_upstream_answered(&u, t + 10, 5);
		assert_false(ward_upstream_failed(&u, t + 1500, t, false));
	}
	assert_false(u.down);
	assert_false(ward_upstream_weak(&u));
	assert_int_equal(u.slow_timeouts, 100);
	assert_int_equal(u.failures, 0);
	/* A definite failure (refused, reset) counts even while answers come. */
	assert_false(ward_upstream_failed(&u, T0 + 200000, T0 + 100000, true));
	assert_int_equal(u.failures, 1);
}

static void test_score_and_rtt(void **state)
{
	struct ward_upstream u;
	init_n(&u, 1);
	ward_upstream_answered(&u, T0, 100);
	assert_int_equal(u.srtt_ms, 100);
	assert_int_equal(u.rttvar_ms, 50);
	ward_upstream_answered(&u, T0 + 1, 20);
	assert_int_equal(u.srtt_ms, (7 * 100 + 20) / 8);
	assert_int_equal(u.rttvar_ms, (3 * 50 + 80) / 4);
	/* 0 ms on loopback still counts as a sample. */
	struct ward_upstream z;
	init_n(&z, 1);
	ward_upstream_answered(&z, T0, 0);
	assert_int_equal(z.srtt_ms, 1);
	/* A loss rate well over one half makes it weak, a run of answers strong again. */
	for (int i = 0; i < 40; i++) {
		uint64_t t = T0 + 1000 + (uint64_t)i * 10;
		if (i % 4 == 0)
			ward_upstream_answered(&u, t, 20);
		else
			ward_upstream_failed(&u, t + 5, t + 1, false);
	}
	assert_true(ward_upstream_weak(&u));
	for (int i = 0; i < 30; i++)
		ward_upstream_answered(&u, T0 + 5000 + (uint64_t)i, 20);
	assert_false(ward_upstream_weak(&u));
}

static void test_pick(void **state)
{
	struct ward_upstream u[4];
	init_n(u, 4);
	/* Ties: configured order; tried ones after untried; skipped never. */
	assert_int_equal(ward_upstream_pick(u, 4, 0, 0), 0);
	assert_int_equal(ward_upstream_pick(u, 4, 0, 1), 1);
	assert_int_equal(ward_upstream_pick(u, 4, 1, 0), 1);
	assert_int_equal(ward_upstream_pick(u, 4, 0, 0xf), 0);      /* a new round */
	assert_int_equal(ward_upstream_pick(u, 4, 0xf, 0), -1);
	assert_int_equal(ward_upstream_pick(u, 0, 0, 0), -1);
	/* Round-trip time in 50 ms bands. */
	ward_upstream_answered(&u[0], T0, 120);
	ward_upstream_answered(&u[1], T0, 30);
	ward_upstream_answered(&u[2], T0, 40);
	ward_upstream_answered(&u[3], T0, 45);
	assert_int_equal(ward_upstream_pick(u, 4, 0, 0), 1);
	assert_int_equal(ward_upstream_pick(u, 4, 0, 2), 2);
	assert_int_equal(ward_upstream_pick(u, 4, 0, 0xe), 0);
	/* Down ones only when nothing else is left. */
	for (int i = 0; i < 3; i++) {
		ward_upstream_failed(&u[1], T0 + 10 + i, T0 + 5, false);
		ward_upstream_failed(&u[2], T0 + 10 + i, T0 + 5, false);
	}
	assert_true(u[1].down && u[2].down);
	assert_int_equal(ward_upstream_pick(u, 4, 0, 0), 3);
	assert_int_equal(ward_upstream_pick(u, 4, 0, 0x9), 3);      /* 1, 2 down: reuse 3 */
	assert_int_equal(ward_upstream_pick(u, 4, 0x9, 0), 1);      /* only down ones left */
	assert_int_equal(ward_upstream_pick(u, 4, 0x9, 0x2), 2);
	/* Weak after strong, even when faster. */
	struct ward_upstream v[2];
	init_n(v, 2);
	ward_upstream_answered(&v[0], T0, 1);
	ward_upstream_answered(&v[1], T0, 200);
	v[0].score = 100;
	assert_int_equal(ward_upstream_pick(v, 2, 0, 0), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_down_and_back),
		cmocka_unit_test(test_slow_names_do_not_count),
		cmocka_unit_test(test_score_and_rtt),
		cmocka_unit_test(test_pick),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
