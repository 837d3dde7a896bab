/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The packet core of the StackTrans data plane: defensive parsing of one IP
 * packet as NFQUEUE delivers it (the buffer starts at the IP header) and
 * address rewriting that leaves every checksum right. Pure functions on
 * byte buffers: no allocation, no state, no I/O. Nothing here reads outside
 * buf[0..len), whatever the bytes say.
 *
 * Use: pkt_parse() once, decide from the tuple(s), then pkt_rewrite() for
 * the outer addresses and, for ICMP errors, pkt_rewrite_inner() for the
 * quoted packet. The pkt_info must come from pkt_parse() on the same
 * bytes; both rewrites only change addresses and checksum fields, so one
 * pkt_info stays valid across them, in either order.
 */
#ifndef DIME_PKT_H
#define DIME_PKT_H

#include <stddef.h>
#include <stdint.h>

#include "dime/addr.h"

/* NFQUEUE cannot take back a payload longer than this (nfqnl_mangle). */
#define PKT_MANGLE_MAX 65531u

/* IPv6 extension headers walked before giving up (hop-by-hop, routing,
 * destination options, fragment); a chain longer than this is malformed. */
#define PKT_MAX_EXTHDR 8

/* The flow as the transport sees it. */
struct pkt_tuple {
	struct dime_addr src;	/* from the IP header */
	struct dime_addr dst;	/* from the IP header (see PKT_IP_ROUTED) */
	uint16_t sport;		/* host order; ICMP/ICMPv6 echo: the echo id */
	uint16_t dport;		/* host order; ICMP/ICMPv6 echo: the echo id */
};

/* pkt_ip.flags */
#define PKT_IP_FRAG	  0x01	/* a fragment: more-fragments set or offset != 0 */
#define PKT_IP_FRAG_FIRST 0x02	/* with PKT_IP_FRAG: offset 0, the L4 header is here */
#define PKT_IP_PORTS	  0x04	/* tuple.sport/dport are valid */
#define PKT_IP_CSUM	  0x08	/* the L4 checksum field at csum_off is in the buffer */
#define PKT_IP_ROUTED	  0x10	/* source route pending (IPv4 LSRR/SSRR, IPv6 routing
				 * header with segments left): the L4 pseudo-header uses
				 * the final destination at pdst_off, not the IP dst */
#define PKT_IP_WHOLE	  0x20	/* inner only: the quote holds the whole quoted packet
				 * and it is no fragment */
#define PKT_IP_BIG	  0x40	/* outer only: IP length field 0 with more than 64 KiB
				 * (IPv4 BIG TCP, IPv6 jumbo); len taken from the buffer */

/* How the L4 checksum covers the packet. */
enum pkt_csum_kind {
	PKT_CSUM_NONE,		/* none, or not over addresses (SCTP's CRC32c) */
	PKT_CSUM_PSEUDO,	/* TCP, UDP-Lite, DCCP, ICMPv6: pseudo-header + L4 */
	PKT_CSUM_UDP,		/* UDP: like PSEUDO, 0 = "no checksum", 0 sent as 0xffff */
	PKT_CSUM_PLAIN,		/* ICMPv4: the ICMP message only, no addresses */
};

/* One IP packet: the outer one, or the one quoted in an ICMP error. All
 * offsets are absolute in the buffer given to pkt_parse(). */
struct pkt_ip {
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint8_t proto;		/* L4 protocol, after IPv6 extension headers */
	uint8_t flags;		/* PKT_IP_* */
	uint8_t csum_kind;	/* enum pkt_csum_kind of proto */
	uint32_t off;		/* IP header: 0 outer, inner: ICMP header + 8 */
	uint32_t l3len;		/* IP header with options / extension headers */
	uint32_t l4off;		/* L4 header (= off + l3len) */
	uint32_t len;		/* outer: total length; inner: bytes of it quoted */
	uint32_t iplen;		/* length the IP header claims (outer: = len) */
	uint32_t pdst_off;	/* pseudo-header destination address */
	uint32_t csum_off;	/* L4 checksum field, valid with PKT_IP_CSUM */
	struct pkt_tuple tuple;
};

/* pkt_info.flags */
#define PKT_I_ICMP_ERR	0x01	/* ICMP/ICMPv6 error; inner is the quoted packet */

struct pkt_info {
	struct pkt_ip ip;	/* the packet itself */
	uint8_t flags;		/* PKT_I_* */
	uint8_t icmp_type;	/* ICMP/ICMPv6 with its header present, else 0 */
	uint8_t icmp_code;
	struct pkt_ip inner;	/* with PKT_I_ICMP_ERR only */
};

