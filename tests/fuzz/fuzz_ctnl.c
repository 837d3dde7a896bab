// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer harness for the ctnetlink parser (ctnl.c): the input is one
 * received netlink datagram (a dump reply or conntrack events), split into
 * messages as the socket half does (nlu_msg_ok), on a copy of exactly
 * `size` bytes so ASan sees any read past the end.
 *
 * Beyond "no crash" it checks, for every message:
 *   - ctnl_parse returns 0, -ENOMSG or -EBADMSG, and writes its outputs
 *     only on success;
 *   - the event follows from the message type and flags alone (DELETE is a
 *     destroy; NEW is a dump entry with NLM_F_MULTI, a new entry with
 *     NLM_F_CREATE, else an update), and -ENOMSG from the type alone;
 *   - a parsed flow has family AF_INET or AF_INET6, all four addresses of
 *     that family (an IPv4 address has no bytes past its fourth), a family
 *     that agrees with the nfgenmsg unless that is AF_UNSPEC, ports only
 *     for protocols that have them, and ICMP's echo id in both ports;
 *   - parsing is a function of the bytes: a second parse of the same
 *     message gives the same flow.
 * A violated invariant aborts, which libFuzzer reports as a crash.
 *
 * Seeds: datagrams captured from a 6.18 kernel by capture_netlink.py (dumps
 * and events of TCP, UDP and ICMP echo flows over IPv4 and IPv6) in
 * tests/fuzz/corpus/fuzz_ctnl.
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "dime/ctnl.h"
#include "dime/nlutil.h"
#include "fuzz_netlink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(bool ok)
{
	if (!ok)
		abort();
}

static bool addr_of_family(const struct dime_addr *a, uint8_t family)
{
	if (a->family != family)
		return false;
	if (family == AF_INET)
		for (size_t i = 4; i < sizeof(a->a.u8); i++)
			if (a->a.u8[i])
				return false;
	return true;
}

static bool proto_has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_UDPLITE ||
	       proto == IPPROTO_SCTP || proto == IPPROTO_DCCP;
}

/* What the type and flags alone say: the event, or -ENOMSG. */
static int expected_event(const struct nlmsghdr *nlh, enum ctnl_event *ev)
{
	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_CTNETLINK)
		return -ENOMSG;
	if (NFNL_MSG_TYPE(nlh->nlmsg_type) == IPCTNL_MSG_CT_DELETE)
		*ev = CTNL_DESTROY;
	else if (NFNL_MSG_TYPE(nlh->nlmsg_type) != IPCTNL_MSG_CT_NEW)
		return -ENOMSG;
	else if (nlh->nlmsg_flags & NLM_F_MULTI)
		*ev = CTNL_DUMP;
	else if (nlh->nlmsg_flags & NLM_F_CREATE)
		*ev = CTNL_NEW;
	else
		*ev = CTNL_UPDATE;
	return 0;
}

static bool addr_equal(const struct dime_addr *a, const struct dime_addr *b)
{
	return a->family == b->family && memcmp(a->a.u8, b->a.u8, sizeof(a->a.u8)) == 0;
}

/* Field by field: a structure assignment need not copy padding. */
static bool flow_equal(const struct ctnl_flow *a, const struct ctnl_flow *b)
{
	return a->family == b->family && a->proto == b->proto &&
	       addr_equal(&a->orig_src, &b->orig_src) && addr_equal(&a->orig_dst, &b->orig_dst) &&
	       addr_equal(&a->reply_src, &b->reply_src) &&
	       addr_equal(&a->reply_dst, &b->reply_dst) && a->orig_sport == b->orig_sport &&
	       a->orig_dport == b->orig_dport && a->reply_sport == b->reply_sport &&
	       a->reply_dport == b->reply_dport && a->tcp_state == b->tcp_state &&
	       a->status == b->status && a->mark == b->mark && a->id == b->id &&
	       a->timeout == b->timeout;
}

static void check_flow(const struct nlmsghdr *nlh, const struct ctnl_flow *f)
{
	const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);

	require(f->family == AF_INET || f->family == AF_INET6);
	require(addr_of_family(&f->orig_src, f->family) && addr_of_family(&f->orig_dst, f->family));
	require(addr_of_family(&f->reply_src, f->family) &&
		addr_of_family(&f->reply_dst, f->family));
	/* A parsed message is at least its nlmsghdr and nfgenmsg long. */
	require(nlh->nlmsg_len >= MNL_NLMSG_HDRLEN + sizeof(*nfg));
	require(nfg->nfgen_family == AF_UNSPEC || nfg->nfgen_family == f->family);
	if (f->proto == IPPROTO_ICMP || f->proto == IPPROTO_ICMPV6)
		require(f->orig_sport == f->orig_dport && f->reply_sport == f->reply_dport);
	else if (!proto_has_ports(f->proto))
		require(!f->orig_sport && !f->orig_dport && !f->reply_sport && !f->reply_dport);
}

static void check_message(const struct nlmsghdr *nlh)
{
	struct ctnl_flow f, again, untouched;
	enum ctnl_event ev = (enum ctnl_event)-1, ev_again = (enum ctnl_event)-1, want;
	int want_rc = expected_event(nlh, &want);
	int rc;

	memset(&f, 0xa5, sizeof(f));
	untouched = f;
	rc = ctnl_parse(nlh, &f, &ev);
	require(rc == 0 || rc == -ENOMSG || rc == -EBADMSG);
	if (rc != 0) {
		require(memcmp(&f, &untouched, sizeof(f)) == 0 && ev == (enum ctnl_event)-1);
		/* Not ours is decided before any attribute is read. */
		require(rc == -EBADMSG || want_rc == -ENOMSG);
		return;
	}
	require(want_rc == 0 && ev == want);
	check_flow(nlh, &f);
	memset(&again, 0x5a, sizeof(again));
	require(ctnl_parse(nlh, &again, &ev_again) == 0 && ev_again == ev);
	require(flow_equal(&f, &again));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_each_message(data, size, check_message);
	return 0;
}
