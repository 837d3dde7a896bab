// SPDX-License-Identifier: BSD-2-Clause
/*
 * Check suite for the IHMP rate limiter (ratelimit.c), on a fake clock:
 * burst and refill arithmetic (also over huge gaps and a clock that goes
 * back), prefix grouping for IPv4 and IPv6, the global bucket and who pays
 * when it refuses, a table that never grows under a million spoofed
 * sources, and the eviction policy: a limited flooder stays limited however
 * many spoofed sources compete for its slot, and idle entries go first.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dime/ratelimit.h"
#include "testutil.h"

static struct ratelimit_config cfg(uint32_t rate, uint32_t burst, uint32_t grate,
				   uint32_t gburst, uint32_t slots)
{
	struct ratelimit_config c = RATELIMIT_CONFIG_DEFAULTS;

	c.rate = rate;
	c.burst = burst;
	c.global_rate = grate;
	c.global_burst = gburst;
	c.slots = slots;
	c.seed = 12345;
	return c;
}

static struct ratelimit *make(const struct ratelimit_config *c)
{
	struct ratelimit *rl = NULL;

	ck_assert_int_eq(ratelimit_new(&rl, c), 0);
	return rl;
}

/* Send until refused at now; how many passed. */
static unsigned int drain(struct ratelimit *rl, const struct dime_addr *a, uint64_t now)
{
	unsigned int n = 0;

	while (ratelimit_check(rl, a, now) == RATELIMIT_PASS && n < 1000000)
		n++;
	return n;
}

START_TEST(test_config)
{
	struct ratelimit_config good = cfg(10, 20, 100, 200, 64), c;
	struct ratelimit *rl = NULL;

	c = good, c.rate = 0;
	ck_assert_int_eq(ratelimit_new(&rl, &c), -EINVAL);
	c = good, c.burst = 0;
	ck_assert_int_eq(ratelimit_new(&rl, &c), -EINVAL);
	c = good, c.global_burst = 0;
	ck_assert_int_eq(ratelimit_new(&rl, &c), -EINVAL);
	c = good, c.v4_prefix = 0;
	ck_assert_int_eq(ratelimit_new(&rl, &c), -EINVAL);
	c = good, c.v4_prefix = 33;
	ck_assert_int_eq(ratelimit_new(&rl, &c), -EINVAL);
	c = good, c.v6_prefix = 129;
	ck_assert_int_eq(ratelimit_new(&rl, &c), -EINVAL);
	c = good, c.slots = 96;
	ck_assert_int_eq(ratelimit_new(&rl, &c), -EINVAL);
	c = good, c.slots = RATELIMIT_WAYS / 2;
	ck_assert_int_eq(ratelimit_new(&rl, &c), -EINVAL);
	c = good, c.slots = RATELIMIT_SLOTS_MAX * 2;
	ck_assert_int_eq(ratelimit_new(&rl, &c), -EINVAL);
	ck_assert_ptr_null(rl);
	ck_assert_int_eq(ratelimit_new(NULL, &good), -EINVAL);
	/* No global bucket needs no global burst. */
	c = good, c.global_rate = 0, c.global_burst = 0;
	ck_assert_int_eq(ratelimit_new(&rl, &c), 0);
	ratelimit_free(rl);
	c = (struct ratelimit_config)RATELIMIT_CONFIG_DEFAULTS;
	ck_assert_int_eq(ratelimit_new(&rl, &c), 0);
	ratelimit_free(rl);
	ratelimit_free(NULL);
}
END_TEST

