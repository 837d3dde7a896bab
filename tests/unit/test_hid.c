// SPDX-License-Identifier: BSD-2-Clause
/*
 * Check suite for the HID table (hid.c): handles and generations, the
 * three address sets and the index kept in step with them, locators, the
 * moved flag, binds and orphans, conflicts, capacity, forced collisions in
 * the index checked against a shadow model, and the SipHash-1-3 core.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "dime/hid.h"

/* Check's ck_assert logs every passing check to a file when CK_FORK=no;
 * long loops use this instead, which only acts on failure. */
#define HOT_ASSERT(expr) \
	do { \
		if (!(expr)) \
			ck_abort_msg("Assertion '%s' failed", #expr); \
	} while (0)

static const struct dime_sipkey seed = { 0x0123456789abcdefull, 0xfedcba9876543210ull };

static struct dime_addr A(const char *text)
{
	struct dime_addr a;

	ck_assert_int_eq(dime_addr_parse(&a, text), 0);
	return a;
}

static struct dime_hid_table *table(uint32_t capacity, uint32_t max_addrs)
{
	struct dime_hid_config cfg = { .capacity = capacity, .max_addrs = max_addrs, .seed = seed };
	struct dime_hid_table *t;

	ck_assert_int_eq(dime_hid_table_new(&t, &cfg), 0);
	return t;
}

static uint32_t new_hid(struct dime_hid_table *t)
{
	uint32_t h;

	ck_assert_int_eq(dime_hid_create(t, 1000, &h), 0);
	ck_assert_uint_ne(h, DIME_HID_NONE);
	return h;
}

static uint32_t naddrs(const struct dime_hid_table *t)
{
	struct dime_hid_stats st;

	dime_hid_stats(t, &st);
	return st.addrs;
}

START_TEST(test_siphash_vectors)
{
	/* The reference SipHash-2-4 vectors, through the same round, prove the
	 * round and the finalisation; 1-3 only changes the round counts. */
	struct dime_sipkey k = { 0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull };
	uint64_t m = 0x0706050403020100ull;
	uint64_t v[4];

	v[0] = k.k0 ^ 0x736f6d6570736575ull;
	v[1] = k.k1 ^ 0x646f72616e646f6dull;
	v[2] = k.k0 ^ 0x6c7967656e657261ull;
	v[3] = k.k1 ^ 0x7465646279746573ull;
	v[3] ^= m;
	dime_sip_round(v);
	dime_sip_round(v);
	v[0] ^= m;
	v[3] ^= 8ull << 56;
	dime_sip_round(v);
	dime_sip_round(v);
	v[0] ^= 8ull << 56;
	v[2] ^= 0xff;
	for (int i = 0; i < 4; i++)
		dime_sip_round(v);
	ck_assert_uint_eq(v[0] ^ v[1] ^ v[2] ^ v[3], 0x93f5f5799a932462ull);

	/* Keyed: same key same hash, other key other hash. */
	struct dime_sipkey k2 = { k.k0 ^ 1, k.k1 };

	ck_assert_uint_eq(dime_siphash13(&k, &m, 1), dime_siphash13(&k, &m, 1));
	ck_assert_uint_ne(dime_siphash13(&k, &m, 1), dime_siphash13(&k2, &m, 1));
}
END_TEST

START_TEST(test_create_lookup_destroy)
{
	struct dime_hid_table *t = table(4, 16);
	struct dime_addr a = A("192.0.2.1"), u = A("198.51.100.1"), l = A("203.0.113.8");
	struct dime_addr v6 = A("2001:db8::1"), other = A("192.0.2.99");
	uint32_t h = new_hid(t), h2;
	struct dime_hid_entry *e = dime_hid_get(t, h);

	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->hid, h);
	ck_assert_uint_eq(e->created_ms, 1000);
	ck_assert_uint_eq(dime_hid_count(t), 1);

	ck_assert_int_eq(dime_hid_addr_add(t, h, DIME_HID_ACTIVE, &a), 0);
	ck_assert_int_eq(dime_hid_addr_add(t, h, DIME_HID_ACTIVE, &v6), 0);
	ck_assert_int_eq(dime_hid_addr_add(t, h, DIME_HID_UNREACH, &u), 0);
	ck_assert_int_eq(dime_hid_addr_add(t, h, DIME_HID_LOCAL, &l), 0);
	/* Adding again is a no-op. */
	ck_assert_int_eq(dime_hid_addr_add(t, h, DIME_HID_ACTIVE, &a), 0);
	ck_assert_uint_eq(e->active.n, 2);

	ck_assert_uint_eq(dime_hid_lookup(t, &a), h);
	ck_assert_uint_eq(dime_hid_lookup(t, &v6), h);
	ck_assert_uint_eq(dime_hid_lookup(t, &u), h);
	/* Local addresses are ours and not indexed. */
	ck_assert_uint_eq(dime_hid_lookup(t, &l), DIME_HID_NONE);
	ck_assert_uint_eq(dime_hid_lookup(t, &other), DIME_HID_NONE);
	ck_assert_uint_eq(naddrs(t), 3);

	ck_assert_int_eq(dime_hid_destroy(t, h), 0);
	ck_assert_ptr_null(dime_hid_get(t, h));
	ck_assert_uint_eq(dime_hid_lookup(t, &a), DIME_HID_NONE);
	ck_assert_uint_eq(dime_hid_lookup(t, &u), DIME_HID_NONE);
	ck_assert_uint_eq(naddrs(t), 0);
	ck_assert_uint_eq(dime_hid_count(t), 0);
	ck_assert_int_eq(dime_hid_destroy(t, h), -ESTALE);
	ck_assert_int_eq(dime_hid_addr_add(t, h, DIME_HID_ACTIVE, &a), -ESTALE);
	ck_assert_ptr_null(dime_hid_get(t, DIME_HID_NONE));

	/* The freed entry is reused under a new generation; the old handle
	 * stays stale. */
	h2 = new_hid(t);
	ck_assert_uint_ne(h2, h);
	ck_assert_ptr_null(dime_hid_get(t, h));
	ck_assert_ptr_eq(dime_hid_get(t, h2), e);
	ck_assert_uint_eq(e->active.n, 0);
	dime_hid_table_free(t);
}
END_TEST

