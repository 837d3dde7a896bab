// SPDX-License-Identifier: BSD-2-Clause
/*
 * Check suite for pkt.c: parsing and rewriting against packets built here
 * with an independent reference checksum (byte by byte, big-endian words,
 * no code shared with csum.c). A rewritten packet is compared in full with
 * the packet the reference says it must become, so a wrong checksum, a
 * stray write or a missed address all fail.
 *
 * Packets live in malloc'd buffers of their exact length, so that under
 * the sanitizer build ASan catches any read past len.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dime/pkt.h"

#define MAXPKT 70000

/* ---- randomness (fixed seed: failures reproduce) ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 0x2545f4914f6cdd1dull) >> 32);
}

static uint32_t below(uint32_t n)
{
	return rnd() % n;
}

static void rnd_fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rnd();
}

/* ---- reference checksum ---- */

static uint32_t ref_sum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i < n; i++)
		s += (i % 2 == 0) ? (uint32_t)p[i] << 8 : p[i];
	return s;
}

static uint16_t ref_fold(uint32_t s)
{
	while (s > 0xffff)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint16_t ref_ip4(const uint8_t *h)
{
	size_t hl = (h[0] & 15u) * 4;

	return (uint16_t)~ref_fold(ref_sum(h, 10) + ref_sum(h + 12, hl - 12));
}

/* ---- packet builder ---- */

enum v4opt { OPT_NONE, OPT_NOPS, OPT_TIMESTAMP, OPT_LSRR_PENDING, OPT_LSRR_DONE, OPT_RR, OPT_N };
enum v6ext { EXT_HBH, EXT_DST, EXT_RH2, EXT_RH2_DONE, EXT_SRH, EXT_SRH_DONE, EXT_ATOMIC,
	     EXT_FRAG };

struct spec {
	int family;
	uint8_t proto;
	size_t payload;
	const uint8_t *data;	/* payload bytes, NULL: random */
	int v4opt;
	int ext[10];
	int next;
	bool udp_zero;
	uint16_t cscov;		/* UDP-Lite coverage, 0 = all */
	uint8_t icmp_type, icmp_code;
	uint32_t icmp_rest;
	uint16_t v4frag;	/* IPv4 flags+offset field */
	uint16_t v6frag;	/* EXT_FRAG offset field */
	uint8_t tcp_doff;	/* 0: 5 */
	uint8_t src[16], dst[16];
	bool fixed_addrs;
};

struct built {
	size_t len, l3len, l4off, l4len, csum_off, hdr4;
	size_t src_off, dst_off, fdst_off, alen;
	bool routed, has_csum;
	uint16_t sport, dport;
};

static size_t put_v4opt(uint8_t *o, int kind, struct built *b)
{
	size_t n = 0;

	switch (kind) {
	case OPT_NOPS:
		o[n++] = 1;
		o[n++] = 1;
		o[n++] = 1;
		break;
	case OPT_TIMESTAMP:
		o[n++] = 68;
		o[n++] = 12;
		o[n++] = 5;
		o[n++] = 0;
		rnd_fill(o + n, 8);
		n += 8;
		break;
	case OPT_LSRR_PENDING:
	case OPT_LSRR_DONE:
		o[n++] = 1;	/* misalign the option on purpose */
		o[n++] = below(2) ? 131 : 137;
		o[n++] = 3 + 4 * 3;
		o[n++] = kind == OPT_LSRR_DONE ? 3 + 4 * 3 + 1 : 4 + 4 * below(3);
		rnd_fill(o + n, 12);
		n += 12;
		if (kind == OPT_LSRR_PENDING) {
			b->routed = true;
			b->fdst_off = 20 + n - 4;
		}
		break;
	case OPT_RR:
		o[n++] = 7;
		o[n++] = 11;
		o[n++] = 4;
		rnd_fill(o + n, 8);
		n += 8;
		break;
	default:
		break;
	}
	while (n % 4)
		o[n++] = 0;
	return n;
}

static size_t put_v6ext(uint8_t *e, size_t at, int kind, const struct spec *s, struct built *b)
{
	switch (kind) {
	case EXT_HBH:
		memcpy(e, "\0\0\1\4\0\0\0\0", 8);
		return 8;
	case EXT_DST:
		memset(e, 0, 16);
		e[1] = 1;
		e[2] = 1;
		e[3] = 12;
		return 16;
	case EXT_RH2:
	case EXT_RH2_DONE:
		e[1] = 2;
		e[2] = 2;
		e[3] = kind == EXT_RH2;
		memset(e + 4, 0, 4);
		rnd_fill(e + 8, 16);
		if (kind == EXT_RH2) {
			b->routed = true;
			b->fdst_off = at + 8;
		}
		return 24;
	case EXT_SRH:
	case EXT_SRH_DONE:
		e[1] = 4;	/* two segments */
		e[2] = 4;
		e[3] = kind == EXT_SRH;
		e[4] = 1;
		memset(e + 5, 0, 3);
		rnd_fill(e + 8, 32);
		if (kind == EXT_SRH) {
			b->routed = true;
			b->fdst_off = at + 8;
		}
		return 40;
	case EXT_ATOMIC:
	case EXT_FRAG:
		e[1] = 0;
		put16(e + 2, kind == EXT_FRAG ? s->v6frag : 0);
		rnd_fill(e + 4, 4);
		return 8;
	default:
		ck_abort_msg("bad ext %d", kind);
		return 0;
	}
}

static uint8_t ext_code(int kind)
{
	switch (kind) {
	case EXT_HBH:
		return IPPROTO_HOPOPTS;
	case EXT_DST:
		return IPPROTO_DSTOPTS;
	case EXT_ATOMIC:
	case EXT_FRAG:
		return IPPROTO_FRAGMENT;
	default:
		return IPPROTO_ROUTING;
	}
}

static size_t build_l3(uint8_t *buf, const struct spec *s, struct built *b)
{
	size_t pos;

	if (s->family == AF_INET) {
		b->alen = 4;
		b->src_off = 12;
		b->dst_off = b->fdst_off = 16;
		buf[1] = 0;
		rnd_fill(buf + 4, 2);
		put16(buf + 6, s->v4frag);
		buf[8] = 64;
		buf[9] = s->proto;
		pos = 20 + put_v4opt(buf + 20, s->v4opt, b);
		buf[0] = (uint8_t)(0x40 | pos / 4);
	} else {
		uint8_t *nh = buf + 6;

		b->alen = 16;
		b->src_off = 8;
		b->dst_off = b->fdst_off = 24;
		buf[0] = 0x60;
		rnd_fill(buf + 1, 3);
		buf[1] &= 0x0f;
		buf[7] = 64;
		pos = 40;
		for (int i = 0; i < s->next; i++) {
			*nh = ext_code(s->ext[i]);
			nh = buf + pos;
			pos += put_v6ext(buf + pos, pos, s->ext[i], s, b);
		}
		*nh = s->proto;
	}
	if (s->fixed_addrs) {
		memcpy(buf + b->src_off, s->src, b->alen);
		memcpy(buf + b->dst_off, s->dst, b->alen);
	} else {
		rnd_fill(buf + b->src_off, b->alen);
		rnd_fill(buf + b->dst_off, b->alen);
	}
	if (!b->routed)
		b->fdst_off = b->dst_off;
	return pos;
}

/* Writes the L4 header at l4; returns its length and sets csum_off/ports. */
static size_t build_l4hdr(uint8_t *l4, const struct spec *s, struct built *b)
{
	size_t at = b->l4off, hl;

	b->sport = (uint16_t)rnd();
	b->dport = (uint16_t)rnd();
	put16(l4, b->sport);
	put16(l4 + 2, b->dport);
	b->has_csum = true;
	switch (s->proto) {
	case IPPROTO_TCP:
		hl = 4u * (s->tcp_doff ? s->tcp_doff : 5);
		rnd_fill(l4 + 4, 8);
		l4[12] = (uint8_t)(hl / 4 << 4);
		l4[13] = 0x18;
		rnd_fill(l4 + 14, 2);
		memset(l4 + 16, 0, 4);
		memset(l4 + 20, 1, hl - 20);
		b->csum_off = at + 16;
		return hl;
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
		put16(l4 + 4, s->proto == IPPROTO_UDP ? (uint16_t)(8 + s->payload) : s->cscov);
		put16(l4 + 6, 0);
		b->csum_off = at + 6;
		return 8;
	case IPPROTO_DCCP:
		l4[4] = 4;
		l4[5] = 0;
		put16(l4 + 6, 0);
		l4[8] = (2 << 1) | 1;
		l4[9] = 0;
		rnd_fill(l4 + 10, 6);
		b->csum_off = at + 6;
		return 16;
	case IPPROTO_SCTP:
		rnd_fill(l4 + 4, 8);
		b->has_csum = false;
		return 12;
	default:		/* ICMP, ICMPv6 */
		l4[0] = s->icmp_type;
		l4[1] = s->icmp_code;
		put16(l4 + 2, 0);
		put32(l4 + 4, s->icmp_rest);
		b->csum_off = at + 2;
		b->sport = b->dport = (uint16_t)(s->icmp_rest >> 16);
		return 8;
	}
}

/* The L4 checksum the packet p must carry, by the reference. */
static uint16_t ref_l4(const uint8_t *p, const struct built *b, uint8_t proto, uint16_t cov)
{
	size_t cover = proto == IPPROTO_UDPLITE && cov ? cov : b->l4len;
	size_t c = b->csum_off;
	uint32_t s = 0;
	uint16_t v;

	if (proto != IPPROTO_ICMP)
		s = ref_sum(p + b->src_off, b->alen) + ref_sum(p + b->fdst_off, b->alen) + proto +
		    (uint32_t)(b->l4len >> 16) + (uint32_t)(b->l4len & 0xffff);
	s += ref_sum(p + b->l4off, c - b->l4off);
	s += ref_sum(p + c + 2, cover - (c + 2 - b->l4off));
	v = (uint16_t)~ref_fold(s);
	if (v == 0 && (proto == IPPROTO_UDP || proto == IPPROTO_UDPLITE))
		v = 0xffff;
	return v;
}

/* The folded pseudo-header sum a CHECKSUM_PARTIAL field holds. */
static uint16_t ref_pseudo(const uint8_t *p, const struct built *b, uint8_t proto)
{
	return ref_fold(ref_sum(p + b->src_off, b->alen) + ref_sum(p + b->fdst_off, b->alen) +
			proto + (uint32_t)(b->l4len >> 16) + (uint32_t)(b->l4len & 0xffff));
}

/* Build s into a fresh malloc'd buffer of exactly the packet's length. */
static uint8_t *build(const struct spec *s, struct built *b)
{
	static uint8_t buf[MAXPKT];
	uint8_t *out;
	size_t pos, hl;

	memset(b, 0, sizeof(*b));
	memset(buf, 0, sizeof(buf));
	pos = build_l3(buf, s, b);
	b->l3len = b->l4off = pos;
	hl = build_l4hdr(buf + pos, s, b);
	b->hdr4 = hl;
	if (s->data)
		memcpy(buf + pos + hl, s->data, s->payload);
	else
		rnd_fill(buf + pos + hl, s->payload);
	b->l4len = hl + s->payload;
	b->len = pos + b->l4len;
	ck_assert_uint_le(b->len, MAXPKT);
	if (s->family == AF_INET)
		put16(buf + 2, (uint16_t)b->len);
	else
		put16(buf + 4, (uint16_t)(b->len - 40));
	if (b->has_csum && !s->udp_zero)
		put16(buf + b->csum_off, ref_l4(buf, b, s->proto, s->cscov));
	if (s->family == AF_INET)
		put16(buf + 10, ref_ip4(buf));
	out = malloc(b->len);
	ck_assert_ptr_nonnull(out);
	memcpy(out, buf, b->len);
	return out;
}

static uint8_t *dup_pkt(const uint8_t *p, size_t n)
{
	uint8_t *q = malloc(n ? n : 1);

	ck_assert_ptr_nonnull(q);
	memcpy(q, p, n);
	return q;
}

static void addr_of(struct dime_addr *a, int family, const uint8_t *p)
{
	if (family == AF_INET)
		dime_addr_from_v4(a, p);
	else
		dime_addr_from_v6(a, p);
}

/* ---- random specs ---- */

static uint8_t echo_type(int family)
{
	if (family == AF_INET)
		return below(2) ? 8 : 0;
	return below(2) ? 128 : 129;
}

static size_t rnd_payload(void)
{
	return below(150) == 0 ? 1400 + below(62600) : below(1401);
}

static void rnd_ip_extras(struct spec *s)
{
	if (s->family == AF_INET) {
		s->v4opt = below(3) == 0 ? (int)below(OPT_N) : OPT_NONE;
		return;
	}
	s->next = 0;
	if (below(3))
		return;
	if (below(3) == 0)
		s->ext[s->next++] = EXT_HBH;
	for (uint32_t i = below(3); i > 0; i--) {
		static const int pick[] = { EXT_DST, EXT_ATOMIC, EXT_RH2_DONE, EXT_SRH_DONE };

		s->ext[s->next++] = pick[below(4)];
	}
	if (below(3) == 0)
		s->ext[s->next++] = below(2) ? EXT_RH2 : EXT_SRH;
}

static void rnd_spec(struct spec *s, const uint8_t *protos, size_t nprotos)
{
	memset(s, 0, sizeof(*s));
	s->family = below(2) ? AF_INET6 : AF_INET;
	s->proto = protos[below((uint32_t)nprotos)];
	if (s->proto == IPPROTO_ICMP && s->family == AF_INET6)
		s->proto = IPPROTO_ICMPV6;
	if (s->proto == IPPROTO_ICMPV6 && s->family == AF_INET)
		s->proto = IPPROTO_ICMP;
	s->payload = rnd_payload();
	rnd_ip_extras(s);
	if (s->proto == IPPROTO_TCP && below(4) == 0)
		s->tcp_doff = (uint8_t)(5 + below(11));
	if (s->proto == IPPROTO_ICMP || s->proto == IPPROTO_ICMPV6) {
		s->icmp_type = echo_type(s->family);
		s->icmp_rest = rnd();
	}
	if (s->proto == IPPROTO_UDPLITE && below(2))
		s->cscov = (uint16_t)(8 + below((uint32_t)s->payload + 1));
}

/* ---- checks ---- */

static void check_parse(const uint8_t *p, const struct spec *s, const struct built *b,
			struct pkt_info *info, int iter)
{
	int rc = pkt_parse(p, b->len, info);
	struct dime_addr a;

	ck_assert_msg(rc == 0, "iter %d: parse rc %d (family %d proto %u len %zu)", iter, rc,
		      s->family, s->proto, b->len);
	ck_assert_uint_eq(info->ip.family, s->family);
	ck_assert_uint_eq(info->ip.proto, s->proto);
	ck_assert_uint_eq(info->ip.off, 0);
	ck_assert_uint_eq(info->ip.l3len, b->l3len);
	ck_assert_uint_eq(info->ip.l4off, b->l4off);
	ck_assert_uint_eq(info->ip.len, b->len);
	ck_assert_uint_eq(info->ip.iplen, b->len);
	ck_assert_uint_eq(info->ip.pdst_off, b->fdst_off);
	ck_assert_uint_eq(!!(info->ip.flags & PKT_IP_ROUTED), b->routed);
	ck_assert_uint_eq(info->ip.flags & PKT_IP_FRAG, 0);
	ck_assert_uint_eq(!!(info->ip.flags & PKT_IP_CSUM), b->has_csum);
	if (b->has_csum)
		ck_assert_uint_eq(info->ip.csum_off, b->csum_off);
	ck_assert(info->ip.flags & PKT_IP_PORTS);
	ck_assert_uint_eq(info->ip.tuple.sport, b->sport);
	ck_assert_uint_eq(info->ip.tuple.dport, b->dport);
	addr_of(&a, s->family, p + b->src_off);
	ck_assert(dime_addr_eq(&a, &info->ip.tuple.src));
	addr_of(&a, s->family, p + b->dst_off);
	ck_assert(dime_addr_eq(&a, &info->ip.tuple.dst));
	ck_assert_uint_eq(info->flags & PKT_I_ICMP_ERR, 0);
}

enum mode { M_COMPLETE, M_PARTIAL, M_INBOUND, M_GSO_OUT };

static unsigned mode_flags(enum mode m)
{
	static const unsigned f[] = {
		[M_COMPLETE] = 0,
		[M_PARTIAL] = PKT_F_CSUM_PARTIAL,
		[M_INBOUND] = PKT_F_CSUM_PARTIAL | PKT_F_GSO | PKT_F_INBOUND,
		[M_GSO_OUT] = PKT_F_CSUM_PARTIAL | PKT_F_GSO,
	};
	return f[m];
}

/* New address: NULL (unchanged), the same one again, or random. */
static const struct dime_addr *pick_addr(struct dime_addr *a, int family, const uint8_t *old)
{
	uint8_t raw[16];

	switch (below(6)) {
	case 0:
		return NULL;
	case 1:
		addr_of(a, family, old);
		return a;
	default:
		rnd_fill(raw, sizeof(raw));
		addr_of(a, family, raw);
		return a;
	}
}

/* What the reference says p must become after the rewrite. */
static void expect_outer(uint8_t *e, const struct spec *s, const struct built *b,
			 const struct dime_addr *ns, const struct dime_addr *nd, enum mode m)
{
	if (ns)
		memcpy(e + b->src_off, ns->a.u8, b->alen);
	if (nd)
		memcpy(e + b->dst_off, nd->a.u8, b->alen);
	if (s->family == AF_INET)
		put16(e + 10, ref_ip4(e));
	if (!b->has_csum || (s->udp_zero && m == M_COMPLETE))
		return;
	if (m == M_GSO_OUT && s->proto != IPPROTO_ICMP)
		put16(e + b->csum_off, ref_pseudo(e, b, s->proto));
	else
		put16(e + b->csum_off, ref_l4(e, b, s->proto, s->cscov));
}

static void run_random(enum mode m, const uint8_t *protos, size_t nprotos, int iters)
{
	for (int i = 0; i < iters; i++) {
		struct spec s;
		struct built b;
		struct pkt_info info;
		struct dime_addr na, nb;
		const struct dime_addr *ns, *nd;
		uint8_t *p, *e;
		int rc;

		rnd_spec(&s, protos, nprotos);
		s.udp_zero = m == M_COMPLETE && s.proto == IPPROTO_UDP && below(8) == 0;
		p = build(&s, &b);
		check_parse(p, &s, &b, &info, i);
		if (m != M_COMPLETE && b.has_csum)	/* what the kernel leaves there */
			put16(p + b.csum_off, ref_pseudo(p, &b, s.proto));
		ns = pick_addr(&na, s.family, p + b.src_off);
		nd = pick_addr(&nb, s.family, p + b.dst_off);
		e = dup_pkt(p, b.len);
		expect_outer(e, &s, &b, ns, nd, m);

		rc = pkt_rewrite(p, b.len, &info, ns, nd, mode_flags(m));
		ck_assert_msg(rc == 0, "iter %d: rewrite rc %d", i, rc);
		if (s.family == AF_INET)
			ck_assert_uint_eq(be16(p + 10), ref_ip4(p));
		if (b.has_csum && m != M_GSO_OUT && !s.udp_zero)
			ck_assert_msg(be16(p + b.csum_off) == ref_l4(p, &b, s.proto, s.cscov),
				      "iter %d mode %d family %d proto %u len %zu: l4 %04x != %04x",
				      i, m, s.family, s.proto, b.len, be16(p + b.csum_off),
				      ref_l4(p, &b, s.proto, s.cscov));
		ck_assert_msg(memcmp(p, e, b.len) == 0, "iter %d mode %d family %d proto %u", i,
			      m, s.family, s.proto);
		free(p);
		free(e);
	}
}

static const uint8_t all_protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_UDPLITE,
				      IPPROTO_DCCP, IPPROTO_SCTP };
