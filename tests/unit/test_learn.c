// SPDX-License-Identifier: BSD-2-Clause
/*
 * Check suite for learn.c: sockets as the kernel reports them (sockdiag.h)
 * turned into flow keys, or not: connected TCP and UDP in both families,
 * dual-stack sockets talking IPv4, listeners and who opened a connection,
 * unconnected UDP, loopback, local-to-local, foreign source addresses,
 * dimed's own IHMP port, and the TCP state mapping.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>

#include "dime/learn.h"

#define LOCAL4 "192.0.2.10"
#define PIN4 "192.0.2.99"	/* an identifier pinned on lo: still ours */
#define REMOTE4 "203.0.113.130"
#define LOCAL6 "2001:db8:1::10"
#define REMOTE6 "2001:db8:3::130"
#define IHMP_PORT 4010

static struct learn_ports listen_now, listen_last;

static struct dime_addr A(const char *text)
{
	struct dime_addr a;

	ck_assert_int_eq(dime_addr_parse(&a, text), 0);
	return a;
}

static bool is_local(void *ctx, const struct dime_addr *addr)
{
	static const char *const ours[] = { LOCAL4, PIN4, LOCAL6, "127.0.0.1", "::1" };

	(void)ctx;
	for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++) {
		struct dime_addr a = A(ours[i]);

		if (dime_addr_eq(&a, addr))
			return true;
	}
	return false;
}

static struct learn_ctx ctx(void)
{
	return (struct learn_ctx){ .is_local = is_local, .ihmp_port = IHMP_PORT,
				   .listen_now = &listen_now, .listen_last = &listen_last };
}

static struct sockdiag_sock sock(uint8_t proto, uint8_t state, const char *src, uint16_t sport,
				 const char *dst, uint16_t dport)
{
	struct sockdiag_sock s = { .proto = proto, .state = state, .sport = sport, .dport = dport };

	s.src = A(src);
	s.family = s.src.family;
	if (dst) {
		s.dst = A(dst);
	} else {
		s.dst.family = s.family;	/* as the kernel: family set, all zero */
	}
	return s;
}

static void setup(void)
{
	learn_ports_clear(&listen_now);
	learn_ports_clear(&listen_last);
}

START_TEST(connected_tcp_is_a_flow_we_opened)
{
	struct learn_ctx c = ctx();
	struct sockdiag_sock s = sock(IPPROTO_TCP, TCP_ESTABLISHED, LOCAL4, 40000, REMOTE4, 80);
	struct dime_flow_key k;
	struct dime_addr lid = A(LOCAL4), rid = A(REMOTE4);
	bool opened = false;

	ck_assert_int_eq(learn_socket(&c, &s, &k, &opened), LEARN_FLOW);
	ck_assert_uint_eq(k.proto, IPPROTO_TCP);
	ck_assert(dime_addr_eq(&k.lid, &lid));
	ck_assert(dime_addr_eq(&k.rid, &rid));
	ck_assert_uint_eq(k.lport, 40000);
	ck_assert_uint_eq(k.rport, 80);
	ck_assert(opened);
}
END_TEST

/* A connection on a listening port was accepted: the peer opened it and
 * says HELLO. The listener may be in this dump or only in the last one. */
START_TEST(accepted_tcp_was_opened_by_the_peer)
{
	struct learn_ctx c = ctx();
	struct sockdiag_sock l = sock(IPPROTO_TCP, TCP_LISTEN, "0.0.0.0", 6001, NULL, 0);
	struct sockdiag_sock s = sock(IPPROTO_TCP, TCP_ESTABLISHED, LOCAL4, 6001, REMOTE4, 50000);
	struct dime_flow_key k;
	bool opened = true;

	ck_assert_int_eq(learn_socket(&c, &l, &k, &opened), LEARN_LISTENER);
	learn_ports_add(&listen_now, l.sport);
	ck_assert_int_eq(learn_socket(&c, &s, &k, &opened), LEARN_FLOW);
	ck_assert(!opened);
	setup();
	learn_ports_add(&listen_last, 6001);
	opened = true;
	ck_assert_int_eq(learn_socket(&c, &s, &k, &opened), LEARN_FLOW);
	ck_assert(!opened);
	c.listen_now = c.listen_last = NULL;	/* no dump yet */
	ck_assert_int_eq(learn_socket(&c, &s, &k, &opened), LEARN_FLOW);
	ck_assert(opened);
}
END_TEST