START_TEST(test_generations)
{
	struct dime_hid_table *t = table(1, 1);
	uint32_t prev = DIME_HID_NONE;

	for (int i = 0; i < 1000; i++) {
		uint32_t h = new_hid(t);

		ck_assert_uint_ne(h, prev);
		if (prev != DIME_HID_NONE)
			ck_assert_ptr_null(dime_hid_get(t, prev));
		ck_assert_ptr_nonnull(dime_hid_get(t, h));
		ck_assert_int_eq(dime_hid_destroy(t, h), 0);
		prev = h;
	}
	/* A handle whose index is beyond the capacity is stale, not a crash. */
	ck_assert_ptr_null(dime_hid_get(t, 0xffffffffu));
	dime_hid_table_free(t);
}
END_TEST

START_TEST(test_set_moves_keep_index)
{
	struct dime_hid_table *t = table(4, 32);
	struct dime_addr a = A("192.0.2.1"), b = A("192.0.2.2");
	uint32_t h = new_hid(t);
	struct dime_hid_entry *e = dime_hid_get(t, h);

	ck_assert_int_eq(dime_hid_addr_add(t, h, DIME_HID_ACTIVE, &a), 0);
	ck_assert_int_eq(dime_hid_addr_add(t, h, DIME_HID_ACTIVE, &b), 0);

	ck_assert_int_eq(dime_hid_addr_move(t, h, &a, DIME_HID_ACTIVE, DIME_HID_UNREACH), 0);
	ck_assert(!dime_addr_set_has(&e->active, &a));
	ck_assert(dime_addr_set_has(&e->unreach, &a));
	ck_assert_uint_eq(dime_hid_lookup(t, &a), h);
	ck_assert_uint_eq(naddrs(t), 2);

	ck_assert_int_eq(dime_hid_addr_move(t, h, &a, DIME_HID_UNREACH, DIME_HID_ACTIVE), 0);
	ck_assert(dime_addr_set_has(&e->active, &a));
	ck_assert_uint_eq(dime_hid_lookup(t, &a), h);

	/* Wrong source set, bad sets. */
	ck_assert_int_eq(dime_hid_addr_move(t, h, &a, DIME_HID_UNREACH, DIME_HID_ACTIVE), -ENOENT);
	ck_assert_int_eq(dime_hid_addr_move(t, h, &a, DIME_HID_ACTIVE, DIME_HID_LOCAL), -EINVAL);
	ck_assert_int_eq(dime_hid_addr_move(t, h, &a, DIME_HID_ACTIVE, DIME_HID_ACTIVE), -EINVAL);
	/* add refuses to silently move between the remote sets. */
	ck_assert_int_eq(dime_hid_addr_add(t, h, DIME_HID_UNREACH, &a), -EEXIST);

	ck_assert_int_eq(dime_hid_addr_del(t, h, DIME_HID_ACTIVE, &a), 0);
	ck_assert_uint_eq(dime_hid_lookup(t, &a), DIME_HID_NONE);
	ck_assert_uint_eq(dime_hid_lookup(t, &b), h);
	ck_assert_int_eq(dime_hid_addr_del(t, h, DIME_HID_ACTIVE, &a), -ENOENT);
	ck_assert_uint_eq(naddrs(t), 1);

	/* Local set: not indexed, so adding a remote address of ours there
	 * does not disturb the index. */
	ck_assert_int_eq(dime_hid_addr_add(t, h, DIME_HID_LOCAL, &a), 0);
	ck_assert_uint_eq(dime_hid_lookup(t, &a), DIME_HID_NONE);
	ck_assert_int_eq(dime_hid_addr_del(t, h, DIME_HID_LOCAL, &a), 0);
	ck_assert_uint_eq(naddrs(t), 1);
	dime_hid_table_free(t);
}
END_TEST

