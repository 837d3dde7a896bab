// SPDX-License-Identifier: BSD-2-Clause
/*
 * Check suite for delayline_core: FIFO order across growth and wrap, due-time
 * release with the early window, sleep computation, id-gap accounting across
 * the 2^32 wrap, and the command-line and /proc parsers. Fake time only.
 */
#include "delayline_core.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>

#define MS 1000000ull

START_TEST(fifo_releases_in_order_when_due)
{
	struct dl_fifo f;
	struct dl_batch b;

	ck_assert_int_eq(dl_fifo_init(&f, 16), 0);
	ck_assert_int_eq(dl_fifo_push(&f, 1, 100, 10 * MS), 0);
	ck_assert_int_eq(dl_fifo_push(&f, 2, 200, 11 * MS), 0);
	ck_assert_int_eq(dl_fifo_push(&f, 3, 300, 12 * MS), 0);

	ck_assert_uint_eq(dl_fifo_release(&f, 9 * MS, 0, &b), 0);
	ck_assert_uint_eq(dl_fifo_release(&f, 11 * MS + 500, 0, &b), 2);
	ck_assert_uint_eq(b.last_id, 2);
	ck_assert_uint_eq(b.bytes, 300);
	ck_assert_int_eq(b.err_min_ns, (int64_t)MS + 500 - (int64_t)MS);
	ck_assert_int_eq(b.err_max_ns, (int64_t)MS + 500);
	ck_assert_int_eq(b.err_sum_ns, (int64_t)MS + 1000);
	ck_assert_uint_eq(b.late, 1);
	ck_assert_uint_eq(f.count, 1);
	ck_assert_uint_eq(dl_fifo_head(&f)->id, 3);
	dl_fifo_fini(&f);
}
END_TEST

START_TEST(fifo_early_window_gives_negative_error)
{
	struct dl_fifo f;
	struct dl_batch b;

	ck_assert_int_eq(dl_fifo_init(&f, 4), 0);
	ck_assert_int_eq(dl_fifo_push(&f, 7, 0, 1000), 0);
	ck_assert_uint_eq(dl_fifo_release(&f, 990, 5, &b), 0);
	ck_assert_uint_eq(dl_fifo_release(&f, 995, 5, &b), 1);
	ck_assert_int_eq(b.err_min_ns, -5);
	dl_fifo_fini(&f);
}
END_TEST

START_TEST(fifo_grows_and_keeps_order_across_wrap)
{
	struct dl_fifo f;
	struct dl_batch b;
	uint32_t id, next = 1;

	ck_assert_int_eq(dl_fifo_init(&f, 5000), 0);
	ck_assert_uint_eq(f.limit, 8192);
	/* Interleave pushes and pops so the head wraps before each growth. */
	for (id = 1; id <= 8192; id++) {
		ck_assert_int_eq(dl_fifo_push(&f, id, 1, id), 0);
		if (id % 3 == 0) {
			ck_assert_uint_eq(dl_fifo_release(&f, next, 0, &b), 1);
			ck_assert_uint_eq(b.last_id, next);
			next++;
		}
	}
	while (f.count) {
		ck_assert_uint_eq(dl_fifo_head(&f)->id, next);
		ck_assert_uint_eq(dl_fifo_release(&f, next, 0, &b), 1);
		next++;
	}
	ck_assert_uint_eq(next, 8193);
	dl_fifo_fini(&f);
}
END_TEST

START_TEST(fifo_refuses_beyond_limit)
{
	struct dl_fifo f;
	struct dl_batch b;
	uint32_t id;

	ck_assert_int_eq(dl_fifo_init(&f, 3), 0);
	ck_assert_uint_eq(f.limit, 4);
	for (id = 1; id <= 4; id++)
		ck_assert_int_eq(dl_fifo_push(&f, id, 0, 0), 0);
	ck_assert_int_eq(dl_fifo_push(&f, 5, 0, 0), -ENOBUFS);
	ck_assert_uint_eq(dl_fifo_drain(&f, &b), 4);
	ck_assert_uint_eq(b.last_id, 4);
	dl_fifo_fini(&f);
	ck_assert_int_eq(dl_fifo_init(&f, 0), -EINVAL);
}
END_TEST

START_TEST(fifo_wait_times)
{
	struct dl_fifo f;
	struct timespec ts;

	ck_assert_int_eq(dl_fifo_init(&f, 8), 0);
	ck_assert(!dl_fifo_wait(&f, 0, 0, &ts));
	ck_assert_int_eq(dl_fifo_push(&f, 1, 0, 2500 * MS + 7), 0);
	ck_assert(dl_fifo_wait(&f, 0, 0, &ts));
	ck_assert_int_eq(ts.tv_sec, 2);
	ck_assert_int_eq(ts.tv_nsec, 500 * MS + 7);
	ck_assert(dl_fifo_wait(&f, 2500 * MS, 10, &ts));
	ck_assert_int_eq(ts.tv_sec, 0);
	ck_assert_int_eq(ts.tv_nsec, 0);
	ck_assert(dl_fifo_wait(&f, 3000 * MS, 0, &ts));
	ck_assert_int_eq(ts.tv_nsec, 0);
	/* With an early window the sleep ends that much sooner. */
	ck_assert(dl_fifo_wait(&f, 0, 1 * MS, &ts));
	ck_assert_int_eq(ts.tv_sec, 2);
	ck_assert_int_eq(ts.tv_nsec, 499 * MS + 7);
	dl_fifo_fini(&f);
}
END_TEST

