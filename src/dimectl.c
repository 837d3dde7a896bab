// SPDX-License-Identifier: BSD-2-Clause
/*
 * dimectl: the operator's view into a running dimed over its UNIX control
 * socket. This file owns the command table, the exchange with dimed
 * (ctl_proto.h) and the choice of output form; dimectl_render.c owns what
 * the output looks like.
 *
 * Exit status: 0 success, 1 dimed unreachable or it answered with an
 * error (printed with ctl_result_str), 2 usage error. `monitor` runs until
 * dimed ends the stream (0 when it stops cleanly, 1 when it drops us or
 * the connection breaks) or a signal ends dimectl.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "dime/ctl_proto.h"
#include "dime/ihmp_sign.h"
#include "dime/version.h"
#include "dimectl_render.h"

#define DIMECTL_DEFAULT_SOCKET "/run/dime/dimed.sock"
/* Per read: a dimed that stops answering should not hang a script. */
#define DIMECTL_TIMEOUT_S 30

struct dimectl_options {
	const char *socket_path;
	bool json;
	bool color;
};

struct command {
	const char *name;
	const char *args;
	const char *help;
	int (*run)(const struct dimectl_options *opt, int argc, char **argv);
};

static void usage(FILE *out);

/* Connect to dimed, or explain precisely why not. Returns fd or -1. */
static int connect_daemon(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = DIMECTL_TIMEOUT_S };
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
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/* ---- The exchange ---- */

static int write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* 0, -EPIPE when dimed closed the connection, or -errno. */
static int read_all(int fd, uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = recv(fd, buf, len, 0);

		if (n == 0)
			return -EPIPE;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int io_error(const char *cmd, int err)
{
	if (err == -EPIPE)
		fprintf(stderr, "dimectl: %s: dimed closed the connection\n", cmd);
	else if (err == -EAGAIN || err == -EWOULDBLOCK)
		fprintf(stderr, "dimectl: %s: no answer from dimed within %d s\n", cmd,
			DIMECTL_TIMEOUT_S);
	else
		fprintf(stderr, "dimectl: %s: talking to dimed: %s\n", cmd, strerror(-err));
	return 1;
}

static int bad_reply(const char *cmd, enum ctl_result r, const struct ctl_hdr *hdr)
{
	if (r == CTL_E_VERSION)
		fprintf(stderr, "dimectl: %s: dimed speaks control protocol version %u, this dimectl "
			"speaks %d; use the dimectl installed with dimed\n", cmd, hdr->version,
			CTL_VERSION);
	else
		fprintf(stderr, "dimectl: %s: bad reply from dimed: %s\n", cmd, ctl_result_str(r));
	return 1;
}

/* Read one reply frame into body (CTL_REPLY_BODY_MAX bytes). 0 or 1 (reported). */
static int read_frame(int fd, const char *cmd, uint16_t type, struct ctl_hdr *hdr, uint8_t *body)
{
	uint8_t raw[CTL_HDR_LEN];
	enum ctl_result r;
	int err = read_all(fd, raw, sizeof(raw));

	if (err)
		return io_error(cmd, err);
	r = ctl_hdr_get(raw, sizeof(raw), true, hdr);
	if (r != CTL_OK)
		return bad_reply(cmd, r, hdr);
	/* A refusal before the request was read carries no type. */
	if (hdr->type != type && !(hdr->type == 0 && hdr->result != CTL_OK))
		return bad_reply(cmd, CTL_E_MALFORMED, hdr);
	err = read_all(fd, body, hdr->len);
	return err ? io_error(cmd, err) : 0;
}

/* Send one request and hand every record of the reply to sink. 0, or 1
 * with the reason printed. */
static int exchange(int fd, const char *cmd, const struct ctl_request *req,
		    const struct ctl_reply_sink *sink)
{
	uint8_t out[CTL_REQUEST_MAX];
	struct ctl_hdr hdr;
	uint8_t *body;
	size_t len;
	int err, rc = 0;

	if (ctl_request_encode(req, out, sizeof(out), &len)) {
		fprintf(stderr, "dimectl: %s: cannot encode the request\n", cmd);
		return 1;
	}
	err = write_all(fd, out, len);
	explicit_bzero(out, len);	/* SET_LOCAL_KEY: a private key */
	if (err)
		return io_error(cmd, err);
	body = malloc(CTL_REPLY_BODY_MAX);
	if (!body) {
		fprintf(stderr, "dimectl: out of memory\n");
		return 1;
	}
	do {
		enum ctl_result r;

		rc = read_frame(fd, cmd, req->type, &hdr, body);
		if (rc)
			break;
		if (hdr.result != CTL_OK) {
			fprintf(stderr, "dimectl: %s: %s\n", cmd, ctl_result_str(hdr.result));
			rc = 1;
			break;
		}
		r = ctl_reply_decode(req->type, body, hdr.len, sink);
		if (r != CTL_OK) {
			rc = bad_reply(cmd, r, &hdr);
			break;
		}
	} while (hdr.flags & CTL_F_MORE);
	free(body);
	return rc;
}

/* One request on a fresh connection. */
static int request(const struct dimectl_options *opt, const char *cmd,
		   const struct ctl_request *req, const struct ctl_reply_sink *sink)
{
	int fd = connect_daemon(opt->socket_path);
	int rc;

	if (fd < 0)
		return 1;
	rc = exchange(fd, cmd, req, sink);
	close(fd);
	return rc;
}

/* The same for a request without arguments. */
static int call(const struct dimectl_options *opt, const char *cmd, uint16_t type,
		const struct ctl_reply_sink *sink)
{
	struct ctl_request req = { .type = type };

	return request(opt, cmd, &req, sink);
}

/* ---- Collecting and streaming records ---- */

struct collect {
	struct ctl_hid_rec *hids;
	size_t nhids, cap_hids;
	struct ctl_flow_rec *flows;
	size_t nflows, cap_flows;
	struct ctl_stat_rec *stats;
	size_t nstats, cap_stats;
	struct ctl_addr_rec *addrs;
	size_t naddrs, cap_addrs;
	struct ctl_lkey_rec *keys;
	size_t nkeys, cap_keys;
	struct summary summary;
	struct render_list list;	/* streamed forms */
	bool list_begun;
	enum render_form form;
	char version[CTL_NAME_MAX + 1];
	bool oom;
};

/* Append a copy of rec (size bytes) to *arr; on failure the record is
 * dropped and oom set, reported once by finish(). */
static void push(struct collect *c, void **arr, size_t *n, size_t *cap, const void *rec,
		 size_t size)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		void *p = c->oom ? NULL : realloc(*arr, ncap * size);

		if (!p) {
			c->oom = true;
			return;
		}
		*arr = p;
		*cap = ncap;
	}
	memcpy((char *)*arr + (*n)++ * size, rec, size);
}

