// SPDX-License-Identifier: BSD-2-Clause
/*
 * Check suite for the IHMP state machine (ihmp.c): a fake clock, hosts
 * that each own a HID table and an ihmp instance, and a fake network that
 * carries SEND actions between them (ihmp_fakenet.h: a datagram arrives
 * when its source is still up at the sender and its destination is up
 * somewhere, unless the test's drop filter or NAT says otherwise). Receiver
 * rules are also checked one message at a time with hand-built messages.
 *
 * The signed scenarios (docs/security.md) give each host an Ed25519 key and
 * a table of which peer address is bound to which host's key; the network
 * keeps every datagram's bytes, so a test can replay or tamper with them.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dime/ihmp.h"
#include "dime/ihmp_sign.h"
#include "ihmp_fakenet.h"
#include "testutil.h"

/* Each host's key, and the peer keys every host configured: address ->
 * host whose key it is. */
static struct ihmp_key *K[HOSTS];
static struct keybind {
	struct dime_addr addr;
	int host;
} binds[16];
static unsigned int nbinds;

/* HANDOFFs that reached ihmp_config.before_apply, on any host. */
static unsigned int handoffs_applied;

static void count_before_apply(void *ctx, uint32_t hid, const struct ihmp_msg *m)
{
	(void)ctx;
	(void)hid;
	if (m->type == IHMP_HANDOFF)
		handoffs_applied++;
}

/* The plain tests run without rate limits: they send thousands of
 * messages from one address at one instant on purpose. */
static struct ihmp_config test_cfg(void)
{
	struct ihmp_config c = IHMP_CONFIG_DEFAULTS;

	c.random = fake_random;
	c.rl.slots = 0;
	c.before_apply = count_before_apply;
	return c;
}

static void host_init_cfg(int i, const struct ihmp_config *cfg)
{
	struct dime_hid_config hc = { .capacity = 64, .max_addrs = 1024, .seed = { 1, 2 } };

	memset(&H[i], 0, sizeof(H[i]));
	ck_assert_int_eq(dime_hid_table_new(&H[i].t, &hc), 0);
	ck_assert_int_eq(ihmp_new(&H[i].ih, H[i].t, cfg), 0);
}

static void setup(void)
{
	struct ihmp_config c = test_cfg();

	fakenet_alloc();
	rnd_state = 42;
	nbinds = 0;
	for (int i = 0; i < HOSTS; i++) {
		host_init_cfg(i, &c);
		ck_assert_int_eq(ihmp_key_generate(&K[i]), 0);
	}
}

static void teardown(void)
{
	for (int i = 0; i < HOSTS; i++) {
		ihmp_free(H[i].ih);
		dime_hid_table_free(H[i].t);
		ihmp_key_free(K[i]);
	}
	fakenet_free();
}

/* Replace host i's ihmp with one of another configuration. */
static void host_reconfig(int i, const struct ihmp_config *cfg)
{
	ihmp_free(H[i].ih);
	dime_hid_table_free(H[i].t);
	host_init_cfg(i, cfg);
}

/* ---- HELLO -------------------------------------------------------------- */

START_TEST(test_hello_symmetric)
{
	struct dime_hid_entry *a, *b;
	unsigned int mark;

	up(0, "192.0.2.1");
	up(0, "2001:db8:a::1");
	up(1, "198.51.100.1");
	up(1, "2001:db8:b::1");
	flow(0, "192.0.2.1", "198.51.100.1");
	ck_assert_uint_eq(nlog, 1);
	ck_assert_int_eq(LOG[0].m.type, IHMP_HELLO);
	ck_assert(dime_addr_eq(&LOG[0].m.host_id, AP("192.0.2.1")));
	ck_assert_uint_eq(LOG[0].m.adv.n, 2);
	ck_assert(dime_addr_eq(&LOG[0].m.adv.addr[0], AP("192.0.2.1")));
	ck_assert_uint_eq(LOG[0].dport, IHMP_PORT_DEFAULT);
	ck_assert_uint_eq(ihmp_next_deadline(H[0].ih), now + 1000);

	/* B on the HELLO alone (paper III-B1). */
	deliver_n(1);
	b = hid_of(1, "192.0.2.1");
	ck_assert_ptr_nonnull(b);
	ck_assert(has(&b->active, "192.0.2.1") && b->active.n == 1);
	ck_assert(has(&b->local, "198.51.100.1") && b->local.n == 1);
	ck_assert(has(&b->unreach, "2001:db8:a::1") && b->unreach.n == 1);
	ck_assert_uint_eq(count(0, 1, IHMP_ACK, IHMP_HELLO), 1);
	ck_assert_uint_eq(find(0, 1, IHMP_ACK, 0)->m.adv.n, 2);
	/* B probes A's v6 address from its own v6 address. */
	ck_assert_uint_eq(count(0, 1, IHMP_PATH_PROBE, 0), 1);
	ck_assert(dime_addr_eq(&find(0, 1, IHMP_PATH_PROBE, 0)->src, AP("2001:db8:b::1")));
	ck_assert(dime_addr_eq(&find(0, 1, IHMP_PATH_PROBE, 0)->dst, AP("2001:db8:a::1")));

	mark = nlog;
	run_until(now + 100);
	a = hid_of(0, "198.51.100.1");
	b = hid_of(1, "192.0.2.1");
	ck_assert(has(&a->active, "2001:db8:b::1") && a->active.n == 2);
	ck_assert(has(&b->active, "2001:db8:a::1") && b->active.n == 2);
	ck_assert(set_eq(&a->active, &b->local));
	ck_assert(set_eq(&b->active, &a->local));
	ck_assert_uint_eq(a->unreach.n + b->unreach.n, 0);
	ck_assert_uint_eq(count(mark, 0, IHMP_PATH_PROBE, 0), 1);
	/* Nothing outstanding, nothing left to send. */
	ck_assert_uint_eq(ihmp_next_deadline(H[0].ih), UINT64_MAX);
	ck_assert_uint_eq(ihmp_next_deadline(H[1].ih), UINT64_MAX);
	run_until(now + 100000);
	ck_assert_uint_eq(ihmp_stats(H[0].ih)->retransmissions, 0);
	ck_assert_uint_eq(ihmp_stats(H[0].ih)->drop_unmatched_ack +
			  ihmp_stats(H[1].ih)->drop_unmatched_ack, 0);
}
END_TEST

/* A HELLO crafted as A would send it. */
static void hello_msg(struct ihmp_msg *m, const char *from, const char *const *adv, uint16_t flags)
{
	ihmp_msg_init(m, IHMP_HELLO, 7);
	m->flags = flags;
	m->host_id = A(from);
	for (; *adv; adv++)
		ck_assert_int_eq(ihmp_adv_add(m, AP(*adv)), 0);
}

START_TEST(test_probe_selection)
{
	static const char *const adv[] = { "192.0.2.1", "10.1.0.1", "169.254.1.1", "172.16.0.1",
					   "2001:db8:a::1", "fd00::1", NULL };
	struct ihmp_msg m;
	struct dime_hid_entry *b;
	const struct logrec *probe;

	/* B has a private IPv4 address; C has none. Neither has IPv6. */
	up(1, "198.51.100.1");
	up(1, "10.2.0.1");
	up(2, "203.0.113.1");
	hello_msg(&m, "192.0.2.1", adv, 0);
	inject(1, &m, "192.0.2.1", "198.51.100.1");
	inject(2, &m, "192.0.2.1", "203.0.113.1");

	ck_assert_uint_eq(count(0, 2, IHMP_PATH_PROBE, 0), 0);
	ck_assert_uint_eq(count(0, 1, IHMP_PATH_PROBE, 0), 2);
	for (unsigned int k = 0; k < 2; k++) {
		probe = find(0, 1, IHMP_PATH_PROBE, k);
		ck_assert(dime_addr_eq(&probe->src, AP("10.2.0.1")));
		ck_assert(dime_addr_eq(&probe->m.source, AP("10.2.0.1")));
		ck_assert(dime_addr_eq(&probe->m.host_id, AP("198.51.100.1")));
		ck_assert(probe->m.has & IHMP_HAS_NONCE);
		ck_assert(dime_addr_eq(&probe->dst, AP("10.1.0.1")) ||
			  dime_addr_eq(&probe->dst, AP("172.16.0.1")));
	}
	b = hid_of(1, "192.0.2.1");
	ck_assert_uint_eq(b->unreach.n, 5);

	/* The probe's ACK from the probed address makes the path symmetric. */
	probe = find(0, 1, IHMP_PATH_PROBE, 0);
	ihmp_msg_init(&m, IHMP_ACK, probe->m.seq);
	m.acked_type = IHMP_PATH_PROBE;
	m.host_id = probe->dst;
	m.has = IHMP_HAS_NONCE;
	m.nonce = probe->m.nonce;
	{
		char dst[DIME_ADDR_STRLEN];

		dime_addr_fmt(&probe->dst, dst, sizeof(dst));
		/* from another address: does not prove the path */
		inject(1, &m, "192.0.2.1", "10.2.0.1");
		ck_assert_uint_eq(ihmp_stats(H[1].ih)->drop_unmatched_ack, 1);
		inject(1, &m, dst, "10.2.0.1");
		ck_assert(dime_addr_set_has(&b->active, &probe->dst));
		ck_assert(has(&b->local, "10.2.0.1"));
		/* a second ACK for a completed request: late, not unmatched */
		inject(1, &m, dst, "10.2.0.1");
		ck_assert_uint_eq(ihmp_stats(H[1].ih)->drop_unmatched_ack, 1);
		ck_assert_uint_eq(ihmp_stats(H[1].ih)->drop_late_ack, 1);
	}
	ck_assert_uint_eq(count(0, 1, IHMP_ACK, IHMP_PATH_PROBE), 0);	/* ACKs never ACKed */
}
END_TEST

/* B answers a PATH_PROBE: source to active, destination to local, nonce echoed. */
START_TEST(test_probe_receiver)
{
	struct ihmp_msg m;
	struct dime_hid_entry *b;
	const struct logrec *ack;

	pair_v4();
	up(1, "203.0.113.7");
	ihmp_msg_init(&m, IHMP_PATH_PROBE, 99);
	m.host_id = A("192.0.2.1");
	m.source = A("192.0.2.55");
	m.has = IHMP_HAS_NONCE;
	m.nonce = 0x1122334455667788ull;
	nlog = 0;
	inject(1, &m, "192.0.2.55", "203.0.113.7");
	b = hid_of(1, "192.0.2.1");
	ck_assert(has(&b->active, "192.0.2.55"));
	ck_assert(has(&b->local, "203.0.113.7"));
	ack = find(0, 1, IHMP_ACK, 0);
	ck_assert_ptr_nonnull(ack);
	ck_assert_uint_eq(ack->m.seq, 99);
	ck_assert_uint_eq(ack->m.nonce, 0x1122334455667788ull);
	ck_assert(dime_addr_eq(&ack->src, AP("203.0.113.7")));
	ck_assert(dime_addr_eq(&ack->dst, AP("192.0.2.55")));
	ck_assert(dime_addr_eq(&ack->m.host_id, AP("203.0.113.7")));
	ck_assert(!(ack->m.flags & IHMP_F_ND));
}
END_TEST

