// SPDX-License-Identifier: BSD-2-Clause
/*
 * dimed: the DIME host mobility daemon. This file owns the command line and
 * the order in which modules start and stop; it holds no protocol logic.
 *
 * Start-up: options, privileges, then dimed_start() (tables, queues,
 * rules, netlink, control socket), the loop until SIGTERM/SIGINT, and
 * dimed_stop(), which removes every rule, set, pin and sysctl change.
 * The configuration file and IHMP are not wired in yet (see dimed(8)).
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

#include "dime/control.h"
#include "dime/daemon.h"
#include "dime/log.h"
#include "dime/loop.h"
#include "dime/sdnotify.h"
#include "dime/version.h"

#define DIMED_DEFAULT_CONF "/etc/dime/dime.conf"

struct dimed_options {
	const char *conf_path;
	const char *ctl_path;
	bool check_only;
	bool verbose;
	int log_level;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: dimed [-f FILE] [-n [-v]] [-l LEVEL] [-s SOCKET]\n"
		"       dimed -h | -V\n"
		"\n"
		"DIME host mobility daemon: keeps TCP and UDP connections alive while the\n"
		"host's addresses change. Runs in the foreground (systemd Type=notify).\n"
		"\n"
		"  -f, --config FILE   configuration file (default " DIMED_DEFAULT_CONF ")\n"
		"  -n, --check         check the configuration and exit\n"
		"  -v, --verbose       with -n: print the effective configuration\n"
		"  -l, --log-level L   err, warning, notice, info (default) or debug\n"
		"  -s, --socket PATH   control socket (default " CTL_SOCKET_PATH ")\n"
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
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "f:nvl:s:hV", longopts, NULL)) != -1) {
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
		case 's':
			opt->ctl_path = optarg;
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

static void notify_ready(void)
{
	int err = sd_notify_state("READY=1");

	if (err < 0)
		log_warn_e(err, "cannot tell systemd we are ready");
}

static int run(const struct dimed_options *opt)
{
	struct dimed_config cfg;
	struct dimed *d;
	int err, sig;

	dimed_config_default(&cfg);
	if (opt->ctl_path)
		cfg.ctl_path = opt->ctl_path;
	if (access(opt->conf_path, F_OK) == 0)
		log_notice("%s: the configuration file is not read by this version; built-in defaults apply",
			   opt->conf_path);
	err = dimed_start(&d, &cfg);
	if (err < 0) {
		log_err_e(err, "cannot start");
		return 1;
	}
	sig = loop_run(d, notify_ready);
	sd_notify_state("STOPPING=1");
	dimed_stop(d);
	log_info("stopped");
	return sig < 0 ? 1 : 0;
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
	return run(&opt);
}
