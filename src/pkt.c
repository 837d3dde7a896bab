// SPDX-License-Identifier: BSD-2-Clause
/*
 * The packet core (see pkt.h): parsing IPv4/IPv6 packets and the packets
 * quoted in ICMP errors, and rewriting their addresses with every checksum
 * kept right.
 *
 * Parsing trusts nothing: every offset is checked against the end of the
 * region before the bytes under it are read, and the rewrite functions
 * re-check the pkt_info they are given against len, so a stale or forged
 * pkt_info can at worst write wrong bytes inside buf, never outside it.
 *
 * Checksums are updated incrementally (RFC 1624) on raw words (csum.h); the
 * only loop over payload bytes is the full recomputation that
 * CHECKSUM_PARTIAL packets need when no segmenter will finish them.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

#include "dime/csum.h"
#include "dime/pkt.h"

#define IPV4_HDR 20u
#define IPV6_HDR 40u
#define IPV4_MF 0x2000u
#define IPV4_OFFSET 0x1fffu
#define IPV6_FRAG_OFFSET 0xfff8u
#define IPV6_FRAG_MORE 0x0001u
#define IPOPT_LSRR_TYPE 131
#define IPOPT_SSRR_TYPE 137
/* IPv4 BIG TCP and IPv6 jumbograms: the length field is 0. */
#define IP_LEN_MAX 65535u
/* Parsing refuses buffers whose offsets would not fit pkt_ip's uint32_t. */
#define PKT_BUF_MAX 0x7fffffffu

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

static inline size_t addr_len(uint8_t family)
{
	return family == AF_INET6 ? 16 : 4;
}

/* Offset of the source address in an IP header; the destination follows. */
static inline size_t saddr_at(uint8_t family)
{
	return family == AF_INET6 ? 8 : 12;
}

static inline void addr_set(struct dime_addr *a, uint8_t family, const uint8_t *p)
{
	memset(a, 0, sizeof(*a));
	a->family = family;
	if (family == AF_INET6)
		memcpy(a->a.u8, p, 16);
	else
		memcpy(a->a.u8, p, 4);
}

static inline void ip_start(struct pkt_ip *ip, uint8_t family, const uint8_t *h)
{
	size_t at = saddr_at(family);

	ip->family = family;
	ip->flags = 0;
	ip->csum_kind = PKT_CSUM_NONE;
	ip->csum_off = 0;
	ip->pdst_off = ip->off + (uint32_t)(at + addr_len(family));
	addr_set(&ip->tuple.src, family, h + at);
	addr_set(&ip->tuple.dst, family, h + at + addr_len(family));
	ip->tuple.sport = 0;
	ip->tuple.dport = 0;
}

/*
 * Length bookkeeping shared by both families: hdr is the fixed part, tot
 * the length the header claims, avail what the buffer (or quote) holds.
 * A quote may be shorter than the packet it quotes; an outer packet not.
 */
static int ip_lengths(struct pkt_ip *ip, size_t hdr, size_t tot, size_t avail, bool quoted)
{
	if (tot < hdr)
		return -EINVAL;
	ip->iplen = (uint32_t)tot;
	if (quoted) {
		ip->len = (uint32_t)min_size(tot, avail);
		return 0;
	}
	if (tot > avail)
		return -EINVAL;
	ip->len = (uint32_t)tot;
	return 0;
}

/* LSRR/SSRR with addresses left: the last one is the final destination,
 * and TCP/UDP put that one in the pseudo-header (RFC 1122 4.2.3.1). */
static int v4_source_route(const uint8_t *opt, size_t olen, size_t at, struct pkt_ip *ip)
{
	if (olen < 3 || opt[2] < 4 || (olen - 3) % 4)
		return -EINVAL;
	if ((size_t)opt[2] + 3 <= olen) {
		ip->flags |= PKT_IP_ROUTED;
		ip->pdst_off = (uint32_t)(at + olen - 4);
	}
	return 0;
}

