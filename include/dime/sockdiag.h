/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The kernel's socket table over sock_diag (inet_diag, libmnl only): how
 * dimed learns the flows of local TCP and UDP sockets without conntrack.
 * A pure builder writes the dump request and a pure parser turns one
 * SOCK_DIAG_BY_FAMILY message into a struct sockdiag_sock; the I/O half
 * owns two netlink sockets:
 *  - the query socket, which only carries sockdiag_dump(): a synchronous
 *    dump, TCP and UDP over IPv4 and IPv6, bounded by a deadline;
 *  - the event socket (non-blocking), subscribed to the four destroy
 *    groups (SKNLGRP_INET{,6}_{TCP,UDP}_DESTROY), read by
 *    sockdiag_handle_events_readable() a bounded number of datagrams at a
 *    time, so a level-triggered watcher calls again while data remains.
 *
 * Lost events: NETLINK_NO_ENOBUFS is deliberately not set. When the event
 * socket overflows, the callback receives SOCKDIAG_RESYNC (sock NULL) and
 * the caller must call sockdiag_dump() and reconcile at SOCKDIAG_DUMP_DONE.
 *
 * Kernel facts the caller must know (seen here, kernel 6.18):
 *  - a dump is answered for one (family, protocol) at a time: AF_UNSPEC
 *    has no handler, so a full dump is four requests; each only sees the
 *    sockets of the requester's network namespace;
 *  - neither dumps nor the destroy groups need any privilege (a process
 *    with uid 65534 and no capabilities got both, of every user's
 *    sockets): nothing to keep across dimed's privilege drop;
 *  - dump replies carry no INET_DIAG_PROTOCOL (the protocol is the one
 *    asked for); destroy broadcasts always carry it (and, for TCP,
 *    INET_DIAG_INFO), so one event socket serves the four groups;
 *  - destroy broadcasts have uid and inode 0 (the socket has no file any
 *    more); the cookie is the one the dumps gave, so it names the socket;
 *  - a destroy is broadcast when the socket is freed, for every socket
 *    whose group has a listener at that moment (unconnected and unbound
 *    UDP sockets and listeners included), from a work queue: typically
 *    milliseconds after the last close;
 *  - TCP is broadcast in state TCP_CLOSE. The side that closes first is
 *    freed as soon as its FIN is acknowledged (2-3 ms on loopback here);
 *    the other side when the application closes its end (CLOSE_WAIT ->
 *    LAST_ACK -> acked); an aborted connection (RST, SOCK_DESTROY) at once;
 *  - TCP dumps also show mini-sockets, which are never broadcast: the
 *    timewait socket that replaces a socket freed in FIN_WAIT2 is dumped
 *    as FIN_WAIT2 (its substate; tcp_fin_timeout, 60 s, until the peer's
 *    FIN makes it TIME_WAIT) with the cookie of the freed socket and inode
 *    0, and asking for SYN_RECV brings the request sockets of half-open
 *    connections (NEW_SYN_RECV). Both come without the attributes every
 *    full socket has, and the parser skips them (-ENOMSG): whatever a dump
 *    reports gets a destroy broadcast when it is freed;
 *  - UDP is broadcast in the state it had: TCP_ESTABLISHED when
 *    connected, TCP_CLOSE otherwise;
 *  - IPv4 sockets give their addresses in idiag_src[0] / idiag_dst[0].
 *    An IPv6 socket that talks IPv4 (dual-stack, not IPV6_V6ONLY) is
 *    reported as AF_INET6 with IPv4-mapped addresses (::ffff:192.0.2.1),
 *    in the IPv6 dump and in the IPv6 groups only: match it against IPv4
 *    flows with sockdiag_sock_unmap();
 *  - a socket not connected has an all-zero remote address and port 0, a
 *    socket bound to the wildcard an all-zero local address.
 */
#ifndef DIME_SOCKDIAG_H
#define DIME_SOCKDIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dime/addr.h"

