// SPDX-License-Identifier: BSD-2-Clause
/*
 * End-to-end Check suite for the dimectl binary: this process serves the
 * control socket (control.c with a fake backend over real tables and a
 * fixed clock) in a temporary directory and runs the built dimectl against
 * it, pumping the server while dimectl runs. Outputs of the dump and JSON
 * forms are compared with goldens (tests/unit/golden/dimectl_e2e_*), exit
 * codes and messages with what dimectl(8) promises: 0 ok, 1 daemon error,
 * 2 usage. `dimectl monitor` runs while this process reports events and
 * then closes the server; its lines are compared with goldens too (TZ is
 * UTC for dimectl, so event times read the same anywhere).
 *
 * DIME_GOLDEN_UPDATE=1 rewrites the goldens, as in test_ctl_render.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dime/control.h"
#include "dime/flow.h"
#include "dime/hid.h"
#include "dime/ihmp_sign.h"
#include "dime/log.h"
#include "dime/version.h"
#include "ctltest.h"
#include "testutil.h"

#ifndef DIMECTL_PATH
#error "DIMECTL_PATH must name the built dimectl"
#endif
#ifndef DIME_GOLDEN_DIR
#error "DIME_GOLDEN_DIR must name tests/unit/golden"
#endif

#define NOW 9000000ull
#define WALL 1764238503123ull	/* 2025-11-27 10:15:03.123 UTC */

static const struct dime_sipkey seed = { 0x0123456789abcdefull, 0xfedcba9876543210ull };

/* ---- A fake dimed ---- */

static struct {
	char dir[32], path[64];
	struct dime_hid_table *hids;
	struct dime_flow_table *flows;
	struct ctl_pump pump;
	int set_err, set_calls;
	struct dime_addr peer, rloc, lloc;
	int key_calls;
	struct ctl_set_local_key key;
} F;

static int fake_stats(void *ctx, ctl_stat_fn emit, void *emit_ctx)
{
	int err = emit(emit_ctx, "nfq_packets", 1234567);

	if (!err)
		err = emit(emit_ctx, "nfq_dropped", 0);
	if (!err)
		err = emit(emit_ctx, "hid_count", dime_hid_count(F.hids));
	if (!err)
		err = emit(emit_ctx, "flow_count", dime_flow_count(F.flows));
	return err;
}

static struct dime_hid_table *fake_hids(void *ctx)
{
	return F.hids;
}

static struct dime_flow_table *fake_flows(void *ctx)
{
	return F.flows;
}

static int fake_set_locator(void *ctx, const struct dime_addr *peer, const struct dime_addr *rloc,
			    const struct dime_addr *lloc, uint64_t now_ms)
{
	F.set_calls++;
	F.peer = *peer;
	F.rloc = rloc ? *rloc : (struct dime_addr){ 0 };
	F.lloc = lloc ? *lloc : (struct dime_addr){ 0 };
	return F.set_err;
}

static uint64_t fake_now(void *ctx)
{
	return NOW;
}

static uint64_t fake_wall(void *ctx)
{
	return WALL;
}

static int fake_addrs(void *ctx, ctl_addr_fn emit, void *emit_ctx)
{
	static const struct {
		const char *addr, *ifname;
		uint32_t ifindex;
		bool advertised, pinned;
	} t[] = {
		{ "2001:db8:2::1", "wlan0", 3, true, false },
		{ "198.51.100.1", "wlan0", 3, true, false },
		{ "192.0.2.1", "lo", 1, false, true },
		{ "fe80::1", "wlan0", 3, false, false },
	};
	int err = 0;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]) && !err; i++) {
		struct ctl_addr_rec rec = { .addr = A(t[i].addr), .ifindex = t[i].ifindex,
					    .advertised = t[i].advertised, .pinned = t[i].pinned };

		snprintf(rec.ifname, sizeof(rec.ifname), "%s", t[i].ifname);
		err = emit(emit_ctx, &rec);
	}
	return err;
}