static const uint8_t tcp_udp_icmp[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_UDPLITE };
static const uint8_t tcp_udp[] = { IPPROTO_TCP, IPPROTO_UDP };

START_TEST(random_complete)
{
	run_random(M_COMPLETE, all_protos, sizeof(all_protos), 6000);
}
END_TEST

START_TEST(random_partial_full_checksum)
{
	run_random(M_PARTIAL, tcp_udp_icmp, sizeof(tcp_udp_icmp), 3000);
}
END_TEST

START_TEST(random_partial_inbound_gro)
{
	run_random(M_INBOUND, tcp_udp_icmp, sizeof(tcp_udp_icmp), 3000);
}
END_TEST

START_TEST(random_partial_gso_outbound)
{
	run_random(M_GSO_OUT, tcp_udp, sizeof(tcp_udp), 3000);
}
END_TEST

/* ---- specific rewrite behaviour ---- */

static struct spec plain_spec(int family, uint8_t proto, size_t payload)
{
	struct spec s;

	memset(&s, 0, sizeof(s));
	s.family = family;
	s.proto = proto;
	s.payload = payload;
	if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
		s.icmp_type = echo_type(family);
		s.icmp_rest = 0x12340001;
	}
	return s;
}

START_TEST(udp_zero_checksum_stays_zero)
{
	for (int f = 0; f < 2; f++) {
		struct spec s = plain_spec(f ? AF_INET6 : AF_INET, IPPROTO_UDP, 100);
		struct pkt_info info;
		struct built b;
		struct dime_addr a;
		uint8_t raw[16] = { 0xc6, 0x33, 0x64, 7 }, *p;

		s.udp_zero = true;
		p = build(&s, &b);
		ck_assert_uint_eq(be16(p + b.csum_off), 0);
		ck_assert_int_eq(pkt_parse(p, b.len, &info), 0);
		addr_of(&a, s.family, raw);
		ck_assert_int_eq(pkt_rewrite(p, b.len, &info, &a, &a, 0), 0);
		ck_assert_uint_eq(be16(p + b.csum_off), 0);
		if (s.family == AF_INET)
			ck_assert_uint_eq(be16(p + 10), ref_ip4(p));
		free(p);
	}
}
END_TEST

