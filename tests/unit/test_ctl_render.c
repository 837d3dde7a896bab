// SPDX-License-Identifier: BSD-2-Clause
/*
 * Golden tests of dimectl's renderers (dimectl_render.c): fixed records in,
 * every output form compared byte for byte with tests/unit/golden/dimectl_*.
 * The JSON goldens are also checked by `python3 -m json.tool` (ctl.cmake),
 * the monitor's JSON Lines golden line by line. Event times are rendered
 * in local time: main() sets TZ=UTC so the goldens hold anywhere.
 *
 * After an intended change of output: DIME_GOLDEN_UPDATE=1 ./test_ctl_render
 * rewrites the goldens; review them with git diff. On a mismatch the actual
 * output is left next to the build as golden-actual/<name> for a diff.
 */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "dime/ctl_proto.h"
#include "dime/flow.h"
#include "dimectl_render.h"

#ifndef DIME_GOLDEN_DIR
#error "DIME_GOLDEN_DIR must name tests/unit/golden"
#endif

static struct dime_addr A(const char *text)
{
	struct dime_addr a;

	ck_assert_int_eq(dime_addr_parse(&a, text), 0);
	return a;
}

/* ---- Fixed records ---- */

static size_t fixed_hids(struct ctl_hid_rec *h)
{
	memset(h, 0, 4 * sizeof(*h));
	/* A moved dual-stack host with a key, an unreachable address and flows. */
	h[0].hid = 0x00400003;
	h[0].refs = 3;
	h[0].moved = true;
	h[0].has_key = true;
	h[0].rloc[CTL_AF4] = A("198.51.100.7");
	h[0].rloc[CTL_AF6] = A("2001:db8:1::7");
	h[0].lloc[CTL_AF4] = A("192.0.2.1");
	h[0].active.addr[0] = A("198.51.100.7");
	h[0].active.addr[1] = A("2001:db8:1::7");
	h[0].active.n = 2;
	h[0].unreach.addr[0] = A("203.0.113.9");
	h[0].unreach.n = 1;
	h[0].local.addr[0] = A("192.0.2.1");
	h[0].local.addr[1] = A("2001:db8:2::1");
	h[0].local.n = 2;
	h[0].created_age_ms = 3723000;		/* 1h02m */
	h[0].used_age_ms = 3200;
	/* A host without flows or locators. */
	h[1].hid = 2;
	h[1].created_age_ms = 850;
	h[1].used_age_ms = 850;
	/* IPv6 only, recently used, many addresses. */
	h[2].hid = 7;
	h[2].refs = 1;
	h[2].rloc[CTL_AF6] = A("2001:db8:5::5");
	h[2].lloc[CTL_AF6] = A("2001:db8:2::1");
	for (int i = 0; i < 4; i++) {
		char t[32];

		snprintf(t, sizeof(t), "2001:db8:5::%d", 5 + i);
		h[2].active.addr[i] = A(t);
	}
	h[2].active.n = 4;
	h[2].local.addr[0] = A("2001:db8:2::1");
	h[2].local.n = 1;
	h[2].created_age_ms = 277200000;	/* 3d05h */
	h[2].used_age_ms = 42000;
	return 3;
}

