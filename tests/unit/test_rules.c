// SPDX-License-Identifier: BSD-2-Clause
/*
 * Check suite for rules.c's pure parts: the install text against golden
 * files, its errors and buffer bounds; the removal text derived from
 * iptables-save output (our jumps from any chain, our chains, nothing
 * else); the steering jumps' text and which empty base chains may go; set
 * names and config checks; pair calls refused before install.
 * Nothing here touches the kernel.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dime/log.h"
#include "dime/rules.h"

static const struct rules_config cfg = {
	.queue_out = 0, .queue_in = 1, .ihmp_port = 4010, .mark = 0x40000000, .ipv6 = true,
};

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long len;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)len + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	return buf;
}

static void check_golden(const char *name, const char *text)
{
	char path[512];
	char *want;

	snprintf(path, sizeof(path), "%s/%s", DIME_GOLDEN_DIR, name);
	if (getenv("DIME_UPDATE_GOLDEN")) {
		FILE *f = fopen(path, "w");

		ck_assert_ptr_nonnull(f);
		fputs(text, f);
		fclose(f);
	}
	want = read_file(path);
	ck_assert_msg(strcmp(want, text) == 0, "%s differs:\n--- want\n%s--- got\n%s", name, want, text);
	free(want);
}

START_TEST(test_install_golden_v4)
{
	char buf[4096];
	int len = rules_render_install(&cfg, AF_INET, buf, sizeof(buf));

	ck_assert_int_gt(len, 0);
	ck_assert_uint_eq(strlen(buf), (size_t)len);
	check_golden("rules_v4.txt", buf);
}
END_TEST

START_TEST(test_install_golden_v6)
{
	char buf[4096];
	int len = rules_render_install(&cfg, AF_INET6, buf, sizeof(buf));

	ck_assert_int_gt(len, 0);
	check_golden("rules_v6.txt", buf);
}
END_TEST

/* By default dimed adds nothing that makes the kernel track connections
 * (it learns flows from the socket table); track_connections adds one
 * conntrack rule, last in DIME-OUT, where it cannot short-cut a queue rule. */
START_TEST(test_install_track_connections)
{
	static const char line[] = "-A DIME-OUT -m conntrack --ctstate INVALID -j RETURN\n";
	struct rules_config tc = cfg;
	char buf[4096];
	const char *at;

	ck_assert_int_gt(rules_render_install(&cfg, AF_INET, buf, sizeof(buf)), 0);
	ck_assert_ptr_null(strstr(buf, "conntrack"));
	tc.track_connections = true;
	for (int family = AF_INET; family; family = family == AF_INET ? AF_INET6 : 0) {
		ck_assert_int_gt(rules_render_install(&tc, family, buf, sizeof(buf)), 0);
		at = strstr(buf, line);
		ck_assert_ptr_nonnull(at);
		ck_assert_ptr_null(strstr(at + strlen(line), "-A DIME-OUT"));
		ck_assert_ptr_nonnull(strstr(at, "COMMIT\n"));
	}
}
END_TEST

/* The install text puts no jump anywhere: nothing is steered until a set
 * gets a member (steering on demand, rules.h). */
START_TEST(test_install_has_no_jump)
{
	char buf[4096];

	for (int family = AF_INET; family; family = family == AF_INET ? AF_INET6 : 0) {
		ck_assert_int_gt(rules_render_install(&cfg, family, buf, sizeof(buf)), 0);
		ck_assert_ptr_null(strstr(buf, "-I "));
		ck_assert_ptr_null(strstr(buf, "-A PREROUTING"));
		ck_assert_ptr_null(strstr(buf, "-A OUTPUT"));
	}
}
END_TEST

