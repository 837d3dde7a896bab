// SPDX-License-Identifier: BSD-2-Clause
/*
 * Check suite for dimed's control server (control.c, ctl_handlers.c) over a
 * real UNIX socket in a temporary directory, with a fake backend whose HID
 * and flow tables are built with the real table API. A small poll() loop
 * (ctltest.c) stands in for dimed's libev loop and follows what
 * ctl_client_io asks for.
 *
 * Covers: socket setup (directory, mode, stale and live sockets), every
 * request, requests sent byte by byte and pipelined, garbage of every kind
 * (error reply, then closed), unknown commands (connection kept), the
 * client bound, permission for state changes (a child that drops to
 * nobody, when run as root), and a client that never reads while a
 * multi-megabyte reply is pending: daemon memory stays within one frame.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dime/control.h"
#include "dime/ctl_proto.h"
#include "dime/flow.h"
#include "dime/hid.h"
#include "dime/log.h"
#include "dime/version.h"
#include "ctltest.h"
#include "testutil.h"

#define NOW 5000000ull
#define BIG_FLOWS 100000u

static const struct dime_sipkey seed = { 0x0123456789abcdefull, 0xfedcba9876543210ull };

/* ---- Fake backend ---- */

struct fake {
	struct dime_hid_table *hids;
	struct dime_flow_table *flows;
	bool no_tables;
	bool many_stats;
	int set_err;
	int set_calls;
	struct dime_addr peer, rloc, lloc;
};

static int fake_stats(void *ctx, ctl_stat_fn emit, void *emit_ctx)
{
	struct fake *f = ctx;
	int err;

	if (f->many_stats) {
		/* Far more than one frame holds. */
		for (unsigned int i = 0; i < 5000; i++) {
			char name[CTL_NAME_MAX + 1], num[16];

			/* Names of the full 63 bytes, each one different. */
			memset(name, 'x', CTL_NAME_MAX);
			name[CTL_NAME_MAX] = '\0';
			snprintf(num, sizeof(num), "%05u", i);
			memcpy(name, num, 5);
			err = emit(emit_ctx, name, (uint64_t)i);
			if (err)
				return err;
		}
		return 0;
	}
	err = emit(emit_ctx, "nfq_accepted", 7);
	if (!err)
		err = emit(emit_ctx, "nfq_dropped", 0);
	if (!err)
		err = emit(emit_ctx, "hid_count", f->hids ? dime_hid_count(f->hids) : 0);
	if (!err)
		err = emit(emit_ctx, "big", UINT64_MAX);
	return err;
}

static struct dime_hid_table *fake_hids(void *ctx)
{
	struct fake *f = ctx;

	return f->no_tables ? NULL : f->hids;
}

static struct dime_flow_table *fake_flows(void *ctx)
{
	struct fake *f = ctx;

	return f->no_tables ? NULL : f->flows;
}

static int fake_set_locator(void *ctx, const struct dime_addr *peer, const struct dime_addr *rloc,
			    const struct dime_addr *lloc, uint64_t now_ms)
{
	struct fake *f = ctx;

	f->set_calls++;
	f->peer = *peer;
	memset(&f->rloc, 0, sizeof(f->rloc));
	memset(&f->lloc, 0, sizeof(f->lloc));
	if (rloc)
		f->rloc = *rloc;
	if (lloc)
		f->lloc = *lloc;
	return f->set_err;
}

static uint64_t fake_now(void *ctx)
{
	return NOW;
}

static const struct ctl_backend fake_backend = {
	.stats = fake_stats,
	.hids = fake_hids,
	.flows = fake_flows,
	.set_locator = fake_set_locator,
	.now_ms = fake_now,
};

static uint32_t add_host(struct fake *f, const char *active, const char *local, uint64_t created)
{
	uint32_t h;

	HOT_ASSERT(dime_hid_create(f->hids, created, &h) == 0);
	HOT_ASSERT(dime_hid_addr_add(f->hids, h, DIME_HID_ACTIVE, AP(active)) == 0);
	HOT_ASSERT(dime_hid_addr_add(f->hids, h, DIME_HID_LOCAL, AP(local)) == 0);
	return h;
}

