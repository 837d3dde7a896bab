/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Conntrack over ctnetlink (libmnl only): how dimed learns flows without
 * queueing their packets. A pure parser turns one ctnetlink message into a
 * struct ctnl_flow; the I/O half owns two non-blocking netlink sockets:
 *  - the event socket, subscribed to NFNLGRP_CONNTRACK_NEW, _UPDATE and
 *    _DESTROY (updates carry a TCP connection's state changes, which set
 *    its flow's timeout; the kernel sends them per change, not per packet);
 *  - the dump socket, which only ever carries replies to ctnl_dump(), so a
 *    dump never interleaves with events and its end is unambiguous;
 *  - the query socket, which only carries answers to ctnl_query(), the one
 *    synchronous call (does this entry exist?), so its answer is never
 *    queued behind events or dump replies.
 * The event loop calls ctnl_handle_events_readable() or
 * ctnl_handle_dump_readable() when the matching fd is readable; each reads
 * a bounded number of datagrams and returns, so a level-triggered watcher
 * calls again while data remains.
 *
 * Lost events: NETLINK_NO_ENOBUFS is deliberately not set. When the event
 * socket overflows, the callback receives CTNL_RESYNC (flow NULL) and the
 * caller must call ctnl_dump() and reconcile at CTNL_DUMP_DONE.
 *
 * Kernel facts the caller must know (seen here, kernel 6.18):
 *  - conntrack only tracks in a namespace once some rule needs it;
 *  - with net.netfilter.nf_conntrack_events=2 (the default) an entry only
 *    gets an event cache if a listener existed when it was created: an
 *    entry adopted from a dump that predates the listener never produces
 *    a DESTROY event (none came in 75 s for a connection closed after the
 *    listener started). Age those out by re-dumping or by timeout;
 *  - DESTROY comes when the entry is reaped, not when the socket closes:
 *    after the conntrack timeout (TCP TIME_WAIT: 120 s by default) and
 *    then whenever the conntrack GC worker passes by (35 s after expiry in
 *    one test here);
 *  - DESTROY carries the last TCP state and no timeout.
 */
#ifndef DIME_CTNL_H
#define DIME_CTNL_H

#include <stddef.h>
#include <stdint.h>

#include "dime/addr.h"

struct nlmsghdr;

struct ctnl_flow {
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint8_t proto;		/* IPPROTO_* of the original tuple */
	struct dime_addr orig_src, orig_dst, reply_src, reply_dst;
	/* Host order. ICMP/ICMPv6: the echo id in both ports. Protocols
	 * without ports: 0. */
	uint16_t orig_sport, orig_dport, reply_sport, reply_dport;
	uint8_t tcp_state;	/* kernel TCP_CONNTRACK_*; 0 (NONE) when absent */
	uint32_t status;	/* IPS_* bits; 0 when absent */
	uint32_t mark;		/* 0 when absent */
	uint32_t id;		/* conntrack id; 0 when absent */
	uint32_t timeout;	/* seconds left; 0 when absent (DESTROY) */
};

enum ctnl_event {
	CTNL_NEW,		/* flow: a new entry (event) */
	CTNL_UPDATE,		/* flow: an entry changed state (event) */
	CTNL_DESTROY,		/* flow: an entry went away (event) */
	CTNL_DUMP,		/* flow: one entry of a ctnl_dump() */
	CTNL_DUMP_DONE,		/* flow NULL: the dump ended; every entry that
				 * existed throughout it has been reported */
	CTNL_RESYNC,		/* flow NULL: events were lost or a dump broke;
				 * call ctnl_dump() */
};

/*
 * Parse one ctnetlink conntrack message: the first nlh->nlmsg_len bytes at
 * nlh must be readable (the caller checked them against what it received).
 * NEW with NLM_F_MULTI is a dump entry, NEW with NLM_F_CREATE a new entry,
 * other NEW an update, DELETE a destroy. Returns 0, -ENOMSG when the
 * message is not a conntrack NEW/DELETE (skip it), or -EBADMSG when it is
 * malformed: truncated header or attribute, a missing or inconsistent
 * tuple (both tuples, both addresses and, for TCP, UDP, UDP-Lite, SCTP,
 * DCCP, ICMP and ICMPv6, the ports or echo id are required), or an
 * attribute of the wrong size. *out and *ev are only written on success.
 */
int ctnl_parse(const struct nlmsghdr *nlh, struct ctnl_flow *out, enum ctnl_event *ev);

/* Event name for logs and tools: "new", "update", "destroy", "dump",
 * "dump-done", "resync". */
const char *ctnl_event_name(enum ctnl_event ev);

struct ctnl;

/* flow is NULL exactly for CTNL_DUMP_DONE and CTNL_RESYNC. The callback
 * may call ctnl_dump() but must not call ctnl_close(). */
typedef void (*ctnl_cb)(void *ctx, enum ctnl_event ev, const struct ctnl_flow *flow);

struct ctnl_stats {
	uint64_t events;	/* NEW and DESTROY delivered */
	uint64_t dumped;	/* CTNL_DUMP delivered */
	uint64_t dumps;		/* dumps completed (CTNL_DUMP_DONE) */
	uint64_t malformed;	/* messages ctnl_parse rejected with -EBADMSG */
	uint64_t enobufs;	/* overflows of the event socket */
	uint64_t queries;	/* ctnl_query answered (exists or not) */
	uint64_t query_errors;	/* ctnl_query failed after sending (timeout, kernel
				 * or socket error) */
};

/* Open the three sockets and subscribe to NEW, UPDATE and DESTROY events.
 * No dump is started: call ctnl_dump() once the caller is ready for
 * entries. Needs CAP_NET_ADMIN. 0 or -errno (logged). */
int ctnl_open(struct ctnl **out, ctnl_cb cb, void *ctx);
void ctnl_close(struct ctnl *ct);

int ctnl_events_fd(const struct ctnl *ct);
int ctnl_dump_fd(const struct ctnl *ct);

/*
 * Ask for a dump of the whole table (IPv4 and IPv6). If a dump is already
 * running, it is marked superseded: its remaining entries still arrive as
 * CTNL_DUMP, its end is not reported, and a fresh dump starts when it ends,
 * so the next CTNL_DUMP_DONE always belongs to a dump that began after this
 * call. 0 or -errno.
 */
int ctnl_dump(struct ctnl *ct);

/* Read what is pending (bounded). 0, or -errno for a socket error other
 * than EAGAIN and ENOBUFS (already logged); a dump the kernel refused ends
 * with its error here and no CTNL_DUMP_DONE. */
int ctnl_handle_events_readable(struct ctnl *ct);
int ctnl_handle_dump_readable(struct ctnl *ct);

void ctnl_get_stats(const struct ctnl *ct, struct ctnl_stats *st);

/* ---- single-entry queries ---- */

/* Longest request ctnl_build_get writes (IPv6 addresses). */
#define CTNL_GET_MAX_LEN 96
/* How long ctnl_query waits for the kernel's answer. */
#define CTNL_QUERY_TIMEOUT_MS 200

/*
 * Pure: build at buf (4-byte aligned, size bytes) the IPCTNL_MSG_CT_GET
 * request for one entry: NLM_F_REQUEST without ACK (the kernel answers
 * with the entry or an error, never both), nfgenmsg family of the
 * addresses, then CTA_TUPLE_ORIG { CTA_TUPLE_IP { CTA_IP_V4_SRC/DST or
 * CTA_IP_V6_SRC/DST }, CTA_TUPLE_PROTO { CTA_PROTO_NUM, CTA_PROTO_SRC_PORT,
 * CTA_PROTO_DST_PORT } }, ports big-endian on the wire (host order here).
 * Returns the message length, -EINVAL (proto neither TCP nor UDP, or the
 * addresses not both IPv4 or both IPv6) or -ENOSPC (size too small;
 * CTNL_GET_MAX_LEN always fits).
 */
int ctnl_build_get(void *buf, size_t size, uint32_t seq, uint8_t proto,
		   const struct dime_addr *src, uint16_t sport, const struct dime_addr *dst,
		   uint16_t dport);

/*
 * Pure: look in the received datagram [buf, buf + len) for the answer to
 * request seq sent from portid (other messages are left over from an
 * earlier query that timed out). 1: a conntrack entry came back; 0: the
 * kernel said ENOENT; -errno: the kernel's other error (-EBADMSG for a
 * cut error message, -EPROTO for an unasked-for ACK); -EAGAIN: the answer
 * is not in this datagram.
 */
int ctnl_get_reply(const void *buf, size_t len, uint32_t seq, uint32_t portid);

/*
 * Ask conntrack, synchronously, whether an entry with this tuple exists:
 * 1 yes, 0 no (ENOENT), -errno otherwise (-EINVAL as for ctnl_build_get,
 * -ETIMEDOUT after CTNL_QUERY_TIMEOUT_MS, a socket or kernel error). TCP
 * and UDP only, ports host order. Conntrack finds an entry by either
 * direction's tuple, so the socket's view (local identifier and port to
 * remote identifier and port) finds it whichever side opened it; a NATed
 * entry is found by its original tuple or by its reply tuple as rewritten.
 * The kernel handles the request inside sendmsg, so the answer is normally
 * queued before the wait begins; the timeout only bounds the odd case.
 * Not logged (the caller knows which flow it asked about); counted in
 * queries and query_errors. Safe to call from the ctnl callback.
 */
int ctnl_query(struct ctnl *ct, uint8_t proto, const struct dime_addr *src, uint16_t sport,
	       const struct dime_addr *dst, uint16_t dport);

#endif
