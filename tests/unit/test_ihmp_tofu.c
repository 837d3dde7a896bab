// SPDX-License-Identifier: BSD-2-Clause
/*
 * Check suite for the key paths of ihmp.c (docs/security.md 5): which of
 * our keys signs a message (per HOST_ID, through local_key_for), the PUBKEY
 * TLV a signed HELLO and the ACK of a HELLO carry, and trust on first use:
 * a peer without an a-priori key gets the key of its first verified HELLO
 * pinned, a different key later is refused and counted, and nothing is
 * pinned from a message that does not verify.
 *
 * Two hosts, A (192.0.2.1) and B (198.51.100.1), each an ihmp instance over
 * its own HID table, and a queue that carries their SEND actions; no
 * sockets, a fake clock. test_ihmp.c covers the state machine itself.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dime/ihmp.h"
#include "dime/ihmp_sign.h"
#include "testutil.h"

#define QMAX 256

struct pkt {
	int to;
	struct dime_addr src, dst;
	uint16_t len;
	uint8_t buf[IHMP_MSG_MAX];
};

static struct {
	struct dime_hid_table *t;
	struct ihmp *ih;
	const char *addr;
	struct ihmp_key *key;		/* what local_key_for answers; NULL: unsigned */
	const struct ihmp_key *apriori;	/* peer_key's answer; NULL: none */
} H[2];
static struct pkt *Q;
static unsigned int qn;
static struct ihmp_actions *ACTS;
static uint64_t now, rnd;
/* Every datagram sent, decoded. */
static struct ihmp_msg *LOG;
static unsigned int nlog;

static uint64_t fake_random(void *ctx)
{
	rnd = rnd * 6364136223846793005ull + 1442695040888963407ull;
	return rnd;
}

static const struct ihmp_key *local_for(void *ctx, const struct dime_addr *host_id)
{
	return H[(intptr_t)ctx].key;
}

static const struct ihmp_key *peer_for(void *ctx, const struct dime_addr *src,
				       const struct dime_addr *host_id)
{
	return H[(intptr_t)ctx].apriori;
}

static void host_new(int i, enum ihmp_auth_mode mode, bool tofu)
{
	struct dime_hid_config hc = { .capacity = 16, .max_addrs = 64, .seed = { 3, 4 } };
	struct ihmp_config c = IHMP_CONFIG_DEFAULTS;

	ihmp_free(H[i].ih);
	dime_hid_table_free(H[i].t);
	c.random = fake_random;
	c.rl.slots = 0;
	c.auth = mode;
	c.tofu = tofu;
	c.local_key_for = local_for;
	c.local_key_ctx = (void *)(intptr_t)i;
	c.peer_key = peer_for;
	c.peer_key_ctx = (void *)(intptr_t)i;
	ck_assert_int_eq(dime_hid_table_new(&H[i].t, &hc), 0);
	ck_assert_int_eq(ihmp_new(&H[i].ih, H[i].t, &c), 0);
	ck_assert_int_eq(ihmp_local_addr_up(H[i].ih, AP(H[i].addr), now, ACTS), 0);
	ACTS->n = 0;
}

static int host_of(const struct dime_addr *a)
{
	for (int i = 0; i < 2; i++)
		if (dime_addr_eq(a, AP(H[i].addr)))
			return i;
	return -1;
}

static void collect(void)
{
	for (unsigned int k = 0; k < ACTS->n; k++) {
		const struct ihmp_action *a = &ACTS->a[k];

		if (a->type != IHMP_ACT_SEND)
			continue;
		ck_assert_uint_lt(qn, QMAX);
		ck_assert_int_eq(ihmp_decode(a->buf, a->len, &LOG[nlog++]), 0);
		Q[qn].to = host_of(&a->dst);
		Q[qn].src = a->src;
		Q[qn].dst = a->dst;
		Q[qn].len = a->len;
		memcpy(Q[qn++].buf, a->buf, a->len);
	}
	ACTS->n = 0;
}

static void deliver(void)
{
	for (unsigned int k = 0; k < qn; k++) {
		struct pkt *p = &Q[k];

		if (p->to < 0)
			continue;
		ck_assert_int_eq(ihmp_input(H[p->to].ih, p->buf, p->len, &p->src, IHMP_PORT_DEFAULT,
					    &p->dst, now, ACTS), 0);
		collect();
	}
	qn = 0;
}

