// SPDX-License-Identifier: BSD-2-Clause
/*
 * libFuzzer harness for the sock_diag parser (sockdiag.c): the input is one
 * received netlink datagram (a dump reply or destroy broadcasts), split
 * into messages as the socket half does, on a copy of exactly `size` bytes
 * so ASan sees any read past the end. Each message is parsed as an event
 * (no protocol hint) and as a TCP and a UDP dump reply.
 *
 * Beyond "no crash" it checks:
 *   - a parsed socket has family AF_INET or AF_INET6, protocol TCP or UDP,
 *     both addresses of its family, and an IPv4 address has no bytes past
 *     its fourth;
 *   - the hint only matters when the message names no protocol: a message
 *     that parses without a hint parses the same with either hint;
 *   - sockdiag_sock_unmap only ever yields a consistent IPv4 socket, and
 *     only from an IPv6 one;
 *   - the dump request built from the first bytes is exactly
 *     SOCKDIAG_REQ_LEN long and parses back as the fields given.
 * A violated invariant aborts, which libFuzzer reports as a crash.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude \
 *          tests/fuzz/fuzz_sockdiag.c src/sockdiag.c src/nlutil.c src/addr.c \
 *          src/log.c -lmnl -o fuzz_sockdiag
 * Seeds: datagrams captured from a 6.18 kernel (dumps of TCP and UDP,
 * IPv4 and IPv6, and destroy broadcasts) in tests/fuzz/corpus/fuzz_sockdiag.
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>

#include "dime/nlutil.h"
#include "dime/sockdiag.h"
#include "fuzz_netlink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(bool ok)
{
	if (!ok)
		abort();
}

static bool tail_zero(const struct dime_addr *a, size_t from)
{
	for (size_t i = from; i < 16; i++)
		if (a->a.u8[i])
			return false;
	return true;
}

static void check_sock(const struct sockdiag_sock *s)
{
	require(s->family == AF_INET || s->family == AF_INET6);
	require(s->proto == IPPROTO_TCP || s->proto == IPPROTO_UDP);
	require(s->src.family == s->family && s->dst.family == s->family);
	if (s->family == AF_INET)
		require(tail_zero(&s->src, 4) && tail_zero(&s->dst, 4));
}

static void check_unmap(const struct sockdiag_sock *s)
{
	struct sockdiag_sock u = *s;

	if (!sockdiag_sock_unmap(&u)) {
		require(memcmp(&u, s, sizeof(u)) == 0);
		return;
	}
	require(s->family == AF_INET6);
	check_sock(&u);
	require(u.family == AF_INET && u.sport == s->sport && u.cookie == s->cookie);
}

static void check_message(const struct nlmsghdr *nlh)
{
	struct sockdiag_sock ev, tcp, udp;
	int r_ev = sockdiag_parse(nlh, 0, &ev);
	int r_tcp = sockdiag_parse(nlh, IPPROTO_TCP, &tcp);
	int r_udp = sockdiag_parse(nlh, IPPROTO_UDP, &udp);

	require(r_ev == 0 || r_ev == -ENOMSG || r_ev == -EBADMSG);
	require(r_tcp == 0 || r_tcp == -ENOMSG || r_tcp == -EBADMSG);
	require(r_udp == 0 || r_udp == -ENOMSG || r_udp == -EBADMSG);
	if (r_ev == 0) {
		check_sock(&ev);
		check_unmap(&ev);
		require(r_tcp == 0 && memcmp(&ev, &tcp, sizeof(ev)) == 0);
		require(r_udp == 0 && memcmp(&ev, &udp, sizeof(ev)) == 0);
	}
	if (r_tcp == 0) {
		check_sock(&tcp);
		check_unmap(&tcp);
	}
	if (r_udp == 0)
		check_sock(&udp);
}

static void check_request(const uint8_t *data, size_t size)
{
	unsigned char req[SOCKDIAG_REQ_LEN + 8] __attribute__((aligned(4)));
	const struct inet_diag_req_v2 *r = (const void *)(req + MNL_NLMSG_HDRLEN);
	uint32_t states, seq;
	int len;

	if (size < 10)
		return;
	memcpy(&states, data + 2, 4);
	memcpy(&seq, data + 6, 4);
	len = sockdiag_build_dump(req, sizeof(req), seq, data[0], data[1], states);
	if (len < 0) {
		require(len == -EINVAL);
		return;
	}
	require(len == SOCKDIAG_REQ_LEN);
	require(r->sdiag_family == data[0] && r->sdiag_protocol == data[1] &&
		r->idiag_states == states && r->idiag_ext == 0);
	require(((const struct nlmsghdr *)req)->nlmsg_seq == seq);
	require(sockdiag_build_dump(req, SOCKDIAG_REQ_LEN - 1, seq, data[0], data[1], states) ==
		-ENOSPC);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_each_message(data, size, check_message);
	check_request(data, size);
	return 0;
}