static void fake_init(struct fake *f, uint32_t flow_capacity)
{
	struct dime_hid_config hc = { .capacity = 64, .max_addrs = 256, .seed = seed };
	struct dime_flow_config fc = { .capacity = flow_capacity, .seed = seed };
	uint32_t h1, h2;

	memset(f, 0, sizeof(*f));
	dime_flow_timeouts_default(&fc.timeouts);
	ck_assert_int_eq(dime_hid_table_new(&f->hids, &hc), 0);
	ck_assert_int_eq(dime_flow_table_new(&f->flows, &fc, f->hids), 0);
	h1 = add_host(f, "198.51.100.7", "192.0.2.1", 1000);
	ck_assert_int_eq(dime_hid_addr_add(f->hids, h1, DIME_HID_ACTIVE, AP("2001:db8::7")), 0);
	ck_assert_int_eq(dime_hid_addr_add(f->hids, h1, DIME_HID_UNREACH, AP("203.0.113.9")), 0);
	h2 = add_host(f, "2001:db8:5::5", "2001:db8:2::1", 2000);
	ctl_test_add_flow(f->flows, h1, IPPROTO_TCP, "192.0.2.1", 43210, "198.51.100.7", 5001,
			  NOW - 1500);
	ctl_test_add_flow(f->flows, h1, IPPROTO_UDP, "192.0.2.1", 5353, "198.51.100.7", 53,
			  NOW - 10);
	ctl_test_add_flow(f->flows, h2, IPPROTO_ICMPV6, "2001:db8:2::1", 77, "2001:db8:5::5", 77,
			  NOW);
	dime_hid_get(f->hids, h1)->used_ms = NOW - 3000;
}

static void fake_free(struct fake *f)
{
	dime_flow_flush(f->flows);
	dime_flow_table_free(f->flows);
	dime_hid_table_free(f->hids);
}

/* ---- The stand-in loop ---- */

struct harness {
	char dir[32];
	char sockdir[48];
	char path[64];
	struct fake fake;
	struct ctl_pump pump;
};

static struct harness H;

static void h_open(uint32_t flow_capacity)
{
	memset(&H, 0, sizeof(H));
	snprintf(H.dir, sizeof(H.dir), "/tmp/dime-ctl-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(H.dir));
	snprintf(H.sockdir, sizeof(H.sockdir), "%s/run", H.dir);
	snprintf(H.path, sizeof(H.path), "%s/dimed.sock", H.sockdir);
	fake_init(&H.fake, flow_capacity);
	ck_assert_int_eq(ctl_server_open(&H.pump.srv, H.path, &fake_backend, &H.fake), 0);
}

static void h_close(void)
{
	ctl_server_close(H.pump.srv);
	fake_free(&H.fake);
	rmdir(H.sockdir);
	rmdir(H.dir);
}

/* The daemon never holds more than one frame for a client. */
static void pump_once(void)
{
	ctl_pump_once(&H.pump, 1);
	HOT_ASSERT(H.pump.max_pending <= CTL_FRAME_MAX);
}

static void pump(int rounds)
{
	while (rounds-- > 0)
		pump_once();
}

/* ---- The test's client side ---- */

static int cli_connect(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", H.path);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	pump(2);
	return fd;
}

static void cli_send(int fd, const void *buf, size_t len, bool bytewise)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(fd, p, bytewise ? 1 : len, MSG_NOSIGNAL);

		if (n < 0 && errno == EAGAIN) {
			pump_once();
			continue;
		}
		HOT_ASSERT(n > 0);
		p += n;
		len -= (size_t)n;
		if (bytewise)
			pump(2);
	}
	pump(2);
}

static void cli_request(int fd, const struct ctl_request *req, bool bytewise)
{
	uint8_t buf[CTL_REQUEST_MAX];
	size_t len;

	ck_assert_int_eq(ctl_request_encode(req, buf, sizeof(buf), &len), 0);
	cli_send(fd, buf, len, bytewise);
}

/* Read exactly len bytes, running the server meanwhile: 0, or -EPIPE at
 * end of stream. Bounded: a stuck server fails the test. */