static void collect_hid(void *ctx, const struct ctl_hid_rec *rec)
{
	struct collect *c = ctx;

	push(c, (void **)&c->hids, &c->nhids, &c->cap_hids, rec, sizeof(*rec));
}

static void collect_flow(void *ctx, const struct ctl_flow_rec *rec)
{
	struct collect *c = ctx;

	push(c, (void **)&c->flows, &c->nflows, &c->cap_flows, rec, sizeof(*rec));
}

static void collect_stat(void *ctx, const struct ctl_stat_rec *rec)
{
	struct collect *c = ctx;

	push(c, (void **)&c->stats, &c->nstats, &c->cap_stats, rec, sizeof(*rec));
}

static void collect_addr(void *ctx, const struct ctl_addr_rec *rec)
{
	struct collect *c = ctx;

	push(c, (void **)&c->addrs, &c->naddrs, &c->cap_addrs, rec, sizeof(*rec));
}

static void collect_key(void *ctx, const struct ctl_lkey_rec *rec)
{
	struct collect *c = ctx;

	push(c, (void **)&c->keys, &c->nkeys, &c->cap_keys, rec, sizeof(*rec));
}

static void collect_version(void *ctx, const struct ctl_version_rec *rec)
{
	struct collect *c = ctx;

	memcpy(c->version, rec->version, sizeof(c->version));
}

static void fold_flow(void *ctx, const struct ctl_flow_rec *rec)
{
	struct collect *c = ctx;

	if (summary_add_flow(&c->summary, rec))
		c->oom = true;
}

