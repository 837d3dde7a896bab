// SPDX-License-Identifier: BSD-2-Clause
/*
 * Check suite for the ctnetlink parser (ctnl.c): messages built by hand
 * with libmnl as the kernel lays them out (nested tuples, big-endian
 * values), for IPv4 TCP, IPv6 UDP, ICMP and ICMPv6 echo, the event kinds,
 * and every way a message can be short or wrong: truncation at every
 * length, missing or inconsistent tuples, wrong attribute sizes, bogus
 * attribute lengths, and random corruption (which must never crash).
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tcp.h>

#include "dime/ctnl.h"
#include "testutil.h"

static unsigned char buf[4096] __attribute__((aligned(4)));

static struct nlmsghdr *ct_msg(uint8_t type, uint16_t flags, uint8_t family)
{
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | type;
	nlh->nlmsg_flags = flags;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = family;
	nfg->version = NFNETLINK_V0;
	return nlh;
}

struct tup {
	const char *src, *dst;
	uint8_t proto;
	uint16_t sport, dport;	/* ICMP: sport is the id */
};

static void put_ip(struct nlmsghdr *nlh, const struct tup *t)
{
	struct dime_addr s = A(t->src), d = A(t->dst);
	struct nlattr *ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);

	if (s.family == AF_INET) {
		mnl_attr_put(nlh, CTA_IP_V4_SRC, 4, s.a.u8);
		mnl_attr_put(nlh, CTA_IP_V4_DST, 4, d.a.u8);
	} else {
		mnl_attr_put(nlh, CTA_IP_V6_SRC, 16, s.a.u8);
		mnl_attr_put(nlh, CTA_IP_V6_DST, 16, d.a.u8);
	}
	mnl_attr_nest_end(nlh, ip);
}

static void put_proto(struct nlmsghdr *nlh, const struct tup *t)
{
	struct nlattr *p = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);

	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, t->proto);
	if (t->proto == IPPROTO_ICMP) {
		mnl_attr_put_u16(nlh, CTA_PROTO_ICMP_ID, htons(t->sport));
		mnl_attr_put_u8(nlh, CTA_PROTO_ICMP_TYPE, 8);
		mnl_attr_put_u8(nlh, CTA_PROTO_ICMP_CODE, 0);
	} else if (t->proto == IPPROTO_ICMPV6) {
		mnl_attr_put_u16(nlh, CTA_PROTO_ICMPV6_ID, htons(t->sport));
		mnl_attr_put_u8(nlh, CTA_PROTO_ICMPV6_TYPE, 128);
		mnl_attr_put_u8(nlh, CTA_PROTO_ICMPV6_CODE, 0);
	} else {
		mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(t->sport));
		mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(t->dport));
	}
	mnl_attr_nest_end(nlh, p);
}

static void put_tuple(struct nlmsghdr *nlh, uint16_t type, const struct tup *t)
{
	struct nlattr *n = mnl_attr_nest_start(nlh, type);

	put_ip(nlh, t);
	put_proto(nlh, t);
	mnl_attr_nest_end(nlh, n);
}

static void put_tcp_state(struct nlmsghdr *nlh, uint8_t state)
{
	struct nlattr *pi = mnl_attr_nest_start(nlh, CTA_PROTOINFO);
	struct nlattr *tcp = mnl_attr_nest_start(nlh, CTA_PROTOINFO_TCP);

	mnl_attr_put_u8(nlh, CTA_PROTOINFO_TCP_STATE, state);
	mnl_attr_put_u8(nlh, CTA_PROTOINFO_TCP_WSCALE_ORIGINAL, 7);
	mnl_attr_nest_end(nlh, tcp);
	mnl_attr_nest_end(nlh, pi);
}

static const struct tup tcp4_o = { "192.0.2.10", "203.0.113.130", IPPROTO_TCP, 40000, 443 };
static const struct tup tcp4_r = { "203.0.113.130", "192.0.2.10", IPPROTO_TCP, 443, 40000 };

/* A NEW event for tcp4 as the kernel sends it: tuples first. */
static struct nlmsghdr *tcp4_new(void)
{
	struct nlmsghdr *nlh = ct_msg(IPCTNL_MSG_CT_NEW, NLM_F_CREATE | NLM_F_EXCL, AF_INET);

	put_tuple(nlh, CTA_TUPLE_ORIG, &tcp4_o);
	put_tuple(nlh, CTA_TUPLE_REPLY, &tcp4_r);
	mnl_attr_put_u32(nlh, CTA_STATUS, htonl(IPS_CONFIRMED | IPS_SEEN_REPLY));
	mnl_attr_put_u32(nlh, CTA_TIMEOUT, htonl(431999));
	mnl_attr_put_u32(nlh, CTA_MARK, htonl(0x100));
	put_tcp_state(nlh, TCP_CONNTRACK_ESTABLISHED);
	mnl_attr_put_u32(nlh, CTA_USE, htonl(1));
	mnl_attr_put_u32(nlh, CTA_ID, htonl(0xdeadbeef));
	return nlh;
}

