// SPDX-License-Identifier: BSD-2-Clause
/*
 * Check suite for the sock_diag core (sockdiag.c): the dump request as the
 * kernel reads it, and SOCK_DIAG_BY_FAMILY messages built by hand as the
 * kernel lays them out (6.18: dump replies carry SHUTDOWN, MARK,
 * CGROUP_ID and SOCKOPT but no PROTOCOL; destroy broadcasts carry
 * PROTOCOL and, for TCP, INFO) for IPv4 and IPv6, TCP and UDP; then every
 * way a message can be short or wrong: truncation at every length, wrong
 * family, attribute sizes and lengths, and random corruption (which must
 * never crash). The socket half is exercised in namespaces by
 * dime-netlink-probe.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>

#include "dime/sockdiag.h"
#include "testutil.h"

static unsigned char buf[4096] __attribute__((aligned(4)));

struct spec {
	const char *src, *dst;	/* NULL: all-zero */
	uint8_t family, state;
	uint16_t sport, dport;
	uint32_t ifindex, uid, inode;
	uint64_t cookie;
};

static void put_words(__be32 *words, const char *text)
{
	struct dime_addr a;

	memset(words, 0, 16);
	if (!text)
		return;
	a = A(text);
	memcpy(words, a.a.u8, a.family == AF_INET ? 4 : 16);
}

/* The fixed part of a message, as inet_diag_msg_common_fill lays it. */
static struct nlmsghdr *diag_msg(const struct spec *sp, uint16_t flags)
{
	struct inet_diag_msg *m;
	struct nlmsghdr *nlh;

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = 7;
	m = mnl_nlmsg_put_extra_header(nlh, sizeof(*m));
	m->idiag_family = sp->family;
	m->idiag_state = sp->state;
	m->id.idiag_sport = htons(sp->sport);
	m->id.idiag_dport = htons(sp->dport);
	put_words(m->id.idiag_src, sp->src);
	put_words(m->id.idiag_dst, sp->dst);
	m->id.idiag_if = sp->ifindex;
	m->id.idiag_cookie[0] = (uint32_t)sp->cookie;
	m->id.idiag_cookie[1] = (uint32_t)(sp->cookie >> 32);
	m->idiag_uid = sp->uid;
	m->idiag_inode = sp->inode;
	return nlh;
}

/* A dump reply as 6.18 sends it to root. */
static struct nlmsghdr *dump_reply(const struct spec *sp)
{
	struct nlmsghdr *nlh = diag_msg(sp, NLM_F_MULTI);
	unsigned char sockopt[2] = { 0 };

	mnl_attr_put_u8(nlh, INET_DIAG_SHUTDOWN, 0);
	mnl_attr_put_u32(nlh, INET_DIAG_MARK, 0);
	mnl_attr_put_u64(nlh, INET_DIAG_CGROUP_ID, 0x1234);
	mnl_attr_put(nlh, INET_DIAG_SOCKOPT, sizeof(sockopt), sockopt);
	return nlh;
}

/* A destroy broadcast: no uid, no inode, PROTOCOL, INFO for TCP. */
static struct nlmsghdr *destroy_msg(const struct spec *sp, uint8_t proto)
{
	struct spec s = *sp;
	struct nlmsghdr *nlh;
	unsigned char info[232] = { 0 };

	s.uid = s.inode = 0;
	nlh = diag_msg(&s, 0);
	mnl_attr_put_u8(nlh, INET_DIAG_PROTOCOL, proto);
	if (proto == IPPROTO_TCP)
		mnl_attr_put(nlh, INET_DIAG_INFO, sizeof(info), info);
	return nlh;
}

static const struct spec tcp4 = {
	"192.0.2.10", "198.51.100.7", AF_INET, TCP_ESTABLISHED, 40000, 443, 0, 1000, 4087688,
	0x0000000100000074ull,
};
static const struct spec udp6 = {
	"2001:db8::10", "2001:db8:1::7", AF_INET6, TCP_ESTABLISHED, 5353, 53, 3, 0, 99,
	0xfedcba9876543210ull,
};
static const struct spec udp4_unconnected = {
	"192.0.2.10", NULL, AF_INET, TCP_CLOSE, 6002, 0, 0, 0, 5, 119,
};
static const struct spec listen6 = {
	NULL, NULL, AF_INET6, TCP_LISTEN, 443, 0, 0, 0, 6, 120,
};

