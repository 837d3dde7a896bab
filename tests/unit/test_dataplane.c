// SPDX-License-Identifier: BSD-2-Clause
/*
 * Check suite for the two-stage rewrite (dataplane.c): real tables, packets
 * built here with their own checksum code, a fake clock, and a recording
 * fake of the kernel set operations.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "dime/dataplane.h"
#include "dime/pkt.h"

/* ---- fake kernel sets ---------------------------------------------------- */

#define FAKE_MAX 64
struct fake_entry {
	enum dp_set set;
	struct dime_addr a, b;
};
static struct fake_entry fake[FAKE_MAX];
static int nfake;
static int fake_fail_adds;

static int fake_find(enum dp_set set, const struct dime_addr *a, const struct dime_addr *b)
{
	struct dime_addr none = { 0 };

	for (int i = 0; i < nfake; i++)
		if (fake[i].set == set && dime_addr_eq(&fake[i].a, a) && dime_addr_eq(&fake[i].b, b ? b : &none))
			return i;
	return -1;
}

static int fake_add(void *ctx, enum dp_set set, const struct dime_addr *a, const struct dime_addr *b)
{
	if (fake_fail_adds) {
		fake_fail_adds--;
		return -ENOMEM;
	}
	if (fake_find(set, a, b) >= 0)
		return -EEXIST;
	ck_assert_int_lt(nfake, FAKE_MAX);
	memset(&fake[nfake], 0, sizeof(fake[nfake]));
	fake[nfake].set = set;
	fake[nfake].a = *a;
	if (b)
		fake[nfake].b = *b;
	nfake++;
	return 0;
}

static int fake_del(void *ctx, enum dp_set set, const struct dime_addr *a, const struct dime_addr *b)
{
	int i = fake_find(set, a, b);

	if (i < 0)
		return -ENOENT;
	fake[i] = fake[--nfake];
	return 0;
}

/* ---- fixture ------------------------------------------------------------------ */

static struct dime_hid_table *hids;
static struct dime_flow_table *flows;
static struct dataplane *dp;

static void setup(void)
{
	struct dime_hid_config hc = { .capacity = 64, .max_addrs = 256, .seed = { 1, 2 } };
	struct dime_flow_config fc = { .capacity = 256, .seed = { 3, 4 } };
	struct dp_kernel_ops ops = { .set_add = fake_add, .set_del = fake_del };

	dime_flow_timeouts_default(&fc.timeouts);
	nfake = 0;
	fake_fail_adds = 0;
	ck_assert_int_eq(dime_hid_table_new(&hids, &hc), 0);
	ck_assert_int_eq(dime_flow_table_new(&flows, &fc, hids), 0);
	ck_assert_int_eq(dp_new(&dp, hids, flows, &ops), 0);
}

static void teardown(void)
{
	dp_free(dp);
	dime_flow_flush(flows);
	dime_flow_table_free(flows);
	dime_hid_table_free(hids);
}

static struct dime_addr A(const char *s)
{
	struct dime_addr a;

	ck_assert_int_eq(dime_addr_parse(&a, s), 0);
	return a;
}

/* ---- packets, with checksum code independent of csum.c ------------------------ */

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t acc)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		acc += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		acc += (uint32_t)p[n - 1] << 8;
	return acc;
}