static int v4_options(const uint8_t *h, size_t hl, struct pkt_ip *ip)
{
	size_t i = IPV4_HDR;
	bool source_routed = false;

	while (i < hl) {
		uint8_t type = h[i];
		size_t olen;
		int rc;

		if (type == 0)		/* end of option list */
			break;
		if (type == 1) {	/* no-operation */
			i++;
			continue;
		}
		if (hl - i < 2)
			return -EINVAL;
		olen = h[i + 1];
		if (olen < 2 || olen > hl - i)
			return -EINVAL;
		if (type == IPOPT_LSRR_TYPE || type == IPOPT_SSRR_TYPE) {
			/* Two source routes: Linux drops the packet. */
			if (source_routed)
				return -EINVAL;
			source_routed = true;
			rc = v4_source_route(h + i, olen, ip->off + i, ip);
			if (rc)
				return rc;
		}
		i += olen;
	}
	return 0;
}

static int parse_v4(const uint8_t *buf, size_t end, bool quoted, struct pkt_ip *ip)
{
	const uint8_t *h = buf + ip->off;
	size_t avail = end - ip->off, hl, tot;
	uint16_t frag;
	int rc;

	if (avail < IPV4_HDR || h[0] >> 4 != 4)
		return -EINVAL;
	hl = (h[0] & 0x0fu) * 4u;
	if (hl < IPV4_HDR || hl > avail)
		return -EINVAL;
	ip_start(ip, AF_INET, h);
	tot = rd16(h + 2);
	if (!quoted && tot == 0 && avail > IP_LEN_MAX) {
		tot = avail;
		ip->flags |= PKT_IP_BIG;
	}
	rc = ip_lengths(ip, hl, tot, avail, quoted);
	if (rc)
		return rc;
	ip->proto = h[9];
	ip->l3len = (uint32_t)hl;
	ip->l4off = ip->off + (uint32_t)hl;
	frag = rd16(h + 6);
	if (frag & (IPV4_MF | IPV4_OFFSET)) {
		ip->flags |= PKT_IP_FRAG;
		if (!(frag & IPV4_OFFSET))
			ip->flags |= PKT_IP_FRAG_FIRST;
	}
	return hl > IPV4_HDR ? v4_options(h, hl, ip) : 0;
}

/*
 * A routing header with segments left: the pseudo-header destination is
 * the final one (RFC 8200 8.1). RH0 lists it last, type 2 holds one, the
 * SRH (type 4) keeps it as Segment List[0]. Others: RFC 8200 4.4 says
 * discard, so they are malformed here.
 */
static int v6_routing(const uint8_t *e, size_t at, struct pkt_ip *ip)
{
	size_t naddr = e[1] / 2u, final;

	if (e[3] == 0)
		return 0;
	if (ip->flags & PKT_IP_ROUTED)
		return -EINVAL;
	switch (e[2]) {
	case 0:
		if (naddr == 0 || (e[1] & 1) || e[3] > naddr)
			return -EINVAL;
		final = at + 8 + 16 * (naddr - 1);
		break;
	case 2:
		if (e[1] != 2 || e[3] != 1)
			return -EINVAL;
		final = at + 8;
		break;
	case 4:
		if (naddr == 0 || e[3] > naddr)
			return -EINVAL;
		final = at + 8;
		break;
	default:
		return -EINVAL;
	}
	ip->flags |= PKT_IP_ROUTED;
	ip->pdst_off = (uint32_t)final;
	return 0;
}

/* Returns true when the fragment header ends the walk (a later fragment:
 * what follows is fragment data, not headers). */
static bool v6_fragment(const uint8_t *e, struct pkt_ip *ip)
{
	uint16_t fo = rd16(e + 2);

	/* An atomic fragment (offset 0, no more) is a whole packet (RFC 6946). */
	if (!(fo & (IPV6_FRAG_OFFSET | IPV6_FRAG_MORE)))
		return false;
	ip->flags |= PKT_IP_FRAG;
	if (!(fo & IPV6_FRAG_OFFSET)) {
		ip->flags |= PKT_IP_FRAG_FIRST;
		return false;
	}
	return true;
}