/* A opens a flow to B: HELLO, and B's ACK. */
static uint32_t hello_a_to_b(void)
{
	uint32_t hid;

	ck_assert_int_eq(dime_hid_create(H[0].t, now, &hid), 0);
	ck_assert_int_eq(dime_hid_addr_add(H[0].t, hid, DIME_HID_ACTIVE, AP(H[1].addr)), 0);
	ck_assert_int_eq(dime_hid_addr_add(H[0].t, hid, DIME_HID_LOCAL, AP(H[0].addr)), 0);
	ck_assert_int_eq(ihmp_hid_created(H[0].ih, hid, now, ACTS), 0);
	collect();
	for (int i = 0; i < 4 && qn; i++)
		deliver();
	return hid;
}

static struct ihmp_key *gen(void)
{
	struct ihmp_key *k;

	ck_assert_int_eq(ihmp_key_generate(&k), 0);
	return k;
}

static void setup(void)
{
	Q = calloc(QMAX, sizeof(*Q));
	LOG = calloc(QMAX * 4, sizeof(*LOG));
	ACTS = calloc(1, sizeof(*ACTS));
	ck_assert(Q && LOG && ACTS);
	memset(H, 0, sizeof(H));
	H[0].addr = "192.0.2.1";
	H[1].addr = "198.51.100.1";
	H[0].key = gen();
	H[1].key = gen();
	qn = nlog = 0;
	now = 1000000;
	rnd = 7;
}

static void teardown(void)
{
	for (int i = 0; i < 2; i++) {
		ihmp_free(H[i].ih);
		dime_hid_table_free(H[i].t);
		ihmp_key_free(H[i].key);
	}
	free(Q);
	free(LOG);
	free(ACTS);
}

static struct ihmp_peer_info info(int i, const char *peer)
{
	struct ihmp_peer_info pi;

	ck_assert_int_eq(ihmp_peer_info(H[i].ih, dime_hid_lookup(H[i].t, AP(peer)), &pi), 0);
	return pi;
}

static bool id_is(const uint8_t *id, const struct ihmp_key *k)
{
	uint8_t want[IHMP_KEY_ID_LEN];

	ihmp_key_id(k, want);
	return memcmp(id, want, IHMP_KEY_ID_LEN) == 0;
}

/* Both required, TOFU on, no a-priori key: each pins the other's key from
 * the HELLO exchange, and what follows verifies. */
START_TEST(test_tofu_pins_both_ways)
{
	struct ihmp_peer_info pa, pb;

	host_new(0, IHMP_AUTH_REQUIRED, true);
	host_new(1, IHMP_AUTH_REQUIRED, true);
	hello_a_to_b();
	ck_assert_uint_eq(ihmp_stats(H[1].ih)->tofu_pinned, 1);
	ck_assert_uint_eq(ihmp_stats(H[0].ih)->tofu_pinned, 1);
	ck_assert_uint_eq(ihmp_stats(H[1].ih)->verified, 1);
	ck_assert_uint_eq(ihmp_stats(H[0].ih)->verified, 1);
	pb = info(1, H[0].addr);
	pa = info(0, H[1].addr);
	ck_assert(pb.key_bound && pb.key_pinned && id_is(pb.key_id, H[0].key));
	ck_assert(pa.key_bound && pa.key_pinned && id_is(pa.key_id, H[1].key));
	/* PUBKEY went out on the HELLO and its ACK, signed by the same key. */
	ck_assert_uint_eq(nlog, 2);
	for (unsigned int k = 0; k < nlog; k++) {
		ck_assert(LOG[k].has & IHMP_HAS_PUBKEY);
		ck_assert(LOG[k].has & IHMP_HAS_SIG);
		ck_assert_uint_eq(LOG[k].pubkey_alg, IHMP_SIG_ED25519);
	}
	/* A later message of A verifies against the pinned key, and carries
	 * no PUBKEY. */
	ck_assert_int_eq(ihmp_local_addr_up(H[0].ih, AP("192.0.2.2"), now, ACTS), 0);
	collect();
	ck_assert_uint_gt(qn, 0);
	ck_assert(!(LOG[nlog - 1].has & IHMP_HAS_PUBKEY));
	deliver();
	ck_assert_uint_eq(ihmp_stats(H[1].ih)->verified, 2);
	ck_assert_uint_eq(ihmp_stats(H[1].ih)->drop_wrong_key, 0);
}
END_TEST

