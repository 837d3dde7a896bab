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

/* The packet's source (dst false) or destination address. */
static struct dime_addr pkt_addr(const uint8_t *buf, bool dst)
{
	struct dime_addr a;

	if ((buf[0] >> 4) == 4)
		dime_addr_from_v4(&a, buf + (dst ? 16 : 12));
	else
		dime_addr_from_v6(&a, buf + (dst ? 24 : 8));
	return a;
}

/* Addresses as expected and the IPv4 header checksum right. */
static void assert_ip(const uint8_t *buf, const char *src, const char *dst)
{
	struct dime_addr s = pkt_addr(buf, false), d = pkt_addr(buf, true), ws = A(src), wd = A(dst);

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
	/* Nothing is rewritten any more; only packets that would still come
	 * to MH2 (in our local set) are steered back to the identifiers. */
	ck_assert_int_eq(nfake, 1);
	ck_assert(fake_has(DP_SET_IN_PAIR, CH, MH2));
	dp_clear_kernel(dp);
	ck_assert_int_eq(nfake, 0);
}
END_TEST

/* CH's view before any move: MH has two addresses we can reach. Packets
 * from the second must be translated back as soon as MH switches to it,
 * before any locator changes here. */
START_TEST(second_active_address_is_steered_inbound)
{
	uint8_t buf[256];
	size_t len;
	struct dime_flow_key k = key(IPPROTO_TCP, CH, 80, MH1, 40000);
	struct dime_addr mh1 = A(MH1), mh2 = A(MH2);
	uint32_t hid;

	ck_assert_int_eq(dp_flow_learn(dp, &k, 0, 1), 0);
	ck_assert_int_eq(nfake, 0);
	hid = dime_hid_lookup(hids, &mh1);
	ck_assert_int_eq(dime_hid_addr_add(hids, hid, DIME_HID_ACTIVE, &mh2), 0);
	dp_hid_sync(dp, hid);
	ck_assert_int_eq(nfake, 1);
	ck_assert(fake_has(DP_SET_IN_PAIR, MH2, CH));
	/* Outbound is still not queued: MH1 is the locator. */
	ck_assert_int_lt(fake_find(DP_SET_OUT_PAIR, &k.lid, &k.rid), 0);
	len = build(buf, IPPROTO_TCP, MH2, 40000, CH, 80, 40);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_IN, buf, len, 0, 2), DP_ACCEPT_MODIFIED);
	assert_addrs(buf, len, MH1, CH);
}
END_TEST

static int nheld;
static void count_held(void *ctx, const struct dime_flow *flow, const uint8_t *buf, size_t len)
{
	nheld++;
}

/* MH's view during a hard hand-off: its old address is gone and the new
 * one is not acknowledged yet. Output waits; input to the new address is
 * already translated back. */
START_TEST(held_output_is_dropped_until_released)
{
	struct dp_kernel_ops ops = { .set_add = fake_add, .set_del = fake_del, .held = count_held };
	uint8_t buf[256];
	size_t len;
	struct dime_flow_key k = key(IPPROTO_TCP, MH1, 40000, CH, 80);
	struct dime_addr mh1 = A(MH1), mh2 = A(MH2), ch = A(CH);
	struct dime_hid_entry *h;
	uint32_t hid;

	dp_free(dp);
	ck_assert_int_eq(dp_new(&dp, hids, flows, &ops), 0);
	nheld = 0;
	ck_assert_int_eq(dp_flow_learn(dp, &k, 0, 1), 0);
	hid = dime_hid_lookup(hids, &ch);
	h = dime_hid_get(hids, hid);
	ck_assert_int_eq(dime_hid_addr_del(hids, hid, DIME_HID_LOCAL, &mh1), 0);
	h->out_held[DIME_AF4] = true;
	ck_assert_int_eq(dime_hid_addr_add(hids, hid, DIME_HID_LOCAL, &mh2), 0);
	dp_hid_sync(dp, hid);
	ck_assert(fake_has(DP_SET_OUT_PAIR, MH1, CH));
	ck_assert(fake_has(DP_SET_IN_PAIR, CH, MH2));

	len = build(buf, IPPROTO_TCP, MH1, 40000, CH, 80, 100);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_OUT, buf, len, 0, 2), DP_HELD);
	ck_assert_uint_eq(dp_stats(dp)->out_held, 1);
	ck_assert_int_eq(nheld, 1);
	len = build(buf, IPPROTO_TCP, CH, 80, MH2, 40000, 33);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_IN, buf, len, 0, 3), DP_ACCEPT_MODIFIED);
	assert_addrs(buf, len, CH, MH1);

	/* The HANDOFF was acknowledged: output flows, rewritten. */
	h->out_held[DIME_AF4] = false;
	dp_hid_sync(dp, hid);
	len = build(buf, IPPROTO_TCP, MH1, 40000, CH, 80, 100);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_OUT, buf, len, 0, 4), DP_ACCEPT_MODIFIED);
	assert_addrs(buf, len, MH2, CH);
	ck_assert_int_eq(nheld, 1);
}
END_TEST

/* CH's view of a hand-off it has not validated yet (docs/security.md
 * 3.6): the new locator gets at most three times what it sent us; the rest
 * is held until its nonce comes back. */