START_TEST(test_burst_and_refill)
{
	struct ratelimit_config c = cfg(10, 5, 0, 0, 64);
	struct ratelimit *rl = make(&c);
	const struct dime_addr *a = AP("192.0.2.1");

	ck_assert_uint_eq(drain(rl, a, 1000), 5);
	ck_assert_int_eq(ratelimit_check(rl, a, 1000), RATELIMIT_SOURCE);
	/* 10/s: one token per 100 ms, never a fraction early. */
	ck_assert_int_eq(ratelimit_check(rl, a, 1099), RATELIMIT_SOURCE);
	ck_assert_int_eq(ratelimit_check(rl, a, 1100), RATELIMIT_PASS);
	ck_assert_int_eq(ratelimit_check(rl, a, 1100), RATELIMIT_SOURCE);
	/* Refusals cost nothing: still one token per 100 ms. */
	ck_assert_int_eq(ratelimit_check(rl, a, 1200), RATELIMIT_PASS);
	/* A long gap fills up to the burst, no further. */
	ck_assert_uint_eq(drain(rl, a, 100000), 5);
	/* A clock that goes back refills nothing and breaks nothing. */
	ck_assert_int_eq(ratelimit_check(rl, a, 50), RATELIMIT_SOURCE);
	ck_assert_int_eq(ratelimit_check(rl, a, 100050), RATELIMIT_SOURCE);
	ck_assert_int_eq(ratelimit_check(rl, a, 100100), RATELIMIT_PASS);
	/* Gaps that would overflow a naive elapsed * rate. */
	ck_assert_uint_eq(drain(rl, a, UINT64_MAX / 2), 5);
	ck_assert_uint_eq(drain(rl, a, UINT64_MAX), 5);
	ck_assert_uint_eq(ratelimit_stats(rl)->passed, 5 + 1 + 1 + 5 + 1 + 5 + 5);
	ratelimit_free(rl);
}
END_TEST

START_TEST(test_high_rate_fractions)
{
	/* 1500/s is 1.5 per ms: 3 every 2 ms, exactly. */
	struct ratelimit_config c = cfg(1500, 3, 0, 0, 64);
	struct ratelimit *rl = make(&c);
	const struct dime_addr *a = AP("2001:db8::1");
	unsigned int total = drain(rl, a, 0);

	for (uint64_t t = 1; t <= 1000; t++)
		total += drain(rl, a, t);
	ck_assert_uint_eq(total, 3 + 1500);
	ratelimit_free(rl);
}
END_TEST

START_TEST(test_prefixes)
{
	struct ratelimit_config c = cfg(1, 1, 0, 0, 64);
	struct ratelimit *rl;

	c.v4_prefix = 24;
	c.v6_prefix = 64;
	rl = make(&c);
	ck_assert_int_eq(ratelimit_check(rl, AP("192.0.2.1"), 0), RATELIMIT_PASS);
	ck_assert_int_eq(ratelimit_check(rl, AP("192.0.2.200"), 0), RATELIMIT_SOURCE);
	ck_assert_int_eq(ratelimit_check(rl, AP("192.0.3.1"), 0), RATELIMIT_PASS);
	ck_assert_int_eq(ratelimit_check(rl, AP("2001:db8::1"), 0), RATELIMIT_PASS);
	ck_assert_int_eq(ratelimit_check(rl, AP("2001:db8::ffff:1:2:3"), 0), RATELIMIT_SOURCE);
	ck_assert_int_eq(ratelimit_check(rl, AP("2001:db8:0:1::1"), 0), RATELIMIT_PASS);
	/* An IPv4 address and the IPv6 address with the same first bytes
	 * are different sources. */
	ck_assert_int_eq(ratelimit_check(rl, AP("c000:200::"), 0), RATELIMIT_PASS);
	ck_assert_uint_eq(ratelimit_used(rl), 5);
	ratelimit_free(rl);

	/* Prefixes that end inside a byte. */
	c.v4_prefix = 20;
	c.v6_prefix = 61;
	rl = make(&c);
	ck_assert_int_eq(ratelimit_check(rl, AP("198.51.96.1"), 0), RATELIMIT_PASS);
	ck_assert_int_eq(ratelimit_check(rl, AP("198.51.111.255"), 0), RATELIMIT_SOURCE);
	ck_assert_int_eq(ratelimit_check(rl, AP("198.51.112.0"), 0), RATELIMIT_PASS);
	ck_assert_int_eq(ratelimit_check(rl, AP("2001:db8:0:8::1"), 0), RATELIMIT_PASS);
	ck_assert_int_eq(ratelimit_check(rl, AP("2001:db8:0:f::1"), 0), RATELIMIT_SOURCE);
	ck_assert_int_eq(ratelimit_check(rl, AP("2001:db8:0:10::1"), 0), RATELIMIT_PASS);
	ratelimit_free(rl);

	/* Full-length prefixes: every address its own. */
	c.v4_prefix = 32;
	c.v6_prefix = 128;
	rl = make(&c);
	ck_assert_int_eq(ratelimit_check(rl, AP("192.0.2.1"), 0), RATELIMIT_PASS);
	ck_assert_int_eq(ratelimit_check(rl, AP("192.0.2.2"), 0), RATELIMIT_PASS);
	ck_assert_int_eq(ratelimit_check(rl, AP("2001:db8::1"), 0), RATELIMIT_PASS);
	ck_assert_int_eq(ratelimit_check(rl, AP("2001:db8::2"), 0), RATELIMIT_PASS);
	ck_assert_int_eq(ratelimit_check(rl, AP("2001:db8::2"), 0), RATELIMIT_SOURCE);
	ratelimit_free(rl);
}
END_TEST