START_TEST(test_locators)
{
	struct dime_hid_table *t = table(4, 32);
	struct dime_addr a = A("192.0.2.1"), b = A("192.0.2.2"), c6 = A("2001:db8::c");
	struct dime_addr l1 = A("198.51.100.1"), l2 = A("198.51.100.2");
	uint32_t h = new_hid(t);
	struct dime_hid_entry *e = dime_hid_get(t, h);
	uint32_t epoch;

	ck_assert(!dime_addr_is_set(&e->rloc[DIME_AF4]));
	ck_assert_int_eq(dime_hid_addr_add(t, h, DIME_HID_ACTIVE, &a), 0);
	ck_assert_int_eq(dime_hid_addr_add(t, h, DIME_HID_ACTIVE, &b), 0);
	ck_assert_int_eq(dime_hid_addr_add(t, h, DIME_HID_ACTIVE, &c6), 0);
	/* The first of each family became the locator. */
	ck_assert(dime_addr_eq(&e->rloc[DIME_AF4], &a));
	ck_assert(dime_addr_eq(&e->rloc[DIME_AF6], &c6));
	ck_assert(!e->moved);	/* no flows: nothing to rewrite */

	epoch = e->epoch;
	ck_assert_int_eq(dime_hid_set_rloc(t, h, &b), 0);
	ck_assert(dime_addr_eq(&e->rloc[DIME_AF4], &b));
	ck_assert_uint_eq(e->epoch, epoch + 1);
	ck_assert_int_eq(dime_hid_set_rloc(t, h, &b), 0);
	ck_assert_uint_eq(e->epoch, epoch + 1);	/* unchanged: no bump */
	ck_assert_int_eq(dime_hid_set_rloc(t, h, &l1), -ENOENT);
	ck_assert_int_eq(dime_hid_set_lloc(t, h, &l1), -ENOENT);

	/* Losing the locator falls back to the first of its family. */
	ck_assert_int_eq(dime_hid_addr_move(t, h, &b, DIME_HID_ACTIVE, DIME_HID_UNREACH), 0);
	ck_assert(dime_addr_eq(&e->rloc[DIME_AF4], &a));
	ck_assert_int_eq(dime_hid_addr_del(t, h, DIME_HID_ACTIVE, &a), 0);
	ck_assert(!dime_addr_is_set(&e->rloc[DIME_AF4]));
	ck_assert(dime_addr_eq(&e->rloc[DIME_AF6], &c6));
	/* Back to active: the family had none, so it is the locator again. */
	ck_assert_int_eq(dime_hid_addr_move(t, h, &b, DIME_HID_UNREACH, DIME_HID_ACTIVE), 0);
	ck_assert(dime_addr_eq(&e->rloc[DIME_AF4], &b));

	ck_assert_int_eq(dime_hid_addr_add(t, h, DIME_HID_LOCAL, &l1), 0);
	ck_assert_int_eq(dime_hid_addr_add(t, h, DIME_HID_LOCAL, &l2), 0);
	ck_assert(dime_addr_eq(&e->lloc[DIME_AF4], &l1));
	ck_assert_int_eq(dime_hid_set_lloc(t, h, &l2), 0);
	ck_assert(dime_addr_eq(&e->lloc[DIME_AF4], &l2));
	ck_assert_int_eq(dime_hid_addr_del(t, h, DIME_HID_LOCAL, &l2), 0);
	ck_assert(dime_addr_eq(&e->lloc[DIME_AF4], &l1));
	dime_hid_table_free(t);
}
END_TEST