START_TEST(test_ipv4_tcp_new)
{
	struct nlmsghdr *nlh = tcp4_new();
	struct ctnl_flow f;
	enum ctnl_event ev;
	struct dime_addr mh = A("192.0.2.10"), ch = A("203.0.113.130");

	ck_assert_int_eq(ctnl_parse(nlh, &f, &ev), 0);
	ck_assert_int_eq(ev, CTNL_NEW);
	ck_assert_int_eq(f.family, AF_INET);
	ck_assert_int_eq(f.proto, IPPROTO_TCP);
	ck_assert(dime_addr_eq(&f.orig_src, &mh));
	ck_assert(dime_addr_eq(&f.orig_dst, &ch));
	ck_assert(dime_addr_eq(&f.reply_src, &ch));
	ck_assert(dime_addr_eq(&f.reply_dst, &mh));
	ck_assert_uint_eq(f.orig_sport, 40000);
	ck_assert_uint_eq(f.orig_dport, 443);
	ck_assert_uint_eq(f.reply_sport, 443);
	ck_assert_uint_eq(f.reply_dport, 40000);
	ck_assert_uint_eq(f.tcp_state, TCP_CONNTRACK_ESTABLISHED);
	ck_assert_uint_eq(f.status, IPS_CONFIRMED | IPS_SEEN_REPLY);
	ck_assert_uint_eq(f.mark, 0x100);
	ck_assert_uint_eq(f.id, 0xdeadbeef);
	ck_assert_uint_eq(f.timeout, 431999);
}
END_TEST

START_TEST(test_ipv6_udp_destroy)
{
	static const struct tup o = { "2001:db8:1::10", "2001:db8:c::130", IPPROTO_UDP, 5353, 53 };
	static const struct tup r = { "2001:db8:c::130", "2001:db8:1::10", IPPROTO_UDP, 53, 5353 };
	struct nlmsghdr *nlh = ct_msg(IPCTNL_MSG_CT_DELETE, 0, AF_INET6);
	struct dime_addr mh = A("2001:db8:1::10"), ch = A("2001:db8:c::130");
	struct ctnl_flow f;
	enum ctnl_event ev;

	put_tuple(nlh, CTA_TUPLE_ORIG, &o);
	put_tuple(nlh, CTA_TUPLE_REPLY, &r);
	mnl_attr_put_u32(nlh, CTA_STATUS, htonl(IPS_CONFIRMED));
	mnl_attr_put_u32(nlh, CTA_ID, htonl(7));
	ck_assert_int_eq(ctnl_parse(nlh, &f, &ev), 0);
	ck_assert_int_eq(ev, CTNL_DESTROY);
	ck_assert_int_eq(f.family, AF_INET6);
	ck_assert_int_eq(f.proto, IPPROTO_UDP);
	ck_assert(dime_addr_eq(&f.orig_src, &mh));
	ck_assert(dime_addr_eq(&f.orig_dst, &ch));
	ck_assert(dime_addr_eq(&f.reply_src, &ch));
	ck_assert(dime_addr_eq(&f.reply_dst, &mh));
	ck_assert_uint_eq(f.orig_sport, 5353);
	ck_assert_uint_eq(f.orig_dport, 53);
	ck_assert_uint_eq(f.reply_sport, 53);
	ck_assert_uint_eq(f.reply_dport, 5353);
	/* UDP has no protoinfo, and DESTROY carries no timeout. */
	ck_assert_uint_eq(f.tcp_state, 0);
	ck_assert_uint_eq(f.timeout, 0);
	ck_assert_uint_eq(f.mark, 0);
	ck_assert_uint_eq(f.id, 7);
}
END_TEST

START_TEST(test_icmp_echo_id)
{
	static const struct tup o4 = { "192.0.2.10", "203.0.113.130", IPPROTO_ICMP, 0x1234, 0 };
	static const struct tup r4 = { "203.0.113.130", "192.0.2.10", IPPROTO_ICMP, 0x1234, 0 };
	static const struct tup o6 = { "2001:db8:1::10", "2001:db8:c::130", IPPROTO_ICMPV6, 77, 0 };
	static const struct tup r6 = { "2001:db8:c::130", "2001:db8:1::10", IPPROTO_ICMPV6, 77, 0 };
	struct nlmsghdr *nlh = ct_msg(IPCTNL_MSG_CT_NEW, NLM_F_CREATE | NLM_F_EXCL, AF_INET);
	struct ctnl_flow f;
	enum ctnl_event ev;

	put_tuple(nlh, CTA_TUPLE_ORIG, &o4);
	put_tuple(nlh, CTA_TUPLE_REPLY, &r4);
	ck_assert_int_eq(ctnl_parse(nlh, &f, &ev), 0);
	ck_assert_int_eq(f.proto, IPPROTO_ICMP);
	ck_assert_uint_eq(f.orig_sport, 0x1234);
	ck_assert_uint_eq(f.orig_dport, 0x1234);
	ck_assert_uint_eq(f.reply_sport, 0x1234);
	ck_assert_uint_eq(f.reply_dport, 0x1234);

	nlh = ct_msg(IPCTNL_MSG_CT_NEW, NLM_F_CREATE | NLM_F_EXCL, AF_INET6);
	put_tuple(nlh, CTA_TUPLE_ORIG, &o6);
	put_tuple(nlh, CTA_TUPLE_REPLY, &r6);
	ck_assert_int_eq(ctnl_parse(nlh, &f, &ev), 0);
	ck_assert_int_eq(f.family, AF_INET6);
	ck_assert_int_eq(f.proto, IPPROTO_ICMPV6);
	ck_assert_uint_eq(f.orig_sport, 77);
	ck_assert_uint_eq(f.reply_dport, 77);
}
END_TEST