START_TEST(unvalidated_locator_gets_three_times_what_it_sent)
{
	struct dp_kernel_ops ops = { .set_add = fake_add, .set_del = fake_del, .held = count_held };
	uint8_t buf[256];
	size_t len, seg;
	struct dime_flow_key k = key(IPPROTO_TCP, CH, 80, MH1, 40000);
	struct dime_flow_key k2 = key(IPPROTO_TCP, CH, 81, MH2, 40001);
	struct dime_addr mh1 = A(MH1), mh2 = A(MH2);
	struct dime_hid_entry *h;
	uint32_t hid;

	dp_free(dp);
	ck_assert_int_eq(dp_new(&dp, hids, flows, &ops), 0);
	nheld = 0;
	ck_assert_int_eq(dp_flow_learn(dp, &k, 0, 1), 0);
	ck_assert_int_eq(dp_set_locator(dp, &mh1, &mh2, NULL, 2), 0);
	hid = dime_hid_lookup(hids, &mh1);
	ck_assert_int_eq(dp_flow_learn(dp, &k2, 0, 2), 0);
	h = dime_hid_get(hids, hid);
	h->rloc_unvalidated[DIME_AF4] = true;
	h->pv_rx[DIME_AF4] = 100;	/* the HANDOFF that named MH2 */
	h->pv_tx[DIME_AF4] = 0;
	dp_hid_sync(dp, hid);

	seg = build(buf, IPPROTO_TCP, CH, 80, MH1, 40000, 100);
	ck_assert_uint_eq(seg, 140);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_OUT, buf, seg, 0, 3), DP_ACCEPT_MODIFIED);
	assert_addrs(buf, seg, CH, MH2);
	len = build(buf, IPPROTO_TCP, CH, 80, MH1, 40000, 100);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_OUT, buf, len, 0, 3), DP_ACCEPT_MODIFIED);
	len = build(buf, IPPROTO_TCP, CH, 80, MH1, 40000, 100);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_OUT, buf, len, 0, 3), DP_HELD);
	ck_assert_uint_eq(dp_stats(dp)->out_unvalidated, 1);
	ck_assert_int_eq(nheld, 1);
	ck_assert_uint_eq(h->pv_tx[DIME_AF4], 280);

	/* A flow the application opened to MH2 itself is its own choice. */
	len = build(buf, IPPROTO_TCP, CH, 81, MH2, 40001, 100);
	ck_assert_int_ne(dp_packet(dp, DIME_DIR_OUT, buf, len, 0, 3), DP_HELD);

	/* MH2 sends: the budget grows by three times that. */
	len = build(buf, IPPROTO_TCP, MH2, 40000, CH, 80, 33);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_IN, buf, len, 0, 4), DP_ACCEPT_MODIFIED);
	ck_assert_uint_eq(h->pv_rx[DIME_AF4], 100 + len);
	len = build(buf, IPPROTO_TCP, CH, 80, MH1, 40000, 100);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_OUT, buf, len, 0, 4), DP_ACCEPT_MODIFIED);
	len = build(buf, IPPROTO_TCP, CH, 80, MH1, 40000, 100);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_OUT, buf, len, 0, 4), DP_HELD);

	/* The nonce came back from MH2: no limit any more, nothing counted. */
	h->rloc_unvalidated[DIME_AF4] = false;
	dp_hid_sync(dp, hid);
	for (int i = 0; i < 20; i++) {
		len = build(buf, IPPROTO_TCP, CH, 80, MH1, 40000, 100);
		ck_assert_int_eq(dp_packet(dp, DIME_DIR_OUT, buf, len, 0, 5), DP_ACCEPT_MODIFIED);
	}
	len = build(buf, IPPROTO_TCP, MH2, 40000, CH, 80, 33);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_IN, buf, len, 0, 6), DP_ACCEPT_MODIFIED);
	ck_assert_uint_eq(h->pv_rx[DIME_AF4], 100 + len);
	ck_assert_uint_eq(dp_stats(dp)->out_unvalidated, 2);
}
END_TEST

static int ndropped_flows;
static void count_flow(void *ctx, const struct dime_flow *flow)
{
	ndropped_flows++;
}

START_TEST(dropping_a_host_removes_flows_entries_and_host)
{
	struct dime_flow_key k1 = key(IPPROTO_TCP, MH1, 40000, CH, 80);
	struct dime_flow_key k2 = key(IPPROTO_UDP, MH1, 40001, CH, 53);
	struct dime_addr peer = A(CH), lloc = A(MH2);
	uint32_t hid;

	ck_assert_int_eq(dp_flow_learn(dp, &k1, 0, 1), 0);
	ck_assert_int_eq(dp_flow_learn(dp, &k2, 0, 1), 0);
	ck_assert_int_eq(dp_set_locator(dp, &peer, NULL, &lloc, 2), 0);
	ck_assert_int_gt(nfake, 0);
	hid = dime_hid_lookup(hids, &peer);
	ndropped_flows = 0;
	dp_hid_drop(dp, hid, count_flow, NULL);
	ck_assert_int_eq(ndropped_flows, 2);
	ck_assert_int_eq(nfake, 0);
	ck_assert_uint_eq(dime_flow_count(flows), 0);
	ck_assert_ptr_null(dime_hid_get(hids, hid));
	ck_assert_uint_eq(dime_hid_lookup(hids, &peer), DIME_HID_NONE);
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

/* ---- flow clock and TCP state -------------------------------------------------- */

/* Set the TCP flags of a packet from build() and make its checksum right again. */
static void set_tcp_flags(uint8_t *buf, size_t len, uint8_t flags)
{
	uint8_t *t = buf + ((buf[0] >> 4) == 4 ? 20 : 40);

	t[13] = flags;
	put16(t + 16, 0);
	put16(t + 16, (uint16_t)~l4_verify(buf, len));
	ck_assert_uint_eq(l4_verify(buf, len), 0xffff);
}

/* Packets in the same millisecond as the last one skip the flow update
 * unless they could change something: a FIN still closes. */
START_TEST(same_millisecond_segments_still_move_tcp_state)
{
	uint8_t buf[256];
	size_t len;
	struct dime_flow_key k = key(IPPROTO_TCP, MH1, 40000, CH, 80);
	struct dime_addr peer = A(CH), lloc = A(MH2);

	ck_assert_int_eq(dp_flow_learn(dp, &k, DIME_TCP_ESTABLISHED, 1), 0);
	ck_assert_int_eq(dp_set_locator(dp, &peer, NULL, &lloc, 2), 0);
	len = build(buf, IPPROTO_TCP, MH1, 40000, CH, 80, 10);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_OUT, buf, len, 0, 5), DP_ACCEPT_MODIFIED);
	ck_assert_uint_eq(dime_flow_lookup_out(flows, &k)->last_ms, 5);
	len = build(buf, IPPROTO_TCP, MH1, 40000, CH, 80, 10);
	set_tcp_flags(buf, len, DIME_TCP_FIN | DIME_TCP_ACK);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_OUT, buf, len, 0, 5), DP_ACCEPT_MODIFIED);
	assert_addrs(buf, len, MH2, CH);
	ck_assert_uint_eq(dime_flow_lookup_out(flows, &k)->tcp_state, DIME_TCP_FIN_OUT);
	len = build(buf, IPPROTO_TCP, CH, 80, MH2, 40000, 0);
	set_tcp_flags(buf, len, DIME_TCP_FIN | DIME_TCP_ACK);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_IN, buf, len, 0, 5), DP_ACCEPT_MODIFIED);
	ck_assert_uint_eq(dime_flow_lookup_out(flows, &k)->tcp_state, DIME_TCP_CLOSING);
	len = build(buf, IPPROTO_TCP, CH, 80, MH2, 40000, 0);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_IN, buf, len, 0, 6), DP_ACCEPT_MODIFIED);
	ck_assert_uint_eq(dime_flow_lookup_out(flows, &k)->last_ms, 6);
}
END_TEST

