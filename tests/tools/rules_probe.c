// SPDX-License-Identifier: BSD-2-Clause
/*
 * dime-rules-probe: run rules.c and ipset.c operations from the command
 * line, for the netns test (never in the machine's own namespace).
 * Several commands separated by "," run in one process, which matters
 * because pair counts live in the process that installed the rules:
 *
 *   dime-rules-probe install ipv6=1 , add-pair out 192.0.2.10 203.0.113.130 , \
 *                    expect-pair out 192.0.2.10 203.0.113.130 present
 *
 * Commands:
 *   install [ipv6=0|1] [qout=N] [qin=N] [port=N] [mark=N]   (defaults 0 1 4010 0x40000000)
 *   remove | remove-stale
 *   add-pair|del-pair out|in A B        counted pair operations
 *   expect-pair out|in A B present|absent   the pair is matched (or not): both
 *                                       columns hold A and B, or, inbound, B's
 *                                       lane set holds A and dime-in4-l holds B
 *   odst-add A | odst-del A
 *   create SET inet|inet6 [MAXELEM] | destroy SET | flush SET   raw ipset
 *   add-ip SET A | del-ip SET A | test-ip SET A | expect-ip SET A present|absent
 *   bench-pairs N                       N outbound pairs (IPv6) in one batch, timed
 *   udp-send SPORT ADDR DPORT           one datagram from local port SPORT
 *   sh "COMMAND"                        run a shell command between steps
 *   fails COMMAND [ARGS]                succeeds when COMMAND fails
 *   render 4|6                          print the install text
 *   idle MS                             rules_idle(MS): steering off after quiet
 *   expect-steering 4|6 on|off on|off   whether that family's jumps to DIME-IN
 *                                       and to DIME-OUT are in place
 *   counted                             print how many addresses are counted
 * Each command prints one line; the first failure stops the run (exit 1).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "dime/ipset.h"
#include "dime/log.h"
#include "dime/rules.h"

static struct ipset *raw;

static int usage(void)
{
	fprintf(stderr, "usage: dime-rules-probe COMMAND [ARGS] [, COMMAND [ARGS]]...\n"
			"  (see the comment at the top of tests/tools/rules_probe.c)\n");
	return 2;
}

static int addr_arg(const char *text, struct dime_addr *a)
{
	if (dime_addr_parse(a, text) < 0) {
		fprintf(stderr, "not an address: %s\n", text);
		return -EINVAL;
	}
	return 0;
}

static int raw_ready(void)
{
	return raw ? 0 : ipset_open(&raw);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmd_install(int argc, char **argv)
{
	struct rules_config cfg = { .queue_out = 0, .queue_in = 1, .ihmp_port = 4010, .mark = 0x40000000 };

	for (int i = 1; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		unsigned long v;

		if (!eq)
			return -EINVAL;
		v = strtoul(eq + 1, NULL, 0);
		if (strncmp(argv[i], "ipv6=", 5) == 0)
			cfg.ipv6 = v != 0;
		else if (strncmp(argv[i], "qout=", 5) == 0)
			cfg.queue_out = (uint16_t)v;
		else if (strncmp(argv[i], "qin=", 4) == 0)
			cfg.queue_in = (uint16_t)v;
		else if (strncmp(argv[i], "port=", 5) == 0)
			cfg.ihmp_port = (uint16_t)v;
		else if (strncmp(argv[i], "mark=", 5) == 0)
			cfg.mark = (uint32_t)v;
		else if (strncmp(argv[i], "track=", 6) == 0)
			cfg.track_connections = v != 0;
		else
			return -EINVAL;
	}
	return rules_install(&cfg);
}

static int dir_arg(const char *text, enum rules_dir *dir)
{
	if (strcmp(text, "out") == 0)
		*dir = RULES_OUT;
	else if (strcmp(text, "in") == 0)
		*dir = RULES_IN;
	else
		return -EINVAL;
	return 0;
}

static int cmd_pair(int argc, char **argv)
{
	struct dime_addr a, b;
	enum rules_dir dir;
	int rc;

	if (argc != 4 || dir_arg(argv[1], &dir) < 0 || addr_arg(argv[2], &a) < 0 || addr_arg(argv[3], &b) < 0)
		return -EINVAL;
	rc = strcmp(argv[0], "add-pair") == 0 ? rules_pair_add(dir, &a, &b) : rules_pair_del(dir, &a, &b);
	if (rc == 0)
		printf("%s %s %s %s: ok (%zu addresses counted)\n", argv[0], argv[1], argv[2], argv[3],
		       rules_pair_addresses());
	return rc;
}

static int expect_word(const char *word, int *want)
{
	if (strcmp(word, "present") == 0)
		*want = 1;
	else if (strcmp(word, "absent") == 0)
		*want = 0;
	else
		return -EINVAL;
	return 0;
}

static int cmd_expect_pair(int argc, char **argv)
{
	struct dime_addr a, b;
	enum rules_dir dir;
	int want, ra, rb, lane;

	if (argc != 5 || dir_arg(argv[1], &dir) < 0 || addr_arg(argv[2], &a) < 0 ||
	    addr_arg(argv[3], &b) < 0 || expect_word(argv[4], &want) < 0 || raw_ready() < 0)
		return -EINVAL;
	/* Inbound, the remote is in the lane of the local when it has one. */
	lane = dir == RULES_IN ? rules_lane_of(&b) : -1;
	ra = ipset_test_ip(raw, lane >= 0 ? rules_lane_set_name(a.family, (unsigned)lane) :
			   rules_set_name(dir == RULES_OUT ? RULES_SET_OUT_LOCAL : RULES_SET_IN_REMOTE, a.family),
			   &a);
	rb = ipset_test_ip(raw, rules_set_name(dir == RULES_OUT ? RULES_SET_OUT_REMOTE : RULES_SET_IN_LOCAL,
					       b.family), &b);
	if (ra < 0 || rb < 0)
		return ra < 0 ? ra : rb;
	printf("pair %s %s %s: %s/%s%s\n", argv[1], argv[2], argv[3], ra ? "present" : "absent",
	       rb ? "present" : "absent", lane >= 0 ? " (lane)" : "");
	return (ra && rb) == want ? 0 : -EDOM;
}