START_TEST(test_portless_proto)
{
	static const struct tup o = { "192.0.2.10", "203.0.113.130", IPPROTO_GRE, 0, 0 };
	static const struct tup r = { "203.0.113.130", "192.0.2.10", IPPROTO_GRE, 0, 0 };
	struct nlmsghdr *nlh = ct_msg(IPCTNL_MSG_CT_NEW, NLM_F_CREATE, AF_INET);
	struct nlattr *n;
	struct ctnl_flow f;
	enum ctnl_event ev;

	/* GRE carries keys, not ports: the tuple is proto only. */
	for (int i = 0; i < 2; i++) {
		const struct tup *t = i ? &r : &o;
		struct nlattr *p;

		n = mnl_attr_nest_start(nlh, i ? CTA_TUPLE_REPLY : CTA_TUPLE_ORIG);
		put_ip(nlh, t);
		p = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
		mnl_attr_put_u8(nlh, CTA_PROTO_NUM, IPPROTO_GRE);
		mnl_attr_nest_end(nlh, p);
		mnl_attr_nest_end(nlh, n);
	}
	ck_assert_int_eq(ctnl_parse(nlh, &f, &ev), 0);
	ck_assert_int_eq(f.proto, IPPROTO_GRE);
	ck_assert_uint_eq(f.orig_sport, 0);
	ck_assert_uint_eq(f.reply_dport, 0);
}
END_TEST

START_TEST(test_event_kinds)
{
	struct nlmsghdr *nlh = tcp4_new();
	struct ctnl_flow f;
	enum ctnl_event ev;

	nlh->nlmsg_flags = 0;		/* an update carries neither CREATE nor MULTI */
	ck_assert_int_eq(ctnl_parse(nlh, &f, &ev), 0);
	ck_assert_int_eq(ev, CTNL_UPDATE);
	nlh->nlmsg_flags = NLM_F_MULTI;	/* a dump entry */
	ck_assert_int_eq(ctnl_parse(nlh, &f, &ev), 0);
	ck_assert_int_eq(ev, CTNL_DUMP);
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE;
	ck_assert_int_eq(ctnl_parse(nlh, &f, &ev), 0);
	ck_assert_int_eq(ev, CTNL_DESTROY);
	ck_assert_str_eq(ctnl_event_name(CTNL_RESYNC), "resync");
	ck_assert_str_eq(ctnl_event_name(CTNL_DUMP_DONE), "dump-done");
}
END_TEST

START_TEST(test_not_conntrack)
{
	struct nlmsghdr *nlh = tcp4_new();
	struct ctnl_flow f;
	enum ctnl_event ev = CTNL_NEW;

	f.id = 42;
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK_EXP << 8) | IPCTNL_MSG_EXP_NEW;
	ck_assert_int_eq(ctnl_parse(nlh, &f, &ev), -ENOMSG);
	nlh->nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | IPCTNL_MSG_CT_NEW;
	ck_assert_int_eq(ctnl_parse(nlh, &f, &ev), -ENOMSG);
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET_STATS_CPU;
	ck_assert_int_eq(ctnl_parse(nlh, &f, &ev), -ENOMSG);
	nlh->nlmsg_type = NLMSG_DONE;
	ck_assert_int_eq(ctnl_parse(nlh, &f, &ev), -ENOMSG);
	ck_assert_uint_eq(f.id, 42);	/* untouched on failure */
}
END_TEST

/* The tuples come first, so every cut before the reply tuple's last byte
 * leaves a truncated attribute or a missing tuple: always -EBADMSG. Past
 * it, cuts at attribute boundaries are valid shorter messages; every
 * other cut is a truncated attribute. */