static uint16_t fold(uint32_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

/* Ones-complement sum over pseudo header + L4 segment: 0xffff when right. */
static uint16_t l4_verify(const uint8_t *pkt, size_t len)
{
	uint32_t acc = 0;
	uint8_t tail[4];

	if ((pkt[0] >> 4) == 4) {
		size_t ihl = (pkt[0] & 15) * 4, l4len = len - ihl;

		acc = sum16(pkt + 12, 8, 0);
		tail[0] = 0, tail[1] = pkt[9], tail[2] = (uint8_t)(l4len >> 8), tail[3] = (uint8_t)l4len;
		acc = sum16(tail, 4, acc);
		return fold(sum16(pkt + ihl, l4len, acc));
	}
	size_t l4len = len - 40;

	acc = sum16(pkt + 8, 32, 0);
	acc += (uint32_t)l4len + pkt[6];
	return fold(sum16(pkt + 40, l4len, acc));
}

static uint16_t ip4_verify(const uint8_t *pkt)
{
	return fold(sum16(pkt, (pkt[0] & 15) * 4, 0));
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* A TCP (or UDP) packet src:sport -> dst:dport with `payload` bytes, valid
 * checksums. Returns its length. */
static size_t build(uint8_t *buf, uint8_t proto, const char *src, uint16_t sport, const char *dst,
		    uint16_t dport, size_t payload)
{
	struct dime_addr s = A(src), d = A(dst);
	bool v6 = s.family == AF_INET6;
	size_t l3 = v6 ? 40 : 20, l4 = proto == IPPROTO_TCP ? 20 : 8, len = l3 + l4 + payload;
	uint8_t *t = buf + l3;
	uint16_t csum;

	memset(buf, 0, len);
	if (v6) {
		buf[0] = 0x60;
		put16(buf + 4, (uint16_t)(l4 + payload));
		buf[6] = proto;
		buf[7] = 64;
		memcpy(buf + 8, s.a.u8, 16);
		memcpy(buf + 24, d.a.u8, 16);
	} else {
		buf[0] = 0x45;
		put16(buf + 2, (uint16_t)len);
		buf[8] = 64;
		buf[9] = proto;
		memcpy(buf + 12, s.a.u8, 4);
		memcpy(buf + 16, d.a.u8, 4);
		put16(buf + 10, (uint16_t)~fold(sum16(buf, 20, 0)));
	}
	put16(t, sport);
	put16(t + 2, dport);
	if (proto == IPPROTO_TCP) {
		t[12] = 5 << 4;
		t[13] = 0x10; /* ACK */
	} else {
		put16(t + 4, (uint16_t)(l4 + payload));
	}
	for (size_t i = 0; i < payload; i++)
		t[l4 + i] = (uint8_t)(i * 7 + 1);
	csum = (uint16_t)~l4_verify(buf, len);
	put16(t + (proto == IPPROTO_TCP ? 16 : 6), csum ? csum : 0xffff);
	ck_assert_uint_eq(l4_verify(buf, len), 0xffff);
	return len;
}

static struct dime_addr pkt_src(const uint8_t *buf)
{
	struct dime_addr a;

	if ((buf[0] >> 4) == 4)
		dime_addr_from_v4(&a, buf + 12);
	else
		dime_addr_from_v6(&a, buf + 8);
	return a;
}

static struct dime_addr pkt_dst(const uint8_t *buf)
{
	struct dime_addr a;

	if ((buf[0] >> 4) == 4)
		dime_addr_from_v4(&a, buf + 16);
	else
		dime_addr_from_v6(&a, buf + 24);
	return a;
}

/* Addresses as expected and the IPv4 header checksum right. */
static void assert_ip(const uint8_t *buf, const char *src, const char *dst)
{
	struct dime_addr s = pkt_src(buf), d = pkt_dst(buf), ws = A(src), wd = A(dst);

	ck_assert_msg(dime_addr_eq(&s, &ws), "source is not %s", src);
	ck_assert_msg(dime_addr_eq(&d, &wd), "destination is not %s", dst);
	if ((buf[0] >> 4) == 4)
		ck_assert_uint_eq(ip4_verify(buf), 0xffff);
}

/* The same, and the TCP/UDP checksum right over the whole segment. */
static void assert_addrs(const uint8_t *buf, size_t len, const char *src, const char *dst)
{
	assert_ip(buf, src, dst);
	ck_assert_uint_eq(l4_verify(buf, len), 0xffff);
}

static struct dime_flow_key key(uint8_t proto, const char *lid, uint16_t lport, const char *rid,
				uint16_t rport)
{
	struct dime_flow_key k;

	memset(&k, 0, sizeof(k));
	k.proto = proto;
	k.lid = A(lid);
	k.rid = A(rid);
	k.lport = lport;
	k.rport = rport;
	return k;
}

static bool fake_has(enum dp_set set, const char *a, const char *b)
{
	struct dime_addr x = A(a), y;

	if (!b)
		return fake_find(set, &x, NULL) >= 0;
	y = A(b);
	return fake_find(set, &x, &y) >= 0;
}

#define MH1 "192.0.2.10"
#define MH2 "198.51.100.10"
#define CH "203.0.113.130"
#define CH2 "203.0.113.131"

/* ---- tests ------------------------------------------------------------------- */

START_TEST(unknown_host_passes_untouched)
{
	uint8_t buf[256], orig[256];
	size_t len = build(buf, IPPROTO_TCP, MH1, 40000, CH, 80, 10);

	memcpy(orig, buf, len);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_OUT, buf, len, 0, 1), DP_ACCEPT);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_IN, buf, len, 0, 1), DP_ACCEPT);
	ck_assert_mem_eq(buf, orig, len);
	ck_assert_uint_eq(dp_stats(dp)->out_unknown, 1);
	ck_assert_uint_eq(dp_stats(dp)->in_unknown, 1);
}
END_TEST

