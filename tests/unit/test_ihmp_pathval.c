// SPDX-License-Identifier: BSD-2-Clause
/*
 * Check suite for path validation in the IHMP state machine (src/ihmp.c,
 * docs/security.md 3.6): a remote locator set to an address that has not
 * echoed our nonce from itself is flagged for the data plane
 * (dime_hid_entry.rloc_unvalidated, pv_rx, pv_tx) and probed; the ACK from
 * that address clears the flag and reports the locators changed.
 *
 * The harness is test_ihmp.c's (ihmp_fakenet.h): a fake clock, hosts with
 * a HID table and an ihmp each, a fake network that carries SEND actions
 * between them (a datagram to an address no host has, a victim's, is
 * lost), and hand-built messages injected with any source.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dime/ihmp.h"
#include "ihmp_fakenet.h"
#include "testutil.h"

static struct ihmp_config test_cfg(bool pv)
{
	struct ihmp_config c = IHMP_CONFIG_DEFAULTS;

	c.random = fake_random;
	c.rl.slots = 0;
	c.path_validation = pv;
	return c;
}

static void hosts_init(bool pv)
{
	struct dime_hid_config hc = { .capacity = 64, .max_addrs = 1024, .seed = { 1, 2 } };
	struct ihmp_config c = test_cfg(pv);

	for (int i = 0; i < HOSTS; i++) {
		memset(&H[i], 0, sizeof(H[i]));
		ck_assert_int_eq(dime_hid_table_new(&H[i].t, &hc), 0);
		ck_assert_int_eq(ihmp_new(&H[i].ih, H[i].t, &c), 0);
	}
}

static void hosts_free(void)
{
	for (int i = 0; i < HOSTS; i++) {
		ihmp_free(H[i].ih);
		dime_hid_table_free(H[i].t);
		H[i].ih = NULL;
		H[i].t = NULL;
	}
}

static void setup(void)
{
	fakenet_alloc();
	rnd_state = 7;
	hosts_init(true);
}

static void teardown(void)
{
	hosts_free();
	fakenet_free();
}

/* Validation off: the same hosts, configured as before this feature. */
static void reconfig_off(void)
{
	hosts_free();
	hosts_init(false);
}

static bool eq(const struct dime_addr *a, const char *text)
{
	return dime_addr_eq(a, AP(text));
}

/* The ACK of a logged request, as its destination would send it. */
static void ack_of(const struct logrec *r, struct ihmp_msg *m)
{
	ihmp_msg_init(m, IHMP_ACK, r->m.seq);
	m->acked_type = r->m.type;
	m->host_id = r->dst;
	m->has = IHMP_HAS_NONCE;
	m->nonce = r->m.nonce;
}

static void forged_handoff(struct ihmp_msg *m, const char *new_addr, const char *old_addr)
{
	ihmp_msg_init(m, IHMP_HANDOFF, 4242);
	m->host_id = A("192.0.2.1");
	m->new_addr = A(new_addr);
	m->old_addr = A(old_addr);
	m->has = IHMP_HAS_NONCE;
	m->nonce = 99;
}

static const struct ihmp_stats *st(int i)
{
	return ihmp_stats(H[i].ih);
}

/* ---- attacks --------------------------------------------------------------- */

/* Signatures off: anyone can say "A is now at the victim's address". The
 * flow is flagged, the victim only ever gets our probes (and the ACK the
 * message itself draws, as before), and never becomes validated. */
