// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer harness for the rtnetlink parsers (rtnl.c): the input is one
 * received netlink datagram (link and address dumps or events), split into
 * messages as the socket half does (nlu_msg_ok), on a copy of exactly
 * `size` bytes so ASan sees any read past the end. Each message goes to
 * both parsers, as a message of either kind may arrive on the one socket.
 *
 * Beyond "no crash" it checks, for every message:
 *   - each parser returns 0, -ENOMSG or -EBADMSG, writes its output only
 *     on success, and -ENOMSG is all a message of the other kind gets;
 *   - a parsed address has family AF_INET or AF_INET6 as its header says,
 *     no bytes past the fourth for IPv4, a prefix length that fits the
 *     family, `deleted` exactly for RTM_DELADDR and no interface name (the
 *     parser never fills it);
 *   - a parsed link has its name NUL-terminated inside IF_NAMESIZE, and
 *     `deleted` exactly for RTM_DELLINK;
 *   - parsing is a function of the bytes: a second parse gives the same.
 * A violated invariant aborts, which libFuzzer reports as a crash.
 *
 * Seeds: datagrams captured from a 6.18 kernel by capture_netlink.py (link
 * and address dumps, and the events of adding and removing a veth pair and
 * its IPv4 and IPv6 addresses) in tests/fuzz/corpus/fuzz_rtnl.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include "dime/nlutil.h"
#include "fuzz_netlink.h"
#include "dime/rtnl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(bool ok)
{
	if (!ok)
		abort();
}

static bool addr_equal(const struct rtnl_addr *a, const struct rtnl_addr *b)
{
	return a->deleted == b->deleted && a->ifindex == b->ifindex &&
	       strcmp(a->ifname, b->ifname) == 0 && a->addr.family == b->addr.family &&
	       memcmp(a->addr.a.u8, b->addr.a.u8, sizeof(a->addr.a.u8)) == 0 &&
	       a->prefixlen == b->prefixlen && a->scope == b->scope && a->flags == b->flags &&
	       a->proto == b->proto && a->preferred_lft == b->preferred_lft &&
	       a->valid_lft == b->valid_lft;
}

static bool link_equal(const struct rtnl_link *a, const struct rtnl_link *b)
{
	return a->deleted == b->deleted && a->ifindex == b->ifindex &&
	       strcmp(a->ifname, b->ifname) == 0 && a->flags == b->flags &&
	       a->operstate == b->operstate;
}

static void check_addr(const struct nlmsghdr *nlh)
{
	struct rtnl_addr a, again, untouched;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	int rc;

	memset(&a, 0xa5, sizeof(a));
	untouched = a;
	rc = rtnl_parse_addr(nlh, &a);
	require(rc == 0 || rc == -ENOMSG || rc == -EBADMSG);
	if (nlh->nlmsg_type != RTM_NEWADDR && nlh->nlmsg_type != RTM_DELADDR)
		require(rc == -ENOMSG);
	if (rc != 0) {
		require(memcmp(&a, &untouched, sizeof(a)) == 0);
		return;
	}
	require(nlh->nlmsg_len >= MNL_NLMSG_HDRLEN + sizeof(*ifa));
	require(a.addr.family == ifa->ifa_family);
	if (a.addr.family == AF_INET) {
		require(a.prefixlen <= 32);
		for (size_t i = 4; i < sizeof(a.addr.a.u8); i++)
			require(a.addr.a.u8[i] == 0);
	} else {
		require(a.addr.family == AF_INET6 && a.prefixlen <= 128);
	}
	require(a.deleted == (nlh->nlmsg_type == RTM_DELADDR));
	require(a.ifname[0] == '\0');
	memset(&again, 0x5a, sizeof(again));
	require(rtnl_parse_addr(nlh, &again) == 0 && addr_equal(&a, &again));
}

static void check_link(const struct nlmsghdr *nlh)
{
	struct rtnl_link l, again, untouched;
	int rc;

	memset(&l, 0xa5, sizeof(l));
	untouched = l;
	rc = rtnl_parse_link(nlh, &l);
	require(rc == 0 || rc == -ENOMSG || rc == -EBADMSG);
	if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK)
		require(rc == -ENOMSG);
	if (rc != 0) {
		require(memcmp(&l, &untouched, sizeof(l)) == 0);
		return;
	}
	require(nlh->nlmsg_len >= MNL_NLMSG_HDRLEN + sizeof(struct ifinfomsg));
	require(memchr(l.ifname, '\0', sizeof(l.ifname)) != NULL);
	require(l.deleted == (nlh->nlmsg_type == RTM_DELLINK));
	memset(&again, 0x5a, sizeof(again));
	require(rtnl_parse_link(nlh, &again) == 0 && link_equal(&l, &again));
}

static void check_message(const struct nlmsghdr *nlh)
{
	check_addr(nlh);
	check_link(nlh);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_each_message(data, size, check_message);
	return 0;
}
