// SPDX-License-Identifier: BSD-2-Clause
/*
 * dimed: the DIME host mobility daemon. This file owns the command line and
 * the order in which modules start and stop; it holds no protocol logic.
 *
 * Start-up: options, the configuration file (all of it clean, or dimed
 * does not start), privileges and the plan to drop them (privdrop.h), then
 * dimed_start() (tables, queues, rules, netlink, control socket) as root,
 * the drop to the unprivileged user, the loop until SIGTERM/SIGINT with the
 * log rate limiter on, and dimed_stop(), which removes every rule, set,
 * pin and sysctl change with the capabilities that were kept. Settings
 * come from conf.c's table and the file; -l and -s override the file.
 * IHMP is not wired in yet (see dimed(8)).
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

#include "dime/conf.h"
#include "dime/control.h"
#include "dime/daemon.h"
#include "dime/log.h"
#include "dime/loop.h"
#include "dime/privdrop.h"
#include "dime/sdnotify.h"
#include "dime/version.h"

#define DIMED_DEFAULT_CONF "/etc/dime/dime.conf"
/* dimed's own runtime directory (the default control socket's, systemd's
 * RuntimeDirectory=): the unprivileged user gets it, to remove its files. */
#define DIMED_RUN_DIR "/run/dime"

struct dimed_options {
	const char *conf_path;
	bool conf_given;		/* -f: the file must exist */
	const char *ctl_path;		/* -s, NULL when not given */
	const char *log_level_name;	/* -l, NULL when not given */
	const char *user;		/* -u, NULL: the default drop */
	bool check_only;
	bool verbose;
	int log_level;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: dimed [-f FILE] [-n [-v]] [-l LEVEL] [-s SOCKET] [-u USER]\n"
		"       dimed -h | -V\n"
		"\n"
		"DIME host mobility daemon: keeps TCP and UDP connections alive while the\n"
		"host's addresses change. Runs in the foreground (systemd Type=notify).\n"
		"\n"
		"  -f, --config FILE   configuration file (default " DIMED_DEFAULT_CONF ")\n"
		"  -n, --check         check the configuration and exit\n"
		"  -v, --verbose       with -n: print the effective configuration\n"
		"  -l, --log-level L   err, warning, notice, info or debug (default: the file's\n"
		"                      log-level, info)\n"
		"  -s, --socket PATH   control socket (default: the file's control-socket,\n"
		"                      " CTL_SOCKET_PATH ")\n"
		"  -u, --user USER     run as USER after start-up, keeping only CAP_NET_ADMIN\n"
		"                      and CAP_NET_RAW (default: " PRIVDROP_DEFAULT_USER " when it exists;\n"
		"                      root: stay root)\n"
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
		{ "user", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "f:nvl:s:u:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			opt->conf_path = optarg;
			opt->conf_given = true;
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
			opt->log_level_name = optarg;
			break;
		case 's':
			opt->ctl_path = optarg;
			break;
		case 'u':
			if (!*optarg) {
				fprintf(stderr, "dimed: -u needs a user name\n");
				return 1;
			}
			opt->user = optarg;
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

/* The file, then the command line over it, into *conf. Nothing is kept
 * from a file with any error. Errors go to stderr as they are with -n
 * (for the person checking), through the log otherwise (for the journal). */
static int load_config(const struct dimed_options *opt, struct dime_conf *conf, const char *what)
{
	struct conf_errors errs;
	int err;

	err = conf_load(opt->conf_path, !opt->conf_given, conf, &errs);
	if (err == 0 && opt->ctl_path)
		err = conf_set(conf, "control-socket", opt->ctl_path, "-s", &errs);
	if (err == 0 && opt->log_level_name)
		err = conf_set(conf, "log-level", opt->log_level_name, "-l", &errs);
	if (err == 0)
		return 0;
	if (opt->check_only) {
		conf_errors_print(&errs, stderr);
		return -EINVAL;
	}
	for (unsigned i = 0; i < errs.count && i < CONF_ERRORS_MAX; i++)
		log_errx("%s", errs.msg[i]);
	if (errs.count > CONF_ERRORS_MAX)
		log_errx("%u more configuration errors not shown", errs.count - CONF_ERRORS_MAX);
	if (strcmp(what, "reload") == 0)
		log_errx("%s: not reloaded, the running configuration stays: %u error%s (check with dimed -n)",
			 opt->conf_path, errs.count, errs.count == 1 ? "" : "s");
	else
		log_errx("%s: not starting: the configuration has %u error%s (check with dimed -n)",
			 opt->conf_path, errs.count, errs.count == 1 ? "" : "s");
	return -EINVAL;
}

/* -n: bgpd's habit, the verdict on stderr and, with -v, the effective
 * configuration on stdout where it can be saved and parsed again. */
static int check(const struct dime_conf *conf, bool verbose)
{
	if (verbose)
		conf_print(conf, stdout);
	if (fflush(stdout) != 0) {
		log_err("cannot write the configuration");
		return 1;
	}
	fprintf(stderr, "configuration OK\n");
	return 0;
}

/* The options and file of this run, for a reload. */
static const struct dimed_options *run_opt;

/*
 * SIGHUP: read the file again (with the command line over it, as at
 * start). A file with any error changes nothing: its errors are logged
 * with file:line and the running configuration stays. Otherwise the log
 * level and what dimed_reload() can apply take effect at once.
 */
static int reload_config(struct dimed *d)
{
	struct dime_conf conf;
	struct dimed_config cfg;
	int level, changed;

	sd_notify_state("RELOADING=1");
	log_notice("reloading %s", run_opt->conf_path);
	if (load_config(run_opt, &conf, "reload") < 0) {
		sd_notify_state("READY=1");
		return -EINVAL;
	}
	conf_to_daemon(&conf, &cfg, &cfg.flow_timeouts, &level);
	changed = dimed_reload(d, &cfg);
	if (level != (int)log_get_level()) {
		log_notice("reload: log-level now %s", log_level_name((enum log_level)level));
		log_set_level((enum log_level)level);
		changed++;
	}
	log_notice("reload: done, %d setting%s changed", changed, changed == 1 ? "" : "s");
	sd_notify_state("READY=1");
	return 0;
}

static void reload(struct dimed *d)
{
	log_notice("SIGHUP received");
	reload_config(d);
}

static int run(const struct dime_conf *conf, const char *user)
{
	struct privdrop_plan plan;
	struct dimed_config cfg;
	struct dimed *d;
	int err, sig;

	conf_to_daemon(conf, &cfg, &cfg.flow_timeouts, NULL);
	/* Decided before anything is installed: a drop that cannot work stops
	 * dimed here, not after its rules are in place. */
	if (privdrop_plan(&plan, user, DIMED_RUN_DIR) < 0)
		return 1;
	err = dimed_start(&d, &cfg);
	if (err < 0) {
		log_err_e(err, "cannot start");
		return 1;
	}
	if (privdrop_apply(&plan) < 0) {
		log_errx("not running with more privilege than asked for: stopping");
		dimed_stop(d);
		return 1;
	}
	log_ratelimit_enable(true);
	dimed_set_reloader(d, reload_config);
	sig = loop_run(d, notify_ready, reload);
	log_ratelimit_enable(false);
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
	struct dime_conf conf;
	int rc = parse_options(argc, argv, &opt);
	int level;

	if (rc)
		return rc == 2 ? 0 : 1;
	log_init("dimed", (enum log_level)opt.log_level);
	if (load_config(&opt, &conf, "start") < 0)
		return 1;
	run_opt = &opt;
	conf_to_daemon(&conf, NULL, NULL, &level);
	log_set_level((enum log_level)level);

	if (opt.check_only)
		return check(&conf, opt.verbose);
	if (!have_net_admin()) {
		log_errx("needs CAP_NET_ADMIN to queue and rewrite packets: run as root or under systemd");
		return 1;
	}
	return run(&conf, opt.user);
}