START_TEST(malformed_passes_untouched)
{
	uint8_t buf[256];
	size_t len = build(buf, IPPROTO_TCP, MH1, 40000, CH, 80, 10);
	struct dime_flow_key k = key(IPPROTO_TCP, MH1, 40000, CH, 80);

	ck_assert_int_eq(dp_flow_learn(dp, &k, 0, 1), 0);
	buf[0] = 0x4f; /* IHL beyond the packet */
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_OUT, buf, 30, 0, 1), DP_ACCEPT);
	ck_assert_uint_eq(dp_stats(dp)->out_malformed, 1);
	(void)len;
}
END_TEST

START_TEST(unmoved_flow_needs_no_kernel_entry)
{
	uint8_t buf[256];
	size_t len = build(buf, IPPROTO_TCP, MH1, 40000, CH, 80, 10);
	struct dime_flow_key k = key(IPPROTO_TCP, MH1, 40000, CH, 80);

	ck_assert_int_eq(dp_flow_learn(dp, &k, 0, 1), 0);
	ck_assert_int_eq(nfake, 0);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_OUT, buf, len, 0, 2), DP_ACCEPT);
	ck_assert_uint_eq(dp_stats(dp)->out_unchanged, 1);
	ck_assert_uint_eq(dp_stats(dp)->hids_created, 1);
}
END_TEST

/* MH's view: it moved from MH1 to MH2; CH did not move. */
START_TEST(local_move_rewrites_both_ways)
{
	uint8_t buf[256];
	size_t len;
	struct dime_flow_key k = key(IPPROTO_TCP, MH1, 40000, CH, 80);
	struct dime_addr peer = A(CH), lloc = A(MH2);

	ck_assert_int_eq(dp_flow_learn(dp, &k, 0, 1), 0);
	ck_assert_int_eq(dp_set_locator(dp, &peer, NULL, &lloc, 2), 0);
	ck_assert(fake_has(DP_SET_OUT_PAIR, MH1, CH));
	ck_assert(fake_has(DP_SET_IN_PAIR, CH, MH2));
	ck_assert_int_eq(nfake, 2); /* CH's address is still its locator: no OUT_DST */

	len = build(buf, IPPROTO_TCP, MH1, 40000, CH, 80, 100);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_OUT, buf, len, 0, 3), DP_ACCEPT_MODIFIED);
	assert_addrs(buf, len, MH2, CH);

	len = build(buf, IPPROTO_TCP, CH, 80, MH2, 40000, 33);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_IN, buf, len, 0, 4), DP_ACCEPT_MODIFIED);
	assert_addrs(buf, len, CH, MH1);
	ck_assert_uint_eq(dp_stats(dp)->out_rewritten, 1);
	ck_assert_uint_eq(dp_stats(dp)->in_rewritten, 1);
}
END_TEST

/* CH's view: MH moved from MH1 to MH2. */
START_TEST(remote_move_rewrites_both_ways_ipv6)
{
	uint8_t buf[256];
	size_t len;
	struct dime_flow_key k = key(IPPROTO_UDP, "2001:db8:c::130", 5000, "2001:db8:1::10", 6000);
	struct dime_addr peer = A("2001:db8:1::10"), rloc = A("2001:db8:2::10");

	ck_assert_int_eq(dp_flow_learn(dp, &k, 0, 1), 0);
	ck_assert_int_eq(dp_set_locator(dp, &peer, &rloc, NULL, 2), 0);
	ck_assert(fake_has(DP_SET_OUT_PAIR, "2001:db8:c::130", "2001:db8:1::10"));
	ck_assert(fake_has(DP_SET_OUT_DST, "2001:db8:1::10", NULL));
	ck_assert(fake_has(DP_SET_IN_PAIR, "2001:db8:2::10", "2001:db8:c::130"));

	len = build(buf, IPPROTO_UDP, "2001:db8:c::130", 5000, "2001:db8:1::10", 6000, 77);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_OUT, buf, len, 0, 3), DP_ACCEPT_MODIFIED);
	assert_addrs(buf, len, "2001:db8:c::130", "2001:db8:2::10");

	len = build(buf, IPPROTO_UDP, "2001:db8:2::10", 6000, "2001:db8:c::130", 5000, 9);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_IN, buf, len, 0, 4), DP_ACCEPT_MODIFIED);
	assert_addrs(buf, len, "2001:db8:1::10", "2001:db8:c::130");
}
END_TEST