/* A flow the kernel reports again (a socket dump, a conntrack update)
 * lives: its idle timer restarts, its state follows the report, and a
 * report older than the last packet does not move the timer back. */
START_TEST(relearning_a_flow_restarts_its_idle_timer)
{
	struct dime_flow_key k = key(IPPROTO_TCP, MH1, 40000, CH, 80);

	ck_assert_int_eq(dp_flow_learn(dp, &k, DIME_TCP_SYN_SENT, 1), 0);
	ck_assert_uint_eq(dime_flow_lookup_out(flows, &k)->last_ms, 1);
	ck_assert_int_eq(dp_flow_learn(dp, &k, DIME_TCP_ESTABLISHED, 7000), 0);
	ck_assert_uint_eq(dime_flow_lookup_out(flows, &k)->last_ms, 7000);
	ck_assert_uint_eq(dime_flow_lookup_out(flows, &k)->tcp_state, DIME_TCP_ESTABLISHED);
	ck_assert_int_eq(dp_flow_learn(dp, &k, DIME_TCP_NONE, 6000), 0);
	ck_assert_uint_eq(dime_flow_lookup_out(flows, &k)->last_ms, 7000);
	ck_assert_uint_eq(dime_flow_lookup_out(flows, &k)->tcp_state, DIME_TCP_ESTABLISHED);
	ck_assert_uint_eq(dp_stats(dp)->flows_learned, 1);
}
END_TEST

static uint16_t open_udp_port;
static bool fake_udp_port_open(void *ctx, uint16_t port)
{
	(void)ctx;
	return port == open_udp_port;
}

/*
 * CH's view of an unconnected UDP server socket (port 6002) whose client
 * moved: no socket table names the client, so the first datagram from its
 * new address teaches the flow, under the one address it had before, and
 * the server keeps seeing one peer; its answers go to the new address.
 */
START_TEST(unconnected_udp_server_learns_a_moved_peer_inbound)
{
	struct dp_kernel_ops ops = { .set_add = fake_add, .set_del = fake_del,
				     .udp_port_open = fake_udp_port_open };
	uint8_t buf[256];
	size_t len;
	struct dime_flow_key tcp = key(IPPROTO_TCP, CH, 6001, MH1, 40000);
	struct dime_flow_key udp = key(IPPROTO_UDP, CH, 6002, MH1, 40001);
	struct dime_addr peer = A(MH1), rloc = A(MH2);

	dp_free(dp);
	ck_assert_int_eq(dp_new(&dp, hids, flows, &ops), 0);
	open_udp_port = 6002;
	ck_assert_int_eq(dp_flow_learn(dp, &tcp, DIME_TCP_ESTABLISHED, 1), 0);
	ck_assert_int_eq(dp_set_locator(dp, &peer, &rloc, NULL, 2), 0);

	/* To a port no unconnected socket has: passed as it came. */
	len = build(buf, IPPROTO_UDP, MH2, 40001, CH, 7000, 20);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_IN, buf, len, 0, 3), DP_ACCEPT);
	assert_addrs(buf, len, MH2, CH);
	ck_assert_uint_eq(dp_stats(dp)->in_no_flow, 1);

	len = build(buf, IPPROTO_UDP, MH2, 40001, CH, 6002, 20);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_IN, buf, len, 0, 4), DP_ACCEPT_MODIFIED);
	assert_addrs(buf, len, MH1, CH);
	ck_assert_uint_eq(dp_stats(dp)->in_flow_learned, 1);
	ck_assert_ptr_nonnull(dime_flow_lookup_out(flows, &udp));
	ck_assert(fake_has(DP_SET_OUT_PAIR, CH, MH1));

	/* The server answers the address it saw; the peer gets it at its new one. */
	len = build(buf, IPPROTO_UDP, CH, 6002, MH1, 40001, 30);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_OUT, buf, len, 0, 5), DP_ACCEPT_MODIFIED);
	assert_addrs(buf, len, CH, MH2);
	len = build(buf, IPPROTO_UDP, MH2, 40001, CH, 6002, 20);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_IN, buf, len, 0, 6), DP_ACCEPT_MODIFIED);
	ck_assert_uint_eq(dp_stats(dp)->in_flow_learned, 1);
	ck_assert_uint_eq(dp_stats(dp)->out_flow_learned, 0);
}
END_TEST

/* Which old address the client's socket used is a guess only when there is
 * one; with two, or without the socket-table question, nothing is learnt. */