typedef void (*list_begin_fn)(struct render_list *l, FILE *out, enum render_form form);

/* Streamed lists begin at their first record, so an error reply leaves
 * stdout untouched. */
static struct render_list *stream_list(struct collect *c, list_begin_fn begin)
{
	if (!c->list_begun)
		begin(&c->list, stdout, c->form);
	c->list_begun = true;
	return &c->list;
}

/* After a good reply: an empty list still prints its frame. */
static void stream_end(struct collect *c, list_begin_fn begin, void (*end)(struct render_list *l))
{
	end(stream_list(c, begin));
}

static void stream_hid(void *ctx, const struct ctl_hid_rec *rec)
{
	render_hid(stream_list(ctx, render_hids_begin), rec);
}

static void stream_flow(void *ctx, const struct ctl_flow_rec *rec)
{
	render_flow(stream_list(ctx, render_flows_begin), rec);
}

static void stream_addr(void *ctx, const struct ctl_addr_rec *rec)
{
	render_addr(stream_list(ctx, render_addrs_begin), rec);
}

static void collect_free(struct collect *c)
{
	free(c->keys);
	free(c->addrs);
	free(c->hids);
	free(c->flows);
	free(c->stats);
	summary_free(&c->summary);
}

static int finish(struct collect *c, int rc)
{
	if (!rc && c->oom) {
		fprintf(stderr, "dimectl: out of memory\n");
		rc = 1;
	}
	collect_free(c);
	if (fflush(stdout) != 0 && !rc) {
		fprintf(stderr, "dimectl: writing the output: %s\n", strerror(errno));
		rc = 1;
	}
	return rc;
}

static enum render_form form_of(const struct dimectl_options *opt)
{
	return opt->json ? RENDER_JSON : RENDER_TEXT;
}

/* ---- Commands ---- */

static int list_hids(const struct dimectl_options *opt, const char *cmd, enum render_form form)
{
	struct collect c = { .form = form };
	struct ctl_reply_sink sink = { .hid = form == RENDER_TEXT ? collect_hid : stream_hid,
				       .ctx = &c };
	int rc = call(opt, cmd, CTL_T_SHOW_HIDS, &sink);

	if (!rc && form == RENDER_TEXT)
		render_hids_text(stdout, c.hids, c.nhids, opt->color);
	if (!rc && form != RENDER_TEXT)
		stream_end(&c, render_hids_begin, render_hids_end);
	return finish(&c, rc);
}

static int list_flows(const struct dimectl_options *opt, const char *cmd, enum render_form form)
{
	struct collect c = { .form = form };
	struct ctl_reply_sink sink = { .flow = form == RENDER_TEXT ? collect_flow : stream_flow,
				       .ctx = &c };
	int rc = call(opt, cmd, CTL_T_SHOW_FLOWS, &sink);

	if (!rc && form == RENDER_TEXT)
		render_flows_text(stdout, c.flows, c.nflows, opt->color);
	if (!rc && form != RENDER_TEXT)
		stream_end(&c, render_flows_begin, render_flows_end);
	return finish(&c, rc);
}

static int list_addrs(const struct dimectl_options *opt, const char *cmd, enum render_form form)
{
	struct collect c = { .form = form };
	struct ctl_reply_sink sink = { .addr = form == RENDER_TEXT ? collect_addr : stream_addr,
				       .ctx = &c };
	int rc = call(opt, cmd, CTL_T_SHOW_ADDRS, &sink);

	if (!rc && form == RENDER_TEXT)
		render_addrs_text(stdout, c.addrs, c.naddrs, opt->color);
	if (!rc && form != RENDER_TEXT)
		stream_end(&c, render_addrs_begin, render_addrs_end);
	return finish(&c, rc);
}

static int list_keys(const struct dimectl_options *opt, const char *cmd, enum render_form form)
{
	struct collect c = { .form = form };
	struct ctl_reply_sink sink = { .lkey = collect_key, .ctx = &c };
	int rc = call(opt, cmd, CTL_T_SHOW_KEYS, &sink);

	if (!rc && !c.oom)
		render_keys(stdout, c.keys, c.nkeys, form, opt->color);
	return finish(&c, rc);
}