START_TEST(udp_result_zero_is_sent_as_ffff)
{
	for (int f = 0; f < 2; f++) {
		struct spec s = plain_spec(f ? AF_INET6 : AF_INET, IPPROTO_UDP, 33);
		struct pkt_info info;
		struct built b;
		struct dime_addr a;
		uint8_t *p, *probe;
		size_t alen = f ? 16 : 4;
		uint32_t w;

		p = build(&s, &b);
		/* Find a new source whose reference checksum would be 0. */
		probe = dup_pkt(p, b.len);
		for (w = 0; w <= 0xffff; w++) {
			put16(probe + b.src_off + alen - 2, (uint16_t)w);
			put16(probe + b.csum_off, 0);
			if (ref_fold(ref_sum(probe + b.src_off, alen) +
				     ref_sum(probe + b.fdst_off, alen) + IPPROTO_UDP +
				     (uint32_t)b.l4len + ref_sum(probe + b.l4off, b.l4len)) == 0xffff)
				break;
		}
		ck_assert_uint_le(w, 0xffff);
		addr_of(&a, s.family, probe + b.src_off);
		ck_assert_int_eq(pkt_parse(p, b.len, &info), 0);
		ck_assert_int_eq(pkt_rewrite(p, b.len, &info, &a, NULL, 0), 0);
		ck_assert_uint_eq(be16(p + b.csum_off), 0xffff);
		/* And back: an 0xffff field updates like a 0 one. */
		addr_of(&a, s.family, probe + b.src_off);
		a.a.u8[alen - 1] ^= 0x5a;
		ck_assert_int_eq(pkt_rewrite(p, b.len, &info, &a, NULL, 0), 0);
		ck_assert_uint_eq(be16(p + b.csum_off), ref_l4(p, &b, IPPROTO_UDP, 0));
		/* The partial path gives 0xffff as well. */
		addr_of(&a, s.family, probe + b.src_off);
		put16(p + b.csum_off, ref_pseudo(p, &b, IPPROTO_UDP));
		ck_assert_int_eq(pkt_rewrite(p, b.len, &info, &a, NULL, PKT_F_CSUM_PARTIAL), 0);
		ck_assert_uint_eq(be16(p + b.csum_off), 0xffff);
		free(probe);
		free(p);
	}
}
END_TEST

START_TEST(udp_length_shorter_than_ip_payload)
{
	/* Bytes after the UDP length are not UDP's: a full sum covers ulen
	 * bytes with ulen in the pseudo-header. */
	for (int f = 0; f < 2; f++) {
		struct spec s = plain_spec(f ? AF_INET6 : AF_INET, IPPROTO_UDP, 51);
		struct pkt_info info;
		struct built b, trimmed;
		struct dime_addr a;
		uint8_t raw[16] = { 0xc0, 0, 2, 0x21 }, *p;

		p = build(&s, &b);
		trimmed = b;
		trimmed.l4len -= 5;
		put16(p + b.l4off + 4, (uint16_t)trimmed.l4len);
		ck_assert_int_eq(pkt_parse(p, b.len, &info), 0);
		put16(p + b.csum_off, ref_pseudo(p, &trimmed, IPPROTO_UDP));
		addr_of(&a, s.family, raw);
		ck_assert_int_eq(pkt_rewrite(p, b.len, &info, NULL, &a, PKT_F_CSUM_PARTIAL), 0);
		ck_assert_uint_eq(be16(p + b.csum_off), ref_l4(p, &trimmed, IPPROTO_UDP, 0));
		/* A UDP length that grew past the packet after parsing is
		 * refused, not followed. */
		put16(p + b.l4off + 4, (uint16_t)(b.l4len + 1));
		ck_assert_int_eq(pkt_rewrite(p, b.len, &info, NULL, &a, PKT_F_CSUM_PARTIAL),
				 -EINVAL);
		free(p);
	}
}
END_TEST

