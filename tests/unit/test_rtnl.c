// SPDX-License-Identifier: BSD-2-Clause
/*
 * Check suite for the rtnetlink parsers (rtnl.c): RTM_NEWADDR/DELADDR for
 * IPv4 and IPv6 as the kernel lays them out (IFA_LOCAL vs IFA_ADDRESS,
 * the u8 flags and the IFA_FLAGS extension, IFA_PROTO, lifetimes), link
 * messages, and malformed input: truncation at every length, wrong sizes,
 * impossible prefix lengths, foreign types and families, random damage.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <linux/if.h>	/* IFF_LOWER_UP, IF_OPER_*: after net/if.h */
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>

#include "dime/rtnl.h"
#include "testutil.h"

static unsigned char buf[4096] __attribute__((aligned(4)));

static struct nlmsghdr *addr_msg(uint16_t type, uint8_t family, uint8_t plen, uint8_t flags,
				 uint8_t scope, uint32_t index)
{
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = family;
	ifa->ifa_prefixlen = plen;
	ifa->ifa_flags = flags;
	ifa->ifa_scope = scope;
	ifa->ifa_index = index;
	return nlh;
}

static void put_addr(struct nlmsghdr *nlh, uint16_t type, const char *text)
{
	struct dime_addr a = A(text);

	mnl_attr_put(nlh, type, dime_addr_len(&a), a.a.u8);
}

static void put_cacheinfo(struct nlmsghdr *nlh, uint32_t pref, uint32_t valid)
{
	struct ifa_cacheinfo ci = { .ifa_prefered = pref, .ifa_valid = valid, .cstamp = 1, .tstamp = 2 };

	mnl_attr_put(nlh, IFA_CACHEINFO, sizeof(ci), &ci);
}

/* What the kernel sends for `ip addr add 192.0.2.10/25 dev eth1` (with a
 * peer to tell IFA_LOCAL from IFA_ADDRESS). */
static struct nlmsghdr *v4_new(void)
{
	struct nlmsghdr *nlh = addr_msg(RTM_NEWADDR, AF_INET, 25, IFA_F_PERMANENT, RT_SCOPE_UNIVERSE, 3);

	put_addr(nlh, IFA_ADDRESS, "192.0.2.99");
	put_addr(nlh, IFA_LOCAL, "192.0.2.10");
	put_addr(nlh, IFA_BROADCAST, "192.0.2.127");
	mnl_attr_put_strz(nlh, IFA_LABEL, "eth1");
	mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_PERMANENT | IFA_F_NOPREFIXROUTE);
	put_cacheinfo(nlh, UINT32_MAX, UINT32_MAX);
	mnl_attr_put_u8(nlh, IFA_PROTO, 0xd1);
	return nlh;
}

START_TEST(test_v4_new)
{
	struct nlmsghdr *nlh = v4_new();
	struct dime_addr want = A("192.0.2.10");
	struct rtnl_addr a;

	ck_assert_int_eq(rtnl_parse_addr(nlh, &a), 0);
	ck_assert(!a.deleted);
	ck_assert_int_eq(a.ifindex, 3);
	ck_assert_str_eq(a.ifname, "");
	ck_assert(dime_addr_eq(&a.addr, &want));	/* IFA_LOCAL, not the peer */
	ck_assert_uint_eq(a.prefixlen, 25);
	ck_assert_uint_eq(a.scope, RT_SCOPE_UNIVERSE);
	ck_assert_uint_eq(a.flags, IFA_F_PERMANENT | IFA_F_NOPREFIXROUTE);
	ck_assert_uint_eq(a.proto, 0xd1);
	ck_assert_uint_eq(a.preferred_lft, UINT32_MAX);
	ck_assert_uint_eq(a.valid_lft, UINT32_MAX);
}
END_TEST

START_TEST(test_v4_del_secondary)
{
	struct nlmsghdr *nlh = addr_msg(RTM_DELADDR, AF_INET, 24, IFA_F_SECONDARY, RT_SCOPE_UNIVERSE, 2);
	struct dime_addr want = A("198.51.100.10");
	struct rtnl_addr a;

	put_addr(nlh, IFA_ADDRESS, "198.51.100.10");
	put_addr(nlh, IFA_LOCAL, "198.51.100.10");
	ck_assert_int_eq(rtnl_parse_addr(nlh, &a), 0);
	ck_assert(a.deleted);
	ck_assert(dime_addr_eq(&a.addr, &want));
	ck_assert_uint_eq(a.flags, IFA_F_SECONDARY);	/* from the u8 without IFA_FLAGS */
	ck_assert_uint_eq(a.proto, 0);
	ck_assert_uint_eq(a.preferred_lft, UINT32_MAX);	/* no cacheinfo: forever */
}
END_TEST

