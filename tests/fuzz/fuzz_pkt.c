// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer harness for the packet core: pkt_parse() on arbitrary bytes,
 * then pkt_rewrite() in every checksum mode and pkt_rewrite_inner() on
 * copies of exactly len bytes, so ASan sees any access past the end.
 *
 * Beyond "no crash" it checks the invariants the data plane relies on:
 *   - a complete-mode rewrite keeps a valid IPv4 header checksum and a
 *     valid L4 checksum valid (RFC 1624 must not break what was right);
 *   - a CHECKSUM_PARTIAL non-GSO rewrite that succeeds leaves a valid L4
 *     checksum whatever the field held before;
 *   - an inner rewrite keeps a valid outer ICMP checksum valid;
 *   - a refused rewrite leaves the bytes unchanged.
 * A violated invariant aborts, which libFuzzer reports as a crash.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude \
 *          tests/fuzz/fuzz_pkt.c src/pkt.c src/csum.c src/addr.c -o fuzz_pkt
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dime/csum.h"
#include "dime/pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(bool ok)
{
	if (!ok)
		abort();
}

static size_t alen_of(const struct pkt_ip *ip)
{
	return ip->family == AF_INET6 ? 16 : 4;
}

static bool ipv4_header_ok(const uint8_t *p, const struct pkt_ip *ip)
{
	return ip->family != AF_INET || csum_fold(csum_add(0, p + ip->off, ip->l3len)) == 0xffff;
}

/* Can the L4 checksum of ip be verified here, and over how many bytes?
 * TCP, UDP (length = the rest), ICMP, ICMPv6; whole packets only. */
static bool l4_checkable(const uint8_t *p, const struct pkt_ip *ip, size_t *l4len)
{
	*l4len = ip->off + ip->len - ip->l4off;
	if (!(ip->flags & PKT_IP_CSUM) || (ip->flags & PKT_IP_FRAG) || ip->len != ip->iplen)
		return false;
	switch (ip->proto) {
	case IPPROTO_UDP:
		return *l4len >= 8 && (size_t)(p[ip->l4off + 4] << 8 | p[ip->l4off + 5]) == *l4len &&
		       csum_load(p + ip->csum_off) != 0;
	case IPPROTO_TCP:
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return true;
	default:
		return false;
	}
}

static bool l4_ok(const uint8_t *p, const struct pkt_ip *ip, size_t l4len)
{
	uint64_t sum = 0;

	if (ip->proto != IPPROTO_ICMP)
		sum = csum_pseudo(p + ip->off + (ip->family == AF_INET6 ? 8 : 12), p + ip->pdst_off,
				  alen_of(ip), ip->proto, (uint32_t)l4len);
	return csum_fold(csum_add(sum, p + ip->l4off, l4len)) == 0xffff;
}

static void pick(struct dime_addr *a, const struct pkt_ip *ip, const uint8_t *data, size_t size,
		 size_t salt)
{
	uint8_t raw[16];

	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = size ? (uint8_t)(data[(i * 7 + salt) % size] + i + salt) : (uint8_t)i;
	if (ip->family == AF_INET6)
		dime_addr_from_v6(a, raw);
	else
		dime_addr_from_v4(a, raw);
}

static void complete_mode(const uint8_t *data, size_t size, const struct pkt_info *info,
			  const struct dime_addr *s, const struct dime_addr *d)
{
	uint8_t *p = malloc(size ? size : 1);
	size_t l4len;
	bool hdr_ok, l4_was_ok, l4c;
	int rc;

	require(p != NULL);
	memcpy(p, data, size);
	hdr_ok = ipv4_header_ok(p, &info->ip);
	l4c = l4_checkable(p, &info->ip, &l4len);
	l4_was_ok = l4c && l4_ok(p, &info->ip, l4len);
	rc = pkt_rewrite(p, size, info, data[0] & 1 ? s : NULL, data[0] & 2 ? d : NULL, 0);
	if (rc) {
		require(memcmp(p, data, size) == 0);
	} else {
		require(!hdr_ok || ipv4_header_ok(p, &info->ip));
		require(!l4_was_ok || l4_ok(p, &info->ip, l4len));
	}
	if (!rc && (info->flags & PKT_I_ICMP_ERR)) {
		bool icmp_ok = l4c && l4_ok(p, &info->ip, l4len);
		bool inner_hdr_ok = ipv4_header_ok(p, &info->inner);

		rc = pkt_rewrite_inner(p, size, info, data[0] & 4 ? d : NULL, data[0] & 8 ? s : NULL);
		require(rc == 0 || rc == -EMSGSIZE);
		require(!icmp_ok || l4_ok(p, &info->ip, l4len));
		require(!inner_hdr_ok || ipv4_header_ok(p, &info->inner));
	}
	free(p);
}

static void partial_modes(const uint8_t *data, size_t size, const struct pkt_info *info,
			  const struct dime_addr *s)
{
	static const unsigned modes[] = {
		PKT_F_CSUM_PARTIAL,
		PKT_F_CSUM_PARTIAL | PKT_F_GSO,
		PKT_F_CSUM_PARTIAL | PKT_F_GSO | PKT_F_INBOUND,
	};

	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		uint8_t *p = malloc(size ? size : 1);
		size_t l4len;
		int rc;

		require(p != NULL);
		memcpy(p, data, size);
		rc = pkt_rewrite(p, size, info, s, NULL, modes[m]);
		if (rc)
			require(memcmp(p, data, size) == 0);
		else if (!(modes[m] & PKT_F_GSO) && l4_checkable(p, &info->ip, &l4len))
			require(l4_ok(p, &info->ip, l4len));
		if (info->flags & PKT_I_ICMP_ERR)
			pkt_rewrite_inner(p, size, info, s, s);
		free(p);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);
	struct pkt_info info;
	struct dime_addr s, d;
	int rc;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	rc = pkt_parse(copy, size, &info);
	require(memcmp(copy, data, size) == 0);
	if (rc == 0 || rc == -EPROTONOSUPPORT || rc == -EBADMSG) {
		require(info.ip.off + (size_t)info.ip.len <= size);
		pick(&s, &info.ip, data, size, 1);
		pick(&d, &info.ip, data, size, 2);
		complete_mode(copy, size, &info, &s, &d);
		partial_modes(copy, size, &info, &s);
	} else {
		require(rc == -EINVAL);
	}
	free(copy);
	return 0;
}