START_TEST(seq_counts_gaps_across_wrap)
{
	struct dl_seq s = { 0 };

	dl_seq_note(&s, UINT32_MAX - 1);
	dl_seq_note(&s, UINT32_MAX);
	dl_seq_note(&s, 2);	/* 0 and 1 skipped */
	ck_assert_uint_eq(s.gaps, 2);
	dl_seq_note(&s, 2);
	dl_seq_note(&s, 1);
	ck_assert_uint_eq(s.backwards, 2);
	ck_assert_uint_eq(s.last, 2);
	dl_seq_note(&s, 3);
	ck_assert_uint_eq(s.gaps, 2);
}
END_TEST

START_TEST(lat_settles_and_ignores_outliers)
{
	struct dl_lat l = { 0 };
	int i;

	for (i = 0; i < 60; i++)
		dl_lat_note(&l, 250000);
	ck_assert_int_gt(l.est_ns, 240000);
	ck_assert_int_le(l.est_ns, 250000);
	dl_lat_note(&l, 5000000);	/* one 5 ms outlier moves it by < 100 us */
	ck_assert_int_lt(l.est_ns, 350000);
	for (i = 0; i < 60; i++)
		dl_lat_note(&l, -5);
	ck_assert_int_lt(l.est_ns, 10000);
	ck_assert_int_ge(l.est_ns, 0);
	for (i = 0; i < 200; i++)
		dl_lat_note(&l, 50000000);
	ck_assert_int_eq(l.est_ns, DL_LAT_MAX_NS);
}
END_TEST

START_TEST(parse_delay)
{
	uint64_t ns;

	ck_assert_int_eq(dl_parse_delay("20", &ns), 0);
	ck_assert_uint_eq(ns, 20 * MS);
	ck_assert_int_eq(dl_parse_delay("0.5", &ns), 0);
	ck_assert_uint_eq(ns, 500000);
	ck_assert_int_eq(dl_parse_delay("0", &ns), 0);
	ck_assert_uint_eq(ns, 0);
	ck_assert_int_eq(dl_parse_delay("0.0001", &ns), 0);
	ck_assert_uint_eq(ns, 100);
	ck_assert_int_eq(dl_parse_delay("-1", &ns), -ERANGE);
	ck_assert_int_eq(dl_parse_delay("60001", &ns), -ERANGE);
	ck_assert_int_eq(dl_parse_delay("", &ns), -EINVAL);
	ck_assert_int_eq(dl_parse_delay("5ms", &ns), -EINVAL);
	ck_assert_int_eq(dl_parse_delay("nan", &ns), -EINVAL);
	ck_assert_int_eq(dl_parse_delay("inf", &ns), -EINVAL);
}
END_TEST

START_TEST(parse_u32)
{
	uint32_t v;

	ck_assert_int_eq(dl_parse_u32("65535", 0, 65535, &v), 0);
	ck_assert_uint_eq(v, 65535);
	ck_assert_int_eq(dl_parse_u32("65536", 0, 65535, &v), -ERANGE);
	ck_assert_int_eq(dl_parse_u32("0", 1, 10, &v), -ERANGE);
	ck_assert_int_eq(dl_parse_u32("-1", 0, 10, &v), -EINVAL);
	ck_assert_int_eq(dl_parse_u32(" 1", 0, 10, &v), -EINVAL);
	ck_assert_int_eq(dl_parse_u32("1x", 0, 10, &v), -EINVAL);
	ck_assert_int_eq(dl_parse_u32("99999999999999999999", 0, 10, &v), -EINVAL);
}
END_TEST

START_TEST(parse_kstats)
{
	struct dl_kstats k;

	ck_assert_int_eq(dl_parse_kstats_line("    0   1234     3 1     0     7     9    42  1\n",
					      &k), 0);
	ck_assert_uint_eq(k.queue, 0);
	ck_assert_uint_eq(k.portid, 1234);
	ck_assert_uint_eq(k.total, 3);
	ck_assert_uint_eq(k.dropped, 7);
	ck_assert_uint_eq(k.user_dropped, 9);
	ck_assert_uint_eq(k.id_sequence, 42);
	ck_assert_int_eq(dl_parse_kstats_line("garbage\n", &k), -EINVAL);
}
END_TEST

static Suite *delayline_suite(void)
{
	Suite *s = suite_create("delayline");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, fifo_releases_in_order_when_due);
	tcase_add_test(tc, fifo_early_window_gives_negative_error);
	tcase_add_test(tc, fifo_grows_and_keeps_order_across_wrap);
	tcase_add_test(tc, fifo_refuses_beyond_limit);
	tcase_add_test(tc, fifo_wait_times);
	tcase_add_test(tc, seq_counts_gaps_across_wrap);
	tcase_add_test(tc, lat_settles_and_ignores_outliers);
	tcase_add_test(tc, parse_delay);
	tcase_add_test(tc, parse_u32);
	tcase_add_test(tc, parse_kstats);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(delayline_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