START_TEST(test_truncated_everywhere)
{
	struct nlmsghdr *nlh = tcp4_new();
	const uint32_t full = nlh->nlmsg_len;
	const size_t hdr = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg));
	const struct nlattr *orig = (const struct nlattr *)(buf + hdr);
	const struct nlattr *reply = (const struct nlattr *)((const unsigned char *)orig + MNL_ALIGN(orig->nla_len));
	const uint32_t tuples_end = (uint32_t)((const unsigned char *)reply - buf) + reply->nla_len;
	struct ctnl_flow f;
	enum ctnl_event ev;

	for (uint32_t len = 0; len < full; len++) {
		int err;

		nlh->nlmsg_len = len;
		err = ctnl_parse(nlh, &f, &ev);
		if (len < tuples_end)
			HOT_ASSERT(err == -EBADMSG);
		else
			HOT_ASSERT(err == 0 || err == -EBADMSG);
	}
	nlh->nlmsg_len = full;
	ck_assert_int_eq(ctnl_parse(nlh, &f, &ev), 0);
}
END_TEST

START_TEST(test_missing_tuple)
{
	struct nlmsghdr *nlh;
	struct ctnl_flow f;
	enum ctnl_event ev;

	nlh = ct_msg(IPCTNL_MSG_CT_NEW, NLM_F_CREATE, AF_INET);	/* no attributes */
	ck_assert_int_eq(ctnl_parse(nlh, &f, &ev), -EBADMSG);
	put_tuple(nlh, CTA_TUPLE_ORIG, &tcp4_o);		/* orig only */
	mnl_attr_put_u32(nlh, CTA_ID, htonl(1));
	ck_assert_int_eq(ctnl_parse(nlh, &f, &ev), -EBADMSG);

	nlh = ct_msg(IPCTNL_MSG_CT_NEW, NLM_F_CREATE, AF_INET);	/* reply only */
	put_tuple(nlh, CTA_TUPLE_REPLY, &tcp4_r);
	ck_assert_int_eq(ctnl_parse(nlh, &f, &ev), -EBADMSG);
}
END_TEST

START_TEST(test_incomplete_tuple)
{
	struct nlmsghdr *nlh;
	struct nlattr *n, *p, *ip;
	struct dime_addr s = A("192.0.2.10");
	struct ctnl_flow f;
	enum ctnl_event ev;

	/* Tuple without its proto nest. */
	nlh = ct_msg(IPCTNL_MSG_CT_NEW, NLM_F_CREATE, AF_INET);
	n = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
	put_ip(nlh, &tcp4_o);
	mnl_attr_nest_end(nlh, n);
	put_tuple(nlh, CTA_TUPLE_REPLY, &tcp4_r);
	ck_assert_int_eq(ctnl_parse(nlh, &f, &ev), -EBADMSG);

	/* Tuple with a source address only. */
	nlh = ct_msg(IPCTNL_MSG_CT_NEW, NLM_F_CREATE, AF_INET);
	n = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
	ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	mnl_attr_put(nlh, CTA_IP_V4_SRC, 4, s.a.u8);
	mnl_attr_nest_end(nlh, ip);
	put_proto(nlh, &tcp4_o);
	mnl_attr_nest_end(nlh, n);
	put_tuple(nlh, CTA_TUPLE_REPLY, &tcp4_r);
	ck_assert_int_eq(ctnl_parse(nlh, &f, &ev), -EBADMSG);

	/* TCP without a destination port. */
	nlh = ct_msg(IPCTNL_MSG_CT_NEW, NLM_F_CREATE, AF_INET);
	n = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
	put_ip(nlh, &tcp4_o);
	p = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, IPPROTO_TCP);
	mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(1));
	mnl_attr_nest_end(nlh, p);
	mnl_attr_nest_end(nlh, n);
	put_tuple(nlh, CTA_TUPLE_REPLY, &tcp4_r);
	ck_assert_int_eq(ctnl_parse(nlh, &f, &ev), -EBADMSG);

	/* ICMP without its id. */
	nlh = ct_msg(IPCTNL_MSG_CT_NEW, NLM_F_CREATE, AF_INET);
	for (int i = 0; i < 2; i++) {
		n = mnl_attr_nest_start(nlh, i ? CTA_TUPLE_REPLY : CTA_TUPLE_ORIG);
		put_ip(nlh, i ? &tcp4_r : &tcp4_o);
		p = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
		mnl_attr_put_u8(nlh, CTA_PROTO_NUM, IPPROTO_ICMP);
		mnl_attr_put_u8(nlh, CTA_PROTO_ICMP_TYPE, 8);
		mnl_attr_nest_end(nlh, p);
		mnl_attr_nest_end(nlh, n);
	}
	ck_assert_int_eq(ctnl_parse(nlh, &f, &ev), -EBADMSG);
}
END_TEST