static size_t fixed_flows(struct ctl_flow_rec *f)
{
	static const struct {
		uint8_t proto, state;
		const char *lid;
		uint16_t lport;
		const char *rid;
		uint16_t rport;
		uint32_t hid;
		uint64_t idle;
		bool offloaded;
	} t[] = {
		/* The moved host's steady flows are in the kernel's hands. */
		{ IPPROTO_TCP, DIME_TCP_ESTABLISHED, "192.0.2.1", 43210, "203.0.113.9", 5001,
		  0x00400003, 3200, true },
		{ IPPROTO_TCP, DIME_TCP_ESTABLISHED, "192.0.2.1", 43211, "203.0.113.9", 5001,
		  0x00400003, 307000, false },
		{ IPPROTO_UDP, 0, "192.0.2.1", 5353, "198.51.100.7", 53, 0x00400003, 0, true },
		{ IPPROTO_TCP, DIME_TCP_SYN_SENT, "2001:db8:2::1", 50000, "2001:db8:5::5", 443, 7,
		  7380000, false },
		{ IPPROTO_ICMPV6, 0, "2001:db8:2::1", 77, "2001:db8:5::5", 77, 99, 90000000, false },
		{ 132, 0, "192.0.2.1", 9, "198.51.100.9", 9, 99, 12345, false },
		{ IPPROTO_TCP, 42, "192.0.2.1", 1, "198.51.100.9", 2, 99, 999, false },
	};
	size_t n = sizeof(t) / sizeof(t[0]);

	memset(f, 0, n * sizeof(*f));
	for (size_t i = 0; i < n; i++) {
		f[i].proto = t[i].proto;
		f[i].tcp_state = t[i].state;
		f[i].lid = A(t[i].lid);
		f[i].rid = A(t[i].rid);
		f[i].family = f[i].lid.family;
		f[i].lport = t[i].lport;
		f[i].rport = t[i].rport;
		f[i].hid = t[i].hid;
		f[i].idle_ms = t[i].idle;
		f[i].offloaded = t[i].offloaded;
	}
	return n;
}

static size_t fixed_stats(struct ctl_stat_rec *s)
{
	static const struct {
		const char *name;
		uint64_t value;
	} t[] = {
		{ "nfq_packets", 1234567 },
		{ "nfq_rewritten", 1200000 },
		{ "nfq_dropped", 0 },
		{ "hid_count", 3 },
		{ "big", UINT64_MAX },
		/* What a bad daemon might send: must stay valid JSON, and plain
		 * text without terminal controls. */
		{ "odd\"name\\\t\x1b[31m\xff", 1 },
	};
	size_t n = sizeof(t) / sizeof(t[0]);

	memset(s, 0, n * sizeof(*s));
	for (size_t i = 0; i < n; i++) {
		snprintf(s[i].name, sizeof(s[i].name), "%s", t[i].name);
		s[i].value = t[i].value;
	}
	return n;
}

static size_t fixed_addrs(struct ctl_addr_rec *a)
{
	static const struct {
		const char *addr, *ifname;
		uint32_t ifindex, flows;
		bool advertised, pinned;
	} t[] = {
		{ "192.0.2.1", "eth1", 2, 3, true, false },
		{ "192.0.2.1", "wlan0", 3, 3, false, false },
		{ "203.0.113.50", "lo", 1, 1, false, true },
		{ "2001:db8:2::1", "wlan0", 3, 0, true, false },
		{ "2001:db8:2:0:1234:5678:9abc:def0", "", 7, 0, false, false },
		{ "fe80::1", "", 0, 0, false, false },
		/* What a bad daemon might send as a name. */
		{ "198.51.100.99", "x\"\x1b[31m\xff", 9, 1, true, false },
	};
	size_t n = sizeof(t) / sizeof(t[0]);

	memset(a, 0, n * sizeof(*a));
	for (size_t i = 0; i < n; i++) {
		a[i].addr = A(t[i].addr);
		snprintf(a[i].ifname, sizeof(a[i].ifname), "%s", t[i].ifname);
		a[i].ifindex = t[i].ifindex;
		a[i].flows = t[i].flows;
		a[i].advertised = t[i].advertised;
		a[i].pinned = t[i].pinned;
	}
	return n;
}