START_TEST(unconnected_udp_learning_needs_one_old_address)
{
	struct dp_kernel_ops ops = { .set_add = fake_add, .set_del = fake_del,
				     .udp_port_open = fake_udp_port_open };
	uint8_t buf[256];
	size_t len;
	struct dime_flow_key tcp = key(IPPROTO_TCP, CH, 6001, MH1, 40000);
	struct dime_addr peer = A(MH1), rloc = A(MH2), other = A("198.51.100.20");
	uint32_t hid;

	dp_free(dp);
	ck_assert_int_eq(dp_new(&dp, hids, flows, &ops), 0);
	open_udp_port = 6002;
	ck_assert_int_eq(dp_flow_learn(dp, &tcp, DIME_TCP_ESTABLISHED, 1), 0);
	ck_assert_int_eq(dp_set_locator(dp, &peer, &rloc, NULL, 2), 0);
	hid = dime_hid_lookup(hids, &peer);
	ck_assert_int_eq(dime_hid_addr_add(hids, hid, DIME_HID_UNREACH, &other), 0);
	len = build(buf, IPPROTO_UDP, MH2, 40001, CH, 6002, 20);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_IN, buf, len, 0, 3), DP_ACCEPT);
	assert_addrs(buf, len, MH2, CH);
	ck_assert_uint_eq(dp_stats(dp)->in_flow_learned, 0);

	/* Without the question (the default setup): never. */
	ck_assert_int_eq(dime_hid_addr_del(hids, hid, DIME_HID_UNREACH, &other), 0);
	ops.udp_port_open = NULL;
	dp_free(dp);
	ck_assert_int_eq(dp_new(&dp, hids, flows, &ops), 0);
	len = build(buf, IPPROTO_UDP, MH2, 40001, CH, 6002, 20);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_IN, buf, len, 0, 4), DP_ACCEPT);
	ck_assert_uint_eq(dp_stats(dp)->in_flow_learned, 0);
}
END_TEST

/* ---- bursts ------------------------------------------------------------------ */

#define X1 "203.0.113.140"	/* moved: now at X1B */
#define X1B "203.0.113.141"
#define X2 "203.0.113.150"	/* moved, then lost every address */
#define X2B "203.0.113.151"
#define NOBODY "203.0.113.200"
#define V6L "2001:db8:c::130"
#define V6R "2001:db8:1::10"
#define V6RB "2001:db8:2::10"

#define SCN_MAX 48
struct scenario {
	uint8_t buf[SCN_MAX][256];
	size_t len[SCN_MAX];
	enum dime_dir dir[SCN_MAX];
	size_t n;
};

/* Hosts and flows for the burst tests: a local move (CH), a remote IPv6
 * move, a remote move with a second address (X1), a host with no address
 * left (X2). */
static void scenario_world(void)
{
	struct dime_flow_key k1 = key(IPPROTO_TCP, MH1, 40000, CH, 80);
	struct dime_flow_key k2 = key(IPPROTO_UDP, V6L, 5000, V6R, 6000);
	struct dime_flow_key k3 = key(IPPROTO_TCP, MH1, 40001, X1, 80);
	struct dime_flow_key k4 = key(IPPROTO_TCP, MH1, 40002, X2, 80);
	struct dime_addr ch = A(CH), mh2 = A(MH2), v6r = A(V6R), v6rb = A(V6RB);
	struct dime_addr x1 = A(X1), x1b = A(X1B), x2 = A(X2), x2b = A(X2B);
	uint32_t hid;

	ck_assert_int_eq(dp_flow_learn(dp, &k1, DIME_TCP_ESTABLISHED, 1), 0);
	ck_assert_int_eq(dp_flow_learn(dp, &k2, 0, 1), 0);
	ck_assert_int_eq(dp_flow_learn(dp, &k3, DIME_TCP_ESTABLISHED, 1), 0);
	ck_assert_int_eq(dp_flow_learn(dp, &k4, DIME_TCP_ESTABLISHED, 1), 0);
	ck_assert_int_eq(dp_set_locator(dp, &ch, NULL, &mh2, 2), 0);
	ck_assert_int_eq(dp_set_locator(dp, &v6r, &v6rb, NULL, 2), 0);
	ck_assert_int_eq(dp_set_locator(dp, &x1, &x1b, NULL, 2), 0);
	ck_assert_int_eq(dp_set_locator(dp, &x2, &x2b, NULL, 2), 0);
	hid = dime_hid_lookup(hids, &x2);
	ck_assert_int_eq(dime_hid_addr_del(hids, hid, DIME_HID_ACTIVE, &x2b), 0);
	ck_assert_int_eq(dime_hid_addr_del(hids, hid, DIME_HID_ACTIVE, &x2), 0);
}

static size_t scn_add(struct scenario *sc, enum dime_dir dir)
{
	ck_assert_uint_lt(sc->n, SCN_MAX);
	sc->dir[sc->n] = dir;
	return sc->n++;
}

static void scn_tcp(struct scenario *sc, enum dime_dir dir, const char *src, uint16_t sport,
		    const char *dst, uint16_t dport, uint8_t flags)
{
	size_t i = scn_add(sc, dir);

	sc->len[i] = build(sc->buf[i], IPPROTO_TCP, src, sport, dst, dport, 20);
	set_tcp_flags(sc->buf[i], sc->len[i], flags);
}

static void scn_udp(struct scenario *sc, enum dime_dir dir, const char *src, uint16_t sport,
		    const char *dst, uint16_t dport)
{
	size_t i = scn_add(sc, dir);

	sc->len[i] = build(sc->buf[i], IPPROTO_UDP, src, sport, dst, dport, 30);
}

/* A router's "fragmentation needed" to MH2 about the TCP segment k1 sent. */
static void scn_icmp_err(struct scenario *sc)
{
	size_t i = scn_add(sc, DIME_DIR_IN), qlen;
	uint8_t *b = sc->buf[i];

	qlen = build(b + 28, IPPROTO_TCP, MH2, 40000, CH, 80, 12);
	sc->len[i] = 28 + qlen;
	memset(b, 0, 28);
	b[0] = 0x45;
	put16(b + 2, (uint16_t)sc->len[i]);
	b[8] = 64;
	b[9] = IPPROTO_ICMP;
	memcpy(b + 12, A("198.51.100.1").a.u8, 4);
	memcpy(b + 16, A(MH2).a.u8, 4);
	put16(b + 10, (uint16_t)~fold(sum16(b, 20, 0)));
	b[20] = 3;
	b[21] = 4;
	put16(b + 26, 1400);
	put16(b + 22, (uint16_t)~fold(sum16(b + 20, sc->len[i] - 20, 0)));
}