/* ---- address events ----------------------------------------------------- */

START_TEST(test_addr_up_reachable)
{
	struct dime_hid_entry *a, *b;
	const struct logrec *r;
	unsigned int mark;

	pair_v4();
	mark = nlog;
	up(0, "203.0.113.1");
	ck_assert_uint_eq(count(mark, 0, IHMP_ADDR_UP, 0), 1);
	r = find(mark, 0, IHMP_ADDR_UP, 0);
	ck_assert(dime_addr_eq(&r->src, AP("203.0.113.1")));
	ck_assert(dime_addr_eq(&r->dst, AP("198.51.100.1")));
	ck_assert(dime_addr_eq(&r->m.new_addr, AP("203.0.113.1")));
	ck_assert(dime_addr_eq(&r->m.host_id, AP("192.0.2.1")));
	run_until(now + 100);
	a = hid_of(0, "198.51.100.1");
	b = hid_of(1, "192.0.2.1");
	ck_assert(has(&b->active, "203.0.113.1"));
	ck_assert(has(&a->local, "203.0.113.1"));
	ck_assert(set_eq(&a->local, &b->active));
	ck_assert(set_eq(&b->local, &a->active));
	/* B's ADDR_UP the other way. */
	mark = nlog;
	up(1, "198.51.100.2");
	run_until(now + 100);
	ck_assert_uint_eq(count(mark, 1, IHMP_ADDR_UP, 0), 1);
	ck_assert(has(&a->active, "198.51.100.2"));
	ck_assert(set_eq(&b->local, &a->active));
}
END_TEST

START_TEST(test_addr_up_unreachable)
{
	struct dime_hid_entry *a, *b;
	const struct logrec *r;
	unsigned int mark;

	pair_v4();
	mark = nlog;
	/* B has no IPv6 address A knows of: known unreachable. */
	up(0, "2001:db8:a::1");
	ck_assert_uint_eq(count(mark, 0, IHMP_ADDR_UP, 0), 0);
	ck_assert_uint_eq(count(mark, 0, IHMP_ADDR_UP_UNREACHABLE, 0), 1);
	r = find(mark, 0, IHMP_ADDR_UP_UNREACHABLE, 0);
	ck_assert(dime_addr_eq(&r->src, AP("192.0.2.1")));
	ck_assert(dime_addr_eq(&r->dst, AP("198.51.100.1")));
	ck_assert(dime_addr_eq(&r->m.new_addr, AP("2001:db8:a::1")));
	run_until(now + 100);
	a = hid_of(0, "198.51.100.1");
	b = hid_of(1, "192.0.2.1");
	ck_assert(has(&b->unreach, "2001:db8:a::1"));
	ck_assert(!has(&a->local, "2001:db8:a::1"));
	ck_assert_uint_eq(ihmp_next_deadline(H[0].ih), UINT64_MAX);
}
END_TEST

static bool drop_from_203(const struct pkt *p)
{
	return dime_addr_eq(&p->src, AP("203.0.113.1"));
}

START_TEST(test_addr_up_probe_fallback)
{
	struct dime_hid_entry *b;
	uint64_t t0;
	unsigned int mark;

	pair_v4();
	drop_fn = drop_from_203;
	mark = nlog;
	t0 = now;
	up(0, "203.0.113.1");
	run_until(t0 + 6999);
	ck_assert_uint_eq(count(mark, 0, IHMP_ADDR_UP, 0), 3);
	ck_assert_uint_eq(find(mark, 0, IHMP_ADDR_UP, 0)->at, t0);
	ck_assert_uint_eq(find(mark, 0, IHMP_ADDR_UP, 1)->at, t0 + 1000);
	ck_assert_uint_eq(find(mark, 0, IHMP_ADDR_UP, 2)->at, t0 + 3000);
	ck_assert_uint_eq(count(mark, 0, IHMP_ADDR_UP_UNREACHABLE, 0), 0);
	run_until(t0 + 7000);
	ck_assert_uint_eq(count(mark, 0, IHMP_ADDR_UP_UNREACHABLE, 0), 1);
	ck_assert_uint_eq(find(mark, 0, IHMP_ADDR_UP_UNREACHABLE, 0)->at, t0 + 7000);
	ck_assert(dime_addr_eq(&find(mark, 0, IHMP_ADDR_UP_UNREACHABLE, 0)->src, AP("192.0.2.1")));
	ck_assert_uint_ne(find(mark, 0, IHMP_ADDR_UP_UNREACHABLE, 0)->m.seq,
			  find(mark, 0, IHMP_ADDR_UP, 0)->m.seq);
	run_until(t0 + 60000);
	b = hid_of(1, "192.0.2.1");
	ck_assert(has(&b->unreach, "203.0.113.1"));
	ck_assert_uint_eq(count(mark, 0, IHMP_ADDR_UP, 0), 3);	/* the bound held */
	ck_assert_uint_eq(ihmp_stats(H[0].ih)->retransmissions, 2);
	ck_assert_uint_eq(ihmp_stats(H[0].ih)->failed, 1);
}
END_TEST

START_TEST(test_addr_down)
{
	struct dime_hid_entry *a, *b;
	const struct logrec *r;
	unsigned int mark;

	pair_v4();
	up(0, "203.0.113.1");		/* reachable: joins B's active */
	up(0, "2001:db8:a::1");		/* unreachable for B */
	run_until(now + 10000);		/* beyond the pairing window */
	a = hid_of(0, "198.51.100.1");
	b = hid_of(1, "192.0.2.1");
	ck_assert(has(&b->active, "203.0.113.1") && has(&b->unreach, "2001:db8:a::1"));

	mark = nlog;
	down(0, "203.0.113.1");
	ck_assert_uint_eq(count(mark, 0, IHMP_ADDR_DOWN, 0), 1);
	r = find(mark, 0, IHMP_ADDR_DOWN, 0);
	ck_assert(dime_addr_eq(&r->m.old_addr, AP("203.0.113.1")));
	ck_assert(dime_addr_eq(&r->m.host_id, AP("192.0.2.1")));
	ck_assert(dime_addr_eq(&r->src, AP("192.0.2.1")));
	ck_assert(!has(&a->local, "203.0.113.1"));
	run_until(now + 100);
	ck_assert(!has(&b->active, "203.0.113.1"));
	ck_assert_uint_eq(count(mark, 1, IHMP_ACK, IHMP_ADDR_DOWN), 1);

	run_until(now + 10000);
	mark = nlog;
	down(0, "2001:db8:a::1");
	ck_assert_uint_eq(count(mark, 0, IHMP_ADDR_DOWN_UNREACHABLE, 0), 1);
	ck_assert_uint_eq(count(mark, 0, IHMP_ADDR_DOWN, 0), 0);
	run_until(now + 100);
	ck_assert(!has(&b->unreach, "2001:db8:a::1"));
	ck_assert(set_eq(&a->local, &b->active));
	ck_assert_uint_eq(ihmp_next_deadline(H[0].ih), UINT64_MAX);
}
END_TEST

START_TEST(test_handoff_ou)
{
	struct dime_hid_entry *a, *b;
	const struct logrec *r;
	struct ihmp_peer_info pi;
	unsigned int mark;

	pair_v4();
	up(0, "2001:db8:a::1");		/* unreachable for B */
	run_until(now + 10000);
	a = hid_of(0, "198.51.100.1");
	b = hid_of(1, "192.0.2.1");

	/* The only reachable address is replaced: HANDOFF, OU clear. */
	mark = nlog;
	down(0, "192.0.2.1");
	ck_assert_int_eq(ihmp_peer_info(H[0].ih, a->hid, &pi), 0);
	ck_assert(pi.hold);
	ck_assert_uint_eq(nlog, mark);	/* nothing can go out */
	up(0, "192.0.2.77");
	ck_assert_uint_eq(count(mark, 0, IHMP_HANDOFF, 0), 1);
	r = find(mark, 0, IHMP_HANDOFF, 0);
	ck_assert(!(r->m.flags & IHMP_F_OU));
	ck_assert(dime_addr_eq(&r->src, AP("192.0.2.77")));
	ck_assert(dime_addr_eq(&r->m.new_addr, AP("192.0.2.77")));
	ck_assert(dime_addr_eq(&r->m.old_addr, AP("192.0.2.1")));
	run_until(now + 100);
	ck_assert(!has(&b->active, "192.0.2.1"));
	ck_assert(has(&b->active, "192.0.2.77"));
	ck_assert(dime_addr_eq(&b->rloc[DIME_AF4], AP("192.0.2.77")));
	ck_assert(dime_addr_eq(&a->lloc[DIME_AF4], AP("192.0.2.77")));
	ck_assert(set_eq(&a->local, &b->active));
	ck_assert_int_eq(ihmp_peer_info(H[0].ih, a->hid, &pi), 0);
	ck_assert(!pi.hold);

	/* The unreachable address is replaced: OU set, and since B has no
	 * IPv6 address, HANDOFF_UNREACHABLE over the working path. */
	run_until(now + 10000);
	mark = nlog;
	down(0, "2001:db8:a::1");
	up(0, "2001:db8:a::2");
	ck_assert_uint_eq(count(mark, 0, IHMP_HANDOFF_UNREACHABLE, 0), 1);
	r = find(mark, 0, IHMP_HANDOFF_UNREACHABLE, 0);
	ck_assert(r->m.flags & IHMP_F_OU);
	ck_assert(dime_addr_eq(&r->src, AP("192.0.2.77")));
	run_until(now + 100);
	ck_assert(!has(&b->unreach, "2001:db8:a::1"));
	ck_assert(has(&b->unreach, "2001:db8:a::2"));
	ck_assert_uint_eq(ihmp_next_deadline(H[0].ih), UINT64_MAX);
	ck_assert_uint_eq(ihmp_stats(H[0].ih)->handoffs, 2);
}
END_TEST

/* Up first, down second, within the window: one HANDOFF, no ADDR_DOWN. */
START_TEST(test_handoff_up_then_down)
{
	struct dime_hid_entry *b;
	unsigned int mark;

	pair_v4();
	run_until(now + 10000);
	drop_fn = drop_from_203;	/* the ADDR_UP stays outstanding */
	mark = nlog;
	up(0, "203.0.113.1");
	down(0, "192.0.2.1");
	drop_fn = NULL;
	ck_assert_uint_eq(count(mark, 0, IHMP_HANDOFF, 0), 1);
	ck_assert_uint_eq(count(mark, 0, IHMP_ADDR_DOWN, 0), 0);
	run_until(now + 20000);
	b = hid_of(1, "203.0.113.1");
	ck_assert(has(&b->active, "203.0.113.1") && b->active.n == 1);
	ck_assert_uint_eq(count(mark, 0, IHMP_ADDR_UP, 0), 1);	/* superseded, not retried */
}
END_TEST