START_TEST(test_v6_new_tentative)
{
	struct nlmsghdr *nlh = addr_msg(RTM_NEWADDR, AF_INET6, 64, IFA_F_TENTATIVE, RT_SCOPE_UNIVERSE, 4);
	struct dime_addr want = A("2001:db8:1::10");
	struct rtnl_addr a;

	/* IPv6 without a peer sends IFA_ADDRESS only. */
	put_addr(nlh, IFA_ADDRESS, "2001:db8:1::10");
	put_cacheinfo(nlh, 3600, 7200);
	mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_TENTATIVE | IFA_F_MANAGETEMPADDR);
	ck_assert_int_eq(rtnl_parse_addr(nlh, &a), 0);
	ck_assert(!a.deleted);
	ck_assert_int_eq(a.ifindex, 4);
	ck_assert(dime_addr_eq(&a.addr, &want));
	ck_assert_uint_eq(a.prefixlen, 64);
	/* IFA_FLAGS wins over the u8 and carries bits above 0xff. */
	ck_assert_uint_eq(a.flags, IFA_F_TENTATIVE | IFA_F_MANAGETEMPADDR);
	ck_assert_uint_eq(a.preferred_lft, 3600);
	ck_assert_uint_eq(a.valid_lft, 7200);
	ck_assert_uint_eq(a.proto, 0);
}
END_TEST

START_TEST(test_v6_del_flags)
{
	struct nlmsghdr *nlh = addr_msg(RTM_DELADDR, AF_INET6, 128, 0, RT_SCOPE_UNIVERSE, 1);
	struct dime_addr want = A("2001:db8:1::10");
	struct rtnl_addr a;

	put_addr(nlh, IFA_ADDRESS, "2001:db8:1::10");
	mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_DADFAILED | IFA_F_DEPRECATED | IFA_F_NODAD);
	put_cacheinfo(nlh, 0, UINT32_MAX);
	mnl_attr_put_u8(nlh, IFA_PROTO, 0xd1);
	ck_assert_int_eq(rtnl_parse_addr(nlh, &a), 0);
	ck_assert(a.deleted);
	ck_assert(dime_addr_eq(&a.addr, &want));
	ck_assert_uint_eq(a.flags, IFA_F_DADFAILED | IFA_F_DEPRECATED | IFA_F_NODAD);
	ck_assert_uint_eq(a.preferred_lft, 0);
	ck_assert_uint_eq(a.valid_lft, UINT32_MAX);
	ck_assert_uint_eq(a.proto, 0xd1);
}
END_TEST

START_TEST(test_addr_malformed)
{
	struct nlmsghdr *nlh;
	struct rtnl_addr a;

	/* No address at all. */
	nlh = addr_msg(RTM_NEWADDR, AF_INET, 24, 0, 0, 2);
	mnl_attr_put_strz(nlh, IFA_LABEL, "eth0");
	ck_assert_int_eq(rtnl_parse_addr(nlh, &a), -EBADMSG);

	/* An IPv6 address in an IPv4 message. */
	nlh = addr_msg(RTM_NEWADDR, AF_INET, 24, 0, 0, 2);
	put_addr(nlh, IFA_LOCAL, "2001:db8::1");
	ck_assert_int_eq(rtnl_parse_addr(nlh, &a), -EBADMSG);

	/* Impossible prefix lengths. */
	nlh = addr_msg(RTM_NEWADDR, AF_INET, 33, 0, 0, 2);
	put_addr(nlh, IFA_LOCAL, "192.0.2.1");
	ck_assert_int_eq(rtnl_parse_addr(nlh, &a), -EBADMSG);
	nlh = addr_msg(RTM_NEWADDR, AF_INET6, 129, 0, 0, 2);
	put_addr(nlh, IFA_ADDRESS, "2001:db8::1");
	ck_assert_int_eq(rtnl_parse_addr(nlh, &a), -EBADMSG);

	/* Wrong sizes of IFA_FLAGS, IFA_PROTO, IFA_CACHEINFO. */
	nlh = addr_msg(RTM_NEWADDR, AF_INET, 24, 0, 0, 2);
	put_addr(nlh, IFA_LOCAL, "192.0.2.1");
	mnl_attr_put_u16(nlh, IFA_FLAGS, 1);
	ck_assert_int_eq(rtnl_parse_addr(nlh, &a), -EBADMSG);
	nlh = addr_msg(RTM_NEWADDR, AF_INET, 24, 0, 0, 2);
	put_addr(nlh, IFA_LOCAL, "192.0.2.1");
	mnl_attr_put_u32(nlh, IFA_PROTO, 0xd1);
	ck_assert_int_eq(rtnl_parse_addr(nlh, &a), -EBADMSG);
	nlh = addr_msg(RTM_NEWADDR, AF_INET, 24, 0, 0, 2);
	put_addr(nlh, IFA_LOCAL, "192.0.2.1");
	mnl_attr_put_u64(nlh, IFA_CACHEINFO, 0);
	ck_assert_int_eq(rtnl_parse_addr(nlh, &a), -EBADMSG);

	/* Header shorter than ifaddrmsg. */
	nlh = addr_msg(RTM_NEWADDR, AF_INET, 24, 0, 0, 2);
	nlh->nlmsg_len = MNL_NLMSG_HDRLEN + 4;
	ck_assert_int_eq(rtnl_parse_addr(nlh, &a), -EBADMSG);
}
END_TEST

