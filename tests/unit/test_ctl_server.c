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
 * SHOW_ADDRS (sorting, flow counts, the record bound, a missing hook) and
 * MONITOR: events in order to every subscriber, the subscriber bound, a
 * subscriber that stops reading (dropped with "too-slow" after exactly the
 * events it could hold, with and without the loop's wake function), one
 * that leaves or talks, and the end of the stream when the server closes.
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
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
#define WALL 1764238503123ull
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
	enum { ADDRS_SOME, ADDRS_TOO_MANY, ADDRS_BAD } addrs_mode;
	int key_err, key_calls;
	struct ctl_set_local_key key;	/* the last SET_LOCAL_KEY */
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

static uint64_t fake_wall(void *ctx)
{
	return WALL;
}

static int emit_one(ctl_addr_fn emit, void *emit_ctx, const char *addr, uint32_t ifindex,
		    const char *ifname, bool advertised, bool pinned)
{
	struct ctl_addr_rec rec = { .addr = A(addr), .ifindex = ifindex,
				    .advertised = advertised, .pinned = pinned, .flows = 99 };

	snprintf(rec.ifname, sizeof(rec.ifname), "%s", ifname);
	return emit(emit_ctx, &rec);
}

/* In no particular order, as the daemon's list is; flows left for the
 * handler to count. */
static int fake_addrs(void *ctx, ctl_addr_fn emit, void *emit_ctx)
{
	struct fake *f = ctx;
	int err = 0;

	switch (f->addrs_mode) {
	case ADDRS_TOO_MANY:
		for (uint32_t i = 0; i < 300 && !err; i++) {
			char a[32];

			snprintf(a, sizeof(a), "2001:db8:9::%x", i + 1);
			err = emit_one(emit, emit_ctx, a, 2, "eth1", true, false);
		}
		return err;
	case ADDRS_BAD:
		return emit(emit_ctx, &(struct ctl_addr_rec){ 0 });
	default:
		break;
	}
	err = emit_one(emit, emit_ctx, "2001:db8:2::1", 3, "wlan0", true, false);
	if (!err)
		err = emit_one(emit, emit_ctx, "203.0.113.50", 1, "lo", false, true);
	if (!err)
		err = emit_one(emit, emit_ctx, "192.0.2.1", 3, "wlan0", true, false);
	if (!err)
		err = emit_one(emit, emit_ctx, "192.0.2.1", 2, "eth1", false, false);
	if (!err)
		err = emit_one(emit, emit_ctx, "fe80::1", 2, "", false, false);
	return err;
}

static int fake_set_local_key(void *ctx, const struct ctl_set_local_key *req, uint8_t *key_id,
			      uint8_t *pub)
{
	struct fake *f = ctx;

	f->key_calls++;
	f->key = *req;
	memset(key_id, 0, CTL_KEY_ID_LEN);
	if (!f->key_err)
		key_id[0] = req->seed[0];	/* an id the test can recognise */
	memset(pub, 0xab, CTL_KEY_PUB_LEN);	/* a public key the test can recognise */
	return f->key_err;
}

static int fake_local_keys(void *ctx, ctl_lkey_fn emit, void *emit_ctx)
{
	struct ctl_lkey_rec rec = { .id = { 0xaa }, .n = 1, .net = { A("192.0.2.0") },
				    .len = { 24 } };
	int err = emit(emit_ctx, &rec);

	rec.id[0] = 0xbb;
	rec.n = 0;
	rec.net[0] = (struct dime_addr){ 0 };
	rec.len[0] = 0;
	return err ? err : emit(emit_ctx, &rec);
}

static const struct ctl_backend fake_backend = {
	.stats = fake_stats,
	.hids = fake_hids,
	.flows = fake_flows,
	.set_locator = fake_set_locator,
	.now_ms = fake_now,
	.addrs = fake_addrs,
	.wall_ms = fake_wall,
	.set_local_key = fake_set_local_key,
	.local_keys = fake_local_keys,
};

/* A daemon without the optional hooks. */
static const struct ctl_backend bare_backend = {
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

/* What dimed does when it hands a steady moved flow to the kernel
 * (offload.h), as far as the flow table shows it. */
static void mark_offloaded(struct dime_flow_table *t, uint8_t proto, const char *lid,
			   uint16_t lport, const char *rid, uint16_t rport)
{
	struct dime_flow_key k = { .proto = proto, .lport = lport, .rport = rport,
				   .lid = A(lid), .rid = A(rid) };
	struct dime_flow *fl = dime_flow_lookup_out(t, &k);

	ck_assert_ptr_nonnull(fl);
	fl->offloaded = 1;
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
	struct ctl_addr_rec addr[8];
	size_t naddr;
	struct ctl_event_rec event[8];
	size_t nevent;
	uint64_t last_seq;
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

static void got_addr(void *ctx, const struct ctl_addr_rec *r)
{
	struct got *g = ctx;

	if (g->naddr < 8)
		g->addr[g->naddr] = *r;
	g->naddr++;
}

static void got_event(void *ctx, const struct ctl_event_rec *r)
{
	struct got *g = ctx;

	if (g->nevent < 8)
		g->event[g->nevent] = *r;
	/* Every subscriber sees the daemon's events in order, none twice. */
	if (g->nevent)
		HOT_ASSERT(r->seq == g->last_seq + 1);
	g->last_seq = r->seq;
	g->nevent++;
}

static struct ctl_reply_sink sink_for(struct got *g)
{
	memset(g, 0, sizeof(*g));
	return (struct ctl_reply_sink){ .version = got_version, .stat = got_stat, .hid = got_hid,
					.flow = got_flow, .addr = got_addr, .event = got_event,
					.ctx = g };
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
	/* The daemon's four, then the control server's own. */
	ck_assert_uint_eq(g.nstat, 4 + 6);
	ck_assert_str_eq(g.stat[4].name, "ctl_monitors");
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

	mark_offloaded(H.fake.flows, IPPROTO_TCP, "192.0.2.1", 43210, "198.51.100.7", 5001);
	ck_assert_int_eq(ask(fd, CTL_T_SHOW_FLOWS, &g, false), CTL_OK);
	ck_assert_uint_eq(g.nflow, 3);
	ck_assert_int_eq(g.flow[0].proto, IPPROTO_TCP);
	ck_assert(g.flow[0].offloaded);
	ck_assert(!g.flow[1].offloaded);
	ck_assert(!g.flow[2].offloaded);
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
	static const uint16_t not_v1[] = { CTL_T_RELOAD, 0x0104, 0x7777 };
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

/* ---- SET_LOCAL_KEY and SHOW_KEYS ---- */

struct lkeys {
	unsigned int n;
	struct ctl_lkey_rec r[2];
};

static void got_lkeys(void *ctx, const struct ctl_lkey_rec *rec)
{
	struct lkeys *k = ctx;

	if (k->n < 2)
		k->r[k->n] = *rec;
	k->n++;
}

START_TEST(test_set_local_key)
{
	struct ctl_request req = { .type = CTL_T_SET_LOCAL_KEY };
	struct lkeys keys;
	struct ctl_reply_sink sink = { .lkey = got_lkeys, .ctx = &keys };
	int fd;

	h_open(16);
	fd = cli_connect();
	/* Root (this test's uid when run as root): installed, the record back. */
	memset(req.key.seed, 0x42, sizeof(req.key.seed));
	req.key.n = 1;
	req.key.net[0] = A("2001:db8::");
	req.key.len[0] = 32;
	memset(&keys, 0, sizeof(keys));
	cli_request(fd, &req, false);
	if (geteuid() == 0) {
		ck_assert_int_eq(cli_reply(fd, CTL_T_SET_LOCAL_KEY, &sink, NULL), CTL_OK);
		ck_assert_int_eq(H.fake.key_calls, 1);
		ck_assert_uint_eq(H.fake.key.seed[31], 0x42);
		ck_assert_uint_eq(keys.n, 1);
		ck_assert_uint_eq(keys.r[0].id[0], 0x42);
		/* The key's public half, for dimectl to print. */
		ck_assert_uint_eq(keys.r[0].pub[0], 0xab);
		ck_assert_uint_eq(keys.r[0].pub[CTL_KEY_PUB_LEN - 1], 0xab);
		ck_assert(keys.r[0].runtime);
		ck_assert(dime_addr_eq(&keys.r[0].net[0], AP("2001:db8::")));
		/* The backend's refusals, by code. */
		H.fake.key_err = -EEXIST;
		cli_request(fd, &req, false);
		ck_assert_int_eq(cli_reply(fd, CTL_T_SET_LOCAL_KEY, &sink, NULL), CTL_E_KEY_BOUND);
		H.fake.key_err = -EOPNOTSUPP;
		cli_request(fd, &req, false);
		ck_assert_int_eq(cli_reply(fd, CTL_T_SET_LOCAL_KEY, &sink, NULL), CTL_E_IHMP_OFF);
		H.fake.key_err = -ENOENT;
		cli_request(fd, &req, false);
		ck_assert_int_eq(cli_reply(fd, CTL_T_SET_LOCAL_KEY, &sink, NULL),
				 CTL_E_NO_SUCH_KEY);
		H.fake.key_err = -ENOSPC;
		cli_request(fd, &req, false);
		ck_assert_int_eq(cli_reply(fd, CTL_T_SET_LOCAL_KEY, &sink, NULL), CTL_E_TABLE_FULL);
	} else {
		ck_assert_int_ne(cli_reply(fd, CTL_T_SET_LOCAL_KEY, &sink, NULL), CTL_OK);
	}
	/* SHOW_KEYS: every record, in order. */
	memset(&keys, 0, sizeof(keys));
	cli_request(fd, &(struct ctl_request){ .type = CTL_T_SHOW_KEYS }, false);
	ck_assert_int_eq(cli_reply(fd, CTL_T_SHOW_KEYS, &sink, NULL), CTL_OK);
	ck_assert_uint_eq(keys.n, 2);
	ck_assert_uint_eq(keys.r[0].id[0], 0xaa);
	ck_assert_uint_eq(keys.r[1].id[0], 0xbb);
	ck_assert_uint_eq(keys.r[1].n, 0);
	close(fd);
	wait_no_clients();
	h_close();
}
END_TEST

/* The uid check itself, on the handler: dimed's own user (may change
 * state) is still not root, and a private key is root's business. */
START_TEST(test_set_local_key_needs_uid0)
{
	static uint8_t buf[CTL_FRAME_MAX];
	struct ctl_job job = { .req = { .type = CTL_T_SET_LOCAL_KEY }, .may_change = true };
	struct fake f = { 0 };
	struct ctl_hdr hdr;
	size_t len;

	memset(job.req.key.seed, 0x42, sizeof(job.req.key.seed));
	len = ctl_job_next_frame(&job, &fake_backend, &f, buf);
	ck_assert_uint_eq(len, CTL_HDR_LEN);
	ck_assert_int_eq(ctl_hdr_get(buf, len, true, &hdr), CTL_OK);
	ck_assert_int_eq(hdr.result, CTL_E_NEED_ROOT);
	ck_assert_int_eq(f.key_calls, 0);
	ck_assert(job.done);
	ck_assert_uint_eq(job.req.key.seed[0], 0);	/* cleansed */
	/* Not even dimed's user: the general refusal. */
	memset(&job, 0, sizeof(job));
	job.req.type = CTL_T_SET_LOCAL_KEY;
	len = ctl_job_next_frame(&job, &fake_backend, &f, buf);
	ck_assert_int_eq(ctl_hdr_get(buf, len, true, &hdr), CTL_OK);
	ck_assert_int_eq(hdr.result, CTL_E_PERMISSION);
	/* Root: through, and the seed does not stay in the job. */
	memset(&job, 0, sizeof(job));
	job.req.type = CTL_T_SET_LOCAL_KEY;
	job.may_change = job.root = true;
	memset(job.req.key.seed, 0x42, sizeof(job.req.key.seed));
	len = ctl_job_next_frame(&job, &fake_backend, &f, buf);
	ck_assert_int_eq(ctl_hdr_get(buf, len, true, &hdr), CTL_OK);
	ck_assert_int_eq(hdr.result, CTL_OK);
	ck_assert_int_eq(f.key_calls, 1);
	ck_assert_uint_eq(job.req.key.seed[0], 0);
	/* A daemon without the hooks. */
	memset(&job, 0, sizeof(job));
	job.req.type = CTL_T_SET_LOCAL_KEY;
	job.may_change = job.root = true;
	len = ctl_job_next_frame(&job, &bare_backend, &f, buf);
	ck_assert_int_eq(ctl_hdr_get(buf, len, true, &hdr), CTL_OK);
	ck_assert_int_eq(hdr.result, CTL_E_UNKNOWN_COMMAND);
	memset(&job, 0, sizeof(job));
	job.req.type = CTL_T_SHOW_KEYS;
	len = ctl_job_next_frame(&job, &bare_backend, &f, buf);
	ck_assert_int_eq(ctl_hdr_get(buf, len, true, &hdr), CTL_OK);
	ck_assert_int_eq(hdr.result, CTL_E_UNKNOWN_COMMAND);
}
END_TEST

/* ---- SHOW_ADDRS ---- */

START_TEST(test_show_addrs)
{
	static const struct {
		const char *addr, *ifname;
		uint32_t ifindex, flows;
		bool advertised, pinned;
	} want[] = {
		{ "192.0.2.1", "eth1", 2, 2, false, false },
		{ "192.0.2.1", "wlan0", 3, 2, true, false },
		{ "203.0.113.50", "lo", 1, 1, false, true },
		{ "2001:db8:2::1", "wlan0", 3, 1, true, false },
		{ "fe80::1", "", 2, 0, false, false },
	};
	struct got g;
	int fd;

	h_open(16);
	/* A flow still using the pinned address. */
	ctl_test_add_flow(H.fake.flows, dime_hid_lookup(H.fake.hids, AP("198.51.100.7")),
			  IPPROTO_TCP, "203.0.113.50", 40000, "198.51.100.7", 80, NOW);
	fd = cli_connect();
	ck_assert_int_eq(ask(fd, CTL_T_SHOW_ADDRS, &g, false), CTL_OK);
	ck_assert_uint_eq(g.naddr, 5);
	for (size_t i = 0; i < 5; i++) {
		const struct ctl_addr_rec *r = &g.addr[i];

		ck_assert_msg(dime_addr_eq(&r->addr, AP(want[i].addr)), "record %zu", i);
		ck_assert_str_eq(r->ifname, want[i].ifname);
		ck_assert_uint_eq(r->ifindex, want[i].ifindex);
		ck_assert_uint_eq(r->flows, want[i].flows);
		ck_assert_int_eq(r->advertised, want[i].advertised);
		ck_assert_int_eq(r->pinned, want[i].pinned);
	}

	/* No flow table: nothing to count. */
	H.fake.no_tables = true;
	ck_assert_int_eq(ask(fd, CTL_T_SHOW_ADDRS, &g, false), CTL_OK);
	ck_assert_uint_eq(g.naddr, 5);
	ck_assert_uint_eq(g.addr[0].flows, 0);
	H.fake.no_tables = false;

	/* More than a reply holds: the first CTL_ADDRS_MAX. */
	H.fake.addrs_mode = ADDRS_TOO_MANY;
	ck_assert_int_eq(ask(fd, CTL_T_SHOW_ADDRS, &g, false), CTL_OK);
	ck_assert_uint_eq(g.naddr, CTL_ADDRS_MAX);

	/* A hook that fails: an internal error, the connection stays. */
	H.fake.addrs_mode = ADDRS_BAD;
	ck_assert_int_eq(ask(fd, CTL_T_SHOW_ADDRS, &g, false), CTL_E_INTERNAL);
	ck_assert_int_eq(ask(fd, CTL_T_VERSION, &g, false), CTL_OK);
	close(fd);
	wait_no_clients();
	h_close();
}
END_TEST

/* Hooks left NULL: "not supported", while the rest works. */
START_TEST(test_bare_backend)
{
	struct got g;
	int fd;

	h_open(16);
	ctl_server_close(H.pump.srv);
	ck_assert_int_eq(ctl_server_open(&H.pump.srv, H.path, &bare_backend, &H.fake), 0);
	fd = cli_connect();
	ck_assert_int_eq(ask(fd, CTL_T_SHOW_ADDRS, &g, false), CTL_E_UNKNOWN_COMMAND);
	ck_assert_int_eq(ask(fd, CTL_T_SHOW_HIDS, &g, false), CTL_OK);
	ck_assert_uint_eq(g.nhid, 0);
	ck_assert_int_eq(ask(fd, CTL_T_STATS, &g, false), CTL_OK);
	ck_assert_uint_eq(g.nstat, 6);
	close(fd);
	wait_no_clients();
	h_close();
}
END_TEST

/* ---- MONITOR ---- */

static void cli_hdr(int fd, struct ctl_hdr *hdr)
{
	uint8_t raw[CTL_HDR_LEN];

	HOT_ASSERT(cli_read(fd, raw, sizeof(raw)) == 0);
	HOT_ASSERT(ctl_hdr_get(raw, sizeof(raw), true, hdr) == CTL_OK);
	HOT_ASSERT(hdr->type == CTL_T_MONITOR);
}

/* Subscribe: the first frame is an empty OK with MORE. */
static void subscribe(int fd)
{
	struct ctl_request req = { .type = CTL_T_MONITOR };
	struct ctl_hdr hdr;

	cli_request(fd, &req, false);
	cli_hdr(fd, &hdr);
	ck_assert_int_eq(hdr.result, CTL_OK);
	ck_assert(hdr.flags & CTL_F_MORE);
	ck_assert_uint_eq(hdr.len, 0);
}

/* The next frame of a stream into g: its result; *more tells whether the
 * stream goes on. */
static int next_event_frame(int fd, struct got *g, bool *more)
{
	static uint8_t body[CTL_REPLY_BODY_MAX];
	struct ctl_reply_sink sink = { .event = got_event, .ctx = g };
	struct ctl_hdr hdr;

	cli_hdr(fd, &hdr);
	HOT_ASSERT(cli_read(fd, body, hdr.len) == 0);
	*more = hdr.flags & CTL_F_MORE;
	if (hdr.result == CTL_OK)
		HOT_ASSERT(ctl_reply_decode(CTL_T_MONITOR, body, hdr.len, &sink) == CTL_OK);
	else
		HOT_ASSERT(hdr.len == 0 && !*more);
	return hdr.result;
}

static void read_events(int fd, struct got *g, size_t n)
{
	bool more;

	while (n--) {
		ck_assert_int_eq(next_event_frame(fd, g, &more), CTL_OK);
		ck_assert(more);
	}
}

static void report_events(void)
{
	char text[400];
	const char *ifname = "an-interface-name-far-longer-than-any-protocol-string-may-be-at-all";

	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	ctl_server_event(H.pump.srv, &(struct ctl_event){ .kind = CTL_EV_ADDR_UP,
		.addr = A("192.0.2.1"), .ifname = "eth1" });
	ctl_server_event(H.pump.srv, &(struct ctl_event){ .kind = CTL_EV_HANDOFF_SENT, .hid = 7,
		.addr = A("203.0.113.9"), .lloc = { A("198.51.100.1") }, .has_value = true,
		.value = 1 });
	ctl_server_event(H.pump.srv, &(struct ctl_event){ .kind = CTL_EV_LOCATORS, .hid = 7,
		.rloc = { A("203.0.113.10"), A("2001:db8::10") }, .lloc = { A("198.51.100.1") } });
	ctl_server_event(H.pump.srv, &(struct ctl_event){ .kind = CTL_EV_RELOAD_FAILED,
		.text = text });
	ctl_server_event(H.pump.srv, &(struct ctl_event){ .kind = CTL_EV_PIN_ADDED,
		.addr = A("2001:db8:2::1"), .ifname = ifname, .has_value = true, .value = 0 });
}

static void check_events(const struct got *g)
{
	const struct ctl_event_rec *e = g->event;

	ck_assert_uint_eq(g->nevent, 5);
	for (size_t i = 0; i < 5; i++) {
		ck_assert_uint_eq(e[i].time_ms, WALL);
		ck_assert_uint_eq(e[i].mono_ms, NOW);
	}
	ck_assert_str_eq(e[0].kind, "addr-up");
	ck_assert(dime_addr_eq(&e[0].addr, AP("192.0.2.1")));
	ck_assert_str_eq(e[0].ifname, "eth1");
	ck_assert_uint_eq(e[0].hid, 0);
	ck_assert(!e[0].has_value);
	ck_assert_str_eq(e[1].kind, "handoff-sent");
	ck_assert_uint_eq(e[1].hid, 7);
	ck_assert(dime_addr_eq(&e[1].lloc[CTL_AF4], AP("198.51.100.1")));
	ck_assert(e[1].has_value && e[1].value == 1);
	ck_assert_str_eq(e[2].kind, "locators");
	ck_assert(dime_addr_eq(&e[2].rloc[CTL_AF6], AP("2001:db8::10")));
	ck_assert(!dime_addr_is_set(&e[2].addr));
	ck_assert_str_eq(e[3].kind, "reload-failed");
	ck_assert_uint_eq(strlen(e[3].text), CTL_TEXT_MAX);
	/* A name too long is left out; a value of 0 is still a value. */
	ck_assert_str_eq(e[4].kind, "pin-added");
	ck_assert_str_eq(e[4].ifname, "");
	ck_assert(e[4].has_value && e[4].value == 0);
}

START_TEST(test_monitor_events)
{
	struct got g1, g2, g;
	const struct ctl_server_stats *st;
	int fd1, fd2, fd3;
	uint8_t byte = 0;

	h_open(16);
	/* Nobody listens: counted, nothing else. */
	ck_assert(!ctl_server_monitored(H.pump.srv));
	ctl_server_event(H.pump.srv, &(struct ctl_event){ .kind = CTL_EV_ADDR_DOWN });
	ctl_server_event(NULL, &(struct ctl_event){ .kind = CTL_EV_ADDR_DOWN });
	st = ctl_server_stats(H.pump.srv);
	ck_assert_uint_eq(st->monitor_events, 1);

	fd1 = cli_connect();
	fd2 = cli_connect();
	fd3 = cli_connect();
	subscribe(fd1);
	subscribe(fd2);
	ck_assert(ctl_server_monitored(H.pump.srv));
	ck_assert_uint_eq(st->monitors, 2);
	report_events();
	/* Not a valid kind: counted, not sent, and no gap in the numbers. */
	ctl_server_event(H.pump.srv, &(struct ctl_event){ .kind = CTL_EV_KIND_COUNT });
	ck_assert_uint_eq(st->monitor_bad_events, 1);
	ctl_server_event(H.pump.srv, &(struct ctl_event){ .kind = CTL_EV_RELOAD, .text = "ok" });
	/* Batched: each subscriber's watcher was re-armed once for all six. */
	ck_assert_uint_eq(H.pump.wakes, 2);

	memset(&g1, 0, sizeof(g1));
	memset(&g2, 0, sizeof(g2));
	read_events(fd1, &g1, 6);
	read_events(fd2, &g2, 6);
	g1.nevent = g2.nevent = 5;	/* the checks are for the first five */
	check_events(&g1);
	check_events(&g2);
	ck_assert_uint_eq(g1.event[0].seq, 1);
	ck_assert_uint_eq(g1.last_seq, 6);
	ck_assert_uint_eq(st->monitor_sent, 12);

	/* A client that does not monitor is served as before, and sees none. */
	ck_assert_int_eq(ask(fd3, CTL_T_VERSION, &g, false), CTL_OK);
	ck_assert_int_eq(ask(fd3, CTL_T_STATS, &g, false), CTL_OK);
	ck_assert_str_eq(g.stat[4].name, "ctl_monitors");
	ck_assert_uint_eq(g.stat[4].value, 2);

	/* One leaves; the other talks, which ends its stream. */
	close(fd1);
	for (int i = 0; i < 200 && st->monitors == 2; i++)
		pump_once();
	ck_assert_uint_eq(st->monitors, 1);
	ck_assert_int_eq(send(fd2, &byte, 1, MSG_NOSIGNAL), 1);
	ck_assert_int_eq(cli_read(fd2, &byte, 1), -EPIPE);
	ck_assert_uint_eq(st->monitors, 0);
	ck_assert(!ctl_server_monitored(H.pump.srv));
	close(fd2);
	close(fd3);
	wait_no_clients();
	h_close();
}
END_TEST

START_TEST(test_monitor_bound)
{
	int fds[CTL_MONITORS_MAX], extra;
	const struct ctl_server_stats *st;
	struct ctl_hdr hdr;
	struct got g;

	h_open(16);
	st = ctl_server_stats(H.pump.srv);
	for (int i = 0; i < CTL_MONITORS_MAX; i++) {
		fds[i] = cli_connect();
		subscribe(fds[i]);
	}
	extra = cli_connect();
	cli_request(extra, &(struct ctl_request){ .type = CTL_T_MONITOR }, false);
	cli_hdr(extra, &hdr);
	ck_assert_int_eq(hdr.result, CTL_E_MONITOR_FULL);
	ck_assert(!(hdr.flags & CTL_F_MORE));
	ck_assert_uint_eq(st->monitor_refused, 1);
	/* Refused, not thrown out: the connection still serves. */
	ck_assert_int_eq(ask(extra, CTL_T_VERSION, &g, false), CTL_OK);
	close(fds[0]);
	for (int i = 0; i < 200 && st->monitors == CTL_MONITORS_MAX; i++)
		pump_once();
	subscribe(extra);
	ck_assert_uint_eq(st->monitors, CTL_MONITORS_MAX);
	close(extra);
	for (int i = 1; i < CTL_MONITORS_MAX; i++)
		close(fds[i]);
	wait_no_clients();
	ck_assert_uint_eq(st->monitors, 0);
	h_close();
}
END_TEST

/*
 * A subscriber that stops reading while events keep coming: the server
 * holds at most CTL_MONITOR_BUF bytes for it, then drops it. It still
 * gets every event it was given, in order, then "too-slow", then the end.
 * Run with the loop's wake function (_i == 0) and without (_i == 1).
 */
START_TEST(test_monitor_slow_reader_dropped)
{
	const struct ctl_server_stats *st;
	char text[200];
	struct got g;
	bool more = true;
	int fd, result = CTL_OK, n = 0;
	uint64_t sent;

	h_open(16);
	H.pump.no_wake = _i == 1;
	st = ctl_server_stats(H.pump.srv);
	memset(text, 't', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	fd = cli_connect();
	subscribe(fd);
	for (n = 0; n < 100000 && st->monitor_dropped == 0; n++) {
		ctl_server_event(H.pump.srv, &(struct ctl_event){ .kind = CTL_EV_PEER_LOST,
			.hid = (uint32_t)n + 1, .addr = A("203.0.113.9"), .text = text });
		ck_assert_uint_le(ctl_client_pending(H.pump.c[0]), CTL_MONITOR_BUF);
		if (n % 64 == 0)
			pump(1);
	}
	sent = st->monitor_sent;
	fprintf(stderr, "slow monitor (%s): dropped after %d events, %" PRIu64 " sent, %u wakes\n",
		_i ? "no wake" : "wake", n, sent, H.pump.wakes);
	ck_assert_uint_eq(st->monitor_dropped, 1);
	ck_assert_uint_eq(st->monitors, 0);
	ck_assert_uint_gt(sent, 100);
	ck_assert_uint_eq(H.pump.max_pending <= CTL_MONITOR_BUF, 1);
	/* Later events are not queued for it. */
	ctl_server_event(H.pump.srv, &(struct ctl_event){ .kind = CTL_EV_ADDR_UP });
	ck_assert_uint_eq(st->monitor_sent, sent);

	memset(&g, 0, sizeof(g));
	while (more && result == CTL_OK)
		result = next_event_frame(fd, &g, &more);
	ck_assert_int_eq(result, CTL_E_TOO_SLOW);
	ck_assert_uint_eq(g.nevent, sent);
	ck_assert_uint_eq(g.last_seq, sent);
	ck_assert_int_eq(cli_read(fd, text, 1), -EPIPE);
	close(fd);
	wait_no_clients();
	h_close();
}
END_TEST

/* dimed stops: the stream ends with an OK frame, whether the loop closes
 * its clients first (as dimed's does, _i == 0) or the server does. */
START_TEST(test_monitor_end_on_close)
{
	struct got g;
	bool more;
	int fd;

	h_open(16);
	fd = cli_connect();
	subscribe(fd);
	ctl_server_event(H.pump.srv, &(struct ctl_event){ .kind = CTL_EV_RELOAD, .text = "ok" });
	for (int i = 0; _i == 0 && i < CTL_CLIENTS_MAX; i++)
		if (H.pump.c[i])
			ctl_client_close(H.pump.c[i]);
	ctl_server_close(H.pump.srv);
	H.pump.srv = NULL;
	memset(H.pump.c, 0, sizeof(H.pump.c));
	memset(&g, 0, sizeof(g));
	ck_assert_int_eq(next_event_frame(fd, &g, &more), CTL_OK);
	ck_assert(more);
	ck_assert_str_eq(g.event[0].kind, "reload");
	ck_assert_str_eq(g.event[0].text, "ok");
	ck_assert_int_eq(next_event_frame(fd, &g, &more), CTL_OK);
	ck_assert(!more);
	ck_assert_uint_eq(g.nevent, 1);
	ck_assert_int_eq(cli_read(fd, &more, 1), -EPIPE);
	close(fd);
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
	tcase_add_test(tc, test_set_local_key);
	tcase_add_test(tc, test_set_local_key_needs_uid0);
	tcase_add_test(tc, test_show_addrs);
	tcase_add_test(tc, test_bare_backend);
	tcase_add_test(tc, test_monitor_events);
	tcase_add_test(tc, test_monitor_bound);
	tcase_add_loop_test(tc, test_monitor_slow_reader_dropped, 0, 2);
	tcase_add_loop_test(tc, test_monitor_end_on_close, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	log_init("test_ctl_server", LOG_LEVEL_WARNING);
	return run_suite(ctl_server_suite());
}
