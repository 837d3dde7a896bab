// SPDX-License-Identifier: BSD-2-Clause
/* sockkill: the quoted packet and the ICMP errors built from it. */
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

#include "dime/sockkill.h"
#include "testutil.h"

static uint16_t sum16(const uint8_t *p, size_t n)
{
	uint32_t acc = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		acc += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		acc += (uint32_t)p[n - 1] << 8;
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

static struct dime_flow flow(uint8_t proto, const char *lid, uint16_t lport, const char *rid,
			     uint16_t rport)
{
	struct dime_flow f;

	memset(&f, 0, sizeof(f));
	ck_assert_int_eq(dime_addr_parse(&f.lid, lid), 0);
	ck_assert_int_eq(dime_addr_parse(&f.rid, rid), 0);
	f.lport = lport;
	f.rport = rport;
	f.proto = proto;
	return f;
}

START_TEST(udp_quote_v4_is_the_sockets_packet)
{
	struct dime_flow f = flow(IPPROTO_UDP, "192.0.2.10", 40000, "203.0.113.130", 53);
	uint8_t q[SOCKKILL_QUOTE_MAX];
	int n = sockkill_build_quote(&f, 0, q, sizeof(q));

	ck_assert_int_eq(n, 28);
	ck_assert_uint_eq(q[0], 0x45);
	ck_assert_uint_eq(q[9], IPPROTO_UDP);
	ck_assert_uint_eq(sum16(q, 20), 0xffff);	/* header checksum right */
	ck_assert_mem_eq(q + 12, f.lid.a.u8, 4);	/* from the socket ... */
	ck_assert_mem_eq(q + 16, f.rid.a.u8, 4);	/* ... to its peer */
	ck_assert_uint_eq((unsigned)(q[20] << 8 | q[21]), 40000);
	ck_assert_uint_eq((unsigned)(q[22] << 8 | q[23]), 53);
}
END_TEST

START_TEST(tcp_quote_v6_carries_the_sequence_number)
{
	struct dime_flow f = flow(IPPROTO_TCP, "2001:db8:1::10", 40000, "2001:db8:c::130", 80);
	uint8_t q[SOCKKILL_QUOTE_MAX];
	int n = sockkill_build_quote(&f, 0x01020304, q, sizeof(q));

	ck_assert_int_eq(n, 60);
	ck_assert_uint_eq(q[0] >> 4, 6);
	ck_assert_uint_eq(q[6], IPPROTO_TCP);
	ck_assert_mem_eq(q + 8, f.lid.a.u8, 16);
	ck_assert_mem_eq(q + 24, f.rid.a.u8, 16);
	ck_assert_uint_eq(q[44], 1);
	ck_assert_uint_eq(q[47], 4);
	ck_assert_int_eq(sockkill_build_quote(&f, 0, q, 59), -ENOSPC);
	f.proto = IPPROTO_ICMPV6;
	ck_assert_int_eq(sockkill_build_quote(&f, 0, q, sizeof(q)), -EINVAL);
}
END_TEST

START_TEST(icmp_v4_port_unreachable_checksums)
{
	struct dime_flow f = flow(IPPROTO_UDP, "192.0.2.10", 40000, "203.0.113.130", 53);
	uint8_t q[SOCKKILL_QUOTE_MAX], m[8 + SOCKKILL_QUOTE_MAX];
	int qn = sockkill_build_quote(&f, 0, q, sizeof(q));
	int n = sockkill_build_icmp(SOCKKILL_PORT_UNREACH, q, (size_t)qn, m, sizeof(m));

	ck_assert_int_eq(n, 8 + qn);
	ck_assert_uint_eq(m[0], 3);
	ck_assert_uint_eq(m[1], 3);
	ck_assert_uint_eq(sum16(m, (size_t)n), 0xffff);
	ck_assert_mem_eq(m + 8, q, (size_t)qn);
	n = sockkill_build_icmp(SOCKKILL_HOST_UNREACH, q, (size_t)qn, m, sizeof(m));
	ck_assert_uint_eq(m[1], 1);
	ck_assert_uint_eq(sum16(m, (size_t)n), 0xffff);
}
END_TEST

START_TEST(icmp_v6_types_and_bounds)
{
	struct dime_flow f = flow(IPPROTO_TCP, "2001:db8:1::10", 40000, "2001:db8:c::130", 80);
	uint8_t q[100], m[8 + SOCKKILL_QUOTE_MAX];
	int qn = sockkill_build_quote(&f, 7, q, sizeof(q));
	int n;

	/* Longer quotes are cut to SOCKKILL_QUOTE_MAX. */
	memset(q + qn, 0xaa, sizeof(q) - (size_t)qn);
	n = sockkill_build_icmp(SOCKKILL_HOST_UNREACH, q, sizeof(q), m, sizeof(m));
	ck_assert_int_eq(n, 8 + SOCKKILL_QUOTE_MAX);
	ck_assert_uint_eq(m[0], 1);	/* destination unreachable */
	ck_assert_uint_eq(m[1], 0);	/* no route: what TCP-LD reacts to */
	n = sockkill_build_icmp(SOCKKILL_PORT_UNREACH, q, (size_t)qn, m, sizeof(m));
	ck_assert_uint_eq(m[1], 4);
	/* Not IP, too short, no room. */
	q[0] = 0x50;
	ck_assert_int_eq(sockkill_build_icmp(SOCKKILL_HOST_UNREACH, q, (size_t)qn, m, sizeof(m)), -EINVAL);
	q[0] = 0x60;
	ck_assert_int_eq(sockkill_build_icmp(SOCKKILL_HOST_UNREACH, q, 47, m, sizeof(m)), -EINVAL);
	ck_assert_int_eq(sockkill_build_icmp(SOCKKILL_HOST_UNREACH, q, (size_t)qn, m, 20), -ENOSPC);
	ck_assert_int_eq(sockkill_build_icmp(SOCKKILL_HOST_UNREACH, q, 0, m, sizeof(m)), -EINVAL);
}
END_TEST

/* The probe: a TCP segment from the socket's identifiers to the peer's,
 * ACK only, with a right checksum (computed here independently). */
static uint16_t tcp_sum(const uint8_t *pkt, bool v6)
{
	uint8_t pseudo[40 + 20];
	size_t ipl = v6 ? 40 : 20, alen = v6 ? 16 : 4, n = 0;

	memcpy(pseudo, pkt + (v6 ? 8 : 12), 2 * alen);
	n = 2 * alen;
	pseudo[n++] = 0;
	pseudo[n++] = IPPROTO_TCP;
	pseudo[n++] = 0;
	pseudo[n++] = 20;
	(void)ipl;
	{
		uint32_t acc = 0;
		uint8_t all[80];

		memcpy(all, pseudo, n);
		memcpy(all + n, pkt + ipl, 20);
		for (size_t i = 0; i < n + 20; i += 2)
			acc += (uint32_t)all[i] << 8 | all[i + 1];
		while (acc >> 16)
			acc = (acc & 0xffff) + (acc >> 16);
		return (uint16_t)acc;
	}
}

START_TEST(probe_is_a_valid_ack_segment)
{
	for (int v6 = 0; v6 < 2; v6++) {
		struct dime_flow f = v6 ? flow(IPPROTO_TCP, "2001:db8:c::130", 80, "2001:db8:2::10", 40000)
					: flow(IPPROTO_TCP, "203.0.113.130", 80, "192.0.2.10", 40000);
		uint8_t p[60];
		int n = sockkill_build_probe(&f, 0xdeadbeef, 0x01020304, p, sizeof(p));
		size_t ipl = v6 ? 40 : 20;

		ck_assert_int_eq(n, (int)ipl + 20);
		ck_assert_uint_eq(p[ipl + 13], 0x10);		/* ACK only */
		ck_assert_uint_eq(p[ipl + 4], 0xde);
		ck_assert_uint_eq(p[ipl + 11], 0x04);
		ck_assert_uint_eq(tcp_sum(p, v6), 0xffff);
		ck_assert_mem_eq(p + (v6 ? 8 : 12), f.lid.a.u8, v6 ? 16 : 4);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sockkill");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, udp_quote_v4_is_the_sockets_packet);
	tcase_add_test(tc, tcp_quote_v6_carries_the_sequence_number);
	tcase_add_test(tc, icmp_v4_port_unreachable_checksums);
	tcase_add_test(tc, icmp_v6_types_and_bounds);
	tcase_add_test(tc, probe_is_a_valid_ack_segment);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