/* ---- retransmission, legacy peers --------------------------------------- */

static bool drop_all(const struct pkt *p)
{
	(void)p;
	return true;
}

START_TEST(test_legacy_peer)
{
	uint64_t t0 = now;
	struct ihmp_peer_info pi;
	uint32_t hid;

	drop_fn = drop_all;
	up(0, "192.0.2.1");
	hid = flow(0, "192.0.2.1", "198.51.100.1");
	run_until(t0 + 6999);
	ck_assert_uint_eq(count(0, 0, IHMP_HELLO, 0), 3);
	ck_assert_uint_eq(LOG[0].at, t0);
	ck_assert_uint_eq(LOG[1].at, t0 + 1000);
	ck_assert_uint_eq(LOG[2].at, t0 + 3000);
	ck_assert_int_eq(memcmp(&LOG[0].m.nonce, &LOG[2].m.nonce, 8), 0);	/* same bytes */
	ck_assert_uint_eq(LOG[0].m.seq, LOG[2].m.seq);
	run_until(t0 + 7000);
	ck_assert_int_eq(ihmp_peer_info(H[0].ih, hid, &pi), 0);
	ck_assert(pi.legacy);
	ck_assert_uint_eq(ihmp_stats(H[0].ih)->legacy_peers, 1);
	/* Nothing more for it, whatever happens. */
	up(0, "203.0.113.1");
	down(0, "203.0.113.1");
	down(0, "192.0.2.1");
	run_until(t0 + 1000000);
	ck_assert_uint_eq(nlog, 3);
	ck_assert_uint_eq(ihmp_next_deadline(H[0].ih), UINT64_MAX);
}
END_TEST

static bool drop_to_b(const struct pkt *p)
{
	return owner(&p->dst) == 1;
}

START_TEST(test_handoff_retransmission_bound)
{
	struct ihmp_config c = test_cfg();
	uint64_t t0;
	const uint64_t at[6] = { 0, 1000, 3000, 7000, 15000, 31000 };
	unsigned int mark;

	c.hold_ms = 1000000;
	host_reconfig(0, &c);
	pair_v4();
	down(0, "192.0.2.1");
	drop_fn = drop_to_b;
	mark = nlog;
	t0 = now;
	up(0, "192.0.2.77");
	run_until(t0 + 200000);
	ck_assert_uint_eq(count(mark, 0, IHMP_HANDOFF, 0), 6);
	for (unsigned int k = 0; k < 6; k++)
		ck_assert_uint_eq(find(mark, 0, IHMP_HANDOFF, k)->at, t0 + at[k]);
	/* No working path is left for HANDOFF_UNREACHABLE. */
	ck_assert_uint_eq(nlog - mark, 6);
	ck_assert_uint_eq(ihmp_stats(H[0].ih)->failed, 1);
}
END_TEST

/* ---- hold time ---------------------------------------------------------- */

static bool drop_a_to_b2(const struct pkt *p)
{
	return dime_addr_eq(&p->dst, AP("198.51.100.2"));
}

START_TEST(test_hold_reattach)
{
	struct dime_hid_entry *a;
	struct ihmp_peer_info pi;
	unsigned int mark;

	/* B's second address stays unreachable for A (its probe is lost). */
	up(0, "192.0.2.1");
	up(1, "198.51.100.1");
	up(1, "198.51.100.2");
	drop_fn = drop_a_to_b2;
	flow(0, "192.0.2.1", "198.51.100.1");
	run_until(now + 100000);
	a = hid_of(0, "198.51.100.1");
	ck_assert(has(&a->active, "198.51.100.1") && has(&a->unreach, "198.51.100.2"));

	mark = nlog;
	down(0, "192.0.2.1");
	ck_assert_int_eq(ihmp_peer_info(H[0].ih, a->hid, &pi), 0);
	ck_assert(pi.hold);
	ck_assert_uint_eq(pi.hold_until, now + 30000);
	run_until(now + 20000);		/* well past the pairing window */
	ck_assert_uint_eq(nlog, mark);
	up(0, "192.0.2.9");
	/* at once, to every known address, active and unreachable */
	ck_assert_uint_eq(count(mark, 0, IHMP_HANDOFF, 0), 2);
	ck_assert_uint_eq(find(mark, 0, IHMP_HANDOFF, 0)->at, now);
	ck_assert_uint_eq(find(mark, 0, IHMP_HANDOFF, 1)->at, now);
	ck_assert(dime_addr_eq(&find(mark, 0, IHMP_HANDOFF, 0)->dst, AP("198.51.100.1")));
	ck_assert(dime_addr_eq(&find(mark, 0, IHMP_HANDOFF, 1)->dst, AP("198.51.100.2")));
	ck_assert_uint_eq(find(mark, 0, IHMP_HANDOFF, 0)->m.seq, find(mark, 0, IHMP_HANDOFF, 1)->m.seq);
	run_until(now + 100000);
	ck_assert_int_eq(ihmp_peer_info(H[0].ih, a->hid, &pi), 0);
	ck_assert(!pi.hold);
	ck_assert(has(&a->local, "192.0.2.9"));
	ck_assert_ptr_nonnull(hid_of(1, "192.0.2.9"));
	ck_assert(has(&hid_of(1, "192.0.2.9")->active, "192.0.2.9"));
	ck_assert_uint_eq(H[0].lost, 0);
	ck_assert_uint_eq(count(mark, 0, IHMP_HANDOFF, 0), 2);	/* the ACK stopped it */
}
END_TEST

START_TEST(test_hold_expiry)
{
	struct dime_hid_entry *a;
	struct ihmp_peer_info pi;
	uint64_t t0;
	unsigned int mark;

	pair_v4();
	a = hid_of(0, "198.51.100.1");
	mark = nlog;
	t0 = now;
	down(0, "192.0.2.1");
	ck_assert_uint_eq(ihmp_next_deadline(H[0].ih), t0 + 30000);
	run_until(t0 + 29999);
	ck_assert_uint_eq(H[0].lost, 0);
	run_until(t0 + 30000);
	ck_assert_uint_eq(H[0].lost, 1);
	ck_assert_uint_eq(H[0].lost_hid, a->hid);
	ck_assert_int_eq(ihmp_peer_info(H[0].ih, a->hid, &pi), -ENOENT);
	ck_assert_ptr_null(a->ihmp);
	ck_assert_uint_eq(nlog, mark);
	ck_assert_uint_eq(ihmp_stats(H[0].ih)->peers_lost, 1);
	up(0, "192.0.2.9");		/* too late: nothing for that peer */
	run_until(now + 100000);
	ck_assert_uint_eq(nlog, mark);
}
END_TEST

/* ---- both ends at once -------------------------------------------------- */

START_TEST(test_both_move)
{
	struct dime_hid_entry *a, *b;
	unsigned int mark;

	up(0, "192.0.2.1");
	up(0, "192.0.2.3");
	up(1, "198.51.100.1");
	up(1, "198.51.100.3");
	flow(0, "192.0.2.1", "198.51.100.1");
	run_until(now + 100000);
	a = hid_of(0, "198.51.100.1");
	b = hid_of(1, "192.0.2.1");
	ck_assert_uint_eq(a->active.n, 2);
	ck_assert(set_eq(&a->active, &b->local) && set_eq(&b->active, &a->local));

	/* Both lose their first address and gain another before anything
	 * crosses the network. */
	mark = nlog;
	down(0, "192.0.2.1");
	down(1, "198.51.100.1");
	up(0, "192.0.2.2");
	up(1, "198.51.100.2");
	run_until(now + 100000);
	ck_assert(has(&a->active, "198.51.100.2") && has(&a->active, "198.51.100.3"));
	ck_assert(!has(&a->active, "198.51.100.1") && !has(&a->unreach, "198.51.100.1"));
	ck_assert(has(&b->active, "192.0.2.2") && has(&b->active, "192.0.2.3"));
	ck_assert(!has(&b->active, "192.0.2.1"));
	ck_assert(set_eq(&a->active, &b->local));
	ck_assert(set_eq(&b->active, &a->local));
	ck_assert(has(&a->local, "192.0.2.2") && has(&b->local, "198.51.100.2"));
	ck_assert_uint_ge(count(mark, 0, IHMP_HANDOFF, 0), 1);
	ck_assert_uint_ge(count(mark, 1, IHMP_HANDOFF, 0), 1);
	ck_assert_uint_eq(ihmp_next_deadline(H[0].ih), UINT64_MAX);
	ck_assert_uint_eq(ihmp_next_deadline(H[1].ih), UINT64_MAX);
}
END_TEST

/* ---- scale: flows are not IHMP's business ------------------------------- */

START_TEST(test_thousand_flows_one_handoff)
{
	struct dime_hid_entry *a;
	unsigned int mark;
	pair_v4();
	a = hid_of(0, "198.51.100.1");
	for (unsigned int i = 0; i < 1000; i++) {
		ck_assert_int_eq(dime_hid_bind(H[0].t, a->hid, AP("198.51.100.1"), AP("192.0.2.1"),
					       now), 0);
	}
	ck_assert_uint_eq(a->refs, 1000);
	run_until(now + 10000);
	mark = nlog;
	down(0, "192.0.2.1");
	up(0, "192.0.2.2");
	run_until(now + 100000);
	/* One HANDOFF and its ACK; B validates the new address (docs/security.md
	 * 3.6): one PATH_PROBE and its ACK. */
	ck_assert_uint_eq(nlog - mark, 4);
	ck_assert_uint_eq(count(mark, 0, IHMP_HANDOFF, 0), 1);
	ck_assert_uint_eq(count(mark, 1, IHMP_ACK, IHMP_HANDOFF), 1);
	ck_assert_uint_eq(count(mark, 1, IHMP_PATH_PROBE, 0), 1);
	ck_assert_uint_eq(count(mark, 0, IHMP_ACK, IHMP_PATH_PROBE), 1);
	ck_assert(!hid_of(1, "192.0.2.2")->rloc_unvalidated[DIME_AF4]);
	ck_assert(dime_addr_eq(&hid_of(1, "192.0.2.2")->rloc[DIME_AF4], AP("192.0.2.2")));
}
END_TEST

/* ---- NATs --------------------------------------------------------------- */