static int cli_read(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	int idle = 0;

	while (len) {
		ssize_t n = recv(fd, p, len, 0);

		if (n == 0)
			return -EPIPE;
		if (n < 0) {
			if (errno != EAGAIN)
				ck_abort_msg("recv: %s", strerror(errno));
			HOT_ASSERT(++idle < 20000);
			pump_once();
			continue;
		}
		idle = 0;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Frames of one reply into the sink. Returns the result code; counts
 * frames; checks MORE is on every frame but the last. */
static int cli_reply(int fd, uint16_t type, const struct ctl_reply_sink *sink, int *frames)
{
	static uint8_t body[CTL_REPLY_BODY_MAX];
	struct ctl_hdr hdr;
	uint8_t raw[CTL_HDR_LEN];
	int n = 0;

	do {
		HOT_ASSERT(cli_read(fd, raw, sizeof(raw)) == 0);
		HOT_ASSERT(ctl_hdr_get(raw, sizeof(raw), true, &hdr) == CTL_OK);
		HOT_ASSERT(hdr.type == type);
		HOT_ASSERT(cli_read(fd, body, hdr.len) == 0);
		n++;
		if (hdr.result != CTL_OK) {
			HOT_ASSERT(hdr.len == 0 && !(hdr.flags & CTL_F_MORE));
			break;
		}
		HOT_ASSERT(ctl_reply_decode(type, body, hdr.len, sink) == CTL_OK);
	} while (hdr.flags & CTL_F_MORE);
	if (frames)
		*frames = n;
	return hdr.result;
}

/* The one header-only reply an error gets, then end of stream. */
static struct ctl_hdr cli_error_then_eof(int fd)
{
	uint8_t raw[CTL_HDR_LEN], more;
	struct ctl_hdr hdr;

	ck_assert_int_eq(cli_read(fd, raw, sizeof(raw)), 0);
	ck_assert_int_eq(ctl_hdr_get(raw, sizeof(raw), true, &hdr), CTL_OK);
	ck_assert_uint_eq(hdr.len, 0);
	ck_assert_int_eq(cli_read(fd, &more, 1), -EPIPE);
	return hdr;
}

struct got {
	char version[CTL_NAME_MAX + 1];
	struct ctl_stat_rec stat[8];
	struct ctl_hid_rec hid[8];
	size_t nstat, nhid, nflow;
	uint8_t *seen;			/* per (lport, rport) of the big table */
	struct ctl_flow_rec flow[8];
	size_t dup;
};

static void got_version(void *ctx, const struct ctl_version_rec *r)
{
	struct got *g = ctx;

	memcpy(g->version, r->version, sizeof(g->version));
}

static void got_stat(void *ctx, const struct ctl_stat_rec *r)
{
	struct got *g = ctx;

	if (g->nstat < 8)
		g->stat[g->nstat] = *r;
	g->nstat++;
}

static void got_hid(void *ctx, const struct ctl_hid_rec *r)
{
	struct got *g = ctx;

	if (g->nhid < 8)
		g->hid[g->nhid] = *r;
	g->nhid++;
}

static void got_flow(void *ctx, const struct ctl_flow_rec *r)
{
	struct got *g = ctx;

	if (g->nflow < 8)
		g->flow[g->nflow] = *r;
	g->nflow++;
	if (g->seen && (r->rport == 6000 || r->rport == 6001)) {
		uint32_t key = (uint32_t)r->lport << 1 | (r->rport & 1);

		if (g->seen[key])
			g->dup++;
		g->seen[key] = 1;
	}
}

static struct ctl_reply_sink sink_for(struct got *g)
{
	memset(g, 0, sizeof(*g));
	return (struct ctl_reply_sink){ got_version, got_stat, got_hid, got_flow, g };
}

static int ask(int fd, uint16_t type, struct got *g, bool bytewise)
{
	struct ctl_request req = { .type = type };
	struct ctl_reply_sink sink = sink_for(g);

	cli_request(fd, &req, bytewise);
	return cli_reply(fd, type, &sink, NULL);
}

static void wait_no_clients(void)
{
	for (int i = 0; i < 2000 && ctl_server_clients(H.pump.srv); i++)
		pump_once();
	ck_assert_uint_eq(ctl_server_clients(H.pump.srv), 0);
}

/* ---- Socket setup ---- */

START_TEST(test_open_creates_dir_and_mode)
{
	struct stat st;
	struct group *gr;

	h_open(16);
	ck_assert_int_eq(stat(H.sockdir, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0750);
	ck_assert_int_eq(lstat(H.path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	gr = getgrnam(CTL_SOCKET_GROUP);
	if (gr) {
		ck_assert_int_eq(st.st_mode & 07777, 0660);
		ck_assert_uint_eq(st.st_gid, gr->gr_gid);
	} else {
		ck_assert_int_eq(st.st_mode & 07777, 0600);
	}
	h_close();
	/* Closing removes the socket. */
	ck_assert_int_eq(lstat(H.path, &st), -1);
}
END_TEST

START_TEST(test_open_stale_live_and_foreign)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct ctl_server *second;
	struct fake other;
	struct stat st;
	struct got g;
	char longpath[200];
	int fd;

	h_open(16);
	/* A live server: a second one refuses and leaves it working. */
	fake_init(&other, 16);
	ck_assert_int_eq(ctl_server_open(&second, H.path, &fake_backend, &other), -EADDRINUSE);
	fd = cli_connect();
	ck_assert_int_eq(ask(fd, CTL_T_VERSION, &g, false), CTL_OK);
	close(fd);
	wait_no_clients();
	ctl_server_close(H.pump.srv);

	/* A dead one's socket is replaced. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", H.path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	ck_assert_int_eq(lstat(H.path, &st), 0);
	ck_assert_int_eq(ctl_server_open(&H.pump.srv, H.path, &fake_backend, &H.fake), 0);
	fd = cli_connect();
	ck_assert_int_eq(ask(fd, CTL_T_VERSION, &g, false), CTL_OK);
	close(fd);
	wait_no_clients();
	ctl_server_close(H.pump.srv);

	/* Anything else is left alone. */
	fd = open(H.path, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(ctl_server_open(&second, H.path, &fake_backend, &other), -EEXIST);
	ck_assert_int_eq(lstat(H.path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	unlink(H.path);

	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	ck_assert_int_eq(ctl_server_open(&second, longpath, &fake_backend, &other), -ENAMETOOLONG);

	/* h_close closes whatever H.pump.srv is: reopen so it has one. */
	ck_assert_int_eq(ctl_server_open(&H.pump.srv, H.path, &fake_backend, &H.fake), 0);
	fake_free(&other);
	h_close();
}
END_TEST

/* ---- Requests ---- */

START_TEST(test_version_and_stats)
{
	struct got g;
	int fd;

	h_open(16);
	fd = cli_connect();
	ck_assert_int_eq(ask(fd, CTL_T_VERSION, &g, false), CTL_OK);
	ck_assert_str_eq(g.version, DIME_VERSION);
	ck_assert_int_eq(ask(fd, CTL_T_STATS, &g, false), CTL_OK);
	ck_assert_uint_eq(g.nstat, 4);
	ck_assert_str_eq(g.stat[0].name, "nfq_accepted");
	ck_assert_uint_eq(g.stat[0].value, 7);
	ck_assert_str_eq(g.stat[2].name, "hid_count");
	ck_assert_uint_eq(g.stat[2].value, 2);
	ck_assert_uint_eq(g.stat[3].value, UINT64_MAX);
	/* Counters that outgrow a frame are an internal error, not a cut list. */
	H.fake.many_stats = true;
	ck_assert_int_eq(ask(fd, CTL_T_STATS, &g, false), CTL_E_INTERNAL);
	H.fake.many_stats = false;
	ck_assert_int_eq(ask(fd, CTL_T_STATS, &g, false), CTL_OK);
	close(fd);
	wait_no_clients();
	h_close();
}
END_TEST

START_TEST(test_show_hids_and_flows)
{
	struct got g;
	int fd;

	h_open(16);
	fd = cli_connect();
	ck_assert_int_eq(ask(fd, CTL_T_SHOW_HIDS, &g, false), CTL_OK);
	ck_assert_uint_eq(g.nhid, 2);
	for (size_t i = 0; i < g.nhid; i++) {
		const struct ctl_hid_rec *r = &g.hid[i];
		const struct dime_hid_entry *e = dime_hid_get(H.fake.hids, r->hid);

		ck_assert_ptr_nonnull(e);
		ck_assert_uint_eq(r->refs, e->refs);
		ck_assert_int_eq(r->moved, e->moved);
		ck_assert_uint_eq(r->created_age_ms, NOW - e->created_ms);
		ck_assert_uint_eq(r->used_age_ms, NOW - e->used_ms);
		ck_assert_uint_eq(r->active.n, e->active.n);
		ck_assert_uint_eq(r->unreach.n, e->unreach.n);
		ck_assert_uint_eq(r->local.n, e->local.n);
		ck_assert(dime_addr_eq(&r->rloc[CTL_AF4], &e->rloc[DIME_AF4]));
		ck_assert(dime_addr_eq(&r->rloc[CTL_AF6], &e->rloc[DIME_AF6]));
		ck_assert(dime_addr_eq(&r->lloc[CTL_AF6], &e->lloc[DIME_AF6]));
	}
	ck_assert_uint_eq(g.hid[0].refs, 2);
	ck_assert(dime_addr_eq(&g.hid[0].rloc[CTL_AF6], AP("2001:db8::7")));
	ck_assert(dime_addr_eq(&g.hid[0].unreach.addr[0], AP("203.0.113.9")));
	ck_assert_uint_eq(g.hid[0].used_age_ms, 3000);

	ck_assert_int_eq(ask(fd, CTL_T_SHOW_FLOWS, &g, false), CTL_OK);
	ck_assert_uint_eq(g.nflow, 3);
	ck_assert_int_eq(g.flow[0].proto, IPPROTO_TCP);
	ck_assert_int_eq(g.flow[0].family, AF_INET);
	ck_assert_uint_eq(g.flow[0].lport, 43210);
	ck_assert_uint_eq(g.flow[0].idle_ms, 1500);
	ck_assert(dime_addr_eq(&g.flow[0].rid, AP("198.51.100.7")));
	ck_assert_int_eq(g.flow[2].family, AF_INET6);
	ck_assert_uint_eq(g.flow[2].idle_ms, 0);

	/* No tables yet: empty listings. */
	H.fake.no_tables = true;
	ck_assert_int_eq(ask(fd, CTL_T_SHOW_HIDS, &g, false), CTL_OK);
	ck_assert_uint_eq(g.nhid, 0);
	ck_assert_int_eq(ask(fd, CTL_T_SHOW_FLOWS, &g, false), CTL_OK);
	ck_assert_uint_eq(g.nflow, 0);
	close(fd);
	wait_no_clients();
	h_close();
}
END_TEST

START_TEST(test_byte_by_byte_and_pipelined)
{
	struct ctl_request req = { .type = CTL_T_SET_LOCATOR, .peer = A("198.51.100.7"),
				   .remote = A("2001:db8::7"), .local = A("192.0.2.1") };
	uint8_t two[2 * CTL_REQUEST_MAX];
	struct ctl_reply_sink sink;
	struct got g;
	size_t a, b;
	int fd;

	h_open(16);
	fd = cli_connect();
	cli_request(fd, &req, true);
	sink = sink_for(&g);
	ck_assert_int_eq(cli_reply(fd, CTL_T_SET_LOCATOR, &sink, NULL), CTL_OK);
	ck_assert_int_eq(H.fake.set_calls, 1);
	ck_assert(dime_addr_eq(&H.fake.peer, &req.peer));
	ck_assert(dime_addr_eq(&H.fake.rloc, &req.remote));
	ck_assert(dime_addr_eq(&H.fake.lloc, &req.local));
	ck_assert_int_eq(ask(fd, CTL_T_SHOW_FLOWS, &g, true), CTL_OK);
	ck_assert_uint_eq(g.nflow, 3);

	/* Remote only: the backend sees NULL for local; its -errno maps. */
	req.local = (struct dime_addr){ 0 };
	H.fake.set_err = -ENOENT;
	cli_request(fd, &req, false);
	ck_assert_int_eq(cli_reply(fd, CTL_T_SET_LOCATOR, &sink, NULL), CTL_E_NO_SUCH_HOST);
	ck_assert(!dime_addr_is_set(&H.fake.lloc));
	H.fake.set_err = -ENOSPC;
	cli_request(fd, &req, false);
	ck_assert_int_eq(cli_reply(fd, CTL_T_SET_LOCATOR, &sink, NULL), CTL_E_TABLE_FULL);

	/* Two requests in one write: two replies, in order, same connection. */
	ck_assert_int_eq(ctl_request_encode(&(struct ctl_request){ .type = CTL_T_VERSION }, two,
					    sizeof(two), &a), 0);
	ck_assert_int_eq(ctl_request_encode(&(struct ctl_request){ .type = CTL_T_SHOW_HIDS },
					    two + a, sizeof(two) - a, &b), 0);
	cli_send(fd, two, a + b, false);
	sink = sink_for(&g);
	ck_assert_int_eq(cli_reply(fd, CTL_T_VERSION, &sink, NULL), CTL_OK);
	ck_assert_int_eq(cli_reply(fd, CTL_T_SHOW_HIDS, &sink, NULL), CTL_OK);
	ck_assert_str_eq(g.version, DIME_VERSION);
	ck_assert_uint_eq(g.nhid, 2);
	close(fd);
	wait_no_clients();
	h_close();
}
END_TEST

/* ---- Garbage ---- */

static void send_raw_hdr(int fd, uint16_t magic, uint8_t version, uint8_t flags, uint16_t type,
			 uint16_t result, uint32_t len)
{
	uint8_t b[CTL_HDR_LEN] = {
		(uint8_t)(magic >> 8), (uint8_t)magic, version, flags,
		(uint8_t)(type >> 8), (uint8_t)type, (uint8_t)(result >> 8), (uint8_t)result,
		(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len,
	};

	cli_send(fd, b, sizeof(b), false);
}

START_TEST(test_garbage_gets_error_then_close)
{
	struct ctl_hdr hdr;
	struct got g;
	int fd;

	h_open(16);

	fd = cli_connect();
	cli_send(fd, "GET / HTTP/1.0\r\n\r\n", 18, false);
	hdr = cli_error_then_eof(fd);
	ck_assert_int_eq(hdr.result, CTL_E_BAD_MAGIC);
	close(fd);

	fd = cli_connect();
	send_raw_hdr(fd, CTL_MAGIC, 2, 0, CTL_T_VERSION, 0, 0);
	hdr = cli_error_then_eof(fd);
	ck_assert_int_eq(hdr.result, CTL_E_VERSION);
	ck_assert_int_eq(hdr.type, CTL_T_VERSION);
	ck_assert_int_eq(hdr.version, CTL_VERSION);
	close(fd);

	fd = cli_connect();
	send_raw_hdr(fd, CTL_MAGIC, CTL_VERSION, 0, CTL_T_SET_LOCATOR, 0, CTL_REQUEST_BODY_MAX + 1);
	ck_assert_int_eq(cli_error_then_eof(fd).result, CTL_E_TOO_BIG);
	close(fd);

	fd = cli_connect();
	send_raw_hdr(fd, CTL_MAGIC, CTL_VERSION, CTL_F_REPLY, CTL_T_VERSION, 0, 0);
	ck_assert_int_eq(cli_error_then_eof(fd).result, CTL_E_MALFORMED);
	close(fd);

	/* A body whose TLV overruns it. */
	fd = cli_connect();
	send_raw_hdr(fd, CTL_MAGIC, CTL_VERSION, 0, CTL_T_SET_LOCATOR, 0, 8);
	cli_send(fd, "\x00\x01\x00\x05\xc6\x33\x64\x07", 8, false);
	ck_assert_int_eq(cli_error_then_eof(fd).result, CTL_E_OVERRUN);
	close(fd);

	/* Endless random bytes: one reply, then the server hangs up. */
	fd = cli_connect();
	{
		uint8_t junk[4096];
		uint8_t raw[CTL_HDR_LEN];
		unsigned int x = 12345;

		for (size_t i = 0; i < sizeof(junk); i++)
			junk[i] = (uint8_t)((x = x * 1103515245u + 12345u) >> 16);
		junk[0] = 0x00;	/* never our magic */
		for (int i = 0; i < 16; i++) {
			if (send(fd, junk, sizeof(junk), MSG_NOSIGNAL) < 0)
				break;
			pump(2);
		}
		ck_assert_int_eq(cli_read(fd, raw, sizeof(raw)), 0);
		ck_assert_int_eq(ctl_hdr_get(raw, sizeof(raw), true, &hdr), CTL_OK);
		ck_assert_int_eq(hdr.result, CTL_E_BAD_MAGIC);
	}
	close(fd);

	/* Half a header, then gone: closed without a word. */
	fd = cli_connect();
	cli_send(fd, "\xd1\xc7\x01", 3, false);
	close(fd);
	wait_no_clients();

	/* None of it disturbed the server. */
	fd = cli_connect();
	ck_assert_int_eq(ask(fd, CTL_T_VERSION, &g, false), CTL_OK);
	close(fd);
	wait_no_clients();
	h_close();
}
END_TEST

START_TEST(test_unknown_command_keeps_connection)
{
	static const uint16_t not_v1[] = { CTL_T_SHOW_ADDRS, CTL_T_MONITOR, CTL_T_RELOAD,
					   CTL_T_SET_LOCAL_KEY, 0x7777 };
	uint8_t raw[CTL_HDR_LEN];
	struct ctl_hdr hdr;
	struct got g;
	int fd;

	h_open(16);
	fd = cli_connect();
	for (size_t i = 0; i < sizeof(not_v1) / sizeof(not_v1[0]); i++) {
		/* With a body, which must be skipped to stay in step. */
		send_raw_hdr(fd, CTL_MAGIC, CTL_VERSION, 0, not_v1[i], 0, 6);
		cli_send(fd, "\x07\x77\x00\x02zz", 6, false);
		ck_assert_int_eq(cli_read(fd, raw, sizeof(raw)), 0);
		ck_assert_int_eq(ctl_hdr_get(raw, sizeof(raw), true, &hdr), CTL_OK);
		ck_assert_int_eq(hdr.type, not_v1[i]);
		ck_assert_int_eq(hdr.result, CTL_E_UNKNOWN_COMMAND);
	}
	ck_assert_int_eq(ask(fd, CTL_T_VERSION, &g, false), CTL_OK);
	close(fd);
	wait_no_clients();
	h_close();
}
END_TEST

/* ---- Bounds ---- */

START_TEST(test_client_bound)
{
	int fds[CTL_CLIENTS_MAX], extra;
	struct ctl_hdr hdr;
	struct got g;

	h_open(16);
	for (int i = 0; i < CTL_CLIENTS_MAX; i++)
		fds[i] = cli_connect();
	pump(4);
	ck_assert_uint_eq(ctl_server_clients(H.pump.srv), CTL_CLIENTS_MAX);
	extra = cli_connect();
	hdr = cli_error_then_eof(extra);
	ck_assert_int_eq(hdr.result, CTL_E_BUSY);
	ck_assert_int_eq(hdr.type, 0);
	close(extra);
	/* The others still work; one leaving makes room. */
	ck_assert_int_eq(ask(fds[3], CTL_T_VERSION, &g, false), CTL_OK);
	close(fds[0]);
	for (int i = 0; i < 200 && ctl_server_clients(H.pump.srv) == CTL_CLIENTS_MAX; i++)
		pump_once();
	extra = cli_connect();
	ck_assert_int_eq(ask(extra, CTL_T_VERSION, &g, false), CTL_OK);
	close(extra);
	for (int i = 1; i < CTL_CLIENTS_MAX; i++)
		close(fds[i]);
	wait_no_clients();
	h_close();
}
END_TEST

static void fill_big_table(void)
{
	uint32_t h = dime_hid_lookup(H.fake.hids, AP("198.51.100.7"));

	for (uint32_t i = 0; dime_flow_count(H.fake.flows) < BIG_FLOWS; i++)
		ctl_test_add_flow(H.fake.flows, h, IPPROTO_TCP, "192.0.2.1",
				  (uint16_t)(1024 + i / 2), "198.51.100.7",
				  (uint16_t)(6000 + (i & 1)), NOW);
}

/* The client asks for a listing of megabytes and does not read: the
 * server holds one frame at most, and stops producing. Then the client
 * reads it all: every flow exactly once, MORE on all frames but the last. */
START_TEST(test_slow_reader_bounded)
{
	struct ctl_request req = { .type = CTL_T_SHOW_FLOWS };
	struct ctl_reply_sink sink;
	struct got g;
	int fd, frames, queued = 0;

	h_open(BIG_FLOWS + 16);
	fill_big_table();
	fd = cli_connect();
	cli_request(fd, &req, false);
	pump(500);
	ck_assert_int_eq(ioctl(fd, FIONREAD, &queued), 0);
	fprintf(stderr, "slow reader: %d bytes queued in the socket, %zu held by the server "
		"(bound %u)\n", queued, H.pump.max_pending, CTL_FRAME_MAX);
	ck_assert_uint_le(H.pump.max_pending, CTL_FRAME_MAX);
	ck_assert_int_lt(queued, 4 * (int)CTL_FRAME_MAX);
	/* Well short of the whole reply (about 67 bytes per flow). */
	ck_assert_int_lt(queued, (int)(BIG_FLOWS * 60));

	sink = sink_for(&g);
	g.seen = calloc(1u << 17, 1);
	ck_assert_int_eq(cli_reply(fd, CTL_T_SHOW_FLOWS, &sink, &frames), CTL_OK);
	fprintf(stderr, "slow reader: %zu flows in %d frames\n", g.nflow, frames);
	ck_assert_uint_eq(g.nflow, dime_flow_count(H.fake.flows));
	ck_assert_uint_eq(g.dup, 0);
	{
		size_t distinct = 0;

		for (size_t i = 0; i < 1u << 17; i++)
			distinct += g.seen[i];
		ck_assert_uint_eq(distinct, BIG_FLOWS - 3);
	}
	ck_assert_int_gt(frames, 20);
	free(g.seen);

	/* The connection is still good for another request. */
	ck_assert_int_eq(ask(fd, CTL_T_VERSION, &g, false), CTL_OK);
	close(fd);
	wait_no_clients();
	h_close();
}
END_TEST

/* A client that leaves in the middle of a long reply. */
START_TEST(test_reader_leaves_mid_reply)
{
	struct ctl_request req = { .type = CTL_T_SHOW_FLOWS };
	uint8_t some[4096];
	int fd;

	h_open(BIG_FLOWS + 16);
	fill_big_table();
	fd = cli_connect();
	cli_request(fd, &req, false);
	pump(50);
	ck_assert_int_eq(cli_read(fd, some, sizeof(some)), 0);
	close(fd);
	wait_no_clients();
	h_close();
}
END_TEST

/* ---- Permission ---- */

/* In a child running as nobody: a read-only request is served, a state
 * change is refused. Reports the two result codes through a pipe. */
static void child_as_nobody(int out)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct ctl_request reqs[2] = {
		{ .type = CTL_T_VERSION },
		{ .type = CTL_T_SET_LOCATOR, .peer = A("198.51.100.7"), .remote = A("2001:db8::7") },
	};
	struct timeval tv = { .tv_sec = 5 };
	uint8_t res[2] = { 0xff, 0xff };
	int fd;

	if (setgid(65534) || setuid(65534))
		_exit(2);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", H.path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		_exit(3);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (int i = 0; i < 2; i++) {
		uint8_t buf[CTL_REQUEST_MAX], body[256];
		struct ctl_hdr hdr;
		size_t len;

		if (ctl_request_encode(&reqs[i], buf, sizeof(buf), &len) ||
		    send(fd, buf, len, 0) != (ssize_t)len ||
		    recv(fd, buf, CTL_HDR_LEN, MSG_WAITALL) != CTL_HDR_LEN ||
		    ctl_hdr_get(buf, CTL_HDR_LEN, true, &hdr) != CTL_OK ||
		    hdr.len > sizeof(body) ||
		    (hdr.len && recv(fd, body, hdr.len, MSG_WAITALL) != (ssize_t)hdr.len))
			_exit(4);
		res[i] = (uint8_t)hdr.result;
	}
	if (write(out, res, sizeof(res)) != sizeof(res))
		_exit(5);
	_exit(0);
}

START_TEST(test_state_changes_need_root)
{
	uint8_t res[2] = { 0 };
	int pipefd[2], status = -1;
	pid_t pid;

	if (geteuid() != 0) {
		fprintf(stderr, "test_state_changes_need_root: skipped, needs root\n");
		return;
	}
	h_open(16);
	/* Let nobody reach the socket, as group dime would. */
	ck_assert_int_eq(chmod(H.dir, 0755), 0);
	ck_assert_int_eq(chmod(H.sockdir, 0755), 0);
	ck_assert_int_eq(chmod(H.path, 0666), 0);
	ck_assert_int_eq(pipe(pipefd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(pipefd[0]);
		child_as_nobody(pipefd[1]);
	}
	close(pipefd[1]);
	for (int i = 0; i < 5000; i++) {
		pump_once();
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
	}
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_int_eq(read(pipefd[0], res, sizeof(res)), 2);
	close(pipefd[0]);
	ck_assert_int_eq(res[0], CTL_OK);
	ck_assert_int_eq(res[1], CTL_E_PERMISSION);
	ck_assert_int_eq(H.fake.set_calls, 0);
	wait_no_clients();
	h_close();
}
END_TEST

static Suite *ctl_server_suite(void)
{
	Suite *s = suite_create("ctl_server");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_open_creates_dir_and_mode);
	tcase_add_test(tc, test_open_stale_live_and_foreign);
	tcase_add_test(tc, test_version_and_stats);
	tcase_add_test(tc, test_show_hids_and_flows);
	tcase_add_test(tc, test_byte_by_byte_and_pipelined);
	tcase_add_test(tc, test_garbage_gets_error_then_close);
	tcase_add_test(tc, test_unknown_command_keeps_connection);
	tcase_add_test(tc, test_client_bound);
	tcase_add_test(tc, test_slow_reader_bounded);
	tcase_add_test(tc, test_reader_leaves_mid_reply);
	tcase_add_test(tc, test_state_changes_need_root);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	log_init("test_ctl_server", LOG_LEVEL_WARNING);
	return run_suite(ctl_server_suite());
}