struct nlmsghdr;

struct sockdiag_sock {
	uint8_t family;		/* AF_INET or AF_INET6 (as the socket is) */
	uint8_t proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t state;		/* kernel TCP_* state; UDP: TCP_ESTABLISHED when
				 * connected, TCP_CLOSE otherwise */
	/* Local and remote, as the socket sees them; both have `family`
	 * set, all-zero when unbound or not connected. */
	struct dime_addr src, dst;
	uint16_t sport, dport;	/* host order; 0 when unbound / not connected */
	uint32_t ifindex;	/* bound device (SO_BINDTODEVICE), else 0 */
	uint32_t uid, inode;	/* 0 in destroy broadcasts */
	uint64_t cookie;	/* the kernel's socket cookie: unique per socket */
};

enum sockdiag_event {
	SOCKDIAG_DUMP,		/* sock: one socket of a sockdiag_dump() */
	SOCKDIAG_DUMP_DONE,	/* sock NULL: the dump is complete */
	SOCKDIAG_DESTROY,	/* sock: a socket was freed (event) */
	SOCKDIAG_RESYNC,	/* sock NULL: destroy events were lost; call
				 * sockdiag_dump() */
};

/* Event name for logs and tools: "dump", "dump-done", "destroy", "resync". */
const char *sockdiag_event_name(enum sockdiag_event ev);

/* ---- pure ---- */

/* TCP states (bit 1 << TCP_*) a full dump asks for: all but TIME_WAIT and
 * NEW_SYN_RECV (mini-sockets, not sockets of an application; the kernel
 * adds NEW_SYN_RECV to SYN_RECV, the parser skips them) and BOUND_INACTIVE
 * (bound, never connected nor listening); LISTEN is in, so that accepted
 * connections can be told from opened ones. */
#define SOCKDIAG_TCP_STATES 0xfbeu
/* UDP: every state (connected and not). */
#define SOCKDIAG_UDP_STATES 0xffffffffu

/* Longest request sockdiag_build_dump writes. */
#define SOCKDIAG_REQ_LEN 72

/*
 * Build at buf (4-byte aligned, size bytes) a SOCK_DIAG_BY_FAMILY request,
 * NLM_F_REQUEST | NLM_F_DUMP, with an inet_diag_req_v2 for family
 * (AF_INET or AF_INET6), proto (IPPROTO_TCP or IPPROTO_UDP) and the state
 * bit mask `states`; no extension is asked for and no socket id is set.
 * Returns the length (SOCKDIAG_REQ_LEN), -EINVAL (family, proto, or a
 * states mask of 0) or -ENOSPC.
 */
int sockdiag_build_dump(void *buf, size_t size, uint32_t seq, uint8_t family, uint8_t proto,
			uint32_t states);

/*
 * Parse one SOCK_DIAG_BY_FAMILY message (a dump reply or a destroy
 * broadcast): the first nlh->nlmsg_len bytes at nlh must be readable. The
 * protocol is INET_DIAG_PROTOCOL when present (broadcasts), else
 * proto_hint (dumps: the protocol asked for); 0 means "must be in the
 * message". Returns 0; -ENOMSG when the message is not SOCK_DIAG_BY_FAMILY,
 * is about a protocol other than TCP and UDP, or is a TCP mini-socket (a
 * timewait or request socket: it has neither INET_DIAG_SHUTDOWN, which
 * every full socket has in dumps, nor INET_DIAG_PROTOCOL): skip those; or
 * -EBADMSG when
 * it is malformed: a cut inet_diag_msg or attribute, a family other than
 * AF_INET and AF_INET6, an INET_DIAG_PROTOCOL that is not one byte, or no
 * protocol at all. *out is only written on success.
 */
int sockdiag_parse(const struct nlmsghdr *nlh, uint8_t proto_hint, struct sockdiag_sock *out);