static void check_sock(const struct sockdiag_sock *s, const struct spec *sp, uint8_t proto,
		       bool broadcast)
{
	struct dime_addr zero = { .family = sp->family };

	ck_assert_uint_eq(s->family, sp->family);
	ck_assert_uint_eq(s->proto, proto);
	ck_assert_uint_eq(s->state, sp->state);
	ck_assert(dime_addr_eq(&s->src, sp->src ? AP(sp->src) : &zero));
	ck_assert(dime_addr_eq(&s->dst, sp->dst ? AP(sp->dst) : &zero));
	ck_assert_uint_eq(s->sport, sp->sport);
	ck_assert_uint_eq(s->dport, sp->dport);
	ck_assert_uint_eq(s->ifindex, sp->ifindex);
	ck_assert_uint_eq(s->uid, broadcast ? 0 : sp->uid);
	ck_assert_uint_eq(s->inode, broadcast ? 0 : sp->inode);
	ck_assert(s->cookie == sp->cookie);
}

/* ---- the dump request ---- */

START_TEST(build_dump_layout)
{
	static const struct { uint8_t family, proto; uint32_t states; } cases[] = {
		{ AF_INET, IPPROTO_TCP, SOCKDIAG_TCP_STATES },
		{ AF_INET, IPPROTO_UDP, SOCKDIAG_UDP_STATES },
		{ AF_INET6, IPPROTO_TCP, SOCKDIAG_TCP_STATES },
		{ AF_INET6, IPPROTO_UDP, 1u << TCP_ESTABLISHED },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned char out[128] __attribute__((aligned(4)));
		const struct nlmsghdr *nlh = (const void *)out;
		const struct inet_diag_req_v2 *req = (const void *)(out + NLMSG_HDRLEN);
		static const unsigned char zero[sizeof(req->id)];
		int len;

		memset(out, 0xa5, sizeof(out));
		len = sockdiag_build_dump(out, sizeof(out), 42 + (uint32_t)i, cases[i].family,
					  cases[i].proto, cases[i].states);
		ck_assert_int_eq(len, SOCKDIAG_REQ_LEN);
		ck_assert_int_eq(len, NLMSG_HDRLEN + (int)sizeof(*req));
		ck_assert_uint_eq(nlh->nlmsg_len, (unsigned)len);
		ck_assert_uint_eq(nlh->nlmsg_type, SOCK_DIAG_BY_FAMILY);
		ck_assert_uint_eq(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
		ck_assert_uint_eq(nlh->nlmsg_seq, 42 + i);
		ck_assert_uint_eq(nlh->nlmsg_pid, 0);
		ck_assert_uint_eq(req->sdiag_family, cases[i].family);
		ck_assert_uint_eq(req->sdiag_protocol, cases[i].proto);
		ck_assert_uint_eq(req->idiag_ext, 0);
		ck_assert_uint_eq(req->pad, 0);
		ck_assert_uint_eq(req->idiag_states, cases[i].states);
		ck_assert_mem_eq(&req->id, zero, sizeof(zero));
		ck_assert_uint_eq(out[len], 0xa5);	/* nothing written past the end */
	}
}
END_TEST

START_TEST(build_dump_rejects)
{
	unsigned char out[SOCKDIAG_REQ_LEN] __attribute__((aligned(4)));

	ck_assert_int_eq(sockdiag_build_dump(out, sizeof(out), 1, AF_UNSPEC, IPPROTO_TCP, 1), -EINVAL);
	ck_assert_int_eq(sockdiag_build_dump(out, sizeof(out), 1, AF_UNIX, IPPROTO_TCP, 1), -EINVAL);
	ck_assert_int_eq(sockdiag_build_dump(out, sizeof(out), 1, AF_INET, IPPROTO_SCTP, 1), -EINVAL);
	ck_assert_int_eq(sockdiag_build_dump(out, sizeof(out), 1, AF_INET, 0, 1), -EINVAL);
	ck_assert_int_eq(sockdiag_build_dump(out, sizeof(out), 1, AF_INET, IPPROTO_TCP, 0), -EINVAL);
	ck_assert_int_eq(sockdiag_build_dump(out, sizeof(out) - 1, 1, AF_INET, IPPROTO_TCP, 1),
			 -ENOSPC);
	ck_assert_int_eq(sockdiag_build_dump(out, 0, 1, AF_INET6, IPPROTO_UDP, 1), -ENOSPC);
	ck_assert_int_eq(sockdiag_build_dump(out, sizeof(out), 1, AF_INET6, IPPROTO_UDP, 1),
			 SOCKDIAG_REQ_LEN);
}
END_TEST

/* The kernel's TCP_* numbering (include/net/tcp_states.h). */
START_TEST(tcp_states_mask)
{
	static const int wanted[] = { TCP_ESTABLISHED, TCP_SYN_SENT, TCP_SYN_RECV, TCP_FIN_WAIT1,
				      TCP_FIN_WAIT2, TCP_CLOSE, TCP_CLOSE_WAIT, TCP_LAST_ACK,
				      TCP_LISTEN, TCP_CLOSING };
	uint32_t expect = 0;

	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++)
		expect |= 1u << wanted[i];
	ck_assert_uint_eq(SOCKDIAG_TCP_STATES, expect);
	ck_assert(!(SOCKDIAG_TCP_STATES & (1u << TCP_TIME_WAIT)));
	ck_assert(!(SOCKDIAG_TCP_STATES & (1u << 12)));	/* TCP_NEW_SYN_RECV */
	ck_assert(!(SOCKDIAG_TCP_STATES & (1u << 13)));	/* TCP_BOUND_INACTIVE */
	ck_assert(!(SOCKDIAG_TCP_STATES & 1u));
	ck_assert(SOCKDIAG_UDP_STATES & (1u << TCP_ESTABLISHED));
	ck_assert(SOCKDIAG_UDP_STATES & (1u << TCP_CLOSE));
}
END_TEST

