// SPDX-License-Identifier: BSD-2-Clause
/*
 * rtnetlink address and link events and dumps (see rtnl.h). Parsing walks
 * attributes strictly (a truncated attribute is an error, not the end of
 * the list, unlike mnl_attr_parse). The socket half keeps the two sockets,
 * the dump's little state machine (links, then addresses) and the
 * ifindex -> name cache.
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
#include "dime/rtnl.h"

#define RTNL_EVENTS_RCVBUF (4 << 20)
#define RTNL_DUMP_RCVBUF (1 << 20)
#define RTNL_RX_SIZE (64 << 10)	/* above any netlink skb (dumps cap at 32 KiB) */
#define RTNL_RX_BUDGET 64		/* datagrams per handle_*_readable call */
#define RTNL_NAMES_MAX 4096		/* cached interface names; beyond, if_indextoname */

/* ---- pure parsers ----------------------------------------------------------- */

/* Same contract as ctnl.c's: index [buf, buf + len) by type, any leftover
 * byte that is not a whole attribute is an error. */
static int attr_table(const void *buf, size_t len, const struct nlattr **tb, unsigned int max)
{
	const unsigned char *p = buf;

	memset(tb, 0, (max + 1) * sizeof(*tb));
	while (len > 0) {
		const struct nlattr *a = (const struct nlattr *)p;
		size_t step;

		if (len < sizeof(*a) || a->nla_len < sizeof(*a) || a->nla_len > len)
			return -EBADMSG;
		if ((a->nla_type & NLA_TYPE_MASK) <= max)
			tb[a->nla_type & NLA_TYPE_MASK] = a;
		step = MNL_ALIGN(a->nla_len);
		if (step > len)
			step = len;
		p += step;
		len -= step;
	}
	return 0;
}

/* The fixed header of size `fixed` after nlmsghdr, then attributes. */
static int message_table(const struct nlmsghdr *nlh, size_t fixed, const struct nlattr **tb,
			 unsigned int max)
{
	size_t hdr = MNL_NLMSG_HDRLEN + MNL_ALIGN(fixed);

	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + fixed)
		return -EBADMSG;
	if (nlh->nlmsg_len < hdr)	/* header without padding: no attributes */
		return attr_table(NULL, 0, tb, max);
	return attr_table((const unsigned char *)nlh + hdr, nlh->nlmsg_len - hdr, tb, max);
}

static bool attr_is(const struct nlattr *a, size_t size)
{
	return a && mnl_attr_get_payload_len(a) == size;
}

static int addr_from_attr(const struct nlattr *a, uint8_t family, struct dime_addr *out)
{
	if (family == AF_INET && attr_is(a, 4))
		dime_addr_from_v4(out, mnl_attr_get_payload(a));
	else if (family == AF_INET6 && attr_is(a, 16))
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
		if (!attr_is(tb[IFA_FLAGS], 4))
			return -EBADMSG;
		a->flags = mnl_attr_get_u32(tb[IFA_FLAGS]);
	}
	if (tb[IFA_PROTO]) {
		if (!attr_is(tb[IFA_PROTO], 1))
			return -EBADMSG;
		a->proto = mnl_attr_get_u8(tb[IFA_PROTO]);
	}
	a->preferred_lft = a->valid_lft = UINT32_MAX;
	if (tb[IFA_CACHEINFO]) {
		struct ifa_cacheinfo ci;

		if (!attr_is(tb[IFA_CACHEINFO], sizeof(ci)))
			return -EBADMSG;
		memcpy(&ci, mnl_attr_get_payload(tb[IFA_CACHEINFO]), sizeof(ci));
		a->preferred_lft = ci.ifa_prefered;
		a->valid_lft = ci.ifa_valid;
	}
	return 0;
}