START_TEST(test_bind_moved_orphans)
{
	struct dime_hid_table *t = table(4, 32);
	struct dime_addr x = A("192.0.2.1"), y = A("192.0.2.2"), l = A("198.51.100.1");
	struct dime_addr l6 = A("2001:db8::1");
	uint32_t h = new_hid(t), h2;
	struct dime_hid_entry *e = dime_hid_get(t, h);
	uint32_t epoch;

	ck_assert_int_eq(dime_hid_addr_add(t, h, DIME_HID_ACTIVE, &x), 0);
	ck_assert_int_eq(dime_hid_addr_add(t, h, DIME_HID_LOCAL, &l), 0);
	ck_assert_int_eq(dime_hid_bind(t, h, &x, &l, 2000), 0);
	ck_assert_uint_eq(e->refs, 1);
	ck_assert_uint_eq(e->used_ms, 2000);
	ck_assert(!e->moved);	/* bound what the locators are */
	ck_assert_int_eq(dime_hid_bind(t, h, &x, &l6, 2000), -EINVAL);

	/* The peer moves: the locator changes while a flow is bound. */
	ck_assert_int_eq(dime_hid_addr_add(t, h, DIME_HID_ACTIVE, &y), 0);
	epoch = e->epoch;
	ck_assert_int_eq(dime_hid_set_rloc(t, h, &y), 0);
	ck_assert(e->moved);
	ck_assert_uint_eq(e->epoch, epoch + 1);
	/* The old address leaves both sets but the flow still binds it. */
	ck_assert_int_eq(dime_hid_addr_del(t, h, DIME_HID_ACTIVE, &x), 0);
	ck_assert_uint_eq(dime_hid_lookup(t, &x), h);
	dime_hid_unbind(t, h, &x);
	ck_assert_uint_eq(dime_hid_lookup(t, &x), DIME_HID_NONE);
	ck_assert_uint_eq(e->refs, 0);
	ck_assert(!e->moved);

	/* A flow binding something other than the locators marks moved. */
	ck_assert_int_eq(dime_hid_bind(t, h, &x, &l, 3000), 0);
	ck_assert(e->moved);
	ck_assert_uint_eq(dime_hid_lookup(t, &x), h);

	/* Destroy with a flow still bound: x stays indexed under the stale
	 * handle (an orphan) but lookups do not see it. */
	ck_assert_int_eq(dime_hid_destroy(t, h), 0);
	ck_assert_uint_eq(dime_hid_lookup(t, &x), DIME_HID_NONE);
	ck_assert_uint_eq(dime_hid_lookup(t, &y), DIME_HID_NONE);
	ck_assert_uint_eq(naddrs(t), 1);
	/* The flow's late unbind releases it. */
	dime_hid_unbind(t, h, &x);
	ck_assert_uint_eq(naddrs(t), 0);

	/* An orphan is taken over by a new owner; the dead flow's unbind then
	 * leaves the new owner alone. */
	h = new_hid(t);
	ck_assert_int_eq(dime_hid_bind(t, h, &x, &l, 4000), 0);
	ck_assert_int_eq(dime_hid_destroy(t, h), 0);
	h2 = new_hid(t);
	ck_assert_int_eq(dime_hid_addr_add(t, h2, DIME_HID_ACTIVE, &x), 0);
	ck_assert_uint_eq(dime_hid_lookup(t, &x), h2);
	dime_hid_unbind(t, h, &x);
	ck_assert_uint_eq(dime_hid_lookup(t, &x), h2);
	ck_assert_uint_eq(naddrs(t), 1);
	/* The dead flow's bind did not pass to the new owner. */
	ck_assert_int_eq(dime_hid_addr_del(t, h2, DIME_HID_ACTIVE, &x), 0);
	ck_assert_uint_eq(dime_hid_lookup(t, &x), DIME_HID_NONE);
	ck_assert_uint_eq(naddrs(t), 0);
	ck_assert_int_eq(dime_hid_bind(t, h, &x, &l, 4000), -ESTALE);
	dime_hid_table_free(t);
}
END_TEST