/* Every kind of packet each queue sees, outbound first, then inbound. */
static void scenario_packets(struct scenario *sc)
{
	const uint8_t ack = DIME_TCP_ACK, fin = DIME_TCP_FIN | DIME_TCP_ACK;
	size_t i;

	memset(sc, 0, sizeof(*sc));
	for (int round = 0; round < 2; round++) {
		scn_tcp(sc, DIME_DIR_OUT, MH1, 40000, CH, 80, ack);
		scn_tcp(sc, DIME_DIR_OUT, MH1, 40009, NOBODY, 80, ack);	/* no host */
		i = scn_add(sc, DIME_DIR_OUT);				/* malformed */
		sc->len[i] = build(sc->buf[i], IPPROTO_TCP, MH1, 40000, CH, 80, 10);
		sc->buf[i][0] = 0x4f;
		scn_udp(sc, DIME_DIR_OUT, MH1, 5353, X1, 53);		/* new socket, learned once */
		scn_tcp(sc, DIME_DIR_OUT, MH1, 40001, X1, 80, ack);
		scn_tcp(sc, DIME_DIR_OUT, MH1, 40002, X2, 80, ack);	/* no locator: dropped */
		scn_udp(sc, DIME_DIR_OUT, V6L, 5000, V6R, 6000);
		scn_udp(sc, DIME_DIR_OUT, MH1, 5353, X1, 53);
		scn_tcp(sc, DIME_DIR_OUT, MH1, 40001, X1, 80, round ? fin : ack);
	}
	scn_tcp(sc, DIME_DIR_OUT, MH1, 40000, CH, 80, fin);
	for (int round = 0; round < 2; round++) {
		scn_tcp(sc, DIME_DIR_IN, CH, 80, MH2, 40000, round ? fin : ack);
		scn_tcp(sc, DIME_DIR_IN, NOBODY, 80, MH2, 40000, ack);	/* no host */
		scn_udp(sc, DIME_DIR_IN, V6RB, 6000, V6L, 5000);
		scn_tcp(sc, DIME_DIR_IN, CH, 81, MH2, 40000, ack);	/* no flow */
		scn_icmp_err(sc);
		i = scn_add(sc, DIME_DIR_IN);				/* malformed */
		sc->len[i] = 10;
		sc->buf[i][0] = 0x45;
		scn_tcp(sc, DIME_DIR_IN, X1B, 80, MH1, 40001, ack);
		scn_udp(sc, DIME_DIR_IN, X1B, 53, MH1, 5353);
	}
}

/* What a run leaves behind, to compare one way of running with another. */
struct outcome {
	enum dp_verdict verdict[SCN_MAX];
	uint8_t buf[SCN_MAX][256];
	struct dp_stats st;
	uint32_t nflows;
	int nfake;
	uint8_t tcp_state[3];
	uint64_t last_ms[3];
};

static void outcome_take(struct outcome *o, const struct scenario *sc)
{
	const struct dime_flow_key k[3] = {
		key(IPPROTO_TCP, MH1, 40000, CH, 80),
		key(IPPROTO_TCP, MH1, 40001, X1, 80),
		key(IPPROTO_UDP, MH1, 5353, X1, 53),
	};

	memcpy(o->buf, sc->buf, sizeof(o->buf));
	o->st = *dp_stats(dp);
	o->nflows = dime_flow_count(flows);
	o->nfake = nfake;
	for (int i = 0; i < 3; i++) {
		struct dime_flow *f = dime_flow_lookup_out(flows, &k[i]);

		ck_assert_ptr_nonnull(f);
		o->tcp_state[i] = f->tcp_state;
		o->last_ms[i] = f->last_ms;
	}
}

static void run_single(struct outcome *o, struct scenario *sc)
{
	for (size_t i = 0; i < sc->n; i++)
		o->verdict[i] = dp_packet(dp, sc->dir[i], sc->buf[i], sc->len[i], 0, 10 + i / 7);
	outcome_take(o, sc);
}

/* In bursts of at most `size` packets of one direction; a burst's clock is
 * that of its first packet. */
static void run_burst(struct outcome *o, struct scenario *sc, size_t size)
{
	struct dp_burst_item items[SCN_MAX];
	size_t i = 0;

	while (i < sc->n) {
		size_t n = 0;

		while (i + n < sc->n && n < size && sc->dir[i + n] == sc->dir[i])
			n++;
		for (size_t j = 0; j < n; j++)
			items[j] = (struct dp_burst_item){ .buf = sc->buf[i + j], .len = sc->len[i + j],
							   .verdict = (enum dp_verdict)-1 };
		dp_packet_burst(dp, sc->dir[i], items, n, 10 + i / 7);
		for (size_t j = 0; j < n; j++)
			o->verdict[i + j] = items[j].verdict;
		i += n;
	}
	outcome_take(o, sc);
}

/* The reference for run_burst(size): dp_packet per packet, with the clock
 * each packet gets there. */
static void run_single_bursty(struct outcome *o, struct scenario *sc, size_t size)
{
	size_t i = 0;

	while (i < sc->n) {
		size_t n = 0;

		while (i + n < sc->n && n < size && sc->dir[i + n] == sc->dir[i])
			n++;
		for (size_t j = 0; j < n; j++)
			o->verdict[i + j] = dp_packet(dp, sc->dir[i + j], sc->buf[i + j],
						      sc->len[i + j], 0, 10 + i / 7);
		i += n;
	}
	outcome_take(o, sc);
}