START_TEST(routed_destination_keeps_l4_checksum)
{
	for (int f = 0; f < 2; f++) {
		struct spec s = plain_spec(f ? AF_INET6 : AF_INET, IPPROTO_TCP, 64);
		struct pkt_info info;
		struct built b;
		struct dime_addr a;
		uint8_t raw[16], *p;
		uint16_t before;

		if (f) {
			s.ext[s.next++] = EXT_SRH;
		} else {
			s.v4opt = OPT_LSRR_PENDING;
		}
		p = build(&s, &b);
		ck_assert(b.routed);
		ck_assert_int_eq(pkt_parse(p, b.len, &info), 0);
		ck_assert(info.ip.flags & PKT_IP_ROUTED);
		ck_assert_uint_eq(info.ip.pdst_off, b.fdst_off);
		before = be16(p + b.csum_off);
		rnd_fill(raw, 16);
		addr_of(&a, s.family, raw);
		ck_assert_int_eq(pkt_rewrite(p, b.len, &info, NULL, &a, 0), 0);
		ck_assert_uint_eq(be16(p + b.csum_off), before);
		ck_assert_int_eq(pkt_rewrite(p, b.len, &info, &a, NULL, 0), 0);
		ck_assert_uint_eq(be16(p + b.csum_off), ref_l4(p, &b, IPPROTO_TCP, 0));
		ck_assert_int_eq(pkt_rewrite(p, b.len, &info, NULL, &a, PKT_F_CSUM_PARTIAL), 0);
		ck_assert_uint_eq(be16(p + b.csum_off), ref_l4(p, &b, IPPROTO_TCP, 0));
		free(p);
	}
}
END_TEST

START_TEST(echo_id_is_both_ports)
{
	for (int f = 0; f < 2; f++) {
		struct spec s = plain_spec(f ? AF_INET6 : AF_INET, f ? IPPROTO_ICMPV6 : IPPROTO_ICMP,
					   56);
		struct pkt_info info;
		struct built b;
		uint8_t *p;

		s.icmp_rest = 0xbeef0007;
		p = build(&s, &b);
		ck_assert_int_eq(pkt_parse(p, b.len, &info), 0);
		ck_assert_uint_eq(info.ip.tuple.sport, 0xbeef);
		ck_assert_uint_eq(info.ip.tuple.dport, 0xbeef);
		ck_assert(info.ip.flags & PKT_IP_PORTS);
		ck_assert_uint_eq(info.icmp_type, s.icmp_type);
		free(p);
		/* Other informational ICMP: no ports, still fine. */
		s.icmp_type = f ? 135 : 13;
		p = build(&s, &b);
		ck_assert_int_eq(pkt_parse(p, b.len, &info), 0);
		ck_assert_uint_eq(info.ip.flags & PKT_IP_PORTS, 0);
		free(p);
	}
}
END_TEST

START_TEST(sctp_ports_and_no_checksum_change)
{
	struct spec s = plain_spec(AF_INET, IPPROTO_SCTP, 40);
	struct pkt_info info;
	struct built b;
	struct dime_addr a;
	uint8_t *p, *orig;

	p = build(&s, &b);
	orig = dup_pkt(p, b.len);
	ck_assert_int_eq(pkt_parse(p, b.len, &info), 0);
	ck_assert_uint_eq(info.ip.tuple.sport, b.sport);
	ck_assert_int_eq(dime_addr_parse(&a, "192.0.2.77"), 0);
	ck_assert_int_eq(pkt_rewrite(p, b.len, &info, &a, NULL, PKT_F_CSUM_PARTIAL), -EOPNOTSUPP);
	ck_assert_mem_eq(p, orig, b.len);
	ck_assert_int_eq(pkt_rewrite(p, b.len, &info, &a, NULL, PKT_F_CSUM_PARTIAL | PKT_F_GSO),
			 0);
	ck_assert_int_eq(pkt_rewrite(p, b.len, &info, &a, NULL, 0), 0);
	ck_assert_mem_eq(p + 20, orig + 20, b.len - 20);
	ck_assert_uint_eq(be16(p + 10), ref_ip4(p));
	free(orig);
	free(p);
}
END_TEST

START_TEST(unknown_protocol_readdressed_at_ip_level)
{
	for (int f = 0; f < 2; f++) {
		struct spec s = plain_spec(f ? AF_INET6 : AF_INET, IPPROTO_SCTP, 60);
		struct pkt_info info;
		struct built b;
		struct dime_addr a;
		uint8_t raw[16] = { 0xcb, 0, 0x71, 9 }, *p, *orig;

		p = build(&s, &b);
		p[f ? 6 : 9] = IPPROTO_ESP;
		if (!f)
			put16(p + 10, ref_ip4(p));
		orig = dup_pkt(p, b.len);
		ck_assert_int_eq(pkt_parse(p, b.len, &info), -EPROTONOSUPPORT);
		ck_assert_uint_eq(info.ip.proto, IPPROTO_ESP);
		ck_assert_uint_eq(info.ip.flags & (PKT_IP_PORTS | PKT_IP_CSUM), 0);
		addr_of(&a, s.family, raw);
		ck_assert_int_eq(pkt_rewrite(p, b.len, &info, NULL, &a, PKT_F_CSUM_PARTIAL),
				 -EOPNOTSUPP);
		ck_assert_int_eq(pkt_rewrite(p, b.len, &info, NULL, &a, 0), 0);
		ck_assert_mem_eq(p + b.l4off, orig + b.l4off, b.len - b.l4off);
		ck_assert_mem_eq(p + b.dst_off, raw, b.alen);
		if (!f)
			ck_assert_uint_eq(be16(p + 10), ref_ip4(p));
		free(orig);
		free(p);
	}
	/* ICMP (v4) inside IPv6 is not ICMPv6. */
	{
		struct spec s = plain_spec(AF_INET6, IPPROTO_ICMPV6, 8);
		struct pkt_info info;
		struct built b;
		uint8_t *p = build(&s, &b);

		p[6] = IPPROTO_ICMP;
		ck_assert_int_eq(pkt_parse(p, b.len, &info), -EPROTONOSUPPORT);
		free(p);
	}
}
END_TEST

START_TEST(rewrite_refusals_leave_packet_unchanged)
{
	struct spec s = plain_spec(AF_INET6, IPPROTO_UDP, 65500);
	struct pkt_info info;
	struct built b;
	struct dime_addr a4, a6;
	uint8_t *p, *orig;

	ck_assert_int_eq(dime_addr_parse(&a4, "192.0.2.1"), 0);
	ck_assert_int_eq(dime_addr_parse(&a6, "2001:db8::1"), 0);
	p = build(&s, &b);
	orig = dup_pkt(p, b.len);
	ck_assert_uint_gt(b.len, PKT_MANGLE_MAX);
	ck_assert_int_eq(pkt_parse(p, b.len, &info), 0);
	ck_assert_int_eq(pkt_rewrite(p, b.len, &info, &a6, NULL, 0), -EMSGSIZE);
	ck_assert_mem_eq(p, orig, b.len);
	free(p);
	free(orig);

	s = plain_spec(AF_INET, IPPROTO_TCP, 100);
	p = build(&s, &b);
	orig = dup_pkt(p, b.len);
	ck_assert_int_eq(pkt_parse(p, b.len, &info), 0);
	ck_assert_int_eq(pkt_rewrite(p, b.len, &info, &a6, NULL, 0), -EAFNOSUPPORT);
	ck_assert_int_eq(pkt_rewrite(p, b.len, &info, NULL, &a6, 0), -EAFNOSUPPORT);
	ck_assert_int_eq(pkt_rewrite(p, b.len - 1, &info, &a4, NULL, 0), -EINVAL);
	ck_assert_int_eq(pkt_rewrite_inner(p, b.len, &info, &a4, NULL), -EINVAL);
	ck_assert_mem_eq(p, orig, b.len);
	/* NULL, NULL: nothing to change, nothing changes. */
	ck_assert_int_eq(pkt_rewrite(p, b.len, &info, NULL, NULL, 0), 0);
	ck_assert_mem_eq(p, orig, b.len);
	free(p);
	free(orig);
}
END_TEST