/*
 * Parse buf[0..len), starting at the IP header. Returns:
 *   0                L4 protocol known (TCP, UDP, UDP-Lite, DCCP, SCTP, ICMP
 *                    in IPv4, ICMPv6 in IPv6) and its header complete, or a
 *                    non-first fragment of a known protocol (no ports).
 *                    ICMP errors: inner parsed too (PKT_I_ICMP_ERR). Ports
 *                    are valid with PKT_IP_PORTS (TCP, UDP, UDP-Lite, DCCP,
 *                    SCTP, echo request/reply).
 *   -EPROTONOSUPPORT IP layer fine, L4 protocol unknown (ESP, AH, GRE, no
 *                    next header, ...): out->ip is filled without ports and
 *                    checksum; pkt_rewrite() can still re-address it.
 *   -EBADMSG         an ICMP error whose quote is unusable (truncated inner
 *                    IP header, wrong version, bad lengths): out->ip and
 *                    icmp_type/code are valid, PKT_I_ICMP_ERR is not set.
 *   -EINVAL          malformed: bad version or header length, length field
 *                    beyond len or below the header, bad IPv4 options,
 *                    extension header chain overlong (> PKT_MAX_EXTHDR) or
 *                    past the end, hop-by-hop not first, unknown routing
 *                    header type with segments left, L4 header truncated
 *                    in an unfragmented packet or first fragment, bad TCP
 *                    data offset, bad UDP length or UDP-Lite coverage.
 *                    out is unspecified.
 * Bytes after the IP length are ignored (out->ip.len may be < len).
 */
int pkt_parse(const uint8_t *buf, size_t len, struct pkt_info *out);

/* pkt_rewrite() flags: the checksum state NFQUEUE reported. */
#define PKT_F_CSUM_PARTIAL 0x01	/* NFQA_SKB_CSUMNOTREADY: L4 field holds the pseudo sum */
#define PKT_F_GSO	   0x02	/* NFQA_SKB_GSO: larger than the MTU */
#define PKT_F_INBOUND	   0x04	/* received (PREROUTING), not sent by this host */

/*
 * Replace the outer source and/or destination address (NULL = unchanged;
 * same family as the packet) and fix the IPv4 header checksum and the L4
 * checksum as flags require:
 *   complete (no PKT_F_CSUM_PARTIAL): incremental update (RFC 1624). UDP
 *     checksum 0 stays 0 (both families: IPv6 tunnels may send 0); a UDP
 *     result of 0 is written 0xffff. Non-first fragments: addresses only;
 *     first fragments: incremental (the pseudo-header change is additive).
 *     ICMPv4 checksums do not cover addresses and stay.
 *   PKT_F_CSUM_PARTIAL|PKT_F_GSO without PKT_F_INBOUND: the field's pseudo
 *     sum is updated; the kernel's segmenter finishes it.
 *   PKT_F_CSUM_PARTIAL otherwise: the full final checksum over the whole L4
 *     segment (nfqnl_mangle sets CHECKSUM_NONE; what we return is final).
 * With PKT_IP_ROUTED the destination change does not reach the L4 checksum.
 * Returns 0; -EMSGSIZE longer than PKT_MANGLE_MAX; -EAFNOSUPPORT address
 * family differs from the packet's; -EOPNOTSUPP a CSUM_PARTIAL checksum
 * that cannot be finished here (fragment, DCCP, unknown L4, SCTP's CRC32c
 * without GSO); -EINVAL info does not fit buf/len. On error buf is
 * unchanged.
 */
int pkt_rewrite(uint8_t *buf, size_t len, const struct pkt_info *info,
		const struct dime_addr *new_src, const struct dime_addr *new_dst,
		unsigned flags);

/*
 * For an ICMP error (PKT_I_ICMP_ERR): replace the quoted packet's source
 * and/or destination (NULL = unchanged) and fix, incrementally: the quoted
 * IPv4 header checksum; the quoted L4 checksum when its field lies inside
 * the quote (PKT_IP_CSUM; TCP needs 18 bytes of it, UDP 8) - the update is
 * right for the original whole segment even when the quote is truncated,
 * and a quote that ends before the field is left as it is; and the outer
 * ICMP/ICMPv6 checksum for every word changed. Commutes with pkt_rewrite()
 * for complete checksums. ICMP is never CHECKSUM_PARTIAL in practice (the
 * kernel sums ICMP in software); were it, call pkt_rewrite() last, which
 * recomputes it in full. Returns 0, -EINVAL (no ICMP error, or info does
 * not fit), -EMSGSIZE, -EAFNOSUPPORT; on error buf is unchanged.
 */
int pkt_rewrite_inner(uint8_t *buf, size_t len, const struct pkt_info *info,
		      const struct dime_addr *inner_src, const struct dime_addr *inner_dst);

#endif