static bool v6_is_ext(uint8_t nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_FRAGMENT ||
	       nh == IPPROTO_DSTOPTS;
}

static int v6_extension_headers(const uint8_t *buf, struct pkt_ip *ip)
{
	size_t pos = ip->off + IPV6_HDR, end = ip->off + ip->len;
	uint8_t nh = buf[ip->off + 6];

	for (int n = 0; v6_is_ext(nh); n++) {
		const uint8_t *e = buf + pos;
		size_t elen;

		if (n == PKT_MAX_EXTHDR || (nh == IPPROTO_HOPOPTS && n > 0) || end - pos < 8)
			return -EINVAL;
		elen = nh == IPPROTO_FRAGMENT ? 8 : (e[1] + 1u) * 8u;
		if (elen > end - pos)
			return -EINVAL;
		if (nh == IPPROTO_ROUTING) {
			int rc = v6_routing(e, pos, ip);

			if (rc)
				return rc;
		}
		pos += elen;
		if (nh == IPPROTO_FRAGMENT && v6_fragment(e, ip)) {
			nh = e[0];
			break;
		}
		nh = e[0];
	}
	ip->proto = nh;
	ip->l3len = (uint32_t)(pos - ip->off);
	ip->l4off = (uint32_t)pos;
	return 0;
}

static int parse_v6(const uint8_t *buf, size_t end, bool quoted, struct pkt_ip *ip)
{
	const uint8_t *h = buf + ip->off;
	size_t avail = end - ip->off, tot;
	int rc;

	if (avail < IPV6_HDR || h[0] >> 4 != 6)
		return -EINVAL;
	ip_start(ip, AF_INET6, h);
	tot = IPV6_HDR + rd16(h + 4);
	if (!quoted && tot == IPV6_HDR && avail > IPV6_HDR + IP_LEN_MAX) {
		tot = avail;
		ip->flags |= PKT_IP_BIG;
	}
	rc = ip_lengths(ip, IPV6_HDR, tot, avail, quoted);
	if (rc)
		return rc;
	return v6_extension_headers(buf, ip);
}

/* What a known L4 protocol looks like; false for unknown ones. */
struct l4_desc {
	uint8_t kind;		/* enum pkt_csum_kind */
	uint8_t csum_at;	/* checksum field offset in the L4 header */
	uint8_t min;		/* shortest valid header */
	bool ports;		/* source and destination port in bytes 0..3 */
};

static bool l4_describe(uint8_t family, uint8_t proto, struct l4_desc *d)
{
	switch (proto) {
	case IPPROTO_TCP:
		*d = (struct l4_desc){ PKT_CSUM_PSEUDO, 16, 20, true };
		return true;
	case IPPROTO_UDP:
		*d = (struct l4_desc){ PKT_CSUM_UDP, 6, 8, true };
		return true;
	case IPPROTO_UDPLITE:
		*d = (struct l4_desc){ PKT_CSUM_PSEUDO, 6, 8, true };
		return true;
	case IPPROTO_DCCP:
		*d = (struct l4_desc){ PKT_CSUM_PSEUDO, 6, 12, true };
		return true;
	case IPPROTO_SCTP:
		*d = (struct l4_desc){ PKT_CSUM_NONE, 0, 12, true };
		return true;
	case IPPROTO_ICMP:
		*d = (struct l4_desc){ PKT_CSUM_PLAIN, 2, 8, false };
		return family == AF_INET;
	case IPPROTO_ICMPV6:
		*d = (struct l4_desc){ PKT_CSUM_PSEUDO, 2, 8, false };
		return family == AF_INET6;
	default:
		return false;
	}
}

/* Header lengths the L4 header itself states, for unfragmented packets
 * and first fragments outside a quote. */