/* A signed HELLO from A with key and counter; its bytes into buf. */
static size_t signed_hello(const struct ihmp_key *signer, const struct ihmp_key *offered,
			   uint64_t counter, uint8_t buf[IHMP_MSG_MAX])
{
	struct ihmp_msg m;
	int len;

	ihmp_msg_init(&m, IHMP_HELLO, 9);
	m.host_id = A(H[0].addr);
	ck_assert_int_eq(ihmp_adv_add(&m, AP(H[0].addr)), 0);
	m.has |= IHMP_HAS_NONCE | IHMP_HAS_PUBKEY;
	m.nonce = 77;
	m.pubkey_alg = IHMP_SIG_ED25519;
	ihmp_key_raw_public(offered, m.pubkey);
	len = ihmp_sign_encode(signer, &m, counter, buf, IHMP_MSG_MAX);
	ck_assert_int_gt(len, 0);
	return (size_t)len;
}

static void to_b(const uint8_t *buf, size_t len)
{
	ck_assert_int_eq(ihmp_input(H[1].ih, buf, len, AP(H[0].addr), IHMP_PORT_DEFAULT,
				    AP(H[1].addr), now, ACTS), 0);
	collect();
	qn = 0;
}

/* Once pinned, a HELLO with another key is refused: wrong-key, counted as
 * a conflict, the pinned key stays. */
START_TEST(test_tofu_conflict)
{
	struct ihmp_key *other = gen();
	uint8_t buf[IHMP_MSG_MAX];
	const struct ihmp_stats *st;
	size_t len;

	host_new(0, IHMP_AUTH_REQUIRED, true);
	host_new(1, IHMP_AUTH_REQUIRED, true);
	hello_a_to_b();
	st = ihmp_stats(H[1].ih);
	ck_assert_uint_eq(st->tofu_pinned, 1);
	now += 1000;
	len = signed_hello(other, other, 2000000000000000ull, buf);
	to_b(buf, len);
	ck_assert_uint_eq(st->drop_wrong_key, 1);
	ck_assert_uint_eq(st->tofu_conflict, 1);
	ck_assert_uint_eq(st->tofu_pinned, 1);
	ck_assert(id_is(info(1, H[0].addr).key_id, H[0].key));
	/* The real key still works. */
	len = signed_hello(H[0].key, H[0].key, 2000000000000001ull, buf);
	to_b(buf, len);
	ck_assert_uint_eq(st->verified, 2);
	ihmp_key_free(other);
}
END_TEST

/* Nothing is pinned from a message that does not verify with the key it
 * offers: signed by another key, or modified on the way. */
START_TEST(test_tofu_needs_a_valid_signature)
{
	struct ihmp_key *other = gen();
	uint8_t buf[IHMP_MSG_MAX];
	const struct ihmp_stats *st;
	size_t len;

	host_new(1, IHMP_AUTH_REQUIRED, true);
	st = ihmp_stats(H[1].ih);
	len = signed_hello(other, H[0].key, 1000, buf);	/* offers A's key, signs with another */
	to_b(buf, len);
	ck_assert_uint_eq(st->drop_wrong_key, 1);
	len = signed_hello(H[0].key, H[0].key, 1001, buf);
	buf[len - 1] ^= 1;
	to_b(buf, len);
	ck_assert_uint_eq(st->drop_bad_signature, 1);
	len = signed_hello(H[0].key, H[0].key, 1002, buf);
	buf[len - 64 - 4 - 1 - 8 - 1] ^= 1;	/* a byte of the offered key itself */
	to_b(buf, len);
	ck_assert_uint_eq(st->tofu_pinned, 0);
	ck_assert_uint_eq(dime_hid_lookup(H[1].t, AP(H[0].addr)), DIME_HID_NONE);
	/* The intact one pins. */
	len = signed_hello(H[0].key, H[0].key, 1003, buf);
	to_b(buf, len);
	ck_assert_uint_eq(st->tofu_pinned, 1);
	ck_assert(info(1, H[0].addr).key_pinned);
	ihmp_key_free(other);
}
END_TEST