static int cmd_odst(int argc, char **argv)
{
	struct dime_addr a;
	int rc;

	if (argc != 2 || addr_arg(argv[1], &a) < 0)
		return -EINVAL;
	rc = strcmp(argv[0], "odst-add") == 0 ? rules_odst_add(&a) : rules_odst_del(&a);
	if (rc == 0)
		printf("%s %s: ok\n", argv[0], argv[1]);
	return rc;
}

static int cmd_set(int argc, char **argv)
{
	int rc = raw_ready();

	if (rc < 0 || argc < 2)
		return rc < 0 ? rc : -EINVAL;
	if (strcmp(argv[0], "create") == 0) {
		if (argc < 3)
			return -EINVAL;
		rc = ipset_create(raw, argv[1], "hash:ip", strcmp(argv[2], "inet6") == 0 ? AF_INET6 : AF_INET,
				  argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 0) : 65536);
	} else if (strcmp(argv[0], "destroy") == 0) {
		rc = ipset_destroy(raw, argv[1]);
	} else {
		rc = ipset_flush(raw, argv[1]);
	}
	if (rc == 0)
		printf("%s %s: ok\n", argv[0], argv[1]);
	return rc;
}

static int cmd_ip(int argc, char **argv)
{
	struct dime_addr a;
	int rc, want = -1;

	if (argc < 3 || addr_arg(argv[2], &a) < 0 || raw_ready() < 0)
		return -EINVAL;
	if (strcmp(argv[0], "add-ip") == 0) {
		rc = ipset_add_ip(raw, argv[1], &a);
	} else if (strcmp(argv[0], "del-ip") == 0) {
		rc = ipset_del_ip(raw, argv[1], &a);
	} else {
		if (strcmp(argv[0], "expect-ip") == 0 && (argc != 4 || expect_word(argv[3], &want) < 0))
			return -EINVAL;
		rc = ipset_test_ip(raw, argv[1], &a);
		if (rc < 0)
			return rc;
		printf("%s %s: %s\n", argv[1], argv[2], rc ? "present" : "absent");
		return want < 0 || rc == want ? 0 : -EDOM;
	}
	if (rc == 0)
		printf("%s %s %s: ok\n", argv[0], argv[1], argv[2]);
	return rc;
}