static int l4_validate(const uint8_t *l4, size_t avail, const struct pkt_ip *ip)
{
	bool whole = !(ip->flags & (PKT_IP_FRAG | PKT_IP_BIG));
	size_t v;

	switch (ip->proto) {
	case IPPROTO_TCP:
		v = (l4[12] >> 4) * 4u;
		return v < 20 || v > avail ? -EINVAL : 0;
	case IPPROTO_DCCP:
		v = l4[4] * 4u;
		return v < ((l4[8] & 1) ? 16u : 12u) || v > avail ? -EINVAL : 0;
	case IPPROTO_UDP:
		v = rd16(l4 + 4);
		return whole && (v < 8 || v > avail) ? -EINVAL : 0;
	case IPPROTO_UDPLITE:
		v = rd16(l4 + 4);	/* checksum coverage, 0 = all */
		return whole && v && (v < 8 || v > avail) ? -EINVAL : 0;
	default:
		return 0;
	}
}

static bool icmp_is_echo(uint8_t family, uint8_t type)
{
	if (family == AF_INET)
		return type == 8 || type == 0;
	return type == 128 || type == 129;
}

static int parse_l4(const uint8_t *buf, struct pkt_ip *ip, bool quoted)
{
	const uint8_t *l4 = buf + ip->l4off;
	size_t avail = ip->off + ip->len - ip->l4off;
	struct l4_desc d;
	int rc;

	if (!l4_describe(ip->family, ip->proto, &d))
		return -EPROTONOSUPPORT;
	ip->csum_kind = d.kind;
	if ((ip->flags & PKT_IP_FRAG) && !(ip->flags & PKT_IP_FRAG_FIRST))
		return 0;
	if (!quoted) {
		if (avail < d.min)
			return -EINVAL;
		rc = l4_validate(l4, avail, ip);
		if (rc)
			return rc;
	}
	if (d.kind != PKT_CSUM_NONE && d.csum_at + 2u <= avail) {
		ip->flags |= PKT_IP_CSUM;
		ip->csum_off = ip->l4off + d.csum_at;
	}
	if (d.ports && avail >= 4) {
		ip->tuple.sport = rd16(l4);
		ip->tuple.dport = rd16(l4 + 2);
		ip->flags |= PKT_IP_PORTS;
	} else if (!d.ports && avail >= 6 && icmp_is_echo(ip->family, l4[0])) {
		ip->tuple.sport = ip->tuple.dport = rd16(l4 + 4);
		ip->flags |= PKT_IP_PORTS;
	}
	return 0;
}

static bool icmp_is_error(uint8_t family, uint8_t type)
{
	if (family == AF_INET)
		return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
	return type >= 1 && type <= 4;
}

/* RFC 4884 "length" of the quoted datagram in bytes, 0 when absent. */
static size_t icmp_quote_length(uint8_t family, const uint8_t *icmp)
{
	if (family == AF_INET && (icmp[0] == 3 || icmp[0] == 11 || icmp[0] == 12))
		return icmp[5] * 4u;
	if (family == AF_INET6 && (icmp[0] == 1 || icmp[0] == 3))
		return icmp[4] * 8u;
	return 0;
}

/* The quote: an IP packet of the outer family, possibly truncated. Only
 * its IP header (with IPv6 extension headers) must be complete. */
static int parse_quote(const uint8_t *buf, struct pkt_info *info)
{
	const struct pkt_ip *o = &info->ip;
	struct pkt_ip *in = &info->inner;
	size_t qoff = o->l4off + 8, end = o->off + o->len;
	size_t qlen = icmp_quote_length(o->family, buf + o->l4off);
	int rc;

	if (qlen && qlen < end - qoff)
		end = qoff + qlen;
	in->off = (uint32_t)qoff;
	if (o->family == AF_INET)
		rc = parse_v4(buf, end, true, in);
	else
		rc = parse_v6(buf, end, true, in);
	if (rc)
		return -EBADMSG;
	rc = parse_l4(buf, in, true);
	if (rc && rc != -EPROTONOSUPPORT)
		return -EBADMSG;
	if (in->len == in->iplen && !(in->flags & PKT_IP_FRAG))
		in->flags |= PKT_IP_WHOLE;
	info->flags |= PKT_I_ICMP_ERR;
	return 0;
}