START_TEST(test_conflicts)
{
	struct dime_hid_table *t = table(4, 32);
	struct dime_addr x = A("203.0.113.5"), l = A("198.51.100.1");
	uint32_t h1 = new_hid(t), h2 = new_hid(t);
	struct dime_hid_entry *e2 = dime_hid_get(t, h2);

	ck_assert_int_eq(dime_hid_addr_add(t, h1, DIME_HID_ACTIVE, &x), 0);
	ck_assert_int_eq(dime_hid_addr_add(t, h2, DIME_HID_ACTIVE, &x), -EEXIST);
	ck_assert_int_eq(dime_hid_addr_add(t, h2, DIME_HID_UNREACH, &x), -EEXIST);
	ck_assert_int_eq(dime_hid_bind(t, h2, &x, &l, 0), -EEXIST);
	/* Nothing changed on the loser. */
	ck_assert_uint_eq(e2->active.n, 0);
	ck_assert_uint_eq(e2->unreach.n, 0);
	ck_assert_uint_eq(e2->refs, 0);
	ck_assert(!dime_addr_is_set(&e2->rloc[DIME_AF4]));
	ck_assert_uint_eq(dime_hid_lookup(t, &x), h1);
	/* Once the owner lets go, the other may take it. */
	ck_assert_int_eq(dime_hid_addr_del(t, h1, DIME_HID_ACTIVE, &x), 0);
	ck_assert_int_eq(dime_hid_addr_add(t, h2, DIME_HID_ACTIVE, &x), 0);
	ck_assert_uint_eq(dime_hid_lookup(t, &x), h2);
	dime_hid_table_free(t);
}
END_TEST

