// SPDX-License-Identifier: BSD-2-Clause
/*
 * rtnetlink address and link events and dumps (see rtnl.h). Parsing walks
 * attributes strictly with nlutil.h (a truncated attribute is an error, not
 * the end of the list, unlike mnl_attr_parse). The socket half keeps the
 * two sockets, the dump's little state machine (links, then addresses) and
 * the ifindex -> name cache.
 */
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>

#include "dime/log.h"
#include "dime/nlutil.h"
#include "dime/rtnl.h"

#define RTNL_EVENTS_RCVBUF (4 << 20)
#define RTNL_DUMP_RCVBUF (1 << 20)
#define RTNL_RX_SIZE (64 << 10)	/* above any netlink skb (dumps cap at 32 KiB) */
#define RTNL_RX_BUDGET 64		/* datagrams per handle_*_readable call */
#define RTNL_NAMES_MAX 4096		/* cached interface names; beyond, if_indextoname */

/* ---- pure parsers ----------------------------------------------------------- */

static int addr_from_attr(const struct nlattr *a, uint8_t family, struct dime_addr *out)
{
	if (family == AF_INET && nlu_attr_is(a, 4))
		dime_addr_from_v4(out, mnl_attr_get_payload(a));
	else if (family == AF_INET6 && nlu_attr_is(a, 16))
		dime_addr_from_v6(out, mnl_attr_get_payload(a));
	else
		return -EBADMSG;
	return 0;
}

static int addr_attrs(const struct nlattr *const *tb, uint8_t family, struct rtnl_addr *a)
{
	if (addr_from_attr(tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS], family, &a->addr) < 0)
		return -EBADMSG;
	if (tb[IFA_FLAGS]) {
		if (!nlu_attr_is(tb[IFA_FLAGS], 4))
			return -EBADMSG;
		a->flags = mnl_attr_get_u32(tb[IFA_FLAGS]);
	}
	if (tb[IFA_PROTO]) {
		if (!nlu_attr_is(tb[IFA_PROTO], 1))
			return -EBADMSG;
		a->proto = mnl_attr_get_u8(tb[IFA_PROTO]);
	}
	a->preferred_lft = a->valid_lft = UINT32_MAX;
	if (tb[IFA_CACHEINFO]) {
		struct ifa_cacheinfo ci;

		if (!nlu_attr_is(tb[IFA_CACHEINFO], sizeof(ci)))
			return -EBADMSG;
		memcpy(&ci, mnl_attr_get_payload(tb[IFA_CACHEINFO]), sizeof(ci));
		a->preferred_lft = ci.ifa_prefered;
		a->valid_lft = ci.ifa_valid;
	}
	return 0;
}

/* Copy out the fixed header (size bytes) of a message of type new_type or
 * del_type: 0, -ENOMSG for another type, -EBADMSG when cut short. */
static int fixed_header(const struct nlmsghdr *nlh, uint16_t new_type, uint16_t del_type,
			void *fixed, size_t size)
{
	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN)
		return -EBADMSG;
	if (nlh->nlmsg_type != new_type && nlh->nlmsg_type != del_type)
		return -ENOMSG;
	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + size)
		return -EBADMSG;
	memcpy(fixed, mnl_nlmsg_get_payload(nlh), size);
	return 0;
}

int rtnl_parse_addr(const struct nlmsghdr *nlh, struct rtnl_addr *out)
{
	const struct nlattr *tb[IFA_MAX + 1];
	struct ifaddrmsg ifa;
	struct rtnl_addr a;
	int err;

	if ((err = fixed_header(nlh, RTM_NEWADDR, RTM_DELADDR, &ifa, sizeof(ifa))) < 0)
		return err;
	if (ifa.ifa_family != AF_INET && ifa.ifa_family != AF_INET6)
		return -ENOMSG;
	if (ifa.ifa_prefixlen > (ifa.ifa_family == AF_INET ? 32 : 128) ||
	    nlu_msg_table(nlh, sizeof(ifa), tb, IFA_MAX) < 0)
		return -EBADMSG;
	memset(&a, 0, sizeof(a));
	a.deleted = nlh->nlmsg_type == RTM_DELADDR;
	a.ifindex = (int)ifa.ifa_index;
	a.prefixlen = ifa.ifa_prefixlen;
	a.scope = ifa.ifa_scope;
	a.flags = ifa.ifa_flags;
	if (addr_attrs(tb, ifa.ifa_family, &a) < 0)
		return -EBADMSG;
	*out = a;
	return 0;
}