int rtnl_parse_addr(const struct nlmsghdr *nlh, struct rtnl_addr *out)
{
	const struct nlattr *tb[IFA_MAX + 1];
	struct ifaddrmsg ifa;
	struct rtnl_addr a;

	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN)
		return -EBADMSG;
	if (nlh->nlmsg_type != RTM_NEWADDR && nlh->nlmsg_type != RTM_DELADDR)
		return -ENOMSG;
	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(ifa))
		return -EBADMSG;
	memcpy(&ifa, mnl_nlmsg_get_payload(nlh), sizeof(ifa));
	if (ifa.ifa_family != AF_INET && ifa.ifa_family != AF_INET6)
		return -ENOMSG;
	if (ifa.ifa_prefixlen > (ifa.ifa_family == AF_INET ? 32 : 128) ||
	    message_table(nlh, sizeof(ifa), tb, IFA_MAX) < 0)
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

	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN)
		return -EBADMSG;
	if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK)
		return -ENOMSG;
	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(ifi))
		return -EBADMSG;
	memcpy(&ifi, mnl_nlmsg_get_payload(nlh), sizeof(ifi));
	if (ifi.ifi_family != AF_UNSPEC)
		return -ENOMSG;
	if (message_table(nlh, sizeof(ifi), tb, IFLA_MAX) < 0)
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
		if (!attr_is(tb[IFLA_OPERSTATE], 1))
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

static void set_rcvbuf(struct mnl_socket *nl, int size, const char *what)
{
	int fd = mnl_socket_get_fd(nl);

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) == 0)
		return;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) < 0)
		log_warn("rtnl: %s socket: cannot set receive buffer to %d bytes", what, size);
}

static int open_socket(struct mnl_socket **out, unsigned int groups, int rcvbuf, const char *what)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	int err;

	if (!nl) {
		err = -errno;
		log_warn_e(err, "rtnl: cannot open %s socket", what);
		return err;
	}
	if (mnl_socket_bind(nl, groups, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		log_warn_e(err, "rtnl: cannot bind %s socket", what);
		mnl_socket_close(nl);
		return err;
	}
	set_rcvbuf(nl, rcvbuf, what);
	*out = nl;
	return 0;
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
	if ((err = open_socket(&rt->ev_nl, RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR,
			       RTNL_EVENTS_RCVBUF, "event")) < 0 ||
	    (err = open_socket(&rt->dump_nl, 0, RTNL_DUMP_RCVBUF, "dump")) < 0)
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
	uint64_t n = ++rt->stats.malformed;

	if ((n & (n - 1)) == 0)	/* counts 1, 2, 4, 8...: visible, never a flood */
		log_warnx("rtnl: malformed message on the %s socket (%llu so far)",
			  where, (unsigned long long)n);
}

static ssize_t recv_datagram(struct rtnl *rt, struct mnl_socket *nl)
{
	struct sockaddr_nl sa;
	struct iovec iov = { rt->buf, sizeof(rt->buf) };
	struct msghdr msg = { .msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n = recvmsg(mnl_socket_get_fd(nl), &msg, 0);

	if (n < 0)
		return -errno;
	if (msg.msg_flags & MSG_TRUNC)
		return -EMSGSIZE;
	if (sa.nl_pid != 0)	/* only the kernel, never another process */
		return 0;
	return n;
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

int rtnl_handle_events_readable(struct rtnl *rt)
{
	for (int i = 0; i < RTNL_RX_BUDGET; i++) {
		ssize_t n = recv_datagram(rt, rt->ev_nl);
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)rt->buf;
		int left = (int)n;

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
		for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left))
			deliver(rt, nlh, false, "event");
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
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)rt->buf;
	int left = (int)len;

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		if (rt->stage == DUMP_IDLE || nlh->nlmsg_seq != rt->dump_seq ||
		    nlh->nlmsg_pid != rt->dump_portid)
			continue;
		/* Addresses changed under the dump (inet_dump_ifaddr checks). */
		if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
			rt->dump_broken = true;
		if (nlh->nlmsg_type == NLMSG_DONE) {
			*err = 0;
			return 1;
		}
		if (nlh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

			if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
				*err = -EBADMSG;
			else
				*err = e->error < 0 ? e->error : -EPROTO;
			return 1;
		}
		deliver(rt, nlh, true, "dump");
	}
	return 0;
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