START_TEST(test_addr_foreign)
{
	struct nlmsghdr *nlh = v4_new();
	struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct rtnl_addr a;

	a.ifindex = 99;
	nlh->nlmsg_type = RTM_NEWROUTE;
	ck_assert_int_eq(rtnl_parse_addr(nlh, &a), -ENOMSG);
	nlh->nlmsg_type = RTM_NEWADDR;
	ifa->ifa_family = AF_PACKET;
	ck_assert_int_eq(rtnl_parse_addr(nlh, &a), -ENOMSG);
	ck_assert_int_eq(a.ifindex, 99);	/* untouched on failure */
}
END_TEST

/* Every cut of a valid message: IFA_ADDRESS and IFA_LOCAL come first, so
 * cuts before IFA_LOCAL's end leave no usable local address (IFA_ADDRESS
 * alone is the peer, which the parser would then take: that cut is a
 * valid shorter message) or a truncated attribute. Nothing may crash. */
START_TEST(test_addr_truncated_everywhere)
{
	struct nlmsghdr *nlh = v4_new();
	const uint32_t full = nlh->nlmsg_len;
	const uint32_t first_attr = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct ifaddrmsg));
	struct rtnl_addr a;

	for (uint32_t len = 0; len < full; len++) {
		int err;

		nlh->nlmsg_len = len;
		err = rtnl_parse_addr(nlh, &a);
		if (len < first_attr + 8)
			HOT_ASSERT(err == -EBADMSG);
		else
			HOT_ASSERT(err == 0 || err == -EBADMSG);
		if (len > first_attr && len < first_attr + 8)	/* inside IFA_ADDRESS */
			HOT_ASSERT(err == -EBADMSG);
	}
	nlh->nlmsg_len = full;
	ck_assert_int_eq(rtnl_parse_addr(nlh, &a), 0);
}
END_TEST

static struct nlmsghdr *link_msg(uint16_t type, uint8_t family, int index, uint32_t flags)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = family;
	ifi->ifi_index = index;
	ifi->ifi_flags = flags;
	return nlh;
}

START_TEST(test_link)
{
	struct nlmsghdr *nlh = link_msg(RTM_NEWLINK, AF_UNSPEC, 5, IFF_UP | IFF_RUNNING | IFF_LOWER_UP);
	struct rtnl_link l;

	mnl_attr_put_strz(nlh, IFLA_IFNAME, "eth1");
	mnl_attr_put_u32(nlh, IFLA_MTU, 1500);
	mnl_attr_put_u8(nlh, IFLA_OPERSTATE, IF_OPER_UP);
	ck_assert_int_eq(rtnl_parse_link(nlh, &l), 0);
	ck_assert(!l.deleted);
	ck_assert_int_eq(l.ifindex, 5);
	ck_assert_str_eq(l.ifname, "eth1");
	ck_assert_uint_eq(l.flags, IFF_UP | IFF_RUNNING | IFF_LOWER_UP);
	ck_assert_uint_eq(l.operstate, IF_OPER_UP);

	nlh = link_msg(RTM_DELLINK, AF_UNSPEC, 5, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "eth1");
	ck_assert_int_eq(rtnl_parse_link(nlh, &l), 0);
	ck_assert(l.deleted);
	ck_assert_uint_eq(l.operstate, IF_OPER_UNKNOWN);
}
END_TEST

