// SPDX-License-Identifier: BSD-2-Clause
/*
 * Check suite for offload.c's pure parts: the nft table's text and the
 * nf_tables batches, parsed back attribute by attribute. The kernel's
 * side (the rules really rewrite, the batches really apply) is the netns
 * suite's: tests/netns/stacktrans.sh checks the counters and the cleanup.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "dime/offload.h"

static struct dime_addr A(const char *s)
{
	struct dime_addr a;

	ck_assert_int_eq(dime_addr_parse(&a, s), 0);
	return a;
}

static struct offload_flow flow4(void)
{
	struct offload_flow f = { .proto = IPPROTO_TCP, .lport = 40000, .rport = 80 };

	f.lid = A("192.0.2.10");
	f.rid = A("203.0.113.130");
	f.lloc = A("198.51.100.10");
	f.rloc = A("203.0.113.130");
	return f;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

START_TEST(ruleset_has_maps_chains_and_mark)
{
	static char buf[16384];
	int n = offload_render_ruleset(0x4d000000, buf, sizeof(buf));

	ck_assert_int_gt(n, 0);
	ck_assert_uint_eq(strlen(buf), (size_t)n);
	/* Replaces a stale table in the same transaction. */
	ck_assert_ptr_nonnull(strstr(buf, "table inet dimed { }\ndelete table inet dimed\n"));
	/* Created asleep: no flow is handed over yet. */
	ck_assert_ptr_nonnull(strstr(buf, "table inet dimed {\n\tflags dormant;\n"));
	ck_assert_uint_eq(count(buf, "\tmap "), 8);
	ck_assert_uint_eq(count(buf, ": ipv4_addr; }"), 4);
	ck_assert_uint_eq(count(buf, ": ipv6_addr; }"), 4);
	ck_assert_ptr_nonnull(strstr(buf, "type route hook output priority -160;"));
	ck_assert_ptr_nonnull(strstr(buf, "type filter hook prerouting priority -310;"));
	/* Two protocols x two families x two directions, each marked and counted. */
	ck_assert_uint_eq(count(buf, "meta mark set meta mark | 0x4d000000"), 8);
	ck_assert_uint_eq(count(buf, "counter name \"out\""), 4);
	ck_assert_uint_eq(count(buf, "counter name \"in\""), 4);
	ck_assert_uint_eq(count(buf, "udp checksum != 0"), 4);
	/* Outbound: destination first; inbound: source first. */
	ck_assert_ptr_nonnull(strstr(buf, "meta l4proto tcp ip daddr set ip saddr . ip daddr . meta l4proto . th sport . th dport map @o4d ip saddr set"));
	ck_assert_ptr_nonnull(strstr(buf, "meta l4proto tcp ip6 saddr set ip6 saddr . ip6 daddr . meta l4proto . th sport . th dport map @i6s ip6 daddr set"));
}
END_TEST

START_TEST(ruleset_refuses_what_it_cannot_write)
{
	static char buf[16384];
	int full = offload_render_ruleset(0x1, buf, sizeof(buf));

	ck_assert_int_eq(offload_render_ruleset(0, buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(offload_render_ruleset(1, buf, 0), -ENOSPC);
	for (int size = 1; size <= full; size += 97)
		ck_assert_int_eq(offload_render_ruleset(1, buf, (size_t)size), -ENOSPC);
	ck_assert_int_eq(offload_render_ruleset(1, buf, (size_t)full + 1), full);
}
END_TEST

/* Walk a batch: begin, msgs, end. Returns the messages between. */
static int batch_msgs(const uint8_t *buf, size_t len, const struct nlmsghdr **msgs, int max)
{
	const struct nlmsghdr *nlh = (const void *)buf;
	int left = (int)len, n = 0, i = 0;

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left), i++) {
		const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);

		if (i == 0) {
			ck_assert_uint_eq(nlh->nlmsg_type, NFNL_MSG_BATCH_BEGIN);
			ck_assert_uint_eq(ntohs(g->res_id), NFNL_SUBSYS_NFTABLES);
			continue;
		}
		if (nlh->nlmsg_type == NFNL_MSG_BATCH_END) {
			ck_assert_int_eq(left - (int)nlh->nlmsg_len, 0);
			return n;
		}
		ck_assert_int_lt(n, max);
		ck_assert_uint_eq(g->nfgen_family, NFPROTO_INET);
		ck_assert(nlh->nlmsg_flags & NLM_F_ACK);
		msgs[n++] = nlh;
	}
	ck_abort_msg("batch without end");
	return -1;
}