START_TEST(test_inconsistent_tuples)
{
	static const struct tup r6 = { "2001:db8:c::130", "2001:db8:1::10", IPPROTO_TCP, 443, 40000 };
	static const struct tup r_udp = { "203.0.113.130", "192.0.2.10", IPPROTO_UDP, 443, 40000 };
	struct nlmsghdr *nlh;
	struct ctnl_flow f;
	enum ctnl_event ev;

	nlh = ct_msg(IPCTNL_MSG_CT_NEW, NLM_F_CREATE, AF_INET);
	put_tuple(nlh, CTA_TUPLE_ORIG, &tcp4_o);
	put_tuple(nlh, CTA_TUPLE_REPLY, &r6);
	ck_assert_int_eq(ctnl_parse(nlh, &f, &ev), -EBADMSG);

	nlh = ct_msg(IPCTNL_MSG_CT_NEW, NLM_F_CREATE, AF_INET);
	put_tuple(nlh, CTA_TUPLE_ORIG, &tcp4_o);
	put_tuple(nlh, CTA_TUPLE_REPLY, &r_udp);
	ck_assert_int_eq(ctnl_parse(nlh, &f, &ev), -EBADMSG);

	/* nfgenmsg says IPv6, the tuples are IPv4. AF_UNSPEC is accepted. */
	nlh = ct_msg(IPCTNL_MSG_CT_NEW, NLM_F_CREATE, AF_INET6);
	put_tuple(nlh, CTA_TUPLE_ORIG, &tcp4_o);
	put_tuple(nlh, CTA_TUPLE_REPLY, &tcp4_r);
	ck_assert_int_eq(ctnl_parse(nlh, &f, &ev), -EBADMSG);
	((struct nfgenmsg *)mnl_nlmsg_get_payload(nlh))->nfgen_family = AF_UNSPEC;
	ck_assert_int_eq(ctnl_parse(nlh, &f, &ev), 0);
	ck_assert_int_eq(f.family, AF_INET);
}
END_TEST

START_TEST(test_wrong_sizes)
{
	struct nlmsghdr *nlh;
	struct nlattr *n, *ip;
	struct dime_addr s6 = A("2001:db8::1");
	struct ctnl_flow f;
	enum ctnl_event ev;

	/* CTA_MARK of two bytes. */
	nlh = ct_msg(IPCTNL_MSG_CT_NEW, NLM_F_CREATE, AF_INET);
	put_tuple(nlh, CTA_TUPLE_ORIG, &tcp4_o);
	put_tuple(nlh, CTA_TUPLE_REPLY, &tcp4_r);
	mnl_attr_put_u16(nlh, CTA_MARK, 1);
	ck_assert_int_eq(ctnl_parse(nlh, &f, &ev), -EBADMSG);

	/* An IPv4 address attribute holding 16 bytes. */
	nlh = ct_msg(IPCTNL_MSG_CT_NEW, NLM_F_CREATE, AF_INET);
	n = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
	ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	mnl_attr_put(nlh, CTA_IP_V4_SRC, 16, s6.a.u8);
	mnl_attr_put(nlh, CTA_IP_V4_DST, 16, s6.a.u8);
	mnl_attr_nest_end(nlh, ip);
	put_proto(nlh, &tcp4_o);
	mnl_attr_nest_end(nlh, n);
	put_tuple(nlh, CTA_TUPLE_REPLY, &tcp4_r);
	ck_assert_int_eq(ctnl_parse(nlh, &f, &ev), -EBADMSG);

	/* A TCP state of four bytes. */
	nlh = ct_msg(IPCTNL_MSG_CT_NEW, NLM_F_CREATE, AF_INET);
	put_tuple(nlh, CTA_TUPLE_ORIG, &tcp4_o);
	put_tuple(nlh, CTA_TUPLE_REPLY, &tcp4_r);
	n = mnl_attr_nest_start(nlh, CTA_PROTOINFO);
	ip = mnl_attr_nest_start(nlh, CTA_PROTOINFO_TCP);
	mnl_attr_put_u32(nlh, CTA_PROTOINFO_TCP_STATE, 3);
	mnl_attr_nest_end(nlh, ip);
	mnl_attr_nest_end(nlh, n);
	ck_assert_int_eq(ctnl_parse(nlh, &f, &ev), -EBADMSG);
}
END_TEST

START_TEST(test_bogus_attr_lengths)
{
	struct nlmsghdr *nlh = tcp4_new();
	const size_t hdr = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg));
	struct nlattr *orig = (struct nlattr *)(buf + hdr);
	struct nlattr *ip = mnl_attr_get_payload(orig);
	const uint16_t saved = ip->nla_len;
	struct ctnl_flow f;
	enum ctnl_event ev;

	ip->nla_len = 2;		/* shorter than an attribute header */
	ck_assert_int_eq(ctnl_parse(nlh, &f, &ev), -EBADMSG);
	ip->nla_len = orig->nla_len;	/* runs past its nest */
	ck_assert_int_eq(ctnl_parse(nlh, &f, &ev), -EBADMSG);
	ip->nla_len = saved;
	orig->nla_len = (uint16_t)(nlh->nlmsg_len + 4);	/* runs past the message */
	ck_assert_int_eq(ctnl_parse(nlh, &f, &ev), -EBADMSG);
}
END_TEST

