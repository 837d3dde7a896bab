// SPDX-License-Identifier: BSD-2-Clause
/*
 * Check suite for the parser of the kernel's NFQUEUE counters
 * (nfqio_kernel_stats_parse, nfq.c): the text of
 * /proc/net/netfilter/nfnetlink_queue as the kernel prints it, one line
 * per bound queue ("%5u %6u %5u %1u %5u %5u %5u %8u %2d"): queue number,
 * peer port id, queued now, copy mode, copy range, dropped because the
 * queue was full, dropped because the socket was full, last packet id, 1.
 * dimectl stats shows these; a wrong column would blame the wrong limit.
 */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "dime/nfq.h"
#include "testutil.h"

static const char two_queues[] =
	"    0   4242     0 2 65531     0     0     1017  1\n"
	"    1   4243    17 2 65531     3     9    99812  1\n";

START_TEST(each_queue_is_found_by_number)
{
	struct nfqio_kernel_stats ks;

	ck_assert_int_eq(nfqio_kernel_stats_parse(two_queues, 0, &ks), 0);
	ck_assert_uint_eq(ks.queue_total, 0);
	ck_assert_uint_eq(ks.id_sequence, 1017);
	ck_assert_int_eq(nfqio_kernel_stats_parse(two_queues, 1, &ks), 0);
	ck_assert_uint_eq(ks.queue_total, 17);
	ck_assert_uint_eq(ks.queue_dropped, 3);
	ck_assert_uint_eq(ks.user_dropped, 9);
	ck_assert_uint_eq(ks.id_sequence, 99812);
}
END_TEST

START_TEST(a_queue_not_listed_is_enoent)
{
	struct nfqio_kernel_stats ks = { .queue_total = 77 };

	ck_assert_int_eq(nfqio_kernel_stats_parse(two_queues, 2, &ks), -ENOENT);
	ck_assert_int_eq(nfqio_kernel_stats_parse("", 0, &ks), -ENOENT);
	ck_assert_uint_eq(ks.queue_total, 77);
}
END_TEST

/* A line that is not eight numbers stops the parse before the queue's:
 * the format changed, and guessing columns would be worse than nothing. */
START_TEST(a_bad_line_is_einval)
{
	struct nfqio_kernel_stats ks = { .queue_total = 77 };

	ck_assert_int_eq(nfqio_kernel_stats_parse("0 4242 0 2 65531 0 0\n", 0, &ks), -EINVAL);
	ck_assert_int_eq(nfqio_kernel_stats_parse("queue 0\n", 0, &ks), -EINVAL);
	ck_assert_int_eq(nfqio_kernel_stats_parse("\n    1 4243 17 2 65531 3 9 99812 1\n", 1, &ks),
			 -EINVAL);
	/* A short line does not borrow the next line's numbers (sscanf
	 * would: a newline is a blank to it). */
	ck_assert_int_eq(nfqio_kernel_stats_parse("    1 4243 17 2 65531\n3 9 99812 1\n", 1, &ks),
			 -EINVAL);
	/* No signs, no overflow, nothing glued to a number. */
	ck_assert_int_eq(nfqio_kernel_stats_parse("1 4243 -17 2 65531 3 9 99812 1\n", 1, &ks), -EINVAL);
	ck_assert_int_eq(nfqio_kernel_stats_parse("1 4243 4294967296 2 65531 3 9 1 1\n", 1, &ks),
			 -EINVAL);
	ck_assert_int_eq(nfqio_kernel_stats_parse("1 4243 17x 2 65531 3 9 99812 1\n", 1, &ks), -EINVAL);
	ck_assert_uint_eq(ks.queue_total, 77);
	/* A queue listed before the bad line is still found. */
	ck_assert_int_eq(nfqio_kernel_stats_parse("    1 4243 17 2 65531 3 9 99812 1\nbad\n", 1, &ks),
			 0);
	ck_assert_uint_eq(ks.queue_total, 17);
	/* The largest value, and a last line without its newline. */
	ck_assert_int_eq(nfqio_kernel_stats_parse("1 4243 4294967295 2 65531 3 9 99812 1", 1, &ks), 0);
	ck_assert_uint_eq(ks.queue_total, 4294967295u);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("nfq_stats");
	TCase *tc = tcase_create("proc");

	tcase_add_test(tc, each_queue_is_found_by_number);
	tcase_add_test(tc, a_queue_not_listed_is_enoent);
	tcase_add_test(tc, a_bad_line_is_einval);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