/* Without TOFU, required needs an a-priori key; opportunistic accepts the
 * HELLO unauthenticated and pins nothing. With an a-priori key, PUBKEY is
 * never used: a different one is a conflict. */
START_TEST(test_tofu_off_and_apriori)
{
	struct ihmp_key *other = gen();
	uint8_t buf[IHMP_MSG_MAX];
	const struct ihmp_stats *st;
	size_t len;

	host_new(1, IHMP_AUTH_REQUIRED, false);
	st = ihmp_stats(H[1].ih);
	len = signed_hello(H[0].key, H[0].key, 1000, buf);
	to_b(buf, len);
	ck_assert_uint_eq(st->drop_no_key, 1);

	host_new(1, IHMP_AUTH_OPPORTUNISTIC, false);
	st = ihmp_stats(H[1].ih);
	to_b(buf, len);
	ck_assert_uint_eq(st->unverified, 1);
	ck_assert_uint_eq(st->tofu_pinned, 0);
	ck_assert(!info(1, H[0].addr).key_bound);

	/* Off: never pinned, whatever tofu says. */
	host_new(1, IHMP_AUTH_OFF, true);
	st = ihmp_stats(H[1].ih);
	to_b(buf, len);
	ck_assert_uint_eq(st->tofu_pinned, 0);

	H[1].apriori = H[0].key;
	host_new(1, IHMP_AUTH_REQUIRED, true);
	st = ihmp_stats(H[1].ih);
	len = signed_hello(other, other, 1001, buf);
	to_b(buf, len);
	ck_assert_uint_eq(st->drop_wrong_key, 1);
	ck_assert_uint_eq(st->tofu_conflict, 1);
	len = signed_hello(H[0].key, H[0].key, 1002, buf);
	to_b(buf, len);
	ck_assert_uint_eq(st->verified, 1);
	ck_assert_uint_eq(st->tofu_pinned, 0);
	ck_assert(info(1, H[0].addr).key_bound && !info(1, H[0].addr).key_pinned);
	ihmp_key_free(other);
}
END_TEST

/* Our key per message: local_key_for decides by HOST_ID, a NULL answer
 * sends that message unsigned, and a key replaced between two messages
 * signs the second. */
START_TEST(test_local_key_per_message)
{
	struct ihmp_key *second = gen();
	struct ihmp_key *first = H[0].key;

	H[0].key = NULL;
	host_new(0, IHMP_AUTH_OPPORTUNISTIC, true);
	host_new(1, IHMP_AUTH_OPPORTUNISTIC, true);
	hello_a_to_b();
	ck_assert(!(LOG[0].has & (IHMP_HAS_SIG | IHMP_HAS_PUBKEY)));
	ck_assert(LOG[1].has & IHMP_HAS_SIG);		/* B signs its ACK */
	ck_assert_uint_eq(ihmp_stats(H[0].ih)->tofu_pinned, 1);
	ck_assert_uint_eq(ihmp_stats(H[1].ih)->unverified, 1);
	H[0].key = first;
	ck_assert_int_eq(ihmp_local_addr_up(H[0].ih, AP("192.0.2.2"), now, ACTS), 0);
	collect();
	ck_assert(LOG[nlog - 1].has & IHMP_HAS_SIG);
	ck_assert(id_is(LOG[nlog - 1].sig.key_id, first));
	qn = 0;
	H[0].key = second;
	ck_assert_int_eq(ihmp_local_addr_up(H[0].ih, AP("192.0.2.3"), now, ACTS), 0);
	collect();
	ck_assert(id_is(LOG[nlog - 1].sig.key_id, second));
	qn = 0;
	H[0].key = first;
	ihmp_key_free(second);
}
END_TEST

static Suite *tofu_suite(void)
{
	Suite *s = suite_create("ihmp_tofu");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_tofu_pins_both_ways);
	tcase_add_test(tc, test_tofu_conflict);
	tcase_add_test(tc, test_tofu_needs_a_valid_signature);
	tcase_add_test(tc, test_tofu_off_and_apriori);
	tcase_add_test(tc, test_local_key_per_message);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(tofu_suite());
}