START_TEST(test_steering_text)
{
	static const char *const want[2][2] = {
		/* [dir][on] */
		[RULES_IN] = { "*raw\n-D PREROUTING -j DIME-IN\nCOMMIT\n", "*raw\n-I PREROUTING 1 -j DIME-IN\nCOMMIT\n" },
		[RULES_OUT] = { "*mangle\n-D OUTPUT -j DIME-OUT\nCOMMIT\n", "*mangle\n-I OUTPUT 1 -j DIME-OUT\nCOMMIT\n" },
	};
	const char *on = want[RULES_OUT][1];
	char buf[256];

	/* The same text for ip6tables-restore: the family picks the tool. */
	for (int family = AF_INET; family; family = family == AF_INET ? AF_INET6 : 0) {
		for (int dir = RULES_OUT; dir <= RULES_IN; dir++) {
			for (int o = 0; o < 2; o++) {
				ck_assert_int_eq(rules_render_steering(family, (enum rules_dir)dir, o, buf, sizeof(buf)),
						 (int)strlen(want[dir][o]));
				ck_assert_str_eq(buf, want[dir][o]);
			}
		}
	}
	ck_assert_int_eq(rules_render_steering(AF_UNIX, RULES_IN, true, buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(rules_render_steering(AF_INET, (enum rules_dir)7, true, buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(rules_render_steering(AF_INET, RULES_OUT, true, buf, 0), -ENOSPC);
	ck_assert_int_eq(rules_render_steering(AF_INET, RULES_OUT, true, buf, strlen(on)), -ENOSPC);
	ck_assert_int_eq(rules_render_steering(AF_INET, RULES_OUT, true, buf, strlen(on) + 1), (int)strlen(on));
}
END_TEST

/* `nft list chain` output, as nft 1.0.9 prints it for iptables-nft's chains. */
START_TEST(test_chain_prunable)
{
	static const char warn[] = "# Warning: table ip raw is managed by iptables-nft, do not touch!\n";
	static const char empty[] = "table ip raw {\n"
				    "\tchain PREROUTING {\n"
				    "\t\ttype filter hook prerouting priority raw; policy accept;\n"
				    "\t}\n"
				    "}\n";
	static const char drop[] = "table ip raw {\n"
				   "\tchain PREROUTING {\n"
				   "\t\ttype filter hook prerouting priority raw; policy drop;\n"
				   "\t}\n"
				   "}\n";
	static const char rule[] = "table ip mangle {\n"
				   "\tchain OUTPUT {\n"
				   "\t\ttype route hook output priority mangle; policy accept;\n"
				   "\t\tcounter packets 0 bytes 0 jump DIME-OUT\n"
				   "\t}\n"
				   "}\n";
	static const char two[] = "table ip raw {\n\tchain PREROUTING {\n"
				  "\t\ttype filter hook prerouting priority raw; policy accept;\n\t}\n"
				  "\tchain OUTPUT {\n"
				  "\t\ttype filter hook output priority raw; policy accept;\n\t}\n}\n";
	static const char comment[] = "table ip raw {\n\tchain PREROUTING {\n\t\tcomment \"keep\"\n"
				      "\t\ttype filter hook prerouting priority raw; policy accept;\n\t}\n}\n";
	char buf[512];

	ck_assert(rules_chain_prunable(empty));
	snprintf(buf, sizeof(buf), "%s%s", warn, empty);
	ck_assert(rules_chain_prunable(buf));
	ck_assert(!rules_chain_prunable(drop));
	ck_assert(!rules_chain_prunable(rule));
	ck_assert(!rules_chain_prunable(two));
	ck_assert(!rules_chain_prunable(comment));
	ck_assert(!rules_chain_prunable(""));
	ck_assert(!rules_chain_prunable(NULL));
	ck_assert(!rules_chain_prunable("table ip raw {\n}\n"));
	/* A user chain: no hook, nothing to gain, and not ours to delete. */
	ck_assert(!rules_chain_prunable("table ip raw {\n\tchain DIME-IN {\n\t}\n}\n"));
}
END_TEST

/* Every buffer size: -ENOSPC until the text and its NUL fit, never a byte
 * written past the end. */
START_TEST(test_install_bounds)
{
	char full[4096], buf[4096 + 16];
	int len = rules_render_install(&cfg, AF_INET, full, sizeof(full));

	for (size_t size = 0; size <= (size_t)len + 1; size++) {
		memset(buf, 'x', sizeof(buf));
		int rc = rules_render_install(&cfg, AF_INET, buf, size);

		if (size <= (size_t)len) {
			if (rc != -ENOSPC)
				ck_abort_msg("size %zu: %d, want -ENOSPC", size, rc);
		} else if (rc != len || strcmp(buf, full) != 0) {
			ck_abort_msg("size %zu: %d, want %d", size, rc, len);
		}
		if (buf[size] != 'x')
			ck_abort_msg("size %zu: wrote past the end", size);
	}
}
END_TEST

START_TEST(test_install_errors)
{
	struct rules_config bad = cfg;
	char buf[4096];

	ck_assert_int_eq(rules_render_install(&cfg, AF_UNIX, buf, sizeof(buf)), -EINVAL);
	bad.mark = 0;
	ck_assert_int_eq(rules_render_install(&bad, AF_INET, buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(rules_config_check(&bad), -EINVAL);
	bad = cfg;
	bad.ihmp_port = 0;
	ck_assert_int_eq(rules_render_install(&bad, AF_INET, buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(rules_config_check(&bad), -EINVAL);
	ck_assert_int_eq(rules_config_check(&cfg), 0);
}
END_TEST

/* What iptables-nft-save 1.8.9 printed for an installed run, plus other
 * software's rules that must survive. */
static const char save_installed[] =
	"# Generated by iptables-save v1.8.9 (nf_tables) on Fri Nov 27 13:43:37 2026\n"
	"*mangle\n"
	":PREROUTING ACCEPT [0:0]\n"
	":INPUT ACCEPT [0:0]\n"
	":FORWARD ACCEPT [0:0]\n"
	":OUTPUT ACCEPT [12:840]\n"
	":POSTROUTING ACCEPT [0:0]\n"
	":DIME-OUT - [0:0]\n"
	"-A OUTPUT -j DIME-OUT\n"
	"-A OUTPUT -p tcp -m tcp --dport 22 -j MARK --set-xmark 0x1/0xffffffff\n"
	"-A DIME-OUT -o lo -j RETURN\n"
	"-A DIME-OUT -m mark --mark 0x40000000/0x40000000 -j RETURN\n"
	"-A DIME-OUT -m conntrack --ctstate INVALID -j RETURN\n"
	"COMMIT\n"
	"# Completed on Fri Nov 27 13:43:37 2026\n"
	"*filter\n"
	":INPUT ACCEPT [0:0]\n"
	":FORWARD ACCEPT [0:0]\n"
	":OUTPUT ACCEPT [0:0]\n"
	"-A INPUT -m comment --comment \"not -j DIME-IN really\" -j ACCEPT\n"
	"COMMIT\n"
	"*raw\n"
	":PREROUTING ACCEPT [0:0]\n"
	":OUTPUT ACCEPT [0:0]\n"
	":DIME-IN - [0:0]\n"
	":OTHER - [0:0]\n"
	"-A PREROUTING -i eth0 -j OTHER\n"
	"-A PREROUTING -j DIME-IN\n"
	"-A PREROUTING -j DIME-IN\n"
	"-A OTHER -g DIME-IN\n"
	"-A DIME-IN -i lo -j RETURN\n"
	"-A DIME-IN -m set --match-set dime-in4-r src -m set --match-set dime-in4-l dst -j NFQUEUE --queue-num 1\n"
	"COMMIT\n";

static const char remove_installed[] =
	"*mangle\n"
	"-D OUTPUT -j DIME-OUT\n"
	"-F DIME-OUT\n"
	"-X DIME-OUT\n"
	"COMMIT\n"
	"*raw\n"
	"-D PREROUTING -j DIME-IN\n"
	"-D PREROUTING -j DIME-IN\n"
	"-D OTHER -g DIME-IN\n"
	"-F DIME-IN\n"
	"-X DIME-IN\n"
	"COMMIT\n";

START_TEST(test_remove_installed)
{
	char buf[4096];
	int len = rules_render_remove(save_installed, buf, sizeof(buf));

	ck_assert_int_eq(len, (int)strlen(remove_installed));
	ck_assert_str_eq(buf, remove_installed);
}
END_TEST

START_TEST(test_remove_nothing_ours)
{
	static const char save[] =
		"*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
		"-A PREROUTING -j DIME-INX\n-A PREROUTING -j CT --notrack\nCOMMIT\n"
		"*mangle\n:DIME-OUTPUT - [0:0]\n-A OUTPUT -j DIME-OUTPUT\nCOMMIT\n";
	char buf[256] = "junk";

	ck_assert_int_eq(rules_render_remove(save, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(rules_render_remove("", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "");
}
END_TEST

/* A chain left without its jump (a crash between the two), a jump in a
 * table whose output was cut off (no COMMIT: left alone), no final newline. */
START_TEST(test_remove_partial)
{
	static const char save[] =
		"*mangle\n:OUTPUT ACCEPT [0:0]\n:DIME-OUT - [0:0]\nCOMMIT\n"
		"*raw\n:DIME-IN - [0:0]\n-A PREROUTING -j DIME-IN";
	char buf[256];

	ck_assert_int_eq(rules_render_remove(save, buf, sizeof(buf)), (int)strlen("*mangle\n-F DIME-OUT\n-X DIME-OUT\nCOMMIT\n"));
	ck_assert_str_eq(buf, "*mangle\n-F DIME-OUT\n-X DIME-OUT\nCOMMIT\n");
}
END_TEST

static void removal_is(const char *save, const char *want)
{
	char buf[256];

	ck_assert_int_eq(rules_render_remove(save, buf, sizeof(buf)), (int)strlen(want));
	ck_assert_str_eq(buf, want);
}

/* A table whose COMMIT never came is dropped whole when the next one
 * starts too: a restore script with an open table would fail as a whole. */
START_TEST(test_remove_cut_table_then_another)
{
	static const char save[] =
		"*raw\n:DIME-IN - [0:0]\n-A PREROUTING -j DIME-IN\n"
		"*mangle\n:DIME-OUT - [0:0]\n-A OUTPUT -j DIME-OUT\nCOMMIT\n";

	removal_is(save, "*mangle\n-D OUTPUT -j DIME-OUT\n-F DIME-OUT\n-X DIME-OUT\nCOMMIT\n");
}
END_TEST

/* A rule line with leading blanks: "-D" replaces the "-A" token, not the
 * line's first two bytes (which made "-D-A PREROUTING ..."). */
START_TEST(test_remove_indented_rule)
{
	static const char save[] = "*raw\n:DIME-IN - [0:0]\n \t-A PREROUTING -j DIME-IN\nCOMMIT\n";

	removal_is(save, "*raw\n-D PREROUTING -j DIME-IN\n-F DIME-IN\n-X DIME-IN\nCOMMIT\n");
}
END_TEST

/* The bound is for the worst input too: many short tables each declaring
 * both chains grow the text by 2 lines per declaration (the old bound,
 * strlen + 256, did not hold past a dozen such tables). */
START_TEST(test_remove_bound_worst_case)
{
	static const char table[] = "*r\n:DIME-IN\n:DIME-OUT\nCOMMIT\n";
	char save[64 * sizeof(table)] = "", *buf;
	size_t size;
	int len;

	for (int i = 0; i < 64; i++)
		strcat(save, table);
	size = RULES_REMOVE_SIZE(strlen(save));
	buf = malloc(size);
	ck_assert_ptr_nonnull(buf);
	len = rules_render_remove(save, buf, size);
	ck_assert_int_gt(len, (int)strlen(save) + 256);
	ck_assert_uint_lt((size_t)len, size);
	free(buf);
}
END_TEST

/* The documented bound holds, and every smaller size is refused cleanly. */
START_TEST(test_remove_bounds)
{
	char full[4096], buf[4096 + 16];
	size_t bound = RULES_REMOVE_SIZE(strlen(save_installed));
	int len = rules_render_remove(save_installed, full, sizeof(full));

	ck_assert_uint_le((size_t)len + 1, bound);
	for (size_t size = 0; size <= (size_t)len + 1; size++) {
		memset(buf, 'x', sizeof(buf));
		int rc = rules_render_remove(save_installed, buf, size);

		if (size <= (size_t)len && rc != -ENOSPC)
			ck_abort_msg("size %zu: %d, want -ENOSPC", size, rc);
		if (size > (size_t)len && (rc != len || strcmp(buf, full) != 0))
			ck_abort_msg("size %zu: %d, want %d", size, rc, len);
		if (buf[size] != 'x')
			ck_abort_msg("size %zu: wrote past the end", size);
	}
}
END_TEST

/* A lane's rule, as iptables-save prints it back (take-over finds it so). */
START_TEST(test_lane_text)
{
	struct dime_addr v4, v6;
	char buf[256];

	ck_assert_int_eq(dime_addr_parse(&v4, "203.0.113.130"), 0);
	ck_assert_int_eq(dime_addr_parse(&v6, "2001:db8:c::130"), 0);
	ck_assert_int_gt(rules_render_lane(&cfg, 0, &v4, true, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "*raw\n-A DIME-IN -d 203.0.113.130/32 -m set --match-set dime-in4-r0 src "
			      "-j NFQUEUE --queue-num 1\nCOMMIT\n");
	ck_assert_int_gt(rules_render_lane(&cfg, 7, &v6, false, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "*raw\n-D DIME-IN -d 2001:db8:c::130/128 -m set --match-set dime-in6-r7 src "
			      "-j NFQUEUE --queue-num 1\nCOMMIT\n");
	ck_assert_int_eq(rules_render_lane(&cfg, RULES_LANES, &v4, true, buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(rules_render_lane(&cfg, 0, &v4, true, buf, 16), -ENOSPC);
	ck_assert_ptr_null(rules_lane_set_name(AF_INET, RULES_LANES));
	ck_assert_str_eq(rules_lane_set_name(AF_INET6, 3), "dime-in6-r3");
	/* Nothing bound before install. */
	ck_assert_int_eq(rules_lane_of(&v4), -1);
}
END_TEST

START_TEST(test_set_names)
{
	ck_assert_str_eq(rules_set_name(RULES_SET_OUT_LOCAL, AF_INET), "dime-out4-l");
	ck_assert_str_eq(rules_set_name(RULES_SET_OUT_REMOTE, AF_INET6), "dime-out6-r");
	ck_assert_str_eq(rules_set_name(RULES_SET_OUT_DST, AF_INET), "dime-odst4");
	ck_assert_str_eq(rules_set_name(RULES_SET_IN_REMOTE, AF_INET6), "dime-in6-r");
	ck_assert_str_eq(rules_set_name(RULES_SET_IN_LOCAL, AF_INET), "dime-in4-l");
	ck_assert_ptr_null(rules_set_name(RULES_SET_COUNT, AF_INET));
	ck_assert_ptr_null(rules_set_name(RULES_SET_OUT_DST, AF_UNIX));
}
END_TEST

START_TEST(test_pairs_need_install)
{
	struct rules_pair_op ops[2] = { { .dir = RULES_OUT }, { .dir = RULES_IN, .del = true } };
	struct dime_addr a, b;

	dime_addr_parse(&a, "192.0.2.1");
	dime_addr_parse(&b, "203.0.113.130");
	ops[0].a = ops[1].a = a;
	ops[0].b = ops[1].b = b;
	ck_assert_int_eq(rules_pair_add(RULES_OUT, &a, &b), -ENOTCONN);
	ck_assert_int_eq(rules_odst_add(&b), -ENOTCONN);
	ck_assert_int_eq(rules_pairs_apply(ops, 2), -ENOTCONN);
	ck_assert_int_eq(ops[1].result, -ENOTCONN);
	ck_assert_uint_eq(rules_pair_addresses(), 0);
	/* Not installed: the idle check has nothing to switch off. */
	rules_idle(0);
	rules_idle(10 * RULES_IDLE_MS);
	{
		struct rules_stats rs;

		rules_get_stats(&rs);
		ck_assert(!rs.on_in[0] && !rs.on_in[1] && !rs.on_out[0] && !rs.on_out[1]);
		ck_assert_uint_eq(rs.steering_off + rs.steering_on + rs.steering_errors, 0);
	}
}
END_TEST

static Suite *rules_suite(void)
{
	Suite *s = suite_create("rules");
	TCase *tc = tcase_create("text");

	tcase_add_test(tc, test_install_golden_v4);
	tcase_add_test(tc, test_install_golden_v6);
	tcase_add_test(tc, test_install_track_connections);
	tcase_add_test(tc, test_install_has_no_jump);
	tcase_add_test(tc, test_steering_text);
	tcase_add_test(tc, test_chain_prunable);
	tcase_add_test(tc, test_install_bounds);
	tcase_add_test(tc, test_install_errors);
	tcase_add_test(tc, test_remove_installed);
	tcase_add_test(tc, test_remove_nothing_ours);
	tcase_add_test(tc, test_remove_partial);
	tcase_add_test(tc, test_remove_bounds);
	tcase_add_test(tc, test_remove_cut_table_then_another);
	tcase_add_test(tc, test_remove_indented_rule);
	tcase_add_test(tc, test_remove_bound_worst_case);
	tcase_add_test(tc, test_set_names);
	tcase_add_test(tc, test_lane_text);
	tcase_add_test(tc, test_pairs_need_install);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(rules_suite());
	int failed;

	/* The config checks log their refusals; keep the test output quiet. */
	log_init("test_rules", LOG_LEVEL_ERR);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