START_TEST(test_capacity)
{
	struct dime_hid_table *t = table(4, 10);
	struct dime_hid_config bad = { .capacity = 0, .max_addrs = 1, .seed = seed };
	struct dime_hid_table *tb;
	uint32_t h[4], extra;
	char text[64];

	for (int i = 0; i < 4; i++)
		h[i] = new_hid(t);
	ck_assert_int_eq(dime_hid_create(t, 0, &extra), -ENOSPC);
	ck_assert_uint_eq(extra, DIME_HID_NONE);
	ck_assert_int_eq(dime_hid_destroy(t, h[2]), 0);
	h[2] = new_hid(t);
	ck_assert_int_eq(dime_hid_create(t, 0, &extra), -ENOSPC);

	/* A set holds DIME_HID_SET_MAX addresses. */
	for (int i = 0; i < DIME_HID_SET_MAX; i++) {
		snprintf(text, sizeof(text), "198.51.100.%d", i + 1);
		struct dime_addr a = A(text);

		ck_assert_int_eq(dime_hid_addr_add(t, h[0], DIME_HID_LOCAL, &a), 0);
	}
	struct dime_addr more = A("198.51.100.200");

	ck_assert_int_eq(dime_hid_addr_add(t, h[0], DIME_HID_LOCAL, &more), -ENOSPC);
	for (int i = 0; i < DIME_HID_SET_MAX; i++) {
		snprintf(text, sizeof(text), "192.0.2.%d", i + 1);
		struct dime_addr a = A(text);

		ck_assert_int_eq(dime_hid_addr_add(t, h[0], DIME_HID_ACTIVE, &a), 0);
	}
	ck_assert_int_eq(dime_hid_addr_add(t, h[0], DIME_HID_ACTIVE, &more), -ENOSPC);
	/* A full target set refuses a move and leaves both sets as they were. */
	struct dime_addr first = A("192.0.2.1");

	for (int i = 0; i < DIME_HID_SET_MAX; i++) {
		snprintf(text, sizeof(text), "203.0.113.%d", i + 1);
		struct dime_addr a = A(text);
		int err = dime_hid_addr_add(t, h[1], DIME_HID_UNREACH, &a);

		/* The index (10 addresses) fills before the set does. */
		ck_assert_int_eq(err, i < 2 ? 0 : -ENOSPC);
	}
	ck_assert_uint_eq(naddrs(t), 10);
	ck_assert_int_eq(dime_hid_addr_del(t, h[0], DIME_HID_ACTIVE, &first), 0);
	ck_assert_int_eq(dime_hid_addr_add(t, h[0], DIME_HID_UNREACH, &first), 0);
	ck_assert_int_eq(dime_hid_addr_move(t, h[0], &first, DIME_HID_UNREACH, DIME_HID_ACTIVE),
			 0);
	ck_assert_int_eq(dime_hid_addr_add(t, h[0], DIME_HID_UNREACH, &first), -EEXIST);

	ck_assert_int_eq(dime_hid_table_new(&tb, &bad), -EINVAL);
	bad.capacity = DIME_HID_CAPACITY_MAX + 1;
	bad.max_addrs = bad.capacity;
	ck_assert_int_eq(dime_hid_table_new(&tb, &bad), -EINVAL);
	bad.capacity = 4;
	bad.max_addrs = 3;
	ck_assert_int_eq(dime_hid_table_new(&tb, &bad), -EINVAL);
	dime_hid_table_free(t);
}
END_TEST

START_TEST(test_full_move)
{
	struct dime_hid_table *t = table(2, 32);
	uint32_t h = new_hid(t);
	struct dime_hid_entry *e = dime_hid_get(t, h);
	struct dime_addr x = A("192.0.2.200");
	char text[64];

	for (int i = 0; i < DIME_HID_SET_MAX; i++) {
		snprintf(text, sizeof(text), "203.0.113.%d", i + 1);
		struct dime_addr a = A(text);

		ck_assert_int_eq(dime_hid_addr_add(t, h, DIME_HID_UNREACH, &a), 0);
	}
	ck_assert_int_eq(dime_hid_addr_add(t, h, DIME_HID_ACTIVE, &x), 0);
	ck_assert_int_eq(dime_hid_addr_move(t, h, &x, DIME_HID_ACTIVE, DIME_HID_UNREACH), -ENOSPC);
	ck_assert(dime_addr_set_has(&e->active, &x));
	ck_assert_uint_eq(e->unreach.n, DIME_HID_SET_MAX);
	ck_assert(dime_addr_eq(&e->rloc[DIME_AF4], &x));
	dime_hid_table_free(t);
}
END_TEST

START_TEST(test_iterate)
{
	struct dime_hid_table *t = table(8, 8);
	uint32_t h[5], seen = 0;

	for (int i = 0; i < 5; i++)
		h[i] = new_hid(t);
	ck_assert_int_eq(dime_hid_destroy(t, h[1]), 0);
	ck_assert_int_eq(dime_hid_destroy(t, h[3]), 0);
	for (uint32_t x = dime_hid_next(t, DIME_HID_NONE); x; x = dime_hid_next(t, x)) {
		ck_assert(x == h[0] || x == h[2] || x == h[4]);
		seen++;
	}
	ck_assert_uint_eq(seen, 3);
	/* Destroying the current one while iterating. */
	seen = 0;
	for (uint32_t x = dime_hid_next(t, DIME_HID_NONE); x; x = dime_hid_next(t, x)) {
		ck_assert_int_eq(dime_hid_destroy(t, x), 0);
		seen++;
	}
	ck_assert_uint_eq(seen, 3);
	ck_assert_uint_eq(dime_hid_count(t), 0);
	ck_assert_uint_eq(dime_hid_next(t, DIME_HID_NONE), DIME_HID_NONE);
	dime_hid_table_free(t);
}
END_TEST