START_TEST(test_nat_detected)
{
	struct ihmp_msg m;
	struct dime_hid_entry *b;
	const struct logrec *ack;
	struct ihmp_peer_info pi;

	pair_v4();
	up(1, "198.51.100.9");
	b = hid_of(1, "192.0.2.1");

	/* A PATH_PROBE whose SOURCE is not the packet source. */
	ihmp_msg_init(&m, IHMP_PATH_PROBE, 5);
	m.host_id = A("192.0.2.1");
	m.source = A("10.0.0.5");
	m.has = IHMP_HAS_NONCE;
	m.nonce = 77;
	nlog = 0;
	inject(1, &m, "203.0.113.200", "198.51.100.9");
	ack = find(0, 1, IHMP_ACK, 0);
	ck_assert_ptr_nonnull(ack);
	ck_assert(ack->m.flags & IHMP_F_ND);
	ck_assert(dime_addr_eq(&ack->m.observed, AP("203.0.113.200")));
	ck_assert_uint_eq(ack->m.observed_port, IHMP_PORT_DEFAULT);
	ck_assert(dime_addr_eq(&ack->dst, AP("203.0.113.200")));
	ck_assert(has(&b->unreach, "10.0.0.5"));
	ck_assert(!has(&b->active, "203.0.113.200"));
	ck_assert(!has(&b->local, "198.51.100.9"));
	ck_assert_int_eq(ihmp_peer_info(H[1].ih, b->hid, &pi), 0);
	ck_assert_uint_eq(pi.nat_n, 1);
	ck_assert(dime_addr_eq(&pi.nat_addr[0], AP("203.0.113.200")));
	ck_assert(dime_addr_eq(&pi.nat_host[0], AP("10.0.0.5")));

	/* An ADDR_UP whose NEW is not the packet source. */
	ihmp_msg_init(&m, IHMP_ADDR_UP, 6);
	m.host_id = A("192.0.2.1");
	m.new_addr = A("10.0.0.6");
	inject(1, &m, "203.0.113.201", "198.51.100.1");
	ack = find(0, 1, IHMP_ACK, 1);
	ck_assert(ack->m.flags & IHMP_F_ND);
	ck_assert(has(&b->unreach, "10.0.0.6"));
	ck_assert_uint_eq(ihmp_stats(H[1].ih)->nat_detected, 2);
}
END_TEST

/* A's ADDR_UP goes out through a NAT: A, seeing ND, keeps its address out
 * of the local set. */
static void nat_from_10(struct pkt *p)
{
	if (dime_addr_eq(&p->src, AP("10.0.0.5"))) {
		p->src = A("203.0.113.99");
		p->sport = 40001;
	}
}

static bool to_nat(const struct pkt *p)
{
	(void)p;
	return false;
}

START_TEST(test_nat_requester)
{
	struct dime_hid_entry *a, *b;
	unsigned int mark;

	pair_v4();
	nat_fn = nat_from_10;
	drop_fn = to_nat;
	mark = nlog;
	up(0, "10.0.0.5");
	ck_assert_uint_eq(count(mark, 0, IHMP_ADDR_UP, 0), 1);
	/* The ACK goes to the NAT's address and port; deliver it by hand. */
	deliver();
	ck_assert_uint_eq(count(mark, 1, IHMP_ACK, IHMP_ADDR_UP), 1);
	{
		const struct logrec *ack = find(mark, 1, IHMP_ACK, 0);

		ck_assert(dime_addr_eq(&ack->dst, AP("203.0.113.99")));
		ck_assert_uint_eq(ack->dport, 40001);
		ck_assert(ack->m.flags & IHMP_F_ND);
		nat_fn = NULL;
		qhead = qtail;
		{
			uint8_t buf[IHMP_MSG_MAX];
			int len = ihmp_encode(&ack->m, buf, sizeof(buf));

			ck_assert_int_eq(ihmp_input(H[0].ih, buf, (size_t)len, AP("198.51.100.1"),
						    IHMP_PORT_DEFAULT, AP("10.0.0.5"), now, ACTS), 0);
			collect(0);
		}
	}
	a = hid_of(0, "198.51.100.1");
	b = hid_of(1, "192.0.2.1");
	ck_assert(!has(&a->local, "10.0.0.5"));
	ck_assert(has(&b->unreach, "10.0.0.5"));
	ck_assert_uint_eq(ihmp_next_deadline(H[0].ih), UINT64_MAX);
}
END_TEST

START_TEST(test_nat_forced_hello)
{
	static const char *const adv[] = { "10.0.0.5", "2001:db8:a::1", NULL };
	struct ihmp_msg m;
	struct dime_hid_entry *b;
	struct ihmp_peer_info pi;
	const struct ihmp_stats *st = ihmp_stats(H[1].ih);
	unsigned int mark;

	up(1, "198.51.100.1");
	up(1, "2001:db8:b::1");
	/* NF set by the sender. */
	hello_msg(&m, "10.0.0.5", adv, IHMP_F_NF);
	inject(1, &m, "10.0.0.5", "198.51.100.1");
	b = hid_of(1, "10.0.0.5");
	ck_assert(b->active.n == 1 && has(&b->active, "10.0.0.5"));
	ck_assert_uint_eq(b->unreach.n, 0);
	ck_assert_int_eq(ihmp_peer_info(H[1].ih, b->hid, &pi), 0);
	ck_assert(pi.nat_forced);
	ck_assert_uint_eq(nlog, 1);
	ck_assert_int_eq(LOG[0].m.type, IHMP_ACK);
	ck_assert(LOG[0].m.flags & IHMP_F_NF);
	ck_assert(!(LOG[0].m.flags & IHMP_F_ND));

	/* Detected: the packet source is not advertised. */
	hello_msg(&m, "10.0.0.6", adv + 1, 0);
	m.host_id = A("2001:db8:a::1");
	inject(1, &m, "2001:db8:ffff::1", "2001:db8:b::1");
	b = hid_of(1, "2001:db8:ffff::1");
	ck_assert(b->active.n == 1 && b->unreach.n == 0);
	ck_assert_uint_eq(nlog, 2);
	ck_assert(LOG[1].m.flags & IHMP_F_NF);
	ck_assert(LOG[1].m.flags & IHMP_F_ND);
	ck_assert(dime_addr_eq(&LOG[1].m.observed, AP("2001:db8:ffff::1")));

	/* No further signalling, either way. */
	mark = nlog;
	ihmp_msg_init(&m, IHMP_ADDR_UP, 8);
	m.host_id = A("10.0.0.5");
	m.new_addr = A("10.0.0.7");
	inject(1, &m, "10.0.0.7", "198.51.100.1");
	ck_assert_uint_eq(st->drop_nat_forced, 1);
	up(1, "198.51.100.2");
	down(1, "198.51.100.2");
	run_until(now + 100000);
	ck_assert_uint_eq(nlog, mark);
}
END_TEST

/* The sender's side of NF: A behind a NAT gets an ACK with NF and stops. */
static void nat_a(struct pkt *p)
{
	if (dime_addr_eq(&p->src, AP("10.0.0.5")))
		p->src = A("203.0.113.99");
	if (dime_addr_eq(&p->dst, AP("203.0.113.99")))
		p->dst = A("10.0.0.5");
}

START_TEST(test_nat_forced_sender)
{
	struct dime_hid_entry *a;
	struct ihmp_peer_info pi;
	unsigned int mark;

	up(0, "10.0.0.5");
	up(0, "2001:db8:a::1");
	up(1, "198.51.100.1");
	nat_fn = nat_a;
	flow(0, "10.0.0.5", "198.51.100.1");
	run_until(now + 100);
	a = hid_of(0, "198.51.100.1");
	ck_assert_int_eq(ihmp_peer_info(H[0].ih, a->hid, &pi), 0);
	ck_assert(pi.nat_forced && pi.established);
	mark = nlog;
	up(0, "192.0.2.1");
	down(0, "2001:db8:a::1");
	run_until(now + 100000);
	ck_assert_uint_eq(nlog, mark);
}
END_TEST

/* ---- unexpected and malformed ------------------------------------------- */

START_TEST(test_malformed_dropped)
{
	const struct ihmp_stats *st = ihmp_stats(H[1].ih);
	uint8_t buf[IHMP_MSG_MAX + 8];
	struct ihmp_msg m;
	uint32_t seed = 1;
	int len;

	up(1, "198.51.100.1");
	/* Empty, wrong version, truncated, trailing bytes, unknown type. */
	ck_assert_int_eq(ihmp_input(H[1].ih, buf, 0, AP("192.0.2.1"), 5150, AP("198.51.100.1"), now,
				    ACTS), 0);
	ck_assert_uint_eq(st->drop_length, 1);
	ihmp_msg_init(&m, IHMP_HELLO, 1);
	m.host_id = A("192.0.2.1");
	ihmp_adv_add(&m, AP("192.0.2.1"));
	len = ihmp_encode(&m, buf, sizeof(buf));
	buf[0] = 2;
	ihmp_input(H[1].ih, buf, (size_t)len, AP("192.0.2.1"), 5150, AP("198.51.100.1"), now, ACTS);
	ck_assert_uint_eq(st->drop_version, 1);
	buf[0] = 1;
	ihmp_input(H[1].ih, buf, (size_t)len - 1, AP("192.0.2.1"), 5150, AP("198.51.100.1"), now, ACTS);
	ihmp_input(H[1].ih, buf, (size_t)len + 1, AP("192.0.2.1"), 5150, AP("198.51.100.1"), now, ACTS);
	ck_assert_uint_eq(st->drop_length, 3);
	buf[1] = 42;
	ihmp_input(H[1].ih, buf, (size_t)len, AP("192.0.2.1"), 5150, AP("198.51.100.1"), now, ACTS);
	ck_assert_uint_eq(st->drop_unknown_type, 1);
	/* Random damage: whatever it decodes to, nothing goes out unless it
	 * is a valid HELLO (which creates a peer: answered by design). */
	for (int k = 0; k < 2000; k++) {
		struct ihmp_msg d;

		len = ihmp_encode(&m, buf, sizeof(buf));
		scribble(buf, (size_t)len, 1 + k % 4, &seed);
		ACTS->n = 0;
		ihmp_input(H[1].ih, buf, (size_t)len, AP("192.0.2.1"), 5150, AP("198.51.100.1"), now,
			   ACTS);
		if (ihmp_decode(buf, (size_t)len, &d) != 0)
			HOT_ASSERT(ACTS->n == 0);
	}
	ACTS->n = 0;
	/* A source of no usable family, or port 0. */
	len = ihmp_encode(&m, buf, sizeof(buf));
	{
		struct dime_addr none = { 0 };

		ihmp_input(H[1].ih, buf, (size_t)len, &none, 5150, AP("198.51.100.1"), now, ACTS);
		ihmp_input(H[1].ih, buf, (size_t)len, AP("192.0.2.1"), 0, AP("198.51.100.1"), now, ACTS);
	}
	ck_assert_uint_eq(st->drop_bad_addr, 2);
	ck_assert_uint_eq(ACTS->n, 0);
	ck_assert_int_eq(ihmp_input(H[1].ih, buf, (size_t)len, NULL, 5150, AP("198.51.100.1"), now,
				    ACTS), -EINVAL);
}
END_TEST