/* Fig. 3(a): two sockets know one host under two addresses. */
START_TEST(two_flows_one_hid_different_identifiers)
{
	uint8_t buf[256];
	size_t len;
	struct dime_flow_key k1 = key(IPPROTO_TCP, MH1, 40001, CH, 80);
	struct dime_addr peer = A(CH), rloc = A(CH2);

	ck_assert_int_eq(dp_flow_learn(dp, &k1, 0, 1), 0);
	ck_assert_int_eq(dp_set_locator(dp, &peer, &rloc, NULL, 2), 0);

	/* A new socket connects to the host's new address: same HID. */
	struct dime_flow_key k2 = key(IPPROTO_TCP, MH1, 40002, CH2, 80);
	ck_assert_int_eq(dp_flow_learn(dp, &k2, 0, 3), 0);
	ck_assert_uint_eq(dp_stats(dp)->hids_created, 1);
	ck_assert_uint_eq(dime_flow_lookup_out(flows, &k1)->hid, dime_flow_lookup_out(flows, &k2)->hid);

	/* Replies from CH2 reach each socket with the address it bound. */
	len = build(buf, IPPROTO_TCP, CH2, 80, MH1, 40001, 5);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_IN, buf, len, 0, 4), DP_ACCEPT_MODIFIED);
	assert_addrs(buf, len, CH, MH1);
	len = build(buf, IPPROTO_TCP, CH2, 80, MH1, 40002, 5);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_IN, buf, len, 0, 4), DP_ACCEPT);
	assert_addrs(buf, len, CH2, MH1);
}
END_TEST

START_TEST(new_socket_to_old_address_joins_the_host)
{
	uint8_t buf[256];
	size_t len;
	struct dime_flow_key k = key(IPPROTO_TCP, MH1, 40000, CH, 80);
	struct dime_addr peer = A(CH), rloc = A(CH2);

	ck_assert_int_eq(dp_flow_learn(dp, &k, 0, 1), 0);
	ck_assert_int_eq(dp_set_locator(dp, &peer, &rloc, NULL, 2), 0);
	len = build(buf, IPPROTO_UDP, MH1, 5353, CH, 53, 20);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_OUT, buf, len, 0, 3), DP_ACCEPT_MODIFIED);
	assert_addrs(buf, len, MH1, CH2);
	ck_assert_uint_eq(dp_stats(dp)->out_flow_learned, 1);
	ck_assert(fake_has(DP_SET_OUT_PAIR, MH1, CH));
}
END_TEST

START_TEST(moved_host_without_locator_drops)
{
	uint8_t buf[256];
	size_t len;
	struct dime_flow_key k = key(IPPROTO_TCP, MH1, 40000, CH, 80);
	struct dime_addr peer = A(CH), rloc = A(CH2);
	uint32_t hid;

	ck_assert_int_eq(dp_flow_learn(dp, &k, 0, 1), 0);
	ck_assert_int_eq(dp_set_locator(dp, &peer, &rloc, NULL, 2), 0);
	hid = dime_hid_lookup(hids, &peer);
	/* The host loses every address we could reach. */
	ck_assert_int_eq(dime_hid_addr_del(hids, hid, DIME_HID_ACTIVE, &rloc), 0);
	ck_assert_int_eq(dime_hid_addr_del(hids, hid, DIME_HID_ACTIVE, &peer), 0);
	len = build(buf, IPPROTO_TCP, MH1, 40000, CH, 80, 20);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_OUT, buf, len, 0, 3), DP_DROP);
	ck_assert_uint_eq(dp_stats(dp)->out_no_locator, 1);
}
END_TEST