/* A hand-off as a monitor sees it, and what it must survive. */
static size_t fixed_events(struct ctl_event_rec *e)
{
	const uint64_t t0 = 1764238503123ull;	/* 2025-11-27 10:15:03.123 UTC */
	size_t n = 0;

	memset(e, 0, 12 * sizeof(*e));
#define EV(kind_, ms) (e[n].seq = n + 1, e[n].time_ms = t0 + (ms), e[n].mono_ms = 5000000 + (ms), \
		       snprintf(e[n].kind, sizeof(e[n].kind), "%s", kind_), &e[n++])
	EV("addr-down", 0)->addr = A("192.0.2.1");
	strcpy(e[n - 1].ifname, "eth1");
	EV("addr-up", 2950)->addr = A("198.51.100.1");
	strcpy(e[n - 1].ifname, "wlan0");
	{
		struct ctl_event_rec *h = EV("handoff-sent", 2951);

		h->hid = 0x00400003;
		h->addr = A("203.0.113.9");
		h->lloc[CTL_AF4] = A("198.51.100.1");
		h->has_value = true;
		h->value = 1;
	}
	{
		struct ctl_event_rec *h = EV("handoff-acked", 2986);

		h->hid = 0x00400003;
		h->addr = A("203.0.113.9");
		h->has_value = true;
		h->value = 35;
	}
	{
		struct ctl_event_rec *h = EV("locators", 2986);

		h->hid = 0x00400003;
		h->rloc[CTL_AF4] = A("203.0.113.9");
		h->rloc[CTL_AF6] = A("2001:db8:1::7");
		h->lloc[CTL_AF4] = A("198.51.100.1");
	}
	{
		struct ctl_event_rec *p = EV("pin-added", 3000);

		p->addr = A("192.0.2.1");
		p->has_value = true;
		p->value = 2;
	}
	EV("pin-removed", 65000)->addr = A("192.0.2.1");
	strcpy(e[n - 1].text, "no flow uses it any more");
	{
		struct ctl_event_rec *l = EV("peer-lost", 90000);

		l->hid = 7;
		l->addr = A("2001:db8:5::5");
		snprintf(l->text, sizeof(l->text), "no answer after 6 tries");
	}
	EV("reload", 100000);
	strcpy(e[n - 1].text, "configuration applied");
	EV("reload-failed", 100500);
	strcpy(e[n - 1].text, "/etc/dime/dime.conf:12: unknown directive \"hold-tme\"\t\x1b[31m\xff");
	/* A kind this dimectl does not know: printed by name, value generic. */
	{
		struct ctl_event_rec *x = EV("future-kind", 200000);

		x->has_value = true;
		x->value = UINT64_MAX;
	}
#undef EV
	return n;
}

/* ---- Golden comparison ---- */

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long size;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)size + 1);
		if (buf && fread(buf, 1, (size_t)size, f) != (size_t)size) {
			free(buf);
			buf = NULL;
		}
		*len = (size_t)size;
	}
	fclose(f);
	return buf;
}