START_TEST(test_key)
{
	struct dime_hid_table *t = table(2, 2);
	uint32_t h = new_hid(t);
	struct dime_hid_entry *e = dime_hid_get(t, h);
	uint8_t key[DIME_HID_KEY_MAX + 1];

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;
	ck_assert(!e->has_key);
	ck_assert_int_eq(dime_hid_set_key(t, h, key, DIME_HID_KEY_MAX + 1), -EINVAL);
	ck_assert_int_eq(dime_hid_set_key(t, h, key, 0), -EINVAL);
	ck_assert(!e->has_key);
	ck_assert_int_eq(dime_hid_set_key(t, h, key, DIME_HID_KEY_MAX), 0);
	ck_assert(e->has_key);
	ck_assert_uint_eq(e->key_len, DIME_HID_KEY_MAX);
	ck_assert_mem_eq(e->key, key, DIME_HID_KEY_MAX);
	ck_assert_int_eq(dime_hid_clear_key(t, h), 0);
	ck_assert(!e->has_key);
	ck_assert_uint_eq(e->key_len, 0);
	/* ihmp is the caller's slot; the table never touches it. */
	e->ihmp = &key;
	struct dime_addr a = A("192.0.2.1");

	ck_assert_int_eq(dime_hid_addr_add(t, h, DIME_HID_ACTIVE, &a), 0);
	ck_assert_ptr_eq(e->ihmp, &key);
	ck_assert_int_eq(dime_hid_addr_add(t, h, DIME_HID_ACTIVE, &(struct dime_addr){ 0 }), -EINVAL);
	dime_hid_table_free(t);
}
END_TEST

/* Addresses 2001:db8::<i> whose home slot is `home`, found by trying. */
static int colliding(const struct dime_hid_table *t, uint32_t slots, uint32_t home,
		     struct dime_addr *out, int want)
{
	int n = 0;

	for (uint32_t i = 1; n < want && i < 1000000; i++) {
		struct dime_addr a = A("2001:db8::");

		a.a.u32[3] = htonl(i);
		if ((dime_hid_addr_hash(t, &a) & (slots - 1)) == home)
			out[n++] = a;
	}
	return n;
}

START_TEST(test_index_collisions)
{
	/* At most 11 addresses in 16 slots; 6 share the last slot, so their
	 * run wraps to the start of the array, where 4 more have their home. */
	struct dime_hid_table *t = table(4, 11);
	struct dime_hid_stats st;
	struct dime_addr last[6], first[4];
	uint32_t h[2] = { new_hid(t), new_hid(t) };

	dime_hid_stats(t, &st);
	ck_assert_uint_eq(st.slots, 16);
	ck_assert_int_eq(colliding(t, st.slots, st.slots - 1, last, 6), 6);
	ck_assert_int_eq(colliding(t, st.slots, 0, first, 4), 4);
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(dime_hid_addr_add(t, h[0], i < 3 ? DIME_HID_ACTIVE : DIME_HID_UNREACH,
						   &last[i]), 0);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(dime_hid_addr_add(t, h[1], DIME_HID_ACTIVE, &first[i]), 0);
	for (int i = 0; i < 6; i++)
		ck_assert_uint_eq(dime_hid_lookup(t, &last[i]), h[0]);
	for (int i = 0; i < 4; i++)
		ck_assert_uint_eq(dime_hid_lookup(t, &first[i]), h[1]);
	/* Take out from the middle of the wrapped run; the rest stay found. */
	ck_assert_int_eq(dime_hid_addr_del(t, h[0], DIME_HID_ACTIVE, &last[1]), 0);
	ck_assert_int_eq(dime_hid_addr_del(t, h[0], DIME_HID_UNREACH, &last[4]), 0);
	ck_assert_int_eq(dime_hid_addr_del(t, h[1], DIME_HID_ACTIVE, &first[0]), 0);
	for (int i = 0; i < 6; i++)
		ck_assert_uint_eq(dime_hid_lookup(t, &last[i]), i == 1 || i == 4 ? DIME_HID_NONE : h[0]);
	for (int i = 0; i < 4; i++)
		ck_assert_uint_eq(dime_hid_lookup(t, &first[i]), i == 0 ? DIME_HID_NONE : h[1]);
	/* Destroy drops a whole HID's addresses from a shared run. */
	ck_assert_int_eq(dime_hid_destroy(t, h[0]), 0);
	for (int i = 1; i < 4; i++)
		ck_assert_uint_eq(dime_hid_lookup(t, &first[i]), h[1]);
	ck_assert_uint_eq(naddrs(t), 3);
	dime_hid_table_free(t);
}
END_TEST

