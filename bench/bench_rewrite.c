// SPDX-License-Identifier: BSD-2-Clause
/*
 * bench_rewrite: packets per second on one core of the packet core's hot
 * path, pkt_parse() + pkt_rewrite(), for IPv4/IPv6 TCP/UDP with complete
 * checksums (the incremental path), plus the CHECKSUM_PARTIAL paths for
 * comparison. Table lookups are not included. Prints figures only.
 *
 * Usage: bench_rewrite [seconds-per-case]   (default 1)
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dime/csum.h"
#include "dime/pkt.h"

struct bench_case {
	const char *name;
	int family;
	uint8_t proto;
	size_t payload;
	unsigned flags;
	int rewrite;		/* 0: parse only, 1: source, 2: source and destination */
};

static const struct bench_case cases[] = {
	{ "ipv4 tcp 1400B complete, src", AF_INET, IPPROTO_TCP, 1400, 0, 1 },
	{ "ipv4 udp 1400B complete, src", AF_INET, IPPROTO_UDP, 1400, 0, 1 },
	{ "ipv6 tcp 1400B complete, src", AF_INET6, IPPROTO_TCP, 1400, 0, 1 },
	{ "ipv6 udp 1400B complete, src", AF_INET6, IPPROTO_UDP, 1400, 0, 1 },
	{ "ipv4 tcp 1400B complete, src+dst", AF_INET, IPPROTO_TCP, 1400, 0, 2 },
	{ "ipv6 tcp 1400B complete, src+dst", AF_INET6, IPPROTO_TCP, 1400, 0, 2 },
	{ "ipv4 tcp parse only", AF_INET, IPPROTO_TCP, 1400, 0, 0 },
	{ "ipv6 udp parse only", AF_INET6, IPPROTO_UDP, 1400, 0, 0 },
	{ "ipv4 tcp 64000B partial+gso out", AF_INET, IPPROTO_TCP, 64000,
	  PKT_F_CSUM_PARTIAL | PKT_F_GSO, 1 },
	{ "ipv4 tcp 1400B partial, full sum", AF_INET, IPPROTO_TCP, 1400, PKT_F_CSUM_PARTIAL, 1 },
	{ "ipv6 udp 1400B partial, full sum", AF_INET6, IPPROTO_UDP, 1400, PKT_F_CSUM_PARTIAL, 1 },
	{ "ipv4 tcp 64000B partial inbound, full", AF_INET, IPPROTO_TCP, 64000,
	  PKT_F_CSUM_PARTIAL | PKT_F_GSO | PKT_F_INBOUND, 1 },
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A packet with valid checksums: documentation addresses, pattern payload. */
static size_t build(uint8_t *p, const struct bench_case *c)
{
	size_t l3 = c->family == AF_INET ? 20 : 40, l4h = c->proto == IPPROTO_TCP ? 20 : 8;
	size_t len = l3 + l4h + c->payload, alen = c->family == AF_INET ? 4 : 16;
	uint8_t *l4 = p + l3, *sa = p + (c->family == AF_INET ? 12 : 8);
	struct dime_addr s, d;
	size_t coff = c->proto == IPPROTO_TCP ? 16 : 6;

	memset(p, 0, len);
	dime_addr_parse(&s, c->family == AF_INET ? "192.0.2.10" : "2001:db8::10");
	dime_addr_parse(&d, c->family == AF_INET ? "198.51.100.20" : "2001:db8:1::20");
	if (c->family == AF_INET) {
		p[0] = 0x45;
		p[2] = (uint8_t)(len >> 8);
		p[3] = (uint8_t)len;
		p[8] = 64;
		p[9] = c->proto;
	} else {
		p[0] = 0x60;
		p[4] = (uint8_t)((len - 40) >> 8);
		p[5] = (uint8_t)(len - 40);
		p[6] = c->proto;
		p[7] = 64;
	}
	memcpy(sa, s.a.u8, alen);
	memcpy(sa + alen, d.a.u8, alen);
	l4[0] = 0x9c;
	l4[1] = 0x40;
	l4[2] = 0x14;
	l4[3] = 0x51;
	if (c->proto == IPPROTO_TCP) {
		l4[12] = 0x50;
		l4[13] = 0x10;
	} else {
		l4[4] = (uint8_t)((len - l3) >> 8);
		l4[5] = (uint8_t)(len - l3);
	}
	for (size_t i = l3 + l4h; i < len; i++)
		p[i] = (uint8_t)(i * 7);
	csum_store(l4 + coff, csum_finish(csum_add(csum_pseudo(sa, sa + alen, alen, c->proto,
							      (uint32_t)(len - l3)),
						  l4, len - l3)));
	if (c->family == AF_INET)
		csum_store(p + 10, csum_finish(csum_add(0, p, 20)));
	return len;
}

/* One timed run of n packets; returns seconds. */
static double run(uint8_t *p, size_t len, const struct bench_case *c,
		  const struct dime_addr *src, const struct dime_addr *dst, long n, int *err)
{
	struct pkt_info info;
	double t0 = now();

	for (long i = 0; i < n; i++) {
		int rc = pkt_parse(p, len, &info);

		if (c->rewrite && rc == 0)
			rc = pkt_rewrite(p, len, &info, &src[i & 1],
					 c->rewrite == 2 ? &dst[i & 1] : NULL, c->flags);
		if (rc)
			*err = rc;
	}
	return now() - t0;
}

/* Do the final bytes still carry right checksums (complete mode)? */
static const char *verdict(const uint8_t *p, size_t len, const struct bench_case *c)
{
	struct pkt_info info;
	size_t alen = c->family == AF_INET ? 4 : 16, l3;
	const uint8_t *sa = p + (c->family == AF_INET ? 12 : 8);

	if (pkt_parse(p, len, &info))
		return "parse failed";
	if (c->flags & PKT_F_GSO && !(c->flags & PKT_F_INBOUND))
		return "-";
	l3 = info.ip.l4off;
	if (c->family == AF_INET && csum_fold(csum_add(0, p, 20)) != 0xffff)
		return "BAD ipv4 header checksum";
	if (csum_fold(csum_add(csum_pseudo(sa, sa + alen, alen, c->proto, (uint32_t)(len - l3)),
			       p + l3, len - l3)) != 0xffff)
		return "BAD l4 checksum";
	return "checksums ok";
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 1.0;
	static uint8_t pkt[65536];

	if (secs <= 0)
		secs = 1.0;
	printf("%-40s %9s %9s %9s  %s\n", "case", "Mpps", "ns/pkt", "Gbit/s*", "after");
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct bench_case *c = &cases[k];
		struct dime_addr src[2], dst[2];
		size_t len = build(pkt, c);
		long n = 1000;
		double best = 0, t;
		int err = 0;

		dime_addr_parse(&src[0], c->family == AF_INET ? "203.0.113.7" : "2001:db8:2::7");
		dime_addr_parse(&src[1], c->family == AF_INET ? "192.0.2.10" : "2001:db8::10");
		dime_addr_parse(&dst[0], c->family == AF_INET ? "203.0.113.8" : "2001:db8:3::8");
		dime_addr_parse(&dst[1], c->family == AF_INET ? "198.51.100.20" : "2001:db8:1::20");
		/* Calibrate to about a tenth of the budget, then best of 5. */
		while ((t = run(pkt, len, c, src, dst, n, &err)) < secs / 10)
			n *= 2;
		for (int r = 0; r < 5; r++) {
			double mpps;

			t = run(pkt, len, c, src, dst, n, &err);
			mpps = (double)n / t / 1e6;
			if (mpps > best)
				best = mpps;
		}
		printf("%-40s %9.2f %9.1f %9.1f  %s%s\n", c->name, best, 1e3 / best,
		       best * 1e6 * (double)len * 8 / 1e9, verdict(pkt, len, c),
		       err ? " (errors returned)" : "");
	}
	printf("* packet bytes handled per second on one core at that packet size\n");
	return 0;
}