/* N pairs (192.0.2.10, 2001:db8:ffff::i) would mix families; use one
 * IPv6 local identifier and N IPv6 remotes, so each pair adds one entry. */
static int cmd_bench(int argc, char **argv)
{
	size_t n = argc == 2 ? strtoul(argv[1], NULL, 0) : 0;
	struct rules_pair_op *ops;
	double t0, t1, t2;
	int rc;

	if (n == 0 || n > 60000)
		return -EINVAL;
	ops = calloc(n, sizeof(*ops));
	if (!ops)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		char text[64];

		snprintf(text, sizeof(text), "2001:db8:ffff::%zx:%zx", i >> 16, i & 0xffff);
		ops[i].dir = RULES_OUT;
		dime_addr_parse(&ops[i].a, "2001:db8:1::10");
		dime_addr_parse(&ops[i].b, text);
	}
	t0 = now_s();
	rc = rules_pairs_apply(ops, n);
	t1 = now_s();
	if (rc == 0) {
		for (size_t i = 0; i < n; i++)
			ops[i].del = true;
		rc = rules_pairs_apply(ops, n);
	}
	t2 = now_s();
	if (rc == 0)
		printf("bench-pairs %zu: add %.1f ms (%.2f us/pair), del %.1f ms (%.2f us/pair), %zu counted after\n",
		       n, (t1 - t0) * 1e3, (t1 - t0) * 1e6 / (double)n, (t2 - t1) * 1e3,
		       (t2 - t1) * 1e6 / (double)n, rules_pair_addresses());
	free(ops);
	return rc;
}

/* The IHMP exemptions match ports; this sends from a chosen one. */
static int cmd_udp_send(int argc, char **argv)
{
	struct sockaddr_storage src = { 0 }, dst = { 0 };
	struct dime_addr a;
	socklen_t len;
	int fd, rc = 0;

	if (argc != 4 || addr_arg(argv[2], &a) < 0)
		return -EINVAL;
	if (a.family == AF_INET) {
		struct sockaddr_in *s4 = (void *)&src, *d4 = (void *)&dst;

		s4->sin_family = d4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)atoi(argv[1]));
		d4->sin_port = htons((uint16_t)atoi(argv[3]));
		memcpy(&d4->sin_addr, a.a.u8, 4);
		len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (void *)&src, *d6 = (void *)&dst;

		s6->sin6_family = d6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)atoi(argv[1]));
		d6->sin6_port = htons((uint16_t)atoi(argv[3]));
		memcpy(&d6->sin6_addr, a.a.u8, 16);
		len = sizeof(*s6);
	}
	fd = socket(a.family, SOCK_DGRAM, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&src, len) < 0 ||
	    sendto(fd, "dime", 4, 0, (struct sockaddr *)&dst, len) < 0)
		rc = -errno;
	close(fd);
	if (rc == 0)
		printf("udp-send %s -> %s port %s: ok\n", argv[1], argv[2], argv[3]);
	return rc;
}

static int cmd_render(int argc, char **argv)
{
	struct rules_config cfg = { .queue_out = 0, .queue_in = 1, .ihmp_port = 4010, .mark = 0x40000000 };
	char buf[4096];
	int rc;

	if (argc != 2)
		return -EINVAL;
	rc = rules_render_install(&cfg, strcmp(argv[1], "6") == 0 ? AF_INET6 : AF_INET, buf, sizeof(buf));
	if (rc >= 0)
		fputs(buf, stdout);
	return rc < 0 ? rc : 0;
}