START_TEST(test_forged_handoff_victim)
{
	struct dime_hid_entry *b;
	struct ihmp_peer_info pi;
	const struct logrec *probe;
	struct ihmp_msg m;
	unsigned int mark, changed;
	size_t len;

	pair_v4();
	b = hid_of(1, "192.0.2.1");
	ck_assert(!b->rloc_unvalidated[DIME_AF4]);
	mark = nlog;
	changed = H[1].changed;
	forged_handoff(&m, "203.0.113.66", "192.0.2.1");
	len = inject(1, &m, "203.0.113.66", "198.51.100.1");
	ck_assert(eq(&b->rloc[DIME_AF4], "203.0.113.66"));
	ck_assert(b->rloc_unvalidated[DIME_AF4]);
	ck_assert_uint_eq(b->pv_rx[DIME_AF4], len);
	ck_assert_uint_eq(b->pv_tx[DIME_AF4], 0);
	ck_assert_uint_gt(H[1].changed, changed);
	/* The ACK of the HANDOFF (as before) and one probe, nothing else. */
	ck_assert_uint_eq(nlog - mark, 2);
	ck_assert_uint_eq(count(mark, 1, IHMP_ACK, IHMP_HANDOFF), 1);
	probe = find(mark, 1, IHMP_PATH_PROBE, 0);
	ck_assert_ptr_nonnull(probe);
	ck_assert(eq(&probe->dst, "203.0.113.66"));
	ck_assert(eq(&probe->src, "198.51.100.1"));
	ck_assert(probe->m.has & IHMP_HAS_NONCE);
	ck_assert_uint_eq(st(1)->validations_started, 1);
	ck_assert_int_eq(ihmp_peer_info(H[1].ih, b->hid, &pi), 0);
	ck_assert(pi.rloc_unvalidated[DIME_AF4] && pi.validating[DIME_AF4]);

	/* The victim never answers: three probes (0, 1, 3 s), failed at 7 s. */
	run_until(now + 60000);
	ck_assert_uint_eq(count(mark, 1, IHMP_PATH_PROBE, 0), 3);
	ck_assert_uint_eq(st(1)->validations_failed, 1);
	ck_assert_uint_eq(st(1)->validations_succeeded, 0);
	/* The old locator went with the HANDOFF's OLD, which is no better
	 * proven than its NEW: it comes back, active and the locator again,
	 * so one forgery does not cut the peer off. */
	ck_assert(eq(&b->rloc[DIME_AF4], "192.0.2.1"));
	ck_assert(!b->rloc_unvalidated[DIME_AF4]);
	ck_assert(dime_addr_set_has(&b->active, AP("192.0.2.1")));
	ck_assert_uint_eq(st(1)->validations_reverted, 1);
	ck_assert_int_eq(ihmp_peer_info(H[1].ih, b->hid, &pi), 0);
	ck_assert(!pi.validating[DIME_AF4]);
	ck_assert_uint_eq(ihmp_next_deadline(H[1].ih), UINT64_MAX);
}
END_TEST

/* A forged HANDOFF that leaves the real locator active: when the victim
 * does not answer, the locator goes back to it. */
START_TEST(test_failed_validation_reverts)
{
	struct dime_hid_entry *b;
	struct ihmp_msg m;
	unsigned int changed;

	pair_v4();
	b = hid_of(1, "192.0.2.1");
	forged_handoff(&m, "203.0.113.66", "192.0.2.99");	/* OLD not A's */
	inject(1, &m, "203.0.113.66", "198.51.100.1");
	ck_assert(eq(&b->rloc[DIME_AF4], "203.0.113.66"));
	ck_assert(b->rloc_unvalidated[DIME_AF4]);
	changed = H[1].changed;
	run_until(now + 60000);
	ck_assert_uint_eq(st(1)->validations_failed, 1);
	ck_assert(eq(&b->rloc[DIME_AF4], "192.0.2.1"));
	ck_assert(!b->rloc_unvalidated[DIME_AF4]);
	ck_assert_uint_gt(H[1].changed, changed);
}
END_TEST

/* The probe's ACK proves the path only from the probed address with our
 * nonce. */
START_TEST(test_ack_wrong_source_or_nonce)
{
	struct dime_hid_entry *b;
	const struct logrec *probe;
	struct ihmp_msg m;
	unsigned int mark;

	pair_v4();
	b = hid_of(1, "192.0.2.1");
	mark = nlog;
	forged_handoff(&m, "203.0.113.66", "192.0.2.1");
	inject(1, &m, "203.0.113.66", "198.51.100.1");
	probe = find(mark, 1, IHMP_PATH_PROBE, 0);
	ck_assert_ptr_nonnull(probe);
	ack_of(probe, &m);
	/* The right nonce from another address (the attacker saw the probe). */
	inject(1, &m, "192.0.2.1", "198.51.100.1");
	inject(1, &m, "203.0.113.67", "198.51.100.1");
	ck_assert(b->rloc_unvalidated[DIME_AF4]);
	/* From the victim's address, a wrong nonce, sequence or type. */
	m.nonce ^= 1;
	inject(1, &m, "203.0.113.66", "198.51.100.1");
	m.nonce ^= 1;
	m.seq++;
	inject(1, &m, "203.0.113.66", "198.51.100.1");
	m.seq--;
	m.acked_type = IHMP_ADDR_UP;
	inject(1, &m, "203.0.113.66", "198.51.100.1");
	m.acked_type = IHMP_PATH_PROBE;
	ck_assert(b->rloc_unvalidated[DIME_AF4]);
	ck_assert_uint_eq(st(1)->drop_unmatched_ack, 5);
	ck_assert_uint_eq(st(1)->validations_succeeded, 0);
	/* The address itself answering is what validation asks for. */
	inject(1, &m, "203.0.113.66", "198.51.100.1");
	ck_assert(!b->rloc_unvalidated[DIME_AF4]);
	ck_assert_uint_eq(st(1)->validations_succeeded, 1);
}
END_TEST