static void assert_same_outcome(const struct outcome *a, const struct outcome *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		ck_assert_msg(a->verdict[i] == b->verdict[i], "packet %zu: verdict %d, not %d", i,
			      b->verdict[i], a->verdict[i]);
		ck_assert_msg(memcmp(a->buf[i], b->buf[i], sizeof(a->buf[i])) == 0,
			      "packet %zu: bytes differ", i);
	}
	ck_assert_mem_eq(&a->st, &b->st, sizeof(a->st));
	ck_assert_uint_eq(a->nflows, b->nflows);
	ck_assert_int_eq(a->nfake, b->nfake);
	ck_assert_mem_eq(a->tcp_state, b->tcp_state, sizeof(a->tcp_state));
	ck_assert_mem_eq(a->last_ms, b->last_ms, sizeof(a->last_ms));
}

/* The scenario itself does what it should, one packet at a time. */
START_TEST(burst_scenario_reference)
{
	static struct scenario sc;
	static struct outcome o;

	scenario_world();
	scenario_packets(&sc);
	run_single(&o, &sc);
	ck_assert_int_eq(o.verdict[0], DP_ACCEPT_MODIFIED);
	assert_addrs(o.buf[0], sc.len[0], MH2, CH);
	ck_assert_int_eq(o.verdict[3], DP_ACCEPT_MODIFIED);
	assert_addrs(o.buf[3], sc.len[3], MH1, X1B);
	ck_assert_int_eq(o.verdict[5], DP_DROP);
	ck_assert_uint_eq(o.st.out_flow_learned, 1);
	ck_assert_uint_eq(o.st.out_unknown, 2);
	ck_assert_uint_eq(o.st.out_malformed, 2);
	ck_assert_uint_eq(o.st.out_no_locator, 2);
	ck_assert_uint_eq(o.st.out_rewritten, 13);
	ck_assert_uint_eq(o.st.in_rewritten, 10);	/* ICMP errors included */
	ck_assert_uint_eq(o.st.in_unknown, 2);
	ck_assert_uint_eq(o.st.in_no_flow, 2);
	ck_assert_uint_eq(o.st.in_malformed, 2);
	ck_assert_uint_eq(o.st.icmp_err_rewritten, 2);
	ck_assert_uint_eq(o.tcp_state[0], DIME_TCP_CLOSING);
	ck_assert_uint_eq(o.tcp_state[1], DIME_TCP_FIN_OUT);
}
END_TEST

/* Any burst size, including ones shorter and longer than the pipeline,
 * gives the bytes, verdicts, counters and table state dp_packet does. */
START_TEST(burst_matches_single_packets)
{
	static const size_t sizes[] = { 1, 2, 3, 5, 8, 12, 13, 16, 17, 31, SCN_MAX };
	static struct scenario sc;
	static struct outcome ref, got;

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		teardown();
		setup();
		scenario_world();
		scenario_packets(&sc);
		run_single_bursty(&ref, &sc, sizes[s]);

		teardown();
		setup();
		scenario_world();
		scenario_packets(&sc);
		run_burst(&got, &sc, sizes[s]);
		assert_same_outcome(&ref, &got, sc.n);
	}
}
END_TEST

START_TEST(empty_burst_does_nothing)
{
	dp_packet_burst(dp, DIME_DIR_OUT, NULL, 0, 1);
	dp_packet_burst(dp, DIME_DIR_IN, NULL, 0, 1);
	ck_assert_uint_eq(dp_stats(dp)->out_packets + dp_stats(dp)->in_packets, 0);
}
END_TEST


/* ---- kernel offload (offload.h) ------------------------------------------------ */

#define OFF_MAX 32
static struct { bool add; struct offload_flow f; } off_log[OFF_MAX];
static int noff, off_fail_adds, off_fail_dels, off_flushes;

static int fake_offload(void *ctx, bool add, const struct offload_flow *f)
{
	if ((add && off_fail_adds) || (!add && off_fail_dels)) {
		add ? off_fail_adds-- : off_fail_dels--;
		return -ENOMEM;
	}
	ck_assert_int_lt(noff, OFF_MAX);
	ck_assert(offload_flow_valid(f));
	off_log[noff].add = add;
	off_log[noff++].f = *f;
	return 0;
}

static int fake_offload_flush(void *ctx)
{
	off_flushes++;
	return 0;
}

static void offload_fixture(void)
{
	struct dp_kernel_ops ops = { .set_add = fake_add, .set_del = fake_del,
				     .offload = fake_offload, .offload_flush = fake_offload_flush };

	dp_free(dp);
	ck_assert_int_eq(dp_new(&dp, hids, flows, &ops), 0);
	noff = off_fail_adds = off_fail_dels = off_flushes = 0;
}

static void assert_off(int i, bool add, const char *lid, const char *rid, const char *lloc,
		       const char *rloc)
{
	struct dime_addr l = A(lid), r = A(rid), ll = A(lloc), rl = A(rloc);

	ck_assert_int_lt(i, noff);
	ck_assert_int_eq(off_log[i].add, add);
	ck_assert(dime_addr_eq(&off_log[i].f.lid, &l));
	ck_assert(dime_addr_eq(&off_log[i].f.rid, &r));
	ck_assert(dime_addr_eq(&off_log[i].f.lloc, &ll));
	ck_assert(dime_addr_eq(&off_log[i].f.rloc, &rl));
}

/* MH moved to MH2; one established TCP flow, one packet out. */
static void moved_flow_sent(uint64_t now)
{
	struct dime_flow_key k = key(IPPROTO_TCP, MH1, 40000, CH, 80);
	struct dime_addr peer = A(CH), lloc = A(MH2);
	uint8_t buf[256];
	size_t len;

	ck_assert_int_eq(dp_flow_learn(dp, &k, DIME_TCP_ESTABLISHED, now), 0);
	ck_assert_int_eq(dp_set_locator(dp, &peer, NULL, &lloc, now), 0);
	len = build(buf, IPPROTO_TCP, MH1, 40000, CH, 80, 100);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_OUT, buf, len, 0, now), DP_ACCEPT_MODIFIED);
}