struct elem {
	const char *table, *set;
	const uint8_t *key, *data;
	size_t klen, dlen;
	bool has_elems;
};

static int attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;

	tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

static struct elem elem_of(const struct nlmsghdr *nlh)
{
	const struct nlattr *tb[NFTA_SET_ELEM_LIST_MAX + 1] = { 0 }, *eb[NFTA_SET_ELEM_MAX + 1] = { 0 };
	const struct nlattr *vb[NFTA_DATA_MAX + 1] = { 0 }, *db[NFTA_DATA_MAX + 1] = { 0 };
	struct elem e = { 0 };
	const struct nlattr *first;

	ck_assert_int_eq(mnl_attr_parse(nlh, sizeof(struct nfgenmsg), attr_cb, tb), MNL_CB_OK);
	e.table = mnl_attr_get_str(tb[NFTA_SET_ELEM_LIST_TABLE]);
	e.set = mnl_attr_get_str(tb[NFTA_SET_ELEM_LIST_SET]);
	if (!tb[NFTA_SET_ELEM_LIST_ELEMENTS])
		return e;
	e.has_elems = true;
	first = mnl_attr_get_payload(tb[NFTA_SET_ELEM_LIST_ELEMENTS]);
	ck_assert_uint_eq(mnl_attr_get_type(first), NFTA_LIST_ELEM);
	ck_assert_int_eq(mnl_attr_parse_nested(first, attr_cb, eb), MNL_CB_OK);
	ck_assert_ptr_nonnull(eb[NFTA_SET_ELEM_KEY]);
	ck_assert_int_eq(mnl_attr_parse_nested(eb[NFTA_SET_ELEM_KEY], attr_cb, vb), MNL_CB_OK);
	e.key = mnl_attr_get_payload(vb[NFTA_DATA_VALUE]);
	e.klen = mnl_attr_get_payload_len(vb[NFTA_DATA_VALUE]);
	if (eb[NFTA_SET_ELEM_DATA]) {
		ck_assert_int_eq(mnl_attr_parse_nested(eb[NFTA_SET_ELEM_DATA], attr_cb, db), MNL_CB_OK);
		e.data = mnl_attr_get_payload(db[NFTA_DATA_VALUE]);
		e.dlen = mnl_attr_get_payload_len(db[NFTA_DATA_VALUE]);
	}
	return e;
}

/* The expected key: a . b . proto . sport . dport, 4-byte registers. */
static void key_expect(uint8_t *k, size_t *klen, const char *a, const char *b, uint16_t sport,
		       uint16_t dport)
{
	struct dime_addr x = A(a), y = A(b);
	size_t al = dime_addr_len(&x);

	memset(k, 0, 44);
	memcpy(k, x.a.u8, al);
	memcpy(k + al, y.a.u8, al);
	k[2 * al] = IPPROTO_TCP;
	k[2 * al + 4] = (uint8_t)(sport >> 8);
	k[2 * al + 5] = (uint8_t)sport;
	k[2 * al + 8] = (uint8_t)(dport >> 8);
	k[2 * al + 9] = (uint8_t)dport;
	*klen = 2 * al + 12;
}