static int list_stats(const struct dimectl_options *opt, const char *cmd, enum render_form form)
{
	struct collect c = { .form = form };
	struct ctl_reply_sink sink = { .stat = collect_stat, .ctx = &c };
	int rc = call(opt, cmd, CTL_T_STATS, &sink);

	if (!rc && !c.oom)
		render_stats(stdout, c.stats, c.nstats, form);
	return finish(&c, rc);
}

/* The summary asks for the HIDs, then the flows, on one connection. */
static int show_summary(const struct dimectl_options *opt)
{
	struct collect c = { .form = form_of(opt) };
	struct ctl_reply_sink hids = { .hid = collect_hid, .ctx = &c };
	struct ctl_reply_sink flows = { .flow = fold_flow, .ctx = &c };
	struct ctl_request req = { .type = CTL_T_SHOW_HIDS };
	int fd = connect_daemon(opt->socket_path);
	int rc;

	if (fd < 0)
		return 1;
	rc = exchange(fd, "show", &req, &hids);
	req.type = CTL_T_SHOW_FLOWS;
	if (!rc)
		rc = exchange(fd, "show", &req, &flows);
	close(fd);
	if (!rc && !c.oom)
		render_summary(stdout, c.hids, c.nhids, &c.summary, c.form, opt->color);
	return finish(&c, rc);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "dimectl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (dimectl help lists the commands)\n");
	return 2;
}

static int run_show(const struct dimectl_options *opt, int argc, char **argv)
{
	if (argc == 1)
		return show_summary(opt);
	if (argc == 2 && strcmp(argv[1], "hids") == 0)
		return list_hids(opt, "show hids", form_of(opt));
	if (argc == 2 && strcmp(argv[1], "flows") == 0)
		return list_flows(opt, "show flows", form_of(opt));
	if (argc == 2 && strcmp(argv[1], "addrs") == 0)
		return list_addrs(opt, "show addrs", form_of(opt));
	if (argc == 2 && strcmp(argv[1], "keys") == 0)
		return list_keys(opt, "show keys", form_of(opt));
	return usage_error("show: unknown or extra argument \"%s\": hids, flows, addrs or keys",
			   argv[1]);
}

static int run_stats(const struct dimectl_options *opt, int argc, char **argv)
{
	if (argc > 1)
		return usage_error("stats: unexpected argument \"%s\"", argv[1]);
	return list_stats(opt, "stats", form_of(opt));
}

static int run_dump(const struct dimectl_options *opt, int argc, char **argv)
{
	if (opt->json)
		return usage_error("dump: is its own format, -j does not apply");
	if (argc != 2)
		return usage_error("dump: give one of hids, flows, addrs, keys, stats");
	if (strcmp(argv[1], "hids") == 0)
		return list_hids(opt, "dump hids", RENDER_DUMP);
	if (strcmp(argv[1], "flows") == 0)
		return list_flows(opt, "dump flows", RENDER_DUMP);
	if (strcmp(argv[1], "addrs") == 0)
		return list_addrs(opt, "dump addrs", RENDER_DUMP);
	if (strcmp(argv[1], "stats") == 0)
		return list_stats(opt, "dump stats", RENDER_DUMP);
	if (strcmp(argv[1], "keys") == 0)
		return list_keys(opt, "dump keys", RENDER_DUMP);
	return usage_error("dump: unknown table \"%s\": hids, flows, addrs, keys or stats",
			   argv[1]);
}

/* ---- monitor ---- */

struct monitor {
	enum render_form form;
};

static void print_event(void *ctx, const struct ctl_event_rec *ev)
{
	struct monitor *m = ctx;

	render_event(stdout, ev, m->form);
}