START_TEST(big_packets_parse_but_cannot_be_mangled)
{
	/* IPv4 BIG TCP (length 0) and an IPv6 jumbo (payload length 0). */
	for (int f = 0; f < 2; f++) {
		size_t len = 70000, hl = f ? 40 : 20;
		uint8_t *p = calloc(1, len);
		struct pkt_info info;
		struct dime_addr a;

		ck_assert_ptr_nonnull(p);
		if (f) {
			p[0] = 0x60;
			p[6] = IPPROTO_TCP;
		} else {
			p[0] = 0x45;
			p[9] = IPPROTO_TCP;
		}
		p[hl + 12] = 0x50;
		ck_assert_int_eq(pkt_parse(p, len, &info), 0);
		ck_assert(info.ip.flags & PKT_IP_BIG);
		ck_assert_uint_eq(info.ip.len, len);
		ck_assert_int_eq(dime_addr_parse(&a, f ? "2001:db8::9" : "198.51.100.9"), 0);
		ck_assert_int_eq(pkt_rewrite(p, len, &info, &a, NULL, 0), -EMSGSIZE);
		/* Length 0 below 64 KiB is just wrong. */
		ck_assert_int_eq(pkt_parse(p, 1000, &info), -EINVAL);
		free(p);
	}
}
END_TEST

/* ---- fragments ---- */

/* A first fragment: the datagram's first frag_l4 bytes of L4 with MF set;
 * its checksum field covers the whole datagram, so after the rewrite it
 * must be the whole datagram's checksum with the new addresses. */
START_TEST(fragments_first_and_later)
{
	for (int f = 0; f < 2; f++) {
		int fam = f ? AF_INET6 : AF_INET;
		uint8_t proto = f ? IPPROTO_UDP : IPPROTO_TCP;
		struct spec s = plain_spec(fam, proto, 1000);
		struct pkt_info info;
		struct built whole, b;
		struct dime_addr ns, nd;
		uint8_t raw[16], *w, *p, *later, *orig;
		size_t frag_l4 = 256;

		w = build(&s, &whole);
		if (f) {
			s.ext[s.next++] = EXT_FRAG;
			s.v6frag = 1;	/* offset 0, more */
		} else {
			s.v4frag = 0x2000;
		}
		s.data = w + whole.l4off + whole.hdr4;
		s.payload = frag_l4 - whole.hdr4;
		s.fixed_addrs = true;
		memcpy(s.src, w + whole.src_off, whole.alen);
		memcpy(s.dst, w + whole.dst_off, whole.alen);
		p = build(&s, &b);
		/* The fragment carries the whole datagram's L4 header. */
		memcpy(p + b.l4off, w + whole.l4off, whole.hdr4);
		if (!f)
			put16(p + 10, ref_ip4(p));
		ck_assert_int_eq(pkt_parse(p, b.len, &info), 0);
		ck_assert_uint_eq(info.ip.flags & (PKT_IP_FRAG | PKT_IP_FRAG_FIRST),
				  PKT_IP_FRAG | PKT_IP_FRAG_FIRST);
		ck_assert(info.ip.flags & PKT_IP_PORTS);
		ck_assert_uint_eq(info.ip.tuple.sport, whole.sport);
		ck_assert_int_eq(pkt_rewrite(p, b.len, &info, NULL, NULL, PKT_F_CSUM_PARTIAL),
				 -EOPNOTSUPP);
		rnd_fill(raw, 16);
		addr_of(&ns, fam, raw);
		rnd_fill(raw, 16);
		addr_of(&nd, fam, raw);
		ck_assert_int_eq(pkt_rewrite(p, b.len, &info, &ns, &nd, 0), 0);
		if (!f)
			ck_assert_uint_eq(be16(p + 10), ref_ip4(p));
		/* Reassemble by hand: the whole datagram, new addresses, the
		 * fragment's checksum field. */
		memcpy(w + whole.src_off, ns.a.u8, whole.alen);
		memcpy(w + whole.dst_off, nd.a.u8, whole.alen);
		ck_assert_uint_eq(be16(p + b.csum_off), ref_l4(w, &whole, proto, 0));
		free(p);

		/* A later fragment: addresses only, data untouched. */
		if (f)
			s.v6frag = 64 << 3;
		else
			s.v4frag = 64;
		s.data = w + 512;
		s.payload = 200;
		s.proto = proto;
		later = build(&s, &b);
		/* build() wrote an L4 header; a later fragment has none:
		 * overwrite it with datagram bytes. */
		memcpy(later + b.l4off, w + 500, b.len - b.l4off);
		if (!f)
			put16(later + 10, ref_ip4(later));
		orig = dup_pkt(later, b.len);
		ck_assert_int_eq(pkt_parse(later, b.len, &info), 0);
		ck_assert_uint_eq(info.ip.flags & (PKT_IP_FRAG | PKT_IP_FRAG_FIRST | PKT_IP_PORTS |
						   PKT_IP_CSUM),
				  PKT_IP_FRAG);
		ck_assert_uint_eq(info.ip.proto, proto);
		ck_assert_int_eq(pkt_rewrite(later, b.len, &info, &nd, &ns, PKT_F_CSUM_PARTIAL), 0);
		ck_assert_mem_eq(later + b.l4off, orig + b.l4off, b.len - b.l4off);
		ck_assert_mem_eq(later + b.src_off, nd.a.u8, b.alen);
		if (!f)
			ck_assert_uint_eq(be16(later + 10), ref_ip4(later));
		free(orig);
		free(later);
		free(w);
	}
}
END_TEST

START_TEST(fragment_edge_cases)
{
	struct pkt_info info;
	struct built b;
	uint8_t *p;

	/* IPv6 atomic fragment: a whole packet. */
	{
		struct spec s = plain_spec(AF_INET6, IPPROTO_TCP, 10);

		s.ext[s.next++] = EXT_ATOMIC;
		p = build(&s, &b);
		ck_assert_int_eq(pkt_parse(p, b.len, &info), 0);
		ck_assert_uint_eq(info.ip.flags & PKT_IP_FRAG, 0);
		ck_assert(info.ip.flags & PKT_IP_PORTS);
		free(p);
	}
	/* Tiny first fragment: TCP header cut (RFC 1858, RFC 7112). */
	{
		struct spec s = plain_spec(AF_INET, IPPROTO_TCP, 0);

		s.v4frag = 0x2000;
		p = build(&s, &b);
		ck_assert_int_eq(pkt_parse(p, 20 + 8, &info), -EINVAL);
		put16(p + 2, 28);
		ck_assert_int_eq(pkt_parse(p, 28, &info), -EINVAL);
		free(p);
	}
	/* Later IPv6 fragment of an unknown protocol. */
	{
		struct spec s = plain_spec(AF_INET6, IPPROTO_UDP, 40);

		s.ext[s.next++] = EXT_FRAG;
		s.v6frag = 8 << 3;
		p = build(&s, &b);
		p[b.l4off - 8] = 99;
		ck_assert_int_eq(pkt_parse(p, b.len, &info), -EPROTONOSUPPORT);
		ck_assert(info.ip.flags & PKT_IP_FRAG);
		free(p);
	}
}
END_TEST

/* ---- ICMP errors ---- */

struct icmp_case {
	int family;
	uint8_t inner_proto;
	uint8_t type, code;
	uint32_t rest;
	size_t qlen;		/* 0: whole inner packet */
	bool extras;		/* inner IPv4 options / IPv6 extension headers */
};