int pkt_parse(const uint8_t *buf, size_t len, struct pkt_info *out)
{
	struct pkt_ip *ip = &out->ip;
	const uint8_t *l4;
	int rc;

	out->flags = 0;
	out->icmp_type = 0;
	out->icmp_code = 0;
	ip->off = 0;
	if (len == 0 || len > PKT_BUF_MAX)
		return -EINVAL;
	switch (buf[0] >> 4) {
	case 4:
		rc = parse_v4(buf, len, false, ip);
		break;
	case 6:
		rc = parse_v6(buf, len, false, ip);
		break;
	default:
		return -EINVAL;
	}
	if (rc)
		return rc;
	rc = parse_l4(buf, ip, false);
	if (rc)
		return rc;
	if ((ip->proto != IPPROTO_ICMP && ip->proto != IPPROTO_ICMPV6) ||
	    ((ip->flags & PKT_IP_FRAG) && !(ip->flags & PKT_IP_FRAG_FIRST)))
		return 0;
	l4 = buf + ip->l4off;
	out->icmp_type = l4[0];
	out->icmp_code = l4[1];
	if (!icmp_is_error(ip->family, l4[0]))
		return 0;
	return parse_quote(buf, out);
}

/* Does ip describe a region of buf[0..len) that the rewrites may touch? */
static bool ip_fits(const struct pkt_ip *ip, size_t len)
{
	size_t end = (size_t)ip->off + ip->len;
	size_t hdr = ip->family == AF_INET ? IPV4_HDR : IPV6_HDR;

	if (ip->family != AF_INET && ip->family != AF_INET6)
		return false;
	if (end > len || (size_t)ip->off + hdr > ip->l4off || ip->l4off > end)
		return false;
	if (ip->pdst_off < ip->off || (size_t)ip->pdst_off + addr_len(ip->family) > ip->l4off)
		return false;
	return !(ip->flags & PKT_IP_CSUM) ||
	       (ip->csum_off >= ip->l4off && (size_t)ip->csum_off + 2 <= end);
}

static bool inner_fits(const struct pkt_ip *in, const struct pkt_ip *o, size_t len)
{
	return in->family == o->family && ip_fits(in, len) && in->off >= (size_t)o->l4off + 8 &&
	       (size_t)in->off + in->len <= (size_t)o->off + o->len;
}

static bool family_ok(const struct dime_addr *a, uint8_t family)
{
	return !a || a->family == family;
}

/* What pkt_rewrite does to the L4 checksum. */
enum l4_fix {
	FIX_NONE,
	FIX_INCR,	/* complete checksum: RFC 1624 update */
	FIX_PSEUDO,	/* CHECKSUM_PARTIAL for a segmenter: update the pseudo sum */
	FIX_FULL,	/* CHECKSUM_PARTIAL made final: sum the whole segment */
};

static bool is_later_fragment(const struct pkt_ip *ip)
{
	return (ip->flags & PKT_IP_FRAG) && !(ip->flags & PKT_IP_FRAG_FIRST);
}

/* CHECKSUM_PARTIAL: who finishes the checksum after our verdict. */
static int plan_partial(const struct pkt_ip *ip, unsigned flags, enum l4_fix *fix)
{
	bool segmenter = (flags & PKT_F_GSO) && !(flags & PKT_F_INBOUND);

	/* The kernel sums fragments in full before fragmenting them. */
	if (ip->flags & PKT_IP_FRAG)
		return -EOPNOTSUPP;
	if (!(ip->flags & PKT_IP_CSUM)) {
		/* SCTP's CRC32c: the segmenter computes it, nobody else will. */
		return ip->proto == IPPROTO_SCTP && segmenter ? 0 : -EOPNOTSUPP;
	}
	if (segmenter && ip->csum_kind != PKT_CSUM_PLAIN) {
		*fix = FIX_PSEUDO;
		return 0;
	}
	/* DCCP's coverage rules are not worth a full sum here; the kernel
	 * never offloads DCCP checksums anyway. */
	if (ip->proto == IPPROTO_DCCP)
		return -EOPNOTSUPP;
	*fix = FIX_FULL;
	return 0;
}