static void assert_elem(const struct nlmsghdr *nlh, uint16_t type, const char *set, const char *a,
			const char *b, uint16_t sport, uint16_t dport, const char *data)
{
	struct elem e = elem_of(nlh);
	uint8_t k[44];
	size_t klen;

	ck_assert_uint_eq(nlh->nlmsg_type, NFNL_SUBSYS_NFTABLES << 8 | type);
	ck_assert_str_eq(e.table, "dimed");
	ck_assert_str_eq(e.set, set);
	key_expect(k, &klen, a, b, sport, dport);
	ck_assert_uint_eq(e.klen, klen);
	ck_assert_mem_eq(e.key, k, klen);
	if (!data) {
		ck_assert_ptr_null(e.data);
		return;
	}
	struct dime_addr d = A(data);

	ck_assert_uint_eq(e.dlen, dime_addr_len(&d));
	ck_assert_mem_eq(e.data, d.a.u8, e.dlen);
}

START_TEST(flow_batch_adds_four_elements)
{
	static uint8_t buf[4096];
	const struct nlmsghdr *m[8];
	struct offload_flow f = flow4();
	size_t len = 0;
	uint32_t seq = 100;

	ck_assert_int_eq(offload_build_flow(buf, sizeof(buf), &len, &seq, true, &f), 0);
	ck_assert_uint_eq(seq, 106);
	ck_assert_int_eq(batch_msgs(buf, len, m, 8), 4);
	ck_assert(m[0]->nlmsg_flags & NLM_F_CREATE);
	assert_elem(m[0], NFT_MSG_NEWSETELEM, "o4d", "192.0.2.10", "203.0.113.130", 40000, 80, "203.0.113.130");
	assert_elem(m[1], NFT_MSG_NEWSETELEM, "o4s", "192.0.2.10", "203.0.113.130", 40000, 80, "198.51.100.10");
	assert_elem(m[2], NFT_MSG_NEWSETELEM, "i4s", "203.0.113.130", "198.51.100.10", 80, 40000, "203.0.113.130");
	assert_elem(m[3], NFT_MSG_NEWSETELEM, "i4d", "203.0.113.130", "198.51.100.10", 80, 40000, "192.0.2.10");
}
END_TEST

START_TEST(flow_batch_removes_by_key_ipv6)
{
	static uint8_t buf[4096];
	const struct nlmsghdr *m[8];
	struct offload_flow f = flow4();
	size_t len = 0;
	uint32_t seq = 1;

	f.lid = A("2001:db8:c::130");
	f.lloc = f.lid;
	f.rid = A("2001:db8:1::10");
	f.rloc = A("2001:db8:2::10");
	f.lport = 5201;
	f.rport = 33000;
	ck_assert_int_eq(offload_build_flow(buf, sizeof(buf), &len, &seq, false, &f), 0);
	ck_assert_int_eq(batch_msgs(buf, len, m, 8), 4);
	assert_elem(m[0], NFT_MSG_DELSETELEM, "o6d", "2001:db8:c::130", "2001:db8:1::10", 5201, 33000, NULL);
	assert_elem(m[1], NFT_MSG_DELSETELEM, "o6s", "2001:db8:c::130", "2001:db8:2::10", 5201, 33000, NULL);
	assert_elem(m[2], NFT_MSG_DELSETELEM, "i6s", "2001:db8:2::10", "2001:db8:c::130", 33000, 5201, NULL);
	assert_elem(m[3], NFT_MSG_DELSETELEM, "i6d", "2001:db8:1::10", "2001:db8:c::130", 33000, 5201, NULL);
}
END_TEST