int rtnl_parse_link(const struct nlmsghdr *nlh, struct rtnl_link *out)
{
	const struct nlattr *tb[IFLA_MAX + 1];
	struct ifinfomsg ifi;
	struct rtnl_link l;
	int err;

	if ((err = fixed_header(nlh, RTM_NEWLINK, RTM_DELLINK, &ifi, sizeof(ifi))) < 0)
		return err;
	if (ifi.ifi_family != AF_UNSPEC)
		return -ENOMSG;
	if (nlu_msg_table(nlh, sizeof(ifi), tb, IFLA_MAX) < 0)
		return -EBADMSG;
	memset(&l, 0, sizeof(l));
	l.deleted = nlh->nlmsg_type == RTM_DELLINK;
	l.ifindex = ifi.ifi_index;
	l.flags = ifi.ifi_flags;
	if (tb[IFLA_IFNAME]) {
		const char *name = mnl_attr_get_payload(tb[IFLA_IFNAME]);
		size_t len = mnl_attr_get_payload_len(tb[IFLA_IFNAME]);
		size_t n = strnlen(name, len);

		if (n == len || n == 0 || n >= sizeof(l.ifname))	/* no NUL, empty, too long */
			return -EBADMSG;
		memcpy(l.ifname, name, n + 1);
	}
	if (tb[IFLA_OPERSTATE]) {
		if (!nlu_attr_is(tb[IFLA_OPERSTATE], 1))
			return -EBADMSG;
		l.operstate = mnl_attr_get_u8(tb[IFLA_OPERSTATE]);
	}
	*out = l;
	return 0;
}

/* ---- sockets -------------------------------------------------------------------- */

enum dump_stage { DUMP_IDLE, DUMP_LINKS, DUMP_ADDRS };

struct name_entry {
	int ifindex;
	char name[IF_NAMESIZE];
};

struct rtnl {
	struct mnl_socket *ev_nl;
	struct mnl_socket *dump_nl;
	rtnl_cb cb;
	void *ctx;
	uint32_t dump_portid;
	uint32_t dump_seq;
	enum dump_stage stage;
	bool superseded;
	bool dump_broken;
	struct name_entry *names;
	size_t n_names, cap_names;
	struct rtnl_stats stats;
	unsigned char buf[RTNL_RX_SIZE];
};

static struct name_entry *name_find(struct rtnl *rt, int ifindex)
{
	for (size_t i = 0; i < rt->n_names; i++)
		if (rt->names[i].ifindex == ifindex)
			return &rt->names[i];
	return NULL;
}

static void name_learn(struct rtnl *rt, const struct rtnl_link *l)
{
	struct name_entry *e = name_find(rt, l->ifindex);

	if (l->deleted) {
		if (e)
			*e = rt->names[--rt->n_names];
		return;
	}
	if (!l->ifname[0])
		return;
	if (!e) {
		if (rt->n_names == rt->cap_names) {
			size_t cap = rt->cap_names ? rt->cap_names * 2 : 16;
			struct name_entry *n;

			if (cap > RTNL_NAMES_MAX || !(n = realloc(rt->names, cap * sizeof(*n))))
				return;	/* if_indextoname still answers */
			rt->names = n;
			rt->cap_names = cap;
		}
		e = &rt->names[rt->n_names++];
		e->ifindex = l->ifindex;
	}
	memcpy(e->name, l->ifname, sizeof(e->name));
}

static void name_resolve(struct rtnl *rt, struct rtnl_addr *a)
{
	const struct name_entry *e = name_find(rt, a->ifindex);

	if (e)
		memcpy(a->ifname, e->name, sizeof(a->ifname));
	else if (!if_indextoname((unsigned int)a->ifindex, a->ifname))
		a->ifname[0] = '\0';
}