static int plan_l4(const struct pkt_ip *ip, unsigned flags, enum l4_fix *fix)
{
	*fix = FIX_NONE;
	if (is_later_fragment(ip))
		return 0;
	if (flags & PKT_F_CSUM_PARTIAL)
		return plan_partial(ip, flags, fix);
	if ((ip->flags & PKT_IP_CSUM) &&
	    (ip->csum_kind == PKT_CSUM_PSEUDO || ip->csum_kind == PKT_CSUM_UDP))
		*fix = FIX_INCR;
	return 0;
}

/* The extent a full L4 sum covers: pseudo-header length and summed bytes. */
static int full_extent(const uint8_t *buf, const struct pkt_ip *ip, size_t *l4len, size_t *cover)
{
	size_t avail = ip->off + ip->len - ip->l4off;
	size_t v;

	*l4len = *cover = avail;
	if (ip->proto != IPPROTO_UDP && ip->proto != IPPROTO_UDPLITE)
		return 0;
	if (avail < 8)
		return -EINVAL;
	v = rd16(buf + ip->l4off + 4);
	if (ip->proto == IPPROTO_UDPLITE) {
		if (v && (v < 8 || v > avail))
			return -EINVAL;
		*cover = v ? v : avail;
		return 0;
	}
	if (v < 8 || v > avail)
		return -EINVAL;
	*l4len = *cover = v;
	return 0;
}

/* UDP and UDP-Lite send a computed 0 as 0xffff (RFC 768, RFC 3828). */
static uint16_t l4_nonzero(uint8_t proto, uint16_t check)
{
	if (check == 0 && (proto == IPPROTO_UDP || proto == IPPROTO_UDPLITE))
		return 0xffff;
	return check;
}

/*
 * RFC 1624 update of the L4 checksum field at f for a pseudo-header change
 * diff. Returns acc plus the change of the field's own word, which an
 * enclosing ICMP checksum must absorb.
 */
static uint64_t l4_update(uint8_t *f, const struct pkt_ip *ip, uint64_t diff, uint64_t acc)
{
	uint16_t old = csum_load(f), new;

	if (ip->csum_kind == PKT_CSUM_UDP && old == 0)
		return acc;	/* "no checksum" stays so */
	new = l4_nonzero(ip->proto, csum_update(old, diff));
	csum_store(f, new);
	return csum_diff(acc, &old, &new, 2);
}

static void l4_full(uint8_t *buf, const struct pkt_ip *ip, size_t l4len, size_t cover)
{
	uint8_t *f = buf + ip->csum_off;
	uint64_t sum = 0;

	csum_store(f, 0);
	if (ip->csum_kind != PKT_CSUM_PLAIN)
		sum = csum_pseudo(buf + ip->off + saddr_at(ip->family), buf + ip->pdst_off,
				  addr_len(ip->family), ip->proto, (uint32_t)l4len);
	sum = csum_add(sum, buf + ip->l4off, cover);
	csum_store(f, l4_nonzero(ip->proto, csum_finish(sum)));
}

/*
 * Write new addresses into the IP header at h; returns the change of the
 * source words in *ds and of the destination words in *dd (csum_diff
 * terms, 0 for NULL), and fixes the IPv4 header checksum. acc gets the
 * change of every word written, for an enclosing ICMP checksum.
 */