START_TEST(test_unknown_attrs_ignored)
{
	struct nlmsghdr *nlh = tcp4_new();
	struct ctnl_flow f;
	enum ctnl_event ev;

	mnl_attr_put_u32(nlh, CTA_MAX + 7, 1);
	mnl_attr_put_u16(nlh, CTA_ZONE, htons(3));
	ck_assert_int_eq(ctnl_parse(nlh, &f, &ev), 0);
	ck_assert_uint_eq(f.id, 0xdeadbeef);
}
END_TEST

/* Random corruption of a valid message: any result but a crash (ASan and
 * UBSan builds watch the reads). */
START_TEST(test_random_corruption)
{
	static unsigned char orig[4096] __attribute__((aligned(4)));
	struct nlmsghdr *nlh = tcp4_new();
	const uint32_t full = nlh->nlmsg_len;
	uint32_t seed = 0x12345678;
	struct ctnl_flow f;
	enum ctnl_event ev;

	memcpy(orig, buf, full);
	for (int iter = 0; iter < 200000; iter++) {
		memcpy(buf, orig, full);
		scribble(buf + MNL_NLMSG_HDRLEN, full - MNL_NLMSG_HDRLEN, 1 + iter % 4, &seed);
		nlh->nlmsg_len = full;
		int err = ctnl_parse(nlh, &f, &ev);
		HOT_ASSERT(err == 0 || err == -EBADMSG || err == -ENOMSG);
	}
}
END_TEST

/* ---- ctnl_build_get: parsed back with libmnl's own attribute walker ---- */

struct attrs {
	const struct nlattr *tb[16];
	int seen;		/* attributes of any type, known or not */
};

static int collect(const struct nlattr *a, void *data)
{
	struct attrs *at = data;
	uint16_t type = mnl_attr_get_type(a);

	at->seen++;
	if (type < 16)
		at->tb[type] = a;
	return MNL_CB_OK;
}

static void nested(const struct nlattr *nest, struct attrs *at)
{
	memset(at, 0, sizeof(*at));
	ck_assert(nest->nla_type & NLA_F_NESTED);
	ck_assert_int_eq(mnl_attr_parse_nested(nest, collect, at), MNL_CB_OK);
}

/* The whole request for one tuple, checked field by field; returns its
 * length. */
static int check_get(uint8_t proto, const char *src, uint16_t sport, const char *dst,
		     uint16_t dport, uint32_t seq)
{
	struct dime_addr s = A(src), d = A(dst);
	bool v4 = s.family == AF_INET;
	size_t alen = v4 ? 4 : 16;
	int len;
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	const struct nfgenmsg *nfg;
	struct attrs top, tuple, ip, pr;

	memset(buf, 0xa5, sizeof(buf));
	len = ctnl_build_get(buf, sizeof(buf), seq, proto, &s, sport, &d, dport);
	ck_assert_int_gt(len, 0);
	ck_assert_uint_eq(nlh->nlmsg_len, (uint32_t)len);
	ck_assert_uint_eq(nlh->nlmsg_type, (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET);
	ck_assert_uint_eq(nlh->nlmsg_flags, NLM_F_REQUEST);	/* no DUMP, no ACK */
	ck_assert_uint_eq(nlh->nlmsg_seq, seq);
	ck_assert_uint_eq(nlh->nlmsg_pid, 0);
	nfg = mnl_nlmsg_get_payload(nlh);
	ck_assert_uint_eq(nfg->nfgen_family, s.family);
	ck_assert_uint_eq(nfg->version, NFNETLINK_V0);
	ck_assert_uint_eq(nfg->res_id, 0);

	/* One top-level attribute, the original tuple, filling the message. */
	memset(&top, 0, sizeof(top));
	ck_assert_int_eq(mnl_attr_parse(nlh, sizeof(*nfg), collect, &top), MNL_CB_OK);
	ck_assert_int_eq(top.seen, 1);
	ck_assert_ptr_nonnull(top.tb[CTA_TUPLE_ORIG]);
	ck_assert_uint_eq(MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(*nfg)) + top.tb[CTA_TUPLE_ORIG]->nla_len,
			  (uint32_t)len);

	nested(top.tb[CTA_TUPLE_ORIG], &tuple);
	ck_assert_int_eq(tuple.seen, 2);
	ck_assert_ptr_nonnull(tuple.tb[CTA_TUPLE_IP]);
	ck_assert_ptr_nonnull(tuple.tb[CTA_TUPLE_PROTO]);

	nested(tuple.tb[CTA_TUPLE_IP], &ip);
	ck_assert_int_eq(ip.seen, 2);
	const struct nlattr *as = ip.tb[v4 ? CTA_IP_V4_SRC : CTA_IP_V6_SRC];
	const struct nlattr *ad = ip.tb[v4 ? CTA_IP_V4_DST : CTA_IP_V6_DST];

	ck_assert_ptr_nonnull(as);
	ck_assert_ptr_nonnull(ad);
	ck_assert_uint_eq(mnl_attr_get_payload_len(as), alen);
	ck_assert_uint_eq(mnl_attr_get_payload_len(ad), alen);
	ck_assert_mem_eq(mnl_attr_get_payload(as), s.a.u8, alen);
	ck_assert_mem_eq(mnl_attr_get_payload(ad), d.a.u8, alen);

	nested(tuple.tb[CTA_TUPLE_PROTO], &pr);
	ck_assert_int_eq(pr.seen, 3);
	ck_assert_int_eq(mnl_attr_validate(pr.tb[CTA_PROTO_NUM], MNL_TYPE_U8), 0);
	ck_assert_int_eq(mnl_attr_validate(pr.tb[CTA_PROTO_SRC_PORT], MNL_TYPE_U16), 0);
	ck_assert_int_eq(mnl_attr_validate(pr.tb[CTA_PROTO_DST_PORT], MNL_TYPE_U16), 0);
	ck_assert_uint_eq(mnl_attr_get_u8(pr.tb[CTA_PROTO_NUM]), proto);
	/* Network order on the wire. */
	ck_assert_uint_eq(mnl_attr_get_u16(pr.tb[CTA_PROTO_SRC_PORT]), htons(sport));
	ck_assert_uint_eq(mnl_attr_get_u16(pr.tb[CTA_PROTO_DST_PORT]), htons(dport));
	/* Nothing written past the message. */
	for (size_t i = (size_t)len; i < sizeof(buf); i++)
		HOT_ASSERT(buf[i] == 0xa5);
	return len;
}