/* ---- parsing ---- */

START_TEST(parse_dump_v4_tcp)
{
	struct sockdiag_sock s;

	ck_assert_int_eq(sockdiag_parse(dump_reply(&tcp4), IPPROTO_TCP, &s), 0);
	check_sock(&s, &tcp4, IPPROTO_TCP, false);
	/* The IPv4 address is in the first word only. */
	ck_assert_uint_eq(s.src.a.u32[1] | s.src.a.u32[2] | s.src.a.u32[3], 0);
}
END_TEST

START_TEST(parse_dump_v6_udp)
{
	struct sockdiag_sock s;

	ck_assert_int_eq(sockdiag_parse(dump_reply(&udp6), IPPROTO_UDP, &s), 0);
	check_sock(&s, &udp6, IPPROTO_UDP, false);
}
END_TEST

START_TEST(parse_dump_unconnected_and_listener)
{
	struct sockdiag_sock s;

	ck_assert_int_eq(sockdiag_parse(dump_reply(&udp4_unconnected), IPPROTO_UDP, &s), 0);
	check_sock(&s, &udp4_unconnected, IPPROTO_UDP, false);
	ck_assert(dime_addr_is_set(&s.dst));	/* family set, address zero */
	ck_assert_int_eq(sockdiag_parse(dump_reply(&listen6), IPPROTO_TCP, &s), 0);
	check_sock(&s, &listen6, IPPROTO_TCP, false);
}
END_TEST

/* TCP's mini-sockets as tcp_twsk_diag_fill and tcp_req_diag_fill send
 * them: no attribute but MARK (for CAP_NET_ADMIN), uid and inode 0. They
 * are skipped, in either protocol's dump; a full socket with SHUTDOWN and
 * nothing else is not. */