/* A forged HELLO naming A as HOST_ID from the victim's address resyncs the
 * host, but the victim is a new source: flagged and probed. */
START_TEST(test_forged_hello_resync)
{
	struct dime_hid_entry *b;
	struct ihmp_msg m;
	unsigned int mark;

	pair_v4();
	b = hid_of(1, "192.0.2.1");
	mark = nlog;
	ihmp_msg_init(&m, IHMP_HELLO, 77);
	m.host_id = A("192.0.2.1");
	ck_assert_int_eq(ihmp_adv_add(&m, AP("203.0.113.66")), 0);
	inject(1, &m, "203.0.113.66", "198.51.100.1");
	ck_assert_ptr_eq(hid_of(1, "203.0.113.66"), b);
	ck_assert(eq(&b->rloc[DIME_AF4], "203.0.113.66"));
	ck_assert(b->rloc_unvalidated[DIME_AF4]);
	ck_assert_uint_eq(count(mark, 1, IHMP_PATH_PROBE, 0), 1);
	ck_assert(eq(&find(mark, 1, IHMP_PATH_PROBE, 0)->dst, "203.0.113.66"));
}
END_TEST

/* ---- legitimate moves ------------------------------------------------------ */

/* Hard hand-off: B ACKs the HANDOFF and probes NEW at once; A's ACK of the
 * probe, from NEW, clears the flag and reports the locators changed. */
START_TEST(test_hard_handoff)
{
	struct dime_hid_entry *b;
	const struct logrec *probe;
	unsigned int mark, changed;

	pair_v4();
	run_until(now + 10000);
	b = hid_of(1, "192.0.2.1");
	mark = nlog;
	down(0, "192.0.2.1");
	up(0, "192.0.2.2");
	ck_assert_uint_eq(count(mark, 0, IHMP_HANDOFF, 0), 1);
	deliver_n(1);	/* the HANDOFF reaches B */
	ck_assert(eq(&b->rloc[DIME_AF4], "192.0.2.2"));
	ck_assert(b->rloc_unvalidated[DIME_AF4]);
	ck_assert_uint_gt(b->pv_rx[DIME_AF4], 0);
	ck_assert_uint_eq(count(mark, 1, IHMP_ACK, IHMP_HANDOFF), 1);
	probe = find(mark, 1, IHMP_PATH_PROBE, 0);
	ck_assert_ptr_nonnull(probe);
	ck_assert(eq(&probe->dst, "192.0.2.2"));
	ck_assert(eq(&probe->src, "198.51.100.1"));
	/* A gets the ACK and the probe, answers the probe from 192.0.2.2. */
	deliver_n(2);
	ck_assert_uint_eq(count(mark, 0, IHMP_ACK, IHMP_PATH_PROBE), 1);
	ck_assert(eq(&find(mark, 0, IHMP_ACK, 0)->src, "192.0.2.2"));
	changed = H[1].changed;
	deliver_n(1);	/* ... which validates it at B */
	ck_assert(!b->rloc_unvalidated[DIME_AF4]);
	ck_assert_uint_eq(H[1].changed, changed + 1);
	ck_assert_uint_eq(H[1].changed_hid, b->hid);
	run_until(now + 60000);
	/* Four messages per hand-off: HANDOFF, ACK, PATH_PROBE, ACK. */
	ck_assert_uint_eq(nlog - mark, 4);
	ck_assert_uint_eq(st(1)->validations_started, 1);
	ck_assert_uint_eq(st(1)->validations_succeeded, 1);
	ck_assert_uint_eq(st(1)->validations_failed, 0);
	ck_assert_uint_eq(st(0)->validations_started, 0);
}
END_TEST