static void write_file(const char *path, const char *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_msg(f != NULL, "cannot write %s: %s", path, strerror(errno));
	ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

static void golden(const char *name, char *out, size_t len)
{
	char path[512], actual[512];
	size_t glen = 0;
	char *want;

	snprintf(path, sizeof(path), "%s/%s", DIME_GOLDEN_DIR, name);
	if (getenv("DIME_GOLDEN_UPDATE")) {
		write_file(path, out, len);
		free(out);
		return;
	}
	want = read_file(path, &glen);
	if (!want || glen != len || memcmp(want, out, len) != 0) {
		mkdir("golden-actual", 0755);
		snprintf(actual, sizeof(actual), "golden-actual/%s", name);
		write_file(actual, out, len);
		free(want);
		free(out);
		ck_abort_msg("%s differs from the golden: diff -u %s %s", name, path, actual);
	}
	free(want);
	free(out);
}

/* Rendering goes to a memory stream. */
struct mem {
	FILE *f;
	char *buf;
	size_t len;
};

static FILE *mem_open(struct mem *m)
{
	m->f = open_memstream(&m->buf, &m->len);
	ck_assert_ptr_nonnull(m->f);
	return m->f;
}

static void mem_golden(struct mem *m, const char *name)
{
	ck_assert_int_eq(fclose(m->f), 0);
	golden(name, m->buf, m->len);
}

/* ---- The goldens ---- */

static void hids_form(const char *name, enum render_form form, bool color, bool empty)
{
	struct ctl_hid_rec h[4];
	size_t n = empty ? 0 : fixed_hids(h);
	struct render_list l;
	struct mem m;

	mem_open(&m);
	if (form == RENDER_TEXT) {
		render_hids_text(m.f, h, n, color);
	} else {
		render_hids_begin(&l, m.f, form);
		for (size_t i = 0; i < n; i++)
			render_hid(&l, &h[i]);
		render_hids_end(&l);
	}
	mem_golden(&m, name);
}

static void flows_form(const char *name, enum render_form form, bool color, bool empty)
{
	struct ctl_flow_rec f[8];
	size_t n = empty ? 0 : fixed_flows(f);
	struct render_list l;
	struct mem m;

	mem_open(&m);
	if (form == RENDER_TEXT) {
		render_flows_text(m.f, f, n, color);
	} else {
		render_flows_begin(&l, m.f, form);
		for (size_t i = 0; i < n; i++)
			render_flow(&l, &f[i]);
		render_flows_end(&l);
	}
	mem_golden(&m, name);
}

static void summary_form(const char *name, enum render_form form, bool color, bool empty)
{
	struct ctl_hid_rec h[4];
	struct ctl_flow_rec f[8];
	size_t nh = empty ? 0 : fixed_hids(h), nf = empty ? 0 : fixed_flows(f);
	struct summary s = { 0 };
	struct mem m;

	for (size_t i = 0; i < nf; i++)
		ck_assert_int_eq(summary_add_flow(&s, &f[i]), 0);
	mem_open(&m);
	render_summary(m.f, h, nh, &s, form, color);
	summary_free(&s);
	mem_golden(&m, name);
}

static void addrs_form(const char *name, enum render_form form, bool color, bool empty)
{
	struct ctl_addr_rec a[8];
	size_t n = empty ? 0 : fixed_addrs(a);
	struct render_list l;
	struct mem m;

	mem_open(&m);
	if (form == RENDER_TEXT) {
		render_addrs_text(m.f, a, n, color);
	} else {
		render_addrs_begin(&l, m.f, form);
		for (size_t i = 0; i < n; i++)
			render_addr(&l, &a[i]);
		render_addrs_end(&l);
	}
	mem_golden(&m, name);
}

static void events_form(const char *name, enum render_form form)
{
	struct ctl_event_rec e[12];
	size_t n = fixed_events(e);
	struct mem m;

	mem_open(&m);
	for (size_t i = 0; i < n; i++)
		render_event(m.f, &e[i], form);
	mem_golden(&m, name);
}

static void stats_form(const char *name, enum render_form form, bool empty)
{
	struct ctl_stat_rec s[8];
	size_t n = empty ? 0 : fixed_stats(s);
	struct mem m;

	mem_open(&m);
	render_stats(m.f, s, n, form);
	mem_golden(&m, name);
}

START_TEST(test_golden_show)
{
	summary_form("dimectl_show.txt", RENDER_TEXT, false, false);
	summary_form("dimectl_show_color.txt", RENDER_TEXT, true, false);
	summary_form("dimectl_show.json", RENDER_JSON, false, false);
	summary_form("dimectl_show_empty.txt", RENDER_TEXT, false, true);
	summary_form("dimectl_show_empty.json", RENDER_JSON, false, true);
}
END_TEST

START_TEST(test_golden_hids)
{
	hids_form("dimectl_show_hids.txt", RENDER_TEXT, false, false);
	hids_form("dimectl_show_hids_color.txt", RENDER_TEXT, true, false);
	hids_form("dimectl_show_hids.json", RENDER_JSON, false, false);
	hids_form("dimectl_dump_hids.txt", RENDER_DUMP, false, false);
	hids_form("dimectl_show_hids_empty.txt", RENDER_TEXT, false, true);
	hids_form("dimectl_show_hids_empty.json", RENDER_JSON, false, true);
	hids_form("dimectl_dump_hids_empty.txt", RENDER_DUMP, false, true);
}
END_TEST

START_TEST(test_golden_flows)
{
	flows_form("dimectl_show_flows.txt", RENDER_TEXT, false, false);
	flows_form("dimectl_show_flows.json", RENDER_JSON, false, false);
	flows_form("dimectl_dump_flows.txt", RENDER_DUMP, false, false);
	flows_form("dimectl_show_flows_empty.json", RENDER_JSON, false, true);
}
END_TEST

START_TEST(test_golden_addrs)
{
	addrs_form("dimectl_show_addrs.txt", RENDER_TEXT, false, false);
	addrs_form("dimectl_show_addrs_color.txt", RENDER_TEXT, true, false);
	addrs_form("dimectl_show_addrs.json", RENDER_JSON, false, false);
	addrs_form("dimectl_dump_addrs.txt", RENDER_DUMP, false, false);
	addrs_form("dimectl_show_addrs_empty.txt", RENDER_TEXT, false, true);
	addrs_form("dimectl_show_addrs_empty.json", RENDER_JSON, false, true);
}
END_TEST

START_TEST(test_golden_monitor)
{
	events_form("dimectl_monitor.txt", RENDER_TEXT);
	events_form("dimectl_monitor.jsonl", RENDER_JSON);
}
END_TEST

START_TEST(test_golden_stats)
{
	stats_form("dimectl_stats.txt", RENDER_TEXT, false);
	stats_form("dimectl_stats.json", RENDER_JSON, false);
	stats_form("dimectl_dump_stats.txt", RENDER_DUMP, false);
	stats_form("dimectl_stats_empty.json", RENDER_JSON, true);
}
END_TEST

START_TEST(test_golden_version)
{
	struct mem m;

	mem_open(&m);
	render_version(m.f, "0.1.0", "0.1.0", RENDER_TEXT);
	render_version(m.f, "0.1.0", NULL, RENDER_TEXT);
	mem_golden(&m, "dimectl_version.txt");
	mem_open(&m);
	render_version(m.f, "0.1.0", "0.2.0\"\n", RENDER_JSON);
	mem_golden(&m, "dimectl_version.json");
	mem_open(&m);
	render_version(m.f, "0.1.0", NULL, RENDER_JSON);
	mem_golden(&m, "dimectl_version_nodaemon.json");
}
END_TEST

/* Summaries fold flows by (host, identifier) whatever their order, and
 * the fold survives growth of its hash. */
START_TEST(test_summary_fold)
{
	struct summary s = { 0 };
	struct ctl_flow_rec f = { .proto = IPPROTO_TCP, .family = AF_INET };
	struct ctl_hid_rec h = { .hid = 1 };
	struct mem m;

	f.lid = A("192.0.2.1");
	for (uint32_t i = 0; i < 5000; i++) {
		char t[32];

		snprintf(t, sizeof(t), "198.51.%u.%u", 100 + i % 3, 1 + i % 2);
		f.rid = A(t);
		f.hid = 1 + i % 1000;
		ck_assert_int_eq(summary_add_flow(&s, &f), 0);
	}
	/* hid 0 never names a host: ignored. */
	f.hid = 0;
	ck_assert_int_eq(summary_add_flow(&s, &f), 0);
	/* Each host met three identifiers: (i % 3) varies, (i % 2) does not. */
	ck_assert_uint_eq(s.n, 3000);
	mem_open(&m);
	render_summary(m.f, &h, 1, &s, RENDER_JSON, false);
	ck_assert_int_eq(fclose(m.f), 0);
	/* hid 1 saw i = 0, 1000, 2000, 3000, 4000: i%3 = 0,1,2,0,1 and i%2 = 0. */
	ck_assert_ptr_nonnull(strstr(m.buf, "{\"address\":\"198.51.100.1\",\"flows\":2},"
					    "{\"address\":\"198.51.101.1\",\"flows\":2},"
					    "{\"address\":\"198.51.102.1\",\"flows\":1}"));
	free(m.buf);
	summary_free(&s);
}
END_TEST

static Suite *ctl_render_suite(void)
{
	Suite *s = suite_create("ctl_render");
	TCase *tc = tcase_create("golden");

	tcase_add_test(tc, test_golden_show);
	tcase_add_test(tc, test_golden_hids);
	tcase_add_test(tc, test_golden_flows);
	tcase_add_test(tc, test_golden_addrs);
	tcase_add_test(tc, test_golden_monitor);
	tcase_add_test(tc, test_golden_stats);
	tcase_add_test(tc, test_golden_version);
	tcase_add_test(tc, test_summary_fold);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(ctl_render_suite());
	int failed;

	setenv("TZ", "UTC", 1);
	tzset();
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
