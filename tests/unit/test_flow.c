// SPDX-License-Identifier: BSD-2-Clause
/*
 * Check suite for the flow table (flow.c) with the HID table it binds to:
 * lookups both ways, the paper's Fig. 3(a) example, the inbound tie-break,
 * a million flows, expiry with a fake clock, HID references, forced
 * collisions checked against a shadow model, and the memory budget.
 *
 * The million-flow test inserts 1,000,000 flows in every build (about 3 s
 * plain and 5 s under ASan+UBSan on a 2-core machine); DIME_TEST_FLOWS=<n>
 * in the environment changes the count.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>

#include "dime/flow.h"
#include "dime/hid.h"

/* Check's ck_assert logs every passing check to a file when CK_FORK=no;
 * loops over a million flows use this instead, which only acts on failure. */
#define HOT_ASSERT(expr) \
	do { \
		if (!(expr)) \
			ck_abort_msg("Assertion '%s' failed", #expr); \
	} while (0)

static const struct dime_sipkey seed = { 0x0123456789abcdefull, 0xfedcba9876543210ull };

static struct dime_addr A(const char *text)
{
	struct dime_addr a;

	ck_assert_int_eq(dime_addr_parse(&a, text), 0);
	return a;
}

/* A HID table and a flow table over it, torn down by fx_free. */
struct fx {
	struct dime_hid_table *hids;
	struct dime_flow_table *flows;
	int expired;
	uint32_t last_refs;	/* refs of the expired flow's HID, seen from on_expire */
	bool keep_answer;	/* what keep() says */
	int keep_calls;
	uint16_t keep_lport;	/* lport of the flow keep() was last asked about */
};

static void on_expire(void *ctx, const struct dime_flow *f)
{
	struct fx *fx = ctx;
	const struct dime_hid_entry *e = dime_hid_get(fx->hids, f->hid);
	struct dime_flow_key k = { .proto = f->proto, .lport = f->lport, .rport = f->rport,
				   .lid = f->lid, .rid = f->rid };

	fx->expired++;
	fx->last_refs = e ? e->refs : UINT32_MAX;
	/* Called after the flow left the table. */
	ck_assert_ptr_null(dime_flow_lookup_out(fx->flows, &k));
}

/* Stands in for the daemon asking conntrack about an idle flow. */
static bool keep(void *ctx, const struct dime_flow *f)
{
	struct fx *fx = ctx;

	fx->keep_calls++;
	fx->keep_lport = f->lport;
	/* Asked while the flow is still in the table. */
	ck_assert_uint_gt(dime_flow_count(fx->flows), 0);
	return fx->keep_answer;
}

/* with_keep: pass keep() in the config (else NULL). */
static void fx_init_keep(struct fx *fx, uint32_t flows, uint32_t hids, bool with_keep)
{
	struct dime_hid_config hc = { .capacity = hids, .max_addrs = hids * 2, .seed = seed };
	struct dime_flow_config fc = { .capacity = flows, .seed = seed, .on_expire = on_expire,
				       .keep = with_keep ? keep : NULL, .ctx = fx };

	*fx = (struct fx){ 0 };
	dime_flow_timeouts_default(&fc.timeouts);
	ck_assert_int_eq(dime_hid_table_new(&fx->hids, &hc), 0);
	ck_assert_int_eq(dime_flow_table_new(&fx->flows, &fc, fx->hids), 0);
}

static void fx_init(struct fx *fx, uint32_t flows, uint32_t hids)
{
	fx_init_keep(fx, flows, hids, false);
}

static void fx_free(struct fx *fx)
{
	dime_flow_table_free(fx->flows);
	dime_hid_table_free(fx->hids);
}

/* The HID owning rid, created with rid active and lid local if new. */
static uint32_t peer(struct fx *fx, const struct dime_addr *rid, const struct dime_addr *lid)
{
	uint32_t h = dime_hid_lookup(fx->hids, rid);

	if (h != DIME_HID_NONE)
		return h;
	HOT_ASSERT(dime_hid_create(fx->hids, 0, &h) == 0);
	HOT_ASSERT(dime_hid_addr_add(fx->hids, h, DIME_HID_ACTIVE, rid) == 0);
	HOT_ASSERT(dime_hid_addr_add(fx->hids, h, DIME_HID_LOCAL, lid) == 0);
	return h;
}

static struct dime_flow_key K(uint8_t proto, const char *lid, uint16_t lport, const char *rid,
			      uint16_t rport)
{
	return (struct dime_flow_key){ .proto = proto, .lport = lport, .rport = rport,
				       .lid = A(lid), .rid = A(rid) };
}

static struct dime_flow *insert(struct fx *fx, const struct dime_flow_key *k, uint64_t now)
{
	struct dime_flow *f;

	HOT_ASSERT(dime_flow_insert(fx->flows, k, peer(fx, &k->rid, &k->lid), now, &f) == 0);
	HOT_ASSERT(f);
	return f;
}

/* Inbound as the data plane does it: packet src (remote locator) to a HID,
 * then the flow by ports, preferring the flow bound to dst. */
static struct dime_flow *inbound(struct fx *fx, uint8_t proto, const char *src, uint16_t sport,
				 const char *dst, uint16_t dport)
{
	struct dime_addr s = A(src), d = A(dst);
	uint32_t h = dime_hid_lookup(fx->hids, &s);

	if (h == DIME_HID_NONE)
		return NULL;
	return dime_flow_lookup_in(fx->flows, proto, s.family, h, sport, dport, &d);
}

static uint32_t refs(struct fx *fx, uint32_t h)
{
	const struct dime_hid_entry *e = dime_hid_get(fx->hids, h);

	ck_assert_ptr_nonnull(e);
	return e->refs;
}

START_TEST(test_insert_lookup_both_ways)
{
	struct fx fx;
	struct dime_flow_key tcp4 = K(IPPROTO_TCP, "192.0.2.1", 40000, "198.51.100.7", 443);
	struct dime_flow_key udp6 = K(IPPROTO_UDP, "2001:db8::1", 5353, "2001:db8:1::7", 53);
	struct dime_flow_key icmp4 = K(IPPROTO_ICMP, "192.0.2.1", 77, "198.51.100.7", 77);
	struct dime_flow_key icmp6 = K(IPPROTO_ICMPV6, "2001:db8::1", 78, "2001:db8:1::7", 78);
	struct dime_flow *f[4], *dup;

	fx_init(&fx, 16, 4);
	f[0] = insert(&fx, &tcp4, 10);
	f[1] = insert(&fx, &udp6, 10);
	f[2] = insert(&fx, &icmp4, 10);
	f[3] = insert(&fx, &icmp6, 10);
	const uint32_t h6 = f[1]->hid;
	ck_assert_uint_eq(dime_flow_count(fx.flows), 4);
	ck_assert_uint_eq(f[0]->hid, f[2]->hid);	/* same peer address, same HID */
	ck_assert_uint_eq(refs(&fx, f[0]->hid), 2);
	ck_assert_uint_eq(f[0]->last_ms, 10);
	ck_assert_uint_eq(f[0]->tcp_state, DIME_TCP_NONE);

	ck_assert_ptr_eq(dime_flow_lookup_out(fx.flows, &tcp4), f[0]);
	ck_assert_ptr_eq(dime_flow_lookup_out(fx.flows, &udp6), f[1]);
	ck_assert_ptr_eq(dime_flow_lookup_out(fx.flows, &icmp4), f[2]);
	ck_assert_ptr_eq(dime_flow_lookup_out(fx.flows, &icmp6), f[3]);
	ck_assert_ptr_eq(inbound(&fx, IPPROTO_TCP, "198.51.100.7", 443, "192.0.2.1", 40000), f[0]);
	ck_assert_ptr_eq(inbound(&fx, IPPROTO_UDP, "2001:db8:1::7", 53, "2001:db8::1", 5353), f[1]);
	ck_assert_ptr_eq(inbound(&fx, IPPROTO_ICMP, "198.51.100.7", 77, "192.0.2.1", 77), f[2]);
	ck_assert_ptr_eq(inbound(&fx, IPPROTO_ICMPV6, "2001:db8:1::7", 78, "2001:db8::1", 78), f[3]);

	/* The burst API (hash, prefetch, look up with the hash) agrees. */
	for (int i = 0; i < 4; i++) {
		const struct dime_flow_key *k = i == 0 ? &tcp4 : i == 1 ? &udp6 : i == 2 ? &icmp4 : &icmp6;
		uint32_t ho = dime_flow_hash_out(fx.flows, k);
		uint32_t hh = dime_hid_addr_hash(fx.hids, &k->rid);
		uint32_t hid = dime_hid_lookup_hashed(fx.hids, &k->rid, hh);
		uint32_t hi = dime_flow_hash_in(fx.flows, k->proto, k->rid.family, hid, k->rport,
						k->lport);

		dime_hid_prefetch(fx.hids, hh);
		dime_flow_prefetch_out(fx.flows, ho);
		dime_flow_prefetch_out_entry(fx.flows, ho);
		dime_flow_prefetch_in(fx.flows, hi);
		dime_flow_prefetch_in_entry(fx.flows, hi);
		ck_assert_uint_eq(hid, f[i]->hid);
		ck_assert_ptr_eq(dime_flow_lookup_out_hashed(fx.flows, k, ho), f[i]);
		ck_assert_ptr_eq(dime_flow_lookup_in_hashed(fx.flows, hi, k->proto, k->rid.family, hid,
							    k->rport, k->lport, &k->lid), f[i]);
	}

	/* Misses: other port, other protocol, swapped ports, unknown peer. */
	struct dime_flow_key miss = tcp4;

	miss.rport = 444;
	ck_assert_ptr_null(dime_flow_lookup_out(fx.flows, &miss));
	miss = tcp4;
	miss.proto = IPPROTO_UDP;
	ck_assert_ptr_null(dime_flow_lookup_out(fx.flows, &miss));
	ck_assert_ptr_null(inbound(&fx, IPPROTO_TCP, "198.51.100.7", 40000, "192.0.2.1", 443));
	ck_assert_ptr_null(inbound(&fx, IPPROTO_UDP, "198.51.100.7", 443, "192.0.2.1", 40000));
	ck_assert_ptr_null(inbound(&fx, IPPROTO_TCP, "203.0.113.1", 443, "192.0.2.1", 40000));

	/* Duplicates report the existing flow; bad keys are refused. */
	ck_assert_int_eq(dime_flow_insert(fx.flows, &tcp4, f[0]->hid, 20, &dup), -EEXIST);
	ck_assert_ptr_eq(dup, f[0]);
	struct dime_flow_key bad = K(IPPROTO_ICMP, "2001:db8::1", 1, "2001:db8:1::7", 1);

	ck_assert_int_eq(dime_flow_insert(fx.flows, &bad, f[1]->hid, 20, &dup), -EINVAL);
	bad = K(IPPROTO_TCP, "192.0.2.1", 1, "2001:db8:1::7", 1);
	ck_assert_int_eq(dime_flow_insert(fx.flows, &bad, f[1]->hid, 20, &dup), -EINVAL);
	bad = K(IPPROTO_SCTP, "192.0.2.1", 1, "198.51.100.7", 1);
	ck_assert_int_eq(dime_flow_insert(fx.flows, &bad, f[0]->hid, 20, &dup), -EINVAL);
	ck_assert_uint_eq(refs(&fx, f[0]->hid), 2);

	/* A remote identifier owned by another HID. */
	struct dime_flow_key other = K(IPPROTO_TCP, "192.0.2.1", 1, "198.51.100.7", 2);

	ck_assert_int_eq(dime_flow_insert(fx.flows, &other, f[1]->hid, 20, &dup), -EADDRINUSE);
	ck_assert_ptr_null(dup);
	ck_assert_uint_eq(refs(&fx, f[1]->hid), 2);

	/* Delete by tuple drops the flow and its HID reference. */
	uint32_t h = f[0]->hid;

	ck_assert_int_eq(dime_flow_del_key(fx.flows, &tcp4), 0);
	ck_assert_int_eq(dime_flow_del_key(fx.flows, &tcp4), -ENOENT);
	dime_flow_del(fx.flows, f[0]);	/* stale pointer: ignored */
	ck_assert_ptr_null(dime_flow_lookup_out(fx.flows, &tcp4));
	ck_assert_ptr_null(inbound(&fx, IPPROTO_TCP, "198.51.100.7", 443, "192.0.2.1", 40000));
	ck_assert_ptr_eq(dime_flow_lookup_out(fx.flows, &icmp4), f[2]);
	ck_assert_uint_eq(refs(&fx, h), 1);
	ck_assert_uint_eq(dime_flow_count(fx.flows), 3);

	/* The iterator sees exactly the live flows. */
	uint32_t cursor = 0, n = 0;

	while (dime_flow_iter(fx.flows, &cursor))
		n++;
	ck_assert_uint_eq(n, 3);
	dime_flow_flush(fx.flows);
	ck_assert_uint_eq(dime_flow_count(fx.flows), 0);
	ck_assert_uint_eq(refs(&fx, h), 0);
	ck_assert_uint_eq(refs(&fx, h6), 0);
	fx_free(&fx);
}
END_TEST

/*
 * Fig. 3(a) in documentation addresses. Peer P (the paper's hid_1) is at
 * a1 = 198.51.100.1 when socket s1 connects; it then moves to
 * a2 = 198.51.100.10 and socket s2 connects to a2. Peer Q (hid_2) is
 * 203.0.113.1, known to both sockets. We are 192.0.2.8.
 *
 *   socket  bound address     HID
 *   s1      203.0.113.1       Q
 *           198.51.100.1      P
 *   s2      198.51.100.10     P
 *           203.0.113.1       Q
 */
START_TEST(test_fig3a_shared_hid)
{
	struct fx fx;
	struct dime_addr a1 = A("198.51.100.1"), a2 = A("198.51.100.10");
	struct dime_flow_key s1p = K(IPPROTO_TCP, "192.0.2.8", 40001, "198.51.100.1", 80);
	struct dime_flow_key s1q = K(IPPROTO_TCP, "192.0.2.8", 40001, "203.0.113.1", 443);
	struct dime_flow_key s2p = K(IPPROTO_TCP, "192.0.2.8", 40002, "198.51.100.10", 80);
	struct dime_flow_key s2q = K(IPPROTO_TCP, "192.0.2.8", 40002, "203.0.113.1", 443);
	struct dime_flow *f1p, *f1q, *f2p, *f2q;
	uint32_t p, q;

	fx_init(&fx, 16, 4);
	f1p = insert(&fx, &s1p, 0);
	f1q = insert(&fx, &s1q, 0);
	p = f1p->hid;
	q = f1q->hid;
	ck_assert_uint_ne(p, q);
	ck_assert(!dime_hid_get(fx.hids, p)->moved);

	/* IHMP learns of the handoff: a2 becomes active and preferred, a1
	 * unreachable. */
	ck_assert_int_eq(dime_hid_addr_add(fx.hids, p, DIME_HID_ACTIVE, &a2), 0);
	ck_assert_int_eq(dime_hid_set_rloc(fx.hids, p, &a2), 0);
	ck_assert_int_eq(dime_hid_addr_move(fx.hids, p, &a1, DIME_HID_ACTIVE, DIME_HID_UNREACH), 0);
	ck_assert(dime_hid_get(fx.hids, p)->moved);

	/* s2 connects to the new address: same HID, its own identifier. */
	f2p = insert(&fx, &s2p, 1);
	f2q = insert(&fx, &s2q, 1);
	ck_assert_uint_eq(f2p->hid, p);
	ck_assert_uint_eq(f2q->hid, q);
	ck_assert_uint_eq(refs(&fx, p), 2);
	ck_assert_uint_eq(refs(&fx, q), 2);
	ck_assert(dime_addr_eq(&f1p->rid, &a1));
	ck_assert(dime_addr_eq(&f2p->rid, &a2));

	/* Outbound: each socket's tuple finds its own flow. */
	ck_assert_ptr_eq(dime_flow_lookup_out(fx.flows, &s1p), f1p);
	ck_assert_ptr_eq(dime_flow_lookup_out(fx.flows, &s2p), f2p);
	ck_assert_ptr_eq(dime_flow_lookup_out(fx.flows, &s1q), f1q);
	ck_assert_ptr_eq(dime_flow_lookup_out(fx.flows, &s2q), f2q);
	/* Inbound from a2 (P's locator now): s1's reply maps back to a1. */
	ck_assert_ptr_eq(inbound(&fx, IPPROTO_TCP, "198.51.100.10", 80, "192.0.2.8", 40001), f1p);
	ck_assert_ptr_eq(inbound(&fx, IPPROTO_TCP, "198.51.100.10", 80, "192.0.2.8", 40002), f2p);
	ck_assert_ptr_eq(inbound(&fx, IPPROTO_TCP, "203.0.113.1", 443, "192.0.2.8", 40001), f1q);
	ck_assert_ptr_eq(inbound(&fx, IPPROTO_TCP, "203.0.113.1", 443, "192.0.2.8", 40002), f2q);

	/* a1 left the active set but s1 still binds it, so it maps to P. */
	ck_assert_int_eq(dime_hid_addr_del(fx.hids, p, DIME_HID_UNREACH, &a1), 0);
	ck_assert_uint_eq(dime_hid_lookup(fx.hids, &a1), p);
	ck_assert_ptr_eq(inbound(&fx, IPPROTO_TCP, "198.51.100.1", 80, "192.0.2.8", 40001), f1p);
	/* s1 closes: a1 is no longer P's, P keeps s2. */
	dime_flow_del(fx.flows, f1p);
	ck_assert_uint_eq(dime_hid_lookup(fx.hids, &a1), DIME_HID_NONE);
	ck_assert_uint_eq(refs(&fx, p), 1);
	ck_assert(dime_hid_get(fx.hids, p)->moved);
	ck_assert_ptr_eq(inbound(&fx, IPPROTO_TCP, "198.51.100.10", 80, "192.0.2.8", 40002), f2p);
	dime_flow_del(fx.flows, f2p);
	ck_assert_uint_eq(refs(&fx, p), 0);
	ck_assert(!dime_hid_get(fx.hids, p)->moved);
	fx_free(&fx);
}
END_TEST

START_TEST(test_inbound_tiebreak)
{
	struct fx fx;
	/* One UDP socket port bound on two local identifiers, talking to the
	 * same peer port. */
	struct dime_flow_key k1 = K(IPPROTO_UDP, "192.0.2.1", 5000, "198.51.100.7", 53);
	struct dime_flow_key k2 = K(IPPROTO_UDP, "192.0.2.2", 5000, "198.51.100.7", 53);
	struct dime_flow *f1, *f2;

	fx_init(&fx, 16, 4);
	f1 = insert(&fx, &k1, 100);
	f2 = insert(&fx, &k2, 50);
	ck_assert_uint_eq(f1->hid, f2->hid);
	/* The flow bound to the packet's destination wins even if older. */
	ck_assert_ptr_eq(inbound(&fx, IPPROTO_UDP, "198.51.100.7", 53, "192.0.2.2", 5000), f2);
	ck_assert_ptr_eq(inbound(&fx, IPPROTO_UDP, "198.51.100.7", 53, "192.0.2.1", 5000), f1);
	/* Destination is neither (we moved to a new locator): most recent. */
	ck_assert_ptr_eq(inbound(&fx, IPPROTO_UDP, "198.51.100.7", 53, "192.0.2.99", 5000), f1);
	dime_flow_seen(f2, 200, 0, DIME_DIR_OUT);
	ck_assert_ptr_eq(inbound(&fx, IPPROTO_UDP, "198.51.100.7", 53, "192.0.2.99", 5000), f2);
	ck_assert_ptr_eq(inbound(&fx, IPPROTO_UDP, "198.51.100.7", 53, "192.0.2.1", 5000), f1);
	ck_assert_ptr_eq(dime_flow_lookup_in(fx.flows, IPPROTO_UDP, AF_INET, f1->hid, 53, 5000, NULL),
			 f2);

	/* Same local identifier, two remote identifiers of one peer (it moved
	 * between two sendto calls): the most recent wins. */
	struct dime_addr a2 = A("198.51.100.8");
	struct dime_flow_key k3 = K(IPPROTO_UDP, "192.0.2.1", 6000, "198.51.100.7", 53);
	struct dime_flow_key k4 = K(IPPROTO_UDP, "192.0.2.1", 6000, "198.51.100.8", 53);
	struct dime_flow *f3, *f4;

	ck_assert_int_eq(dime_hid_addr_add(fx.hids, f1->hid, DIME_HID_ACTIVE, &a2), 0);
	f3 = insert(&fx, &k3, 300);
	f4 = insert(&fx, &k4, 400);
	ck_assert_uint_eq(f3->hid, f4->hid);
	ck_assert_ptr_eq(inbound(&fx, IPPROTO_UDP, "198.51.100.8", 53, "192.0.2.1", 6000), f4);
	dime_flow_seen(f3, 500, 0, DIME_DIR_OUT);
	ck_assert_ptr_eq(inbound(&fx, IPPROTO_UDP, "198.51.100.8", 53, "192.0.2.1", 6000), f3);
	/* Deleting one leaves the other reachable. */
	dime_flow_del(fx.flows, f3);
	ck_assert_ptr_eq(inbound(&fx, IPPROTO_UDP, "198.51.100.7", 53, "192.0.2.1", 6000), f4);
	fx_free(&fx);
}
END_TEST

static uint32_t million_n(void)
{
	const char *env = getenv("DIME_TEST_FLOWS");

	if (env && *env)
		return (uint32_t)strtoul(env, NULL, 10);
	return 1000000;
}

/* Flow i: peer 2001:db8:b::<i % peers + 1>, local port 1024 + i / peers. */
static struct dime_flow_key million_key(uint32_t i, uint32_t peers)
{
	static const struct dime_addr lid = { .family = AF_INET6,
					      .a.u8 = { 0x20, 0x01, 0x0d, 0xb8, 0, 0xa, [15] = 1 } };
	static const struct dime_addr rid = { .family = AF_INET6,
					      .a.u8 = { 0x20, 0x01, 0x0d, 0xb8, 0, 0xb } };
	struct dime_flow_key k = {
		.proto = (i & 1) ? IPPROTO_UDP : IPPROTO_TCP,
		.lport = (uint16_t)(1024 + i / peers),
		.rport = 443,
		.lid = lid,
		.rid = rid,
	};

	k.rid.a.u32[3] = htonl(i % peers + 1);
	return k;
}

START_TEST(test_million_flows)
{
	const uint32_t n = million_n(), peers = 65536;
	struct fx fx;
	struct dime_hid_stats hs;

	ck_assert_uint_le(n, 60000u * peers);
	fx_init(&fx, n, peers);
	for (uint32_t i = 0; i < n; i++) {
		struct dime_flow_key k = million_key(i, peers);
		struct dime_flow *f;
		uint32_t h = dime_hid_lookup(fx.hids, &k.rid);

		if (h == DIME_HID_NONE)
			h = peer(&fx, &k.rid, &k.lid);
		HOT_ASSERT(dime_flow_insert(fx.flows, &k, h, i, &f) == 0);
	}
	ck_assert_uint_eq(dime_flow_count(fx.flows), n);
	struct dime_flow_key full = million_key(n, peers);
	struct dime_flow *f;

	ck_assert_int_eq(dime_flow_insert(fx.flows, &full, peer(&fx, &full.rid, &full.lid), 0, &f),
			 -ENOSPC);

	for (uint32_t i = 0; i < n; i++) {
		struct dime_flow_key k = million_key(i, peers);
		struct dime_flow *out = dime_flow_lookup_out(fx.flows, &k);
		uint32_t h = dime_hid_lookup(fx.hids, &k.rid);

		HOT_ASSERT(out && out->last_ms == i && out->hid == h && h != DIME_HID_NONE);
		HOT_ASSERT(dime_flow_lookup_in(fx.flows, k.proto, AF_INET6, h, k.rport, k.lport,
					       &k.lid) == out);
	}
	for (uint32_t i = 0; i < n; i++) {
		struct dime_flow_key k = million_key(i, peers);

		if (i & 2) {
			HOT_ASSERT(dime_flow_del_key(fx.flows, &k) == 0);
		} else {
			struct dime_flow *g = dime_flow_lookup_out(fx.flows, &k);

			HOT_ASSERT(g);
			dime_flow_del(fx.flows, g);
		}
	}
	ck_assert_uint_eq(dime_flow_count(fx.flows), 0);
	for (uint32_t h = dime_hid_next(fx.hids, DIME_HID_NONE); h; h = dime_hid_next(fx.hids, h))
		HOT_ASSERT(dime_hid_get(fx.hids, h)->refs == 0);
	/* Only the active addresses remain indexed; no bind leaked. */
	dime_hid_stats(fx.hids, &hs);
	ck_assert_uint_eq(hs.addrs, hs.count);
	uint32_t cursor = 0;

	ck_assert_ptr_null(dime_flow_iter(fx.flows, &cursor));
	struct dime_flow_key k0 = million_key(0, peers);

	ck_assert_ptr_null(dime_flow_lookup_out(fx.flows, &k0));
	fx_free(&fx);
}
END_TEST

START_TEST(test_tcp_states)
{
	enum dime_tcp_state s = DIME_TCP_NONE;

	/* Active open and orderly close. */
	s = dime_tcp_next(s, DIME_TCP_SYN, DIME_DIR_OUT);
	ck_assert_int_eq(s, DIME_TCP_SYN_SENT);
	s = dime_tcp_next(s, DIME_TCP_SYN | DIME_TCP_ACK, DIME_DIR_IN);
	ck_assert_int_eq(s, DIME_TCP_SYN_RECV);
	s = dime_tcp_next(s, DIME_TCP_ACK, DIME_DIR_OUT);
	ck_assert_int_eq(s, DIME_TCP_ESTABLISHED);
	s = dime_tcp_next(s, DIME_TCP_ACK, DIME_DIR_IN);
	ck_assert_int_eq(s, DIME_TCP_ESTABLISHED);
	s = dime_tcp_next(s, DIME_TCP_FIN | DIME_TCP_ACK, DIME_DIR_OUT);
	ck_assert_int_eq(s, DIME_TCP_FIN_OUT);
	s = dime_tcp_next(s, DIME_TCP_FIN | DIME_TCP_ACK, DIME_DIR_OUT);	/* retransmit */
	ck_assert_int_eq(s, DIME_TCP_FIN_OUT);
	s = dime_tcp_next(s, DIME_TCP_ACK, DIME_DIR_IN);
	ck_assert_int_eq(s, DIME_TCP_FIN_OUT);
	s = dime_tcp_next(s, DIME_TCP_FIN | DIME_TCP_ACK, DIME_DIR_IN);
	ck_assert_int_eq(s, DIME_TCP_CLOSING);
	/* A new SYN on the same tuple reopens it. */
	s = dime_tcp_next(s, DIME_TCP_SYN, DIME_DIR_OUT);
	ck_assert_int_eq(s, DIME_TCP_SYN_SENT);

	/* The peer closes first. */
	ck_assert_int_eq(dime_tcp_next(DIME_TCP_ESTABLISHED, DIME_TCP_FIN, DIME_DIR_IN),
			 DIME_TCP_FIN_IN);
	ck_assert_int_eq(dime_tcp_next(DIME_TCP_FIN_IN, DIME_TCP_FIN, DIME_DIR_OUT),
			 DIME_TCP_CLOSING);
	/* RST from anywhere closes. */
	ck_assert_int_eq(dime_tcp_next(DIME_TCP_ESTABLISHED, DIME_TCP_RST, DIME_DIR_IN),
			 DIME_TCP_CLOSED);
	ck_assert_int_eq(dime_tcp_next(DIME_TCP_SYN_SENT, DIME_TCP_RST | DIME_TCP_ACK, DIME_DIR_IN),
			 DIME_TCP_CLOSED);
	/* Mid-stream pickup (daemon restarted under a live connection). */
	ck_assert_int_eq(dime_tcp_next(DIME_TCP_NONE, DIME_TCP_ACK, DIME_DIR_IN),
			 DIME_TCP_ESTABLISHED);
	/* Retransmitted SYN+ACK does not knock an established flow back. */
	ck_assert_int_eq(dime_tcp_next(DIME_TCP_ESTABLISHED, DIME_TCP_SYN | DIME_TCP_ACK,
				       DIME_DIR_IN), DIME_TCP_ESTABLISHED);
	/* Only TCP flows track state. */
	struct dime_flow udp = { .proto = IPPROTO_UDP };

	dime_flow_seen(&udp, 9, DIME_TCP_SYN, DIME_DIR_OUT);
	ck_assert_uint_eq(udp.tcp_state, DIME_TCP_NONE);
	ck_assert_uint_eq(udp.last_ms, 9);
}
END_TEST

#define S(x) ((uint64_t)(x) * 1000)

START_TEST(test_expiry_timeouts)
{
	struct fx fx;
	struct dime_flow_key kest = K(IPPROTO_TCP, "192.0.2.1", 1, "198.51.100.1", 80);
	struct dime_flow_key ksyn = K(IPPROTO_TCP, "192.0.2.1", 2, "198.51.100.1", 80);
	struct dime_flow_key kfin = K(IPPROTO_TCP, "192.0.2.1", 3, "198.51.100.1", 80);
	struct dime_flow_key kudp = K(IPPROTO_UDP, "192.0.2.1", 4, "198.51.100.1", 53);
	struct dime_flow_key kicmp = K(IPPROTO_ICMP, "192.0.2.1", 5, "198.51.100.1", 5);
	struct dime_flow *f;
	const uint64_t t0 = S(1000);

	fx_init(&fx, 64, 4);
	f = insert(&fx, &kest, t0);
	dime_flow_seen(f, t0, DIME_TCP_SYN, DIME_DIR_OUT);
	dime_flow_seen(f, t0, DIME_TCP_SYN | DIME_TCP_ACK, DIME_DIR_IN);
	dime_flow_seen(f, t0, DIME_TCP_ACK, DIME_DIR_OUT);
	ck_assert_uint_eq(f->tcp_state, DIME_TCP_ESTABLISHED);
	ck_assert_uint_eq(dime_flow_timeout_ms(fx.flows, f), S(7200));
	f = insert(&fx, &ksyn, t0);
	dime_flow_seen(f, t0, DIME_TCP_SYN, DIME_DIR_OUT);
	ck_assert_uint_eq(dime_flow_timeout_ms(fx.flows, f), S(120));
	f = insert(&fx, &kfin, t0);
	dime_flow_seen(f, t0, DIME_TCP_ACK, DIME_DIR_IN);
	dime_flow_seen(f, t0, DIME_TCP_FIN, DIME_DIR_OUT);
	ck_assert_uint_eq(f->tcp_state, DIME_TCP_FIN_OUT);
	f = insert(&fx, &kudp, t0);
	ck_assert_uint_eq(dime_flow_timeout_ms(fx.flows, f), S(180));
	f = insert(&fx, &kicmp, t0);
	ck_assert_uint_eq(dime_flow_timeout_ms(fx.flows, f), S(30));

	/* A clock that runs backwards expires nothing. */
	ck_assert_uint_eq(dime_flow_expire(fx.flows, t0 - S(1), 1000), 0);
	ck_assert_uint_eq(dime_flow_expire(fx.flows, t0 + S(29), 1000), 0);
	ck_assert_uint_eq(dime_flow_expire(fx.flows, t0 + S(30), 1000), 1);
	ck_assert_ptr_null(dime_flow_lookup_out(fx.flows, &kicmp));
	ck_assert_uint_eq(dime_flow_expire(fx.flows, t0 + S(119), 1000), 0);
	/* UDP seen again at +100 s lives until +280 s. */
	dime_flow_seen(dime_flow_lookup_out(fx.flows, &kudp), t0 + S(100), 0, DIME_DIR_IN);
	ck_assert_uint_eq(dime_flow_expire(fx.flows, t0 + S(120), 1000), 2);	/* SYN_SENT, FIN_OUT */
	ck_assert_ptr_null(dime_flow_lookup_out(fx.flows, &ksyn));
	ck_assert_ptr_null(dime_flow_lookup_out(fx.flows, &kfin));
	ck_assert_uint_eq(dime_flow_expire(fx.flows, t0 + S(279), 1000), 0);
	ck_assert_uint_eq(dime_flow_expire(fx.flows, t0 + S(280), 1000), 1);
	ck_assert_ptr_null(dime_flow_lookup_out(fx.flows, &kudp));
	ck_assert_uint_eq(dime_flow_expire(fx.flows, t0 + S(7199), 1000), 0);
	ck_assert_ptr_nonnull(dime_flow_lookup_out(fx.flows, &kest));
	ck_assert_uint_eq(dime_flow_expire(fx.flows, t0 + S(7200), 1000), 1);
	ck_assert_uint_eq(dime_flow_count(fx.flows), 0);
	ck_assert_int_eq(fx.expired, 5);
	/* An empty table costs nothing. */
	ck_assert_uint_eq(dime_flow_expire(fx.flows, t0 + S(99999), 1000), 0);
	fx_free(&fx);
}
END_TEST

START_TEST(test_expiry_budget)
{
	enum { N = 100 };
	struct fx fx;
	struct dime_flow_key k[N];

	fx_init(&fx, 128, 4);
	for (int i = 0; i < N; i++) {
		k[i] = K(IPPROTO_UDP, "192.0.2.1", (uint16_t)(1000 + i), "198.51.100.1", 53);
		insert(&fx, &k[i], 0);
		/* Every third stays fresh. */
		if (i % 3 == 0)
			dime_flow_seen(dime_flow_lookup_out(fx.flows, &k[i]), S(500), 0, DIME_DIR_IN);
	}
	/* All idle ones are due at 180 s; each call visits at most 10 entries,
	 * continuing where the previous one stopped, so ten calls cover them. */
	size_t total = 0;

	for (int call = 0; call < 10; call++) {
		size_t n = dime_flow_expire(fx.flows, S(600), 10);

		ck_assert_uint_le(n, 10);
		total += n;
		ck_assert_uint_eq(dime_flow_count(fx.flows), N - total);
	}
	ck_assert_uint_eq(total, N - 34);
	for (int i = 0; i < N; i++) {
		if (i % 3 == 0)
			ck_assert_ptr_nonnull(dime_flow_lookup_out(fx.flows, &k[i]));
		else
			ck_assert_ptr_null(dime_flow_lookup_out(fx.flows, &k[i]));
	}
	/* Budget 0 does nothing. */
	ck_assert_uint_eq(dime_flow_expire(fx.flows, S(100000), 0), 0);
	fx_free(&fx);
}
END_TEST

START_TEST(test_hid_refs_to_zero_on_expiry)
{
	struct fx fx;
	struct dime_flow_key k1 = K(IPPROTO_UDP, "192.0.2.1", 1, "198.51.100.1", 53);
	struct dime_flow_key k2 = K(IPPROTO_ICMP, "192.0.2.1", 9, "198.51.100.1", 9);
	struct dime_flow *f;
	uint32_t h;

	fx_init(&fx, 8, 4);
	f = insert(&fx, &k1, 0);
	h = f->hid;
	insert(&fx, &k2, 0);
	ck_assert_uint_eq(refs(&fx, h), 2);
	ck_assert_uint_eq(dime_flow_expire(fx.flows, S(30), 100), 1);	/* ICMP */
	ck_assert_int_eq(fx.expired, 1);
	ck_assert_uint_eq(fx.last_refs, 1);
	ck_assert_uint_eq(dime_flow_expire(fx.flows, S(180), 100), 1);	/* UDP */
	ck_assert_int_eq(fx.expired, 2);
	ck_assert_uint_eq(fx.last_refs, 0);	/* the callback saw the last one go */
	ck_assert_uint_eq(refs(&fx, h), 0);
	/* The HID itself stays: evicting it is the caller's policy. */
	ck_assert_uint_eq(dime_hid_lookup(fx.hids, &k1.rid), h);
	fx_free(&fx);
}
END_TEST

/* An offloaded flow whose packets the kernel rewrites: idle for us, alive
 * for conntrack. keep() saying true refreshes it, false lets it go. */
START_TEST(test_offloaded_kept_while_keep_says_so)
{
	struct fx fx;
	struct dime_flow_key ku = K(IPPROTO_UDP, "192.0.2.1", 1, "198.51.100.1", 53);
	struct dime_flow_key kt = K(IPPROTO_TCP, "192.0.2.1", 2, "198.51.100.1", 80);
	struct dime_flow *f;

	fx_init_keep(&fx, 8, 4, true);
	f = insert(&fx, &ku, 0);
	f->offloaded = 1;
	fx.keep_answer = true;
	/* Not asked before the timeout: no round trip for fresh flows. */
	ck_assert_uint_eq(dime_flow_expire(fx.flows, S(179), 100), 0);
	ck_assert_int_eq(fx.keep_calls, 0);
	ck_assert_uint_eq(dime_flow_expire(fx.flows, S(180), 100), 0);
	ck_assert_int_eq(fx.keep_calls, 1);
	ck_assert_uint_eq(fx.keep_lport, 1);
	ck_assert_uint_eq(f->last_ms, S(180));
	ck_assert_ptr_eq(dime_flow_lookup_out(fx.flows, &ku), f);
	/* Refreshed: not asked again until one more timeout has passed. */
	ck_assert_uint_eq(dime_flow_expire(fx.flows, S(359), 100), 0);
	ck_assert_int_eq(fx.keep_calls, 1);
	ck_assert_uint_eq(dime_flow_expire(fx.flows, S(360), 100), 0);
	ck_assert_int_eq(fx.keep_calls, 2);
	ck_assert_uint_eq(f->last_ms, S(360));
	/* Conntrack forgot it: expires as usual, on_expire sees the bit. */
	fx.keep_answer = false;
	ck_assert_uint_eq(dime_flow_expire(fx.flows, S(540), 100), 1);
	ck_assert_int_eq(fx.keep_calls, 3);
	ck_assert_int_eq(fx.expired, 1);
	ck_assert_ptr_null(dime_flow_lookup_out(fx.flows, &ku));

	/* TCP established: asked at its own timeout; a slot reused after an
	 * offloaded flow starts without the bit. */
	f = insert(&fx, &kt, S(1000));
	ck_assert(!f->offloaded);
	dime_flow_seen(f, S(1000), DIME_TCP_ACK, DIME_DIR_OUT);
	f->offloaded = 1;
	fx.keep_answer = true;
	ck_assert_uint_eq(dime_flow_expire(fx.flows, S(1000 + 7199), 100), 0);
	ck_assert_int_eq(fx.keep_calls, 3);
	ck_assert_uint_eq(dime_flow_expire(fx.flows, S(1000 + 7200), 100), 0);
	ck_assert_int_eq(fx.keep_calls, 4);
	ck_assert_uint_eq(fx.keep_lport, 2);
	ck_assert_uint_eq(dime_flow_count(fx.flows), 1);
	fx_free(&fx);
}
END_TEST

/* An unmoved flow's packets never pass dimed either (the fast path):
 * every idle flow is asked about, offloaded or not. */
START_TEST(test_keep_asked_for_every_idle_flow)
{
	struct fx fx;
	struct dime_flow_key k1 = K(IPPROTO_UDP, "192.0.2.1", 1, "198.51.100.1", 53);
	struct dime_flow_key k2 = K(IPPROTO_UDP, "192.0.2.1", 2, "198.51.100.1", 53);
	struct dime_flow_key k3 = K(IPPROTO_UDP, "192.0.2.1", 3, "198.51.100.1", 53);

	fx_init_keep(&fx, 8, 4, true);
	insert(&fx, &k1, 0);
	insert(&fx, &k2, 0)->offloaded = 1;
	insert(&fx, &k3, 0);
	fx.keep_answer = true;
	ck_assert_uint_eq(dime_flow_expire(fx.flows, S(179), 100), 0);
	ck_assert_int_eq(fx.keep_calls, 0);
	ck_assert_uint_eq(dime_flow_expire(fx.flows, S(180), 100), 0);
	ck_assert_int_eq(fx.keep_calls, 3);
	ck_assert_uint_eq(dime_flow_count(fx.flows), 3);
	/* The budget bounds the calls too: one visit, at most one question;
	 * conntrack forgot them all, so they all go. */
	fx.keep_answer = false;
	size_t first = dime_flow_expire(fx.flows, S(360), 1);

	ck_assert_uint_le(first, 1);
	ck_assert_int_le(fx.keep_calls, 4);
	ck_assert_uint_eq(first + dime_flow_expire(fx.flows, S(360), 100), 3);
	ck_assert_uint_eq(dime_flow_count(fx.flows), 0);
	fx_free(&fx);
}
END_TEST

START_TEST(test_keep_null_expires_offloaded)
{
	struct fx fx;
	struct dime_flow_key k = K(IPPROTO_UDP, "192.0.2.1", 1, "198.51.100.1", 53);

	fx_init(&fx, 8, 4);
	insert(&fx, &k, 0)->offloaded = 1;
	ck_assert_uint_eq(dime_flow_expire(fx.flows, S(179), 100), 0);
	ck_assert_uint_eq(dime_flow_expire(fx.flows, S(180), 100), 1);
	ck_assert_int_eq(fx.keep_calls, 0);
	ck_assert_int_eq(fx.expired, 1);
	ck_assert_ptr_null(dime_flow_lookup_out(fx.flows, &k));
	fx_free(&fx);
}
END_TEST

START_TEST(test_stale_hid)
{
	struct fx fx;
	struct dime_flow_key k = K(IPPROTO_TCP, "192.0.2.1", 1, "198.51.100.1", 80);
	struct dime_flow_key k2 = K(IPPROTO_TCP, "192.0.2.1", 2, "198.51.100.1", 80);
	struct dime_flow *f;
	uint32_t h, h2;

	fx_init(&fx, 8, 4);
	f = insert(&fx, &k, 0);
	h = f->hid;
	/* The peer becomes unreachable and its HID is destroyed under a live
	 * flow: the flow's handle goes stale, lookups by address stop. */
	ck_assert_int_eq(dime_hid_destroy(fx.hids, h), 0);
	ck_assert_ptr_null(dime_hid_get(fx.hids, f->hid));
	ck_assert_uint_eq(dime_hid_lookup(fx.hids, &k.rid), DIME_HID_NONE);
	ck_assert_int_eq(dime_flow_insert(fx.flows, &k2, h, 0, &f), -ESTALE);
	/* A new HID for the same address coexists with the dead flow. */
	h2 = peer(&fx, &k2.rid, &k2.lid);
	ck_assert_uint_ne(h2, h);
	f = insert(&fx, &k2, 1);
	ck_assert_uint_eq(f->hid, h2);
	ck_assert_ptr_eq(inbound(&fx, IPPROTO_TCP, "198.51.100.1", 80, "192.0.2.1", 2), f);
	ck_assert_ptr_null(inbound(&fx, IPPROTO_TCP, "198.51.100.1", 80, "192.0.2.1", 1));
	/* Deleting the dead flow leaves the new owner alone. */
	ck_assert_int_eq(dime_flow_del_key(fx.flows, &k), 0);
	ck_assert_uint_eq(refs(&fx, h2), 1);
	ck_assert_uint_eq(dime_hid_lookup(fx.hids, &k.rid), h2);
	fx_free(&fx);
}
END_TEST

/* n keys whose outbound home bucket is `home`, found by trying ports. */
static int out_colliding(struct fx *fx, uint32_t buckets, uint32_t home, struct dime_flow_key *out,
			 int want)
{
	int n = 0;

	for (uint32_t p = 1; n < want && p < 65536; p++) {
		struct dime_flow_key k = K(IPPROTO_TCP, "192.0.2.1", (uint16_t)p, "198.51.100.1", 80);

		if ((dime_flow_hash_out(fx->flows, &k) & (buckets - 1)) == home)
			out[n++] = k;
	}
	return n;
}

START_TEST(test_forced_collisions)
{
	struct fx fx;
	struct dime_flow_stats st;
	struct dime_flow_key last[6], first[4];
	struct dime_flow *f[6];

	fx_init(&fx, 11, 4);	/* 16 buckets per index */
	dime_flow_stats(fx.flows, &st);
	ck_assert_uint_eq(st.buckets, 16);
	/* Six keys homed in the last bucket: their run wraps to bucket 0,
	 * where four more are homed. */
	ck_assert_int_eq(out_colliding(&fx, st.buckets, st.buckets - 1, last, 6), 6);
	ck_assert_int_eq(out_colliding(&fx, st.buckets, 0, first, 4), 4);
	for (int i = 0; i < 6; i++)
		f[i] = insert(&fx, &last[i], (uint64_t)i);
	for (int i = 0; i < 4; i++)
		insert(&fx, &first[i], 0);
	for (int i = 0; i < 6; i++) {
		ck_assert_ptr_eq(dime_flow_lookup_out(fx.flows, &last[i]), f[i]);
		ck_assert_ptr_eq(dime_flow_lookup_in(fx.flows, IPPROTO_TCP, AF_INET, f[i]->hid, 80,
						     last[i].lport, NULL), f[i]);
	}
	dime_flow_del(fx.flows, f[1]);
	dime_flow_del(fx.flows, f[4]);
	ck_assert_int_eq(dime_flow_del_key(fx.flows, &first[0]), 0);
	for (int i = 0; i < 6; i++) {
		struct dime_flow *g = dime_flow_lookup_out(fx.flows, &last[i]);

		if (i == 1 || i == 4)
			ck_assert_ptr_null(g);
		else
			ck_assert_ptr_nonnull(g);
	}
	for (int i = 1; i < 4; i++)
		ck_assert_ptr_nonnull(dime_flow_lookup_out(fx.flows, &first[i]));
	ck_assert_ptr_null(dime_flow_lookup_out(fx.flows, &first[0]));

	/* The seed decides where keys land: a fixed one is reproducible, and
	 * another scatters the same keys differently. */
	struct dime_flow_table *other;
	struct dime_flow_config fc = { .capacity = 11, .seed = { 1, 2 } };
	int same = 0;

	ck_assert_int_eq(dime_flow_table_new(&other, &fc, fx.hids), 0);
	for (int i = 0; i < 6; i++)
		same += (dime_flow_hash_out(other, &last[i]) & 15) == 15;
	ck_assert_int_lt(same, 6);
	fc.seed = seed;
	dime_flow_table_free(other);
	ck_assert_int_eq(dime_flow_table_new(&other, &fc, fx.hids), 0);
	for (int i = 0; i < 6; i++)
		ck_assert_uint_eq(dime_flow_hash_out(other, &last[i]),
				  dime_flow_hash_out(fx.flows, &last[i]));
	dime_flow_table_free(other);
	fx_free(&fx);
}
END_TEST

/* How many distinct hashes 32 keys give when one field varies. */
static int spread_out(struct fx *fx, int field, bool v6)
{
	uint32_t h[32];
	int distinct = 0;

	for (int i = 0; i < 32; i++) {
		struct dime_flow_key k = v6 ? K(IPPROTO_UDP, "2001:db8::1", 1000, "2001:db8::2", 53)
					    : K(IPPROTO_UDP, "192.0.2.1", 1000, "198.51.100.2", 53);

		switch (field) {
		case 0: k.lid.a.u8[v6 ? 15 : 3] ^= (uint8_t)i; break;
		case 1: k.rid.a.u8[v6 ? 15 : 3] ^= (uint8_t)i; break;
		case 2: k.rid.a.u8[v6 ? 1 : 0] ^= (uint8_t)i; break;
		case 3: k.lport ^= (uint16_t)i; break;
		case 4: k.rport ^= (uint16_t)i; break;
		default: k.proto = (uint8_t)i; break;
		}
		h[i] = dime_flow_hash_out(fx->flows, &k);
		distinct++;
		for (int j = 0; j < i; j++)
			if (h[j] == h[i]) {
				distinct--;
				break;
			}
	}
	return distinct;
}

START_TEST(test_hash_uses_every_field)
{
	struct fx fx;

	fx_init(&fx, 16, 4);
	for (int field = 0; field < 6; field++) {
		ck_assert_int_eq(spread_out(&fx, field, false), 32);
		ck_assert_int_eq(spread_out(&fx, field, true), 32);
	}
	for (int field = 0; field < 4; field++) {
		uint32_t h[32];

		for (int i = 0; i < 32; i++)
			h[i] = dime_flow_hash_in(fx.flows, field == 0 ? (uint8_t)i : IPPROTO_TCP, AF_INET,
						 field == 1 ? 100u + (uint32_t)i : 100u,
						 field == 2 ? (uint16_t)i : 80,
						 field == 3 ? (uint16_t)i : 1000);
		for (int i = 0; i < 32; i++)
			for (int j = 0; j < i; j++)
				ck_assert_uint_ne(h[i], h[j]);
	}
	fx_free(&fx);
}
END_TEST

START_TEST(test_churn_model)
{
	/* Random inserts and deletes near the 3/4 load limit of 64 buckets,
	 * over few peers and ports so inbound keys share buckets too; after
	 * every step each key is looked up both ways against a shadow array. */
	enum { NKEY = 96, CAP = 47 };
	struct fx fx;
	struct dime_flow_key k[NKEY];
	struct dime_flow *live[NKEY] = { 0 };
	struct dime_flow_stats st;
	unsigned int rnd = 4242;
	uint32_t count = 0;
	char lid[32], rid[32];

	fx_init(&fx, CAP, 8);
	dime_flow_stats(fx.flows, &st);
	ck_assert_uint_eq(st.buckets, 64);
	for (int i = 0; i < NKEY; i++) {
		snprintf(lid, sizeof(lid), "192.0.2.%d", 1 + i % 3);
		snprintf(rid, sizeof(rid), "198.51.100.%d", 1 + i % 4);
		k[i] = K(i % 2 ? IPPROTO_UDP : IPPROTO_TCP, lid, (uint16_t)(1000 + i % 5), rid,
			 (uint16_t)(80 + i / 48));
	}
	for (int step = 0; step < 20000; step++) {
		int i = rand_r(&rnd) % NKEY;

		if (live[i]) {
			dime_flow_del(fx.flows, live[i]);
			live[i] = NULL;
			count--;
		} else if (count < CAP) {
			live[i] = insert(&fx, &k[i], (uint64_t)step);
			count++;
		} else {
			struct dime_flow *f;

			HOT_ASSERT(dime_flow_insert(fx.flows, &k[i], peer(&fx, &k[i].rid, &k[i].lid),
						    0, &f) == -ENOSPC);
		}
		HOT_ASSERT(dime_flow_count(fx.flows) == count);
		for (int j = 0; j < NKEY; j++) {
			struct dime_flow *in;

			HOT_ASSERT(dime_flow_lookup_out(fx.flows, &k[j]) == live[j]);
			in = dime_flow_lookup_in(fx.flows, k[j].proto, AF_INET,
						 dime_hid_lookup(fx.hids, &k[j].rid), k[j].rport,
						 k[j].lport, &k[j].lid);
			/* Inbound finds this flow, or a sibling bound to another
			 * local identifier when this one is gone. */
			if (live[j])
				HOT_ASSERT(in == live[j]);
			else if (in)
				HOT_ASSERT(!dime_addr_eq(&in->lid, &k[j].lid) && in->lport == k[j].lport &&
					   in->rport == k[j].rport && dime_addr_eq(&in->rid, &k[j].rid));
		}
	}
	fx_free(&fx);
}
END_TEST

START_TEST(test_memory_budget)
{
	/* Whatever the capacity, allocated bytes per flow stay under 128,
	 * including both indexes; worst cases sit just above a power of two
	 * times 3/4. */
	const uint32_t caps[] = { 1000, 786433, 1000000, 1u << 20, 3145729, 1u << 22 };
	struct dime_hid_table *hids;
	struct dime_hid_config hc = { .capacity = 1, .max_addrs = 1, .seed = seed };

	ck_assert_int_eq(dime_hid_table_new(&hids, &hc), 0);
	ck_assert_uint_eq(sizeof(struct dime_flow), 64);
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		struct dime_flow_config fc = { .capacity = caps[i], .seed = seed };
		struct dime_flow_table *t;
		struct dime_flow_stats st;

		ck_assert_int_eq(dime_flow_table_new(&t, &fc, hids), 0);
		dime_flow_stats(t, &st);
		ck_assert_uint_le(st.bytes / caps[i], 128);
		ck_assert_uint_le(caps[i], st.buckets * 3 / 4);	/* load factor */
		dime_flow_table_free(t);
	}
	struct dime_flow_config bad = { .capacity = DIME_FLOW_CAPACITY_MAX + 1, .seed = seed };
	struct dime_flow_table *t;

	ck_assert_int_eq(dime_flow_table_new(&t, &bad, hids), -EINVAL);
	bad.capacity = 0;
	ck_assert_int_eq(dime_flow_table_new(&t, &bad, hids), -EINVAL);
	dime_hid_table_free(hids);
}
END_TEST