/* The correspondent moves: the mobile host validates it the same way. */
START_TEST(test_ch_moves)
{
	struct dime_hid_entry *a;

	pair_v4();
	run_until(now + 10000);
	a = hid_of(0, "198.51.100.1");
	down(1, "198.51.100.1");
	up(1, "198.51.100.2");
	deliver_n(1);
	ck_assert(eq(&a->rloc[DIME_AF4], "198.51.100.2"));
	ck_assert(a->rloc_unvalidated[DIME_AF4]);
	run_until(now + 100);
	ck_assert(!a->rloc_unvalidated[DIME_AF4]);
	ck_assert_uint_eq(st(0)->validations_succeeded, 1);
}
END_TEST

/* Soft hand-off: B validates the new address in the background at its
 * ADDR_UP, so neither the ADDR_DOWN of the old one nor a HANDOFF later
 * leaves the locator unvalidated, and they cost no probe. */
START_TEST(test_soft_handoff)
{
	struct dime_hid_entry *b;
	struct ihmp_peer_info pi;
	unsigned int mark;

	pair_v4();
	run_until(now + 10000);
	b = hid_of(1, "192.0.2.1");
	mark = nlog;
	up(0, "203.0.113.1");
	run_until(now + 100);
	/* ADDR_UP and its ACK, B's probe of NEW and its ACK. */
	ck_assert_uint_eq(nlog - mark, 4);
	ck_assert_uint_eq(count(mark, 1, IHMP_PATH_PROBE, 0), 1);
	ck_assert(eq(&find(mark, 1, IHMP_PATH_PROBE, 0)->dst, "203.0.113.1"));
	ck_assert(eq(&b->rloc[DIME_AF4], "192.0.2.1"));
	ck_assert(!b->rloc_unvalidated[DIME_AF4]);
	ck_assert_int_eq(ihmp_peer_info(H[1].ih, b->hid, &pi), 0);
	ck_assert_uint_eq(pi.validated_n, 2);
	ck_assert_uint_eq(st(1)->validations_succeeded, 1);

	run_until(now + 10000);
	mark = nlog;
	down(0, "192.0.2.1");
	ck_assert_uint_eq(count(mark, 0, IHMP_ADDR_DOWN, 0), 1);
	deliver_n(1);
	ck_assert(eq(&b->rloc[DIME_AF4], "203.0.113.1"));
	ck_assert(!b->rloc_unvalidated[DIME_AF4]);
	run_until(now + 100);
	ck_assert_uint_eq(count(mark, -1, IHMP_PATH_PROBE, 0), 0);
	ck_assert_uint_eq(nlog - mark, 2);
}
END_TEST

/* Up then down within the pairing window: one HANDOFF to an address B
 * validated at its ADDR_UP: no hold, no probe. */
START_TEST(test_soft_handoff_paired)
{
	struct dime_hid_entry *b;
	unsigned int mark;

	pair_v4();
	run_until(now + 10000);
	b = hid_of(1, "192.0.2.1");
	up(0, "203.0.113.1");
	run_until(now + 100);
	mark = nlog;
	down(0, "192.0.2.1");
	ck_assert_uint_eq(count(mark, 0, IHMP_HANDOFF, 0), 1);
	deliver_n(1);
	ck_assert(eq(&b->rloc[DIME_AF4], "203.0.113.1"));
	ck_assert(!b->rloc_unvalidated[DIME_AF4]);
	run_until(now + 10000);
	ck_assert_uint_eq(nlog - mark, 2);	/* HANDOFF, ACK */
}
END_TEST

/* B moves while it validates A's new address: the probe that left from
 * B's old address is cut short; B's HANDOFF, sent from its new address to
 * A's new one and ACKed from there, validates it instead, no new probe. */