START_TEST(test_unexpected_dropped)
{
	const struct ihmp_stats *st = ihmp_stats(H[1].ih);
	struct ihmp_msg m;
	const struct logrec *hello;
	unsigned int mark;

	pair_v4();
	mark = nlog;
	/* Unknown host: HOST_ID active for no HID. */
	ihmp_msg_init(&m, IHMP_ADDR_UP, 1);
	m.host_id = A("203.0.113.50");
	m.new_addr = A("203.0.113.51");
	inject(1, &m, "203.0.113.51", "198.51.100.1");
	ck_assert_uint_eq(st->drop_unknown_host, 1);
	/* ... nor does an address in the unreachable set name a host. */
	ihmp_msg_init(&m, IHMP_ADDR_DOWN, 2);
	m.host_id = A("198.51.100.77");
	m.old_addr = A("192.0.2.250");	/* (an OLD the host has would name it) */
	inject(1, &m, "192.0.2.1", "198.51.100.1");
	ck_assert_uint_eq(st->drop_unknown_host, 2);
	/* ACKs that match nothing: wrong seq, wrong nonce, wrong type. */
	hello = find(0, 0, IHMP_HELLO, 0);
	ihmp_msg_init(&m, IHMP_ACK, hello->m.seq);
	m.acked_type = IHMP_HELLO;
	m.host_id = A("198.51.100.1");
	ihmp_adv_add(&m, AP("198.51.100.1"));
	m.has = IHMP_HAS_NONCE;
	m.nonce = hello->m.nonce;
	inject(0, &m, "198.51.100.1", "192.0.2.1");	/* completed already */
	m.nonce ^= 1;
	inject(0, &m, "198.51.100.1", "192.0.2.1");
	ihmp_msg_init(&m, IHMP_ACK, hello->m.seq);
	m.acked_type = IHMP_ADDR_DOWN;
	m.host_id = A("198.51.100.1");
	inject(0, &m, "198.51.100.1", "192.0.2.1");
	/* The first of the three is late (its request completed), the other
	 * two match nothing we sent: wrong nonce, wrong type. */
	ck_assert_uint_eq(ihmp_stats(H[0].ih)->drop_unmatched_ack, 2);
	ck_assert_uint_eq(ihmp_stats(H[0].ih)->drop_late_ack, 1);
	/* NAT_ENTRY for a host nobody here knows. */
	ihmp_msg_init(&m, IHMP_NAT_ENTRY, 3);
	m.host_id = A("203.0.113.1");
	m.nat.proto = 6;
	m.nat.nat_port = 40001;
	m.nat.host_port = 80;
	m.nat.nat_addr = A("203.0.113.1");
	m.nat.host_addr = A("192.0.2.99");
	inject(1, &m, "203.0.113.1", "198.51.100.1");
	ck_assert_uint_eq(st->drop_unknown_host, 3);
	ck_assert_uint_eq(nlog, mark);		/* none answered */
}
END_TEST

/* docs/ihmp.md 11: an IHMP-aware NAT tells B about a mapping for A; B
 * keeps it with A's host entry and acknowledges to the NAT. */
START_TEST(test_nat_entry_stored_and_acked)
{
	struct ihmp_msg m;
	struct ihmp_peer_info pi;
	struct dime_hid_entry *b;
	const struct logrec *r;
	unsigned int mark;

	pair_v4();
	b = hid_of(1, "192.0.2.1");
	mark = nlog;
	ihmp_msg_init(&m, IHMP_NAT_ENTRY, 77);
	m.host_id = A("203.0.113.1");
	m.nat.proto = 6;
	m.nat.nat_port = 40001;
	m.nat.host_port = 80;
	m.nat.nat_addr = A("203.0.113.1");
	m.nat.host_addr = A("192.0.2.1");
	up(2, "203.0.113.1");		/* the NAT, so its ACK can be seen */
	inject(1, &m, "203.0.113.1", "198.51.100.1");
	ck_assert_int_eq(ihmp_peer_info(H[1].ih, b->hid, &pi), 0);
	ck_assert_uint_eq(pi.map_n, 1);
	ck_assert_uint_eq(pi.map[0].nat_port, 40001);
	ck_assert(dime_addr_eq(&pi.map[0].nat_addr, AP("203.0.113.1")));
	ck_assert_uint_eq(ihmp_stats(H[1].ih)->nat_entries, 1);
	ck_assert_uint_eq(count(mark, 1, IHMP_ACK, IHMP_NAT_ENTRY), 1);
	r = find(mark, 1, IHMP_ACK, 0);
	ck_assert(dime_addr_eq(&r->dst, AP("203.0.113.1")));
	ck_assert_uint_eq(r->m.seq, 77);
	/* The same mapping again replaces, it does not add. */
	inject(1, &m, "203.0.113.1", "198.51.100.1");
	ck_assert_int_eq(ihmp_peer_info(H[1].ih, b->hid, &pi), 0);
	ck_assert_uint_eq(pi.map_n, 1);
}
END_TEST

/* Requests are idempotent: a retransmission is ACKed again, an absent
 * address is removed without complaint. */
START_TEST(test_idempotent_requests)
{
	struct ihmp_msg m;
	struct dime_hid_entry *b;
	unsigned int mark;

	pair_v4();
	b = hid_of(1, "192.0.2.1");
	mark = nlog;
	ihmp_msg_init(&m, IHMP_ADDR_UP_UNREACHABLE, 10);
	m.host_id = A("192.0.2.1");
	m.new_addr = A("2001:db8:a::5");
	inject(1, &m, "192.0.2.1", "198.51.100.1");
	inject(1, &m, "192.0.2.1", "198.51.100.1");
	ck_assert_uint_eq(count(mark, 1, IHMP_ACK, IHMP_ADDR_UP_UNREACHABLE), 2);
	ck_assert(has(&b->unreach, "2001:db8:a::5") && b->unreach.n == 1);
	ihmp_msg_init(&m, IHMP_ADDR_DOWN_UNREACHABLE, 11);
	m.host_id = A("192.0.2.1");
	m.old_addr = A("2001:db8:a::6");	/* never known */
	inject(1, &m, "192.0.2.1", "198.51.100.1");
	ck_assert_uint_eq(count(mark, 1, IHMP_ACK, IHMP_ADDR_DOWN_UNREACHABLE), 1);
	/* ADDR_DOWN accepts the address in either set. */
	ihmp_msg_init(&m, IHMP_ADDR_DOWN, 12);
	m.host_id = A("192.0.2.1");
	m.old_addr = A("2001:db8:a::5");
	inject(1, &m, "192.0.2.1", "198.51.100.1");
	ck_assert_uint_eq(b->unreach.n, 0);
	/* A HANDOFF retransmitted after it was applied (HOST_ID = OLD, gone). */
	ihmp_msg_init(&m, IHMP_HANDOFF, 13);
	m.host_id = A("192.0.2.1");
	m.new_addr = A("192.0.2.2");
	m.old_addr = A("192.0.2.1");
	inject(1, &m, "192.0.2.2", "198.51.100.1");
	inject(1, &m, "192.0.2.2", "198.51.100.1");
	ck_assert_uint_eq(count(mark, 1, IHMP_ACK, IHMP_HANDOFF), 2);
	ck_assert(b->active.n == 1 && has(&b->active, "192.0.2.2"));
	ck_assert_uint_eq(ihmp_stats(H[1].ih)->drop_unknown_host, 0);
}
END_TEST

/* A peer restarts: its new HELLO replaces what we knew. */
START_TEST(test_hello_resync)
{
	static const char *const adv[] = { "192.0.2.1", "192.0.2.8", NULL };
	struct ihmp_msg m;
	struct dime_hid_entry *b;

	pair_v4();
	up(0, "203.0.113.1");
	run_until(now + 100);
	b = hid_of(1, "192.0.2.1");
	ck_assert_uint_eq(b->active.n, 2);
	hello_msg(&m, "192.0.2.1", adv, 0);
	inject(1, &m, "192.0.2.1", "198.51.100.1");
	ck_assert_ptr_eq(hid_of(1, "192.0.2.1"), b);
	ck_assert(b->active.n == 1 && has(&b->active, "192.0.2.1"));
	ck_assert(b->unreach.n == 1 && has(&b->unreach, "192.0.2.8"));
	ck_assert(b->local.n == 1 && has(&b->local, "198.51.100.1"));
}
END_TEST

START_TEST(test_action_overflow)
{
	/* 40 HELLOs due at once into a list that has room for 34: the rest
	 * stay due and go out from the next timer call at the same instant. */
	unsigned int mark;
	uint64_t t;
	char buf[32];

	up(0, "192.0.2.1");
	drop_fn = drop_all;
	for (int i = 0; i < 40; i++) {
		uint32_t hid;

		snprintf(buf, sizeof(buf), "198.51.100.%d", i + 1);
		ck_assert_int_eq(dime_hid_create(H[0].t, now, &hid), 0);
		ck_assert_int_eq(dime_hid_addr_add(H[0].t, hid, DIME_HID_ACTIVE, AP(buf)), 0);
		ck_assert_int_eq(dime_hid_addr_add(H[0].t, hid, DIME_HID_LOCAL, AP("192.0.2.1")), 0);
		ck_assert_int_eq(ihmp_hid_created(H[0].ih, hid, now, ACTS), 0);
		collect(0);
	}
	t = now + 1000;
	ck_assert_uint_eq(ihmp_next_deadline(H[0].ih), t);
	mark = nlog;
	ACTS->n = 30;		/* the caller's list is partly used */
	ck_assert_int_eq(ihmp_timer(H[0].ih, t, ACTS), 0);
	ck_assert_uint_eq(ACTS->n, IHMP_ACTIONS_MAX);
	ACTS->n = 0;
	ck_assert_uint_eq(ihmp_next_deadline(H[0].ih), t);
	now = t;
	ck_assert_int_eq(ihmp_timer(H[0].ih, t, ACTS), 0);
	ck_assert_uint_eq(ACTS->n, 40 - (IHMP_ACTIONS_MAX - 30));
	collect(0);
	ck_assert_uint_eq(nlog - mark, 40 - (IHMP_ACTIONS_MAX - 30));
	ck_assert_uint_eq(ihmp_stats(H[0].ih)->retransmissions, 40);
	ck_assert_uint_gt(ihmp_next_deadline(H[0].ih), t);
}
END_TEST

/* ---- signatures, replay, rate limits (docs/security.md) ----------------- */