static Suite *flow_suite(void)
{
	Suite *s = suite_create("flow");
	TCase *tc = tcase_create("core");
	TCase *big = tcase_create("million");

	tcase_add_test(tc, test_insert_lookup_both_ways);
	tcase_add_test(tc, test_fig3a_shared_hid);
	tcase_add_test(tc, test_inbound_tiebreak);
	tcase_add_test(tc, test_tcp_states);
	tcase_add_test(tc, test_expiry_timeouts);
	tcase_add_test(tc, test_expiry_budget);
	tcase_add_test(tc, test_hid_refs_to_zero_on_expiry);
	tcase_add_test(tc, test_offloaded_kept_while_keep_says_so);
	tcase_add_test(tc, test_keep_asked_for_every_idle_flow);
	tcase_add_test(tc, test_keep_null_expires_offloaded);
	tcase_add_test(tc, test_stale_hid);
	tcase_add_test(tc, test_forced_collisions);
	tcase_add_test(tc, test_hash_uses_every_field);
	tcase_add_test(tc, test_churn_model);
	tcase_add_test(tc, test_memory_budget);
	suite_add_tcase(s, tc);
	tcase_set_timeout(big, 60);
	tcase_add_test(big, test_million_flows);
	suite_add_tcase(s, big);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(flow_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