static int fake_set_local_key(void *ctx, const struct ctl_set_local_key *req, uint8_t *key_id,
			      uint8_t *pub)
{
	F.key_calls++;
	F.key = *req;
	memset(key_id, 0xab, CTL_KEY_ID_LEN);
	memset(pub, 0xcd, CTL_KEY_PUB_LEN);
	return 0;
}

static int fake_local_keys(void *ctx, ctl_lkey_fn emit, void *emit_ctx)
{
	struct ctl_lkey_rec rec = { .id = { 0xab, 0xcd }, .n = 1, .net = { A("192.0.2.0") },
				    .len = { 24 }, .runtime = true };

	return emit(emit_ctx, &rec);
}

static const struct ctl_backend backend = {
	.set_local_key = fake_set_local_key,
	.local_keys = fake_local_keys,
	.stats = fake_stats,
	.hids = fake_hids,
	.flows = fake_flows,
	.set_locator = fake_set_locator,
	.now_ms = fake_now,
	.addrs = fake_addrs,
	.wall_ms = fake_wall,
};

/* An older dimed: no address list. */
static const struct ctl_backend backend_no_addrs = {
	.hids = fake_hids,
	.flows = fake_flows,
	.now_ms = fake_now,
};

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

static void setup(void)
{
	struct dime_hid_config hc = { .capacity = 16, .max_addrs = 64, .seed = seed };
	struct dime_flow_config fc = { .capacity = 200000, .seed = seed };
	uint32_t h1, h2;

	memset(&F, 0, sizeof(F));
	snprintf(F.dir, sizeof(F.dir), "/tmp/dime-ctl-e2e-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(F.dir));
	snprintf(F.path, sizeof(F.path), "%s/dimed.sock", F.dir);
	dime_flow_timeouts_default(&fc.timeouts);
	ck_assert_int_eq(dime_hid_table_new(&F.hids, &hc), 0);
	ck_assert_int_eq(dime_flow_table_new(&F.flows, &fc, F.hids), 0);

	/* The correspondent moved: flows still use its old address. */
	ck_assert_int_eq(dime_hid_create(F.hids, NOW - 3723000, &h1), 0);
	ck_assert_int_eq(dime_hid_addr_add(F.hids, h1, DIME_HID_ACTIVE, AP("203.0.113.9")), 0);
	ck_assert_int_eq(dime_hid_addr_add(F.hids, h1, DIME_HID_LOCAL, AP("192.0.2.1")), 0);
	ctl_test_add_flow(F.flows, h1, IPPROTO_TCP, "192.0.2.1", 43210, "203.0.113.9", 5001,
			  NOW - 2000);
	ctl_test_add_flow(F.flows, h1, IPPROTO_UDP, "192.0.2.1", 5353, "203.0.113.9", 53,
			  NOW - 65000);
	mark_offloaded(F.flows, IPPROTO_TCP, "192.0.2.1", 43210, "203.0.113.9", 5001);
	ck_assert_int_eq(dime_hid_addr_add(F.hids, h1, DIME_HID_ACTIVE, AP("198.51.100.7")), 0);
	ck_assert_int_eq(dime_hid_addr_move(F.hids, h1, AP("203.0.113.9"), DIME_HID_ACTIVE,
					    DIME_HID_UNREACH), 0);
	dime_hid_get(F.hids, h1)->used_ms = NOW - 2000;
	/* An IPv6 peer. */
	ck_assert_int_eq(dime_hid_create(F.hids, NOW - 60000, &h2), 0);
	ck_assert_int_eq(dime_hid_addr_add(F.hids, h2, DIME_HID_ACTIVE, AP("2001:db8:5::5")), 0);
	ck_assert_int_eq(dime_hid_addr_add(F.hids, h2, DIME_HID_LOCAL, AP("2001:db8:2::1")), 0);
	ctl_test_add_flow(F.flows, h2, IPPROTO_TCP, "2001:db8:2::1", 50000, "2001:db8:5::5", 443,
			  NOW - 100);
	dime_hid_get(F.hids, h2)->used_ms = NOW - 100;

	ck_assert_int_eq(ctl_server_open(&F.pump.srv, F.path, &backend, NULL), 0);
}

static void teardown(void)
{
	ctl_server_close(F.pump.srv);
	dime_flow_flush(F.flows);
	dime_flow_table_free(F.flows);
	dime_hid_table_free(F.hids);
	rmdir(F.dir);
}

static void pump_once(int timeout_ms)
{
	ctl_pump_once(&F.pump, timeout_ms);
}

/* ---- Running dimectl ---- */

struct run {
	int status;			/* exit code, or -1 */
	char *out, *err;
	size_t out_len, err_len;
};

static void drain_pipe(int fd, char **buf, size_t *len, bool *open)
{
	char chunk[65536];
	ssize_t n;

	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		*buf = realloc(*buf, *len + (size_t)n + 1);
		ck_assert_ptr_nonnull(*buf);
		memcpy(*buf + *len, chunk, (size_t)n);
		*len += (size_t)n;
		(*buf)[*len] = '\0';
	}
	if (n == 0)
		*open = false;
}