START_TEST(test_validation_survives_own_move)
{
	struct dime_hid_entry *b;
	unsigned int mark;

	pair_v4();
	run_until(now + 10000);
	b = hid_of(1, "192.0.2.1");
	/* B's end of the flow, which keeps A's first address indexed. */
	ck_assert_int_eq(dime_hid_bind(H[1].t, b->hid, AP("192.0.2.1"), AP("198.51.100.1"), now),
			 0);
	mark = nlog;
	down(0, "192.0.2.1");
	up(0, "192.0.2.2");
	deliver_n(1);	/* the HANDOFF reaches B; its ACK and probe are lost */
	qhead = qtail;
	ck_assert(b->rloc_unvalidated[DIME_AF4]);
	ck_assert(eq(&find(mark, 1, IHMP_PATH_PROBE, 0)->src, "198.51.100.1"));
	mark = nlog;
	down(1, "198.51.100.1");
	up(1, "198.51.100.2");
	ck_assert_uint_eq(count(mark, 1, IHMP_PATH_PROBE, 0), 0);
	ck_assert_uint_eq(count(mark, 1, IHMP_HANDOFF, 0), 1);
	ck_assert(eq(&find(mark, 1, IHMP_HANDOFF, 0)->dst, "192.0.2.2"));
	ck_assert_uint_eq(st(1)->validations_started, 2);
	run_until(now + 100000);
	ck_assert(!b->rloc_unvalidated[DIME_AF4]);
	ck_assert(eq(&b->rloc[DIME_AF4], "192.0.2.2"));
	ck_assert_uint_eq(st(1)->validations_succeeded, 1);
	ck_assert_uint_eq(st(1)->validations_failed, 0);
	ck_assert_uint_eq(count(mark, 1, IHMP_PATH_PROBE, 0), 0);
	/* A validates B's new address in turn. */
	ck_assert(!hid_of(0, "198.51.100.2")->rloc_unvalidated[DIME_AF4]);
	ck_assert_uint_eq(st(0)->validations_succeeded, 1);
}
END_TEST

/* Both ends have a second address and move at the same time: each side
 * validates the other's new address. */
START_TEST(test_both_move)
{
	struct dime_hid_entry *a, *b;

	up(0, "192.0.2.1");
	up(0, "192.0.2.2");
	up(1, "198.51.100.1");
	up(1, "198.51.100.2");
	flow(0, "192.0.2.1", "198.51.100.1");
	run_until(now + 10000);
	a = hid_of(0, "198.51.100.1");
	b = hid_of(1, "192.0.2.1");
	down(0, "192.0.2.1");
	down(1, "198.51.100.1");
	run_until(now + 100000);
	ck_assert(eq(&a->rloc[DIME_AF4], "198.51.100.2"));
	ck_assert(eq(&b->rloc[DIME_AF4], "192.0.2.2"));
	ck_assert(!a->rloc_unvalidated[DIME_AF4] && !b->rloc_unvalidated[DIME_AF4]);
	ck_assert_uint_eq(st(0)->validations_failed + st(1)->validations_failed, 0);
}
END_TEST

/* The HELLO that creates the peer, also through a NAT (its packet source
 * is the locator): validated by creation; a HELLO from an address the
 * peer's flow binds: validated by the flow. */
START_TEST(test_hello_sources_validated)
{
	static const struct dime_addr none;
	struct dime_hid_entry *b;
	struct ihmp_msg m;
	uint32_t hid;
	unsigned int mark = nlog;

	up(1, "198.51.100.1");
	ihmp_msg_init(&m, IHMP_HELLO, 5);
	m.host_id = A("10.0.0.5");
	ck_assert_int_eq(ihmp_adv_add(&m, AP("10.0.0.5")), 0);
	inject(1, &m, "203.0.113.9", "198.51.100.1");	/* NAT detected */
	b = hid_of(1, "203.0.113.9");
	ck_assert_ptr_nonnull(b);
	ck_assert(eq(&b->rloc[DIME_AF4], "203.0.113.9"));
	ck_assert(!b->rloc_unvalidated[DIME_AF4]);
	ck_assert_uint_eq(count(mark, 1, IHMP_PATH_PROBE, 0), 0);

	/* B's flow to 192.0.2.9 made a HID; A's HELLO comes from another of
	 * its addresses, with the flow's address bound. */
	ck_assert_int_eq(dime_hid_create(H[1].t, now, &hid), 0);
	ck_assert_int_eq(dime_hid_addr_add(H[1].t, hid, DIME_HID_ACTIVE, AP("192.0.2.9")), 0);
	ck_assert_int_eq(dime_hid_bind(H[1].t, hid, AP("192.0.2.10"), AP("198.51.100.1"), now), 0);
	ihmp_msg_init(&m, IHMP_HELLO, 6);
	m.host_id = A("192.0.2.10");
	ck_assert_int_eq(ihmp_adv_add(&m, AP("192.0.2.10")), 0);
	mark = nlog;
	inject(1, &m, "192.0.2.10", "198.51.100.1");
	b = dime_hid_get(H[1].t, hid);
	ck_assert(eq(&b->rloc[DIME_AF4], "192.0.2.10"));
	ck_assert(!b->rloc_unvalidated[DIME_AF4]);
	ck_assert_uint_eq(count(mark, 1, IHMP_PATH_PROBE, 0), 0);
	ck_assert(dime_addr_eq(&b->rloc[DIME_AF6], &none));
}
END_TEST

