// SPDX-License-Identifier: BSD-2-Clause
/*
 * dimed: the DIME host mobility daemon. This file owns the command line and
 * the order in which modules start and stop; it holds no protocol logic.
 *
 * The data plane (NFQUEUE rewrite, issue 3) and the control plane (IHMP,
 * issue 4) are not wired in yet: dimed parses its options, checks that it
 * has the privileges it will need, and says plainly that it cannot run.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <unistd.h>

#include "dime/log.h"
#include "dime/version.h"

#define DIMED_DEFAULT_CONF "/etc/dime/dime.conf"

struct dimed_options {
	const char *conf_path;
	bool check_only;
	bool verbose;
	int log_level;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: dimed [-f FILE] [-n [-v]] [-l LEVEL]\n"
		"       dimed -h | -V\n"
		"\n"
		"DIME host mobility daemon: keeps TCP and UDP connections alive while the\n"
		"host's addresses change. Runs in the foreground (systemd Type=notify).\n"
		"\n"
		"  -f, --config FILE   configuration file (default " DIMED_DEFAULT_CONF ")\n"
		"  -n, --check         check the configuration and exit\n"
		"  -v, --verbose       with -n: print the effective configuration\n"
		"  -l, --log-level L   err, warning, notice, info (default) or debug\n"
		"  -h, --help          show this help\n"
		"  -V, --version       show the version\n"
		"\n"
		"See dimed(8), dime.conf(5) and dimectl(8).\n");
}

/* Returns 0 to run, 1 on a usage error (already reported), 2 when the
 * caller should exit 0 (help, version). */
static int parse_options(int argc, char **argv, struct dimed_options *opt)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'f' },
		{ "check", no_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "f:nvl:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			opt->conf_path = optarg;
			break;
		case 'n':
			opt->check_only = true;
			break;
		case 'v':
			opt->verbose = true;
			break;
		case 'l':
			opt->log_level = log_level_parse(optarg);
			if (opt->log_level < 0) {
				fprintf(stderr, "dimed: unknown log level \"%s\" (err, warning, notice, info, debug)\n",
					optarg);
				return 1;
			}
			break;
		case 'h':
			usage(stdout);
			return 2;
		case 'V':
			printf("dimed %s\n", DIME_VERSION);
			return 2;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "dimed: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return 1;
	}
	return 0;
}

/* dimed rewrites packets and installs firewall rules: without
 * CAP_NET_ADMIN in its effective set every later step would fail. */
static bool have_net_admin(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data) < 0)
		return geteuid() == 0;
	return data[CAP_TO_INDEX(CAP_NET_ADMIN)].effective & CAP_TO_MASK(CAP_NET_ADMIN);
}

int main(int argc, char **argv)
{
	struct dimed_options opt = {
		.conf_path = DIMED_DEFAULT_CONF,
		.log_level = LOG_LEVEL_INFO,
	};
	int rc = parse_options(argc, argv, &opt);

	if (rc)
		return rc == 2 ? 0 : 1;
	log_init("dimed", (enum log_level)opt.log_level);

	if (opt.check_only) {
		log_errx("%s: configuration checking is not available in this build yet", opt.conf_path);
		return 1;
	}
	if (!have_net_admin()) {
		log_errx("needs CAP_NET_ADMIN to queue and rewrite packets: run as root or under systemd");
		return 1;
	}
	log_errx("the data plane is not part of this build yet: nothing to run");
	return 1;
}