START_TEST(partial_checksum_is_finished)
{
	uint8_t buf[256];
	size_t len = build(buf, IPPROTO_TCP, MH1, 40000, CH, 80, 60);
	struct dime_flow_key k = key(IPPROTO_TCP, MH1, 40000, CH, 80);
	struct dime_addr peer = A(CH), lloc = A(MH2);
	uint32_t pseudo;

	ck_assert_int_eq(dp_flow_learn(dp, &k, 0, 1), 0);
	ck_assert_int_eq(dp_set_locator(dp, &peer, NULL, &lloc, 2), 0);
	/* CHECKSUM_PARTIAL: the field holds the folded pseudo-header sum. */
	pseudo = sum16(buf + 12, 8, 0) + IPPROTO_TCP + (uint32_t)(len - 20);
	put16(buf + 20 + 16, fold(pseudo));
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_OUT, buf, len, PKT_F_CSUM_PARTIAL, 3), DP_ACCEPT_MODIFIED);
	assert_addrs(buf, len, MH2, CH);
}
END_TEST

START_TEST(icmp_error_from_router_reaches_the_socket)
{
	uint8_t buf[256], quote[128];
	size_t qlen, len;
	struct dime_flow_key k = key(IPPROTO_UDP, MH1, 40000, CH, 53);
	struct dime_addr peer = A(CH), lloc = A(MH2);
	uint16_t csum;

	ck_assert_int_eq(dp_flow_learn(dp, &k, 0, 1), 0);
	ck_assert_int_eq(dp_set_locator(dp, &peer, NULL, &lloc, 2), 0);
	/* What MH sent on the wire: MH2 -> CH. A router answers "frag needed". */
	qlen = build(quote, IPPROTO_UDP, MH2, 40000, CH, 53, 12);
	len = 20 + 8 + qlen;
	memset(buf, 0, len);
	buf[0] = 0x45;
	put16(buf + 2, (uint16_t)len);
	buf[8] = 64;
	buf[9] = IPPROTO_ICMP;
	memcpy(buf + 12, A("198.51.100.1").a.u8, 4);
	memcpy(buf + 16, A(MH2).a.u8, 4);
	put16(buf + 10, (uint16_t)~fold(sum16(buf, 20, 0)));
	buf[20] = 3;
	buf[21] = 4;
	put16(buf + 26, 1400);
	memcpy(buf + 28, quote, qlen);
	csum = (uint16_t)~fold(sum16(buf + 20, len - 20, 0));
	put16(buf + 22, csum);

	ck_assert_int_eq(dp_packet(dp, DIME_DIR_IN, buf, len, 0, 3), DP_ACCEPT_MODIFIED);
	ck_assert_uint_eq(dp_stats(dp)->icmp_err_rewritten, 1);
	/* The quote now names the socket's own addresses... */
	assert_addrs(buf + 28, qlen, MH1, CH);
	/* ...the outer destination too, and the ICMP checksum still holds. */
	assert_ip(buf, "198.51.100.1", MH1);
	ck_assert_uint_eq(fold(sum16(buf + 20, len - 20, 0)), 0xffff);
}
END_TEST

START_TEST(forget_removes_kernel_entries_and_host)
{
	struct dime_flow_key k = key(IPPROTO_TCP, MH1, 40000, CH, 80);
	struct dime_addr peer = A(CH), lloc = A(MH2);

	ck_assert_int_eq(dp_flow_learn(dp, &k, 0, 1), 0);
	ck_assert_int_eq(dp_set_locator(dp, &peer, NULL, &lloc, 2), 0);
	ck_assert_int_eq(nfake, 2);
	ck_assert_int_eq(dp_flow_forget(dp, &k), 0);
	ck_assert_int_eq(nfake, 0);
	ck_assert_uint_eq(dime_hid_lookup(hids, &peer), DIME_HID_NONE);
	ck_assert_int_eq(dp_flow_forget(dp, &k), -ENOENT);
}
END_TEST

START_TEST(failed_kernel_add_is_retried_at_next_sync)
{
	struct dime_flow_key k = key(IPPROTO_TCP, MH1, 40000, CH, 80);
	struct dime_addr peer = A(CH), lloc = A(MH2);

	ck_assert_int_eq(dp_flow_learn(dp, &k, 0, 1), 0);
	fake_fail_adds = 1;
	ck_assert_int_eq(dp_set_locator(dp, &peer, NULL, &lloc, 2), 0);
	ck_assert_int_eq(nfake, 1);
	ck_assert_uint_eq(dp_stats(dp)->set_errors, 1);
	dp_hid_sync(dp, dime_hid_lookup(hids, &peer));
	ck_assert_int_eq(nfake, 2);
}
END_TEST