START_TEST(connected_udp_v6_is_a_flow)
{
	struct learn_ctx c = ctx();
	struct sockdiag_sock s = sock(IPPROTO_UDP, TCP_ESTABLISHED, LOCAL6, 5353, REMOTE6, 53);
	struct dime_flow_key k;
	struct dime_addr rid = A(REMOTE6);
	bool opened = false;

	learn_ports_add(&listen_now, 5353);	/* TCP listeners say nothing of UDP */
	ck_assert_int_eq(learn_socket(&c, &s, &k, &opened), LEARN_FLOW);
	ck_assert_uint_eq(k.proto, IPPROTO_UDP);
	ck_assert_uint_eq(k.lid.family, AF_INET6);
	ck_assert(dime_addr_eq(&k.rid, &rid));
	ck_assert(opened);
}
END_TEST

/* A dual-stack socket talking IPv4 carries IPv4 packets: the flow is IPv4. */
START_TEST(ipv4_mapped_socket_is_an_ipv4_flow)
{
	struct learn_ctx c = ctx();
	struct sockdiag_sock s = sock(IPPROTO_TCP, TCP_ESTABLISHED, "::ffff:" LOCAL4, 6001,
				      "::ffff:" REMOTE4, 50000);
	struct dime_flow_key k;
	struct dime_addr lid = A(LOCAL4), rid = A(REMOTE4);
	bool opened;

	ck_assert_uint_eq(s.family, AF_INET6);
	ck_assert_int_eq(learn_socket(&c, &s, &k, &opened), LEARN_FLOW);
	ck_assert(dime_addr_eq(&k.lid, &lid));
	ck_assert(dime_addr_eq(&k.rid, &rid));
}
END_TEST

START_TEST(unconnected_udp_is_an_open_port)
{
	struct learn_ctx c = ctx();
	struct sockdiag_sock s = sock(IPPROTO_UDP, TCP_CLOSE, "0.0.0.0", 6002, NULL, 0);
	struct sockdiag_sock b = sock(IPPROTO_UDP, TCP_CLOSE, LOCAL6, 6003, NULL, 0);
	struct dime_flow_key k;
	bool opened;

	ck_assert_int_eq(learn_socket(&c, &s, &k, &opened), LEARN_UNBOUND_UDP);
	ck_assert_int_eq(learn_socket(&c, &b, &k, &opened), LEARN_UNBOUND_UDP);
}
END_TEST

START_TEST(what_is_no_flow_of_ours)
{
	struct learn_ctx c = ctx();
	struct sockdiag_sock ignored[] = {
		sock(IPPROTO_TCP, TCP_ESTABLISHED, "127.0.0.1", 40000, "127.0.0.1", 80),
		sock(IPPROTO_TCP, TCP_ESTABLISHED, "::1", 40000, "::1", 80),
		sock(IPPROTO_TCP, TCP_ESTABLISHED, LOCAL4, 40000, PIN4, 80),	/* local to local */
		sock(IPPROTO_TCP, TCP_ESTABLISHED, "198.51.100.77", 40000, REMOTE4, 80), /* not ours */
		sock(IPPROTO_UDP, TCP_ESTABLISHED, LOCAL4, IHMP_PORT, REMOTE4, IHMP_PORT),
		sock(IPPROTO_UDP, TCP_ESTABLISHED, LOCAL4, 40000, REMOTE4, IHMP_PORT),
		sock(IPPROTO_TCP, TCP_SYN_SENT, LOCAL4, 0, REMOTE4, 80),	/* no port yet */
		sock(IPPROTO_TCP, TCP_CLOSE, LOCAL4, 40000, NULL, 0),	/* bound, never connected */
		sock(IPPROTO_TCP, TCP_ESTABLISHED, "::ffff:" LOCAL4, 1, REMOTE6, 2), /* mixed */
		sock(IPPROTO_SCTP, TCP_ESTABLISHED, LOCAL4, 40000, REMOTE4, 80),
	};
	struct dime_flow_key k;
	bool opened;

	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		ck_assert_msg(learn_socket(&c, &ignored[i], &k, &opened) == LEARN_IGNORE, "socket %zu", i);
	ignored[0].family = AF_UNIX;
	ck_assert_int_eq(learn_socket(&c, &ignored[0], &k, &opened), LEARN_IGNORE);
}
END_TEST