START_TEST(test_link_malformed)
{
	struct nlmsghdr *nlh;
	struct rtnl_link l;

	/* Bridge port notices share the group: skipped. */
	nlh = link_msg(RTM_NEWLINK, AF_BRIDGE, 5, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "eth1");
	ck_assert_int_eq(rtnl_parse_link(nlh, &l), -ENOMSG);
	nlh->nlmsg_type = RTM_NEWADDR;
	ck_assert_int_eq(rtnl_parse_link(nlh, &l), -ENOMSG);

	/* A name without its NUL, a name too long, an empty name. */
	nlh = link_msg(RTM_NEWLINK, AF_UNSPEC, 5, 0);
	mnl_attr_put(nlh, IFLA_IFNAME, 4, "eth1");
	ck_assert_int_eq(rtnl_parse_link(nlh, &l), -EBADMSG);
	nlh = link_msg(RTM_NEWLINK, AF_UNSPEC, 5, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "a-very-long-name-indeed");
	ck_assert_int_eq(rtnl_parse_link(nlh, &l), -EBADMSG);
	nlh = link_msg(RTM_NEWLINK, AF_UNSPEC, 5, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "");
	ck_assert_int_eq(rtnl_parse_link(nlh, &l), -EBADMSG);

	/* Operstate of the wrong size; truncated header. */
	nlh = link_msg(RTM_NEWLINK, AF_UNSPEC, 5, 0);
	mnl_attr_put_u32(nlh, IFLA_OPERSTATE, IF_OPER_UP);
	ck_assert_int_eq(rtnl_parse_link(nlh, &l), -EBADMSG);
	nlh = link_msg(RTM_NEWLINK, AF_UNSPEC, 5, 0);
	nlh->nlmsg_len = MNL_NLMSG_HDRLEN + 8;
	ck_assert_int_eq(rtnl_parse_link(nlh, &l), -EBADMSG);
}
END_TEST

START_TEST(test_random_corruption)
{
	static unsigned char orig[4096] __attribute__((aligned(4)));
	uint32_t seed = 0x9e3779b9;
	struct rtnl_addr a;
	struct rtnl_link l;

	for (int which = 0; which < 2; which++) {
		struct nlmsghdr *nlh;
		uint32_t full;

		if (which == 0) {
			nlh = v4_new();
		} else {
			nlh = link_msg(RTM_NEWLINK, AF_UNSPEC, 5, IFF_UP);
			mnl_attr_put_strz(nlh, IFLA_IFNAME, "eth1");
			mnl_attr_put_u8(nlh, IFLA_OPERSTATE, IF_OPER_UP);
		}
		full = nlh->nlmsg_len;
		memcpy(orig, buf, full);
		for (int iter = 0; iter < 100000; iter++) {
			int e1, e2;

			memcpy(buf, orig, full);
			scribble(buf + MNL_NLMSG_HDRLEN, full - MNL_NLMSG_HDRLEN, 1 + iter % 4, &seed);
			e1 = rtnl_parse_addr(nlh, &a);
			e2 = rtnl_parse_link(nlh, &l);
			HOT_ASSERT(e1 == 0 || e1 == -EBADMSG || e1 == -ENOMSG);
			HOT_ASSERT(e2 == 0 || e2 == -EBADMSG || e2 == -ENOMSG);
			if (e2 == 0)
				HOT_ASSERT(strlen(l.ifname) < IF_NAMESIZE);
		}
	}
}
END_TEST

static Suite *rtnl_suite(void)
{
	Suite *s = suite_create("rtnl");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_v4_new);
	tcase_add_test(tc, test_v4_del_secondary);
	tcase_add_test(tc, test_v6_new_tentative);
	tcase_add_test(tc, test_v6_del_flags);
	tcase_add_test(tc, test_addr_malformed);
	tcase_add_test(tc, test_addr_foreign);
	tcase_add_test(tc, test_addr_truncated_everywhere);
	tcase_add_test(tc, test_link);
	tcase_add_test(tc, test_link_malformed);
	tcase_add_test(tc, test_random_corruption);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(rtnl_suite());
}