static const struct ihmp_key *key_of(void *ctx, const struct dime_addr *src,
				     const struct dime_addr *host_id)
{
	(void)ctx;
	for (unsigned int i = 0; i < nbinds; i++)
		if (dime_addr_eq(&binds[i].addr, host_id))
			return K[binds[i].host];
	for (unsigned int i = 0; i < nbinds; i++)
		if (dime_addr_eq(&binds[i].addr, src))
			return K[binds[i].host];
	return NULL;
}

/* Every host has addr configured as bound to host's key. */
static void bind_key(const char *addr, int host)
{
	ck_assert_uint_lt(nbinds, sizeof(binds) / sizeof(binds[0]));
	binds[nbinds].addr = A(addr);
	binds[nbinds++].host = host;
}

/* Host i receiving in mode, signing with its key when sign. */
static void secure(int i, enum ihmp_auth_mode mode, bool sign)
{
	struct ihmp_config c = test_cfg();

	c.auth = mode;
	c.local_key = sign ? K[i] : NULL;
	c.peer_key = key_of;
	host_reconfig(i, &c);
}

/* pair_v4 with both ends signing and requiring signatures, each knowing
 * the other's key. */
static void pair_signed(void)
{
	bind_key("192.0.2.1", 0);
	bind_key("198.51.100.1", 1);
	secure(0, IHMP_AUTH_REQUIRED, true);
	secure(1, IHMP_AUTH_REQUIRED, true);
	pair_v4();
}

/* Datagram bytes to host i as if from src:5150 to dst. */
static void inject_raw(int i, const uint8_t *buf, size_t len, const char *src, const char *dst)
{
	ck_assert_int_eq(ihmp_input(H[i].ih, buf, len, AP(src), IHMP_PORT_DEFAULT, AP(dst), now,
				    ACTS), 0);
	collect(i);
}

static size_t sign_msg(struct ihmp_msg *m, const struct ihmp_key *key, uint64_t counter,
		       uint8_t buf[IHMP_MSG_MAX])
{
	int len = ihmp_sign_encode(key, m, counter, buf, IHMP_MSG_MAX);

	ck_assert_int_gt(len, 0);
	return (size_t)len;
}

/* The first datagram (bytes as sent) of a type that host sent from queue
 * position from on. */
static struct pkt *find_pkt(unsigned int from, int host, uint8_t type, uint8_t acked)
{
	struct ihmp_msg m;

	for (unsigned int k = from; k < qtail; k++) {
		if (Q[k].from != host)
			continue;
		ck_assert_int_eq(ihmp_decode(Q[k].buf, Q[k].len, &m), 0);
		if (m.type == type && (!acked || m.acked_type == acked))
			return &Q[k];
	}
	return NULL;
}

static unsigned int sent_by(int host)
{
	unsigned int n = 0;

	for (unsigned int k = 0; k < nlog; k++)
		n += LOG[k].from == host;
	return n;
}

static void assert_no_auth_drops(const struct ihmp_stats *st)
{
	ck_assert_uint_eq(st->drop_unsigned_msg, 0);
	ck_assert_uint_eq(st->drop_wrong_key, 0);
	ck_assert_uint_eq(st->drop_bad_signature, 0);
	ck_assert_uint_eq(st->drop_no_key, 0);
	ck_assert_uint_eq(st->drop_replay, 0);
	ck_assert_uint_eq(st->encode_failed, 0);
}

/* An IHMP-aware NAT on the way sets NS, which the signature leaves out. */
static void set_ns(struct pkt *p)
{
	p->buf[3] |= IHMP_F_NS;
}

/* Both ends with keys: the hand-off works, everything is signed and
 * verified, and the keys stay bound to the peers. */
START_TEST(test_signed_handoff)
{
	const struct ihmp_stats *sa, *sb;
	struct dime_hid_entry *a, *b;
	struct ihmp_peer_info pi;

	pair_signed();
	sa = ihmp_stats(H[0].ih);
	sb = ihmp_stats(H[1].ih);
	a = hid_of(0, "198.51.100.1");
	b = hid_of(1, "192.0.2.1");
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	run_until(now + 10000);
	nat_fn = set_ns;
	handoffs_applied = 0;
	down(0, "192.0.2.1");
	up(0, "192.0.2.77");
	run_until(now + 100);
	/* The daemon's hook saw the HANDOFF once, after it verified. */
	ck_assert_uint_eq(handoffs_applied, 1);
	ck_assert(dime_addr_eq(&b->rloc[DIME_AF4], AP("192.0.2.77")));
	ck_assert(b->active.n == 1 && has(&b->active, "192.0.2.77"));
	ck_assert(dime_addr_eq(&a->lloc[DIME_AF4], AP("192.0.2.77")));
	ck_assert_uint_eq(count(0, 0, IHMP_HANDOFF, 0), 1);
	ck_assert_uint_eq(count(0, 1, IHMP_ACK, IHMP_HANDOFF), 1);
	for (unsigned int k = 0; k < nlog; k++) {
		ck_assert(LOG[k].m.has & IHMP_HAS_SIG);
		ck_assert(LOG[k].m.has & IHMP_HAS_COUNTER);
		if (k)	/* one counter for everything a host signs */
			ck_assert(LOG[k].from != LOG[k - 1].from ||
				  LOG[k].m.counter > LOG[k - 1].m.counter);
	}
	ck_assert_uint_eq(sb->verified, sent_by(0));
	ck_assert_uint_eq(sa->verified, sent_by(1));
	ck_assert_uint_eq(sa->unverified + sb->unverified, 0);
	assert_no_auth_drops(sa);
	assert_no_auth_drops(sb);
	ck_assert_int_eq(ihmp_peer_info(H[0].ih, a->hid, &pi), 0);
	ck_assert(pi.key_bound);
	ck_assert_int_eq(ihmp_peer_info(H[1].ih, b->hid, &pi), 0);
	ck_assert(pi.key_bound);
}
END_TEST

/* Forged or modified requests change nothing and are not answered. */
START_TEST(test_signed_forgeries)
{
	const struct ihmp_stats *sb;
	struct dime_hid_entry *b;
	uint8_t buf[IHMP_MSG_MAX];
	struct ihmp_msg m;
	unsigned int mark, changed;
	size_t len;
	uint8_t *p;

	pair_signed();
	run_until(now + 10000);
	sb = ihmp_stats(H[1].ih);
	b = hid_of(1, "192.0.2.1");
	mark = nlog;
	changed = H[1].changed;
	handoffs_applied = 0;
	/* A HANDOFF to the attacker's address, as host 0 would sign it... */
	ihmp_msg_init(&m, IHMP_HANDOFF, 99);
	m.host_id = A("192.0.2.1");
	m.new_addr = A("203.0.113.66");
	m.old_addr = A("192.0.2.1");
	/* ... modified after signing: NEW is another address. */
	len = sign_msg(&m, K[0], UINT64_MAX / 2, buf);
	p = memmem(buf, len, (const uint8_t[]){ 203, 0, 113, 66 }, 4);
	ck_assert_ptr_nonnull(p);
	p[3] = 67;
	inject_raw(1, buf, len, "203.0.113.67", "198.51.100.1");
	ck_assert_uint_eq(sb->drop_bad_signature, 1);
	/* Signed by a key that is not the peer's. */
	len = sign_msg(&m, K[2], UINT64_MAX / 2, buf);
	inject_raw(1, buf, len, "203.0.113.66", "198.51.100.1");
	ck_assert_uint_eq(sb->drop_wrong_key, 1);
	/* Not signed at all. */
	ihmp_msg_init(&m, IHMP_HANDOFF, 100);
	m.host_id = A("192.0.2.1");
	m.new_addr = A("203.0.113.66");
	m.old_addr = A("192.0.2.1");
	inject(1, &m, "203.0.113.66", "198.51.100.1");
	ck_assert_uint_eq(sb->drop_unsigned_msg, 1);
	/* Signed by the right key, with a counter long below the window: a
	 * message recorded long ago. */
	len = sign_msg(&m, K[0], 5, buf);
	inject_raw(1, buf, len, "203.0.113.66", "198.51.100.1");
	ck_assert_uint_eq(sb->drop_replay, 1);
	/* None of them reached the daemon's hook or counts as applied. */
	ck_assert(!ihmp_input_applied(H[1].ih));
	ck_assert_uint_eq(handoffs_applied, 0);
	ck_assert_uint_eq(sb->verified, sent_by(0));
	ck_assert_uint_eq(nlog, mark);
	ck_assert_uint_eq(H[1].changed, changed);
	ck_assert(b->active.n == 1 && has(&b->active, "192.0.2.1"));
	ck_assert(dime_addr_eq(&b->rloc[DIME_AF4], AP("192.0.2.1")));
	ck_assert_uint_eq(b->unreach.n, 0);
}
END_TEST

static unsigned int tamper_left;

/* An on-path attacker flips a signature bit of the next ACK(s). */
static void tamper_ack(struct pkt *p)
{
	if (tamper_left && p->buf[1] == IHMP_ACK) {
		p->buf[p->len - 1] ^= 1;
		tamper_left--;
	}
}

/* A modified ACK is dropped and the request stays outstanding; its
 * retransmission is ACKed again without being applied twice. */
START_TEST(test_signed_ack_tampered)
{
	const struct ihmp_stats *sa, *sb;
	struct dime_hid_entry *a, *b;
	struct ihmp_peer_info pi;
	unsigned int changed;

	pair_signed();
	run_until(now + 10000);
	sa = ihmp_stats(H[0].ih);
	sb = ihmp_stats(H[1].ih);
	a = hid_of(0, "198.51.100.1");
	b = hid_of(1, "192.0.2.1");
	tamper_left = 1;
	nat_fn = tamper_ack;
	down(0, "192.0.2.1");
	up(0, "192.0.2.77");
	run_until(now + 100);
	ck_assert_uint_eq(sa->drop_bad_signature, 1);
	ck_assert_int_eq(ihmp_peer_info(H[0].ih, a->hid, &pi), 0);
	ck_assert_uint_eq(pi.pending, 1);
	ck_assert(a->out_held[DIME_AF4]);	/* still waiting for a real ACK */
	ck_assert(dime_addr_eq(&b->rloc[DIME_AF4], AP("192.0.2.77")));
	changed = H[1].changed;
	run_until(now + 1500);			/* the retransmission */
	ck_assert_uint_eq(count(0, 0, IHMP_HANDOFF, 0), 2);
	ck_assert_uint_eq(sb->reacked, 1);
	ck_assert_uint_eq(H[1].changed, changed);	/* nothing applied again */
	ck_assert_uint_eq(count(0, 1, IHMP_ACK, IHMP_HANDOFF), 2);
	ck_assert_int_eq(ihmp_peer_info(H[0].ih, a->hid, &pi), 0);
	ck_assert_uint_eq(pi.pending, 0);
	ck_assert(!a->out_held[DIME_AF4]);
	ck_assert(dime_addr_eq(&a->lloc[DIME_AF4], AP("192.0.2.77")));
	ck_assert_uint_eq(sb->drop_replay, 0);
}
END_TEST