/* Locators a HID has when IHMP meets it (a flow's, or restored from the
 * state file) are validated: a HELLO from them needs no probe. */
START_TEST(test_restored_locators_validated)
{
	struct ihmp_peer_info pi;
	uint32_t hid;

	up(0, "192.0.2.1");
	ck_assert_int_eq(dime_hid_create(H[0].t, now, &hid), 0);
	ck_assert_int_eq(dime_hid_addr_add(H[0].t, hid, DIME_HID_ACTIVE, AP("198.51.100.1")), 0);
	ck_assert_int_eq(dime_hid_addr_add(H[0].t, hid, DIME_HID_ACTIVE, AP("198.51.100.2")), 0);
	ck_assert_int_eq(dime_hid_addr_add(H[0].t, hid, DIME_HID_LOCAL, AP("192.0.2.1")), 0);
	ck_assert_int_eq(dime_hid_set_rloc(H[0].t, hid, AP("198.51.100.2")), 0);
	ck_assert_int_eq(ihmp_hid_created(H[0].ih, hid, now, ACTS), 0);
	collect(0);
	ck_assert_int_eq(ihmp_peer_info(H[0].ih, hid, &pi), 0);
	ck_assert_uint_eq(pi.validated_n, 1);
	ck_assert(eq(&pi.validated[0], "198.51.100.2"));
	ck_assert(!pi.rloc_unvalidated[DIME_AF4] && !pi.validating[DIME_AF4]);
	ck_assert_uint_eq(count(0, 0, IHMP_PATH_PROBE, 0), 0);
}
END_TEST

/* A locator restored still flagged is not taken for validated: the HELLO
 * goes to the flow's address, and a probe to the flagged locator. */
START_TEST(test_restored_flagged_locator_probed)
{
	struct dime_hid_entry *e;
	struct ihmp_peer_info pi;
	uint32_t hid;

	up(0, "192.0.2.1");
	ck_assert_int_eq(dime_hid_create(H[0].t, now, &hid), 0);
	ck_assert_int_eq(dime_hid_addr_add(H[0].t, hid, DIME_HID_ACTIVE, AP("198.51.100.1")), 0);
	ck_assert_int_eq(dime_hid_addr_add(H[0].t, hid, DIME_HID_ACTIVE, AP("203.0.113.66")), 0);
	ck_assert_int_eq(dime_hid_addr_add(H[0].t, hid, DIME_HID_LOCAL, AP("192.0.2.1")), 0);
	ck_assert_int_eq(dime_hid_set_rloc(H[0].t, hid, AP("203.0.113.66")), 0);
	e = dime_hid_get(H[0].t, hid);
	e->rloc_unvalidated[DIME_AF4] = true;
	ck_assert_int_eq(ihmp_hid_created(H[0].ih, hid, now, ACTS), 0);
	collect(0);
	ck_assert(eq(&find(0, 0, IHMP_HELLO, 0)->dst, "198.51.100.1"));
	ck_assert_uint_eq(count(0, 0, IHMP_PATH_PROBE, 0), 1);
	ck_assert(eq(&find(0, 0, IHMP_PATH_PROBE, 0)->dst, "203.0.113.66"));
	ck_assert_int_eq(ihmp_peer_info(H[0].ih, hid, &pi), 0);
	ck_assert_uint_eq(pi.validated_n, 0);
	ck_assert(pi.rloc_unvalidated[DIME_AF4] && pi.validating[DIME_AF4]);
}
END_TEST

/* The set of validated addresses is bounded; the oldest goes first, but
 * never the validated locator. */