static void run_icmp_case(const struct icmp_case *c, int iter)
{
	struct spec is, os;
	struct built ib, ob;
	struct pkt_info info;
	struct dime_addr outer_dst, in_src, in_dst, n1, n2, n3;
	const struct dime_addr *n3p;
	uint8_t raw[16], *inner, *p, *e, *full;
	size_t qlen, io, alen;
	uint8_t icmp_proto = c->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;

	memset(&is, 0, sizeof(is));
	is.family = c->family;
	is.proto = c->inner_proto;
	is.payload = below(600);
	if (c->extras)
		rnd_ip_extras(&is);
	inner = build(&is, &ib);
	alen = ib.alen;
	qlen = c->qlen ? c->qlen : ib.len;
	if (qlen > ib.len)
		qlen = ib.len;

	memset(&os, 0, sizeof(os));
	os.family = c->family;
	os.proto = icmp_proto;
	os.icmp_type = c->type;
	os.icmp_code = c->code;
	os.icmp_rest = c->rest;
	os.data = inner;
	os.payload = qlen;
	os.fixed_addrs = true;
	rnd_fill(os.src, 16);			/* the router */
	memcpy(os.dst, inner + ib.src_off, alen);	/* back to the sender */
	p = build(&os, &ob);
	io = ob.l4off + 8;

	ck_assert_msg(pkt_parse(p, ob.len, &info) == 0, "case %d", iter);
	ck_assert(info.flags & PKT_I_ICMP_ERR);
	ck_assert_uint_eq(info.icmp_type, c->type);
	ck_assert_uint_eq(info.icmp_code, c->code);
	ck_assert_uint_eq(info.inner.off, io);
	ck_assert_uint_eq(info.inner.family, c->family);
	ck_assert_uint_eq(info.inner.proto, c->inner_proto);
	ck_assert_uint_eq(info.inner.l4off, io + ib.l4off);
	ck_assert_uint_eq(info.inner.len, qlen);
	ck_assert_uint_eq(info.inner.iplen, ib.len);
	ck_assert_uint_eq(!!(info.inner.flags & PKT_IP_WHOLE), qlen == ib.len);
	ck_assert_uint_eq(!!(info.inner.flags & PKT_IP_CSUM), ib.csum_off + 2 <= qlen);
	ck_assert(info.inner.flags & PKT_IP_PORTS);
	ck_assert_uint_eq(info.inner.tuple.sport, ib.sport);
	ck_assert_uint_eq(info.inner.tuple.dport, ib.dport);
	addr_of(&n1, c->family, inner + ib.src_off);
	ck_assert(dime_addr_eq(&n1, &info.inner.tuple.src));
	addr_of(&n1, c->family, inner + ib.dst_off);
	ck_assert(dime_addr_eq(&n1, &info.inner.tuple.dst));

	/* Inbound translation: locator -> identifier for our side (outer dst
	 * and inner src) and for the peer (inner dst); sometimes the peer
	 * stays. */
	rnd_fill(raw, 16);
	addr_of(&outer_dst, c->family, raw);
	in_src = outer_dst;
	rnd_fill(raw, 16);
	addr_of(&in_dst, c->family, raw);
	n3p = below(4) ? &in_dst : NULL;

	/* The reference result. */
	e = dup_pkt(p, ob.len);
	memcpy(e + ob.dst_off, outer_dst.a.u8, alen);
	if (c->family == AF_INET)
		put16(e + 10, ref_ip4(e));
	memcpy(e + io + ib.src_off, in_src.a.u8, alen);
	if (n3p)
		memcpy(e + io + ib.dst_off, in_dst.a.u8, alen);
	if (c->family == AF_INET)
		put16(e + io + 10, ref_ip4(e + io));
	if (ib.csum_off + 2 <= qlen) {
		/* The checksum the whole original would carry now. */
		full = dup_pkt(inner, ib.len);
		memcpy(full + ib.src_off, in_src.a.u8, alen);
		if (n3p)
			memcpy(full + ib.dst_off, in_dst.a.u8, alen);
		put16(e + io + ib.csum_off, ref_l4(full, &ib, is.proto, 0));
		free(full);
	}
	put16(e + ob.csum_off, ref_l4(e, &ob, icmp_proto, 0));

	/* Outer first, then inner (run_icmp_order checks the other order). */
	n1 = outer_dst;
	n2 = in_src;
	n3 = in_dst;
	ck_assert_int_eq(pkt_rewrite(p, ob.len, &info, NULL, &n1, 0), 0);
	ck_assert_int_eq(pkt_rewrite_inner(p, ob.len, &info, &n2, n3p ? &n3 : NULL), 0);
	ck_assert_msg(be16(p + ob.csum_off) == ref_l4(p, &ob, icmp_proto, 0),
		      "case %d: outer icmp %04x != %04x", iter, be16(p + ob.csum_off),
		      ref_l4(p, &ob, icmp_proto, 0));
	if (c->family == AF_INET) {
		ck_assert_uint_eq(be16(p + 10), ref_ip4(p));
		ck_assert_uint_eq(be16(p + io + 10), ref_ip4(p + io));
	}
	if (qlen == ib.len) {
		struct built qb = ib;

		/* Whole quote: verify the inner L4 checksum in place too. */
		qb.src_off += io;
		qb.dst_off += io;
		qb.fdst_off += io;
		qb.l4off += io;
		qb.csum_off += io;
		ck_assert_uint_eq(be16(p + qb.csum_off), ref_l4(p, &qb, is.proto, 0));
	}
	ck_assert_msg(memcmp(p, e, ob.len) == 0, "case %d: outer-then-inner differs", iter);
	free(p);
	free(e);
	free(inner);
}

/* The same rewrite, inner first, must give the same bytes. */
static void run_icmp_order(const struct icmp_case *c)
{
	struct spec is, os;
	struct built ib, ob;
	struct pkt_info info;
	struct dime_addr a, b2, d;
	uint8_t raw[16], *inner, *p1, *p2;

	memset(&is, 0, sizeof(is));
	is.family = c->family;
	is.proto = c->inner_proto;
	is.payload = below(300);
	inner = build(&is, &ib);
	memset(&os, 0, sizeof(os));
	os.family = c->family;
	os.proto = c->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	os.icmp_type = c->type;
	os.icmp_code = c->code;
	os.icmp_rest = c->rest;
	os.data = inner;
	os.payload = c->qlen && c->qlen < ib.len ? c->qlen : ib.len;
	p1 = build(&os, &ob);
	p2 = dup_pkt(p1, ob.len);
	ck_assert_int_eq(pkt_parse(p1, ob.len, &info), 0);
	rnd_fill(raw, 16);
	addr_of(&a, c->family, raw);
	rnd_fill(raw, 16);
	addr_of(&b2, c->family, raw);
	rnd_fill(raw, 16);
	addr_of(&d, c->family, raw);

	ck_assert_int_eq(pkt_rewrite(p1, ob.len, &info, &d, &a, 0), 0);
	ck_assert_int_eq(pkt_rewrite_inner(p1, ob.len, &info, &a, &b2), 0);
	ck_assert_int_eq(pkt_rewrite_inner(p2, ob.len, &info, &a, &b2), 0);
	ck_assert_int_eq(pkt_rewrite(p2, ob.len, &info, &d, &a, 0), 0);
	ck_assert_mem_eq(p1, p2, ob.len);
	ck_assert_uint_eq(be16(p1 + ob.csum_off),
			  ref_l4(p1, &ob, c->family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6, 0));
	free(p1);
	free(p2);
	free(inner);
}

static const struct icmp_case icmp_cases[] = {
	/* v4 destination unreachable / fragmentation needed (MTU 1400). */
	{ AF_INET, IPPROTO_TCP, 3, 4, 1400, 0, false },
	{ AF_INET, IPPROTO_TCP, 3, 4, 1400, 28, false },	/* RFC 792 minimum */
	{ AF_INET, IPPROTO_TCP, 3, 4, 1400, 38, false },	/* TCP checksum just in */
	{ AF_INET, IPPROTO_TCP, 3, 1, 0, 37, false },		/* ... just out */
	{ AF_INET, IPPROTO_UDP, 3, 3, 0, 0, false },
	{ AF_INET, IPPROTO_UDP, 3, 3, 0, 28, false },
	{ AF_INET, IPPROTO_UDP, 3, 13, 0, 60, true },
	/* v4 time exceeded. */
	{ AF_INET, IPPROTO_TCP, 11, 0, 0, 0, true },
	{ AF_INET, IPPROTO_UDP, 11, 0, 0, 100, false },
	{ AF_INET, IPPROTO_TCP, 12, 0, 0x14000000, 0, false },	/* parameter problem */
	/* v6 packet too big. */
	{ AF_INET6, IPPROTO_TCP, 2, 0, 1280, 0, false },
	{ AF_INET6, IPPROTO_TCP, 2, 0, 1280, 48, false },
	{ AF_INET6, IPPROTO_TCP, 2, 0, 1280, 58, false },
	{ AF_INET6, IPPROTO_UDP, 2, 0, 1280, 0, true },
	/* v6 destination unreachable. */
	{ AF_INET6, IPPROTO_UDP, 1, 4, 0, 0, false },
	{ AF_INET6, IPPROTO_UDP, 1, 4, 0, 48, false },
	{ AF_INET6, IPPROTO_TCP, 1, 0, 0, 0, true },
	{ AF_INET6, IPPROTO_TCP, 3, 0, 0, 200, false },	/* time exceeded */
};

START_TEST(icmp_errors_table)
{
	for (size_t i = 0; i < sizeof(icmp_cases) / sizeof(icmp_cases[0]); i++)
		for (int r = 0; r < 40; r++) {
			run_icmp_case(&icmp_cases[i], (int)i);
			run_icmp_order(&icmp_cases[i]);
		}
}
END_TEST