/*
 * An AF_INET6 socket whose addresses are both IPv4-mapped (or, for the
 * remote, all-zero) rewritten as the AF_INET socket it stands for:
 * returns true when it was changed. Anything else is left as it is.
 */
bool sockdiag_sock_unmap(struct sockdiag_sock *s);

/* ---- sockets ---- */

/* How long one sockdiag_dump() may take, all four requests together. */
#define SOCKDIAG_DUMP_TIMEOUT_MS 1000

/* What sockdiag_dump() asks for: at least one family and one protocol. */
#define SOCKDIAG_IPV4 0x1u
#define SOCKDIAG_IPV6 0x2u
#define SOCKDIAG_TCP 0x4u
#define SOCKDIAG_UDP 0x8u
#define SOCKDIAG_ALL 0xfu

struct sockdiag;

/* sock is NULL exactly for SOCKDIAG_DUMP_DONE and SOCKDIAG_RESYNC. The
 * callback may call sockdiag_dump() for SOCKDIAG_DESTROY, SOCKDIAG_RESYNC
 * and SOCKDIAG_DUMP_DONE (not for SOCKDIAG_DUMP: -EBUSY), never
 * sockdiag_close(). */
typedef void (*sockdiag_cb)(void *ctx, enum sockdiag_event ev, const struct sockdiag_sock *sock);

struct sockdiag_stats {
	uint64_t dumps;		/* dumps completed (SOCKDIAG_DUMP_DONE) */
	uint64_t dumped;	/* SOCKDIAG_DUMP delivered */
	uint64_t destroys;	/* SOCKDIAG_DESTROY delivered */
	uint64_t malformed;	/* messages sockdiag_parse rejected with -EBADMSG */
	uint64_t enobufs;	/* overflows of the event socket */
	uint64_t dump_errors;	/* sockdiag_dump() calls that failed */
	uint64_t last_dump_us;	/* duration of the last completed dump */
	uint64_t max_dump_us;	/* longest completed dump */
};

/* Open both sockets and join the four destroy groups (no privilege
 * needed). No dump is made: call sockdiag_dump() once the caller is
 * ready. 0 or -errno (logged). */
int sockdiag_open(struct sockdiag **out, sockdiag_cb cb, void *ctx);
void sockdiag_close(struct sockdiag *sd);

int sockdiag_events_fd(const struct sockdiag *sd);

/* Read what is pending on the event socket (bounded). 0, or -errno for a
 * socket error other than EAGAIN and ENOBUFS (already logged). */
int sockdiag_handle_events_readable(struct sockdiag *sd);

/*
 * Dump the sockets `what` names (SOCKDIAG_ALL: TCP in SOCKDIAG_TCP_STATES
 * and UDP in every state, IPv4 and IPv6), synchronously, within
 * SOCKDIAG_DUMP_TIMEOUT_MS: cb(SOCKDIAG_DUMP) for each socket, then
 * cb(SOCKDIAG_DUMP_DONE) when every request ended cleanly. A dump whose
 * replies were lost (receive overflow, NLM_F_DUMP_INTR) is started again
 * once; the sockets of the first attempt have been reported already, so a
 * socket may be reported twice in one dump (treat SOCKDIAG_DUMP as "exists"
 * and reconcile at SOCKDIAG_DUMP_DONE). An IPv6 request the kernel has no
 * handler for (IPv6 disabled) counts as empty. Returns the number of
 * sockets reported, or -errno and no SOCKDIAG_DUMP_DONE: -EINVAL (what)
 * and -EBUSY (called from the callback), neither logged nor counted; else
 * logged once and counted in dump_errors: -ETIMEDOUT, -EINTR (replies lost
 * twice), the kernel's or the socket's error. Destroy events are not read
 * meanwhile; they wait on the event socket.
 */
int sockdiag_dump(struct sockdiag *sd, unsigned int what);

void sockdiag_get_stats(const struct sockdiag *sd, struct sockdiag_stats *st);

#endif