START_TEST(parse_skips_mini_sockets)
{
	struct spec tw = tcp4, req = tcp4;
	struct sockdiag_sock s;
	struct nlmsghdr *nlh;
	struct inet_diag_msg *m;

	tw.state = TCP_FIN_WAIT2;	/* the timewait socket's substate */
	tw.uid = tw.inode = 0;
	nlh = diag_msg(&tw, NLM_F_MULTI);
	m = mnl_nlmsg_get_payload(nlh);
	m->idiag_timer = 3;
	mnl_attr_put_u32(nlh, INET_DIAG_MARK, 0);
	ck_assert_int_eq(sockdiag_parse(nlh, IPPROTO_TCP, &s), -ENOMSG);
	nlh = diag_msg(&tw, NLM_F_MULTI);	/* without CAP_NET_ADMIN: bare */
	ck_assert_uint_eq(nlh->nlmsg_len, NLMSG_HDRLEN + sizeof(struct inet_diag_msg));
	ck_assert_int_eq(sockdiag_parse(nlh, IPPROTO_TCP, &s), -ENOMSG);

	req.state = TCP_SYN_RECV;
	req.uid = req.inode = 0;
	nlh = diag_msg(&req, NLM_F_MULTI);
	m = mnl_nlmsg_get_payload(nlh);
	m->idiag_timer = 1;
	mnl_attr_put_u32(nlh, INET_DIAG_MARK, 0);
	ck_assert_int_eq(sockdiag_parse(nlh, IPPROTO_TCP, &s), -ENOMSG);

	nlh = diag_msg(&tcp4, NLM_F_MULTI);
	mnl_attr_put_u8(nlh, INET_DIAG_SHUTDOWN, 1);
	ck_assert_int_eq(sockdiag_parse(nlh, IPPROTO_TCP, &s), 0);
	check_sock(&s, &tcp4, IPPROTO_TCP, false);
}
END_TEST

START_TEST(parse_destroy_broadcasts)
{
	const struct spec *specs[] = { &tcp4, &udp6, &udp4_unconnected, &listen6 };
	const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDP, IPPROTO_TCP };

	for (size_t i = 0; i < 4; i++) {
		struct sockdiag_sock s;

		/* The message's protocol wins over any hint. */
		ck_assert_int_eq(sockdiag_parse(destroy_msg(specs[i], protos[i]), 0, &s), 0);
		check_sock(&s, specs[i], protos[i], true);
		ck_assert_int_eq(sockdiag_parse(destroy_msg(specs[i], protos[i]),
						protos[i] == IPPROTO_TCP ? IPPROTO_UDP : IPPROTO_TCP,
						&s), 0);
		ck_assert_uint_eq(s.proto, protos[i]);
	}
}
END_TEST

START_TEST(parse_protocol_rules)
{
	struct sockdiag_sock s, keep;
	struct nlmsghdr *nlh;

	memset(&keep, 0x5a, sizeof(keep));
	s = keep;
	/* No protocol anywhere. */
	ck_assert_int_eq(sockdiag_parse(dump_reply(&tcp4), 0, &s), -EBADMSG);
	/* Not ours: skipped, not malformed. */
	ck_assert_int_eq(sockdiag_parse(dump_reply(&tcp4), IPPROTO_ICMP, &s), -ENOMSG);
	ck_assert_int_eq(sockdiag_parse(destroy_msg(&tcp4, IPPROTO_SCTP), IPPROTO_TCP, &s), -ENOMSG);
	ck_assert_int_eq(sockdiag_parse(destroy_msg(&tcp4, 0), IPPROTO_TCP, &s), -ENOMSG);
	/* PROTOCOL of the wrong size. */
	nlh = diag_msg(&tcp4, 0);
	mnl_attr_put_u16(nlh, INET_DIAG_PROTOCOL, IPPROTO_TCP);
	ck_assert_int_eq(sockdiag_parse(nlh, IPPROTO_TCP, &s), -EBADMSG);
	nlh = diag_msg(&tcp4, 0);
	mnl_attr_put(nlh, INET_DIAG_PROTOCOL, 0, NULL);
	ck_assert_int_eq(sockdiag_parse(nlh, IPPROTO_TCP, &s), -EBADMSG);
	ck_assert_mem_eq(&s, &keep, sizeof(s));	/* untouched on failure */
}
END_TEST

START_TEST(parse_wrong_type)
{
	struct sockdiag_sock s;
	struct nlmsghdr *nlh = dump_reply(&tcp4);

	nlh->nlmsg_type = NLMSG_DONE;
	ck_assert_int_eq(sockdiag_parse(nlh, IPPROTO_TCP, &s), -ENOMSG);
	nlh->nlmsg_type = SOCK_DESTROY;
	ck_assert_int_eq(sockdiag_parse(nlh, IPPROTO_TCP, &s), -ENOMSG);
	nlh->nlmsg_type = TCPDIAG_GETSOCK;
	ck_assert_int_eq(sockdiag_parse(nlh, IPPROTO_TCP, &s), -ENOMSG);
}
END_TEST