START_TEST(test_not_ip)
{
	struct ratelimit_config c = cfg(10, 10, 0, 0, 64);
	struct ratelimit *rl = make(&c);
	struct dime_addr none;

	memset(&none, 0, sizeof(none));
	ck_assert_int_eq(ratelimit_check(rl, &none, 0), RATELIMIT_SOURCE);
	none.family = AF_UNIX;
	ck_assert_int_eq(ratelimit_check(rl, &none, 0), RATELIMIT_SOURCE);
	ck_assert_uint_eq(ratelimit_used(rl), 0);
	ratelimit_free(rl);
}
END_TEST

START_TEST(test_global)
{
	struct ratelimit_config c = cfg(100, 2, 10, 4, 64);
	struct ratelimit *rl = make(&c);
	char text[32];

	/* Four sources pass one message each, then the global bucket is dry. */
	for (int i = 1; i <= 4; i++) {
		snprintf(text, sizeof(text), "203.0.113.%d", i);
		ck_assert_int_eq(ratelimit_check(rl, AP(text), 0), RATELIMIT_PASS);
	}
	ck_assert_int_eq(ratelimit_check(rl, AP("203.0.113.5"), 0), RATELIMIT_GLOBAL);
	ck_assert_int_eq(ratelimit_check(rl, AP("203.0.113.5"), 0), RATELIMIT_GLOBAL);
	/* The source was not charged for the refused ones: with the global
	 * bucket refilled (10/s: 100 ms each) it has both its tokens. */
	ck_assert_int_eq(ratelimit_check(rl, AP("203.0.113.5"), 200), RATELIMIT_PASS);
	ck_assert_int_eq(ratelimit_check(rl, AP("203.0.113.5"), 200), RATELIMIT_PASS);
	ck_assert_int_eq(ratelimit_check(rl, AP("203.0.113.5"), 200), RATELIMIT_SOURCE);
	ck_assert_uint_eq(ratelimit_stats(rl)->limited_global, 2);
	ratelimit_free(rl);

	/* A source over its own rate does not drain the global bucket. */
	rl = make(&c);
	ck_assert_uint_eq(drain(rl, AP("203.0.113.7"), 0), 2);
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(ratelimit_check(rl, AP("203.0.113.7"), 0), RATELIMIT_SOURCE);
	ck_assert_int_eq(ratelimit_check(rl, AP("203.0.113.8"), 0), RATELIMIT_PASS);
	ck_assert_int_eq(ratelimit_check(rl, AP("203.0.113.9"), 0), RATELIMIT_PASS);
	ck_assert_int_eq(ratelimit_check(rl, AP("203.0.113.10"), 0), RATELIMIT_GLOBAL);
	ck_assert_uint_eq(ratelimit_stats(rl)->limited_source, 1 + 100);
	ck_assert_uint_eq(ratelimit_stats(rl)->limited_global, 1);
	ck_assert_str_eq(ratelimit_verdict_name(RATELIMIT_GLOBAL), "global");
	ck_assert_str_eq(ratelimit_verdict_name(RATELIMIT_SOURCE), "source");
	ck_assert_str_eq(ratelimit_verdict_name(RATELIMIT_PASS), "pass");
	ratelimit_free(rl);
}
END_TEST

static void random_v4(struct dime_addr *a, uint32_t *seed)
{
	uint32_t v;

	*seed = *seed * 1103515245u + 12345u;
	v = *seed ^ (*seed >> 15) * 2654435761u;
	dime_addr_from_v4(a, &v);
}