/* A HELLO whose ACK was lost: the retransmission is ACKed again with the
 * same flags and addresses, and the peer's sets are not rebuilt. */
START_TEST(test_signed_hello_retransmit)
{
	const struct ihmp_stats *sb;
	const struct logrec *first, *second;
	unsigned int changed;

	bind_key("192.0.2.1", 0);
	bind_key("198.51.100.1", 1);
	secure(0, IHMP_AUTH_REQUIRED, true);
	secure(1, IHMP_AUTH_REQUIRED, true);
	sb = ihmp_stats(H[1].ih);
	up(0, "192.0.2.1");
	up(1, "198.51.100.1");
	drop_fn = drop_all;
	flow(0, "192.0.2.1", "198.51.100.1");
	drop_fn = NULL;
	/* Deliver the HELLO by hand, lose the ACK. */
	inject_raw(1, find_pkt(0, 0, IHMP_HELLO, 0)->buf, find_pkt(0, 0, IHMP_HELLO, 0)->len,
		   "192.0.2.1", "198.51.100.1");
	ck_assert_uint_eq(sb->verified, 1);
	qhead = qtail;
	changed = H[1].changed;
	run_until(now + 1500);
	ck_assert_uint_eq(count(0, 0, IHMP_HELLO, 0), 2);
	ck_assert_uint_eq(sb->reacked, 1);
	ck_assert_uint_eq(H[1].changed, changed);
	first = find(0, 1, IHMP_ACK, 0);
	second = find(0, 1, IHMP_ACK, 1);
	ck_assert_ptr_nonnull(second);
	ck_assert_uint_eq(first->m.flags, second->m.flags);
	ck_assert_uint_eq(first->m.adv.n, second->m.adv.n);
	ck_assert_uint_eq(first->m.seq, second->m.seq);
	ck_assert(second->m.counter > first->m.counter);	/* a new ACK, signed anew */
	ck_assert_ptr_nonnull(hid_of(0, "198.51.100.1"));
	ck_assert_uint_eq(ihmp_stats(H[0].ih)->verified, 1);
}
END_TEST

/* Recorded requests played back to a dual-stack peer, which still knows
 * the host by its IPv6 address: the copy of a HANDOFF the receiver just
 * answered is ACKed again and applied no second time, also after a later
 * hand-off; once older than the window it is dropped unanswered. Neither
 * moves the flows back to the old address. */
START_TEST(test_signed_replay)
{
	const struct ihmp_stats *sb;
	struct dime_hid_entry *b;
	struct pkt handoff;
	unsigned int q, mark, changed;
	char addr[32];

	bind_key("192.0.2.1", 0);
	bind_key("198.51.100.1", 1);
	secure(0, IHMP_AUTH_REQUIRED, true);
	secure(1, IHMP_AUTH_REQUIRED, true);
	sb = ihmp_stats(H[1].ih);
	up(0, "192.0.2.1");
	up(0, "2001:db8:a::1");
	up(1, "198.51.100.1");
	up(1, "2001:db8:b::1");
	flow(0, "192.0.2.1", "198.51.100.1");
	run_until(now + 10000);
	b = hid_of(1, "192.0.2.1");
	ck_assert(has(&b->active, "2001:db8:a::1"));

	q = qtail;
	down(0, "192.0.2.1");
	up(0, "192.0.2.77");
	run_until(now + 10000);
	handoff = *find_pkt(q, 0, IHMP_HANDOFF, 0);
	ck_assert(dime_addr_eq(&b->rloc[DIME_AF4], AP("192.0.2.77")));

	/* At once: H1 remembers answering it. */
	mark = nlog;
	changed = H[1].changed;
	inject_raw(1, handoff.buf, handoff.len, "192.0.2.77", "198.51.100.1");
	ck_assert_uint_eq(sb->reacked, 1);
	ck_assert_uint_eq(count(mark, 1, IHMP_ACK, IHMP_HANDOFF), 1);
	ck_assert_uint_eq(H[1].changed, changed);

	/* After a second hand-off: answered again, and still not applied,
	 * though applying it would move the flows back to .77. */
	down(0, "192.0.2.77");
	up(0, "192.0.2.88");
	run_until(now + 10000);
	ck_assert(dime_addr_eq(&b->rloc[DIME_AF4], AP("192.0.2.88")));
	mark = nlog;
	changed = H[1].changed;
	inject_raw(1, handoff.buf, handoff.len, "192.0.2.77", "198.51.100.1");
	ck_assert_uint_eq(sb->reacked, 2);
	ck_assert_uint_eq(count(mark, 1, IHMP_ACK, IHMP_HANDOFF), 1);
	ck_assert_uint_eq(H[1].changed, changed);
	ck_assert(dime_addr_eq(&b->rloc[DIME_AF4], AP("192.0.2.88")));
	ck_assert(!has(&b->active, "192.0.2.77"));

	/* Eight more requests and 80 s later it is neither among the
	 * requests answered nor within the window: dropped unanswered. */
	for (int k = 2; k <= 9; k++) {
		snprintf(addr, sizeof(addr), "2001:db8:a::%d", k);
		up(0, addr);
		run_until(now + 10000);
	}
	ck_assert_uint_eq(sb->drop_replay, 0);
	mark = nlog;
	changed = H[1].changed;
	inject_raw(1, handoff.buf, handoff.len, "192.0.2.77", "198.51.100.1");
	ck_assert_uint_eq(sb->drop_replay, 1);
	ck_assert_uint_eq(sb->reacked, 2);
	ck_assert_uint_eq(nlog, mark);
	ck_assert_uint_eq(H[1].changed, changed);
	ck_assert(dime_addr_eq(&b->rloc[DIME_AF4], AP("192.0.2.88")));
	ck_assert(has(&b->active, "192.0.2.88") && !has(&b->active, "192.0.2.77"));
}
END_TEST

/* A withdrawn address announced again by a recorded ADDR_UP_UNREACHABLE,
 * once the window has moved past it: dropped, the address stays gone. */
START_TEST(test_signed_replay_withdrawn)
{
	const struct ihmp_stats *sb;
	struct dime_hid_entry *b;
	struct pkt addr_up;
	unsigned int q, mark;

	pair_signed();
	run_until(now + 10000);
	sb = ihmp_stats(H[1].ih);
	b = hid_of(1, "192.0.2.1");
	q = qtail;
	up(0, "2001:db8:a::1");
	run_until(now + 10000);
	addr_up = *find_pkt(q, 0, IHMP_ADDR_UP_UNREACHABLE, 0);
	ck_assert(has(&b->unreach, "2001:db8:a::1"));
	down(0, "2001:db8:a::1");
	run_until(now + 10000);
	ck_assert(!has(&b->unreach, "2001:db8:a::1"));
	/* Within the window and among the requests answered: ACKed, not
	 * applied. */
	mark = nlog;
	inject_raw(1, addr_up.buf, addr_up.len, "192.0.2.1", "198.51.100.1");
	ck_assert_uint_eq(sb->reacked, 1);
	ck_assert_uint_eq(count(mark, 1, IHMP_ACK, IHMP_ADDR_UP_UNREACHABLE), 1);
	ck_assert(!has(&b->unreach, "2001:db8:a::1"));
	/* Eight requests later (each an address of the other family coming
	 * and going would do; ADDR_UP_UNREACHABLEs are simplest). */
	for (int k = 2; k <= 9; k++) {
		char addr[32];

		snprintf(addr, sizeof(addr), "2001:db8:a::%d", k);
		up(0, addr);
		run_until(now + 10000);
	}
	mark = nlog;
	inject_raw(1, addr_up.buf, addr_up.len, "192.0.2.1", "198.51.100.1");
	ck_assert_uint_eq(sb->drop_replay, 1);
	ck_assert_uint_eq(nlog, mark);
	ck_assert(!has(&b->unreach, "2001:db8:a::1"));
}
END_TEST

/* Required mode: a peer without a configured key is never heard, and one
 * with a key must sign. */
START_TEST(test_required_no_key)
{
	const struct ihmp_stats *sb;

	secure(1, IHMP_AUTH_REQUIRED, true);
	sb = ihmp_stats(H[1].ih);
	up(0, "192.0.2.1");
	up(1, "198.51.100.1");
	flow(0, "192.0.2.1", "198.51.100.1");
	run_until(now + 100);
	ck_assert_uint_eq(sb->drop_no_key, 1);
	ck_assert_ptr_null(hid_of(1, "192.0.2.1"));
	ck_assert_uint_eq(count(0, 1, IHMP_ACK, 0), 0);
	run_until(now + 10000);
	ck_assert_uint_eq(sb->drop_no_key, 3);	/* every try */
	ck_assert_uint_eq(ihmp_stats(H[0].ih)->legacy_peers, 1);
	ck_assert_uint_eq(sb->verified + sb->unverified, 0);

	/* Host 2's key is known, but it does not sign. */
	bind_key("203.0.113.1", 2);
	up(2, "203.0.113.1");
	flow(2, "203.0.113.1", "198.51.100.1");
	run_until(now + 100);
	ck_assert_uint_eq(sb->drop_unsigned_msg, 1);
	ck_assert_ptr_null(hid_of(1, "203.0.113.1"));
}
END_TEST

/* Opportunistic mode: without a key, unsigned (and unverifiable signed)
 * messages are taken; with a key for the peer, its messages must be signed. */