START_TEST(parse_wrong_family)
{
	static const uint8_t bad[] = { AF_UNSPEC, AF_UNIX, AF_NETLINK, AF_PACKET, 255 };
	struct sockdiag_sock s;

	for (size_t i = 0; i < sizeof(bad); i++) {
		struct nlmsghdr *nlh = dump_reply(&tcp4);
		struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);

		m->idiag_family = bad[i];
		ck_assert_int_eq(sockdiag_parse(nlh, IPPROTO_TCP, &s), -EBADMSG);
	}
}
END_TEST

/* Every cut of a broadcast: shorter than the two headers is malformed;
 * inside the attributes only a cut at an attribute's end, with all, part
 * or none of its padding, leaves a whole message. PROTOCOL is first, so
 * without it there is no protocol (no hint here). */
START_TEST(parse_truncated_everywhere)
{
	struct nlmsghdr *nlh = destroy_msg(&udp6, IPPROTO_UDP);
	const size_t fixed = NLMSG_HDRLEN + sizeof(struct inet_diag_msg);
	uint32_t full;

	mnl_attr_put_u8(nlh, INET_DIAG_SHUTDOWN, 0);		/* at 8, 5 + 3 padding */
	mnl_attr_put_u64(nlh, INET_DIAG_CGROUP_ID, 9);		/* at 16, 12 */
	full = nlh->nlmsg_len;
	ck_assert_uint_eq(full, fixed + 28);
	for (uint32_t len = 0; len <= full; len++) {
		size_t rel = len >= fixed ? len - fixed : 0;
		bool whole = len >= fixed && ((rel >= 5 && rel <= 8) || (rel >= 13 && rel <= 16) ||
					      rel == 28);
		struct sockdiag_sock s;
		int res;

		nlh->nlmsg_len = len;
		res = sockdiag_parse(nlh, 0, &s);
		ck_assert_msg(res == (whole ? 0 : -EBADMSG), "len %u: %d", len, res);
		if (whole)
			check_sock(&s, &udp6, IPPROTO_UDP, true);
	}
}
END_TEST

START_TEST(parse_bogus_attribute_lengths)
{
	static const uint16_t lens[] = { 0, 1, 3, 200, 0xffff };
	struct sockdiag_sock s;

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct nlmsghdr *nlh = dump_reply(&tcp4);
		struct nlattr *a = (struct nlattr *)((unsigned char *)nlh + NLMSG_HDRLEN +
						     NLMSG_ALIGN(sizeof(struct inet_diag_msg)));

		ck_assert_uint_eq(a->nla_type, INET_DIAG_SHUTDOWN);
		a->nla_len = lens[i];
		ck_assert_int_eq(sockdiag_parse(nlh, IPPROTO_TCP, &s), -EBADMSG);
	}
}
END_TEST

/* A header that claims less than the nlmsghdr itself, and attributes of
 * types beyond what this build knows (newer kernels): skipped. */
START_TEST(parse_odd_lengths_and_types)
{
	struct sockdiag_sock s;
	struct nlmsghdr *nlh = dump_reply(&udp6);

	mnl_attr_put_u32(nlh, INET_DIAG_MAX + 5, 1);
	ck_assert_int_eq(sockdiag_parse(nlh, IPPROTO_UDP, &s), 0);
	check_sock(&s, &udp6, IPPROTO_UDP, false);
	nlh->nlmsg_len = 3;
	ck_assert_int_eq(sockdiag_parse(nlh, IPPROTO_UDP, &s), -EBADMSG);
}
END_TEST

/* Random damage never crashes and never yields a family or protocol the
 * caller does not expect. */
START_TEST(parse_random_damage)
{
	uint32_t seed = 12345;

	for (int i = 0; i < 100000; i++) {
		struct nlmsghdr *nlh = i & 1 ? destroy_msg(&tcp4, IPPROTO_TCP) : dump_reply(&udp6);
		uint32_t len = nlh->nlmsg_len;
		struct sockdiag_sock s;

		scribble(buf, len, 1 + i % 4, &seed);
		if (nlh->nlmsg_len > len)
			nlh->nlmsg_len = len;	/* the caller checked it against the datagram */
		if (sockdiag_parse(nlh, (i & 2) ? IPPROTO_UDP : 0, &s) == 0) {
			HOT_ASSERT(s.family == AF_INET || s.family == AF_INET6);
			HOT_ASSERT(s.proto == IPPROTO_TCP || s.proto == IPPROTO_UDP);
			HOT_ASSERT(s.src.family == s.family && s.dst.family == s.family);
		}
	}
}
END_TEST