static uint64_t readdress(uint8_t *h, uint8_t family, const struct dime_addr *src,
			  const struct dime_addr *dst, uint64_t *ds, uint64_t *dd)
{
	size_t alen = addr_len(family);
	uint8_t *sa = h + saddr_at(family), *da = sa + alen;
	uint64_t acc;

	/* Constant lengths, so that csum_diff unrolls. */
	if (family == AF_INET6) {
		*ds = src ? csum_diff(0, sa, src->a.u8, 16) : 0;
		*dd = dst ? csum_diff(0, da, dst->a.u8, 16) : 0;
	} else {
		*ds = src ? csum_diff(0, sa, src->a.u8, 4) : 0;
		*dd = dst ? csum_diff(0, da, dst->a.u8, 4) : 0;
	}
	acc = *ds + *dd;
	if (family == AF_INET) {
		uint16_t old = csum_load(h + 10), new = csum_update(old, acc);

		csum_store(h + 10, new);
		acc = csum_diff(acc, &old, &new, 2);
	}
	if (src)
		memcpy(sa, src->a.u8, alen);
	if (dst)
		memcpy(da, dst->a.u8, alen);
	return acc;
}

int pkt_rewrite(uint8_t *buf, size_t len, const struct pkt_info *info,
		const struct dime_addr *new_src, const struct dime_addr *new_dst,
		unsigned flags)
{
	const struct pkt_ip *ip = &info->ip;
	size_t l4len = 0, cover = 0;
	enum l4_fix fix;
	uint64_t ds, dd;
	int rc;

	if (!ip_fits(ip, len))
		return -EINVAL;
	if (ip->len > PKT_MANGLE_MAX)
		return -EMSGSIZE;
	if (!family_ok(new_src, ip->family) || !family_ok(new_dst, ip->family))
		return -EAFNOSUPPORT;
	rc = plan_l4(ip, flags, &fix);
	if (!rc && fix == FIX_FULL)
		rc = full_extent(buf, ip, &l4len, &cover);
	if (rc)
		return rc;

	readdress(buf + ip->off, ip->family, new_src, new_dst, &ds, &dd);
	/* A pending source route keeps the final destination in the
	 * pseudo-header; only the next hop in the IP header changed. */
	if (ip->flags & PKT_IP_ROUTED)
		dd = 0;
	switch (fix) {
	case FIX_INCR:
		l4_update(buf + ip->csum_off, ip, ds + dd, 0);
		break;
	case FIX_PSEUDO:
		csum_store(buf + ip->csum_off,
			   csum_update_sum(csum_load(buf + ip->csum_off), ds + dd));
		break;
	case FIX_FULL:
		l4_full(buf, ip, l4len, cover);
		break;
	case FIX_NONE:
		break;
	}
	return 0;
}

int pkt_rewrite_inner(uint8_t *buf, size_t len, const struct pkt_info *info,
		      const struct dime_addr *inner_src, const struct dime_addr *inner_dst)
{
	const struct pkt_ip *o = &info->ip, *in = &info->inner;
	uint64_t ds, dd, acc;
	uint8_t *ocsum;

	if (!(info->flags & PKT_I_ICMP_ERR) || !ip_fits(o, len) || !(o->flags & PKT_IP_CSUM) ||
	    !inner_fits(in, o, len))
		return -EINVAL;
	if (o->len > PKT_MANGLE_MAX)
		return -EMSGSIZE;
	if (!family_ok(inner_src, in->family) || !family_ok(inner_dst, in->family))
		return -EAFNOSUPPORT;

	acc = readdress(buf + in->off, in->family, inner_src, inner_dst, &ds, &dd);
	if (in->flags & PKT_IP_ROUTED)
		dd = 0;
	if ((in->flags & PKT_IP_CSUM) &&
	    (in->csum_kind == PKT_CSUM_PSEUDO || in->csum_kind == PKT_CSUM_UDP))
		acc = l4_update(buf + in->csum_off, in, ds + dd, acc);
	ocsum = buf + o->csum_off;
	csum_store(ocsum, csum_update(csum_load(ocsum), acc));
	return 0;
}
