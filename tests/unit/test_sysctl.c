// SPDX-License-Identifier: BSD-2-Clause
/*
 * Check suite for the sysctl journal (sysctl.h): what a dimed killed before
 * it restored its settings leaves behind. The parser takes exactly the
 * format journal_write() produces and refuses everything else; recovery
 * of a journal naming settings that do not exist changes nothing and
 * removes the file; a malformed journal is removed, never applied.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dime/sysctl.h"

static struct sysctl_saved recs[8];
static size_t n;

static int parse(const char *text)
{
	return sysctl_journal_parse(text, strlen(text), recs, 8, &n);
}

START_TEST(good_journal_parses)
{
	ck_assert_int_eq(parse("dime-sysctl 1\n"
			       "net/ipv4/conf/all/rp_filter\t2\t0\n"
			       "net/ipv4/conf/eth0/arp_ignore\t0\t1\n"), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(recs[0].path, "net/ipv4/conf/all/rp_filter");
	ck_assert_str_eq(recs[0].old, "2");
	ck_assert_str_eq(recs[0].set, "0");
	ck_assert_str_eq(recs[1].path, "net/ipv4/conf/eth0/arp_ignore");
	ck_assert_str_eq(recs[1].set, "1");
	/* Values with spaces (several numbers) are values like any other. */
	ck_assert_int_eq(parse("dime-sysctl 1\nnet/ipv4/tcp_rmem\t4096 131072 6291456\t4096 1 2\n"), 0);
	ck_assert_str_eq(recs[0].old, "4096 131072 6291456");
	ck_assert_int_eq(parse("dime-sysctl 1\n"), 0);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(malformed_journals_are_refused)
{
	static const char *const bad[] = {
		"",
		"dime-sysctl 2\n",
		"dime-sysctl 1",
		"dime-sysctl 1\nnet/ipv4/conf/all/rp_filter\t2\t0",		/* no newline */
		"dime-sysctl 1\nnet/ipv4/conf/all/rp_filter\t2\n",		/* two fields */
		"dime-sysctl 1\nnet/ipv4/conf/all/rp_filter\t2\t0\t1\n",	/* four */
		"dime-sysctl 1\n\t2\t0\n",					/* empty path */
		"dime-sysctl 1\nnet/ipv4/conf/all/rp_filter\t\t0\n",		/* empty old */
		"dime-sysctl 1\nnet/ipv4/conf/all/rp_filter\t2\t\n",		/* empty set */
		"dime-sysctl 1\n/proc/sys/net/x\t2\t0\n",			/* absolute */
		"dime-sysctl 1\nnet/../../etc/passwd\t2\t0\n",			/* a way out */
		"dime-sysctl 1\nnet//x\t2\t0\n",
		"dime-sysctl 1\nnet/x/\t2\t0\n",
		"dime-sysctl 1\n\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = 99;
		ck_assert_msg(parse(bad[i]) == -EINVAL, "accepted bad journal %zu", i);
		ck_assert_uint_eq(n, 0);
	}
}
END_TEST

START_TEST(bounds_hold)
{
	char big[SYSCTL_PATH_MAX + 64], text[4096];
	size_t len;

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(text, sizeof(text), "dime-sysctl 1\n%s\t1\t2\n", big);
	ck_assert_int_eq(parse(text), -EINVAL);
	/* A NUL inside a field. */
	memcpy(text, "dime-sysctl 1\nnet/x\t1\t2\n", 25);
	text[16] = '\0';
	ck_assert_int_eq(sysctl_journal_parse(text, 24, recs, 8, &n), -EINVAL);
	/* More entries than the caller has room for. */
	len = (size_t)snprintf(text, sizeof(text), "dime-sysctl 1\n");
	for (int i = 0; i < 9; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "net/x%d\t1\t2\n", i);
	ck_assert_int_eq(sysctl_journal_parse(text, len, recs, 8, &n), -ENOSPC);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(sysctl_journal_parse(text, SYSCTL_JOURNAL_MAX + 1, recs, 8, &n), -EINVAL);
}
END_TEST

static char dir[] = "/tmp/dime-test-sysctl-XXXXXX";

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(recovery_removes_the_journal)
{
	char path[sizeof(dir) + 16];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/j", dir);
	/* None: nothing to do. */
	ck_assert_int_eq(sysctl_journal_recover(path), 0);
	/* Settings that do not exist here: nothing restored, journal gone. */
	write_file(path, "dime-sysctl 1\nnet/ipv4/conf/dime-no-such-if0/rp_filter\t2\t0\n");
	ck_assert_int_eq(sysctl_journal_recover(path), 0);
	ck_assert_int_eq(access(path, F_OK), -1);
	/* Malformed: refused and removed, never applied. */
	write_file(path, "dime-sysctl 1\nnet/../x\t1\t2\n");
	ck_assert_int_eq(sysctl_journal_recover(path), -EINVAL);
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sysctl");
	TCase *tc = tcase_create("journal");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, good_journal_parses);
	tcase_add_test(tc, malformed_journals_are_refused);
	tcase_add_test(tc, bounds_hold);
	tcase_add_test(tc, recovery_removes_the_journal);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
