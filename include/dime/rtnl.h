/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Local addresses and links over rtnetlink (libmnl only): how dimed sees
 * its locators come and go. Pure parsers turn one RTM_NEWADDR/DELADDR or
 * RTM_NEWLINK/DELLINK message into a plain struct; the I/O half owns two
 * non-blocking sockets, like ctnl.h:
 *  - the event socket, subscribed to RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR
 *    and RTMGRP_LINK (links are cheap, and a carrier loss keeps an IPv4
 *    address on its interface, so address events alone miss it);
 *  - the dump socket, which carries a link dump followed by an address
 *    dump (both families), started at open and by rtnl_dump().
 * Interface names come from a cache fed by link messages (a DELADDR caused
 * by a link's removal arrives before its DELLINK, when if_indextoname can
 * no longer answer), else from if_indextoname.
 *
 * Lost events: NETLINK_NO_ENOBUFS is not set. On overflow the callback
 * receives RTNL_EV_RESYNC and the caller calls rtnl_dump() and reconciles
 * at RTNL_EV_DUMP_DONE. The kernel also echoes the caller's own changes
 * (pin.h) as events.
 */
#ifndef DIME_RTNL_H
#define DIME_RTNL_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "dime/addr.h"

struct nlmsghdr;

struct rtnl_addr {
	bool deleted;		/* RTM_DELADDR */
	int ifindex;
	char ifname[IF_NAMESIZE];	/* "" when unknown; the parser never fills it */
	struct dime_addr addr;	/* IFA_LOCAL, else IFA_ADDRESS */
	uint8_t prefixlen, scope;	/* scope: RT_SCOPE_* */
	uint32_t flags;		/* IFA_F_*: IFA_FLAGS when present, else ifa_flags */
	uint8_t proto;		/* IFA_PROTO, 0 when absent */
	/* Seconds, from IFA_CACHEINFO; UINT32_MAX is forever, which is also
	 * what an absent IFA_CACHEINFO means. */
	uint32_t preferred_lft, valid_lft;
};

struct rtnl_link {
	bool deleted;		/* RTM_DELLINK */
	int ifindex;
	char ifname[IF_NAMESIZE];	/* IFLA_IFNAME, "" when absent */
	uint32_t flags;		/* IFF_* (IFF_UP, IFF_RUNNING, IFF_LOWER_UP...) */
	uint8_t operstate;	/* IF_OPER_*; IF_OPER_UNKNOWN (0) when absent */
};

/*
 * Parse one RTM_NEWADDR/RTM_DELADDR message (nlh->nlmsg_len bytes
 * readable). Only AF_INET and AF_INET6 are accepted. 0, -ENOMSG when the
 * message is of another type or family (skip it), -EBADMSG when truncated,
 * malformed, or without an address of the family's size.
 */
int rtnl_parse_addr(const struct nlmsghdr *nlh, struct rtnl_addr *out);

/* Same for RTM_NEWLINK/RTM_DELLINK; messages of a family other than
 * AF_UNSPEC (bridge port notices) are -ENOMSG. */
int rtnl_parse_link(const struct nlmsghdr *nlh, struct rtnl_link *out);

enum rtnl_event_type {
	RTNL_EV_ADDR,		/* u.addr */
	RTNL_EV_LINK,		/* u.link */
	RTNL_EV_DUMP_DONE,	/* the dump ended: every link and address present
				 * throughout it has been reported */
	RTNL_EV_RESYNC,		/* events were lost or a dump broke: call rtnl_dump() */
	RTNL_EV_ROUTE_ADDED,	/* some route was added (no detail: a hint that
				 * sends which found no route may now succeed) */
};

struct rtnl_event {
	enum rtnl_event_type type;
	bool dump;		/* reported by a dump, not a change */
	union {
		struct rtnl_addr addr;
		struct rtnl_link link;
	} u;
};

/* The callback may call rtnl_dump() but must not call rtnl_close(). */
typedef void (*rtnl_cb)(void *ctx, const struct rtnl_event *ev);

struct rtnl_stats {
	uint64_t events;	/* address and link changes delivered */
	uint64_t dumped;	/* dump entries delivered */
	uint64_t dumps;		/* dumps completed */
	uint64_t malformed;
	uint64_t enobufs;
};

struct rtnl;

/* Open both sockets, subscribe, and start the first dump (its entries
 * arrive through rtnl_handle_dump_readable). 0 or -errno (logged). */
int rtnl_open(struct rtnl **out, rtnl_cb cb, void *ctx);
void rtnl_close(struct rtnl *rt);

int rtnl_events_fd(const struct rtnl *rt);
int rtnl_dump_fd(const struct rtnl *rt);

/* Dump links, then addresses. A call during a dump supersedes it, as
 * ctnl_dump() does. 0 or -errno. */
int rtnl_dump(struct rtnl *rt);

/* Read what is pending (bounded). 0, or -errno for a socket error other
 * than EAGAIN and ENOBUFS, or the kernel's error for a dump (logged). */
int rtnl_handle_events_readable(struct rtnl *rt);
int rtnl_handle_dump_readable(struct rtnl *rt);

void rtnl_get_stats(const struct rtnl *rt, struct rtnl_stats *st);

#endif