START_TEST(test_validated_set_bound)
{
	static const char *const addrs[] = {
		"203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4", "203.0.113.5",
		"203.0.113.6", "203.0.113.7", "203.0.113.8", "203.0.113.9", "203.0.113.10",
	};
	struct dime_hid_entry *b;
	struct ihmp_peer_info pi;
	bool seen[10] = { false };

	pair_v4();
	b = hid_of(1, "192.0.2.1");
	for (unsigned int i = 0; i < 10; i++) {
		run_until(now + 10000);
		up(0, addrs[i]);
		run_until(now + 10000);
		if (i < 7) {	/* keep B's active set below its bound */
			down(0, addrs[i]);
			run_until(now + 100);
		}
	}
	ck_assert_uint_eq(st(1)->validations_succeeded, 10);
	ck_assert_int_eq(ihmp_peer_info(H[1].ih, b->hid, &pi), 0);
	ck_assert_uint_eq(pi.validated_n, IHMP_VALIDATED_MAX);
	ck_assert(eq(&b->rloc[DIME_AF4], "192.0.2.1"));
	ck_assert(eq(&pi.validated[0], "192.0.2.1"));	/* the oldest, kept */
	for (unsigned int k = 1; k < pi.validated_n; k++)
		for (unsigned int i = 0; i < 10; i++)
			seen[i] |= dime_addr_eq(&pi.validated[k], AP(addrs[i]));
	ck_assert(!seen[0] && !seen[1] && !seen[2]);
	for (unsigned int i = 3; i < 10; i++)
		ck_assert(seen[i]);
}
END_TEST

/* ---- switched off ---------------------------------------------------------- */

START_TEST(test_off_is_today)
{
	struct dime_hid_entry *b;
	struct ihmp_peer_info pi;
	struct ihmp_msg m;
	unsigned int mark;

	reconfig_off();
	pair_v4();
	run_until(now + 10000);
	b = hid_of(1, "192.0.2.1");
	mark = nlog;
	down(0, "192.0.2.1");
	up(0, "192.0.2.2");
	run_until(now + 60000);
	ck_assert_uint_eq(nlog - mark, 2);	/* HANDOFF, ACK */
	ck_assert(eq(&b->rloc[DIME_AF4], "192.0.2.2"));
	ck_assert(!b->rloc_unvalidated[DIME_AF4]);

	mark = nlog;
	forged_handoff(&m, "203.0.113.66", "192.0.2.2");
	m.host_id = A("192.0.2.2");
	inject(1, &m, "203.0.113.66", "198.51.100.1");
	ck_assert(eq(&b->rloc[DIME_AF4], "203.0.113.66"));
	ck_assert(!b->rloc_unvalidated[DIME_AF4]);
	ck_assert_uint_eq(nlog - mark, 1);	/* the ACK only */
	ck_assert_uint_eq(st(1)->validations_started, 0);
	ck_assert_int_eq(ihmp_peer_info(H[1].ih, b->hid, &pi), 0);
	ck_assert_uint_eq(pi.validated_n, 0);
}
END_TEST

/* The counters appear in ihmp_stats_foreach. */
static void find_name(void *ctx, const char *name, uint64_t value)
{
	unsigned int *n = ctx;

	(void)value;
	*n += strcmp(name, "validations_started") == 0 ||
	      strcmp(name, "validations_succeeded") == 0 ||
	      strcmp(name, "validations_failed") == 0;
}

START_TEST(test_counter_names)
{
	unsigned int n = 0;

	ihmp_stats_foreach(H[0].ih, find_name, &n);
	ck_assert_uint_eq(n, 3);
}
END_TEST

static Suite *pathval_suite(void)
{
	Suite *s = suite_create("ihmp_pathval");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_forged_handoff_victim);
	tcase_add_test(tc, test_failed_validation_reverts);
	tcase_add_test(tc, test_ack_wrong_source_or_nonce);
	tcase_add_test(tc, test_forged_hello_resync);
	tcase_add_test(tc, test_hard_handoff);
	tcase_add_test(tc, test_ch_moves);
	tcase_add_test(tc, test_soft_handoff);
	tcase_add_test(tc, test_soft_handoff_paired);
	tcase_add_test(tc, test_validation_survives_own_move);
	tcase_add_test(tc, test_both_move);
	tcase_add_test(tc, test_hello_sources_validated);
	tcase_add_test(tc, test_restored_locators_validated);
	tcase_add_test(tc, test_restored_flagged_locator_probed);
	tcase_add_test(tc, test_validated_set_bound);
	tcase_add_test(tc, test_off_is_today);
	tcase_add_test(tc, test_counter_names);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(pathval_suite());
}