void rtnl_close(struct rtnl *rt)
{
	if (!rt)
		return;
	if (rt->ev_nl)
		mnl_socket_close(rt->ev_nl);
	if (rt->dump_nl)
		mnl_socket_close(rt->dump_nl);
	free(rt->names);
	free(rt);
}

int rtnl_events_fd(const struct rtnl *rt)
{
	return mnl_socket_get_fd(rt->ev_nl);
}

int rtnl_dump_fd(const struct rtnl *rt)
{
	return mnl_socket_get_fd(rt->dump_nl);
}

void rtnl_get_stats(const struct rtnl *rt, struct rtnl_stats *st)
{
	*st = rt->stats;
}

/* RTM_GETLINK or RTM_GETADDR dump of every family. Both fixed headers
 * start with the family byte, and ifinfomsg is the larger. */
static int send_dump_stage(struct rtnl *rt, enum dump_stage stage)
{
	unsigned char req[MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct ifinfomsg))] __attribute__((aligned(4)));
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req);
	int err;

	nlh->nlmsg_type = stage == DUMP_LINKS ? RTM_GETLINK : RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = ++rt->dump_seq;
	if (stage == DUMP_LINKS)
		mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
	else
		mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifaddrmsg));
	if (mnl_socket_sendto(rt->dump_nl, nlh, nlh->nlmsg_len) < 0) {
		err = -errno;
		rt->stage = DUMP_IDLE;
		log_warn_e(err, "rtnl: cannot request a %s dump", stage == DUMP_LINKS ? "link" : "address");
		return err;
	}
	rt->stage = stage;
	return 0;
}

static int start_dump(struct rtnl *rt)
{
	rt->superseded = false;
	rt->dump_broken = false;
	return send_dump_stage(rt, DUMP_LINKS);
}

int rtnl_dump(struct rtnl *rt)
{
	if (rt->stage != DUMP_IDLE) {
		rt->superseded = true;
		return 0;
	}
	return start_dump(rt);
}

int rtnl_open(struct rtnl **out, rtnl_cb cb, void *ctx)
{
	struct rtnl *rt = calloc(1, sizeof(*rt));
	int err;

	if (!rt)
		return -ENOMEM;
	rt->cb = cb;
	rt->ctx = ctx;
	if ((err = nlu_open(&rt->ev_nl, NETLINK_ROUTE,
			    RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR |
				    RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE,
			    RTNL_EVENTS_RCVBUF, "rtnl", "event")) < 0 ||
	    (err = nlu_open(&rt->dump_nl, NETLINK_ROUTE, 0, RTNL_DUMP_RCVBUF, "rtnl", "dump")) < 0)
		goto fail;
	rt->dump_portid = mnl_socket_get_portid(rt->dump_nl);
	if ((err = start_dump(rt)) < 0)
		goto fail;
	*out = rt;
	return 0;
fail:
	rtnl_close(rt);
	return err;
}

static void note_malformed(struct rtnl *rt, const char *where)
{
	nlu_note_malformed(&rt->stats.malformed, "rtnl: malformed message", where);
}

static ssize_t recv_datagram(struct rtnl *rt, struct mnl_socket *nl)
{
	return nlu_recv_kernel(nl, rt->buf, sizeof(rt->buf));
}

