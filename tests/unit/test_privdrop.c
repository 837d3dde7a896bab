// SPDX-License-Identifier: BSD-2-Clause
/*
 * Check suite for privdrop.c's pure parts: when dimed drops root, stays, or
 * refuses to start, and which iptables builds count as nf_tables. The drop
 * itself runs in tests/netns/privdrop.sh.
 */
#include <check.h>
#include <linux/capability.h>

#include "dime/privdrop.h"
#include "testutil.h"

/* Root, a "dime" user with uid 120, every capability, the nft backend. */
static struct privdrop_facts good(bool given)
{
	return (struct privdrop_facts){ .user_given = given, .user_exists = true, .user_uid = 120,
					.euid = 0, .can_setid = true, .xtables_nft = true };
}

static enum privdrop_decision decide(struct privdrop_facts f, const char **why)
{
	return privdrop_decide(&f, why);
}

START_TEST(drop_when_possible)
{
	const char *why = "x";

	ck_assert_int_eq(decide(good(false), &why), PRIVDROP_DROP);
	ck_assert_ptr_null(why);
	ck_assert_int_eq(decide(good(true), &why), PRIVDROP_DROP);
}
END_TEST

/* The default falls back to root; the same obstacle with -u refuses. */
START_TEST(obstacles)
{
	struct privdrop_facts f[4];
	const char *why;

	for (int i = 0; i < 4; i++)
		f[i] = good(false);
	f[0].user_exists = false;
	f[1].can_setid = false;
	f[2].xtables_nft = false;
	f[3].euid = 1000;
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(decide(f[i], &why), PRIVDROP_STAY);
		ck_assert_ptr_nonnull(why);
		f[i].user_given = true;
		ck_assert_int_eq(decide(f[i], &why), PRIVDROP_REFUSE);
		ck_assert_ptr_nonnull(why);
	}
}
END_TEST

START_TEST(root_or_self_stays)
{
	struct privdrop_facts f = good(true);
	const char *why;

	f.user_uid = 0;			/* -u root */
	f.xtables_nft = false;		/* no obstacle matters then */
	ck_assert_int_eq(decide(f, &why), PRIVDROP_STAY);
	f = good(true);
	f.euid = 120;			/* started as the user already (systemd User=) */
	f.can_setid = false;
	ck_assert_int_eq(decide(f, &why), PRIVDROP_STAY);
	ck_assert_str_eq(why, "already running as that user");
}
END_TEST

START_TEST(nft_paths)
{
	ck_assert(privdrop_path_is_nft("/usr/sbin/xtables-nft-multi"));
	ck_assert(!privdrop_path_is_nft("/usr/sbin/xtables-legacy-multi"));
	ck_assert(!privdrop_path_is_nft("/sbin/xtables-multi"));
	ck_assert(!privdrop_path_is_nft("/usr/sbin/iptables-restore"));
	/* Only the file name counts, not a directory on the way. */
	ck_assert(!privdrop_path_is_nft("/opt/nft/sbin/xtables-legacy-multi"));
}
END_TEST

START_TEST(kept_caps)
{
	ck_assert_uint_eq(privdrop_kept_caps(), (UINT64_C(1) << CAP_NET_ADMIN) | (UINT64_C(1) << CAP_NET_RAW));
	ck_assert_uint_eq(privdrop_kept_caps(), 0x3000);
}
END_TEST

/* A plan that stays never touches the process. */
START_TEST(apply_stay_is_noop)
{
	struct privdrop_plan p = { .drop = false };

	ck_assert_int_eq(privdrop_apply(&p), 0);
}
END_TEST

static Suite *privdrop_suite(void)
{
	Suite *s = suite_create("privdrop");
	TCase *tc = tcase_create("decide");

	tcase_add_test(tc, drop_when_possible);
	tcase_add_test(tc, obstacles);
	tcase_add_test(tc, root_or_self_stays);
	tcase_add_test(tc, nft_paths);
	tcase_add_test(tc, kept_caps);
	tcase_add_test(tc, apply_stay_is_noop);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(privdrop_suite());
}