START_TEST(test_hash_uses_every_byte)
{
	struct dime_hid_table *t = table(4, 16);
	struct dime_addr v4 = A("192.0.2.1"), v6 = A("2001:db8::1");
	uint32_t base4 = dime_hid_addr_hash(t, &v4), base6 = dime_hid_addr_hash(t, &v6);

	for (int i = 0; i < 16; i++) {
		struct dime_addr a = v6;

		a.a.u8[i] ^= 0x40;
		ck_assert_uint_ne(dime_hid_addr_hash(t, &a), base6);
		if (i < 4) {
			a = v4;
			a.a.u8[i] ^= 0x40;
			ck_assert_uint_ne(dime_hid_addr_hash(t, &a), base4);
		}
	}
	dime_hid_table_free(t);
}
END_TEST

START_TEST(test_index_churn_model)
{
	/* Random adds and deletes at up to 3/4 load in 64 slots, each step
	 * checked against a shadow array of who owns what. */
	enum { NADDR = 64, NHID = 8 };
	struct dime_hid_table *t = table(NHID, 47);
	struct dime_addr addr[NADDR];
	int owner[NADDR];	/* -1: none, else HID number */
	uint32_t h[NHID];
	unsigned int rnd = 12345;

	struct dime_hid_stats st;

	dime_hid_stats(t, &st);
	ck_assert_uint_eq(st.slots, 64);
	for (int i = 0; i < NHID; i++)
		h[i] = new_hid(t);
	for (int i = 0; i < NADDR; i++) {
		addr[i] = A("192.0.2.0");
		addr[i].a.u8[3] = (uint8_t)i;
		owner[i] = -1;
	}
	for (int step = 0; step < 20000; step++) {
		int i = rand_r(&rnd) % NADDR, k = rand_r(&rnd) % NHID;
		struct dime_hid_entry *e = dime_hid_get(t, h[k]);

		if (owner[i] < 0) {
			int err = dime_hid_addr_add(t, h[k], DIME_HID_UNREACH, &addr[i]);

			if (err == 0)
				owner[i] = k;
			else
				HOT_ASSERT(err == -ENOSPC && (e->unreach.n == DIME_HID_SET_MAX ||
							      naddrs(t) == 47));
		} else {
			HOT_ASSERT(dime_hid_addr_del(t, h[owner[i]], DIME_HID_UNREACH, &addr[i]) == 0);
			owner[i] = -1;
		}
		for (int j = 0; j < NADDR; j++)
			HOT_ASSERT(dime_hid_lookup(t, &addr[j]) ==
				   (owner[j] < 0 ? DIME_HID_NONE : h[owner[j]]));
	}
	dime_hid_table_free(t);
}
END_TEST

static Suite *hid_suite(void)
{
	Suite *s = suite_create("hid");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_siphash_vectors);
	tcase_add_test(tc, test_create_lookup_destroy);
	tcase_add_test(tc, test_generations);
	tcase_add_test(tc, test_set_moves_keep_index);
	tcase_add_test(tc, test_locators);
	tcase_add_test(tc, test_bind_moved_orphans);
	tcase_add_test(tc, test_conflicts);
	tcase_add_test(tc, test_capacity);
	tcase_add_test(tc, test_full_move);
	tcase_add_test(tc, test_iterate);
	tcase_add_test(tc, test_key);
	tcase_add_test(tc, test_index_collisions);
	tcase_add_test(tc, test_hash_uses_every_byte);
	tcase_add_test(tc, test_index_churn_model);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(hid_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