START_TEST(icmp_errors_random)
{
	for (int i = 0; i < 2000; i++) {
		struct icmp_case c;
		size_t min;

		memset(&c, 0, sizeof(c));
		c.family = below(2) ? AF_INET6 : AF_INET;
		c.inner_proto = below(2) ? IPPROTO_TCP : IPPROTO_UDP;
		if (c.family == AF_INET) {
			static const uint8_t t[] = { 3, 11, 12, 4, 5 };

			c.type = t[below(5)];
		} else {
			c.type = (uint8_t)(1 + below(4));
		}
		c.code = (uint8_t)below(5);
		c.extras = below(3) == 0;
		/* Quote: whole, or cut anywhere after the inner IP header
		 * and the four port bytes. */
		min = (c.family == AF_INET ? 20 : 40) + 4 + (c.extras ? 100 : 0);
		c.qlen = below(2) ? 0 : min + below(200);
		run_icmp_case(&c, i);
	}
}
END_TEST

START_TEST(icmp_rfc4884_length_bounds_quote)
{
	struct spec is = plain_spec(AF_INET, IPPROTO_UDP, 300), os;
	struct built ib, ob;
	struct pkt_info info;
	uint8_t *inner, *p, data[136];

	inner = build(&is, &ib);
	memcpy(data, inner, 128);	/* 128 bytes of quote ... */
	memset(data + 128, 0, 8);	/* ... then an extension structure */
	data[128] = 0x20;
	memset(&os, 0, sizeof(os));
	os.family = AF_INET;
	os.proto = IPPROTO_ICMP;
	os.icmp_type = 11;
	os.icmp_rest = (128 / 4) << 16;
	os.data = data;
	os.payload = sizeof(data);
	p = build(&os, &ob);
	ck_assert_int_eq(pkt_parse(p, ob.len, &info), 0);
	ck_assert_uint_eq(info.inner.len, 128);
	ck_assert_uint_eq(info.inner.flags & PKT_IP_WHOLE, 0);
	free(p);
	free(inner);
}
END_TEST

START_TEST(icmp_error_quoting_garbage)
{
	struct spec os = plain_spec(AF_INET, IPPROTO_ICMP, 0);
	struct pkt_info info;
	struct built ob;
	uint8_t data[200], *p;

	os.icmp_type = 3;
	os.data = data;
	for (int round = 0; round < 2000; round++) {
		int fam = round % 2 ? AF_INET6 : AF_INET;
		int rc;

		os.family = fam;
		os.proto = fam == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
		os.icmp_type = fam == AF_INET ? 3 : 1;
		os.payload = below(sizeof(data) + 1);
		rnd_fill(data, sizeof(data));
		switch (round % 8) {
		case 0:		/* wrong version */
			data[0] = (uint8_t)((fam == AF_INET ? 0x60 : 0x40) | (data[0] & 15));
			break;
		case 1:		/* header longer than the quote */
			data[0] = fam == AF_INET ? 0x4f : 0x60;
			os.payload = below(fam == AF_INET ? 60 : 40);
			break;
		case 2:		/* IHL too small */
			data[0] = (uint8_t)(0x40 | below(5));
			break;
		case 3:		/* lengths that do not add up */
			if (fam == AF_INET) {
				data[0] = 0x45;
				put16(data + 2, (uint16_t)below(20));
			} else {
				data[0] = 0x60;
				put16(data + 4, 8);
				data[6] = IPPROTO_DSTOPTS;
				data[41] = 200;	/* extension header past the payload */
			}
			os.payload = sizeof(data);
			break;
		default:	/* anything at all */
			break;
		}
		p = build(&os, &ob);
		rc = pkt_parse(p, ob.len, &info);
		if (round % 8 < 4)
			ck_assert_msg(rc == -EBADMSG, "round %d rc %d", round, rc);
		else
			ck_assert(rc == 0 || rc == -EBADMSG);
		if (rc == -EBADMSG) {
			ck_assert_uint_eq(info.flags & PKT_I_ICMP_ERR, 0);
			ck_assert_int_eq(pkt_rewrite_inner(p, ob.len, &info, NULL, NULL), -EINVAL);
		} else if (info.flags & PKT_I_ICMP_ERR) {
			ck_assert_int_eq(pkt_rewrite_inner(p, ob.len, &info, &info.ip.tuple.dst,
							   &info.ip.tuple.src),
					 0);
		}
		free(p);
	}
}
END_TEST

/* ---- malformed input ---- */

static uint8_t *sample_packets(int which, size_t *len)
{
	struct spec s;
	struct built b;
	uint8_t *p;

	switch (which) {
	case 0:
		s = plain_spec(AF_INET, IPPROTO_TCP, 30);
		s.v4opt = OPT_LSRR_PENDING;
		s.tcp_doff = 8;
		break;
	case 1:
		s = plain_spec(AF_INET6, IPPROTO_UDP, 30);
		s.ext[s.next++] = EXT_HBH;
		s.ext[s.next++] = EXT_DST;
		s.ext[s.next++] = EXT_SRH;
		break;
	case 2:
		s = plain_spec(AF_INET6, IPPROTO_ICMPV6, 20);
		break;
	default: {
		/* An ICMP error quoting a TCP packet. */
		struct spec is = plain_spec(which == 3 ? AF_INET : AF_INET6, IPPROTO_TCP, 20);
		struct built ib;
		uint8_t *inner = build(&is, &ib);

		s = plain_spec(is.family, is.family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6,
			       ib.len);
		s.icmp_type = is.family == AF_INET ? 3 : 1;
		s.data = inner;
		p = build(&s, &b);
		free(inner);
		*len = b.len;
		return p;
	}
	}
	p = build(&s, &b);
	*len = b.len;
	return p;
}

/* Parse, and rewrite whatever parses, on an exact-size copy. */
static int poke(const uint8_t *src, size_t n)
{
	uint8_t *p = dup_pkt(src, n);
	struct pkt_info info;
	struct dime_addr a4, a6;
	int rc = pkt_parse(p, n, &info);

	dime_addr_parse(&a4, "203.0.113.5");
	dime_addr_parse(&a6, "2001:db8::5");
	if (rc == 0 || rc == -EPROTONOSUPPORT || rc == -EBADMSG) {
		const struct dime_addr *a = info.ip.family == AF_INET ? &a4 : &a6;

		pkt_rewrite(p, n, &info, a, a, 0);
		pkt_rewrite(p, n, &info, a, NULL, PKT_F_CSUM_PARTIAL);
		pkt_rewrite(p, n, &info, NULL, a, PKT_F_CSUM_PARTIAL | PKT_F_GSO);
		if (info.flags & PKT_I_ICMP_ERR)
			ck_assert_int_eq(pkt_rewrite_inner(p, n, &info, a, a), 0);
	}
	free(p);
	return rc;
}

START_TEST(truncated_at_every_length)
{
	for (int which = 0; which < 5; which++) {
		size_t len;
		uint8_t *p = sample_packets(which, &len);

		ck_assert_int_eq(poke(p, len), 0);
		for (size_t n = 0; n < len; n++)
			ck_assert_msg(poke(p, n) < 0, "sample %d cut at %zu parses", which, n);
		/* Cut with the length field agreeing: headers may be cut. */
		for (size_t n = 1; n < len; n++) {
			uint8_t *q = dup_pkt(p, n);
			int rc;

			if (n >= 4) {
				if (q[0] >> 4 == 4)
					put16(q + 2, (uint16_t)n);
				else if (n >= 6)
					put16(q + 4, (uint16_t)(n >= 40 ? n - 40 : 0));
			}
			rc = poke(q, n);
			(void)rc;
			free(q);
		}
		free(p);
	}
}
END_TEST