START_TEST(steady_moved_flow_is_handed_to_the_kernel_once)
{
	uint8_t buf[256];
	size_t len;

	offload_fixture();
	moved_flow_sent(1);
	ck_assert_int_eq(noff, 1);
	assert_off(0, true, MH1, CH, MH2, CH);
	ck_assert_uint_eq(off_log[0].f.lport, 40000);
	ck_assert_uint_eq(off_log[0].f.rport, 80);
	ck_assert_uint_eq(off_log[0].f.proto, IPPROTO_TCP);
	/* A straggler still queued: rewritten here, not handed over twice. */
	len = build(buf, IPPROTO_TCP, CH, 80, MH2, 40000, 10);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_IN, buf, len, 0, 2), DP_ACCEPT_MODIFIED);
	assert_addrs(buf, len, CH, MH1);
	ck_assert_int_eq(noff, 1);
	ck_assert_uint_eq(dp_stats(dp)->flows_offloaded, 1);
	ck_assert_uint_eq(dp_stats(dp)->offload_adds, 1);
}
END_TEST

START_TEST(handshake_and_unmoved_flows_stay_here)
{
	struct dime_flow_key k = key(IPPROTO_TCP, MH1, 40001, CH, 80);
	struct dime_addr peer = A(CH), lloc = A(MH2);
	uint8_t buf[256];
	size_t len;

	offload_fixture();
	/* Not moved: nothing to rewrite, nothing to hand over. */
	ck_assert_int_eq(dp_flow_learn(dp, &k, DIME_TCP_ESTABLISHED, 1), 0);
	len = build(buf, IPPROTO_TCP, MH1, 40001, CH, 80, 10);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_OUT, buf, len, 0, 1), DP_ACCEPT);
	ck_assert_int_eq(noff, 0);
	/* A new connection to the moved host: its SYN is rewritten here. */
	ck_assert_int_eq(dp_set_locator(dp, &peer, NULL, &lloc, 2), 0);
	len = build(buf, IPPROTO_TCP, MH1, 40002, CH, 80, 0);
	set_tcp_flags(buf, len, DIME_TCP_SYN);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_OUT, buf, len, 0, 3), DP_ACCEPT_MODIFIED);
	ck_assert_int_eq(noff, 0);
	/* ICMP echo never goes to the kernel's maps. */
	len = build(buf, IPPROTO_ICMP, MH1, 7, CH, 7, 8);
	buf[20] = 8;
	(void)dp_packet(dp, DIME_DIR_OUT, buf, len, 0, 4);
	ck_assert_int_eq(noff, 0);
}
END_TEST

START_TEST(locator_change_takes_the_flow_back_first)
{
	struct dime_addr peer = A(CH), mh3 = A("198.51.100.20");
	uint8_t buf[256];
	size_t len;

	offload_fixture();
	moved_flow_sent(1);
	ck_assert_int_eq(dp_set_locator(dp, &peer, NULL, &mh3, 2), 0);
	ck_assert_int_eq(noff, 2);
	/* Removed under the keys it was added with. */
	assert_off(1, false, MH1, CH, MH2, CH);
	ck_assert_uint_eq(dp_stats(dp)->flows_offloaded, 0);
	len = build(buf, IPPROTO_TCP, MH1, 40000, CH, 80, 100);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_OUT, buf, len, 0, 3), DP_ACCEPT_MODIFIED);
	assert_addrs(buf, len, "198.51.100.20", CH);
	ck_assert_int_eq(noff, 3);
	assert_off(2, true, MH1, CH, "198.51.100.20", CH);
}
END_TEST

START_TEST(held_or_unvalidated_host_is_not_offloaded)
{
	struct dime_addr ch = A(CH), ch2 = A(CH2);
	uint32_t hid;
	struct dime_hid_entry *h;
	uint8_t buf[256];
	size_t len;

	offload_fixture();
	moved_flow_sent(1);
	hid = dime_hid_lookup(hids, &ch);
	h = dime_hid_get(hids, hid);
	h->out_held[DIME_AF4] = true;
	dp_hid_sync(dp, hid);
	ck_assert_int_eq(noff, 2);
	ck_assert_int_eq(off_log[1].add, false);
	len = build(buf, IPPROTO_TCP, MH1, 40000, CH, 80, 100);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_OUT, buf, len, 0, 2), DP_HELD);
	len = build(buf, IPPROTO_TCP, CH, 80, MH2, 40000, 10);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_IN, buf, len, 0, 2), DP_ACCEPT_MODIFIED);
	ck_assert_int_eq(noff, 2);
	/* Released, but the peer moved to a locator not validated yet. */
	h->out_held[DIME_AF4] = false;
	ck_assert_int_eq(dime_hid_addr_add(hids, hid, DIME_HID_ACTIVE, &ch2), 0);
	ck_assert_int_eq(dime_hid_set_rloc(hids, hid, &ch2), 0);
	h->rloc_unvalidated[DIME_AF4] = true;
	h->pv_rx[DIME_AF4] = 100000;
	dp_hid_sync(dp, hid);
	len = build(buf, IPPROTO_TCP, MH1, 40000, CH, 80, 100);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_OUT, buf, len, 0, 3), DP_ACCEPT_MODIFIED);
	assert_addrs(buf, len, MH2, CH2);
	ck_assert_int_eq(noff, 2);
	/* Validated: the next packet hands it over with both locators. */
	h->rloc_unvalidated[DIME_AF4] = false;
	dp_hid_sync(dp, hid);
	len = build(buf, IPPROTO_TCP, MH1, 40000, CH, 80, 100);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_OUT, buf, len, 0, 4), DP_ACCEPT_MODIFIED);
	ck_assert_int_eq(noff, 3);
	assert_off(2, true, MH1, CH, MH2, CH2);
}
END_TEST

