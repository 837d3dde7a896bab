/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Telling local sockets about their peer (NOTES.md, "Telling a local
 * socket its peer is gone"):
 *  - sockkill_flow(): the peer is lost for good (IHMP hold expired). A TCP
 *    socket is aborted through sock_diag SOCK_DESTROY (the application
 *    sees ECONNABORTED at once), after checking that the exact tuple names
 *    a connection and not the listener behind it; a connected UDP socket
 *    gets an ICMP port unreachable quoting its own packet (ECONNREFUSED).
 *  - sockkill_tcp_ld(): RFC 6069 (TCP-LD). An ICMP host unreachable (IPv6:
 *    no route) quoting a segment the socket sent makes Linux undo one RTO
 *    doubling when the segment is its oldest unacknowledged one; when the
 *    remaining timeout has passed it retransmits at once. Used for segments
 *    held during a hand-off, and once more when the hold ends.
 * The ICMP messages are built here (pure helpers, unit-tested) and sent on
 * raw sockets to our own address; loopback traffic never enters the queues.
 */
#ifndef DIME_SOCKKILL_H
#define DIME_SOCKKILL_H

#include <stddef.h>
#include <stdint.h>

#include "dime/flow.h"

/* Bytes of the offending packet an ICMP error quotes: IPv6 header plus
 * the TCP header without options is 60; IPv4 needs less. */
#define SOCKKILL_QUOTE_MAX 60

enum sockkill_icmp {
	SOCKKILL_PORT_UNREACH,	/* hard error for connected UDP */
	SOCKKILL_HOST_UNREACH,	/* TCP-LD (v4 host unreachable, v6 no route) */
};

/*
 * The ICMP (or ICMPv6) message, without the outer IP header, about the
 * packet quote[0..qlen) (from its IP header). IPv4: checksum filled in;
 * IPv6: left 0 (the kernel computes it for raw ICMPv6 sockets). Returns the
 * length, or -EINVAL (not an IPv4/IPv6 packet) / -ENOSPC (cap).
 */
int sockkill_build_icmp(enum sockkill_icmp kind, const uint8_t *quote, size_t qlen,
			uint8_t *out, size_t cap);

/* The packet a socket of flow would send: IP header and an 8-byte UDP
 * (or TCP with seq) header, from lid:lport to rid:rport. Returns length. */
int sockkill_build_quote(const struct dime_flow *flow, uint32_t tcp_seq, uint8_t *out,
			 size_t cap);

struct sockkill_stats {
	uint64_t tcp_aborted;		/* SOCK_DESTROY done */
	uint64_t tcp_not_found;		/* no connection with that tuple */
	uint64_t tcp_unsupported;	/* kernel without INET_DIAG_DESTROY */
	uint64_t udp_notified;		/* port unreachable injected */
	uint64_t ld_sent;		/* TCP-LD unreachables injected */
	uint64_t probes_sent;		/* out-of-window probes to peers */
	uint64_t errors;
};

struct sockkill;

/* mark: SO_MARK of injected packets. 0 or -errno (logged). */
int sockkill_open(struct sockkill **out, uint32_t mark);
void sockkill_close(struct sockkill *sk);

/* The peer of flow is gone: tell its socket. 0 or -errno. */
int sockkill_flow(struct sockkill *sk, const struct dime_flow *flow);

/* Send a TCP-LD unreachable about pkt[0..len) (as the socket sent it) to
 * the socket. 0 or -errno. */
int sockkill_tcp_ld(struct sockkill *sk, const uint8_t *pkt, size_t len);

/*
 * After a hand-off, a TCP sender on either host may sleep out a backed-off
 * retransmission timeout. To wake it, dimed needs its oldest unacknowledged
 * sequence number, which only the receiver knows: sockkill_tcp_probe()
 * sends the peer's socket (through the normal output path, so the rewrite
 * applies) an empty segment with an out-of-window sequence number; the
 * peer's TCP answers with an ACK carrying its rcv_nxt (RFC 793; Linux
 * allows one such answer per 500 ms and socket). When that ACK arrives,
 * sockkill_tcp_ld_seq() tells our socket TCP-LD style about a segment with
 * that sequence number, count times: each undoes one doubling of the
 * timeout, and the one that brings it below the time already waited makes
 * TCP retransmit at once.
 */
int sockkill_build_probe(const struct dime_flow *flow, uint32_t seq, uint32_t ack, uint8_t *out,
			 size_t cap);
int sockkill_tcp_probe(struct sockkill *sk, const struct dime_flow *flow);
int sockkill_tcp_ld_seq(struct sockkill *sk, const struct dime_flow *flow, uint32_t seq,
			unsigned int count);

const struct sockkill_stats *sockkill_stats(const struct sockkill *sk);

#endif