START_TEST(test_opportunistic)
{
	const struct ihmp_stats *sa, *sb;
	struct dime_hid_entry *b;

	secure(0, IHMP_AUTH_OPPORTUNISTIC, true);	/* signs; knows no key */
	secure(1, IHMP_AUTH_OPPORTUNISTIC, false);	/* does not sign; knows no key */
	sa = ihmp_stats(H[0].ih);
	sb = ihmp_stats(H[1].ih);
	pair_v4();
	run_until(now + 10000);
	down(0, "192.0.2.1");
	up(0, "192.0.2.77");
	run_until(now + 100);
	b = hid_of(1, "192.0.2.77");
	ck_assert_ptr_nonnull(b);
	ck_assert(dime_addr_eq(&b->rloc[DIME_AF4], AP("192.0.2.77")));
	ck_assert_uint_eq(sb->verified, 0);
	ck_assert_uint_eq(sb->unverified, sent_by(0));
	ck_assert_uint_eq(sa->unverified, sent_by(1));
	assert_no_auth_drops(sa);
	assert_no_auth_drops(sb);

	/* Host 2 is configured with host 0's key: the same unsigned-from-0
	 * rule no longer holds, 0's HELLO must verify. Host 0 signs: fine. */
	bind_key("192.0.2.77", 0);
	secure(2, IHMP_AUTH_OPPORTUNISTIC, false);
	up(2, "203.0.113.1");
	flow(0, "192.0.2.77", "203.0.113.1");
	run_until(now + 100);
	ck_assert_uint_eq(ihmp_stats(H[2].ih)->verified, 1);
	ck_assert_ptr_nonnull(hid_of(2, "192.0.2.77"));
	/* ... and a HANDOFF for 0 that is not signed is dropped. */
	{
		struct ihmp_msg m;

		ihmp_msg_init(&m, IHMP_HANDOFF, 5);
		m.host_id = A("192.0.2.77");
		m.new_addr = A("203.0.113.66");
		m.old_addr = A("192.0.2.77");
		inject(2, &m, "203.0.113.66", "203.0.113.1");
	}
	ck_assert_uint_eq(ihmp_stats(H[2].ih)->drop_unsigned_msg, 1);
	ck_assert(has(&hid_of(2, "192.0.2.77")->active, "192.0.2.77"));
}
END_TEST

/* Off: nothing is checked, even a signature by the wrong key. */
START_TEST(test_auth_off)
{
	struct ihmp_msg m;
	uint8_t buf[IHMP_MSG_MAX];
	size_t len;

	bind_key("192.0.2.1", 0);
	secure(1, IHMP_AUTH_OFF, false);
	up(1, "198.51.100.1");
	hello_msg(&m, "192.0.2.1", (const char *const[]){ "192.0.2.1", NULL }, 0);
	len = sign_msg(&m, K[2], 1, buf);
	inject_raw(1, buf, len, "192.0.2.1", "198.51.100.1");
	ck_assert_ptr_nonnull(hid_of(1, "192.0.2.1"));
	ck_assert_uint_eq(ihmp_stats(H[1].ih)->unverified, 1);
	ck_assert_uint_eq(ihmp_stats(H[1].ih)->drop_wrong_key, 0);
}
END_TEST

/* A flood from one source is cut before decoding; another source still
 * gets through at the same instant. */
START_TEST(test_rate_limit)
{
	struct ihmp_config c = test_cfg();
	const struct ihmp_stats *st;
	struct ihmp_msg m;

	c.rl = (struct ratelimit_config)RATELIMIT_CONFIG_DEFAULTS;
	c.rl.rate = 5;
	c.rl.burst = 10;
	host_reconfig(1, &c);
	st = ihmp_stats(H[1].ih);
	up(1, "198.51.100.1");
	hello_msg(&m, "203.0.113.66", (const char *const[]){ "203.0.113.66", NULL }, 0);
	for (int k = 0; k < 100; k++)
		inject(1, &m, "203.0.113.66", "198.51.100.1");
	ck_assert_uint_eq(st->drop_rate_limited, 90);
	ck_assert_uint_eq(st->received[IHMP_HELLO], 10);
	ck_assert_uint_eq(count(0, 1, IHMP_ACK, IHMP_HELLO), 10);
	/* Garbage counts against the source too: it is never decoded. */
	inject_raw(1, (const uint8_t *)"xx", 2, "203.0.113.66", "198.51.100.1");
	ck_assert_uint_eq(st->drop_rate_limited, 91);
	ck_assert_uint_eq(st->drop_length, 0);

	up(0, "192.0.2.1");
	flow(0, "192.0.2.1", "198.51.100.1");
	run_until(now);
	ck_assert_ptr_nonnull(hid_of(1, "192.0.2.1"));
	ck_assert_uint_eq(count(0, 1, IHMP_ACK, IHMP_HELLO), 11);

	/* A second later the flooder has 5 more. */
	now += 1000;
	for (int k = 0; k < 100; k++)
		inject(1, &m, "203.0.113.66", "198.51.100.1");
	ck_assert_uint_eq(st->received[IHMP_HELLO], 16);
}
END_TEST

/* Our largest request, a HELLO with 16 IPv6 addresses, fits signed. */
START_TEST(test_signed_largest_hello)
{
	const struct logrec *r;
	char addr[32];

	bind_key("2001:db8:a::1", 0);
	secure(0, IHMP_AUTH_REQUIRED, true);
	secure(1, IHMP_AUTH_REQUIRED, false);
	for (int k = 1; k <= 16; k++) {
		snprintf(addr, sizeof(addr), "2001:db8:a::%d", k);
		up(0, addr);
	}
	up(1, "2001:db8:b::1");
	flow(0, "2001:db8:a::1", "2001:db8:b::1");
	r = find(0, 0, IHMP_HELLO, 0);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->m.adv.n, 16);
	ck_assert(r->m.has & IHMP_HAS_SIG);
	ck_assert_uint_eq(find_pkt(0, 0, IHMP_HELLO, 0)->len, 486);	/* with PUBKEY */
	run_until(now + 100);
	ck_assert_uint_eq(ihmp_stats(H[1].ih)->verified, 1);
	ck_assert_uint_eq(ihmp_stats(H[0].ih)->encode_failed, 0);
}
END_TEST

START_TEST(test_security_config)
{
	struct ihmp_config c = test_cfg();
	struct ihmp_key *pub;
	uint8_t raw[IHMP_PUBKEY_LEN];
	struct ihmp *ih;

	ihmp_key_raw_public(K[0], raw);
	ck_assert_int_eq(ihmp_key_from_raw_public(raw, &pub), 0);
	c.local_key = pub;		/* cannot sign */
	ck_assert_int_eq(ihmp_new(&ih, H[0].t, &c), -EINVAL);
	c.local_key = NULL;
	c.auth = (enum ihmp_auth_mode)3;
	ck_assert_int_eq(ihmp_new(&ih, H[0].t, &c), -EINVAL);
	c.auth = IHMP_AUTH_OFF;
	c.rl = (struct ratelimit_config)RATELIMIT_CONFIG_DEFAULTS;
	c.rl.slots = 100;		/* not a power of two */
	ck_assert_int_eq(ihmp_new(&ih, H[0].t, &c), -EINVAL);
	c.rl.slots = 64;
	ck_assert_int_eq(ihmp_new(&ih, H[0].t, &c), 0);
	ihmp_free(ih);
	ihmp_key_free(pub);
}
END_TEST

static unsigned int drop_left;

/* Loses the next drop_left HANDOFFs from 192.0.2.77. */
static bool drop_v4_handoff(const struct pkt *p)
{
	if (drop_left && p->buf[1] == IHMP_HANDOFF && dime_addr_eq(&p->src, AP("192.0.2.77"))) {
		drop_left--;
		return true;
	}
	return false;
}

/* A dual-stack host moves both families; the first IPv4 HANDOFF is lost,
 * so its retransmission (with its original, older counter) arrives a
 * second after the IPv6 one was taken: still fresh, since the window spans
 * time, not a number of counters. */
START_TEST(test_signed_reordered_handoffs)
{
	const struct ihmp_stats *sb;
	struct dime_hid_entry *b;

	bind_key("192.0.2.1", 0);
	bind_key("198.51.100.1", 1);
	secure(0, IHMP_AUTH_REQUIRED, true);
	secure(1, IHMP_AUTH_REQUIRED, true);
	sb = ihmp_stats(H[1].ih);
	up(0, "192.0.2.1");
	up(0, "2001:db8:a::1");
	up(1, "198.51.100.1");
	up(1, "2001:db8:b::1");
	flow(0, "192.0.2.1", "198.51.100.1");
	run_until(now + 10000);
	b = hid_of(1, "192.0.2.1");
	ck_assert(has(&b->active, "2001:db8:a::1"));
	down(0, "192.0.2.1");
	down(0, "2001:db8:a::1");
	drop_left = 1;
	drop_fn = drop_v4_handoff;
	up(0, "192.0.2.77");
	now += 5;
	up(0, "2001:db8:a::77");
	run_until(now + 100);
	ck_assert(has(&b->active, "2001:db8:a::77"));
	ck_assert(!has(&b->active, "192.0.2.77"));
	run_until(now + 2000);
	ck_assert(has(&b->active, "192.0.2.77"));
	ck_assert(dime_addr_eq(&b->rloc[DIME_AF4], AP("192.0.2.77")));
	ck_assert(dime_addr_eq(&b->rloc[DIME_AF6], AP("2001:db8:a::77")));
	ck_assert_uint_eq(sb->drop_replay, 0);
	ck_assert_uint_eq(ihmp_stats(H[0].ih)->failed, 0);
}
END_TEST

static Suite *ihmp_suite(void)
{
	Suite *s = suite_create("ihmp");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_hello_symmetric);
	tcase_add_test(tc, test_probe_selection);
	tcase_add_test(tc, test_probe_receiver);
	tcase_add_test(tc, test_addr_up_reachable);
	tcase_add_test(tc, test_addr_up_unreachable);
	tcase_add_test(tc, test_addr_up_probe_fallback);
	tcase_add_test(tc, test_addr_down);
	tcase_add_test(tc, test_handoff_ou);
	tcase_add_test(tc, test_handoff_up_then_down);
	tcase_add_test(tc, test_legacy_peer);
	tcase_add_test(tc, test_handoff_retransmission_bound);
	tcase_add_test(tc, test_hold_reattach);
	tcase_add_test(tc, test_hold_expiry);
	tcase_add_test(tc, test_both_move);
	tcase_add_test(tc, test_thousand_flows_one_handoff);
	tcase_add_test(tc, test_nat_detected);
	tcase_add_test(tc, test_nat_requester);
	tcase_add_test(tc, test_nat_forced_hello);
	tcase_add_test(tc, test_nat_forced_sender);
	tcase_add_test(tc, test_malformed_dropped);
	tcase_add_test(tc, test_unexpected_dropped);
	tcase_add_test(tc, test_nat_entry_stored_and_acked);
	tcase_add_test(tc, test_idempotent_requests);
	tcase_add_test(tc, test_hello_resync);
	tcase_add_test(tc, test_action_overflow);
	tcase_add_test(tc, test_signed_handoff);
	tcase_add_test(tc, test_signed_forgeries);
	tcase_add_test(tc, test_signed_ack_tampered);
	tcase_add_test(tc, test_signed_hello_retransmit);
	tcase_add_test(tc, test_signed_replay);
	tcase_add_test(tc, test_signed_replay_withdrawn);
	tcase_add_test(tc, test_signed_reordered_handoffs);
	tcase_add_test(tc, test_required_no_key);
	tcase_add_test(tc, test_opportunistic);
	tcase_add_test(tc, test_auth_off);
	tcase_add_test(tc, test_rate_limit);
	tcase_add_test(tc, test_signed_largest_hello);
	tcase_add_test(tc, test_security_config);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(ihmp_suite());
}