START_TEST(moving_back_removes_entries)
{
	struct dime_flow_key k = key(IPPROTO_TCP, MH1, 40000, CH, 80);
	struct dime_addr peer = A(CH), lloc = A(MH2), back = A(MH1);

	ck_assert_int_eq(dp_flow_learn(dp, &k, 0, 1), 0);
	ck_assert_int_eq(dp_set_locator(dp, &peer, NULL, &lloc, 2), 0);
	ck_assert_int_eq(nfake, 2);
	ck_assert_int_eq(dp_set_locator(dp, &peer, NULL, &back, 3), 0);
	ck_assert_int_eq(nfake, 0);
	dp_clear_kernel(dp);
}
END_TEST

START_TEST(many_flows_one_hid_share_entries)
{
	struct dime_addr peer = A(CH), lloc = A(MH2);

	for (uint16_t p = 0; p < 200; p++) {
		struct dime_flow_key k = key(IPPROTO_TCP, MH1, (uint16_t)(30000 + p), CH, 80);

		ck_assert_int_eq(dp_flow_learn(dp, &k, 0, 1), 0);
	}
	ck_assert_int_eq(dp_set_locator(dp, &peer, NULL, &lloc, 2), 0);
	/* One hand-off, one pair each way, whatever the number of flows. */
	ck_assert_int_eq(nfake, 2);
	ck_assert_uint_eq(dp_stats(dp)->hids_created, 1);
}
END_TEST

/* A socket connected to the host's new address before we knew it was the
 * same host: setting the locator merges the two entries. */
START_TEST(locator_owned_by_another_entry_merges_hosts)
{
	struct dime_flow_key k1 = key(IPPROTO_TCP, MH1, 40001, CH, 80);
	struct dime_flow_key k2 = key(IPPROTO_TCP, MH1, 40002, CH2, 80);
	struct dime_addr peer = A(CH), rloc = A(CH2);
	uint8_t buf[256];
	size_t len;

	ck_assert_int_eq(dp_flow_learn(dp, &k1, 0, 1), 0);
	ck_assert_int_eq(dp_flow_learn(dp, &k2, DIME_TCP_ESTABLISHED, 1), 0);
	ck_assert_uint_eq(dp_stats(dp)->hids_created, 2);
	ck_assert_int_eq(dp_set_locator(dp, &peer, &rloc, NULL, 2), 0);
	ck_assert_uint_eq(dp_stats(dp)->hid_merges, 1);
	ck_assert_uint_eq(dime_hid_count(hids), 1);
	ck_assert_uint_eq(dime_flow_lookup_out(flows, &k1)->hid, dime_flow_lookup_out(flows, &k2)->hid);
	ck_assert_uint_eq(dime_flow_lookup_out(flows, &k2)->tcp_state, DIME_TCP_ESTABLISHED);
	ck_assert_uint_eq(dime_flow_lookup_out(flows, &k2)->last_ms, 2);
	len = build(buf, IPPROTO_TCP, MH1, 40001, CH, 80, 5);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_OUT, buf, len, 0, 3), DP_ACCEPT_MODIFIED);
	assert_addrs(buf, len, MH1, CH2);
}
END_TEST

static Suite *dataplane_suite(void)
{
	Suite *s = suite_create("dataplane");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, unknown_host_passes_untouched);
	tcase_add_test(tc, malformed_passes_untouched);
	tcase_add_test(tc, unmoved_flow_needs_no_kernel_entry);
	tcase_add_test(tc, local_move_rewrites_both_ways);
	tcase_add_test(tc, remote_move_rewrites_both_ways_ipv6);
	tcase_add_test(tc, two_flows_one_hid_different_identifiers);
	tcase_add_test(tc, new_socket_to_old_address_joins_the_host);
	tcase_add_test(tc, moved_host_without_locator_drops);
	tcase_add_test(tc, partial_checksum_is_finished);
	tcase_add_test(tc, icmp_error_from_router_reaches_the_socket);
	tcase_add_test(tc, forget_removes_kernel_entries_and_host);
	tcase_add_test(tc, failed_kernel_add_is_retried_at_next_sync);
	tcase_add_test(tc, moving_back_removes_entries);
	tcase_add_test(tc, many_flows_one_hid_share_entries);
	tcase_add_test(tc, locator_owned_by_another_entry_merges_hosts);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(dataplane_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