static int cmd_idle(int argc, char **argv)
{
	struct rules_stats rs;

	if (argc != 2)
		return -EINVAL;
	rules_idle(strtoull(argv[1], NULL, 0));
	rules_get_stats(&rs);
	printf("idle %s: steering IPv4 in %s out %s, IPv6 in %s out %s (on %llu, off %llu, errors %llu, chains pruned %llu)\n",
	       argv[1], rs.on_in[0] ? "on" : "off", rs.on_out[0] ? "on" : "off", rs.on_in[1] ? "on" : "off",
	       rs.on_out[1] ? "on" : "off", (unsigned long long)rs.steering_on,
	       (unsigned long long)rs.steering_off, (unsigned long long)rs.steering_errors,
	       (unsigned long long)rs.chains_pruned);
	return 0;
}

static int on_off(const char *word)
{
	return strcmp(word, "on") == 0 ? 1 : strcmp(word, "off") == 0 ? 0 : -1;
}

static int cmd_expect_steering(int argc, char **argv)
{
	struct rules_stats rs;
	size_t f;
	bool in, out;

	if (argc != 4 || (strcmp(argv[1], "4") && strcmp(argv[1], "6")) || on_off(argv[2]) < 0 || on_off(argv[3]) < 0)
		return -EINVAL;
	rules_get_stats(&rs);
	f = strcmp(argv[1], "6") == 0;
	in = rs.on_in[f];
	out = rs.on_out[f];
	printf("steering IPv%s: in %s, out %s\n", argv[1], in ? "on" : "off", out ? "on" : "off");
	return in == on_off(argv[2]) && out == on_off(argv[3]) ? 0 : -EDOM;
}

static int run(int argc, char **argv)
{
	const char *c = argv[0];
	int rc;

	if (strcmp(c, "fails") == 0 && argc > 1) {
		rc = run(argc - 1, argv + 1);
		printf("%s: %s\n", argv[1], rc < 0 ? "failed as expected" : "succeeded unexpectedly");
		return rc < 0 ? 0 : -EDOM;
	}
	if (strcmp(c, "install") == 0)
		rc = cmd_install(argc, argv);
	else if (strcmp(c, "remove") == 0)
		rc = rules_remove();
	else if (strcmp(c, "remove-stale") == 0)
		rc = rules_remove_stale();
	else if (strcmp(c, "add-pair") == 0 || strcmp(c, "del-pair") == 0)
		return cmd_pair(argc, argv);
	else if (strcmp(c, "expect-pair") == 0)
		return cmd_expect_pair(argc, argv);
	else if (strcmp(c, "odst-add") == 0 || strcmp(c, "odst-del") == 0)
		return cmd_odst(argc, argv);
	else if (strcmp(c, "idle") == 0)
		return cmd_idle(argc, argv);
	else if (strcmp(c, "expect-steering") == 0)
		return cmd_expect_steering(argc, argv);
	else if (strcmp(c, "create") == 0 || strcmp(c, "destroy") == 0 || strcmp(c, "flush") == 0)
		return cmd_set(argc, argv);
	else if (strstr(c, "-ip"))
		return cmd_ip(argc, argv);
	else if (strcmp(c, "bench-pairs") == 0)
		return cmd_bench(argc, argv);
	else if (strcmp(c, "sh") == 0)
		rc = argc == 2 && system(argv[1]) == 0 ? 0 : -ECHILD;
	else if (strcmp(c, "udp-send") == 0)
		return cmd_udp_send(argc, argv);
	else if (strcmp(c, "render") == 0)
		return cmd_render(argc, argv);
	else if (strcmp(c, "counted") == 0) {
		printf("counted: %zu\n", rules_pair_addresses());
		return 0;
	} else
		return -EINVAL;
	if (rc == 0)
		printf("%s: ok\n", c);
	return rc;
}

int main(int argc, char **argv)
{
	int start = 1, rc = 0;

	log_init("dime-rules-probe", getenv("DIME_PROBE_DEBUG") ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	if (argc < 2)
		return usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 1; i <= argc && rc == 0; i++) {
		if (i < argc && strcmp(argv[i], ",") != 0)
			continue;
		if (i > start) {
			rc = run(i - start, argv + start);
			if (rc < 0)
				fprintf(stderr, "%s: error: %s (%d)\n", argv[start],
					rc == -EDOM ? "not as expected" : ipset_strerror(rc), rc);
		}
		start = i + 1;
	}
	ipset_close(raw);
	return rc < 0 ? 1 : 0;
}