/* A pinned identifier is still ours: its flows are learnt. */
START_TEST(pinned_identifier_is_local)
{
	struct learn_ctx c = ctx();
	struct sockdiag_sock s = sock(IPPROTO_TCP, TCP_ESTABLISHED, PIN4, 40000, REMOTE4, 80);
	struct dime_flow_key k;
	bool opened;

	ck_assert_int_eq(learn_socket(&c, &s, &k, &opened), LEARN_FLOW);
}
END_TEST

START_TEST(tcp_states)
{
	ck_assert_uint_eq(learn_tcp_state(TCP_ESTABLISHED), DIME_TCP_ESTABLISHED);
	ck_assert_uint_eq(learn_tcp_state(TCP_SYN_SENT), DIME_TCP_SYN_SENT);
	ck_assert_uint_eq(learn_tcp_state(TCP_SYN_RECV), DIME_TCP_SYN_RECV);
	ck_assert_uint_eq(learn_tcp_state(12), DIME_TCP_SYN_RECV);
	ck_assert_uint_eq(learn_tcp_state(TCP_FIN_WAIT1), DIME_TCP_FIN_OUT);
	ck_assert_uint_eq(learn_tcp_state(TCP_FIN_WAIT2), DIME_TCP_FIN_OUT);
	ck_assert_uint_eq(learn_tcp_state(TCP_CLOSE_WAIT), DIME_TCP_FIN_IN);
	ck_assert_uint_eq(learn_tcp_state(TCP_LAST_ACK), DIME_TCP_CLOSING);
	ck_assert_uint_eq(learn_tcp_state(TCP_CLOSING), DIME_TCP_CLOSING);
	ck_assert_uint_eq(learn_tcp_state(TCP_TIME_WAIT), DIME_TCP_CLOSING);
	ck_assert_uint_eq(learn_tcp_state(TCP_CLOSE), DIME_TCP_CLOSED);
	ck_assert_uint_eq(learn_tcp_state(0), DIME_TCP_NONE);
	ck_assert_uint_eq(learn_tcp_state(200), DIME_TCP_NONE);
}
END_TEST

START_TEST(port_sets)
{
	struct learn_ports *p = malloc(sizeof(*p));

	ck_assert_ptr_nonnull(p);
	learn_ports_clear(p);
	for (unsigned port = 0; port < 65536; port += 4099)
		learn_ports_add(p, (uint16_t)port);
	learn_ports_add(p, 65535);
	for (unsigned port = 0; port < 65536; port++)
		ck_assert_int_eq(learn_ports_has(p, (uint16_t)port), port % 4099 == 0 || port == 65535);
	ck_assert(!learn_ports_has(NULL, 1));
	free(p);
}
END_TEST

static Suite *learn_suite(void)
{
	Suite *s = suite_create("learn");
	TCase *tc = tcase_create("sockets");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, connected_tcp_is_a_flow_we_opened);
	tcase_add_test(tc, accepted_tcp_was_opened_by_the_peer);
	tcase_add_test(tc, connected_udp_v6_is_a_flow);
	tcase_add_test(tc, ipv4_mapped_socket_is_an_ipv4_flow);
	tcase_add_test(tc, unconnected_udp_is_an_open_port);
	tcase_add_test(tc, what_is_no_flow_of_ours);
	tcase_add_test(tc, pinned_identifier_is_local);
	tcase_add_test(tc, tcp_states);
	tcase_add_test(tc, port_sets);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(learn_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