START_TEST(test_build_get_v4_tcp)
{
	/* 20 header + 4 orig + 4 ip + 2 * 8 addresses + 4 proto + 8 num + 2 * 8 ports */
	ck_assert_int_eq(check_get(IPPROTO_TCP, "192.0.2.10", 40000, "203.0.113.130", 443, 7), 72);
	ck_assert_int_eq(check_get(IPPROTO_UDP, "192.0.2.10", 1, "192.0.2.11", 65535, 0), 72);
}
END_TEST

START_TEST(test_build_get_v6_udp)
{
	int len = check_get(IPPROTO_UDP, "2001:db8:1::10", 5353, "2001:db8:c::130", 53, 0xfffffffe);

	ck_assert_int_eq(len, CTNL_GET_MAX_LEN);
	ck_assert_int_eq(check_get(IPPROTO_TCP, "2001:db8::1", 22, "2001:db8::2", 50000, 1),
			 CTNL_GET_MAX_LEN);
}
END_TEST

START_TEST(test_build_get_invalid)
{
	struct dime_addr v4 = A("192.0.2.1"), v6 = A("2001:db8::1"), none = { 0 };

	ck_assert_int_eq(ctnl_build_get(buf, sizeof(buf), 1, IPPROTO_ICMP, &v4, 1, &v4, 1), -EINVAL);
	ck_assert_int_eq(ctnl_build_get(buf, sizeof(buf), 1, IPPROTO_ICMPV6, &v6, 1, &v6, 1), -EINVAL);
	ck_assert_int_eq(ctnl_build_get(buf, sizeof(buf), 1, IPPROTO_SCTP, &v4, 1, &v4, 1), -EINVAL);
	ck_assert_int_eq(ctnl_build_get(buf, sizeof(buf), 1, IPPROTO_TCP, &v4, 1, &v6, 1), -EINVAL);
	ck_assert_int_eq(ctnl_build_get(buf, sizeof(buf), 1, IPPROTO_TCP, &none, 1, &none, 1), -EINVAL);
}
END_TEST

/* Every buffer shorter than the request is refused, and nothing is
 * written past the size given. */
START_TEST(test_build_get_short_buffer)
{
	struct dime_addr s = A("2001:db8::1"), d = A("2001:db8::2");

	for (size_t size = 0; size <= CTNL_GET_MAX_LEN + 8; size++) {
		int len;

		memset(buf, 0xa5, sizeof(buf));
		len = ctnl_build_get(buf, size, 1, IPPROTO_TCP, &s, 1, &d, 2);
		if (size < CTNL_GET_MAX_LEN)
			HOT_ASSERT(len == -ENOSPC);
		else
			HOT_ASSERT(len == CTNL_GET_MAX_LEN);
		for (size_t i = size; i < sizeof(buf); i++)
			HOT_ASSERT(buf[i] == 0xa5);
	}
}
END_TEST

/* ---- ctnl_get_reply ---- */

static size_t put_error(unsigned char *at, uint32_t seq, uint32_t pid, int error)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(at);
	struct nlmsgerr *e;

	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_pid = pid;
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	e->error = error;
	return nlh->nlmsg_len;
}