START_TEST(watched_flow_comes_back_for_its_ack)
{
	struct dime_flow_key k = key(IPPROTO_TCP, MH1, 40000, CH, 80);
	struct dime_flow *f;
	uint8_t buf[256];
	size_t len;

	offload_fixture();
	moved_flow_sent(1);
	f = dime_flow_lookup_out(flows, &k);
	ck_assert_ptr_nonnull(f);
	dp_flow_watch_ack(dp, f);
	ck_assert_int_eq(noff, 2);
	ck_assert_int_eq(off_log[1].add, false);
	ck_assert(f->ack_watch && !f->offloaded);
	len = build(buf, IPPROTO_TCP, CH, 80, MH2, 40000, 0);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_IN, buf, len, 0, 2), DP_ACCEPT_MODIFIED);
	ck_assert_int_eq(noff, 2);
	f->ack_watch = 0;
	len = build(buf, IPPROTO_TCP, CH, 80, MH2, 40000, 0);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_IN, buf, len, 0, 3), DP_ACCEPT_MODIFIED);
	ck_assert_int_eq(noff, 3);
	assert_off(2, true, MH1, CH, MH2, CH);
}
END_TEST

START_TEST(ended_flow_leaves_the_kernel)
{
	struct dime_flow_key k = key(IPPROTO_TCP, MH1, 40000, CH, 80);
	struct dime_addr ch = A(CH);

	offload_fixture();
	moved_flow_sent(1);
	ck_assert_int_eq(dp_flow_forget(dp, &k), 0);
	ck_assert_int_eq(noff, 2);
	assert_off(1, false, MH1, CH, MH2, CH);
	/* And through a host drop. */
	moved_flow_sent(2);
	ck_assert_int_eq(noff, 3);
	dp_hid_drop(dp, dime_hid_lookup(hids, &ch), NULL, NULL);
	ck_assert_int_eq(noff, 4);
	assert_off(3, false, MH1, CH, MH2, CH);
	ck_assert_uint_eq(dp_stats(dp)->flows_offloaded, 0);
}
END_TEST

START_TEST(failed_removal_empties_every_map)
{
	struct dime_addr peer = A(CH), mh3 = A("198.51.100.20");
	struct dime_flow_key k = key(IPPROTO_TCP, MH1, 40000, CH, 80);

	offload_fixture();
	moved_flow_sent(1);
	off_fail_dels = 1;
	ck_assert_int_eq(dp_set_locator(dp, &peer, NULL, &mh3, 2), 0);
	ck_assert_int_eq(off_flushes, 1);
	ck_assert_uint_eq(dp_stats(dp)->offload_resets, 1);
	ck_assert_uint_eq(dp_stats(dp)->offload_errors, 1);
	ck_assert_uint_eq(dp_stats(dp)->flows_offloaded, 0);
	ck_assert(!dime_flow_lookup_out(flows, &k)->offloaded);
}
END_TEST

START_TEST(failed_hand_over_waits_a_second)
{
	uint8_t buf[256];
	size_t len = build(buf, IPPROTO_TCP, MH1, 40000, CH, 80, 100);

	offload_fixture();
	off_fail_adds = 1;
	moved_flow_sent(1);
	ck_assert_int_eq(noff, 0);
	ck_assert_uint_eq(dp_stats(dp)->offload_errors, 1);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_OUT, buf, len, 0, 500), DP_ACCEPT_MODIFIED);
	ck_assert_int_eq(noff, 0);
	len = build(buf, IPPROTO_TCP, MH1, 40000, CH, 80, 100);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_OUT, buf, len, 0, 1001), DP_ACCEPT_MODIFIED);
	ck_assert_int_eq(noff, 1);
}
END_TEST

START_TEST(udp_flow_of_a_moved_peer_ipv6)
{
	struct dime_flow_key k = key(IPPROTO_UDP, "2001:db8:c::130", 5000, "2001:db8:1::10", 6000);
	struct dime_addr peer = A("2001:db8:1::10"), rloc = A("2001:db8:2::10");
	uint8_t buf[256];
	size_t len;

	offload_fixture();
	ck_assert_int_eq(dp_flow_learn(dp, &k, 0, 1), 0);
	ck_assert_int_eq(dp_set_locator(dp, &peer, &rloc, NULL, 1), 0);
	len = build(buf, IPPROTO_UDP, "2001:db8:2::10", 6000, "2001:db8:c::130", 5000, 50);
	ck_assert_int_eq(dp_packet(dp, DIME_DIR_IN, buf, len, 0, 2), DP_ACCEPT_MODIFIED);
	ck_assert_int_eq(noff, 1);
	assert_off(0, true, "2001:db8:c::130", "2001:db8:1::10", "2001:db8:c::130", "2001:db8:2::10");
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
	tcase_add_test(tc, second_active_address_is_steered_inbound);
	tcase_add_test(tc, held_output_is_dropped_until_released);
	tcase_add_test(tc, unvalidated_locator_gets_three_times_what_it_sent);
	tcase_add_test(tc, dropping_a_host_removes_flows_entries_and_host);
	tcase_add_test(tc, many_flows_one_hid_share_entries);
	tcase_add_test(tc, locator_owned_by_another_entry_merges_hosts);
	tcase_add_test(tc, same_millisecond_segments_still_move_tcp_state);
	tcase_add_test(tc, relearning_a_flow_restarts_its_idle_timer);
	tcase_add_test(tc, unconnected_udp_server_learns_a_moved_peer_inbound);
	tcase_add_test(tc, unconnected_udp_learning_needs_one_old_address);
	tcase_add_test(tc, burst_scenario_reference);
	tcase_add_test(tc, burst_matches_single_packets);
	tcase_add_test(tc, empty_burst_does_nothing);
	tcase_add_test(tc, steady_moved_flow_is_handed_to_the_kernel_once);
	tcase_add_test(tc, handshake_and_unmoved_flows_stay_here);
	tcase_add_test(tc, locator_change_takes_the_flow_back_first);
	tcase_add_test(tc, held_or_unvalidated_host_is_not_offloaded);
	tcase_add_test(tc, watched_flow_comes_back_for_its_ack);
	tcase_add_test(tc, ended_flow_leaves_the_kernel);
	tcase_add_test(tc, failed_removal_empties_every_map);
	tcase_add_test(tc, failed_hand_over_waits_a_second);
	tcase_add_test(tc, udp_flow_of_a_moved_peer_ipv6);
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