START_TEST(test_bounded_under_spoofing)
{
	struct ratelimit_config c = cfg(10, 10, 0, 0, 64);
	struct ratelimit *rl = make(&c);
	const struct ratelimit_stats *st = ratelimit_stats(rl);
	struct dime_addr a;
	uint32_t seed = 1;

	for (int i = 0; i < 1000000; i++) {
		random_v4(&a, &seed);
		ratelimit_check(rl, &a, (uint64_t)i / 1000);
		HOT_ASSERT(ratelimit_used(rl) <= 64);
	}
	ck_assert_uint_eq(ratelimit_used(rl), 64);
	ck_assert_uint_eq(st->inserted - st->evicted, 64);
	ck_assert_uint_ge(st->evicted, 900000);
	ratelimit_free(rl);
}
END_TEST

/* A flooder that used up its bucket stays limited while a million spoofed
 * sources compete for its table slot: each of them has more tokens left
 * than the flooder, so they evict each other. */
START_TEST(test_flooder_not_evicted)
{
	struct ratelimit_config c = cfg(1, 20, 0, 0, 64);
	struct ratelimit *rl = make(&c);
	const struct dime_addr *f = AP("198.51.100.66");
	struct dime_addr a, flooder = *f;
	uint32_t seed = 7;
	uint64_t now = 10;

	ck_assert_uint_eq(drain(rl, &flooder, now), 20);
	for (int i = 0; i < 200000; i++) {
		random_v4(&a, &seed);
		ratelimit_check(rl, &a, now);
		if (i % 16 == 0)
			HOT_ASSERT(ratelimit_check(rl, &flooder, now) == RATELIMIT_SOURCE);
	}
	/* Time still refills it, at its own rate only. */
	ck_assert_int_eq(ratelimit_check(rl, &flooder, now + 1000), RATELIMIT_PASS);
	ck_assert_int_eq(ratelimit_check(rl, &flooder, now + 1000), RATELIMIT_SOURCE);
	ratelimit_free(rl);
}
END_TEST

/* With every entry of a set full (idle), the least recently seen goes. */
START_TEST(test_idle_evicted_first)
{
	struct ratelimit_config c = cfg(1, 5, 0, 0, RATELIMIT_WAYS);	/* one set */
	struct ratelimit *rl = make(&c);
	char text[32];

	for (int i = 0; i < RATELIMIT_WAYS; i++) {
		snprintf(text, sizeof(text), "192.0.2.%d", i + 1);
		ck_assert_int_eq(ratelimit_check(rl, AP(text), (uint64_t)i), RATELIMIT_PASS);
	}
	/* 192.0.2.1 drains itself; later all others are idle and full. */
	ck_assert_uint_eq(drain(rl, AP("192.0.2.1"), 10000), 5);
	ck_assert_int_eq(ratelimit_check(rl, AP("192.0.2.9"), 10000), RATELIMIT_PASS);
	ck_assert_uint_eq(ratelimit_stats(rl)->evicted, 1);
	/* 192.0.2.1 kept its (empty) bucket, 192.0.2.2 (least recent) lost its
	 * entry, which costs it nothing: it comes back with a full bucket. */
	ck_assert_int_eq(ratelimit_check(rl, AP("192.0.2.1"), 10000), RATELIMIT_SOURCE);
	ck_assert_uint_eq(ratelimit_stats(rl)->evicted, 1);
	ck_assert_uint_eq(drain(rl, AP("192.0.2.2"), 10000), 5);
	ck_assert_uint_eq(ratelimit_stats(rl)->evicted, 2);
	ck_assert_uint_eq(ratelimit_used(rl), RATELIMIT_WAYS);
	ratelimit_free(rl);
}
END_TEST

static Suite *ratelimit_suite(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("buckets");

	tcase_add_test(tc, test_config);
	tcase_add_test(tc, test_burst_and_refill);
	tcase_add_test(tc, test_high_rate_fractions);
	tcase_add_test(tc, test_prefixes);
	tcase_add_test(tc, test_not_ip);
	tcase_add_test(tc, test_global);
	tcase_add_test(tc, test_bounded_under_spoofing);
	tcase_add_test(tc, test_flooder_not_evicted);
	tcase_add_test(tc, test_idle_evicted_first);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(ratelimit_suite());
}