/* A conntrack entry as ctnetlink_get_conntrack answers, at buf. */
static size_t put_entry(uint8_t type, uint32_t seq, uint32_t pid)
{
	struct nlmsghdr *nlh = ct_msg(type, NLM_F_MULTI, AF_INET);

	nlh->nlmsg_seq = seq;
	nlh->nlmsg_pid = pid;
	put_tuple(nlh, CTA_TUPLE_ORIG, &tcp4_o);
	put_tuple(nlh, CTA_TUPLE_REPLY, &tcp4_r);
	return nlh->nlmsg_len;
}

START_TEST(test_get_reply)
{
	static unsigned char dg[8192] __attribute__((aligned(4)));
	size_t n;

	/* The entry, typed CT_NEW (as the kernel sends it) or CT_GET. */
	n = put_entry(IPCTNL_MSG_CT_NEW, 5, 77);
	ck_assert_int_eq(ctnl_get_reply(buf, n, 5, 77), 1);
	ck_assert_int_eq(ctnl_get_reply(buf, n, 6, 77), -EAGAIN);	/* other seq */
	ck_assert_int_eq(ctnl_get_reply(buf, n, 5, 78), -EAGAIN);	/* other socket */
	n = put_entry(IPCTNL_MSG_CT_GET, 5, 77);
	ck_assert_int_eq(ctnl_get_reply(buf, n, 5, 77), 1);
	/* Another subsystem's message with our seq is not an answer. */
	((struct nlmsghdr *)buf)->nlmsg_type = (NFNL_SUBSYS_CTNETLINK_EXP << 8) | IPCTNL_MSG_EXP_NEW;
	ck_assert_int_eq(ctnl_get_reply(buf, n, 5, 77), -EAGAIN);

	/* Errors: ENOENT is the "no" answer. */
	n = put_error(dg, 9, 77, -ENOENT);
	ck_assert_int_eq(ctnl_get_reply(dg, n, 9, 77), 0);
	n = put_error(dg, 9, 77, -EPERM);
	ck_assert_int_eq(ctnl_get_reply(dg, n, 9, 77), -EPERM);
	n = put_error(dg, 9, 77, 0);
	ck_assert_int_eq(ctnl_get_reply(dg, n, 9, 77), -EPROTO);
	((struct nlmsghdr *)dg)->nlmsg_len = MNL_NLMSG_HDRLEN + 2;
	ck_assert_int_eq(ctnl_get_reply(dg, MNL_NLMSG_HDRLEN + 2, 9, 77), -EBADMSG);

	/* Stale answers of earlier queries come first in one datagram and
	 * are skipped. */
	n = put_error(dg, 3, 77, -ENOENT);
	n += put_error(dg + n, 4, 77, -EPERM);
	memcpy(dg + n, buf, put_entry(IPCTNL_MSG_CT_GET, 5, 77));
	n += ((struct nlmsghdr *)buf)->nlmsg_len;
	ck_assert_int_eq(ctnl_get_reply(dg, n, 5, 77), 1);
	ck_assert_int_eq(ctnl_get_reply(dg, n, 4, 77), -EPERM);
	ck_assert_int_eq(ctnl_get_reply(dg, n, 6, 77), -EAGAIN);
	/* A cut datagram ends the walk without reading past it. */
	ck_assert_int_eq(ctnl_get_reply(dg, n - 1, 5, 77), -EAGAIN);
	ck_assert_int_eq(ctnl_get_reply(dg, 0, 5, 77), -EAGAIN);
}
END_TEST

static Suite *ctnl_suite(void)
{
	Suite *s = suite_create("ctnl");
	TCase *tc = tcase_create("parse");
	TCase *get = tcase_create("get");

	tcase_add_test(tc, test_ipv4_tcp_new);
	tcase_add_test(tc, test_ipv6_udp_destroy);
	tcase_add_test(tc, test_icmp_echo_id);
	tcase_add_test(tc, test_portless_proto);
	tcase_add_test(tc, test_event_kinds);
	tcase_add_test(tc, test_not_conntrack);
	tcase_add_test(tc, test_truncated_everywhere);
	tcase_add_test(tc, test_missing_tuple);
	tcase_add_test(tc, test_incomplete_tuple);
	tcase_add_test(tc, test_inconsistent_tuples);
	tcase_add_test(tc, test_wrong_sizes);
	tcase_add_test(tc, test_bogus_attr_lengths);
	tcase_add_test(tc, test_unknown_attrs_ignored);
	tcase_add_test(tc, test_random_corruption);
	suite_add_tcase(s, tc);
	tcase_add_test(get, test_build_get_v4_tcp);
	tcase_add_test(get, test_build_get_v6_udp);
	tcase_add_test(get, test_build_get_invalid);
	tcase_add_test(get, test_build_get_short_buffer);
	tcase_add_test(get, test_get_reply);
	suite_add_tcase(s, get);
	return s;
}

int main(void)
{
	return run_suite(ctnl_suite());
}