START_TEST(flow_batch_refuses_bad_flows_and_small_buffers)
{
	static uint8_t buf[4096];
	struct offload_flow f = flow4(), bad;
	size_t len = 0;
	uint32_t seq = 1;

	bad = f;
	bad.proto = IPPROTO_ICMP;
	ck_assert_int_eq(offload_build_flow(buf, sizeof(buf), &len, &seq, true, &bad), -EINVAL);
	bad = f;
	bad.rloc = A("2001:db8:2::10");
	ck_assert_int_eq(offload_build_flow(buf, sizeof(buf), &len, &seq, true, &bad), -EINVAL);
	bad = f;
	bad.lport = 0;
	ck_assert_int_eq(offload_build_flow(buf, sizeof(buf), &len, &seq, true, &bad), -EINVAL);
	for (size_t size = 0; size < 512; size += 13)
		ck_assert_int_eq(offload_build_flow(buf, size, &len, &seq, true, &f), -ENOSPC);
	ck_assert_uint_eq(len, 0);
	ck_assert_uint_eq(seq, 1);
	/* Appends after what is there. */
	len = 8;
	ck_assert_int_eq(offload_build_flow(buf, sizeof(buf), &len, &seq, true, &f), 0);
	ck_assert_uint_gt(len, 8);
}
END_TEST

START_TEST(flush_empties_eight_maps_and_table_delete)
{
	static uint8_t buf[4096];
	const struct nlmsghdr *m[10];
	size_t len = 0;
	uint32_t seq = 1;
	struct elem e;

	ck_assert_int_eq(offload_build_flush(buf, sizeof(buf), &len, &seq), 0);
	ck_assert_int_eq(batch_msgs(buf, len, m, 10), 8);
	for (int i = 0; i < 8; i++) {
		ck_assert_uint_eq(m[i]->nlmsg_type, NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_DELSETELEM);
		e = elem_of(m[i]);
		ck_assert(!e.has_elems);
	}
	len = 0;
	ck_assert_int_eq(offload_build_table_delete(buf, sizeof(buf), &len, &seq), 0);
	ck_assert_int_eq(batch_msgs(buf, len, m, 10), 1);
	ck_assert_uint_eq(m[0]->nlmsg_type, NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_DELTABLE);
}
END_TEST

/* Waking the table and putting it to sleep: NEWTABLE on the existing
 * table, no NLM_F_EXCL or NLM_F_CREATE, with the dormant flag or none. */
START_TEST(table_dormant_batches)
{
	static uint8_t buf[1024];
	const struct nlmsghdr *m[4];
	const struct nlattr *tb[NFTA_TABLE_MAX + 1];
	size_t len;
	uint32_t seq = 7;

	for (int dormant = 0; dormant < 2; dormant++) {
		memset(tb, 0, sizeof(tb));
		len = 0;
		ck_assert_int_eq(offload_build_table_dormant(buf, sizeof(buf), &len, &seq, dormant), 0);
		ck_assert_int_eq(batch_msgs(buf, len, m, 4), 1);
		ck_assert_uint_eq(m[0]->nlmsg_type, NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWTABLE);
		ck_assert(!(m[0]->nlmsg_flags & (NLM_F_EXCL | NLM_F_CREATE | NLM_F_REPLACE)));
		ck_assert_int_eq(mnl_attr_parse(m[0], sizeof(struct nfgenmsg), attr_cb, tb), MNL_CB_OK);
		ck_assert_str_eq(mnl_attr_get_str(tb[NFTA_TABLE_NAME]), "dimed");
		ck_assert_uint_eq(ntohl(mnl_attr_get_u32(tb[NFTA_TABLE_FLAGS])),
				  dormant ? NFT_TABLE_F_DORMANT : 0);
	}
	len = sizeof(buf) - 16;
	ck_assert_int_eq(offload_build_table_dormant(buf, sizeof(buf), &len, &seq, true), -ENOSPC);
}
END_TEST

static Suite *offload_suite(void)
{
	Suite *s = suite_create("offload");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, ruleset_has_maps_chains_and_mark);
	tcase_add_test(tc, ruleset_refuses_what_it_cannot_write);
	tcase_add_test(tc, flow_batch_adds_four_elements);
	tcase_add_test(tc, flow_batch_removes_by_key_ipv6);
	tcase_add_test(tc, flow_batch_refuses_bad_flows_and_small_buffers);
	tcase_add_test(tc, flush_empties_eight_maps_and_table_delete);
	tcase_add_test(tc, table_dormant_batches);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(offload_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