START_TEST(bad_ipv4_headers)
{
	struct spec s = plain_spec(AF_INET, IPPROTO_UDP, 40);
	struct pkt_info info;
	struct built b;
	uint8_t *p = build(&s, &b), *q;

	ck_assert_int_eq(pkt_parse(p, b.len, &info), 0);
	for (int ihl = 0; ihl < 5; ihl++) {
		q = dup_pkt(p, b.len);
		q[0] = (uint8_t)(0x40 | ihl);
		ck_assert_int_eq(pkt_parse(q, b.len, &info), -EINVAL);
		free(q);
	}
	q = dup_pkt(p, 40);
	q[0] = 0x4f;
	put16(q + 2, 40);
	ck_assert_int_eq(pkt_parse(q, 40, &info), -EINVAL);	/* IHL past the buffer */
	free(q);
	q = dup_pkt(p, b.len);
	q[0] = 0x55;
	ck_assert_int_eq(pkt_parse(q, b.len, &info), -EINVAL);	/* version 5 */
	q[0] = 0x45;
	put16(q + 2, (uint16_t)(b.len + 1));
	ck_assert_int_eq(pkt_parse(q, b.len, &info), -EINVAL);	/* longer than buffer */
	put16(q + 2, 19);
	ck_assert_int_eq(pkt_parse(q, b.len, &info), -EINVAL);	/* below header */
	put16(q + 2, (uint16_t)b.len);
	put16(q + 24, 7);
	ck_assert_int_eq(pkt_parse(q, b.len, &info), -EINVAL);	/* UDP length < 8 */
	put16(q + 24, (uint16_t)(b.len - 19));
	ck_assert_int_eq(pkt_parse(q, b.len, &info), -EINVAL);	/* UDP length > IP */
	put16(q + 24, (uint16_t)(b.len - 21));
	ck_assert_int_eq(pkt_parse(q, b.len, &info), 0);		/* shorter is trimmed */
	free(q);
	free(p);

	/* Bad options: length 1, length past the header, SRR twice. */
	{
		static const uint8_t bad[][8] = {
			{ 7, 1, 0, 0, 0, 0, 0, 0 },
			{ 1, 68, 9, 5, 0, 0, 0, 0 },
			{ 1, 1, 1, 131, 2, 0, 0, 0 },
			{ 131, 3, 4, 131, 3, 4, 0, 0 },
			{ 131, 4, 4, 0, 0, 0, 0, 0 },	/* route data not whole addresses */
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			uint8_t h[28 + 8] = { 0x47, 0, 0, 36, 0, 0, 0, 0, 64, IPPROTO_UDP };

			memcpy(h + 20, bad[i], 8);
			put16(h + 28 + 4, 8);
			ck_assert_msg(pkt_parse(h, sizeof(h), &info) == -EINVAL, "option %zu", i);
		}
	}
	/* TCP data offset below 5 and past the packet. */
	s = plain_spec(AF_INET, IPPROTO_TCP, 4);
	p = build(&s, &b);
	p[20 + 12] = 0x40;
	ck_assert_int_eq(pkt_parse(p, b.len, &info), -EINVAL);
	p[20 + 12] = 0x70;
	ck_assert_int_eq(pkt_parse(p, b.len, &info), -EINVAL);
	p[20 + 12] = 0x60;
	ck_assert_int_eq(pkt_parse(p, b.len, &info), 0);
	free(p);
	ck_assert_int_eq(pkt_parse((const uint8_t *)"", 0, &info), -EINVAL);
}
END_TEST

static uint8_t *v6_with_chain(size_t nexts, uint8_t first, size_t *len)
{
	size_t n = 40 + 8 * nexts + 8;
	uint8_t *p = calloc(1, n);

	ck_assert_ptr_nonnull(p);
	p[0] = 0x60;
	put16(p + 4, (uint16_t)(n - 40));
	p[6] = nexts ? first : IPPROTO_UDP;
	for (size_t i = 0; i < nexts; i++)
		p[40 + 8 * i] = i + 1 < nexts ? IPPROTO_DSTOPTS : IPPROTO_UDP;
	put16(p + n - 4, 8);
	*len = n;
	return p;
}

START_TEST(bad_ipv6_headers)
{
	struct pkt_info info;
	size_t len;
	uint8_t *p;

	p = v6_with_chain(PKT_MAX_EXTHDR, IPPROTO_DSTOPTS, &len);
	ck_assert_int_eq(pkt_parse(p, len, &info), 0);
	ck_assert_uint_eq(info.ip.l4off, 40 + 8 * PKT_MAX_EXTHDR);
	free(p);
	p = v6_with_chain(PKT_MAX_EXTHDR + 1, IPPROTO_DSTOPTS, &len);
	ck_assert_int_eq(pkt_parse(p, len, &info), -EINVAL);	/* overlong chain */
	free(p);
	p = v6_with_chain(3, IPPROTO_DSTOPTS, &len);
	p[40 + 8] = IPPROTO_HOPOPTS;				/* hop-by-hop not first */
	p[40 + 16] = IPPROTO_UDP;
	ck_assert_int_eq(pkt_parse(p, len, &info), -EINVAL);
	free(p);
	p = v6_with_chain(2, IPPROTO_HOPOPTS, &len);
	ck_assert_int_eq(pkt_parse(p, len, &info), 0);
	p[41] = 3;						/* header past the end */
	ck_assert_int_eq(pkt_parse(p, len, &info), -EINVAL);
	p[41] = 0;
	put16(p + 4, (uint16_t)(len - 40 + 1));			/* payload past buffer */
	ck_assert_int_eq(pkt_parse(p, len, &info), -EINVAL);
	free(p);
	/* Routing headers: unknown type with segments left is dropped;
	 * with none left it is skipped. */
	p = v6_with_chain(1, IPPROTO_ROUTING, &len);
	p[42] = 3;
	p[43] = 1;
	ck_assert_int_eq(pkt_parse(p, len, &info), -EINVAL);
	p[43] = 0;
	ck_assert_int_eq(pkt_parse(p, len, &info), 0);
	p[42] = 2;						/* type 2 must hold one address */
	p[43] = 1;
	ck_assert_int_eq(pkt_parse(p, len, &info), -EINVAL);
	free(p);
	/* Every possible "next header" value after a short chain. */
	for (int nh = 0; nh < 256; nh++) {
		p = v6_with_chain(2, IPPROTO_DSTOPTS, &len);
		p[48] = (uint8_t)nh;
		{
			int rc = pkt_parse(p, len, &info);

			ck_assert(rc == 0 || rc == -EINVAL || rc == -EPROTONOSUPPORT);
		}
		free(p);
	}
}
END_TEST

START_TEST(mutated_packets_never_crash)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP };

	for (int i = 0; i < 20000; i++) {
		struct spec s;
		struct built b;
		uint8_t *p;

		rnd_spec(&s, protos, sizeof(protos));
		s.payload = below(64);
		if (i % 3 == 0 && (s.proto == IPPROTO_ICMP || s.proto == IPPROTO_ICMPV6)) {
			s.icmp_type = s.family == AF_INET ? 3 : 1;
		}
		p = build(&s, &b);
		for (uint32_t k = 1 + below(4); k > 0; k--)
			p[below((uint32_t)(b.l4off + (b.len - b.l4off) / 2 + 1))] = (uint8_t)rnd();
		poke(p, b.len);
		poke(p, below((uint32_t)b.len + 1));
		free(p);
	}
	for (int i = 0; i < 20000; i++) {
		size_t n = below(200);
		uint8_t *p = malloc(n ? n : 1);

		rnd_fill(p, n);
		if (n)
			p[0] = (uint8_t)((below(2) ? 0x40 : 0x60) | (p[0] & 15));
		poke(p, n);
		free(p);
	}
}
END_TEST

static Suite *pkt_suite(void)
{
	Suite *s = suite_create("pkt");
	TCase *rw = tcase_create("rewrite");
	TCase *ic = tcase_create("icmp");
	TCase *bad = tcase_create("malformed");

	tcase_set_timeout(rw, 300);
	tcase_set_timeout(ic, 300);
	tcase_set_timeout(bad, 300);
	tcase_add_test(rw, random_complete);
	tcase_add_test(rw, random_partial_full_checksum);
	tcase_add_test(rw, random_partial_inbound_gro);
	tcase_add_test(rw, random_partial_gso_outbound);
	tcase_add_test(rw, udp_zero_checksum_stays_zero);
	tcase_add_test(rw, udp_result_zero_is_sent_as_ffff);
	tcase_add_test(rw, udp_length_shorter_than_ip_payload);
	tcase_add_test(rw, routed_destination_keeps_l4_checksum);
	tcase_add_test(rw, echo_id_is_both_ports);
	tcase_add_test(rw, sctp_ports_and_no_checksum_change);
	tcase_add_test(rw, unknown_protocol_readdressed_at_ip_level);
	tcase_add_test(rw, rewrite_refusals_leave_packet_unchanged);
	tcase_add_test(rw, big_packets_parse_but_cannot_be_mangled);
	tcase_add_test(rw, fragments_first_and_later);
	tcase_add_test(rw, fragment_edge_cases);
	tcase_add_test(ic, icmp_errors_table);
	tcase_add_test(ic, icmp_errors_random);
	tcase_add_test(ic, icmp_rfc4884_length_bounds_quote);
	tcase_add_test(ic, icmp_error_quoting_garbage);
	tcase_add_test(bad, truncated_at_every_length);
	tcase_add_test(bad, bad_ipv4_headers);
	tcase_add_test(bad, bad_ipv6_headers);
	tcase_add_test(bad, mutated_packets_never_crash);
	suite_add_tcase(s, rw);
	suite_add_tcase(s, ic);
	suite_add_tcase(s, bad);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(pkt_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