/* The first frame says the subscription is in place. 0, or 1 reported. */
static int monitor_start(int fd, uint8_t *body)
{
	struct ctl_request req = { .type = CTL_T_MONITOR };
	uint8_t out[CTL_REQUEST_MAX];
	struct timeval forever = { 0 };
	struct ctl_hdr hdr;
	size_t len;
	int rc;

	if (ctl_request_encode(&req, out, sizeof(out), &len)) {
		fprintf(stderr, "dimectl: monitor: cannot encode the request\n");
		return 1;
	}
	rc = write_all(fd, out, len);
	if (rc)
		return io_error("monitor", rc);
	rc = read_frame(fd, "monitor", CTL_T_MONITOR, &hdr, body);
	if (rc)
		return rc;
	if (hdr.result != CTL_OK) {
		fprintf(stderr, "dimectl: monitor: %s\n", ctl_result_str(hdr.result));
		return 1;
	}
	if (!(hdr.flags & CTL_F_MORE))
		return bad_reply("monitor", CTL_E_MALFORMED, &hdr);
	/* Events come when they come: no read timeout from here on. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &forever, sizeof(forever));
	return 0;
}

/* Each frame's events, printed as soon as it arrives, until dimed ends the
 * stream or the connection. */
static int monitor_stream(int fd, uint8_t *body, struct monitor *m)
{
	const struct ctl_reply_sink sink = { .event = print_event, .ctx = m };
	struct ctl_hdr hdr;
	enum ctl_result r;

	for (;;) {
		int rc = read_frame(fd, "monitor", CTL_T_MONITOR, &hdr, body);

		if (rc)
			return rc;
		if (hdr.result != CTL_OK) {
			fprintf(stderr, "dimectl: monitor: %s\n", ctl_result_str(hdr.result));
			return 1;
		}
		r = ctl_reply_decode(CTL_T_MONITOR, body, hdr.len, &sink);
		if (fflush(stdout) != 0) {
			fprintf(stderr, "dimectl: writing the output: %s\n", strerror(errno));
			return 1;
		}
		if (r != CTL_OK)
			return bad_reply("monitor", r, &hdr);
		if (!(hdr.flags & CTL_F_MORE)) {
			fprintf(stderr, "dimectl: monitor: dimed is stopping\n");
			return 0;
		}
	}
}

static int run_monitor(const struct dimectl_options *opt, int argc, char **argv)
{
	struct monitor m = { .form = form_of(opt) };
	uint8_t *body;
	int fd, rc;

	if (argc > 1)
		return usage_error("monitor: unexpected argument \"%s\"", argv[1]);
	fd = connect_daemon(opt->socket_path);
	if (fd < 0)
		return 1;
	body = malloc(CTL_REPLY_BODY_MAX);
	if (!body) {
		fprintf(stderr, "dimectl: out of memory\n");
		close(fd);
		return 1;
	}
	rc = monitor_start(fd, body);
	if (!rc)
		rc = monitor_stream(fd, body, &m);
	free(body);
	close(fd);
	return rc;
}

static int parse_addr_arg(struct dime_addr *addr, const char *what, const char *text)
{
	if (dime_addr_parse(addr, text) == 0)
		return 0;
	fprintf(stderr, "dimectl: set-locator: %s \"%s\" is not an IPv4 or IPv6 address\n", what,
		text);
	return 2;
}

/* set-locator PEER [remote ADDR] [local ADDR], keywords in any order. */
static int parse_set_locator(struct ctl_request *req, int argc, char **argv)
{
	int rc;

	if (argc < 2)
		return usage_error("set-locator: missing PEER");
	rc = parse_addr_arg(&req->peer, "peer", argv[1]);
	for (int i = 2; i < argc && !rc; i += 2) {
		bool remote = strcmp(argv[i], "remote") == 0;
		struct dime_addr *slot = remote ? &req->remote : &req->local;

		if (!remote && strcmp(argv[i], "local") != 0)
			return usage_error("set-locator: unknown keyword \"%s\": remote or local", argv[i]);
		if (i + 1 == argc)
			return usage_error("set-locator: \"%s\" needs an address", argv[i]);
		if (dime_addr_is_set(slot))
			return usage_error("set-locator: \"%s\" given twice", argv[i]);
		rc = parse_addr_arg(slot, argv[i], argv[i + 1]);
	}
	if (!rc && !dime_addr_is_set(&req->remote) && !dime_addr_is_set(&req->local))
		return usage_error("set-locator: give remote ADDR, local ADDR or both");
	return rc;
}

static int run_set_locator(const struct dimectl_options *opt, int argc, char **argv)
{
	struct ctl_request req = { .type = CTL_T_SET_LOCATOR };
	struct ctl_reply_sink sink = { 0 };
	int rc = parse_set_locator(&req, argc, argv);

	return rc ? rc : request(opt, "set-locator", &req, &sink);
}

/* ---- set-local-key ---- */

/* ADDR or ADDR/LEN with the host bits zero; a bare address is a /32 or
 * /128. 0, or 2 with the reason printed. */
static int parse_prefix_arg(const char *text, struct dime_addr *net, uint8_t *len)
{
	char addr[DIME_ADDR_STRLEN];
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	unsigned long bits;
	char *end;

	if (alen >= sizeof(addr))
		goto bad;
	memcpy(addr, text, alen);
	addr[alen] = '\0';
	if (dime_addr_parse(net, addr) < 0)
		goto bad;
	bits = 8 * dime_addr_len(net);
	if (slash) {
		errno = 0;
		bits = strtoul(slash + 1, &end, 10);
		if (!slash[1] || *end || errno || slash[1] == '-' || slash[1] == '+' ||
		    bits > 8 * dime_addr_len(net))
			goto bad;
	}
	for (unsigned long b = bits; b < 8 * dime_addr_len(net); b++)
		if (net->a.u8[b / 8] & (0x80 >> (b % 8))) {
			fprintf(stderr, "dimectl: set-local-key: \"%s\" has host bits set: give "
				"the network address\n", text);
			return 2;
		}
	*len = (uint8_t)bits;
	return 0;
bad:
	fprintf(stderr, "dimectl: set-local-key: \"%s\" is not an address or prefix "
		"(ADDR or ADDR/LEN)\n", text);
	return 2;
}

/* [all | ADDR|PREFIX ...] from argv[first] on. */
static int parse_key_list(struct ctl_set_local_key *k, int argc, char **argv, int first)
{
	int rc = 0;

	if (argc > first && strcmp(argv[first], "all") == 0) {
		if (argc > first + 1)
			return usage_error("set-local-key: \"all\" stands alone");
		return 0;
	}
	if (argc - first > CTL_KEY_PREFIXES_MAX)
		return usage_error("set-local-key: at most %d addresses or prefixes per key",
				   CTL_KEY_PREFIXES_MAX);
	for (int i = first; i < argc && !rc; i++) {
		rc = parse_prefix_arg(argv[i], &k->net[k->n], &k->len[k->n]);
		for (unsigned int j = 0; !rc && j < k->n; j++)
			if (k->len[j] == k->len[k->n] && dime_addr_eq(&k->net[j], &k->net[k->n]))
				return usage_error("set-local-key: \"%s\" given twice", argv[i]);
		if (!rc)
			k->n++;
	}
	return rc;
}

/*
 * The key file gets the daemon loader's checks (ihmp_key_load_private: a
 * regular file, not a link, owned by us, i.e. root, no group or other bits,
 * an unencrypted PEM Ed25519 key), and only its 32-byte seed travels.
 */
static int read_key_seed(const char *path, uint8_t seed[CTL_KEY_SEED_LEN])
{
	char why[IHMP_KEY_ERR_MAX];
	struct ihmp_key *key = NULL;
	int err = ihmp_key_load_private(path, &key, why, sizeof(why));

	if (!err)
		err = ihmp_key_raw_private(key, seed);
	ihmp_key_free(key);
	if (err) {
		fprintf(stderr, "dimectl: set-local-key: %s\n",
			why[0] && err != -EIO ? why : "cannot read the private key");
		return 1;
	}
	return 0;
}

static void print_key_set(const struct dimectl_options *opt, const struct collect *c,
			  const struct ctl_set_local_key *k)
{
	if (k->remove) {
		if (opt->json)
			printf("{\"removed\":true}\n");
		else
			printf("key removed\n");
		return;
	}
	render_keys(stdout, c->keys, c->nkeys, form_of(opt), opt->color);
}

/* set-local-key KEYFILE [all | ADDR|PREFIX ...]
 * set-local-key --remove [all | ADDR|PREFIX ...] */
static int run_set_local_key(const struct dimectl_options *opt, int argc, char **argv)
{
	struct ctl_request req = { .type = CTL_T_SET_LOCAL_KEY };
	struct collect c = { .form = form_of(opt) };
	struct ctl_reply_sink sink = { .lkey = collect_key, .ctx = &c };
	int rc;

	if (argc < 2)
		return usage_error("set-local-key: missing KEYFILE (or --remove)");
	req.key.remove = strcmp(argv[1], "--remove") == 0;
	rc = parse_key_list(&req.key, argc, argv, 2);
	if (rc)
		return rc;
	if (geteuid() != 0) {
		fprintf(stderr, "dimectl: set-local-key: must run as root: the key file is root's, "
			"and dimed takes keys from root only\n");
		return 1;
	}
	if (!req.key.remove && read_key_seed(argv[1], req.key.seed))
		return 1;
	rc = request(opt, "set-local-key", &req, &sink);
	explicit_bzero(req.key.seed, sizeof(req.key.seed));
	if (!rc && !c.oom)
		print_key_set(opt, &c, &req.key);
	return finish(&c, rc);
}

static int run_reload(const struct dimectl_options *opt, int argc, char **argv)
{
	struct ctl_request req = { .type = CTL_T_RELOAD };
	struct ctl_reply_sink sink = { 0 };
	int rc;

	if (argc > 1)
		return usage_error("reload: unexpected argument \"%s\"", argv[1]);
	rc = request(opt, "reload", &req, &sink);
	if (rc == 0)
		printf("configuration reloaded\n");
	return rc;
}

static int run_version(const struct dimectl_options *opt, int argc, char **argv)
{
	struct collect c = { 0 };
	struct ctl_reply_sink sink = { .version = collect_version, .ctx = &c };
	int rc;

	if (argc > 1)
		return usage_error("version: unexpected argument \"%s\"", argv[1]);
	rc = call(opt, "version", CTL_T_VERSION, &sink);
	render_version(stdout, DIME_VERSION, rc || !c.version[0] ? NULL : c.version, form_of(opt));
	return finish(&c, rc);
}

static int run_help(const struct dimectl_options *opt, int argc, char **argv)
{
	usage(stdout);
	return 0;
}

static const struct command commands[] = {
	{ "show", "[hids|flows|addrs|keys]",
	  "hosts: locators, identifiers, flows (default); or a table", run_show },
	{ "stats", "", "every counter of the data and control plane", run_stats },
	{ "dump", "hids|flows|addrs|keys|stats", "tab-separated lines for scripts", run_dump },
	{ "monitor", "", "print events as they happen, until interrupted", run_monitor },
	{ "set-locator", "PEER [remote ADDR] [local ADDR]",
	  "choose the locators dimed writes for PEER's host", run_set_locator },
	{ "set-local-key", "KEYFILE|--remove [PREFIX...]",
	  "sign IHMP from those addresses with KEYFILE (root)", run_set_local_key },
	{ "reload", "", "re-read dime.conf (as SIGHUP); a file with errors changes nothing",
	  run_reload },
	{ "version", "", "dimectl's and dimed's versions", run_version },
	{ "help", "", "show this help", run_help },
};

static void usage(FILE *out)
{
	fprintf(out, "Usage: dimectl [-s SOCKET] [-j] [COMMAND [ARGS]]\n\n"
		     "  -s, --socket PATH  control socket (default " DIMECTL_DEFAULT_SOCKET ")\n"
		     "  -j, --json         JSON output (show, stats, monitor, version)\n"
		     "  -h, --help         show this help\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		char synopsis[64];

		snprintf(synopsis, sizeof(synopsis), "%s %s", commands[i].name, commands[i].args);
		fprintf(out, "  %-45s %s\n", synopsis, commands[i].help);
	}
	fprintf(out, "\nSee dimectl(8).\n");
}

/* Colour only for a person at a terminal who has not opted out. */
static bool want_color(void)
{
	const char *term = getenv("TERM");

	return isatty(STDOUT_FILENO) && !getenv("NO_COLOR") && term && strcmp(term, "dumb") != 0;
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
	opt.color = !opt.json && want_color();
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
