// SPDX-License-Identifier: BSD-2-Clause
/*
 * dimectl: the operator's view into a running dimed over its UNIX control
 * socket. This file owns the command table; each command's rendering will
 * live in its own file once the control protocol exists (issue 5).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "dime/version.h"

#define DIMECTL_DEFAULT_SOCKET "/run/dime/dimed.sock"

struct dimectl_options {
	const char *socket_path;
	bool json;
};

struct command {
	const char *name;
	const char *help;
	int (*run)(const struct dimectl_options *opt, int argc, char **argv);
};

static void usage(FILE *out);

/* Connect to dimed, or explain precisely why not. Returns fd or -1. */
static int connect_daemon(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "dimectl: control socket path too long: %s\n", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "dimectl: socket: %s\n", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int err = errno;

		fprintf(stderr, "dimectl: cannot connect to %s: %s%s\n", path, strerror(err),
			err == ENOENT || err == ECONNREFUSED ? " (is dimed running?)" :
			err == EACCES ? " (run as root or as a member of group dime)" : "");
		close(fd);
		return -1;
	}
	return fd;
}

/* Until the control protocol exists (issue 5), every daemon command stops
 * after connecting: say so instead of pretending. */
static int run_daemon_command(const struct dimectl_options *opt, int argc, char **argv)
{
	int fd = connect_daemon(opt->socket_path);

	if (fd < 0)
		return 1;
	close(fd);
	fprintf(stderr, "dimectl: \"%s\": this dimectl cannot speak to dimed yet (no control protocol)\n",
		argv[0]);
	return 1;
}

static int run_version(const struct dimectl_options *opt, int argc, char **argv)
{
	printf("dimectl %s\n", DIME_VERSION);
	return 0;
}

static int run_help(const struct dimectl_options *opt, int argc, char **argv)
{
	usage(stdout);
	return 0;
}

static const struct command commands[] = {
	{ "show", "summary of hosts, addresses and flows (the default)", run_daemon_command },
	{ "stats", "every counter of the data and control plane", run_daemon_command },
	{ "version", "print the version", run_version },
	{ "help", "show this help", run_help },
};

static void usage(FILE *out)
{
	fprintf(out, "Usage: dimectl [-s SOCKET] [-j] [COMMAND [ARGS]]\n\n"
		     "  -s, --socket PATH  control socket (default " DIMECTL_DEFAULT_SOCKET ")\n"
		     "  -j, --json         JSON output\n"
		     "  -h, --help         show this help\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(out, "\nSee dimectl(8).\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct dimectl_options opt = { .socket_path = DIMECTL_DEFAULT_SOCKET };
	static char *default_argv[] = { "show", NULL };
	int c;

	/* "+": stop at the first command word so commands may take options. */
	while ((c = getopt_long(argc, argv, "+s:jh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			opt.socket_path = optarg;
			break;
		case 'j':
			opt.json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		argc = 1;
		argv = default_argv;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[0], commands[i].name) == 0)
			return commands[i].run(&opt, argc, argv);
	fprintf(stderr, "dimectl: unknown command \"%s\" (dimectl help lists them)\n", argv[0]);
	return 2;
}