/* A dimectl running while this process serves it. */
struct child {
	pid_t pid;
	int out, err;
	bool out_open, err_open;
	struct run r;
};

/* Start dimectl with the socket option first and the given words after. */
static void child_start(struct child *c, const char *const *words)
{
	char *argv[16];
	int out[2], err[2], argc = 0;

	argv[argc++] = "dimectl";
	argv[argc++] = "-s";
	argv[argc++] = F.path;
	for (; *words && argc < 15; words++)
		argv[argc++] = (char *)*words;
	argv[argc] = NULL;

	memset(c, 0, sizeof(*c));
	c->r.status = -1;
	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(err, O_CLOEXEC), 0);
	c->pid = fork();
	ck_assert_int_ge(c->pid, 0);
	if (c->pid == 0) {
		dup2(out[1], STDOUT_FILENO);
		dup2(err[1], STDERR_FILENO);
		setenv("TZ", "UTC", 1);
		execv(DIMECTL_PATH, argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	c->out = out[0];
	c->err = err[0];
	fcntl(c->out, F_SETFL, O_NONBLOCK);
	fcntl(c->err, F_SETFL, O_NONBLOCK);
	c->out_open = c->err_open = true;
	c->r.out = calloc(1, 1);
	c->r.err = calloc(1, 1);
}

/* One round: serve, then take what dimectl printed. */
static void child_step(struct child *c)
{
	pump_once(1);
	drain_pipe(c->out, &c->r.out, &c->r.out_len, &c->out_open);
	drain_pipe(c->err, &c->r.err, &c->r.err_len, &c->err_open);
}

/* Serve until dimectl is done (bounded: 20000 rounds of at most 1 ms of
 * waiting), then reap it. */
static struct run child_wait(struct child *c)
{
	int status;

	for (int i = 0; i < 20000 && (c->out_open || c->err_open); i++)
		child_step(c);
	close(c->out);
	close(c->err);
	ck_assert_int_eq(waitpid(c->pid, &status, 0), c->pid);
	if (WIFEXITED(status))
		c->r.status = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		c->r.status = 128 + WTERMSIG(status);
	/* Let the server notice the client left. */
	for (int i = 0; i < 100 && F.pump.srv && ctl_server_clients(F.pump.srv); i++)
		pump_once(1);
	return c->r;
}

/* Run dimectl with the given words to its end. */
static struct run dimectl(const char *first, ...)
{
	const char *words[13];
	size_t n = 0;
	struct child c;
	va_list ap;

	va_start(ap, first);
	for (const char *w = first; w && n < 12; w = va_arg(ap, const char *))
		words[n++] = w;
	va_end(ap);
	words[n] = NULL;
	child_start(&c, words);
	return child_wait(&c);
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static void golden(const char *name, const struct run *r)
{
	char path[512];
	FILE *f;
	char *want;
	long size;

	snprintf(path, sizeof(path), "%s/%s", DIME_GOLDEN_DIR, name);
	if (getenv("DIME_GOLDEN_UPDATE")) {
		f = fopen(path, "wb");
		ck_assert_ptr_nonnull(f);
		ck_assert_uint_eq(fwrite(r->out, 1, r->out_len, f), r->out_len);
		fclose(f);
		return;
	}
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "missing golden %s", path);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, 0, SEEK_SET);
	want = malloc((size_t)size + 1);
	ck_assert_uint_eq(fread(want, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	want[size] = '\0';
	ck_assert_msg((size_t)size == r->out_len && memcmp(want, r->out, r->out_len) == 0,
		      "%s differs from the golden:\n--- want\n%s--- got\n%s", name, want, r->out);
	free(want);
}

/* ---- Tests ---- */

START_TEST(test_outputs_match_goldens)
{
	static const struct {
		const char *golden;
		const char *words[4];
	} cases[] = {
		{ "dimectl_e2e_show.txt", { NULL } },
		{ "dimectl_e2e_show.json", { "-j", "show", NULL } },
		{ "dimectl_e2e_show_hids.txt", { "show", "hids", NULL } },
		{ "dimectl_e2e_show_hids.json", { "-j", "show", "hids", NULL } },
		{ "dimectl_e2e_show_flows.txt", { "show", "flows", NULL } },
		{ "dimectl_e2e_show_flows.json", { "-j", "show", "flows", NULL } },
		{ "dimectl_e2e_stats.txt", { "stats", NULL } },
		{ "dimectl_e2e_stats.json", { "-j", "stats", NULL } },
		{ "dimectl_e2e_dump_hids.txt", { "dump", "hids", NULL } },
		{ "dimectl_e2e_dump_flows.txt", { "dump", "flows", NULL } },
		{ "dimectl_e2e_dump_stats.txt", { "dump", "stats", NULL } },
		{ "dimectl_e2e_show_addrs.txt", { "show", "addrs", NULL } },
		{ "dimectl_e2e_show_addrs.json", { "-j", "show", "addrs", NULL } },
		{ "dimectl_e2e_dump_addrs.txt", { "dump", "addrs", NULL } },
	};

	setup();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *const *w = cases[i].words;
		struct run r = dimectl(w[0], w[1], w[2], w[3], NULL);

		ck_assert_msg(r.status == 0, "%s: exit %d, stderr: %s", cases[i].golden, r.status,
			      r.err);
		ck_assert_uint_eq(r.err_len, 0);
		golden(cases[i].golden, &r);
		run_free(&r);
	}
	teardown();
}
END_TEST

START_TEST(test_version)
{
	char want[128];
	struct run r;

	setup();
	r = dimectl("version", NULL);
	snprintf(want, sizeof(want), "dimectl %s\ndimed %s\n", DIME_VERSION, DIME_VERSION);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, want);
	run_free(&r);
	teardown();
}
END_TEST