static void deliver(struct rtnl *rt, const struct nlmsghdr *nlh, bool dump, const char *where)
{
	struct rtnl_event ev = { .dump = dump };
	int err;

	if (nlh->nlmsg_type == RTM_NEWADDR || nlh->nlmsg_type == RTM_DELADDR) {
		ev.type = RTNL_EV_ADDR;
		if ((err = rtnl_parse_addr(nlh, &ev.u.addr)) == 0)
			name_resolve(rt, &ev.u.addr);
	} else if (nlh->nlmsg_type == RTM_NEWLINK || nlh->nlmsg_type == RTM_DELLINK) {
		ev.type = RTNL_EV_LINK;
		if ((err = rtnl_parse_link(nlh, &ev.u.link)) == 0)
			name_learn(rt, &ev.u.link);
	} else if (nlh->nlmsg_type == RTM_NEWROUTE && !dump) {
		/* A new address brings its routes a moment later (DHCP adds the
		 * default route after the address): IHMP sends that found no
		 * route can go now, not at their next retry. */
		ev.type = RTNL_EV_ROUTE_ADDED;
		err = 0;
	} else {
		return;
	}
	if (err == -EBADMSG)
		note_malformed(rt, where);
	if (err < 0)
		return;
	if (dump)
		rt->stats.dumped++;
	else
		rt->stats.events++;
	rt->cb(rt->ctx, &ev);
}

static void deliver_event(void *ctx, const struct nlmsghdr *nlh)
{
	deliver(ctx, nlh, false, "event");
}

static void deliver_dump(void *ctx, const struct nlmsghdr *nlh)
{
	deliver(ctx, nlh, true, "dump");
}

int rtnl_handle_events_readable(struct rtnl *rt)
{
	for (int i = 0; i < RTNL_RX_BUDGET; i++) {
		ssize_t n = recv_datagram(rt, rt->ev_nl);

		if (n == -EAGAIN || n == -EWOULDBLOCK || n == -EINTR)
			return 0;
		if (n == -ENOBUFS) {
			struct rtnl_event ev = { .type = RTNL_EV_RESYNC };

			rt->stats.enobufs++;
			log_info("rtnl: address events lost (socket overflow), resynchronising");
			rt->cb(rt->ctx, &ev);
			continue;
		}
		if (n == -EMSGSIZE) {
			note_malformed(rt, "event");
			continue;
		}
		if (n < 0) {
			log_warn_e((int)n, "rtnl: reading address events");
			return (int)n;
		}
		nlu_each_msg(rt->buf, (size_t)n, deliver_event, rt);
	}
	return 0;
}

/* The running stage ended: NLMSG_DONE (err 0) or the kernel's error. */
static int stage_finished(struct rtnl *rt, int err)
{
	struct rtnl_event ev = { .type = RTNL_EV_DUMP_DONE };

	if (rt->superseded)
		return start_dump(rt);
	if (err < 0) {
		log_warn_e(err, "rtnl: %s dump failed", rt->stage == DUMP_LINKS ? "link" : "address");
		rt->stage = DUMP_IDLE;
		return err;
	}
	if (rt->stage == DUMP_LINKS)
		return send_dump_stage(rt, DUMP_ADDRS);
	rt->stage = DUMP_IDLE;
	if (rt->dump_broken) {
		log_info("rtnl: address dump incomplete, asking for another");
		ev.type = RTNL_EV_RESYNC;
	} else {
		rt->stats.dumps++;
	}
	rt->cb(rt->ctx, &ev);
	return 0;
}

/* 1 when the stage ended in this datagram (*err set), else 0. */
static int dump_datagram(struct rtnl *rt, size_t len, int *err)
{
	return rt->stage != DUMP_IDLE &&
	       nlu_dump_datagram(rt->buf, len, rt->dump_seq, rt->dump_portid, &rt->dump_broken,
				 deliver_dump, rt, err);
}

int rtnl_handle_dump_readable(struct rtnl *rt)
{
	for (int i = 0; i < RTNL_RX_BUDGET; i++) {
		ssize_t n = recv_datagram(rt, rt->dump_nl);
		int err = 0;

		if (n == -EAGAIN || n == -EWOULDBLOCK || n == -EINTR)
			return 0;
		if (n == -ENOBUFS || n == -EMSGSIZE) {
			rt->dump_broken = true;	/* the dump goes on; report the gap at its end */
			continue;
		}
		if (n < 0) {
			log_warn_e((int)n, "rtnl: reading the address dump");
			return (int)n;
		}
		if (dump_datagram(rt, (size_t)n, &err)) {
			if ((err = stage_finished(rt, err)) < 0)
				return err;
		}
	}
	return 0;
}