/* ---- IPv4-mapped ---- */

static struct sockdiag_sock sock6(const char *src, const char *dst)
{
	struct sockdiag_sock s = { .family = AF_INET6, .proto = IPPROTO_TCP };

	s.src = A(src);
	s.dst = A(dst);
	return s;
}

START_TEST(unmap_mapped)
{
	struct sockdiag_sock s = sock6("::ffff:192.0.2.10", "::ffff:198.51.100.7");

	ck_assert(sockdiag_sock_unmap(&s));
	ck_assert_uint_eq(s.family, AF_INET);
	ck_assert(dime_addr_eq(&s.src, AP("192.0.2.10")));
	ck_assert(dime_addr_eq(&s.dst, AP("198.51.100.7")));
	ck_assert(!sockdiag_sock_unmap(&s));	/* now IPv4: left alone */

	s = sock6("::ffff:192.0.2.10", "::");	/* not connected */
	ck_assert(sockdiag_sock_unmap(&s));
	ck_assert(dime_addr_eq(&s.dst, AP("0.0.0.0")));
	s = sock6("::", "::ffff:198.51.100.7");	/* wildcard-bound, connected */
	ck_assert(sockdiag_sock_unmap(&s));
	ck_assert(dime_addr_eq(&s.src, AP("0.0.0.0")));
}
END_TEST

START_TEST(unmap_leaves_ipv6)
{
	static const char *const pairs[][2] = {
		{ "::", "::" },				/* a dual-stack listener */
		{ "2001:db8::1", "2001:db8::2" },
		{ "::ffff:192.0.2.10", "2001:db8::2" },
		{ "2001:db8::1", "::ffff:192.0.2.10" },
		{ "::192.0.2.10", "::192.0.2.11" },	/* IPv4-compatible, not mapped */
	};

	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		struct sockdiag_sock s = sock6(pairs[i][0], pairs[i][1]), before = s;

		ck_assert(!sockdiag_sock_unmap(&s));
		ck_assert_mem_eq(&s, &before, sizeof(s));
	}
}
END_TEST

START_TEST(event_names)
{
	ck_assert_str_eq(sockdiag_event_name(SOCKDIAG_DUMP), "dump");
	ck_assert_str_eq(sockdiag_event_name(SOCKDIAG_DUMP_DONE), "dump-done");
	ck_assert_str_eq(sockdiag_event_name(SOCKDIAG_DESTROY), "destroy");
	ck_assert_str_eq(sockdiag_event_name(SOCKDIAG_RESYNC), "resync");
	ck_assert_str_eq(sockdiag_event_name((enum sockdiag_event)99), "unknown");
}
END_TEST

static Suite *sockdiag_suite(void)
{
	Suite *s = suite_create("sockdiag");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, build_dump_layout);
	tcase_add_test(tc, build_dump_rejects);
	tcase_add_test(tc, tcp_states_mask);
	tcase_add_test(tc, parse_dump_v4_tcp);
	tcase_add_test(tc, parse_dump_v6_udp);
	tcase_add_test(tc, parse_dump_unconnected_and_listener);
	tcase_add_test(tc, parse_skips_mini_sockets);
	tcase_add_test(tc, parse_destroy_broadcasts);
	tcase_add_test(tc, parse_protocol_rules);
	tcase_add_test(tc, parse_wrong_type);
	tcase_add_test(tc, parse_wrong_family);
	tcase_add_test(tc, parse_truncated_everywhere);
	tcase_add_test(tc, parse_bogus_attribute_lengths);
	tcase_add_test(tc, parse_odd_lengths_and_types);
	tcase_add_test(tc, parse_random_damage);
	tcase_add_test(tc, unmap_mapped);
	tcase_add_test(tc, unmap_leaves_ipv6);
	tcase_add_test(tc, event_names);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(sockdiag_suite());
}