START_TEST(test_set_locator)
{
	struct run r;

	setup();
	r = dimectl("set-locator", "203.0.113.9", "remote", "198.51.100.7", "local", "192.0.2.1",
		    NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_uint_eq(r.out_len + r.err_len, 0);
	ck_assert_int_eq(F.set_calls, 1);
	ck_assert(dime_addr_eq(&F.peer, AP("203.0.113.9")));
	ck_assert(dime_addr_eq(&F.rloc, AP("198.51.100.7")));
	ck_assert(dime_addr_eq(&F.lloc, AP("192.0.2.1")));
	run_free(&r);

	/* Local only; the daemon's refusal is exit 1 with its message. */
	F.set_err = -ENOENT;
	r = dimectl("set-locator", "2001:db8::99", "local", "2001:db8:2::1", NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.err, "dimectl: set-locator: no such host\n");
	ck_assert(!dime_addr_is_set(&F.rloc));
	run_free(&r);
	teardown();
}
END_TEST

/* dimectl reads the key file with the daemon's checks and sends its seed. */
START_TEST(test_set_local_key)
{
	char path[96], why[IHMP_KEY_ERR_MAX];
	uint8_t raw[IHMP_PRIVKEY_LEN];
	struct ihmp_key *key;
	struct run r;

	setup();
	if (geteuid() != 0) {
		r = dimectl("set-local-key", "/nonexistent", NULL);
		ck_assert_int_eq(r.status, 1);
		run_free(&r);
		teardown();
		return;
	}
	snprintf(path, sizeof(path), "%s/test.key", F.dir);
	ck_assert_int_eq(ihmp_key_generate(&key), 0);
	ck_assert_int_eq(ihmp_key_store_private(key, path, why, sizeof(why)), 0);
	ck_assert_int_eq(ihmp_key_raw_private(key, raw), 0);
	r = dimectl("set-local-key", path, "192.0.2.0/24", "2001:db8::1", NULL);
	ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
	ck_assert_int_eq(F.key_calls, 1);
	ck_assert(!F.key.remove);
	ck_assert_mem_eq(F.key.seed, raw, sizeof(raw));
	ck_assert_uint_eq(F.key.n, 2);
	ck_assert_uint_eq(F.key.len[1], 128);
	ck_assert_ptr_nonnull(strstr(r.out, "abababababababab"));
	ck_assert_ptr_nonnull(strstr(r.out, "192.0.2.0/24,2001:db8::1/128"));
	run_free(&r);
	/* Removal sends no seed. */
	r = dimectl("set-local-key", "--remove", "all", NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert(F.key.remove);
	ck_assert_uint_eq(F.key.n, 0);
	ck_assert_uint_eq(F.key.seed[0] | F.key.seed[31], 0);
	run_free(&r);
	/* A key file others can read is refused before anything is sent. */
	ck_assert_int_eq(chmod(path, 0640), 0);
	r = dimectl("set-local-key", path, NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert_ptr_nonnull(strstr(r.err, "chmod 600"));
	ck_assert_int_eq(F.key_calls, 2);
	run_free(&r);
	/* show keys, in JSON. */
	r = dimectl("-j", "show", "keys", NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(strstr(r.out, "\"key_id\":\"abcd000000000000\""));
	ck_assert_ptr_nonnull(strstr(r.out, "\"from\":\"dimectl\""));
	run_free(&r);
	unlink(path);
	ihmp_key_free(key);
	teardown();
}
END_TEST

START_TEST(test_usage_errors_exit_2)
{
	static const char *const cases[][5] = {
		{ "bogus", NULL },
		{ "show", "bogus", NULL },
		{ "show", "hids", "extra", NULL },
		{ "stats", "extra", NULL },
		{ "dump", NULL },
		{ "dump", "bogus", NULL },
		{ "-j", "dump", "flows", NULL },
		{ "set-locator", NULL },
		{ "set-locator", "198.51.100.7", NULL },
		{ "set-locator", "not-an-address", "remote", "198.51.100.7", NULL },
		{ "set-locator", "198.51.100.7", "remote", NULL },
		{ "set-locator", "198.51.100.7", "sideways", "192.0.2.1", NULL },
		{ "set-locator", "198.51.100.7", "remote", "192.0.2.300", NULL },
		{ "monitor", "extra", NULL },
		{ "show", "addrs", "extra", NULL },
		{ "-j", "dump", "addrs", NULL },
		{ "set-local-key", NULL },
		{ "set-local-key", "/k", "all", "192.0.2.0/24", NULL },
		{ "set-local-key", "/k", "192.0.2.1/24", NULL },
		{ "set-local-key", "/k", "192.0.2.0/33", NULL },
		{ "set-local-key", "--remove", "192.0.2.0/24", "192.0.2.0/24", NULL },
	};

	setup();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *const *w = cases[i];
		struct run r = dimectl(w[0], w[1], w[2], w[3], w[4], NULL);

		ck_assert_msg(r.status == 2, "case %zu (%s): exit %d", i, w[0], r.status);
		ck_assert_msg(strncmp(r.err, "dimectl: ", 9) == 0, "case %zu: stderr %s", i, r.err);
		ck_assert_uint_eq(r.out_len, 0);
		run_free(&r);
	}
	ck_assert_int_eq(F.set_calls, 0);
	teardown();
}
END_TEST

START_TEST(test_no_daemon_exit_1)
{
	struct run r;

	setup();
	ctl_server_close(F.pump.srv);
	F.pump.srv = NULL;
	r = dimectl("show", NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert_ptr_nonnull(strstr(r.err, "is dimed running?"));
	run_free(&r);
	r = dimectl("version", NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.out, "dimectl " DIME_VERSION "\n");
	run_free(&r);
	/* teardown closes the server: give it one. */
	ck_assert_int_eq(ctl_server_open(&F.pump.srv, F.path, &backend, NULL), 0);
	teardown();
}
END_TEST

/* A flow table of many frames streams through dump: every flow, once. */
START_TEST(test_dump_large_table)
{
	uint32_t h = 0;
	size_t lines = 0;
	struct run r;

	setup();
	h = dime_hid_lookup(F.hids, AP("2001:db8:5::5"));
	for (uint32_t i = 0; dime_flow_count(F.flows) < 150000; i++)
		ctl_test_add_flow(F.flows, h, IPPROTO_UDP, "2001:db8:2::1",
				  (uint16_t)(1024 + i / 4), "2001:db8:5::5",
				  (uint16_t)(7000 + (i & 3)), NOW);
	r = dimectl("dump", "flows", NULL);
	ck_assert_int_eq(r.status, 0);
	for (size_t i = 0; i < r.out_len; i++)
		lines += r.out[i] == '\n';
	ck_assert_uint_eq(lines, 150000);
	run_free(&r);
	r = dimectl("-j", "show", "flows", NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_uint_gt(r.out_len, 150000 * 100);
	run_free(&r);
	teardown();
}
END_TEST

/* An older dimed without the address list: exit 1, the shared message. */
START_TEST(test_show_addrs_not_supported)
{
	struct run r;

	setup();
	ctl_server_close(F.pump.srv);
	ck_assert_int_eq(ctl_server_open(&F.pump.srv, F.path, &backend_no_addrs, NULL), 0);
	r = dimectl("show", "addrs", NULL);
	ck_assert_int_eq(r.status, 1);
	ck_assert_str_eq(r.err, "dimectl: show addrs: command not supported by this dimed\n");
	ck_assert_uint_eq(r.out_len, 0);
	run_free(&r);
	teardown();
}
END_TEST

/* ---- monitor ---- */

static void report_handoff(void)
{
	const uint32_t hid = dime_hid_lookup(F.hids, AP("203.0.113.9"));

	ctl_server_event(F.pump.srv, &(struct ctl_event){ .kind = CTL_EV_ADDR_DOWN,
		.addr = A("192.0.2.1"), .ifname = "eth1" });
	ctl_server_event(F.pump.srv, &(struct ctl_event){ .kind = CTL_EV_PIN_ADDED,
		.addr = A("192.0.2.1"), .has_value = true, .value = 2 });
	ctl_server_event(F.pump.srv, &(struct ctl_event){ .kind = CTL_EV_ADDR_UP,
		.addr = A("198.51.100.1"), .ifname = "wlan0" });
	ctl_server_event(F.pump.srv, &(struct ctl_event){ .kind = CTL_EV_HANDOFF_SENT, .hid = hid,
		.addr = A("198.51.100.7"), .lloc = { A("198.51.100.1") }, .has_value = true,
		.value = 1 });
	ctl_server_event(F.pump.srv, &(struct ctl_event){ .kind = CTL_EV_HANDOFF_ACKED, .hid = hid,
		.addr = A("198.51.100.7"), .has_value = true, .value = 35 });
	ctl_server_event(F.pump.srv, &(struct ctl_event){ .kind = CTL_EV_LOCATORS, .hid = hid,
		.rloc = { A("198.51.100.7") }, .lloc = { A("198.51.100.1") } });
}

static size_t lines(const struct run *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->out_len; i++)
		n += r->out[i] == '\n';
	return n;
}

/* dimectl subscribes; the events it is sent appear one per line, as they
 * come; when dimed stops, it says so and exits 0. */
static void monitor_case(const char *json, const char *name)
{
	const char *words[3] = { json ? json : "monitor", json ? "monitor" : NULL, NULL };
	const struct ctl_server_stats *st = ctl_server_stats(F.pump.srv);
	struct child c;
	struct run r;

	child_start(&c, words);
	for (int i = 0; i < 20000 && st->monitors == 0; i++)
		child_step(&c);
	ck_assert_uint_eq(st->monitors, 1);
	report_handoff();
	/* Printed before the stream ends: dimectl flushes every frame. */
	for (int i = 0; i < 20000 && lines(&c.r) < 6; i++)
		child_step(&c);
	ck_assert_uint_eq(lines(&c.r), 6);
	ctl_server_close(F.pump.srv);
	F.pump.srv = NULL;
	memset(F.pump.c, 0, sizeof(F.pump.c));
	r = child_wait(&c);
	ck_assert_msg(r.status == 0, "exit %d, stderr: %s", r.status, r.err);
	ck_assert_str_eq(r.err, "dimectl: monitor: dimed is stopping\n");
	golden(name, &r);
	run_free(&r);
	ck_assert_int_eq(ctl_server_open(&F.pump.srv, F.path, &backend, NULL), 0);
}

START_TEST(test_monitor)
{
	setup();
	monitor_case(NULL, "dimectl_e2e_monitor.txt");
	monitor_case("-j", "dimectl_e2e_monitor.jsonl");
	teardown();
}
END_TEST

/* ^C: dimectl dies by the signal, dimed drops the subscriber. */
START_TEST(test_monitor_interrupted)
{
	const char *words[] = { "monitor", NULL };
	const struct ctl_server_stats *st;
	struct child c;
	struct run r;

	setup();
	st = ctl_server_stats(F.pump.srv);
	child_start(&c, words);
	for (int i = 0; i < 20000 && st->monitors == 0; i++)
		child_step(&c);
	ck_assert_uint_eq(st->monitors, 1);
	ck_assert_int_eq(kill(c.pid, SIGINT), 0);
	r = child_wait(&c);
	ck_assert_int_eq(r.status, 128 + SIGINT);
	for (int i = 0; i < 2000 && st->monitors; i++)
		pump_once(1);
	ck_assert_uint_eq(st->monitors, 0);
	/* Events with nobody listening cost nothing and go nowhere. */
	report_handoff();
	ck_assert_uint_eq(st->monitor_sent, 0);
	run_free(&r);
	teardown();
}
END_TEST

static Suite *ctl_dimectl_suite(void)
{
	Suite *s = suite_create("ctl_dimectl");
	TCase *tc = tcase_create("e2e");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_outputs_match_goldens);
	tcase_add_test(tc, test_version);
	tcase_add_test(tc, test_set_locator);
	tcase_add_test(tc, test_set_local_key);
	tcase_add_test(tc, test_usage_errors_exit_2);
	tcase_add_test(tc, test_no_daemon_exit_1);
	tcase_add_test(tc, test_dump_large_table);
	tcase_add_test(tc, test_show_addrs_not_supported);
	tcase_add_test(tc, test_monitor);
	tcase_add_test(tc, test_monitor_interrupted);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	log_init("test_ctl_dimectl", LOG_LEVEL_WARNING);
	return run_suite(ctl_dimectl_suite());
}
